"""CPU time per batch of 64 of the exported networks of the book presets: onnxruntime against
PyTorch, one thread each.

Each book preset's model is built for its data's shape (untrained: the time does not depend on
the weights' values), each network ``aegan export`` writes (:func:`aegan.export.networks`) is
exported to ONNX and run by onnxruntime (``intra_op_num_threads`` 1, sequential execution) and
by PyTorch (``torch.set_num_threads(1)``, ``torch.no_grad``) on the same random batch of 64;
after warm-up calls, the median of ``--repeats`` timed calls (``time.process_time``: the CPU
time of this process, so another process on the machine does not count).

    python benchmarks/export_speed.py --repeats 50 --json benchmarks/results/export-speed.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import onnxruntime
import torch

from aegan.export import export_model, networks
from aegan.models import build_model
from aegan.presets import PRESETS, get_preset

BATCH = 64
SHAPES = {"book-3d": (3,), "fashion-mnist": (1, 28, 28)}  # the data of the book presets


def _median_cpu_s(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def measure(preset: str, repeats: int, folder: Path) -> list[dict]:
    config = get_preset(preset)
    torch.manual_seed(0)
    model = build_model(config.model, SHAPES[config.data.name]).eval()
    export_model(model, "onnx", folder / preset.replace("/", "-"))
    rows = []
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    generator = torch.Generator().manual_seed(0)
    for net in networks(model):
        path = folder / preset.replace("/", "-") / f"{net.name}.onnx"
        session = onnxruntime.InferenceSession(str(path), options,
                                               providers=["CPUExecutionProvider"])
        xs = [p.draw(BATCH, generator) for p in net.inputs]
        feed = {p.name: x.numpy() for p, x in zip(net.inputs, xs)}

        def torch_call():
            with torch.no_grad():
                net.module(*xs)

        ort_s = _median_cpu_s(lambda: session.run(None, feed), repeats)
        torch_s = _median_cpu_s(torch_call, repeats)
        rows.append({"preset": preset, "network": net.name, "onnxruntime_ms": 1e3 * ort_s,
                     "pytorch_ms": 1e3 * torch_s, "speedup": torch_s / ort_s})
        print(f"{preset:>24} {net.name:>10}: onnxruntime {1e3 * ort_s:8.3f} ms, "
              f"PyTorch {1e3 * torch_s:8.3f} ms, {torch_s / ort_s:5.2f}x", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--presets", help="comma-separated (default: every book/ preset)")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    presets = (args.presets.split(",") if args.presets
               else [p for p in PRESETS if p.startswith("book/")])
    with tempfile.TemporaryDirectory() as tmp:
        rows = [row for preset in presets for row in measure(preset, args.repeats, Path(tmp))]
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "batch": BATCH, "repeats": args.repeats,
                       "machine": platform.platform(), "processor": platform.processor(),
                       "date": time.strftime("%Y-%m-%d %H:%M"), "torch": torch.__version__,
                       "onnxruntime": onnxruntime.__version__}, f, indent=1)


if __name__ == "__main__":
    main()
