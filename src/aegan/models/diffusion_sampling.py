"""The mathematics of Gaussian diffusion models, as pure functions of tensors and numbers, and
the options a sampling run takes.

Timesteps are 0-based: ``t = 0 .. T - 1`` are the papers' ``1 .. T``, ``alphas_cumprod[t]`` is
their ``alpha-bar_t = prod_{s <= t} (1 - beta_s)``, and the clean image sits at ``t = -1``
(``alpha-bar = 1``). Everything here is checked against its closed form in
``tests/test_diffusion.py``.

- Schedules: linear betas (Ho et al. 2020, "Denoising Diffusion Probabilistic Models": 1e-4 to
  0.02 over T = 1000, scaled by 1000 / T for other T as Nichol & Dhariwal 2021 do, clipped at
  0.999) and the
  cosine schedule of Nichol & Dhariwal 2021 ("Improved Denoising Diffusion Probabilistic
  Models", eq. 17): ``alpha-bar(t) = f(t) / f(0)``, ``f(t) = cos^2(((t / T) + s) / (1 + s)
  * pi / 2)``, betas clipped at 0.999.
- The forward process ``q(x_t | x_0) = N(sqrt(ab_t) x_0, (1 - ab_t) I)`` and the posterior
  ``q(x_s | x_t, x_0)`` for any earlier ``s`` (Ho et al., eqs. 4, 6, 7; between consecutive
  steps when ``s = t - 1``).
- The model's output as the clean image and the noise (prediction targets ``eps``, ``x0`` and
  ``v = sqrt(ab) eps - sqrt(1 - ab) x_0``, Salimans & Ho 2022).
- Samplers: DDPM's ancestral step (Ho et al., algorithm 2, with the fixed "small" variance
  ``beta-tilde`` of the posterior or the "large" one ``beta``) and DDIM's (Song, Meng & Ermon
  2021, "Denoising Diffusion Implicit Models", eq. 12, with ``eta`` from 0, deterministic, to
  1, which is DDPM with the small variance), over the timesteps of :func:`timesteps`; DDIM
  inversion (running eq. 12 with ``eta`` 0 the other way).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from aegan.config import is_int, is_number
from aegan.errors import ConfigError

SCHEDULES = ("linear", "cosine")
PREDICTIONS = ("eps", "x0", "v")
SAMPLERS = ("ddim", "ddpm")
VARIANCES = ("small", "large")
PRECISIONS = ("auto", "fp32", "bf16")  # of the network's passes while sampling; the updates
# stay fp32; auto: bf16 where the device computes it natively
MAX_BETA = 0.999  # Nichol & Dhariwal's clip of the cosine schedule's betas

# predict(x_t [N, ...], t) -> (x0_hat, eps_hat), each like x_t: the model at one timestep
Predict = Callable[[torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]]


# -- a sampling run's options ------------------------------------------------------------------
@dataclass(frozen=True)
class SamplingOptions:
    """One sampling run's settings, resolved and checked: ``sampler`` ('ddim' or 'ddpm'),
    ``steps`` S, DDIM's ``eta``, DDPM's ``variance`` ('small' or 'large'), the ``guidance`` w,
    and the ``precision`` of the network's passes ('fp32', or 'bf16': under bf16 autocast,
    the output cast back to fp32 before the sampler's update)."""

    sampler: str
    steps: int
    eta: float
    variance: str
    guidance: float
    precision: str = "fp32"


FLAGS = {"steps": "--steps", "eta": "--eta", "guidance": "--guidance"}
FIELDS = {"steps": "model.sampling_steps", "eta": "model.eta", "guidance": "model.guidance"}


def check_options(T: int, conditional: bool, steps, eta, guidance, names=FLAGS) -> None:
    """Refuse sampling options of a model of ``T`` timesteps (None: not given), named as flags
    or (``names=FIELDS``) as the config's fields."""
    if steps is not None and not (is_int(steps) and 1 <= steps <= T):
        raise ConfigError(f"{names['steps']} must be between 1 and this model's T = {T} "
                          f"timesteps, got {steps}")
    if eta is not None and not (is_number(eta) and 0 <= eta <= 1):
        raise ConfigError(f"{names['eta']} must be between 0 (deterministic DDIM) and 1, "
                          f"got {eta}")
    if guidance is not None and not (is_number(guidance) and guidance >= 0):
        raise ConfigError(f"{names['guidance']} must be a number >= 0 (0: unconditional, 1: "
                          f"conditional, more: stronger), got {guidance}")
    if guidance not in (None, 1.0) and not conditional:
        raise ConfigError(f"{names['guidance']} scales classifier-free guidance, which only a "
                          "conditional model has (model.num_classes > 0, such as preset "
                          "ddpm-cond); " + ("drop it" if names is FLAGS else "leave it at 1"))


# -- schedules (float64) ------------------------------------------------------------------------
def linear_betas(T: int) -> torch.Tensor:
    """``[T]`` betas from 1e-4 to 0.02 (Ho et al.'s, for T = 1000), both scaled by 1000 / T,
    at most :data:`MAX_BETA` (which only T < 50 reaches)."""
    scale = 1000.0 / T
    return torch.linspace(scale * 1e-4, scale * 0.02, T, dtype=torch.float64).clamp(max=MAX_BETA)


def cosine_alpha_bar(t: torch.Tensor, T: int, s: float = 0.008) -> torch.Tensor:
    """Nichol & Dhariwal's ``alpha-bar(t) = f(t) / f(0)`` at (possibly fractional) steps ``t``
    of ``T``, before any clipping: ``f(t) = cos^2(((t / T) + s) / (1 + s) * pi / 2)``."""
    def f(u):
        return torch.cos((u / T + s) / (1 + s) * math.pi / 2) ** 2

    t = torch.as_tensor(t, dtype=torch.float64)
    return f(t) / f(torch.zeros((), dtype=torch.float64))


def cosine_betas(T: int, s: float = 0.008) -> torch.Tensor:
    """``[T]`` betas of the cosine schedule: ``1 - alpha-bar(i + 1) / alpha-bar(i)``, at most
    :data:`MAX_BETA` (which only the last steps reach)."""
    ab = cosine_alpha_bar(torch.arange(T + 1, dtype=torch.float64), T, s)
    return (1 - ab[1:] / ab[:-1]).clamp(max=MAX_BETA)


def alphas_cumprod(name: str, T: int, cosine_s: float = 0.008) -> torch.Tensor:
    """``[T]`` ``alpha-bar_t`` of schedule ``name`` ('linear' or 'cosine'), float64."""
    betas = linear_betas(T) if name == "linear" else cosine_betas(T, cosine_s)
    return torch.cumprod(1 - betas, dim=0)


def timesteps(T: int, S: int) -> list[int]:
    """The ``S`` timesteps a sampler visits, from ``T - 1`` down, evenly ``T / S`` apart
    ("trailing" spacing, Lin et al. 2024): ``round((S - i) T / S) - 1`` for ``i = 0 .. S - 1``.
    The first is always ``T - 1`` (the fully noised step: the papers' ``t = T``), the last
    ``round(T / S) - 1``; ``S = T`` visits every step. 1000 steps, S = 4: 999, 749, 499, 249."""
    if not 1 <= S <= T:
        raise ValueError(f"S must be between 1 and T = {T}, got {S}")
    return [((S - i) * T * 2 + S) // (2 * S) - 1 for i in range(S)]


# -- the forward process and its posterior ------------------------------------------------------
def _col(value, like: torch.Tensor) -> torch.Tensor:
    """A number or ``[N]`` values as ``[N, 1, ...]`` broadcasting over ``like`` ``[N, ...]``."""
    v = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    return v.reshape(-1, *([1] * (like.dim() - 1))) if v.dim() else v


def q_sample(x0: torch.Tensor, ab: torch.Tensor | float, noise: torch.Tensor) -> torch.Tensor:
    """A draw of ``q(x_t | x_0)``: ``sqrt(ab_t) x_0 + sqrt(1 - ab_t) noise`` (``ab`` one number or
    ``[N]``, one per example)."""
    ab = _col(ab, x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def posterior(ab_t: float, ab_s: float) -> tuple[float, float, float]:
    """``q(x_s | x_t, x_0)`` for ``s < t`` (``ab_s = 1`` for the clean image) as
    ``(c0, ct, variance)``: mean ``c0 x_0 + ct x_t``. With ``beta = 1 - ab_t / ab_s`` (one
    step's beta when ``s = t - 1``): ``c0 = sqrt(ab_s) beta / (1 - ab_t)``,
    ``ct = sqrt(1 - beta) (1 - ab_s) / (1 - ab_t)``, ``variance = (1 - ab_s) / (1 - ab_t) beta``
    (Ho et al., eq. 7)."""
    beta = 1 - ab_t / ab_s
    c0 = math.sqrt(ab_s) * beta / (1 - ab_t)
    ct = math.sqrt(1 - beta) * (1 - ab_s) / (1 - ab_t)
    return c0, ct, (1 - ab_s) / (1 - ab_t) * beta


# -- the model's output --------------------------------------------------------------------------
def target(prediction: str, x0: torch.Tensor, noise: torch.Tensor,
           ab: torch.Tensor | float) -> torch.Tensor:
    """What the network learns to output for ``x_t = q_sample(x0, ab, noise)``."""
    if prediction == "eps":
        return noise
    if prediction == "x0":
        return x0
    ab = _col(ab, x0)
    return ab.sqrt() * noise - (1 - ab).sqrt() * x0  # v


def min_snr_weight(prediction: str, ab: torch.Tensor, gamma: float) -> torch.Tensor:
    """The min-SNR-gamma loss weights (Hang et al. 2023, "Efficient Diffusion Training via
    Min-SNR Weighting Strategy") of timesteps with ``ab`` ``[N]``: the clean image's squared error
    weighted ``min(SNR, gamma)``, ``SNR = ab / (1 - ab)``, as a weight on the squared error of
    ``prediction``'s target. The noise's error is the clean image's times ``SNR``, the
    velocity's times ``SNR + 1``, so the weights are ``min(SNR, gamma) / SNR`` and
    ``min(SNR, gamma) / (SNR + 1)``."""
    snr = ab / (1 - ab)
    if prediction == "eps":
        return torch.where(snr > gamma, gamma / snr, torch.ones_like(snr))
    capped = snr.clamp(max=gamma)
    return capped if prediction == "x0" else capped / (snr + 1)


def x0_and_eps(prediction: str, out: torch.Tensor, x_t: torch.Tensor, ab: float,
               clip: tuple[float, float] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The clean image and the noise that the network's output ``out`` at ``x_t`` (one ``ab``
    for the batch) stands for. ``clip``: the clean image is clamped to that range and the
    noise recomputed from it, so the pair stays consistent with ``x_t``."""
    a, b = math.sqrt(ab), math.sqrt(1 - ab)
    if prediction == "eps":
        x0, eps = (x_t - b * out) / a, out
    elif prediction == "x0":
        x0, eps = out, (x_t - a * out) / b
    else:  # v
        x0, eps = a * x_t - b * out, b * x_t + a * out
    if clip is not None:
        x0 = x0.clamp(*clip)
        eps = (x_t - a * x0) / b
    return x0, eps


# -- one step of each sampler ----------------------------------------------------------------------
def ddpm_step(x_t: torch.Tensor, x0: torch.Tensor, ab_t: float, ab_s: float,
              noise: torch.Tensor | None, variance: str = "small") -> torch.Tensor:
    """Ancestral sampling from ``t`` to ``s``: the posterior mean given the predicted clean
    image, plus ``sigma * noise`` with ``sigma^2`` the posterior's variance (``small``) or
    ``beta = 1 - ab_t / ab_s`` (``large``); no noise when ``noise`` is None (the last step)."""
    c0, ct, var = posterior(ab_t, ab_s)
    mean = c0 * x0 + ct * x_t
    if noise is None:
        return mean
    sigma2 = var if variance == "small" else 1 - ab_t / ab_s
    return mean + math.sqrt(sigma2) * noise


def ddim_sigma(ab_t: float, ab_s: float, eta: float) -> float:
    """DDIM's ``sigma = eta sqrt((1 - ab_s) / (1 - ab_t)) sqrt(1 - ab_t / ab_s)`` (eq. 16)."""
    return eta * math.sqrt((1 - ab_s) / (1 - ab_t) * (1 - ab_t / ab_s))


def ddim_step(x0: torch.Tensor, eps: torch.Tensor, ab_t: float, ab_s: float, eta: float,
              noise: torch.Tensor | None) -> torch.Tensor:
    """DDIM from ``t`` to ``s`` (Song et al., eq. 12): ``sqrt(ab_s) x0 + sqrt(1 - ab_s -
    sigma^2) eps + sigma noise``. ``eta`` 0 is deterministic (``noise`` unused)."""
    sigma = ddim_sigma(ab_t, ab_s, eta)
    x_s = math.sqrt(ab_s) * x0 + math.sqrt(max(1 - ab_s - sigma ** 2, 0.0)) * eps
    return x_s if noise is None or sigma == 0 else x_s + sigma * noise


# -- whole runs ------------------------------------------------------------------------------------
def sample_loop(predict: Predict, x: torch.Tensor, ab: torch.Tensor, steps: list[int],
                sampler: str = "ddim", eta: float = 0.0, variance: str = "small",
                generator: torch.Generator | None = None,
                on_step: Callable[[int, torch.Tensor], None] | None = None) -> torch.Tensor:
    """Run a sampler from ``x`` (``x_T``, at ``steps[0]``) through the timesteps ``steps``
    (descending) to the clean image. ``ab``: ``[T]`` float64 ``alpha-bar``. Noise is drawn
    from ``generator`` on the CPU (so results do not depend on the device), once per step that
    adds noise: every step but the last for DDPM and for DDIM with ``eta`` > 0.
    ``on_step(t, x)`` sees the sample after the step from ``t``."""
    noisy = sampler == "ddpm" or eta > 0
    for i, t in enumerate(steps):
        ab_t = float(ab[t])
        ab_s = float(ab[steps[i + 1]]) if i + 1 < len(steps) else 1.0
        x0, eps = predict(x, t)
        last = i + 1 == len(steps)
        noise = (torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
                 if noisy and not last else None)
        if sampler == "ddpm":
            x = ddpm_step(x, x0, ab_t, ab_s, noise, variance)
        else:
            x = ddim_step(x0, eps, ab_t, ab_s, eta, noise)
        if on_step is not None:
            on_step(t, x)
    return x


def invert_loop(predict: Predict, x0: torch.Tensor, ab: torch.Tensor,
                steps: list[int]) -> torch.Tensor:
    """DDIM inversion: the noise ``x_T`` from which deterministic DDIM over ``steps`` (as
    :func:`sample_loop` takes them) returns about ``x0``. Each step runs eq. 12 upwards with
    the noise predicted at the current point and its timestep (at the clean image, the first
    timestep's), which is where the inversion is approximate."""
    x, ab_s = x0, 1.0
    ascending = steps[::-1]
    for k, t in enumerate(ascending):
        _, eps = predict(x, ascending[max(k - 1, 0)])
        x0_hat = (x - math.sqrt(1 - ab_s) * eps) / math.sqrt(ab_s)
        ab_s = float(ab[t])
        x = math.sqrt(ab_s) * x0_hat + math.sqrt(1 - ab_s) * eps
    return x


def slerp(z_a: torch.Tensor, z_b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; White 2016 for the codings of generative models)
    between ``z_a`` and ``z_b`` ``[..., D]`` at fractions ``t`` ``[..., 1]``: along the great
    circle, so the norm of Gaussian noise stays near ``sqrt(D)``; the straight line where the
    two are (anti)parallel."""
    cos = (z_a * z_b).sum(-1, keepdim=True) / (z_a.norm(dim=-1, keepdim=True)
                                                * z_b.norm(dim=-1, keepdim=True)).clamp_min(1e-12)
    omega = torch.acos(cos.clamp(-1.0, 1.0))
    sin = torch.sin(omega)
    flat = sin.abs() < 1e-6
    safe = torch.where(flat, torch.ones_like(sin), sin)
    wa = torch.where(flat, 1 - t, torch.sin((1 - t) * omega) / safe)
    wb = torch.where(flat, t, torch.sin(t * omega) / safe)
    return wa * z_a + wb * z_b
