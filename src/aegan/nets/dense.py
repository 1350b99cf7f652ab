"""Dense (fully connected) stacks: plain modules from tensors to tensors.

Weights start as Keras does (Glorot-uniform, zero biases) unless told otherwise, so the book's
models start where the book's do.
"""

from __future__ import annotations

import math

import torch
from torch import nn

ACTIVATIONS = {
    "linear": nn.Identity,
    "relu": nn.ReLU,
    "selu": nn.SELU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
}
INITS = ("glorot_uniform", "lecun_normal", "torch")


def activation(name: str) -> nn.Module:
    return ACTIVATIONS[name]()


def init_linear_(layer: nn.Linear, scheme: str) -> None:
    """Initialise one layer in place: ``glorot_uniform`` (Keras), ``lecun_normal`` or ``torch``."""
    if scheme == "torch":
        return
    fan_out, fan_in = layer.weight.shape
    with torch.no_grad():
        if scheme == "glorot_uniform":
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            layer.weight.uniform_(-bound, bound)
        elif scheme == "lecun_normal":
            layer.weight.normal_(0.0, 1.0 / math.sqrt(fan_in))
        else:
            raise ValueError(f"unknown init {scheme!r}; choose one of {', '.join(INITS)}")
        if layer.bias is not None:
            layer.bias.zero_()


def dense_stack(sizes: list[int], hidden: str, last: str, init: str = "glorot_uniform") -> nn.Sequential:
    """``sizes[0] -> sizes[1] -> … -> sizes[-1]``: Linear layers, ``hidden`` activation between
    them and ``last`` after the final one. ``[N, sizes[0]] -> [N, sizes[-1]]``."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(n_in, n_out)
        init_linear_(linear, init)
        layers.append(linear)
        act = last if i == len(sizes) - 2 else hidden
        if act != "linear":
            layers.append(activation(act))
    return nn.Sequential(*layers)
