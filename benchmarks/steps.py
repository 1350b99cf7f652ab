"""The training step alone, in microseconds per step, for any presets (the book's by default).

    python benchmarks/steps.py [--presets book/stacked,book/gan] [--threads 2] [--steps 500]
                               [--rounds 3] [--src DIR] [--json F] [--set SECTION.KEY=JSON]

Each preset's model is built with the preset's config and trained on random images of its
shape through the very step the Trainer would run (``aegan.train.fast.step_function``: the
closed form where aegan has one, channels-last where it applies), with no data loading, no
validation and no logging. Each round times ``--steps`` steps of every preset in turn; the
fastest round is reported (this machine has slow spells, see RESULTS.md). ``--set`` changes
every preset's config (``--set model.fade_images=0 --set model.stable_images=0``: the growing
GANs at their full size from the first step).

``--src`` imports aegan from another checkout's ``src`` folder: running this script against
two revisions in alternating processes gives a before/after of a change to the step itself,
free of the suite's data loading and validation. Both step contracts are understood: a
revision with :mod:`aegan.data.examples` gets a ``Batch`` record, an older one the tuple
``(x,)`` it took then.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = "book/stacked,book/tied,book/sparse-kl,book/vae,book/gan"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", default=DEFAULT)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=500, help="steps per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--src", help="import aegan from this source folder (default: this checkout)")
    p.add_argument("--json", help="also append the result, one JSON line, to this file")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=JSON",
                   help="change every preset's config (repeatable)")
    args = p.parse_args()
    sys.path.insert(0, str(Path(args.src).resolve() if args.src else HERE.parent / "src"))
    import torch

    import aegan
    from aegan.models import build_model
    from aegan.presets import get_preset
    from aegan.train import fast

    try:  # the step takes a Batch record since aegan.data.examples, a tuple (x,) before
        from aegan.data import Batch
    except ImportError:
        def Batch(x):  # the older contract's batch, built the same way
            return (x,)

    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    images = torch.rand((4096, 1, 28, 28), generator=gen)
    steps = {}
    for name in args.presets.split(","):
        config = get_preset(name)
        for change in args.set:
            config = config.assign(change)
        torch.manual_seed(0)
        model = build_model(config.model, images.shape[1:]).train()
        fast.prepare_model(model, config.train)
        optimizers = model.configure_optimizers(config.optim)
        steps[name] = (fast.step_function(model, optimizers, config.train, torch.device("cpu"),
                                          config.optim.schedule), config.train.batch_size)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for round_ in range(args.rounds + 1):  # round 0 warms up (state, caches)
        for name, (step, n) in steps.items():
            count = 30 if round_ == 0 else args.steps
            start = time.perf_counter()
            for i in range(count):
                step(Batch(images[(i * n) % (len(images) - n):][:n]), i)
            if round_:
                times[name].append((time.perf_counter() - start) / count * 1e6)
    row = {"src": str(Path(aegan.__file__).parent.parent), "machine": platform.node(),
           "cpu_count": os.cpu_count(), "torch": torch.__version__, "threads": args.threads,
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "set": args.set, "batch_size": {name: n for name, (_, n) in steps.items()},
           "us_per_step": {name: round(min(values), 1) for name, values in times.items()},
           "rounds": {name: [round(v, 1) for v in values] for name, values in times.items()}}
    print(json.dumps(row))
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
