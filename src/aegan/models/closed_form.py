"""Closed-form training steps for dense models: the speed path ``train.closed_form`` (on the
CPU the Trainer asks the model through :meth:`aegan.models.base.Model.closed_form_step`).

A dense network is a chain ``(Linear [activation])+`` whose gradients have a short closed form,
computed here under ``torch.no_grad()`` (:class:`Chain`): the forward pass keeps each layer's
input and output, then, from the output back, ``dW = g^T h``, ``db = sum(g)``, ``g <- (g W) *
act'`` with PyTorch's activation-backward kernels. The gradients go into ``p.grad`` and the
model's own optimizers step; with plain SGD the update can instead be folded into the products
(``fold_sgd``, when the Trainer has no optimizer hooks to run, such as ``torchrun``'s gradient
averaging). A chain may hold tied layers, Gaussian noise and aegan's dropout. The steps:
:class:`AutoencoderStep` (BCE or MSE, input noise or dropout, coding noise, tied weights, L1 or
KL sparsity: the book's 17.3-17.7), :class:`GANStep` (the dense GAN of 17.9, for the losses of
:data:`LOGIT_GRADIENTS`) and :class:`VAEStep` (the dense Bernoulli VAE of 17.8).

Why: on a CPU the book's models are bound by per-operation overhead, of which autograd's graph
and bookkeeping are a large share (benchmarks/RESULTS.md, "Closed-form steps"). Each step equals
the autograd step up to rounding, with the same random numbers drawn in the same order
(``tests/test_closed_form.py``). A family offers its step from the chains this module finds in
its networks; anything the chains do not cover trains through autograd.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from aegan.models.gan_losses import LOGIT_GRADIENTS
from aegan.nets.layers import Dropout, GaussianNoise, TiedLinear

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

Pairs = list[tuple[nn.Module, nn.Module | None]]
LINEAR, TIED, NOISE, DROPOUT = range(4)


def _kind(module: nn.Module) -> int | None:
    if type(module) is nn.Linear and module.bias is not None:
        return LINEAR
    if type(module) is TiedLinear:
        return TIED
    if type(module) is GaussianNoise:
        return NOISE
    if type(module) is Dropout and not module.inplace and module.p < 1:
        return DROPOUT
    return None


def _leaves(module: nn.Module) -> list[nn.Module]:
    if type(module) is nn.Sequential:
        return [leaf for child in module for leaf in _leaves(child)]
    return [module]


def _trim(leaves: list[nn.Module]) -> list[nn.Module]:
    """Without the ``Flatten`` of every value before the first layer with weights (input noise
    and dropout may come first: they act on each value alike) and a trailing ``Unflatten``:
    the chains work on ``[N, features]``."""
    for i, leaf in enumerate(leaves):
        if _kind(leaf) in (LINEAR, TIED):
            break
        if type(leaf) is nn.Flatten and (leaf.start_dim, leaf.end_dim) == (1, -1):
            leaves = leaves[:i] + leaves[i + 1:]
            break
    if leaves and type(leaves[-1]) is nn.Unflatten and leaves[-1].dim == 1:
        leaves = leaves[:-1]
    return leaves


def chain_pairs(leaves: list[nn.Module], random_layers: bool = False) -> Pairs | None:
    """``(layer, activation or None)`` pairs of modules that form a dense chain, or None. The
    layers are ``Linear``, and with ``random_layers`` also ``TiedLinear``, ``GaussianNoise`` and
    aegan's ``Dropout`` (for a model whose autograd step runs the chain once, in order, so that
    both paths draw the same random numbers)."""
    allowed = (LINEAR, TIED, NOISE, DROPOUT) if random_layers else (LINEAR,)
    pairs: Pairs = []
    for leaf in leaves:
        if _kind(leaf) in allowed:
            pairs.append((leaf, None))
        elif (type(leaf) in BACKWARD and pairs and pairs[-1][1] is None
              and _kind(pairs[-1][0]) in (LINEAR, TIED)):
            pairs[-1] = (pairs[-1][0], leaf)
        else:  # torch's own dropout, two activations in a row, anything else
            return None
    return pairs or None


def _params(layer: nn.Module) -> tuple[torch.Tensor, ...]:
    """The parameters a chain layer trains (a tied layer: its source's weight and its bias)."""
    if type(layer) is TiedLinear:
        return layer.source[0].weight, layer.bias
    return tuple(layer.parameters())


def _covers(pairs: list[Pairs], *modules: nn.Module) -> bool:
    """The chains hold exactly the modules' parameters: nothing would go untrained."""
    chained = {id(p) for chain in pairs for layer, _ in chain for p in _params(layer)}
    return chained == {id(p) for m in modules for p in m.parameters()}


def put_grad(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor | None = None,
             accumulate: bool = False) -> None:
    """``p.grad <- a @ b``, or the sum of ``a``'s rows when ``b`` is None; ``+=`` with
    ``accumulate``. Into the gradient tensor of the step before when there is one: a fresh
    tensor of a few hundred kB costs page faults on every step."""
    grad = p.grad
    if grad is None:
        p.grad = a.sum(0) if b is None else a.mm(b)
    elif accumulate:
        if b is None:
            grad.add_(a.sum(0))
        else:
            grad.addmm_(a, b)
    elif b is None:
        torch.sum(a, 0, out=grad)
    else:
        torch.mm(a, b, out=grad)


class Chain:
    """A dense chain's forward pass, keeping what its backward pass needs, and that pass.
    ``accumulate``: weights whose gradient another chain wrote first in the same step (the
    sources of tied layers), to which this one adds."""

    def __init__(self, pairs: Pairs, accumulate: frozenset[int] = frozenset()):
        self.pairs = pairs
        self.kinds = [_kind(layer) for layer, _ in pairs]
        self.act_backward = [BACKWARD[type(act)] if act is not None else None
                             for _, act in pairs]
        # below the first weighted layer, nothing needs a gradient unless asked for
        self.first = min(i for i, k in enumerate(self.kinds) if k in (LINEAR, TIED))
        self.accumulate = accumulate

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, list]:
        saved: list = []
        for (layer, act), kind in zip(self.pairs, self.kinds):
            if kind == NOISE:
                h = layer(h)
                saved.append(None)
            elif kind == DROPOUT:
                mask = layer.mask(h) if layer.training and layer.p else None
                h = h if mask is None else h * mask
                saved.append(mask)
            else:
                pre = torch.addmm(layer.bias, h, layer.weight.t())
                out = pre if act is None else act(pre)
                saved.append((h, pre, out))
                h = out
        return h, saved

    def backward(self, saved: list, grad: torch.Tensor, weights: bool = True,
                 inputs: bool = False, rates: dict[int, float] | None = None
                 ) -> torch.Tensor | None:
        """From ``grad`` (w.r.t. the output) back: the weights' gradients into ``p.grad`` when
        ``weights``; returns the gradient w.r.t. the input when ``inputs``. With ``rates``
        (:func:`plain_sgd_rates`; no tied layers), plain SGD's update is folded into the
        products instead: ``W <- W - lr g^T h`` in place, once the layer's input gradient is
        computed, and ``p.grad`` is not written."""
        stop = 0 if inputs else self.first
        for i in range(len(self.pairs) - 1, stop - 1, -1):
            kind, (layer, act) = self.kinds[i], self.pairs[i]
            if kind == NOISE:  # x + noise
                continue
            if kind == DROPOUT:
                grad = grad if saved[i] is None else grad * saved[i]
                continue
            h_in, pre, out = saved[i]
            g_out = grad if act is None else self.act_backward[i](act, grad, pre, out)
            grad = g_out.mm(layer.weight) if i > stop or inputs else None
            if not weights:
                continue
            if rates is not None:
                layer.weight.addmm_(g_out.t(), h_in, alpha=-rates[id(layer.weight)])
                layer.bias.add_(g_out.sum(0), alpha=-rates[id(layer.bias)])
                continue
            if kind == TIED:  # y = h W_source + b
                put_grad(layer.source[0].weight, h_in.t(), g_out)
            else:
                put_grad(layer.weight, g_out.t(), h_in, id(layer.weight) in self.accumulate)
            put_grad(layer.bias, g_out)
        return grad if inputs else None


def plain_sgd_rates(optimizer: torch.optim.Optimizer) -> dict[int, float] | None:
    """``id(parameter) -> learning rate`` when ``optimizer`` is plain SGD (no momentum, weight
    decay or maximize: its step is ``p -= lr p.grad``, nothing else), else None. Read at every
    step: a schedule changes the rates."""
    if type(optimizer) is not torch.optim.SGD:
        return None
    rates = {}
    for group in optimizer.param_groups:
        if (group["momentum"] or group["weight_decay"] or group["maximize"]
                or group["differentiable"] or torch.is_tensor(group["lr"])):
            return None
        rates.update((id(p), group["lr"]) for p in group["params"])
    return rates


# -- autoencoders ------------------------------------------------------------------------------
def autoencoder_chains(model: nn.Module) -> tuple[Pairs, Pairs] | None:
    """The encoder's and the decoder's chains of a dense autoencoder, or None when its networks
    are anything else (the step then stays with autograd)."""
    enc = chain_pairs(_trim(_leaves(model.encoder)), random_layers=True)
    dec = chain_pairs(_trim(_leaves(model.decoder)), random_layers=True)
    if enc is None or dec is None or any(_kind(layer) == DROPOUT for layer, _ in dec):
        return None
    weighted = [_kind(layer) in (LINEAR, TIED) for layer, _ in enc + dec]
    if not (any(weighted[:len(enc)]) and any(weighted[len(enc):])):
        return None
    return (enc, dec) if _covers([enc, dec], model) else None


def _l1_gradient(codings: torch.Tensor, weight: float) -> torch.Tensor:
    """d/da of ``weight * mean_n sum_j |a_nj|``."""
    return torch.sign(codings).mul_(weight / len(codings))


def _kl_gradient(codings: torch.Tensor, weight: float, target: float) -> torch.Tensor:
    """d/da of ``weight * sum_j KL(target || rho_j)``, ``rho_j`` the clamped mean of unit ``j``
    (:func:`aegan.models.autoencoder.kl_sparsity`); 0 where the clamp holds, as autograd's."""
    mean = codings.mean(0)
    rho = mean.clamp(1e-7, 1 - 1e-7)
    g = ((1 - target) / (1 - rho) - target / rho).mul_((mean == rho).to(rho.dtype))
    return g.mul_(weight / len(codings)).expand_as(codings)


class AutoencoderStep:
    """``(batch, step) -> losses``, the same contract as ``model.training_step``: the
    encoder reads the inputs, the loss compares the output with the targets (else the
    inputs)."""

    def __init__(self, model: nn.Module, chains: tuple[Pairs, Pairs],
                 optimizer: torch.optim.Optimizer, fold_sgd: bool):
        enc, dec = chains
        tied = frozenset(id(layer.source[0].weight) for layer, _ in dec
                         if _kind(layer) == TIED)
        self.enc, self.dec = Chain(enc, accumulate=tied), Chain(dec)
        self.model, self.optimizer = model, optimizer
        self.fold = fold_sgd and not tied  # a tied weight is used again after its gradient
        self.bce = model.config.loss == "bce"
        self.sigmoid_out = model.config.output == "sigmoid"

    def _sparsity_gradient(self, codings: torch.Tensor) -> torch.Tensor:
        c = self.model.config
        if c.sparsity == "l1":
            return _l1_gradient(codings, c.sparsity_weight)
        return _kl_gradient(codings, c.sparsity_weight, c.sparsity_target)

    @torch.no_grad()
    def __call__(self, batch, step: int) -> dict[str, torch.Tensor]:
        n = len(batch)
        x = self.model.target(batch).reshape(n, -1)  # what the output is compared with
        codings, enc_saved = self.enc.forward(batch.inputs.reshape(n, -1))
        h, dec_saved = self.dec.forward(codings)
        if self.bce:  # d/do mean(BCE(sigmoid(o), x)) = (sigmoid(o) - x) / n
            loss = F.binary_cross_entropy_with_logits(h, x)
            grad = torch.sigmoid(h).sub_(x).mul_(1.0 / h.numel())
        else:  # d/dy mean((y - x)^2) = 2 (y - x) / n, y = sigmoid(o) or o
            y = torch.sigmoid(h) if self.sigmoid_out else h
            loss = F.mse_loss(y, x)
            grad = (y - x).mul_(2.0 / h.numel())
            if self.sigmoid_out:
                grad = aten.sigmoid_backward(grad, y)
        rates = plain_sgd_rates(self.optimizer) if self.fold else None
        grad = self.dec.backward(dec_saved, grad, inputs=True, rates=rates)
        penalty = self.model.sparsity_penalty(codings)
        if penalty is not None:
            grad = grad + self._sparsity_gradient(codings)
        self.enc.backward(enc_saved, grad, rates=rates)
        if rates is None:
            self.optimizer.step()
        if penalty is None:
            return {"loss": loss}
        return {"loss": loss + penalty, "recon": loss, "sparsity": penalty}


# -- GANs ----------------------------------------------------------------------------------------
def gan_chains(model: nn.Module) -> tuple[Pairs, Pairs] | None:
    """The generator's and the discriminator's chains of a plain dense GAN, or None."""
    c = model.config
    if (c.loss not in LOGIT_GRADIENTS or c.num_classes or c.replay or c.spectral_norm
            or c.minibatch_std):
        return None
    g = chain_pairs(_trim(_leaves(model.generator.body)))
    d = chain_pairs(_trim(_leaves(model.discriminator.features))
                    + [model.discriminator.head])
    if g is None or d is None:
        return None
    ok = _covers([g], model.generator) and _covers([d], model.discriminator)
    return (g, d) if ok else None


class GANStep:
    """The two phases of :meth:`aegan.models.gan.GAN.training_step` in closed form: the
    discriminator on the real batch and as many fresh fakes (``n_critic`` times), then the
    generator on fresh codings through the discriminator, whose weights get no gradient."""

    def __init__(self, model: nn.Module, chains: tuple[Pairs, Pairs],
                 optimizers: dict[str, torch.optim.Optimizer]):
        self.model, self.optimizers = model, optimizers
        self.g, self.d = Chain(chains[0]), Chain(chains[1])
        self.d_grads, self.g_grads = LOGIT_GRADIENTS[model.config.loss]
        self.target = 1.0 - model.config.label_smoothing

    @torch.no_grad()
    def __call__(self, batch, step: int) -> dict[str, torch.Tensor]:
        m = self.model
        x = batch.inputs
        n = len(x)
        real = x.reshape(n, -1)
        for _ in range(m.config.n_critic):
            z = torch.randn((n, m.z_dim), device=x.device)
            fake, _ = self.g.forward(z)
            logits, saved = self.d.forward(torch.cat([real, fake]))
            r, f_d = logits[:n, 0], logits[n:, 0]
            d_loss = m.loss_d(r, f_d, self.target)
            g_r, g_f = self.d_grads(r, f_d, self.target)
            self.d.backward(saved, torch.cat([g_r, g_f]).unsqueeze(1))
            self.optimizers["discriminator"].step()
        z = torch.randn((n, m.z_dim), device=x.device)
        fake, g_saved = self.g.forward(z)
        logits, d_saved = self.d.forward(fake)
        f = logits[:, 0]
        g_loss = m.loss_g(f)
        grad = self.d.backward(d_saved, self.g_grads(f).unsqueeze(1), weights=False, inputs=True)
        self.g.backward(g_saved, grad)
        self.optimizers["generator"].step()
        m.follow_average()
        return {"g_loss": g_loss, "d_loss": d_loss, "d_real": r.mean(), "d_fake": f_d.mean()}


# -- VAEs ----------------------------------------------------------------------------------------
def vae_chains(model: nn.Module) -> tuple[Pairs, Pairs] | None:
    """The encoder body's and the decoder's chains of a dense VAE with a Bernoulli decoder and
    one coding per example, or None."""
    c = model.config
    if c.net != "dense" or c.likelihood != "bernoulli" or c.iw_samples != 1:
        return None
    enc = chain_pairs(_trim(_leaves(model.encoder)))
    dec = chain_pairs(_trim(_leaves(model.decoder)))
    if enc is None or dec is None:
        return None
    heads = [(model.mean_head, None), (model.log_var_head, None)]
    ok = _covers([enc, heads, dec], model) and type(model.mean_head) is nn.Linear
    return (enc, dec) if ok and type(model.log_var_head) is nn.Linear else None


class VAEStep:
    """:meth:`aegan.models.vae.VAE.training_step` in closed form. With ``c = 1 / (N D)``,
    the loss ``c sum(BCE(o, x)) + beta c sum(KL)`` has ``dL/do = c (sigmoid(o) - x)``; through
    the decoder to the coding ``z = mean + exp(log_var / 2) eps``, ``dL/dmean = g_z + beta c
    mean`` and ``dL/dlog_var = g_z eps exp(log_var / 2) / 2 + beta c (exp(log_var) - 1) / 2``."""

    def __init__(self, model: nn.Module, chains: tuple[Pairs, Pairs],
                 optimizer: torch.optim.Optimizer, kl: Callable):
        self.model, self.optimizer = model, optimizer
        self.enc, self.dec = Chain(chains[0]), Chain(chains[1])
        self.kl = kl  # (mean, log_var) -> KL(q || N(0, I)) per example

    @torch.no_grad()
    def __call__(self, batch, step: int) -> dict[str, torch.Tensor]:
        m = self.model
        x = batch.inputs
        if m.config.binarize:
            x = torch.bernoulli(x)
        beta = m.kl_weight_at(step)
        x = x.reshape(len(x), -1)
        n, d = x.shape
        h, enc_saved = self.enc.forward(x)
        mh, vh = m.mean_head, m.log_var_head
        mean = torch.addmm(mh.bias, h, mh.weight.t())
        log_var = torch.addmm(vh.bias, h, vh.weight.t())
        eps = torch.randn((1, *mean.shape), dtype=mean.dtype, device=mean.device)[0]
        std = (0.5 * log_var).exp()
        z = mean + std * eps
        out, dec_saved = self.dec.forward(z)
        recon = F.binary_cross_entropy_with_logits(out, x, reduction="none").sum(1)  # [N]
        kl = self.kl(mean, log_var)  # [N]
        c = 1.0 / (n * d)
        g_z = self.dec.backward(dec_saved, torch.sigmoid(out).sub_(x).mul_(c), inputs=True)
        g_mean = torch.add(g_z, mean, alpha=beta * c)
        g_log_var = (g_z * eps).mul_(std).add_(std.square().sub_(1.0), alpha=beta * c).mul_(0.5)
        for head, g in ((mh, g_mean), (vh, g_log_var)):
            put_grad(head.weight, g.t(), h)
            put_grad(head.bias, g)
        g_h = torch.addmm(g_mean.mm(mh.weight), g_log_var, vh.weight)
        self.enc.backward(enc_saved, g_h)
        self.optimizer.step()
        return {"recon": recon.mean() / d, "kl": kl.mean(), "nelbo": (recon + kl).mean(),
                "loss": (recon + beta * kl).mean() / d}
