"""A newcomer's first hour: one test per thing a new user met (progress on long work, figures
that do not hold up training, runs that remember their data, defaults that answer the obvious
question, class names, --out of an image, messages, help, curves, the data folder of the tests).
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from PIL import Image

from aegan import api, progress, viz
from aegan.cli import build_parser
from aegan.config import DataConfig, OptimConfig, TrainConfig
from aegan.models import AutoencoderConfig, GANConfig
from aegan.presets import get_preset
from aegan.run import RunConfig
from aegan.tasks import hashing
from tests.conftest import SHARED_DATA, shared_data_dir, subprocess_env

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def lines(monkeypatch):
    """Progress reported to a log (not a terminal), every step, from the first second."""
    stream = io.StringIO()
    monkeypatch.setattr(progress, "QUIET_FOR_S", 0.0)
    monkeypatch.setattr(progress, "EVERY_S", 0.0)
    progress.report_to(stream)
    yield stream
    progress.report_to(None)


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    config = get_preset("vae-digits").replace("data", limit=200).replace("train", epochs=1)
    return api.train(config, tmp_path_factory.mktemp("vae") / "run", progress=False)


# 1. long work shows progress; the likelihood's default answers quickly and says so -----------
def test_long_work_reports_progress_and_the_protocol_it_used(lines, vae_run):
    result = api.evaluate(vae_run, names=["nll"])
    assert result["nll_samples"] == 100  # was 1000: minutes on MNIST
    assert any("1000" in note for note in result["notes"])
    assert "aegan: nll with K = 100 samples: done in" in lines.getvalue()
    list(progress.track(range(4), "four steps", unit="steps"))
    said = lines.getvalue().splitlines()[1:]
    assert said[0] == "aegan: four steps: 1 of 4 steps, about 0 s left"
    assert len(said) == 4 and said[-1].startswith("aegan: four steps: done in")


def test_progress_is_silent_unless_asked_for_and_for_quick_stages(monkeypatch):
    assert list(progress.track(range(3), "quiet")) == [0, 1, 2]  # nothing to report to
    stream = io.StringIO()
    progress.report_to(stream)
    try:
        list(progress.track(range(3), "quick"))  # under QUIET_FOR_S: nothing said
    finally:
        progress.report_to(None)
    assert stream.getvalue() == ""
    assert progress.duration(42) == "42 s" and progress.duration(185) == "3 min 05 s"


# 2. figures do not hold up training ---------------------------------------------------------
def test_figures_are_fast_by_default_none_on_request_and_all_later(cli, tmp_path):
    args = ["train", "stacked-digits", "--epochs", "1", "--limit", "300"]
    assert cli(*args, "--out", "none", "--figures", "none").code == 0
    assert not list((tmp_path / "none").glob("*.png"))
    fast = cli(*args, "--out", "fast")
    assert fast.code == 0 and "aegan plot" in fast.out
    assert (tmp_path / "fast" / "codings_map.png").is_file()
    plotted = cli("plot", tmp_path / "none")
    assert plotted.code == 0 and (tmp_path / "none" / "codings_map.png").is_file()


def test_the_fast_codings_map_has_fewer_points(monkeypatch, tiny_idx, tmp_path):
    from aegan import figures

    sizes = []
    monkeypatch.setattr(figures, "_map_points",
                        lambda codings, seed: (sizes.append(len(codings)) or codings[:, :2], "map"))
    config = get_preset("stacked-digits").replace("data", name="mnist", limit=100)
    run = api.train(config.replace("train", epochs=1), tmp_path / "r", tiny_idx, progress=False)
    figures.make_figures(run, mode="fast")
    figures.make_figures(run, mode="all")
    assert sizes == [figures.POINTS["fast"], figures.POINTS["all"]]  # of 5,000 valid images


# 3. runs remember their data ----------------------------------------------------------------
def test_runs_remember_where_their_data_came_from(cli, tiny_idx, tmp_path):
    """The README's flow: the data folder is given to train alone."""
    trained = cli("train", "vae-digits", "--data", "mnist", "--data-dir", tiny_idx,
                  "--limit", "200", "--epochs", "1", "--out", "run", "--figures", "none")
    assert trained.code == 0, trained.err
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())["data"]
    assert recorded["dir"] == str(tiny_idx.resolve())
    # every later command finds the data with no --data-dir (none in the environment either)
    quick = "reconstruction,elbo"  # the default sample metrics train a feature network first
    for args in (["encode", "run", "--out", "z.npy"],
                 ["evaluate", "run", "--split", "test", "--metrics", quick],
                 ["interpolate", "run", "--mode", "line", "--out", "line.png"],
                 ["report", "run", "--out", "r.html", "--metrics", quick],
                 ["generate", "run", "--out", "samples.png"],
                 ["plot", "run", "--figures", "fast"]):
        result = cli(*args)
        assert result.code == 0, (args, result.err)
    assert np.load(tmp_path / "z.npy").shape == (4, 4)  # the test split, encoded
    assert api.evaluate(tmp_path / "run", split="test", names=["elbo"])["examples"] == 4
    # a run moved away from its data says which it needs and how to get it
    shutil.move(tiny_idx, tmp_path / "elsewhere")
    moved = cli("evaluate", "run", "--metrics", quick)
    assert moved.code == 2 and "not on this machine" in moved.err and "--data-dir" in moved.err
    assert cli("evaluate", "run", "--data-dir", tmp_path / "elsewhere", "--metrics", quick).code == 0


def test_a_file_named_by_a_relative_path_is_remembered_absolutely(tmp_path, monkeypatch):
    np.save(tmp_path / "x.npy", np.random.RandomState(0).rand(40, 5).astype(np.float32))
    config = RunConfig(AutoencoderConfig(encoder=[2], loss="mse", output="linear"),
                       DataConfig("x.npy"), train=TrainConfig(epochs=1))
    run = api.train(config, tmp_path / "run", progress=False)
    monkeypatch.chdir(tmp_path / "run")  # another working folder
    assert api.evaluate(run.resolve())["data"] == "x.npy"


# 4. a GAN evaluated with the defaults reports its sample metrics ------------------------------
def test_a_gan_evaluated_with_the_defaults_reports_fid_and_the_protocol(cli, tmp_path):
    config = RunConfig(GANConfig(z_dim=4), DataConfig("digits", limit=100),
                       train=TrainConfig(epochs=1))
    api.train(config, tmp_path / "gan", progress=False)
    result = cli("evaluate", "gan")
    assert result.code == 0, result.err
    assert "fid:" in result.out and "precision:" in result.out
    assert "fid_features: classifier" in result.out and "note:" in result.out
    assert "--n-samples 10000" in result.out


# 5. class names wherever a label is shown -----------------------------------------------------
@pytest.fixture
def shapes_folder(tmp_path):
    """Two classes of 8x8 images with names: bars and dots."""
    rng = np.random.RandomState(0)
    for name in ("bars", "dots"):
        (tmp_path / "shapes" / name).mkdir(parents=True)
        for i in range(12):
            pixels = rng.randint(0, 60, (8, 8)).astype(np.uint8)
            if name == "bars":
                pixels[1:7, 3] = 250
            else:
                pixels[3:5, 3:5] = 250
            Image.fromarray(pixels).save(tmp_path / "shapes" / name / f"{i}.png")
    return tmp_path / "shapes"


def test_class_names_in_generate_grids_and_hash(cli, shapes_folder, tmp_path, monkeypatch):
    gan = RunConfig(GANConfig(z_dim=4, num_classes=2), DataConfig(str(shapes_folder)),
                    train=TrainConfig(epochs=1, batch_size=8))
    titles = []
    real_grid = viz.image_grid
    monkeypatch.setattr(viz, "image_grid", lambda *a, **k: titles.append(k) or real_grid(*a, **k))
    api.train(gan, tmp_path / "cgan", progress=False)
    assert titles[0]["col_labels"] == ["bars", "dots"]  # the epoch grid's columns
    result = cli("generate", "cgan", "--label", "dots", "-n", "4", "--out", "d.png")
    assert result.code == 0, result.err
    assert "of class 1 (dots)" in result.out and titles[-1]["title"] == "4 samples of class 1 (dots)"
    wrong = cli("generate", "cgan", "--label", "dost", "--out", "x.png")
    assert wrong.code == 2 and "did you mean 'dots'" in wrong.err
    summary, _ = hashing.bucket_summary(np.array([[1, 0], [1, 0], [0, 1]], bool),
                                        np.array([1, 1, 0]), 2, ["bars", "dots"])
    assert summary["largest_buckets"][0]["majority_class"] == "dots"


# 6. --out with an image suffix writes one image -----------------------------------------------
def test_generate_out_with_an_image_suffix_writes_one_image(cli, vae_run, tmp_path):
    result = cli("generate", vae_run, "-n", "6", "--out", "grid.jpg")
    assert result.code == 0, result.err
    assert (tmp_path / "grid.jpg").is_file() and not (tmp_path / "grid.jpg").is_dir()
    assert Image.open(tmp_path / "grid.jpg").format == "JPEG"
    assert cli("generate", vae_run, "-n", "3", "--out", "each").code == 0
    assert len(list((tmp_path / "each").glob("*.png"))) == 3
    odd = cli("generate", vae_run, "--out", "grid.txt")
    assert odd.code == 2 and "neither an image" in odd.err and not (tmp_path / "grid.txt").exists()


# 7. messages ---------------------------------------------------------------------------------
def test_messages_name_the_capability_use_articles_and_print_nothing_before_an_error(
        cli, vae_run, tmp_path):
    ae = api.train(get_preset("stacked-digits").replace("train", epochs=1), tmp_path / "ae",
                   progress=False)
    augment = cli("augment", ae, "--per-class", "2", "--out", "a.npz")
    assert augment.code == 2 and "--label" not in augment.err
    assert "holds an autoencoder model" in augment.err and "ConditionalSampler" in augment.err
    bad = cli("train", "book/stacked", "--data", "fashion_mnist")
    assert bad.code == 2 and bad.out == "" and "did you mean 'fashion-mnist'" in bad.err
    near = cli("train", "book/stakced")
    assert near.code == 2 and "did you mean 'book/stacked'" in near.err


# 8. help: every flag says what it does and its default; listings start fast --------------------
def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def test_every_flag_has_help_and_states_its_default():
    missing = []
    for name, sub in _subparsers(build_parser()):
        for action in sub._actions:
            if not action.option_strings or action.dest == "help":
                continue
            text = action.help or ""
            has_default = action.default not in (None, False, argparse.SUPPRESS)
            if not text or (has_default and "default" not in text):
                missing.append(f"{name} {action.option_strings[0]}")
    assert not missing, missing


def test_listing_the_presets_imports_no_torch(tmp_path):
    code = ("import sys; from aegan.cli import main; main(['presets']); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=subprocess_env(), cwd=tmp_path, check=True).stdout
    assert "book/stacked" in out and out.strip().endswith("False")


# 9. curves: a grid of explained panels, every few steps, from the start ----------------------
def test_training_curves_show_steps_explain_each_quantity_and_start_at_zero(tmp_path):
    config = RunConfig(GANConfig(z_dim=4), DataConfig("digits", limit=200),
                       OptimConfig("adam", lr=1e-3), TrainConfig(epochs=1, batch_size=20))
    run = api.train(config, tmp_path / "gan", progress=False)
    steps = [json.loads(line) for line in (run / "steps.jsonl").read_text().splitlines()]
    assert len(steps) == 10 and steps[-1]["step"] == 10 and steps[-1]["epoch"] == 1.0
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert "train_loss" not in history[0]  # no second name for the generator's loss
    fig = viz.training_curves(history, steps)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 4 and len(fig.axes) == 6  # d_fake, d_loss, d_real, g_loss in 2 x 3
    d_real = next(ax for ax in shown if ax.get_title().startswith("d_real"))
    assert "judged real" in d_real.get_title()
    assert d_real.get_xlim()[0] == 0  # a one-epoch run: the axis spans the epoch
    assert len(d_real.lines) == 3  # every few steps, the epoch mean, validation
    matplotlib.pyplot.close(fig)


def test_compare_legend_draws_validation_dashed():
    from aegan.viz.compare import overlaid_curves

    histories = {"a": [{"epoch": 1, "train_loss": 1.0, "valid_loss": 1.1}],
                 "b": [{"epoch": 1, "train_loss": 0.9, "valid_loss": 1.0}]}
    fig = overlaid_curves(histories, "loss")
    legend = fig.axes[0].get_legend()
    styles = {text.get_text(): line.get_linestyle()
              for text, line in zip(legend.get_texts(), legend.get_lines())}
    assert styles["validation"] == "--" and styles["training"] == "-"
    assert legend.handlelength >= 3  # long enough to show the dashes
    matplotlib.pyplot.close(fig)


# 10. the real-data tests find the data where the command line does ---------------------------
def test_the_shared_data_folder_follows_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("AEGAN_DATA_DIR", str(tmp_path))
    assert shared_data_dir() == tmp_path
    monkeypatch.delenv("AEGAN_DATA_DIR")
    assert shared_data_dir() == SHARED_DATA

