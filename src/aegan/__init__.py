"""aegan: autoencoders and GANs for representation learning and generation, on PyTorch.

The library's rooms, lowest first: :mod:`aegan.data` (data sets as arrays),
:mod:`aegan.nets` (networks), :mod:`aegan.models` (model families and their training step),
:mod:`aegan.train` (the one Trainer), :mod:`aegan.metrics`, :mod:`aegan.viz`,
:mod:`aegan.presets`, :mod:`aegan.api` (train / evaluate / encode a run) and :mod:`aegan.cli`.
"""

__version__ = "0.1.0"
