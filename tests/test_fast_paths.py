"""The Trainer's fast paths change speed, not results: a few steps with each path on and off
give the same losses and weights (exactly up to rounding for foreach / fused / channels-last /
compile; within a stated tolerance for bf16), and the CUDA-graph path is never taken on the CPU.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from aegan.config import OptimConfig, TrainConfig
from aegan.models import AutoencoderConfig, VAEConfig, build_model
from aegan.models.dense_step import DenseStep, dense_chain
from aegan.train import Trainer, fast

RNG = np.random.RandomState(0)
IMAGES = RNG.rand(80, 1, 12, 12).astype(np.float32)  # [N, C, H, W] in [0, 1]
DENSE = AutoencoderConfig(encoder=[16, 4])
CONV = AutoencoderConfig(net="conv", encoder=[4, 8])


def _train(model_cfg, optim: OptimConfig, train: TrainConfig, x=IMAGES):
    """Seeded model, ``train.epochs`` epochs on ``x``: (history, weights)."""
    torch.manual_seed(0)
    model = build_model(model_cfg, x.shape[1:])
    history = Trainer(model, train, optim, progress=False).fit(x)
    return history, {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_same(a, b, atol: float) -> None:
    (hist_a, w_a), (hist_b, w_b) = a, b
    assert [r["train_loss"] for r in hist_a] == pytest.approx([r["train_loss"] for r in hist_b],
                                                               abs=atol)
    assert w_a.keys() == w_b.keys()
    worst = max(float((w_a[k] - w_b[k]).abs().max()) for k in w_a)
    assert worst <= atol, worst


TRAIN = TrainConfig(epochs=2, batch_size=16, device="cpu")


@pytest.mark.parametrize("optim", [OptimConfig("sgd", lr=0.5, momentum=0.9),
                                   OptimConfig("adam", lr=1e-2), OptimConfig("adamw", lr=1e-2),
                                   OptimConfig("rmsprop", lr=1e-3, rho=0.9, eps=1e-7)],
                         ids=lambda o: o.name)
@pytest.mark.parametrize("kernels", ["foreach", "fused"])
def test_optimizer_kernels_match_the_for_loop(optim, kernels):
    loop = _train(DENSE, dataclasses.replace(optim, kernels="loop"), TRAIN)
    other = _train(DENSE, dataclasses.replace(optim, kernels=kernels), TRAIN)
    _assert_same(loop, other, atol=1e-6)


def test_auto_kernels_follow_the_device_and_the_optimizer():
    from aegan.optim import FusedRMSprop, make_optimizer

    def make(name, kernels="auto", **kw):
        return make_optimizer([torch.nn.Parameter(torch.zeros(2))],
                              OptimConfig(name, kernels=kernels, **kw))

    # CPU, auto: foreach for plain SGD; fused for SGD with momentum, Adam, AdamW and RMSprop
    assert make("sgd").defaults["foreach"] and not make("sgd").defaults["fused"]
    assert make("sgd", momentum=0.9).defaults["fused"]
    assert make("adam").defaults["fused"] and make("adamw").defaults["fused"]
    assert type(make("rmsprop")) is FusedRMSprop
    assert type(make("rmsprop", momentum=0.9)) is torch.optim.RMSprop  # no fused form
    assert type(make("rmsprop", "foreach")) is torch.optim.RMSprop
    assert not make("adam", "loop").defaults["foreach"] and not make("adam", "loop").defaults["fused"]


def _rmsprop_pair(shapes, **kw):
    """The same parameters twice, under torch.optim.RMSprop (for-loop) and FusedRMSprop."""
    from aegan.optim import FusedRMSprop

    gen = torch.Generator().manual_seed(0)
    ref = [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in shapes]
    ref[-1].data = ref[-1].data.contiguous(memory_format=torch.channels_last)
    fused = [torch.nn.Parameter(p.detach().clone()) for p in ref]
    def groups(ps):
        return [{"params": ps[:1], "lr": 3e-3}, {"params": ps[1:]}]

    return (ref, torch.optim.RMSprop(groups(ref), foreach=False, **kw),
            fused, FusedRMSprop(groups(fused), **kw))


def _rmsprop_steps(pairs, n, gen):
    for _ in range(n):
        grads = [torch.randn(p.shape, generator=gen) for p in pairs[0][0]]
        for params, opt in pairs:
            for p, g in zip(params, grads):
                p.grad = g.clone()
            opt.step()


SHAPES = [(7, 5), (5,), (3, 2, 4, 4)]


@pytest.mark.parametrize("kw", [{"lr": 1e-2, "alpha": 0.9, "eps": 1e-7},
                                {"lr": 1e-2, "alpha": 0.99, "weight_decay": 0.1, "maximize": True}],
                         ids=["keras", "decay-maximize"])
def test_fused_rmsprop_is_rmsprop(kw):
    ref, ref_opt, fused, fused_opt = _rmsprop_pair(SHAPES, **kw)
    start = [p.detach().clone() for p in fused]
    gen = torch.Generator().manual_seed(1)
    _rmsprop_steps([(ref, ref_opt), (fused, fused_opt)], 6, gen)
    for a, b, b0 in zip(ref, fused, start):
        # each step moves a weight by up to lr / sqrt(1 - alpha): far more than the tolerance
        assert float((b.detach() - b0).abs().max()) > 1e-2
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6), float((a - b).abs().max())
        sa, sb = ref_opt.state[a], fused_opt.state[b]
        assert float(sa["step"]) == float(sb["step"]) == 6
        assert torch.allclose(sa["square_avg"], sb["square_avg"], rtol=1e-5, atol=1e-8)


def test_fused_rmsprop_checkpoints_load_into_torch_rmsprop_and_back():
    kw = {"lr": 1e-2, "alpha": 0.9, "eps": 1e-7}
    ref, ref_opt, fused, fused_opt = _rmsprop_pair(SHAPES, **kw)
    gen = torch.Generator().manual_seed(2)
    _rmsprop_steps([(ref, ref_opt), (fused, fused_opt)], 3, gen)
    # swap the optimizers' states: each continues from the other's checkpoint
    ref_state, fused_state = ref_opt.state_dict(), fused_opt.state_dict()
    ref_opt.load_state_dict(fused_state)
    fused_opt.load_state_dict(ref_state)
    _rmsprop_steps([(ref, ref_opt), (fused, fused_opt)], 3, gen)
    for a, b in zip(ref, fused):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)
        assert float(fused_opt.state[b]["step"]) == 6


def test_channels_last_matches_the_default_layout():
    optim = OptimConfig("sgd", lr=0.5)
    off = _train(CONV, optim, dataclasses.replace(TRAIN, channels_last="off"))
    on = _train(CONV, optim, dataclasses.replace(TRAIN, channels_last="on"))
    _assert_same(off, on, atol=1e-5)


def test_channels_last_auto_follows_the_model():
    auto = TrainConfig(channels_last="auto")
    assert fast.channels_last_on(build_model(CONV, (1, 12, 12)), auto)
    assert not fast.channels_last_on(build_model(DENSE, (1, 12, 12)), auto)
    conv = build_model(CONV, (1, 12, 12))
    fast.prepare_model(conv, auto)
    weights = [p for p in conv.parameters() if p.dim() == 4]
    assert weights and all(p.is_contiguous(memory_format=torch.channels_last) for p in weights)


def test_bf16_stays_close_to_fp32_and_logs_fp32():
    optim = OptimConfig("sgd", lr=0.5)
    fp32 = _train(CONV, optim, TRAIN)
    bf16 = _train(CONV, optim, dataclasses.replace(TRAIN, precision="bf16"))
    # bf16 keeps 8 bits of mantissa (relative rounding 2^-9 = 0.002 per operation); after 10
    # steps the mean BCE of these images (about 0.69) agrees to 1%, every weight to 0.02.
    for a, b in zip(fp32[0], bf16[0]):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-2)
        assert b["train_loss"] != a["train_loss"]  # autocast did run in bf16
    assert all(v.dtype == torch.float32 for v in bf16[1].values())
    worst = max(float((fp32[1][k] - bf16[1][k]).abs().max()) for k in fp32[1])
    assert worst < 2e-2


def test_bf16_step_returns_fp32_losses():
    model = build_model(DENSE, (1, 12, 12))
    optimizers = model.configure_optimizers(OptimConfig("sgd", lr=0.1))
    step = fast.step_function(model, optimizers, TrainConfig(precision="bf16", device="cpu"),
                              torch.device("cpu"), "constant")
    out = step((torch.from_numpy(IMAGES[:8]),), 0)
    assert out["loss"].dtype == torch.float32


def test_compile_matches_eager(monkeypatch):
    # aot_eager traces forward and backward as inductor does but skips its C++ code generation
    # (about 20 s on two cores); the Trainer's wiring is the same.
    monkeypatch.setitem(fast.COMPILE_OPTIONS, "backend", "aot_eager")
    optim = OptimConfig("sgd", lr=0.5)
    small = IMAGES[:32]
    eager = _train(DENSE, optim, dataclasses.replace(TRAIN, epochs=1), small)
    compiled = _train(DENSE, optim, dataclasses.replace(TRAIN, epochs=1, compile=True), small)
    _assert_same(eager, compiled, atol=1e-5)  # and the same state-dict keys
    model = build_model(DENSE, (1, 12, 12))
    fast.prepare_model(model, TrainConfig(compile=True))
    assert "forward" in vars(model.encoder)  # an instance attribute: the compiled forward


def test_cuda_graph_is_never_taken_on_the_cpu():
    model = build_model(DENSE, (1, 12, 12))
    assert model.step_capturable
    cfg = TrainConfig(device="cpu", cuda_graph="auto")
    assert not fast.graph_possible(model, cfg, torch.device("cpu"), "constant")
    optimizers = model.configure_optimizers(OptimConfig("sgd", lr=0.1))
    step = fast.step_function(model, optimizers, cfg, torch.device("cpu"), "constant")
    assert not isinstance(step, fast.GraphedStep)


def test_models_declare_whether_their_step_is_capturable():
    assert build_model(VAEConfig(encoder=[8], z_dim=2), (1, 12, 12)).step_capturable
    warm = build_model(VAEConfig(encoder=[8], z_dim=2, kl_warmup=10), (1, 12, 12))
    assert not warm.step_capturable  # beta depends on the step
    assert not fast.graph_possible(warm, TrainConfig(), torch.device("cuda"), "constant")
    model = build_model(DENSE, (1, 12, 12))
    assert not fast.graph_possible(model, TrainConfig(), torch.device("cuda"), "cosine")
    assert not fast.graph_possible(model, TrainConfig(cuda_graph="off"), torch.device("cuda"),
                                   "constant")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("optim", [OptimConfig("sgd", lr=0.5), OptimConfig("adam", lr=1e-2)],
                         ids=lambda o: o.name)
def test_cuda_graph_matches_eager_on_the_gpu(optim):
    x = RNG.rand(200, 1, 12, 12).astype(np.float32)  # 12 full batches of 16 and one of 8
    train = TrainConfig(epochs=2, batch_size=16, device="cuda")
    eager = _train(DENSE, optim, dataclasses.replace(train, cuda_graph="off"), x)
    graph = _train(DENSE, optim, train, x)
    _assert_same(eager, graph, atol=1e-5)


def test_resume_is_exact_with_the_default_fast_paths(tmp_path):
    """A convolutional model (channels-last by default) stopped after one epoch and resumed
    ends bit for bit where a run that never stopped ends."""
    optim, train = OptimConfig("adam", lr=1e-2), dataclasses.replace(TRAIN, epochs=2)
    _, straight = _train(CONV, optim, train)
    torch.manual_seed(0)
    first = build_model(CONV, IMAGES.shape[1:])
    Trainer(first, dataclasses.replace(train, epochs=1), optim, tmp_path, progress=False).fit(IMAGES)
    torch.manual_seed(123)  # the resumed run's weights come from the checkpoint, not the seed
    resumed = build_model(CONV, IMAGES.shape[1:])
    Trainer(resumed, train, optim, tmp_path, progress=False).fit(IMAGES, resume=True)
    for key, value in resumed.state_dict().items():
        assert torch.equal(value, straight[key]), key


class _FakeStream:
    def wait_stream(self, other):
        pass


def test_failed_capture_falls_back_to_eager_with_one_log_line(monkeypatch, caplog):
    """The graph path's control flow with CUDA faked on the CPU: warm-up steps, then a capture
    that fails; every step still runs once, eagerly, so the result is the eager result."""
    import contextlib

    def no_capture(*args, **kwargs):
        raise RuntimeError("operation not permitted when stream is capturing")

    for name, value in (("Stream", _FakeStream), ("current_stream", _FakeStream),
                        ("stream", lambda s: contextlib.nullcontext()),
                        ("synchronize", lambda: None), ("CUDAGraph", object),
                        ("graph", no_capture)):
        monkeypatch.setattr(torch.cuda, name, value)
    x = torch.from_numpy(IMAGES[:72])  # 4 full batches of 16 and one of 8
    results = []
    for graphed in (False, True):
        torch.manual_seed(0)
        model = build_model(DENSE, (1, 12, 12))
        optimizers = model.configure_optimizers(OptimConfig("sgd", lr=0.5, momentum=0.9))
        eager = fast.step_function(model, optimizers, TRAIN, torch.device("cpu"), "constant")
        step = fast.GraphedStep(eager, optimizers, 16) if graphed else eager
        losses = [float(step((b,), i)["loss"]) for i, b in enumerate(x.split(16))]
        results.append((losses, [p.detach().clone() for p in model.parameters()]))
    assert results[0][0] == results[1][0]
    assert all(torch.equal(a, b) for a, b in zip(results[0][1], results[1][1]))
    assert step.failed and [r.levelname for r in caplog.records if "CUDA graph" in r.message] == ["WARNING"]


def test_a_capturable_optimizer_state_is_released_off_the_gpu():
    """A checkpoint of a CUDA-graph run holds ``capturable=True`` (a GPU-only mode of Adam);
    resumed on the CPU, the step turns it off and trains."""
    model = build_model(DENSE, (1, 12, 12))
    optimizers = model.configure_optimizers(OptimConfig("adam", lr=1e-2))
    for group in optimizers["model"].param_groups:
        group["capturable"] = True
    step = fast.step_function(model, optimizers, TRAIN, torch.device("cpu"), "constant")
    assert math.isfinite(float(step((torch.from_numpy(IMAGES[:8]),), 0)["loss"]))
    assert not any(g["capturable"] for g in optimizers["model"].param_groups)


# -- the hand-derived backward of dense autoencoders (aegan.models.dense_step) ------------------


@pytest.mark.parametrize("activation", ["selu", "relu", "elu", "leaky_relu", "tanh", "sigmoid",
                                        "gelu", "linear"])
@pytest.mark.parametrize("loss,output", [("bce", "sigmoid"), ("mse", "sigmoid"),
                                         ("mse", "linear")])
def test_hand_backward_gives_autograds_gradients(activation, loss, output):
    torch.manual_seed(0)
    cfg = AutoencoderConfig(encoder=[16, 4], decoder=[8, 16], activation=activation,
                            coding_activation="tanh", loss=loss, output=output)
    model = build_model(cfg, IMAGES.shape[1:])
    x = torch.from_numpy(IMAGES[:16])
    model.zero_grad()
    want = model.training_step((x,), {"model": torch.optim.SGD(model.parameters(), lr=0.0)}, 0)
    ref = {n: p.grad.clone() for n, p in model.named_parameters()}
    chains = dense_chain(model)
    assert chains is not None and [len(c) for c in chains] == [2, 3]  # 144-16-4 / 4-8-16-144
    got = DenseStep(model, chains, torch.optim.Adam(model.parameters(), lr=0.0))((x,), 0)
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
def test_hand_backward_covers_noise_dropout_tied_and_sparsity(change):
    torch.manual_seed(0)
    model = build_model(dataclasses.replace(DENSE, **change), IMAGES.shape[1:])
    both = _grads_both_ways(model, _zero_lr(model), torch.from_numpy(IMAGES[:16]))
    _assert_same_grads(both)
    (want, _), _ = both
    if change.get("sparsity"):
        assert float(want["sparsity"]) > 0


def test_only_plain_sgd_without_hooks_is_folded_into_the_products():
    from aegan.models.dense_step import plain_sgd_rates

    model = build_model(DENSE, IMAGES.shape[1:])
    params = list(model.parameters())
    sgd = torch.optim.SGD([{"params": params[:2]}, {"params": params[2:], "lr": 0.5}], lr=1.0)
    assert plain_sgd_rates(sgd) == {id(p): 1.0 if i < 2 else 0.5 for i, p in enumerate(params)}
    for other in (torch.optim.SGD(params, lr=1.0, momentum=0.9),
                  torch.optim.SGD(params, lr=1.0, weight_decay=1e-4),
                  torch.optim.SGD(params, lr=1.0, maximize=True),
                  torch.optim.Adam(params, lr=1.0)):
        assert plain_sgd_rates(other) is None
    step = DenseStep(model, dense_chain(model), torch.optim.SGD(params, lr=1.0))
    step((torch.from_numpy(IMAGES[:8]),), 0)
    assert all(p.grad is None for p in params)  # updated in place: no gradient kept
    sgd.register_step_pre_hook(lambda *args: None)  # as torchrun's gradient averaging does
    assert plain_sgd_rates(sgd) is None


def test_kl_sparsity_gradient_is_zero_where_the_mean_is_clamped():
    from aegan.models.autoencoder import kl_sparsity
    from aegan.models.dense_step import _kl_gradient

    a = torch.tensor([[0.0, 0.5, 1.0], [0.0, 0.3, 1.0]], requires_grad=True)
    kl_sparsity(a, 0.1).mul(2.0).backward()
    got = _kl_gradient(a.detach(), 2.0, 0.1)
    assert got[:, 0].eq(0).all() and got[:, 2].eq(0).all()  # means 0 and 1: clamped
    # d/drho of 2 KL(0.1 || rho) at rho 0.4, over 2 examples: (0.9 / 0.6 - 0.1 / 0.4) = 1.25
    assert got[:, 1] == pytest.approx([1.25, 1.25], rel=1e-6)
    torch.testing.assert_close(got, a.grad)


@pytest.mark.parametrize("change,optim", [
    ({}, OptimConfig("adam", lr=1e-2)), ({}, OptimConfig("sgd", lr=1.0)),
    (AE_OPTIONS[2], OptimConfig("sgd", lr=1.0)), (AE_OPTIONS[4], OptimConfig("sgd", lr=1.0)),
    (AE_OPTIONS[7], OptimConfig("adam", lr=1e-2))], ids=str)
def test_hand_backward_trains_like_autograd(change, optim):
    # plain SGD: the update folded into the products (plain_sgd_rates), except with tied weights
    cfg = dataclasses.replace(DENSE, **change)
    hand = _train(cfg, optim, TRAIN)
    off = _train(cfg, optim, dataclasses.replace(TRAIN, hand_backward="off"))
    _assert_same(hand, off, atol=1e-5)
    assert hand[0][0].keys() == off[0][0].keys()  # the same losses logged
    assert hand[0][-1]["train_loss"] < hand[0][0]["train_loss"]  # it does learn


@pytest.mark.parametrize("change", [{"net": "conv", "encoder": [4, 8]},
                                    {"net": "recurrent", "encoder": [8, 4]}], ids=str)
def test_hand_backward_leaves_other_models_to_autograd(change):
    cfg = dataclasses.replace(DENSE, **change)
    x = IMAGES[:, :1] if change["net"] == "recurrent" else IMAGES
    assert dense_chain(build_model(cfg, x.shape[1:])) is None
    torch_dropout = build_model(DENSE, IMAGES.shape[1:])
    torch_dropout.encoder.insert(0, torch.nn.Dropout(0.2))  # torch's: another random stream
    assert dense_chain(torch_dropout) is None
    model = build_model(VAEConfig(), IMAGES.shape[1:])
    assert dense_chain(model) is None
    step = fast.step_function(model, model.configure_optimizers(OptimConfig("adam")), TRAIN,
                              torch.device("cpu"), "constant")
    assert not isinstance(step, DenseStep)
    dense = build_model(DENSE, IMAGES.shape[1:])
    opts = dense.configure_optimizers(OptimConfig("adam"))
    assert isinstance(fast.step_function(dense, opts, TRAIN, torch.device("cpu"), "constant"),
                      DenseStep)
    off = dataclasses.replace(TRAIN, hand_backward="off")
    assert not isinstance(fast.step_function(dense, opts, off, torch.device("cpu"), "constant"),
                          DenseStep)


# -- the hand-derived steps of dense GANs and VAEs ------------------------------------------------
def _grads_both_ways(model, optimizers, x, step=3):
    """(autograd's losses and gradients, the closed form's), from the same weights and seed;
    the learning rates are 0, so the weights stay put between the two."""
    start = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(5)
    want = model.training_step((x,), optimizers, step)
    ref = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.load_state_dict(start)
    for opt in optimizers.values():
        opt.zero_grad(set_to_none=True)
    hand = model.closed_form_step(optimizers)
    assert hand is not None
    torch.manual_seed(5)
    got = hand((x,), step)
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
    from aegan.models.gan import GAN

    players = ({"generator": model.generator, "discriminator": model.discriminator}
               if isinstance(model, GAN) else {"model": model})
    # Adam, not SGD: plain SGD's update would be folded into the products, leaving no p.grad
    return {k: torch.optim.Adam(m.parameters(), lr=0.0) for k, m in players.items()}


@pytest.mark.parametrize("change", [{}, {"loss": "bce-minimax"}, {"loss": "lsgan"},
                                    {"loss": "hinge"}, {"label_smoothing": 0.1},
                                    {"value_range": "symmetric", "n_critic": 2}], ids=str)
def test_gan_hand_backward_gives_autograds_gradients(change):
    from aegan.models.gan import GANConfig

    torch.manual_seed(0)
    model = build_model(GANConfig(z_dim=5, **change), IMAGES.shape[1:])
    x = torch.from_numpy(IMAGES[:16])
    if change.get("value_range") == "symmetric":
        x = 2 * x - 1
    _assert_same_grads(_grads_both_ways(model, _zero_lr(model), x))


@pytest.mark.parametrize("change", [{}, {"kl_weight": 0.5, "kl_warmup": 10},
                                    {"binarize": True, "activation": "relu", "decoder": [7]}],
                         ids=str)
def test_vae_hand_backward_gives_autograds_gradients(change):
    torch.manual_seed(0)
    model = build_model(VAEConfig(encoder=[20, 10], z_dim=3, **change), IMAGES.shape[1:])
    _assert_same_grads(_grads_both_ways(model, _zero_lr(model), torch.from_numpy(IMAGES[:16])))


@pytest.mark.parametrize("model_cfg,optim", [
    ("gan", OptimConfig("rmsprop", lr=1e-3, rho=0.9, eps=1e-7)),
    ("gan-ema", OptimConfig("adam", lr=1e-3)),
    ("vae", OptimConfig("rmsprop", lr=1e-3, rho=0.9, eps=1e-7))], ids=lambda v: str(v)[:7])
def test_gan_and_vae_hand_backward_train_like_autograd(model_cfg, optim):
    from aegan.models.gan import GANConfig

    cfg = {"gan": GANConfig(z_dim=5), "gan-ema": GANConfig(z_dim=5, ema=0.9, n_critic=2),
           "vae": VAEConfig(encoder=[20, 10], z_dim=3)}[model_cfg]
    from aegan.models.dense_step import GANStep, VAEStep

    model = build_model(cfg, IMAGES.shape[1:])
    step = fast.step_function(model, model.configure_optimizers(optim), TRAIN,
                              torch.device("cpu"), "constant")
    assert isinstance(step, GANStep if model_cfg.startswith("gan") else VAEStep)
    hand = _train(cfg, optim, TRAIN)
    off = _train(cfg, optim, dataclasses.replace(TRAIN, hand_backward="off"))
    _assert_same(hand, off, atol=1e-5)
    assert hand[0][0].keys() == off[0][0].keys()  # the same losses logged


@pytest.mark.parametrize("change", [{"replay": 8}, {"num_classes": 3}, {"spectral_norm": True},
                                    {"minibatch_std": True}, {"loss": "wgan-gp"},
                                    {"net": "dcgan", "g_channels": [4], "d_channels": [4]}],
                         ids=str)
def test_gan_hand_backward_leaves_other_gans_to_autograd(change):
    from aegan.models.dense_step import gan_chains
    from aegan.models.gan import GANConfig

    assert gan_chains(build_model(GANConfig(z_dim=5), IMAGES.shape[1:])) is not None
    model = build_model(GANConfig(z_dim=5, **change), IMAGES.shape[1:])
    assert gan_chains(model) is None
    assert model.closed_form_step(model.configure_optimizers(OptimConfig("adam"))) is None


@pytest.mark.parametrize("change", [{"iw_samples": 2}, {"likelihood": "gaussian"},
                                    {"net": "conv", "encoder": [4, 8]}], ids=str)
def test_vae_hand_backward_leaves_other_vaes_to_autograd(change):
    from aegan.models.dense_step import vae_chains

    cfg = dataclasses.replace(VAEConfig(encoder=[20, 10], z_dim=3), **change)
    model = build_model(cfg, IMAGES.shape[1:])
    assert vae_chains(model) is None
    assert model.closed_form_step(model.configure_optimizers(OptimConfig("adam"))) is None
