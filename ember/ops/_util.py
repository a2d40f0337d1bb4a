"""Helpers shared by the op families: operand conversion, dims, error text."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import dtypes as _dt
from ..errors import ShapeError
from ..tensor import Tensor

__all__ = [
    "broadcast_view",
    "cached",
    "is_channel_major",
    "binary_arrays",
    "data_of",
    "norm_dim",
    "norm_dims",
    "broadcast_error",
    "broadcast_clash",
]


def data_of(x):
    """The ndarray behind a tensor, or the value itself for Python scalars."""
    return x.data if isinstance(x, Tensor) else x


def binary_arrays(op: str, a, b):
    """Operands of an elementwise op as arrays (or weak Python scalars) of the promoted dtype."""
    a_is_t = isinstance(a, Tensor)
    b_is_t = isinstance(b, Tensor)
    if a_is_t and b_is_t:
        ad, bd = a.data, b.data
        if ad.dtype is bd.dtype or ad.dtype == bd.dtype:
            return ad, bd
        dt = _dt.result_type(a, b).np
        return ad.astype(dt, copy=False), bd.astype(dt, copy=False)
    if a_is_t:
        t, s, tensor_first = a, b, True
    elif b_is_t:
        t, s, tensor_first = b, a, False
    else:
        raise TypeError(f"{op}: expected at least one tensor operand, got {type(a).__name__} and {type(b).__name__}")
    if isinstance(s, np.ndarray):
        s = Tensor(s)
        return binary_arrays(op, a if a_is_t else s, b if b_is_t else s)
    if not isinstance(s, (int, float, bool, np.number, np.bool_)):
        raise TypeError(f"{op}: unsupported operand type {type(s).__name__} with a tensor")
    td = t.data
    cat = td.dtype.kind
    if isinstance(s, (bool, np.bool_)):
        ok = True
    elif isinstance(s, (int, np.integer)):
        ok = cat != "b"
    else:
        ok = cat in "fc"
    if ok:
        if isinstance(s, np.generic):
            s = s.item()
        return (td, s) if tensor_first else (s, td)
    dt = _dt.result_type(t, s).np
    td = td.astype(dt)
    s = dt.type(s)
    return (td, s) if tensor_first else (s, td)


_ORDINALS = ("first", "second", "third", "fourth")


def broadcast_clash(*shapes) -> tuple | None:
    """``(dim, j, k)``: the first dimension (counted from the right, negative) where operands ``j`` and ``k``
    have sizes that do not broadcast, or None when all the shapes broadcast together."""
    n = max(len(s) for s in shapes)
    for i in range(1, n + 1):
        first = None
        for k, s in enumerate(shapes):
            size = s[-i] if i <= len(s) else 1
            if size == 1:
                continue
            if first is None:
                first = k
            elif shapes[first][-i] != size:
                return -i, first, k
    return None


def broadcast_error(op: str, *shapes, names: Sequence[str] | None = None) -> ShapeError:
    """A ShapeError naming every operand's shape and the first axis (from the right) that clashes.

    Unnamed operands read "shapes (2, 3) and (4, 3) do not broadcast: dimension -2 has size 2 in the first
    and 4 in the second"; with ``names`` (one per shape) "mask (3, 5) and input (3, 4) ... in mask and ...".
    """
    shapes = tuple(tuple(s) for s in shapes)
    if names is None:
        listed = "shapes " + _join([str(s) for s in shapes])
        names = [f"the {w}" for w in _ORDINALS[: len(shapes)]] + [f"operand {i}" for i in range(4, len(shapes))]
    else:
        listed = _join([f"{name} {s}" for name, s in zip(names, shapes)])
    clash = broadcast_clash(*shapes)
    if clash is None:
        return ShapeError(f"{op}: {listed} do not broadcast")
    d, j, k = clash
    return ShapeError(
        f"{op}: {listed} do not broadcast: dimension {d} has size {shapes[j][d]} in {names[j]} and "
        f"{shapes[k][d]} in {names[k]}"
    )


def _join(items: list) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def norm_dim(dim: int, ndim: int, op: str) -> int:
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not -n <= dim < n:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return int(dim + n if dim < 0 else dim)


def norm_dims(dim, ndim: int, op: str) -> tuple:
    """``dim`` (None, int or sequence) as a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        return (norm_dim(dim, ndim, op),) if ndim else ()
    dims = tuple(sorted({norm_dim(d, ndim, op) for d in dim})) if ndim else ()
    return dims


def broadcast_view(a: np.ndarray, shape: tuple) -> np.ndarray:
    """A read-only view of ``a`` broadcast to ``shape`` (NumPy's rules, already checked by the caller).

    ``np.broadcast_to`` costs about 3 us a call in Python-level set-up; building the
    zero-stride view directly costs a third of that, and backward passes call this a lot.
    """
    if a.shape == shape:
        return a
    if not a.flags.c_contiguous:
        return np.broadcast_to(a, shape)
    lead = len(shape) - a.ndim
    strides = [0] * lead
    for n, target, st in zip(a.shape, shape[lead:], a.strides):
        strides.append(st if n == target else 0)
    view = np.ndarray(shape, a.dtype, a, 0, tuple(strides))
    view.flags.writeable = False
    return view


def is_channel_major(a: np.ndarray) -> bool:
    """Whether ``a`` ``(N, C, ...)`` lies in ``(C, N, ...)`` memory: a convolution's output, or what kept its layout."""
    return a.ndim >= 2 and not a.flags.c_contiguous and a.swapaxes(0, 1).flags.c_contiguous


_CACHE_LIMIT = 512


def cached(store: dict, key, build, *args):
    """``build(*args)``, remembered in ``store`` under ``key``: checks and set-up that depend only on shapes
    and options, done once per call signature. Unhashable keys (a list among the options) are not
    remembered; the store is emptied when it grows past ``_CACHE_LIMIT`` entries."""
    try:
        return store[key]
    except KeyError:
        pass
    except TypeError:
        return build(*args)
    value = build(*args)
    if len(store) >= _CACHE_LIMIT:
        store.clear()
    store[key] = value
    return value
