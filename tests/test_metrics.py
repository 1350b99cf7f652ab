"""The metrics against references: SciPy's sqrtm for the Fréchet distance, scikit-learn for
AUROC and average precision, hand-computed KID, coverage and resize weights, and the behaviour
the papers promise (FID small for the same distribution and large for a damaged copy,
precision and recall 1 for a set against itself, recall falling for a collapsed set)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import scipy.linalg
import torch

from aegan import metrics
from aegan.data import load_dataset
from aegan.metrics import anomaly, features, generation
from aegan.metrics.generation import feature_stats, frechet_distance
from aegan.models import ConditionalSampler, Encoder, Model, VAEConfig
from tests.conftest import write_run


def _random_cov(rng, d: int, rank: int | None = None) -> np.ndarray:
    a = rng.normal(size=(d, rank or d))
    return a @ a.T / d


@pytest.mark.parametrize("d, rank", [(8, None), (64, None), (32, 20)])
def test_frechet_distance_equals_scipy_sqrtm(d, rank):
    rng = np.random.default_rng(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = _random_cov(rng, d, rank), _random_cov(rng, d)
    root = np.real(scipy.linalg.sqrtm(s1 @ s2))
    reference = (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(root)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-6)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0, abs=1e-6 * np.trace(s1))


def test_frechet_distance_of_one_dimension_is_closed_form():
    # d = 1: (m1 - m2)^2 + (s1 - s2)^2 for standard deviations s1, s2
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([3.0]),
                            np.array([[9.0]])) == pytest.approx(4 + 1)


def _kid_by_hand(x: np.ndarray, y: np.ndarray) -> float:
    d, m = x.shape[1], len(x)
    k = lambda a, b: (a @ b / d + 1) ** 3
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_is_the_unbiased_mmd_and_tells_shifted_sets_apart():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 3)) + 0.5
    mean, std = generation.kid(x, y, subsets=3, subset_size=6)  # every subset is the whole set
    assert mean == pytest.approx(_kid_by_hand(x, y), rel=1e-12) and std == pytest.approx(0, abs=1e-12)
    a, b = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    same, same_std = generation.kid(a, b, subsets=20, subset_size=200)
    shifted, _ = generation.kid(a, b + 0.5, subsets=20, subset_size=200)
    assert abs(same) < 3 * same_std + 1e-3
    assert shifted > 0.1 and shifted > 20 * abs(same)


def test_precision_recall_of_a_set_against_itself_and_a_collapsed_set(digit_features):
    real, y = digit_features["test"]
    assert generation.precision_recall(real, real, k=3) == (1.0, 1.0)
    collapsed = real[y == 3]  # one class only: inside the real manifold, covering little of it
    precision, recall = generation.precision_recall(real, collapsed, k=3)
    assert precision > 0.9 and recall < 0.3


def test_knn_radii_by_hand():
    points = np.array([[0.0], [1.0], [3.0], [7.0]])
    # k=2: from 0 the distances are 1, 3, 7 -> 3^2; from 3: 2, 3, 4 -> 3^2; from 7: 4, 6, 7 -> 6^2
    np.testing.assert_allclose(generation.knn_radii(points, k=2), [9.0, 4.0, 9.0, 36.0])


def test_class_coverage_counts_classes_with_a_tenth_of_their_share():
    # 100 predictions, 4 classes: a class needs 0.1 * 25 = 2.5 of them
    predicted = np.array([0] * 60 + [1] * 37 + [2] * 3)
    assert generation.class_coverage(predicted, 4) == 0.75


@pytest.fixture(scope="module")
def digit_classifier(tmp_path_factory):
    """The feature classifier of scikit-learn's digits, briefly trained, cached in a folder
    that the module's tests share."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AEGAN_CACHE_DIR", str(cache))
        mp.setattr(features, "CLASSIFIER_STEPS", 100)
        d = load_dataset("digits")
        clf = features.classifier_features(d.train.inputs, d.train.labels, "digits")
    return cache, clf, d


@pytest.fixture(scope="module")
def digit_features(digit_classifier):
    _, clf, d = digit_classifier
    return {name: (clf(d.split(name).inputs), d.split(name).labels) for name in ("train", "test")}


def test_classifier_features_are_cached_and_named(digit_classifier, monkeypatch):
    cache, clf, d = digit_classifier
    monkeypatch.setenv("AEGAN_CACHE_DIR", str(cache))
    assert clf.name.startswith("classifier:digits:") and clf.dim == 128
    x, y = d.test.inputs, d.test.labels
    assert (clf.predict(x) == y).mean() > 0.8
    again = features.classifier_features(d.train.inputs, d.train.labels, "digits")  # loaded, not trained
    assert again.name == clf.name
    np.testing.assert_allclose(again(x[:5]), clf(x[:5]), rtol=1e-5, atol=1e-5)  # memory layout aside


def _blur(x: np.ndarray) -> np.ndarray:
    kernel = torch.ones(1, 1, 3, 3) / 9
    return torch.nn.functional.conv2d(torch.as_tensor(x), kernel, padding=1).numpy()


def test_fid_is_small_for_the_same_data_and_large_for_damaged_copies(digit_classifier, digit_features):
    _, clf, d = digit_classifier
    test, _ = digit_features["test"]
    train, _ = digit_features["train"]
    x_test = d.test.inputs
    shuffled = x_test.reshape(len(x_test), -1)[:, np.random.default_rng(0).permutation(64)]
    same = frechet_distance(*feature_stats(test), *feature_stats(train))
    for damaged in (_blur(x_test), shuffled.reshape(x_test.shape)):
        assert frechet_distance(*feature_stats(test), *feature_stats(clf(damaged))) > 5 * same


def test_auroc_and_average_precision_equal_scikit_learn():
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(0)
    for _ in range(5):
        truth = rng.random(200) < 0.3
        scores = np.round(rng.normal(size=200) + truth, 1)  # rounded: many ties
        assert anomaly.auroc(truth, scores) == pytest.approx(roc_auc_score(truth, scores), abs=1e-12)
        assert anomaly.average_precision(truth, scores) == pytest.approx(
            average_precision_score(truth, scores), abs=1e-12)
    assert anomaly.auroc(np.zeros(4, bool), np.arange(4)) is None


class _Projection(Model, Encoder):
    """A stand-in model whose codings are a fixed random projection of the pixels."""

    family = "projection"

    def __init__(self, width: int, z_dim: int):
        super().__init__(None, (width,))
        self.w = torch.randn(width, z_dim, generator=torch.Generator().manual_seed(0))
        self.z_dim = z_dim

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.w


def test_probes_beat_chance_on_digits():
    d = load_dataset("digits")
    x, y = d.test.inputs, d.test.labels
    data = metrics.MetricData(x, y, d.train.inputs, d.value_range, y_train=d.train.labels,
                              probe_limit=500)
    out = metrics.compute(["probe"], _Projection(64, 8), data)
    for key in ("probe_linear", "probe_knn", "probe_pca_linear", "probe_pca_knn"):
        assert out[key] > 0.5, (key, out)  # chance is 0.1
    assert out["probe_width"] == 8 and out["probe_train_examples"] == 500


def test_tf1_resize_weights_by_hand():
    # 2 -> 4 pixels: sources 0, 0.5, 1, 1.5 (the last clamped to pixel 1)
    np.testing.assert_allclose(features.tf1_bilinear_matrix(2, 4),
                               [[1, 0], [0.5, 0.5], [0, 1], [0, 1]])
    m = features.tf1_bilinear_matrix(28, 299)
    np.testing.assert_allclose(m.sum(1), 1.0)
    x = torch.arange(4.0).reshape(1, 1, 2, 2)  # [[0, 1], [2, 3]]
    out = features.tf1_resize(x, 4)
    assert out[0, 0, 1, 1] == pytest.approx(1.5) and out[0, 0, 3, 3] == pytest.approx(3.0)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_inception_input_is_prepared_as_the_tensorflow_graph_does(tmp_path):
    net = torch.jit.script(torch.nn.AdaptiveAvgPool2d(1))
    net.save(str(tmp_path / "net.pt"))
    fx = features.InceptionFeatures(tmp_path / "net.pt")
    x = torch.tensor([0.0, 1.0, 0.5, 0.25]).reshape(1, 1, 2, 2)
    prepared = fx.prepare(x, (0.0, 1.0))
    assert prepared.shape == (1, 3, 299, 299)
    assert prepared.min() == -1.0 and prepared.max() == pytest.approx(127 / 128)  # 255 -> 127/128
    assert prepared[0, :, 0, 0].tolist() == [-1.0] * 3  # grey tiled to three channels
    assert fx(x.numpy(), (0.0, 1.0)).shape == (1, 3)


@pytest.fixture
def vae_run(tmp_path, digit_classifier, monkeypatch):
    monkeypatch.setenv("AEGAN_CACHE_DIR", str(digit_classifier[0]))
    return write_run(tmp_path / "vae", VAEConfig(encoder=[16], z_dim=2))


def test_cli_evaluate_generation_metrics_on_classifier_features(cli, vae_run):
    r = cli("evaluate", vae_run, "--metrics", "fid,kid,precision_recall,coverage", "--features",
            "classifier", "--n-samples", "200", "--split", "test", "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["fid_features"].startswith("classifier:digits:") and out["fid_examples"] == 200
    assert out["fid"] > 0 and 0 <= out["precision"] <= 1 and 0 <= out["class_coverage"] <= 1
    assert "fid_warning" not in out and "n-samples" not in r.err  # 200 > 128 dimensions


def test_fewer_samples_than_feature_dimensions_warn_with_the_number_needed(cli, vae_run, caplog):
    with caplog.at_level(logging.WARNING, logger="aegan.metrics.generation"):
        r = cli("evaluate", vae_run, "--metrics", "fid", "--features", "classifier",
                "--n-samples", "50", "--json")
    assert r.code == 0, r.err
    assert "use --n-samples 129 or more" in caplog.text  # FID is still computed
    assert json.loads(r.out)["fid"] > 0
    assert "use --n-samples 129" in json.loads(r.out)["fid_warning"]


def test_cli_lists_the_registered_metrics(cli):
    r = cli("metrics", "--json")
    assert r.code == 0
    rows = json.loads(r.out)
    assert [row["name"] for row in rows] == list(metrics.METRICS)
    assert {"fid", "kid", "precision_recall", "coverage", "probe", "anomaly"} <= set(metrics.METRICS)
    assert all(row["description"] for row in rows)


def test_default_metrics_answer_the_obvious_question_and_leave_out_the_slow_ones():
    """A model that samples gets the sample metrics by default (sized: 2,000 samples); the
    probes and KID's subsets run when named."""
    vae = VAEConfig(encoder=[16], z_dim=2)
    from aegan.models import build_model

    model = build_model(vae, (1, 8, 8))
    defaults = metrics.defaults(model)
    assert {"reconstruction", "nll", "fid", "precision_recall", "coverage"} <= set(defaults)
    assert "probe" in metrics.applicable(model) and {"probe", "kid"}.isdisjoint(defaults)
    assert metrics.MetricData(None, None, None, None).n_samples == 2000


class _Conditional(Model, ConditionalSampler):
    """A stand-in conditional generator: its samples are its labels, as images."""

    def __init__(self, num_classes: int):
        super().__init__(None, (1, 2, 2))
        self.num_classes = num_classes

    def sample(self, n: int, generator=None, labels: torch.Tensor | None = None) -> torch.Tensor:
        return labels.float().reshape(n, 1, 1, 1).expand(n, 1, 2, 2)


def test_conditional_models_are_asked_for_every_class_in_turn():
    samples = generation.draw_samples(_Conditional(3), 7, seed=0, batch_size=4)
    assert samples[:, 0, 0, 0].tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_inception_download_is_checked_and_failures_say_what_to_do(monkeypatch, tmp_path):
    import io
    import urllib.request

    from aegan.errors import DataError

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b"not it"))
    with pytest.raises(DataError, match="SHA-256.*--features classifier"):
        features.find_inception("download")
    assert not (features.features_dir() / features.INCEPTION_FILE).exists()  # nothing kept


def test_feature_classifier_learns_from_the_whole_training_split(cli, vae_run, digit_classifier):
    # a run trained on 100 examples is scored on the same features as any other digits run
    config = json.loads((vae_run / "config.json").read_text())
    config["data"]["limit"] = 100
    (vae_run / "config.json").write_text(json.dumps(config))
    r = cli("evaluate", vae_run, "--metrics", "fid", "--features", "classifier", "--n-samples",
            "150", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["fid_features"] == digit_classifier[1].name


def test_the_feature_classifier_trains_the_same_whatever_ran_before(tmp_path, monkeypatch):
    """Its initial weights follow its seed alone, so two machines (or two cache folders) train
    the same classifier, and its FID is comparable; the caller's random state is untouched."""
    rng = np.random.RandomState(0)
    x, y = rng.rand(64, 1, 8, 8).astype(np.float32), rng.randint(0, 3, 64)
    monkeypatch.setattr(features, "CLASSIFIER_STEPS", 20)
    trained = []
    for i, cache in enumerate(("a", "b")):
        monkeypatch.setenv("AEGAN_CACHE_DIR", str(tmp_path / cache))
        torch.manual_seed(100 + i)  # other random numbers drawn before
        before = torch.get_rng_state()
        trained.append(features.classifier_features(x, y, "noise")(x[:8]))
        assert torch.equal(torch.get_rng_state(), before)
    np.testing.assert_array_equal(trained[0], trained[1])


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_real_features_are_kept_on_disk_and_a_broken_cache_file_is_computed_again(
        cli, vae_run, tmp_path, monkeypatch):
    monkeypatch.setenv("AEGAN_CACHE_DIR", str(tmp_path / "own-cache"))  # not the shared one
    net = torch.jit.script(torch.nn.AdaptiveAvgPool2d(1))  # a stand-in network: 3 features
    net.save(str(tmp_path / "net.pt"))
    seen = []
    call = features.InceptionFeatures.__call__
    monkeypatch.setattr(features.InceptionFeatures, "__call__",
                        lambda self, x, value_range: seen.append(len(x)) or call(self, x, value_range))
    args = ("evaluate", vae_run, "--metrics", "fid", "--features", "inception", "--inception-weights",
            str(tmp_path / "net.pt"), "--n-samples", "40", "--split", "test", "--json")
    first = cli(*args)
    assert first.code == 0, first.err
    assert seen == [40, 40]  # the real images, then the samples
    cached = list((features.features_dir() / "real").glob("*.npy"))
    assert len(cached) == 1
    second = cli(*args)
    assert second.code == 0, second.err
    assert seen == [40, 40, 40]  # the samples only: the real images' features were read back
    assert json.loads(second.out)["fid"] == json.loads(first.out)["fid"]
    cached[0].write_bytes(b"not an array")
    third = cli(*args)
    assert third.code == 0, third.err
    assert seen[3:] == [40, 40] and json.loads(third.out)["fid"] == json.loads(first.out)["fid"]
