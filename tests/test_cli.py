"""The command line end to end: listings, train / evaluate / encode / plot. Bad input has its
own catalogue in test_bad_input.py."""

from __future__ import annotations

import json

import numpy as np


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
