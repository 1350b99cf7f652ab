"""``aegan export``: every registered family (the cases of tests/test_models.py) and the
stand-in translator and forecaster, exported to ONNX and TorchScript, read back by onnxruntime
and ``torch.jit.load`` and run at batch sizes other than the traced one: outputs equal to
PyTorch's within 1e-4. An operation ONNX cannot express, a format without its packages, a run
with nothing to export: one line, exit 2, nothing written."""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from aegan.data import ExampleSpec
from aegan.errors import AeganError, CapabilityMissing, ConfigError
from aegan.export import TOLERANCE, export_model, networks
from aegan.models import Encoder, IterativeSampler, LatentSampler, Model
from tests.conftest import write_run
from tests.standins import Colorizer, Forecaster
from tests.test_models import CASES, _model

pytestmark = pytest.mark.usefixtures("one_thread")
try:
    import onnxruntime
except ImportError:  # the ONNX half skips; TorchScript needs nothing more than PyTorch
    onnxruntime = None
needs_onnx = pytest.mark.skipif(onnxruntime is None, reason="onnxruntime is not installed (pip "
                                "install 'aegan[export]'); the ONNX exports are not run")
BOTH = [pytest.param("onnx", marks=needs_onnx), "torchscript"]


def _load(path, fmt: str):
    """The exported file as a function of tensors, read as a user would read it."""
    if fmt == "onnx":
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        return lambda *xs: session.run(None, {n: x.numpy() for n, x in zip(names, xs)})[0]
    with warnings.catch_warnings():  # deprecated in PyTorch, in favour of torch.export
        warnings.simplefilter("ignore", DeprecationWarning)
        network = torch.jit.load(str(path))
    return lambda *xs: network(*xs).detach().numpy()


def _round_trip(model, fmt: str, out) -> None:
    records = export_model(model, fmt, out)
    manifest = json.loads((out / "export.json").read_text())
    assert [r["file"] for r in manifest["networks"]] == [r["file"] for r in records]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [r["file"] for r in records] + ["README.md", "export.json"])
    generator = torch.Generator().manual_seed(7)
    for net, record in zip(networks(model), records):
        run = _load(out / record["file"], fmt)
        for n in (3, 7):  # neither the traced batch nor the checked ones
            xs = [p.draw(n, generator) for p in net.inputs]
            with torch.no_grad():
                want = net.module(*xs).numpy()
            got = run(*xs)
            assert got.shape == want.shape == (n, *net.outputs[0].shape)
            np.testing.assert_allclose(got, want, rtol=TOLERANCE, atol=TOLERANCE)
        readme = (out / "README.md").read_text()
        shape = ", ".join(map(str, net.inputs[0].shape))
        assert record["file"] in readme and f"[N, {shape}]" in readme


@pytest.mark.parametrize("fmt", BOTH)
@pytest.mark.parametrize("name", CASES)
def test_every_family_round_trips(name, fmt, tmp_path):
    model = _model(name).eval()
    _round_trip(model, fmt, tmp_path / "out")
    names = [n.name for n in networks(model)]
    assert names, "every family has a network to deploy"
    if isinstance(model, IterativeSampler):  # its encoder and decoder are sampling loops
        assert names == ["denoiser"]
        record = json.loads((tmp_path / "out" / "export.json").read_text())["networks"][0]
        schedule = record["schedule"]
        assert len(schedule["alphas_cumprod"]) == model.num_timesteps == schedule["timesteps"]
        np.testing.assert_allclose(schedule["alphas_cumprod"], model.alphas_cumprod.numpy(),
                                   rtol=1e-6)
        assert schedule["prediction"] == model.config.prediction
    elif isinstance(model, Encoder):
        assert names[0] == "encoder"
    if isinstance(model, LatentSampler) and not isinstance(model, Encoder):
        assert "generator" in names  # a GAN's decoder is its generator


@pytest.mark.parametrize("fmt", BOTH)
def test_translator_and_forecaster_round_trip(fmt, tmp_path):
    _round_trip(Colorizer(), fmt, tmp_path / "translator")
    _round_trip(Forecaster(), fmt, tmp_path / "forecaster")
    (forecaster,) = networks(Forecaster())
    assert forecaster.inputs[0].shape == (3, 1, 8, 8)
    assert forecaster.outputs[0].shape == (2, 1, 8, 8)  # the horizon it was made for


@needs_onnx
def test_the_ports_say_shapes_types_and_ranges(tmp_path):
    model = _model("gan-conditional")
    export_model(model, "onnx", tmp_path / "out")
    (record,) = json.loads((tmp_path / "out" / "export.json").read_text())["networks"]
    assert record["file"] == "generator.onnx"
    assert record["inputs"] == [
        {"name": "codings", "shape": [6], "dtype": "float32", "range": None},
        {"name": "labels", "shape": [], "dtype": "int64", "range": [0, 2]}]
    assert record["outputs"] == [{"name": "outputs", "shape": [1, 8, 8], "dtype": "float32",
                                  "range": [-1.0, 1.0]}]
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "- input `labels` [N, ] int64, 0 .. 2" in readme
    assert "- output `outputs` [N, 1, 8, 8] float32, [-1, 1]" in readme
    conv = networks(_model("ae-conv"))
    assert conv[0].outputs[0].shape == conv[1].inputs[0].shape == (8, 3, 3)  # a feature map


class Bessel(Model, Encoder):
    """An encoder ONNX cannot express (a Bessel function of its features)."""

    family = "bessel"

    def __init__(self):
        super().__init__(None, ExampleSpec.of_shape((4,)))
        self.z_dim, self.linear = 2, nn.Linear(4, 2)

    def encode(self, x):
        return torch.special.bessel_j0(self.linear(x))


@needs_onnx
def test_an_operation_onnx_cannot_take_is_named_and_nothing_is_written(tmp_path, capfd):
    with pytest.raises(AeganError, match="the encoder uses the operation aten::special_bessel_j0, "
                       "which ONNX \\(opset 17\\) cannot express; export it with --format "
                       "torchscript"):
        export_model(Bessel(), "onnx", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert capfd.readouterr().out == ""  # PyTorch's graph dump is kept off the screen
    export_model(Bessel(), "torchscript", tmp_path / "ts")  # TorchScript takes it
    assert (tmp_path / "ts" / "encoder.pt").is_file()


def test_bad_inputs_are_one_line_exit_2_nothing_written(cli, tmp_path, monkeypatch):
    from aegan.models import VAEConfig

    vae = write_run(tmp_path / "vae", VAEConfig(encoder=[8], z_dim=2))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    cases = {
        ("export", tmp_path / "nope", "--format", "onnx", "--out", tmp_path / "o1"):
            "does not exist",
        ("export", vae, "--format", "onnx", "--out", tmp_path / "full"):
            "already exists and is not an empty folder",
        ("export", vae, "--format", "tflite", "--out", tmp_path / "o2"): "invalid choice",
    }
    for args, reason in cases.items():
        result = cli(*args)
        assert result.code == 2 and reason in result.err and result.err.count("\n") == 1, result.err
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    result = cli("export", vae, "--format", "onnx", "--out", tmp_path / "o3")
    assert result.code == 2 and "pip install 'aegan[export]'" in result.err
    assert not any((tmp_path / f"o{i}").exists() for i in (1, 2, 3))
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]
    with pytest.raises(ConfigError, match="pip install 'aegan\\[export\\]'"):
        export_model(_model("vae"), "onnx", tmp_path / "o4")
    monkeypatch.undo()
    result = cli("export", vae, "--format", "torchscript", "--out", tmp_path / "ok")
    assert result.code == 0 and "encoder.pt" in result.out and "decoder.pt" in result.out


def test_a_model_without_a_network_to_deploy_is_refused(tmp_path):
    class Nothing(Model):
        family = "nothing"

    with pytest.raises(CapabilityMissing, match="cannot be exported"):
        export_model(Nothing(None, ExampleSpec.of_shape((3,))), "torchscript", tmp_path / "out")
    assert not (tmp_path / "out").exists()
