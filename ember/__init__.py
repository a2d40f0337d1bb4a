"""ember: a deep-learning framework in Python, on NumPy and Numba.

Eager tensors with reverse-mode autograd (``ember.Tensor``), PyTorch-style
``ember.nn``/``ember.optim``/``ember.data``. Subpackages load on first use, so
``import ember`` stays fast.
"""

from __future__ import annotations

import importlib

from . import _allocator
from . import dtypes as _dtypes
from .autograd import enable_grad, grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .creation import *  # noqa: F403
from .creation import __all__ as _creation_all
from .dtypes import (
    bool,  # noqa: A004
    double,
    dtype,
    finfo,
    float,  # noqa: A004
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    iinfo,
    int,  # noqa: A004
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    result_type,
    set_default_dtype,
    short,
    uint8,
)
from .errors import AutogradError, CheckpointError, DTypeError, EmberError, ShapeError
from .ops import elementwise as _elementwise
from .ops import index as _index
from .ops import linalg as _linalg
from .ops import reduce as _reduce
from .ops import shape as _shape
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .tensor import Tensor

__version__ = "0.1.0"

_OP_FAMILIES = (_elementwise, _reduce, _shape, _index, _linalg)
_ops_all = []
for _family in _OP_FAMILIES:
    for _name in _family.__all__:
        globals()[_name] = getattr(_family, _name)
        _ops_all.append(_name)
del _family, _name

_SUBPACKAGES = (
    "autograd",
    "nn",
    "optim",
    "data",
    "io",
    "linalg",
    "jit",
    "onnx",
    "distributed",
    "utils",
    "keras",
    "kernels",
)

__all__ = [
    "Tensor",
    "dtype",
    "float16",
    "float32",
    "float64",
    "half",
    "double",
    "float",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "short",
    "int",
    "long",
    "bool",
    "finfo",
    "iinfo",
    "get_default_dtype",
    "set_default_dtype",
    "promote_types",
    "result_type",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "inference_mode",
    "grad",
    "manual_seed",
    "seed",
    "initial_seed",
    "get_rng_state",
    "set_rng_state",
    "Generator",
    "EmberError",
    "ShapeError",
    "DTypeError",
    "CheckpointError",
    "AutogradError",
    "is_tensor",
    "numel",
    *_creation_all,
    *_ops_all,
]


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    return input.data.size


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name in ("save", "load"):
        io = importlib.import_module(".io", __name__)
        return getattr(io, name)
    raise AttributeError(f"module 'ember' has no attribute {name!r}")


del _dtypes

_allocator.tune()  # big per-step arrays reuse the process's pages (see ember/_allocator.py)
