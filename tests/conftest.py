"""Shared fixtures: small data on disk, the shared IDX folder when present, a CLI runner."""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import aegan
from aegan.cli import main

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
_ENVIRONMENT = dict(os.environ)  # as the tests started, before each test's isolation


def shared_data_dir(environ=None) -> Path:
    """The folder of the real MNIST / Fashion-MNIST files: ``$AEGAN_DATA_DIR``, as the command
    line reads it, else the shared folder beside the checkout."""
    environ = os.environ if environ is None else environ
    return Path(environ["AEGAN_DATA_DIR"]) if environ.get("AEGAN_DATA_DIR") else SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Every test gets its own cache and no data folder from the environment."""
    monkeypatch.setenv("AEGAN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("AEGAN_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def shared_data() -> Path:
    folder = shared_data_dir(_ENVIRONMENT)
    if not (folder / "mnist").is_dir():
        pytest.skip(f"real MNIST folder {folder / 'mnist'} is not present (set AEGAN_DATA_DIR to "
                    "a folder holding mnist/ and fashion-mnist/)")
    return folder


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    """Write ``array`` (uint8) as an IDX file, as the official files are laid out."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


@pytest.fixture
def tiny_idx(tmp_path) -> Path:
    """A folder with four small IDX files shaped like MNIST (6 train, 4 test images)."""
    folder = tmp_path / "idx" / "mnist"
    folder.mkdir(parents=True)
    rng = np.random.RandomState(0)
    write_idx(folder / "train-images-idx3-ubyte.gz", rng.randint(0, 256, (5010, 28, 28)))
    write_idx(folder / "train-labels-idx1-ubyte.gz", rng.randint(0, 10, 5010))
    write_idx(folder / "t10k-images-idx3-ubyte.gz", rng.randint(0, 256, (4, 28, 28)))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", rng.randint(0, 10, 4))
    return folder.parent


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def cli(capsys):
    """Run the real command line in-process; return exit code, stdout and stderr."""

    def run(*args: str) -> CliResult:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's own exits
            code = exc.code
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def subprocess_env() -> dict[str, str]:
    """The environment for a child Python that imports the very aegan under test (whatever
    its working folder: a relative PYTHONPATH would not follow it there)."""
    src = str(Path(aegan.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
    # PYTHONFAULTHANDLER: a child that crashes or is aborted (SIGABRT) prints every thread's
    # traceback on its standard error, so a hang a test ends says where it hung
    return dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=path, PYTHONFAULTHANDLER="1")


def run_subprocess(*args: str, cwd: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "aegan", *args], cwd=cwd, env=subprocess_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def run_python(code: str, *args: str, cwd: Path, **kwargs) -> subprocess.Popen:
    """A child Python running ``code`` with ``args``, importing the aegan under test."""
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd, env=subprocess_env(),
                            text=True, **kwargs)


def write_run(folder: Path, model_config, data: str = "digits", shape=(1, 8, 8), seed: int = 0) -> Path:
    """A run folder holding an untrained model (config, weights): quick input for commands."""
    import torch

    from aegan.config import DataConfig
    from aegan.io import save_model, write_json
    from aegan.models import build_model, model_class
    from aegan.run import RunConfig

    folder.mkdir(parents=True)
    torch.manual_seed(seed)
    spec = model_class(model_config).spec_for(model_config, shape)
    config = RunConfig(model=model_config, data=DataConfig(data), spec=spec)
    write_json(folder / "config.json", config.to_dict())
    save_model(folder, build_model(model_config, spec))
    return folder


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module of tiny models: they are bound by per-step overhead, and
    on a shared CPU two threads per process wait on each other far longer than they compute."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
