"""Crash safety of run folders: SIGKILL at random moments, a kill in the middle of writing a
checkpoint, a full disk, and one writer per folder.

The reference is one uninterrupted run of a small tabular model (16 epochs of about 100 steps,
so a kill can land anywhere in an epoch, checkpoint writes included); every interrupted run
must end with a ``model.safetensors`` byte-identical to it.
"""

from __future__ import annotations

import errno
import json
import random
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from aegan.train.checkpoint import read_counters
from aegan.weights import load_safetensors
from tests.conftest import run_python, run_subprocess

EPOCHS = 16
CONFIG = {"model": {"family": "autoencoder", "encoder": [8, 4], "activation": "selu",
                    "output": "linear", "loss": "mse"},
          "data": {"name": "tab.npy"},
          "optim": {"name": "adam", "lr": 0.003, "schedule": "cosine"},
          "train": {"epochs": EPOCHS, "batch_size": 8, "seed": 5}}

# Run the CLI with ``open`` in aegan.fileio replaced: the N-th write of a checkpoint's temporary
# file writes half its bytes, then the process kills itself (SIGKILL: no cleanup runs).
_KILL_MID_WRITE = """
import os, signal, sys
import aegan.fileio as fileio
from aegan.cli import main

N, calls = int(sys.argv[1]), []

class _HalfThenDie:
    def __init__(self, handle): self.handle = handle
    def __enter__(self): return self
    def __exit__(self, *exc): self.handle.close()
    def write(self, data):
        self.handle.write(data[: len(data) // 2]); self.handle.flush()
        os.kill(os.getpid(), signal.SIGKILL)

def dying_open(path, mode="r", *args, **kwargs):
    handle = open(path, mode, *args, **kwargs)
    if ".checkpoint.safetensors.tmp" in str(path):
        calls.append(path)
        if len(calls) == N:
            return _HalfThenDie(handle)
    return handle

fileio.open = dying_open
sys.exit(main(sys.argv[2:]))
"""


def _write_inputs(folder: Path) -> None:
    np.save(folder / "tab.npy", np.random.RandomState(0).rand(1000, 16).astype(np.float32))
    (folder / "cfg.json").write_text(json.dumps(CONFIG))


def _finish(proc: subprocess.Popen, timeout: float = 300) -> None:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err


def _losses(run: Path) -> list[float]:
    return [json.loads(line)["train_loss"] for line in (run / "history.jsonl").read_text().splitlines()]


def _assert_same_as(reference: Path, run: Path) -> None:
    """Bit-identical final weights and the same history (timings aside)."""
    assert (run / "model.safetensors").read_bytes() == (reference / "model.safetensors").read_bytes()
    assert _losses(run) == _losses(reference) and len(_losses(run)) == EPOCHS
    assert not list(run.glob(".*.tmp*"))  # no temporary file left behind


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _kill_at_random_moment(proc: subprocess.Popen, history: Path, rng: random.Random) -> None:
    """Let ``proc`` finish 1 to 3 more epochs, then kill it a random fraction into the next."""
    target = _lines(history) + rng.randint(1, 3)
    deadline = time.time() + 120
    while _lines(history) < target and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    epoch_s = json.loads(history.read_text().splitlines()[-1])["time_s"]
    time.sleep(rng.uniform(0.0, 1.0) * epoch_s)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.communicate()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("crash")
    _write_inputs(folder)
    return folder


class _Reference:
    """The uninterrupted run, trained in a process of its own while the tests that compare
    with it start theirs: parallel runs in different folders must not interfere."""

    def __init__(self, workdir: Path):
        self.run = workdir / "whole"
        self.proc = run_subprocess("train", "cfg.json", "--out", self.run.name, cwd=workdir)

    def finished(self) -> Path:
        if self.proc.returncode is None:
            _finish(self.proc)
        return self.run


@pytest.fixture(scope="module")
def reference(workdir) -> _Reference:
    return _Reference(workdir)


def test_sigkill_at_random_moments_then_resume_is_bit_identical(cli, workdir, reference,
                                                                 monkeypatch):
    """A run killed with SIGKILL three times at random moments (resumed in between), then
    resumed to the end with the command line, matches the uninterrupted run bit for bit."""
    rng = random.Random(20240917)
    run = workdir / "killed"
    proc = run_subprocess("train", "cfg.json", "--out", run.name, cwd=workdir)
    for kill in range(3):
        _kill_at_random_moment(proc, run / "history.jsonl", rng)
        assert not (run / "model.safetensors").exists()  # it really died mid-run
        load_safetensors(run / "checkpoint.safetensors")  # the last checkpoint is whole
        if kill < 2:
            proc = run_subprocess("train", "--resume", run.name, cwd=workdir)
    monkeypatch.chdir(workdir)
    assert cli("train", "--resume", run.name).code == 0
    _assert_same_as(reference.finished(), run)


def test_kill_while_writing_a_checkpoint_keeps_the_previous_one(cli, workdir, reference,
                                                                monkeypatch):
    run = workdir / "midwrite"
    proc = run_python(_KILL_MID_WRITE, "3", "train", "cfg.json", "--out", run.name,
                      cwd=workdir, stderr=subprocess.PIPE)
    proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL
    half_written = list(run.glob(".checkpoint.safetensors.tmp*"))
    assert len(half_written) == 1  # the write that was cut short...
    assert read_counters(run / "checkpoint.safetensors")["epoch"] == 2  # ...never replaced epoch 2
    load_safetensors(run / "checkpoint.safetensors")  # which loads, its digest verified
    monkeypatch.chdir(workdir)
    assert cli("train", "--resume", run.name).code == 0
    _assert_same_as(reference.finished(), run)


def test_full_disk_stops_with_a_clear_message_and_keeps_the_checkpoint(cli, tmp_path, monkeypatch):
    import aegan.fileio as fileio

    _write_inputs(tmp_path)
    real_open, calls = open, []

    def full_disk_open(path, mode="r", *args, **kwargs):
        if ".checkpoint.safetensors.tmp" in str(path):
            calls.append(path)
            if len(calls) == 3:  # the disk fills up while the third checkpoint is written
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_open(path, mode, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(fileio, "open", full_disk_open, raising=False)
        result = cli("train", "cfg.json", "--out", "run", "--epochs", "4")
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.err
    assert "the disk is full; the checkpoint of epoch 2 is intact; free some space" in lines[0]
    assert "aegan train --resume run" in lines[0]
    assert read_counters(tmp_path / "run" / "checkpoint.safetensors")["epoch"] == 2
    load_safetensors(tmp_path / "run" / "checkpoint.safetensors")
    assert not list((tmp_path / "run").glob(".*.tmp*")) and not (tmp_path / "run" / "model.safetensors").exists()
    # space freed: the run continues and finishes
    assert cli("train", "--resume", "run").code == 0
    assert len(_losses(tmp_path / "run")) == 4


def test_a_failed_final_write_is_finished_by_resume(cli, tmp_path, monkeypatch):
    """The disk fills up as the final model is written: resume writes it from the checkpoint."""
    import aegan.api

    _write_inputs(tmp_path)

    def no_space(run_dir, model):
        raise OSError(errno.ENOSPC, "No space left on device", str(run_dir / "model.safetensors"))

    with monkeypatch.context() as patch:
        patch.setattr(aegan.api, "save_model", no_space)
        result = cli("train", "cfg.json", "--out", "run", "--epochs", "2")
    assert result.code == 2 and "free some space" in result.err
    assert cli("train", "--resume", "run").code == 0
    assert (tmp_path / "run" / "model.safetensors").is_file()


# -- one writer per run folder ---------------------------------------------------------------
_HOLD_LOCK = ("import sys, time\nfrom aegan.fileio import folder_lock\n"
              "with folder_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(120)\n")


def test_a_second_writer_is_refused_and_kill_9_leaves_no_stale_lock(cli, tmp_path):
    _write_inputs(tmp_path)
    assert cli("train", "cfg.json", "--out", "run", "--epochs", "2").code == 0
    holder = run_python(_HOLD_LOCK, "run", cwd=tmp_path, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "held"
        for args in (["train", "--resume", "run", "--epochs", "3"], ["plot", "run"]):
            result = cli(*args)
            assert result.code == 2
            assert f"run is being written by process {holder.pid}; wait" in result.err
        assert _lines(tmp_path / "run" / "history.jsonl") == 2  # nothing was written meanwhile
        assert cli("plot", "run", "--out", "figs").code == 0  # another folder: allowed
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert cli("train", "--resume", "run", "--epochs", "3").code == 0  # the lock died with it
    assert _lines(tmp_path / "run" / "history.jsonl") == 3


def test_two_new_runs_racing_for_one_folder(cli, tmp_path):
    """The second of two processes starting a run in the same new folder is refused."""
    _write_inputs(tmp_path)
    (tmp_path / "run").mkdir()
    holder = run_python(_HOLD_LOCK, "run", cwd=tmp_path, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = cli("train", "cfg.json", "--out", "run")
        assert result.code == 2 and "is being written by process" in result.err
        assert [p.name for p in (tmp_path / "run").iterdir()] == [".lock"]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
