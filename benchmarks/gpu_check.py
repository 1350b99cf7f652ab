"""GPU check of the Trainer's CUDA-graph fast path (:mod:`aegan.train.fast`): equivalence, then speed.

    python benchmarks/gpu_check.py [--data-dir DATA] [--quick] [--steps 60] [--epochs 2]

1. Equivalence: each preset trained for ``--steps`` full batches plus one partial batch (so the
   eager fallback for the last batch runs too) with ``cuda_graph`` off and auto, from the same
   seed; prints the largest difference of the logged losses and of the weights, and whether the
   step was captured. Exact on presets without randomness in the step (book/stacked, book/conv),
   different random numbers otherwise (the graph draws its noise from the graph-safe generator
   offsets), so those are compared by loss only.
2. Speed: ``--epochs`` epochs of the full training set with every fast path off (eager, for-loop
   optimizer, NCHW), with the defaults (fused optimizer, channels-last, CUDA graph) and with bf16
   added: seconds per epoch (median; validation included), samples per second, peak memory.

book/stacked is compared with the CUDA-graph floor of ../shared/bench/gpu_anchor.py (0.228 s per
epoch on an H200) and book/dcgan, when the registry has it, with the plain loop's 10.5 s.
Prints one JSON line per measurement; without CUDA it prints one line saying so and exits 0.
``--dry-run`` runs the same code on the CPU on 512 images (no graph: a check of the script).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from aegan.models import build_model, model_class  # noqa: E402
from aegan.presets import get_preset  # noqa: E402
from aegan.presets.registry import PRESETS  # noqa: E402
from aegan.run import load_data  # noqa: E402
from aegan.train import Trainer  # noqa: E402

NAMES = ("book/stacked", "book/conv", "book/vae", "book/denoising-dropout", "book/gan", "book/dcgan")
OFF = dict(cuda_graph="off", channels_last="off")


class Captured(logging.Handler):
    """Collects the fast-path log lines (capture done or failed)."""

    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def train(config, data, x=None):
    cuda = config.train.device == "cuda"
    torch.manual_seed(config.train.seed)
    model = build_model(config.model, data.spec)
    handler = Captured()
    logging.getLogger("aegan.train.fast").addHandler(handler)
    logging.getLogger("aegan.train.fast").setLevel(logging.INFO)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    history = Trainer(model, config.train, config.optim, progress=False).fit(
        data.train.inputs if x is None else x, data.valid.inputs)  # inputs only, no labels
    if cuda:
        torch.cuda.synchronize()
    logging.getLogger("aegan.train.fast").removeHandler(handler)
    weights = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
    return history, weights, handler.lines


def monitor(config) -> str:
    """The main loss key of the preset's model (``g_loss`` for a GAN, else ``loss``)."""
    return model_class(config.model).monitor


def equivalence(name: str, data, steps: int, device: str) -> dict:
    config = get_preset(name).replace("train", epochs=1, device=device)
    x = data.train.inputs[: steps * config.train.batch_size + config.train.batch_size // 2]
    eager = train(config.replace("train", **OFF), data, x)
    graph = train(config.replace("train", channels_last="off"), data, x)
    loss_diff = max(abs(a[k] - b[k]) for a, b in zip(eager[0], graph[0])
                    for k in a if k.startswith(("train_", "valid_")))
    weight_diff = max(float((eager[1][k] - graph[1][k]).abs().max()) for k in eager[1])
    key = f"train_{monitor(config)}"
    return {"check": "equivalence", "preset": name, "steps": steps + 1,
            "captured": any("captured" in line for line in graph[2]), "log": graph[2],
            "max_loss_diff": loss_diff, "max_weight_diff": weight_diff,
            "eager_train_loss": eager[0][-1][key], "graph_train_loss": graph[0][-1][key]}


def speed(name: str, data, epochs: int, device: str) -> list[dict]:
    base = get_preset(name).replace("train", epochs=epochs, device=device)
    variants = {"all-off": base.replace("train", **OFF).replace("optim", kernels="loop"),
                "default": base, "bf16": base.replace("train", precision="bf16")}
    rows = []
    for variant, config in variants.items():
        history, _, log = train(config, data)
        times = [r["time_s"] for r in history]
        median = statistics.median(times)
        rows.append({"check": "speed", "preset": name, "variant": variant, "epoch_s": times,
                     "s_per_epoch": median, "samples_per_s": round(len(data.train) / median),
                     "valid_loss": history[-1].get(f"valid_{monitor(config)}"), "log": log,
                     "peak_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1)
                     if device == "cuda" else None})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(HERE.parent.parent / "shared" / "data"))
    p.add_argument("--presets", default=",".join(NAMES))
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="equivalence only")
    p.add_argument("--dry-run", action="store_true", help="on the CPU, 512 images: checks the script")
    a = p.parse_args()
    device = "cpu" if a.dry_run else "cuda"
    if a.dry_run:
        a.steps, a.epochs = 4, 1
    elif not torch.cuda.is_available():
        print(json.dumps({"skipped": "no CUDA GPU visible"}))
        return
    gpu = torch.cuda.get_device_name() if device == "cuda" else None
    print(json.dumps({"gpu": gpu, "torch": torch.__version__}), flush=True)
    for name in (n for n in a.presets.split(",") if n in PRESETS):
        data = load_data(get_preset(name), a.data_dir)
        if a.dry_run:
            data = data.limited(512)
        rows = [equivalence(name, data, a.steps, device)]
        for row in rows + ([] if a.quick else speed(name, data, a.epochs, device)):
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
