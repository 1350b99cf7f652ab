"""Named, typed configurations: the book's models (``book/…``) and aegan's tuned ones."""

from aegan.presets import book, diffusion, forecast, style, translation, tuned  # noqa: F401
from aegan.presets.registry import PRESETS, get_preset, register_preset

__all__ = ["PRESETS", "get_preset", "register_preset"]
