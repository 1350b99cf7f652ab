"""``aegan explore``: every route's answer against the model's own output (decoded PNG pixels
against ``decode``, ``reconstruct``, ``translate``, ``predict_frames``), every bad request a 4xx
with one line that leaves the server serving, the command's bad inputs (an unknown run, a port
in use, a model the page can do nothing with), 200 slider requests from 8 threads against the
server's memory, and a slider moved in headless Chromium."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import json
import selectors
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from aegan.data import Examples
from aegan.explorer import ExploreOptions, Explorer, bind, open_run
from aegan.generation import displayable
from aegan.io import load_run
from aegan.models import ClassifierConfig, GANConfig, VAEConfig
from tests.cdp import CHROMIUM, Browser
from tests.conftest import run_subprocess, write_run
from tests.standins import Colorizer, Forecaster

pytestmark = pytest.mark.usefixtures("one_thread")
Z_DIM = 10


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory) -> Path:
    """An untrained VAE for scikit-learn's digits (10 codings: two blocks of sliders)."""
    return write_run(tmp_path_factory.mktemp("runs") / "vae", VAEConfig(encoder=[16], z_dim=Z_DIM))


@contextlib.contextmanager
def serving(explorer: Explorer):
    """The explorer served from a thread of this process; its base URL."""
    server = bind(0)
    server.explorer = explorer
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()


def _get(url: str, path: str, method: str = "GET", body: bytes | None = None,
         headers: dict | None = None) -> tuple[int, str, bytes]:
    host, port = url.split("//")[1].strip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    result = response.status, response.getheader("Content-Type"), response.read()
    conn.close()
    return result


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def _expected(model, x: torch.Tensor) -> np.ndarray:
    """One image ``[C, H, W]`` of the model as the PNG holds it: [0, 1] to 0..255, rounded."""
    shown = np.clip(displayable(model, x.detach().numpy()), 0, 1)
    pixels = np.round(shown * 255).astype(np.uint8)
    return pixels[0] if pixels.shape[0] == 1 else np.moveaxis(pixels, 0, -1)


# -- the answers ------------------------------------------------------------------------------
def test_routes_answer_with_the_models_own_outputs(vae_run):
    explorer = open_run(vae_run, ExploreOptions(map="pca", points=50))
    model, x = explorer.model, torch.as_tensor(explorer.examples.inputs[:2])
    with serving(explorer) as url:
        status, kind, body = _get(url, "/info")
        info = json.loads(body)
        assert status == 200 and kind == "application/json"
        assert info["coding_shape"] == [Z_DIM]
        assert info["start"] == [0.0] * Z_DIM  # the prior's mean
        assert info["ranges"] == [[-3.0, 3.0]] * Z_DIM and info["map"] and info["examples"] == 180
        assert {"encode", "decode", "reconstruct", "sample-codings"} <= set(info["can"])
        z = torch.linspace(-1, 1, Z_DIM)
        status, kind, body = _get(url, "/decode?z=" + ",".join(map(str, z.tolist())))
        assert status == 200 and kind == "image/png"
        with torch.no_grad():
            np.testing.assert_array_equal(_pixels(body), _expected(model, model.decode(z[None])[0]))
            np.testing.assert_array_equal(_pixels(_get(url, "/reconstruct?i=1")[2]),
                                          _expected(model, model.reconstruct(x)[1]))
            coding = json.loads(_get(url, "/coding?i=1")[2])
            np.testing.assert_allclose(coding, model.encode(x[1:2])[0].numpy(), rtol=1e-6,
                                       atol=1e-7)
            sample = json.loads(_get(url, "/sample?seed=4")[2])
            assert sample == model.sample_codings(1, torch.Generator().manual_seed(4))[0].tolist()
        np.testing.assert_array_equal(_pixels(_get(url, "/example?i=0")[2]), _expected(model, x[0]))
        strip = _pixels(_get(url, "/line?i=0&j=1")[2])  # 11 images of 8 pixels, 2 between
        assert strip.shape == (8, 11 * 8 + 10 * 2)
        np.testing.assert_array_equal(strip[:, :8], _expected(model, x[0]))
        np.testing.assert_array_equal(strip[:, -8:], _expected(model, x[1]))
        points = json.loads(_get(url, "/map")[2])
        assert len(points["points"]) == 50
        assert points["labels"] == explorer.examples.labels[:50].tolist()
        assert np.min(points["points"]) == 0.0 and np.max(points["points"]) == 1.0
        page = _get(url, "/")[2].decode()
        assert "<script>" in page and "http" not in page.split("<script>")[1]  # nothing fetched


def test_bad_requests_get_one_line_and_the_server_keeps_serving(vae_run):
    explorer = open_run(vae_run, ExploreOptions(map="pca", points=20))
    zeros = ",".join(["0"] * Z_DIM)
    bad = {
        "/decode?z=1,2": (400, "z has 2 values, and this model's codings have 10"),
        "/decode?z=" + zeros.replace("0", "x", 1): (400, "z must be numbers"),
        "/decode?z=" + zeros.replace("0", "nan", 1): (400, "finite numbers"),
        f"/traverse?z={zeros}&dim=10": (400, "dimension 10 is not a coding dimension: choose 0 "
                                             "to 9"),
        f"/decode?z={zeros}&label=3": (400, "this model is not conditional"),
        "/example?i=180": (400, "example 180 is not one of the 180 examples"),
        "/example?i=1e3": (400, "i must be a whole number"),
        "/example": (400, "missing parameter 'i'"),
        "/nothing": (404, "no such page: GET /nothing"),
        "/translate?i=0": (404, "lacks the Translator capability"),
        "/../config.json": (404, "no such page"),
    }
    with serving(explorer) as url:
        for path, (status, reason) in bad.items():
            got, kind, body = _get(url, path)
            text = body.decode()
            assert (got, kind) == (status, "text/plain; charset=utf-8"), path
            assert reason in text and text.count("\n") == 1 and "Traceback" not in text, text
        got, _, body = _get(url, "/info", headers={"Host": "attacker.example:80"})
        assert got == 403 and b"127.0.0.1" in body
        with socket.create_connection(("127.0.0.1", int(url.rstrip("/").rsplit(":", 1)[1]))) as raw:
            host = url.split("//")[1].strip("/")
            raw.sendall(f"POST /translate HTTP/1.1\r\nHost: {host}\r\nContent-Length: "
                        f"{9 << 20}\r\n\r\n".encode())  # announced, never sent
            assert raw.recv(4096).startswith(b"HTTP/1.1 413")
        assert _get(url, "/info")[0] == 200  # still serving


def test_a_conditional_generator_decodes_the_chosen_class(tmp_path):
    config = GANConfig(net="dense", z_dim=5, num_classes=10, value_range="symmetric")
    run = write_run(tmp_path / "cgan", config)
    explorer = open_run(run, ExploreOptions())
    assert explorer.examples is None  # a generator reads no data here
    z = [0.5, -1.0, 0.25, 2.0, 0.0]
    with serving(explorer) as url:
        info = json.loads(_get(url, "/info")[2])
        assert info["classes"] == [str(k) for k in range(10)] and not info["map"]
        for label in (0, 3):
            body = _get(url, f"/decode?z={','.join(map(str, z))}&label={label}")[2]
            with torch.no_grad():
                decoded = explorer.model.decode(torch.tensor([z]), label)[0]
            np.testing.assert_array_equal(_pixels(body), _expected(explorer.model, decoded))
        status, _, body = _get(url, f"/decode?z={','.join(map(str, z))}&label=dress")
        assert status == 400 and b"unknown class 'dress': choose 0 to 9" in body


def test_translator_and_forecaster_outputs_beside_their_inputs():
    colorizer = Colorizer()
    rng = np.random.RandomState(0)
    x, y = rng.rand(4, 1, 8, 8).astype(np.float32), rng.rand(4, 3, 8, 8).astype(np.float32)
    with serving(Explorer(colorizer, Examples(x, targets=y))) as url:
        strip = _pixels(_get(url, "/translate?i=2")[2])  # input, output, target; 6 between
        assert strip.shape == (8, 3 * 8 + 2 * 6, 3)
        with torch.no_grad():
            out = colorizer.translate(torch.as_tensor(x[2:3]))[0]
        np.testing.assert_array_equal(strip[:, 14:22], _expected(colorizer, out))
        np.testing.assert_array_equal(strip[:, 28:], _expected(colorizer, torch.as_tensor(y[2])))
        grey = (rng.rand(8, 8) * 255).astype(np.uint8)
        upload = io.BytesIO()
        Image.fromarray(grey).save(upload, format="PNG")
        status, _, body = _get(url, "/translate", "POST", upload.getvalue(),
                               {"Content-Type": "image/png"})
        assert status == 200
        with torch.no_grad():
            out = colorizer.translate(torch.tensor(grey / 255.0, dtype=torch.float32)[None, None])
        np.testing.assert_array_equal(_pixels(body)[:, 14:], _expected(colorizer, out[0]))
        status, _, body = _get(url, "/translate", "POST", b"not an image")
        assert status == 400 and b"not an image" in body

    forecaster = Forecaster()
    context = rng.rand(3, 3, 1, 8, 8).astype(np.float32)
    future = rng.rand(3, 2, 1, 8, 8).astype(np.float32)
    with serving(Explorer(forecaster, Examples(context, targets=future))) as url:
        rows = _pixels(_get(url, "/predict?i=1")[2])  # context, predicted, true: rows of 8 + 4
        assert rows.shape == (3 * 12, 3 * 8 + 2 * 2)
        with torch.no_grad():
            predicted = forecaster.predict_frames(torch.as_tensor(context[1:2]), 2)[0]
        np.testing.assert_array_equal(rows[12:20, 10:18], _expected(forecaster, predicted[1]))


# -- the command's bad inputs -----------------------------------------------------------------
def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_bad_inputs_are_one_line_exit_2_nothing_written(cli, vae_run, tmp_path):
    classifier = write_run(tmp_path / "clf", ClassifierConfig(hidden=[4], n_classes=10))
    before = _snapshot(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        in_use = cli("explore", vae_run, "--port", port)
    expected = {
        cli("explore", tmp_path / "nope"): f"run folder {tmp_path / 'nope'} does not exist",
        cli("explore", classifier, "--port", "0"): "classifier model, which cannot be explored",
        in_use: f"port {port} on 127.0.0.1 is in use; choose another --port, or --port 0",
        cli("explore", vae_run, "--port", "70000"): "--port must be 0 to 65535",
    }
    for result, reason in expected.items():
        assert result.code == 2 and reason in result.err, result.err
        assert result.err.count("\n") == 1 and result.err.startswith("aegan: error: ")
        assert "Traceback" not in result.err and "exploring" not in result.out
    lacks = list(expected)[1].err
    assert "lacks the Encoder (encode) or Decoder (decode) or Translator" in lacks
    assert "presets whose models have one: book/" in lacks
    assert _snapshot(tmp_path) == before


# -- under load -------------------------------------------------------------------------------
def _read_url(process, timeout: float = 120.0) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(timeout=1):
                line = process.stdout.readline()
                if "http://" in line:
                    return line.split(" at ")[1].split()[0]
                assert line, process.stderr.read()
    raise TimeoutError("the explorer printed no URL")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


RSS_BOUND_KIB = 2048  # growth allowed across the 200 requests, after a warm-up (measured: ~110)


def test_200_slider_requests_from_8_threads_in_order_and_in_bounded_memory(vae_run, tmp_path):
    _, model = load_run(vae_run)
    rng = np.random.RandomState(0)
    codings = rng.uniform(-3, 3, (8, 25, Z_DIM)).astype(np.float32)
    with torch.no_grad():
        expected = [[_expected(model, model.decode(torch.as_tensor(z[None]))[0]) for z in client]
                    for client in codings]
    process = run_subprocess("explore", vae_run, "--port", "0", "--map", "pca", "--points", "50",
                             cwd=tmp_path, preexec_fn=_ctrl_c_as_in_a_terminal)
    try:
        url = _read_url(process)
        port = int(url.rstrip("/").rsplit(":", 1)[1])

        def client(t: int, answers: list) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)  # one, kept alive
            for z in codings[t]:
                conn.request("GET", "/decode?z=" + ",".join(repr(float(v)) for v in z))
                response = conn.getresponse()
                answers.append((response.status, response.read()))
            conn.close()

        def round_of_requests() -> list[list]:
            answers = [[] for _ in range(8)]
            threads = [threading.Thread(target=client, args=(t, answers[t])) for t in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            return answers

        round_of_requests()  # warm-up: the server's threads, buffers and arenas
        before = _rss_kib(process.pid)
        answers = round_of_requests()
        grown = _rss_kib(process.pid) - before
        assert [len(a) for a in answers] == [25] * 8  # all 200 answered
        for t in range(8):  # each client's answers in the order of its requests
            for k, (status, body) in enumerate(answers[t]):
                assert status == 200
                np.testing.assert_array_equal(_pixels(body), expected[t][k])
        assert grown < RSS_BOUND_KIB, f"the server's resident memory grew {grown} KiB"
        out, err = _interrupt(process)
        assert process.returncode == 0 and "stopped" in out and "Traceback" not in err, err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def _ctrl_c_as_in_a_terminal() -> None:
    """SIGINT at its default in the child: a job started in the background by a shell that has
    no job control (a CI script's ``cmd &``) inherits SIGINT ignored, and Python then never
    raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(process, timeout: float = 30.0) -> tuple[str, str]:
    """Ctrl-C, then the output; a server still running after ``timeout`` seconds is aborted
    (its threads' tracebacks on standard error, from PYTHONFAULTHANDLER) and the test fails
    with them."""
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        out, err = process.communicate(timeout=30)
        pytest.fail(f"Ctrl-C did not stop the explorer in {timeout:.0f} s; its output:\n{out}\n"
                    f"its threads when aborted:\n{err[-6000:]}")


# -- in a real browser ------------------------------------------------------------------------
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                    "(apt-get install -y chromium); the page is not driven")
SHOWN_PIXELS = """(() => {
  const img = document.getElementById('decoded'), c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  return Array.from(g.getImageData(0, 0, c.width, c.height).data);
})()"""


def _shown(browser: Browser) -> np.ndarray:
    rgba = np.array(browser.evaluate(SHOWN_PIXELS), dtype=np.uint8).reshape(8, 8, 4)
    return rgba[..., 0]  # a grey PNG: R = G = B


@needs_chromium
def test_a_slider_dragged_in_chromium_shows_the_decode_of_its_coding(vae_run, tmp_path):
    explorer = open_run(vae_run, ExploreOptions(map="pca", points=100))
    model = explorer.model
    with serving(explorer) as url, Browser(1280, 900) as browser:
        browser.open(url)
        browser.wait_for("document.body.dataset.ready === '1'")
        coded = "document.getElementById('decoded').dataset.coding"
        start = json.loads(browser.wait_for(coded))
        assert start == [0.0] * Z_DIM
        before = _shown(browser)
        # drag the slider of z[2] to three quarters of its track with the mouse
        box = browser.evaluate("(() => { const r = document.querySelector('input[data-dim=\"2\"]')"
                               ".getBoundingClientRect(); "
                               "return [r.left, r.top, r.width, r.height]; })()")
        x, y = box[0] + 0.75 * box[2], box[1] + box[3] / 2
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            browser.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y,
                                                      "button": "left", "clickCount": 1})
        value = float(browser.evaluate("document.querySelector('input[data-dim=\"2\"]').value"))
        assert 0.5 < value < 3.0  # three quarters of -3 .. 3, within a step or two
        wanted = start[:2] + [value] + start[3:]
        browser.wait_for(f"JSON.stringify(JSON.parse({coded})) === "
                         f"JSON.stringify({json.dumps(wanted)})")
        shown = _shown(browser)
        with torch.no_grad():
            decoded = model.decode(torch.tensor([wanted]))[0]
        assert not np.array_equal(shown, before)  # the image changed
        np.testing.assert_array_equal(shown, _expected(model, decoded))  # to the decode of z
        # hover a point of the map: its example and reconstruction; click two: their line
        left, top = browser.evaluate("(() => { const r = document.getElementById('map')"
                                     ".getBoundingClientRect(); return [r.left, r.top]; })()")
        xy = browser.evaluate("state.map.xy")
        i, j = 5, max(range(len(xy)), key=lambda k: (xy[k][0] - xy[5][0]) ** 2
                                                     + (xy[k][1] - xy[5][1]) ** 2)
        for k in (i, j):
            for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
                browser.send("Input.dispatchMouseEvent", {
                    "type": kind, "x": left + xy[k][0], "y": top + xy[k][1], "button": "left",
                    "clickCount": 1})
        browser.wait_for(f"document.getElementById('line-text').textContent.startsWith("
                         f"'examples {i} and {j}')")
        browser.wait_for(f"document.getElementById('hover-text').textContent.startsWith("
                         f"'example {j},')")
        assert browser.evaluate("!document.getElementById('hover-r-fig').hidden")
        browser.screenshot(tmp_path / "explorer.png")
    image = np.asarray(Image.open(tmp_path / "explorer.png").convert("L"), dtype=float)
    assert image.shape == (900, 1280) and image.std() > 10  # the page drawn, not blank


def test_a_translator_family_and_a_diffusion_model_as_the_page_shows_them():
    from aegan.translation import columns
    from tests.test_models import _model

    translator = _model("translator-srresnet-l1").eval()  # grey 4x4 -> 8x8, in [-1, 1]
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (3, 1, 4, 4)).astype(np.float32)
    t = rng.uniform(-1, 1, (3, 1, 8, 8)).astype(np.float32)
    explorer = Explorer(translator, Examples(inputs=x, targets=t),
                        ExploreOptions(map="pca", points=3))
    strip = _pixels(explorer.translate(1))
    with torch.no_grad():
        output = translator.translate(torch.as_tensor(x[1:2])).numpy()
    shown = columns(x[1:2], output, t[1:2], translator.value_range, None)
    assert [name for name, _ in shown] == ["input", "bicubic", "output", "target"]
    assert strip.shape == (8, 4 + 3 * (6 + 8))  # the input at its own size, 6 pixels apart
    for k, (_, images) in enumerate(shown[1:]):
        left = 4 + 6 + k * 14
        np.testing.assert_array_equal(strip[:, left:left + 8],
                                      np.round(images[0, 0] * 255).astype(np.uint8))

    diffusion = _model("diffusion-conditional").eval()  # 8x8 grey, 3 classes
    images = rng.uniform(-1, 1, (4, 1, 8, 8)).astype(np.float32)
    explorer = Explorer(diffusion, Examples(inputs=images, labels=np.arange(4) % 3),
                        ExploreOptions(map="pca", points=4))
    info = explorer.info()
    assert not info["map"]  # its codings are DDIM-inverted noise: no map, as in its figures
    assert "sample-steps" in info["can"] and info["coding_shape"] == [64]
    z = explorer.sample(5)
    with torch.no_grad():
        want = diffusion.decode(torch.tensor([z]).reshape(1, 1, 8, 8), 2)[0]
    np.testing.assert_array_equal(_pixels(explorer.decode(z, 2)), _expected(diffusion, want))
