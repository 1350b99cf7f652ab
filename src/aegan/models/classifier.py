"""A classifier: feature layers and a softmax head (Géron, *Hands-On Machine Learning*, 2nd ed.,
section 17.3, "Unsupervised Pretraining Using Stacked Autoencoders", and chapter 17's exercise
on pretraining a classifier with few labels; Hinton & Salakhutdinov 2006).

``Classifier(config, sample_shape)`` builds dense feature layers from its config, so it trains
like any family (``aegan train`` a config with ``"family": "classifier"`` on labelled data).
:meth:`Classifier.on_codings` instead puts the head on any model that can ``encode``: the
features are the model's own encoder, pretrained or freshly initialised, and can be frozen
while the head learns, then released for fine-tuning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from aegan.config import ConfigError, OptimConfig
from aegan.errors import DataError
from aegan.models.base import Labeller, Model, Needs
from aegan.models.registry import register_model
from aegan.nets import ACTIVATIONS, INITS, dense_stack, init_linear_
from aegan.optim import make_optimizer


@dataclass
class ClassifierConfig:
    """A dense classifier: ``hidden`` feature widths, then a linear head of ``n_classes``
    logits (softmax in the cross-entropy loss)."""

    family: str = "classifier"
    hidden: list[int] = field(default_factory=lambda: [100, 30])
    activation: str = "selu"
    n_classes: int = 10
    init: str = "glorot_uniform"

    def __post_init__(self) -> None:
        if any(not isinstance(n, int) or n < 1 for n in self.hidden):
            raise ConfigError(f"model.hidden must list positive layer widths, got {self.hidden}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"unknown activation {self.activation!r}; "
                              f"choose one of {', '.join(ACTIVATIONS)}")
        if not isinstance(self.n_classes, int) or self.n_classes < 2:
            raise ConfigError(f"model.n_classes must be at least 2, got {self.n_classes}")
        if self.init not in INITS:
            raise ConfigError(f"unknown init {self.init!r}; choose one of {', '.join(INITS)}")


class Codings(nn.Module):
    """Feature layers that are another model's encoder: ``[N, *sample_shape] -> [N, z_dim]``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.encode(x).flatten(1)


@register_model("classifier", ClassifierConfig)
class Classifier(Model, Labeller):
    """Feature layers and a linear head trained with cross-entropy on labels ``[N]`` (int64)."""

    family = "classifier"

    @classmethod
    def needs(cls, config: ClassifierConfig) -> Needs:
        return Needs(labels=True, num_classes=config.n_classes,
                     labels_remedy="give labelled data (an .npz with y, or an image folder "
                     "with one sub-folder per class)")

    def __init__(self, config: ClassifierConfig, spec,
                 features: nn.Module | None = None, n_features: int | None = None):
        super().__init__(config, spec)
        widths = [math.prod(self.sample_shape), *config.hidden]
        self.features = features or nn.Sequential(
            nn.Flatten(), dense_stack(widths, config.activation, config.activation, config.init))
        self.head = nn.Linear(n_features or widths[-1], config.n_classes)
        init_linear_(self.head, config.init)

    @classmethod
    def on_codings(cls, model: nn.Module, n_classes: int) -> Classifier:
        """A head of ``n_classes`` on ``model``'s codings (``model`` needs ``encode``)."""
        probe = torch.zeros((1, *model.sample_shape))
        with torch.no_grad():
            z_dim = model.encode(probe).flatten(1).shape[1]
        config = ClassifierConfig(hidden=[], n_classes=n_classes)
        return cls(config, model.spec, Codings(model), z_dim)

    # -- the model's face -------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, *sample_shape] -> [N, n_classes]`` logits."""
        return self.head(self.features(x))

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, *sample_shape] -> [N]`` the most probable class."""
        return self(x).argmax(dim=1)

    def freeze_features(self, frozen: bool = True) -> None:
        """Stop (or restart) gradients into the feature layers; the head always learns."""
        for p in self.features.parameters():
            p.requires_grad_(not frozen)

    # -- the step contract ------------------------------------------------------------------
    def configure_optimizers(self, cfg: OptimConfig) -> dict[str, torch.optim.Optimizer]:
        return {"model": make_optimizer([p for p in self.parameters() if p.requires_grad], cfg)}

    def training_step(self, batch, optimizers, step):
        if batch.labels is None:
            raise DataError("a classifier trains on labelled data, and these data have no labels")
        x, y = batch.inputs, batch.labels
        logits = self(x)
        out = self.minimize({"loss": F.cross_entropy(logits, y)}, optimizers["model"])
        out["accuracy"] = (logits.argmax(1) == y).float().mean()
        return out

    @torch.no_grad()
    def validation_step(self, batch):
        x, y = batch.inputs, batch.labels
        logits = self(x)
        accuracy = (logits.argmax(1) == y).float().mean()
        return {"loss": F.cross_entropy(logits, y), "accuracy": accuracy}
