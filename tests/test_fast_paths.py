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
from aegan.data import Batch
from aegan.models import AutoencoderConfig, GANConfig, VAEConfig, build_model
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
    assert [r.keys() for r in hist_a] == [r.keys() for r in hist_b]
    for key in (k for k in hist_a[0] if k.startswith("train_")):
        assert [r[key] for r in hist_a] == pytest.approx([r[key] for r in hist_b], abs=atol), key
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


def test_fused_rmsprop_falls_back_to_torch_rmsprop_without_the_private_kernel(monkeypatch):
    """FusedRMSprop calls PyTorch's private fused Adam kernel, on the PyTorch versions it was
    checked with; elsewhere make_optimizer builds torch.optim.RMSprop, with the same state."""
    from aegan import optim

    params = [torch.nn.Parameter(torch.zeros(2))]
    config = OptimConfig("rmsprop", lr=1e-3, rho=0.9)
    assert type(optim.make_optimizer(params, config)) is optim.FusedRMSprop
    monkeypatch.setattr(optim, "FUSED_RMSPROP_TORCH", ((2, 0), (2, 1)))  # not this torch
    assert not optim.FusedRMSprop.available()
    fallback = optim.make_optimizer(params, config)
    assert type(fallback) is torch.optim.RMSprop and fallback.defaults["alpha"] == 0.9
    monkeypatch.undo()
    monkeypatch.delattr(torch, "_fused_adam_")
    assert type(optim.make_optimizer(params, config)) is torch.optim.RMSprop


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


def test_growing_gans_take_the_nhwc_and_bf16_paths():
    # the equalized and modulated convolutions count as convolutions; NHWC leaves the 5-D
    # growth timeline alone; the tracked mean of w stays fp32 under bf16 autocast
    style = GANConfig(z_dim=6, value_range="symmetric", net="stylegan", g_channels=[8, 4],
                      d_channels=[4, 8], r1_weight=0.1, style_mixing=0.9, fade_images=16,
                      batch_sizes=[8, 8])
    x = (RNG.rand(32, 1, 8, 8) * 2 - 1).astype(np.float32)
    assert fast.channels_last_on(build_model(style, x.shape[1:]), TrainConfig())
    optim = OptimConfig("adam", lr=1e-3, betas=(0.0, 0.99))
    off = _train(style, optim, dataclasses.replace(TRAIN, channels_last="off"), x)
    on = _train(style, optim, dataclasses.replace(TRAIN, channels_last="on"), x)
    _assert_same(off, on, atol=1e-4)
    history, weights = _train(style, optim, dataclasses.replace(TRAIN, precision="bf16"), x)
    assert weights["generator.body.w_avg"].dtype == torch.float32
    assert all(math.isfinite(v) for r in history for k, v in r.items() if k.startswith("train_"))


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
    out = step(Batch(torch.from_numpy(IMAGES[:8])), 0)
    assert out["loss"].dtype == torch.float32


@pytest.mark.parametrize("flags, native", [("fpu avx512f avx512_bf16 sse", True),
                                            ("fpu amx_tile amx_bf16", True),
                                            ("fpu avx2 avx512f avx512bw", False)])
def test_precision_auto_takes_bf16_only_where_the_cpu_has_it(tmp_path, monkeypatch, flags, native):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: a CPU\nflags\t\t: {flags}\n\n")
    monkeypatch.setattr(fast, "CPUINFO", str(cpuinfo))
    cpu = torch.device("cpu")
    assert fast.native_bf16(cpu) is native
    assert fast.uses_bf16(TrainConfig(precision="auto"), cpu) is native
    assert fast.uses_bf16(TrainConfig(precision="bf16"), cpu)  # asked for: always
    assert not fast.uses_bf16(TrainConfig(precision="fp32"), cpu)
    # the step follows: autocast's bf16 losses differ from fp32's in the last bits
    batch = Batch(torch.from_numpy(IMAGES[:8]))
    losses = {}
    for precision in ("auto", "fp32"):
        torch.manual_seed(0)
        model = build_model(DENSE, (1, 12, 12))  # the same weights each time
        optimizers = model.configure_optimizers(OptimConfig("sgd", lr=0.1))
        step = fast.step_function(model, optimizers, TrainConfig(precision=precision, device="cpu"),
                                  cpu, "constant")
        losses[precision] = float(step(batch, 0)["loss"])
    assert (losses["auto"] != losses["fp32"]) is native
    monkeypatch.setattr(fast, "CPUINFO", str(tmp_path / "absent"))  # not Linux: fp32
    assert not fast.native_bf16(cpu)


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
        losses = [float(step(Batch(b), i)["loss"]) for i, b in enumerate(x.split(16))]
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
    assert math.isfinite(float(step(Batch(torch.from_numpy(IMAGES[:8])), 0)["loss"]))
    assert not any(g["capturable"] for g in optimizers["model"].param_groups)
