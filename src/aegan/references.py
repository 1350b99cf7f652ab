"""Published numbers to set a run's results beside, each with where it was printed.

- Géron, *Hands-On Machine Learning with Scikit-Learn, Keras and TensorFlow*, 2nd ed.,
  chapter 17 notebook (``17_autoencoders_and_gans.ipynb``): the ``val_loss`` Keras prints after
  the last epoch of each model (binary cross-entropy averaged over pixels, plus the activity
  penalty of the sparse models; for the VAE, plus the KL divergence divided by 784). Our
  ``valid_loss`` is the same quantity on the same 5,000 validation images.
- Burda, Grosse and Salakhutdinov, *Importance Weighted Autoencoders*, ICLR 2016, table 1: test
  negative log-likelihood (nats, k = 5000 importance samples) on dynamically binarized MNIST of
  a one-stochastic-layer VAE (two 200-unit tanh layers, 50-D codings) trained with k = 1.

A reference applies to runs of its preset on its data set only; a report shows "–" for every
quantity no reference gives.
"""

from __future__ import annotations

from dataclasses import dataclass

GERON = "Géron 2nd ed., ch. 17 notebook"
IWAE = "Burda et al. 2016, table 1 (VAE, k=1; test split)"


@dataclass(frozen=True)
class Reference:
    preset: str
    data: str
    key: str  # the metric or history key the value is comparable with
    value: float
    source: str
    epochs: int | None = None  # epochs the reference model trained


def _book(preset: str, value: float, epochs: int) -> Reference:
    return Reference(preset, "fashion-mnist", "valid_loss", value, GERON, epochs)


REFERENCES: list[Reference] = [
    _book("book/stacked", 0.2835, 20),
    _book("book/tied", 0.2839, 10),
    _book("book/greedy", 0.2857, 10),
    _book("book/conv", 0.2671, 5),
    _book("book/recurrent", 0.3206, 10),
    _book("book/denoising-gaussian", 0.2920, 10),
    _book("book/denoising-dropout", 0.2958, 10),
    _book("book/sparse-l1", 0.3212, 10),
    _book("book/sparse-kl", 0.3053, 10),
    _book("book/vae", 0.3133, 25),
    Reference("vae-binarized-mnist", "binarized-mnist", "nll", 86.76, IWAE),
]

# A baseline the metrics compute beside one of our numbers: our key -> the baseline's key.
BASELINES = {"recon_mse": "pca_mse"}


def references_for(preset: str | None, data: str) -> list[Reference]:
    """The references that apply to a run of ``preset`` on ``data``."""
    return [r for r in REFERENCES if r.preset == preset and r.data == data]
