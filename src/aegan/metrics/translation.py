"""Metrics of image-to-image translation, each beside its honest baseline.

- ``translation``: PSNR and SSIM of the translations against the targets, on the images in
  [0, 1] with their own channels (grey, or RGB: not Y), and for super-resolution with as many
  border pixels cropped as the scale factor (the convention of the SR literature, e.g. Ledig
  et al. 2017). SSIM is Wang et al. 2004's with scikit-image's defaults (7x7 uniform window,
  K1 0.01, K2 0.03, sample covariances, the mean over the windows that lie inside the image,
  over channels, then over images); PSNR is the mean over images of ``10 log10(1 / MSE)``.
  Beside them: bicubic and nearest-neighbour upsampling of the inputs for super-resolution;
  for Lab colorization (``data.derive`` grayscale ``lab``), the scores are on the RGB images
  (the input's L with the output's a and b) beside the grey image (a = b = 0), with the PSNR
  of the a and b channels alone (``psnr_ab``, on (ab + 128) / 255) and the colourfulness of
  Hasler & Süsstrunk 2003 (``sigma_rgyb + 0.3 mu_rgyb`` on 0-255 RGB, per image, averaged)
  beside the targets'.
- ``translation_fid``: the Fréchet distance between features of the translations and of the
  targets of the split (Inception or the data set's classifier, as the ``fid`` metric), beside
  the baseline's (bicubic upsampling, or the grey image).
- ``judge``: the accuracy of the data set's classifier (trained on its training targets and
  labels) on the translations, beside its accuracy on the targets themselves.

The L1-only model is the baseline of every GAN: its numbers come from its own run
(``benchmarks/translation.py`` prints the two side by side).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from aegan.data.derive import lab_join
from aegan.metrics import MetricData, batched, register_metric
from aegan.metrics.generation import extractor, feature_stats, frechet_distance
from aegan.metrics.reconstruction import psnr
from aegan.models import Translator
from aegan.nets.ssim import SSIM_WINDOW, ssim_per_image


# -- pure functions ---------------------------------------------------------------------------
def ssim(x: np.ndarray, y: np.ndarray, data_range: float = 1.0,
         window: int = SSIM_WINDOW) -> float:
    """Mean SSIM of images ``y`` against ``x`` (``[N, C, H, W]``), as scikit-image's
    ``structural_similarity`` with its defaults and ``channel_axis`` on C, averaged over
    images (:func:`aegan.nets.ssim.ssim_per_image` in float64)."""
    a = torch.as_tensor(np.asarray(x), dtype=torch.float64)
    b = torch.as_tensor(np.asarray(y), dtype=torch.float64)
    return float(ssim_per_image(a, b, data_range, window).mean())


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk 2003's colourfulness of RGB images ``[N, 3, H, W]`` in [0, 1] (on the
    0-255 scale), per image, averaged: ``sqrt(s_rg^2 + s_yb^2) + 0.3 sqrt(m_rg^2 + m_yb^2)``
    with ``rg = R - G``, ``yb = (R + G) / 2 - B``."""
    x = np.asarray(rgb, dtype=np.float64) * 255.0
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    rg, yb = (r - g).reshape(len(x), -1), (0.5 * (r + g) - b).reshape(len(x), -1)
    sigma = np.sqrt(rg.std(axis=1) ** 2 + yb.std(axis=1) ** 2)
    mu = np.sqrt(rg.mean(axis=1) ** 2 + yb.mean(axis=1) ** 2)
    return float(np.mean(sigma + 0.3 * mu))


def crop_border(x: np.ndarray, pixels: int) -> np.ndarray:
    return x[..., pixels:x.shape[-2] - pixels, pixels:x.shape[-1] - pixels] if pixels else x


def upsample(x: np.ndarray, factor: int, mode: str) -> np.ndarray:
    """Images ``[N, C, h, w]`` in [0, 1] enlarged ``factor`` times (PyTorch's ``bicubic``,
    a = -0.75, clamped to [0, 1]; or ``nearest``)."""
    t = torch.as_tensor(np.asarray(x, dtype=np.float32))
    extra = {"align_corners": False} if mode == "bicubic" else {}
    return F.interpolate(t, scale_factor=factor, mode=mode, **extra).clamp_(0, 1).numpy()


# -- what a translation metric reads -----------------------------------------------------------
def unit(images: np.ndarray, value_range) -> np.ndarray:
    """Images in ``value_range`` mapped to [0, 1] (float64)."""
    low, high = value_range or (0.0, 1.0)
    return (np.asarray(images, dtype=np.float64) - low) / (high - low)


def is_lab(derive: dict | None) -> bool:
    """Whether ``data.derive`` made Lab pairs (inputs L / 100, targets (ab + 128) / 255)."""
    return bool(derive) and derive.get("name") == "grayscale" and derive.get("mode") == "lab"


def scale_factor(inputs: np.ndarray, targets: np.ndarray) -> int:
    """The super-resolution factor from the inputs' sides to the targets' (1: same size)."""
    h, th = inputs.shape[-1], targets.shape[-1]
    return th // h if th % h == 0 and th // h > 1 else 1


def translations(model, data: MetricData) -> np.ndarray:
    """The model's translations of the split's inputs, in its range, computed once."""
    if "translations" not in data.cache:
        data.cache["translations"] = batched(model.translate, data.x, data.batch_size)
    return data.cache["translations"]


def shown(data: MetricData, images: np.ndarray) -> np.ndarray:
    """Translations or targets (in the data's range) as images in [0, 1]: for Lab pairs the
    RGB image of the input's lightness with their a and b channels."""
    images = unit(images, data.value_range)
    if is_lab(data.derive):
        return lab_join(unit(data.x, data.value_range).astype(np.float32),
                        images.astype(np.float32)).astype(np.float64)
    return np.clip(images, 0, 1)


def baseline(data: MetricData) -> tuple[str, np.ndarray] | None:
    """The task's baseline translations as shown images: bicubic upsampling (super-resolution)
    or the grey image (Lab colorization); None for other tasks."""
    if is_lab(data.derive):
        neutral = np.full((len(data.x), 2, *data.x.shape[2:]), 128.0 / 255.0)  # a = b = 0
        grey = lab_join(unit(data.x, data.value_range).astype(np.float32),
                        neutral.astype(np.float32))
        return "grey", grey.astype(np.float64)
    factor = scale_factor(data.x, data.targets)
    if factor > 1:
        return "bicubic", upsample(unit(data.x, data.value_range), factor, "bicubic")
    return None


def _scores(truth: np.ndarray, images: np.ndarray, border: int) -> tuple[float, float | None]:
    """PSNR and SSIM (None for images smaller than its window once cropped)."""
    a, b = crop_border(truth, border), crop_border(images, border)
    return psnr(a, b, 1.0), ssim(a, b) if min(a.shape[-2:]) >= SSIM_WINDOW else None


# -- the metrics ------------------------------------------------------------------------------
@register_metric("translation", (Translator,), "psnr, ssim of the translations against the "
                 "targets, beside bicubic/nearest upsampling (super-resolution) or the grey "
                 "image with psnr_ab and colourfulness (Lab colorization)")
def translation(model, data: MetricData) -> dict:
    if data.targets is None:
        return {}
    truth, out = shown(data, data.targets), shown(data, translations(model, data))
    factor = scale_factor(data.x, data.targets)
    border = factor if factor > 1 else 0
    channels = "RGB" if truth.shape[1] == 3 else "grey"
    result = {"psnr_protocol": f"on {channels} images in [0, 1], {border} border pixels "
                                    "cropped; SSIM 7x7 uniform window (none for smaller images)"}
    rows = {"psnr": {"quantity": "psnr"}, "ssim": {"quantity": "ssim"}}

    def put(column: str, suffix: str, images: np.ndarray) -> None:
        for key, value in zip(("psnr", "ssim"), _scores(truth, images, border)):
            if value is not None:
                result[key + suffix], rows[key][column] = value, value

    put("this run", "", out)
    if factor > 1:
        small = unit(data.x, data.value_range)
        for mode in ("bicubic", "nearest"):
            put(mode, f"_{mode}", upsample(small, factor, mode))
    if is_lab(data.derive):
        put("grey (a = b = 0)", "_grey", baseline(data)[1])
    rows = [row for row in rows.values() if len(row) > 1]
    if is_lab(data.derive):
        colour, colour_rows = colour_scores(model, data, truth, out)
        result.update(colour)
        rows += colour_rows
    result["beside"] = rows
    return result


def colour_scores(model, data: MetricData, truth: np.ndarray, out: np.ndarray
                  ) -> tuple[dict, list[dict]]:
    """Lab colorization's own numbers: PSNR of the a and b channels and colourfulness, beside
    the grey image's (and the targets' colourfulness); ``truth`` and ``out`` as RGB."""
    grey = baseline(data)[1]
    ab_truth = unit(data.targets, data.value_range)
    ab_out = unit(translations(model, data), data.value_range)
    found = {"psnr_ab": psnr(ab_truth, ab_out, 1.0),
             "psnr_ab_grey": psnr(ab_truth, np.full_like(ab_truth, 128.0 / 255.0), 1.0),
             "colourfulness": colourfulness(out), "colourfulness_target": colourfulness(truth),
             "colourfulness_grey": colourfulness(grey)}
    rows = [{"quantity": "psnr_ab", "this run": found["psnr_ab"],
             "grey (a = b = 0)": found["psnr_ab_grey"]},
            {"quantity": "colourfulness", "this run": found["colourfulness"],
             "grey (a = b = 0)": found["colourfulness_grey"],
             "targets": found["colourfulness_target"]}]
    return found, rows


@register_metric("translation_fid", (Translator,), "fid of the translations' features against "
                 "the targets' (--features inception|classifier), beside the baseline's "
                 "(bicubic upsampling, or the grey image)", default=False)
def translation_fid(model, data: MetricData) -> dict:
    if data.targets is None:
        return {}
    fx, why = extractor(data)
    n = min(data.n_samples, len(data.x))
    pick = np.random.default_rng(data.seed).permutation(len(data.x))[:n]
    lab = is_lab(data.derive)  # features of the RGB images, in [0, 1]
    value_range = (0.0, 1.0) if lab else data.value_range

    def features(images: np.ndarray, in_range: bool = True) -> np.ndarray:
        images = np.asarray(images)[pick]
        if lab:  # translations and targets are a and b channels: shown with their lightness
            images = lab_join(unit(np.asarray(data.x)[pick], data.value_range).astype(np.float32),
                              unit(images, data.value_range).astype(np.float32))
        elif not in_range:  # a baseline in [0, 1]: to the data's range
            low, high = data.value_range or (0.0, 1.0)
            images = images * (high - low) + low
        return fx(np.ascontiguousarray(images, dtype=np.float32), value_range)

    stats = feature_stats(features(data.targets))

    def fid_of(f: np.ndarray) -> float:
        return frechet_distance(*stats, *feature_stats(f))

    result = {"fid": fid_of(features(translations(model, data))), "fid_features": fx.name,
              "fid_features_why": why, "fid_examples": n}
    base = baseline(data)
    if base is not None:
        name, images = base  # shown images in [0, 1]
        if lab:  # already RGB
            f = fx(np.ascontiguousarray(images[pick], dtype=np.float32), value_range)
        else:
            f = features(images, in_range=False)
        result[f"fid_{name}"] = fid_of(f)
    return result


@register_metric("judge", (Translator,), "judge_accuracy: the data set's classifier's accuracy "
                 "on the translations, beside judge_accuracy_real on the targets (labelled "
                 "data)", default=False)
def judge(model, data: MetricData) -> dict:
    from aegan.metrics.generation import _classifier

    if data.targets is None or data.y is None or data.y_train is None:
        return {}
    clf = _classifier(data)
    on_real = float(np.mean(clf.predict(np.asarray(data.targets, dtype=np.float32)) == data.y))
    on_translated = float(np.mean(clf.predict(
        np.asarray(translations(model, data), dtype=np.float32)) == data.y))
    return {"judge_accuracy": on_translated, "judge_accuracy_real": on_real,
            "judge_ratio": on_translated / on_real if on_real else float("nan"),
            "judge_classifier": clf.name}
