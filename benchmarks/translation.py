"""Image-to-image presets against their honest baselines: a preset trained with its adversarial
loss (the GAN) and its L1-only twin (``model.lambda_adv`` 0, the same generator, no
discriminator), both evaluated on the test split beside the task's own baselines.

For each of the two runs: training time and peak resident memory (each trains in a fresh
process), then on the test split PSNR and SSIM (with bicubic and nearest-neighbour upsampling
for super-resolution, the grey image for colorization), FID of the translations against the
targets and the judge's accuracy (labelled data: the data set's classifier, trained on the
training targets and cached; ``--fid-features``), and for Lab colorization PSNR in ab and the
colourfulness beside the targets'. Prints one table and the issue's comparisons (measured, not
asserted), appends a JSON line (``--json``), and draws input | L1 | GAN | target for the first
test examples (``--figure``).

Usage::

    OMP_NUM_THREADS=2 python benchmarks/translation.py sr4-fashion --data-dir DATA \
        --out runs/bench --json benchmarks/results/translation.jsonl --figure sr4.png
    python benchmarks/translation.py sr4-fashion --epochs 1 --limit 2000 --out /tmp/t  # a pilot

A finished run folder in ``--out`` is evaluated again, not retrained; an unfinished one is
resumed (``--epochs`` may extend it).

``--time N`` only times the preset as it is (the GAN): ``aegan train`` for ``N`` epochs in a
fresh process (its figures after every epoch and at the end included), then prints the wall
time, the seconds of each epoch, the peak resident memory and the preset's training time
estimated as the time before the first epoch plus its epochs at the mean of the timed ones::

    OMP_NUM_THREADS=2 python benchmarks/translation.py sr2-fashion --data-dir DATA --time 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(SRC))

from aegan import api, viz  # noqa: E402
from aegan.io import load_history, load_run  # noqa: E402
from aegan.metrics import batched  # noqa: E402
from aegan.presets import get_preset  # noqa: E402
from aegan.run import load_data  # noqa: E402
from aegan.translation import columns  # noqa: E402

# Runs `aegan train` in this process and prints its peak resident memory (KiB) last.
TRAIN = ("import json, resource, sys; from aegan.cli import main; code = main(sys.argv[1:]); "
         "print(json.dumps({'peak_rss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
         " 'code': code}))")


def config_of(preset: str, variant: str, epochs: int | None, limit: int | None):
    config = get_preset(preset)
    if variant == "l1":
        config = config.replace("model", lambda_adv=0.0, lambda_fm=0.0)
    if epochs is not None:
        config = config.replace("train", epochs=epochs)
    if limit is not None:
        config = config.replace("data", limit=limit)
    return config


def train(config, run_dir: Path, data_dir: str | None) -> dict:
    """Train (or resume, or reuse) ``run_dir`` in a fresh process; time and peak memory."""
    if (run_dir / "model.safetensors").is_file():
        return {"reused": True}
    if (run_dir / "checkpoint.safetensors").is_file():
        args = ["train", "--resume", str(run_dir), "--epochs", str(config.train.epochs)]
    else:
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        path = run_dir.parent / f"{run_dir.name}.json"
        path.write_text(json.dumps(config.to_dict(), indent=1))
        args = ["train", str(path), "--out", str(run_dir)]
    args += ["--data-dir", data_dir] if data_dir else []
    path = os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", TRAIN, *args], env=env, text=True,
                          capture_output=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"training {run_dir} failed:\n{done.stdout[-2000:]}\n"
                         f"{done.stderr[-2000:]}")
    last = json.loads(done.stdout.strip().splitlines()[-1])
    return {"train_wall_s": round(wall, 1), "peak_rss_mib": round(last["peak_rss_kib"] / 1024, 1)}


def time_preset(preset: str, epochs: int, out: Path, data_dir: str | None) -> dict:
    """Train ``epochs`` epochs of ``preset`` into a new folder under ``out``; the costs."""
    run_dir = out / f"{preset}-time-{time.strftime('%Y%m%d-%H%M%S')}"
    cost = train(config_of(preset, "gan", epochs, None), run_dir, data_dir)
    epoch_s = [r["time_s"] for r in load_history(run_dir)]
    before = cost["train_wall_s"] - sum(epoch_s)  # start, data, figures
    preset_epochs = get_preset(preset).train.epochs
    return {"preset": preset, "timed_epochs": epochs, "epoch_s": epoch_s, **cost,
            "outside_epochs_s": round(before, 1), "preset_epochs": preset_epochs,
            "preset_estimate_s": round(before + preset_epochs * float(np.mean(epoch_s)), 1)}


def evaluate(run_dir: Path, data_dir, features: str | None, n_samples: int | None) -> dict:
    config, _ = load_run(run_dir)
    data = load_data(config, data_dir)
    labelled = data.test is not None and data.test.labels is not None
    names = ["translation"] + (["translation_fid", "judge"] if labelled or features else [])
    start = time.perf_counter()
    out = api.evaluate(run_dir, split="test", data_dir=data_dir, names=names, features=features,
                       n_samples=n_samples)
    out["evaluate_s"] = round(time.perf_counter() - start, 1)
    history = load_history(run_dir)
    out["epochs"] = len(history)
    out["train_epochs_s"] = round(sum(r.get("time_s", 0) for r in history), 1)
    out["s_per_epoch"] = round(out["train_epochs_s"] / max(1, len(history)), 1)
    return out


def table(results: dict[str, dict]) -> list[tuple[str, list]]:
    """Rows of the printed table: quantity -> [GAN, L1, baselines...]."""
    gan, l1 = results["gan"], results["l1"]
    baselines = [k for k in ("bicubic", "nearest", "grey") if f"psnr_{k}" in gan]
    header = ["GAN", "L1 only", *baselines]
    rows = [("quantity", header)]
    for key in ("psnr", "ssim", "fid", "psnr_ab", "colourfulness", "judge_accuracy"):
        if key not in gan:
            continue
        base = [gan.get(f"{key}_{b}") for b in baselines]
        rows.append((key, [gan[key], l1.get(key), *base]))
    if "colourfulness_target" in gan:
        rows.append(("colourfulness of the targets", [gan["colourfulness_target"]]))
    if "judge_accuracy_real" in gan:
        rows.append(("judge accuracy on the real targets", [gan["judge_accuracy_real"]]))
    for key in ("s_per_epoch", "train_epochs_s", "peak_rss_mib"):
        rows.append((key, [gan.get(key), l1.get(key)]))
    return rows


def comparisons(gan: dict, l1: dict) -> list[str]:
    """The issue's claims, measured: each a line with the numbers and yes/no."""
    lines = []
    if "psnr_bicubic" in l1:
        gap = l1["psnr"] - l1["psnr_bicubic"]
        lines.append(f"L1 PSNR - bicubic PSNR = {gap:+.2f} dB (wanted >= +2): "
                     f"{'yes' if gap >= 2 else 'no'}")
    if "fid" in gan and "fid" in l1:
        lines.append(f"FID GAN {gan['fid']:.2f} < L1 {l1['fid']:.2f}: "
                     f"{'yes' if gan['fid'] < l1['fid'] else 'no'}")
    if "psnr_bicubic" in gan:
        gap = l1["psnr"] - gan["psnr"]
        lines.append(f"GAN PSNR within 1.5 dB of L1's (L1 - GAN = {gap:+.2f} dB): "
                     f"{'yes' if gap <= 1.5 else 'no'}")
    if "judge_accuracy" in gan:
        share = gan["judge_accuracy"] / gan["judge_accuracy_real"]
        lines.append(f"judge on GAN translations {gan['judge_accuracy']:.4f} = {share:.1%} of "
                     f"its accuracy on the real images {gan['judge_accuracy_real']:.4f} (wanted "
                     f">= 90%): {'yes' if share >= 0.9 else 'no'}")
    if "colourfulness" in gan:
        target = gan["colourfulness_target"]
        closer = abs(gan["colourfulness"] - target) < abs(l1["colourfulness"] - target)
        lines.append(f"colourfulness GAN {gan['colourfulness']:.2f}, L1 {l1['colourfulness']:.2f}, "
                     f"targets {target:.2f}: GAN closer: {'yes' if closer else 'no'}")
    return lines


def figure(runs: dict[str, Path], data_dir, path: Path, n: int) -> None:
    """Input | (bicubic |) L1 | GAN | target for the first ``n`` test examples."""
    config, gan = load_run(runs["gan"])
    _, l1 = load_run(runs["l1"])
    test = load_data(config, data_dir).test
    index = np.arange(min(n, len(test)))
    x, y = np.asarray(test.inputs[index]), np.asarray(test.targets[index])
    derive = config.data.derive
    out_gan, out_l1 = batched(gan.translate, x, 64), batched(l1.translate, x, 64)
    cols = columns(x, out_gan, y, gan.value_range, derive)
    l1_col = dict(columns(x, out_l1, None, gan.value_range, derive))["output"]
    cols = [(("GAN" if t == "output" else t), im) for t, im in cols]
    at = [t for t, _ in cols].index("GAN")
    cols.insert(at, ("L1 only", l1_col))
    viz.save(viz.translation_grid(cols, title=f"{config.preset}: test split"), path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("preset")
    p.add_argument("--data-dir")
    p.add_argument("--out", default="runs/translation-bench", help="folder of the two runs")
    p.add_argument("--epochs", type=int, help="override the preset's epochs (pilots)")
    p.add_argument("--limit", type=int, help="train on the first N examples (pilots)")
    p.add_argument("--fid-features", choices=("inception", "classifier"),
                   help="default: Inception when its network is found, else the classifier")
    p.add_argument("--n-samples", type=int, default=10000,
                   help="examples of the FID (default: 10,000, or all when fewer)")
    p.add_argument("--json", help="append one JSON line to this file")
    p.add_argument("--figure", help="a PNG of input | L1 | GAN | target")
    p.add_argument("--figure-n", type=int, default=8)
    p.add_argument("--time", type=int, metavar="N",
                   help="only time N epochs of the preset (the GAN) and estimate its whole run")
    a = p.parse_args()
    out = Path(a.out)
    if a.time:
        row = {**time_preset(a.preset, a.time, out, a.data_dir),
               "date": time.strftime("%Y-%m-%d %H:%M"), "torch": torch.__version__,
               "threads": int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())),
               "load_before": round(os.getloadavg()[0], 2)}
        print(json.dumps(row))
        if a.json:
            with open(a.json, "a") as handle:
                handle.write(json.dumps(row) + "\n")
        return
    runs = {v: out / f"{a.preset}-{v}" for v in ("gan", "l1")}
    results = {}
    for variant, run_dir in runs.items():
        cost = train(config_of(a.preset, variant, a.epochs, a.limit), run_dir, a.data_dir)
        results[variant] = {**evaluate(run_dir, a.data_dir, a.fid_features, a.n_samples), **cost}
        print(f"{variant}: {run_dir} trained ({cost})", flush=True)
    print(f"\n{a.preset}, test split, {time.strftime('%Y-%m-%d %H:%M')}, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, load "
          f"{os.getloadavg()[0]:.1f}")
    for name, values in table(results):
        print(f"{name:>36}  " + "  ".join(f"{v:>10.4g}" if isinstance(v, float) else f"{v!s:>10}"
                                          for v in values))
    for key in ("psnr_protocol", "fid_features", "fid_examples", "judge_classifier"):
        if key in results["gan"]:
            print(f"{key}: {results['gan'][key]}")
    for line in comparisons(results["gan"], results["l1"]):
        print(line)
    if a.figure:
        figure(runs, a.data_dir, Path(a.figure), a.figure_n)
        print(f"figure: {a.figure}")
    if a.json:
        row = {"preset": a.preset, "date": time.strftime("%Y-%m-%d %H:%M"),
               "torch": torch.__version__, "threads": torch.get_num_threads(),
               "epochs": a.epochs, "limit": a.limit,
               **{v: {k: x for k, x in r.items() if k != "beside"} for v, r in results.items()}}
        with open(a.json, "a") as handle:
            handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
