"""The generative commands end to end: train a small VAE, then generate / interpolate /
evaluate it, and refuse bad input with one line and exit 2."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from aegan import api
from aegan.presets import get_preset


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    config = get_preset("vae-digits").replace("data", limit=300).replace("train", epochs=2)
    return api.train(config, tmp_path_factory.mktemp("vae") / "run", progress=False)


@pytest.fixture(scope="module")
def ae_run(tmp_path_factory):
    config = get_preset("stacked-digits").replace("data", limit=100).replace("train", epochs=1)
    return api.train(config, tmp_path_factory.mktemp("ae") / "run", progress=False)


def test_train_draws_the_generative_figures(cli, tmp_path):
    result = cli("train", "vae-digits", "--epochs", "1", "--limit", "200", "--out", "run")
    assert result.code == 0, result.err
    for name in ("samples.png", "interpolation.png", "traversals.png", "reconstructions.png"):
        assert (tmp_path / "run" / name).is_file(), name
    history = json.loads((tmp_path / "run" / "history.jsonl").read_text().splitlines()[-1])
    assert {"train_loss", "valid_loss", "valid_recon", "valid_kl", "valid_nelbo"} <= set(history)


def test_generate(cli, tmp_path, vae_run):
    result = cli("generate", vae_run, "-n", "12", "--out", "grid.png", "--npy", "s.npy", "--seed", "3")
    assert result.code == 0, result.err
    assert (tmp_path / "grid.png").is_file()
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (12, 1, 8, 8) and 0 <= samples.min() and samples.max() <= 1
    assert cli("generate", vae_run, "-n", "12", "--npy", "again.npy", "--seed", "3").code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "again.npy"), samples)  # seeded
    assert cli("generate", vae_run, "-n", "3", "--out", "each").code == 0
    assert sorted(p.name for p in (tmp_path / "each").iterdir()) == \
        ["sample_00000.png", "sample_00001.png", "sample_00002.png"]


@pytest.mark.parametrize("args", [["--mode", "grid"], ["--mode", "line", "--between", "3", "7"],
                                  ["--mode", "traverse", "--dim", "0", "--dim", "2", "--steps", "5"]])
def test_interpolate(cli, tmp_path, vae_run, args):
    result = cli("interpolate", vae_run, "--out", "f.png", *args)
    assert result.code == 0, result.err
    assert (tmp_path / "f.png").stat().st_size > 1000


def test_evaluate_reports_elbo_and_nll(cli, vae_run):
    result = cli("evaluate", vae_run, "--split", "test", "--json", "--nll-samples", "50")
    assert result.code == 0, result.err
    metrics = json.loads(result.out)
    assert {"nelbo", "nelbo_recon", "nelbo_kl", "nll", "recon_bce"} <= set(metrics)
    assert metrics["nll_samples"] == 50 and 0 < metrics["nll"] < metrics["nelbo"]
    assert metrics["nelbo"] == pytest.approx(metrics["nelbo_recon"] + metrics["nelbo_kl"])


BAD = {
    "n 0": (["generate", "{vae}", "-n", "0", "--out", "g.png"], "-n must be at least 1"),
    "not generative": (["generate", "{ae}", "--out", "g.png"], "cannot generate samples"),
    "nothing to write": (["generate", "{vae}"], "nothing to write"),
    "bad npy name": (["generate", "{vae}", "--npy", "s.txt"], "--npy must name a .npy file"),
    "samples into a full folder": (["generate", "{vae}", "--out", "full"], "not an empty folder"),
    "interpolate an autoencoder": (["interpolate", "{ae}", "--out", "f.png"], "cannot interpolate"),
    "interpolate to a non-png": (["interpolate", "{vae}", "--out", "f.jpg"], "must name a .png"),
    "line out of range": (["interpolate", "{vae}", "--out", "f.png", "--mode", "line", "--between",
                           "0", "999999"], "--between 999999 is not an example"),
    "traverse a missing dim": (["interpolate", "{vae}", "--out", "f.png", "--mode", "traverse",
                                "--dim", "99"], "--dim 99 is not a coding dimension"),
    "nll samples 0": (["evaluate", "{vae}", "--nll-samples", "0"], "--nll-samples must be at least 1"),
    "nll of an autoencoder": (["evaluate", "{ae}", "--nll-samples", "10"], "lacks the Likelihood capability"),
    "vae on unbounded data": (["train", "vae-digits", "--data", "book-3d"],
                              "needs values in [0, 1]"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_exit_2(cli, tmp_path, vae_run, ae_run, case):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("keep")
    args, message = BAD[case]
    result = cli(*[a.format(vae=vae_run, ae=ae_run) for a in args])
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.err
    assert (tmp_path / "full" / "keep.txt").read_text() == "keep"


def test_nll_samples_beyond_memory_are_batched(cli, monkeypatch, caplog, vae_run):
    """A K whose draws would not fit the memory budget at once is drawn in chunks."""
    from aegan.metrics import likelihood

    monkeypatch.setattr(likelihood, "MAX_VALUES", 64 * 1000)
    with caplog.at_level(logging.INFO, logger="aegan.metrics.likelihood"):
        result = cli("evaluate", vae_run, "--split", "test", "--json", "--metrics", "nll",
                     "--nll-samples", "3000")
    assert result.code == 0, result.err
    assert json.loads(result.out)["nll_samples"] == 3000
    assert "in chunks of 1000 per example" in caplog.text
