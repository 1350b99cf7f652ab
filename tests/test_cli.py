"""The command line end to end: listings, train / evaluate / encode / plot, and bad input
(one line, exit 2, nothing overwritten)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aegan.models import AutoencoderConfig
from tests.conftest import write_idx, write_run


def test_listings(cli):
    presets = json.loads(cli("presets", "--json").out)
    assert {"book/linear-pca", "linear-pca", "book/stacked"} <= {p["name"] for p in presets}
    datasets = json.loads(cli("datasets", "--json").out)
    assert {"mnist", "fashion-mnist", "digits", "book-3d"} <= {d["name"] for d in datasets}


def test_train_evaluate_encode_plot(cli, tmp_path):
    result = cli("train", "stacked-digits", "--epochs", "2", "--limit", "300", "--out", "run")
    assert result.code == 0, result.err
    assert "epoch   2/2" in result.out and "codings_map.png" in result.out
    for name in ("config.json", "model.safetensors", "history.jsonl", "environment.json",
                 "checkpoint.safetensors", "training_curves.png", "reconstructions.png"):
        assert (tmp_path / "run" / name).is_file(), name
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"]["limit"] == 300 and config["train"]["epochs"] == 2
    metrics = json.loads(cli("evaluate", "run", "--json", "--split", "test").out)
    assert metrics["split"] == "test" and metrics["examples"] == 360
    assert {"recon_mse", "recon_bce", "pca_mse", "pca_ratio"} <= set(metrics)
    assert cli("encode", "run", "--data", "digits", "--out", "z.npy").code == 0
    assert np.load(tmp_path / "z.npy").shape == (360, 8)
    plot = cli("plot", "run", "--out", "figs")
    assert plot.code == 0 and (tmp_path / "figs" / "codings_map.png").is_file()
    # the saved config repeats the run, bit for bit
    assert cli("train", "run/config.json", "--out", "again").code == 0
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == \
        (tmp_path / "again" / "model.safetensors").read_bytes()


def test_linear_pca_cli_reaches_pca(cli):
    assert cli("train", "linear-pca", "--out", "lin").code == 0
    metrics = json.loads(cli("evaluate", "lin", "--json").out)
    assert metrics["pca_ratio"] <= 1.001


def _bad_files(tmp_path):
    (tmp_path / "text.csv").write_text("1,2\n3,x\n")
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan], [0.0, 1.0], [1.0, 1.0]]))
    corrupt = tmp_path / "corrupt" / "mnist"
    corrupt.mkdir(parents=True)
    for stem, shape in (("train-images-idx3-ubyte", (10, 28, 28)), ("train-labels-idx1-ubyte", (10,)),
                        ("t10k-images-idx3-ubyte", (2, 28, 28)), ("t10k-labels-idx1-ubyte", (2,))):
        write_idx(corrupt / f"{stem}.gz", np.zeros(shape))
    path = corrupt / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    (tmp_path / "empty").mkdir()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("earlier results")
    write_run(tmp_path / "run", AutoencoderConfig(encoder=[16, 4]))  # SELU codings, untrained


BAD = {
    "unknown preset": (["train", "book/nope"], "unknown preset 'book/nope'"),
    "unknown data set": (["train", "stacked-digits", "--data", "cifar"], "unknown data set 'cifar'"),
    "missing IDX": (["train", "book/stacked", "--data-dir", "empty"], "no IDX files"),
    "corrupt IDX": (["train", "book/stacked", "--data", "mnist", "--data-dir", "corrupt"], "damaged"),
    "CSV with text": (["train", "linear-pca", "--data", "text.csv"], "'x' is not a number"),
    "NaN in data": (["train", "linear-pca", "--data", "nan.npy"], "NaN or infinite"),
    "epochs 0": (["train", "linear-pca", "--epochs", "0"], "--epochs must be at least 1"),
    "negative lr": (["train", "linear-pca", "--lr", "-1"], "--lr must be a positive"),
    "existing out": (["train", "linear-pca", "--out", "taken"], "already exists"),
    "bce on unbounded data": (["train", "stacked-digits", "--data", "book-3d"], "outside [0, 1]"),
    "no such run": (["evaluate", "nowhere"], "does not exist"),
    "not a run": (["evaluate", "taken"], "not a run folder"),
    "resume missing": (["train", "--resume", "taken"], "not a run folder"),
    "unknown option": (["train", "linear-pca", "--bogus"], "unrecognized arguments"),
    "bad config json": (["train", "bad.json"], "not valid JSON"),
    "class not in data": (["train", "stacked-digits", "--classes", "12"], "class 12 does not occur"),
    "classes not labels": (["train", "stacked-digits", "--classes", "a"], "expected labels like 0,3"),
    "threshold above 1": (["detect", "run", "--threshold", "1.5"], "strictly between 0 and 1"),
    "threshold 0": (["detect", "run", "--threshold", "0"], "strictly between 0 and 1"),
    "figure not png": (["detect", "run", "--out", "fig.jpg"], "must name a .png"),
    "more labels than exist": (["pretrain-classify", "run", "--labels", "5000"],
                               "more labelled examples than digits has"),
    "no labels": (["pretrain-classify", "run", "--labels", "0"], "--labels must be a positive"),
    "hash of unbounded codings": (["hash", "run"], "needs codings in [0, 1]"),
    "bits threshold 1": (["hash", "run", "--bits-threshold", "1"], "strictly between 0 and 1"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_exit_2(cli, tmp_path, case):
    _bad_files(tmp_path)
    (tmp_path / "bad.json").write_text("{oops")
    args, message = BAD[case]
    result = cli(*args)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.err
    assert "Traceback" not in result.err
    assert (tmp_path / "taken" / "keep.txt").read_text() == "earlier results"
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["keep.txt"]
