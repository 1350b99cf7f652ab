"""A classifier pretrained as an autoencoder against the same one trained from scratch, with few
labels (Géron, 2nd ed., chapter 17's exercise): ``aegan pretrain-classify`` over several seeds
(each seed draws other labelled examples and other initial weights).

    aegan train book/stacked --data-dir ../shared/data --out /tmp/stacked_run
    OMP_NUM_THREADS=1 python benchmarks/pretrain_few_labels.py /tmp/stacked_run \
        --data-dir ../shared/data [--labels 500] [--seeds 42,0,1] [--json out.json]

Prints one JSON line per seed, then one with the means.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

KEYS = ("pretrained_frozen_accuracy", "pretrained_accuracy", "scratch_accuracy")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run")
    p.add_argument("--data-dir")
    p.add_argument("--labels", type=int, default=500)
    p.add_argument("--seeds", default="42,0,1")
    p.add_argument("--json", help="also write all results to this file")
    args = p.parse_args()
    import torch

    from aegan.tasks.classify import PretrainConfig, pretrain_classify

    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        start = time.perf_counter()
        result = pretrain_classify(args.run, config=PretrainConfig(labels=args.labels, seed=seed),
                                   data_dir=args.data_dir)
        rows.append({"seed": seed, **{k: round(result[k], 4) for k in KEYS},
                     "seconds": round(time.perf_counter() - start, 1)})
        print(json.dumps(rows[-1]), flush=True)
    summary = {"data": result["data"], "labels": args.labels, "seeds": len(rows),
               **{f"mean_{k}": round(statistics.mean(r[k] for r in rows), 4) for k in KEYS},
               "pretrained_wins": sum(r["pretrained_accuracy"] > r["scratch_accuracy"]
                                      for r in rows),
               "settings": result["settings"], "torch": torch.__version__,
               "threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d")}
    print(json.dumps(summary))
    if args.json:
        Path(args.json).write_text(json.dumps({"seeds": rows, "summary": summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
