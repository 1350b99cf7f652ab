"""The cost of the forecasters' SSIM term (``model.lambda_ssim``): SSIM's window means by
running sums (aegan's) against ``avg_pool2d`` (the earlier code), alone and in a training step.

    python benchmarks/ssim_loss.py [--threads 2] [--rounds 15] [--json F]

Alone: the SSIM of one batch's predicted frames (160 frames of 64x64, float32, as
``simvp-wide``'s batches of 16 sequences with a horizon of 10 give), forward and backward, in
milliseconds. In a step: one ``simvp-wide`` training step (batch 16, bf16 autocast as on a CPU
with native bf16; random frames) with ``lambda_ssim`` 0, and 0.05 by each window mean. Every
case runs in this one process, interleaved over ``--rounds`` rounds; the median is reported.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--json", help="also write the rows to this file")
    args = p.parse_args()
    sys.path.insert(0, str(HERE.parent / "src"))
    sys.path.insert(0, str(HERE))
    from kernels import report
    import torch
    import torch.nn.functional as F

    import aegan.nets.ssim as ssim_module
    from aegan.data import ExampleSpec
    from aegan.data.examples import Batch
    from aegan.models import build_model
    from aegan.presets import get_preset

    torch.set_num_threads(args.threads)
    means = {"running sums": ssim_module.window_means,
             "avg_pool2d": lambda t, window: F.avg_pool2d(t, window, stride=1)}
    gen = torch.Generator().manual_seed(0)
    frames = torch.rand(160, 1, 64, 64, generator=gen), torch.rand(160, 1, 64, 64, generator=gen)

    def ssim_alone():
        b = frames[1].clone().requires_grad_()
        (1 - ssim_module.ssim_per_image(frames[0], b)).sum().backward()

    config = get_preset("simvp-wide")
    spec = ExampleSpec("image-sequences", {"inputs": (10, 1, 64, 64), "targets": (10, 1, 64, 64)})
    batch = Batch(inputs=torch.rand(16, 10, 1, 64, 64, generator=gen),
                  targets=torch.rand(16, 10, 1, 64, 64, generator=gen))
    steppers = {}
    for lam in (0.0, 0.05):
        torch.manual_seed(0)
        model = build_model(dataclasses.replace(config.model, lambda_ssim=lam), spec)
        steppers[lam] = (model, model.configure_optimizers(config.optim))

    def step(lam):
        model, optimizers = steppers[lam]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            model.training_step(batch, optimizers, 0)

    cases = {("ssim alone", name): ssim_alone for name in means}
    cases[("step, lambda_ssim 0", "-")] = lambda: step(0.0)
    cases.update({("step, lambda_ssim 0.05", name): (lambda: step(0.05)) for name in means})
    times: dict[tuple, list[float]] = {key: [] for key in cases}
    for r in range(args.rounds + 1):
        for key, run in cases.items():
            ssim_module.window_means = means.get(key[1], means["running sums"])
            start = time.perf_counter()
            run()
            if r:  # round 0 warms up
                times[key].append((time.perf_counter() - start) * 1e3)
    ssim_module.window_means = means["running sums"]
    rows = [{"case": case, "window means": name, "ms_median": round(statistics.median(v), 1),
             "ms_min": round(min(v), 1)} for (case, name), v in times.items()]
    report({"threads": args.threads, "rounds": args.rounds}, rows, args.json)


if __name__ == "__main__":
    main()
