"""Uses of a trained autoencoder: anomaly detection, semantic hashing, pretraining a classifier
with few labels; each checked against a computation written out here."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import torch

from aegan import api
from aegan.config import DataConfig, OptimConfig, TrainConfig
from aegan.data import Batch, load_dataset
from aegan.errors import DataError, RunError
from aegan.io import load_run
from aegan.models import AutoencoderConfig, ClassifierConfig, build_model
from aegan.run import RunConfig
from aegan.tasks.anomaly import DetectConfig, detect
from aegan.tasks.classify import PretrainConfig, labelled_subset, pretrain_classify
from aegan.tasks.hashing import binary_codes, hash_codes

pytestmark = pytest.mark.usefixtures("one_thread")


def _train(folder, epochs, classes=None, **model):
    config = RunConfig(model=AutoencoderConfig(**model), data=DataConfig("digits", classes=classes),
                       optim=OptimConfig("adam", lr=3e-3), train=TrainConfig(epochs=epochs))
    return api.train(config, folder, progress=False)


@pytest.fixture(scope="module")
def zeros_run(tmp_path_factory):
    """An autoencoder trained on the digit 0 only (the one-class protocol)."""
    return _train(tmp_path_factory.mktemp("runs") / "zeros", 30, classes=[0], encoder=[16, 4])


@pytest.fixture(scope="module")
def sigmoid_run(tmp_path_factory):
    """An autoencoder with 8 sigmoid codings, trained on every digit."""
    return _train(tmp_path_factory.mktemp("runs") / "sigmoid", 12, encoder=[32, 8],
                  coding_activation="sigmoid")


def _codings_and_recon(run, x):
    _, model = load_run(run)
    with torch.no_grad():
        z = model.encode(torch.as_tensor(x))
        return z.numpy(), model.decode(z).numpy()


def _mse_per_example(run, x):
    recon = _codings_and_recon(run, x)[1]
    return ((recon.astype(np.float64) - x) ** 2).reshape(len(x), -1).mean(axis=1)


def _pairwise_auroc(is_anomaly, scores):
    """AUROC as the Mann-Whitney probability that an anomaly outscores a normal example."""
    a, n = scores[is_anomaly][:, None], scores[~is_anomaly][None, :]
    return float(np.mean((a > n) + 0.5 * (a == n)))


# -- anomaly detection ---------------------------------------------------------------------
def test_detect_matches_reference(zeros_run):
    report = detect(zeros_run, config=DetectConfig(threshold=0.95))
    data = load_dataset("digits")
    scores = _mse_per_example(zeros_run, data.test.inputs)
    train_scores = _mse_per_example(zeros_run, data.train.inputs[data.train.labels == 0])
    np.testing.assert_allclose(report.scores, scores, rtol=1e-5)
    assert report.threshold == pytest.approx(np.quantile(train_scores, 0.95), rel=1e-5)
    s = report.summary
    assert s["flagged"] == int((scores > report.threshold).sum())
    assert s["train_flagged_fraction"] <= 0.05 + 1 / len(train_scores)
    assert s["normal_classes"] == [0]  # the run's own classes
    is_anomaly = data.test.labels != 0
    assert s["anomalies"] == is_anomaly.sum()
    assert s["auroc"] == pytest.approx(_pairwise_auroc(is_anomaly, scores), abs=1e-9)
    assert s["auroc"] > 0.95
    assert report.scores[report.top[0]] == scores.max() and report.images.shape == (10, 1, 8, 8)


def test_detect_cli_with_figure_and_other_normal_classes(cli, zeros_run):
    result = cli("detect", zeros_run, "--normal-classes", "0,6", "--json", "--out", "det.png")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["normal_classes"] == [0, 6] and 0 < summary["auroc"] < 1
    assert (result.err.count("det.png"), summary["threshold_quantile"]) == (1, 0.99)
    from pathlib import Path

    assert Path("det.png").stat().st_size > 1000


def test_detect_without_normal_classes_reports_scores_only(cli, sigmoid_run):
    result = cli("detect", sigmoid_run, "--split", "valid")
    assert result.code == 0, result.err
    assert "flagged" in result.out and "auroc" not in result.out


# -- semantic hashing ----------------------------------------------------------------------
def test_hash_matches_reference(sigmoid_run):
    report = hash_codes(sigmoid_run)
    data = load_dataset("digits")
    codings = _codings_and_recon(sigmoid_run, data.test.inputs)[0]
    np.testing.assert_array_equal(report.bits, codings >= 0.5)
    codes = ["".join("1" if b else "0" for b in row) for row in codings >= 0.5]
    buckets = Counter(codes)
    s = report.summary
    assert s["distinct_codes"] == len(buckets) and s["bits"] == 8
    assert s["singleton_codes"] == sum(1 for c in buckets.values() if c == 1)
    assert [b["size"] for b in s["largest_buckets"]] == [c for _, c in buckets.most_common(10)]
    top = s["largest_buckets"][0]
    assert codes.count(top["code"]) == top["size"]
    majority = sum(Counter(data.test.labels[[c == code for c in codes]]).most_common(1)[0][1]
                   for code in buckets)
    assert s["label_purity"] == pytest.approx(majority / len(codes))


def test_hash_cli_figure(cli, sigmoid_run):
    result = cli("hash", sigmoid_run, "--bits-threshold", "0.3", "--out", "buckets.png")
    assert result.code == 0, result.err
    assert "distinct_codes" in result.out and "buckets.png" in result.out


def test_hash_needs_codings_in_unit_interval():
    assert binary_codes(np.array([[0.2, 0.5, 1.0]])).tolist() == [[False, True, True]]
    with pytest.raises(RunError, match=r"codings in \[0, 1\]"):
        binary_codes(np.array([[-0.1, 0.5]]))


# -- a classifier on pretrained codings ----------------------------------------------------
def test_classifier_family_freezes_and_trains(tmp_path):
    torch.manual_seed(0)
    model = build_model(ClassifierConfig(hidden=[8], n_classes=3), (4,))
    batch = Batch(torch.rand(6, 4), labels=torch.tensor([0, 1, 2, 0, 1, 2]))
    features = [p.detach().clone() for p in model.features.parameters()]
    model.freeze_features(True)
    model.training_step(batch, model.configure_optimizers(OptimConfig(lr=0.1)), 0)
    assert all(torch.equal(a, b) for a, b in zip(features, model.features.parameters()))
    model.freeze_features(False)
    model.training_step(batch, model.configure_optimizers(OptimConfig(lr=0.1)), 0)
    assert not any(torch.equal(a, b) for a, b in zip(features, model.features.parameters()))
    # the family trains and evaluates like any other
    config = RunConfig(model=ClassifierConfig(hidden=[32]), data=DataConfig("digits"),
                       train=TrainConfig(epochs=3))
    run = api.train(config, tmp_path / "clf", progress=False)
    assert api.evaluate(run)["accuracy"] > 0.7


def test_pretrain_classify(sigmoid_run):
    config = PretrainConfig(labels=150, frozen_epochs=30, finetune_epochs=10)
    result = pretrain_classify(sigmoid_run, config=config)
    assert (result["labels"], result["classes"], result["examples"]) == (150, 10, 360)
    for key in ("pretrained_frozen_accuracy", "pretrained_accuracy", "scratch_accuracy"):
        assert 0.5 < result[key] <= 1.0, (key, result)


def test_labelled_subset_is_seeded_and_bounded():
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    a, b = labelled_subset(x, y, 4, 0, "d"), labelled_subset(x, y, 4, 0, "d")
    np.testing.assert_array_equal(a[1], b[1])
    assert len(set(a[1])) == 4 and (a[0][:, 0] // 2 == a[1]).all()
    with pytest.raises(DataError, match="more labelled examples than d has"):
        labelled_subset(x, y, 11, 0, "d")
