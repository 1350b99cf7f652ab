"""Untrusted files: loading never unpickles, weights carry a checksum, legacy ``.pt`` files are
read with ``weights_only=True``, downloads are verified, IDX reading is bounded, and archive or
folder entries that lead outside are refused.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile
import zipfile

import pytest
import torch

from aegan import api
from aegan.config import DataConfig, OptimConfig, TrainConfig
from aegan.data.archive import extract_archive, list_files
from aegan.data.download import download
from aegan.data.idx import read_idx
from aegan.errors import DataError, RunError, UnsafeFile
from aegan.fileio import safe_join
from aegan.io import load_run
from aegan.models import AutoencoderConfig
from aegan.run import RunConfig
from aegan.weights import load_safetensors, save_safetensors


@pytest.fixture
def run(tmp_path):
    config = RunConfig(model=AutoencoderConfig(encoder=[2], activation="linear", output="linear",
                                               loss="mse"),
                       data=DataConfig("book-3d"), optim=OptimConfig(lr=1e-2),
                       train=TrainConfig(epochs=2))
    return api.train(config, tmp_path / "run", progress=False)


def test_loading_a_run_never_unpickles(run, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("something was unpickled")

    for target in ("pickle.load", "pickle.loads", "pickle.Unpickler", "torch.load"):
        monkeypatch.setattr(target, refuse)
    load_run(run)
    api.evaluate(run)
    api.resume(run, epochs=3, progress=False)


def test_legacy_pt_is_read_with_weights_only(run):
    _, model = load_run(run)
    torch.save(model.state_dict(), run / "model.pt")
    (run / "model.safetensors").unlink()
    (run / "checkpoint.safetensors").unlink()
    _, loaded = load_run(run)
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


@pytest.mark.parametrize("payload", ["tensor dict", "bare object"])
def test_malicious_pickle_is_refused_and_never_runs(run, tmp_path, payload):
    marker = tmp_path / "PWNED"
    evil = _Evil(marker)
    torch.save({"w": evil} if payload == "tensor dict" else evil, run / "model.pt")
    for name in ("model.safetensors", "checkpoint.safetensors"):
        (run / name).unlink()
    with pytest.raises(UnsafeFile, match="refused.*could run code"):
        load_run(run)
    assert not marker.exists()
    # the same pickle posing as safetensors is refused as damaged, not run
    (run / "model.safetensors").write_bytes(pickle.dumps(evil))
    with pytest.raises(RunError, match="damaged or not a safetensors file"):
        load_run(run)
    assert not marker.exists()


def test_every_single_byte_corruption_is_caught(tmp_path):
    """Flip each byte of a small weights file in turn: it loads unchanged (a flip that JSON
    ignores) or is refused; never does it load other numbers or other metadata."""
    path = tmp_path / "w.safetensors"
    tensors = {"w": torch.arange(6.0).reshape(2, 3), "b": torch.tensor([1.5, -2.0])}
    save_safetensors(path, tensors, {"family": "autoencoder"})
    good = path.read_bytes()
    for at in range(len(good)):
        raw = bytearray(good)
        raw[at] ^= 0x29  # turns a space into a tab: the one flip JSON may not notice
        path.write_bytes(bytes(raw))
        try:
            loaded, meta = load_safetensors(path)
        except RunError:
            continue
        assert meta == {"family": "autoencoder"}, at
        assert loaded.keys() == tensors.keys() and all(torch.equal(loaded[k], tensors[k])
                                                       for k in tensors), at


def test_a_file_without_checksum_is_refused(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.ones(2)}, str(tmp_path / "old.safetensors"))
    with pytest.raises(RunError, match="carries no SHA-256"):
        load_safetensors(tmp_path / "old.safetensors")


# -- downloads -------------------------------------------------------------------------------
def test_download_mismatch_deletes_and_cached_copy_is_verified_again(tmp_path):
    source = tmp_path / "src.bin"
    source.write_bytes(b"the real data")
    digest = hashlib.sha256(b"the real data").hexdigest()
    target = tmp_path / "cache" / "f.bin"
    with pytest.raises(DataError, match="SHA-256.*deleted"):
        download(source.as_uri(), target, "0" * 64)
    assert not list((tmp_path / "cache").iterdir())
    download(source.as_uri(), target, digest)
    target.write_bytes(b"tampered in the cache")  # damaged or replaced after the download
    assert download(source.as_uri(), target, digest).read_bytes() == b"the real data"


# -- IDX reading is bounded by the header --------------------------------------------------------
def test_idx_reads_no_more_than_its_header_promises(tmp_path):
    header = bytes([0, 0, 0x08, 1]) + (10).to_bytes(4, "big")
    bomb = tmp_path / "bomb-idx1-ubyte.gz"
    bomb.write_bytes(gzip.compress(header + bytes(50_000_000)))  # 50 MB of zeros, 50 kB on disk
    with pytest.raises(DataError, match="holds more data bytes"):
        read_idx(bomb)
    huge = tmp_path / "huge-idx3-ubyte"
    huge.write_bytes(bytes([0, 0, 0x08, 3]) + (100_000).to_bytes(4, "big") * 3)
    with pytest.raises(DataError, match="promises 1,000,000,000,000,000 bytes"):
        read_idx(huge)


# -- archives and folders ----------------------------------------------------------------------
def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _tar(path, members: list[tarfile.TarInfo], data: bytes = b"x"):
    with tarfile.open(path, "w:gz") as archive:
        for info in members:
            if info.isfile():
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info)
    return path


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


@pytest.mark.parametrize("make", [
    lambda tmp: _zip(tmp / "a.zip", {"ok.txt": b"1", "../escape.txt": b"2"}),
    lambda tmp: _zip(tmp / "a.zip", {"ok.txt": b"1", "/tmp/abs.txt": b"2"}),
    lambda tmp: _zip(tmp / "a.zip", {"ok.txt": b"1", "C:\\windows\\x.txt": b"2"}),
    lambda tmp: _tar(tmp / "a.tgz", [tarfile.TarInfo("ok.txt"), tarfile.TarInfo("sub/../../x")]),
    lambda tmp: _tar(tmp / "a.tgz", [tarfile.TarInfo("ok.txt"), _symlink("link", "/etc/passwd")]),
    lambda tmp: _tar(tmp / "a.tgz", [tarfile.TarInfo("ok.txt"), _symlink("link", "../..")]),
], ids=["zip ..", "zip absolute", "zip drive", "tar ..", "tar symlink out", "tar symlink up"])
def test_archive_with_escaping_paths_is_refused_before_writing(tmp_path, make):
    archive = make(tmp_path)
    with pytest.raises(UnsafeFile, match="refused"):
        extract_archive(archive, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []  # checked before anything was written
    assert not (tmp_path / "escape.txt").exists()


def test_safe_archive_is_extracted(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"images/a.png": b"1", "images/b/c.png": b"2"})
    written = extract_archive(archive, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == \
        ["images/a.png", "images/b/c.png"]
    assert (tmp_path / "out" / "images" / "b" / "c.png").read_bytes() == b"2"


def test_image_folder_with_a_link_outside_is_refused(tmp_path):
    folder = tmp_path / "images"
    (folder / "cats").mkdir(parents=True)
    (folder / "cats" / "a.png").write_bytes(b"1")
    (folder / "cats" / "same.png").symlink_to(folder / "cats" / "a.png")  # inside: fine
    assert [p.name for p in list_files(folder, (".png",))] == ["a.png", "same.png"]
    (tmp_path / "secret.png").write_bytes(b"2")
    (folder / "cats" / "leak.png").symlink_to(tmp_path / "secret.png")
    with pytest.raises(UnsafeFile, match="outside"):
        list_files(folder, (".png",))


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/../../x", "a\\..\\..\\x", "", "a\x00b"])
def test_safe_join_refuses_names_that_escape(tmp_path, name):
    with pytest.raises(UnsafeFile):
        safe_join(tmp_path, name)


def test_safe_join_keeps_names_inside(tmp_path):
    assert safe_join(tmp_path, "a/b/c.png") == tmp_path / "a" / "b" / "c.png"
