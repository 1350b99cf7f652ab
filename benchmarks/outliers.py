"""AUROC of ``AutoencoderOutlierDetector`` against ``IsolationForest`` and PCA's reconstruction
error, on two tabular sets that ship with scikit-learn, as novelty detection: each method learns
from normal rows only and scores held-out normal rows and outliers.

- ``digits``: scikit-learn's 8x8 digits (1,797 rows, 64 pixel columns scaled to [0, 1]), one
  task per digit: the digit is normal (70% of its rows to learn from, 30% held out), every
  other digit is an outlier; AUROC averaged over the ten tasks. The one-vs-rest protocol of
  one-class deep anomaly detection (Ruff et al., "Deep One-Class Classification", 2018, on MNIST).
- ``breast-cancer``: the Wisconsin diagnostic set (569 rows, 30 measurements, standardized on
  the rows learnt from): benign tumours are normal (70% learnt from), malignant ones outliers.

Every method sees the same rows in each seed; the autoencoder's codings and PCA have the same
width (8 for digits, 4 for breast cancer). Several seeds: each draws the split, the forest and
the autoencoder's initial weights.

    python benchmarks/outliers.py --seeds 5 --json benchmarks/results/outliers.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import sklearn
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from aegan.sklearn import AutoencoderOutlierDetector


def _split(n: int, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(n)
    return order[:int(0.7 * n)], order[int(0.7 * n):]


def tasks(seed: int):
    """``(name, train, test, is_outlier, width)`` of every task of one seed."""
    rng = np.random.RandomState(seed)
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    for digit in range(10):
        normal = np.flatnonzero(y == digit)
        learn, held = _split(len(normal), rng)
        test = np.concatenate([normal[held], np.flatnonzero(y != digit)])
        yield f"digits/{digit}", x[normal[learn]], x[test], y[test] != digit, 8
    x, y = load_breast_cancer(return_X_y=True)  # y: 0 malignant, 1 benign
    benign = np.flatnonzero(y == 1)
    learn, held = _split(len(benign), rng)
    test = np.concatenate([benign[held], np.flatnonzero(y == 0)])
    scaler = StandardScaler().fit(x[benign[learn]])
    yield ("breast-cancer", scaler.transform(x[benign[learn]]), scaler.transform(x[test]),
           y[test] == 0, 4)


def scores(train: np.ndarray, test: np.ndarray, width: int, seed: int, epochs: int) -> dict:
    """Each method's anomaly score of the test rows (higher: more abnormal)."""
    ae = AutoencoderOutlierDetector(encoder=(32, width), epochs=epochs,
                                    random_state=seed).fit(train)
    forest = IsolationForest(random_state=seed).fit(train)
    pca = PCA(width, random_state=seed).fit(train)
    pca_error = np.mean((pca.inverse_transform(pca.transform(test)) - test) ** 2, axis=1)
    return {"autoencoder": -ae.score_samples(test),
            "isolation_forest": -forest.score_samples(test), "pca": pca_error}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=200, help="of the autoencoder")
    parser.add_argument("--json", help="write every AUROC here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows, start = [], time.time()
    for seed in range(args.seeds):
        for name, train, test, outlier, width in tasks(seed):
            for method, score in scores(train, test, width, seed, args.epochs).items():
                rows.append({"seed": seed, "task": name, "method": method,
                             "auroc": float(roc_auc_score(outlier, score))})
        print(f"seed {seed} done ({time.time() - start:.0f} s)", flush=True)
    summary = {}
    for data in ("digits", "breast-cancer"):
        for method in ("autoencoder", "isolation_forest", "pca"):
            per_seed = [np.mean([r["auroc"] for r in rows if r["seed"] == s
                                 and r["method"] == method and r["task"].startswith(data)])
                        for s in range(args.seeds)]
            summary[f"{data}/{method}"] = (float(np.mean(per_seed)), float(np.std(per_seed)))
            print(f"{data:>13} {method:>16}: AUROC {np.mean(per_seed):.4f} ± {np.std(per_seed):.4f}")
    for digit in range(10):
        means = {m: np.mean([r["auroc"] for r in rows
                             if r["task"] == f"digits/{digit}" and r["method"] == m])
                 for m in ("autoencoder", "isolation_forest", "pca")}
        print(f"  digit {digit}: " + "  ".join(f"{m} {v:.4f}" for m, v in means.items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "summary": summary, "epochs": args.epochs,
                       "machine": platform.platform(), "date": time.strftime("%Y-%m-%d %H:%M"),
                       "torch": torch.__version__, "sklearn": sklearn.__version__}, f, indent=1)


if __name__ == "__main__":
    main()
