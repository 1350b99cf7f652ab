"""Several processes, one model: data-parallel training under ``torchrun``.

``torchrun --nproc_per_node=N -m aegan train …`` starts N copies of the command, each with
``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` in its environment. :func:`session` reads them,
joins the process group (NCCL on CUDA, gloo on the CPU), binds each process to the GPU of its
``LOCAL_RANK`` and leaves the group at the end. Without those variables it does nothing, and
every helper here is the identity, so one-process runs take exactly the code path they always
took.

The scheme is the synchronous data parallelism of DistributedDataParallel (Li et al. 2020,
"PyTorch Distributed", VLDB): the same weights everywhere, each process computes gradients on
its share of the global batch, the gradients are averaged, every process takes the same
optimizer step.

- ``--batch-size`` is the **global** batch: each of the N processes takes ``B / N`` examples
  of every batch, so a run on N processes follows the same trajectory as one process with
  batch B (up to the order of float32 sums). B must divide by N.
- Every process draws the same shuffled permutation (same seed) and takes its contiguous slice
  of each global batch (:func:`shard`); the last, partial global batch is split the same way
  (slices differing by one example at most), and dropped only when it has fewer examples than
  there are processes (a warning says so).
- Gradients are averaged by a hook on each optimizer's ``step()`` (:class:`GradSync`): models
  step their own optimizers inside ``training_step`` (the step contract of
  :mod:`aegan.models.base`), so wrapping the forward in ``DistributedDataParallel`` would need
  per-family code, while a step pre-hook covers one optimizer, two (a GAN's players) or any
  number with no change to the models. The hook weights each process's gradient by its share
  of the global batch, so the average is exact for the partial last batch too (for losses
  that are means over the batch, as all of aegan's are). Unlike DDP it does not overlap the
  all-reduce with the backward pass: one flat all-reduce per optimizer step.
- Only rank 0 writes (config, checkpoints, history, figures); the epoch's loss sums and the
  validation sums are all-reduced, so the history is the one-process history. Every rank
  loads the checkpoint on resume.
- BatchNorm keeps per-process statistics (no SyncBatchNorm); the global random stream (dropout,
  a VAE's noise) is the same on every process, which leaves gradients unbiased.
- A process that fails ends the run: ``torchrun`` stops the others, and every collective
  operation times out after ``AEGAN_DIST_TIMEOUT`` seconds (default 300) rather than hanging.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist

from aegan.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1


def from_env() -> World:
    """The world ``torchrun`` describes in the environment (rank 0 of 1 outside it)."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise ConfigError("RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers; start "
                          "several processes with torchrun --nproc_per_node=N") from None
    return World(rank, size, local)


def current() -> World:
    """The world of the joined process group, else rank 0 of 1."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size(), from_env().local_rank)
    return World()


def check_batch(world: World, batch_size: int) -> None:
    if batch_size % world.size:
        raise ConfigError(f"--batch-size {batch_size} is the global batch and must divide "
                          f"evenly among the {world.size} processes; choose a multiple of "
                          f"{world.size}")


@contextlib.contextmanager
def session(train_config) -> Iterator[World]:
    """Join the process group for the block when started by ``torchrun``; leave it after."""
    world = from_env()
    if not world.active or (dist.is_available() and dist.is_initialized()):
        yield current()
        return
    check_batch(world, train_config.batch_size)
    cuda = train_config.device != "cpu" and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(world.local_rank)
    try:
        timeout = datetime.timedelta(seconds=float(os.environ.get("AEGAN_DIST_TIMEOUT", "300")))
        dist.init_process_group("nccl" if cuda else "gloo", timeout=timeout)
    except (ValueError, RuntimeError) as exc:  # no rendezvous address, a peer that never came
        first = (str(exc).splitlines() or [""])[0][:160]
        raise ConfigError(f"cannot join the {world.size} training processes "
                          f"({type(exc).__name__}: {first}); start them with torchrun "
                          "--nproc_per_node=N, and AEGAN_DIST_TIMEOUT in seconds") from None
    try:
        yield current()
    finally:
        dist.destroy_process_group()


def device_for(device: torch.device, world: World) -> torch.device:
    """Each process's own GPU (by ``LOCAL_RANK``) when training on CUDA."""
    if world.active and device.type == "cuda":
        return torch.device("cuda", world.local_rank)
    return device


def shard(start: int, stop: int, world: World) -> tuple[int, int]:
    """This rank's contiguous slice ``[a, b)`` of the global batch ``[start, stop)``: sizes
    differ by one at most, the first ranks take the extra examples."""
    n = stop - start
    base, extra = divmod(n, world.size)
    a = start + world.rank * base + min(world.rank, extra)
    return a, a + base + (world.rank < extra)


def all_sum(values: list[float], world: World, device: torch.device) -> list[float]:
    """Element-wise sums of ``values`` over every process (float64)."""
    if not world.active:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def agree(flag: bool, world: World, device: torch.device) -> bool:
    """Rank 0's ``flag``, on every process (so all take the same branch)."""
    if not world.active:
        return flag
    t = torch.tensor([float(flag)], device=device)
    dist.broadcast(t, src=0)
    return bool(t.item())


class GradSync:
    """Averages the gradients of each optimizer's parameters over the processes, weighted by
    each process's share of the global batch, just before the optimizer steps."""

    def __init__(self, world: World):
        self.world = world
        self.share = 1.0  # this rank's examples / the global batch's, set per step
        self.handles: list = []

    @property
    def active(self) -> bool:
        """Whether hooks are installed (optimizer steps then average gradients first)."""
        return bool(self.handles)

    def install(self, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        if self.world.active:
            self.handles = [o.register_step_pre_hook(self._hook) for o in optimizers.values()]

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def _hook(self, optimizer: torch.optim.Optimizer, args, kwargs) -> None:
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads]) * self.share  # [P]
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()
