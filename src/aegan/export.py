"""Networks that leave aegan: ``aegan export RUN --format onnx|torchscript --out DIR``.

Each network a user would deploy is exported on its own, chosen by the capability that offers
it (:data:`PARTS`: the encoder of an :class:`~aegan.models.Encoder`, the decoder or generator
of a :class:`~aegan.models.Decoder`, the classifier of a :class:`~aegan.models.Labeller`, the
translator of a :class:`~aegan.models.Translator`, the forecaster of a
:class:`~aegan.models.Predictor`, the denoiser of an :class:`~aegan.models.IterativeSampler`
with its noise schedule in ``export.json``: the encoder and decoder of such a model are whole
sampling loops, left to the user's sampler); a family with a new capability adds a row with
:func:`exportable`, never a branch on its name. Every export takes any batch size, and is
checked before anything is written: it is run (onnxruntime for ONNX, ``torch.jit.load`` for
TorchScript) on random inputs of two batch sizes other than the one it was traced with, and
its outputs must equal PyTorch's within :data:`TOLERANCE`. The folder gets a README.md and an
``export.json`` of each file's inputs and outputs: names, shapes, types, value ranges.

ONNX files are written by PyTorch's TorchScript-based exporter (opset :data:`OPSET`), which
needs only the ``onnx`` package; an operation that ONNX cannot express is refused with its name.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from aegan import __version__
from aegan.capabilities import require_any
from aegan.errors import AeganError, ConfigError
from aegan.io import load_run
from aegan.models import (ConditionalSampler, Decoder, Encoder, IterativeSampler, Labeller,
                          Predictor, Translator, can)

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
OPSET = 17
TOLERANCE = 1e-4  # |exported - PyTorch| <= TOLERANCE * (1 + |PyTorch|)
TRACE_BATCH, CHECK_BATCHES = 2, (1, 5)


@dataclass(frozen=True)
class Port:
    """One input or output of an exported network: ``shape`` without the batch dimension."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # "float32" or "int64"
    range: tuple[float, float] | None  # None: unbounded

    def describe(self) -> str:
        low, high = self.range or (None, None)
        span = ("any value" if low is None else f"{low:g} .. {high:g}" if self.dtype == "int64"
                else f"[{low:g}, {high:g}]")
        return f"`{self.name}` [N, {', '.join(map(str, self.shape))}] {self.dtype}, {span}"

    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` random values of this port (uniform in its range; normal without one)."""
        if self.dtype == "int64":
            return torch.randint(int(self.range[0]), int(self.range[1]) + 1, (n, *self.shape),
                                 generator=generator)
        if self.range is None:
            return torch.randn((n, *self.shape), generator=generator)
        low, high = self.range
        return low + (high - low) * torch.rand((n, *self.shape), generator=generator)


class Call(nn.Module):
    """``forward(*inputs) = fn(model, *inputs)``: one capability of a model as a network."""

    def __init__(self, model: nn.Module, fn: Callable):
        super().__init__()
        self.model, self.fn = model, fn
        self.eval()  # exporters restore the mode they found: never training (noise, dropout)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.fn(self.model, *inputs)


@dataclass
class Network:
    """What one part of a model exports: a file stem, a description, the network, its ports."""

    name: str
    what: str
    module: nn.Module
    inputs: list[Port]
    outputs: list[Port]
    metadata: dict | None = None  # written beside the ports in export.json


@dataclass(frozen=True)
class Part:
    capability: type
    build: Callable[[nn.Module], Network]
    unless: type | None = None  # not for models that declare this capability


def _offered(part: Part, model) -> bool:
    return can(model, part.capability) and not (part.unless and can(model, part.unless))


PARTS: list[Part] = []


def exportable(capability: type, unless: type | None = None):
    """Register ``build(model) -> Network`` for the models that declare ``capability`` (and not
    ``unless``)."""

    def register(build):
        PARTS.append(Part(capability, build, unless))
        return build

    return register


def _range(model) -> tuple[float, float] | None:
    return None if model.value_range is None else tuple(float(v) for v in model.value_range)


def _inputs(model, name: str = "inputs") -> Port:
    return Port(name, tuple(model.sample_shape), "float32", _range(model))


def _out(model, module: nn.Module, inputs: list[Port], name: str, value_range) -> Port:
    """The output port, its shape read from a forward pass of ``module``."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        out = module(*(p.draw(1, generator) for p in inputs))
    dtype = "int64" if out.dtype == torch.int64 else "float32"
    return Port(name, tuple(out.shape[1:]), dtype, value_range)


@exportable(Encoder, unless=IterativeSampler)
def _encoder(model) -> Network:
    module, inputs = Call(model, lambda m, x: m.encode(x)), [_inputs(model)]
    return Network("encoder", "the encoder: examples to their codings (for a VAE, the mean of "
                   "q(z|x))", module, inputs, [_out(model, module, inputs, "codings", None)])


def _coding_shape(model) -> tuple[int, ...]:
    if not can(model, Encoder):
        return (model.z_dim,)
    with torch.no_grad():
        return tuple(model.encode(torch.zeros((1, *model.sample_shape))).shape[1:])


@exportable(Decoder, unless=IterativeSampler)
def _decoder(model) -> Network:
    inputs = [Port("codings", _coding_shape(model), "float32", None)]
    if can(model, ConditionalSampler):  # decodes codings as examples of chosen classes
        inputs.append(Port("labels", (), "int64", (0, model.num_classes - 1)))
        module = Call(model, lambda m, z, y: m.decode(z, y))
    else:
        module = Call(model, lambda m, z: m.decode(z))
    name = "decoder" if can(model, Encoder) else "generator"
    what = ("the decoder: codings to examples" if name == "decoder" else
            "the generator: codings (drawn from N(0, I)) to new examples")
    return Network(name, what + (", of the classes given" if len(inputs) == 2 else ""), module,
                   inputs, [_out(model, module, inputs, "outputs", _range(model))])


@exportable(Labeller)
def _classifier(model) -> Network:
    module, inputs = Call(model, lambda m, x: m.predict(x)), [_inputs(model)]
    classes = (0, model.spec.num_classes - 1)
    return Network("classifier", "the classifier: examples to their most probable class",
                   module, inputs, [_out(model, module, inputs, "labels", classes)])


@exportable(Translator)
def _translator(model) -> Network:
    module, inputs = Call(model, lambda m, x: m.translate(x)), [_inputs(model)]
    return Network("translator", "the translator: inputs to outputs (its targets' kind)",
                   module, inputs, [_out(model, module, inputs, "outputs", _range(model))])


@exportable(Predictor)
def _forecaster(model) -> Network:
    targets = model.spec.shapes.get("targets")
    steps = targets[0] if targets is not None else 1  # the horizon it was trained for
    module = Call(model, lambda m, x: m.predict_frames(x, steps))
    inputs = [_inputs(model, "context")]
    return Network("forecaster", f"the forecaster: context frames to the {steps} that follow",
                   module, inputs, [_out(model, module, inputs, "frames", _range(model))])


@exportable(IterativeSampler)
def _denoiser(model) -> Network:
    schedule = model.schedule()
    inputs = [Port("noisy", tuple(model.sample_shape), "float32", None),
              Port("timesteps", (), "int64", (0, model.num_timesteps - 1))]
    if can(model, ConditionalSampler):  # the label num_classes: no class (unguided)
        inputs.append(Port("labels", (), "int64", (0, model.num_classes)))
        module = Call(model, lambda m, x, t, y: m.denoise(x, t, y))
    else:
        module = Call(model, lambda m, x, t: m.denoise(x, t))
    prediction = schedule["prediction"]
    what = (f"the denoiser: noisy images x_t at timesteps t (0 to {model.num_timesteps - 1}) to "
            f"its prediction of {PREDICTIONS.get(prediction, prediction)}; export.json holds the "
            "schedule (alphas_cumprod) a sampler needs")
    return Network("denoiser", what, module, inputs,
                   [_out(model, module, inputs, "prediction", None)], {"schedule": schedule})


PREDICTIONS = {"eps": "the noise (epsilon)", "x0": "the clean image x0",
               "v": "v = sqrt(abar) eps - sqrt(1 - abar) x0"}


# -- formats -----------------------------------------------------------------------------------
def check_format(fmt: str) -> None:
    """Refuse an unknown format, and ONNX without its packages, before any work."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "onnx":
        try:
            import onnx  # noqa: F401
            import onnxruntime  # noqa: F401
        except ImportError:
            raise ConfigError("--format onnx needs the onnx and onnxruntime packages: pip install "
                              "'aegan[export]' (or use --format torchscript)") from None


@contextlib.contextmanager
def _quiet():
    """Silence the exporters: their warnings, and the graph dump PyTorch's ONNX exporter writes
    to standard output when it fails (the error itself is kept)."""
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def _write_onnx(net: Network, example: tuple, path: Path) -> Callable:
    names = [p.name for p in net.inputs + net.outputs]
    try:
        with _quiet():
            torch.onnx.export(net.module, example, str(path), dynamo=False, opset_version=OPSET,
                              input_names=[p.name for p in net.inputs],
                              output_names=[p.name for p in net.outputs],
                              dynamic_axes={n: {0: "batch"} for n in names})
    except torch.onnx.errors.UnsupportedOperatorError as exc:
        op = re.search(r"operator '([^']+)'", str(exc))
        raise AeganError(f"the {net.name} uses the operation {op.group(1) if op else exc}, which "
                         f"ONNX (opset {OPSET}) cannot express; export it with --format "
                         "torchscript") from None
    except (RuntimeError, torch.onnx.errors.OnnxExporterError) as exc:
        raise AeganError(f"the {net.name} cannot be exported to ONNX: "
                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; "
                         "export it with --format torchscript") from None
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda *xs: session.run(None, {p.name: x.numpy() for p, x in zip(net.inputs, xs)})


def _write_torchscript(net: Network, example: tuple, path: Path) -> Callable:
    try:  # TorchScript is deprecated in PyTorch (in favour of torch.export), still loadable
        with _quiet():
            traced = torch.jit.trace(net.module, example, check_trace=False)
            torch.jit.save(traced, str(path))
    except RuntimeError as exc:
        raise AeganError(f"the {net.name} cannot be traced to TorchScript: "
                         f"{str(exc).splitlines()[0]}") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        loaded = torch.jit.load(str(path))
    return lambda *xs: [loaded(*xs).detach().numpy()]


WRITERS = {"onnx": _write_onnx, "torchscript": _write_torchscript}


def _check(net: Network, run: Callable, fmt: str) -> float:
    """The largest difference between the export's outputs and PyTorch's, on random inputs of
    each of :data:`CHECK_BATCHES`; one beyond :data:`TOLERANCE` is refused."""
    generator, worst = torch.Generator().manual_seed(1), 0.0
    for n in CHECK_BATCHES:
        xs = tuple(p.draw(n, generator) for p in net.inputs)
        with torch.no_grad():
            want = net.module(*xs).numpy()
        try:
            got = np.asarray(run(*xs)[0])
        except Exception as exc:  # onnxruntime and TorchScript raise their own kinds
            raise AeganError(f"the {fmt} export of the {net.name} fails on a batch of {n} "
                             f"({type(exc).__name__}); it does not take other batch sizes"
                             ) from None
        if got.shape != want.shape:
            raise AeganError(f"the {fmt} export of the {net.name} gives shape {list(got.shape)} "
                             f"for a batch of {n}, PyTorch {list(want.shape)}")
        diff = np.abs(got.astype(np.float64) - want) / (1 + np.abs(want))
        worst = max(worst, float(diff.max()))
    if worst > TOLERANCE:
        raise AeganError(f"the {fmt} export of the {net.name} differs from PyTorch by {worst:.2g}"
                         f" (more than {TOLERANCE:g}); nothing was written")
    return worst


def networks(model) -> list[Network]:
    """The networks of ``model`` that :data:`PARTS` export, in the table's order."""
    return [part.build(model) for part in PARTS if _offered(part, model)]


def export_model(model, fmt: str, out: str | Path, source: str = "") -> list[dict]:
    """Export every network of ``model`` to the new folder ``out`` (absent or empty), each
    checked against PyTorch; then write README.md and export.json. A network that cannot be
    exported or does not check leaves ``out`` as it was. Returns one record per file."""
    check_format(fmt)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise AeganError(f"{out} already exists and is not an empty folder; choose another --out")
    require_any(model, tuple(p.capability for p in PARTS), "be exported (aegan export writes "
                "encoders, decoders, generators, classifiers, translators, forecasters and "
                "denoisers)",
                source or "this model")
    model = model.eval()
    records = []
    with tempfile.TemporaryDirectory(prefix="aegan-export-") as tmp:
        for net in networks(model):
            file = net.name + FORMATS[fmt]
            example = tuple(p.draw(TRACE_BATCH, torch.Generator().manual_seed(0))
                            for p in net.inputs)
            run = WRITERS[fmt](net, example, Path(tmp) / file)
            records.append({"file": file, "what": net.what, "max_difference": _check(net, run, fmt),
                            "inputs": [asdict(p) for p in net.inputs],
                            "outputs": [asdict(p) for p in net.outputs],
                            **(net.metadata or {})})
        manifest = {"format": fmt, "source": source, "aegan": __version__,
                    "torch": torch.__version__, "opset": OPSET if fmt == "onnx" else None,
                    "family": model.family, "networks": records}
        (Path(tmp) / "export.json").write_text(json.dumps(manifest, indent=2) + "\n")
        (Path(tmp) / "README.md").write_text(readme(manifest))
        shutil.copytree(tmp, out, dirs_exist_ok=True)
    return records


def export(run_dir: str | Path, fmt: str, out: str | Path) -> list[dict]:
    """Export a run's networks (:func:`export_model`)."""
    check_format(fmt)
    config, model = load_run(run_dir)
    return export_model(model, fmt, out, f"{Path(run_dir).name} ({config.preset or 'config'})")


# -- the folder's README -----------------------------------------------------------------------
USAGE = {
    "onnx": ("import numpy as np, onnxruntime\n"
             "session = onnxruntime.InferenceSession(\"{file}\")\n"
             "{outs}, = session.run(None, {{{feeds}}})"),
    "torchscript": ("import torch\n"
                    "network = torch.jit.load(\"{file}\")\n"
                    "with torch.no_grad():\n"
                    "    {outs} = network({args})"),
}


def readme(manifest: dict) -> str:
    """A short README of the exported files: what each is, its inputs and outputs."""
    fmt = manifest["format"]
    lines = [f"# {manifest['source'] or manifest['family']}, exported for {fmt}", "",
             f"Exported by aegan {manifest['aegan']} (PyTorch {manifest['torch']}"
             + (f", ONNX opset {manifest['opset']}" if manifest["opset"] else "") + ") from a "
             f"{manifest['family']} model. N, the batch size, may be any number. Each file was "
             f"run on random inputs of batches of {' and '.join(map(str, CHECK_BATCHES))} "
             f"before it was written: its outputs equal PyTorch's within {TOLERANCE:g} "
             "(relative to 1 + |value|).", ""]
    for record in manifest["networks"]:
        inputs = [Port(**{**p, "shape": tuple(p["shape"])}) for p in record["inputs"]]
        outputs = [Port(**{**p, "shape": tuple(p["shape"])}) for p in record["outputs"]]
        lines += [f"## {record['file']}", "", record["what"][0].upper() + record["what"][1:] + ".",
                  ""]
        lines += [f"- input {p.describe()}" for p in inputs]
        lines += [f"- output {p.describe()}" for p in outputs]
        lines += [f"- largest difference from PyTorch in the check: {record['max_difference']:.1e}",
                  "", "```python", USAGE[fmt].format(
                      file=record["file"], outs=", ".join(p.name for p in outputs),
                      feeds=", ".join(f'"{p.name}": {p.name}' for p in inputs),
                      args=", ".join(p.name for p in inputs)), "```", ""]
    return "\n".join(lines)
