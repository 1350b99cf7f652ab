"""The GAN family: losses and the gradient penalty against hand-computed values, the frozen
discriminator of the generator's phase, spectral normalization, the moving average, the book's
networks by their parameter counts, conditional sampling, exact resume, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from aegan import api
from aegan.config import DataConfig, OptimConfig, TrainConfig
from aegan.data import Batch
from aegan.io import load_run
from aegan.models import GANConfig, build_model
from aegan.models import gan_losses as L
from aegan.models.gan import frozen
from aegan.models.replay import replayed
from aegan.nets.gan import apply_spectral_norm
from aegan.presets import get_preset
from aegan.run import RunConfig
from aegan.weights import load_safetensors
from tests.conftest import write_run
from tests.test_bad_input import Bad, assert_refused

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = dict(net="dcgan", z_dim=8, value_range="symmetric", g_channels=[16, 8],
             d_channels=[8, 16])  # 8x8 digits: 2x2 -> 4x4 -> 8x8


def _sp(v: float) -> float:  # softplus, by hand
    return math.log1p(math.exp(v))


# -- losses on given logits --------------------------------------------------------------------
R, F_ = [2.0, -1.0], [0.5, -3.0]


def _mean(xs):
    return sum(xs) / len(xs)


@pytest.mark.parametrize("name, d_expected, g_expected", [
    # BCE(real, 1) = softplus(-r); BCE(fake, 0) = softplus(f); the half-real half-fake batch
    ("bce", 0.5 * (_mean([_sp(-r) for r in R]) + _mean([_sp(f) for f in F_])),
     _mean([_sp(-f) for f in F_])),
    ("bce-minimax", 0.5 * (_mean([_sp(-r) for r in R]) + _mean([_sp(f) for f in F_])),
     _mean([math.log(1 - 1 / (1 + math.exp(-f))) for f in F_])),
    ("lsgan", 0.5 * (_mean([(r - 1) ** 2 for r in R]) + _mean([f ** 2 for f in F_])),
     0.5 * _mean([(f - 1) ** 2 for f in F_])),
    ("hinge", _mean([max(0, 1 - r) for r in R]) + _mean([max(0, 1 + f) for f in F_]),
     -_mean(F_)),
    ("wgan-gp", _mean(F_) - _mean(R), -_mean(F_)),
])
def test_losses_match_hand_computed_values(name, d_expected, g_expected):
    d_loss, g_loss = L.LOSSES[name]
    real, fake = torch.tensor(R, dtype=torch.float64), torch.tensor(F_, dtype=torch.float64)
    assert float(d_loss(real, fake)) == pytest.approx(d_expected, rel=1e-12)
    assert float(g_loss(fake)) == pytest.approx(g_expected, rel=1e-12)


def test_one_sided_label_smoothing_moves_only_the_real_target():
    real, fake = torch.tensor(R, dtype=torch.float64), torch.tensor(F_, dtype=torch.float64)
    # BCE(r, 0.9) = 0.9 softplus(-r) + 0.1 softplus(r)
    real_term = _mean([0.9 * _sp(-r) + 0.1 * _sp(r) for r in R])
    expected = 0.5 * (real_term + _mean([_sp(f) for f in F_]))
    assert float(L.bce_d(real, fake, 0.9)) == pytest.approx(expected, rel=1e-12)


# -- the gradient penalty ----------------------------------------------------------------------
def test_gradient_penalty_of_a_linear_critic_is_closed_form():
    # critic(x) = <w, x> + b: its gradient is w everywhere, so the penalty is (|w| - 1)^2
    critic = nn.Sequential(nn.Flatten(), nn.Linear(4, 1)).double()
    with torch.no_grad():
        critic[1].weight.copy_(torch.tensor([[1.0, 2.0, 2.0, 0.0]]))  # |w| = 3
    real, fake = torch.randn(5, 1, 2, 2).double(), torch.randn(5, 1, 2, 2).double()
    gp = L.gradient_penalty(lambda x: critic(x).squeeze(1), real, fake)
    assert gp.item() == pytest.approx((3.0 - 1.0) ** 2, rel=1e-12)
    gp.backward()  # differentiable: the critic's weight gets its gradient 2 (|w| - 1) w / |w|
    assert torch.allclose(critic[1].weight.grad, torch.tensor([[4 / 3, 8 / 3, 8 / 3, 0.0]]).double())


def test_gradient_penalty_uses_one_weight_per_example():
    # critic(x) = |x|^2 / 2: the gradient at x_hat is x_hat, so the penalty is the mean of
    # (|eps_i r_i + (1 - eps_i) f_i| - 1)^2, here with r_i, f_i and eps_i chosen by hand
    real = torch.tensor([[[[3.0, 0.0]]], [[[0.0, 2.0]]]], dtype=torch.float64)  # [2, 1, 1, 2]
    fake = torch.tensor([[[[1.0, 0.0]]], [[[0.0, 0.0]]]], dtype=torch.float64)
    eps = torch.tensor([0.5, 0.25], dtype=torch.float64).reshape(2, 1, 1, 1)
    gp = L.gradient_penalty(lambda x: 0.5 * x.square().flatten(1).sum(1), real, fake, eps)
    # x_hat = [2, 0] and [0, 0.5]: norms 2 and 0.5
    assert gp.item() == pytest.approx(((2 - 1) ** 2 + (0.5 - 1) ** 2) / 2, rel=1e-12)
    assert L.interpolation_weights(7, 4).shape == (7, 1, 1, 1)
    with pytest.raises(ValueError, match="one interpolation weight per example"):
        L.gradient_penalty(lambda x: x.sum((1, 2, 3)), real, fake, torch.rand(2, 1, 1, 2))


# -- the two phases ----------------------------------------------------------------------------
@pytest.mark.parametrize("options", [dict(), dict(spectral_norm=True, minibatch_std=True)])
def test_generator_phase_leaves_the_discriminator_untouched(options):
    torch.manual_seed(0)
    model = build_model(GANConfig(**SMALL, **options), (1, 8, 8)).train()
    opt = model.configure_optimizers(OptimConfig("adam", lr=1e-2))
    x = torch.rand(16, 1, 8, 8) * 2 - 1
    model.discriminator_step(x, None, opt["discriminator"])  # D's BN statistics now moved
    d_before = {k: v.clone() for k, v in model.discriminator.state_dict().items()}
    g_before = {k: v.clone() for k, v in model.generator.state_dict().items()}
    assert any("running_mean" in k for k in d_before) != options.get("spectral_norm", False)
    grads = [p.grad.clone() for p in model.discriminator.parameters()]  # of D's own step
    model.generator_step(16, None, opt["generator"])
    for k, v in model.discriminator.state_dict().items():  # weights, BN stats, SN vectors
        assert torch.equal(v, d_before[k]), k
    assert all(torch.equal(p.grad, g) for p, g in zip(model.discriminator.parameters(), grads))
    assert all(p.requires_grad for p in model.discriminator.parameters())  # restored
    changed = [k for k, v in model.generator.state_dict().items() if not torch.equal(v, g_before[k])]
    assert any(k.endswith("weight") for k in changed)


@pytest.mark.parametrize("options", [dict(), dict(spectral_norm=True, minibatch_std=True,
                                                   label_smoothing=0.1)])
def test_validation_runs_the_discriminator_once_on_each_batch(options):
    torch.manual_seed(0)
    model = build_model(GANConfig(**SMALL, **options), (1, 8, 8)).eval()
    x = torch.rand(16, 1, 8, 8) * 2 - 1
    calls = []
    model.discriminator.register_forward_hook(lambda *_: calls.append(1))
    out = model.validation_step(Batch(x))
    assert len(calls) == 2  # the real batch and the fakes, whose logits serve both losses
    with torch.no_grad():  # the losses by their definitions, on the same seeded codings
        z = torch.randn((16, model.z_dim), generator=torch.Generator().manual_seed(0))
        fake = model.generator(z, None)
        real_logits, fake_logits = model.discriminator(x, None), model.discriminator(fake, None)
        d_loss = model.loss_d(real_logits, fake_logits, 1.0 - model.config.label_smoothing)
        g_loss = model.loss_g(fake_logits)
    assert out["d_loss"].item() == pytest.approx(d_loss.item(), rel=1e-6)
    assert out["g_loss"].item() == pytest.approx(g_loss.item(), rel=1e-6)
    assert "loss" not in out and model.monitor == "g_loss"  # no second name for G's loss
    assert out["d_fake"].item() == pytest.approx(fake_logits.mean().item(), rel=1e-6, abs=1e-7)


def test_n_critic_steps_of_the_discriminator_per_generator_step():
    torch.manual_seed(0)
    model = build_model(GANConfig(**SMALL, loss="wgan-gp", n_critic=3), (1, 8, 8)).train()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.discriminator.modules())
    opt = model.configure_optimizers(OptimConfig("adam", lr=1e-3))
    out = model.training_step(Batch(torch.rand(8, 1, 8, 8) * 2 - 1), opt, 0)
    steps = [int(s["step"]) for s in opt["discriminator"].state.values()]
    assert set(steps) == {3} and {int(s["step"]) for s in opt["generator"].state.values()} == {1}
    assert set(out) == {"g_loss", "d_loss", "d_real", "d_fake", "gp"}


def test_experience_replay_fills_then_mixes_old_fakes():
    torch.manual_seed(0)
    model = build_model(GANConfig(**SMALL, replay=6, replay_fraction=0.5), (1, 8, 8))
    first = torch.full((4, 1, 8, 8), 0.25)
    kept, _ = replayed(model, first, None)  # filling: the fakes pass, the first 4 are kept
    assert torch.equal(kept, first) and int(model.replay_count) == 4
    replayed(model, torch.full((4, 1, 8, 8), 0.5), None)  # 2 more fill the buffer
    assert int(model.replay_count) == 6
    assert sorted(model.replay_images[:, 0, 0, 0].tolist()) == [0.25] * 4 + [0.5] * 2
    new = torch.full((4, 1, 8, 8), -1.0)
    mixed, _ = replayed(model, new, None)  # full: half of the batch is old fakes
    values = mixed[:, 0, 0, 0].tolist()
    assert all(v in (0.25, 0.5) for v in values[:2]) and values[2:] == [-1.0, -1.0]
    assert (model.replay_images[:, 0, 0, 0] == -1.0).sum() == 4  # the new ones stored


def test_frozen_restores_batch_norm_tracking():
    bn = nn.BatchNorm2d(3).train()
    with frozen(bn):
        bn(torch.randn(4, 3, 2, 2))
        assert not bn.track_running_stats
    assert bn.track_running_stats and int(bn.num_batches_tracked) == 0
    assert torch.equal(bn.running_mean, torch.zeros(3))


def test_spectral_norm_bounds_the_largest_singular_value():
    torch.manual_seed(0)
    layer = nn.Linear(20, 10)
    with torch.no_grad():
        layer.weight.mul_(30)  # a largest singular value far above 1
    assert float(torch.linalg.matrix_norm(layer.weight.detach(), ord=2)) > 5
    apply_spectral_norm(layer)
    for _ in range(30):  # power iterations, one per training forward
        layer(torch.randn(2, 20))
    sigma = float(torch.linalg.matrix_norm(layer.weight.detach(), ord=2))
    assert sigma <= 1 + 1e-4 and sigma > 1 - 1e-2


def test_ema_copy_follows_the_decay():
    torch.manual_seed(0)
    model = build_model(GANConfig(**SMALL, ema=0.9), (1, 8, 8)).train()
    opt = model.configure_optimizers(OptimConfig("adam", lr=1e-2))
    assert all(torch.equal(a, p) for a, p in zip(model.generator_ema.parameters(),
                                                 model.generator.parameters()))
    # the warm-up: decay (1 + t) / (10 + t) at update t, until it reaches model.ema
    assert [model.ema_decay(t) for t in (0, 1, 80, 81, 10**6)] == [0.1, 2 / 11, 81 / 90, 0.9, 0.9]
    model.ema_updates.fill_(81)
    old = [p.clone() for p in model.generator_ema.parameters()]
    model.training_step(Batch(torch.rand(16, 1, 8, 8) * 2 - 1), opt, 0)
    assert int(model.ema_updates) == 82
    for a, o, p in zip(model.generator_ema.parameters(), old, model.generator.parameters()):
        assert torch.allclose(a, 0.9 * o + 0.1 * p, atol=1e-7, rtol=0)
    assert not all(torch.equal(a, p) for a, p in zip(model.generator_ema.parameters(),
                                                     model.generator.parameters()))
    for a, b in zip(model.generator_ema.buffers(), model.generator.buffers()):
        assert torch.equal(a, b)  # batch-norm statistics are copied
    z = torch.randn(4, 8)  # sampling uses the average
    model.eval()
    assert torch.equal(model.decode(z), model.generator_ema(z))


# -- networks ----------------------------------------------------------------------------------
def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("preset, g_params, d_params", [
    # Keras' summaries of the book's models (trainable parameters):
    # G 30*100+100 + 100*150+150 + 150*784+784; D 784*150+150 + 150*100+100 + 100+1
    ("book/gan", 136_634, 132_951),
    # G 100*6272+6272 + BN 2*128 + 128*64*25+64 + BN 2*64 + 64*25+1; D 25*64+64 + 64*128*25+128 + 6272+1
    ("book/dcgan", 840_321, 212_865),
])
def test_book_networks_have_the_books_parameter_counts(preset, g_params, d_params):
    config = get_preset(preset)
    model = build_model(config.model, (1, 28, 28))
    assert (_count(model.generator), _count(model.discriminator)) == (g_params, d_params)
    lo, hi = model.value_range
    x = model.sample(5, torch.Generator().manual_seed(0))
    assert x.shape == (5, 1, 28, 28) and lo <= float(x.min()) and float(x.max()) <= hi


@pytest.mark.parametrize("shape, g_channels, d_channels", [
    ((1, 28, 28), [32, 16], [16, 32]), ((3, 32, 32), [32, 16, 8], [8, 16, 32]),
])
def test_dcgan_builder_takes_other_sizes_and_channels(shape, g_channels, d_channels):
    config = GANConfig(net="dcgan", value_range="symmetric", z_dim=8, g_channels=g_channels,
                       d_channels=d_channels, spectral_norm=True, minibatch_std=True)
    model = build_model(config, shape)
    x = model.sample(3)
    assert x.shape == (3, *shape)
    assert model.discriminator(x).shape == (3,)


# -- conditional --------------------------------------------------------------------------------
def test_conditional_samples_follow_the_labels():
    torch.manual_seed(0)
    model = build_model(GANConfig(**SMALL, num_classes=4), (1, 8, 8)).eval()
    z = torch.randn(6, 8)
    by_one = model.decode(z, labels=2)
    by_list = model.decode(z, labels=torch.full((6,), 2))
    assert by_one.shape == (6, 1, 8, 8) and torch.equal(by_one, by_list)
    assert not torch.allclose(by_one, model.decode(z, labels=3))  # the label changes the image
    # the one-hot code is what G sees: feeding it by hand gives the same images
    one_hot = torch.nn.functional.one_hot(torch.full((6,), 2), 4).float()
    assert torch.equal(model.generator.body(torch.cat([z, one_hot], 1)), by_one)
    assert model.discriminator(by_one, torch.full((6,), 2)).shape == (6,)


# -- runs: exact resume, save / load, commands -------------------------------------------------
def _run_config(epochs: int) -> RunConfig:
    model = GANConfig(**SMALL, num_classes=10, ema=0.9, replay=40, spectral_norm=True,
                      minibatch_std=True, label_smoothing=0.1)
    return RunConfig(model=model, data=DataConfig("digits", limit=96, scale="symmetric"),
                     optim=OptimConfig("adam", lr=2e-3, betas=(0.5, 0.999)),
                     train=TrainConfig(epochs=epochs, batch_size=32, seed=3))


def test_resume_is_exact_and_the_run_loads(tmp_path, cli):
    whole = api.train(_run_config(3), tmp_path / "whole", progress=False)
    part = api.train(_run_config(2), tmp_path / "part", progress=False)
    (part / "model.safetensors").unlink()  # as if stopped after epoch 2 of 3
    api.resume(part, epochs=3, progress=False)
    a, _ = load_safetensors(whole / "model.safetensors")
    b, _ = load_safetensors(part / "model.safetensors")
    assert a.keys() == b.keys() and any("replay_images" in k for k in a)
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    assert sorted(p.name for p in (whole / "samples").iterdir()) == [
        "epoch_001.png", "epoch_002.png", "epoch_003.png"]
    history = (whole / "history.jsonl").read_text()
    assert "train_d_loss" in history and "train_g_loss" in history
    _, model = load_run(whole)  # save / load round trip: the same samples
    again = build_model(_run_config(3).model, (1, 8, 8))
    again.load_state_dict(a)
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(model.sample(4, gen, labels=1),
                       again.eval().sample(4, torch.Generator().manual_seed(0), labels=1))
    result = cli("generate", whole, "--label", "7", "-n", "5", "--npy", "s.npy", "--out", "s.png")
    assert result.code == 0, result.err
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (5, 1, 8, 8) and samples.min() >= -1 and samples.max() <= 1
    result = cli("augment", whole, "--per-class", "3", "--out", "aug.npz")
    assert result.code == 0, result.err
    with np.load(tmp_path / "aug.npz") as aug:
        assert aug["x"].shape == (30, 1, 8, 8) and aug["x"].min() >= 0 and aug["x"].max() <= 1
        assert aug["y"].tolist() == [c for c in range(10) for _ in range(3)]


def test_traversal_holds_a_gans_other_codings_at_a_prior_sample(monkeypatch):
    import matplotlib.pyplot as plt

    from aegan import generation

    torch.manual_seed(0)
    model = build_model(GANConfig(**SMALL), (1, 8, 8)).eval()
    bases = []
    sweep = generation.traversal
    monkeypatch.setattr(generation, "traversal",
                        lambda m, dims, steps, span, base=None: bases.append(base)
                        or sweep(m, dims, steps, span, base))
    fig = generation.traversal_figure(model, [1], steps=3, seed=5)
    expected = model.sample_codings(1, torch.Generator().manual_seed(5))[0]
    assert torch.equal(bases[0], expected) and expected.norm() > 1  # not the origin
    assert any("one sample of the prior" in t.get_text() for t in fig.findobj(plt.Text))
    plt.close(fig)
    rows = sweep(model, [1], 3, 3.0, expected)  # the row: the sample with z[1] swept
    z = expected.repeat(3, 1)
    z[:, 1] = torch.linspace(-3, 3, 3)
    np.testing.assert_allclose(rows, model.decode(z).numpy(), atol=1e-6)


def test_symmetric_scale_maps_pixels_to_minus_one_one():
    from aegan.data import load_dataset

    unit, sym = load_dataset("digits"), load_dataset("digits", scale="symmetric")
    assert sym.value_range == (-1.0, 1.0)
    assert np.allclose(sym.train.inputs, 2 * unit.train.inputs - 1)


# -- bad input ---------------------------------------------------------------------------------
def _gan_run(num_classes: int):
    def setup(env) -> None:
        write_run(env.tmp / "gan", GANConfig(**SMALL, num_classes=num_classes))

    return setup


def _config(text: str):
    return lambda env: (env.tmp / "cfg.json").write_text(text)


BAD = {
    "label on an unconditional model": Bad(["generate", "gan", "--label", "1", "--out", "s.png"],
                                           "lacks the ConditionalSampler capability", "cgan",
                                           _gan_run(0)),
    "label outside the classes": Bad(["generate", "gan", "--label", "4", "--out", "s.png"],
                                     "--label 4 is not a class", "choose 0 to 3", _gan_run(4)),
    "negative label": Bad(["generate", "gan", "--label", "-1", "--npy", "s.npy"],
                          "--label -1 is not a class", "choose 0 to 3", _gan_run(4)),
    "augment an unconditional model": Bad(["augment", "gan", "--per-class", "2", "--out", "a.npz"],
                                          "lacks the ConditionalSampler capability", "cgan",
                                          _gan_run(0)),
    "augment into a .npy": Bad(["augment", "gan", "--per-class", "2", "--out", "a.npy"],
                               "must name a .npz", "add .npz", _gan_run(4)),
    "augment zero per class": Bad(["augment", "gan", "--per-class", "0", "--out", "a.npz"],
                                  "--per-class must be at least 1", "at least 1", _gan_run(4)),
    "preset of another image size": Bad(["train", "book/dcgan", "--data", "digits"],
                                        "28x28 images", "net 'dcgan'"),
    "dcgan that cannot halve the size": Bad(
        ["train", "cfg.json"], "cannot be halved 4 times", "channel widths",
        _config('{"model": {"family": "gan", "net": "dcgan", "value_range": "symmetric", '
                '"g_channels": [8, 8, 8, 8]}, "data": {"name": "digits", "scale": "symmetric"}}')),
    "range of the data and the GAN differ": Bad(
        ["train", "cfg.json"], "needs values in [-1, 1]", "drop data.scale",
        _config('{"model": {"family": "gan", "value_range": "symmetric"}, '
                '"data": {"name": "digits", "scale": "unit"}}')),
    "conditional GAN with too few classes": Bad(
        ["train", "cfg.json"], "labels up to 9", "set model.num_classes to 10",
        _config('{"model": {"family": "gan", "num_classes": 3}, "data": {"name": "digits"}}')),
    "GAN on unbounded data": Bad(["train", "book/gan", "--data", "book-3d"],
                                 "needs values in [0, 1]", "scale other data to [0, 1]"),
    "unknown GAN loss": Bad(["train", "cfg.json"], "unknown model.loss 'wgan'", "wgan-gp",
                            _config('{"model": {"family": "gan", "loss": "wgan"}}')),
    "unknown data scale": Bad(["train", "cfg.json"], "unknown data.scale 'pm1'", "symmetric",
                              _config('{"model": {"family": "gan"}, "data": {"scale": "pm1"}}')),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_gan_input_is_one_line_exit_2(cli, tmp_path, monkeypatch, case):
    from tests.test_bad_input import Env

    bad = BAD[case]
    (tmp_path / "taken").mkdir()
    if bad.setup:
        bad.setup(Env(tmp_path, monkeypatch, []))
    assert_refused(cli, tmp_path, bad)
