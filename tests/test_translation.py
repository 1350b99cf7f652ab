"""Image-to-image translation: the networks' shapes and receptive field, the objective's
weighting checked by hand, PSNR/SSIM against scikit-image, the Lab round trip, colourfulness,
the photographs' crops, the downloaded sets' readers, and ``aegan translate`` (the shared
contract checks of the family are in test_models.py)."""

from __future__ import annotations

import hashlib
import json
import zipfile

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aegan import api
from aegan.config import DataConfig, OptimConfig, TrainConfig
from aegan.data import ExampleSpec, load_dataset
from aegan.data.derive import lab_join, lab_split
from aegan.data.examples import Batch
from aegan.errors import DataMismatch, RunError
from aegan.io import save_model, write_json
from aegan.metrics import MetricData
from aegan.metrics.translation import colourfulness, judge, ssim, translation
from aegan.models import TranslatorConfig, build_model
from aegan.nets.translation import (
    PatchGAN,
    SRResNet,
    UNet,
    patch_layers,
    patch_map_side,
    receptive_field,
)
from aegan.run import RunConfig

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = dict(g_channels=4, g_max_channels=8, d_channels=4, d_max_channels=8)


def _spec(inputs, targets, value_range=(-1.0, 1.0), classes=0):
    shapes = {"inputs": tuple(inputs), "targets": tuple(targets)}
    if classes:
        shapes["labels"] = ()
    return ExampleSpec("images", shapes, value_range, classes)


def _batch(spec, n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return Batch(inputs=torch.rand((n, *spec.inputs), generator=g) * 2 - 1,
                 targets=torch.rand((n, *spec.shapes["targets"]), generator=g) * 2 - 1)


# -- networks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("size, depth", [((8, 8), 3), ((16, 16), 4), ((12, 20), 2), ((28, 28), 2)])
@pytest.mark.parametrize("upsample", ["transpose", "resize"])
def test_unet_keeps_the_size_for_sides_it_takes(size, depth, upsample):
    net = UNet(2, 3, depth, base=4, most=8, upsample=upsample).eval()
    assert net(torch.randn(2, 2, *size)).shape == (2, 3, *size)
    assert net(torch.randn(1, 2, size[0] * 2, size[1])).shape == (1, 3, size[0] * 2, size[1])


@pytest.mark.parametrize("factor, size", [(2, (7, 7)), (4, (7, 7)), (4, (5, 9))])
def test_srresnet_enlarges_any_size_by_its_factor(factor, size):
    net = SRResNet(1, 2, factor, width=4, blocks=1).eval()
    assert net(torch.randn(2, 1, *size)).shape == (2, 2, size[0] * factor, size[1] * factor)


@pytest.mark.parametrize("side, layers", [(8, 0), (16, 1), (28, 0), (64, 2), (32, 3)])
def test_patchgan_gives_one_logit_per_patch(side, layers):
    net = PatchGAN(3, layers, base=4, most=8).eval()
    out = net(torch.randn(2, 3, side, side))
    assert out.shape == (2, 1, patch_map_side(side, layers), patch_map_side(side, layers))


def test_patchgan_receptive_field_is_70_at_256_and_scales_with_the_image():
    """The patch one logit sees, measured by its gradient: 70x70 for three stride-2 layers
    (pix2pix's); the layers chosen for a side keep it near 70/256 of the side."""
    assert [patch_layers(s) for s in (256, 128, 64, 28)] == [3, 2, 1, 0]
    for layers in (0, 1, 3):
        net = PatchGAN(1, layers, base=2, most=4, norm="none")
        x = torch.zeros(1, 1, 160, 160, requires_grad=True)
        out = net(x)
        out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
        rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
        assert rows.max() - rows.min() + 1 == receptive_field(layers)
    assert receptive_field(3) == 70


# -- the model ---------------------------------------------------------------------------------
def test_one_paired_step_changes_both_players_and_l1_only_has_no_discriminator():
    spec = _spec((1, 8, 8), (1, 8, 8))
    model = build_model(TranslatorConfig(**TINY), spec).train()
    before = {k: p.detach().clone() for k, p in model.named_parameters()}
    model.training_step(_batch(spec), model.configure_optimizers(OptimConfig("adam")), 0)
    for player in ("generator", "discriminator"):
        changed = [not torch.equal(before[k], p) for k, p in model.named_parameters()
                   if k.startswith(player + ".")]
        assert changed and all(changed), player
    twin = build_model(TranslatorConfig(**TINY, lambda_adv=0.0), spec)
    assert twin.discriminator is None
    assert set(twin.configure_optimizers(OptimConfig())) == {"generator"}


def test_generator_loss_is_adversarial_plus_weighted_l1_by_hand():
    spec = _spec((1, 8, 8), (2, 8, 8))
    torch.manual_seed(0)
    model = build_model(TranslatorConfig(**TINY, lambda_adv=2.0, lambda_l1=30.0, lambda_fm=0.5),
                        spec).eval()
    batch = _batch(spec)
    x, y = batch.inputs, batch.targets
    fake = model.generator(x)
    out = model.generator_losses(x, y, fake)
    logits, fake_feats = model.discriminator.features(torch.cat([x, fake], 1))
    real_feats = model.discriminator.features(torch.cat([x, y], 1))[1]
    adv = torch.log1p(torch.exp(-logits)).mean()  # -log sigmoid(D(x, G(x))), non-saturating
    l1 = (fake - y).abs().mean()
    fm = sum((f - r).abs().mean() for f, r in zip(fake_feats, real_feats)) / len(real_feats)
    torch.testing.assert_close(out["g_adv"], adv)
    torch.testing.assert_close(out["l1"], l1)
    torch.testing.assert_close(out["fm"], fm)
    torch.testing.assert_close(out["g_loss"], 2.0 * adv + 30.0 * l1 + 0.5 * fm)


def test_l1_only_step_is_plain_sgd_on_weighted_l1():
    spec = _spec((1, 8, 8), (1, 8, 8))
    torch.manual_seed(0)
    model = build_model(TranslatorConfig(**TINY, lambda_adv=0.0, lambda_l1=100.0, dropout=0.0),
                        spec).train()
    batch = _batch(spec)
    expected = {k: p.detach().clone() for k, p in model.generator.named_parameters()}
    loss = 100.0 * (model.generator(batch.inputs) - batch.targets).abs().mean()
    grads = torch.autograd.grad(loss, list(model.generator.parameters()))
    torch.manual_seed(0)
    model = build_model(TranslatorConfig(**TINY, lambda_adv=0.0, lambda_l1=100.0, dropout=0.0),
                        spec).train()
    model.training_step(batch, model.configure_optimizers(OptimConfig("sgd", lr=0.01)), 0)
    for (name, p), g in zip(model.generator.named_parameters(), grads):
        torch.testing.assert_close(p, expected[name] - 0.01 * g)


def test_perceptual_loss_reads_a_handed_in_network():
    spec = _spec((1, 8, 8), (1, 8, 8), classes=3)
    config = TranslatorConfig(**TINY, lambda_adv=0.0, lambda_l1=1.0, lambda_perceptual=2.0)
    with pytest.raises(DataMismatch, match="labels"):
        build_model(config, _spec((1, 8, 8), (1, 8, 8)))
    model = build_model(config, spec)
    assert model.external_networks() == ("classifier",)
    batch = _batch(spec)
    with pytest.raises(RunError, match="classifier"):
        model.training_step(batch, model.configure_optimizers(OptimConfig()), 0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 5))
    model.attach_network("classifier", net)
    fake = model.generator(batch.inputs)
    out = model.generator_losses(batch.inputs, batch.targets, fake)
    by_hand = (net(fake) - net(batch.targets)).abs().mean()
    torch.testing.assert_close(out["perceptual"], by_hand)
    torch.testing.assert_close(out["g_loss"], out["l1"] + 2.0 * by_hand)
    assert "classifier" not in str(list(model.state_dict()))  # not the model's weights


def test_data_the_translator_cannot_learn_from_is_refused():
    with pytest.raises(DataMismatch, match="srresnet"):
        build_model(TranslatorConfig(), _spec((1, 7, 7), (1, 28, 28)))
    with pytest.raises(DataMismatch, match="upsamples by 2, 4"):
        build_model(TranslatorConfig(generator="srresnet"), _spec((1, 8, 8), (1, 24, 24)))
    with pytest.raises(DataMismatch, match="cannot be halved"):
        build_model(TranslatorConfig(), _spec((1, 7, 7), (1, 7, 7)))
    with pytest.raises(DataMismatch, match="targets"):
        build_model(TranslatorConfig(), ExampleSpec.of_shape((1, 8, 8), (-1.0, 1.0)))


# -- metrics ----------------------------------------------------------------------------------
@pytest.mark.parametrize("channels", [1, 3])
def test_psnr_and_ssim_match_scikit_image(channels):
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from aegan.metrics.reconstruction import psnr

    rng = np.random.default_rng(0)
    truth = rng.uniform(0, 1, (3, channels, 16, 20))
    noisy = np.clip(truth + rng.normal(0, 0.1, truth.shape), 0, 1)
    ours_psnr, ours_ssim = psnr(truth, noisy, 1.0), ssim(truth, noisy)
    theirs_psnr = np.mean([peak_signal_noise_ratio(t, n, data_range=1.0)
                           for t, n in zip(truth, noisy)])
    theirs_ssim = np.mean([structural_similarity(t, n, data_range=1.0, channel_axis=0)
                           for t, n in zip(truth, noisy)])
    assert ours_psnr == pytest.approx(theirs_psnr, rel=1e-9)
    assert ours_ssim == pytest.approx(theirs_ssim, rel=1e-9)


@pytest.mark.parametrize("dtype,shape,window,tol", [
    (torch.float64, (2, 3, 9, 12), 7, 1e-13), (torch.float64, (1, 1, 7, 7), 7, 1e-13),
    (torch.float64, (2, 1, 5, 6), 3, 1e-13), (torch.float32, (160, 1, 64, 64), 7, 1e-6)])
def test_ssim_window_means_are_average_pooling(dtype, shape, window, tol):
    """SSIM's window means by running sums: the same values as ``avg_pool2d`` with stride 1,
    for every window that fits (the whole image too), and the same gradient."""
    from aegan.nets.ssim import window_means

    t = torch.rand(shape, dtype=dtype, generator=torch.Generator().manual_seed(1),
                   requires_grad=True)
    ours, pooled = window_means(t, window), F.avg_pool2d(t, window, stride=1)
    assert ours.shape == pooled.shape
    assert torch.allclose(ours, pooled, rtol=0, atol=tol)
    weights = torch.rand(pooled.shape, dtype=dtype, generator=torch.Generator().manual_seed(2))
    ours_grad, = torch.autograd.grad((ours * weights).sum(), t)
    pooled_grad, = torch.autograd.grad((pooled * weights).sum(), t)
    assert torch.allclose(ours_grad, pooled_grad, rtol=0, atol=tol)


def test_lab_round_trip_and_colourfulness_by_hand():
    rng = np.random.default_rng(0)
    rgb = rng.uniform(0, 1, (4, 3, 6, 5)).astype(np.float32)
    lightness, ab = lab_split(rgb)
    assert lightness.shape == (4, 1, 6, 5) and ab.shape == (4, 2, 6, 5)
    assert 0 <= lightness.min() and lightness.max() <= 1 and 0 <= ab.min() and ab.max() <= 1
    np.testing.assert_allclose(lab_join(lightness, ab), rgb, atol=1e-4)
    red = np.zeros((1, 3, 4, 4))
    red[:, 0] = 1.0  # rg = 255, yb = 127.5 everywhere: no spread, only the mean
    assert colourfulness(red) == pytest.approx(0.3 * np.hypot(255.0, 127.5))
    assert colourfulness(np.full((2, 3, 4, 4), 0.4)) == 0.0


def _sr_data(n=6, seed=0):
    rng = np.random.default_rng(seed)
    targets = rng.uniform(0, 1, (n, 1, 16, 16))
    inputs = targets.reshape(n, 1, 8, 2, 8, 2).mean(axis=(3, 5))
    return inputs * 2 - 1, targets * 2 - 1, rng.integers(0, 3, n)


def test_translation_metric_puts_bicubic_and_nearest_beside_super_resolution():
    from skimage.metrics import peak_signal_noise_ratio

    x, y, _ = _sr_data()
    model = build_model(TranslatorConfig(generator="srresnet", g_channels=4, blocks=1),
                        _spec((1, 8, 8), (1, 16, 16)))
    data = MetricData(x, None, x, (-1.0, 1.0), targets=y)
    result = translation(model.eval(), data)
    up = F.interpolate(torch.as_tensor((x + 1) / 2), scale_factor=2, mode="nearest").numpy()
    by_hand = np.mean([peak_signal_noise_ratio(((t + 1) / 2)[:, 2:-2, 2:-2], u[:, 2:-2, 2:-2],
                                               data_range=1.0) for t, u in zip(y, up)])
    assert result["psnr_nearest"] == pytest.approx(by_hand)
    assert {"psnr", "ssim", "psnr_bicubic", "ssim_bicubic", "ssim_nearest"} <= set(result)
    assert [row["quantity"] for row in result["beside"]] == ["psnr", "ssim"]
    assert "2 border pixels cropped" in result["psnr_protocol"]


def test_judge_compares_accuracy_on_translations_with_accuracy_on_targets():
    x, y, labels = _sr_data(n=8)
    model = build_model(TranslatorConfig(generator="srresnet", g_channels=4, blocks=1),
                        _spec((1, 8, 8), (1, 16, 16))).eval()

    class Brightness:  # a stand-in judge: the class is how bright the image is
        name = "brightness"

        def predict(self, images):
            return np.digitize(images.mean(axis=(1, 2, 3)), [-0.01, 0.01])

    data = MetricData(x, labels, x, (-1.0, 1.0), targets=y, y_train=labels)
    data.cache["classifier"] = Brightness()
    out = judge(model, data)
    translated = model.translate(torch.as_tensor(x, dtype=torch.float32)).numpy()
    assert out["judge_accuracy_real"] == np.mean(Brightness().predict(y) == labels)
    assert out["judge_accuracy"] == np.mean(Brightness().predict(translated) == labels)


def test_translation_fid_compares_feature_statistics_with_the_targets_and_bicubic():
    from aegan.metrics.generation import feature_stats, frechet_distance
    from aegan.metrics.translation import translation_fid, upsample

    x, y, _ = _sr_data(n=12)
    model = build_model(TranslatorConfig(generator="srresnet", g_channels=4, blocks=1),
                        _spec((1, 8, 8), (1, 16, 16))).eval()

    class Moments:  # a stand-in feature extractor: 3 numbers per image
        name, dim = "moments", 3

        def __call__(self, images, value_range):
            flat = images.reshape(len(images), -1)
            return np.stack([flat.mean(1), flat.std(1), np.abs(np.diff(flat, axis=1)).mean(1)], 1)

    data = MetricData(x, None, x, (-1.0, 1.0), targets=y, seed=3)
    data.cache["extractor"] = (Moments(), "a test")
    out = translation_fid(model, data)
    fx = Moments()
    real = feature_stats(fx(y, None))
    translated = model.translate(torch.as_tensor(x, dtype=torch.float32)).numpy()
    bicubic = upsample((x + 1) / 2, 2, "bicubic") * 2 - 1
    assert out["fid"] == pytest.approx(frechet_distance(*real, *feature_stats(fx(translated, None))))
    assert out["fid_bicubic"] == pytest.approx(frechet_distance(*real, *feature_stats(fx(bicubic, None))))
    assert out["fid_features"] == "moments" and out["fid_examples"] == 12


def test_colorization_scores_rgb_ab_and_colourfulness_beside_the_grey_image():
    from skimage.metrics import peak_signal_noise_ratio

    rng = np.random.default_rng(0)
    rgb = rng.uniform(0, 1, (3, 3, 8, 8)).astype(np.float32)
    lightness, ab = lab_split(rgb)
    model = build_model(TranslatorConfig(**TINY), _spec((1, 8, 8), (2, 8, 8))).eval()
    data = MetricData(lightness * 2 - 1, None, lightness, (-1.0, 1.0), targets=ab * 2 - 1,
                      derive={"name": "grayscale", "mode": "lab"})
    out = translation(model, data)
    translated = (model.translate(torch.as_tensor(lightness * 2 - 1)).numpy() + 1) / 2
    coloured = lab_join(lightness, translated)
    assert out["colourfulness"] == pytest.approx(colourfulness(coloured))
    assert out["colourfulness_target"] == pytest.approx(colourfulness(rgb), rel=1e-4)
    grey_ab = np.full_like(ab, 128 / 255)
    assert out["psnr_ab_grey"] == pytest.approx(np.mean([peak_signal_noise_ratio(
        t, g, data_range=1.0) for t, g in zip(ab.astype(np.float64), grey_ab.astype(np.float64))]))
    assert out["psnr"] == pytest.approx(np.mean([peak_signal_noise_ratio(
        t, c, data_range=1.0) for t, c in zip(rgb.astype(np.float64), coloured.astype(np.float64))]),
        rel=1e-4)
    assert "on RGB images" in out["psnr_protocol"]
    assert [r["quantity"] for r in out["beside"]] == ["psnr", "ssim", "psnr_ab", "colourfulness"]


# -- data --------------------------------------------------------------------------------------
def test_photo_crops_are_a_function_of_the_epoch_and_hold_out_whole_photographs():
    from aegan.data.photos import HELD_OUT, TRAIN_PHOTOS, draw_crops, photo_crops, tiles

    rng = np.random.default_rng(0)
    train = [rng.uniform(0, 1, (3, 20, 30)).astype(np.float32) for _ in range(2)]
    held = [rng.uniform(0, 1, (3, 40, 50)).astype(np.float32)]
    data = photo_crops("test", train, held, crop=8, per_epoch=5, test_size=(16, 24))
    assert np.array_equal(data.train.draw(3).inputs, data.train.draw(3).inputs)
    assert not np.array_equal(data.train.draw(3).inputs, data.train.draw(4).inputs)
    assert data.test.inputs.shape == (1, 3, 16, 24) and data.valid.inputs.shape == (6, 3, 8, 8)
    np.testing.assert_array_equal(tiles(data.test.inputs, 8)[4], data.test.inputs[0, :, 8:16, 8:16])
    crops = draw_crops(train, 50, 8, 0, 0)
    assert crops.shape == (50, 3, 8, 8) and not set(TRAIN_PHOTOS) & set(HELD_OUT)


def _zip_of(tmp_path, files: dict[str, bytes]):
    path = tmp_path / "facades.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _png(value: int, size=(4, 4), mode="RGB") -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, size, (value,) * (3 if mode == "RGB" else 1)).save(buffer, "PNG")
    return buffer.getvalue()


def test_facades_download_is_checked_unpacked_and_paired_by_name(tmp_path, monkeypatch):
    from aegan.data import downloaded

    files = {}
    for split, count in (("train", 5), ("test", 2)):
        for i in range(1, count + 1):
            files[f"facades/{split}A/{i}_A.png"] = _png(10 * i)  # photographs
            files[f"facades/{split}B/{i}_B.png"] = _png(100 + i)  # label maps
    archive = _zip_of(tmp_path, files)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    monkeypatch.setitem(downloaded.SOURCES, "facades",
                        downloaded.Source(archive.as_uri(), digest, "facades"))
    data = load_dataset("facades", valid_size=1)
    assert len(data.train) == 4 and len(data.valid) == 1 and len(data.test) == 2
    assert np.asarray(data.train.inputs)[2, 0, 0, 0] == pytest.approx(103 / 255)  # 3_B
    assert np.asarray(data.train.targets)[2, 0, 0, 0] == pytest.approx(30 / 255)  # 3_A
    monkeypatch.setitem(downloaded.SOURCES, "facades",
                        downloaded.Source(archive.as_uri(), "0" * 64, "facades"))
    monkeypatch.setenv("AEGAN_CACHE_DIR", str(tmp_path / "other-cache"))
    with pytest.raises(Exception, match="SHA-256"):
        load_dataset("facades")


def test_cifar10_binary_batches_are_read_with_their_labels(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, n in [*[(f"data_batch_{i}.bin", 4) for i in range(1, 6)], ("test_batch.bin", 3)]:
        records = rng.integers(0, 256, (n, 3073), dtype=np.uint8)
        records[:, 0] %= 10
        records.tofile(folder / name)
    data = load_dataset("cifar10", data_dir=tmp_path, valid_size=5)
    raw = np.fromfile(folder / "test_batch.bin", dtype=np.uint8).reshape(3, 3073)
    assert data.test.inputs.shape == (3, 3, 32, 32) and len(data.train) == 15
    np.testing.assert_array_equal(data.test.labels, raw[:, 0])
    assert data.test.inputs[1, 2, 0, 1] == pytest.approx(raw[1, 1 + 2 * 1024 + 1] / 255)


# -- the run: train, evaluate, translate --------------------------------------------------------
@pytest.fixture(scope="module")
def sr_run(tmp_path_factory):
    """A tiny x2 super-resolution run on 16x16 images (one epoch)."""
    folder = tmp_path_factory.mktemp("sr")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (40, 1, 16, 16)).astype(np.float32)
    np.savez(folder / "small.npz", x=x, y=rng.integers(0, 3, 40))
    config = RunConfig(
        model=TranslatorConfig(generator="srresnet", g_channels=4, blocks=1, d_channels=4),
        data=DataConfig(str(folder / "small.npz"), derive={"name": "downscale", "factor": 2}),
        optim=OptimConfig("adam", lr=2e-4), train=TrainConfig(epochs=1, batch_size=8))
    return api.train(config, folder / "run", progress=False)


def test_a_run_draws_its_translations_every_epoch_and_evaluates_beside_bicubic(sr_run, cli):
    assert (sr_run / "translations" / "epoch_001.png").is_file()
    result = cli("evaluate", sr_run, "--json")
    assert result.code == 0, result.err
    numbers = json.loads(result.out)
    assert {"psnr", "psnr_bicubic", "psnr_nearest", "ssim"} <= set(numbers)
    table = cli("evaluate", sr_run)
    assert "bicubic" in table.out and "nearest" in table.out


def _image(path, size, mode="L"):
    from PIL import Image

    Image.new(mode, size, 128 if mode == "L" else (128, 64, 32)).save(path)
    return path


def test_translate_writes_a_grid_an_array_and_pngs(sr_run, cli, tmp_path):
    photo = _image(tmp_path / "a.png", (16, 16))
    result = cli("translate", sr_run, "--input", photo, "--out", tmp_path / "grid.png")
    assert result.code == 0, result.err
    assert "with their targets" in result.out and (tmp_path / "grid.png").is_file()
    result = cli("translate", sr_run, "--input", photo, "--out", tmp_path / "big.npy",
                 "--as-inputs")
    assert result.code == 0, result.err
    assert np.load(tmp_path / "big.npy").shape == (1, 1, 32, 32)  # 16 -> 32: its own input
    data = cli("translate", sr_run, "--input", str(sr_run.parent / "small.npz"), "--split",
               "valid", "-n", "3", "--out", tmp_path / "pngs")
    assert data.code == 0, data.err
    assert len(list((tmp_path / "pngs").glob("*.png"))) == 3


@pytest.mark.parametrize("image, flags, says", [
    ("rgb.png", [], "grey images of 1 channel(s), not 3"),
    ("odd.png", [], "the nearest sizes it takes are 14x14 or 16x16"),
])
def test_translate_refuses_an_image_it_cannot_take_in_one_line(sr_run, cli, tmp_path, image,
                                                               flags, says):
    path = (_image(tmp_path / image, (16, 16), "RGB") if image == "rgb.png"
            else _image(tmp_path / image, (15, 15)))
    out = tmp_path / "out.png"
    result = cli("translate", sr_run, "--input", path, "--out", out, *flags)
    assert result.code == 2
    assert result.err.startswith("aegan: error:") and says in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert not out.exists()


def test_translate_refuses_a_unet_size_naming_the_nearest(cli, tmp_path):
    spec = _spec((1, 8, 8), (1, 8, 8))
    config = TranslatorConfig(**TINY)
    run = tmp_path / "run"
    run.mkdir()
    write_json(run / "config.json", RunConfig(model=config, data=DataConfig("digits"),
                                              spec=spec).to_dict())
    save_model(run, build_model(config, spec))
    result = cli("translate", run, "--input", _image(tmp_path / "b.png", (12, 20)), "--out",
                 tmp_path / "pngs")
    assert result.code == 2 and "multiples of 8" in result.err
    assert "20x12 (height x width)" in result.err and "16x8 or 16x16 or 24x8 or 24x16" in result.err
    assert not (tmp_path / "pngs").exists()


@pytest.fixture
def tiny_photos(monkeypatch):
    """A registered set of random 'photographs' cropped as the photos set is (8x8 crops)."""
    from aegan.data import dataset
    from aegan.data.photos import photo_crops

    rng = np.random.default_rng(0)
    train = [rng.uniform(0, 1, (3, 20, 24)).astype(np.float32) for _ in range(2)]
    held = [rng.uniform(0, 1, (3, 20, 30)).astype(np.float32)]

    def load(data_dir, valid_size):
        return photo_crops("tiny-photos", train, held, crop=8, per_epoch=16, test_size=(16, 24))

    monkeypatch.setitem(dataset.DATASETS, "tiny-photos",
                        dataset.DatasetEntry("tiny-photos", load, "test photographs", True))
    return "tiny-photos"


def test_colorization_trains_on_crops_evaluates_and_translates_colour_photographs(
        tiny_photos, cli, tmp_path):
    config = RunConfig(model=TranslatorConfig(**TINY),
                       data=DataConfig(tiny_photos, derive={"name": "grayscale", "mode": "lab"}),
                       train=TrainConfig(epochs=1, batch_size=8))
    run = api.train(config, tmp_path / "run", progress=False)
    assert (run / "translations" / "epoch_001.png").is_file()
    result = api.evaluate(run, split="test")
    assert {"psnr", "psnr_grey", "psnr_ab", "colourfulness", "colourfulness_target"} <= set(result)
    colour = _image(tmp_path / "colour.png", (16, 16), "RGB")
    done = cli("translate", run, "--input", colour, "--out", tmp_path / "colour.npy")
    assert done.code == 0 and "with their targets" in done.out
    assert np.load(tmp_path / "colour.npy").shape == (1, 3, 16, 16)  # RGB: L with its a and b
    grey = cli("translate", run, "--input", _image(tmp_path / "grey.png", (16, 24)), "--out",
               tmp_path / "grey.png.npy")
    assert grey.code == 0 and "with their targets" not in grey.out
    assert cli("translate", run, "--input", tiny_photos, "--out", tmp_path / "g.png").code == 0
