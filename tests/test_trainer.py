"""The Trainer: exact resume (in-process and after kill -9), checkpoints, schedules, guards."""

from __future__ import annotations

import json
import signal
import time

import numpy as np
import pytest
import torch

from aegan import api
from aegan.config import DataConfig, OptimConfig, RunConfig, TrainConfig
from aegan.errors import RunError, TrainingDiverged
from aegan.models import AutoencoderConfig, build_model
from aegan.train import Trainer
from aegan.train.checkpoint import load_safetensors
from aegan.train.trainer import lr_factor
from tests.conftest import run_subprocess


def _config(epochs=6, **optim):
    return RunConfig(model=AutoencoderConfig(encoder=[16, 4]), data=DataConfig("digits", limit=200),
                     optim=OptimConfig("adam", lr=3e-3, **optim), train=TrainConfig(epochs=epochs))


def _weights(run_dir):
    return load_safetensors(run_dir / "model.safetensors")[0]


class _Stop(Exception):
    pass


def _stop_after(epoch):
    def callback(event):
        if event.record["epoch"] == epoch:
            raise _Stop

    return callback


def test_resume_in_process_is_exact(tmp_path):
    """A run interrupted after epoch 3 of 6 and resumed ends bit-identical to one that ran
    through, learning-rate schedule, optimizer moments and shuffling order included."""
    whole = api.train(_config(6, schedule="cosine"), tmp_path / "whole", progress=False)
    with pytest.raises(_Stop):
        api.train(_config(6, schedule="cosine"), tmp_path / "part", callbacks=[_stop_after(3)],
                  progress=False)
    assert not (tmp_path / "part" / "model.safetensors").exists()
    api.resume(tmp_path / "part", progress=False)
    a, b = _weights(whole), _weights(tmp_path / "part")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ha = [json.loads(x) for x in (whole / "history.jsonl").read_text().splitlines()]
    hb = [json.loads(x) for x in (tmp_path / "part" / "history.jsonl").read_text().splitlines()]
    assert [r["train_loss"] for r in ha] == [r["train_loss"] for r in hb]


@pytest.mark.slow
def test_kill_9_then_resume_matches_uninterrupted(tmp_path):
    args = ["train", "stacked-digits", "--epochs", "40", "--seed", "3"]
    whole = run_subprocess(*args, "--out", "whole", cwd=tmp_path)
    assert whole.wait(timeout=300) == 0, whole.stderr.read()
    for moment in (3, 9):  # kill at two different epochs
        out = tmp_path / f"killed{moment}"
        proc = run_subprocess(*args, "--out", out.name, cwd=tmp_path)
        history = out / "history.jsonl"
        deadline = time.time() + 120
        while time.time() < deadline:
            if history.exists() and len(history.read_text().splitlines()) >= moment:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not (out / "model.safetensors").exists()  # it really died mid-run
        resumed = run_subprocess("train", "--resume", out.name, cwd=tmp_path)
        assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
        a, b = _weights(tmp_path / "whole"), _weights(out)
        assert all(torch.equal(a[k], b[k]) for k in a)
        lines = (out / "history.jsonl").read_text().splitlines()
        assert [json.loads(x)["epoch"] for x in lines] == list(range(1, 41))


def test_resume_of_finished_run_says_how_to_extend(tmp_path):
    run = api.train(_config(2), tmp_path / "r", progress=False)
    with pytest.raises(RunError, match="--epochs"):
        api.resume(run, progress=False)
    api.resume(run, epochs=3, progress=False)
    assert len((run / "history.jsonl").read_text().splitlines()) == 3


def test_cosine_schedule():
    assert lr_factor("cosine", 0, 100) == 1.0
    assert lr_factor("cosine", 50, 100) == pytest.approx(0.5)
    assert lr_factor("cosine", 100, 100) == pytest.approx(0.0)
    assert lr_factor("constant", 70, 100) == 1.0


def test_batches_cover_every_example_once():
    model = build_model(AutoencoderConfig(encoder=[2]), (3,))
    trainer = Trainer(model, TrainConfig(batch_size=4), OptimConfig())
    data = (torch.arange(10.0).reshape(10, 1),)
    seen = torch.cat([b[0] for b in trainer._batches(data, 4, shuffle=True)])
    assert sorted(seen.flatten().tolist()) == list(range(10))
    assert [len(b[0]) for b in trainer._batches(data, 4, shuffle=False)] == [4, 4, 2]


def test_divergence_stops_without_saving_nan(tmp_path):
    x = np.random.RandomState(0).rand(64, 6).astype(np.float32) * 1e3
    np.save(tmp_path / "big.npy", x)
    config = RunConfig(model=AutoencoderConfig(encoder=[4], loss="mse", output="linear"),
                       data=DataConfig(str(tmp_path / "big.npy")),
                       optim=OptimConfig("sgd", lr=10.0), train=TrainConfig(epochs=3))
    with pytest.raises(TrainingDiverged, match="lower --lr"):
        api.train(config, tmp_path / "run", progress=False)
    assert not (tmp_path / "run" / "model.safetensors").exists()
    checkpoint = tmp_path / "run" / "checkpoint.safetensors"
    if checkpoint.exists():  # the last good epoch's: finite throughout
        assert all(torch.isfinite(t.float()).all() for t in load_safetensors(checkpoint)[0].values())
