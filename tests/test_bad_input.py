"""The catalogue of bad input, through the real command line: damaged data files, bad configs,
broken run folders, unwritable outputs, for every command.

Each case must exit with status 2 and print one line that names the problem and the way out,
with no traceback; nothing under the working folder may change (no partial output, earlier
results untouched). Lock files (``.lock``) are the one exception: they hold no results.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch

from aegan import api
from aegan.config import DataConfig, OptimConfig, TrainConfig
from aegan.models import AutoencoderConfig
from aegan.run import RunConfig
from tests.conftest import write_idx

_IDX_STEMS = (("train-images-idx3-ubyte", 3), ("train-labels-idx1-ubyte", 1),
              ("t10k-images-idx3-ubyte", 3), ("t10k-labels-idx1-ubyte", 1))


# -- the trained runs some cases break (trained once per module, copied per case) ------------
def _tiny(model: AutoencoderConfig, data: DataConfig, epochs: int = 2) -> RunConfig:
    return RunConfig(model=model, data=data, optim=OptimConfig("adam", lr=1e-2),
                     train=TrainConfig(epochs=epochs, batch_size=32))


@pytest.fixture(scope="module")
def trained_runs(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("runs")
    linear = dict(activation="linear", output="linear", loss="mse")
    api.train(_tiny(AutoencoderConfig(encoder=[2], **linear), DataConfig("book-3d")),
              base / "lin", progress=False)
    api.train(_tiny(AutoencoderConfig(encoder=[1], **linear), DataConfig("book-3d")),
              base / "other", progress=False)
    api.train(_tiny(AutoencoderConfig(encoder=[4]), DataConfig("digits", limit=50), 1),
              base / "img", progress=False)
    return base


class Env(NamedTuple):
    tmp: Path
    mp: pytest.MonkeyPatch
    later: list  # callables run after the case


# -- helpers that damage things --------------------------------------------------------------
def _idx_folder(env: Env, damage: Callable[[bytes], bytes] | None = None, compress: bool = True,
                images: tuple[int, ...] = (10, 28, 28), labels: int = 10) -> None:
    folder = env.tmp / "idx" / "mnist"
    folder.mkdir(parents=True)
    for stem, ndim in _IDX_STEMS:
        shape = images if ndim == 3 else (labels,)
        path = write_idx(folder / (stem + (".gz" if compress else "")), np.zeros(shape), compress)
        if damage and stem.startswith("train-images"):
            path.write_bytes(damage(path.read_bytes()))


def _flip_payload_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF  # inside the tensor bytes, which the header's digest covers
    path.write_bytes(bytes(raw))


class _Evil:
    """A pickle that would create a folder when loaded."""

    def __reduce__(self):
        return (os.mkdir, ("PWNED",))


def _malicious_pt(env: Env) -> None:
    for name in ("model.safetensors", "checkpoint.safetensors"):
        (env.tmp / "lin" / name).unlink()
    torch.save({"encoder.0.0.weight": _Evil()}, env.tmp / "lin" / "model.pt")


def _hold_lock(env: Env, run: str = "lin") -> None:
    fd = os.open(env.tmp / run / ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a new open file: the CLI's own flock conflicts with it
    env.later.append(lambda: os.close(fd))


def _raise_on(env: Env, target: str, err: int) -> None:
    def fail(*args, **kwargs):
        raise OSError(err, os.strerror(err), str(args[0]) if args else None)

    env.mp.setattr(target, fail)


def _npy(name: str, array) -> Callable[[Env], None]:
    return lambda env: np.save(env.tmp / name, array, allow_pickle=True)


def _text(name: str, content: str | bytes) -> Callable[[Env], None]:
    def write(env: Env) -> None:
        path = env.tmp / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())

    return write


def _truncated_npy(env: Env) -> None:
    np.save(env.tmp / "cut.npy", np.ones((50, 4)))
    raw = (env.tmp / "cut.npy").read_bytes()
    (env.tmp / "cut.npy").write_bytes(raw[:-40])


def _copy(source_run: str, name: str, run: str = "lin") -> Callable[[Env], None]:
    return lambda env: shutil.copy(env.tmp / source_run / name, env.tmp / run / name)


def _remove(*names: str, run: str = "lin") -> Callable[[Env], None]:
    def remove(env: Env) -> None:
        for name in names:
            (env.tmp / run / name).unlink()

    return remove


def _config(text: str, name: str = "cfg.json") -> Callable[[Env], None]:
    return _text(name, text)


_LIN = '{"model": {"family": "autoencoder", "encoder": [2], "activation": "linear", ' \
       '"output": "linear", "loss": "mse"}, "data": {"name": "book-3d"}'


def _images(*sizes: tuple[int, int], garbage: bool = False) -> Callable[[Env], None]:
    """A folder ``imgs/a`` of grey PNGs of these sizes, and one that is not an image."""
    def write(env: Env) -> None:
        from PIL import Image

        folder = env.tmp / "imgs" / "a"
        folder.mkdir(parents=True)
        for i, (w, h) in enumerate(sizes):
            Image.new("L", (w, h)).save(folder / f"{i}.png")
        if garbage:
            (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")

    return write


def _processes(n: int) -> Callable[[Env], None]:
    """The environment torchrun gives rank 0 of ``n`` processes."""
    def setup(env: Env) -> None:
        for key, value in (("WORLD_SIZE", n), ("RANK", 0), ("LOCAL_RANK", 0)):
            env.mp.setenv(key, str(value))
        env.mp.delenv("MASTER_ADDR", raising=False)  # not started by torchrun after all

    return setup


class Bad(NamedTuple):
    args: list[str]
    problem: str  # names the problem
    way_out: str  # names the way out
    setup: Callable[[Env], None] | None = None


TRAIN = ["train", "linear-pca"]
BAD = {
    # -- data: names and folders
    "unknown preset": Bad(["train", "book/nope"], "unknown preset 'book/nope'", "aegan presets"),
    "unknown data set": Bad(["train", "stacked-digits", "--data", "cifar"],
                            "unknown data set 'cifar'", "aegan datasets"),
    "missing IDX": Bad(["train", "book/stacked", "--data-dir", "empty"], "no IDX files",
                       "point --data-dir"),
    # -- data: IDX and gzip files
    "truncated gzip IDX": Bad(["train", "book/stacked", "--data", "mnist", "--data-dir", "idx"],
                              "damaged", "re-download",
                              lambda env: _idx_folder(env, lambda raw: raw[:-20])),
    "corrupt gzip stream": Bad(["train", "book/stacked", "--data", "mnist", "--data-dir", "idx"],
                               "damaged", "re-download", lambda env: _idx_folder(
                                   env, lambda raw: raw[:12] + bytes(b ^ 0x5A for b in raw[12:-8])
                                   + raw[-8:])),
    "wrong IDX magic": Bad(["train", "book/stacked", "--data", "mnist", "--data-dir", "idx"],
                           "bad magic number", "re-download",
                           lambda env: _idx_folder(env, lambda raw: b"\x01\x02" + raw[2:], False)),
    "truncated IDX data": Bad(["train", "book/stacked", "--data", "mnist", "--data-dir", "idx"],
                              "truncated or corrupt", "re-download",
                              lambda env: _idx_folder(env, lambda raw: raw[:-100], False)),
    "truncated IDX header": Bad(["train", "book/stacked", "--data", "mnist", "--data-dir", "idx"],
                                "truncated inside its IDX header", "re-download",
                                lambda env: _idx_folder(env, lambda raw: raw[:9], False)),
    "IDX images of wrong size": Bad(["train", "book/stacked", "--data", "mnist", "--data-dir", "idx"],
                                    "expected uint8 images of shape (28, 28)", "re-download",
                                    lambda env: _idx_folder(env, images=(10, 32, 32))),
    "IDX labels of other images": Bad(["train", "book/stacked", "--data", "mnist", "--data-dir",
                                       "idx"], "do not belong together", "re-download",
                                      lambda env: _idx_folder(env, labels=7)),
    "empty IDX": Bad(["train", "book/stacked", "--data", "mnist", "--data-dir", "idx"],
                     "holds no images", "re-download",
                     lambda env: _idx_folder(env, images=(0, 28, 28), labels=0)),
    # -- data: CSV files
    "CSV with text": Bad(TRAIN + ["--data", "text.csv"], "'x' is not a number", "numbers only",
                         _text("text.csv", "1,2\n3,x\n")),
    "CSV with ragged rows": Bad(TRAIN + ["--data", "ragged.csv"], "line 3: 3 columns",
                                "same columns", _text("ragged.csv", "1,2\n3,4\n5,6,7\n")),
    "CSV not UTF-8": Bad(TRAIN + ["--data", "latin.csv"], "not UTF-8", "save the CSV",
                         _text("latin.csv", b"caf\xe9,1\n1,2\n3,4\n")),
    "empty CSV": Bad(TRAIN + ["--data", "empty.csv"], "0 examples", "give a file",
                     _text("empty.csv", "a,b\n")),
    "infinite value in CSV": Bad(TRAIN + ["--data", "inf.csv"], "NaN or infinite", "impute",
                                 _text("inf.csv", "1,2\n3,inf\n5,6\n")),
    # -- data: NumPy files
    "image folder of mixed sizes": Bad(TRAIN + ["--data", "imgs"], "images differ in size",
                                       "resize them all", _images((4, 4), (4, 5))),
    "unreadable image in a folder": Bad(TRAIN + ["--data", "imgs"], "not a readable image",
                                        "remove or replace it", _images((4, 4), garbage=True)),
    "batch that processes cannot share": Bad(TRAIN + ["--batch-size", "32"], "divide evenly among "
                                             "the 3 processes", "multiple of 3", _processes(3)),
    "processes not started by torchrun": Bad(TRAIN + ["--batch-size", "32"], "cannot join the 2 "
                                             "training processes", "torchrun", _processes(2)),
    "NaN in data": Bad(TRAIN + ["--data", "nan.npy"], "NaN or infinite", "impute",
                       _npy("nan.npy", np.array([[1.0, np.nan], [0.0, 1.0], [1.0, 1.0]]))),
    "empty npy": Bad(TRAIN + ["--data", "empty.npy"], "0 examples", "give a file",
                     _npy("empty.npy", np.zeros((0, 3)))),
    "one example": Bad(TRAIN + ["--data", "one.npy"], "holds 1 examples", "at least 2",
                       _npy("one.npy", np.zeros((1, 3)))),
    "npy of pickled objects": Bad(TRAIN + ["--data", "obj.npy"], "never unpickles",
                                  "save plain numbers",
                                  _npy("obj.npy", np.array([{"a": 1}, None], dtype=object))),
    "truncated npy": Bad(TRAIN + ["--data", "cut.npy"], "is truncated", "save the file again",
                         _truncated_npy),
    "npy of wrong rank": Bad(TRAIN + ["--data", "flat.npy"], "array of shape (10,)", "reshape",
                             _npy("flat.npy", np.zeros(10))),
    "npz without arrays": Bad(TRAIN + ["--data", "none.npz"], "holds no arrays", "np.savez",
                              lambda env: np.savez(env.tmp / "none.npz")),
    "npz with bad labels": Bad(TRAIN + ["--data", "lab.npz"], "whole numbers", "integers",
                               lambda env: np.savez(env.tmp / "lab.npz", x=np.zeros((20, 3)),
                                                    y=np.full(20, 0.5))),
    "not a NumPy file": Bad(TRAIN + ["--data", "fake.npy"], "not a NumPy file", "damaged",
                            _text("fake.npy", "hello, world\n")),
    "images with wrong channels": Bad(["evaluate", "img", "--data", "rgb.npy"],
                                      "made for examples of shape [1, 8, 8]", "same size and channels",
                                      _npy("rgb.npy", np.zeros((20, 3, 8, 8), np.float32))),
    "images of wrong size": Bad(["encode", "img", "--data", "big.npy", "--out", "z.npy"],
                                "has [1, 16, 16]", "same size and channels",
                                _npy("big.npy", np.zeros((20, 1, 16, 16), np.float32))),
    "bce on unbounded data": Bad(["train", "stacked-digits", "--data", "book-3d"],
                                 "needs values in [0, 1]", "loss 'mse'"),
    # -- configs and hyper-parameters
    "epochs 0": Bad(TRAIN + ["--epochs", "0"], "--epochs must be at least 1", "at least 1"),
    "negative lr": Bad(TRAIN + ["--lr", "-1"], "--lr must be a positive", "such as 0.001"),
    "infinite lr": Bad(TRAIN + ["--lr", "inf"], "got inf", "such as 0.001"),
    "NaN lr": Bad(TRAIN + ["--lr", "nan"], "got nan", "such as 0.001"),
    "batch size 0": Bad(TRAIN + ["--batch-size", "0"], "--batch-size must be at least 1",
                        "at least 1"),
    "limit 0": Bad(TRAIN + ["--limit", "0"], "--limit must be a positive", "number of examples"),
    "negative seed": Bad(TRAIN + ["--seed", "-1"], "--seed must be", ">= 0"),
    "lr not a number": Bad(TRAIN + ["--lr", "fast"], "invalid float value: 'fast'", "--help"),
    "unknown device": Bad(TRAIN + ["--device", "tpu"], "invalid choice: 'tpu'", "--help"),
    "cuda without a GPU": Bad(TRAIN + ["--device", "cuda"], "no CUDA GPU is visible",
                              "--device cpu", lambda env: env.mp.setattr(
                                  torch.cuda, "is_available", lambda: False)),
    "valid size too large": Bad(["train", "cfg.json"], "validation size 5000", "data.valid_size",
                                _config('{"model": {"family": "autoencoder", "encoder": [2]}, '
                                        '"data": {"name": "digits", "valid_size": 5000}}')),
    "bad config json": Bad(["train", "bad.json"], "not valid JSON", "one JSON object",
                           _text("bad.json", "{oops")),
    "config momentum out of range": Bad(["train", "cfg.json"], "momentum must be in [0, 1)",
                                        "[0, 1)", _config(_LIN + ', "optim": {"momentum": 1.5}}')),
    "config betas out of range": Bad(["train", "cfg.json"], "optim.betas", "such as [0.9, 0.999]",
                                     _config(_LIN + ', "optim": {"betas": [1.2, 0.9]}}')),
    "config NaN": Bad(["train", "cfg.json"], "NaN is not a number", "finite number",
                      _config(_LIN + ', "optim": {"lr": NaN}}')),
    "config unknown key": Bad(["train", "cfg.json"], "unknown key 'lerning_rate' in optim",
                              "known keys", _config(_LIN + ', "optim": {"lerning_rate": 1}}')),
    "config unknown family": Bad(["train", "cfg.json"], "unknown model family 'gpt'", "known:",
                                 _config('{"model": {"family": "gpt"}}')),
    "config zero width": Bad(["train", "cfg.json"], "model.encoder must list positive", "[100, 30]",
                             _config(_LIN.replace("[2]", "[0]") + "}")),
    "config of wrong type": Bad(["train", "cfg.json"], "epochs must be at least 1", "at least 1",
                                _config(_LIN + ', "train": {"epochs": true}}')),
    "config unknown precision": Bad(["train", "cfg.json"], "unknown precision 'fp16'",
                                    "choose one of fp32, bf16, auto",
                                    _config(_LIN + ', "train": {"precision": "fp16"}}')),
    "config unknown channels_last": Bad(["train", "cfg.json"], "unknown channels_last 'yes'",
                                        "choose one of auto, on, off",
                                        _config(_LIN + ', "train": {"channels_last": "yes"}}')),
    "config unknown optimizer kernels": Bad(["train", "cfg.json"], "optimizer kernels 'cuda'",
                                            "choose one of auto, foreach, fused, loop",
                                            _config(_LIN + ', "optim": {"kernels": "cuda"}}')),
    "config as a list": Bad(["train", "cfg.json"], "must be a JSON object", "JSON object",
                            _config("[1, 2]")),
    "YAML config with a tag": Bad(["train", "cfg.yaml"], "JSON only", "write it as .json",
                                  _text("cfg.yaml", "model: !!python/object/apply:os.system "
                                        "['mkdir PWNED']\n")),
    "unknown metric": Bad(["evaluate", "lin", "--metrics", "bogus"], "unknown metric 'bogus'",
                          "known:"),
    "FID of a model that cannot generate": Bad(["evaluate", "lin", "--metrics", "fid"],
                                               "lacks the Sampler capability",
                                               "presets whose models have it:"),
    "missing inception weights": Bad(["evaluate", "img", "--metrics", "fid", "--inception-weights",
                                      "nope.pt"], "nope.pt does not exist", "--features classifier"),
    "inception weights not TorchScript": Bad(["evaluate", "vae", "--metrics", "fid",
                                              "--inception-weights", "fake.pt"],
                                             "is not a TorchScript network", "FID Inception .pt",
                                             lambda env: (_vae_run(env), _text("fake.pt", "x")(env))),
    "no inception network": Bad(["evaluate", "vae", "--metrics", "kid", "--features", "inception"],
                                "no FID Inception network found", "--features classifier",
                                lambda env: (_vae_run(env), env.mp.setattr(
                                    "aegan.metrics.features.find_inception", lambda w=None: None))),
    "n-samples 1": Bad(["evaluate", "lin", "--metrics", "fid", "--n-samples", "1"],
                       "--n-samples must be a whole number of at least 2", "at least 2"),
    "probe limit 0": Bad(["evaluate", "lin", "--metrics", "probe", "--probe-limit", "0"],
                         "--probe-limit must be a whole number of at least 1", "at least 1"),
    "unknown features": Bad(["evaluate", "lin", "--features", "vgg"], "invalid choice: 'vgg'",
                            "--help"),
    # -- options and commands
    "unknown option": Bad(TRAIN + ["--bogus"], "unrecognized arguments", "--help"),
    "unknown command": Bad(["frobnicate"], "invalid choice: 'frobnicate'", "--help"),
    "unknown split": Bad(["evaluate", "lin", "--split", "holdout"], "invalid choice", "--help"),
    "presets with an argument": Bad(["presets", "extra"], "unrecognized arguments", "--help"),
    "datasets with an option": Bad(["datasets", "--all"], "unrecognized arguments", "--help"),
    "encode without --out": Bad(["encode", "lin", "--data", "book-3d"], "--out", "--help"),
    "resume with a changed flag": Bad(["train", "--resume", "lin", "--lr", "1"],
                                      "--lr cannot be changed when resuming", "only --epochs"),
    "resume with --set": Bad(["train", "--resume", "lin", "--set", "optim.lr=1"],
                             "--set cannot be changed when resuming", "only --epochs"),
    "--set of no field": Bad(TRAIN + ["--set", "model.nope=1"], "model has no field 'nope'",
                             "it has"),
    "--set without a section": Bad(TRAIN + ["--set", "lr=1"], "SECTION.KEY=VALUE",
                                   "model, data, optim, train"),
    "--set of a bad value": Bad(TRAIN + ["--set", "model.encoder=[-3]"], "model.encoder",
                                "positive"),
    # -- run folders
    "no such run": Bad(["evaluate", "nowhere"], "does not exist", "check the path"),
    "not a run": Bad(["evaluate", "taken"], "not a run folder", "aegan train"),
    "resume not a run": Bad(["train", "--resume", "taken"], "not a run folder", "aegan train"),
    "existing out": Bad(TRAIN + ["--out", "taken"], "already exists", "choose another --out"),
    "demo into existing out": Bad(["demo", "--out", "taken"], "already exists", "--out"),
    "run without weights": Bad(["evaluate", "lin"], "holds no weights", "--resume",
                               _remove("model.safetensors", "checkpoint.safetensors")),
    "resume without checkpoint": Bad(["train", "--resume", "lin", "--epochs", "4"],
                                     "no checkpoint.safetensors", "start a new run",
                                     _remove("checkpoint.safetensors")),
    "resume of finished run": Bad(["train", "--resume", "lin"], "already trained 2 of its 2",
                                  "--epochs N with N > 2"),
    "resume to fewer epochs": Bad(["train", "--resume", "lin", "--epochs", "1"],
                                  "already trained 2 of its 1", "--epochs N with N > 2"),
    "checkpoint of another model": Bad(["train", "--resume", "lin", "--epochs", "4"],
                                       "holds weights of another model", "own files",
                                       _copy("other", "checkpoint.safetensors")),
    "weights of another model": Bad(["evaluate", "lin"], "holds weights of another model",
                                    "own files",
                                    _copy("other", "model.safetensors")),
    "weights of another family": Bad(["evaluate", "lin"], "of family 'vae'", "own files",
                                     lambda env: _relabel_family(env.tmp / "lin")),
    "corrupt weights (checksum)": Bad(["evaluate", "lin"], "do not match the SHA-256",
                                      "restore it from a copy",
                                      lambda env: _flip_payload_byte(env.tmp / "lin" / "model.safetensors")),
    "corrupt checkpoint (checksum)": Bad(["train", "--resume", "lin", "--epochs", "4"],
                                         "do not match the SHA-256", "restore it from a copy",
                                         lambda env: _flip_payload_byte(
                                             env.tmp / "lin" / "checkpoint.safetensors")),
    "truncated weights": Bad(["plot", "lin"], "damaged or not a safetensors file",
                             "restore it from a copy", lambda env: _truncate(
                                 env.tmp / "lin" / "model.safetensors", 100)),
    "pickle posing as safetensors": Bad(["evaluate", "lin"], "damaged or not a safetensors file",
                                        "restore it", lambda env: (
                                            env.tmp / "lin" / "model.safetensors").write_bytes(
                                            b"\x80\x04\x95" + b"\x00" * 40)),
    "malicious legacy pickle": Bad(["evaluate", "lin"], "is refused", "re-save the weights",
                                   _malicious_pt),
    "damaged config in run": Bad(["evaluate", "lin"], "not valid JSON", "one JSON object",
                                 _text("lin/config.json", '{"model": ')),
    "damaged history in run": Bad(["plot", "lin"], "history.jsonl is damaged", "delete it",
                                  _text("lin/history.jsonl", '{"epoch": 1}\n[[[\n')),
    "run being written": Bad(["train", "--resume", "lin", "--epochs", "4"],
                             "is being written by", "wait for it to finish", _hold_lock),
    "plot while being written": Bad(["plot", "lin"], "is being written by", "another folder",
                                    _hold_lock),
    # -- unwritable outputs
    "out below a file": Bad(TRAIN + ["--out", "keep.txt/run"], "cannot create run folder",
                            "you can write to", _text("keep.txt", "x")),
    "out not writable": Bad(TRAIN + ["--out", "ro/run"], "Permission denied", "you can write to",
                            lambda env: _raise_on(env, "pathlib.Path.mkdir", errno.EACCES)),
    "encode out not .npy": Bad(["encode", "lin", "--data", "book-3d", "--out", "z.txt"],
                               "must name a .npy file", "add .npy"),
    "encode into missing folder": Bad(["encode", "lin", "--data", "book-3d", "--out",
                                       "no/such/z.npy"], "No such file or directory",
                                      "check the path"),
    "encode onto a full disk": Bad(["encode", "lin", "--data", "book-3d", "--out", "z.npy"],
                                   "No space left on device", "free some space",
                                   lambda env: _raise_on(env, "aegan.api.atomic_write_bytes",
                                                         errno.ENOSPC)),
    "plot into a file": Bad(["plot", "lin", "--out", "keep.txt"], "for the figures",
                            "you can write to", _text("keep.txt", "x")),
    # -- reports and comparisons
    "report of a folder that is not a run": Bad(["report", "empty", "--out", "r.html"],
                                                "is not a run folder", "name the folder"),
    "report --out not .html": Bad(["report", "lin", "--out", "r.txt"], "must name a .html file",
                                  "add .html"),
    "report --out in a missing folder": Bad(["report", "lin", "--out", "nowhere/r.html"],
                                            "does not exist", "create it first"),
    "report --out over a folder": Bad(["report", "lin", "--out", "taken.html"], "is a folder",
                                      "name a .html file",
                                      lambda env: (env.tmp / "taken.html").mkdir()),
    "compare of one run": Bad(["compare", "lin", "--out", "c.html"], "at least two runs",
                              "name two or more"),
    "compare with a non-run": Bad(["compare", "lin", "empty", "--out", "c.html"],
                                  "is not a run folder", "name the folder"),
    "train --tensorboard without tensorboard": Bad(
        TRAIN + ["--tensorboard", "--out", "new"], "needs the tensorboard package",
        "pip install aegan[tensorboard]",
        lambda env: env.mp.setitem(sys.modules, "torch.utils.tensorboard", None)),
}


def _vae_run(env: Env) -> None:
    from aegan.models import VAEConfig
    from tests.conftest import write_run

    write_run(env.tmp / "vae", VAEConfig(encoder=[4], z_dim=2))


def _truncate(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def _relabel_family(run: Path) -> None:
    """Rewrite model.safetensors with another family in its metadata (a valid file)."""
    from aegan.weights import load_safetensors, save_safetensors

    tensors, _ = load_safetensors(run / "model.safetensors")
    save_safetensors(run / "model.safetensors", tensors, {"family": "vae"})


def _snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` (lock files aside) with a digest of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file()
            else "dir" for p in sorted(root.rglob("*")) if p.name != ".lock"}


def assert_refused(cli, root: Path, bad: Bad):
    """Run ``bad``'s command: exit 2, one line naming the problem and the way out, and nothing
    under ``root`` changed (no partial output, earlier results untouched). Returns the result."""
    before = _snapshot(root)
    result = cli(*bad.args)
    assert result.code == 2, (result.code, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert bad.problem in lines[0] and bad.way_out in lines[0], lines[0]
    assert _snapshot(root) == before
    return result


@pytest.fixture
def env(tmp_path, monkeypatch, trained_runs):
    for run in ("lin", "other", "img"):
        shutil.copytree(trained_runs / run, tmp_path / run)
    (tmp_path / "empty").mkdir()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("earlier results")
    later: list = []
    yield Env(tmp_path, monkeypatch, later)
    for undo in later:
        undo()


def test_catalogue_is_large():
    assert len(BAD) >= 30


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_exit_2(cli, env, case):
    bad = BAD[case]
    if bad.setup:
        bad.setup(env)
    result = assert_refused(cli, env.tmp, bad)
    assert "Traceback" not in result.err
    assert not (env.tmp / "PWNED").exists()  # nothing in a hostile file ran


def test_a_setting_changes_one_field_and_a_malformed_one_is_named():
    from aegan.errors import ConfigError
    from aegan.presets import get_preset

    config = get_preset("simvp")
    changed = config.assign("model.hid_t=256").assign("train.precision=fp32")
    assert (changed.model.hid_t, changed.train.precision) == (256, "fp32")
    assert changed.replace("model", hid_t=64).replace("train", precision="auto") == config
    for bad in ("hid_t=256", "modle.hid_t=256", "model.hid_t"):
        with pytest.raises(ConfigError, match="SECTION.KEY=VALUE"):
            config.assign(bad)
    with pytest.raises(ConfigError, match="model has no field 'hid_u'"):
        config.assign("model.hid_u=8")
