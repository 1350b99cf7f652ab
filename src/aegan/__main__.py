"""`python -m aegan` runs the command line (and `torchrun -m aegan` runs it once per process)."""

import logging
import os
import sys

from aegan.cli import main
from aegan.config import ConfigError
from aegan.train.distributed import from_env


def _torchrun_worker() -> bool:
    try:
        return from_env().active
    except ConfigError:  # malformed RANK / WORLD_SIZE: main() has said so already
        return False


code = main()
if _torchrun_worker():
    # A torchrun worker ends here without the interpreter's teardown: there, PyTorch's gloo
    # threads, already past destroy_process_group, could abort the process ("terminate called
    # without an active exception", SIGABRT, no Python frame on the stack) after the run had
    # finished and written everything, and torchrun then reported the run as failed. Every
    # file is written and closed by now; only the streams and the log remain to flush.
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)
raise SystemExit(code)
