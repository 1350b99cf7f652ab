"""Variational autoencoders (Kingma & Welling 2014, "Auto-Encoding Variational Bayes"; Géron,
*Hands-On Machine Learning*, 2nd ed., section 17.8) and importance-weighted autoencoders
(Burda, Grosse & Salakhutdinov 2016, "Importance Weighted Autoencoders").

The encoder maps ``x`` to the mean and log-variance of a diagonal Gaussian ``q(z|x)``; codings
are drawn with the reparameterization trick ``z = mean + exp(log_var / 2) * eps``; the prior
``p(z)`` is ``N(0, I)``; the decoder gives ``p(x|z)``: Bernoulli (its logits; binary
cross-entropy) or Gaussian with a fixed or learned scale ``sigma`` shared by every value.

Every loss is in nats. Per example, ``recon = -log p(x|z)`` (summed over the ``D`` values),
``kl = KL(q(z|x) || p(z))`` in closed form, and the negative ELBO is their sum. The optimized
loss is ``(recon + kl_weight * kl) / D``: for a Bernoulli decoder that is the book's loss
exactly, the per-pixel binary cross-entropy plus the latent loss scaled by 1/784, and
``kl_weight`` is the beta of beta-VAEs (Higgins et al. 2017). With ``iw_samples`` k > 1 the loss
is the IWAE bound ``-log (1/k) sum_i w_i`` with ``w_i = p(x|z_i) p(z_i)^beta / q(z_i|x)^beta``,
divided by ``D``; with k = 1 it is the VAE's. ``kl_warmup`` raises beta linearly from 0 over
that many optimizer steps (Sønderby et al. 2016, "Ladder Variational Autoencoders").

``binarize`` resamples every training batch as ``Bernoulli(x)`` (dynamic binarization, as the
IWAE paper trains on MNIST); validation data are used as given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from aegan.config import ConfigError
from aegan.errors import DataMismatch
from aegan.models import closed_form
from aegan.models.base import Encoder, LatentSampler, Likelihood, Model, Needs, Reconstructor
from aegan.models.registry import register_model
from aegan.nets import ACTIVATIONS, INITS, activation, dense_stack, init_linear_
from aegan.nets.conv import conv_decoder, conv_encoder, pooled_sizes

LIKELIHOODS = ("bernoulli", "gaussian")
OUTPUTS = ("sigmoid", "linear")
LOG_2PI = math.log(2 * math.pi)


@dataclass
class VAEConfig:
    """A VAE. ``encoder`` lists the hidden widths (units, or channels for ``net`` 'conv') before
    the mean and log-variance heads; ``decoder`` the hidden widths back (None mirrors)."""

    family: str = "vae"
    net: str = "dense"
    encoder: list[int] = field(default_factory=lambda: [150, 100])
    decoder: list[int] | None = None
    z_dim: int = 10
    activation: str = "selu"
    init: str = "glorot_uniform"
    likelihood: str = "bernoulli"
    output: str = "sigmoid"  # the decoder's mean: sigmoid for data in [0, 1]; Bernoulli needs it
    sigma: float = 1.0  # the Gaussian likelihood's scale (its starting value when learned)
    learn_sigma: bool = False
    kl_weight: float = 1.0  # beta
    kl_warmup: int = 0  # optimizer steps over which beta rises from 0 to kl_weight
    iw_samples: int = 1  # k: 1 is the VAE, more is the IWAE
    binarize: bool = False  # dynamic binarization of the training batches

    def __post_init__(self) -> None:
        for name in ("encoder", "decoder"):
            widths = getattr(self, name)
            if widths is not None and (not widths or any(not isinstance(n, int) or n < 1
                                                         for n in widths)):
                raise ConfigError(f"model.{name} must list positive layer widths, got {widths}")
        for key, choices in (("net", tuple(NETWORKS)), ("likelihood", LIKELIHOODS),
                             ("output", OUTPUTS), ("init", INITS),
                             ("activation", tuple(ACTIVATIONS))):
            if getattr(self, key) not in choices:
                raise ConfigError(f"unknown {key} {getattr(self, key)!r}; choose one of "
                                  f"{', '.join(choices)}")
        checks = (
            (_count(self.z_dim, 1),
             f"model.z_dim must be a positive number of codings, got {self.z_dim}"),
            (self.likelihood != "bernoulli" or self.output == "sigmoid",
             "likelihood 'bernoulli' needs output 'sigmoid' (values in [0, 1])"),
            (_number(self.sigma) and self.sigma > 0,
             f"model.sigma must be a positive scale, got {self.sigma}"),
            (_number(self.kl_weight) and self.kl_weight >= 0,
             f"model.kl_weight must be >= 0, got {self.kl_weight}"),
            (_count(self.kl_warmup, 0),
             f"model.kl_warmup must be a number of steps >= 0, got {self.kl_warmup}"),
            (_count(self.iw_samples, 1),
             f"model.iw_samples must be at least 1, got {self.iw_samples}"),
        )
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)


def _count(value, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- networks: an encoder body [N, *shape] -> [N, F] and a decoder [N, z] -> [N, *shape] --------
def _dense_nets(cfg: VAEConfig, shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    n_in = math.prod(shape)
    back = cfg.decoder if cfg.decoder is not None else cfg.encoder[::-1]
    body = nn.Sequential(nn.Flatten(), dense_stack([n_in, *cfg.encoder], cfg.activation,
                                                   cfg.activation, cfg.init))
    decoder = nn.Sequential(
        dense_stack([cfg.z_dim, *back, n_in], cfg.activation, "linear", cfg.init),
        nn.Unflatten(1, shape))
    return body, decoder


def _conv_nets(cfg: VAEConfig, shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """Conv + pool stages down, flattened; a dense layer up to the smallest feature map, then
    stride-2 transposed convolutions back to the exact image size (book 17.5's networks)."""
    back = cfg.decoder if cfg.decoder is not None else cfg.encoder[::-1]
    body = nn.Sequential(conv_encoder(shape[0], cfg.encoder, cfg.activation, cfg.init),
                         nn.Flatten())
    side = pooled_sizes(shape[1], len(back))[-1], pooled_sizes(shape[2], len(back))[-1]
    try:
        up = conv_decoder(back, shape[0], shape[1:], cfg.activation, cfg.init)
    except ValueError as exc:
        raise DataMismatch(f"net 'conv': {exc}") from None
    project = nn.Linear(cfg.z_dim, back[0] * side[0] * side[1])
    init_linear_(project, cfg.init)
    decoder = nn.Sequential(project, activation(cfg.activation),
                            nn.Unflatten(1, (back[0], *side)), up)
    return body, decoder


NETWORKS = {"dense": _dense_nets, "conv": _conv_nets}


# -- the pieces of the objective, as pure functions ---------------------------------------------
def gaussian_kl(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """``KL(N(mean, exp(log_var)) || N(0, I))`` per example, ``[N, z] -> [N]`` (nats):
    ``-1/2 sum(1 + log_var - mean^2 - exp(log_var))`` (Kingma & Welling 2014, appendix B)."""
    return -0.5 * (1 + log_var - mean.square() - log_var.exp()).sum(dim=-1)


def log_normal(z: torch.Tensor, mean: torch.Tensor | float = 0.0,
               log_var: torch.Tensor | float = 0.0) -> torch.Tensor:
    """``log N(z; mean, exp(log_var))`` summed over the last dimension."""
    log_var = torch.as_tensor(log_var, dtype=z.dtype)
    return -0.5 * (LOG_2PI + log_var + (z - mean).square() / log_var.exp()).sum(dim=-1)


def reparameterize(mean: torch.Tensor, log_var: torch.Tensor, k: int = 1,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """``k`` codings per example, ``[N, z] -> [k, N, z]``: ``mean + exp(log_var / 2) * eps``."""
    if generator is None:
        eps = torch.randn((k, *mean.shape), dtype=mean.dtype, device=mean.device)
    else:  # a CPU generator: draw there, so results do not depend on the device
        eps = torch.randn((k, *mean.shape), generator=generator, dtype=mean.dtype).to(mean.device)
    return mean + (0.5 * log_var).exp() * eps


@register_model("vae", VAEConfig)
class VAE(Model, Encoder, Reconstructor, LatentSampler, Likelihood):
    """Gaussian encoder, reparameterized codings, Bernoulli or Gaussian decoder."""

    family = "vae"

    @classmethod
    def needs(cls, config: VAEConfig) -> Needs:
        unit = config.likelihood == "bernoulli" or config.binarize
        kinds = ("images",) if config.net == "conv" else Needs().kinds
        return Needs(kinds, (0.0, 1.0) if unit else None,
                     "use likelihood 'gaussian', output 'linear' and binarize false",
                     kinds_remedy="net 'conv' reads images [C, H, W]; use net 'dense' for "
                     "other data")

    @property
    def step_capturable(self) -> bool:
        """A KL warm-up makes beta a function of the step: no CUDA graph then."""
        return self.config.kl_warmup == 0

    def __init__(self, config: VAEConfig, spec):
        super().__init__(config, spec)
        self.encoder, self.decoder = NETWORKS[config.net](config, self.sample_shape)
        with torch.no_grad():
            features = self.encoder(torch.zeros(1, *self.sample_shape)).shape[1]
        self.mean_head = nn.Linear(features, config.z_dim)  # q(z|x)'s mean
        self.log_var_head = nn.Linear(features, config.z_dim)  # and its log-variance
        for head in (self.mean_head, self.log_var_head):
            init_linear_(head, config.init)
        log_sigma = torch.tensor(math.log(config.sigma))
        if config.learn_sigma:
            self.log_sigma = nn.Parameter(log_sigma)
        else:
            self.register_buffer("log_sigma", log_sigma)
        self.z_dim = config.z_dim
        self.n_values = math.prod(self.sample_shape)

    # -- the model's face -------------------------------------------------------------------
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``q(z|x)``: mean and log-variance, each ``[N, z_dim]``."""
        h = self.encoder(x)
        return self.mean_head(h), self.log_var_head(h)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The codings' posterior mean, ``[N, *sample_shape] -> [N, z_dim]``."""
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The mean of ``p(x|z)``, ``[N, z_dim] -> [N, *sample_shape]`` (in [0, 1] for sigmoid)."""
        out = self.decoder(z)
        return torch.sigmoid(out) if self.config.output == "sigmoid" else out

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def sample_codings(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` codings from the prior ``N(0, I)``, ``[n, z_dim]``."""
        return torch.randn((n, self.z_dim), generator=generator)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` new examples: the decoder's mean for codings drawn from the prior (as the book
        shows them), ``[n, *sample_shape]``."""
        return self.decode(self.sample_codings(n, generator).to(self.mean_head.weight.device))

    # -- likelihood ---------------------------------------------------------------------------
    def neg_log_likelihood(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``-log p(x|z)`` per example in nats from the decoder's raw output ``[..., N, *shape]``
        (logits, or the Gaussian's pre-activation mean); ``x`` broadcasts. Returns ``[..., N]``."""
        x = x.expand_as(out)
        if self.config.likelihood == "bernoulli":
            nll = F.binary_cross_entropy_with_logits(out, x, reduction="none")
        else:
            mean = torch.sigmoid(out) if self.config.output == "sigmoid" else out
            scaled = (x - mean) / self.log_sigma.exp()
            nll = 0.5 * scaled.square() + self.log_sigma + 0.5 * LOG_2PI
        return nll.flatten(-len(self.sample_shape)).sum(dim=-1)

    def _sampled_terms(self, x: torch.Tensor, k: int, generator: torch.Generator | None = None):
        """``k`` codings per example from ``q(z|x)``: ``-log p(x|z)`` and ``log p(z) - log q(z|x)``,
        each ``[k, N]``, and the posterior's mean and log-variance ``[N, z_dim]``."""
        mean, log_var = self.posterior(x)
        z = reparameterize(mean, log_var, k, generator)  # [k, N, z]
        out = self.decoder(z.flatten(0, 1)).unflatten(0, (k, len(x)))  # [k, N, *shape]
        log_ratio = log_normal(z) - log_normal(z, mean.unsqueeze(0), log_var.unsqueeze(0))
        return self.neg_log_likelihood(out, x), log_ratio, mean, log_var

    def log_weights(self, x: torch.Tensor, k: int, generator: torch.Generator | None = None,
                    beta: float = 1.0) -> torch.Tensor:
        """``log w = log p(x|z) + beta (log p(z) - log q(z|x))`` for ``k`` codings per example
        drawn from ``q(z|x)``: ``[k, N]``. Their log-mean-exp is the IWAE bound on ``log p(x)``
        (beta 1), their mean the ELBO estimated by sampling."""
        nll, log_ratio, _, _ = self._sampled_terms(x, k, generator)
        return -nll + beta * log_ratio

    def elbo_terms(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """``(-log p(x|z), KL(q(z|x) || p(z)))`` per example in nats, each ``[N]``: one draw of
        z per example, the KL in closed form. Their sum is the negative ELBO."""
        nll, _, mean, log_var = self._sampled_terms(x, 1, generator)
        return nll[0], gaussian_kl(mean, log_var)

    def kl_weight_at(self, step: int) -> float:
        warmup = self.config.kl_warmup
        return self.config.kl_weight * (min(1.0, step / warmup) if warmup else 1.0)

    # -- the step contract --------------------------------------------------------------------
    def losses(self, x: torch.Tensor, beta: float,
               generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Batch means. ``loss``: the optimized loss per value; ``recon``: ``-log p(x|z)`` per
        value (the per-pixel binary cross-entropy for a Bernoulli decoder); ``kl`` and
        ``nelbo``: nats per example (beta 1); with k > 1, ``iw_nll``: minus the IWAE bound."""
        k = self.config.iw_samples
        nll, log_ratio, mean, log_var = self._sampled_terms(x, k, generator)
        recon, kl = nll[0], gaussian_kl(mean, log_var)  # one sample; the closed form
        out = {"recon": recon.mean() / self.n_values, "kl": kl.mean(), "nelbo": (recon + kl).mean()}
        if k == 1:
            out["loss"] = (recon + beta * kl).mean() / self.n_values
            return out
        bound = torch.logsumexp(-nll + beta * log_ratio, dim=0) - math.log(k)  # [N]
        out["loss"] = -bound.mean() / self.n_values
        out["iw_nll"] = -(torch.logsumexp(-nll + log_ratio, dim=0) - math.log(k)).mean()
        return out

    def training_step(self, batch, optimizers, step):
        x = batch.inputs
        if self.config.binarize:
            x = torch.bernoulli(x)
        return self.minimize(self.losses(x, self.kl_weight_at(step)), optimizers["model"])

    def closed_form_step(self, optimizers, fold_sgd):
        """A dense VAE with a Bernoulli decoder: :class:`aegan.models.closed_form.VAEStep`."""
        chains = closed_form.vae_chains(self)
        return None if chains is None else closed_form.VAEStep(self, chains, optimizers["model"],
                                                               gaussian_kl)

    @torch.no_grad()
    def validation_step(self, batch):
        return self.losses(batch.inputs, self.config.kl_weight)
