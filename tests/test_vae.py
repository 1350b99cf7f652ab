"""The VAE family against references: the closed-form KL, the likelihoods of torch.distributions,
the IWAE bound (tighter than the ELBO; the VAE's objective with one sample), the book's model,
binarized MNIST, the latent-space figures, and exact resume through the sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from aegan import api, generation
from aegan.config import DataConfig, OptimConfig, TrainConfig
from aegan.data import Batch, load_dataset
from aegan.errors import ConfigError, DataMismatch
from aegan.io import load_run
from aegan.metrics import likelihood
from aegan.models import VAEConfig, build_model
from aegan.models.vae import gaussian_kl, log_normal
from aegan.presets import get_preset
from aegan.run import RunConfig


def _model(seed=0, **changes):
    torch.manual_seed(seed)
    return build_model(VAEConfig(**{"encoder": [16], "z_dim": 3, **changes}), (1, 8, 8))


def _x(n=6, seed=0, binary=True):
    x = torch.rand((n, 1, 8, 8), generator=torch.Generator().manual_seed(seed))
    return (x > 0.5).float() if binary else x


def test_kl_matches_the_closed_form():
    """KL(N(m, v) || N(0, 1)) = (v + m^2 - 1 - log v) / 2 per dimension, summed; checked by hand,
    against torch.distributions, and as the mean of log q(z) - log p(z) over draws of z."""
    mean = torch.tensor([[1.0, 0.0], [0.0, -2.0]])
    var = torch.tensor([[1.0, math.e], [0.25, 1.0]])
    by_hand = torch.tensor([0.5 + 0.5 * (math.e - 2), 0.5 * (0.25 - 1 - math.log(0.25)) + 2.0])
    torch.testing.assert_close(gaussian_kl(mean, var.log()), by_hand)
    reference = kl_divergence(Normal(mean, var.sqrt()), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(gaussian_kl(mean, var.log()), reference)
    z = mean + var.sqrt() * torch.randn((200_000, 2, 2), generator=torch.Generator().manual_seed(0))
    monte_carlo = (log_normal(z, mean, var.log()) - log_normal(z)).mean(0)
    torch.testing.assert_close(monte_carlo, by_hand, atol=0.02, rtol=0)


@pytest.mark.parametrize("likelihood_name", ["bernoulli", "gaussian"])
def test_likelihoods_match_torch_distributions(likelihood_name):
    model = _model(likelihood=likelihood_name, sigma=0.3,
                   output="sigmoid" if likelihood_name == "bernoulli" else "linear")
    out, x = torch.randn(2, 4, 1, 8, 8), _x(4, binary=likelihood_name == "bernoulli")
    dist = (Bernoulli(logits=out) if likelihood_name == "bernoulli" else Normal(out, 0.3))
    reference = -dist.log_prob(x.expand_as(out)).flatten(2).sum(-1)  # [2, 4]
    torch.testing.assert_close(model.neg_log_likelihood(out, x), reference)


def test_iw_estimate_is_never_below_the_elbo():
    """For the same draws, log (1/K) sum w_k >= (1/K) sum log w_k (Jensen), example by example;
    and the metrics' NLL (K = 200) is below their negative ELBO on the same data."""
    model = _model().eval()
    x = _x(20)
    log_w = model.log_weights(x, 64, torch.Generator().manual_seed(1)).double()  # [64, 20]
    iw_bound = torch.logsumexp(log_w, 0) - math.log(64)
    assert (iw_bound >= log_w.mean(0)).all()
    nll = -likelihood.iw_log_likelihood(model, x.numpy(), 200, seed=2)
    terms = likelihood.mean_elbo_terms(model, x.numpy(), seed=3)
    assert nll.mean() < terms["nelbo"]
    assert terms["nelbo"] == pytest.approx(terms["nelbo_recon"] + terms["nelbo_kl"])


def test_iwae_with_one_sample_is_the_vae_objective():
    """k = 1: the IWAE loss -log w equals the VAE loss -log p(x|z) + (log q(z|x) - log p(z)) for
    the same draw (computed here with torch.distributions), and on average the closed-form
    loss -log p(x|z) + KL that the VAE optimizes."""
    model = _model().eval()
    x = _x(4)
    log_w = model.log_weights(x, 1, torch.Generator().manual_seed(5))[0]
    mean, log_var = model.posterior(x)
    eps = torch.randn((1, *mean.shape), generator=torch.Generator().manual_seed(5))[0]
    z = mean + (0.5 * log_var).exp() * eps
    q, p = Normal(mean, (0.5 * log_var).exp()), Normal(0.0, 1.0)
    recon = -Bernoulli(logits=model.decoder(z)).log_prob(x).flatten(1).sum(-1)
    vae_loss = recon + (q.log_prob(z) - p.log_prob(z)).sum(-1)
    torch.testing.assert_close(-log_w, vae_loss.detach())
    with torch.no_grad():
        many = -model.log_weights(x, 20_000, torch.Generator().manual_seed(6)).mean(0)
        recon, kl = model.elbo_terms(x.repeat(2000, 1, 1, 1), torch.Generator().manual_seed(7))
    closed_form = (recon + kl).reshape(2000, 4).mean(0)
    torch.testing.assert_close(many, closed_form, atol=0.3, rtol=0)
    # and the training loss of an IWAE with k samples is its bound divided by the values
    iwae = _model(iw_samples=8)
    torch.manual_seed(9)
    loss = iwae.losses(x, 1.0)
    torch.testing.assert_close(loss["loss"] * 64, loss["iw_nll"])


class _ConstantWeights:
    """A stand-in model whose log-weights are a known constant per example."""

    def __init__(self):
        self.calls = []

    def log_weights(self, x, k, generator):
        self.calls.append((len(x), k))
        return torch.as_tensor(x).flatten(1).sum(1).double().expand(k, len(x))


def test_nll_batches_any_number_of_samples():
    """With a memory budget far below K x D values, the K draws are taken a few at a time per
    example, and the running log-mean-exp over the chunks is exact (a constant log-weight c
    gives c, whatever the chunks)."""
    fake, x = _ConstantWeights(), _x(3).numpy()
    exact = x.reshape(3, -1).sum(1)
    np.testing.assert_allclose(likelihood.iw_log_likelihood(fake, x, 3001), exact, rtol=1e-12)
    assert fake.calls == [(3, 3001)]
    fake.calls.clear()
    chunked = likelihood.iw_log_likelihood(fake, x, 3001, max_values=64 * 500)
    np.testing.assert_allclose(chunked, exact, rtol=1e-12)
    assert fake.calls == ([(1, 500)] * 6 + [(1, 1)]) * 3
    model = _model().eval()  # and a real model gives the same estimate within its noise
    whole = likelihood.iw_log_likelihood(model, x, 2000, seed=0)
    chunked = likelihood.iw_log_likelihood(model, x, 2000, seed=1, max_values=64 * 300)
    np.testing.assert_allclose(chunked, whole, atol=1.5)
    with pytest.raises(ConfigError, match="at least 1"):
        likelihood.iw_log_likelihood(model, x, 0)


def test_training_step_binarizes_and_warms_up():
    model = _model(binarize=True, kl_warmup=10, kl_weight=0.5)
    assert [model.kl_weight_at(s) for s in (0, 5, 10, 50)] == [0.0, 0.25, 0.5, 0.5]
    seen = []
    def spy(x, beta):
        seen.append((x, beta))
        return {"loss": model.log_var_head.bias.sum()}

    model.losses = spy
    grey = _x(4, binary=False)
    model.training_step(Batch(grey), model.configure_optimizers(OptimConfig("sgd", lr=0.1)), 5)
    x, beta = seen[0]
    assert beta == 0.25 and set(x.unique().tolist()) <= {0.0, 1.0} and not torch.equal(x, grey)


def test_book_vae_is_the_books_model():
    config = get_preset("book/vae")
    assert (config.optim.name, config.optim.lr, config.optim.rho, config.optim.eps) == \
        ("rmsprop", 1e-3, 0.9, 1e-7)
    assert (config.train.epochs, config.train.batch_size, config.data.name) == (25, 128, "fashion-mnist")
    model = build_model(config.model, (1, 28, 28))
    dense = [784 * 150 + 150, 150 * 100 + 100, 2 * (100 * 10 + 10),
             10 * 100 + 100, 100 * 150 + 150, 150 * 784 + 784]
    assert sum(p.numel() for p in model.parameters()) == sum(dense)
    # the loss is Keras': mean binary cross-entropy over the pixels + mean KL / 784
    x = torch.rand(5, 1, 28, 28)
    torch.manual_seed(0)
    losses = model.losses(x, 1.0)
    torch.manual_seed(0)
    mean, log_var = model.posterior(x)
    z = mean + (0.5 * log_var).exp() * torch.randn((1, *mean.shape))[0]
    p = torch.sigmoid(model.decoder(z)).clamp(1e-7, 1 - 1e-7)
    bce = -(x * p.log() + (1 - x) * (1 - p).log()).mean()
    latent = -0.5 * (1 + log_var - log_var.exp() - mean.square()).sum(-1).mean() / 784
    torch.testing.assert_close(losses["loss"], bce + latent, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(losses["recon"], bce, rtol=1e-4, atol=1e-6)


def test_binarized_mnist(tiny_idx):
    a, b = load_dataset("binarized-mnist", tiny_idx), load_dataset("binarized-mnist", tiny_idx)
    grey = load_dataset("mnist", tiny_idx)
    for split in ("valid", "test"):
        x = a.split(split).inputs
        assert set(np.unique(x)) <= {0.0, 1.0} and np.array_equal(x, b.split(split).inputs)
        assert abs(x.mean() - grey.split(split).inputs.mean()) < 0.02
    np.testing.assert_array_equal(a.train.inputs, grey.train.inputs)  # binarized per batch


def test_semantic_grid_line_and_traversal():
    model = _model(z_dim=4).eval()
    images, framed = generation.semantic_grid(model, seed=3)
    assert images.shape == (35, 1, 8, 8) and framed.shape == (5, 7) and framed.sum() == 12
    assert framed[0, 0] and framed[2, 2] and framed[4, 6] and not framed[1, 0]
    originals = model.decode(model.sample_codings(12, torch.Generator().manual_seed(3)))
    np.testing.assert_allclose(images[framed.ravel()], originals.detach().numpy(), atol=1e-6)
    x = _x(2, binary=False).numpy()
    path = generation.line(model, x[0], x[1], steps=5)
    ends = model.reconstruct(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_allclose(path[[0, -1]], ends, atol=1e-6)
    rows = generation.traversal(model, [1, 3], steps=5, span=2.0)
    assert rows.shape == (10, 1, 8, 8)
    z = torch.zeros(5, 4)
    z[:, 3] = torch.linspace(-2, 2, 5)
    np.testing.assert_allclose(rows[5:], model.decode(z).detach().numpy(), atol=1e-6)
    with pytest.raises(ConfigError, match="--dim 4 is not a coding dimension"):
        generation.traversal(model, [4])


def _vae_config(epochs):
    return RunConfig(model=VAEConfig(encoder=[16], z_dim=3, binarize=True, iw_samples=2),
                     data=DataConfig("digits", limit=200), optim=OptimConfig("adam", lr=3e-3),
                     train=TrainConfig(epochs=epochs))


def test_vae_resume_is_exact(tmp_path):
    """Sampled codings and binarized batches follow the saved random state: a run stopped
    after epoch 1 of 3 and resumed ends bit-identical to one that ran through."""

    class Stop(Exception):
        pass

    def stop(event):
        if event.record["epoch"] == 1:
            raise Stop

    whole = api.train(_vae_config(3), tmp_path / "whole", progress=False)
    with pytest.raises(Stop):
        api.train(_vae_config(3), tmp_path / "part", callbacks=[stop], progress=False)
    api.resume(tmp_path / "part", progress=False)
    (_, a), (_, b) = load_run(whole), load_run(tmp_path / "part")
    for (key, value), other in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(value, other), key


@pytest.mark.parametrize("changes, message", [
    ({"z_dim": 0}, "z_dim must be a positive"),
    ({"likelihood": "poisson"}, "unknown likelihood 'poisson'"),
    ({"output": "linear"}, "likelihood 'bernoulli' needs output 'sigmoid'"),
    ({"iw_samples": 0}, "iw_samples must be at least 1"),
    ({"kl_weight": -1.0}, "kl_weight must be >= 0"),
    ({"sigma": 0.0}, "sigma must be a positive"),
    ({"net": "recurrent"}, "unknown net 'recurrent'"),
    ({"encoder": []}, "encoder must list positive"),
])
def test_config_refuses_bad_values(changes, message):
    with pytest.raises(ConfigError, match=message):
        VAEConfig(**changes)


def test_conv_vae_needs_images():
    with pytest.raises(DataMismatch, match="net 'conv' reads images"):
        build_model(VAEConfig(net="conv", encoder=[4]), (6,))
