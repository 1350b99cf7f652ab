"""aegan's own presets: the same models with settings chosen by measurement."""

from aegan.config import DataConfig, OptimConfig, RunConfig, TrainConfig
from aegan.models import AutoencoderConfig
from aegan.presets.registry import register_preset


@register_preset("linear-pca",
                 "the book's linear autoencoder with settings that reach PCA's optimum")
def linear_pca() -> RunConfig:
    # Full-batch Adam with a cosine decay: the 60 points make the loss a smooth quadratic-like
    # surface, and the decay removes the last of Adam's jitter around the optimum.
    return RunConfig(
        model=AutoencoderConfig(encoder=[2], activation="linear", output="linear", loss="mse"),
        data=DataConfig("book-3d"),
        optim=OptimConfig("adam", lr=0.02, schedule="cosine"),
        train=TrainConfig(epochs=1000, batch_size=60),
    )


@register_preset("stacked-digits",
                 "a small stacked autoencoder (64-32-8) for scikit-learn's digits: the demo's")
def stacked_digits() -> RunConfig:
    return RunConfig(
        model=AutoencoderConfig(encoder=[32, 8], activation="selu", output="sigmoid", loss="bce"),
        data=DataConfig("digits"),
        optim=OptimConfig("adam", lr=3e-3, schedule="cosine"),
        train=TrainConfig(epochs=60, batch_size=32),
    )
