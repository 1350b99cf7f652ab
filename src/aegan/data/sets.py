"""The registered data sets: MNIST, Fashion-MNIST, scikit-learn's digits and the book's 3-D set.

MNIST (LeCun, Cortes & Burges) and Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) are read from a
local folder (``--data-dir`` or ``$AEGAN_DATA_DIR``) or downloaded from their official
locations into the cache, verified by SHA-256. As in the book (Géron, ch. 17), the last 5,000
training images are the validation set.

``binarized-mnist`` is MNIST for likelihoods in nats, as the IWAE paper uses it (Burda, Grosse &
Salakhutdinov 2016): the training images stay grey (pixel intensities in [0, 1], read as the
probabilities of black) so that a model can binarize each batch afresh (dynamic binarization,
the VAE's ``binarize`` option), while the validation and test images are binarized once,
``Bernoulli(x)`` with a fixed seed, so every evaluation sees the same binary images.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from aegan.data.dataset import Dataset, register_dataset, split_last
from aegan.data.download import cache_dir, download
from aegan.data.examples import Examples
from aegan.data.idx import read_idx_pair
from aegan.errors import DataError

_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

# Official locations and SHA-256 of the official .gz files.
_SOURCES = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/", (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6")),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", (
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5")),
}

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def _find_local(folder: Path, name: str) -> list[Path]:
    """The four IDX files in ``folder/name/`` or ``folder/``, gzipped or not."""
    for base in (folder / name, folder):
        found = []
        for stem in _FILES:
            hits = [base / (stem + s) for s in (".gz", "") if (base / (stem + s)).is_file()]
            found.append(hits[0] if hits else None)
        if all(found):
            return found
    missing = ", ".join(f"{s}[.gz]" for s in _FILES)
    raise DataError(f"{name}: no IDX files in {folder} or {folder / name} (expected {missing}); "
                    "point --data-dir at the folder that holds them")


def _idx_files(name: str, data_dir: Path | None) -> list[Path]:
    folder = data_dir or (Path(os.environ["AEGAN_DATA_DIR"]) if os.environ.get("AEGAN_DATA_DIR")
                          else None)
    if folder is not None:
        return _find_local(folder, name)
    base_url, digests = _SOURCES[name]
    target = cache_dir() / "datasets" / name
    try:
        return [download(base_url + stem + ".gz", target / (stem + ".gz"), digest)
                for stem, digest in zip(_FILES, digests)]
    except DataError as exc:
        raise DataError(f"{name} is not available: {exc}. Either pass --data-dir DIR (or set "
                        "AEGAN_DATA_DIR) to a folder holding the IDX files, or connect to the "
                        "internet so aegan can download them") from None


def load_idx_set(name: str, data_dir: Path | None, valid_size: int | None,
                 classes: list[str]) -> Dataset:
    """``mnist`` or ``fashion-mnist`` from its IDX files: images ``[N, 1, 28, 28]`` in [0, 1]
    with their labels, the last ``valid_size`` (5,000) training images validating."""
    train_x, train_y, test_x, test_y = _idx_files(name, data_dir)
    x, y = read_idx_pair(train_x, train_y, (28, 28))
    xt, yt = read_idx_pair(test_x, test_y, (28, 28))
    x = (x.astype(np.float32) / 255.0)[:, None]  # [N, 1, 28, 28] in [0, 1]
    xt = (xt.astype(np.float32) / 255.0)[:, None]
    train, valid = split_last(Examples(x, labels=y), valid_size or 5000)
    return Dataset(name, "images", train, valid, Examples(xt, labels=yt), classes=classes)


@register_dataset("mnist", "MNIST handwritten digits, 28x28 grey, 55k/5k/10k (download or --data-dir)")
def mnist(data_dir: Path | None, valid_size: int | None) -> Dataset:
    return load_idx_set("mnist", data_dir, valid_size, [str(d) for d in range(10)])


BINARIZE_SEED = 0  # validation images are drawn with this seed, test images with the next


def binarize_once(x: np.ndarray, seed: int) -> np.ndarray:
    """A fixed draw of ``Bernoulli(x)`` for intensities ``x`` in [0, 1] (float32 0s and 1s)."""
    return (np.random.RandomState(seed).uniform(size=x.shape) < x).astype(np.float32)


@register_dataset("binarized-mnist",
                  "MNIST for likelihoods: grey training images (binarize them per batch), "
                  "validation and test binarized once (fixed seeds)")
def binarized_mnist(data_dir: Path | None, valid_size: int | None) -> Dataset:
    data = load_idx_set("mnist", data_dir, valid_size, [str(d) for d in range(10)])
    valid = dataclasses.replace(data.valid, inputs=binarize_once(data.valid.inputs, BINARIZE_SEED))
    test = dataclasses.replace(data.test, inputs=binarize_once(data.test.inputs, BINARIZE_SEED + 1))
    return dataclasses.replace(
        data, name="binarized-mnist", valid=valid, test=test,
        notes=["training images are grey intensities: train with dynamic binarization "
               "(a VAE's binarize option); validation and test images are fixed 0/1 draws"])


@register_dataset("fashion-mnist",
                  "Zalando's Fashion-MNIST, 28x28 grey, 55k/5k/10k (download or --data-dir)")
def fashion_mnist(data_dir: Path | None, valid_size: int | None) -> Dataset:
    return load_idx_set("fashion-mnist", data_dir, valid_size, FASHION_CLASSES)


@register_dataset("digits", "scikit-learn's 8x8 digits, 1,797 images shipped with scikit-learn",
                  embedded=True)
def digits(data_dir: Path | None, valid_size: int | None) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    order = np.random.RandomState(0).permutation(len(bunch.target))
    x = (bunch.images[order] / 16.0).astype(np.float32)[:, None]  # [1797, 1, 8, 8] in [0, 1]
    y = bunch.target[order].astype(np.int64)
    rest, test = split_last(Examples(x, labels=y), 360)
    train, valid = split_last(rest, valid_size or 180)
    return Dataset("digits", "images", train, valid, test, classes=[str(d) for d in range(10)])


def generate_3d_data(m: int, w1: float = 0.1, w2: float = 0.3, noise: float = 0.1,
                     rng: np.random.RandomState | None = None) -> np.ndarray:
    """The book's 3-D cloud near a plane (Géron, 2nd ed., section 17.2), ``[m, 3]``."""
    rng = rng or np.random.RandomState()
    angles = rng.rand(m) * 3 * np.pi / 2 - 0.5
    data = np.empty((m, 3))
    data[:, 0] = np.cos(angles) + np.sin(angles) / 2 + noise * rng.randn(m) / 2
    data[:, 1] = np.sin(angles) * 0.7 + noise * rng.randn(m) / 2
    data[:, 2] = data[:, 0] * w1 + data[:, 1] * w2 + noise * rng.randn(m)
    return data


@register_dataset("book-3d", "the book's 60 centred 3-D points for the PCA demo (section 17.2)",
                  embedded=True)
def book_3d(data_dir: Path | None, valid_size: int | None) -> Dataset:
    x = generate_3d_data(60, rng=np.random.RandomState(4))
    x = (x - x.mean(axis=0)).astype(np.float32)
    # The book fits and evaluates on the same 60 points: every split is the whole set.
    every = Examples(x)
    return Dataset("book-3d", "vectors", every, every, every, value_range=None,
                   notes=["book-3d has one set of 60 points; valid and test are the training set"])
