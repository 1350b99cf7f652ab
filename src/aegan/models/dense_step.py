"""A hand-derived training step for dense autoencoders (``train.hand_backward``; the Trainer
asks for it through :meth:`aegan.models.base.Model.closed_form_step` on the CPU).

A dense autoencoder is a chain ``[Flatten] (Linear [activation])+ [Unflatten]`` trained on the
mean binary cross-entropy of its logits or the mean squared error of its output. For such a
chain the gradients have a short closed form, so this step computes them directly under
``torch.no_grad()``: the forward pass keeps each layer's input and output, then, from the
output back, ``dW = g^T h``, ``db = sum(g)``, ``g <- (g W) * act'`` with PyTorch's own
activation-backward kernels. The gradients go into ``p.grad`` and the model's own optimizer
steps as usual (any optimizer; the ``torchrun`` gradient averaging hooks ``optimizer.step``
and so works unchanged).

Why: on a CPU the book's models are bound by per-operation overhead, and autograd's graph,
its transposed-weight products and ``zero_grad`` cost about a third of a ``book/stacked``
step (benchmarks/RESULTS.md). The result is the autograd step's up to floating-point
rounding (``tests/test_fast_paths.py`` compares gradients and trained weights).

Any other model, or an option this chain does not cover (noise, dropout, sparsity, tied
weights: any module but ``Linear`` and the activations of ``BACKWARD``), trains through
autograd; nothing needs to be switched off by hand.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SELU_SCALE, SELU_ALPHA = 1.0507009873554805, 1.6732632423543772


aten = torch.ops.aten
# activation type -> the gradient with respect to ``pre`` given the one w.r.t. ``out = act(pre)``
BACKWARD = {
    nn.Identity: lambda act, grad, pre, out: grad,
    nn.SELU: lambda act, grad, pre, out: aten.elu_backward(grad, SELU_ALPHA, SELU_SCALE, 1.0,
                                                           True, out),
    nn.ELU: lambda act, grad, pre, out: aten.elu_backward(grad, act.alpha, 1.0, 1.0, True, out),
    nn.ReLU: lambda act, grad, pre, out: aten.threshold_backward(grad, out, 0),
    nn.LeakyReLU: lambda act, grad, pre, out: aten.leaky_relu_backward(grad, pre,
                                                                       act.negative_slope, False),
    nn.Tanh: lambda act, grad, pre, out: aten.tanh_backward(grad, out),
    nn.Sigmoid: lambda act, grad, pre, out: aten.sigmoid_backward(grad, out),
    nn.GELU: lambda act, grad, pre, out: aten.gelu_backward(grad, pre,
                                                            approximate=act.approximate),
}


def _leaves(module: nn.Module) -> list[nn.Module]:
    if type(module) is nn.Sequential:
        return [leaf for child in module for leaf in _leaves(child)]
    return [module]


def dense_chain(model: nn.Module) -> list[tuple[nn.Linear, nn.Module | None]] | None:
    """The ``(Linear, activation or None)`` pairs of a plain dense autoencoder, or None when
    ``model`` is anything else (the step then stays with autograd)."""
    from aegan.models.autoencoder import Autoencoder

    if type(model) is not Autoencoder or "training_step" in vars(model):
        return None  # a subclass, or a step replaced on the instance, may change what is trained
    if model.config.sparsity:  # the one option the modules do not show
        return None
    leaves = _leaves(model.encoder) + _leaves(model.decoder)
    first = leaves[0] if leaves else None
    if type(first) is nn.Flatten and (first.start_dim, first.end_dim) == (1, -1):
        leaves = leaves[1:]
    if leaves and type(leaves[-1]) is nn.Unflatten:
        leaves = leaves[:-1]
    chain: list[tuple[nn.Linear, nn.Module | None]] = []
    for leaf in leaves:
        if type(leaf) is nn.Linear and leaf.bias is not None:
            chain.append((leaf, None))
        elif type(leaf) in BACKWARD and chain and chain[-1][1] is None:
            chain[-1] = (chain[-1][0], leaf)
        else:  # noise, dropout, a tied layer, two activations in a row, ...
            return None
    params = {id(p) for lin, _ in chain for p in (lin.weight, lin.bias)}
    if not chain or params != {id(p) for p in model.parameters()}:
        return None
    return chain


class DenseStep:
    """``(batch, step) -> {"loss": ...}``, the same contract as ``model.training_step``."""

    def __init__(self, model: nn.Module, chain: list[tuple[nn.Linear, nn.Module | None]],
                 optimizer: torch.optim.Optimizer):
        self.chain, self.optimizer = chain, optimizer
        self.backward = [BACKWARD[type(act)] if act is not None else None for _, act in chain]
        self.bce = model.config.loss == "bce"
        self.sigmoid_out = model.config.output == "sigmoid"

    @torch.no_grad()
    def __call__(self, batch: tuple[torch.Tensor, ...], step: int) -> dict[str, torch.Tensor]:
        x = batch[0].reshape(len(batch[0]), -1)
        h, saved = x, []
        for lin, act in self.chain:
            pre = torch.addmm(lin.bias, h, lin.weight.t())
            out = pre if act is None else act(pre)
            saved.append((h, pre, out))
            h = out
        if self.bce:  # d/do mean(BCE(sigmoid(o), x)) = (sigmoid(o) - x) / n
            loss = F.binary_cross_entropy_with_logits(h, x)
            grad = torch.sigmoid(h).sub_(x).mul_(1.0 / h.numel())
        else:  # d/dy mean((y - x)^2) = 2 (y - x) / n, y = sigmoid(o) or o
            y = torch.sigmoid(h) if self.sigmoid_out else h
            loss = F.mse_loss(y, x)
            grad = (y - x).mul_(2.0 / h.numel())
            if self.sigmoid_out:
                grad = aten.sigmoid_backward(grad, y)
        for i in range(len(self.chain) - 1, -1, -1):
            lin, act = self.chain[i]
            h_in, pre, out = saved[i]
            if act is not None:
                grad = self.backward[i](act, grad, pre, out)
            lin.weight.grad = grad.t().mm(h_in)
            lin.bias.grad = grad.sum(0)
            if i:
                grad = grad.mm(lin.weight)
        self.optimizer.step()
        return {"loss": loss}
