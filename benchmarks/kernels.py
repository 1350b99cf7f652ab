"""Single kernels, timed alone: the optimizer step for each optimizer and kernel choice, and
dropout (aegan's against PyTorch's).

    python benchmarks/kernels.py [--preset book/gan] [--threads 2] [--steps 1000] [--json F]

The parameters are the preset's model's (for ``book/gan``, its two players' together, about
270k weights in 12 tensors), with random gradients; every optimizer and kernel choice
(``optim.kernels``: loop, foreach, fused, and ``auto``, what aegan picks) is timed in this one
process, interleaved over ``--rounds`` rounds, and the median of the rounds is reported. The
``auto`` rows are what a run gets; the ``loop`` rows are PyTorch's default on a CPU.

Dropout: ``aegan.nets.layers.Dropout`` against ``torch.nn.Dropout`` (p 0.4, training mode) on
the book DCGAN's discriminator activations (``[32, 64, 14, 14]`` and ``[32, 128, 7, 7]``,
channels-last as the Trainer lays them out) and on a batch of 32 flat Fashion-MNIST images
(``book/denoising-dropout``'s input dropout, p 0.5), in milliseconds per call.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CONFIGS = {  # name -> OptimConfig keyword arguments
    "rmsprop": {"name": "rmsprop", "lr": 1e-3, "rho": 0.9, "eps": 1e-7},
    "adam": {"name": "adam", "lr": 1e-3},
    "adamw": {"name": "adamw", "lr": 1e-3},
    "sgd": {"name": "sgd", "lr": 1e-2},
    "sgd-momentum": {"name": "sgd", "lr": 1e-2, "momentum": 0.9},
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="book/gan")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=1000, help="steps per round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--json", help="also write the rows to this file")
    args = p.parse_args()
    sys.path.insert(0, str(HERE.parent / "src"))
    import torch

    from aegan.config import OptimConfig
    from aegan.models import build_model
    from aegan.optim import make_optimizer
    from aegan.presets import get_preset

    torch.set_num_threads(args.threads)
    config = get_preset(args.preset)
    shape = (1, 28, 28)
    model = build_model(config.model, shape)
    shapes = [tuple(q.shape) for q in model.parameters()]
    gen = torch.Generator().manual_seed(0)
    grads = [torch.randn(s, generator=gen) for s in shapes]

    def make(kw: dict, kernels: str):
        params = [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in shapes]
        for q, g in zip(params, grads):
            q.grad = g
        return make_optimizer(params, OptimConfig(**kw, kernels=kernels))

    cases = {(name, k): make(kw, k) for name, kw in CONFIGS.items()
             for k in ("loop", "foreach", "fused", "auto")}
    times: dict[tuple, list[float]] = {key: [] for key in cases}
    for opt in cases.values():  # warm up: state allocated
        for _ in range(20):
            opt.step()
    for _ in range(args.rounds):
        for key, opt in cases.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                opt.step()
            times[key].append((time.perf_counter() - start) / args.steps * 1e6)
    from aegan.nets.layers import Dropout

    drops = {}
    for shape, p_drop in (((32, 64, 14, 14), 0.4), ((32, 128, 7, 7), 0.4), ((32, 784), 0.5)):
        x = torch.randn(shape)
        if x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        for name, layer in (("torch.nn.Dropout", torch.nn.Dropout(p_drop)),
                            ("aegan Dropout", Dropout(p_drop))):
            drops[(name, shape, p_drop)] = (layer, x, [])
    for _ in range(args.rounds):
        for layer, x, values in drops.values():
            start = time.perf_counter()
            for _ in range(50):
                layer(x)
            values.append((time.perf_counter() - start) / 50 * 1e3)
    head = {"threads": args.threads, "preset": args.preset, "tensors": len(shapes),
            "weights": sum(g.numel() for g in grads)}
    rows = []
    for (name, kernels), values in times.items():
        opt = cases[(name, kernels)]
        rows.append({"optimizer": name, "kernels": kernels, "class": type(opt).__name__,
                     "us_per_step": round(statistics.median(values), 1)})
    for (name, shape, p_drop), (_, _, values) in drops.items():
        rows.append({"layer": name, "shape": list(shape), "p": p_drop,
                     "ms_per_call": round(statistics.median(values), 3)})
    report(head, rows, args.json)


def report(head: dict, rows: list[dict], path: str | None) -> None:
    """Print the header (the machine, its load, the versions, the date, then ``head``) and the
    rows as JSON lines; with ``path``, write them there too."""
    import torch

    head = {"machine": platform.node(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
            "python": platform.python_version(), "torch": torch.__version__, **head,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    print(json.dumps(head))
    for row in rows:
        print(json.dumps(row))
    if path:
        Path(path).write_text(json.dumps({"header": head, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
