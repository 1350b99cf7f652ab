"""A pilot of the progressive and style presets against the dcgan preset at equal training
time on Fashion-MNIST, measured by the domain classifier's FID (``aegan evaluate``'s
``--features classifier``, 10,000 samples against the 10,000 test images) and precision /
recall. A pilot, not the issue's protocol: the growth schedule is compressed (``--phase``
images per phase instead of the preset's 60,000) so that a short run goes through every
resolution, and each run trains on the first ``--limit`` training images per epoch until
``--minutes`` of wall time have passed (checked at the end of each epoch).

Usage (each run on one thread; run the presets side by side so that they share the load)::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/style_pilot.py dcgan --minutes 8 \
        --data-dir /work/shared/data --out runs/pilot --json pilot.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from aegan import api
from aegan.presets import get_preset


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("preset")
    p.add_argument("--minutes", type=float, default=8.0)
    p.add_argument("--limit", type=int, default=10_000)
    p.add_argument("--phase", type=int, default=5_000, help="images per growth phase")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", default="runs/pilot")
    p.add_argument("--json")
    p.add_argument("--n", type=int, default=10_000)
    args = p.parse_args()
    torch.set_num_threads(1)
    config = get_preset(args.preset)
    config.data.limit = args.limit
    config.train.epochs = 1
    if config.model.net in ("progan", "stylegan"):
        config.model.stable_images = config.model.fade_images = args.phase
    run = Path(args.out) / args.preset
    start = time.perf_counter()
    api.train(config, run, args.data_dir, progress=False)
    epochs = 1
    while time.perf_counter() - start < 60 * args.minutes:
        epochs += 1
        api.resume(run, epochs=epochs, data_dir=args.data_dir, progress=False)
    seconds = time.perf_counter() - start
    result = api.evaluate(run, split="test", names=["fid", "precision_recall"],
                          features="classifier", n_samples=args.n)
    row = {"preset": args.preset, "epochs": epochs, "images": epochs * args.limit,
           "train_s": round(seconds, 1), "phase_images": args.phase,
           **{k: v for k, v in result.items() if k in ("fid", "precision", "recall")}}
    print(json.dumps(row))
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
