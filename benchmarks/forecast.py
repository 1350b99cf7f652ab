"""Next-frame prediction presets on Moving MNIST (10 -> 10) against copying the last context
frame, measured on the same fixed test sequences.

For each preset named: trains it (in this process; ``--epochs``, ``--limit`` training sequences
per epoch), then on the first ``--test-n`` sequences of the fixed seeded test split of
``moving-mnist`` reports MSE per frame (OpenSTL's: squared error summed over a frame's pixels
in [0, 1]), MAE per frame, SSIM and PSNR, beside copy-last-frame, and the sharpness of the
predicted frames (mean gradient magnitude, finite differences, beside the true frames'). The
curve of validation MSE per frame against training time comes from the run's history (one
point per epoch; the validation split is 1,000 fixed sequences).

``simvp-adversarial`` is compared with ``simvp`` (its lambda_adv 0 twin): train both.

Usage::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/forecast.py simvp convlstm \
        --data-dir DATA --limit 2000 --epochs 4 --out /tmp/forecast --test-n 1000 \
        --json benchmarks/results/forecast-pilot.jsonl

A finished run folder in ``--out`` is evaluated again, not retrained. ``--set
SECTION.KEY=VALUE`` changes a preset's config (``--set model.hid_t=256 --name simvp-t256``).
``--floors 0,0.01,0.02`` scores each trained run again with each ``model.floor`` (predicted
pixels below it set to 0) on the first ``--test-n`` validation sequences, where a floor is
chosen (``forecast_floors.choose_floor``: the highest validation SSIM among the floors within
1% of the unfloored validation MSE), and on the same test sequences, where it is reported.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from aegan import api  # noqa: E402
from aegan.io import load_history, load_run  # noqa: E402
from aegan.metrics.forecast import forecast_scores, frame_scores  # noqa: E402
from aegan.presets import get_preset  # noqa: E402
from aegan.run import load_data  # noqa: E402
from forecast_floors import choose_floor  # noqa: E402


def sharpness(frames: np.ndarray) -> float:
    """Mean gradient magnitude of frames ``[N, T, C, H, W]`` (forward differences)."""
    dy, dx = np.diff(frames, axis=-2)[..., :, :-1], np.diff(frames, axis=-1)[..., :-1, :]
    return float(np.sqrt(dx ** 2 + dy ** 2).mean())


def train(preset: str, out: Path, epochs: int | None, limit: int | None, data_dir,
          precision: str | None = None, changes: tuple[str, ...] = (),
          name: str | None = None) -> Path:
    run = out / (name or (preset if precision is None else f"{preset}-{precision}"))
    if (run / "model.safetensors").is_file():
        return run
    config = get_preset(preset)
    for change in changes:  # SECTION.KEY=VALUE
        config = config.assign(change)
    if precision is not None:
        config = config.replace("train", precision=precision)
    if epochs is not None:
        config = config.replace("train", epochs=epochs)
    if limit is not None:
        config = config.replace("data", limit=limit)
    return api.train(config, run, data_dir=data_dir, progress=False)


def predict(model, x: np.ndarray, steps: int) -> np.ndarray:
    """The model's forecasts of ``steps`` frames after each context of ``x``, 64 at a time."""
    return np.concatenate([model.predict_frames(torch.as_tensor(x[i:i + 64]), steps).numpy()
                           for i in range(0, len(x), 64)])


def scores(predicted: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`frame_scores` per step, averaged over the sequences (256 at a time)."""
    sums = [frame_scores(predicted[i:i + 256], y[i:i + 256]) for i in range(0, len(y), 256)]
    return {k: sum(s[k] for s in sums) / len(y) for k in sums[0]}


def measure(run: Path, test_n: int, data_dir) -> tuple[dict, np.ndarray]:
    """The run's scores on the first ``test_n`` test sequences, and its forecasts of them
    (predicted once: the scores, copy-last's and the sharpness all read them)."""
    config, model = load_run(run)
    test = load_data(config, data_dir).test
    picked = test.select(np.arange(min(test_n, len(test))))
    x, y = np.asarray(picked.inputs, np.float32), np.asarray(picked.targets, np.float32)
    start = time.perf_counter()
    predicted = predict(model.eval(), x, y.shape[1])
    both = {**scores(predicted, y),
            **{f"{k}_copy_last": v
               for k, v in scores(np.repeat(x[:, -1:], y.shape[1], axis=1), y).items()}}
    seconds = time.perf_counter() - start
    history = load_history(run)
    elapsed = np.cumsum([r["time_s"] for r in history])
    row = {"run": str(run), "preset": config.preset, "precision": config.train.precision,
           "model": dataclasses.asdict(config.model),
           "test_sequences": len(x),
           "epochs": len(history), "train_sequences_per_epoch": config.data.limit,
           "train_s": float(elapsed[-1]), "eval_s": round(seconds, 1),
           **{k: float(v.mean()) for k, v in both.items()},
           "mse_frame_per_step": [round(float(v), 2) for v in both["mse_frame"]],
           "sharpness": sharpness(predicted), "sharpness_truth": sharpness(y),
           "curve": [{"train_s": round(float(t), 1), "valid_mse_frame": r["valid_mse_frame"]}
                     for t, r in zip(elapsed, history)]}
    return row, predicted


def floors(run: Path, values: list[float], n: int, data_dir,
           test_predicted: np.ndarray | None = None) -> list[dict]:
    """The run's scores with each ``model.floor`` on the first ``n`` validation and test
    sequences. Within the model's horizon the forecasts are made once, without a floor (on the
    test sequences, ``test_predicted`` when given: :func:`measure`'s), and each floor is
    applied to them as ``Forecaster.finish`` applies it (float32 against float32: the same
    frames); beyond it the roll-out feeds floored frames back, so each floor predicts again."""
    config, model = load_run(run)
    model.eval()
    data = load_data(config, data_dir)
    out: list[dict] = [{"floor": value} for value in values]
    for name, examples in (("valid", data.valid), ("test", data.test)):
        picked = examples.select(np.arange(min(n, len(examples))))
        x = np.asarray(picked.inputs, np.float32)
        y = np.asarray(picked.targets, np.float32)
        if y.shape[1] > config.model.horizon:
            for row in out:
                model.config = dataclasses.replace(model.config, floor=row["floor"])
                row[name] = {k: float(v.mean()) for k, v in forecast_scores(model, x, y).items()
                             if not k.endswith("copy_last")}
            continue
        model.config = dataclasses.replace(model.config, floor=0.0)
        given = name == "test" and test_predicted is not None
        raw = test_predicted if given else predict(model, x, y.shape[1])
        for row in out:
            floored = np.where(raw < np.float32(row["floor"]), np.float32(0.0), raw)
            row[name] = {k: float(v.mean()) for k, v in scores(floored, y).items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("presets", nargs="+")
    parser.add_argument("--data-dir")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--limit", type=int, help="training sequences per epoch")
    parser.add_argument("--test-n", type=int, default=1000)
    parser.add_argument("--precision", choices=("fp32", "bf16"),
                        help="train in this precision instead of the preset's (the run folder "
                             "is named PRESET-PRECISION)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="change the presets' config (model.hid_t=256); name the run folder "
                             "with --name")
    parser.add_argument("--name", help="the run folder in --out (default: the preset's name)")
    parser.add_argument("--floors", help="comma-separated model.floor values to score each run "
                                         "with, on validation and test sequences")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.name and len(args.presets) > 1:
        parser.error("--name names one run: give one preset")
    if args.set and not args.name:  # else a changed run would take the preset's folder
        parser.error("--set changes the preset: name its run folder with --name")
    rows = []
    for preset in args.presets:
        run = train(preset, args.out, args.epochs, args.limit, args.data_dir, args.precision,
                    tuple(args.set), args.name)
        row, predicted = measure(run, args.test_n, args.data_dir)
        if args.floors:
            row["floors"] = floors(run, [float(f) for f in args.floors.split(",")],
                                   args.test_n, args.data_dir, predicted)
        rows.append(row)
    print("| preset | epochs x sequences | train time | MSE/frame | copy last | SSIM | copy last "
          "| PSNR | MAE/frame | sharpness (truth) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['preset']} ({r['precision']}) | "
              f"{r['epochs']} x {r['train_sequences_per_epoch']} | "
              f"{r['train_s'] / 60:.1f} min | {r['mse_frame']:.1f} | "
              f"{r['mse_frame_copy_last']:.1f} | {r['ssim']:.3f} | {r['ssim_copy_last']:.3f} | "
              f"{r['psnr']:.2f} | {r['mae_frame']:.1f} | {r['sharpness']:.4f} "
              f"({r['sharpness_truth']:.4f}) |")
        print("  curve (cumulative train s -> valid MSE/frame): "
              + ", ".join(f"{p['train_s']:.0f} s -> {p['valid_mse_frame']:.1f}"
                          for p in r["curve"]))
        print(f"  MSE/frame per step: {r['mse_frame_per_step']}; SSIM with data range 2 "
              f"(OpenSTL's): {r['ssim_range2']:.3f} (copy last {r['ssim_range2_copy_last']:.3f})")
        for f in r.get("floors", []):
            print(f"  floor {f['floor']}: validation MSE/frame {f['valid']['mse_frame']:.2f} SSIM "
                  f"{f['valid']['ssim']:.4f}; test MSE/frame {f['test']['mse_frame']:.2f} SSIM "
                  f"{f['test']['ssim']:.4f} (range 2: {f['test']['ssim_range2']:.4f})")
        if any(f["floor"] == 0 for f in r.get("floors", [])):
            print(f"  the floor the rule picks (highest validation SSIM within 1% of the "
                  f"unfloored validation MSE): {choose_floor(r['floors'])}")
    if args.json:
        stamp = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "machine": platform.processor() or platform.machine(),
                 "torch": torch.__version__, "threads": torch.get_num_threads()}
        with open(args.json, "a") as handle:
            for r in rows:
                handle.write(json.dumps({**stamp, **r}) + "\n")


if __name__ == "__main__":
    main()
