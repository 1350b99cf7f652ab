"""The speed benchmark suite: each book preset (Géron, *Hands-On Machine Learning*, 2nd ed.,
chapter 17) trained by aegan for a fixed number of epochs, beside two baselines measured in the
same run: the plain PyTorch loop a user would write (a ``DataLoader`` over a ``TensorDataset``,
driving the very same aegan model) and, when a TensorFlow Python is given, the book's Keras
model (``../shared/bench/keras_book.py``).

    python benchmarks/suite.py --data-dir DATA [--quick] [--presets book/stacked,book/conv]
        [--threads 1,2] [--epochs 3] [--variant NAME:train.precision=bf16,...] [--fast-paths]
        [--keras-python /work/tfvenv/bin/python] [--device cpu|cuda] [--json out.json]

Every measurement runs in a fresh Python process with a fixed number of intra-op threads
(recorded with it) and reports samples per second, seconds per epoch (median over the epochs;
validation included, as Keras' ``fit`` with ``validation_data`` times it), peak memory (the
process's maximum RSS on the CPU, ``torch.cuda.max_memory_allocated`` on CUDA) and the loss
reached (validation loss after the last epoch). ``train_s_per_epoch`` is the same median without
the validation pass: the book's GAN loops (``gan``, ``dcgan`` in ``keras_book.py``) validate
nothing, so for those presets "vs Keras" compares training time with training time. One JSON
line per measurement on stdout, a Markdown table on stderr; ``--json`` also writes them all,
with the machine, date and versions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PRESETS = ("book/stacked", "book/tied", "book/conv", "book/vae", "book/denoising-gaussian",
           "book/denoising-dropout", "book/sparse-l1", "book/sparse-kl", "book/recurrent",
           "book/gan", "book/dcgan")
KERAS = {"book/stacked": "stacked", "book/conv": "conv", "book/vae": "vae", "book/gan": "gan",
         "book/dcgan": "dcgan"}  # presets with a model in keras_book.py
KERAS_NO_VALIDATION = {"book/gan", "book/dcgan"}  # its hand-written GAN loop validates nothing
RENAMED = {"train.hand_backward": "train.closed_form"}  # option names of earlier versions
# --fast-paths: each path switched off (or on) alone, against the defaults
FAST_PATHS = {
    "all-off": "train.channels_last=off,train.cuda_graph=off,train.closed_form=off,"
               "optim.kernels=loop",
    "closed-form-off": "train.closed_form=off",
    "channels-last-off": "train.channels_last=off",
    "kernels-loop": "optim.kernels=loop",
    "kernels-foreach": "optim.kernels=foreach",
    "kernels-fused": "optim.kernels=fused",
    "bf16": "train.precision=bf16",
    "compile": "train.compile=true",
    "cuda-graph-off": "train.cuda_graph=off",
}


# -- in the child process ------------------------------------------------------------------------
def _peak_memory_mb(device: str) -> float:
    import torch

    if device == "cuda":
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def _config(spec: dict):
    from aegan.presets import get_preset

    config = get_preset(spec["preset"])
    config = config.replace("train", epochs=spec["epochs"], device=spec["device"])
    config = config.replace("data", limit=spec["limit"])
    for item in filter(None, spec.get("options", "").split(",")):
        key, value = item.split("=", 1)
        config = config.assign(f"{RENAMED.get(key, key)}={value}")
    return config


def child_aegan(spec: dict) -> dict:
    """aegan's Trainer on the preset (no run folder: the checkpoint is not timed)."""
    import torch

    from aegan.models import build_model
    from aegan.run import load_data
    from aegan.train import Trainer

    config = _config(spec)
    data = load_data(config, spec["data_dir"])
    torch.manual_seed(config.train.seed)
    model = build_model(config.model, data.spec)
    trainer = Trainer(model, config.train, config.optim, progress=False)
    valid_s, evaluate = [], trainer.evaluate

    def timed_evaluate(*args, **kwargs):  # the validation pass's share of each epoch
        start = time.perf_counter()
        out = evaluate(*args, **kwargs)
        valid_s.append(time.perf_counter() - start)
        return out

    trainer.evaluate = timed_evaluate
    history = trainer.fit(data.train, data.valid)
    times = [r["time_s"] for r in history]
    key = model.monitor  # the main loss: g_loss for a GAN, else loss
    return {"n_train": len(data.train), "epoch_s": times,
            "train_s": [round(t - v, 4) for t, v in zip(times, valid_s)],
            "loss": history[-1].get(f"valid_{key}"),
            "train_loss": history[-1][f"train_{key}"], "peak_mb": _peak_memory_mb(spec["device"])}


def child_plain(spec: dict) -> dict:
    """The loop a user would write: ``DataLoader(TensorDataset(x), shuffle=True)``, the model's
    own step (zero_grad, backward, optimizer step), the running loss read each step, then a
    validation pass each epoch; same model, optimizer and batch size as the preset, with
    PyTorch's default optimizer kernels."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from aegan.data import Batch
    from aegan.models import build_model
    from aegan.run import load_data

    config = _config(spec)
    # PyTorch's own optimizer kernels, as a user's loop gets them: a for-loop over the tensors
    # on the CPU, foreach on CUDA (torch.optim's default), not aegan's choice
    config = config.replace("optim", kernels="loop" if spec["device"] == "cpu" else "foreach")
    data = load_data(config, spec["data_dir"])
    device = torch.device(spec["device"])
    torch.manual_seed(config.train.seed)
    model = build_model(config.model, data.spec).to(device)
    optimizers = model.configure_optimizers(config.optim)
    key = model.monitor  # the main loss: g_loss for a GAN, else loss
    x = torch.as_tensor(data.train.inputs, dtype=torch.float32)
    x_valid = torch.as_tensor(data.valid.inputs, dtype=torch.float32).to(device)
    loader = DataLoader(TensorDataset(x), batch_size=config.train.batch_size, shuffle=True)
    times, train_s, step, running, valid = [], [], 0, 0.0, None
    for _ in range(config.train.epochs):
        start = time.perf_counter()
        model.train()
        for (xb,) in loader:
            out = model.training_step(Batch(xb.to(device)), optimizers, step)
            running += float(out[key])
            step += 1
        train_s.append(time.perf_counter() - start)
        model.eval()
        with torch.no_grad():
            losses = [(model.validation_step(Batch(vb))[key], len(vb))
                      for vb in x_valid.split(config.train.valid_batch_size)]
            valid = float(sum(v * n for v, n in losses) / len(x_valid))
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(round(time.perf_counter() - start, 4))
    return {"n_train": len(x), "epoch_s": times, "train_s": [round(t, 4) for t in train_s],
            "loss": valid, "train_loss": running / step,
            "peak_mb": _peak_memory_mb(spec["device"])}


def child_keras(spec: dict) -> dict:
    """The book's Keras model, in the TensorFlow Python; its peak RSS is that process's."""
    env = dict(os.environ, DATA=str(Path(spec["data_dir"]) / "fashion-mnist"),
               TF_NUM_INTRAOP_THREADS=str(spec["threads"]), TF_NUM_INTEROP_THREADS="1",
               TF_CPP_MIN_LOG_LEVEL="3")
    args = [spec["keras_python"], str(spec["reference_dir"] / "keras_book.py"), KERAS[spec["preset"]],
            "--epochs", str(spec["epochs"])] + (["--limit", str(spec["limit"])] if spec["limit"] else [])
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"keras_book.py failed: {proc.stderr.strip().splitlines()[-1:]}")
    out = json.loads(lines[-1])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    no_valid = spec["preset"] in KERAS_NO_VALIDATION
    return {"n_train": out["samples"], "epoch_s": [out["sec_per_epoch"]],
            "train_s": [out["sec_per_epoch"]] if no_valid else None, "loss": out["final_loss"],
            "train_loss": None, "peak_mb": round(peak, 1), "framework": out["framework"]}


CHILDREN = {"aegan": child_aegan, "plain": child_plain, "keras": child_keras}


def run_child(spec_json: str) -> None:
    spec = json.loads(spec_json)
    spec["reference_dir"] = Path(spec["reference_dir"])
    import torch

    torch.set_num_threads(spec["threads"])
    try:
        result = CHILDREN[spec["trainer"]](spec)
    except Exception as exc:  # noqa: BLE001 - reported as a row, the suite goes on
        result = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    print(json.dumps(result))


# -- in the parent -------------------------------------------------------------------------------
def measure(spec: dict) -> dict:
    """One measurement in a fresh process with ``spec['threads']`` intra-op threads."""
    threads = str(spec["threads"])
    env = dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
               PYTHONPATH=os.pathsep.join(filter(None, [str(HERE.parent / "src"),
                                                        os.environ.get("PYTHONPATH")])))
    payload = dict(spec, reference_dir=str(spec["reference_dir"]))
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child",
                           json.dumps(payload)], capture_output=True, text=True, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines else {"error": (proc.stderr.strip().splitlines()
                                                            or ["no output"])[-1]}
    row = {k: spec[k] for k in ("preset", "trainer", "variant", "threads", "epochs", "device")}
    if "error" in result:
        return dict(row, error=result["error"])
    times, train = result.pop("epoch_s"), result.pop("train_s", None)
    median = statistics.median(times)
    row.update(s_per_epoch=round(median, 4), samples_per_s=round(result["n_train"] / median, 1),
               train_s_per_epoch=round(statistics.median(train), 4) if train else None,
               epoch_s=times, **result)
    return row


def merge(rows: tuple[dict, ...]) -> dict:
    """One row from the same measurement in several rounds: the fastest round's (the machine's
    noise only ever slows a run down, so the fastest is the least disturbed; ``timeit``'s
    advice), with every round's seconds per epoch in ``round_s``."""
    ok = [r for r in rows if "error" not in r]
    if len(rows) == 1 or not ok:
        return rows[0]
    return dict(min(ok, key=lambda r: r["s_per_epoch"]), round_s=[r["s_per_epoch"] for r in ok])


def header(args) -> dict:
    import torch

    return {"machine": platform.node(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
            "date": time.strftime("%Y-%m-%d %H:%M %Z"), "python": sys.version.split()[0],
            "torch": torch.__version__, "device": args.device,
            "gpu": torch.cuda.get_device_name() if args.device == "cuda" else None,
            "threads": args.threads, "epochs": args.epochs, "limit": args.limit,
            "rounds": args.rounds}


def _vs_keras(row: dict, keras: dict | None) -> str:
    """Seconds per epoch against Keras', training only where the Keras loop validates nothing."""
    if keras is None:
        return "–"
    if row["preset"] in KERAS_NO_VALIDATION:
        if not row.get("train_s_per_epoch"):
            return "–"
        return f"{keras['s_per_epoch'] / row['train_s_per_epoch']:.2f}× (training)"
    return f"{keras['s_per_epoch'] / row['s_per_epoch']:.2f}×"


def table(rows: list[dict]) -> str:
    lines = ["| preset | trainer | variant | threads | s/epoch | training s/epoch | samples/s "
             "| vs plain | vs Keras | peak MB | loss |", "|" + " --- |" * 11]
    base = {(r["preset"], r["trainer"], r["threads"]): r for r in rows
            if "error" not in r and r["variant"] == "default"}
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['preset']} | {r['trainer']} | {r['variant']} | {r['threads']} | "
                         f"error: {r['error']} |")
            continue
        plain = base.get((r["preset"], "plain", r["threads"]))
        vs_plain = f"{r['samples_per_s'] / plain['samples_per_s']:.2f}×" if plain else "–"
        vs_keras = _vs_keras(r, base.get((r["preset"], "keras", r["threads"])))
        loss = "–" if r["loss"] is None else f"{r['loss']:.4f}"
        train = "–" if r.get("train_s_per_epoch") is None else f"{r['train_s_per_epoch']:.3f}"
        lines.append(f"| {r['preset']} | {r['trainer']} | {r['variant']} | {r['threads']} | "
                     f"{r['s_per_epoch']:.3f} | {train} | {r['samples_per_s']:.0f} | {vs_plain} | "
                     f"{vs_keras} | {r['peak_mb']:.0f} | {loss} |")
    return "\n".join(lines)


def plan(args) -> list[dict]:
    from aegan.presets.registry import PRESETS as KNOWN

    names = [p for p in args.presets.split(",") if p] if args.presets else list(PRESETS)
    skipped = [p for p in names if p not in KNOWN]
    if skipped:
        print(f"# skipped (not in the preset registry): {', '.join(skipped)}", file=sys.stderr)
    variants = {"default": ""}
    if args.fast_paths:
        variants.update(FAST_PATHS)
    for item in args.variant:
        name, _, options = item.partition(":")
        variants[name] = options
    keras = args.keras_python and Path(args.keras_python).is_file()
    common = dict(epochs=args.epochs, limit=args.limit, device=args.device, data_dir=args.data_dir,
                  reference_dir=Path(args.reference_dir), keras_python=args.keras_python)
    specs = []
    for threads in args.threads:
        for preset in (p for p in names if p in KNOWN):
            for name, options in variants.items():
                specs.append(dict(common, preset=preset, trainer="aegan", variant=name,
                                  options=options, threads=threads))
            specs.append(dict(common, preset=preset, trainer="plain", variant="default",
                              threads=threads))
            if keras and preset in KERAS and args.device == "cpu":
                specs.append(dict(common, preset=preset, trainer="keras", variant="default",
                                  threads=threads, epochs=max(args.epochs, 3)))
    return specs


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        return run_child(sys.argv[2])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(HERE.parent.parent / "shared" / "data"))
    p.add_argument("--presets", help="comma-separated preset names (default: every book preset)")
    p.add_argument("--quick", action="store_true", help="2,048 images, 3 epochs: a laptop check")
    p.add_argument("--epochs", type=int, default=3, help="epochs per measurement (median taken)")
    p.add_argument("--limit", type=int, help="train on the first N images only")
    p.add_argument("--threads", default="1", help="intra-op thread counts, such as 1,2")
    p.add_argument("--rounds", type=int, default=1,
                   help="measure every row this many times, interleaved; report the fastest round")
    p.add_argument("--variant", action="append", default=[],
                   help="NAME:section.key=value,... an extra aegan row with these options")
    p.add_argument("--fast-paths", action="store_true",
                   help="add one aegan row per fast path switched off or on alone")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--keras-python", default="/work/tfvenv/bin/python",
                   help="a Python with TensorFlow for the book's Keras models (skipped if absent)")
    p.add_argument("--reference-dir", default=str(HERE.parent.parent / "shared" / "bench"))
    p.add_argument("--json", help="also write the header and every row to this file")
    args = p.parse_args()
    if args.quick:
        args.limit = args.limit or 2048
    args.threads = [int(t) for t in args.threads.split(",")]
    sys.path.insert(0, str(HERE.parent / "src"))
    head = header(args)
    print(json.dumps(head), flush=True)
    specs, rounds = plan(args), []
    for _ in range(args.rounds):  # interleaved: a slow spell of the machine hits every row
        rounds.append([])
        for spec in specs:
            rounds[-1].append(measure(spec))
            print(json.dumps(rounds[-1][-1]), flush=True)
    rows = [merge(same) for same in zip(*rounds)]
    print(table(rows), file=sys.stderr)
    if args.json:
        out = {"header": head, "rows": rows}
        if args.rounds > 1:  # every round's rows, as measured
            out["raw"] = [row for rnd in rounds for row in rnd]
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
