"""The Trainer: exact resume in-process, checkpoints, schedules, and the divergence guard
(kills, full disks and locks are in test_crash_safety.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from aegan import api
from aegan.config import DataConfig, OptimConfig, TrainConfig
from aegan.data import Batch
from aegan.errors import RunError, TrainingDiverged
from aegan.io import save_model
from aegan.models import AutoencoderConfig, build_model
from aegan.run import RunConfig
from aegan.train import Trainer
from aegan.train.trainer import lr_factor
from aegan.weights import load_safetensors


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
    data = Batch(torch.arange(10.0).reshape(10, 1), labels=torch.arange(10))
    batches = list(trainer._batches(data, 4, shuffle=True))
    seen = torch.cat([b.inputs for b in batches])
    assert sorted(seen.flatten().tolist()) == list(range(10))
    assert all(torch.equal(b.inputs[:, 0].long(), b.labels) for b in batches)  # roles together
    assert [len(b) for b in trainer._batches(data, 4, shuffle=False)] == [4, 4, 2]


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


def _poisoned(model, at_step: int, what: str):
    """``model`` whose step ``at_step`` (0-based) returns an infinite loss, or leaves a NaN in
    a weight after its update."""
    step_fn = model.training_step

    def training_step(batch, optimizers, step):
        out = step_fn(batch, optimizers, step)
        if step == at_step and what == "loss":
            out = {"loss": torch.tensor(float("inf"))}
        elif step == at_step:
            with torch.no_grad():
                next(model.parameters()).view(-1)[0] = float("nan")
        return out

    model.training_step = training_step
    return model


@pytest.mark.parametrize("what, check_every, caught_at", [
    ("loss", 1, 26),    # the step that made it (the CPU's default: every step)
    ("weight", 1, 27),  # the next step's loss
    ("loss", 4, 28),    # the next check (an accelerator's way: no sync per step)
    ("weight", 4, 28),
])
def test_divergence_is_caught_within_a_step(tmp_path, what, check_every, caught_at):
    x = np.random.RandomState(0).rand(200, 6).astype(np.float32)  # 20 steps an epoch
    model = _poisoned(build_model(AutoencoderConfig(encoder=[4]), (6,)), 25, what)
    # closed_form off: the poisoned step is a patched training_step, which the closed-form
    # speed path would not run
    trainer = Trainer(model, TrainConfig(epochs=3, batch_size=10, closed_form="off"),
                      OptimConfig(), tmp_path, check_every=check_every, progress=False)
    with pytest.raises(TrainingDiverged, match=rf"at step {caught_at} \(epoch 2\).*NaN or "
                                               r"infinite.*epoch 1.*is kept.*try a lower --lr"):
        trainer.fit(x)
    assert trainer.step == caught_at and len(trainer.history) == 1
    tensors, _ = load_safetensors(tmp_path / "checkpoint.safetensors")  # epoch 1's, finite
    assert all(torch.isfinite(t.float()).all() for t in tensors.values())


def test_a_nan_is_never_written(tmp_path):
    model = build_model(AutoencoderConfig(encoder=[2]), (3,))
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = float("nan")
    with pytest.raises(TrainingDiverged, match="refusing to write model.safetensors"):
        save_model(tmp_path, model)
    assert list(tmp_path.iterdir()) == []


def test_divergence_through_the_cli_is_one_line(cli, tmp_path):
    np.save(tmp_path / "big.npy", np.random.RandomState(0).rand(64, 6).astype(np.float32) * 1e3)
    (tmp_path / "cfg.json").write_text(json.dumps({
        "model": {"family": "autoencoder", "encoder": [4], "loss": "mse", "output": "linear"},
        "data": {"name": "big.npy"}, "optim": {"name": "sgd", "lr": 10.0},
        "train": {"epochs": 3}}))
    result = cli("train", "cfg.json", "--out", "run")
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1
    assert "training diverged at step" in result.err and "this run used 10" in result.err
