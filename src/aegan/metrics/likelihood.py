"""Likelihood metrics of latent-variable models, in nats per example: the negative ELBO with its
two terms, and the importance-sampled negative log-likelihood

    -log p(x) ~= -log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x),  z_k ~ q(z|x)

(Burda, Grosse & Salakhutdinov 2016, eq. 9; the estimate pythae and the IWAE paper report). For
every K it is a stochastic upper bound on -log p(x) that tightens as K grows, and for the same
draws it is never above the ELBO's (Jensen's inequality), so it is the more honest number.

The K draws are taken in chunks sized by a memory budget (``max_values`` decoded values at a
time), with a running log-sum-exp, so any K fits in memory: a large K costs time, not memory.
The metrics need a model with ``elbo_terms(x, generator)`` and ``log_weights(x, k, generator)``
and draw from a generator seeded by ``MetricData.seed``, so a result repeats exactly.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch

from aegan import progress
from aegan.errors import ConfigError
from aegan.metrics import MetricData, register_metric
from aegan.models import Likelihood

log = logging.getLogger(__name__)

MAX_VALUES = 2 ** 24  # decoded values per chunk: about 64 MB per float32 tensor of that size


def _chunks(n: int, k: int, values_per_example: int, max_values: int) -> tuple[int, int]:
    """``(examples, samples)`` per chunk: all K draws of as many examples as fit, else one
    example at a time with as many draws as fit (at least one)."""
    per_example = k * values_per_example
    if per_example <= max_values:
        return max(1, min(n, max_values // per_example)), k
    return 1, max(1, max_values // values_per_example)


@torch.no_grad()
def iw_log_likelihood(model, x: np.ndarray, k: int, seed: int = 0,
                      max_values: int | None = None) -> np.ndarray:
    """The importance-sampled ``log p(x)`` of each example ``[N]`` (float64) with ``k`` draws,
    at most ``max_values`` (default ``MAX_VALUES``) decoded values at a time."""
    if not isinstance(k, int) or k < 1:
        raise ConfigError(f"--nll-samples must be at least 1, got {k}")
    generator = torch.Generator().manual_seed(seed)
    n_examples, per_chunk = _chunks(len(x), k, math.prod(x.shape[1:]), max_values or MAX_VALUES)
    if per_chunk < k:
        log.info("drawing the %d samples in chunks of %d per example", k, per_chunk)
    out = np.empty(len(x), dtype=np.float64)
    starts = range(0, len(x), n_examples)
    for start in progress.track(starts, f"nll with K = {k} samples", unit="batches"):
        batch = torch.as_tensor(x[start:start + n_examples])
        total = torch.full((len(batch),), -math.inf, dtype=torch.float64)
        for done in range(0, k, per_chunk):
            log_w = model.log_weights(batch, min(per_chunk, k - done), generator).double()
            total = torch.logaddexp(total, torch.logsumexp(log_w, dim=0))
        out[start:start + len(batch)] = (total - math.log(k)).numpy()
    return out


@torch.no_grad()
def mean_elbo_terms(model, x: np.ndarray, seed: int = 0,
                    batch_size: int = 1024) -> dict[str, float]:
    """Means over ``x`` in nats: ``recon`` = -log p(x|z) with one draw of z per example, ``kl``
    in closed form, ``nelbo`` their sum."""
    generator = torch.Generator().manual_seed(seed)
    sums = {"recon": 0.0, "kl": 0.0}
    for start in range(0, len(x), batch_size):
        recon, kl = model.elbo_terms(torch.as_tensor(x[start:start + batch_size]), generator)
        sums["recon"] += float(recon.double().sum())
        sums["kl"] += float(kl.double().sum())
    return {"nelbo": (sums["recon"] + sums["kl"]) / len(x), "nelbo_recon": sums["recon"] / len(x),
            "nelbo_kl": sums["kl"] / len(x)}


@register_metric("elbo", (Likelihood,),
                 "nelbo = nelbo_recon + nelbo_kl: the negative ELBO and its terms "
                 "(nats per example)")
def elbo(model, data: MetricData) -> dict[str, float]:
    return mean_elbo_terms(model, data.x, data.seed, data.batch_size)


@register_metric("nll", (Likelihood,),
                 "nll: importance-sampled -log p(x) in nats per example, K = --nll-samples draws")
def nll(model, data: MetricData) -> dict[str, float]:
    log_px = iw_log_likelihood(model, data.x, data.nll_samples, data.seed)
    return {"nll": float(-log_px.mean()), "nll_samples": data.nll_samples}
