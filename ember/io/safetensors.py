"""The safetensors file format, read and written with NumPy alone.

Layout: an 8-byte little-endian header length ``n``, ``n`` bytes of JSON
(``{name: {"dtype", "shape", "data_offsets"}, "__metadata__": {str: str}}``),
then the raw little-endian tensor bytes. Reading validates everything before
trusting it (sizes, offsets, dtypes, overlap) and raises ``CheckpointError``;
nothing in a file is ever executed.
"""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from ..errors import CheckpointError

__all__ = ["save_file", "load_file", "MAX_HEADER_BYTES"]

MAX_HEADER_BYTES = 100 * 1024 * 1024

_CODES = {
    np.dtype(np.float16): "F16",
    np.dtype(np.float32): "F32",
    np.dtype(np.float64): "F64",
    np.dtype(np.int8): "I8",
    np.dtype(np.int16): "I16",
    np.dtype(np.int32): "I32",
    np.dtype(np.int64): "I64",
    np.dtype(np.uint8): "U8",
    np.dtype(np.bool_): "BOOL",
}
_DTYPES = {code: dt.newbyteorder("<") for dt, code in _CODES.items()}


def _atomic_write(path: str, chunks) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def save_file(tensors: dict, path: str, metadata: dict | None = None) -> None:
    """Write a flat ``{name: ndarray}`` dict (and string metadata) as one safetensors file, atomically."""
    header = {}
    offset = 0
    arrays = []
    for name, arr in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"save_file: tensor names must be strings, got {name!r}")
        arr = np.asarray(arr)
        code = _CODES.get(arr.dtype)
        if code is None:
            raise TypeError(f"save_file: dtype {arr.dtype} of {name!r} cannot be stored in safetensors")
        arr = np.asarray(arr, dtype=arr.dtype.newbyteorder("<"), order="C")  # keeps 0-d arrays 0-d
        header[name] = {"dtype": code, "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
        arrays.append(arr)
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"save_file: metadata must map strings to strings, got {k!r}: {type(v).__name__}")
        header["__metadata__"] = metadata
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # align the data to 8 bytes, as the reference writer does
    chunks = [len(raw).to_bytes(8, "little"), raw] + [memoryview(a).cast("B") if a.size else b"" for a in arrays]
    _atomic_write(path, chunks)


def _reject_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise CheckpointError(f"corrupted checkpoint: duplicate key {k!r} in the header")
        out[k] = v
    return out


def load_file(path: str) -> tuple[dict, dict]:
    """Read a safetensors file: ``({name: ndarray}, metadata)``, each array a fresh writable copy."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"checkpoint file {path!r} does not exist") from None
    size = len(blob)
    if size < 8:
        raise CheckpointError(f"{path}: truncated checkpoint: {size} bytes, too short for the 8-byte header length")
    n = int.from_bytes(blob[:8], "little")
    if n > MAX_HEADER_BYTES:
        raise CheckpointError(f"{path}: header length {n} exceeds the limit of {MAX_HEADER_BYTES} bytes")
    if 8 + n > size:
        raise CheckpointError(
            f"{path}: truncated checkpoint: header says {n} bytes but the file has {size - 8} after the length"
        )
    try:
        header = json.loads(blob[8 : 8 + n].decode("utf-8"), object_pairs_hook=_reject_duplicates)
    except CheckpointError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: corrupted checkpoint header (not valid JSON): {e}") from None
    except RecursionError:
        raise CheckpointError(f"{path}: hostile checkpoint header: JSON nested too deeply") from None
    if not isinstance(header, dict):
        raise CheckpointError(
            f"{path}: corrupted checkpoint header: expected a JSON object, got {type(header).__name__}"
        )
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise CheckpointError(f"{path}: corrupted checkpoint: __metadata__ must map strings to strings")
    data = memoryview(blob)[8 + n :]
    extents = []
    tensors = {}
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise CheckpointError(f"{path}: corrupted entry {name!r}: expected dtype, shape and data_offsets")
        code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        dtype = _DTYPES.get(code) if isinstance(code, str) else None
        if dtype is None:
            raise CheckpointError(f"{path}: entry {name!r} has unsupported dtype {code!r}")
        if not isinstance(shape, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape
        ):
            raise CheckpointError(f"{path}: entry {name!r} has an invalid shape {shape!r}")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        ):
            raise CheckpointError(f"{path}: entry {name!r} has invalid data_offsets {offsets!r}")
        begin, end = offsets
        count = 1
        for s in shape:
            count *= s
        if not 0 <= begin <= end:
            raise CheckpointError(f"{path}: entry {name!r} has invalid data_offsets {offsets!r}")
        if end > len(data):
            raise CheckpointError(
                f"{path}: truncated or corrupted checkpoint: entry {name!r} ends at byte {end} but the data has {len(data)} bytes"
            )
        if end - begin != count * dtype.itemsize:
            raise CheckpointError(
                f"{path}: entry {name!r}: {end - begin} bytes do not hold shape {tuple(shape)} of {code} "
                f"({count * dtype.itemsize} bytes)"
            )
        extents.append((begin, end, name))
        arr = np.frombuffer(data[begin:end], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=True)
        if code == "BOOL" and arr.size and arr.view(np.uint8).max() > 1:
            raise CheckpointError(f"{path}: entry {name!r} holds bool values other than 0 and 1")
        tensors[name] = arr
    extents.sort()
    position = 0
    for begin, end, name in extents:
        if begin < position:
            raise CheckpointError(f"{path}: corrupted checkpoint: entry {name!r} overlaps another tensor's bytes")
        position = end
    if position != len(data):
        raise CheckpointError(
            f"{path}: corrupted checkpoint: the tensors cover {position} bytes but the data section has {len(data)}"
        )
    return tensors, metadata
