"""The explorer's web server: Python's own ``http.server`` on 127.0.0.1, a fixed table of routes,
and the page (``page.html``, plain HTML and a little JavaScript, nothing fetched from the
network).

Every request is answered: an unknown route with 404, a bad one (a bad number, an example or
dimension out of range, an unknown class) with a 4xx and a one-line reason in plain text, an
unexpected failure with 500 and one line; none stops the server. Requests naming another host
than the server's own are refused (a web page elsewhere cannot reach it through a DNS name
that points here). The model answers one request at a time (:class:`~.answers.Explorer`).
"""

from __future__ import annotations

import errno
import json
import logging
import math
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from aegan.capabilities import require_any
from aegan.data.examples import IMAGE_KINDS
from aegan.errors import AeganError, ConfigError
from aegan.explorer.answers import (EXPLORABLE, MAX_UPLOAD, BadRequest, ExploreOptions,
                                    Explorer)
from aegan.io import load_run
from aegan.models import (Decoder, Encoder, LatentSampler, Predictor, Reconstructor, Translator,
                          can)
from aegan.run import load_run_data

log = logging.getLogger(__name__)
HOST = "127.0.0.1"


# -- reading a request's parameters ------------------------------------------------------------
def _one(query: dict, name: str, default: str | None = None) -> str:
    values = query.get(name)
    if not values:
        if default is None:
            raise BadRequest(f"missing parameter {name!r}")
        return default
    return values[0]


def _int(query: dict, name: str, default: str | None = None) -> int:
    text = _one(query, name, default)
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, got {text[:40]!r}") from None


def _coding(query: dict, explorer: Explorer) -> list[float]:
    """``z``: the coding as comma-separated finite numbers, as many as the model's codings."""
    text = _one(query, "z")
    try:
        z = [float(v) for v in text.split(",")]
    except ValueError:
        raise BadRequest("z must be numbers separated by commas") from None
    n = math.prod(explorer.coding_shape)
    if len(z) != n:
        raise BadRequest(f"z has {len(z)} values, and this model's codings have {n}")
    if not all(math.isfinite(v) and abs(v) <= 1e4 for v in z):
        raise BadRequest("z must hold finite numbers between -10000 and 10000")
    return z


# -- the routes: (method, path) -> (the capabilities it needs, answer) -------------------------
PNG, JSON, TEXT = "image/png", "application/json", "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"


def _page(explorer, query, body):
    return HTML, resources.files("aegan.explorer").joinpath("page.html").read_bytes()


def _json(value) -> tuple[str, bytes]:
    return JSON, json.dumps(value).encode()


def _label(explorer: Explorer, query: dict) -> int | None:
    return explorer.label(_one(query, "label", "") or None)


ROUTES: dict[tuple[str, str], tuple[tuple[type, ...], Callable]] = {
    ("GET", "/"): ((), _page),
    ("GET", "/info"): ((), lambda e, q, b: _json(e.info())),
    ("GET", "/map"): ((Encoder,), lambda e, q, b: _json(e.map())),
    ("GET", "/example"): ((), lambda e, q, b: (PNG, e.example(_int(q, "i")))),
    ("GET", "/coding"): ((Encoder,), lambda e, q, b: _json(e.coding(_int(q, "i")))),
    ("GET", "/reconstruct"): ((Reconstructor,), lambda e, q, b: (PNG, e.reconstruction(
        _int(q, "i")))),
    ("GET", "/decode"): ((Decoder,), lambda e, q, b: (PNG, e.decode(_coding(q, e),
                                                                     _label(e, q)))),
    ("GET", "/traverse"): ((Decoder,), lambda e, q, b: (PNG, e.traverse(
        _coding(q, e), _int(q, "dim"), _label(e, q)))),
    ("GET", "/sample"): ((LatentSampler,), lambda e, q, b: _json(e.sample(_int(q, "seed", "0")))),
    ("GET", "/line"): ((Encoder, Decoder), lambda e, q, b: (PNG, e.line(_int(q, "i"),
                                                                        _int(q, "j")))),
    ("GET", "/translate"): ((Translator,), lambda e, q, b: (PNG, e.translate(_int(q, "i")))),
    ("POST", "/translate"): ((Translator,), lambda e, q, b: (PNG, e.translate(upload=b))),
    ("GET", "/predict"): ((Predictor,), lambda e, q, b: (PNG, e.predict(_int(q, "i")))),
}


class Handler(BaseHTTPRequestHandler):
    """One connection's requests (HTTP/1.1, kept alive), each answered from the table."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms wait between
    server: ExplorerServer

    def do_GET(self):
        self._answer("GET")

    def do_POST(self):
        self._answer("POST")

    def _answer(self, method: str) -> None:
        try:
            kind, body = self._route(method)
            status = 200
        except BadRequest as exc:
            kind, body, status = TEXT, (str(exc).splitlines()[0] + "\n").encode(), exc.status
        except Exception as exc:  # a bug: one line to the browser, the traceback to the log
            log.exception("explorer: %s %s failed", method, self.path)
            kind, status = TEXT, 500
            first = str(exc).splitlines()[0] if str(exc) else ""
            body = f"internal error: {type(exc).__name__}: {first}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def _route(self, method: str) -> tuple[str, bytes]:
        body = self._body() if method == "POST" else b""
        host = self.headers.get("Host", "")
        if host not in self.server.hosts:
            raise BadRequest(f"this server answers requests for {self.server.hosts[0]} only", 403)
        url = urlsplit(self.path)
        route = ROUTES.get((method, url.path))
        if route is None:
            known = sorted({p for m, p in ROUTES if m == method}) or ["none"]
            raise BadRequest(f"no such page: {method} {url.path[:80]} (known: "
                             f"{', '.join(known)})", 404)
        needs, answer = route
        explorer = self.server.explorer
        missing = [c for c in needs if not can(explorer.model, c)]
        if missing:
            raise BadRequest(f"this {explorer.model.family} model cannot answer {url.path}: it "
                             f"lacks the {missing[0].__name__} capability", 404)
        return answer(explorer, parse_qs(url.query, keep_blank_values=True), body)

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise BadRequest("a POST needs a Content-Length", 411)
        if int(length) > MAX_UPLOAD:
            self.close_connection = True  # the body is not read
            raise BadRequest(f"the upload is larger than {MAX_UPLOAD >> 20} MiB", 413)
        return self.rfile.read(int(length))

    def log_message(self, format, *args):
        log.debug("explorer: " + format, *args)


class ExplorerServer(ThreadingHTTPServer):
    """The server of one :class:`~.answers.Explorer` (set ``explorer`` before serving)."""

    daemon_threads = True  # open connections do not keep the process alive after Ctrl-C
    explorer: Explorer | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"

    @property
    def hosts(self) -> list[str]:
        port = self.server_address[1]
        return [f"{HOST}:{port}", f"localhost:{port}"]


def bind(port: int) -> ExplorerServer:
    """A server bound to ``port`` on 127.0.0.1 (0: a free port), not yet serving."""
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"--port must be 0 to 65535 (0: a free port), got {port}")
    try:
        return ExplorerServer((HOST, port), Handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise AeganError(f"port {port} on {HOST} is in use; choose another --port, or "
                             "--port 0 for a free one") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise AeganError(f"port {port} needs administrator rights; choose one above 1023, "
                             "or --port 0 for a free one") from None
        raise


def open_run(run_dir: str | Path, options: ExploreOptions | None = None,
             data: str | None = None, data_dir: str | Path | None = None,
             checked: Callable[[bool], None] | None = None) -> Explorer:
    """The explorer of a run: its model, and the examples of ``options.split`` of its data (or
    of ``data``) where the model reads data. A model the page can do nothing with, and data
    that are not images, are refused. ``checked(reads_data)`` is called once these checks
    passed, before the data are loaded and mapped (the slow part)."""
    options = options or ExploreOptions()
    config, model = load_run(run_dir)
    require_any(model, EXPLORABLE, "be explored (aegan explore shows codings, decoded "
                "codings, translations or predicted frames)", str(run_dir))
    if model.spec.kind not in IMAGE_KINDS:
        raise ConfigError(f"aegan explore shows images, and this run's examples are "
                          f"{model.spec.kind} of shape {list(model.sample_shape)}; use 'aegan "
                          "encode' and 'aegan evaluate' instead")
    reads_data = any(can(model, c) for c in (Encoder, Translator, Predictor))
    if checked is not None:
        checked(reads_data)
    examples = None
    if reads_data:
        if data is not None and data != config.data.name:
            config = config.replace("data", name=data, dir=None)
        dataset = load_run_data(config, data_dir)
        if dataset.sample_shape != tuple(model.sample_shape):
            raise ConfigError(f"this run was made for examples of shape "
                              f"{list(model.sample_shape)}, but {dataset.name} has "
                              f"{list(dataset.sample_shape)}; use data of the run's shape")
        examples = dataset.split(options.split)
    title = f"{Path(run_dir).name} ({config.preset or model.family})"
    return Explorer(model, examples, options, title, config.data.derive)


def serve(server: ExplorerServer, explorer: Explorer) -> None:
    """Serve ``explorer`` on ``server`` until interrupted (Ctrl-C), then close it."""
    server.explorer = explorer
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()

