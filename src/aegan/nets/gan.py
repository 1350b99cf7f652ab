"""The two players of a GAN (Géron, 2nd ed., section 17.9; Goodfellow et al. 2014), as plain
modules: a generator ``z [N, z_dim] (+ labels [N]) -> images [N, *shape]`` and a discriminator
``images [N, *shape] (+ labels [N]) -> logits [N]`` (no sigmoid: the losses take logits).

- the book's dense GAN: G Dense(100, selu) -> Dense(150, selu) -> Dense(784, sigmoid);
  D Dense(150, selu) -> Dense(100, selu) -> Dense(1);
- the book's DCGAN (28x28): G Dense(7*7*128) -> BN -> ConvT(64, 5, s2, selu) -> BN ->
  ConvT(C, 5, s2, tanh); D Conv(64, 5, s2, LeakyReLU 0.2) -> Dropout(0.4) -> Conv(128, 5, s2,
  LeakyReLU 0.2) -> Dropout(0.4) -> Dense(1);
- a general DCGAN for square images of any size and channel count (Radford et al. 2016's
  guidelines: strided convolutions, batch norm except at G's output and D's input, ReLU and
  tanh in G, LeakyReLU in D), 4x4 kernels of stride 2 that exactly double or halve a side.

Options: spectral normalization of D's layers (Miyato et al. 2018), a minibatch standard
deviation feature (Karras et al. 2018, section 3, taken over the whole batch and averaged into
one extra feature), and class conditioning: a one-hot label concatenated to G's codings, and
a projection of D's features on a learned class embedding (Miyato & Koyama 2018).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from aegan.nets.conv import init_conv_
from aegan.nets.dense import activation, init_linear_
from aegan.nets.layers import Dropout


class Generator(nn.Module):
    """``body`` fed with the codings, and with the one-hot label concatenated when
    ``num_classes`` > 0: ``[N, z_dim] (+ [N]) -> [N, *shape]``."""

    def __init__(self, body: nn.Module, num_classes: int = 0):
        super().__init__()
        self.body = body
        self.num_classes = num_classes

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat([z, F.one_hot(labels, self.num_classes).to(z.dtype)], dim=1)
        return self.body(z)


class MinibatchStd(nn.Module):
    """Appends one feature to ``[N, F]``: the standard deviation of each feature over the batch,
    averaged over the features (Karras et al. 2018): ``[N, F] -> [N, F + 1]``. A generator that
    collapses to one mode makes it small, which the discriminator can see."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        std = h.std(dim=0, unbiased=False).mean()  # [] over the batch, then the features
        return torch.cat([h, std.expand(len(h), 1)], dim=1)


class Discriminator(nn.Module):
    """``features [N, *shape] -> [N, F]``, then a linear head to one logit per example; with
    ``num_classes`` > 0 the projection ``<embed(y), h>`` is added to the logit."""

    def __init__(self, features: nn.Module, n_features: int, num_classes: int = 0,
                 minibatch_std: bool = False):
        super().__init__()
        self.features = features
        self.minibatch_std = MinibatchStd() if minibatch_std else None
        n_features += 1 if minibatch_std else 0
        self.head = nn.Linear(n_features, 1)
        self.embed = nn.Embedding(num_classes, n_features) if num_classes else None
        if self.embed is not None:  # small, as the other weights: N(0, 1) would drown the head
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)  # [N, F]
        if self.minibatch_std is not None:
            h = self.minibatch_std(h)
        out = self.head(h).squeeze(1)  # [N]
        if self.embed is not None:
            out = out + (self.embed(labels) * h).sum(dim=1)
        return out


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalization (one power iteration per training forward) on every linear,
    convolution and embedding weight of ``module``, in place."""
    for child in list(module.modules()):
        if isinstance(child, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)):
            spectral_norm(child)
    return module


def _normal_init_(module: nn.Module, std: float = 0.02) -> None:
    """Radford et al.'s initialization: weights ~ N(0, 0.02), biases 0, BN scales ~ N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def _glorot(layer: nn.Module) -> nn.Module:
    (init_linear_(layer, "glorot_uniform") if isinstance(layer, nn.Linear)
     else init_conv_(layer, "glorot_uniform"))
    return layer


# -- the book's dense GAN ---------------------------------------------------------------------
def dense_players(shape: tuple[int, ...], z_in: int, out: str,
                  hidden: tuple[int, int] = (100, 150)) -> tuple[nn.Module, nn.Module, int]:
    """The book's dense generator body ``[N, z_in] -> [N, *shape]`` and discriminator features
    ``[N, *shape] -> [N, hidden[0]]``, Glorot-uniform as Keras starts them."""
    n = math.prod(shape)
    g = nn.Sequential(_glorot(nn.Linear(z_in, hidden[0])), nn.SELU(),
                      _glorot(nn.Linear(hidden[0], hidden[1])), nn.SELU(),
                      _glorot(nn.Linear(hidden[1], n)), activation(out), nn.Unflatten(1, shape))
    d = nn.Sequential(nn.Flatten(), _glorot(nn.Linear(n, hidden[1])), nn.SELU(),
                      _glorot(nn.Linear(hidden[1], hidden[0])), nn.SELU())
    return g, d, hidden[0]


# -- the book's DCGAN -------------------------------------------------------------------------
def book_dcgan_players(shape: tuple[int, ...], z_in: int,
                       out: str) -> tuple[nn.Module, nn.Module, int]:
    """The book's DCGAN for 28x28 images: 5x5 kernels, Keras' "same" padding at stride 2."""
    c = shape[0]
    if tuple(shape[1:]) != (28, 28):
        raise ValueError(f"net 'book-dcgan' is the book's network for 28x28 images, and these "
                         f"images are {shape[1]}x{shape[2]}; use net 'dcgan', which takes any "
                         "square size")
    g = nn.Sequential(
        _glorot(nn.Linear(z_in, 7 * 7 * 128)), nn.Unflatten(1, (128, 7, 7)),  # [N, 128, 7, 7]
        nn.BatchNorm2d(128, eps=1e-3, momentum=0.01),  # Keras' BN defaults
        _glorot(nn.ConvTranspose2d(128, 64, 5, 2, padding=2, output_padding=1)), nn.SELU(),
        nn.BatchNorm2d(64, eps=1e-3, momentum=0.01),  # [N, 64, 14, 14]
        _glorot(nn.ConvTranspose2d(64, c, 5, 2, padding=2, output_padding=1)),
        activation(out))  # [N, C, 28, 28]
    d = nn.Sequential(
        _glorot(nn.Conv2d(c, 64, 5, 2, padding=2)), nn.LeakyReLU(0.2), Dropout(0.4),
        _glorot(nn.Conv2d(64, 128, 5, 2, padding=2)), nn.LeakyReLU(0.2), Dropout(0.4),
        nn.Flatten())  # [N, 128 * 7 * 7]
    return g, d, 128 * 7 * 7


# -- a general DCGAN --------------------------------------------------------------------------
def dcgan_sizes(side: int, levels: int) -> list[int]:
    """The sides of the feature maps, from the image's down: 28, 2 levels -> [28, 14, 7]."""
    if levels < 1 or side % 2 ** levels:
        raise ValueError(f"net 'dcgan' halves the image side once per layer, and {side} cannot "
                         f"be halved {levels} times; give as many channel widths as {side} "
                         "can be halved (28: 2, 32: 3 or 4)")
    return [side // 2 ** i for i in range(levels + 1)]


def dcgan_players(shape: tuple[int, ...], z_in: int, out: str, g_channels: list[int],
                  d_channels: list[int], d_batch_norm: bool) -> tuple[nn.Module, nn.Module, int]:
    """A DCGAN for square images ``[C, S, S]``. G: Linear to ``g_channels[0]`` maps of side
    ``S / 2**len(g_channels)``, then a stride-2 transposed convolution per width (BN, ReLU),
    the last to ``C`` channels and ``out``. D: a stride-2 convolution per width of
    ``d_channels`` (LeakyReLU 0.2; BN after all but the first when ``d_batch_norm``)."""
    c, h, w = shape
    if h != w:
        raise ValueError(f"net 'dcgan' needs square images, and these are {h}x{w}")
    g_sizes, d_sizes = dcgan_sizes(h, len(g_channels)), dcgan_sizes(h, len(d_channels))
    s, widths = g_sizes[-1], [*g_channels, c]
    g_layers: list[nn.Module] = [nn.Linear(z_in, widths[0] * s * s, bias=False),
                                 nn.Unflatten(1, (widths[0], s, s)),  # [N, C0, s, s]
                                 nn.BatchNorm2d(widths[0]), nn.ReLU()]
    for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:])):
        last = i == len(widths) - 2
        g_layers.append(nn.ConvTranspose2d(c_in, c_out, 4, 2, padding=1, bias=last))  # 2x side
        g_layers += [activation(out)] if last else [nn.BatchNorm2d(c_out), nn.ReLU()]
    d_layers: list[nn.Module] = []
    for i, (c_in, c_out) in enumerate(zip([c, *d_channels[:-1]], d_channels)):
        norm = d_batch_norm and i > 0
        d_layers.append(nn.Conv2d(c_in, c_out, 4, 2, padding=1, bias=not norm))  # side / 2
        d_layers += [nn.BatchNorm2d(c_out)] if norm else []
        d_layers.append(nn.LeakyReLU(0.2))
    d_layers.append(nn.Flatten())
    g, d = nn.Sequential(*g_layers), nn.Sequential(*d_layers)
    _normal_init_(g)
    _normal_init_(d)
    return g, d, d_channels[-1] * d_sizes[-1] ** 2
