"""Data: IDX parsing, the registered sets, user files, downloads with checksums."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest

from aegan.data import DATASETS, load_dataset
from aegan.data.download import download
from aegan.data.idx import read_idx
from aegan.errors import DataError
from tests.conftest import write_idx


@pytest.mark.parametrize("compress", [True, False])
def test_idx_round_trip(tmp_path, compress):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "a-idx3-ubyte", array, compress)
    np.testing.assert_array_equal(read_idx(path), array)


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[:-5], "truncated or corrupt"),
    (lambda raw: b"\x01\x02" + raw[2:], "bad magic number"),
    (lambda raw: raw[:6], "truncated inside its IDX header"),
])
def test_idx_damage_is_named(tmp_path, damage, message):
    good = write_idx(tmp_path / "ok", np.zeros((3, 2, 2)), compress=False).read_bytes()
    bad = tmp_path / "bad"
    bad.write_bytes(damage(good))
    with pytest.raises(DataError, match=message):
        read_idx(bad)


def test_truncated_gzip_is_named(tmp_path):
    path = write_idx(tmp_path / "x.gz", np.zeros((50, 28, 28)))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(DataError, match="damaged"):
        read_idx(path)


def test_mnist_from_shared_folder(shared_data):
    data = load_dataset("mnist", shared_data)
    train, valid = data.train.inputs, data.valid.inputs
    assert train.shape == (55000, 1, 28, 28) and valid.shape == (5000, 1, 28, 28)
    assert data.test.inputs.shape == (10000, 1, 28, 28) and data.kind == "images"
    assert train.dtype == np.float32 and 0 <= train.min() and train.max() == 1
    # The uncompressed training images are the official ones (MD5 from the data's README).
    raw = gzip.decompress((shared_data / "mnist" / "train-images-idx3-ubyte.gz").read_bytes())
    assert hashlib.md5(raw).hexdigest() == "6bbc9ace898e44ae57da46a324031adb"
    np.testing.assert_array_equal(valid[-1, 0] * 255, np.frombuffer(raw[-784:], np.uint8).reshape(28, 28))


def test_env_var_and_subfolder_lookup(tiny_idx, monkeypatch):
    monkeypatch.setenv("AEGAN_DATA_DIR", str(tiny_idx))
    data = load_dataset("mnist")
    assert len(data.train) == 10 and len(data.valid) == 5000 and len(data.test) == 4


def test_missing_data_names_both_ways_out(tmp_path, monkeypatch):
    import aegan.data.sets as sets

    monkeypatch.setitem(sets._SOURCES, "mnist", ("file:///nonexistent/", ("0" * 64,) * 4))
    with pytest.raises(DataError, match="--data-dir.*AEGAN_DATA_DIR.*internet"):
        load_dataset("mnist")
    with pytest.raises(DataError, match="no IDX files"):
        load_dataset("mnist", tmp_path)


def test_download_checks_sha256_and_deletes_mismatch(tmp_path):
    source = tmp_path / "src.bin"
    source.write_bytes(b"hello aegan")
    digest = hashlib.sha256(b"hello aegan").hexdigest()
    target = download(source.as_uri(), tmp_path / "cache" / "f.bin", digest)
    assert target.read_bytes() == b"hello aegan"
    with pytest.raises(DataError, match="SHA-256"):
        download(source.as_uri(), tmp_path / "cache" / "g.bin", "0" * 64)
    assert not list((tmp_path / "cache").glob("g.bin*"))


def test_embedded_sets():
    digits = load_dataset("digits")
    assert digits.sample_shape == (1, 8, 8) and digits.train.inputs.max() <= 1.0
    assert len(digits.train) + len(digits.valid) + len(digits.test) == 1797
    cloud = load_dataset("book-3d")
    assert cloud.train.inputs.shape == (60, 3) and cloud.kind == "vectors"
    np.testing.assert_allclose(cloud.train.inputs.mean(axis=0), 0, atol=1e-6)
    assert {d for d, e in DATASETS.items() if e.embedded} == {"digits", "book-3d", "photos"}


def test_limit_keeps_first_examples():
    full, few = load_dataset("digits"), load_dataset("digits", limit=100)
    np.testing.assert_array_equal(few.train.inputs, full.train.inputs[:100])
    np.testing.assert_array_equal(few.train.labels, full.train.labels[:100])
    np.testing.assert_array_equal(few.valid.inputs, full.valid.inputs)


def test_csv_with_header(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n" + "\n".join(f"{i},{2 * i}" for i in range(20)) + "\n")
    data = load_dataset(str(path))
    assert data.kind == "vectors" and data.train.inputs.shape == (18, 2)
    assert data.valid.inputs.shape == (2, 2)


@pytest.mark.parametrize("text, message", [
    ("1,2\n3,abc\n", "line 2: 'abc' is not a number"),
    ("1,2\n3\n", "line 2: 1 columns"),
    ("1,2\nnan,4\n5,6\n", "NaN or infinite"),
    ("", "0 examples"),
])
def test_bad_csv(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        load_dataset(str(path))


def test_npy_and_npz(tmp_path):
    x = np.random.RandomState(0).rand(30, 5).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "x.npz", x=x, y=np.arange(30))
    a, b = load_dataset(str(tmp_path / "x.npy")), load_dataset(str(tmp_path / "x.npz"))
    np.testing.assert_array_equal(a.train.inputs, x[:27])
    np.testing.assert_array_equal(b.valid.labels, np.arange(27, 30))
    assert a.value_range == (0.0, 1.0)


def test_classes_filter_train_and_valid_not_test():
    full, threes = load_dataset("digits"), load_dataset("digits", classes=[3, 5])
    for split in ("train", "valid"):
        few, every = threes.split(split), full.split(split)
        keep = np.isin(every.labels, [3, 5])
        assert set(np.unique(few.labels)) == {3, 5}
        np.testing.assert_array_equal(few.inputs, every.inputs[keep])
    np.testing.assert_array_equal(threes.test.inputs, full.test.inputs)  # tested on all classes
    assert len(load_dataset("digits", limit=20, classes=[3]).train) == 20
    with pytest.raises(DataError, match="class 12 does not occur"):
        load_dataset("digits", classes=[12])
    with pytest.raises(DataError, match="needs labels"):
        load_dataset("book-3d", classes=[0])
