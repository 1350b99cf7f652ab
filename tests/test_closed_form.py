"""The closed-form training steps of :mod:`aegan.models.closed_form` (``train.closed_form``):
their losses and gradients equal autograd's for every option they cover, they train to the same
weights, plain SGD's update folded into the products only where the Trainer allows it, and
every other model is left to autograd."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from aegan.config import OptimConfig
from aegan.data import Batch
from aegan.models import AutoencoderConfig, GANConfig, VAEConfig, build_model, closed_form
from aegan.models.gan import GAN
from aegan.train import fast
from tests.test_fast_paths import IMAGES, TRAIN, _assert_same, _train

DENSE = AutoencoderConfig(encoder=[16, 4])
OFF = dataclasses.replace(TRAIN, closed_form="off")


def _step(model, optimizer, fold_sgd=True):
    chains = closed_form.autoencoder_chains(model)
    return closed_form.AutoencoderStep(model, chains, optimizer, fold_sgd)




@pytest.mark.parametrize("activation", ["selu", "relu", "elu", "leaky_relu", "tanh", "sigmoid",
                                        "gelu", "linear"])
@pytest.mark.parametrize("loss,output", [("bce", "sigmoid"), ("mse", "sigmoid"),
                                         ("mse", "linear")])
def test_closed_form_gives_autograds_gradients(activation, loss, output):
    torch.manual_seed(0)
    cfg = AutoencoderConfig(encoder=[16, 4], decoder=[8, 16], activation=activation,
                            coding_activation="tanh", loss=loss, output=output)
    model = build_model(cfg, IMAGES.shape[1:])
    x = Batch(torch.from_numpy(IMAGES[:16]))
    model.zero_grad()
    want = model.training_step(x, {"model": torch.optim.SGD(model.parameters(), lr=0.0)}, 0)
    ref = {n: p.grad.clone() for n, p in model.named_parameters()}
    chains = closed_form.autoencoder_chains(model)
    assert chains is not None and [len(c) for c in chains] == [2, 3]  # 144-16-4 / 4-8-16-144
    got = _step(model, torch.optim.Adam(model.parameters(), lr=0.0))(x, 0)
    assert float(got["loss"]) == pytest.approx(float(want["loss"]), rel=1e-6)
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, ref[name], rtol=1e-5, atol=1e-7, msg=name)


# the book's denoising (17.6), tied (17.4), sparse (17.7) and hashing (exercise 17.11) models
AE_OPTIONS = [{"input_noise": 0.2}, {"input_dropout": 0.5},
              {"input_noise": 0.1, "input_dropout": 0.3}, {"tied": True},
              {"tied": True, "encoder": [16, 8, 4], "activation": "elu"},
              {"coding_activation": "sigmoid", "coding_noise": 3.0},
              {"coding_activation": "sigmoid", "sparsity": "l1", "sparsity_weight": 0.05},
              {"coding_activation": "sigmoid", "sparsity": "kl", "sparsity_weight": 0.5,
               "sparsity_target": 0.1},
              {"activation": "sigmoid", "sparsity": "kl", "sparsity_weight": 0.5, "tied": True,
               "input_dropout": 0.2, "loss": "mse", "output": "linear"}]


@pytest.mark.parametrize("change", AE_OPTIONS, ids=str)
def test_closed_form_covers_noise_dropout_tied_and_sparsity(change):
    torch.manual_seed(0)
    model = build_model(dataclasses.replace(DENSE, **change), IMAGES.shape[1:])
    both = _grads_both_ways(model, _zero_lr(model), Batch(torch.from_numpy(IMAGES[:16])))
    _assert_same_grads(both)
    (want, _), _ = both
    if change.get("sparsity"):
        assert float(want["sparsity"]) > 0


def test_only_plain_sgd_is_folded_into_the_products_and_only_when_allowed():
    model = build_model(DENSE, IMAGES.shape[1:])
    params = list(model.parameters())
    sgd = torch.optim.SGD([{"params": params[:2]}, {"params": params[2:], "lr": 0.5}], lr=1.0)
    assert closed_form.plain_sgd_rates(sgd) == {id(p): 1.0 if i < 2 else 0.5
                                                for i, p in enumerate(params)}
    for other in (torch.optim.SGD(params, lr=1.0, momentum=0.9),
                  torch.optim.SGD(params, lr=1.0, weight_decay=1e-4),
                  torch.optim.SGD(params, lr=1.0, maximize=True),
                  torch.optim.Adam(params, lr=1.0)):
        assert closed_form.plain_sgd_rates(other) is None
    x = Batch(torch.from_numpy(IMAGES[:8]))
    _step(model, torch.optim.SGD(params, lr=1.0))(x, 0)
    assert all(p.grad is None for p in params)  # updated in place: no gradient kept
    # the Trainer forbids the fold when it hooks the optimizers (torchrun's gradient averaging),
    # so that optimizer.step() and its hooks run
    hooked = torch.optim.SGD(params, lr=1.0)
    calls = []
    hooked.register_step_pre_hook(lambda *args: calls.append(1))
    step = fast.step_function(model, {"model": hooked}, TRAIN, torch.device("cpu"), "constant",
                              fold_sgd=False)
    step(x, 0)
    assert calls == [1] and all(p.grad is not None for p in params)


def test_kl_sparsity_gradient_is_zero_where_the_mean_is_clamped():
    from aegan.models.autoencoder import kl_sparsity

    a = torch.tensor([[0.0, 0.5, 1.0], [0.0, 0.3, 1.0]], requires_grad=True)
    kl_sparsity(a, 0.1).mul(2.0).backward()
    got = closed_form._kl_gradient(a.detach(), 2.0, 0.1)
    assert got[:, 0].eq(0).all() and got[:, 2].eq(0).all()  # means 0 and 1: clamped
    # d/drho of 2 KL(0.1 || rho) at rho 0.4, over 2 examples: (0.9 / 0.6 - 0.1 / 0.4) = 1.25
    assert got[:, 1] == pytest.approx([1.25, 1.25], rel=1e-6)
    torch.testing.assert_close(got, a.grad)


@pytest.mark.parametrize("change,optim", [
    ({}, OptimConfig("adam", lr=1e-2)), ({}, OptimConfig("sgd", lr=1.0)),
    (AE_OPTIONS[2], OptimConfig("sgd", lr=1.0)), (AE_OPTIONS[4], OptimConfig("sgd", lr=1.0)),
    (AE_OPTIONS[7], OptimConfig("adam", lr=1e-2))], ids=str)
def test_closed_form_trains_like_autograd(change, optim):
    # plain SGD: the update folded into the products (plain_sgd_rates), except with tied weights
    cfg = dataclasses.replace(DENSE, **change)
    hand = _train(cfg, optim, TRAIN)
    off = _train(cfg, optim, OFF)
    _assert_same(hand, off, atol=1e-5)
    assert hand[0][0].keys() == off[0][0].keys()  # the same losses logged
    assert hand[0][-1]["train_loss"] < hand[0][0]["train_loss"]  # it does learn


@pytest.mark.parametrize("change", [{"net": "conv", "encoder": [4, 8]},
                                    {"net": "recurrent", "encoder": [8, 4]}], ids=str)
def test_closed_form_leaves_other_models_to_autograd(change):
    cfg = dataclasses.replace(DENSE, **change)
    x = IMAGES[:, :1] if change["net"] == "recurrent" else IMAGES
    assert closed_form.autoencoder_chains(build_model(cfg, x.shape[1:])) is None
    torch_dropout = build_model(DENSE, IMAGES.shape[1:])
    torch_dropout.encoder.insert(0, torch.nn.Dropout(0.2))  # torch's: another random stream
    assert closed_form.autoencoder_chains(torch_dropout) is None
    model = build_model(VAEConfig(net="conv", encoder=[4]), IMAGES.shape[1:])
    step = fast.step_function(model, model.configure_optimizers(OptimConfig("adam")), TRAIN,
                              torch.device("cpu"), "constant")
    assert not isinstance(step, closed_form.VAEStep)
    dense = build_model(DENSE, IMAGES.shape[1:])
    opts = dense.configure_optimizers(OptimConfig("adam"))
    assert isinstance(fast.step_function(dense, opts, TRAIN, torch.device("cpu"), "constant"),
                      closed_form.AutoencoderStep)
    assert not isinstance(fast.step_function(dense, opts, OFF, torch.device("cpu"), "constant"),
                          closed_form.AutoencoderStep)


# -- the hand-derived steps of dense GANs and VAEs ------------------------------------------------
def _spec(shape, value_range=(0.0, 1.0), classes=0):
    from aegan.data import ExampleSpec

    shapes = {"inputs": tuple(shape), **({"labels": ()} if classes else {})}
    return ExampleSpec("images", shapes, value_range, classes)


def _grads_both_ways(model, optimizers, x, step=3):
    """(autograd's losses and gradients, the closed form's), from the same weights and seed;
    the learning rates are 0, so the weights stay put between the two."""
    start = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(5)
    want = model.training_step(x, optimizers, step)
    ref = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.load_state_dict(start)
    for opt in optimizers.values():
        opt.zero_grad(set_to_none=True)
    hand = model.closed_form_step(optimizers, fold_sgd=True)
    assert hand is not None
    torch.manual_seed(5)
    got = hand(x, step)
    return (want, ref), (got, {n: p.grad.clone() for n, p in model.named_parameters()})


def _assert_same_grads(both):
    (want, ref), (got, grads) = both
    assert got.keys() == want.keys()
    for key in want:
        assert float(got[key]) == pytest.approx(float(want[key]), rel=1e-6, abs=1e-7), key
    assert grads.keys() == ref.keys()
    for name in ref:
        assert float(ref[name].abs().max()) > 0, name  # every weight does get a gradient
        torch.testing.assert_close(grads[name], ref[name], rtol=1e-5, atol=1e-7, msg=name)


def _zero_lr(model):
    players = ({"generator": model.generator, "discriminator": model.discriminator}
               if isinstance(model, GAN) else {"model": model})
    # Adam, not SGD: plain SGD's update would be folded into the products, leaving no p.grad
    return {k: torch.optim.Adam(m.parameters(), lr=0.0) for k, m in players.items()}


@pytest.mark.parametrize("change", [{}, {"loss": "bce-minimax"}, {"loss": "lsgan"},
                                    {"loss": "hinge"}, {"label_smoothing": 0.1},
                                    {"value_range": "symmetric", "n_critic": 2}], ids=str)
def test_gan_closed_form_gives_autograds_gradients(change):
    symmetric = change.get("value_range") == "symmetric"
    torch.manual_seed(0)
    model = build_model(GANConfig(z_dim=5, **change),
                        _spec(IMAGES.shape[1:], (-1.0, 1.0) if symmetric else (0.0, 1.0)))
    x = torch.from_numpy(IMAGES[:16])
    x = 2 * x - 1 if symmetric else x
    _assert_same_grads(_grads_both_ways(model, _zero_lr(model), Batch(x)))


@pytest.mark.parametrize("change", [{}, {"kl_weight": 0.5, "kl_warmup": 10},
                                    {"binarize": True, "activation": "relu", "decoder": [7]}],
                         ids=str)
def test_vae_closed_form_gives_autograds_gradients(change):
    torch.manual_seed(0)
    model = build_model(VAEConfig(encoder=[20, 10], z_dim=3, **change), IMAGES.shape[1:])
    x = Batch(torch.from_numpy(IMAGES[:16]))
    _assert_same_grads(_grads_both_ways(model, _zero_lr(model), x))


@pytest.mark.parametrize("model_cfg,optim", [
    ("gan", OptimConfig("rmsprop", lr=1e-3, rho=0.9, eps=1e-7)),
    ("gan-ema", OptimConfig("adam", lr=1e-3)),
    ("vae", OptimConfig("rmsprop", lr=1e-3, rho=0.9, eps=1e-7))], ids=lambda v: str(v)[:7])
def test_gan_and_vae_closed_form_train_like_autograd(model_cfg, optim):
    cfg = {"gan": GANConfig(z_dim=5), "gan-ema": GANConfig(z_dim=5, ema=0.9, n_critic=2),
           "vae": VAEConfig(encoder=[20, 10], z_dim=3)}[model_cfg]
    model = build_model(cfg, IMAGES.shape[1:])
    step = fast.step_function(model, model.configure_optimizers(optim), TRAIN,
                              torch.device("cpu"), "constant")
    wanted = closed_form.GANStep if model_cfg.startswith("gan") else closed_form.VAEStep
    assert isinstance(step, wanted)
    hand = _train(cfg, optim, TRAIN)
    off = _train(cfg, optim, OFF)
    _assert_same(hand, off, atol=1e-5)
    assert hand[0][0].keys() == off[0][0].keys()  # the same losses logged


@pytest.mark.parametrize("change", [{"replay": 8}, {"num_classes": 3}, {"spectral_norm": True},
                                    {"minibatch_std": True}, {"loss": "wgan-gp"},
                                    {"net": "dcgan", "g_channels": [4], "d_channels": [4]}],
                         ids=str)
def test_gan_closed_form_leaves_other_gans_to_autograd(change):
    assert closed_form.gan_chains(build_model(GANConfig(z_dim=5), IMAGES.shape[1:])) is not None
    spec = _spec(IMAGES.shape[1:], classes=3 if change.get("num_classes") else 0)
    model = build_model(GANConfig(z_dim=5, **change), spec)
    assert closed_form.gan_chains(model) is None
    optimizers = model.configure_optimizers(OptimConfig("adam"))
    assert model.closed_form_step(optimizers, fold_sgd=True) is None


@pytest.mark.parametrize("change", [{"iw_samples": 2}, {"likelihood": "gaussian"},
                                    {"net": "conv", "encoder": [4, 8]}], ids=str)
def test_vae_closed_form_leaves_other_vaes_to_autograd(change):
    cfg = dataclasses.replace(VAEConfig(encoder=[20, 10], z_dim=3), **change)
    model = build_model(cfg, IMAGES.shape[1:])
    assert closed_form.vae_chains(model) is None
    optimizers = model.configure_optimizers(OptimConfig("adam"))
    assert model.closed_form_step(optimizers, fold_sgd=True) is None


def test_a_subclass_that_changes_the_step_does_not_inherit_the_closed_form():
    """The contract: a family's closed form is its own training_step's; a subclass that
    changes training_step overrides closed_form_step (here: returns None)."""
    from aegan.models.autoencoder import Autoencoder

    class Doubled(Autoencoder):
        def training_step(self, batch, optimizers, step):
            return super().training_step(Batch(batch.inputs * 2), optimizers, step)

        def closed_form_step(self, optimizers, fold_sgd):
            return None

    model = Doubled(DENSE, IMAGES.shape[1:])
    step = fast.step_function(model, model.configure_optimizers(OptimConfig("adam")), TRAIN,
                              torch.device("cpu"), "constant")
    assert not isinstance(step, closed_form.AutoencoderStep)
