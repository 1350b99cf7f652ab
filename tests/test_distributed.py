"""Data-parallel training under ``torchrun`` (gloo, two CPU processes) against one process with
the same global batch, resume included; and the batch sharding it rests on."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from aegan import api
from aegan.run import RunConfig
from aegan.train import distributed
from aegan.weights import load_safetensors
from tests.conftest import subprocess_env

# A linear autoencoder on 59 of the book's 60 points: 2 optimizer steps per epoch, global
# batches of 32 (16 per process) and 27 (14 + 13: the partial batch, whose gradients only the
# weighting by each process's share of the batch averages exactly).
CONFIG = {"model": {"family": "autoencoder", "encoder": [2], "activation": "linear",
                    "output": "linear", "loss": "mse"},
          "data": {"name": "book-3d", "limit": 59}, "optim": {"name": "adam", "lr": 0.01},
          "train": {"epochs": 3, "batch_size": 32, "device": "cpu"}}

# One process averages the 32 per-example gradients in one float32 reduction; two processes
# average 16 each, then gloo adds the two halves: the same sum in another order, ~1e-7
# relative per step. Six Adam steps keep that far below 1e-5 (measured: losses 2e-7 relative,
# weights 1.5e-8 absolute; weighting the partial batch equally instead is off by 1e-4).
RTOL, ATOL = 1e-5, 1e-6


def _torchrun(cwd, *args: str, ok: bool = True, timeout: int = 300) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "--monitor-interval=0.2", "-m", "aegan", "train", *args]
    env = dict(subprocess_env(), OMP_NUM_THREADS="1", PYTHONFAULTHANDLER="1")  # a crash: its stack
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert (done.returncode == 0) == ok, done.stderr[-8000:]
    return done


def _history(run):
    return [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]


def _close(a: dict, b: dict) -> None:
    for key in a:
        if key.startswith(("train_", "valid_")):
            assert b[key] == pytest.approx(a[key], rel=RTOL, abs=ATOL), key


def test_two_processes_match_one_and_resume(tmp_path):
    one = api.train(RunConfig.from_dict(CONFIG), tmp_path / "one", progress=False)
    (tmp_path / "cfg.json").write_text(json.dumps(CONFIG))
    out = _torchrun(tmp_path, "cfg.json", "--epochs", "1", "--out", "two")
    assert out.stdout.count("epoch   1/1") == 1  # rank 0 alone prints
    two = tmp_path / "two"
    assert len(_history(two)) == 1
    assert json.loads((two / "environment.json").read_text())["processes"] == 2

    _torchrun(tmp_path, "--resume", "two", "--epochs", "3")  # every rank loads the checkpoint
    ref, got = _history(one), _history(two)
    assert [r["step"] for r in got] == [r["step"] for r in ref] == [2, 4, 6]
    for a, b in zip(ref, got):
        _close(a, b)
    w_one = load_safetensors(one / "model.safetensors")[0]
    w_two = load_safetensors(two / "model.safetensors")[0]
    for name, value in w_one.items():
        torch.testing.assert_close(w_two[name], value, rtol=RTOL, atol=ATOL)


def test_an_error_on_one_rank_stops_the_other(tmp_path):
    """Rank 0 alone finds the --out folder taken; rank 1 has gone on to train and waits for
    it in a collective. torchrun must end rank 1 rather than let it wait (for the timeout)."""
    (tmp_path / "cfg.json").write_text(json.dumps(CONFIG))
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("earlier results")
    done = _torchrun(tmp_path, "cfg.json", "--out", "taken", ok=False, timeout=120)  # not 300
    assert done.stderr.count("aegan: error: taken already exists") == 1
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_shards_partition_every_batch(size):
    for start, stop in [(0, 32), (32, 60), (5, 9), (0, 4)]:
        parts = [distributed.shard(start, stop, distributed.World(r, size)) for r in range(size)]
        assert parts[0][0] == start and parts[-1][1] == stop
        assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))  # contiguous, in rank order
        sizes = [b - a for a, b in parts]
        assert max(sizes) - min(sizes) <= 1


def test_batch_must_divide_among_processes(monkeypatch):
    from aegan.config import TrainConfig
    from aegan.errors import ConfigError

    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "1")
    world = distributed.from_env()
    assert (world.rank, world.size, world.local_rank, world.is_main) == (1, 3, 1, False)
    with pytest.raises(ConfigError, match="multiple of 3"):
        with distributed.session(TrainConfig(batch_size=32)):
            pass
