"""Data sets fetched by name on a machine with internet, each file checked against a published
SHA-256 before use (:mod:`aegan.data.download`), then unpacked safely
(:mod:`aegan.data.archive`) into the cache (``$AEGAN_CACHE_DIR/datasets/NAME``), or read from
``--data-dir`` where a copy is already.

- ``cifar10``: CIFAR-10 (Krizhevsky 2009), 32x32 colour photographs of 10 classes, the binary
  version; the last 5,000 training images validate, the 10,000 test images test.
- ``facades``: the CMP Facades pairs of pix2pix (Tyleček & Šára 2013; Isola et al. 2017),
  label map -> photograph, 256x256, 400 training and 106 test pairs. pix2pix's own archive
  (``facades.tar.gz``) has no SHA-256 published that we could find, only an MD5 in third-party
  code, so the copy that CycleGAN's authors host (Zhu et al. 2017: the same pairs as twin
  folders, photographs in ``trainA``, label maps in ``trainB``) is fetched, with the SHA-256
  that TensorFlow Datasets publishes for it.
- ``maps``: pix2pix's aerial photograph -> map pairs, 600x600, 1,096 training and 1,098 test
  pairs, from the same CycleGAN copy and checksum list.

The twin folders are paired by name (``12_A.jpg`` with ``12_B.jpg``); a file without its twin
is an error naming it. pix2pix's other sets (edges2shoes, edges2handbags, night2day) are not
registered: no SHA-256 of them is published that we could find. Any of them, once downloaded,
is a folder of pairs (``--data DIR`` with ``data.pairs left-right``).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from aegan.data.archive import extract_archive
from aegan.data.dataset import Dataset, register_dataset, split_last
from aegan.data.download import cache_dir, download
from aegan.data.examples import Examples
from aegan.data.folder import ImageFiles, image_paths, one_size
from aegan.errors import DataError


@dataclasses.dataclass(frozen=True)
class Source:
    url: str
    sha256: str
    folder: str  # what the archive unpacks to; a file that is not an archive: its name
    archive: bool = True


SOURCES = {
    # tensorflow/datasets, tensorflow_datasets/url_checksums/cifar10.txt (170,052,171 bytes)
    "cifar10": Source("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                      "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
                      "cifar-10-batches-bin"),
    # tensorflow/datasets, tensorflow_datasets/url_checksums/cycle_gan.txt (35,135,868 bytes)
    "facades": Source("https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/facades.zip",
                      "9a31ebf3a31b9b5cd195dd5bf62e9308e00cb94604d1019e3889ac84248695c0",
                      "facades"),
    # the same list (1,476,754,427 bytes)
    "maps": Source("https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/maps.zip",
                   "639534f69dbf9f36bef8d6292a7698006361221f83f0285d7c9ca78afe6e8a9e", "maps"),
    # tensorflow/datasets, tensorflow_datasets/url_checksums/moving_mnist.txt (819,200,096
    # bytes): Srivastava et al.'s fixed Moving MNIST test sequences
    "moving-mnist-test": Source(
        "http://www.cs.toronto.edu/~nitish/unsupervised_video/mnist_test_seq.npy",
        "c2a3e8d3939c001ab77bf543f130157424efa486bb4d0974d2cebb773b13f8b3", "mnist_test_seq.npy",
        archive=False),
}

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]
CIFAR10_RECORD = 1 + 3 * 32 * 32  # a label byte, then 1,024 red, green and blue bytes


def fetched(name: str, data_dir: Path | None) -> Path:
    """The unpacked folder of ``name`` (or its file, for a source that is not an archive): in
    ``data_dir`` (or ``$AEGAN_DATA_DIR``) when it holds it, else downloaded into the cache,
    checked, and unpacked there."""
    source = SOURCES[name]
    local = data_dir or (Path(os.environ["AEGAN_DATA_DIR"]) if os.environ.get("AEGAN_DATA_DIR")
                         else None)
    if local is not None:
        for candidate in (local / source.folder, local / name / source.folder, local):
            if candidate.name == source.folder and (
                    candidate.is_dir() if source.archive else candidate.is_file()):
                return candidate
        what = f"{source.folder}/ folder" if source.archive else f"file {source.folder}"
        how = f"unpack {source.url.rsplit('/', 1)[1]} there" if source.archive else "put it there"
        raise DataError(f"{name}: no {what} in {local}; {how}, or drop --data-dir to download it")
    target = cache_dir() / "datasets" / name
    if not source.archive:
        path = target / source.folder
        if path.is_file() and (target / ".complete").is_file():  # checked when it came
            return path
        try:
            download(source.url, path, source.sha256)
        except DataError as exc:
            raise DataError(f"{name} is not available: {exc}. Either pass --data-dir DIR to a "
                            f"folder holding {source.folder}, or connect to the internet so "
                            "aegan can download it") from None
        (target / ".complete").write_text("checked\n")
        return path
    unpacked = target / source.folder
    if unpacked.is_dir() and (target / ".complete").is_file():
        return unpacked
    archive_name = source.url.rsplit("/", 1)[1]
    try:
        archive = download(source.url, target / archive_name, source.sha256)
    except DataError as exc:
        raise DataError(f"{name} is not available: {exc}. Either pass --data-dir DIR to a "
                        f"folder holding {source.folder}/, or connect to the internet so aegan "
                        "can download it") from None
    extract_archive(archive, target)
    if not unpacked.is_dir():
        raise DataError(f"{archive} did not unpack to {source.folder}/; delete {target} and try "
                        "again")
    (target / ".complete").write_text("unpacked\n")
    return unpacked


# -- CIFAR-10 ---------------------------------------------------------------------------------
def read_cifar_batches(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[N, 3, 32, 32]`` float32 in [0, 1] and labels ``[N]`` of CIFAR-10's binary
    batch files."""
    raw = []
    for path in paths:
        data = np.fromfile(path, dtype=np.uint8)
        if data.size % CIFAR10_RECORD:
            raise DataError(f"{path} is not a CIFAR-10 batch file (its size is not a multiple "
                            f"of {CIFAR10_RECORD} bytes); download it again")
        raw.append(data.reshape(-1, CIFAR10_RECORD))
    records = np.concatenate(raw)
    x = (records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0)
    return x, records[:, 0].astype(np.int64)


@register_dataset("cifar10", "CIFAR-10, 32x32 colour photographs of 10 classes, 45k/5k/10k "
                  "(download, SHA-256 checked, or --data-dir)")
def cifar10(data_dir: Path | None, valid_size: int | None) -> Dataset:
    folder = fetched("cifar10", data_dir)
    missing = [f"data_batch_{i}.bin" for i in range(1, 6)
               if not (folder / f"data_batch_{i}.bin").is_file()]
    if missing or not (folder / "test_batch.bin").is_file():
        raise DataError(f"{folder} lacks {(missing or ['test_batch.bin'])[0]}; unpack "
                        "cifar-10-binary.tar.gz there again")
    x, y = read_cifar_batches([folder / f"data_batch_{i}.bin" for i in range(1, 6)])
    xt, yt = read_cifar_batches([folder / "test_batch.bin"])
    train, valid = split_last(Examples(x, labels=y), valid_size or 5000)
    return Dataset("cifar10", "images", train, valid, Examples(xt, labels=yt),
                   classes=CIFAR10_CLASSES)


# -- pix2pix's pairs, from CycleGAN's twin folders --------------------------------------------
def _stem(path: Path, side: str) -> str:
    stem = path.stem
    return stem[:-2] if stem.endswith(f"_{side}") else stem


def twin_pairs(root: Path, split: str, inputs: str, targets: str) -> Examples:
    """The lazy pairs of ``root/{split}{inputs}`` (the inputs) and ``root/{split}{targets}``,
    matched by name without the ``_A`` / ``_B`` suffix, in the order of their names' numbers."""
    folders = {side: root / f"{split}{side}" for side in (inputs, targets)}
    for folder in folders.values():
        if not folder.is_dir():
            raise DataError(f"{folder} is missing; unpack the archive again")
    found = {side: {_stem(p, side): p for p in image_paths(root, folder)}
             for side, folder in folders.items()}
    alone = sorted(set(found[inputs]) ^ set(found[targets]))
    if alone:
        raise DataError(f"{root}: {alone[0]} has no twin in {split}{inputs}/ or "
                        f"{split}{targets}/; unpack the archive again")
    names = sorted(found[inputs], key=lambda s: (int(s) if s.isdigit() else float("inf"), s))
    arrays = []
    for side in (inputs, targets):
        paths = [found[side][n] for n in names]
        size, channels = one_size(root, paths)
        arrays.append(ImageFiles(np.array([str(p) for p in paths]), channels, size))
    return Examples(*arrays)


def _pix2pix_pairs(name: str, data_dir: Path | None, valid_size: int | None,
                   inputs: str, targets: str, n_valid: int) -> Dataset:
    root = fetched(name, data_dir)
    train, valid = split_last(twin_pairs(root, "train", inputs, targets), valid_size or n_valid)
    valid = valid.map(lambda role, v: np.asarray(v))  # read whole, as every validation split
    return Dataset(name, "images", train, valid, twin_pairs(root, "test", inputs, targets),
                   notes=["the last training pairs validate; the test pairs test"])


@register_dataset("facades", "pix2pix's CMP Facades: label map -> photograph, 256x256 RGB, "
                  "360/40/106 pairs (download, SHA-256 checked, or --data-dir)")
def facades(data_dir: Path | None, valid_size: int | None) -> Dataset:
    return _pix2pix_pairs("facades", data_dir, valid_size, "B", "A", 40)


@register_dataset("maps", "pix2pix's maps: aerial photograph -> map, 600x600 RGB, 986/110/1098 "
                  "pairs (1.5 GB download, SHA-256 checked, or --data-dir)")
def maps(data_dir: Path | None, valid_size: int | None) -> Dataset:
    return _pix2pix_pairs("maps", data_dir, valid_size, "A", "B", 110)
