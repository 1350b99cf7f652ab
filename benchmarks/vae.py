"""Benchmark of the VAE family against its references, measured on one machine in one run.

1. ``book``: the book's VAE (preset ``book/vae``) on Fashion-MNIST for its 25 epochs, beside the
   validation loss that the book's notebook prints after 25 epochs (Géron, 2nd ed., chapter 17
   notebook: 0.3133). Keras' ``val_loss`` for that model is the per-pixel binary cross-entropy
   of a reconstruction from one sampled coding plus the mean KL divergence / 784; aegan's
   ``valid_loss`` is the same quantity, and ``valid_recon`` is its cross-entropy part alone.
2. ``nll``: a likelihood preset on binarized MNIST (dynamic binarization in training, the test
   set binarized once), then the importance-sampled negative log-likelihood of the test set in
   nats with K samples per example, beside pythae's VAE (89.78 nats, K = 200) and the IWAE
   paper's one-stochastic-layer IWAE with k = 50 (84.78 nats, K = 5000).

    python benchmarks/vae.py --data-dir ../shared/data [--which book,nll] [--book-seeds 42,1]
        [--nll-preset vae-binarized-mnist] [--nll-samples 1000] [--threads 1]
        [--keep DIR] [--out results.jsonl]

Prints one JSON line per measurement as it finishes (and appends it to --out).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from aegan import api
from aegan.io import load_history
from aegan.presets import get_preset

BOOK_VAL_LOSS = 0.3133  # the notebook's val_loss after 25 epochs
REFERENCES = {"pythae VAE (K=200)": 89.78, "IWAE paper, 1 layer, k=50 (K=5000)": 84.78}


def book(data_dir: str, keep: Path, seed: int) -> dict:
    config = get_preset("book/vae").replace("train", seed=seed)
    start = time.perf_counter()
    run = api.train(config, keep / f"book-vae-seed{seed}", data_dir=data_dir, progress=False)
    train_s = time.perf_counter() - start
    history = load_history(run)
    final = api.evaluate(run, data_dir=data_dir, names=["reconstruction", "elbo"])
    last = history[-1]
    return {"measure": "book/vae", "data": "fashion-mnist", "seed": seed, "epochs": last["epoch"],
            "valid_loss": round(last["valid_loss"], 5), "book_val_loss": BOOK_VAL_LOSS,
            "valid_bce_sampled": round(last["valid_recon"], 5),
            "valid_bce_mean_coding": round(final["recon_bce"], 5),
            "valid_kl_nats": round(last["valid_kl"], 3),
            "valid_loss_per_epoch": [round(r["valid_loss"], 4) for r in history],
            "train_s": round(train_s, 1), "s_per_epoch": round(train_s / len(history), 2)}


def nll(data_dir: str, keep: Path, preset: str, samples: int) -> dict:
    config = get_preset(preset)
    start = time.perf_counter()
    run = api.train(config, keep / preset.replace("/", "-"), data_dir=data_dir, progress=False)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    result = api.evaluate(run, split="test", data_dir=data_dir, names=["elbo", "nll"],
                          nll_samples=samples)
    eval_s = time.perf_counter() - start
    last = load_history(run)[-1]
    return {"measure": preset, "data": "binarized-mnist test (10,000 images)",
            "epochs": last["epoch"], "test_nll": round(result["nll"], 3),
            "nll_samples": samples, "test_nelbo": round(result["nelbo"], 3),
            "test_recon": round(result["nelbo_recon"], 3), "test_kl": round(result["nelbo_kl"], 3),
            "valid_nelbo": round(last["valid_nelbo"], 3), "train_s": round(train_s, 1),
            "eval_s": round(eval_s, 1), "references": REFERENCES}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--which", default="book,nll")
    p.add_argument("--book-seeds", default="42", help="seeds of the book/vae runs (42: the preset's)")
    p.add_argument("--nll-preset", default="vae-binarized-mnist")
    p.add_argument("--nll-samples", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (1 is fastest on a CPU shared with other work)")
    p.add_argument("--keep", help="keep the runs in this folder (default: a temporary one)")
    p.add_argument("--out", help="also append each JSON line to this file")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    tmp = None if a.keep else tempfile.TemporaryDirectory()
    keep = Path(a.keep or tmp.name)
    results = [{"machine": platform.node(), "cpu_count": os.cpu_count(), "threads": a.threads,
                "torch": torch.__version__, "date": time.strftime("%Y-%m-%d %H:%M"),
                "load_avg_start": os.getloadavg()}]
    which = a.which.split(",")
    for r in results:
        print(json.dumps(r), flush=True)
    jobs = []
    for name in which:
        if name == "book":
            jobs += [lambda s=int(s): book(a.data_dir, keep, s) for s in a.book_seeds.split(",")]
        elif name == "nll":
            jobs.append(lambda: nll(a.data_dir, keep, a.nll_preset, a.nll_samples))
        else:
            raise SystemExit(f"unknown measurement {name!r}; choose book or nll")
    for job in jobs:
        result = job()
        result["load_avg_end"] = os.getloadavg()
        print(json.dumps(result), flush=True)
        if a.out:
            with open(a.out, "a") as handle:
                handle.write(json.dumps(result) + "\n")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
