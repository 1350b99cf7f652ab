"""A scikit-learn face for the dense autoencoder: ``AutoencoderTransformer`` and
``AutoencoderOutlierDetector``.

``fit`` trains an :class:`~aegan.models.Autoencoder` on a table ``[n_samples, n_features]``
with the one :class:`~aegan.train.Trainer`; ``transform`` gives the codings
``[n_samples, encoder[-1]]``, ``inverse_transform`` the reconstructions from codings. It follows
scikit-learn's estimator contract (Buitinck et al., "API design for machine learning software:
experiences from the scikit-learn project", 2013): hyper-parameters are stored unchanged by
``__init__``, learned state lives in attributes ending in ``_``, and it passes
``sklearn.utils.estimator_checks.check_estimator``, so it fits in a ``Pipeline`` (after a
``StandardScaler``, say) and in ``GridSearchCV`` (``score`` is the negative reconstruction MSE).

``AutoencoderOutlierDetector`` follows scikit-learn's outlier-detector convention (as
``IsolationForest``): ``score_samples`` is the negative reconstruction error of each row (higher
is more normal), ``offset_`` the score below which the ``contamination`` share of the training
rows lie, ``decision_function`` the score minus ``offset_`` (negative for outliers) and
``predict`` +1 for inliers, -1 for outliers: the reconstruction error as a novelty score, as
for images in :mod:`aegan.tasks.anomaly` (Géron, 2nd ed., chapter 17's introduction).

The defaults suit unbounded tabular data: a linear output and the MSE loss. Training runs in
float32; the fitted networks are then kept in float64, so that ``transform`` of a row does not
depend on which other rows share its batch.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import (BaseEstimator, ClassNamePrefixFeaturesOutMixin, OutlierMixin,
                          TransformerMixin)
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from aegan.config import OptimConfig, TrainConfig
from aegan.data import ExampleSpec
from aegan.errors import AeganError
from aegan.models import AutoencoderConfig, build_model
from aegan.train import Trainer


class _Autoencoding(BaseEstimator):
    """What both estimators share: the aegan configs of their hyper-parameters, training, and
    running the fitted model on a table."""

    def _configs(self, seed: int):
        """The aegan configs of these hyper-parameters; a bad value is a ValueError."""
        try:
            model = AutoencoderConfig(
                encoder=[int(n) for n in self.encoder],
                decoder=None if self.decoder is None else [int(n) for n in self.decoder],
                activation=self.activation, coding_activation=self.coding_activation,
                output=self.output, loss=self.loss)
            train = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, seed=seed,
                                device=self.device)
            return model, train, OptimConfig(self.optimizer, lr=self.lr)
        except AeganError as exc:
            raise ValueError(str(exc)) from None

    def _fit_autoencoder(self, X: np.ndarray) -> None:
        """Train on the validated table ``X``: ``model_`` (float64, eval mode), ``history_``."""
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        model_config, train, optim = self._configs(seed)
        in_unit = X.min() >= 0 and X.max() <= 1
        spec = ExampleSpec("vectors", {"inputs": (X.shape[1],)}, (0.0, 1.0) if in_unit else None)
        with torch.random.fork_rng(devices=[]):  # seed the initial weights, leave global state
            torch.manual_seed(seed)
            try:  # the model refuses data it cannot learn from, as everywhere in aegan
                model = build_model(model_config, spec)
            except AeganError as exc:
                raise ValueError(str(exc)) from None
        trainer = Trainer(model, train, optim, progress=False)
        self.history_ = trainer.fit(X.astype(np.float32))
        self.model_ = model.cpu().double().eval()

    def _run(self, fn, X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = fn(torch.tensor(X, dtype=torch.float64)).numpy()  # a copy: X may be read-only
        return out.astype(X.dtype if X.dtype == np.float32 else np.float64)

    def _errors(self, X: np.ndarray) -> np.ndarray:
        """Each row's mean squared reconstruction error ``[n_samples]``, in float64."""
        X = X.astype(np.float64)
        return np.mean((self._run(self.model_.reconstruct, X) - X) ** 2, axis=1)


class AutoencoderTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _Autoencoding):
    """Codings of a dense autoencoder as a scikit-learn transformer.

    Parameters
    ----------
    encoder : tuple of int
        Encoder layer widths; the last is the number of codings (output columns).
    decoder : tuple of int or None
        Decoder hidden widths; None mirrors the encoder.
    activation, coding_activation : str
        Hidden activation and the codings' activation (None: the same as ``activation``).
    output, loss : str
        ``"linear"`` and ``"mse"`` for unbounded data; ``"sigmoid"`` and ``"bce"`` for [0, 1].
    epochs, batch_size, lr, optimizer : training settings of the Trainer.
    random_state : int, RandomState or None
        Seeds the initial weights and the shuffling; an int makes ``fit`` repeatable.
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"``; the fitted model is kept on the CPU.

    Attributes
    ----------
    model_ : Autoencoder, in float64 and eval mode
    n_features_in_ : int
    history_ : list of dict, one record per epoch (``train_loss``, …)
    """

    def __init__(self, encoder=(32, 8), decoder=None, activation="selu", coding_activation=None,
                 output="linear", loss="mse", epochs=50, batch_size=32, lr=1e-3,
                 optimizer="adam", random_state=None, device="cpu"):
        self.encoder = encoder
        self.decoder = decoder
        self.activation = activation
        self.coding_activation = coding_activation
        self.output = output
        self.loss = loss
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.random_state = random_state
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def fit(self, X, y=None):
        """Train on ``X`` ``[n_samples, n_features]``; ``y`` is ignored."""
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        self._fit_autoencoder(X)
        self._n_features_out = self.model_.z_dim
        return self

    def transform(self, X):
        """Codings ``[n_samples, encoder[-1]]`` of ``X`` ``[n_samples, n_features]``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return self._run(self.model_.encode, X)

    def inverse_transform(self, X):
        """Reconstructions ``[n_samples, n_features_in_]`` from codings ``[n_samples, k]``."""
        check_is_fitted(self)
        Z = check_array(X, dtype=[np.float64, np.float32])
        if Z.shape[1] != self._n_features_out:
            raise ValueError(f"X has {Z.shape[1]} codings per row, but this autoencoder makes "
                             f"{self._n_features_out}")
        return self._run(self.model_.decode, Z)

    def score(self, X, y=None):
        """Negative mean squared reconstruction error of ``X`` (higher is better)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return -float(np.mean(self._errors(X)))


class AutoencoderOutlierDetector(OutlierMixin, _Autoencoding):
    """Outliers of a table by a dense autoencoder's reconstruction error.

    Parameters
    ----------
    contamination : float in (0, 0.5]
        The share of the training rows taken as outliers: ``offset_`` is that quantile of
        their scores.
    encoder, decoder, activation, coding_activation, output, loss, epochs, batch_size, lr,
    optimizer, random_state, device : as :class:`AutoencoderTransformer`.

    Attributes
    ----------
    model_ : Autoencoder, in float64 and eval mode
    offset_ : float
        ``decision_function = score_samples - offset_``.
    n_features_in_ : int
    history_ : list of dict, one record per epoch
    """

    def __init__(self, contamination=0.1, encoder=(32, 8), decoder=None, activation="selu",
                 coding_activation=None, output="linear", loss="mse", epochs=50, batch_size=32,
                 lr=1e-3, optimizer="adam", random_state=None, device="cpu"):
        self.contamination = contamination
        self.encoder = encoder
        self.decoder = decoder
        self.activation = activation
        self.coding_activation = coding_activation
        self.output = output
        self.loss = loss
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.random_state = random_state
        self.device = device

    def fit(self, X, y=None):
        """Train on ``X`` ``[n_samples, n_features]`` (mostly normal rows) and set ``offset_``;
        ``y`` is ignored."""
        c = self.contamination
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not 0 < c <= 0.5:
            raise ValueError(f"contamination must be a share in (0, 0.5], got {c!r}")
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        self._fit_autoencoder(X)
        self.offset_ = float(np.percentile(-self._errors(X), 100 * c))
        return self

    def score_samples(self, X):
        """The negative reconstruction error of each row ``[n_samples]``: the lower, the more
        abnormal."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return -self._errors(X)

    def decision_function(self, X):
        """``score_samples(X) - offset_`` ``[n_samples]``: negative for outliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers, -1 for outliers ``[n_samples]``."""
        return np.where(self.decision_function(X) < 0, -1, 1)
