"""aegan: autoencoders and GANs for representation learning and generation, on PyTorch.

The library's rooms, lowest first: :mod:`aegan.data` (data sets as arrays),
:mod:`aegan.nets` (networks), :mod:`aegan.models` (model families and their training step),
:mod:`aegan.train` (the one Trainer), :mod:`aegan.metrics`, :mod:`aegan.viz`,
:mod:`aegan.presets`, :mod:`aegan.api` (train / evaluate / encode a run) and :mod:`aegan.cli`.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``aegan.from_pretrained`` and ``aegan.Pretrained`` (:mod:`aegan.hub`), imported when
    first asked for, so that ``import aegan`` stays light."""
    if name in ("from_pretrained", "Pretrained"):
        from aegan import hub

        return vars(hub)[name]
    raise AttributeError(f"module 'aegan' has no attribute {name!r}")
