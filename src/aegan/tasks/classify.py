"""Unsupervised pretraining for a classifier with few labels (Géron, *Hands-On Machine
Learning*, 2nd ed., section 17.3 and chapter 17's exercise; Erhan et al., "Why does
unsupervised pre-training help deep learning?", JMLR 2010).

The encoder of a trained autoencoder (trained on every training image, labels unused) becomes
the feature layers of a classifier with a softmax head; only ``labels`` labelled training
examples are then used: first the head learns on the frozen encoder, then everything is
fine-tuned at a lower learning rate. The baseline, the same architecture freshly initialised,
is trained on the same labels for as many epochs as both phases together. Both are scored on
the test split (or, to choose settings, the validation split).

Both classifiers train with the one :class:`~aegan.train.Trainer`: the classifier is a model
family like any other (:mod:`aegan.models.classifier`), so freezing is just which parameters
its optimizer holds, and each phase is one ``Trainer.fit``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aegan.config import DEVICES, ConfigError, OptimConfig, TrainConfig
from aegan.data import Examples
from aegan.errors import DataError
from aegan.metrics import batched
from aegan.models import Classifier, Encoder, build_model
from aegan.tasks import load_for_task
from aegan.train import Trainer


@dataclass
class PretrainConfig:
    """How both classifiers are trained on the ``labels`` labelled examples."""

    labels: int = 500
    frozen_epochs: int = 50  # the head alone, on the frozen encoder, at head_lr
    head_lr: float = 1e-2  # a linear softmax on fixed codings: a convex problem
    finetune_epochs: int = 50  # everything, at finetune_lr
    finetune_lr: float = 3e-4
    scratch_lr: float = 3e-3  # the baseline, for frozen_epochs + finetune_epochs
    batch_size: int = 32
    seed: int = 42
    device: str = "auto"
    split: str = "test"  # where the accuracies are measured ("valid" to choose settings)

    def __post_init__(self) -> None:
        if self.split not in ("valid", "test"):
            raise ConfigError(f"accuracies are measured on the valid or test split, "
                              f"not {self.split!r}")
        if not isinstance(self.labels, int) or self.labels < 1:
            raise ConfigError(f"--labels must be a positive number of examples, got {self.labels}")
        if min(self.frozen_epochs, self.finetune_epochs, self.batch_size) < 1:
            raise ConfigError("epochs and batch_size must be at least 1")
        if min(self.head_lr, self.finetune_lr, self.scratch_lr) <= 0:
            raise ConfigError("learning rates must be positive")
        if self.device not in DEVICES:
            raise ConfigError(f"unknown device {self.device!r}; choose one of {', '.join(DEVICES)}")


def labelled_subset(x: np.ndarray, y: np.ndarray | None, n: int, seed: int, name: str):
    """``n`` training examples and their labels, drawn at random (seeded) without repeats."""
    if y is None:
        raise DataError(f"{name} has no labels to train a classifier on")
    if n > len(y):
        raise DataError(f"--labels {n} asks for more labelled examples than {name} has in its "
                        f"training split ({len(y)})")
    chosen = np.random.RandomState(seed).permutation(len(y))[:n]
    return x[chosen], y[chosen]


def _fit(model: Classifier, x, y, epochs: int, lr: float, cfg: PretrainConfig) -> None:
    train = TrainConfig(epochs=epochs, batch_size=cfg.batch_size, seed=cfg.seed, device=cfg.device)
    Trainer(model, train, OptimConfig("adam", lr=lr), progress=False).fit(Examples(x, labels=y))
    model.cpu().eval()


def _accuracy(model: Classifier, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(batched(model.predict, x, 1024) == y))


def _classifier(encoder_model, n_classes: int, seed: int) -> Classifier:
    torch.manual_seed(seed)  # both heads start from the same weights
    return Classifier.on_codings(encoder_model, n_classes)


def pretrain_classify(run_dir: str | Path, data: str | None = None,
                      config: PretrainConfig | None = None,
                      data_dir: str | Path | None = None) -> dict[str, Any]:
    """Accuracies on ``config.split`` of the pretrained classifier (after the frozen phase and
    after fine-tuning) and of the same architecture trained from scratch, on ``config.labels``
    labels of ``data`` (default: the run's data set, every class)."""
    cfg = config or PretrainConfig()
    run_config, model, whole, _ = load_for_task(run_dir, data, data_dir, Encoder,
                                                "give codings to a classifier")
    x, y = labelled_subset(whole.train.inputs, whole.train.labels, cfg.labels, cfg.seed,
                           whole.name)
    evaluated = whole.split(cfg.split)
    x_eval, y_eval = evaluated.inputs, evaluated.labels
    if y_eval is None:
        raise DataError(f"{whole.name} has no {cfg.split} labels to score a classifier on")
    n_classes = len(whole.classes) if whole.classes else int(max(y.max(), y_eval.max())) + 1

    pretrained = _classifier(model, n_classes, cfg.seed)
    pretrained.freeze_features(True)
    _fit(pretrained, x, y, cfg.frozen_epochs, cfg.head_lr, cfg)
    frozen_acc = _accuracy(pretrained, x_eval, y_eval)
    pretrained.freeze_features(False)
    _fit(pretrained, x, y, cfg.finetune_epochs, cfg.finetune_lr, cfg)
    finetuned_acc = _accuracy(pretrained, x_eval, y_eval)

    torch.manual_seed(cfg.seed + 1)
    fresh = build_model(run_config.model, model.spec)  # same encoder, new weights
    scratch = _classifier(fresh, n_classes, cfg.seed)
    _fit(scratch, x, y, cfg.frozen_epochs + cfg.finetune_epochs, cfg.scratch_lr, cfg)
    scratch_acc = _accuracy(scratch, x_eval, y_eval)
    return {"run": str(run_dir), "data": whole.name, "labels": cfg.labels,
            "classes": n_classes, "split": cfg.split, "examples": len(y_eval),
            "pretrained_frozen_accuracy": frozen_acc, "pretrained_accuracy": finetuned_acc,
            "scratch_accuracy": scratch_acc, "settings": asdict(cfg)}
