"""The GAN losses, as pure functions of the discriminator's logits ``[N]``.

Each loss is a pair: ``d(real, fake, real_target)`` for the discriminator (or critic) and
``g(fake)`` for the generator; ``real_target`` is 1, or less with one-sided label smoothing
(Salimans et al. 2016, section 3.4: only the real examples' target is smoothed).

- ``bce-minimax``: Goodfellow et al. 2014's value function; G minimizes ``log(1 - D(G(z)))``.
- ``bce``: the same D, G maximizes ``log D(G(z))`` (non-saturating; Géron's section 17.9 trains
  G on "real" labels this way). D's loss is the binary cross-entropy over the half-real,
  half-fake batch, ``(BCE(real, 1) + BCE(fake, 0)) / 2``, as the book's concatenated batch.
- ``lsgan``: least squares with targets 0 / 1 (Mao et al. 2017, eq. 2, a=0, b=c=1), halved.
- ``hinge``: Lim & Ye 2017 / Miyato et al. 2018: D ``E[relu(1 - r)] + E[relu(1 + f)]``,
  G ``-E[f]``.
- ``wgan-gp``: Gulrajani et al. 2017: critic ``E[f] - E[r]`` plus ``gp_weight`` times the
  gradient penalty (added by the model, which owns the critic), G ``-E[f]``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def bce_d(real: torch.Tensor, fake: torch.Tensor, real_target: float = 1.0) -> torch.Tensor:
    return 0.5 * (_bce(real, real_target) + _bce(fake, 0.0))


def bce_minimax_g(fake: torch.Tensor) -> torch.Tensor:
    return -F.softplus(fake).mean()  # log(1 - sigmoid(f)) = -softplus(f)


def bce_g(fake: torch.Tensor) -> torch.Tensor:
    return F.softplus(-fake).mean()  # -log sigmoid(f)


def lsgan_d(real: torch.Tensor, fake: torch.Tensor, real_target: float = 1.0) -> torch.Tensor:
    return 0.5 * ((real - real_target).square().mean() + fake.square().mean())


def lsgan_g(fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * (fake - 1).square().mean()


def hinge_d(real: torch.Tensor, fake: torch.Tensor, real_target: float = 1.0) -> torch.Tensor:
    return F.relu(real_target - real).mean() + F.relu(1 + fake).mean()


def wasserstein_d(real: torch.Tensor, fake: torch.Tensor, real_target: float = 1.0) -> torch.Tensor:
    return fake.mean() - real.mean()


def mean_negative_g(fake: torch.Tensor) -> torch.Tensor:
    return -fake.mean()


LOSSES: dict[str, tuple[Callable, Callable]] = {
    "bce": (bce_d, bce_g),
    "bce-minimax": (bce_d, bce_minimax_g),
    "lsgan": (lsgan_d, lsgan_g),
    "hinge": (hinge_d, mean_negative_g),
    "wgan-gp": (wasserstein_d, mean_negative_g),
}


def _bce_d(real, fake, target):  # (sigmoid(r) - t) / n and sigmoid(f) / n, halved
    return (torch.sigmoid(real).sub_(target).mul_(0.5 / len(real)),
            torch.sigmoid(fake).mul_(0.5 / len(fake)))


def _lsgan_d(real, fake, target):
    return (real - target).mul_(1.0 / len(real)), fake.mul(1.0 / len(fake))


def _hinge_d(real, fake, target):  # relu's gradient is 0 at the kink, as autograd's
    return ((real < target).to(real.dtype).mul_(-1.0 / len(real)),
            (fake > -1).to(fake.dtype).mul_(1.0 / len(fake)))


# loss name -> (the discriminator's loss's gradients w.r.t. the real and the fake logits, the
# generator's w.r.t. the fake logits), in closed form (aegan.models.closed_form); wgan-gp's
# penalty has none
LOGIT_GRADIENTS = {
    "bce": (_bce_d, lambda f: torch.sigmoid(f).sub_(1.0).mul_(1.0 / len(f))),
    "bce-minimax": (_bce_d, lambda f: torch.sigmoid(f).mul_(-1.0 / len(f))),
    "lsgan": (_lsgan_d, lambda f: (f - 1.0).mul_(1.0 / len(f))),
    "hinge": (_hinge_d, lambda f: torch.full_like(f, -1.0 / len(f))),
}


def interpolation_weights(n: int, ndim: int, device=None,
                          generator: torch.Generator | None = None) -> torch.Tensor:
    """One uniform weight per example, shaped to broadcast over it: ``[n, 1, ..., 1]``
    (``ndim`` dimensions in all). One per pixel would not put the points on the lines between
    real and fake examples, which is where the penalty is meant to hold."""
    return torch.rand((n,) + (1,) * (ndim - 1), generator=generator).to(device)


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
    """``E[(||grad critic(x_hat)||_2 - 1)^2]`` at ``x_hat = eps * real + (1 - eps) * fake``,
    ``eps`` ``[N, 1, ..., 1]`` one weight per example (drawn when None). Differentiable (the
    critic's weights get its gradient); ``real``, ``fake`` ``[N, *shape]``."""
    if eps is None:
        eps = interpolation_weights(len(real), real.dim(), real.device)
    if eps.shape != (len(real),) + (1,) * (real.dim() - 1):
        raise ValueError(f"one interpolation weight per example: eps must have shape "
                         f"{[len(real)] + [1] * (real.dim() - 1)}, got {list(eps.shape)}")
    x_hat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)  # [N, *shape]
    return (grad.flatten(1).norm(dim=1) - 1).square().mean()


def r1_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): ``E[||grad D(x)||_2^2]`` on real images ``[N, *shape]``;
    differentiable (the discriminator's weights get its gradient). StyleGAN 2 applies it
    lazily, every k-th step with its weight multiplied by k."""
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)  # [N, *shape]
    return grad.flatten(1).square().sum(dim=1).mean()


def path_lengths(images: torch.Tensor, ws: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """StyleGAN 2's path lengths (Karras et al. 2020, section 3.2): ``|J_w^T y|`` per example,
    the gradient of ``<images, y>`` with respect to ``ws`` ``[N, L, w_dim]`` (its squared
    norm averaged over the L layers' w), ``y`` ``[N, *shape]`` random images scaled by
    ``1 / sqrt(H W)``. Differentiable: ``[N]``."""
    (grad,) = torch.autograd.grad((images * y).sum(), ws, create_graph=True)  # [N, L, w_dim]
    return grad.square().sum(dim=2).mean(dim=1).sqrt()


def path_length_penalty(lengths: torch.Tensor, mean: torch.Tensor,
                        decay: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """``(E[(|J^T y| - a)^2], a')``: the penalty against the moving average ``a`` of the
    lengths, and that average updated ``a' = a + decay (mean(lengths) - a)``."""
    new_mean = mean + decay * (lengths.detach().mean() - mean)
    return (lengths - new_mean).square().mean(), new_mean
