"""FID of trained generative runs with the Inception features, sized for a CPU.

The protocol of Lucic et al. 2018 ("Are GANs Created Equal?") is 10,000 samples against 10,000
test images. Inception-v3 at 299x299 costs about 0.1-0.4 s per image on this 2-core machine, so
the 20,000 images of that protocol take about an hour per run. This script therefore measures
FID with ``--n`` samples against as many test images (2,000 by default) and, since FID is
biased upwards by an amount that falls as 1/N (Chong & Forsyth 2020, "Effectively Unbiased FID
and Inception Score and where to find them"), fits ``FID_N = FID_inf + k / N`` on random
subsets of sizes ``--sizes`` and reports the fitted value at N = 10,000 beside the measured
one. The measured FID at N < 10,000 is an upper estimate of the protocol's value (the bias only
shrinks with more images).

The test images' features are cached in ``--cache`` (they do not depend on the run). The
domain-classifier FID of aegan's ``evaluate`` (10,000 vs 10,000, cheap) is printed beside it.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/gan_fid.py RUN [RUN ...] --data-dir DATA \
        --weights default_1.pt --n 2000 --json results.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from aegan import api
from aegan.io import load_run
from aegan.metrics.features import InceptionFeatures, find_inception
from aegan.metrics.generation import draw_samples, feature_stats, frechet_distance


def fid_of(real: np.ndarray, fake: np.ndarray) -> float:
    return frechet_distance(*feature_stats(real), *feature_stats(fake))


def extrapolate(real: np.ndarray, fake: np.ndarray, sizes: list[int], draws: int, seed: int):
    """Mean FID on random subsets of each size; the least-squares line in 1/N; its values at
    N = 10,000 and N = infinity (None for one size)."""
    rng = np.random.default_rng(seed)
    means = []
    for n in sizes:
        values = [fid_of(real[rng.permutation(len(real))[:n]], fake[rng.permutation(len(fake))[:n]])
                  for _ in range(draws)]
        means.append(float(np.mean(values)))
    by_size = dict(zip(map(str, sizes), means))
    if len(sizes) < 2:  # a line needs two sizes: no fit
        return by_size, None, None
    slope, intercept = np.polyfit(1.0 / np.array(sizes, dtype=float), means, 1)
    return by_size, float(intercept + slope / 10_000), float(intercept)


def test_features(net: InceptionFeatures, data_name: str, data_dir, n: int, cache: Path) -> np.ndarray:
    """Features of n test images, the first n of one fixed permutation: so the first n rows of
    a cache of more images are the same n images."""
    path = cache / f"inception_{data_name}_test_{n}.npy"
    if path.is_file():
        return np.load(path)
    larger = sorted((int(f.stem.rsplit("_", 1)[1]), f)
                    for f in cache.glob(f"inception_{data_name}_test_*.npy"))
    for size, file in larger:
        if size > n:
            return np.load(file)[:n]
    from aegan.data import load_dataset

    data = load_dataset(data_name, data_dir)
    x = data.test.inputs[np.random.default_rng(0).permutation(len(data.test.inputs))[:n]]
    feats = net(x, data.value_range)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, feats)
    return feats


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("--data-dir")
    p.add_argument("--weights", help="the TorchScript FID Inception file (default: found as aegan finds it)")
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--sizes", default="500,750,1000,1500,2000")
    p.add_argument("--draws", type=int, default=5)
    p.add_argument("--cache", default="benchmarks/.cache")
    p.add_argument("--classifier-n", type=int, default=10_000, help="0: skip the classifier FID")
    p.add_argument("--json", help="append one JSON line per run to this file")
    p.add_argument("--generator", choices=("average", "live"), default="average",
                   help="a GAN's sampler: its moving average (what aegan samples with) or the "
                        "live generator")
    a = p.parse_args()
    sizes = [s for s in map(int, a.sizes.split(",")) if s <= a.n]
    net = InceptionFeatures(find_inception(a.weights))
    for run in a.runs:
        config, model = load_run(run)
        if a.generator == "live":
            model.generator_ema = None  # decode() falls back to the live generator
        start = time.perf_counter()
        real = test_features(net, config.data.name, a.data_dir, a.n, Path(a.cache))
        fake_x = draw_samples(model, a.n, seed=config.train.seed)
        fake = net(fake_x, model.value_range if hasattr(model, "value_range") else (0.0, 1.0))
        by_size, at_10k, at_inf = extrapolate(real, fake, sizes, a.draws, config.train.seed)
        row = {"run": run, "preset": config.preset, "data": config.data.name,
               "features": net.name, "n": a.n, "generator": a.generator,
               "fid_inception": fid_of(real, fake),
               "fid_by_n": by_size, "fid_fit_10k": at_10k, "fid_fit_inf": at_inf,
               "inception_s": round(time.perf_counter() - start, 1),
               "threads": torch.get_num_threads()}
        if a.classifier_n:
            row["classifier"] = api.evaluate(run, split="test", data_dir=a.data_dir,
                                             names=["fid", "precision_recall", "coverage"],
                                             features="classifier", n_samples=a.classifier_n)
        print(json.dumps(row), flush=True)
        if a.json:
            with open(a.json, "a") as handle:
                handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
