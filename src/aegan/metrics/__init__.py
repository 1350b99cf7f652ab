"""Metrics: one small pure function each, registered by name.

A metric takes ``(model, data: MetricData)`` and returns a dict of numbers. Which metrics apply
to a model is decided by the capabilities it declares (:mod:`aegan.models.base`: a
Reconstructor, an Encoder, a Sampler, a Likelihood...), never by its family's name. The
metrics live in sub-modules by kind:

- :mod:`~aegan.metrics.reconstruction`: MSE, binary cross-entropy, PSNR, the PCA baseline;
- :mod:`~aegan.metrics.representation`: linear-probe and k-NN accuracy beside PCA's;
- :mod:`~aegan.metrics.generation`: FID, KID, improved precision/recall, class coverage,
  on the features of :mod:`~aegan.metrics.features` (Inception-v3 or a trained classifier);
- :mod:`~aegan.metrics.anomaly`: AUROC and average precision of reconstruction errors;
- :mod:`~aegan.metrics.likelihood`: the negative ELBO and the importance-sampled NLL;
- :mod:`~aegan.metrics.translation`: PSNR, SSIM, FID, the judge's accuracy and colourfulness
  of image-to-image translations, beside their baselines;
- :mod:`~aegan.metrics.forecast`: MSE and MAE per frame, SSIM and PSNR of predicted frames,
  per step, beside copying the last context frame.

The default metrics (computed when none is named) are sized to answer in about a minute on a
laptop's CPU: the likelihood with K = 100 importance samples, the sample metrics on 2,000
samples with the classifier features (Inception's take tens of minutes on a CPU); the
literature's protocols are a flag away (``--nll-samples``, ``--n-samples``, ``--features``).
Metrics that take longer (the probes, KID's subsets) are registered with ``default=False``:
they run when named with ``--metrics``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from aegan.capabilities import require
from aegan.errors import ConfigError, did_you_mean
from aegan.models import can


NLL_SAMPLES = 100  # importance samples of the likelihood metric unless told otherwise
PAPER_NLL_SAMPLES = 1000  # the protocol of benchmarks/RESULTS.md's likelihoods


@dataclass
class MetricData:
    """What metrics are computed on: the evaluation split, the training data and options."""

    x: np.ndarray
    y: np.ndarray | None
    x_train: np.ndarray
    value_range: tuple[float, float] | None
    targets: np.ndarray | None = None  # what the model should output, where not the inputs
    batch_size: int = 1024
    nll_samples: int = NLL_SAMPLES  # importance samples per example of the likelihood metric
    seed: int = 0  # of the draws that sampled metrics take
    y_train: np.ndarray | None = None
    data_name: str = "data"  # keys the cached feature classifier
    features: str | None = None  # "inception" | "classifier" | None: inception if available
    n_samples: int = 2000  # generated (and real) examples of the generation metrics
    inception_weights: str | None = None  # a TorchScript FID Inception file
    probe_limit: int = 10000  # training examples of the representation probes
    normal_classes: list[int] | None = None  # labels that are normal, for the anomaly metric
    # () -> (x, y): the training data of the feature classifier (default x_train, y_train)
    classifier_data: Callable[[], tuple[np.ndarray, np.ndarray | None]] | None = None
    derive: dict[str, Any] | None = None  # the data config's derived pairs (data.derive)
    truncation: float | None = None  # psi of a TruncatedSampler's samples (None: not asked)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # shared between metrics


@dataclass
class MetricEntry:
    name: str
    fn: Callable[..., dict[str, float]]
    needs: tuple[type, ...]  # the capabilities (aegan.models.base) the metric uses
    description: str
    default: bool = True  # computed when no metric is named


METRICS: dict[str, MetricEntry] = {}


def register_metric(name: str, needs: tuple[type, ...], description: str, default: bool = True):
    def wrap(fn):
        METRICS[name] = MetricEntry(name, fn, needs, description, default)
        return fn

    return wrap


def applicable(model) -> list[str]:
    return [m.name for m in METRICS.values() if all(can(model, c) for c in m.needs)]


def defaults(model) -> list[str]:
    """The metrics computed when none is named: the applicable ones registered as default."""
    return [n for n in applicable(model) if METRICS[n].default]


def compute(names: list[str], model, data: MetricData) -> dict[str, float]:
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric {unknown[0]!r}{did_you_mean(unknown[0], METRICS)} "
                          f"(known: {', '.join(sorted(METRICS))})")
    for name in names:  # every metric is checked before any is computed
        for capability in METRICS[name].needs:
            require(model, capability, f"give metric {name!r}")
    results: dict[str, float] = {}
    for name in names:
        results.update(METRICS[name].fn(model, data))
    return results


def check_options(options: dict[str, Any]) -> None:
    """Refuse bad evaluation options (``MetricData`` fields; None means the default) before
    anything is loaded."""
    known = {"features", "n_samples", "inception_weights", "probe_limit", "normal_classes",
             "truncation"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(f"unknown evaluation option {unknown[0]!r}; known: {', '.join(sorted(known))}")
    get = options.get
    if get("features") not in (None, "inception", "classifier"):
        raise ConfigError(f"unknown --features {get('features')!r}; choose inception or classifier")
    for name, least in (("n_samples", 2), ("probe_limit", 1)):
        value = get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < least):
            raise ConfigError(f"--{name.replace('_', '-')} must be a whole number of at least "
                              f"{least}, got {value}")
    if get("inception_weights") not in (None, "download"):
        from aegan.metrics.features import find_inception

        find_inception(get("inception_weights"))  # a missing file is named now
    psi = get("truncation")
    if psi is not None and (isinstance(psi, bool) or not isinstance(psi, (int, float))
                            or not 0 <= psi <= 1):
        raise ConfigError(f"--truncation must be a psi in [0, 1], got {psi}")
    if get("normal_classes") is not None and not get("normal_classes"):
        raise ConfigError("--normal-classes must name at least one class")


@torch.no_grad()
def batched(fn, x: np.ndarray, batch_size: int) -> np.ndarray:
    """Apply ``fn`` (tensor -> tensor) to ``x`` in batches on the CPU; NumPy in and out."""
    outs = [fn(torch.as_tensor(x[i:i + batch_size])).numpy() for i in range(0, len(x), batch_size)]
    return np.concatenate(outs)


def flat(x: np.ndarray) -> np.ndarray:
    """``[N, ...] -> [N, D]`` float64."""
    return x.reshape(len(x), -1).astype(np.float64)


# the metric modules register themselves (imported last: they import the names above)
from aegan.metrics import reconstruction, likelihood, representation  # noqa: E402, F401, I001
from aegan.metrics import generation, anomaly, translation, forecast  # noqa: E402, F401
from aegan.metrics.reconstruction import accuracy, pca_baseline, pca_mse  # noqa: E402, F401
