"""Convolutional stacks for images (book 17.5): 3x3 "same" convolutions each followed by 2x2
max-pooling down, and stride-2 transposed convolutions back up to the exact input size.
``[N, C, H, W] -> [N, channels[-1], H', W']`` and back.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from aegan.nets.dense import activation


def init_conv_(layer: nn.Module, scheme: str) -> None:
    """Keras' Glorot-uniform over the receptive field (fan = k*k*channels), zero bias."""
    if scheme == "torch":
        return
    w = layer.weight  # Conv: [out, in, k, k]; ConvTranspose: [in, out, k, k]
    receptive = w[0, 0].numel()
    fan_in, fan_out = w.shape[1] * receptive, w.shape[0] * receptive
    with torch.no_grad():
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        w.uniform_(-bound, bound)
        layer.bias.zero_()


def pooled_sizes(size: int, levels: int) -> list[int]:
    """Spatial sizes after each 2x2 max-pool (floor): 28 -> [28, 14, 7, 3]."""
    sizes = [size]
    for _ in range(levels):
        sizes.append(sizes[-1] // 2)
    return sizes


def conv_encoder(in_channels: int, channels: list[int], act: str, init: str,
                 kernel_size: int = 3) -> nn.Sequential:
    layers: list[nn.Module] = []
    for c_in, c_out in zip([in_channels, *channels[:-1]], channels):
        conv = nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2)
        init_conv_(conv, init)
        layers += [conv, activation(act), nn.MaxPool2d(2)]
    return nn.Sequential(*layers)


def _up(c_in: int, c_out: int, size_in: int, size_out: int) -> nn.ConvTranspose2d:
    """A 3x3 stride-2 transposed convolution from ``size_in`` to ``size_out`` (2x or 2x+1)."""
    if size_out == 2 * size_in + 1:  # Keras' "valid"
        return nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=0)
    if size_out == 2 * size_in:  # Keras' "same"
        return nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1)
    raise ValueError(f"cannot upsample {size_in} to {size_out} with a stride-2 3x3 kernel")


def conv_decoder(channels: list[int], out_channels: int, image_size: tuple[int, int], act: str,
                 init: str) -> nn.Sequential:
    """Transposed convolutions through ``channels`` to ``out_channels`` (logits, no activation
    on the last layer) and exactly ``image_size``."""
    levels = len(channels)  # one upsampling per pooling of the encoder
    hs, ws = pooled_sizes(image_size[0], levels), pooled_sizes(image_size[1], levels)
    if hs[-1] < 1 or ws[-1] < 1:
        raise ValueError(f"{levels} poolings shrink a {image_size} image to nothing")
    widths = [*channels, out_channels]
    layers: list[nn.Module] = []
    for i in range(levels):
        if hs[levels - i - 1] != ws[levels - i - 1] or hs[levels - i] != ws[levels - i]:
            raise ValueError("the convolutional decoder needs square images")
        up = _up(widths[i], widths[i + 1], hs[levels - i], hs[levels - i - 1])
        init_conv_(up, init)
        layers.append(up)
        if i < levels - 1:
            layers.append(activation(act))
    return nn.Sequential(*layers)
