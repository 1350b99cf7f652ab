"""The denoising networks of diffusion models: ``(x_t [N, C, H, W], t [N], labels [N] or None)
-> [N, C, H, W]`` (the predicted noise, clean image or velocity, as the family trains it).

- :class:`UNet`: the U-Net of Ho et al. 2020 ("Denoising Diffusion Probabilistic Models",
  appendix B), after PixelCNN++ and Wide ResNets: a sinusoidal embedding of the timestep
  through a two-layer MLP, residual blocks (group norm, SiLU, 3x3 convolutions, the embedding
  added between the two convolutions, dropout before the second), self-attention at the
  sides listed, a stride-2 convolution down and nearest-neighbour upsampling with a
  convolution up, and the down path's activations concatenated into the up path. With
  ``num_classes`` > 0 a learned class embedding is added to the time embedding; index
  ``num_classes`` is the "no class" of classifier-free guidance (Ho & Salimans 2022).
- :class:`BookUNet`: the small U-Net of Géron's third edition (chapter 17, "Diffusion
  models"): the 28x28 image zero-padded to 34x34 and a 3x3 "valid" convolution to 32x32, three
  levels down of two separable convolutions with batch norm and ReLU, a 3x3 stride-2 max-pool
  and a 1x1 stride-2 residual skip; three levels up of two 3x3 transposed convolutions,
  upsampling, a 1x1 residual skip and the down path's activations concatenated; a 64-D
  sinusoidal time encoding added (through a dense layer) at every level; Keras' Glorot
  initialisation and batch-norm defaults. Other even sides are padded to a multiple of 8 the
  same way and cropped back.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from aegan.nets.layers import Dropout


def sinusoidal_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """``[N] -> [N, dim]``: ``sin(t w_k)`` then ``cos(t w_k)``, ``w_k = max_period^(-k / (dim/2))``
    for ``k < dim / 2`` (Vaswani et al. 2017, as Ho et al.'s code lays it out)."""
    half = dim // 2
    k = torch.arange(half, device=t.device, dtype=torch.float32)
    angles = t.float()[:, None] * torch.exp(-math.log(max_period) * k / half)[None]  # [N, half]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def unet_sides(side: int, levels: int) -> list[int]:
    """The sides of a U-Net's levels: 28 with 3 levels -> [28, 14, 7]; a ValueError when
    ``side`` cannot be halved ``levels - 1`` times."""
    if side % 2 ** (levels - 1):
        raise ValueError(f"a U-Net of {levels} levels halves the image side {levels - 1} times, "
                         f"and {side} cannot be; give model.channels at most "
                         f"{_halvings(side) + 1} widths for this size")
    return [side // 2 ** i for i in range(levels)]


def _halvings(side: int) -> int:
    n = 0
    while side % 2 == 0 and side > 1:
        side, n = side // 2, n + 1
    return n


def _norm(channels: int, groups: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(channels, groups), channels)


class ResBlock(nn.Module):
    """``x [N, c_in, h, w]``, ``emb [N, E]`` (already through SiLU) -> ``[N, c_out, h, w]``."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, dropout: float, groups: int):
        super().__init__()
        self.norm1, self.conv1 = _norm(c_in, groups), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = _norm(c_out, groups), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.dropout = Dropout(dropout)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    """Multi-head self-attention over the ``h * w`` positions, with a residual connection:
    ``[N, C, h, w] -> [N, C, h, w]``."""

    def __init__(self, channels: int, heads: int, groups: int):
        super().__init__()
        self.heads = heads
        self.norm = _norm(channels, groups)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        n, c, h, w = x.shape
        qkv = self.qkv(self.norm(x)).reshape(n, 3, self.heads, c // self.heads, h * w)
        q, k, v = qkv.transpose(-1, -2).unbind(1)  # each [N, heads, hw, c / heads]
        a = F.scaled_dot_product_attention(q, k, v)  # [N, heads, hw, c / heads]
        return x + self.out(a.transpose(-1, -2).reshape(n, c, h, w))


class Level(nn.Module):
    """A residual block, then self-attention when given; ``skip``: the input is the previous
    activation concatenated with one of the down path's."""

    def __init__(self, block: ResBlock, attention: SelfAttention | None, skip: bool = False):
        super().__init__()
        self.block, self.attention, self.skip = block, attention, skip

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.block(x, emb)
        return h if self.attention is None else self.attention(h)


class Down(nn.Module):
    """A 3x3 stride-2 convolution: ``[N, C, h, w] -> [N, C, h / 2, w / 2]``."""

    skip = False

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Up(nn.Module):
    """Nearest-neighbour upsampling and a 3x3 convolution: ``[N, C, h, w] -> [N, C, 2h, 2w]``."""

    skip = False

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class UNet(nn.Module):
    """Ho et al.'s U-Net for images ``[C, H, W]``: one level per width of ``channels`` (the
    side halves between levels), ``blocks`` residual blocks per level down and ``blocks + 1``
    up, self-attention (``heads`` heads) at the levels whose side is in ``attention``, a
    middle of block, attention, block. ``groups``: of each group norm (fewer where the width
    does not divide). The time embedding is ``4 * channels[0]`` wide."""

    def __init__(self, shape: tuple[int, int, int], channels: list[int], blocks: int = 2,
                 attention: tuple[int, ...] = (), dropout: float = 0.0, num_classes: int = 0,
                 heads: int = 1, groups: int = 32):
        super().__init__()
        c_img, side = shape[0], shape[1]
        sides = unet_sides(side, len(channels))
        unet_sides(shape[2], len(channels))
        self.base, emb_dim = channels[0], 4 * channels[0]
        self.time_mlp = nn.Sequential(nn.Linear(channels[0], emb_dim), nn.SiLU(),
                                      nn.Linear(emb_dim, emb_dim))
        # class num_classes: "no class" (classifier-free guidance)
        self.label_embed = nn.Embedding(num_classes + 1, emb_dim) if num_classes else None
        self.stem = nn.Conv2d(c_img, channels[0], 3, padding=1)

        def level(c_in: int, c_out: int, side: int, skip: bool = False) -> Level:
            attn = SelfAttention(c_out, heads, groups) if side in attention else None
            return Level(ResBlock(c_in, c_out, emb_dim, dropout, groups), attn, skip)

        down, widths, c = [], [channels[0]], channels[0]  # widths: of the skips, in order
        for i, (width, s) in enumerate(zip(channels, sides)):
            for _ in range(blocks):
                down.append(level(c, width, s))
                c = width
                widths.append(c)
            if i < len(channels) - 1:
                down.append(Down(c))
                widths.append(c)
        middle = [Level(ResBlock(c, c, emb_dim, dropout, groups),
                        SelfAttention(c, heads, groups) if attention else None),
                  Level(ResBlock(c, c, emb_dim, dropout, groups), None)]
        up = []
        for i, (width, s) in reversed(list(enumerate(zip(channels, sides)))):
            for _ in range(blocks + 1):
                up.append(level(c + widths.pop(), width, s, skip=True))
                c = width
            if i > 0:
                up.append(Up(c))
        self.down, self.middle, self.up = nn.ModuleList(down), nn.ModuleList(middle), nn.ModuleList(up)
        self.head = nn.Sequential(_norm(c, groups), nn.SiLU(), nn.Conv2d(c, c_img, 3, padding=1))

    def embedding(self, t: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """``[N, 4 * channels[0]]``: the time embedding plus the class's, through SiLU."""
        emb = self.time_mlp(sinusoidal_embedding(t, self.base))
        if self.label_embed is not None:
            emb = emb + self.label_embed(labels)
        return F.silu(emb)

    def forward(self, x: torch.Tensor, t: torch.Tensor,
                labels: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.embedding(t, labels)
        h = self.stem(x)
        skips = [h]
        for layer in self.down:
            h = layer(h, emb)
            skips.append(h)
        for layer in self.middle:
            h = layer(h, emb)
        for layer in self.up:
            h = layer(torch.cat([h, skips.pop()], dim=1) if layer.skip else h, emb)
        return self.head(h)


# -- the book's U-Net (third edition) ------------------------------------------------------------
def book_time_encoding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """The book's ``TimeEncoding``: ``[N] -> [N, dim]``, ``sin(t / 10000^(2k / dim))`` at even
    positions ``2k`` and the ``cos`` at odd ones ``2k + 1``."""
    k2 = 2 * torch.arange(dim // 2, device=t.device, dtype=torch.float32)
    angles = t.float()[:, None] / 10_000.0 ** (k2 / dim)[None]  # [N, dim / 2]
    return torch.stack([angles.sin(), angles.cos()], dim=2).flatten(1)  # [N, dim]


def tf_same_max_pool(x: torch.Tensor) -> torch.Tensor:
    """Keras' ``MaxPooling2D(3, strides=2, padding="same")`` on even sides: TensorFlow pads
    "same" windows at the end only (here one row and column of -inf), so window ``i`` covers
    ``2i .. 2i + 2``: ``[N, C, h, w] -> [N, C, h / 2, w / 2]``."""
    return F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=float("-inf")), 3, 2)


def _glorot_(layer: nn.Module) -> nn.Module:
    """Keras' Glorot-uniform over the receptive field, zero bias (where there is one)."""
    w = layer.weight  # Conv: [out, in / groups, k, k]; ConvTranspose: [in, out, k, k]; Linear
    receptive = w[0, 0].numel() if w.dim() > 2 else 1
    bound = math.sqrt(6.0 / ((w.shape[0] + w.shape[1]) * receptive))
    with torch.no_grad():
        w.uniform_(-bound, bound)
        if layer.bias is not None:
            layer.bias.zero_()
    return layer


def _batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)  # Keras' defaults


class SeparableConv(nn.Module):
    """Keras' ``SeparableConv2D(c_out, 3, padding="same")``: a 3x3 depthwise convolution
    (no bias), then a 1x1 convolution with a bias."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.depthwise = _glorot_(nn.Conv2d(c_in, c_in, 3, padding=1, groups=c_in, bias=False))
        self.pointwise = _glorot_(nn.Conv2d(c_in, c_out, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


def _double(conv, c_in: int, c_out: int) -> nn.Sequential:
    """ReLU, conv, BN, ReLU, conv, BN (the book's two convolutions of a level)."""
    return nn.Sequential(nn.ReLU(), conv(c_in, c_out), _batch_norm(c_out),
                         nn.ReLU(), conv(c_out, c_out), _batch_norm(c_out))


def _transposed(c_in: int, c_out: int) -> nn.Module:
    return _glorot_(nn.ConvTranspose2d(c_in, c_out, 3, padding=1))  # stride 1, "same"


class BookUNet(nn.Module):
    """The third edition's diffusion U-Net for images ``[C, H, W]`` with even sides (28x28 as
    written; others are padded to a multiple of 8 and cropped back)."""

    def __init__(self, shape: tuple[int, int, int], time_dim: int = 64, base: int = 16,
                 widths: tuple[int, ...] = (32, 64, 128)):
        super().__init__()
        c_img, h, w = shape
        if h % 2 or w % 2:
            raise ValueError(f"net 'book-unet' pads each side to a multiple of 8 evenly, and "
                             f"{h}x{w} has an odd side; use net 'unet' or images of even sides")
        self.time_dim = time_dim
        # pad to the next multiple of 8 plus 2 (the 3x3 "valid" stem takes 2 back): 28 -> 34
        self.crop = ((-h) % 8 // 2, (-w) % 8 // 2)
        self.pad = (self.crop[1] + 1, self.crop[1] + 1, self.crop[0] + 1, self.crop[0] + 1)
        self.stem = nn.Sequential(_glorot_(nn.Conv2d(c_img, base, 3)), _batch_norm(base), nn.ReLU())
        self.stem_time = _glorot_(nn.Linear(time_dim, base))
        self.down, self.down_skip, self.down_time = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        c = base
        for width in widths:
            self.down.append(_double(SeparableConv, c, width))
            self.down_skip.append(_glorot_(nn.Conv2d(c, width, 1, stride=2)))
            self.down_time.append(_glorot_(nn.Linear(time_dim, width)))
            c = width
        self.up, self.up_skip, self.up_time = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for width, cross in zip([*widths[-2::-1], base], widths[::-1]):
            self.up.append(_double(_transposed, c, width))
            self.up_skip.append(_glorot_(nn.Conv2d(c, width, 1)))
            self.up_time.append(_glorot_(nn.Linear(time_dim, width)))
            c = width + cross  # the down path's activation concatenated
        self.head = _glorot_(nn.Conv2d(c, c_img, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor,
                labels: torch.Tensor | None = None) -> torch.Tensor:
        enc = book_time_encoding(t, self.time_dim)  # [N, 64]
        z = self.stem(F.pad(x, self.pad)) + self.stem_time(enc)[:, :, None, None]
        skip, cross = z, []
        for double, link, time in zip(self.down, self.down_skip, self.down_time):
            z = double(z)
            cross.append(z)
            z = tf_same_max_pool(z) + link(skip) + time(enc)[:, :, None, None]
            skip = z
        for double, link, time in zip(self.up, self.up_skip, self.up_time):
            z = F.interpolate(double(z), scale_factor=2.0, mode="nearest")
            z = z + link(F.interpolate(skip, scale_factor=2.0, mode="nearest"))
            z = torch.cat([z + time(enc)[:, :, None, None], cross.pop()], dim=1)
            skip = z
        out = self.head(z)  # [N, C, H + 2 crop, W + 2 crop]
        (ch, cw), (h, w) = self.crop, x.shape[2:]
        return out[:, :, ch:ch + h, cw:cw + w]
