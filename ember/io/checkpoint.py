"""``ember.save`` / ``ember.load``: nested Python structures with tensors, as safetensors + JSON.

Tensors (and NumPy arrays) go into the safetensors data under their dotted
path (``model.layers.0.weight``); everything else (dicts, lists, tuples,
numbers, strings, booleans, None) becomes JSON in the file's metadata, with
tensors replaced by references. Loading builds only those types: no pickle,
no imports, no code from the file.
"""

from __future__ import annotations

import json
import math

import numpy as np

from ..errors import CheckpointError
from ..tensor import Tensor
from .safetensors import load_file, save_file

__all__ = ["save", "load"]

_FORMAT = "ember-checkpoint/1"


def _encode(obj, path: str, tensors: dict):
    if isinstance(obj, Tensor):
        return {
            "__tensor__": _put(tensors, path, obj.data),
            "parameter": type(obj).__name__ == "Parameter",
            "requires_grad": bool(obj.requires_grad and obj.grad_fn is None),
        }
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": _put(tensors, path, obj)}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else {"__float__": repr(f)}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and not any(k.startswith("__") and k.endswith("__") for k in obj):
            return {k: _encode(v, f"{path}.{k}" if path else k, tensors) for k, v in obj.items()}
        items = []
        for k, v in obj.items():
            if not (k is None or isinstance(k, (str, int, float, bool))):
                raise TypeError(
                    f"ember.save: dict key {k!r} of type {type(k).__name__} cannot be stored (use str, int, float or bool)"
                )
            items.append([_encode(k, "", tensors), _encode(v, f"{path}.{k}" if path else str(k), tensors)])
        return {"__dict__": items}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{path}.{i}" if path else str(i), tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{path}.{i}" if path else str(i), tensors) for i, v in enumerate(obj)]
    raise TypeError(
        f"ember.save: cannot store an object of type {type(obj).__name__} at {path or 'the top level'!r}; "
        "checkpoints hold tensors, arrays, dicts, lists, tuples, numbers, strings, booleans and None"
    )


def _put(tensors: dict, path: str, arr: np.ndarray) -> str:
    name = path or "tensor"
    k = 1
    while name in tensors:
        k += 1
        name = f"{path}#{k}"
    tensors[name] = arr
    return name


def save(obj, f) -> None:
    """Save ``obj`` (a state dict, or nested dicts/lists of tensors, numbers, strings, None) to ``f``.

    The write is atomic: a temporary file in the same folder, flushed and
    fsynced, then renamed; a save that dies half-way leaves the old file intact.

    Example:
        >>> ember.save({"model": model.state_dict(), "epoch": 3}, "ckpt.safetensors")
    """
    tensors: dict = {}
    structure = _encode(obj, "", tensors)
    meta = {"format": _FORMAT, "structure": json.dumps(structure, separators=(",", ":"))}
    save_file(tensors, f, meta)


def _decode(node, arrays: dict, used: set, where: str):
    if node is None or isinstance(node, (bool, str, int, float)):
        return node
    if isinstance(node, list):
        return [_decode(v, arrays, used, where) for v in node]
    if not isinstance(node, dict):
        raise CheckpointError(f"{where}: unexpected JSON value of type {type(node).__name__}")
    if "__tensor__" in node or "__ndarray__" in node:
        key = node.get("__tensor__", node.get("__ndarray__"))
        if not isinstance(key, str) or key not in arrays:
            raise CheckpointError(f"{where}: the structure refers to tensor {key!r}, which the file does not contain")
        used.add(key)
        arr = arrays[key]
        if "__ndarray__" in node:
            return arr
        if node.get("parameter"):
            from ..nn.parameter import Parameter

            return Parameter(arr, requires_grad=bool(node.get("requires_grad", True)))
        t = Tensor(arr)
        if node.get("requires_grad") and arr.dtype.kind == "f":
            t.requires_grad = True
        return t
    if "__tuple__" in node:
        items = node["__tuple__"]
        if not isinstance(items, list):
            raise CheckpointError(f"{where}: corrupted tuple entry")
        return tuple(_decode(v, arrays, used, where) for v in items)
    if "__dict__" in node:
        items = node["__dict__"]
        if not isinstance(items, list) or not all(isinstance(p, list) and len(p) == 2 for p in items):
            raise CheckpointError(f"{where}: corrupted dict entry")
        out = {}
        for k, v in items:
            key = _decode(k, arrays, used, where)
            if isinstance(key, (list, dict)):
                raise CheckpointError(f"{where}: dict key of type {type(key).__name__} is not allowed")
            out[key] = _decode(v, arrays, used, where)
        return out
    if "__float__" in node:
        text = node["__float__"]
        if text not in ("inf", "-inf", "nan"):
            raise CheckpointError(f"{where}: invalid special float {text!r}")
        return float(text)
    return {k: _decode(v, arrays, used, where) for k, v in node.items()}


def load(f, map_location=None, weights_only: bool = True):
    """Load what ``ember.save`` wrote (or a plain safetensors file, as a dict of tensors).

    Raises ``CheckpointError`` for a truncated, corrupted or hostile file.
    """
    arrays, meta = load_file(f)
    where = str(f)
    if meta.get("format") != _FORMAT or "structure" not in meta:
        return {k: Tensor(v) for k, v in arrays.items()}
    try:
        structure = json.loads(meta["structure"])
        return _decode(structure, arrays, set(), where)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{where}: corrupted checkpoint structure (not valid JSON): {e}") from None
    except RecursionError:
        raise CheckpointError(f"{where}: hostile checkpoint structure: nested too deeply") from None
