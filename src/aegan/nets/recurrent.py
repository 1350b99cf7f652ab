"""Recurrent stacks for sequences (book 17.5, "recurrent autoencoders"): LSTMs read a sequence
``[N, T, F]`` into one vector; the decoder repeats the vector T times and unrolls LSTMs with a
per-step dense output. Images are read as sequences of rows.
"""

from __future__ import annotations

import torch
from torch import nn


def init_lstm_(lstm: nn.LSTM, scheme: str) -> None:
    """Keras' LSTM start: Glorot-uniform input weights, orthogonal recurrent weights, zero
    biases except the forget gate's at 1 (``unit_forget_bias``)."""
    if scheme == "torch":
        return
    for name, param in lstm.named_parameters():
        with torch.no_grad():
            if name.startswith("weight_ih"):
                nn.init.xavier_uniform_(param)
            elif name.startswith("weight_hh"):
                nn.init.orthogonal_(param)
            else:
                param.zero_()
                if name.startswith("bias_ih"):
                    h = param.shape[0] // 4
                    param[h:2 * h] = 1.0  # PyTorch gate order: input, forget, cell, output


class SequenceEncoder(nn.Module):
    """Stacked LSTMs; returns the last layer's final hidden state ``[N, sizes[-1]]``."""

    def __init__(self, n_features: int, sizes: list[int], init: str):
        super().__init__()
        self.lstms = nn.ModuleList(nn.LSTM(n_in, n_out, batch_first=True)
                                   for n_in, n_out in zip([n_features, *sizes[:-1]], sizes))
        for lstm in self.lstms:
            init_lstm_(lstm, init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], x.shape[-2], x.shape[-1])  # [N, 1, T, F] images -> [N, T, F]
        for lstm in self.lstms:
            x, (h, _) = lstm(x)
        return h[-1]


class SequenceDecoder(nn.Module):
    """Repeat codings ``[N, Z]`` over ``steps``, stacked LSTMs, then a dense layer per step:
    ``[N, Z] -> [N, *out_shape]`` (logits)."""

    def __init__(self, z_dim: int, sizes: list[int], steps: int, n_features: int,
                 out_shape: tuple[int, ...], init: str):
        super().__init__()
        self.steps, self.out_shape = steps, tuple(out_shape)
        self.lstms = nn.ModuleList(nn.LSTM(n_in, n_out, batch_first=True)
                                   for n_in, n_out in zip([z_dim, *sizes[:-1]], sizes))
        for lstm in self.lstms:
            init_lstm_(lstm, init)
        self.out = nn.Linear(sizes[-1], n_features)
        if init != "torch":
            nn.init.xavier_uniform_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z.unsqueeze(1).expand(-1, self.steps, -1)  # [N, T, Z]
        for lstm in self.lstms:
            x, _ = lstm(x)
        return self.out(x).reshape(z.shape[0], *self.out_shape)
