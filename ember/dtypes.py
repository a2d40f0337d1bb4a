"""ember's dtypes and PyTorch's type-promotion rules.

A dtype is a small object wrapping a NumPy dtype, printed as ``ember.float32``.
Promotion follows PyTorch: categories bool < integer < floating; within the
highest category present, dimensioned tensors decide before 0-d tensors, and
0-d tensors before Python scalars (so ``float32_tensor * 2.5`` stays float32,
and ``int_tensor * 2.5`` becomes the default float, float32).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "dtype",
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "bool",
    "half",
    "float",
    "double",
    "short",
    "int",
    "long",
    "get_default_dtype",
    "set_default_dtype",
    "promote_types",
    "result_type",
    "finfo",
    "iinfo",
]

_BOOL, _INT, _FLOAT = 0, 1, 2


class dtype:  # noqa: N801 - PyTorch's name
    """A tensor element type (``ember.float32``, ``ember.int64``, ...)."""

    __slots__ = ("name", "np", "category", "itemsize", "is_floating_point", "is_signed")

    def __init__(self, name: str, np_dtype: np.dtype, category: int) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.category = category
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == _FLOAT
        self.is_signed = self.np.kind != "u" and category != _BOOL

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):
        return self.name


float16 = dtype("float16", np.float16, _FLOAT)
float32 = dtype("float32", np.float32, _FLOAT)
float64 = dtype("float64", np.float64, _FLOAT)
uint8 = dtype("uint8", np.uint8, _INT)
int8 = dtype("int8", np.int8, _INT)
int16 = dtype("int16", np.int16, _INT)
int32 = dtype("int32", np.int32, _INT)
int64 = dtype("int64", np.int64, _INT)
bool = dtype("bool", np.bool_, _BOOL)  # noqa: A001 - PyTorch's name
half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001

ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool)
_BY_NUMPY = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}

_default_float = float32


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the floating dtype used for Python floats and new float tensors."""
    global _default_float
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {d}")
    _default_float = d


def to_dtype(d) -> dtype:
    """Convert an ember dtype, NumPy dtype, Python type or name to an ember dtype."""
    if d.__class__ is dtype:
        return d
    if d is builtins_float:
        return _default_float
    if d is builtins_int:
        return int64
    if d is builtins_bool:
        return bool
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    try:
        npd = np.dtype(d)
    except TypeError:
        raise TypeError(f"ember: {d!r} is not a dtype ember understands") from None
    try:
        return _BY_NUMPY[npd]
    except KeyError:
        supported = ", ".join(x.name for x in ALL)
        raise TypeError(f"ember: NumPy dtype {npd} is not supported (supported: {supported})") from None


def from_numpy_dtype(npd: np.dtype) -> dtype:
    try:
        return _BY_NUMPY[npd]
    except KeyError:
        return to_dtype(npd)


import builtins as _builtins  # noqa: E402

builtins_float, builtins_int, builtins_bool = _builtins.float, _builtins.int, _builtins.bool


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype that both ``a`` and ``b`` convert to (PyTorch's table)."""
    if a is b:
        return a
    # across categories the higher one wins unchanged (int32 + float16 -> float16);
    # within a category NumPy's table is PyTorch's (uint8 + int8 -> int16)
    if a.category != b.category:
        return a if a.category > b.category else b
    return _BY_NUMPY[np.promote_types(a.np, b.np)]


def _scalar_category(x) -> int:
    if isinstance(x, builtins_bool):
        return _BOOL
    if isinstance(x, builtins_int):
        return _INT
    return _FLOAT


def _default_for(category: int) -> dtype:
    return (bool, int64, _default_float)[category]


def result_type(*operands) -> dtype:
    """The dtype of an elementwise op over tensors and Python scalars.

    Follows PyTorch: the highest category among all operands wins; within it,
    dimensioned tensors decide, then 0-d tensors, then Python scalars (which
    give the default dtype of their category).
    """
    dims = zero = None
    scalar_cat = -1
    for x in operands:
        d = getattr(x, "dtype", None)
        if d is None:
            scalar_cat = max(scalar_cat, _scalar_category(x))
        elif x.ndim:
            dims = d if dims is None else promote_types(dims, d)
        else:
            zero = d if zero is None else promote_types(zero, d)
    result = dims
    if zero is not None:
        if result is None or zero.category > result.category:
            result = zero
    if scalar_cat >= 0 and (result is None or scalar_cat > result.category):
        result = _default_for(scalar_cat)
    return result


class finfo:  # noqa: N801
    """Machine limits of a floating dtype (like ``torch.finfo``)."""

    def __init__(self, d: dtype = None) -> None:
        d = to_dtype(d) if d is not None else _default_float
        info = np.finfo(d.np)
        self.dtype = d
        self.bits = info.bits
        self.eps = builtins_float(info.eps)
        self.max = builtins_float(info.max)
        self.min = builtins_float(info.min)
        self.tiny = builtins_float(info.tiny)
        self.smallest_normal = self.tiny
        self.resolution = builtins_float(info.resolution)


class iinfo:  # noqa: N801
    """Machine limits of an integer dtype (like ``torch.iinfo``)."""

    def __init__(self, d: dtype) -> None:
        d = to_dtype(d)
        info = np.iinfo(d.np)
        self.dtype = d
        self.bits = info.bits
        self.max = builtins_int(info.max)
        self.min = builtins_int(info.min)
