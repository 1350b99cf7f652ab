"""Stand-in models for the capabilities no family implements yet (:class:`Translator`,
:class:`Predictor`): each a :class:`~aegan.models.Model` deriving from the protocol, with a
small network of real weights, so that the explorer and the export can be tested on them."""

from __future__ import annotations

import torch
from torch import nn

from aegan.data import ExampleSpec
from aegan.models import Model, Predictor, Translator


class Colorizer(Model, Translator):
    """Grey images ``[1, 8, 8]`` to colour ``[3, 8, 8]``: a 3x3 convolution and a sigmoid."""

    family = "colorizer"

    def __init__(self, seed: int = 0):
        super().__init__(None, ExampleSpec("images", {"inputs": (1, 8, 8), "targets": (3, 8, 8)}))
        torch.manual_seed(seed)
        self.net = nn.Conv2d(1, 3, 3, padding=1)

    def translate(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x))


class Forecaster(Model, Predictor):
    """Three frames ``[3, 1, 8, 8]`` to the next ones: each new frame is a 3x3 convolution of
    the frame before it (fed back beyond the first)."""

    family = "forecaster"

    def __init__(self, seed: int = 0):
        super().__init__(None, ExampleSpec("image-sequences",
                                           {"inputs": (3, 1, 8, 8), "targets": (2, 1, 8, 8)}))
        torch.manual_seed(seed)
        self.net = nn.Conv2d(1, 1, 3, padding=1)

    def predict_frames(self, context: torch.Tensor, steps: int) -> torch.Tensor:
        frame, frames = context[:, -1], []
        for _ in range(steps):
            frame = torch.sigmoid(self.net(frame))
            frames.append(frame)
        return torch.stack(frames, dim=1)  # [N, steps, 1, 8, 8]
