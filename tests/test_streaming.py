"""Data larger than memory: memory-mapped ``.npy`` files, image folders, and the Trainer's
streaming path, which must give the very batches of the in-memory path for the same seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from aegan.config import OptimConfig, TrainConfig
from aegan.data import Examples, files, load_dataset, memory, stream
from aegan.data.files import load_file
from aegan.models import AutoencoderConfig, build_model
from aegan.train import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")


def _train(x, y, x_valid, mode: str, workers: int = 0, epochs: int = 2):
    torch.manual_seed(0)
    model = build_model(AutoencoderConfig(encoder=[3]), tuple(x.shape[1:]))
    train = TrainConfig(epochs=epochs, batch_size=16, device="cpu", data_on_device=mode,
                        num_workers=workers, valid_batch_size=7)
    trainer = Trainer(model, train, OptimConfig("adam", lr=1e-2), progress=False)
    history = trainer.fit(Examples(x, labels=y), Examples(x_valid))
    return history, model.state_dict()


def _same(a, b) -> None:
    (ha, wa), (hb, wb) = a, b
    assert [{k: v for k, v in r.items() if k != "time_s"} for r in ha] == \
           [{k: v for k, v in r.items() if k != "time_s"} for r in hb]
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name  # the same batches: bit for bit


@pytest.fixture
def map_all(monkeypatch):
    """Every float32 .npy stays memory-mapped, as a file larger than the budget does."""
    monkeypatch.setattr(files, "map_above", lambda: 0)


def test_small_npy_is_read_into_memory(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((20, 3), np.float32))
    x = load_file(tmp_path / "x.npy").train.inputs
    assert type(x) is np.ndarray and x.flags.writeable


def test_npy_is_memory_mapped_and_streams_like_memory(tmp_path, map_all):
    x = np.random.RandomState(0).rand(90, 6).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    data = load_file(tmp_path / "x.npy")
    train, valid = data.train.inputs, data.valid.inputs
    assert isinstance(train, np.memmap) and isinstance(valid, np.memmap)
    np.testing.assert_array_equal(train, x[:81])  # the file's values, unconverted
    assert data.value_range == (0.0, 1.0)
    y = np.arange(81) % 3  # labels travel through the same reader
    in_memory = _train(train, y, valid, "always")
    _same(in_memory, _train(train, y, valid, "never"))
    _same(in_memory, _train(train, y, valid, "never", workers=2))


def test_auto_streams_memory_maps_above_the_budget(tmp_path, monkeypatch, map_all):
    np.save(tmp_path / "x.npy", np.ones((20, 4), np.float32))
    mapped = load_file(tmp_path / "x.npy").train.inputs
    trainer = Trainer(torch.nn.Linear(1, 1), TrainConfig(device="cpu"), OptimConfig())
    size = mapped.size * 4  # bytes as float32
    monkeypatch.setattr(stream, "in_memory_budget", lambda device: size - 1)
    assert trainer._streams(mapped) and not trainer._streams(np.ones((20, 4)))
    monkeypatch.setattr(stream, "in_memory_budget", lambda device: size)
    assert not trainer._streams(mapped)
    for mode, streams in (("always", False), ("never", True)):
        forced = Trainer(torch.nn.Linear(1, 1), TrainConfig(device="cpu", data_on_device=mode),
                         OptimConfig())
        assert forced._streams(mapped) == streams and forced._streams(np.ones(3)) == streams


def test_memory_mapped_rows_are_read_from_the_file(tmp_path, monkeypatch, map_all):
    np.save(tmp_path / "x.npy", np.arange(64 * 1024, dtype=np.float32).reshape(64, 1024))
    reader = stream.BatchReader([load_file(tmp_path / "x.npy").train.inputs])
    assert memory.file_rows(reader.arrays[0])[1:] == (128, 4096)  # after the .npy header
    released = []
    monkeypatch.setattr(memory, "release_pages", released.append)
    (batch,) = reader[np.array([5, 0, 3])]  # rows in the order asked for
    np.testing.assert_array_equal(batch[:, 0].numpy(), [5 * 1024, 0, 3 * 1024])
    assert released == [reader.arrays[0]]


def _image_folder(root, sizes=None, mode="L", n=6) -> np.ndarray:
    """``root/a`` and ``root/b`` with ``n`` images each; returns the pixels [2n, H, W, C?]."""
    rng = np.random.RandomState(1)
    pixels = []
    for c in "ab":
        (root / c).mkdir(parents=True)
        for i in range(n):
            size = (sizes or {}).get((c, i), (5, 4))
            shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
            array = rng.randint(0, 256, shape, dtype=np.uint8)
            Image.fromarray(array, mode).save(root / c / f"{i}.png")
            pixels.append(array)
    return np.array(pixels, dtype=object)


@pytest.mark.parametrize("mode,channels", [("L", 1), ("RGB", 3)])
def test_image_folder_reads_pixels_and_labels(tmp_path, mode, channels):
    pixels = _image_folder(tmp_path / "imgs", mode=mode)
    data = load_dataset(str(tmp_path / "imgs"))
    assert data.kind == "images" and data.classes == ["a", "b"]
    assert data.sample_shape == (channels, 4, 5) and len(data.train) == 11
    order = np.random.RandomState(0).permutation(12)  # the folder's fixed shuffled order
    np.testing.assert_array_equal(data.train.labels, (order[:11] >= 6).astype(np.int64))
    first = np.asarray(pixels[order[0]], np.float32) / 255
    expected = first[None] if channels == 1 else first.transpose(2, 0, 1)
    np.testing.assert_allclose(data.train.inputs[np.array([0])][0], expected, rtol=0, atol=1e-7)
    valid = data.valid.inputs
    np.testing.assert_allclose(valid[0], np.asarray(pixels[order[11]], np.float32).reshape(
        valid[0].transpose(1, 2, 0).shape).transpose(2, 0, 1) / 255, atol=1e-7)


def test_image_folder_streams_through_workers_like_memory(tmp_path):
    _image_folder(tmp_path / "imgs", n=15)
    data = load_dataset(str(tmp_path / "imgs"))
    train, labels, valid = data.train.inputs, data.train.labels, data.valid.inputs
    streamed = _train(train, labels, valid, "auto", workers=2, epochs=1)
    _same(streamed, _train(np.asarray(train), labels, valid, "always", epochs=1))


def test_an_image_that_fails_in_a_worker_is_one_line(tmp_path):
    from aegan.errors import DataError

    _image_folder(tmp_path / "imgs", n=15)
    broken = tmp_path / "imgs" / "a" / "3.png"
    broken.write_bytes(broken.read_bytes()[:-30])  # header whole: caught only when decoded
    data = load_dataset(str(tmp_path / "imgs"))
    with pytest.raises(DataError) as caught:
        _train(data.train.inputs, data.train.labels, data.valid.inputs, "never", workers=1,
               epochs=1)
    assert str(caught.value).startswith(str(broken)) and "\n" not in str(caught.value)
