"""`python -m aegan` runs the command line (and `torchrun -m aegan` runs it once per process)."""

from aegan.cli import main

raise SystemExit(main())
