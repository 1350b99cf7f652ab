"""The command line end to end: listings, train / evaluate / encode / plot. Bad input has its
own catalogue in test_bad_input.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from aegan.models import AutoencoderConfig
from tests.conftest import write_run


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


def test_train_set_changes_fields_after_the_flags(cli, tmp_path):
    result = cli("train", "stacked-digits", "--epochs", "1", "--limit", "100", "--lr", "0.01",
                 "--set", "model.encoder=[32,4]", "--set", "optim.lr=0.002",
                 "--set", "train.precision=fp32", "--figures", "none", "--out", "run")
    assert result.code == 0, result.err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model"]["encoder"] == [32, 4] and config["optim"]["lr"] == 0.002
    assert config["train"]["precision"] == "fp32" and config["data"]["limit"] == 100
    assert cli("encode", "run", "--data", "digits", "--out", "z.npy").code == 0
    assert np.load(tmp_path / "z.npy").shape == (360, 4)


def test_train_set_of_the_data_reads_them_again(cli, tmp_path):
    assert cli("train", "linear-pca", "--epochs", "1", "--figures", "none", "--out", "a").code == 0
    five = np.random.default_rng(0).normal(size=(80, 5)).astype(np.float32)
    np.save(tmp_path / "five.npy", five)
    result = cli("train", "a/config.json", "--set", "data.name=five.npy", "--epochs", "1",
                 "--figures", "none", "--out", "b")
    assert result.code == 0, result.err  # not held to the first run's 3 features
    assert json.loads((tmp_path / "b" / "config.json").read_text())["spec"]["shapes"] == \
        {"inputs": [5]}


def test_linear_pca_cli_reaches_pca(cli):
    assert cli("train", "linear-pca", "--out", "lin").code == 0
    metrics = json.loads(cli("evaluate", "lin", "--json").out)
    assert metrics["pca_ratio"] <= 1.001


def _task_files(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("earlier results")
    write_run(tmp_path / "run", AutoencoderConfig(encoder=[16, 4]))  # SELU codings, untrained
    np.save(tmp_path / "rgb.npy", np.random.RandomState(0).rand(10, 3, 8, 8).astype(np.float32))


TASK_BAD = {  # the task commands' own cases; the general catalogue is test_bad_input.py
    "class not in data": (["train", "stacked-digits", "--classes", "12"], "class 12 does not occur"),
    "classes not labels": (["train", "stacked-digits", "--classes", "a"], "expected labels like 0,3"),
    "threshold above 1": (["detect", "run", "--threshold", "1.5"], "strictly between 0 and 1"),
    "threshold 0": (["detect", "run", "--threshold", "0"], "strictly between 0 and 1"),
    "figure not png": (["detect", "run", "--out", "fig.jpg"], "must name a .png"),
    "more labels than exist": (["pretrain-classify", "run", "--labels", "5000"],
                               "more labelled examples than digits has"),
    "no labels": (["pretrain-classify", "run", "--labels", "0"], "--labels must be a positive"),
    "hash of unbounded codings": (["hash", "run"], "needs codings in [0, 1]"),
    "recurrent preset on tabular data": (["train", "book/recurrent", "--data", "book-3d", "--out", "r"],
                                         "net 'recurrent' reads sequences [T, F]"),
    "recurrent on colour images": (["train", "book/recurrent", "--data", "rgb.npy", "--out", "r"],
                                   "single-channel images row by row"),
    "bits threshold 1": (["hash", "run", "--bits-threshold", "1"], "strictly between 0 and 1"),
}


@pytest.mark.parametrize("case", TASK_BAD)
def test_task_bad_input_is_one_line_exit_2(cli, tmp_path, case):
    _task_files(tmp_path)
    args, message = TASK_BAD[case]
    result = cli(*args)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.err
    assert "Traceback" not in result.err
    assert (tmp_path / "taken" / "keep.txt").read_text() == "earlier results"
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["keep.txt"]


def test_output_into_a_closed_pipe_is_no_traceback(tmp_path):
    """`aegan presets | head -1`: the reader leaves before the listing is written; the command
    ends quietly with the shell's SIGPIPE status instead of a BrokenPipeError traceback."""
    from tests.conftest import run_subprocess

    proc = run_subprocess("presets", cwd=tmp_path)
    proc.stdout.close()  # the reader is gone before aegan has imported itself
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode == 141


def test_the_readme_demo_reaches_pca_and_beats_it_and_leaves_the_threads_alone(cli, tmp_path):
    threads = torch.get_num_threads()
    result = cli("demo", "--out", tmp_path / "demo")
    assert result.code == 0, result.err
    ratios = [float(line.rsplit("ratio", 1)[1]) for line in result.out.splitlines()
              if "ratio" in line and "PCA with" in line]
    assert len(ratios) == 2
    assert abs(ratios[0] - 1.0) < 1e-3  # the linear autoencoder finds PCA's optimum
    assert ratios[1] < 1.0  # the stacked autoencoder beats PCA of its width
    for run, figure in (("linear-pca", "pca_comparison.png"), ("stacked-digits", "codings_map.png")):
        assert (tmp_path / "demo" / run / figure).is_file()
    assert torch.get_num_threads() == threads  # the demo's one thread is its own
