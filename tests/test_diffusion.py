"""The diffusion family: the schedules, the forward process and its posterior against their
closed forms, the samplers against each other (DDIM with eta 1 over every step is ancestral
sampling with the posterior's variance, step for step), deterministic DDIM and its inversion,
classifier-free guidance, the book's U-Net, and the command line (sampling options, figures,
bad input). The shared checks (shapes, one step, resume) are in test_models.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aegan import api, generation
from aegan.config import DataConfig, OptimConfig, TrainConfig
from aegan.errors import ConfigError
from aegan.figures import make_figures
from aegan.io import load_run
from aegan.models import DiffusionConfig, VAEConfig, build_model
from aegan.models import diffusion
from aegan.models import diffusion_sampling as ds
from aegan.nets.unet import BookUNet, book_time_encoding, tf_same_max_pool
from aegan.optim import make_optimizer
from aegan.presets import get_preset
from aegan.run import RunConfig, load_data
from aegan.train import fast
from tests.conftest import write_run
from tests.test_bad_input import Bad, Env, assert_refused

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = dict(channels=[8, 16], blocks=1, attention=[4], groups=4)


def _model(seed: int = 0, **changes):
    torch.manual_seed(seed)
    config = DiffusionConfig(**{**TINY, "timesteps": 20, "sampling_steps": 5, **changes})
    return build_model(config, (1, 8, 8)).eval()


# -- schedules and the forward process -------------------------------------------------------------
@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_alpha_bar_is_the_marginal_of_the_step_by_step_chain(schedule):
    """Running x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) noise from x_0 gives mean
    sqrt(ab_t) x_0 and variance 1 - ab_t (by the recursion of the two moments, float64), and
    q_sample's draws have those moments."""
    T = 100
    ab = ds.alphas_cumprod(schedule, T)
    betas = ds.linear_betas(T) if schedule == "linear" else ds.cosine_betas(T)
    mean_coef, var = 1.0, 0.0
    for t in range(T):
        mean_coef *= math.sqrt(1 - float(betas[t]))
        var = (1 - float(betas[t])) * var + float(betas[t])
        assert mean_coef == pytest.approx(math.sqrt(float(ab[t])), rel=1e-12)
        assert var == pytest.approx(1 - float(ab[t]), rel=1e-10, abs=1e-15)
    g = torch.Generator().manual_seed(0)
    x0, t = torch.full((200_000, 1), 0.7, dtype=torch.float64), 30
    x_t = ds.q_sample(x0, ab[t], torch.randn(x0.shape, generator=g, dtype=torch.float64))
    se = math.sqrt((1 - float(ab[t])) / len(x0))  # standard error of the mean
    assert float(x_t.mean()) == pytest.approx(math.sqrt(float(ab[t])) * 0.7, abs=5 * se)
    assert float(x_t.var()) == pytest.approx(1 - float(ab[t]), rel=0.02)


def test_q_sample_takes_one_alpha_bar_per_example():
    x0, noise = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    ab = torch.tensor([0.9, 0.5, 0.1])
    expected = torch.stack([math.sqrt(a) * x + math.sqrt(1 - a) * n
                            for a, x, n in zip(ab.tolist(), x0, noise)])
    torch.testing.assert_close(ds.q_sample(x0, ab, noise), expected)


def test_cosine_schedule_is_nichol_and_dhariwals():
    """alpha-bar_t = f(t) / f(0), f(t) = cos^2(((t / T) + s) / (1 + s) pi / 2), with the papers'
    t = 1 .. T at aegan's 0 .. T - 1; betas clipped at 0.999, which only the last steps need."""
    T, s = 1000, 0.008

    def f(t):
        return math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2

    ab = ds.alphas_cumprod("cosine", T)
    betas = ds.cosine_betas(T)
    clipped = [t for t in range(T) if float(betas[t]) >= 0.999]
    assert clipped == [T - 1]  # beta_T = 1 - f(T) / f(T - 1) = 1 exactly, clipped
    for t in range(T - 1):
        assert float(ab[t]) == pytest.approx(f(t + 1) / f(0), rel=1e-9)
    assert float(ab[-1]) == pytest.approx(f(T - 1) / f(0) * (1 - 0.999), rel=1e-9)


def test_linear_schedule_is_ho_et_als():
    betas = ds.linear_betas(1000)
    assert float(betas[0]) == pytest.approx(1e-4) and float(betas[-1]) == pytest.approx(0.02)
    assert torch.allclose(betas.diff(), betas.diff()[0])
    assert float(ds.linear_betas(250)[-1]) == pytest.approx(0.08)  # scaled by 1000 / T
    assert float(ds.linear_betas(10).max()) == 0.999  # and clipped where that passes 1


@pytest.mark.parametrize("s_offset", [1, 7])
def test_posterior_is_bayes_rule(s_offset):
    """q(x_s | x_t, x_0) from x_s ~ N(sqrt(ab_s) x_0, 1 - ab_s) and x_t | x_s ~
    N(sqrt(ab_t / ab_s) x_s, 1 - ab_t / ab_s): precision-weighted, by Gaussian conditioning."""
    ab = ds.alphas_cumprod("linear", 100)
    for t in (s_offset, 30, 99):
        a_t, a_s = float(ab[t]), float(ab[t - s_offset])
        prior_var, step_var, step = 1 - a_s, 1 - a_t / a_s, math.sqrt(a_t / a_s)
        var = 1 / (1 / prior_var + step ** 2 / step_var)
        c0_bayes = var * math.sqrt(a_s) / prior_var  # coefficient of x_0 in the mean
        ct_bayes = var * step / step_var  # coefficient of x_t
        c0, ct, variance = ds.posterior(a_t, a_s)
        assert (c0, ct, variance) == pytest.approx((c0_bayes, ct_bayes, var), rel=1e-10)
    c0, ct, variance = ds.posterior(float(ab[5]), 1.0)  # to the clean image: x_0 itself
    assert (c0, ct, variance) == pytest.approx((1.0, 0.0, 0.0))


@pytest.mark.parametrize("prediction", ds.PREDICTIONS)
def test_each_prediction_target_gives_back_the_image_and_the_noise(prediction):
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(4, 6, generator=g).double(), torch.randn(4, 6, generator=g).double()
    ab = 0.37
    x_t = ds.q_sample(x0, ab, noise)
    x0_hat, eps_hat = ds.x0_and_eps(prediction, ds.target(prediction, x0, noise, ab), x_t, ab)
    torch.testing.assert_close(x0_hat, x0, rtol=0, atol=1e-12)
    torch.testing.assert_close(eps_hat, noise, rtol=0, atol=1e-12)
    clipped, eps_c = ds.x0_and_eps(prediction, ds.target(prediction, x0, noise, ab), x_t, ab,
                                   clip=(-0.5, 0.5))
    assert clipped.abs().max() <= 0.5  # and the pair still makes x_t
    torch.testing.assert_close(ds.q_sample(clipped, ab, eps_c), x_t, rtol=0, atol=1e-12)


@pytest.mark.parametrize("prediction", ds.PREDICTIONS)
@pytest.mark.parametrize("gamma", [0.0, 5.0, 1e6])
def test_min_snr_loss_weighs_the_clean_images_error_by_min_snr_gamma(prediction, gamma):
    """Whatever the target, the weighted loss is ``min(SNR, gamma)`` times the squared error of
    the clean image that the output stands for (Hang et al. 2023, eq. 5), averaged per example;
    a huge gamma is SNR weighting, so the noise's plain MSE; gamma 0 is the plain MSE."""
    model = _model(prediction=prediction, schedule="cosine", snr_gamma=gamma)
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(6, 1, 8, 8, generator=g)
    noise, out = torch.randn(6, 1, 8, 8, generator=g), torch.randn(6, 1, 8, 8, generator=g)
    t = torch.tensor([0, 2, 7, 11, 16, 19])
    loss = model.losses(lambda x_t, t_, labels: out, x0, None, t, noise)["loss"]
    ab = model.ab[t]  # float64
    expected = []
    for i in range(len(t)):
        x_t = ds.q_sample(x0[i].double(), float(ab[i]), noise[i].double())
        x0_hat, eps_hat = ds.x0_and_eps(prediction, out[i].double(), x_t, float(ab[i]))
        snr = float(ab[i] / (1 - ab[i]))
        if not gamma:
            goal = ds.target(prediction, x0[i].double(), noise[i].double(), float(ab[i]))
            expected.append((out[i].double() - goal).square().mean())
        elif gamma > 1e5:
            expected.append((eps_hat - noise[i]).square().mean())
        else:
            expected.append(min(snr, gamma) * (x0_hat - x0[i]).square().mean())
    assert float(loss) == pytest.approx(float(torch.stack(expected).mean()), rel=1e-4)


def test_snr_gamma_must_not_be_negative():
    with pytest.raises(ConfigError, match="model.snr_gamma must be 0"):
        DiffusionConfig(snr_gamma=-1)


# -- samplers ------------------------------------------------------------------------------------
@pytest.mark.parametrize("T, S, first, last", [(1000, 4, 999, 249), (1000, 1000, 999, 0),
                                               (1000, 50, 999, 19), (4000, 1, 3999, 3999),
                                               (10, 3, 9, 2), (7, 7, 6, 0)])
def test_timesteps_start_at_T_minus_1_evenly_spaced(T, S, first, last):
    steps = ds.timesteps(T, S)
    assert len(steps) == S and steps[0] == first == T - 1 and steps[-1] == last
    gaps = [a - b for a, b in zip(steps, steps[1:])] or [T]
    assert min(gaps) >= 1 and max(gaps) - min(gaps) <= 1  # descending, evenly spaced
    with pytest.raises(ValueError):
        ds.timesteps(T, T + 1)


def _nonlinear_predict(ab, prediction="eps", clip=None):
    """A smooth stand-in for a network: its output is tanh of a t-dependent map of x_t."""
    def predict(x, t):
        out = torch.tanh(0.8 * x + 0.01 * t) - 0.1 * x
        return ds.x0_and_eps(prediction, out, x, float(ab[t]), clip)
    return predict


@pytest.mark.parametrize("S, clip", [(40, None), (40, (-1.0, 1.0)), (13, (-1.0, 1.0))])
def test_ddim_with_eta_1_is_ancestral_ddpm_with_the_posterior_variance(S, clip):
    """Song et al.: with eta = 1, DDIM's sigma^2 is the posterior's variance beta-tilde and its
    mean the posterior's, so over every step (S = T), and over any subsequence, it is DDPM with
    the "small" variance: step for step, with the same noise."""
    T = 40
    ab = ds.alphas_cumprod("cosine", T)
    predict = _nonlinear_predict(ab, "v", clip)
    x_T = torch.randn(3, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    paths = {}
    for name, kwargs in (("ddim", dict(sampler="ddim", eta=1.0)),
                         ("ddpm", dict(sampler="ddpm", variance="small")),
                         ("large", dict(sampler="ddpm", variance="large"))):
        seen = paths[name] = []
        ds.sample_loop(predict, x_T, ab, ds.timesteps(T, S), generator=torch.Generator().manual_seed(2),
                       on_step=lambda t, x, seen=seen: seen.append((t, x.clone())), **kwargs)
    assert [t for t, _ in paths["ddim"]] == ds.timesteps(T, S)
    for (t, a), (_, b) in zip(paths["ddim"], paths["ddpm"]):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12, msg=f"step from t = {t}")
    assert not torch.allclose(paths["large"][1][1], paths["ddpm"][1][1])  # beta > beta-tilde


def test_ddpm_step_adds_sigma_times_the_noise():
    ab_t, ab_s, x_t, x0, z = 0.5, 0.8, torch.ones(2), torch.zeros(2), torch.full((2,), 2.0)
    _, ct, var = ds.posterior(ab_t, ab_s)
    mean = ct * x_t  # x0 = 0
    beta = 1 - ab_t / ab_s
    torch.testing.assert_close(ds.ddpm_step(x_t, x0, ab_t, ab_s, z, "small"), mean + 2 * math.sqrt(var))
    torch.testing.assert_close(ds.ddpm_step(x_t, x0, ab_t, ab_s, z, "large"), mean + 2 * math.sqrt(beta))
    torch.testing.assert_close(ds.ddpm_step(x_t, x0, ab_t, ab_s, None, "large"), mean)


@pytest.mark.parametrize("schedule, S, tolerance", [("linear", 1000, 0.02), ("linear", 100, 0.15),
                                                     ("cosine", 1000, 0.01), ("cosine", 100, 0.1)])
def test_ddim_inversion_with_the_exact_noise_prediction(schedule, S, tolerance):
    """Gaussian data N(0.3, 0.5^2) have the exact noise prediction E[eps | x_t] =
    sqrt(1 - ab) (x_t - sqrt(ab) 0.3) / (ab 0.25 + 1 - ab). DDIM with eta 0 is then a
    discretised ODE and its inversion errs by O(1 / S). Measured (largest error of 1,024
    values, T = 1000): linear 0.012 at S = 1000 and 0.10 at S = 100; cosine 0.0063 and 0.059."""
    T, mu, sd = 1000, 0.3, 0.5
    ab = ds.alphas_cumprod(schedule, T)

    def predict(x, t):
        a = float(ab[t])
        eps = math.sqrt(1 - a) * (x - math.sqrt(a) * mu) / (a * sd ** 2 + 1 - a)
        return (x - math.sqrt(1 - a) * eps) / math.sqrt(a), eps

    x0 = mu + sd * torch.randn(64, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    steps = ds.timesteps(T, S)
    z = ds.invert_loop(predict, x0, ab, steps)
    assert float(z.std()) == pytest.approx(1.0, abs=0.1)  # the data's noise is standard normal
    back = ds.sample_loop(predict, z, ab, steps)  # eta 0: deterministic
    assert torch.equal(back, ds.sample_loop(predict, z, ab, steps))
    assert float((back - x0).abs().max()) < tolerance


def test_slerp_keeps_the_norm_and_meets_the_ends():
    a, b = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 3.0])
    t = torch.linspace(0, 1, 5).unsqueeze(1)
    path = ds.slerp(a, b, t)
    torch.testing.assert_close(path[0], a)
    torch.testing.assert_close(path[-1], b)
    torch.testing.assert_close(path.norm(dim=1), torch.full((5,), 3.0))
    torch.testing.assert_close(path[2], torch.tensor([3.0, 3.0]) / math.sqrt(2))
    torch.testing.assert_close(ds.slerp(a, 2 * a, t)[2], 1.5 * a)  # parallel: the straight line


# -- the model -----------------------------------------------------------------------------------
@pytest.mark.parametrize("options", [dict(sampler="ddim", steps=5), dict(sampler="ddim", steps=20),
                                     dict(sampler="ddpm", steps=20), dict(sampler="ddpm", steps=3)])
def test_the_sampler_starts_at_T_minus_1(options):
    model = _model()
    seen = []
    net = model.net_ema
    hook = net.register_forward_hook(lambda m, args, out: seen.append(int(args[1][0])))
    model.sample(2, torch.Generator().manual_seed(0), **options)
    hook.remove()
    assert seen == ds.timesteps(20, options["steps"]) and seen[0] == 19


def test_model_ddim_eta_1_equals_ddpm_small_variance():
    model = _model(prediction="x0")
    a = model.sample(3, torch.Generator().manual_seed(4), sampler="ddim", eta=1.0, steps=20)
    b = model.sample(3, torch.Generator().manual_seed(4), sampler="ddpm", variance="small", steps=20)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


def test_deterministic_ddim_is_reproducible():
    model = _model()
    z = model.sample_codings(4, torch.Generator().manual_seed(0))
    assert torch.equal(model.decode(z), model.decode(z.clone()))
    first = model.sample(4, torch.Generator().manual_seed(0), eta=0.0)
    assert torch.equal(first, model.sample(4, torch.Generator().manual_seed(0), eta=0.0))
    assert torch.equal(first, model.decode(z))  # sample is decode of the drawn noise


def test_sampling_in_cpu_chunks_changes_nothing_in_deterministic_ddim():
    model, n = _model(), diffusion.CPU_CHUNK + 3
    z = model.sample_codings(n, torch.Generator().manual_seed(0))
    sizes = []
    hook = model.net_ema.register_forward_hook(lambda net, inputs, out: sizes.append(len(out)))
    chunked = model.sample(n, torch.Generator().manual_seed(0), eta=0.0)
    hook.remove()
    assert sizes == [diffusion.CPU_CHUNK] * 5 + [3] * 5  # S = 5 passes per chunk
    torch.testing.assert_close(chunked, model.decode(z), rtol=0, atol=1e-5)  # one batch of n


def test_bf16_sampling_runs_the_network_in_bf16_and_the_updates_in_fp32():
    model = _model()
    seen = []
    hook = model.net_ema.register_forward_hook(lambda net, inputs, out: seen.append(out.dtype))
    fp32 = model.sample(4, torch.Generator().manual_seed(0), precision="fp32")
    bf16 = model.sample(4, torch.Generator().manual_seed(0), precision="bf16")
    hook.remove()
    assert seen == [torch.float32] * 5 + [torch.bfloat16] * 5  # S = 5 passes each
    assert bf16.dtype == torch.float32
    gap = (fp32 - bf16).abs()
    assert 0 < gap.mean() < 0.01 and gap.max() < 0.1  # bf16 rounding, nothing more
    by_config = _model(sampling_precision="bf16").sample(4, torch.Generator().manual_seed(0))
    assert torch.equal(by_config, bf16)


def test_auto_precision_samples_in_bf16_only_where_the_device_computes_it(monkeypatch):
    model = _model()
    assert model.config.sampling_precision == "auto"
    for native, precision in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(fast, "native_bf16", lambda device: native)
        assert model.sampling_options().precision == precision
        assert model.sampling_options(precision="auto").precision == precision
        assert model.sampling_options(precision="fp32").precision == "fp32"
        assert model._codings_options().precision == precision  # encode and decode too
        assert _model(sampling_precision="fp32").sampling_options().precision == "fp32"


def test_bf16_sampling_on_a_gpu_without_bf16_is_refused(monkeypatch):
    model = _model()
    monkeypatch.setattr(type(model), "_device", lambda self: torch.device("cuda"))
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    with pytest.raises(ConfigError, match="does not compute bf16; sample with --precision fp32"):
        model.sample(2, precision="bf16")
    assert model.sampling_options(precision="fp32").precision == "fp32"


def test_guidance_0_is_the_unconditional_model_and_w_mixes_the_two():
    model = _model(num_classes=3, sampling_precision="fp32")  # as the fp32 loop by hand
    net, no_class = model.net_ema, torch.full((3,), 3)
    drawn = {}
    for name, labels in (("classes", [0, 1, 2]), ("one class", 2)):
        drawn[name] = model.sample(3, torch.Generator().manual_seed(5), labels=labels, guidance=0.0)
    torch.testing.assert_close(drawn["classes"], drawn["one class"], rtol=0, atol=0)

    def unconditional(x, t):  # the network with "no class", by hand
        out = net(x, torch.full((len(x),), t), no_class)
        return ds.x0_and_eps("eps", out, x, float(model.ab[t]), (-1.0, 1.0))

    z = model.sample_codings(3, torch.Generator().manual_seed(5)).reshape(3, 1, 8, 8)
    with torch.no_grad():
        by_hand = ds.sample_loop(unconditional, z, model.ab, ds.timesteps(20, 5)).clamp(-1, 1)
    torch.testing.assert_close(drawn["classes"], by_hand, rtol=0, atol=1e-6)
    labels, x, t = torch.tensor([0, 1, 2]), torch.randn(3, 1, 8, 8), 7
    with torch.no_grad():
        cond, uncond = net(x, torch.full((3,), t), labels), net(x, torch.full((3,), t), no_class)
        x0_w, _ = model._predictor(net, labels, 3.0)(x, t)
    expected, _ = ds.x0_and_eps("eps", uncond + 3.0 * (cond - uncond), x, float(model.ab[t]), (-1, 1))
    torch.testing.assert_close(x0_w, expected, rtol=0, atol=1e-5)
    with_classes = model.sample(3, torch.Generator().manual_seed(5), labels=[0, 1, 2])
    assert not torch.allclose(with_classes, drawn["classes"])  # w = 1: the classes matter


def test_trajectory_ends_at_the_samples():
    model = _model()
    at, x = model.trajectory(2, torch.Generator().manual_seed(3), frames=4, steps=10)
    assert at[0] == 20 and at[-1] == 0 and x.shape == (len(at), 2, 1, 8, 8)
    torch.testing.assert_close(x[-1], model.sample(2, torch.Generator().manual_seed(3), steps=10))


# -- networks --------------------------------------------------------------------------------------
def test_book_time_encoding_is_the_books():
    """sin(p / 10000^(2k / d)) at 2k and cos at 2k + 1, position by position, by hand."""
    d, t = 64, torch.tensor([0, 1, 17, 4000])
    enc = book_time_encoding(t, d)
    for row, p in enumerate(t.tolist()):
        for k in range(d // 2):
            angle = p / 10_000 ** (2 * k / d)
            assert float(enc[row, 2 * k]) == pytest.approx(math.sin(angle), abs=2e-4)
            assert float(enc[row, 2 * k + 1]) == pytest.approx(math.cos(angle), abs=2e-4)


def test_tf_same_max_pool_takes_windows_from_the_top_left():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)  # TF pads "same" pooling at the end only
    assert tf_same_max_pool(x).flatten().tolist() == [10.0, 11.0, 14.0, 15.0]


def _book_parameters(c_img=1, time=64, base=16, widths=(32, 64, 128)) -> int:
    """The book's layers, counted from their descriptions."""
    n = (c_img * 9 * base + base) + 2 * base + (time * base + base)  # stem conv, BN, Dense
    c = base
    for w in widths:  # two separable convs (depthwise 3x3 no bias, pointwise with bias), 2 BN
        n += (c * 9 + c * w + w) + 2 * w + (w * 9 + w * w + w) + 2 * w
        n += (c * w + w) + (time * w + w)  # the 1x1 stride-2 skip, the time Dense
        c = w
    for w, cross in zip((64, 32, 16), widths[::-1]):  # two 3x3 transposed convs, 2 BN
        n += (c * w * 9 + w) + 2 * w + (w * w * 9 + w) + 2 * w + (c * w + w) + (time * w + w)
        c = w + cross
    return n + c * 9 * c_img + c_img  # the output conv


def test_book_unet_is_the_books_network():
    net = BookUNet((1, 28, 28))
    assert sum(p.numel() for p in net.parameters()) == _book_parameters()
    assert net(torch.randn(2, 1, 28, 28), torch.tensor([1, 4000])).shape == (2, 1, 28, 28)
    assert BookUNet((3, 10, 6))(torch.randn(1, 3, 10, 6), torch.tensor([3])).shape == (1, 3, 10, 6)
    bn = net.stem[1]
    assert (bn.eps, bn.momentum) == (1e-3, 0.01)  # Keras' BatchNormalization defaults


def test_book_preset_is_the_third_editions_recipe():
    config = get_preset("book/diffusion")
    m, o, t = config.model, config.optim, config.train
    assert (m.net, m.schedule, m.timesteps, m.loss, m.prediction, m.sampler, m.variance) == \
        ("book-unet", "cosine", 4000, "huber", "eps", "ddpm", "large")
    assert (o.name, o.lr, o.eps, t.batch_size, t.epochs, config.data.name) == \
        ("nadam", 1e-3, 1e-7, 32, 100, "fashion-mnist")
    w = torch.nn.Parameter(torch.zeros(2))
    assert isinstance(make_optimizer([w], o), torch.optim.NAdam)


def test_ddpm_presets_predict_v_and_sample_by_ddim_at_50_steps():
    """v prediction took the 20-epoch run's FID from 25.68 to 13.94 (RESULTS.md, "Diffusion");
    the conditional preset is the same model with classes."""
    for name in ("ddpm", "ddpm-cond"):
        m = get_preset(name).model
        assert (m.prediction, m.loss, m.sampler, m.sampling_steps, m.eta) == \
            ("v", "mse", "ddim", 50, 0.0)
    assert get_preset("ddpm-cond").model.num_classes == 10


def test_a_linear_models_grid_is_the_bilinear_resize():
    """Grids resize codings by the model's interpolate; a VAE's (linear) gives what
    F.interpolate's bilinear resize gives, as before it was asked."""
    torch.manual_seed(0)
    model = build_model(VAEConfig(encoder=[8], z_dim=3), (1, 8, 8)).eval()
    seen = {}

    def decode(z):
        seen["z"] = z
        return torch.zeros(len(z), 1, 8, 8)

    model.decode = decode
    generation.semantic_grid(model, seed=2)
    z = model.sample_codings(12, torch.Generator().manual_seed(2))
    bilinear = F.interpolate(z.t().reshape(1, 3, 3, 4), size=(5, 7), mode="bilinear",
                             align_corners=True).reshape(3, -1).t()
    torch.testing.assert_close(seen["z"], bilinear, rtol=0, atol=1e-6)


# -- a trained model and the command line ------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny conditional model, trained 3 epochs on the digits (about 10 s), with its figures."""
    model = DiffusionConfig(**TINY, timesteps=50, sampling_steps=50, num_classes=10)
    config = RunConfig(model=model, data=DataConfig("digits"), optim=OptimConfig("adam", lr=2e-3),
                       train=TrainConfig(epochs=3, batch_size=32, channels_last="off"))
    run = api.train(config, tmp_path_factory.mktemp("diffusion") / "run", progress=False)
    make_figures(run)
    return run


def test_deterministic_ddim_inverts_an_image(trained):
    """encode (DDIM inversion, 50 steps) then decode gives the images back. Measured on 32
    validation digits in [-1, 1]: mean error 0.022, largest 0.12 (at S = 25: 0.043 and 0.25)."""
    config, model = load_run(trained)
    x = torch.as_tensor(load_data(config).valid.inputs[:32])
    back = model.decode(model.encode(x))
    assert float((back - x).abs().mean()) < 0.04 and float((back - x).abs().max()) < 0.25


def test_a_trained_runs_figures_and_commands(trained, cli, tmp_path):
    names = {p.name for p in trained.iterdir()}
    assert {"samples.png", "interpolation.png", "trajectory.png"} <= names
    assert "traversals.png" not in names and "codings_map.png" not in names
    assert len(list((trained / "samples").glob("epoch_*.png"))) == 3
    result = cli("generate", trained, "-n", "4", "--out", tmp_path / "g.png", "--steps", "10",
                 "--eta", "0.5", "--guidance", "3", "--label", "7")
    assert result.code == 0 and "ms per image" in result.out and (tmp_path / "g.png").is_file()
    result = cli("generate", trained, "-n", "3", "--npy", tmp_path / "s.npy", "--sampler", "ddpm",
                 "--variance", "large", "--steps", "5")
    assert result.code == 0 and np.load(tmp_path / "s.npy").shape == (3, 1, 8, 8)
    result = cli("generate", trained, "-n", "3", "--npy", tmp_path / "b.npy", "--steps", "5",
                 "--precision", "bf16")
    fp32 = load_run(trained)[1].sample(3, torch.Generator().manual_seed(0), steps=5,
                                       precision="fp32")
    assert result.code == 0 and np.abs(np.load(tmp_path / "b.npy") - fp32.numpy()).mean() < 0.01
    assert cli("interpolate", trained, "--out", tmp_path / "line.png", "--mode", "line").code == 0
    result = cli("augment", trained, "--per-class", "2", "--out", tmp_path / "a.npz")
    assert result.code == 0 and np.load(tmp_path / "a.npz")["y"].tolist() == \
        np.repeat(np.arange(10), 2).tolist()


def _diffusion_run(**changes):
    def setup(env) -> None:
        write_run(env.tmp / "dm", DiffusionConfig(**{**TINY, "timesteps": 20, **changes}))
    return setup


def _vae_run(env) -> None:
    write_run(env.tmp / "vae", VAEConfig(encoder=[8], z_dim=2))


def _config(text: str):
    return lambda env: (env.tmp / "cfg.json").write_text(text)


def _odd_images(env) -> None:
    np.save(env.tmp / "odd.npy", np.random.RandomState(0).rand(40, 1, 7, 7).astype(np.float32))


BAD = {
    "sampling options for a model without them": Bad(
        ["generate", "vae", "--steps", "10", "--out", "s.png"], "cannot take sampling options "
        "(--steps)", "lacks the IterativeSampler capability", _vae_run),
    "more steps than timesteps": Bad(["generate", "dm", "--steps", "21", "--out", "s.png"],
                                     "--steps must be between 1 and this model's T = 20", "got 21",
                                     _diffusion_run()),
    "guidance on an unconditional model": Bad(
        ["generate", "dm", "--guidance", "2", "--out", "s.png"], "only a conditional model has",
        "ddpm-cond", _diffusion_run()),
    "eta with the ddpm sampler": Bad(
        ["generate", "dm", "--sampler", "ddpm", "--eta", "0.5", "--npy", "s.npy"],
        "--eta sets DDIM's noise", "--variance", _diffusion_run()),
    "negative eta": Bad(["generate", "dm", "--eta", "-1", "--npy", "s.npy"],
                        "--eta must be between 0", "got -1", _diffusion_run()),
    "a size the U-Net cannot halve": Bad(
        ["train", "cfg.json"], "cannot be", "at most 4 widths",
        _config('{"model": {"family": "diffusion", "channels": [8, 8, 8, 8, 8], '
                '"attention": []}, "data": {"name": "digits"}}')),
    "attention at a side the U-Net does not reach": Bad(
        ["train", "cfg.json"], "does not reach on 8x8 images", "choose among [8, 4]",
        _config('{"model": {"family": "diffusion", "channels": [8, 16], "attention": [7]}, '
                '"data": {"name": "digits"}}')),
    "the book's U-Net on odd sides": Bad(["train", "book/diffusion", "--data", "odd.npy"],
                                         "even sides, and these are 7x7", "net 'unet'",
                                         _odd_images),
    "default steps beyond T": Bad(
        ["train", "cfg.json"], "model.sampling_steps must be between 1 and this model's T = 10",
        "got 50", _config('{"model": {"family": "diffusion", "timesteps": 10, '
                          '"sampling_steps": 50}}')),
    "an unknown sampling precision": Bad(
        ["train", "cfg.json"], "unknown model.sampling_precision 'fp16'", "fp32, bf16",
        _config('{"model": {"family": "diffusion", "sampling_precision": "fp16"}}')),
    "diffusion on vectors": Bad(["train", "cfg.json"], "learns from images", "denoises images",
                                _config('{"model": {"family": "diffusion"}, '
                                        '"data": {"name": "book-3d"}}')),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_diffusion_input_is_one_line_exit_2(cli, tmp_path, monkeypatch, case):
    bad = BAD[case]
    if bad.setup:
        bad.setup(Env(tmp_path, monkeypatch, []))
    assert_refused(cli, tmp_path, bad)
