"""The book's models as presets: Géron, *Hands-On Machine Learning with Scikit-Learn, Keras and
TensorFlow*, 2nd ed., chapter 17, with the hyper-parameters of its code.

Keras details that matter for matching its numbers are kept: Glorot-uniform initial weights,
zero biases, the loss averaged over every value, the last partial batch included.
"""

from aegan.config import DataConfig, OptimConfig, RunConfig, TrainConfig
from aegan.models import AutoencoderConfig
from aegan.presets.registry import register_preset


@register_preset("book/linear-pca",
                 "section 17.2: Dense(2) encoder and Dense(3) decoder, MSE, SGD lr 0.1, 20 epochs")
def linear_pca() -> RunConfig:
    return RunConfig(
        model=AutoencoderConfig(encoder=[2], activation="linear", output="linear", loss="mse"),
        data=DataConfig("book-3d"),
        optim=OptimConfig("sgd", lr=0.1),
        train=TrainConfig(epochs=20, batch_size=32),
    )


@register_preset("book/stacked",
                 "section 17.3: 784-100-30 SELU stacked autoencoder, BCE, SGD lr 1.5, 20 epochs")
def stacked() -> RunConfig:
    return RunConfig(
        model=AutoencoderConfig(encoder=[100, 30], activation="selu", output="sigmoid", loss="bce"),
        data=DataConfig("fashion-mnist"),
        optim=OptimConfig("sgd", lr=1.5),
        train=TrainConfig(epochs=20, batch_size=32),
    )
