"""Tensor creation: from data, filled, ranges, and random draws from ember's generator."""

from __future__ import annotations

import math

import numpy as np

from . import dtypes as _dt
from .random import numpy_generator
from .tensor import Tensor, as_array

__all__ = [
    "tensor",
    "as_tensor",
    "from_numpy",
    "zeros",
    "ones",
    "full",
    "empty",
    "arange",
    "linspace",
    "logspace",
    "eye",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "rand",
    "randn",
    "randint",
    "randperm",
    "rand_like",
    "randn_like",
    "randint_like",
    "normal",
    "bernoulli",
    "multinomial",
]


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    out = tuple(int(s) for s in size)
    for s in out:
        if s < 0:
            raise ValueError(f"negative dimension {s} in size {out}")
    return out


def _float_dtype(dtype) -> np.dtype:
    return (_dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)).np


def _finish(arr: np.ndarray, requires_grad: bool) -> Tensor:
    return Tensor(arr, requires_grad)


def tensor(data, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays or tensors).

    Example:
        >>> ember.tensor([[1.0, 2.0]], requires_grad=True)
        tensor([[1., 2.]], requires_grad=True)
    """
    return _finish(as_array(data, dtype), requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or tensor when no conversion is needed."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or _dt.to_dtype(dtype).np == data.dtype):
        _dt.from_numpy_dtype(data.dtype)
        return Tensor(data)
    return Tensor(as_array(data, dtype))


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array``: changes to one show in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    _dt.from_numpy_dtype(array.dtype)
    return Tensor(array)


def zeros(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _finish(np.zeros(_size(size), _float_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _finish(np.ones(_size(size), _float_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _finish(np.empty(_size(size), _float_dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``; the dtype follows the value's type."""
    if dtype is None:
        dtype = _dt.result_type(fill_value)
    return _finish(np.full(_size((size,)), fill_value, _dt.to_dtype(dtype).np), requires_grad)


def _like(t: Tensor, dtype):
    return t.data.shape, (t.data.dtype if dtype is None else _dt.to_dtype(dtype).np)


def zeros_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    shape, d = _like(input, dtype)
    return _finish(np.zeros(shape, d), requires_grad)


def ones_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    shape, d = _like(input, dtype)
    return _finish(np.ones(shape, d), requires_grad)


def empty_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    shape, d = _like(input, dtype)
    return _finish(np.empty(shape, d), requires_grad)


def full_like(input: Tensor, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    shape, d = _like(input, dtype)
    return _finish(np.full(shape, fill_value, d), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Values from ``start`` up to (not including) ``end`` by ``step``; int64 for integer arguments."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        d = np.int64 if is_int else _dt.get_default_dtype().np
    else:
        d = _dt.to_dtype(dtype).np
    n = max(0, math.ceil((end - start) / step))
    arr = (start + step * np.arange(n, dtype=np.float64 if np.dtype(d).kind == "f" else np.int64)).astype(d)
    return _finish(arr, requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _finish(np.linspace(start, end, int(steps)).astype(_float_dtype(dtype)), requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, dtype=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.logspace(start, end, int(steps), base=base).astype(_float_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


# ------------------------------------------------------------------------ random
def rand(*size, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1), drawn from ember's generator (seed it with ``ember.manual_seed``)."""
    d = _float_dtype(dtype)
    return _finish(numpy_generator(generator).random(_size(size), dtype=np.float64).astype(d), requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal, drawn from ember's generator."""
    d = _float_dtype(dtype)
    return _finish(numpy_generator(generator).standard_normal(_size(size)).astype(d), requires_grad)


def randint(low, high=None, size=None, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Integers in ``[low, high)``; ``randint(high, size)`` starts at 0."""
    if size is None:
        if isinstance(high, (tuple, list)):
            low, high, size = 0, low, high
        else:
            raise TypeError("randint: missing size, e.g. randint(0, 10, (3,))")
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: expected low < high, got low={low}, high={high}")
    d = np.int64 if dtype is None else _dt.to_dtype(dtype).np
    return _finish(numpy_generator(generator).integers(low, high, _size((size,))).astype(d), requires_grad)


def randperm(n: int, generator=None, dtype=None) -> Tensor:
    d = np.int64 if dtype is None else _dt.to_dtype(dtype).np
    return Tensor(numpy_generator(generator).permutation(int(n)).astype(d))


def rand_like(input: Tensor, dtype=None, generator=None) -> Tensor:
    return rand(input.shape, generator=generator, dtype=dtype or input.dtype)


def randn_like(input: Tensor, dtype=None, generator=None) -> Tensor:
    return randn(input.shape, generator=generator, dtype=dtype or input.dtype)


def randint_like(input: Tensor, low, high=None, dtype=None, generator=None) -> Tensor:
    return randint(low, high, input.shape, generator=generator, dtype=dtype or input.dtype)


def normal(mean=0.0, std=1.0, size=None, generator=None, dtype=None) -> Tensor:
    """Normal draws; ``mean`` and ``std`` may be tensors (broadcast) or numbers with ``size``."""
    m = mean.data if isinstance(mean, Tensor) else mean
    s = std.data if isinstance(std, Tensor) else std
    if size is None:
        size = np.broadcast_shapes(np.shape(m), np.shape(s))
    else:
        size = _size((size,))
    if isinstance(mean, Tensor) and dtype is None:
        d = mean.data.dtype
    elif isinstance(std, Tensor) and dtype is None:
        d = std.data.dtype
    else:
        d = _float_dtype(dtype)
    if np.any(np.asarray(s) < 0):
        raise ValueError(f"normal: std must be >= 0, got {s}")
    return Tensor(numpy_generator(generator).normal(m, s, size).astype(d))


def bernoulli(input: Tensor, p=None, generator=None) -> Tensor:
    """1 with probability ``input`` (or ``p``) per element, else 0; same dtype as ``input``."""
    probs = input.data if p is None else np.full(input.shape, p)
    if np.any((probs < 0) | (probs > 1)):
        raise ValueError("bernoulli: probabilities must be in [0, 1]")
    draws = numpy_generator(generator).random(input.shape) < probs
    return Tensor(draws.astype(input.data.dtype))


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, generator=None) -> Tensor:
    """Draw category indices with probabilities proportional to the rows of ``input``."""
    probs = np.asarray(input.data, dtype=np.float64)
    if probs.ndim not in (1, 2):
        raise ValueError(f"multinomial: expected a 1-d or 2-d tensor of probabilities, got shape {input.shape}")
    if np.any(probs < 0) or not np.all(np.isfinite(probs)):
        raise ValueError("multinomial: probabilities must be finite and non-negative")
    rows = probs.reshape(-1, probs.shape[-1])
    n_cat = rows.shape[1]
    if not replacement and num_samples > n_cat:
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement from {n_cat} categories")
    rng = numpy_generator(generator)
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, row in enumerate(rows):
        total = row.sum()
        if total <= 0:
            raise ValueError(f"multinomial: row {i} of the probabilities sums to {total}")
        if replacement:
            out[i] = rng.choice(n_cat, size=num_samples, replace=True, p=row / total)
        else:
            # Gumbel top-k: sampling without replacement in proportion to the weights
            with np.errstate(divide="ignore"):
                keys = np.log(row) - np.log(-np.log(rng.random(n_cat)))
            out[i] = np.argsort(-keys, kind="stable")[:num_samples]
    return Tensor(out.reshape(probs.shape[:-1] + (num_samples,)))
