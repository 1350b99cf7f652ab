"""Representation metrics: how much of the labels the codings keep (Géron, *Hands-On Machine
Learning*, 2nd ed., section 17.3: unsupervised pretraining; the linear-evaluation protocol of
self-supervised learning).

Two probes are fitted on the codings of the training split and scored on the evaluated split:
a logistic regression on standardised codings (the linear probe) and a k-NN classifier (k = 5,
Euclidean) on the codings as they are. The same probes on the codings of PCA with as many
components (fitted on the same training examples) are the baseline. The probes train on at most
``--probe-limit`` training examples (the first ones; 10,000 by default), which the output says.
"""

from __future__ import annotations

import numpy as np

from aegan.metrics import MetricData, batched, flat, register_metric
from aegan.models import Encoder

KNN_K = 5


def probe_accuracies(z_train: np.ndarray, y_train: np.ndarray, z_eval: np.ndarray,
                     y_eval: np.ndarray, k: int = KNN_K, seed: int = 0) -> tuple[float, float]:
    """``(linear, knn)`` accuracies on ``(z_eval, y_eval)`` of probes fitted on codings
    ``z_train`` ``[N, D]`` with labels ``y_train`` ``[N]``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    linear.fit(z_train, y_train)
    knn = KNeighborsClassifier(n_neighbors=min(k, len(z_train))).fit(z_train, y_train)
    return float(linear.score(z_eval, y_eval)), float(knn.score(z_eval, y_eval))


def pca_codings(x_train: np.ndarray, x_eval: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Codings ``[N, k]`` of PCA fitted on ``x_train``, of ``x_train`` and of ``x_eval``."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=k, random_state=0).fit(flat(x_train))
    return pca.transform(flat(x_train)), pca.transform(flat(x_eval))


@register_metric("probe", (Encoder,), "probe_linear, probe_knn: logistic-regression and 5-NN "
                 "accuracy on the codings, beside probe_pca_* on PCA codings of the same width "
                 "(labelled data; --probe-limit training examples)", default=False)
def probe(model, data: MetricData) -> dict:
    if data.y is None or data.y_train is None:
        return {}
    n = min(data.probe_limit, len(data.x_train))
    x_train, y_train = data.x_train[:n], data.y_train[:n]
    z_train = flat(batched(model.encode, x_train, data.batch_size))
    z_eval = flat(batched(model.encode, data.x, data.batch_size))
    width = min(z_train.shape[1], flat(x_train[:1]).shape[1], n)
    linear, knn = probe_accuracies(z_train, y_train, z_eval, data.y, seed=data.seed)
    pca_linear, pca_knn = probe_accuracies(*_with(pca_codings(x_train, data.x, width), y_train,
                                                  data.y), seed=data.seed)
    return {"probe_linear": linear, "probe_knn": knn, "probe_pca_linear": pca_linear,
            "probe_pca_knn": pca_knn, "probe_width": int(z_train.shape[1]),
            "probe_train_examples": n, "probe_knn_k": KNN_K}


def _with(codings: tuple[np.ndarray, np.ndarray], y_train: np.ndarray, y_eval: np.ndarray):
    return codings[0], y_train, codings[1], y_eval
