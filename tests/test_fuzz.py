"""Property-based fuzzing of everything that parses a user's bytes: the IDX reader (raw and
gzipped), the CSV / NPY / NPZ readers, the safetensors loader and the config parser. On random
and on mutated valid input each must either load correctly or raise the project's own error,
never crash with another exception (or hang: every input here is small).
"""

from __future__ import annotations

import gzip
import io
import json
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aegan.data.files import load_file
from aegan.data.idx import read_idx, read_idx_bytes
from aegan.errors import AeganError
from aegan.presets import PRESETS, get_preset
from aegan.run import RunConfig, parse_config
from aegan.weights import load_safetensors, save_safetensors

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# -- mutations of valid bytes ----------------------------------------------------------------
@st.composite
def mutated(draw, valid: bytes) -> bytes:
    """``valid`` with a few bytes flipped, a slice cut out, bytes inserted, or cut short."""
    raw = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        at = draw(st.integers(0, max(0, len(raw) - 1)))
        if kind == "flip" and raw:
            raw[at] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del raw[at:at + draw(st.integers(1, 16))]
        elif kind == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            del raw[at:]
    return bytes(raw)


def _idx(array: np.ndarray, code: int = 0x08) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


_IDX_OK = _idx(np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4))


def _loads_or_aegan_error(fn, *args):
    try:
        return fn(*args)
    except AeganError:
        return None


def _check_idx(result) -> None:
    if result is not None:
        assert isinstance(result, np.ndarray) and 1 <= result.ndim <= 4


@FUZZ
@given(st.binary(max_size=64) | mutated(_IDX_OK))
def test_idx_bytes(raw):
    _check_idx(_loads_or_aegan_error(read_idx_bytes, raw, "fuzz"))


@FUZZ
@given(mutated(gzip.compress(_IDX_OK)) | st.binary(max_size=48).map(lambda b: b"\x1f\x8b" + b))
def test_idx_gzip_file(tmp_path, raw):
    path = tmp_path / "fuzz.gz"
    path.write_bytes(raw)
    _check_idx(_loads_or_aegan_error(read_idx, path))


# -- user files: CSV, NPY, NPZ ---------------------------------------------------------------
def _check_dataset(data) -> None:
    if data is not None:
        assert len(data.train) >= 1 and len(data.valid) >= 1
        inputs = data.train.inputs
        assert inputs.dtype == np.float32 and np.isfinite(inputs).all()


_CELL = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                  st.integers(-10**6, 10**6).map(str), st.sampled_from(["", " ", "x", "1e999",
                                                                          "nan", '"1"', "1_0"]),
                  st.text(max_size=5))


@FUZZ
@given(st.lists(st.lists(_CELL, min_size=1, max_size=4), max_size=8).map(
    lambda rows: "\n".join(",".join(r) for r in rows)) | st.text(max_size=80))
def test_csv_reader(tmp_path, text):
    path = tmp_path / "fuzz.csv"
    path.write_text(text, encoding="utf-8")
    _check_dataset(_loads_or_aegan_error(load_file, path))


@FUZZ
@given(st.binary(max_size=200).map(lambda b: b"\x80" + b) | st.binary(max_size=120))
def test_csv_reader_bytes(tmp_path, raw):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(raw)
    _check_dataset(_loads_or_aegan_error(load_file, path))


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


_NPY_OK = _npy(np.linspace(0, 1, 24, dtype=np.float32).reshape(6, 4))
_NPZ_OK = _npz(x=np.ones((6, 2), np.float64), y=np.arange(6))


@FUZZ
@given(st.binary(max_size=160) | mutated(_NPY_OK)
       | mutated(_NPY_OK[:128]).map(lambda head: head + _NPY_OK[128:]))
def test_npy_reader(tmp_path, raw):
    path = tmp_path / "fuzz.npy"
    path.write_bytes(raw)
    _check_dataset(_loads_or_aegan_error(load_file, path))


@FUZZ
@given(mutated(_NPZ_OK) | st.binary(max_size=100).map(lambda b: b"PK\x03\x04" + b))
def test_npz_reader(tmp_path, raw):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(raw)
    _check_dataset(_loads_or_aegan_error(load_file, path))


@FUZZ
@given(st.sampled_from([np.float16, np.float64, np.int8, np.uint64, np.bool_, np.complex64,
                        "U3", "V4", [("a", "<f4")]]),
       st.lists(st.integers(0, 3), min_size=0, max_size=5))
def test_npy_of_any_dtype_and_shape(tmp_path, dtype, shape):
    path = tmp_path / "arr.npy"
    np.save(path, np.zeros(shape, dtype=dtype))
    _check_dataset(_loads_or_aegan_error(load_file, path))


# -- safetensors -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def safetensors_ok(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("st") / "ok.safetensors"
    save_safetensors(path, {"w": torch.arange(6.0).reshape(2, 3), "n": torch.tensor([7])},
                     {"counters": {"epoch": 1}})
    return path.read_bytes()


@FUZZ
@given(data=st.data())
def test_safetensors_loader(tmp_path, safetensors_ok, data):
    raw = data.draw(mutated(safetensors_ok) | st.binary(max_size=64))
    path = tmp_path / "fuzz.safetensors"
    path.write_bytes(raw)
    loaded = _loads_or_aegan_error(load_safetensors, path)
    if loaded is not None:  # whatever loads is what was written: the digest covers it all
        tensors, meta = loaded
        assert set(tensors) == {"w", "n"} and meta == {"counters": {"epoch": 1}}
        assert torch.equal(tensors["w"], torch.arange(6.0).reshape(2, 3))
        assert torch.equal(tensors["n"], torch.tensor([7]))


# -- the config parser -----------------------------------------------------------------------
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8),
                                                                       children, max_size=4),
    max_leaves=12)
_VALID = [get_preset(name).to_dict() for name in sorted(PRESETS)]
_KEYS = [(section, key) for section in ("model", "data", "optim", "train")
         for key in _VALID[0][section]] + [("preset", None), ("sample_shape", None)]


def _check_config(result) -> None:
    if result is not None:
        assert isinstance(result, RunConfig)
        again = RunConfig.from_dict(json.loads(json.dumps(result.to_dict())))
        assert again.to_dict() == result.to_dict()
        for value in (result.optim.lr, result.optim.momentum, result.optim.weight_decay):
            assert math.isfinite(value)


@FUZZ
@given(st.sampled_from(_VALID), st.lists(st.tuples(st.sampled_from(_KEYS), _JSON), max_size=3))
def test_config_with_mutated_values(valid, changes):
    values = json.loads(json.dumps(valid))
    for (section, key), value in changes:
        if key is None:
            values[section] = value
        else:
            values[section][key] = value
    _check_config(_loads_or_aegan_error(parse_config, json.dumps(values)))


@FUZZ
@given(_JSON | st.dictionaries(st.sampled_from(["model", "data", "optim", "train", "preset"]),
                               _JSON, max_size=5))
def test_config_of_random_json(values):
    _check_config(_loads_or_aegan_error(parse_config, json.dumps(values)))


@FUZZ
@given(st.binary(max_size=80) | st.sampled_from([json.dumps(v) for v in _VALID]).map(str.encode)
       .flatmap(mutated) | st.integers(1, 3000).map(lambda n: "[" * n + "]" * n))
def test_config_of_random_text(raw):
    _check_config(_loads_or_aegan_error(parse_config, raw))

