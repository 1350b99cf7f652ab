"""Benchmark of the foundation: the book's stacked autoencoder against the book's Keras code
and the plain PyTorch loop, measured in one run on one machine; and the linear autoencoder
against PCA.

    python benchmarks/foundation.py --data-dir ../shared/data [--epochs 2] \
        [--keras-python PATH] [--reference-dir ../shared/bench] [--json out.json]

Keras and the plain loop run from the reference scripts in --reference-dir (they are not part
of aegan), each in its own process. Prints one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def aegan_stacked(data_dir: str, epochs: int) -> dict:
    import torch

    from aegan import api
    from aegan.presets import get_preset

    config = get_preset("book/stacked").replace("train", epochs=epochs)
    with tempfile.TemporaryDirectory() as tmp:
        run = api.train(config, Path(tmp) / "run", data_dir=data_dir, progress=False)
        history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
        final = api.evaluate(run, data_dir=data_dir)
    return {"model": "stacked", "framework": f"aegan (torch {torch.__version__})", "epochs": epochs,
            "s_per_epoch": statistics.median(r["time_s"] for r in history),
            "epoch_times": [r["time_s"] for r in history],
            "valid_bce_per_epoch": [round(r["valid_loss"], 5) for r in history],
            "valid_bce": final["recon_bce"], "threads": torch.get_num_threads()}


def reference(script: Path, python: str, args: list[str], data_dir: str) -> dict | None:
    env = dict(os.environ, DATA=str(Path(data_dir) / "fashion-mnist"))
    proc = subprocess.run([python, str(script), *args], capture_output=True, text=True, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        print(f"# {script.name} failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(lines[-1])


def linear(preset: str) -> dict:
    from aegan import api
    from aegan.presets import get_preset

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run = api.train(get_preset(preset), Path(tmp) / "run", progress=False)
        seconds = time.perf_counter() - start
        result = api.evaluate(run)
    return {"model": preset, "pca_ratio": result["pca_ratio"], "recon_mse": result["recon_mse"],
            "pca_mse": result["pca_mse"], "train_s": round(seconds, 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--keras-python", help="a Python with TensorFlow/Keras for the book's code")
    p.add_argument("--reference-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "bench"))
    p.add_argument("--json", help="also write all results to this file")
    a = p.parse_args()
    ref = Path(a.reference_dir)
    results = [{"machine": platform.node(), "cpu_count": os.cpu_count(), "python": sys.version.split()[0],
                "date": time.strftime("%Y-%m-%d %H:%M")}]
    results.append(linear("book/linear-pca"))
    results.append(linear("linear-pca"))
    results.append(aegan_stacked(a.data_dir, a.epochs))
    if (ref / "torch_plain.py").is_file():
        results.append(reference(ref / "torch_plain.py", sys.executable,
                                 ["--epochs", str(a.epochs), "--loader", "dataloader"], a.data_dir))
    if a.keras_python and (ref / "keras_book.py").is_file():
        results.append(reference(ref / "keras_book.py", a.keras_python,
                                 ["stacked", "--epochs", str(a.epochs)], a.data_dir))
        results.append(reference(ref / "keras_book.py", a.keras_python, ["linear", "--epochs", "20"],
                                 a.data_dir))
    for r in results:
        print(json.dumps(r))
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
