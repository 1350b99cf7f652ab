"""The one Trainer: epochs, batches, devices, validation, history, checkpoints and resume.

It drives any model that keeps the step contract of :mod:`aegan.models.base` and never asks
which family it holds. Small models of this field are bound by per-step overhead, not
arithmetic, so the whole data set is moved to the device once and each epoch's batches are
gathered from it by one shuffled permutation (no ``DataLoader``, no per-batch collation: on an
accelerator, one gather per epoch and views into it; on the CPU, one gather per batch, which
measured faster there and keeps no second copy of the data). Data too large for
that (a memory-mapped file above a budget, an image folder: ``TrainConfig.data_on_device``)
streams through a ``DataLoader`` instead (:mod:`aegan.data.stream`), batch for batch the same.
Under ``torchrun`` each process trains on its slice of every global batch and gradients are
averaged (:mod:`aegan.train.distributed`); only rank 0 writes.

Resume is exact: a checkpoint is written atomically at the end of every epoch with the model,
every optimizer's state, the shuffling generator, the global random state and the counters;
``fit(resume=True)`` continues from it, so a run killed at any moment and resumed ends with
the same weights as one that never stopped (on the CPU, bit for bit).

Divergence is caught within a step: the running sums of the losses are checked every
``check_every`` steps (every step on the CPU, where reading a number costs no device sync;
every 32 on an accelerator, plus a check of the weights there) and at the end of every epoch,
weights included, before anything is saved. A full disk or a folder that turned read-only stops
the run with a :class:`~aegan.errors.RunError`; the previous checkpoint stays whole.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aegan.config import TrainConfig
from aegan.data import memory, stream
from aegan.data.examples import Batch, Examples, Resampled
from aegan.errors import ConfigError, RunError, TrainingDiverged
from aegan.models.base import evaluating
from aegan.train import distributed, fast
from aegan.train.checkpoint import (kept_records, load_checkpoint, rng_state,
                                   save_checkpoint, set_rng_state)

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.safetensors"
HISTORY = "history.jsonl"
STEPS = "steps.jsonl"  # the training losses every few steps (train.log_every)
STEP_POINTS = 20  # points per epoch in steps.jsonl unless train.log_every says otherwise


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present; asking for CUDA without one is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu")
    return torch.device(name)


def lr_factor(schedule: str, step: int, total: int) -> float:
    """Multiplier of the base learning rate at ``step`` of ``total`` (a pure function of the
    step, so resume needs no scheduler state)."""
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(step, total) / max(total, 1)))
    return 1.0


def set_lrs(optimizers: dict[str, torch.optim.Optimizer], base_lrs: dict[str, list[float]],
            schedule: str, step: int, total: int) -> None:
    """Every parameter group's learning rate: its base rate times the schedule's factor."""
    factor = lr_factor(schedule, step, total)
    for name, opt in optimizers.items():
        for group, lr in zip(opt.param_groups, base_lrs[name]):
            group["lr"] = lr * factor


def finite_weights(model: torch.nn.Module) -> bool:
    """True when every floating-point parameter and buffer of ``model`` is finite."""
    tensors = chain(model.parameters(), model.buffers())
    return all(bool(torch.isfinite(t).all()) for t in tensors if t.is_floating_point())


@dataclass
class EpochEnd:
    """What callbacks receive after each epoch."""

    record: dict[str, Any]
    epochs: int
    label: str = ""  # which training this is, when a run has several (greedy stages)


class Trainer:
    """Train ``model`` on :class:`~aegan.data.examples.Examples`; optionally write a run folder
    as it goes.

    ``callbacks`` are called with an :class:`EpochEnd` after each epoch (after the checkpoint
    is safely on disk). ``check_every``: steps between divergence checks (None: 1 on the CPU,
    32 on an accelerator).
    """

    def __init__(self, model: torch.nn.Module, config: TrainConfig, optim_config,
                 run_dir: str | Path | None = None,
                 callbacks: list[Callable[[EpochEnd], None]] | None = None,
                 progress: bool | None = None, check_every: int | None = None, label: str = ""):
        self.model = model
        self.config = config
        self.optim_config = optim_config
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.callbacks = list(callbacks or [])
        self.progress = progress  # None: a bar when stderr is a terminal
        self.label = label
        self.world = distributed.current()
        self.device = distributed.device_for(resolve_device(config.device), self.world)
        self.sync = distributed.GradSync(self.world)
        self.history: list[dict[str, Any]] = []
        self.steps: list[dict[str, Any]] = []  # the step points (steps.jsonl) of this fit
        self.epoch = 0  # epochs completed
        self.step = 0  # optimizer steps taken
        self.generator = torch.Generator().manual_seed(config.seed)
        self.check_every = check_every or (1 if self.device.type == "cpu" else 32)

    # -- data --------------------------------------------------------------------------------
    def _streams(self, x) -> bool:
        """Whether ``x`` is read batch by batch rather than copied whole to the device."""
        mode = self.config.data_on_device
        if mode != "auto":
            return mode == "never"
        if not isinstance(x, np.ndarray):
            return True  # a lazy reader (an image folder)
        return memory.is_lazy(x) and memory.float_bytes(x) > stream.in_memory_budget(self.device)

    def _tensors(self, examples: Examples) -> Batch | Streamed:
        """The examples as tensors on the device (one :class:`Batch` of all of them), or, for
        data read lazily or too large for it, a :class:`Streamed` reader."""
        if self._streams(examples.inputs):
            return Streamed(examples)

        def tensor(role: str, array) -> torch.Tensor:
            if role == "labels":
                return torch.as_tensor(np.asarray(array)).to(self.device)
            array = (np.array(array, dtype=np.float32) if memory.is_lazy(array)
                     else np.ascontiguousarray(array))
            return torch.as_tensor(array, dtype=torch.float32).to(self.device)

        return Batch(**examples.map(tensor).roles())

    def _batches(self, data: Batch | Streamed, batch_size: int, shuffle: bool,
                 world: distributed.World | None = None):
        """This process's slice of each global batch (the whole batch in one process), in the
        order of one shuffled permutation drawn from the seeded generator. Sets
        ``self.sync.share``, the slice's fraction of its global batch."""
        world = world or self.world
        n = len(data)
        perm = torch.randperm(n, generator=self.generator) if shuffle else None
        slices = []
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            if stop - start < world.size:  # too few to share: dropped by every process
                log.warning("dropping the last %d examples of the epoch: fewer than the %d "
                            "processes", stop - start, world.size)
                break
            slices.append((*distributed.shard(start, stop, world), stop - start))
        if isinstance(data, Streamed):
            order = perm.numpy() if perm is not None else np.arange(n)
            batches = data.read([order[a:b] for a, b, _ in slices], self.config.num_workers,
                                self.device)
        elif perm is not None and self.device.type == "cpu":  # a gather per batch: measured
            roles = data.roles()  # faster on the CPU than one per epoch, and no second copy
            batches = (Batch(**{r: t.index_select(0, perm[a:b]) for r, t in roles.items()})
                       for a, b, _ in slices)
        else:
            roles = data.roles()
            if perm is not None:  # one gather per epoch, then views: one launch, not one a batch
                perm = perm.to(self.device)
                roles = {r: t.index_select(0, perm) for r, t in roles.items()}
            batches = (Batch(**{r: t[a:b] for r, t in roles.items()}) for a, b, _ in slices)
        for (a, b, size), batch in zip(slices, batches):
            self.sync.share = (b - a) / size
            yield batch

    # -- state -------------------------------------------------------------------------------
    def _save(self, points: list[dict[str, Any]]) -> None:
        """Append the epoch's step ``points`` and its record, then checkpoint. A crash before the
        checkpoint leaves records too many, which resume drops: the checkpoint is the truth."""
        if self.run_dir is None or not self.world.is_main:
            return
        try:
            for name, records in ((STEPS, points), (HISTORY, self.history[-1:])):
                with open(self.run_dir / name, "a") as handle:
                    handle.write("".join(json.dumps(r) + "\n" for r in records))
                    handle.flush()
                    os.fsync(handle.fileno())
            counters = {"epoch": self.epoch, "step": self.step}
            save_checkpoint(self.run_dir / CHECKPOINT, self.model, self.optimizers,
                            rng_state(self.generator, self.device), counters)
        except OSError as exc:
            raise RunError(self._write_failed(exc)) from None

    def _write_failed(self, exc: OSError) -> str:
        done = self.epoch - 1
        kept = (f"the checkpoint of epoch {done} is intact" if done > 0 else
                "no checkpoint had been written yet")
        cause = ("the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT)
                 else exc.strerror or str(exc))
        fix = "free some space" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "fix that"
        return (f"cannot save epoch {self.epoch} in {self.run_dir}: {cause}; {kept}; {fix} "
                f"and continue with 'aegan train --resume {self.run_dir}'")

    def _restore(self) -> None:
        path = self.run_dir / CHECKPOINT
        rng, counters = load_checkpoint(path, self.model, self.optimizers)
        try:
            set_rng_state(self.generator, self.device, rng)
            self.epoch, self.step = int(counters["epoch"]), int(counters["step"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise RunError(f"{path} lacks its random state or counters ({type(exc).__name__}); "
                           "it was not written by this version of aegan; start a new run") from None
        rewrite = self.world.is_main
        self.history = kept_records(self.run_dir / HISTORY, "epoch", self.epoch, rewrite)
        kept_records(self.run_dir / STEPS, "step", self.step, rewrite)
        log.info("resumed from epoch %d (step %d)", self.epoch, self.step)

    def _point(self, points: list, sums: dict, count: int, mark: tuple,
               steps_per_epoch: int) -> tuple:
        """Append, as a step point, the mean losses of the batches since ``mark`` (this
        process's); return the new mark."""
        before, before_count = mark
        into = (self.step - 1) % steps_per_epoch + 1  # steps done in this epoch
        point: dict[str, Any] = {"step": self.step,
                                 "epoch": round(self.epoch + into / steps_per_epoch, 4)}
        point.update({f"train_{k}": float(v - before.get(k, 0)) / (count - before_count)
                      for k, v in sums.items()})
        points.append(point)
        return dict(sums), count

    # -- divergence --------------------------------------------------------------------------
    def _guard(self, sums: dict[str, Any], weights: bool) -> None:
        """Raise :class:`TrainingDiverged` when a running loss sum (NaN or infinite as soon as
        one of its terms is) or, with ``weights``, a weight is not finite."""
        bad = [f"train_{k}" for k, v in sums.items() if not math.isfinite(float(v))]
        if not bad and weights and not finite_weights(self.model):
            bad = ["the weights"]
        if not bad:
            return
        kept = (f"the checkpoint of epoch {self.epoch} in {self.run_dir} is kept and holds no NaN"
                if self.run_dir is not None and self.epoch > 0 else "nothing was saved")
        raise TrainingDiverged(
            f"training diverged at step {self.step} (epoch {self.epoch + 1}): {', '.join(bad)} "
            f"became NaN or infinite; {kept}; try a lower --lr (this run used "
            f"{self.optim_config.lr:g}), a larger --batch-size, or data scaled to a small range, "
            "in a new run")

    # -- the loop ----------------------------------------------------------------------------
    def evaluate(self, data: Batch | Streamed) -> dict[str, float]:
        """Example-weighted means of ``validation_step`` over ``data`` (under ``torchrun``:
        each process takes a contiguous share and the sums are added up)."""
        world, n = self.world, len(data)
        if n < world.size:  # too few to share: every process evaluates all
            world = distributed.World()
        a, b = distributed.shard(0, n, world)
        part = data.select(slice(a, b))
        sums: dict[str, torch.Tensor] = {}
        with torch.no_grad(), evaluating(self.model):
            for batch in self._batches(part, self.config.valid_batch_size, shuffle=False,
                                       world=distributed.World()):
                for key, value in self.model.validation_step(batch).items():
                    sums[key] = sums.get(key, 0) + value.detach().double() * len(batch)
        keys = list(sums)  # the model's order, the same on every process
        totals = distributed.all_sum([float(sums[k]) for k in keys], world, self.device)
        return {k: v / n for k, v in zip(keys, totals)}

    def _reduce(self, sums: dict[str, Any], count: int) -> tuple[dict[str, float], int]:
        """The epoch's loss sums and example count over every process."""
        keys = list(sums)  # the model's order, the same on every process
        totals = distributed.all_sum([float(sums[k]) for k in keys] + [count], self.world,
                                     self.device)
        return dict(zip(keys, totals[:-1])), int(totals[-1])

    def fit(self, train: Examples | Resampled | np.ndarray,
            valid: Examples | np.ndarray | None = None,
            resume: bool = False) -> list[dict[str, Any]]:
        """Train on ``train`` (examples, examples drawn afresh each epoch, or an array of
        inputs), validating on ``valid`` after every epoch; ``resume``: continue from the run
        folder's checkpoint. Returns the history, one record per epoch."""
        from tqdm.auto import tqdm

        cfg = self.config
        train, valid = as_examples(train), None if valid is None else as_examples(valid)
        # 1. Model, data and optimizers on the device; state restored when resuming.
        self.model.to(self.device).train()
        fast.prepare_model(self.model, cfg)  # channels-last, compile (aegan.train.fast)
        resampled = isinstance(train, Resampled)
        data = None if resampled else self._tensors(train)
        valid = self._tensors(valid) if valid is not None else None
        self.optimizers = self.model.configure_optimizers(self.optim_config)
        base_lrs = {n: [g["lr"] for g in o.param_groups] for n, o in self.optimizers.items()}
        if distributed.agree(resume, self.world, self.device):  # rank 0 decides for all
            self._restore()
        self.sync.remove()
        self.sync.install(self.optimizers)  # gradients averaged over processes (torchrun)
        steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
        total_steps = steps_per_epoch * cfg.epochs
        # The step itself: eager, or bf16 autocast and/or captured in a CUDA graph.
        # Several processes: no graph (the gradient all-reduce runs inside the step).
        step_cfg = dataclasses.replace(cfg, cuda_graph="off") if self.world.active else cfg
        run_step = fast.step_function(self.model, self.optimizers, step_cfg, self.device,
                                      self.optim_config.schedule, fold_sgd=not self.sync.active)

        scheduled = self.optim_config.schedule != "constant"
        set_lrs(self.optimizers, base_lrs, self.optim_config.schedule, self.step, total_steps)
        on_cpu = self.device.type == "cpu"
        monitor = self.model.monitor
        log_every = cfg.log_every or max(1, steps_per_epoch // STEP_POINTS)
        while self.epoch < cfg.epochs:
            # 2. One epoch of optimizer steps over shuffled batches.
            start, sums, count, points = time.perf_counter(), {}, 0, []
            mark = ({}, 0)  # the sums and count at the last step point
            bar = tqdm(total=steps_per_epoch, desc=f"{self.label} epoch {self.epoch + 1}/{cfg.epochs}".lstrip(),
                       leave=False, disable=((not self.progress) if self.progress is not None else None)
                       if self.world.is_main else True,
                       dynamic_ncols=True)
            if resampled:  # examples of this epoch: a function of the epoch, so resume is exact
                data = self._tensors(train.draw(self.epoch))
            for batch in self._batches(data, cfg.batch_size, shuffle=True):
                if scheduled:  # constant: set once above (a resumed state too)
                    set_lrs(self.optimizers, base_lrs, self.optim_config.schedule, self.step,
                            total_steps)
                out = run_step(batch, self.step)
                self.step += 1
                n = len(batch)
                for key, value in out.items():  # on the CPU a float costs no device sync
                    sums[key] = sums.get(key, 0) + (float(value) if on_cpu else value) * n
                count += n
                if self.step % self.check_every == 0:  # 3a. divergence, within check_every steps
                    self._guard(sums, weights=self.check_every > 1)
                if self.step % log_every == 0:  # the training losses every few steps
                    mark = self._point(points, sums, count, mark, steps_per_epoch)
                bar.update()
                if bar.n % 50 == 0 and not bar.disable and monitor in sums:
                    bar.set_postfix({monitor: f"{float(sums[monitor]) / count:.4f}"})
            bar.close()
            sums, count = self._reduce(sums, count) if self.world.active else (sums, count)
            record: dict[str, Any] = {"epoch": self.epoch + 1, "step": self.step}
            record.update({f"train_{k}": float(v) / count for k, v in sums.items()})

            # 3b. Divergence guard at the epoch's end, weights included: never checkpoint a NaN.
            self._guard(sums, weights=True)

            # 4. Validation, history, checkpoint, callbacks.
            if valid is not None:
                record.update({f"valid_{k}": v for k, v in self.evaluate(valid).items()})
            record["time_s"] = round(time.perf_counter() - start, 4)
            self.history.append(record)
            self.steps += points
            self.epoch += 1
            self._save(points)
            for callback in self.callbacks:
                callback(EpochEnd(record, cfg.epochs, self.label))
        return self.history


def as_examples(data) -> Examples | Resampled:
    """Examples, or an array taken as the inputs of examples without other roles."""
    return data if isinstance(data, (Examples, Resampled)) else Examples(data)


class Streamed:
    """Examples on the host read batch by batch through a ``DataLoader``."""

    def __init__(self, examples: Examples):
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def select(self, index: slice) -> Streamed:
        return Streamed(self.examples.select(index))

    def read(self, batches: list[np.ndarray], num_workers: int, device: torch.device):
        pin = device.type == "cuda"
        roles = self.examples.roles()
        for tensors in stream.loader(list(roles.values()), batches, num_workers, pin):
            yield Batch(**{role: t.to(device, non_blocking=pin)
                           for role, t in zip(roles, tensors)})
