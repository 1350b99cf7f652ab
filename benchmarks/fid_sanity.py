"""FID, KID and precision/recall of real data against real data, damaged copies and a
collapsed set, on the classifier features (or Inception ones on a subsample): the numbers that
show the metrics separate what they should.

    OMP_NUM_THREADS=2 python benchmarks/fid_sanity.py --data mnist --data-dir DATA --n 10000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def blur(x: np.ndarray) -> np.ndarray:
    """A 3x3 box blur of images ``[N, C, H, W]``."""
    c = x.shape[1]
    kernel = torch.ones(c, 1, 3, 3) / 9
    return torch.nn.functional.conv2d(torch.as_tensor(x), kernel, padding=1, groups=c).numpy()


def shuffle_pixels(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """The same permutation of the pixels in every image."""
    perm = np.random.default_rng(seed).permutation(int(np.prod(x.shape[1:])))
    return x.reshape(len(x), -1)[:, perm].reshape(x.shape)


def main() -> None:
    from aegan.data import load_dataset
    from aegan.metrics.features import InceptionFeatures, classifier_features, find_inception
    from aegan.metrics.generation import feature_stats, frechet_distance, kid, precision_recall

    p = argparse.ArgumentParser()
    p.add_argument("--data", default="mnist")
    p.add_argument("--data-dir")
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--features", choices=["classifier", "inception"], default="classifier")
    args = p.parse_args()

    d = load_dataset(args.data, args.data_dir)
    start = time.perf_counter()
    if args.features == "classifier":
        fx = classifier_features(d.train.inputs, d.train.labels, d.name)
    else:
        fx = InceptionFeatures(find_inception())
    rng = np.random.default_rng(0)
    test_idx = rng.choice(len(d.test.inputs), min(args.n, len(d.test.inputs)), replace=False)
    x_test, y_test = d.test.inputs[test_idx], d.test.labels[test_idx]
    x_train = d.train.inputs[rng.choice(len(d.train.inputs), len(x_test), replace=False)]
    real = fx(x_test, (0.0, 1.0))
    mu, sigma = feature_stats(real)
    print(f"{d.name}, {len(x_test)} test images against each set; features {fx.name}")
    rows = {"train split": x_train, "test, blurred 3x3": blur(x_test),
            "test, pixels shuffled": shuffle_pixels(x_test),
            f"test, class {int(y_test[0])} only": x_test[y_test == y_test[0]]}
    for name, x in rows.items():
        f = fx(x, (0.0, 1.0))
        fid = frechet_distance(mu, sigma, *feature_stats(f))
        k, k_std = kid(real, f, subsets=50)
        prec, rec = precision_recall(real, f, k=3)
        print(f"| {name} | {len(x)} | {fid:.4g} | {k:.4g} ± {k_std:.2g} | {prec:.3f} | {rec:.3f} |")
    print(f"({time.perf_counter() - start:.0f} s with the classifier's training or loading)")


if __name__ == "__main__":
    main()
