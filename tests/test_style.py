"""Progressive growing and StyleGAN (nets 'progan' and 'stylegan' of the gan family) against
closed forms and hand computations: the equalized learning rate's scaling and gradient scale,
demodulation's unit variance, the fade-in's two ends, the growth schedule, R1, the truncation
trick, and the command line's refusal of --truncation for a model without it. Shapes, one
step, determinism, save/load, exact resume (mid fade-in) and export: tests/test_models.py's
cases gan-progan-growing, gan-stylegan-*."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from aegan.config import OptimConfig, TrainConfig
from aegan.data.examples import Batch
from aegan.models import GANConfig, TruncatedSampler, build_model, can
from aegan.models.gan_losses import r1_penalty
from aegan.models.progressive import growth_at
from aegan.nets.style import (
    EqualConv2d,
    EqualLinear,
    ModulatedConv2d,
    ProgressiveDiscriminator,
    ProgressiveGenerator,
)
from aegan.train import Trainer
from tests.conftest import write_run
from tests.test_models import CASES, _examples

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = {"z_dim": 6, "value_range": "symmetric", "g_channels": [8, 8, 4], "d_channels": [4, 8, 8]}


# -- equalized learning rate --------------------------------------------------------------------
def test_equalized_linear_scales_weights_at_run_time_and_their_gradient():
    torch.manual_seed(0)
    layer = EqualLinear(50, 7, lr_mul=0.01)
    scale = 0.01 * math.sqrt(2 / 50)
    assert layer.weight.std().item() == pytest.approx(100, rel=0.1)  # N(0, 1 / lr_mul)
    x, g = torch.randn(4, 50), torch.randn(4, 7)
    out = layer(x)
    torch.testing.assert_close(out, x @ (layer.weight * scale).T + layer.bias * 0.01)
    (out * g).sum().backward()
    # d/dW of <g, x (s W)^T> = s g^T x: the stored weight's gradient is the used one's times s
    torch.testing.assert_close(layer.weight.grad, scale * g.T @ x)
    torch.testing.assert_close(layer.bias.grad, 0.01 * g.sum(0))


def test_equalized_conv_uses_sqrt_2_over_fan_in():
    torch.manual_seed(0)
    conv = EqualConv2d(3, 5, 3)
    x = torch.randn(2, 3, 6, 6)
    want = F.conv2d(x, conv.weight * math.sqrt(2 / 27), conv.bias, padding=1)
    torch.testing.assert_close(conv(x), want)
    assert conv.weight.std().item() == pytest.approx(1.0, rel=0.3)  # N(0, 1) as stored


# -- modulated convolution ----------------------------------------------------------------------
def test_demodulation_gives_unit_variance_for_unit_variance_input():
    torch.manual_seed(0)
    conv = ModulatedConv2d(64, 16, 3, 8)
    with torch.no_grad():
        conv.affine.weight.normal_()  # styles far from 1
        out = conv(torch.randn(16, 64, 34, 34), torch.randn(16, 8))[:, :, 1:-1, 1:-1]
    # each output is a sum of independent unit-variance inputs with weights of unit norm
    assert out.var().item() == pytest.approx(1.0, abs=0.03)
    assert out.var(dim=(0, 2, 3)).sub(1).abs().max().item() < 0.1  # every channel


def test_modulated_convolution_equals_the_per_example_weights_of_the_paper():
    torch.manual_seed(0)
    conv = ModulatedConv2d(4, 3, 3, 5)
    x, w = torch.randn(2, 4, 6, 6), torch.randn(2, 5)
    s = conv.affine(w)
    for n in range(2):  # w'_oik = s_i w_oik, w'' = w' / ||w'_o|| (Karras et al. 2020, eq. 1, 3)
        weight = conv.weight * conv.scale * s[n][None, :, None, None]
        weight = weight / weight.pow(2).sum(dim=(1, 2, 3), keepdim=True).sqrt()
        torch.testing.assert_close(conv(x, w)[n], F.conv2d(x[n:n + 1], weight, padding=1)[0])


# -- growth -------------------------------------------------------------------------------------
def test_growth_schedule_by_hand():
    # 3 levels, stable 5, fade 10: 4x4 for 5 images, fade to 8x8 over 10, 8x8 stable for 5, ...
    assert growth_at(0, 3, 10, 5) == (0, 1.0)
    assert growth_at(4, 3, 10, 5) == (0, 1.0)
    assert growth_at(5, 3, 10, 5) == (1, 0.0)
    assert growth_at(12, 3, 10, 5) == (1, 0.7)
    assert growth_at(15, 3, 10, 5) == (1, 1.0)
    assert growth_at(20, 3, 10, 5) == (2, 0.0)
    assert growth_at(26, 3, 10, 5) == (2, 0.6)
    assert growth_at(10 ** 6, 3, 10, 5) == (2, 1.0)
    assert growth_at(0, 3, 0, 0) == (2, 1.0)  # no schedule: grown from the start


def _generator(mode: str) -> ProgressiveGenerator:
    torch.manual_seed(0)
    return ProgressiveGenerator(6, (1, 14, 14), [8, 8, 4], "linear", mode).eval()


@pytest.mark.parametrize("mode", ["none", "adain", "modulated"])
def test_generator_fade_in_ends_are_the_low_and_high_paths(mode):
    g, z = _generator(mode), torch.randn(5, 6)
    images = {}
    for level, alpha in ((1, 1.0), (2, 0.0), (2, 0.25), (2, 1.0)):
        g.set_growth(level, alpha)
        with torch.no_grad():
            images[level, alpha] = g(z)  # [5, 1, 14, 14]: every level at the data's size
    torch.testing.assert_close(images[2, 0.0], images[1, 1.0])  # alpha 0: the 8x8 path
    assert not torch.allclose(images[2, 1.0], images[1, 1.0])
    # a linear output: the image mid fade-in is the blend of the two ends
    torch.testing.assert_close(images[2, 0.25], 0.75 * images[1, 1.0] + 0.25 * images[2, 1.0])


@pytest.mark.parametrize("mode", ["none", "modulated"])
def test_the_skip_generator_with_its_lower_rgb_layers_silent_is_the_original(mode):
    torch.manual_seed(0)
    skip = ProgressiveGenerator(6, (1, 14, 14), [8, 8, 4], "linear", mode, grows=False,
                                skip=True).eval()
    orig = ProgressiveGenerator(6, (1, 14, 14), [8, 8, 4], "linear", mode, grows=False).eval()
    weights = skip.state_dict()
    missing, unexpected = orig.load_state_dict(weights, strict=False)
    assert not missing and all(k.startswith(("to_rgb.0.", "to_rgb.1.")) for k in unexpected)
    z = torch.randn(5, 6)
    with torch.no_grad():
        assert not torch.allclose(skip(z), orig(z))  # the 4x4 and 8x8 RGB are added in
        for layer in (skip.to_rgb[0], skip.to_rgb[1]):
            layer.weight.zero_()
        if mode != "none":
            skip.rgb_bias[:2] = 0.0
        torch.testing.assert_close(skip(z), orig(z))


def test_the_skip_generator_upsamples_the_lower_rgb_bilinearly():
    torch.manual_seed(0)
    g = ProgressiveGenerator(6, (1, 14, 14), [8, 8, 4], "linear", grows=False, skip=True).eval()
    z = torch.randn(5, 6)
    with torch.no_grad():
        for layer in (g.to_rgb[1], g.to_rgb[2]):  # only the 4x4 image is left
            layer.weight.zero_()
            layer.bias.zero_()
        rgb = g.to_rgb[0](g.blocks[0](g.input(z).reshape(5, 8, 4, 4)))  # [5, 1, 4, 4]
        for _ in range(2):  # 4 -> 8 -> 16, then the centre 14x14
            rgb = F.interpolate(rgb, scale_factor=2.0, mode="bilinear", align_corners=False)
        torch.testing.assert_close(g(z), rgb[:, :, 1:15, 1:15])


def test_a_residual_discriminator_block_by_hand():
    torch.manual_seed(0)
    d = ProgressiveDiscriminator((1, 16, 16), [4, 8, 6], -1.0, grows=False, resnet=True)
    block, x = d.blocks[2], torch.randn(3, 6, 16, 16)  # 16x16, 6 maps -> 8x8, 8 maps
    shortcut = F.conv2d(F.avg_pool2d(x, 2), block.shortcut.weight / math.sqrt(6))  # gain 1
    with torch.no_grad():
        torch.testing.assert_close(block(x), (block.main(x) + shortcut) / math.sqrt(2))
    assert block.shortcut.bias is None and block(x).shape == (3, 8, 8, 8)


def test_discriminator_fade_in_ends_are_the_low_and_high_paths():
    torch.manual_seed(0)
    d = ProgressiveDiscriminator((1, 14, 14), [4, 8, 8], -1.0)
    x = torch.rand(5, 1, 14, 14) * 2 - 1
    outputs = {}
    for level, alpha in ((1, 1.0), (2, 0.0), (2, 1.0), (2, 0.5)):
        d.set_growth(level, alpha)
        with torch.no_grad():
            outputs[level, alpha] = d(x)
    torch.testing.assert_close(outputs[2, 0.0], outputs[1, 1.0])
    with torch.no_grad():  # at alpha 1 the previous resolution's input layer is not used
        d.from_rgb[1][0].weight.mul_(3.0)
        d.set_growth(2, 1.0)
        torch.testing.assert_close(d(x), outputs[2, 1.0])
        d.set_growth(2, 0.5)
        assert not torch.allclose(d(x), outputs[2, 0.5])


def test_reals_are_faded_as_the_generator_fades_its_images():
    torch.manual_seed(0)
    d = ProgressiveDiscriminator((1, 8, 8), [4, 4], -1.0)
    x = torch.rand(2, 1, 8, 8) * 2 - 1
    d.set_growth(1, 0.0)  # all 4x4: every 2x2 block its mean
    low = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2.0)
    torch.testing.assert_close(d.fade_reals(x), low)
    d.set_growth(1, 0.5)
    torch.testing.assert_close(d.fade_reals(x), 0.5 * low + 0.5 * x)


def test_a_run_of_the_contract_case_stops_mid_fade_in(tmp_path):
    """tests/test_models.py's exact-resume test resumes gan-progan-growing after one epoch of
    24 images: the checkpoint it resumes from is mid fade-in (level 1, alpha 0.75)."""
    config, spec = CASES["gan-progan-growing"]
    torch.manual_seed(0)
    model = build_model(config, spec)
    Trainer(model, TrainConfig(epochs=1, batch_size=8, seed=3), OptimConfig("adam", lr=1e-3),
            tmp_path, progress=False).fit(_examples(spec, 24, 0), _examples(spec, 8, 1))
    assert int(model.images_seen) == 24
    for net in (model.generator.body, model.discriminator.features):
        assert (int(net.level), float(net.alpha)) == (1, 0.75)


def test_per_resolution_batch_sizes_split_the_trainers_batch():
    torch.manual_seed(0)
    model = build_model(GANConfig(**SMALL, net="progan", stable_images=8, fade_images=100,
                                  batch_sizes=[4, 2, 2]), (1, 16, 16))
    batch = Batch(inputs=torch.rand(8, 1, 16, 16) * 2 - 1)
    opts = model.configure_optimizers(OptimConfig("adam", lr=1e-3))
    model.training_step(batch, opts, 0)  # two chunks of 4 at 4x4
    assert int(model.d_steps) == 2 and int(model.images_seen) == 8
    model.training_step(batch, opts, 1)  # fading in 8x8: four chunks of 2
    assert int(model.d_steps) == 6 and int(model.images_seen) == 16
    assert int(model.generator.body.level) == 1
    assert float(model.generator.body.alpha) == pytest.approx(8 / 100)  # 16 - 8 stable, of 100


# -- R1 -----------------------------------------------------------------------------------------
def test_r1_of_a_linear_and_a_quadratic_discriminator_by_hand():
    torch.manual_seed(0)
    linear = nn.Sequential(nn.Flatten(), nn.Linear(12, 1))
    x = torch.randn(5, 3, 2, 2)
    w = linear[1].weight.detach()
    torch.testing.assert_close(r1_penalty(lambda v: linear(v).squeeze(1), x), w.square().sum())
    # D(x) = sum x^2: grad 2x, so R1 = mean over examples of 4 |x|^2
    quadratic = r1_penalty(lambda v: v.square().flatten(1).sum(1), x)
    torch.testing.assert_close(quadratic, 4 * x.flatten(1).square().sum(1).mean())


# -- truncation ---------------------------------------------------------------------------------
@pytest.mark.parametrize("style", ["adain", "modulated"])
def test_truncation_zero_gives_the_mean_w_image_for_every_coding(style):
    torch.manual_seed(0)
    model = build_model(GANConfig(**SMALL, net="stylegan", style=style), (1, 16, 16))
    opts = model.configure_optimizers(OptimConfig("adam", lr=1e-3))
    for step in range(2):  # the tracked mean of w moves away from 0
        model.training_step(Batch(inputs=torch.rand(4, 1, 16, 16) * 2 - 1), opts, step)
    model.eval()
    body = model.generator.body
    assert body.w_avg.abs().sum() > 0
    z = torch.randn(6, 6)
    images = model.decode(z, truncation=0.0)
    with torch.no_grad():
        mean_image = body.synthesis(body.broadcast(body.w_avg[None]))
    torch.testing.assert_close(images, mean_image.expand(6, -1, -1, -1))
    assert not torch.allclose(model.decode(z)[0], model.decode(z)[1])  # untruncated: varied
    torch.testing.assert_close(model.decode(z, truncation=1.0), model.decode(z))


def test_only_stylegan_offers_truncation():
    for net in ("dcgan", "progan"):
        config = GANConfig(**{**SMALL, "g_channels": [8, 4], "d_channels": [4, 8]}, net=net) \
            if net == "dcgan" else GANConfig(**SMALL, net=net)
        assert not can(build_model(config, (1, 16, 16)), TruncatedSampler)
    assert can(build_model(GANConfig(**SMALL, net="stylegan"), (1, 16, 16)), TruncatedSampler)


def test_only_a_growing_net_draws_a_growth_timeline():
    from aegan.models import Grower
    for growth, grows in (({}, False), ({"fade_images": 8}, True), ({"stable_images": 8}, True)):
        model = build_model(GANConfig(**SMALL, net="stylegan", **growth), (1, 16, 16))
        assert can(model, Grower) is grows, growth


def test_generate_with_truncation(cli, tmp_path):
    run = write_run(tmp_path / "style", GANConfig(**SMALL, net="stylegan"), shape=(1, 16, 16))
    result = cli("generate", run, "-n", "3", "--truncation", "0.7", "--npy", tmp_path / "s.npy")
    assert result.code == 0, result.err
    assert "truncation psi 0.7" in result.out
    assert np.load(tmp_path / "s.npy").shape == (3, 1, 16, 16)


def test_truncation_on_a_model_without_it_is_one_line(cli, tmp_path):
    run = write_run(tmp_path / "pro", GANConfig(**SMALL, net="progan"), shape=(1, 16, 16))
    result = cli("generate", run, "-n", "3", "--truncation", "0.7", "--npy", tmp_path / "s.npy")
    assert result.code == 2 and result.err.count("\n") == 1
    assert result.err.startswith("aegan: error:") and "stylegan" in result.err
    assert not (tmp_path / "s.npy").exists()
    result = cli("generate", run, "--truncation", "1.5", "--npy", tmp_path / "s.npy")
    assert result.code == 2 and "[0, 1]" in result.err and result.err.count("\n") == 1


def test_bad_growth_configs_say_what_to_do():
    from aegan.errors import ConfigError
    with pytest.raises(ConfigError, match="one per resolution"):
        build_model(GANConfig(**{**SMALL, "g_channels": [8, 4]}, net="progan"), (1, 16, 16))
    with pytest.raises(ConfigError, match="does not grow"):
        GANConfig(net="dcgan", fade_images=10)
    with pytest.raises(ConfigError, match="model.style"):
        GANConfig(net="stylegan", style="adain2")
    with pytest.raises(ConfigError, match="replaces progressive growing"):
        GANConfig(net="stylegan", g_architecture="skip", fade_images=10)
    with pytest.raises(ConfigError, match="'orig' or 'resnet'"):
        GANConfig(net="progan", d_architecture="residual")
    with pytest.raises(ConfigError, match="leave them out"):
        GANConfig(net="dcgan", d_architecture="resnet")


# -- style mixing -------------------------------------------------------------------------------
def test_style_mixing_takes_the_named_layers_from_the_second_coding():
    torch.manual_seed(0)
    model = build_model(GANConfig(**SMALL, net="stylegan", ema=0.9), (1, 16, 16)).eval()
    bands = model.style_bands()  # 16x16: 3 resolutions, one each; w per layer 0 | 1, 2 | 3, 4
    assert bands == {"coarse": [0], "middle": [1, 2], "fine": [3, 4]}
    z_a, z_b = torch.randn(3, 6), torch.randn(3, 6)
    torch.testing.assert_close(model.mix_styles(z_a, z_b, []), model.decode(z_a))
    torch.testing.assert_close(model.mix_styles(z_a, z_b, list(range(5))), model.decode(z_b))
    coarse = model.mix_styles(z_a, z_b, bands["coarse"])
    assert not torch.allclose(coarse, model.decode(z_a))
    assert not torch.allclose(coarse, model.decode(z_b))


def test_a_stylegan_run_draws_its_figures_and_a_growing_progan_run_its_growth(tmp_path):
    from aegan.figures import make_figures
    run = write_run(tmp_path / "style", GANConfig(**SMALL, net="stylegan"), data="digits",
                    shape=(1, 16, 16))
    names = {p.name for p in make_figures(run, tmp_path / "figs", mode="fast")}
    assert {"style_mixing.png", "truncation.png", "noise_variation.png", "samples.png"} <= names
    assert "growth.png" not in names  # grown from the start: no timeline to draw
    run = write_run(tmp_path / "pro", GANConfig(**SMALL, net="progan", fade_images=8),
                    data="digits", shape=(1, 16, 16))
    names = {p.name for p in make_figures(run, tmp_path / "figs2", mode="fast")}
    assert "growth.png" in names and "noise_variation.png" not in names


# -- the growth timeline ------------------------------------------------------------------------
def test_the_growth_timeline_keeps_each_resolutions_last_images():
    """At the start of a fade-in (alpha 0) the generator's images are its previous resolution's
    (the low path), so the record taken when 4x4 ended equals the images drawn right after."""
    torch.manual_seed(0)
    model = build_model(GANConfig(**SMALL, net="progan", stable_images=8, fade_images=16),
                        (1, 16, 16))
    opts = model.configure_optimizers(OptimConfig("adam", lr=1e-3))
    labels, images = model.growth_timeline()
    assert labels == ["now: 4x4"] and images.shape == (8, 1, 16, 16)
    model.training_step(Batch(inputs=torch.rand(8, 1, 16, 16) * 2 - 1), opts, 0)  # 4x4 ends
    assert int(model.timeline_levels) == 1
    labels, images = model.growth_timeline()
    assert labels == ["end of 4x4", "now: 8x8, 4x4 fading out (0% in)"]
    torch.testing.assert_close(images[:8], images[8:])  # alpha 0: the 4x4 images, by the record
    model.training_step(Batch(inputs=torch.rand(8, 1, 16, 16) * 2 - 1), opts, 1)
    labels, images = model.growth_timeline()
    assert labels == ["end of 4x4", "now: 8x8, 4x4 fading out (50% in)"]
    assert not torch.allclose(images[:8], images[8:])
    blocks = images[:8].reshape(8, 1, 4, 4, 4, 4)  # 4x4 images repeated to 16x16: 4x4 blocks
    torch.testing.assert_close(blocks, blocks[:, :, :, :1, :, :1].expand_as(blocks))


# -- StyleGAN's w space and noise ---------------------------------------------------------------
def _style_model() -> torch.nn.Module:
    from aegan.nets.style import NoiseInput
    torch.manual_seed(0)
    model = build_model(GANConfig(**SMALL, net="stylegan"), (1, 16, 16)).eval()
    for m in model.modules():
        if isinstance(m, NoiseInput):  # the scales start at 0: give the noise a say
            m.scale.data.fill_(0.5)
    model.generator.body.w_avg.normal_()
    return model


def test_w_space_round_trip_and_the_grid_in_w():
    from aegan.generation import InW, semantic_grid
    model = _style_model()
    z = torch.randn(5, 6)
    torch.testing.assert_close(model.synthesize(model.styles(z)), model.decode(z))
    torch.testing.assert_close(model.styles(z, 0.0),
                               model.generator.body.w_avg.expand(5, -1))
    images, framed = semantic_grid(InW(model), seed=3)  # 3x4 codings on a 5x7 grid
    w = model.styles(model.sample_codings(12, torch.Generator().manual_seed(3))).reshape(3, 4, -1)
    grid = torch.as_tensor(images).reshape(5, 7, 1, 16, 16)
    torch.testing.assert_close(grid[2, 2], model.synthesize(w[1, 1][None])[0])  # framed
    assert framed[2, 2] and not framed[1, 1]
    halfway = model.synthesize(((w[0, 0] + w[0, 1]) / 2)[None])[0]  # a straight line in W
    torch.testing.assert_close(grid[0, 1], halfway)


def test_noise_variation_draws_other_noise_and_leaves_the_rest_alone():
    model = _style_model()
    z = torch.randn(3, 6)
    state = torch.get_rng_state()
    a = model.vary_noise(z, torch.Generator().manual_seed(1))
    b = model.vary_noise(z, torch.Generator().manual_seed(1))
    c = model.vary_noise(z, torch.Generator().manual_seed(2))
    assert torch.equal(torch.get_rng_state(), state)  # no draw from the global generator
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c) and not torch.allclose(a, model.decode(z))
    torch.testing.assert_close(model.decode(z), model.decode(z))  # the fixed noise is back


def test_interpolate_in_w_and_its_refusals(cli, tmp_path):
    style = write_run(tmp_path / "style", GANConfig(**SMALL, net="stylegan"), shape=(1, 16, 16))
    result = cli("interpolate", style, "--out", tmp_path / "w.png")
    assert result.code == 0, result.err
    assert (tmp_path / "w.png").stat().st_size > 0
    result = cli("interpolate", style, "--out", tmp_path / "t.png", "--space", "w",
                 "--mode", "traverse")
    assert result.code == 2 and result.err.count("\n") == 1 and "--space w" in result.err
    pro = write_run(tmp_path / "pro", GANConfig(**SMALL, net="progan"), shape=(1, 16, 16))
    result = cli("interpolate", pro, "--out", tmp_path / "p.png", "--space", "w")
    assert result.code == 2 and result.err.count("\n") == 1 and "StyleMixer" in result.err
    assert not (tmp_path / "t.png").exists() and not (tmp_path / "p.png").exists()
    assert cli("interpolate", pro, "--out", tmp_path / "z.png").code == 0


# -- path-length regularisation -----------------------------------------------------------------
def test_path_lengths_of_a_linear_synthesis_and_their_moving_average_by_hand():
    from aegan.models.gan_losses import path_length_penalty, path_lengths
    torch.manual_seed(0)
    a = torch.randn(3 * 4, 2 * 2 * 2)  # ws [N, 3 layers, 4] -> images [N, 2, 2, 2], linear
    ws = torch.randn(5, 3, 4, requires_grad=True)
    images = (ws.flatten(1) @ a).reshape(5, 2, 2, 2)
    y = torch.randn(5, 2, 2, 2) / 2.0
    lengths = path_lengths(images, ws, y)
    grad = (y.flatten(1) @ a.T).reshape(5, 3, 4)  # J^T y of the linear map
    by_hand = grad.square().sum(2).mean(1).sqrt()
    torch.testing.assert_close(lengths, by_hand)
    penalty, mean = path_length_penalty(lengths, torch.tensor(0.5), decay=0.01)
    want_mean = 0.5 + 0.01 * (by_hand.mean() - 0.5)
    torch.testing.assert_close(mean, want_mean)
    torch.testing.assert_close(penalty, (by_hand - want_mean).square().mean())


def test_path_length_regularisation_updates_its_average_every_interval():
    torch.manual_seed(0)
    model = build_model(GANConfig(**SMALL, net="stylegan", pl_weight=2.0, pl_interval=2),
                        (1, 16, 16))
    opts = model.configure_optimizers(OptimConfig("adam", lr=1e-3))
    out = model.training_step(Batch(inputs=torch.rand(4, 1, 16, 16) * 2 - 1), opts, 0)
    first = float(model.pl_mean)
    assert "pl" in out and first > 0  # step 0 regularises: the average left 0
    out = model.training_step(Batch(inputs=torch.rand(4, 1, 16, 16) * 2 - 1), opts, 1)
    assert "pl" not in out and float(model.pl_mean) == first  # step 1 does not
    with pytest.raises(Exception, match="no w"):
        GANConfig(**SMALL, net="progan", pl_weight=1.0)


@pytest.mark.parametrize("name", ["progan-cifar10", "stylegan-cifar10"])
def test_the_cifar10_presets_make_colour_images_of_32(name):
    from aegan.models import model_class
    from aegan.presets import get_preset
    config = get_preset(name)
    assert config.data.name == "cifar10"
    spec = model_class(config.model).spec_for(config.model, (3, 32, 32))
    model = build_model(config.model, spec)
    assert model.sample(2, torch.Generator().manual_seed(0)).shape == (2, 3, 32, 32)
    c = config.model
    if name == "progan-cifar10":  # 4x4 for the first phase, 8x8 half faded in 1.5 phases later
        assert model.levels == 4 and growth_at(0, 4, c.fade_images, c.stable_images) == (0, 1.0)
        assert growth_at(450_000, 4, c.fade_images, c.stable_images) == (1, 0.5)
    else:  # StyleGAN 2's skip generator: 32x32 from the first image
        assert not c.grows and c.g_architecture == "skip"
        assert growth_at(0, 4, c.fade_images, c.stable_images) == (3, 1.0)


def test_evaluation_draws_truncated_samples_when_asked(cli, tmp_path):
    from aegan.metrics import MetricData
    from aegan.metrics.generation import _samples
    model = _style_model()
    x = np.zeros((4, 1, 16, 16), np.float32)
    same = _samples(model, MetricData(x, None, x, (-1.0, 1.0), truncation=0.0), 5)
    np.testing.assert_allclose(same, np.broadcast_to(same[:1], same.shape), atol=1e-5)  # mean w
    free = _samples(model, MetricData(x, None, x, (-1.0, 1.0)), 5)
    assert not np.allclose(free[0], free[1])
    pro = write_run(tmp_path / "pro", GANConfig(**SMALL, net="progan"), shape=(1, 16, 16))
    for psi, says in (("0.5", "TruncatedSampler"), ("1.5", "[0, 1]")):
        result = cli("evaluate", pro, "--truncation", psi)
        assert result.code == 2 and result.err.count("\n") == 1 and says in result.err
