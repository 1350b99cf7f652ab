"""What the explorer's page asks of a run's model, answered from the one model it holds.

An :class:`Explorer` holds the model (in eval mode, on the CPU) and the examples of one split,
and answers each question under one lock, without gradients: one answer is computed at a time,
whatever the number of browser connections. What it can answer follows the capabilities the
model declares (:mod:`aegan.models.base`): the codings map for an
:class:`~aegan.models.Encoder` (the book's figure 17-5 made live, section 17.3), decoded codings
for a :class:`~aegan.models.Decoder`, samples of the prior for a
:class:`~aegan.models.LatentSampler` (section 17.8), a class for a
:class:`~aegan.models.ConditionalSampler`, outputs of a :class:`~aegan.models.Translator` or
:class:`~aegan.models.Predictor`. Images go back as PNG, one pixel per value.

A question the explorer cannot answer (a bad number, an example out of range, a class the
model does not know) raises :class:`BadRequest`, whose message is the one-line reason.
"""

from __future__ import annotations

import functools
import io
import math
import threading
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from aegan.data import Examples
from aegan.errors import AeganError, ConfigError
from aegan.generation import displayable
from aegan.models import (CAPABILITIES, ConditionalSampler, Decoder, Encoder, IterativeSampler,
                          LatentSampler, Predictor, Translator, can)
from aegan.translation import columns

MAPS = ("tsne", "pca")
EXPLORABLE = (Encoder, Decoder, Translator, Predictor)  # each gives the page something to show
SPAN = 3.0  # a prior's sliders run from -SPAN to SPAN standard deviations
STEPS = 9  # images on a line or a traversal
MAX_UPLOAD = 8 << 20  # bytes of an uploaded image


class BadRequest(AeganError):
    """A request the explorer refuses; ``status`` is the HTTP status (4xx), the message the
    one-line reason."""

    def __init__(self, reason: str, status: int = 400):
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class ExploreOptions:
    """``split``: the examples mapped and offered; ``points``: how many of them are mapped;
    ``map``: ``tsne`` or ``pca`` for codings wider than 2; ``seed``: of the map and the first
    sample."""

    split: str = "valid"
    points: int = 1000
    map: str = "tsne"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.map not in MAPS:
            raise ConfigError(f"unknown --map {self.map!r}; choose one of {', '.join(MAPS)}")
        if not isinstance(self.points, int) or self.points < 2:
            raise ConfigError(f"--points must be at least 2, got {self.points}")


def _held(method):
    """Run ``method`` under the explorer's lock, without gradients."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with self.lock, torch.no_grad():
            return method(self, *args, **kwargs)

    return run


def png(frames: list[np.ndarray], gap: int = 2) -> bytes:
    """Frames ``[C, H, W]`` in [0, 1] side by side (``gap`` grey pixels between), as one PNG at
    their own resolution: grey when every frame has one channel, else RGB. A frame of another
    number of channels (2: a's and b's of Lab without their L) shows each channel in grey."""
    frames = [part for f in frames for part in ([f] if f.shape[0] in (1, 3) else list(f[:, None]))]
    rgb = any(f.shape[0] != 1 for f in frames)
    height = max(f.shape[1] for f in frames)
    parts = []
    for i, f in enumerate(frames):
        f = np.repeat(f, 3, axis=0) if rgb and f.shape[0] == 1 else f
        pad = np.full((f.shape[0], height, f.shape[2] + (gap if i else 0)), 0.5, np.float32)
        pad[:, :f.shape[1], pad.shape[2] - f.shape[2]:] = f
        parts.append(pad)
    pixels = np.round(np.clip(np.concatenate(parts, axis=2), 0, 1) * 255).astype(np.uint8)
    image = Image.fromarray(np.moveaxis(pixels, 0, -1) if rgb else pixels[0])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class Explorer:
    """The answers of the explorer for ``model`` and the examples ``examples`` (None: the
    model reads no data here, as a GAN's generator)."""

    def __init__(self, model, examples: Examples | None, options: ExploreOptions | None = None,
                 title: str = "", derive: dict | None = None):
        self.model, self.examples = model.eval(), examples
        self.derive = derive  # how the run's pairs were derived: a Lab model's output is shown
        # in colour with its input's L, as 'aegan translate' shows it
        self.options = options or ExploreOptions()
        self.title = title or model.family
        self.lock = threading.Lock()
        self.can = {name for c, name in CAPABILITIES.items() if can(model, c)}
        self.decodes = can(model, Decoder)
        with self.lock, torch.no_grad():
            self.coding_shape = self._coding_shape()
            self.codings = self._codings()  # of the mapped examples, [points, n] or None
            self.points = self._map() if self.codings is not None else None

    # -- what the page is built from -----------------------------------------------------------
    def _coding_shape(self) -> tuple[int, ...]:
        if can(self.model, Encoder):
            probe = torch.zeros((1, *self.model.sample_shape))
            return tuple(self.model.encode(probe).shape[1:])
        return (self.model.z_dim,) if self.decodes else ()

    def _codings(self) -> np.ndarray | None:
        # an IterativeSampler's codings are its DDIM-inverted noise, a whole sampling run per
        # example: no map (as in the run's figures); its sliders, samples and lines remain
        if (not can(self.model, Encoder) or can(self.model, IterativeSampler)
                or self.examples is None):
            return None
        x = torch.as_tensor(np.asarray(self.examples.inputs[:self.options.points]))
        return torch.cat([self.model.encode(part).flatten(1) for part in x.split(256)]).numpy()

    def _map(self) -> np.ndarray:
        """The codings in 2-D, each axis scaled to [0, 1]."""
        z = self.codings.astype(np.float64)
        if z.shape[1] > 2 and self.options.map == "tsne":
            from aegan.figures import tsne

            z = tsne(z, self.options.seed)
        elif z.shape[1] > 2:
            from sklearn.decomposition import PCA

            z = PCA(2, random_state=self.options.seed).fit_transform(z)
        elif z.shape[1] == 1:
            z = np.concatenate([z, np.zeros_like(z)], axis=1)
        low, span = z.min(axis=0), np.ptp(z, axis=0)
        return (z - low) / np.where(span > 0, span, 1.0)

    def _ranges(self) -> list[list[float]]:
        """Each slider's range: the prior's -SPAN to SPAN, else the spread of the mapped
        codings widened by a tenth on each side."""
        n = math.prod(self.coding_shape)
        if can(self.model, LatentSampler) or self.codings is None:
            return [[-SPAN, SPAN]] * n
        low, high = self.codings.min(axis=0), self.codings.max(axis=0)
        pad = np.maximum((high - low) * 0.1, 1e-3)
        return np.stack([low - pad, high + pad], axis=1).round(4).tolist()

    @_held
    def info(self) -> dict:
        """What the page shows: the model's capabilities, the codings' size and sliders, the
        classes, the examples on offer."""
        model = self.model
        start = None
        if can(model, LatentSampler):
            start = model.traversal_base(torch.Generator().manual_seed(self.options.seed))
        elif self.decodes and self.codings is not None:
            start = torch.as_tensor(self.codings[0])
        elif self.decodes:
            start = torch.zeros(math.prod(self.coding_shape))
        classes = (model.num_classes if can(model, ConditionalSampler)
                   else model.spec.num_classes)
        return {"title": self.title, "family": model.family, "can": sorted(self.can),
                "kind": model.spec.kind, "shape": list(model.sample_shape),
                "coding_shape": list(self.coding_shape),
                "start": None if start is None else start.flatten().tolist(),
                "ranges": self._ranges() if self.decodes else None,
                "classes": [model.spec.class_name(k) for k in range(classes)],
                "split": self.options.split,
                "examples": 0 if self.examples is None else len(self.examples),
                "map": self.points is not None}

    def map(self) -> dict:
        """The mapped examples: ``points`` ``[[x, y], ...]`` in [0, 1], their ``labels``."""
        if self.points is None:
            raise BadRequest("this page has no codings map: the model does not encode, or no "
                             "data were loaded", 404)
        labels = self.examples.labels
        n = len(self.points)
        return {"points": self.points.round(5).tolist(),
                "labels": None if labels is None else np.asarray(labels[:n]).tolist(),
                "how": (f"{'t-SNE' if self.options.map == 'tsne' else 'PCA'} of the "
                        f"{self.codings.shape[1]}-D codings" if self.codings.shape[1] > 2
                        else "the codings")
                       + f" of the first {n:,} examples of the {self.options.split} split"}

    # -- examples ------------------------------------------------------------------------------
    def index(self, i: int) -> int:
        """``i``, checked as an index of the examples on offer."""
        n = 0 if self.examples is None else len(self.examples)
        if not 0 <= i < n:
            raise BadRequest(f"example {i} is not one of the {n:,} examples on offer: choose "
                             f"0 to {n - 1}" if n else "no examples were loaded")
        return i

    def _inputs(self, i: int) -> torch.Tensor:
        return torch.as_tensor(np.asarray(self.examples.inputs[self.index(i):i + 1]))

    def _frames(self, x: torch.Tensor | np.ndarray) -> list[np.ndarray]:
        """One example (model range, ``[C, H, W]`` or ``[T, C, H, W]``) as frames in [0, 1]."""
        x = displayable(self.model, np.asarray(x, dtype=np.float32))
        return list(x) if x.ndim == 4 else [x]

    @_held
    def example(self, i: int) -> bytes:
        return png(self._frames(self._inputs(i)[0]))

    @_held
    def reconstruction(self, i: int) -> bytes:
        return png(self._frames(self.model.reconstruct(self._inputs(i))[0]))

    @_held
    def coding(self, i: int) -> list[float]:
        return self.model.encode(self._inputs(i)).flatten().tolist()

    # -- codings -------------------------------------------------------------------------------
    def label(self, text: str | None) -> int | None:
        """The class of ``text`` (a number or a name) for a conditional model, else None."""
        if not can(self.model, ConditionalSampler):
            if text is not None:
                raise BadRequest("this model is not conditional: it takes no class")
            return None
        if text is None:
            return 0
        names = [self.model.spec.class_name(k) for k in range(self.model.num_classes)]
        if text.strip().lstrip("-").isdigit() and 0 <= int(text) < len(names):
            return int(text)
        matches = [k for k, name in enumerate(names) if name.lower() == text.strip().lower()]
        if matches:
            return matches[0]
        raise BadRequest(f"unknown class {text!r}: choose 0 to {len(names) - 1} or a name "
                         f"({', '.join(names)})")

    def _decode(self, z: torch.Tensor, label: int | None) -> torch.Tensor:
        """Codings ``[N, n]`` (flat) decoded; a conditional model's as class ``label``."""
        z = z.reshape(len(z), *self.coding_shape)
        return self.model.decode(z) if label is None else self.model.decode(z, label)

    @_held
    def decode(self, z: list[float], label: int | None = None) -> bytes:
        return png(self._frames(self._decode(torch.tensor([z]), label)[0]))

    @_held
    def sample(self, seed: int) -> list[float]:
        if not can(self.model, LatentSampler):
            raise BadRequest("this model has no prior to sample codings from", 404)
        return self.model.sample_codings(1, torch.Generator().manual_seed(seed))[0].tolist()

    @_held
    def traverse(self, z: list[float], dim: int, label: int | None = None) -> bytes:
        """``z`` with coding ``dim`` swept over its slider's range, decoded: a strip."""
        n = len(z)
        if not 0 <= dim < n:
            raise BadRequest(f"dimension {dim} is not a coding dimension: choose 0 to {n - 1}")
        low, high = self._ranges()[dim]
        codings = torch.tensor([z] * STEPS)
        codings[:, dim] = torch.linspace(low, high, STEPS)
        return png([f for x in self._decode(codings, label) for f in self._frames(x)])

    @_held
    def line(self, i: int, j: int) -> bytes:
        """Example ``i``, the decoded straight line from its codings to example ``j``'s, and
        example ``j`` (the book's interpolation between two images, section 17.8)."""
        x = torch.cat([self._inputs(i), self._inputs(j)])
        z = self.model.encode(x).flatten(1)
        t = torch.linspace(0, 1, STEPS).unsqueeze(1)
        decoded = self._decode((1 - t) * z[0] + t * z[1], None)
        return png([f for e in (x[0], *decoded, x[1]) for f in self._frames(e)])

    # -- translators and forecasters -------------------------------------------------------------
    def read_upload(self, data: bytes) -> torch.Tensor:
        """An uploaded image (PNG, JPEG, ...) as one input ``[1, C, H, W]`` of the model: resized
        to its size, in its channels and value range."""
        channels, height, width = self.model.sample_shape
        try:
            image = Image.open(io.BytesIO(data))
            image = image.convert("L" if channels == 1 else "RGB").resize((width, height),
                                                                           Image.BILINEAR)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise BadRequest(f"the upload is not an image aegan can read ({type(exc).__name__});"
                             " send a PNG or JPEG") from None
        x = np.asarray(image, dtype=np.float32) / 255.0
        x = x[None] if channels == 1 else np.moveaxis(x, -1, 0)
        low, high = self.model.value_range or (0.0, 1.0)
        return torch.as_tensor(low + x * (high - low)).unsqueeze(0)

    @_held
    def translate(self, i: int | None = None, upload: bytes | None = None) -> bytes:
        """Input, the model's output and (for an example that has one) the target."""
        x = self.read_upload(upload) if upload is not None else self._inputs(i)
        targets = None
        if upload is None and self.examples.targets is not None:
            targets = np.asarray(self.examples.targets[i:i + 1])
        shown = columns(x.numpy(), self.model.translate(x).numpy(), targets,
                        self.model.value_range, self.derive)  # input, (bicubic,) output, target
        return png([images[0] for _, images in shown], gap=6)

    @_held
    def predict(self, i: int) -> bytes:
        """The context frames, the predicted ones and (where the data have them) the true ones,
        as rows of one PNG."""
        context = self._inputs(i)
        targets = self.examples.targets
        steps = len(targets[i]) if targets is not None else context.shape[1]
        predicted = self.model.predict_frames(context, steps)[0]
        rows = [self._frames(context[0]), self._frames(predicted)]
        if targets is not None:
            rows.append(self._frames(np.asarray(targets[i])))
        strips = [np.asarray(Image.open(io.BytesIO(png(r)))) for r in rows]
        width = max(s.shape[1] for s in strips)
        padded = [np.pad(s, [(0, 4), (0, width - s.shape[1])] + [(0, 0)] * (s.ndim - 2),
                         constant_values=128) for s in strips]
        buffer = io.BytesIO()
        Image.fromarray(np.concatenate(padded)).save(buffer, format="PNG")
        return buffer.getvalue()
