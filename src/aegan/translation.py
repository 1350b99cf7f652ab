"""What a run of an image-to-image model draws and writes (a
:class:`~aegan.models.Translator`): the translations figure (input | output | target, with
bicubic upsampling beside a super-resolution model's output), the same inputs translated after
every epoch (``translations/epoch_001.png``...), and ``aegan translate``: images from a file, a
folder or a data set, translated and written as a grid figure, PNGs or a ``.npy``.

Images are shown in [0, 1]; a Lab colorization model's inputs are its L channel (shown grey)
and its outputs and targets its a and b channels, shown as the RGB image they make with their
input's L (:func:`aegan.data.derive.lab_join`), so colour stays colour end to end.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from aegan import viz
from aegan.capabilities import require
from aegan.data import Examples
from aegan.data.derive import derive_images, lab_join, lab_split
from aegan.data.folder import IMAGE_SUFFIXES
from aegan.errors import ConfigError, DataError, RunError
from aegan.fileio import atomic_write_bytes
from aegan.io import load_run
from aegan.metrics import batched
from aegan.metrics.translation import is_lab, unit, upsample
from aegan.models import Translator
from aegan.nets.translation import size_problem
from aegan.run import data_range, load_data

FIGURE_EXAMPLES = 8  # rows of the per-epoch and the run's figure


# -- showing translations ---------------------------------------------------------------------
def columns(x: np.ndarray, outputs: np.ndarray, targets: np.ndarray | None,
            value_range, derive: dict | None) -> list[tuple[str, np.ndarray]]:
    """The figure's columns, images in [0, 1]: input, (bicubic,) output, (target)."""
    inputs = np.clip(unit(x, value_range), 0, 1).astype(np.float32)

    def show(images: np.ndarray) -> np.ndarray:
        images = np.clip(unit(images, value_range), 0, 1).astype(np.float32)
        return lab_join(inputs, images) if is_lab(derive) else images

    found = [("input (L)" if is_lab(derive) else "input", inputs)]
    factor = outputs.shape[-1] // x.shape[-1]
    if factor > 1:
        found.append(("bicubic", upsample(inputs, factor, "bicubic")))
    found.append(("output", show(outputs)))
    if targets is not None:
        found.append(("target", show(targets)))
    return found


def translation_figure(model, examples: Examples, derive: dict | None, title: str):
    """Input | output | target of ``examples`` (in the model's range) as a figure."""
    outputs = batched(model.translate, examples.inputs, 64)
    targets = None if examples.targets is None else np.asarray(examples.targets)
    return viz.translation_grid(columns(np.asarray(examples.inputs), outputs, targets,
                                        model.value_range, derive), title=title)


def epoch_translations(model, run_dir: Path, examples: Examples, derive: dict | None,
                       n: int = FIGURE_EXAMPLES):
    """A Trainer callback: the same ``n`` examples translated after every epoch into
    ``run_dir/translations/epoch_001.png``... (no random draw: resume stays exact)."""
    shown = examples.select(np.arange(min(n, len(examples)))).map(lambda _, v: np.asarray(v))

    def draw(event) -> None:
        if event.label:  # a pretraining stage, not the model's own training
            return
        epoch = event.record["epoch"]
        folder = run_dir / "translations"
        folder.mkdir(exist_ok=True)
        viz.save(translation_figure(model, shown, derive, f"epoch {epoch}"),
                 folder / f"epoch_{epoch:03d}.png")

    return draw


# -- aegan translate --------------------------------------------------------------------------
def read_image(path: Path) -> np.ndarray:
    """An image file as ``[C, H, W]`` float32 in [0, 1]: grey ``C = 1``, else RGB ``C = 3``."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            grey = image.mode in ("1", "L", "I;16", "I", "F")
            pixels = np.asarray(image.convert("L" if grey else "RGB"), dtype=np.float32) / 255.0
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"{path} is not a readable image ({type(exc).__name__}); give a PNG, "
                        "JPEG, BMP or GIF") from None
    return pixels[None] if pixels.ndim == 2 else np.ascontiguousarray(pixels.transpose(2, 0, 1))


def image_files(source: Path) -> list[Path] | None:
    """The images ``source`` names: an image file, or the image files directly in a folder;
    None when it is neither (a data set)."""
    if source.is_file():
        return [source] if source.suffix.lower() in IMAGE_SUFFIXES else None
    if not source.is_dir():
        return None
    found = sorted(p for p in source.iterdir() if p.is_file()
                   and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    return found or None


def _as_pair(model, config, image: np.ndarray, where: str,
             as_inputs: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """One image file's input (and target) in the model's range, as the run's data would
    make them: through its ``data.derive`` unless ``as_inputs``."""
    derive = config.data.derive
    low, high = data_range(config)
    if derive is not None and not as_inputs:
        if is_lab(derive) and image.shape[0] == 1:  # a grey photograph: its L, no target
            pair = Examples(lab_split(np.repeat(image[None], 3, axis=1))[0])
        else:
            factor = derive.get("factor", 2) if derive.get("name") == "downscale" else 1
            problem = size_problem(image.shape[1:], factor, f"data.derive {derive['name']!r}"
                                   f" by {factor}") if factor > 1 else None
            if problem:
                raise DataError(f"{where}: {problem}")
            pair = derive_images(image[None], derive, where)
    else:
        pair = Examples(image[None])
    x = pair.inputs * (high - low) + low
    problem = model.input_problem(tuple(x.shape[1:]))
    if problem:
        raise DataError(f"{where}: {problem}" + ("" if as_inputs or derive is None else
                                                  " (after the run's data.derive)"))
    y = None if pair.targets is None else pair.targets * (high - low) + low
    return x[0].astype(np.float32), None if y is None else y[0].astype(np.float32)


def _from_data(config, name: str, split: str, n: int, data_dir) -> tuple[list, list, list]:
    dataset = load_data(config.replace("data", name=name, limit=None, classes=None), data_dir)
    examples = dataset.split(split)
    picked = examples.select(np.arange(min(n, len(examples))))
    x = np.asarray(picked.inputs)
    y = None if picked.targets is None else np.asarray(picked.targets)
    names = [f"{dataset.name}-{split}-{i:05d}" for i in range(len(x))]
    return list(x), [None] * len(x) if y is None else list(y), names


def _check_out(out: Path) -> str:
    """``png`` (a grid), ``npy`` (an array) or ``dir`` (one PNG per output)."""
    suffix = out.suffix.lower()
    if suffix in (".png", ".npy"):
        if out.is_dir():
            raise RunError(f"--out {out} is a folder; name a .png or .npy file, or a new folder")
        if not out.parent.is_dir():
            raise RunError(f"the folder of --out {out} does not exist; create it first")
        return suffix[1:]
    if suffix:
        raise RunError(f"--out must name a .png grid, a .npy file or a folder, got {out}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunError(f"{out} already exists and is not an empty folder; choose another --out")
    return "dir"


def translate(run_dir: str | Path, source: str, out: str | Path, split: str = "test",
              n: int = FIGURE_EXAMPLES, as_inputs: bool = False, data_dir=None) -> dict:
    """Translate the images of ``source`` (an image file, a folder of images, or a data set:
    its ``split``'s first ``n`` examples) with a run's model and write them to ``out``: a
    ``.png`` grid (input | output | target), a ``.npy`` of the outputs (images in [0, 1], RGB
    for a Lab model) or a new folder of PNGs. Everything is read and translated before
    anything is written. Returns what was done."""
    if not isinstance(n, int) or n < 1:
        raise ConfigError(f"-n must be at least 1, got {n}")
    out = Path(out)
    kind = _check_out(out)
    config, model = load_run(run_dir)
    require(model, Translator, "translate images", str(run_dir))
    files = image_files(Path(source))
    if files is not None:
        pairs = [_as_pair(model, config, read_image(f), str(f), as_inputs) for f in files]
        x, y, names = [p[0] for p in pairs], [p[1] for p in pairs], [f.stem for f in files]
    else:
        x, y, names = _from_data(config, source, split, n, data_dir)
    outputs = [model.translate(torch.as_tensor(xi[None])).cpu().numpy() for xi in x]
    derive = None if as_inputs else config.data.derive
    shown = [columns(xi[None], o, None if yi is None else yi[None], model.value_range, derive)
             for xi, o, yi in zip(x, outputs, y)]
    written = _write(out, kind, shown, names)
    return {"run": str(run_dir), "translated": len(x), "input_shape": list(x[0].shape),
            "output_shape": list(outputs[0].shape[1:]), "targets": y[0] is not None,
            "wrote": [str(p) for p in written]}


def _write(out: Path, kind: str, shown: list, names: list[str]) -> list[Path]:
    outputs = [dict(c)["output"][0] for c in shown]
    if kind == "png":
        width = max(len(c) for c in shown)
        if any(len(c) != width or c[0][1].shape != shown[0][0][1].shape for c in shown):
            raise DataError("these images differ in size or in what they hold; write them "
                            "into a folder (--out DIR) rather than one grid")
        merged = [(title, np.concatenate([c[i][1] for c in shown])) for i, (title, _)
                  in enumerate(shown[0])]
        return [viz.save(viz.translation_grid(merged), out)]
    if kind == "npy":
        if len({o.shape for o in outputs}) > 1:
            raise DataError("the outputs differ in size and cannot be one array; write them "
                            "into a folder (--out DIR)")
        buffer = io.BytesIO()
        np.save(buffer, np.stack(outputs).astype(np.float32))
        atomic_write_bytes(out, buffer.getvalue())
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    return [viz.save_image(o, out / f"{name}.png") for o, name in zip(outputs, names)]
