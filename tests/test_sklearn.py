"""``AutoencoderTransformer`` and ``AutoencoderOutlierDetector``: scikit-learn's own estimator
checks, a Pipeline in a grid search, the linear autoencoder against PCA as the reference, and
the detector's scores against the reconstruction errors they are defined by."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from aegan.sklearn import AutoencoderOutlierDetector, AutoencoderTransformer

pytestmark = pytest.mark.usefixtures("one_thread")


@parametrize_with_checks([AutoencoderTransformer(epochs=2), AutoencoderOutlierDetector(epochs=2)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _table(n=200, seed=0):
    """Five correlated, unbounded columns that lie near a 2-D plane."""
    rng = np.random.RandomState(seed)
    z = rng.randn(n, 2)
    return z @ rng.randn(2, 5) * 3 + 10 + 0.3 * rng.randn(n, 5)


def test_linear_autoencoder_reaches_pca():
    x = _table()
    ae = AutoencoderTransformer(encoder=(2,), activation="linear", epochs=150, batch_size=50,
                                lr=0.02, random_state=0)
    codings = ae.fit_transform(StandardScaler().fit_transform(x))
    xs = StandardScaler().fit_transform(x)
    pca = PCA(2).fit(xs)
    pca_mse = np.mean((pca.inverse_transform(pca.transform(xs)) - xs) ** 2)
    assert codings.shape == (200, 2) and codings.dtype == np.float64
    assert pca_mse * (1 - 1e-6) <= -ae.score(xs) <= 1.05 * pca_mse  # PCA is the linear optimum
    assert ae.inverse_transform(codings).shape == (200, 5)
    assert len(ae.history_) == 150 and ae.n_features_in_ == 5


def test_pipeline_and_grid_search_and_determinism():
    x = _table(120)
    pipe = make_pipeline(StandardScaler(), AutoencoderTransformer(epochs=40, random_state=1))
    search = GridSearchCV(pipe, {"autoencodertransformer__encoder": [(8, 1), (8, 2)]}, cv=2)
    search.fit(x)
    assert search.best_params_["autoencodertransformer__encoder"] == (8, 2)  # 2-D data
    a = AutoencoderTransformer(epochs=2, random_state=3).fit(x).transform(x)
    b = AutoencoderTransformer(epochs=2, random_state=3).fit(x).transform(x)
    np.testing.assert_array_equal(a, b)
    names = AutoencoderTransformer(encoder=(4, 3), epochs=1).fit(x).get_feature_names_out()
    assert list(names) == [f"autoencodertransformer{i}" for i in range(3)]


def test_errors_are_sklearn_errors():
    with pytest.raises(NotFittedError):
        AutoencoderTransformer().transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="unknown activation"):
        AutoencoderTransformer(activation="swish").fit(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="values in \\[0, 1\\]"):
        AutoencoderTransformer(loss="bce", output="sigmoid").fit(_table(10))
    fitted = AutoencoderTransformer(encoder=(4, 2), epochs=1).fit(_table(10))
    with pytest.raises(ValueError, match="3 codings per row"):
        fitted.inverse_transform(np.zeros((2, 3)))


def test_outlier_detector_scores_are_reconstruction_errors():
    x = StandardScaler().fit_transform(_table(300))
    detector = AutoencoderOutlierDetector(contamination=0.05, encoder=(8, 2), epochs=40,
                                          random_state=0).fit(x)
    with torch.no_grad():  # the definition: the mean squared error of each row's reconstruction
        recon = detector.model_.decode(detector.model_.encode(torch.tensor(x))).numpy()
    errors = np.mean((recon - x) ** 2, axis=1)
    np.testing.assert_allclose(detector.score_samples(x), -errors, rtol=1e-12)
    assert detector.offset_ == np.percentile(-errors, 5)
    np.testing.assert_allclose(detector.decision_function(x), -errors - detector.offset_)
    predicted = detector.predict(x)
    assert set(predicted) == {-1, 1} and (predicted == -1).sum() == 15  # 5% of 300
    assert np.array_equal(predicted == -1, -errors < detector.offset_)
    # rows off the data's plane reconstruct worse than rows on it: they score lower
    far = x[:20] + 4 * np.random.RandomState(1).randn(20, 5)
    assert np.median(detector.score_samples(far)) < np.median(detector.score_samples(x[:20]))
    assert (detector.predict(far) == -1).mean() > 0.5
    for bad in (0, 0.6, "auto", True):
        with pytest.raises(ValueError, match="contamination must be a share in \\(0, 0.5\\]"):
            AutoencoderOutlierDetector(contamination=bad, epochs=1).fit(x)
