"""Diffusion models on Fashion-MNIST: the pilots that chose the ``ddpm`` preset, FID against
the number of sampling steps with the sampling speed, and the memorisation check.

Five commands, each writing JSON lines (``--json FILE`` appends them), and a figure:

``speed``: a preset's (with changes) training step (in the precision the Trainer would choose
here) and network pass (fp32 and under bf16 autocast) in milliseconds per image, wall and CPU
time, on random images after two warm-up steps.

``pilot``: a preset with changes (``--set section.key=JSON``) trained for ``--steps`` optimizer
steps (or ``--minutes`` of wall time, if that ends first) by the model's own ``training_step``
on shuffled batches (as the Trainer runs it), timed in CPU seconds of the process (a shared
machine's load stretches wall time, much less CPU time), then the
validation loss of the live network and of its moving average at fixed timesteps and noise
(2,000 validation images), samples per second, and the FID of ``--eval-n`` samples (DDIM,
``--eval-steps`` steps) against as many test images in the features of aegan's domain
classifier (``aegan.metrics.features``: a small CNN trained on the 55,000 training images and
cached). A short run, for comparing settings at equal steps and their cost; not a measure of
a finished model.

``sample``: ``--n`` samples of a trained run with the sampling options given (``--precision
bf16``: the network's passes under bf16 autocast; ``--clip yes|no``: the predicted clean image
clamped to [-1, 1] or not, whatever the run's ``model.clip_x0``; ``--drop-first``: the first
timestep skipped, an experiment; ``--spacing-power RHO``: the timesteps spaced by a power
instead of evenly, another), from the run's seed in batches of ``--batch-size`` (1024: the
very draws of ``aegan evaluate``; a conditional run's classes in turn), saved as 8-bit levels
(what the FID Inception network sees: lossless for FID) with the seconds taken and images per
second.

``fid``: the Inception FID of sample files (or of their ``--first`` N) against the 10,000 test
images (the samples' features kept beside each file as ``FILE.inception.npy`` and reused for
later FIDs of the same file): aegan's Inception
features and Fréchet distance, the protocol of ``aegan evaluate RUN --metrics fid --features
inception --n-samples 10000 --split test`` (all 10,000 test images; their features are cached
in ``--cache``, so each further file costs only its own features); classifier FID beside it.
``--pr`` adds improved precision and recall (Kynkäänniemi et al. 2019, k = 3) in the same
Inception features, against as many test images as samples (``pr_precision``, ``pr_recall``).

``memorisation``: for each sample, the distance to its nearest training image in the
classifier's features, beside each test image's distance to its nearest training image (the
test images were never trained on: their distances are what a model that does not copy
should match); quantiles, the share of samples nearer than the test images' 1st and 5th
percentiles, and a figure of the samples nearest to a training image with that image.

``steps``: the figure of FID against the number of DDIM steps S (a line per number of samples)
and of seconds per image against S, from the rows of ``sample`` and ``fid``.

``compare``: the first ``--n`` images of each sample file, a row each (deterministic DDIM from
the same seed: the same starting noises, so column by column the same draw).

Usage (see benchmarks/RESULTS.md, "Diffusion", for the runs)::

    OMP_NUM_THREADS=1 python benchmarks/diffusion.py pilot --preset ddpm --steps 600 \\
        --set model.channels=[16,32,64] --name c16 --data-dir DATA --json pilots.jsonl
    OMP_NUM_THREADS=1 python benchmarks/diffusion.py sample runs/ddpm --steps 50 --n 10000 \\
        --out samples/
    OMP_NUM_THREADS=1 python benchmarks/diffusion.py fid samples/*.npy --data-dir DATA
    OMP_NUM_THREADS=1 python benchmarks/diffusion.py memorisation samples/ddim-eta0-S50.npy \\
        --data-dir DATA --figure memorisation.png
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from aegan.data import Batch
from aegan.io import load_run, save_model, write_json, writing_run
from aegan.metrics.features import InceptionFeatures, classifier_features, find_inception
from aegan.metrics.generation import (draw_samples, feature_stats, frechet_distance,
                                      precision_recall)
from aegan.models import build_model
from aegan.presets import get_preset
from aegan.run import load_data
from aegan.train.fast import uses_bf16

DATA = "fashion-mnist"


def machine() -> dict:
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": platform.node(),
            "processor": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "load": round(os.getloadavg()[0], 2), "torch": torch.__version__,
            "threads": torch.get_num_threads()}


def emit(row: dict, path: str | None) -> None:
    print(json.dumps(row), flush=True)
    if path:
        with open(path, "a") as handle:
            handle.write(json.dumps(row) + "\n")


def fid_of(real: np.ndarray, fake: np.ndarray) -> float:
    return frechet_distance(*feature_stats(real), *feature_stats(fake))


def levels(x: np.ndarray, value_range=(-1.0, 1.0)) -> np.ndarray:
    """Images in ``value_range`` as the 256 levels of a PNG (what the Inception input keeps)."""
    low, high = value_range
    return np.clip(np.round((x - low) / (high - low) * 255), 0, 255).astype(np.uint8)


def unit(images: np.ndarray) -> np.ndarray:
    """8-bit levels back to [0, 1] float32."""
    return images.astype(np.float32) / 255.0


# -- pilot -------------------------------------------------------------------------------------
def _configured(preset: str, changes: list[str]):
    config = get_preset(preset)
    for change in changes:
        config = config.assign(change)
    return config


def _classifier_fid(fake: np.ndarray, data_dir) -> float:
    """FID of samples in [0, 1] against as many test images, in the features of the classifier
    that aegan trains on the 55,000 training images in [0, 1] (cached)."""
    from aegan.data import load_dataset

    data = load_dataset(DATA, data_dir)
    clf = classifier_features(data.train.inputs, data.train.labels, data.name)
    return fid_of(clf(_test_subset(data, len(fake))), clf(fake))


def _test_subset(data, n: int) -> np.ndarray:
    """``n`` test images, a fixed random choice (all 10,000 for n = 10,000)."""
    return data.test.inputs[np.random.default_rng(0).permutation(len(data.test.inputs))[:n]]


def _train_for(model, opts, x: torch.Tensor, y, batch: int, steps: int, seconds: float,
               seed: int, bf16: bool) -> tuple[int, float, float]:
    """Shuffled full batches of ``x`` through ``training_step`` (under bf16 autocast when
    asked, as the Trainer runs it) for ``steps`` steps or ``seconds`` of wall time, whichever
    ends first: ``(steps, wall seconds, CPU seconds of this process)``."""
    g, step = torch.Generator().manual_seed(seed), 0
    wall, cpu = time.perf_counter(), time.process_time()
    model.train()
    while step < steps and time.perf_counter() - wall < seconds:
        for idx in torch.randperm(len(x), generator=g).split(batch):
            if len(idx) < batch or step >= steps or time.perf_counter() - wall >= seconds:
                break
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                model.training_step(Batch(inputs=x[idx], labels=None if y is None else y[idx]),
                                    opts, step)
            step += 1
    return step, time.perf_counter() - wall, time.process_time() - cpu


def _valid_losses(model, x: torch.Tensor, y) -> dict:
    model.eval()
    sums: dict[str, float] = {}
    for i in range(0, len(x), 500):
        out = model.validation_step(Batch(inputs=x[i:i + 500],
                                          labels=None if y is None else y[i:i + 500]))
        for k, v in out.items():
            sums[k] = sums.get(k, 0.0) + float(v) * len(x[i:i + 500])
    return {f"valid_{k}": v / len(x) for k, v in sums.items()}


def pilot(a) -> None:
    config = _configured(a.preset, a.set)
    data = load_data(config, a.data_dir)
    torch.manual_seed(config.train.seed)
    model = build_model(config.model, data.spec)
    opts = model.configure_optimizers(config.optim)
    x = torch.as_tensor(data.train.inputs)
    y = None if data.train.labels is None or not config.model.num_classes else \
        torch.as_tensor(data.train.labels)
    steps, wall, cpu = _train_for(model, opts, x, y, config.train.batch_size, a.steps,
                                  a.minutes * 60, config.train.seed,
                                  uses_bf16(config.train, torch.device("cpu")))
    images = steps * config.train.batch_size
    row = {"name": a.name, "preset": a.preset, "changes": a.set,
           "parameters": sum(p.numel() for p in model.net.parameters()), "steps": steps,
           "images": images, "train_wall_s": round(wall), "train_cpu_s": round(cpu),
           "ms_per_image_cpu": round(cpu / images * 1000, 2)}
    if a.save:  # a run folder: the other commands take it
        config.spec = data.spec
        with writing_run(a.save, new=True) as run_dir:
            write_json(run_dir / "config.json", config.to_dict())
            save_model(run_dir, model)
    vx, vy = data.valid.select(slice(0, 2000)).inputs, data.valid.select(slice(0, 2000)).labels
    row.update(_valid_losses(model, torch.as_tensor(vx),
                             None if y is None else torch.as_tensor(vy)))
    if not a.eval_n:
        emit({**row, **machine()}, a.json)
        return
    cpu = time.process_time()
    fake = draw_samples(model, a.eval_n, config.train.seed, 250, steps=a.eval_steps)
    row["sample_ms_per_image_cpu"] = round((time.process_time() - cpu) / a.eval_n * 1000, 1)
    fake = unit(levels(fake))  # in [0, 1], as the fid command reads samples
    row["classifier_fid"] = _classifier_fid(fake, a.data_dir)
    row.update(eval_n=a.eval_n, eval_steps=a.eval_steps, **machine())
    if a.out:
        from aegan import viz

        Path(a.out).mkdir(parents=True, exist_ok=True)
        viz.save(viz.image_grid(fake[:36], 6, 6, title=a.name), Path(a.out) / f"{a.name}.png")
    emit(row, a.json)


def speed(a) -> None:
    """Training and sampling cost per image of a preset's network, on random images."""
    config = _configured(a.preset, a.set)
    shape = (1, 28, 28)
    torch.manual_seed(0)
    model = build_model(config.model, shape)
    opts = model.configure_optimizers(config.optim)
    bf16 = uses_bf16(config.train, torch.device("cpu"))  # as the Trainer decides
    b = config.train.batch_size
    x = torch.rand(b, *shape) * 2 - 1
    row = {"name": a.name, "preset": a.preset, "changes": a.set,
           "precision": "bf16" if bf16 else "fp32",
           "parameters": sum(p.numel() for p in model.net.parameters())}
    model.train()
    for i in range(a.repeats + 2):
        if i == 2:  # after two warm-up steps
            wall, cpu = time.perf_counter(), time.process_time()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            model.training_step(Batch(inputs=x), opts, i)
    n = a.repeats * b
    row.update(train_ms_per_image=round((time.perf_counter() - wall) / n * 1000, 2),
               train_ms_per_image_cpu=round((time.process_time() - cpu) / n * 1000, 2))
    model.eval()
    net, t = (model.net_ema if model.net_ema is not None else model.net), 500
    for batch, half in [(b, h) for b in a.batches for h in (False, True)]:
        xb, tag = torch.randn(batch, *shape), "_bf16" if half else ""
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=half):
            net(xb, torch.full((batch,), t))
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(a.repeats):
                net(xb, torch.full((batch,), t))
        row[f"forward{tag}_ms_per_image_batch{batch}"] = round(
            (time.perf_counter() - wall) / (a.repeats * batch) * 1000, 2)
        row[f"forward{tag}_ms_per_image_cpu_batch{batch}"] = round(
            (time.process_time() - cpu) / (a.repeats * batch) * 1000, 2)
    emit({**row, **machine()}, a.json)


# -- sample, fid ---------------------------------------------------------------------------------
def _options(a) -> dict:
    given = {"steps": a.steps, "sampler": a.sampler, "eta": a.eta, "variance": a.variance,
             "guidance": a.guidance, "precision": a.precision}
    return {k: v for k, v in given.items() if v is not None}


def power_timesteps(T: int, S: int, rho: float) -> list[int]:
    """``S`` timesteps from ``T - 1`` down to 0, spaced as ``round(((S - i) / S) ** rho (T - 1))``
    for ``i = 0 .. S - 1``: ``rho`` 1 is even spacing, 2 the quadratic spacing of Song et al.
    2021 (DDIM, section D.2), denser near the clean image, here trailing (the first step at
    ``T - 1``). Refused if two of them coincide."""
    steps = [round(((S - i) / S) ** rho * (T - 1)) for i in range(S)]
    if len(set(steps)) != S:
        raise SystemExit(f"diffusion.py: spacing power {rho:g} gives repeated timesteps at "
                         f"S = {S} of T = {T}; lower the power or the number of steps")
    return steps


@contextlib.contextmanager
def _visited_timesteps(drop_first: bool, rho: float | None):
    """While active, the samplers visit other timesteps than their own, experiments both:
    ``rho`` given, :func:`power_timesteps`; ``drop_first``, all but the first (T - 1), so they
    start from pure noise at the second of their S timesteps (S - 1 passes; where an
    epsilon-predicting network's clean image is ill-conditioned). The two compose."""
    if not drop_first and rho is None:
        yield
        return
    from aegan.models import diffusion_sampling as ds

    own = ds.timesteps

    def visited(T: int, S: int) -> list[int]:
        steps = own(T, S) if rho is None else power_timesteps(T, S, rho)
        return steps[1:] if drop_first else steps

    ds.timesteps = visited
    try:
        yield
    finally:
        ds.timesteps = own


def sample(a) -> None:
    config, model = load_run(a.run)
    if a.clip is not None:
        model.config.clip_x0 = a.clip == "yes"
    options = _options(a)
    o = model.sampling_options(**options)
    stem = f"{o.sampler}-" + (f"eta{o.eta:g}" if o.sampler == "ddim" else o.variance) + f"-S{o.steps}"
    if a.clip is not None:
        stem += "-clip" if a.clip == "yes" else "-noclip"
    if a.drop_first:
        stem += "-dropfirst"
    if a.spacing_power is not None:
        stem += f"-power{a.spacing_power:g}"
    if o.guidance != 1.0:
        stem += f"-w{o.guidance:g}"
    if o.precision != "fp32":
        stem += f"-{o.precision}"
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    parts, start = [], time.perf_counter()
    generator = torch.Generator().manual_seed(config.train.seed)  # as draw_samples (evaluate)
    with torch.no_grad(), _visited_timesteps(a.drop_first, a.spacing_power):
        for first in range(0, a.n, a.batch_size):
            count = min(a.batch_size, a.n - first)
            labels = ({"labels": torch.arange(first, first + count) % model.num_classes}
                      if config.model.num_classes else {})
            parts.append(model.sample(count, generator, **labels, **options).cpu().numpy())
            done = first + count
            print(f"{done}/{a.n} samples, {done / (time.perf_counter() - start):.3f} images/s",
                  flush=True)
    seconds = time.perf_counter() - start
    np.save(out / f"{stem}.npy", levels(np.concatenate(parts)))
    row = {"run": str(a.run), "preset": config.preset, "file": str(out / f"{stem}.npy"),
           "n": a.n, "sampler": o.sampler, "steps": o.steps, "eta": o.eta,
           "variance": o.variance, "guidance": o.guidance, "precision": o.precision,
           "clip_x0": model.config.clip_x0, "drop_first": a.drop_first,
           "spacing_power": a.spacing_power,
           "batch_size": a.batch_size,
           "seconds": round(seconds, 1), "images_per_s": round(a.n / seconds, 3),
           "network_evaluations_per_image": o.steps * (2 if o.guidance not in (0.0, 1.0) else 1),
           **machine()}
    emit(row, a.json)
    (out / f"{stem}.json").write_text(json.dumps(row) + "\n")


def _test_features(net: InceptionFeatures, data_dir, cache: Path) -> np.ndarray:
    path = cache / f"inception_{DATA}_test_10000.npy"  # the cache of benchmarks/gan_fid.py
    if path.is_file():
        return np.load(path)
    from aegan.data import load_dataset

    data = load_dataset(DATA, data_dir)
    x = data.test.inputs[np.random.default_rng(0).permutation(len(data.test.inputs))[:10_000]]
    feats = net(x, data.value_range)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, feats)
    return feats


def _kept_features(kept: Path, samples: Path, n: int) -> np.ndarray | None:
    """The first ``n`` rows of the Inception features kept beside a sample file, if they
    were computed from it (written after it) and hold that many rows; else None."""
    if not kept.is_file() or kept.stat().st_mtime < samples.stat().st_mtime:
        return None
    features = np.load(kept, mmap_mode="r")
    return np.array(features[:n]) if len(features) >= n else None


def fid(a) -> None:
    net, real, real_s = None, None, 0.0
    if not a.classifier_only:
        net = InceptionFeatures(find_inception(a.weights), batch_size=50)
        start = time.perf_counter()
        real = _test_features(net, a.data_dir, Path(a.cache))
        real_s = time.perf_counter() - start
    for path in a.samples:
        fake_x = unit(np.load(path))[:a.first]
        meta = Path(path).with_suffix(".json")
        row = {"file": str(path), **(json.loads(meta.read_text()) if meta.is_file() else {}),
               "classifier_fid": _classifier_fid(fake_x, a.data_dir),
               "fid_examples": len(fake_x)}
        if a.first is not None:
            row["first"] = a.first
        if net is not None:
            start = time.perf_counter()
            kept = Path(path).with_suffix(".inception.npy")  # this file's features, kept
            fake = _kept_features(kept, Path(path), len(fake_x))
            if fake is None:
                fake = net(fake_x, (0.0, 1.0))
                if a.first is None:
                    np.save(kept, fake)
            row.update(fid_inception=fid_of(real, fake), fid_features=net.name,
                       inception_s=round(time.perf_counter() - start, 1),
                       test_features_s=round(real_s, 1))
            if a.pr:  # against as many test images as samples: both sets' radii comparable
                # not "precision": the sample row's key for its network passes' dtype
                row["pr_precision"], row["pr_recall"] = precision_recall(real[:len(fake)], fake,
                                                                         k=3)
                row["pr_k"] = 3
        row.update({f"measured_{k}": v for k, v in machine().items()})
        emit(row, a.json)


# -- memorisation -------------------------------------------------------------------------------
def nearest(queries: np.ndarray, base: np.ndarray, chunk: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance from each query ``[N, D]`` to its nearest and second-nearest row of
    ``base`` ``[M, D]`` (``[N, 2]``), and the nearest one's index ``[N]``."""
    b = torch.as_tensor(base, dtype=torch.float64)
    dist, index = [], []
    for i in range(0, len(queries), chunk):
        d = torch.cdist(torch.as_tensor(queries[i:i + chunk], dtype=torch.float64), b)
        values, where = d.topk(2, dim=1, largest=False)
        dist.append(values.numpy())
        index.append(where[:, 0].numpy())
    return np.concatenate(dist), np.concatenate(index)


def memorisation(a) -> None:
    from aegan.data import load_dataset

    data = load_dataset(DATA, a.data_dir)
    clf = classifier_features(data.train.inputs, data.train.labels, data.name)
    train_f = clf(data.train.inputs)
    fake_x = unit(np.load(a.samples))
    results = {}
    for name, x in (("samples", fake_x), ("test", data.test.inputs)):
        dist, index = nearest(clf(x), train_f)
        results[name] = (dist, index)
    test_d = results["test"][0][:, 0]
    q = [1, 5, 25, 50, 75, 95]
    row = {"file": str(a.samples), "n_samples": len(fake_x), "n_test": len(test_d),
           "n_train": len(train_f), "features": clf.name}
    for name, (dist, _) in results.items():
        row[f"{name}_nn_quantiles"] = dict(zip(map(str, q), np.percentile(dist[:, 0], q).round(4).tolist()))
        row[f"{name}_nn_ratio_median"] = float(np.median(dist[:, 0] / dist[:, 1]))
    d = results["samples"][0][:, 0]
    for p in (1, 5):
        row[f"samples_below_test_p{p}"] = float((d < np.percentile(test_d, p)).mean())
    row.update(machine())
    emit(row, a.json)
    if a.figure:
        _memorisation_figure(fake_x, data.train.inputs, results["samples"], a.figure)


def _memorisation_figure(fake_x, train_x, found, path: str, k: int = 10) -> None:
    from aegan import viz

    dist, index = found
    order = np.argsort(dist[:, 0])[:k]  # the samples nearest to a training image
    images = np.concatenate([fake_x[order], train_x[index[order]]])
    fig = viz.image_grid(images, 2, k, row_labels=["sample", "nearest\ntraining"],
                         title=f"the {k} samples nearest to a training image (classifier features)")
    viz.save(fig, Path(path))


# -- FID against the number of steps ------------------------------------------------------------
def steps_figure(a) -> None:
    """FID (Inception) against S for each number of samples, from the ``fid`` rows of DDIM
    samples (eta 0, the run's clamp), and the seconds per image of the ``sample`` rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for path in a.rows for line in Path(path).read_text().splitlines()
            if line.strip()]
    rows = [r for r in rows if r.get("sampler") == "ddim" and r.get("eta") == 0.0
            and r.get("clip_x0", True) and not r.get("drop_first") and r.get("precision") == a.precision
            and "steps" in r]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for n in sorted({r["fid_examples"] for r in rows if "fid_inception" in r}, reverse=True):
        points = sorted((r["steps"], r["fid_inception"]) for r in rows
                        if r.get("fid_examples") == n and "fid_inception" in r)
        left.plot(*zip(*points), "o-", label=f"{n:,} samples")
    timed = {}  # S -> the sample row of the most images (the steadiest time)
    for r in rows:
        if "fid_inception" in r or "images_per_s" not in r:
            continue
        if r["steps"] not in timed or r["n"] > timed[r["steps"]]["n"]:
            timed[r["steps"]] = r
    if timed:
        right.plot(sorted(timed), [1.0 / timed[k]["images_per_s"] for k in sorted(timed)], "o-")
    ticks = sorted({r["steps"] for r in rows})
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("DDIM steps S")
        ax.grid(alpha=0.3)
    left.set_ylabel("Inception FID against the 10,000 test images")
    left.legend()
    right.set_yscale("log")
    right.set_ylabel(f"seconds per image ({a.precision} passes, one thread)")
    fig.suptitle(a.title)
    fig.tight_layout()
    fig.savefig(a.out, dpi=100)


# -- the same noises, side by side ---------------------------------------------------------------
def compare(a) -> None:
    from aegan import viz

    labels = a.labels.split(",") if a.labels else [Path(f).parent.name for f in a.samples]
    if len(labels) != len(a.samples):
        raise SystemExit(f"--labels names {len(labels)} rows for {len(a.samples)} files")
    images = np.concatenate([unit(np.load(f))[:a.n] for f in a.samples])
    fig = viz.image_grid(images, len(a.samples), a.n, row_labels=labels, title=a.title)
    viz.save(fig, Path(a.out))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("pilot")
    c.add_argument("--preset", default="ddpm")
    c.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=JSON")
    c.add_argument("--steps", type=int, default=10**9, help="optimizer steps to train")
    c.add_argument("--minutes", type=float, default=15.0, help="of wall time at most")
    c.add_argument("--name", default="pilot")
    c.add_argument("--eval-n", type=int, default=1000)
    c.add_argument("--eval-steps", type=int, default=25)
    c.add_argument("--out", help="folder for a grid of 36 samples")
    c.add_argument("--save", help="new run folder for the trained model (config and weights)")
    c = sub.add_parser("speed")
    c.add_argument("--preset", default="ddpm")
    c.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=JSON")
    c.add_argument("--name", default="speed")
    c.add_argument("--repeats", type=int, default=5)
    c.add_argument("--batches", type=lambda v: [int(b) for b in v.split(",")], default=[128, 1024])
    c = sub.add_parser("sample")
    c.add_argument("run")
    for flag, kind in (("--steps", int), ("--eta", float), ("--guidance", float)):
        c.add_argument(flag, type=kind)
    c.add_argument("--sampler", choices=["ddim", "ddpm"])
    c.add_argument("--variance", choices=["small", "large"])
    c.add_argument("--precision", choices=["fp32", "bf16"], help="of the network's passes")
    c.add_argument("--clip", choices=["yes", "no"],
                   help="clamp the predicted clean image to [-1, 1] or not (default: the run's "
                        "model.clip_x0)")
    c.add_argument("--drop-first", action="store_true",
                   help="skip the first timestep (T - 1): start from pure noise at the second")
    c.add_argument("--spacing-power", type=float, metavar="RHO",
                   help="visit round(((S - i) / S) ** RHO (T - 1)) instead of the trailing even "
                        "spacing (2: DDIM's quadratic spacing)")
    c.add_argument("--n", type=int, default=10_000)
    c.add_argument("--batch-size", type=int, default=1024,
                   help="1024: the draws of aegan evaluate; smaller batches run faster on a CPU")
    c.add_argument("--out", required=True, help="folder for the samples")
    c = sub.add_parser("fid")
    c.add_argument("samples", nargs="+")
    c.add_argument("--weights", help="the TorchScript FID Inception file (default: found as aegan finds it)")
    c.add_argument("--cache", default="benchmarks/.cache")
    c.add_argument("--classifier-only", action="store_true", help="no Inception features")
    c.add_argument("--first", type=int, help="only the first N samples of each file (paired "
                   "comparisons: deterministic DDIM draws the same first noises)")
    c.add_argument("--pr", action="store_true", help="also improved precision and recall (k = "
                   "3) in the Inception features, against as many test images as samples")
    c = sub.add_parser("memorisation")
    c.add_argument("samples")
    c.add_argument("--figure")
    c = sub.add_parser("steps", help="figure: FID and seconds per image against S")
    c.add_argument("rows", nargs="+", help=".jsonl files of sample and fid")
    c.add_argument("--out", required=True, help="the figure (.png)")
    c.add_argument("--title", default="FID against the number of DDIM steps")
    c.add_argument("--precision", default="bf16", help="of the samples' network passes")
    c = sub.add_parser("compare", help="figure: the first N images of sample files, a row each")
    c.add_argument("samples", nargs="+", help=".npy sample files")
    c.add_argument("--labels", help="the rows' names, comma-separated (default: the folders)")
    c.add_argument("--n", type=int, default=12)
    c.add_argument("--out", required=True, help="the figure (.png)")
    c.add_argument("--title", default="the same starting noises")
    for c in sub.choices.values():
        c.add_argument("--data-dir")
        c.add_argument("--json", help="append the JSON lines to this file")
    a = p.parse_args()
    {"pilot": pilot, "speed": speed, "sample": sample, "fid": fid,
     "memorisation": memorisation, "steps": steps_figure, "compare": compare}[a.command](a)


if __name__ == "__main__":
    main()
