"""Networks of image-to-image translation, fully convolutional, as plain modules:

- :class:`UNet` (Ronneberger et al. 2015; the generator of pix2pix, Isola et al. 2017, section
  3.2.1 and appendix 6.1.1): an encoder of 4x4 stride-2 convolutions (LeakyReLU 0.2, batch norm
  but on the first and the innermost level), a mirrored decoder (ReLU, batch norm), and a skip
  connection from every encoder level to the decoder level of the same size. Dropout on the
  innermost decoder levels is its only source of noise, as pix2pix's. The number of levels
  comes from the image size: as many halvings as the side allows, up to pix2pix's 8 (256 px
  down to 1 px). Upsampling is a 4x4 stride-2 transposed convolution, or a nearest-neighbour
  resize followed by a 3x3 convolution, which cannot leave checkerboard artefacts (Odena,
  Dumoulin & Olah 2016). ``[N, C_in, H, W] -> [N, C_out, H, W]``, for sides that are multiples
  of ``2**depth``.
- :class:`SRResNet` (Ledig et al. 2017, SRGAN's generator, figure 4): a 9x9 convolution, residual
  blocks (conv-BN-PReLU-conv-BN plus the identity), a long skip connection, then one sub-pixel
  convolution per doubling (a convolution to 4x the channels and a pixel shuffle, Shi et al.
  2016) and a 9x9 convolution out. ``[N, C_in, H, W] -> [N, C_out, k H, k W]`` for any size.
- :class:`PatchGAN` (pix2pix's discriminator, section 3.2.2): 4x4 convolutions, ``layers`` of
  stride 2 then two of stride 1, one logit per patch ``[N, 1, h, w]``. Three stride-2 layers
  see 70x70 patches; :func:`patch_layers` scales that to the image: the number of layers whose
  receptive field is closest to 70/256 of the side.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from aegan.nets.dense import activation
from aegan.nets.layers import Dropout

MAX_DEPTH = 8  # pix2pix's U-Net-256: 256 px down to 1 px
PATCH_SHARE = 70 / 256  # pix2pix's 70x70 receptive field on 256 px images
UPSAMPLING = ("transpose", "resize")
NORMS = ("batch", "instance", "none")


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.Identity()


def _init_(module: nn.Module) -> nn.Module:
    """pix2pix's initialization: convolution weights ~ N(0, 0.02), biases 0, norm scales
    ~ N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


# -- sizes -----------------------------------------------------------------------------------
def halvings(side: int, most: int = MAX_DEPTH) -> int:
    """How many times ``side`` halves exactly, at most ``most``: 28 -> 2, 64 -> 6, 256 -> 8."""
    count = 0
    while count < most and side % 2 == 0 and side > 1:
        side //= 2
        count += 1
    return count


def nearest_multiples(side: int, step: int) -> list[int]:
    """The multiples of ``step`` nearest to ``side`` (one or two, positive)."""
    below, above = (side // step) * step, -(-side // step) * step
    return sorted({s for s in (below, above) if s > 0}) or [step]


def size_problem(size: tuple[int, int], step: int, what: str) -> str | None:
    """None when both sides of ``size`` (H, W) are multiples of ``step``; else a sentence that
    names the nearest sizes that are."""
    if all(s % step == 0 for s in size):
        return None
    heights = nearest_multiples(size[0], step)
    widths = nearest_multiples(size[1], step)
    pairs = ([(s, s) for s in heights] if size[0] == size[1]  # a square stays square
             else [(h, w) for h in heights for w in widths])
    nearest = " or ".join(f"{h}x{w}" for h, w in pairs)
    return (f"{what} takes sides that are multiples of {step}, and this image is "
            f"{size[0]}x{size[1]} (height x width); the nearest sizes it takes are {nearest}")


# -- the U-Net -------------------------------------------------------------------------------
def unet_widths(depth: int, base: int, most: int) -> list[int]:
    """Channels of each encoder level: ``base`` doubling up to ``most`` (pix2pix: 64, 128,
    256, 512, 512, ...)."""
    return [min(base * 2 ** i, most) for i in range(depth)]


def _up(c_in: int, c_out: int, mode: str, bias: bool) -> nn.Module:
    """Doubles the side: a 4x4 stride-2 transposed convolution, or a nearest-neighbour resize
    and a 3x3 convolution."""
    if mode == "transpose":
        return nn.ConvTranspose2d(c_in, c_out, 4, 2, padding=1, bias=bias)
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias))


class UNet(nn.Module):
    """``[N, in_channels, H, W] -> [N, out_channels, H, W]`` with H and W multiples of
    ``2**depth``. ``dropout`` on the ``dropout_levels`` innermost decoder levels (pix2pix: 0.5
    on three); ``output`` the last activation (``tanh``, ``sigmoid`` or ``linear``)."""

    def __init__(self, in_channels: int, out_channels: int, depth: int, base: int = 64,
                 most: int = 512, dropout: float = 0.5, dropout_levels: int = 3,
                 upsample: str = "transpose", norm: str = "batch", output: str = "tanh"):
        super().__init__()
        if depth < 1:
            raise ValueError("a U-Net needs at least one level")
        self.depth = depth
        widths = unet_widths(depth, base, most)
        self.down = nn.ModuleList()
        for i, (c_in, c_out) in enumerate(zip([in_channels, *widths[:-1]], widths)):
            normed = 0 < i < depth - 1  # none on the first level, none at the 1-px bottleneck
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2)]
            layers += [nn.Conv2d(c_in, c_out, 4, 2, padding=1, bias=not normed)]
            layers += [_norm(norm, c_out)] if normed else []
            self.down.append(nn.Sequential(*layers))
        self.up = nn.ModuleList()
        for i in reversed(range(depth)):  # from the innermost level out
            c_in = widths[i] * (1 if i == depth - 1 else 2)  # the level below and its skip
            last = i == 0
            c_out = out_channels if last else widths[i - 1]
            layers = [nn.ReLU(), _up(c_in, c_out, upsample, bias=last or norm == "none")]
            if last:
                layers.append(activation(output))
            else:
                layers.append(_norm(norm, c_out))
                if depth - 1 - i < dropout_levels and dropout > 0:
                    layers.append(Dropout(dropout))
            self.up.append(nn.Sequential(*layers))
        _init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for level in self.down:
            x = level(x)
            skips.append(x)
        x = self.up[0](skips.pop())
        for level in self.up[1:]:
            x = level(torch.cat([x, skips.pop()], dim=1))  # [N, 2C, h, w]
        return x


# -- SRGAN's residual generator --------------------------------------------------------------
class ResidualBlock(nn.Module):
    """``x + BN(conv(PReLU(BN(conv(x)))))`` at constant width (SRGAN, figure 4)."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width),
                                  nn.PReLU(width), nn.Conv2d(width, width, 3, padding=1),
                                  nn.BatchNorm2d(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """``[N, in_channels, H, W] -> [N, out_channels, factor H, factor W]``, ``factor`` a power
    of two (one sub-pixel convolution per doubling)."""

    def __init__(self, in_channels: int, out_channels: int, factor: int, width: int = 64,
                 blocks: int = 16, output: str = "tanh"):
        super().__init__()
        if factor < 2 or factor & (factor - 1):
            raise ValueError(f"the residual generator upsamples by powers of two, not {factor}")
        self.factor = factor
        self.head = nn.Sequential(nn.Conv2d(in_channels, width, 9, padding=4), nn.PReLU(width))
        self.trunk = nn.Sequential(*[ResidualBlock(width) for _ in range(blocks)],
                                   nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width))
        ups: list[nn.Module] = []
        for _ in range(int(math.log2(factor))):
            ups += [nn.Conv2d(width, 4 * width, 3, padding=1), nn.PixelShuffle(2),  # 2x side
                    nn.PReLU(width)]
        self.tail = nn.Sequential(*ups, nn.Conv2d(width, out_channels, 9, padding=4),
                                  activation(output))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        return self.tail(h + self.trunk(h))  # the long skip connection


# -- the PatchGAN discriminator --------------------------------------------------------------
def receptive_field(layers: int) -> int:
    """The side of the patch one logit of a PatchGAN with ``layers`` stride-2 layers sees
    (4x4 kernels; two stride-1 layers at the end): 0 -> 7, 1 -> 16, 2 -> 34, 3 -> 70."""
    field = 7  # the two stride-1 4x4 layers
    for _ in range(layers):
        field = 2 * field + 2
    return field


def patch_layers(side: int) -> int:
    """The stride-2 layers whose receptive field is nearest (in ratio) to pix2pix's 70/256 of
    ``side``: 256 -> 3, 64 -> 1, 28 -> 0."""
    target = PATCH_SHARE * side
    return min(range(6), key=lambda n: abs(math.log(receptive_field(n) / target)))


class PatchGAN(nn.Module):
    """``[N, in_channels, H, W] -> [N, 1, h, w]`` logits, one per patch. ``features(x)`` also
    returns each layer's activations (for a feature-matching loss)."""

    def __init__(self, in_channels: int, layers: int, base: int = 64, most: int = 512,
                 norm: str = "batch"):
        super().__init__()
        widths = [min(base * 2 ** i, most) for i in range(layers + 1)]
        blocks: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip([in_channels, *widths[:-1]], widths)):
            stride = 2 if i < layers else 1
            normed = i > 0 and norm != "none"
            blocks.append(nn.Sequential(
                nn.Conv2d(c_in, c_out, 4, stride, padding=1, bias=not normed),
                *([_norm(norm, c_out)] if normed else []), nn.LeakyReLU(0.2)))
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Conv2d(widths[-1], 1, 4, 1, padding=1)
        _init_(self)

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        found = []
        for block in self.blocks:
            x = block(x)
            found.append(x)
        return self.head(x), found

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[0]


def patch_map_side(side: int, layers: int) -> int:
    """The side of the logit map of a PatchGAN with ``layers`` stride-2 layers on ``side``."""
    for _ in range(layers):
        side = side // 2  # 4x4, stride 2, padding 1
    return side - 2  # two 4x4 stride-1 layers, padding 1: one pixel less each
