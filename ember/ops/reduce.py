"""Reductions over ``dim`` (int or tuple, ``None`` for all) with ``keepdim``; scans, sorting and selection.

Ops that pick elements (``max(dim)``, ``sort``, ``topk``, ``median(dim)``, ...)
compute their indices with NumPy and share one differentiable gather
(``_TakeAlong``) whose gradient scatters back to the picked positions. Whole
reductions that pick a value (``max()``, ``amax``, ``median()``) split the
gradient evenly between ties, as PyTorch does.
"""

from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function, record_one
from ..autograd.grad_mode import state as _grad_state
from ..errors import AutogradError, DTypeError, ShapeError
from ..tensor import Tensor, new_tensor
from . import elementwise as _ew
from ._util import broadcast_view

__all__ = [
    "sum",
    "mean",
    "nansum",
    "nanmean",
    "prod",
    "max",
    "min",
    "amax",
    "amin",
    "aminmax",
    "argmax",
    "argmin",
    "var",
    "std",
    "var_mean",
    "std_mean",
    "logsumexp",
    "norm",
    "all",
    "any",
    "count_nonzero",
    "cumsum",
    "cumprod",
    "cummax",
    "cummin",
    "logcumsumexp",
    "sort",
    "argsort",
    "topk",
    "kthvalue",
    "median",
    "mode",
]

TENSOR_METHODS = list(__all__)
INPLACE_METHODS: list = []

# the named tuples PyTorch returns as torch.return_types.*
return_types = {
    name: namedtuple(name, ["values", "indices"])
    for name in ("max", "min", "sort", "topk", "kthvalue", "median", "mode", "cummax", "cummin")
}
return_types["aminmax"] = namedtuple("aminmax", ["min", "max"])


# ---------------------------------------------------------------------- helpers
_ALL_DIMS = tuple(tuple(range(n)) for n in range(65))  # dim=None: every axis (NumPy allows up to 64)


def _dim_error(op: str, dim, shape) -> IndexError:
    n = len(shape) or 1
    return IndexError(
        f"{op}: dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim}) "
        f"for input of shape {tuple(shape)}"
    )


def _dims(dim, shape: tuple, op: str) -> tuple:
    """``dim`` (None, int or sequence; empty means all) as a sorted tuple of non-negative axes."""
    ndim = len(shape)
    if dim is None:
        return _ALL_DIMS[ndim]
    n = ndim or 1
    if isinstance(dim, (int, np.integer)):
        if not -n <= dim < n:
            raise _dim_error(op, dim, shape)
        return (int(dim) % n,) if ndim else ()
    dims = tuple(dim)
    if not dims:
        return tuple(range(ndim))
    seen = []
    for d in dims:
        if not isinstance(d, (int, np.integer)):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
        if not -n <= d < n:
            raise _dim_error(op, d, shape)
        d = int(d) % n
        if d in seen:
            raise ShapeError(f"{op}: dim {d} appears multiple times in the list of dims {dim} (input shape {shape})")
        seen.append(d)
    return tuple(sorted(seen)) if ndim else ()


def _dim1(dim, shape: tuple, op: str) -> int:
    """One axis as a non-negative int (0 for a 0-d tensor)."""
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    n = len(shape) or 1
    if not -n <= dim < n:
        raise _dim_error(op, dim, shape)
    return int(dim) % n


def _keepdim_shape(shape: tuple, dims: tuple) -> tuple:
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def _reduced_shape(shape: tuple, dims: tuple, keepdim: bool) -> tuple:
    if keepdim:
        return _keepdim_shape(shape, dims)
    return tuple(n for i, n in enumerate(shape) if i not in dims)


def _count(shape: tuple, dims: tuple) -> int:
    c = 1
    for d in dims:
        c *= shape[d]
    return c


def expand_reduced(g: Tensor, in_shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Broadcast a reduced gradient back over the reduced axes of ``in_shape``."""
    if not _grad_state.enabled:
        # first-order backward: no graph bookkeeping; a single value (a full reduction,
        # the usual loss) is filled in, anything else becomes one broadcast view
        gd = g.data
        if gd.size == 1:
            out = np.empty(in_shape, gd.dtype)
            out.fill(gd.reshape(()) if gd.ndim else gd)
            return new_tensor(out, False, None, 0)
        if not keepdim and dims:
            gd = gd.reshape(_keepdim_shape(in_shape, dims))
        return Tensor(broadcast_view(gd, in_shape))
    if not keepdim and dims:
        g = g.reshape(_keepdim_shape(in_shape, dims))
    return g.expand(in_shape)


def _require_float(input: Tensor, op: str) -> None:
    if input.data.dtype.kind not in "fc":
        raise DTypeError(f"{op}: expected a floating point tensor, got {input.dtype} (shape {input.shape})")


def _check_nonempty(op: str, shape: tuple, dims: tuple) -> None:
    for d in dims:
        if shape[d] == 0:
            raise IndexError(f"{op}: expected reduction dim {d} to have non-zero size, input shape {shape}")


def _int_to_long(x: np.ndarray, dtype) -> np.ndarray:
    if dtype is not None:
        return x.astype(dtype.np, copy=False)
    if x.dtype.kind in "biu":
        return x.astype(np.int64)
    return x


def _on_scalar(fn, input: Tensor, *args, **kwargs):
    """Run a one-axis op ``fn(x, dim, ...)`` on a 0-d tensor as on shape (1,) and give 0-d results back."""
    return _squeeze_all(fn(input.reshape(1), 0, *args, **kwargs))


def _squeeze_all(out):
    if isinstance(out, tuple):
        return type(out)(*(t.reshape(()) for t in out))
    return out.reshape(())


class _TakeAlong(Function):
    """``take_along_axis(a, index, dim)`` (reshaped to ``out_shape``); its gradient scatters back."""

    @staticmethod
    def forward(ctx, a, index, dim, unique, out_shape, values=None):
        ctx.meta = (a.data.shape, index, dim, unique)
        if values is not None:  # already computed by a faster route (max via a ufunc reduce)
            return values
        out = np.take_along_axis(a.data, index, axis=dim)
        return out if out_shape is None else out.reshape(out_shape)

    @staticmethod
    def backward(ctx, g):
        shape, index, dim, unique = ctx.meta
        if g.shape != index.shape:
            g = g.reshape(index.shape)
        return _PutAlong.apply(g, index, dim, shape, unique), None, None, None, None


class _PutAlong(Function):
    """Zeros of ``shape`` with ``g`` added at ``index`` along ``dim`` (repeated indices add up)."""

    @staticmethod
    def forward(ctx, g, index, dim, shape, unique):
        ctx.meta = (index, dim, unique)
        return _scatter_add(g.data, index, dim, shape, unique)

    @staticmethod
    def backward(ctx, gg):
        index, dim, unique = ctx.meta
        return _TakeAlong.apply(gg, index, dim, unique, None), None, None, None, None


def _scatter_add(values: np.ndarray, index: np.ndarray, dim: int, shape: tuple, unique: bool) -> np.ndarray:
    out = np.zeros(shape, values.dtype)
    if unique:
        np.put_along_axis(out, index, np.broadcast_to(values, index.shape), axis=dim)
        return out
    # repeated indices: flat positions, then one bincount
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]
    flat = index * strides[dim]
    for ax, n in enumerate(index.shape):
        if ax != dim and n > 1:
            flat = flat + (np.arange(n) * strides[ax]).reshape((n,) + (1,) * (index.ndim - ax - 1))
    summed = np.bincount(flat.ravel(), weights=np.broadcast_to(values, index.shape).ravel(), minlength=out.size)
    return summed.reshape(shape).astype(values.dtype, copy=False)


class _TiedSelect(Function):
    """A whole-reduction value picked from ``a`` (max, min, median); ties share the gradient evenly."""

    @staticmethod
    def forward(ctx, a, value, dims, keepdim, nan_picks):
        ctx.save_for_backward(a)
        ctx.meta = (value, dims, keepdim, nan_picks)
        return value

    @staticmethod
    def backward(ctx, g):
        # PyTorch: max()/min()/median() send a NaN result's gradient to the NaNs; amax/amin give NaN
        (a,) = ctx.saved_tensors
        value, dims, keepdim, nan_picks = ctx.meta
        x = a.data
        v = value if keepdim else value.reshape(_keepdim_shape(x.shape, dims))
        mask = x == v
        if nan_picks and x.dtype.kind == "f" and np.isnan(v).any():
            mask |= np.isnan(x) & np.isnan(v)
        with np.errstate(invalid="ignore"):
            weights = mask / np.sum(mask, axis=dims, keepdims=True, dtype=x.dtype)
        return (
            expand_reduced(g, x.shape, dims, keepdim) * Tensor(weights.astype(g.data.dtype, copy=False)),
            None,
            None,
            None,
            None,
        )


def _named(base, names) -> dict:
    """Per-op subclasses, so a graph shows ``SortBackward0`` rather than the shared helper's name."""
    return {n: type(n.capitalize(), (base,), {"__doc__": base.__doc__, "__module__": __name__}) for n in names}


_GATHER = _named(_TakeAlong, ("max", "min", "sort", "topk", "kthvalue", "median", "mode", "cummax", "cummin"))
_TIED = _named(_TiedSelect, ("max", "min", "amax", "amin", "aminmax", "median"))


class _Shift(Function):
    """Move values one step along ``dim`` (``step`` 1: toward higher indices), ``fill`` at the vacated end."""

    @staticmethod
    def forward(ctx, x, dim, step, fill):
        ctx.meta = (dim, step)
        d = x.data
        n = d.shape[dim]
        out = np.empty(d.shape, d.dtype)
        lead = (slice(None),) * dim
        if step > 0:
            out[lead + (slice(1, None),)] = d[lead + (slice(0, n - 1),)]
            out[lead + (slice(0, 1),)] = fill
        else:
            out[lead + (slice(0, n - 1),)] = d[lead + (slice(1, None),)]
            out[lead + (slice(n - 1, n),)] = fill
        return out

    @staticmethod
    def backward(ctx, g):
        dim, step = ctx.meta
        return _Shift.apply(g, dim, -step, 0.0), None, None, None


class _Scan(Function):
    """``y[k] = x[k] + c[k] * y[k-1]`` along ``dim`` (``y[k+1]`` when ``reverse``); linear, so its own adjoint."""

    save_output = True

    @staticmethod
    def forward(ctx, x, c, dim, reverse):
        ctx.save_for_backward(c)
        ctx.meta = (dim, reverse)
        return _linear_scan(x.data, c.data, dim, reverse)

    @staticmethod
    def backward(ctx, w):
        (c,) = ctx.saved_tensors
        dim, reverse = ctx.meta
        s = -1 if reverse else 1
        v = _Scan.apply(w, _Shift.apply(c, dim, -s, 0.0), dim, not reverse)
        gc = v * _Shift.apply(ctx.output, dim, s, 0.0) if ctx.needs_input_grad[1] else None
        return v, gc, None, None


def _linear_scan(x: np.ndarray, c: np.ndarray, dim: int, reverse: bool) -> np.ndarray:
    from ..kernels.reduce import linear_scan

    dtype = np.result_type(x, c)
    work = np.float32 if dtype == np.float16 else dtype
    shape = np.broadcast_shapes(x.shape, c.shape)
    outer = _count(shape, tuple(range(dim)))
    inner = _count(shape, tuple(range(dim + 1, len(shape))))
    xs = np.ascontiguousarray(np.broadcast_to(x, shape), dtype=work).reshape(outer, shape[dim], inner)
    cs = np.ascontiguousarray(np.broadcast_to(c, shape), dtype=work).reshape(outer, shape[dim], inner)
    return linear_scan(xs, cs, reverse).reshape(shape).astype(dtype, copy=False)


# ------------------------------------------------------------------ sum, mean
class Sum(Function):
    @staticmethod
    def forward(ctx, a, dims, keepdim, dtype):
        x = a.data
        ctx.meta = (x.shape, dims, keepdim)
        if dtype is None and x.dtype.kind == "f" and x.dtype.itemsize >= 4 and not keepdim and len(dims) == x.ndim:
            # a full reduction: write into a 0-d array (NumPy would return a scalar to re-wrap)
            out = np.empty((), x.dtype)
            np.add.reduce(x, axis=dims, out=out)
            return out
        return np.add.reduce(_int_to_long(x, dtype), axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.meta
        return expand_reduced(g, shape, dims, keepdim), None, None, None


_SUM_NEEDS = (True, False, False, False)


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    """Sum over ``dim`` (all elements by default); bool and int sum to int64."""
    x = input.data
    if dim is None and dtype is None and not keepdim and x.dtype.kind == "f" and x.dtype.itemsize >= 4:
        # the whole tensor (the usual loss): Sum's forward, its node made directly
        dims = _ALL_DIMS[x.ndim]
        out = np.empty((), x.dtype)
        np.add.reduce(x, axis=dims, out=out)
        if input.requires_grad and _grad_state.enabled:
            return record_one(Sum, input, out, _SUM_NEEDS, (x.shape, dims, False))
        return new_tensor(out, False, None, 0)
    dims = _dims(dim, x.shape, "sum")
    return Sum.apply(input, dims, keepdim, None if dtype is None else _dt.to_dtype(dtype))


class Mean(Function):
    @staticmethod
    def forward(ctx, a, dims, keepdim):
        shape = a.data.shape
        count = _count(shape, dims)
        ctx.meta = (shape, dims, keepdim, count)
        x = a.data
        if count == 0:  # NaN, as PyTorch, without NumPy's warning
            return np.full(_reduced_shape(shape, dims, keepdim), np.nan, x.dtype)
        if x.dtype == np.float16:  # NumPy accumulates float16 in float32 here
            return np.mean(x, axis=dims, keepdims=keepdim)
        return np.add.reduce(x, axis=dims, keepdims=keepdim) / count

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim, count = ctx.meta
        return expand_reduced(g / count if count else g * np.nan, shape, dims, keepdim), None, None


def _mean_input(input: Tensor, dtype, op: str) -> Tensor:
    if dtype is not None:
        input = input.to(dtype)
    if input.data.dtype.kind not in "fc":
        raise TypeError(
            f"{op}: could not infer output dtype: input dtype is {input.dtype}; "
            f"pass a floating point dtype, e.g. {op}(dtype=ember.float32), or call .float() first"
        )
    return input


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Arithmetic mean over ``dim``; integer tensors need a floating ``dtype`` (as in PyTorch)."""
    input = _mean_input(input, dtype, "mean")
    return Mean.apply(input, _dims(dim, input.data.shape, "mean"), keepdim)


class Nansum(Function):
    @staticmethod
    def forward(ctx, a, dims, keepdim, dtype):
        x = a.data
        ctx.meta = (x.shape, dims, keepdim)
        ctx.mask = None
        if ctx.needs_input_grad[0] and np.isnan(x).any():
            ctx.mask = ~np.isnan(x)
        return np.nansum(_int_to_long(x, dtype), axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.meta
        g = expand_reduced(g, shape, dims, keepdim)
        return (g if ctx.mask is None else g * Tensor(ctx.mask)), None, None, None


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over ``dim`` treating NaN as zero (NaNs get zero gradient)."""
    dims = _dims(dim, input.data.shape, "nansum")
    return Nansum.apply(input, dims, keepdim, None if dtype is None else _dt.to_dtype(dtype))


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean of the non-NaN elements over ``dim`` (NaN where all are NaN)."""
    input = _mean_input(input, dtype, "nanmean")
    dims = _dims(dim, input.data.shape, "nanmean")
    count = np.sum(~np.isnan(input.data), axis=dims, keepdims=keepdim, dtype=input.data.dtype)
    return _ew.div(Nansum.apply(input, dims, keepdim, None), Tensor(np.asarray(count)))


# ---------------------------------------------------------------------- prod
class Prod(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a, dims, keepdim, dtype):
        ctx.save_for_backward(a)
        ctx.meta = (dims, keepdim)
        return np.multiply.reduce(_int_to_long(a.data, dtype), axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        dims, keepdim = ctx.meta
        shape = a.data.shape
        if not (a.data == 0).any():
            return expand_reduced(g * ctx.output, shape, dims, keepdim) / a, None, None, None
        # with zeros: the product of the others, as (product before) * (product after)
        keep = [d for d in range(len(shape)) if d not in dims]
        perm = tuple(keep) + dims
        x = a.permute(perm) if perm != tuple(range(len(shape))) else a
        kept_shape = tuple(shape[d] for d in keep)
        x = x.reshape(kept_shape + (_count(shape, dims),))
        last = len(kept_shape)
        before = _Shift.apply(Cumprod.apply(x, last, False, None), last, 1, 1.0)
        after = _Shift.apply(Cumprod.apply(x, last, True, None), last, -1, 1.0)
        others = (before * after).reshape(tuple(shape[d] for d in perm))
        if perm != tuple(range(len(shape))):
            others = others.permute(tuple(np.argsort(perm)))
        return expand_reduced(g, shape, dims, keepdim) * others, None, None, None


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product over ``dim`` (int or tuple; all by default); bool and int give int64.

    The gradient is exact with zeros in the input (product of the other elements).
    """
    dims = _dims(dim, input.data.shape, "prod")
    return Prod.apply(input, dims, keepdim, None if dtype is None else _dt.to_dtype(dtype))


# ------------------------------------------------------------- max, min, arg*
def _extreme_all(input: Tensor, dim, keepdim: bool, take_max: bool, op: str) -> Tensor:
    x = input.data
    dims = _dims(dim, x.shape, op)
    if x.size == 0:
        if dim is None or not dims:
            raise ShapeError(f"{op}: expected a non-empty input (got shape {x.shape}); specify a reduction dim")
        _check_nonempty(op, x.shape, dims)
    value = (np.maximum if take_max else np.minimum).reduce(x, axis=dims, keepdims=keepdim)
    return _TIED[op].apply(input, np.asarray(value), dims, keepdim, op in ("max", "min"))


def _extreme_dim(input: Tensor, dim, keepdim: bool, take_max: bool, op: str):
    x = input.data
    if x.ndim == 0:
        _dim1(dim, x.shape, op)
        return return_types[op](input.reshape(()), Tensor(np.zeros((), np.int64)))
    d = _dim1(dim, x.shape, op)
    _check_nonempty(op, x.shape, (d,))
    index = (np.argmax if take_max else np.argmin)(x, axis=d, keepdims=True)
    value = (np.maximum if take_max else np.minimum).reduce(x, axis=d, keepdims=keepdim)
    out_shape = None if keepdim else value.shape
    values = _GATHER[op].apply(input, index, d, True, out_shape, values=value)
    return return_types[op](values, Tensor(index if keepdim else index.reshape(out_shape)))


def max(input: Tensor, dim=None, keepdim: bool = False, *, other: Tensor | None = None):  # noqa: A001
    """``max(x)``: the largest element; ``max(x, dim)``: ``(values, indices)``; ``max(x, y)``: ``maximum``.

    With ``dim`` the gradient goes to the index returned (the first of ties);
    without, it is split evenly between tied maxima, as in PyTorch.
    """
    if isinstance(dim, Tensor) or other is not None:
        return _ew.maximum(input, dim if other is None else other)
    if dim is None:
        return _extreme_all(input, None, False, True, "max")
    return _extreme_dim(input, dim, keepdim, True, "max")


def min(input: Tensor, dim=None, keepdim: bool = False, *, other: Tensor | None = None):  # noqa: A001
    """``min(x)``, ``min(x, dim) -> (values, indices)`` or elementwise ``minimum(x, y)``, like ``max``."""
    if isinstance(dim, Tensor) or other is not None:
        return _ew.minimum(input, dim if other is None else other)
    if dim is None:
        return _extreme_all(input, None, False, False, "min")
    return _extreme_dim(input, dim, keepdim, False, "min")


def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Largest value over ``dim`` (all by default); the gradient is split evenly between ties."""
    return _extreme_all(input, dim, keepdim, True, "amax")


def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Smallest value over ``dim`` (all by default); the gradient is split evenly between ties."""
    return _extreme_all(input, dim, keepdim, False, "amin")


def aminmax(input: Tensor, *, dim=None, keepdim: bool = False):
    """``(min, max)`` over ``dim`` (all by default) in one call."""
    return return_types["aminmax"](
        _extreme_all(input, dim, keepdim, False, "aminmax"), _extreme_all(input, dim, keepdim, True, "aminmax")
    )


def _arg_extreme(input: Tensor, dim, keepdim: bool, take_max: bool, op: str) -> Tensor:
    x = input.data
    fn = np.argmax if take_max else np.argmin
    if dim is None:
        if x.size == 0:
            raise IndexError(f"{op}: expected a non-empty input (got shape {x.shape}); specify a reduction dim")
        index = np.asarray(fn(x.reshape(-1)), np.int64)
        return Tensor(index.reshape((1,) * x.ndim) if keepdim else index)
    d = _dim1(dim, x.shape, op)
    if x.ndim == 0:
        return Tensor(np.zeros((), np.int64))
    _check_nonempty(op, x.shape, (d,))
    return Tensor(fn(x, axis=d, keepdims=keepdim).astype(np.int64, copy=False))


def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (flat when ``dim`` is None); the first of ties."""
    return _arg_extreme(input, dim, keepdim, True, "argmax")


def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the smallest element (flat when ``dim`` is None); the first of ties."""
    return _arg_extreme(input, dim, keepdim, False, "argmin")


# --------------------------------------------------------------- var and std
def _correction(op: str, dim, unbiased, correction):
    if isinstance(dim, bool):  # var(x, True): the old unbiased flag
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise ValueError(f"{op}: pass either unbiased or correction, not both")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim, correction


class Var(Function):
    @staticmethod
    def forward(ctx, a, dims, correction, keepdim):
        ctx.save_for_backward(a)
        ctx.meta = (dims, correction, keepdim)
        x = a.data
        count = _count(x.shape, dims)
        if count > correction and x.dtype != np.float16:  # np.var's steps without its Python overhead
            centred = x - np.add.reduce(x, axis=dims, keepdims=True) / count
            squared = np.multiply(centred, centred, out=centred) if x.ndim else centred * centred
            return np.add.reduce(squared, axis=dims, keepdims=keepdim) / (count - correction)
        if count > correction:
            return np.var(x, axis=dims, ddof=correction, keepdims=keepdim)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "degrees of freedom <= 0"
            return np.var(x, axis=dims, ddof=correction, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        dims, correction, keepdim = ctx.meta
        shape = a.data.shape
        divisor = _count(shape, dims) - correction  # not clamped at 0 here, as PyTorch
        scale = 2.0 / divisor if divisor else np.inf
        centred = a - Mean.apply(a, dims, True)
        return expand_reduced(g * scale, shape, dims, keepdim) * centred, None, None, None


class Std(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a, dims, correction, keepdim):
        ctx.save_for_backward(a)
        ctx.meta = (dims, correction, keepdim)
        if _count(a.data.shape, dims) > correction:
            return np.std(a.data, axis=dims, ddof=correction, keepdims=keepdim)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "degrees of freedom <= 0"
            return np.std(a.data, axis=dims, ddof=correction, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        dims, correction, keepdim = ctx.meta
        shape = a.data.shape
        divisor = _count(shape, dims) - correction  # not clamped at 0 here, as PyTorch
        out = ctx.output
        zero = out.data == 0
        if zero.any():  # PyTorch's choice: zero gradient where the std is zero
            z = Tensor(zero)
            scaled = _ew.where(z, 0.0, g / _ew.where(z, 1.0, out))
        else:
            scaled = g / out
        scaled = scaled / divisor if divisor else scaled * np.inf
        centred = a - Mean.apply(a, dims, True)
        return expand_reduced(scaled, shape, dims, keepdim) * centred, None, None, None


def _var_args(op: str, input: Tensor, dim, unbiased, correction):
    if input.data.dtype.kind not in "fc":
        raise DTypeError(f"{op}: std and var only support floating point tensors, got {input.dtype}")
    dim, correction = _correction(op, dim, unbiased, correction)
    return _dims(dim, input.data.shape, op), correction


def var(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Variance over ``dim`` dividing by ``N - correction`` (1 by default; ``unbiased=False`` means 0)."""
    dims, correction = _var_args("var", input, dim, unbiased, correction)
    return Var.apply(input, dims, correction, keepdim)


def std(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Standard deviation over ``dim``; like ``var``. Its gradient is zero where it is zero (as PyTorch)."""
    dims, correction = _var_args("std", input, dim, unbiased, correction)
    return Std.apply(input, dims, correction, keepdim)


def var_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
    """``(var, mean)`` over ``dim``."""
    dims, correction = _var_args("var_mean", input, dim, unbiased, correction)
    return Var.apply(input, dims, correction, keepdim), Mean.apply(input, dims, keepdim)


def std_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
    """``(std, mean)`` over ``dim``."""
    dims, correction = _var_args("std_mean", input, dim, unbiased, correction)
    return Std.apply(input, dims, correction, keepdim), Mean.apply(input, dims, keepdim)


# ---------------------------------------------------------------- logsumexp
class Logsumexp(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        x = a.data
        ctx.save_for_backward(a)
        ctx.meta = (dims, keepdim)
        if x.size == 0:
            return np.full(_reduced_shape(x.shape, dims, keepdim), -np.inf, x.dtype)
        m = np.max(x, axis=dims, keepdims=True)
        if not np.isfinite(m).all():  # all -inf (or inf, NaN) groups: no shift, the sum gives -inf/inf/NaN
            m = np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):
            out = np.log(np.sum(np.exp(x - m), axis=dims, keepdims=True))
        out += m
        return out if keepdim else out.reshape(_reduced_shape(x.shape, dims, False))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        dims, keepdim = ctx.meta
        shape = a.data.shape
        out = ctx.output if keepdim else ctx.output.reshape(_keepdim_shape(shape, dims))
        return expand_reduced(g, shape, dims, keepdim) * _ew.exp(a - out), None, None


def logsumexp(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``dim``, computed stably (max shifted out); integers compute in float."""
    if input.data.dtype.kind not in "fc":
        input = input.to(_dt.get_default_dtype())
    return Logsumexp.apply(input, _dims(dim, input.data.shape, "logsumexp"), keepdim)


# --------------------------------------------------------------------- norm
class _VectorNorm(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a, p, dims, keepdim):
        ctx.save_for_backward(a)
        ctx.meta = (p, dims, keepdim)
        x = np.abs(a.data)
        if p == 2:
            return np.sqrt(np.sum(np.square(x), axis=dims, keepdims=keepdim))
        if p == 1:
            return np.sum(x, axis=dims, keepdims=keepdim)
        if p == np.inf:
            return np.max(x, axis=dims, keepdims=keepdim)
        if p == -np.inf:
            return np.min(x, axis=dims, keepdims=keepdim)
        if p == 0:
            return np.sum(x != 0, axis=dims, keepdims=keepdim, dtype=x.dtype)
        with np.errstate(divide="ignore", over="ignore"):
            return np.power(np.sum(np.power(x, p), axis=dims, keepdims=keepdim), 1.0 / p)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        p, dims, keepdim = ctx.meta
        shape = a.data.shape
        if p == 0:
            return expand_reduced(g, shape, dims, keepdim) * 0, None, None, None
        if p == 1:
            return expand_reduced(g, shape, dims, keepdim) * _ew.sign(a), None, None, None
        out = ctx.output
        if p in (np.inf, -np.inf):
            x = a.data
            o = out.data if keepdim else out.data.reshape(_keepdim_shape(shape, dims))
            mask = np.abs(x) == o
            weights = np.sign(x) * mask / np.sum(mask, axis=dims, keepdims=True, dtype=x.dtype)
            return (
                expand_reduced(g, shape, dims, keepdim) * Tensor(weights.astype(g.data.dtype, copy=False)),
                None,
                None,
                None,
            )
        # d|x|_p / dx = sign(x) |x|^(p-1) / |x|_p^(p-1); zero where the norm is zero (as PyTorch)
        zero = out.data == 0
        if zero.any():
            z = Tensor(zero)
            safe = _ew.where(z, 1.0, out)
            scale = _ew.where(z, 0.0, g / (safe if p == 2 else safe ** (p - 1)))
        else:
            scale = g / (out if p == 2 else out ** (p - 1))
        scale = expand_reduced(scale, shape, dims, keepdim)
        if p == 2:
            return scale * a, None, None, None
        if p < 1 and (a.data == 0).any():
            base = _ew.where(Tensor(a.data == 0), 1.0, _ew.abs(a))
        else:
            base = _ew.abs(a)
        return scale * _ew.sign(a) * base ** (p - 1), None, None, None


class _NuclearNorm(Function):
    @staticmethod
    def forward(ctx, a, dims, keepdim):
        x = np.moveaxis(a.data, dims, (-2, -1))
        u, s, vh = np.linalg.svd(x, full_matrices=False)
        ctx.save_for_backward(a)
        ctx.meta = (dims, keepdim, u @ vh)
        out = s.sum(-1)
        return np.expand_dims(out, dims) if keepdim else out

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        dims, keepdim, uvh = ctx.meta
        g = expand_reduced(g, a.data.shape, dims, keepdim)
        return _NuclearNormGrad.apply(g, a, np.moveaxis(uvh, (-2, -1), dims)), None, None


class _NuclearNormGrad(Function):
    """``g * U V^T``: linear in ``g``; its dependence on the input is not differentiated."""

    @staticmethod
    def forward(ctx, g, a, uvh):
        ctx.uvh = uvh
        return g.data * uvh

    @staticmethod
    def backward(ctx, gg):
        if ctx.needs_input_grad[1]:
            raise AutogradError("norm(p='nuc'): the second derivative with respect to the input is not implemented")
        return gg * Tensor(ctx.uvh), None, None


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """Vector p-norm over ``dim`` (all by default; p = 2, 1, inf, -inf, 0 or any float) or 'fro'/'nuc'.

    'fro' is the 2-norm over ``dim``; 'nuc' is the sum of singular values over two dims (the input's
    two dims when ``dim`` is None). Gradients are zero where the norm is zero, as in PyTorch.
    """
    if dtype is not None:
        input = input.to(dtype)
    if input.data.dtype.kind not in "fc":
        raise DTypeError(f"norm: expected a floating point tensor as input, got {input.dtype}")
    shape = input.data.shape
    if p == "nuc":
        if dim is None and len(shape) != 2:
            raise ShapeError(f"norm(p='nuc'): dim=None needs a 2-D input, got shape {shape}; pass a 2-tuple dim")
        dims = (0, 1) if dim is None else tuple(_dim1(d, shape, "norm") for d in dim)
        if len(dims) != 2 or dims[0] == dims[1]:
            raise ShapeError(f"norm(p='nuc'): dim must be a 2-tuple of different dims, got {dim} (shape {shape})")
        return _NuclearNorm.apply(input, dims, keepdim)
    if p == "fro" or p is None:
        p = 2
    elif isinstance(p, str):
        raise ValueError(f"norm: p must be a number, 'fro' or 'nuc', got {p!r}")
    dims = _dims(dim, shape, "norm")
    p = float(p)
    if p in (np.inf, -np.inf) and input.data.size == 0:
        _check_nonempty(f"norm(p={p})", shape, dims)
    return _VectorNorm.apply(input, p, dims, keepdim)


# ----------------------------------------------------------------- logical
def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether every element over ``dim`` is nonzero (bool; uint8 for uint8 input)."""
    x = input.data
    out = np.asarray(np.all(x, axis=_dims(dim, x.shape, "all"), keepdims=keepdim))
    return Tensor(out.astype(np.uint8) if x.dtype == np.uint8 else out)


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether some element over ``dim`` is nonzero (bool; uint8 for uint8 input)."""
    x = input.data
    out = np.asarray(np.any(x, axis=_dims(dim, x.shape, "any"), keepdims=keepdim))
    return Tensor(out.astype(np.uint8) if x.dtype == np.uint8 else out)


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """Number of nonzero elements over ``dim`` (int64)."""
    x = input.data
    return Tensor(np.asarray(np.count_nonzero(x, axis=_dims(dim, x.shape, "count_nonzero")), np.int64))


# ------------------------------------------------------------------- scans
class Cumsum(Function):
    @staticmethod
    def forward(ctx, a, dim, reverse, dtype):
        ctx.meta = (dim, reverse)
        x = _int_to_long(a.data, dtype)
        if reverse:
            return np.flip(np.cumsum(np.flip(x, dim), axis=dim), dim).copy()
        return np.cumsum(x, axis=dim)

    @staticmethod
    def backward(ctx, g):
        dim, reverse = ctx.meta
        return Cumsum.apply(g, dim, not reverse, None), None, None, None


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sum along ``dim``; bool and int give int64."""
    d = _dim1(dim, input.data.shape, "cumsum")
    if input.data.ndim == 0:
        return _on_scalar(cumsum, input, dtype=dtype)
    return Cumsum.apply(input, d, False, None if dtype is None else _dt.to_dtype(dtype))


class Cumprod(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a, dim, reverse, dtype):
        ctx.save_for_backward(a)
        ctx.meta = (dim, reverse)
        x = _int_to_long(a.data, dtype)
        if reverse:
            return np.flip(np.cumprod(np.flip(x, dim), axis=dim), dim).copy()
        return np.cumprod(x, axis=dim)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        dim, reverse = ctx.meta
        out = ctx.output
        if not (a.data == 0).any():
            return Cumsum.apply(g * out, dim, not reverse, None) / a, None, None, None
        # exact with zeros: grad[k] = out[k-1] * sum_{i>=k} g[i] * prod_{k<m<=i} a[m], the sum by a scan
        s = -1 if reverse else 1
        v = _Scan.apply(g, _Shift.apply(a, dim, -s, 0.0), dim, not reverse)
        return v * _Shift.apply(out, dim, s, 1.0), None, None, None


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running product along ``dim``; bool and int give int64. The gradient is exact with zeros."""
    d = _dim1(dim, input.data.shape, "cumprod")
    if input.data.ndim == 0:
        return _on_scalar(cumprod, input, dtype=dtype)
    return Cumprod.apply(input, d, False, None if dtype is None else _dt.to_dtype(dtype))


def _cum_extreme(input: Tensor, dim: int, take_max: bool, op: str):
    d = _dim1(dim, input.data.shape, op)
    if input.data.ndim == 0:
        return _on_scalar(_cum_extreme, input, take_max, op)
    x = input.data
    values = (np.maximum if take_max else np.minimum).accumulate(x, axis=d)
    hit = x == values
    if x.dtype.kind == "f":
        hit |= np.isnan(x)
    pos = np.arange(x.shape[d]).reshape((-1,) + (1,) * (x.ndim - d - 1))
    index = np.maximum.accumulate(np.where(hit, pos, 0), axis=d)  # the latest position of the running value
    return return_types[op](_GATHER[op].apply(input, index, d, False, None), Tensor(index))


def cummax(input: Tensor, dim: int):
    """Running maximum along ``dim``: ``(values, indices)``; the gradient goes to the indices."""
    return _cum_extreme(input, dim, True, "cummax")


def cummin(input: Tensor, dim: int):
    """Running minimum along ``dim``: ``(values, indices)``; the gradient goes to the indices."""
    return _cum_extreme(input, dim, False, "cummin")


class Logcumsumexp(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a, dim):
        ctx.save_for_backward(a)
        ctx.dim = dim
        return np.logaddexp.accumulate(a.data, axis=dim)

    @staticmethod
    def backward(ctx, w):
        # grad[k] = sum_{i>=k} w[i] exp(a[k] - out[i]) = exp(a[k] - out[k]) * u[k], with
        # u[k] = w[k] + exp(out[k] - out[k+1]) u[k+1]: every factor is at most 1, so nothing overflows
        (a,) = ctx.saved_tensors
        dim = ctx.dim
        out = ctx.output
        ratio = _ew.exp(_Shift.apply(out, dim, 1, -np.inf) - out)
        u = _Scan.apply(w, _Shift.apply(ratio, dim, -1, 0.0), dim, True)
        return _ew.exp(a - out) * u, None


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``log(cumsum(exp(x)))`` along ``dim``, computed stably."""
    d = _dim1(dim, input.data.shape, "logcumsumexp")
    _require_float(input, "logcumsumexp")
    if input.data.ndim == 0:
        return _on_scalar(logcumsumexp, input)
    return Logcumsumexp.apply(input, d)


# -------------------------------------------------------- sorting, selection
def _argsort(x: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    """Stable argsort; descending keeps equal elements in their original order (NaN counts as largest)."""
    if not descending:
        return np.argsort(x, axis=dim, kind="stable")
    rev = np.argsort(np.flip(x, dim), axis=dim, kind="stable")
    return (x.shape[dim] - 1) - np.flip(rev, dim)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """Sorted values along ``dim`` and their indices, ``(values, indices)``; always stable."""
    d = _dim1(dim, input.data.shape, "sort")
    if input.data.ndim == 0:
        return _on_scalar(sort, input, descending)
    index = _argsort(input.data, d, descending)
    return return_types["sort"](_GATHER["sort"].apply(input, index, d, True, None), Tensor(index))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (stable)."""
    d = _dim1(dim, input.data.shape, "argsort")
    if input.data.ndim == 0:
        return Tensor(np.zeros((), np.int64))
    return Tensor(_argsort(input.data, d, descending))


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """The ``k`` largest (or smallest) elements along ``dim``: ``(values, indices)``, best first."""
    x = input.data
    d = _dim1(dim, x.shape, "topk")
    if x.ndim == 0:
        if k not in (0, 1):
            raise IndexError(f"topk: k={k} out of range for a 0-d input")
        return _squeeze_all(topk(input.reshape(1), k, 0, largest))
    n = x.shape[d]
    if not 0 <= k <= n:
        raise IndexError(f"topk: k={k} out of range for dimension {d} of size {n} (input shape {x.shape})")
    lead = (slice(None),) * d
    if n <= 64 or 4 * k >= n:
        index = _argsort(x, d, largest)[lead + (slice(0, k),)]
    else:
        # partition, then sort only the k chosen
        if largest:
            part = np.argpartition(x, n - k, axis=d)[lead + (slice(n - k, n),)]
        else:
            part = np.argpartition(x, k - 1, axis=d)[lead + (slice(0, k),)]
        order = _argsort(np.take_along_axis(x, part, axis=d), d, largest)
        index = np.take_along_axis(part, order, axis=d)
    return return_types["topk"](_GATHER["topk"].apply(input, index, d, True, None), Tensor(index))


def _select(input: Tensor, index: np.ndarray, d: int, keepdim: bool, op: str):
    x = input.data
    out_shape = None if keepdim else x.shape[:d] + x.shape[d + 1 :]
    values = _GATHER[op].apply(input, index, d, True, out_shape)
    return return_types[op](values, Tensor(index if keepdim else index.reshape(out_shape)))


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest element (1-based) along ``dim``: ``(values, indices)``."""
    x = input.data
    d = _dim1(dim, x.shape, "kthvalue")
    if x.ndim == 0:
        if k != 1:
            raise IndexError(f"kthvalue: k={k} out of range for a 0-d input")
        return _squeeze_all(kthvalue(input.reshape(1), 1, 0))
    n = x.shape[d]
    if not 1 <= k <= n:
        raise IndexError(f"kthvalue: k={k} out of range for dimension {d} of size {n} (input shape {x.shape})")
    index = np.take(np.argpartition(x, k - 1, axis=d), [k - 1], axis=d)
    return _select(input, index, d, keepdim, "kthvalue")


def median(input: Tensor, dim=None, keepdim: bool = False):
    """The lower median: of all elements (a tensor), or along ``dim`` as ``(values, indices)``.

    NaN propagates as in PyTorch. Without ``dim`` the gradient is split evenly between tied
    medians; with ``dim`` it goes to the returned index.
    """
    x = input.data
    if dim is None:
        flat = x.reshape(-1)
        if flat.size == 0:
            value = np.asarray(np.nan, x.dtype) if x.dtype.kind == "f" else None
            if value is None:
                raise IndexError(f"median: expected a non-empty input, got shape {x.shape}")
        elif x.dtype.kind == "f" and np.isnan(flat).any():
            value = np.asarray(np.nan, x.dtype)
        else:
            k = (flat.size - 1) // 2
            value = np.asarray(np.partition(flat, k)[k])
        return _TIED["median"].apply(input, value, tuple(range(x.ndim)), False, True)
    d = _dim1(dim, x.shape, "median")
    if x.ndim == 0:
        return _on_scalar(median, input, keepdim)
    _check_nonempty("median", x.shape, (d,))
    k = (x.shape[d] - 1) // 2
    index = np.take(np.argpartition(x, k, axis=d), [k], axis=d)
    if x.dtype.kind == "f":
        nan = np.isnan(x)
        has_nan = nan.any(axis=d, keepdims=True)
        if has_nan.any():
            index = np.where(has_nan, np.argmax(nan, axis=d, keepdims=True), index)
    return _select(input, index, d, keepdim, "median")


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value along ``dim`` (the smallest of equally frequent ones) and its last index."""
    x = input.data
    d = _dim1(dim, x.shape, "mode")
    if x.ndim == 0:
        return _on_scalar(mode, input, keepdim)
    _check_nonempty("mode", x.shape, (d,))
    n = x.shape[d]
    s = np.sort(np.moveaxis(x, d, -1), axis=-1)
    starts = np.ones(s.shape, bool)
    starts[..., 1:] = s[..., 1:] != s[..., :-1]
    pos = np.arange(n)
    run = pos - np.maximum.accumulate(np.where(starts, pos, 0), axis=-1)  # position within its run
    value = np.take_along_axis(s, np.argmax(run, axis=-1, keepdims=True), axis=-1)
    hit = np.flip(np.moveaxis(x, d, -1) == value, -1)
    index = np.moveaxis((n - 1) - np.argmax(hit, axis=-1, keepdims=True), -1, d)
    return _select(input, index, d, keepdim, "mode")
