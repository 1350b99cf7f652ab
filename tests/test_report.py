"""Run reports and comparisons (``aegan report`` / ``aegan compare``): one self-contained HTML
page, every string escaped, the run folder untouched, the metrics beside the PCA baseline and
the cited references; rendered by headless Chromium when it is installed. TensorBoard logging
(``--tensorboard``) read back with tensorboard's own event reader when it is installed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from aegan import api
from aegan.compare import write_comparison
from aegan.errors import ConfigError
from aegan.figures import make_figures
from aegan.presets import get_preset
from aegan.report import RunView, _shown_pngs, metrics_section, write_report
from aegan.viz import compare as vc
from aegan.viz.html import fmt

PNG = b"\x89PNG\r\n\x1a\n"


def _config(preset: str, epochs: int = 2, **optim):
    config = get_preset(preset).replace("data", limit=300).replace("train", epochs=epochs)
    return config.replace("optim", **optim) if optim else config


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """Three tiny runs on scikit-learn's digits: two autoencoders (other lr), one VAE."""
    base = tmp_path_factory.mktemp("runs")
    api.train(_config("stacked-digits"), base / "ae", progress=False)
    api.train(_config("stacked-digits", lr=0.01), base / "ae-fast", progress=False)
    api.train(_config("vae-digits"), base / "vae", progress=False)
    for run in ("ae", "vae"):  # the figures 'aegan train' draws; ae-fast has none
        make_figures(base / run)
    return base


class Page(HTMLParser):
    """Tags, attributes and table rows (as text cells) of an HTML page."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.rows: list[list[str]] = []
        self.classes: list[str | None] = []  # of each row
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "tr":
            self.rows.append([])
            self.classes.append(attrs.get("class"))
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def row(self, first: str) -> list[str]:
        return next(r for r in self.rows if r and r[0] == first)

    def images(self) -> list[bytes]:
        srcs = [a["src"] for t, a in self.tags if t == "img"]
        assert all(s.startswith("data:image/png;base64,") for s in srcs)
        return [base64.b64decode(s.split(",", 1)[1], validate=True) for s in srcs]


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file()
            else "dir" for p in sorted(root.rglob("*")) if p.name != ".lock"}


def _self_contained(text: str) -> Page:
    page = Page(text)
    tags = {t for t, _ in page.tags}
    assert "script" not in tags and "link" not in tags and "iframe" not in tags
    assert not [a for _, a in page.tags if any(str(v).startswith(("http:", "https:", "//"))
                                                for v in a.values())]
    for png in page.images():
        from PIL import Image

        assert png.startswith(PNG)
        Image.open(io.BytesIO(png)).verify()  # a whole, decodable PNG
    return page


def test_report_is_self_contained_escaped_and_leaves_the_run_alone(runs, tmp_path):
    run = tmp_path / "run <b>&\"x'"
    shutil.copytree(runs / "ae", run)
    for png in run.glob("*.png"):
        png.unlink()  # no figures: the report draws them elsewhere
    env = json.loads((run / "environment.json").read_text())
    env["argv"] = ["aegan", "<script>alert(1)</script>"]
    (run / "environment.json").write_text(json.dumps(env))
    before = _snapshot(run)

    out = write_report(run, tmp_path / "report.html")
    text = out.read_text()
    assert _snapshot(run) == before  # nothing written into the run folder
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "run &lt;b&gt;&amp;&quot;x&#x27;" in text and "<b>" not in text
    page = _self_contained(text)
    # the training curves (one figure of every quantity) + reconstructions + codings map, the
    # last two drawn in a temporary folder
    assert len(page.images()) == 3
    metrics = api.evaluate(run)
    assert page.row("recon_mse")[2:4] == [fmt(metrics["recon_mse"]), fmt(metrics["pca_mse"])]
    assert page.row("valid_loss")[1:3] == ["history, epoch 2",
                                           fmt(json.loads((run / "history.jsonl").read_text()
                                                          .splitlines()[-1])["valid_loss"])]
    assert page.row("lr")[1] == fmt(3e-3)


def _view(preset: str, data: str) -> RunView:
    config = {"preset": preset, "model": {"family": "autoencoder"}, "data": {"name": data}}
    history = [{"epoch": 20, "train_loss": 0.29, "valid_loss": 0.3}]
    metrics = {"split": "valid", "examples": 5000, "recon_mse": 0.02, "pca_components": 30,
               "pca_mse": 0.03, "pca_ratio": 0.02 / 0.03}
    return RunView(Path("r"), "r", config, {}, history, metrics)


def test_metrics_table_sets_pca_and_the_book_beside_ours():
    page = Page(metrics_section(_view("book/stacked", "fashion-mnist")))
    assert page.rows[0][2:] == ["this run (r, 20 epochs)", "PCA, 30 components",
                                "Géron 2nd ed., ch. 17 notebook, 20 epochs"]
    assert page.row("valid_loss")[1:] == ["history, epoch 20", "0.3", "–", "0.2835"]
    assert page.row("recon_mse")[1:] == ["evaluate, valid split", "0.02", "0.03", "–"]
    assert page.row("pca_ratio")[2:] == [fmt(0.02 / 0.03), "–", "–"]
    assert [r[0] for r in page.rows[1:]] == ["train_loss", "valid_loss", "recon_mse", "pca_ratio"]
    # the book's number is for Fashion-MNIST: another data set gets no reference column
    assert len(Page(metrics_section(_view("book/stacked", "mnist"))).rows[0]) == 4


def test_a_run_without_pca_numbers_gets_no_pca_column():
    view = _view("dcgan", "fashion-mnist")
    view.metrics = {}  # a GAN's history only: nothing PCA could stand beside
    page = Page(metrics_section(view))
    assert page.rows[0][1:] == ["from", "this run (r, 20 epochs)"]
    assert page.row("valid_loss")[1:] == ["history, epoch 20", "0.3"]


def test_the_last_few_epoch_grids_are_shown(tmp_path):
    (tmp_path / "samples").mkdir()
    for epoch in range(1, 12):
        (tmp_path / "samples" / f"epoch_{epoch}.png").write_bytes(PNG)
    (tmp_path / "reconstructions.png").write_bytes(PNG)
    (tmp_path / "training_curves.png").write_bytes(PNG)  # drawn afresh from the history
    shown = [str(p.relative_to(tmp_path)) for p in _shown_pngs(tmp_path)]
    assert shown == ["reconstructions.png", "samples/epoch_9.png", "samples/epoch_10.png",
                     "samples/epoch_11.png"]


def test_compare_highlights_differences_and_overlays_curves(runs, tmp_path):
    before = _snapshot(runs)
    out = write_comparison([runs / "ae", runs / "ae-fast", runs / "vae"], tmp_path / "c.html",
                           names=["reconstruction"])
    assert _snapshot(runs) == before
    page = _self_contained(out.read_text())
    lr = page.rows.index(page.row("optim.lr"))
    assert page.rows[lr][1:] == ["0.003", "0.01", "0.003"] and page.classes[lr] == "diff"
    assert page.row("model.family")[1:] == ['"autoencoder"', '"autoencoder"', '"vae"']
    shared = page.rows.index(page.row("train.batch_size"))
    assert page.classes[shared] is None  # folded among the settings the runs share
    assert page.row("quantity") == ["quantity", "ae", "ae-fast", "vae"]
    evaluated = [api.evaluate(runs / r, names=["reconstruction"])["recon_mse"]
                 for r in ("ae", "ae-fast", "vae")]
    assert page.row("recon_mse")[1:] == [fmt(v) for v in evaluated]
    assert page.row("train_kl")[1:3] == ["–", "–"]  # the autoencoders have no KL
    histories = {r: [json.loads(x) for x in (runs / r / "history.jsonl").read_text().splitlines()]
                 for r in ("ae", "vae")}
    keys = vc.loss_keys(histories)
    assert keys == ["kl", "loss", "mse", "nelbo", "recon"]
    drawn = make_figures(runs / "ae-fast", tmp_path / "drawn")  # as the page draws them
    assert not list((runs / "ae-fast").glob("*.png"))
    grids = sorted((runs / "vae" / "samples").glob("epoch_*.png"))  # the VAE's epoch grids
    figures = [p for p in [*(runs / "ae").glob("*.png"), *drawn, *(runs / "vae").glob("*.png")]
               if p.name != "training_curves.png"] + grids[-3:]
    assert len(figures) >= 6
    # one curve figure per loss key, then each run's figures
    assert len(page.images()) == len(keys) + len(figures)


def test_report_and_compare_commands(cli, runs, tmp_path):
    result = cli("report", runs / "vae", "--out", tmp_path / "r.html", "--no-metrics")
    assert result.code == 0 and (tmp_path / "r.html").is_file(), result.err
    result = cli("compare", runs / "ae", runs / "vae", "--out", tmp_path / "c.html",
                 "--metrics", "reconstruction")
    assert result.code == 0 and "recon_mse" in (tmp_path / "c.html").read_text(), result.err


# -- headless Chromium -----------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                    "(apt-get install -y chromium); the page is not rendered")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)


@needs_chromium
def test_report_renders_in_headless_chromium(runs, tmp_path):
    from PIL import Image

    out = write_report(runs / "vae", tmp_path / "report.html", names=["reconstruction", "pca"])
    url = out.resolve().as_uri()
    shot = tmp_path / "shot.png"
    done = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", url)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console  # no script, so no console message of any kind
    image = Image.open(shot)
    assert image.format == "PNG" and image.size == (1280, 2000)
    pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 10  # not a blank page
    assert (pixels < 128).mean() > 0.01  # text, tables and figures drawn in dark ink

    dom = _chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered, written = Page(dom.stdout), Page(out.read_text())
    assert sum(t == "table" for t, _ in rendered.tags) == sum(t == "table" for t, _ in written.tags)
    assert rendered.images() == written.images() and len(written.images()) >= 6
    assert rendered.row("recon_mse") == written.row("recon_mse")


# -- TensorBoard -----------------------------------------------------------------------------
def test_tensorboard_logs_every_history_number_and_grids(tmp_path):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed (aegan[tensorboard])")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = api.train(_config("vae-digits", epochs=3), tmp_path / "tb", progress=False,
                    tensorboard=True)
    plain = api.train(_config("vae-digits", epochs=3), tmp_path / "plain", progress=False)
    history = [json.loads(x) for x in (run / "history.jsonl").read_text().splitlines()]
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    for key in ("train_loss", "valid_loss", "train_kl", "valid_nelbo", "time_s", "step"):
        tag = key.replace("_", "/", 1) if key.startswith(("train_", "valid_")) else key
        logged = events.Scalars(tag)
        assert [e.step for e in logged] == [1, 2, 3]
        np.testing.assert_allclose([e.value for e in logged], [r[key] for r in history],
                                   rtol=1e-6)  # float32 in the event file
    recon, samples = events.Images("reconstructions"), events.Images("samples")
    assert [e.step for e in recon] == [1, 2, 3]
    assert (recon[-1].width, recon[-1].height) == (8 * 8, 2 * 8)  # 8 originals over 8 recons
    assert (samples[-1].width, samples[-1].height) == (8 * 8, 8)
    # logging draws with its own random state: the training is the same as without it
    strip = [{k: v for k, v in r.items() if k != "time_s"} for r in history]
    assert strip == [{k: v for k, v in json.loads(x).items() if k != "time_s"}
                     for x in (plain / "history.jsonl").read_text().splitlines()]


def test_tensorboard_asked_for_but_absent_is_refused_before_writing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    with pytest.raises(ConfigError, match=r"pip install aegan\[tensorboard\]"):
        api.train(_config("vae-digits"), tmp_path / "tb", progress=False, tensorboard=True)
    assert not (tmp_path / "tb").exists()
