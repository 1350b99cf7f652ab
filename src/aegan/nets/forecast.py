"""Networks that forecast frames: a ConvLSTM stack (Shi et al. 2015) and a SimVP-style
convolutional forecaster (Gao et al. 2022; Tan et al. 2023). Both map context frames
``[N, T_in, C, H, W]`` to the next ``[N, steps, C, H, W]``: in [0, 1] by a sigmoid (readout
``sigmoid``), or by a plain linear readout (``linear``, SimVP's and OpenSTL's) that the
forecaster clips to [0, 1] when it predicts. A sigmoid never gives exactly 0, which an empty
background is; a clipped linear readout gives it wherever it overshoots below 0.

- :class:`ConvLSTMCell`: Shi et al.'s cell, one convolution of ``[x, h]`` giving the input,
  forget and output gates and the candidate, ``c' = f * c + i * g``, ``h' = o * tanh(c')``
  (without the peephole terms of the paper, as Keras' ``ConvLSTM2D`` and OpenSTL's ConvLSTM).
- :class:`ConvLSTMNet`: frames cut into ``patch`` x ``patch`` blocks stacked on channels (space
  to depth, as OpenSTL runs ConvLSTM on Moving MNIST), a stack of cells that reads the context
  (encoding) and then reads its own last prediction (forecasting) for any number of steps.
- :class:`SimVPNet`: a per-frame convolutional encoder (``n_s`` layers, every second one
  from the first halving the side), a temporal translator of ConvNeXt-style blocks (Liu et al.
  2022; one of the translators OpenSTL's SimVP offers) over the context's features stacked on
  channels, and a per-frame decoder that mirrors the encoder, whose last layer also reads the
  last context frame (a skip connection; SimVP's reads the encoder's first features, which at
  full resolution cost most of a CPU step). It predicts the ``horizon`` frames it was built
  for at once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

READOUTS = {"sigmoid": nn.Sigmoid, "linear": nn.Identity}  # the last layer's activation


class ConvLSTMCell(nn.Module):
    """``(x [N, C_in, H, W], (h, c) [N, C_h, H, W] each) -> (h', c')``."""

    def __init__(self, in_channels: int, hidden: int, kernel: int = 5):
        super().__init__()
        self.hidden = hidden
        self.conv = nn.Conv2d(in_channels + hidden, 4 * hidden, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        h, c = state
        i, f, o, g = self.conv(torch.cat([x, h], dim=1)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


class ConvLSTMNet(nn.Module):
    """A stack of ConvLSTM cells on ``patch``-blocked frames of ``channels`` channels."""

    def __init__(self, channels: int, hidden: list[int], kernel: int = 5, patch: int = 4,
                 readout: str = "sigmoid"):
        super().__init__()
        self.patch, self.readout = patch, READOUTS[readout]()
        width = channels * patch * patch
        self.cells = nn.ModuleList(ConvLSTMCell(c_in, c_out, kernel)
                                   for c_in, c_out in zip([width, *hidden[:-1]], hidden))
        self.head = nn.Conv2d(hidden[-1], width, 1)

    def _step(self, frame: torch.Tensor, states: list) -> torch.Tensor:
        x = F.pixel_unshuffle(frame, self.patch)  # [N, C p^2, H / p, W / p]
        for k, cell in enumerate(self.cells):
            if states[k] is None:
                # zeros of the batch's size, read from x (an export keeps the batch dynamic)
                zeros = torch.zeros_like(x[:, :1]).expand(-1, cell.hidden, -1, -1)
                states[k] = (zeros, zeros)
            states[k] = cell(x, states[k])
            x = states[k][0]
        return self.readout(F.pixel_shuffle(self.head(x), self.patch))

    def forward(self, context: torch.Tensor, steps: int, truth: torch.Tensor | None = None,
                p_true: float = 0.0) -> torch.Tensor:
        """Read ``context`` ``[N, T, C, H, W]``, then predict ``steps`` frames, each read back
        as the next input; with ``truth`` ``[N, >= steps - 1, C, H, W]`` (scheduled sampling,
        Bengio et al. 2015) each sequence reads the true frame instead with probability
        ``p_true``, drawn per sequence and step."""
        states: list = [None] * len(self.cells)
        for t in range(context.shape[1]):
            frame = self._step(context[:, t], states)
        frames = [frame]
        for t in range(steps - 1):
            given = frames[-1]
            if truth is not None and p_true > 0:
                take = torch.rand(len(given), 1, 1, 1, device=given.device) < p_true
                given = torch.where(take, truth[:, t], given)
            frames.append(self._step(given, states))
        return torch.stack(frames, dim=1)


def _conv(c_in: int, c_out: int, stride: int = 1, up: bool = False) -> nn.Sequential:
    """A 3x3 convolution (halving the side with ``stride`` 2, doubling it with ``up``: a
    convolution to 4x the channels and a pixel shuffle), group norm and SiLU."""
    layers: list[nn.Module] = ([nn.Conv2d(c_in, 4 * c_out, 3, padding=1), nn.PixelShuffle(2)]
                               if up else [nn.Conv2d(c_in, c_out, 3, stride, padding=1)])
    return nn.Sequential(*layers, nn.GroupNorm(2 if c_out % 2 == 0 else 1, c_out), nn.SiLU())


class ConvNeXtBlock(nn.Module):
    """``x + MLP(norm(depthwise 7x7 conv(x)))`` (Liu et al. 2022), shape-preserving."""

    def __init__(self, channels: int, expansion: int = 4):
        super().__init__()
        self.depthwise = nn.Conv2d(channels, channels, 7, padding=3, groups=channels)
        self.norm = nn.GroupNorm(1, channels)
        self.mlp = nn.Sequential(nn.Conv2d(channels, expansion * channels, 1), nn.GELU(),
                                 nn.Conv2d(expansion * channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mlp(self.norm(self.depthwise(x)))


class SimVPNet(nn.Module):
    """Encoder, temporal translator, decoder: ``[N, context, C, H, W] -> [N, horizon, C, H, W]``
    (``H`` and ``W`` divisible by ``2 ** ceil(n_s / 2)``)."""

    def __init__(self, channels: int, context: int, horizon: int, hid_s: int = 16,
                 hid_t: int = 128, n_s: int = 4, n_t: int = 4, readout: str = "sigmoid"):
        super().__init__()
        self.context, self.horizon, self.hid_s = context, horizon, hid_s
        self.readout = READOUTS[readout]()
        strides = [1 if i % 2 else 2 for i in range(n_s)]
        self.encoder = nn.ModuleList(_conv(channels if i == 0 else hid_s, hid_s, s)
                                     for i, s in enumerate(strides))
        self.translator = nn.Sequential(nn.Conv2d(context * hid_s, hid_t, 1),
                                        *[ConvNeXtBlock(hid_t) for _ in range(n_t)],
                                        nn.Conv2d(hid_t, horizon * hid_s, 1))
        self.decoder = nn.ModuleList(_conv(hid_s, hid_s, up=s == 2) for s in reversed(strides))
        self.out = nn.Conv2d(hid_s + channels, channels, 3, padding=1)  # [decoded, last frame]

    def forward(self, context: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        n, t, c, h, w = context.shape
        x = context.reshape(n * t, c, h, w)
        for layer in self.encoder:
            x = layer(x)
        z = self.translator(x.reshape(n, t * self.hid_s, *x.shape[-2:]))
        y = z.reshape(n * self.horizon, self.hid_s, *z.shape[-2:])
        for layer in self.decoder:
            y = layer(y)
        skip = context[:, -1].repeat_interleave(self.horizon, dim=0)  # [N T_out, C, H, W]
        y = self.readout(self.out(torch.cat([y, skip], dim=1)))
        return y.reshape(n, self.horizon, c, h, w)
