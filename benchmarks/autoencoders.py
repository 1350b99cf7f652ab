"""Quality of the book's autoencoder presets against the book's notebook: each preset trains for
the book's epochs on Fashion-MNIST and reports its validation loss beside the notebook's.

    python benchmarks/autoencoders.py --data-dir ../shared/data [--presets book/tied,...]
        [--out results.jsonl] [--keep DIR]

The notebook's numbers are its printed validation losses (Géron, 2nd ed., chapter 17 notebook;
binary cross-entropy, plus the activity penalty for the sparse models, as Keras reports it).
Prints one JSON line per preset as it finishes (and appends it to --out).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from aegan import api
from aegan.io import load_history, load_run, read_config
from aegan.metrics import batched
from aegan.presets import get_preset
from aegan.run import load_data

BOOK = {  # validation loss printed by the book's notebook after the same epochs
    "book/stacked": 0.2835, "book/tied": 0.2839, "book/greedy": 0.2857, "book/conv": 0.2671,
    "book/recurrent": 0.3206, "book/denoising-gaussian": 0.2920, "book/denoising-dropout": 0.2958,
    "book/sparse-l1": 0.3212, "book/sparse-kl": 0.3053, "book/hashing": None,
}


def coding_stats(run: Path, data_dir: str) -> dict:
    """Mean coding activation (sparse models) and the share of saturated codings (hashing)."""
    config = read_config(run)
    data = load_data(config, data_dir)
    _, model = load_run(run)
    z = batched(model.encode, data.valid.inputs, 1024).reshape(len(data.valid.inputs), -1)
    return {"mean_activation": float(z.mean()),
            "saturated_share": float(np.mean((z < 0.1) | (z > 0.9)))}


def run_preset(name: str, data_dir: str, folder: Path) -> dict:
    start = time.perf_counter()
    run = api.train(get_preset(name), folder / name.replace("/", "-"), data_dir, progress=False)
    seconds = time.perf_counter() - start
    history = load_history(run)
    result = api.evaluate(run, data_dir=data_dir)
    out = {"preset": name, "epochs": len(history), "valid_loss": history[-1]["valid_loss"],
           "valid_bce": result.get("recon_bce"), "book_valid_loss": BOOK.get(name),
           "s_per_epoch": statistics.median(r["time_s"] for r in history),
           "train_s": round(seconds, 1), "threads": torch.get_num_threads()}
    if get_preset(name).model.coding_activation == "sigmoid":
        out.update(coding_stats(run, data_dir))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--presets", default=",".join(BOOK))
    p.add_argument("--out", help="append JSON lines here")
    p.add_argument("--keep", help="keep the runs in this folder")
    a = p.parse_args()
    folder = Path(a.keep) if a.keep else Path(tempfile.mkdtemp())
    for name in a.presets.split(","):
        line = json.dumps(run_preset(name, a.data_dir, folder))
        print(line, flush=True)
        if a.out:
            with open(a.out, "a") as handle:
                handle.write(line + "\n")


if __name__ == "__main__":
    main()
