"""ember.save / ember.load: round trips, hostile and broken files, atomic writes."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import ember as em
import ember.nn as nn
from ember.errors import CheckpointError
from ember.io import load_file, save_file


def _sample():
    return {
        "model": {"layers.0.weight": em.randn(3, 4), "layers.0.bias": em.zeros(4, dtype=em.float64)},
        "optimizer": {
            "state": {0: {"step": 3, "exp_avg": em.ones(2)}, 1: {}},
            "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1], "nesterov": False}],
        },
        "epoch": 2,
        "name": "run-1",
        "nothing": None,
        "rng": em.get_rng_state(),
        "special": [float("inf"), float("-inf")],
        "ints": em.tensor([1, 2, 3]),
        "mask": em.tensor([True, False]),
        "half": em.ones(2, dtype=em.float16),
        "array": np.arange(3, dtype=np.int32),
        "param": nn.Parameter(em.ones(2)),
        "scalar": em.tensor(3.5),
        "int_scalar": em.tensor(7),
    }


def _assert_same(a, b):
    if isinstance(a, em.Tensor):
        assert isinstance(b, em.Tensor) and a.dtype == b.dtype and type(a) is type(b)
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        assert a == b and type(a) is type(b)


def test_round_trip_keeps_structure_types_and_values(tmp_path):
    obj = _sample()
    em.save(obj, tmp_path / "c.safetensors")
    _assert_same(obj, em.load(tmp_path / "c.safetensors"))


def test_file_is_plain_safetensors_with_dotted_names(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    em.save(model.state_dict(), tmp_path / "m.safetensors")
    arrays, meta = load_file(tmp_path / "m.safetensors")
    assert list(arrays) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert meta["format"].startswith("ember-checkpoint")
    # the reference safetensors reader agrees
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    ref = safetensors_numpy.load_file(str(tmp_path / "m.safetensors"))
    for k, v in arrays.items():
        np.testing.assert_array_equal(ref[k], v)


def test_reads_files_written_by_the_reference_library(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    data = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([True, False])}
    safetensors_numpy.save_file(data, str(tmp_path / "ref.safetensors"))
    back = em.load(tmp_path / "ref.safetensors")
    assert back["a"].tolist() == data["a"].tolist() and back["b"].tolist() == [True, False]


def test_every_truncation_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "c.safetensors"
    em.save({"w": em.randn(4, 5), "step": 7}, path)
    blob = path.read_bytes()
    for cut in list(range(0, 40)) + list(range(40, len(blob), 7)):
        (tmp_path / "t.safetensors").write_bytes(blob[:cut])
        with pytest.raises(CheckpointError):
            em.load(tmp_path / "t.safetensors")


def test_flipped_bytes_in_header_never_crash_uncontrolled(tmp_path):
    path = tmp_path / "c.safetensors"
    em.save({"w": em.randn(4, 5), "b": em.zeros(3), "step": 7}, path)
    blob = bytearray(path.read_bytes())
    n = int.from_bytes(blob[:8], "little")
    rng = np.random.default_rng(0)
    for _ in range(300):
        bad = bytearray(blob)
        i = int(rng.integers(0, 8 + n))
        bad[i] ^= 1 << int(rng.integers(0, 8))
        (tmp_path / "f.safetensors").write_bytes(bytes(bad))
        try:
            em.load(tmp_path / "f.safetensors")
        except CheckpointError:
            pass


def _write_raw(path, header: dict, data: bytes = b"", raw_len: int | None = None):
    raw = json.dumps(header).encode()
    n = len(raw) if raw_len is None else raw_len
    path.write_bytes(n.to_bytes(8, "little") + raw + data)


@pytest.mark.parametrize(
    "header,data,match",
    [
        ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4, "ends at byte 8"),
        ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 12]}}, b"\0" * 12, "do not hold shape"),
        ({"w": {"dtype": "X99", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4, "unsupported dtype"),
        ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, "invalid shape"),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, b"\0" * 4, "invalid data_offsets"),
        (
            {
                "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
            },
            b"\0" * 4,
            "overlaps",
        ),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 9, "data section has 9"),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "extra": 1}}, b"\0" * 4, "expected dtype, shape"),
        (
            {"__metadata__": {"format": "ember-checkpoint/1", "structure": '{"__tensor__": "missing"}'}},
            b"",
            "does not contain",
        ),
        (
            {"__metadata__": {"format": "ember-checkpoint/1", "structure": "[" * 100000 + "]" * 100000}},
            b"",
            "nested too deeply",
        ),
        ({"__metadata__": {"format": 3}}, b"", "strings to strings"),
    ],
)
def test_hostile_headers_are_rejected_with_reasons(tmp_path, header, data, match):
    _write_raw(tmp_path / "h.safetensors", header, data)
    with pytest.raises(CheckpointError, match=match):
        em.load(tmp_path / "h.safetensors")


def test_oversized_and_lying_header_lengths(tmp_path):
    (tmp_path / "big.safetensors").write_bytes((2**62).to_bytes(8, "little") + b"{}")
    with pytest.raises(CheckpointError, match="exceeds the limit"):
        em.load(tmp_path / "big.safetensors")
    _write_raw(tmp_path / "lie.safetensors", {}, raw_len=1000)
    with pytest.raises(CheckpointError, match="truncated"):
        em.load(tmp_path / "lie.safetensors")
    (tmp_path / "junk.safetensors").write_bytes((5).to_bytes(8, "little") + b"\xff\xfe{{{")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        em.load(tmp_path / "junk.safetensors")


def test_unsupported_objects_are_refused_when_saving(tmp_path):
    with pytest.raises(TypeError, match="cannot store an object of type object at 'a'"):
        em.save({"a": object()}, tmp_path / "x.safetensors")
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_failed_save_leaves_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "c.safetensors"
    em.save({"w": em.ones(3)}, path)

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        em.save({"w": em.zeros(3)}, path)
    monkeypatch.undo()
    assert em.load(path)["w"].tolist() == [1.0, 1.0, 1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]


_KILLED_WRITER = """
import sys, ember as em, numpy as np
path = sys.argv[1]
big = {"w": em.tensor(np.full((4_000_000,), 2.0, np.float32)), "tag": "new"}
print("ready", flush=True)
while True:
    em.save(big, path)
"""


@pytest.mark.slow
def test_save_killed_half_way_leaves_a_loadable_file(tmp_path):
    path = tmp_path / "c.safetensors"
    em.save({"w": em.ones(3), "tag": "old"}, path)
    for delay in (0.05, 0.13, 0.31):
        proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(path)], stdout=subprocess.PIPE)
        proc.stdout.readline()
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        back = em.load(path)
        assert back["tag"] in ("old", "new")


def test_save_file_and_load_file_flat(tmp_path):
    save_file({"x": np.arange(4, dtype=np.int64)}, tmp_path / "f.safetensors", {"k": "v"})
    arrays, meta = load_file(tmp_path / "f.safetensors")
    assert arrays["x"].tolist() == [0, 1, 2, 3] and meta == {"k": "v"}
    arrays["x"][0] = 9  # loaded arrays are writable copies


def test_missing_file_error_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        em.load(tmp_path / "nope.safetensors")


def test_zero_dim_tensors_keep_their_shape(tmp_path):
    em.save({"step": em.tensor(3.0), "n": em.tensor(2)}, tmp_path / "s.safetensors")
    back = em.load(tmp_path / "s.safetensors")
    assert back["step"].shape == () and back["n"].shape == () and back["step"].item() == 3.0
