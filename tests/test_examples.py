"""Examples with named roles and a declared kind: the .npz, .npy, image-folder and paired-folder
readers, derived pairs, scaling into the model's range, examples drawn afresh each epoch, and
existing families trained on pairs whose targets differ from their inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from skimage.color import lab2rgb, rgb2lab

from aegan import api
from aegan.config import DataConfig, OptimConfig, TrainConfig
from aegan.data import Examples, Resampled, derive, load_dataset
from aegan.errors import ConfigError, DataError, DataMismatch
from aegan.models import AutoencoderConfig, GANConfig, VAEConfig, build_model
from aegan.run import RunConfig, load_data
from aegan.train import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")
RNG = np.random.RandomState(0)


def _png(path, pixels):
    from PIL import Image

    Image.fromarray(pixels).save(path)


# -- readers ---------------------------------------------------------------------------------
def test_npz_arrays_name_their_roles(tmp_path):
    x = RNG.rand(20, 1, 4, 4).astype(np.float32)
    clean, y = np.clip(x + 0.1, 0, 1), np.arange(20) % 3
    cond = RNG.rand(20, 2).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, targets=clean, y=y, conditions=cond)
    data = load_dataset(str(tmp_path / "d.npz"))
    assert data.kind == "images" and len(data.train) == 18
    np.testing.assert_array_equal(data.train.targets, clean[:18])
    np.testing.assert_array_equal(data.valid.labels, y[18:])
    np.testing.assert_array_equal(data.valid.conditions, cond[18:])
    assert data.spec.shapes == {"inputs": (1, 4, 4), "targets": (1, 4, 4), "labels": (),
                                "conditions": (2,)}
    assert data.spec.num_classes == 3


@pytest.mark.parametrize("arrays, message", [
    ({"x": np.zeros((4, 2)), "weights": np.zeros((4, 2))}, "'weights' names no role"),
    ({"x": np.zeros((4, 2)), "inputs": np.zeros((4, 2))}, "both name the inputs"),
    ({"targets": np.zeros((4, 2)), "y": np.zeros(4)}, "no inputs array"),
    ({"x": np.zeros((4, 2)), "targets": np.zeros((3, 2))}, "targets has 3 rows"),
    ({"x": np.zeros((4, 2)), "targets": np.full((4, 2), np.nan)}, r"\(targets\) has NaN"),
    ({"x": np.zeros((4, 2)), "y": np.array([0, -1, 2, 1])}, "class indices >= 0"),
])
def test_npz_role_errors_name_the_array(tmp_path, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(DataError, match=message):
        load_dataset(str(tmp_path / "d.npz"))


def test_five_dimensional_npy_is_image_sequences_and_the_run_records_it(tmp_path, cli):
    frames = RNG.rand(12, 4, 1, 6, 6).astype(np.float32)  # [N, T, C, H, W]
    np.save(tmp_path / "clips.npy", frames)
    data = load_dataset(str(tmp_path / "clips.npy"))
    assert data.kind == "image-sequences" and data.sample_shape == (4, 1, 6, 6)
    config = RunConfig(AutoencoderConfig(encoder=[8]), DataConfig(str(tmp_path / "clips.npy")),
                       train=TrainConfig(epochs=1, batch_size=4))
    run = api.train(config, tmp_path / "run", progress=False)
    recorded = json.loads((run / "config.json").read_text())["spec"]
    assert recorded["kind"] == "image-sequences" and recorded["shapes"]["inputs"] == [4, 1, 6, 6]
    described = cli("datasets", tmp_path / "clips.npy", "--json")
    assert described.code == 0
    assert json.loads(described.out)["kind"] == "image-sequences"
    assert json.loads(described.out)["roles"] == {"inputs": [4, 1, 6, 6]}


def test_kind_settles_frames_without_a_channel_and_eight_bit_images(tmp_path):
    frames = RNG.randint(0, 256, (10, 3, 5, 5)).astype(np.uint8)  # [N, T, H, W]
    np.save(tmp_path / "f.npy", frames)
    guessed = load_dataset(str(tmp_path / "f.npy"))
    assert guessed.kind == "images" and guessed.sample_shape == (3, 5, 5)
    told = load_dataset(str(tmp_path / "f.npy"), kind="image-sequences")
    assert told.sample_shape == (3, 1, 5, 5) and told.value_range == (0.0, 1.0)
    np.testing.assert_allclose(told.train.inputs[:, :, 0] * 255, frames[:9])  # 8 bits: / 255
    with pytest.raises(DataError, match="not vectors"):
        load_dataset(str(tmp_path / "f.npy"), kind="vectors")
    np.save(tmp_path / "six.npy", np.zeros((3, 1, 1, 1, 1, 1)))
    with pytest.raises(DataError, match="image sequences"):
        load_dataset(str(tmp_path / "six.npy"))


def test_side_by_side_pairs(tmp_path):
    folder = tmp_path / "pairs"
    folder.mkdir()
    for i in range(10):
        left = np.full((6, 4, 3), 10 * i, np.uint8)
        right = np.full((6, 4, 3), 200 - 10 * i, np.uint8)
        _png(folder / f"{i:02d}.png", np.concatenate([left, right], axis=1))
    data = load_dataset(str(folder), pairs="left-right")
    assert data.spec.shapes == {"inputs": (3, 6, 4), "targets": (3, 6, 4)}
    batch = data.train.select(slice(0, 9))
    both = np.stack([batch.inputs[np.arange(9)], batch.targets[np.arange(9)]])
    assert np.allclose(both[0] * 255 + both[1] * 255, 200)  # each input beside its target
    flipped = load_dataset(str(folder), pairs="right-left")
    np.testing.assert_array_equal(flipped.valid.inputs, data.valid.targets)


def test_twin_folders_and_their_errors(tmp_path):
    root = tmp_path / "twins"
    for side in ("A", "B"):
        (root / "train" / side).mkdir(parents=True)
        (root / "val" / side).mkdir(parents=True)
    for split, n in (("train", 6), ("val", 2)):
        for i in range(n):
            _png(root / split / "A" / f"{i}.png", np.full((8, 8), i, np.uint8))
            _png(root / split / "B" / f"{i}.png", np.full((16, 16, 3), i, np.uint8))
    data = load_dataset(str(root), pairs="folders")
    assert len(data.train) == 6 and len(data.valid) == 2
    assert data.spec.shapes == {"inputs": (1, 8, 8), "targets": (3, 16, 16)}
    _png(root / "train" / "A" / "9.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(DataError, match="9.png has no twin in B/"):
        load_dataset(str(root), pairs="folders")
    (root / "train" / "A" / "9.png").unlink()
    _png(root / "train" / "B" / "3.png", np.zeros((12, 12, 3), np.uint8))
    with pytest.raises(DataError, match="images differ in size.*3.png is 12x12"):
        load_dataset(str(root), pairs="folders")


# -- derived pairs ---------------------------------------------------------------------------
def test_downscale_pairs_follow_torch_and_keep_labels():
    data = load_dataset("digits", derive={"name": "downscale", "factor": 2, "method": "area"})
    full = load_dataset("digits")
    assert data.spec.shapes["inputs"] == (1, 4, 4) and data.spec.shapes["targets"] == (1, 8, 8)
    np.testing.assert_array_equal(data.train.targets, full.train.inputs)
    np.testing.assert_array_equal(data.train.labels, full.train.labels)
    block = full.valid.inputs[3, 0, 2:4, 4:6].mean()
    assert data.valid.inputs[3, 0, 1, 2] == pytest.approx(block, abs=1e-6)  # area: block means
    bicubic = load_dataset("digits", derive={"name": "downscale", "factor": 2})
    assert bicubic.valid.inputs.min() >= 0 and bicubic.valid.inputs.max() <= 1


def test_lab_split_round_trips_through_scikit_image():
    rgb = RNG.rand(3, 3, 5, 7).astype(np.float32)
    lightness, ab = derive.lab_split(rgb)
    assert lightness.shape == (3, 1, 5, 7) and ab.shape == (3, 2, 5, 7)
    assert 0 <= lightness.min() and lightness.max() <= 1 and 0 <= ab.min() and ab.max() <= 1
    lab = rgb2lab(rgb.transpose(0, 2, 3, 1))
    np.testing.assert_allclose(lightness[:, 0] * 100, lab[..., 0], atol=1e-3)
    np.testing.assert_allclose(derive.lab_join(lightness, ab), rgb, atol=1e-4)
    np.testing.assert_allclose(derive.lab_join(lightness, ab).transpose(0, 2, 3, 1),
                               lab2rgb(lab), atol=1e-4)


def test_grayscale_edges_and_mask_pairs(tmp_path):
    colour = RNG.rand(12, 3, 8, 8).astype(np.float32)
    np.save(tmp_path / "c.npy", colour)
    grey = load_dataset(str(tmp_path / "c.npy"), derive={"name": "grayscale"})
    weights = np.array([0.299, 0.587, 0.114]).reshape(1, 3, 1, 1)
    np.testing.assert_allclose(grey.train.inputs, (colour[:11] * weights).sum(1, keepdims=True),
                               atol=1e-6)
    lab = load_dataset(str(tmp_path / "c.npy"), derive={"name": "grayscale", "mode": "lab"})
    assert lab.spec.shapes["targets"] == (2, 8, 8)
    edges = load_dataset("digits", derive={"name": "edges", "sigma": 1.0})
    assert set(np.unique(edges.train.inputs[:50])) <= {0.0, 1.0} and edges.train.inputs.any()
    masked = load_dataset("digits", derive={"name": "mask", "size": 0.25, "seed": 3})
    holes = masked.valid.inputs != masked.valid.targets
    assert holes.any() and (masked.valid.inputs[holes] == 0).all()
    again = load_dataset("digits", derive={"name": "mask", "size": 0.25, "seed": 3})
    np.testing.assert_array_equal(again.valid.inputs, masked.valid.inputs)  # seeded per example
    with pytest.raises(DataError, match="makes grey inputs from colour"):
        load_dataset("digits", derive={"name": "grayscale"})


def test_frames_cut_sequences_into_context_and_future(tmp_path):
    clips = RNG.rand(10, 6, 1, 4, 4).astype(np.float32)
    np.save(tmp_path / "clips.npy", clips)
    data = load_dataset(str(tmp_path / "clips.npy"),
                        derive={"name": "frames", "context": 4, "horizon": 2})
    np.testing.assert_array_equal(data.train.inputs, clips[:9, :4])
    np.testing.assert_array_equal(data.train.targets, clips[:9, 4:])
    with pytest.raises(DataError, match="needs more than the 6 steps"):
        load_dataset(str(tmp_path / "clips.npy"), derive={"name": "frames", "context": 6})


@pytest.mark.parametrize("spec, message", [
    ({"name": "blur"}, "unknown data.derive 'blur'"),
    ({"name": "downscale", "factor": 1}, "factor 1 is out of range"),
    ({"name": "downscale", "factor": 3}, "needs a side that it divides"),
    ({"name": "mask", "holes": 2}, "unknown parameter 'holes'"),
    ({"factor": 2}, "must be an object with a 'name'"),
])
def test_bad_derive_is_refused_with_the_way_out(spec, message):
    with pytest.raises((ConfigError, DataError), match=message):
        if "name" not in spec:
            DataConfig("digits", derive=spec)
        load_dataset("digits", derive=spec)


def test_derived_pairs_of_a_lazy_folder_are_computed_per_batch(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(12):
        _png(folder / f"{i}.png", RNG.randint(0, 256, (8, 8)).astype(np.uint8))
    lazy = load_dataset(str(folder), derive={"name": "downscale", "factor": 2, "method": "area"})
    assert isinstance(lazy.train.inputs, derive.Mapped)  # nothing read yet
    rows = lazy.train.inputs[np.array([3, 1])]
    whole = np.asarray(lazy.train.targets)
    np.testing.assert_allclose(rows[0, 0, 0, 0], whole[3, 0, :2, :2].mean(), atol=1e-6)


# -- scaling, refusals and training on pairs -------------------------------------------------
def test_image_roles_are_scaled_into_the_range_the_model_asks_for():
    config = RunConfig(GANConfig(value_range="symmetric"),
                       DataConfig("digits", derive={"name": "downscale", "factor": 2}))
    data = load_data(config)
    assert data.value_range == (-1.0, 1.0)
    assert data.train.inputs.min() >= -1 and data.train.targets.min() == -1
    assert data.train.labels.dtype == np.int64  # labels are never scaled


def test_families_refuse_data_they_cannot_learn_from():
    pairs = load_dataset("digits", derive={"name": "downscale", "factor": 2}).spec
    with pytest.raises(DataMismatch, match="learns from its inputs alone"):
        build_model(VAEConfig(), pairs)
    with pytest.raises(DataMismatch, match="targets have shape"):
        build_model(AutoencoderConfig(), pairs)
    with pytest.raises(DataMismatch, match="learns from images"):
        build_model(AutoencoderConfig(net="conv"), (3,))


def test_a_denoising_autoencoder_learns_noisy_inputs_to_clean_targets(tmp_path):
    clean = load_dataset("digits").train.inputs  # 1,257 images, the last 125 validate
    noisy = np.clip(clean + RNG.normal(0, 0.3, clean.shape), 0, 1).astype(np.float32)
    np.savez(tmp_path / "pairs.npz", x=noisy, targets=clean)
    config = RunConfig(AutoencoderConfig(encoder=[32, 16]), DataConfig(str(tmp_path / "pairs.npz")),
                       OptimConfig("adam", lr=3e-3), TrainConfig(epochs=20, batch_size=32))
    run = api.train(config, tmp_path / "run", progress=False)
    result = api.evaluate(run)  # against the targets, the clean images
    noisy_mse = float(np.mean((noisy[-125:] - clean[-125:]) ** 2))
    assert result["recon_mse"] < 0.6 * noisy_mse, (result["recon_mse"], noisy_mse)
    assert "pca_mse" not in result  # PCA reconstructs inputs: no baseline for other targets


def test_a_paired_folder_trains_an_autoencoder_to_its_targets(tmp_path):
    folder = tmp_path / "pairs"
    folder.mkdir()
    for i in range(40):
        target = RNG.randint(0, 256, (4, 4)).astype(np.uint8)
        _png(folder / f"{i:02d}.png", np.concatenate([255 - target, target], axis=1))
    config = RunConfig(AutoencoderConfig(encoder=[16], loss="mse"),
                       DataConfig(str(folder), pairs="left-right"), OptimConfig("adam", lr=1e-2),
                       TrainConfig(epochs=40, batch_size=8))
    run = api.train(config, tmp_path / "run", progress=False)
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert history[-1]["train_loss"] < 0.25 * history[0]["train_loss"]  # it learns the inversion


def test_resampled_examples_are_drawn_per_epoch_and_resume_exactly(tmp_path):
    def draw(epoch):
        rng = np.random.RandomState(epoch)
        return Examples(rng.rand(16, 3).astype(np.float32))

    seen, results = [], {}
    source = Resampled(lambda epoch: seen.append(epoch) or draw(epoch), 16, first=draw(0))
    for label, stops in (("straight", [3]), ("resumed", [1, 3])):
        (tmp_path / label).mkdir()
        for i, epochs in enumerate(stops):
            torch.manual_seed(i)
            model = build_model(AutoencoderConfig(encoder=[2], loss="mse", output="linear"), (3,))
            Trainer(model, TrainConfig(epochs=epochs, batch_size=4), OptimConfig(),
                    tmp_path / label, progress=False).fit(source, resume=i > 0)
        results[label] = model.state_dict()
    assert seen == [0, 1, 2] + [0] + [1, 2]  # each run, and the resumed one, asks per epoch
    for key, value in results["straight"].items():
        assert torch.equal(value, results["resumed"][key])
