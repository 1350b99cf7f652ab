"""The layers and players of progressive growing (Karras et al. 2018, "Progressive Growing of
GANs") and of StyleGAN (Karras et al. 2019, "A Style-Based Generator"; Karras et al. 2020,
"Analyzing and Improving the Image Quality of StyleGAN"), Géron 2nd ed. section 17.9, in plain
PyTorch (no custom operations), so the same code runs on a CPU and a GPU.

- equalized learning rate: weights drawn from N(0, 1 / lr_mul) and scaled at run time by
  ``lr_mul * gain / sqrt(fan_in)`` (ProGAN section 4.1), so every layer learns at the same pace;
- pixelwise feature normalisation (ProGAN 4.2);
- a generator and a discriminator that grow 4 -> 8 -> ... -> the padded side: ``level`` and the
  fade-in weight ``alpha`` are buffers, and the images always come out (and go in) at the
  data's own size: upsampled by repetition and cropped in G, padded and average-pooled in D;
- StyleGAN's generator: a mapping network z -> w (learning rate 0.01 x), a learned constant
  4x4 input, per-layer noise with learned per-channel scales, and the style applied by AdaIN
  (StyleGAN 1) or by a modulated convolution with weight demodulation (StyleGAN 2); the mean of
  w is tracked for the truncation trick;
- StyleGAN 2's architectures (section 4.1), for networks that do not grow: the "skip"
  generator, whose image is the sum of every resolution's RGB output, each upsampled
  (bilinearly) to the next, and the "resnet" discriminator, whose blocks add a 1x1 shortcut
  of the pooled input, both branches scaled by 1/sqrt(2).

In training mode each noise input draws fresh noise; in evaluation mode it uses its own
constant noise buffer (stylegan2's ``noise_mode='const'``), so a model's images are a function
of its codings alone (as export and seeded sampling need); :func:`fresh_noise` draws other
noise for the noise-variation figure.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from aegan.nets.dense import activation

SLOPE = 0.2  # LeakyReLU's negative slope throughout, as in both papers


class EqualLinear(nn.Module):
    """``[N, in] -> [N, out]`` with the equalized learning rate: weight ``~ N(0, 1 / lr_mul)``
    used as ``weight * lr_mul * gain / sqrt(in)``; bias used as ``bias * lr_mul``."""

    def __init__(self, n_in: int, n_out: int, gain: float = math.sqrt(2), lr_mul: float = 1.0,
                 bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((n_out,), bias_init / lr_mul))
        self.scale, self.lr_mul = lr_mul * gain / math.sqrt(n_in), lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class EqualConv2d(nn.Module):
    """A same-padded ``k x k`` convolution with the equalized learning rate (fan-in
    ``c_in * k * k``)."""

    def __init__(self, c_in: int, c_out: int, k: int, gain: float = math.sqrt(2),
                 bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, k, k))
        self.bias = nn.Parameter(torch.zeros(c_out)) if bias else None
        self.scale = gain / math.sqrt(c_in * k * k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.weight.shape[-1] // 2)


class PixelNorm(nn.Module):
    """Each pixel's feature vector scaled to unit mean square over the channels (dim 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class NoiseInput(nn.Module):
    """Adds ``scale[c] * noise[N, 1, H, W]``; the scales start at 0 (StyleGAN 3.2). The noise
    is fresh in training, a fixed draw (``const``) in evaluation, or drawn from ``draw`` (a
    ``torch.Generator``, set by :func:`fresh_noise`) when one is given."""

    def __init__(self, channels: int, side: int):
        super().__init__()
        self.scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("const", torch.randn(1, 1, side, side))
        self.draw: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            noise = torch.randn(len(x), 1, *x.shape[2:], device=x.device, dtype=x.dtype)
        elif self.draw is not None:
            noise = torch.randn(len(x), 1, *x.shape[2:], generator=self.draw).to(x)
        else:
            noise = self.const
        return x + self.scale * noise


@contextmanager
def fresh_noise(net: nn.Module, generator: torch.Generator):
    """Within the block, ``net`` is in evaluation mode and every noise input of it draws new
    noise from ``generator`` (StyleGAN's figure 4: the same w, other noise); both are
    restored after."""
    inputs = [m for m in net.modules() if isinstance(m, NoiseInput)]
    was = net.training
    net.eval()
    for m in inputs:
        m.draw = generator
    try:
        yield
    finally:
        for m in inputs:
            m.draw = None
        net.train(was)


class ModulatedConv2d(nn.Module):
    """StyleGAN 2's convolution: the weight scaled per input channel by the style ``s = A(w)``
    (bias 1), then (``demodulate``) each output channel's weights rescaled to unit norm, as one
    convolution: ``x [N, C_in, H, W], w [N, w_dim] -> [N, C_out, H, W]``."""

    def __init__(self, c_in: int, c_out: int, k: int, w_dim: int, demodulate: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, k, k))
        self.affine = EqualLinear(w_dim, c_in, gain=1.0, bias_init=1.0)
        self.scale, self.demodulate = 1 / math.sqrt(c_in * k * k), demodulate

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        # the same as convolving with each example's modulated weight, as StyleGAN 2's
        # non-fused path: modulate the input, convolve, demodulate the output
        style = self.affine(w)  # [N, C_in]
        weight = self.weight * self.scale  # [O, I, k, k]
        out = F.conv2d(x * style[:, :, None, None], weight, padding=weight.shape[-1] // 2)
        if self.demodulate:  # 1 / ||w'_o||, w'_oik = w_oik s_i: [N, O]
            out = out * torch.rsqrt(style.square() @ weight.square().sum(dim=(2, 3)).T
                                    + 1e-8)[:, :, None, None]
        return out


class StyleLayer(nn.Module):
    """One layer of the style synthesis network (after an optional 2x upsampling): AdaIN mode:
    conv -> noise -> bias -> LeakyReLU -> instance norm -> ``y_s * x + y_b`` from ``A(w)``;
    modulated mode: modulated conv -> noise -> bias -> LeakyReLU."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, side: int, mode: str, noise: bool,
                 up: bool):
        super().__init__()
        self.up, self.mode = up, mode
        self.conv = (ModulatedConv2d(c_in, c_out, 3, w_dim) if mode == "modulated"
                     else EqualConv2d(c_in, c_out, 3, bias=False))
        self.noise = NoiseInput(c_out, side) if noise else None
        self.bias = nn.Parameter(torch.zeros(1, c_out, 1, 1))
        self.style = EqualLinear(w_dim, 2 * c_out, gain=1.0) if mode == "adain" else None
        if self.style is not None:  # y_s starts at 1
            self.style.bias.data[:c_out] = 1.0

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = self.conv(x, w) if self.mode == "modulated" else self.conv(x)
        if self.noise is not None:
            x = self.noise(x)
        x = F.leaky_relu(x + self.bias, SLOPE) * math.sqrt(2)
        if self.style is None:
            return x
        y_s, y_b = self.style(w)[:, :, None, None].chunk(2, dim=1)  # [N, C, 1, 1] each
        return y_s * F.instance_norm(x) + y_b


def padded_side(side: int) -> int:
    """The power of two >= ``side`` and >= 4 the networks grow to (28 -> 32)."""
    return max(4, 1 << (side - 1).bit_length())


def levels_for(side: int, widths: list[int], net: str) -> int:
    levels = int(math.log2(padded_side(side))) - 1  # 4, 8, ..., padded side
    if len(widths) != levels:
        raise ValueError(f"net {net!r} grows 4 -> ... -> {padded_side(side)} for images of side "
                         f"{side}: give {levels} channel widths (one per resolution from 4x4 "
                         f"up), got {len(widths)}")
    return levels


def used_only(grows: bool, layers: list[nn.Module]) -> nn.ModuleList:
    """The per-resolution RGB layers; without growth only the last is ever used, and the
    others are left out (identities) rather than kept as weights that never learn."""
    return nn.ModuleList(layer if grows or i == len(layers) - 1 else nn.Identity()
                         for i, layer in enumerate(layers))


class Growing(nn.Module):
    """What the growing players share: the current ``level`` (resolution ``4 * 2**level``) and
    the fade-in weight ``alpha`` of its newest block, as buffers."""

    def __init__(self, side: int, levels: int):
        super().__init__()
        self.side, self.full = side, padded_side(side)
        self.register_buffer("level", torch.tensor(levels - 1))
        self.register_buffer("alpha", torch.tensor(1.0))

    def set_growth(self, level: int, alpha: float) -> None:
        self.level.fill_(level)
        self.alpha.fill_(alpha)

    def to_data_size(self, img: torch.Tensor) -> torch.Tensor:
        """``[N, C, r, r]`` -> repeated up to the padded side -> centre-cropped to the data's."""
        img = F.interpolate(img, size=(self.full, self.full), mode="nearest")
        lo = (self.full - self.side) // 2
        return img[:, :, lo:lo + self.side, lo:lo + self.side]


class Residual(nn.Module):
    """StyleGAN 2's residual discriminator block: ``(main(x) + shortcut(pool(x))) / sqrt(2)``,
    ``main`` ending in a 2x average pool and ``shortcut`` a 1x1 convolution without bias."""

    def __init__(self, main: nn.Module, c_in: int, c_out: int):
        super().__init__()
        self.main, self.shortcut = main, EqualConv2d(c_in, c_out, 1, gain=1.0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.main(x) + self.shortcut(F.avg_pool2d(x, 2))) * math.sqrt(0.5)


class ProgressiveGenerator(Growing):
    """``z [N, z_in] -> [N, C, side, side]``. ProGAN: pixel-normalised z -> dense 4x4 -> 3x3
    conv, then per level 2x up and two 3x3 convs (LeakyReLU and pixel norm after every layer);
    ``to_rgb`` 1x1 per level, the newest faded in over the previous one repeated 2x. Style
    (``mode`` 'adain' or 'modulated'): a mapping network to w, a constant input, and one w per
    layer. ``skip``: every level's ``to_rgb`` output, summed up the levels (StyleGAN 2's skip
    generator)."""

    def __init__(self, z_in: int, shape: tuple[int, ...], widths: list[int], out: str,
                 mode: str = "none", mapping_layers: int = 2, mapping_lr: float = 0.01,
                 noise: bool = True, grows: bool = True, skip: bool = False):
        c, side = shape[0], shape[-1]
        levels = levels_for(side, widths, "stylegan" if mode != "none" else "progan")
        super().__init__(side, levels)
        self.mode, self.out, self.skip = mode, activation(out), skip
        if mode == "none":
            self.input = nn.Sequential(PixelNorm(), EqualLinear(z_in, widths[0] * 16,
                                                                gain=math.sqrt(2) / 4))
            first = [nn.LeakyReLU(SLOPE), PixelNorm()]  # after the dense layer's 4x4 maps
            self.blocks = nn.ModuleList(
                nn.Sequential(*(first if i == 0 else [nn.Upsample(scale_factor=2.0),
                                                      EqualConv2d(widths[i - 1], w, 3),
                                                      nn.LeakyReLU(SLOPE), PixelNorm()]),
                              EqualConv2d(w, w, 3), nn.LeakyReLU(SLOPE), PixelNorm())
                for i, w in enumerate(widths))
            self.to_rgb = used_only(grows or skip,
                                    [EqualConv2d(w, c, 1, gain=1.0) for w in widths])
            return
        w_dim = z_in
        self.mapping = nn.Sequential(PixelNorm(), *[m for _ in range(mapping_layers) for m in (
            EqualLinear(w_dim, w_dim, lr_mul=mapping_lr), nn.LeakyReLU(SLOPE))])
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.const = nn.Parameter(torch.randn(1, widths[0], 4, 4))
        self.layers = nn.ModuleList()
        for i, w in enumerate(widths):
            c_in, up = (w, False) if i == 0 else (widths[i - 1], True)
            self.layers.append(StyleLayer(c_in, w, w_dim, 4 << i, mode, noise, up))
            if i > 0:
                self.layers.append(StyleLayer(w, w, w_dim, 4 << i, mode, noise, False))
        self.to_rgb = used_only(grows or skip, [
            ModulatedConv2d(w, c, 1, w_dim, demodulate=False) if mode == "modulated"
            else EqualConv2d(w, c, 1, gain=1.0) for w in widths])
        self.rgb_bias = nn.Parameter(torch.zeros(len(widths), c))
        self.num_ws = len(self.layers)

    def forward(self, z: torch.Tensor, psi: float = 1.0) -> torch.Tensor:
        if self.mode == "none":
            return self._grow(self.input(z).reshape(z.shape[0], -1, 4, 4), None)
        return self.synthesis(self.broadcast(self.truncate(self.mapping(z), psi)))

    # -- StyleGAN's pieces ------------------------------------------------------------------------
    def truncate(self, w: torch.Tensor, psi: float) -> torch.Tensor:
        """The truncation trick: ``w_avg + psi * (w - w_avg)``."""
        return w if psi == 1.0 else torch.lerp(self.w_avg, w, psi)

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """``[N, w_dim] -> [N, num_ws, w_dim]``: the same w for every layer."""
        return w[:, None].expand(-1, self.num_ws, -1)

    def mix(self, w1: torch.Tensor, w2: torch.Tensor, cutoff: int) -> torch.Tensor:
        """Style mixing: layers before ``cutoff`` take ``w1``, the others ``w2``."""
        use_first = (torch.arange(self.num_ws, device=w1.device) < cutoff)[None, :, None]
        return torch.where(use_first, w1[:, None], w2[:, None])

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        """``ws [N, num_ws, w_dim] -> images``."""
        return self._grow(self.const.expand(ws.shape[0], -1, -1, -1), ws)

    # -- growth -----------------------------------------------------------------------------------
    def _block(self, i: int, h: torch.Tensor, ws: torch.Tensor | None) -> torch.Tensor:
        if ws is None:
            return self.blocks[i](h)
        first = 0 if i == 0 else 2 * i - 1
        for k in range(first, 2 * i + 1):
            h = self.layers[k](h, ws[:, k])
        return h

    def _rgb(self, i: int, h: torch.Tensor, ws: torch.Tensor | None) -> torch.Tensor:
        if ws is None:
            return self.to_rgb[i](h)
        rgb = (self.to_rgb[i](h, ws[:, 2 * i]) if self.mode == "modulated"
               else self.to_rgb[i](h))
        return rgb + self.rgb_bias[i][None, :, None, None]

    def _grow(self, h: torch.Tensor, ws: torch.Tensor | None) -> torch.Tensor:
        level, alpha = int(self.level), float(self.alpha)
        if self.skip:  # no growth (the config's check): the RGB of every level, summed up
            img = None
            for i in range(level + 1):
                h = self._block(i, h, ws)
                rgb = self._rgb(i, h, ws)
                img = rgb if img is None else rgb + F.interpolate(
                    img, scale_factor=2.0, mode="bilinear", align_corners=False)
            return self.out(self.to_data_size(img))
        for i in range(level + 1):
            previous, h = h, self._block(i, h, ws)
        img = self._rgb(level, h, ws)  # [N, C, r, r]
        if level > 0 and alpha < 1.0:
            low = F.interpolate(self._rgb(level - 1, previous, ws), scale_factor=2.0)
            img = torch.lerp(low, img, alpha)
        return self.out(self.to_data_size(img))


class ProgressiveDiscriminator(Growing):
    """``[N, C, side, side] -> features [N, widths[0]]``: padded (with ``pad_value``, the
    data's background) to the full side and pooled to the current resolution; ``from_rgb`` 1x1,
    then per level two 3x3 convs and a 2x average pool down to 4x4, the newest block faded in
    over the previous ``from_rgb`` of the 2x-pooled image; a 3x3 conv and a dense layer at 4x4.
    ``resnet``: the blocks above 4x4 are :class:`Residual` (StyleGAN 2's resnet discriminator)."""

    def __init__(self, shape: tuple[int, ...], widths: list[int], pad_value: float,
                 grows: bool = True, resnet: bool = False):
        c, side = shape[0], shape[-1]
        levels = levels_for(side, widths, "progan")
        super().__init__(side, levels)
        self.pad_value = pad_value
        self.from_rgb = used_only(grows, [nn.Sequential(EqualConv2d(c, w, 1), nn.LeakyReLU(SLOPE))
                                          for w in widths])

        def block(i: int, w: int) -> nn.Module:
            if i == 0:
                return nn.Sequential(EqualConv2d(w, w, 3), nn.LeakyReLU(SLOPE), nn.Flatten(),
                                     EqualLinear(w * 16, w), nn.LeakyReLU(SLOPE))
            main = nn.Sequential(EqualConv2d(w, w, 3), nn.LeakyReLU(SLOPE),
                                 EqualConv2d(w, widths[i - 1], 3), nn.LeakyReLU(SLOPE),
                                 nn.AvgPool2d(2))
            return Residual(main, w, widths[i - 1]) if resnet else main

        self.blocks = nn.ModuleList(block(i, w) for i, w in enumerate(widths))

    def at_resolution(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, side, side] -> [N, C, r, r]``: padded, then pooled to the current side."""
        lo = (self.full - self.side) // 2
        x = F.pad(x, (lo, self.full - self.side - lo) * 2, value=self.pad_value)
        factor = self.full >> (2 + int(self.level))  # full side / current side
        return F.avg_pool2d(x, factor) if factor > 1 else x

    def fade_reals(self, x: torch.Tensor) -> torch.Tensor:
        """Real images as the generator makes them mid fade-in: the current resolution blended
        with the previous one repeated 2x, returned at the data's size."""
        level, alpha = int(self.level), float(self.alpha)
        x_r = self.at_resolution(x)
        if level > 0 and alpha < 1.0:
            x_r = torch.lerp(F.interpolate(F.avg_pool2d(x_r, 2), scale_factor=2.0), x_r, alpha)
        return self.to_data_size(x_r)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level, alpha = int(self.level), float(self.alpha)
        x_r = self.at_resolution(x)
        h = self.blocks[level](self.from_rgb[level](x_r))
        if level > 0 and alpha < 1.0:
            h = torch.lerp(self.from_rgb[level - 1](F.avg_pool2d(x_r, 2)), h, alpha)
        for i in range(level - 1, -1, -1):
            h = self.blocks[i](h)
        return h
