"""Indexing: ``__getitem__``/``__setitem__`` (basic and advanced), gather, scatter and friends.

Gradients of advanced indexing scatter-add, so repeated indices accumulate.
The common scatter-add (integer index on one axis, rows of any width) runs in
a Numba loop (``ember.kernels.index``): for 4096 indices into a (1000, 64)
float32 table it takes 37 us against 1.9 ms for ``np.add.at``, 2.6 ms for a
``np.bincount`` on flattened positions and 0.8 ms for sort + ``np.add.reduceat``;
for 1-d tables ``bincount`` and the loop are even (140 us for 100k indices).
"""

from __future__ import annotations

import re

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from ._util import broadcast_clash, broadcast_error, data_of, norm_dim
from .elementwise import where

__all__ = [
    "getitem",
    "index_put",
    "convert_key",
    "gather",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "index_select",
    "index_add",
    "index_fill",
    "index_copy",
    "masked_fill",
    "masked_select",
    "masked_scatter",
    "take",
    "take_along_dim",
    "put",
    "nonzero",
    "argwhere",
    "one_hot",
]

TENSOR_METHODS = [n for n in __all__ if n not in ("getitem", "convert_key", "one_hot")]
INPLACE_METHODS = [
    "index_put",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "index_add",
    "index_fill",
    "index_copy",
    "masked_fill",
    "masked_scatter",
    "put",
]

_KERNEL_DTYPES = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64))


# ------------------------------------------------------------------ scatter-add
def _prod(shape) -> int:
    p = 1
    for s in shape:
        p *= s
    return p


def _add_rows(out3: np.ndarray, index: np.ndarray, src3: np.ndarray) -> None:
    """``out3[a, index[n], r] += src3[a, n, r]`` with repeats accumulating; index already checked."""
    if src3.dtype != out3.dtype:
        src3 = src3.astype(out3.dtype)
    if out3.dtype in _KERNEL_DTYPES and index.dtype.kind == "i" and out3.size:
        from ..kernels.index import index_add_3d

        index_add_3d(out3, index, src3)
    else:
        np.add.at(out3, (slice(None), index), src3)


def _expand_ellipsis(key: tuple, ndim: int) -> tuple | None:
    ell = [i for i, k in enumerate(key) if k is Ellipsis]
    if not ell:
        return key
    if len(ell) > 1:
        return None
    used = 0
    for k in key:
        if isinstance(k, np.ndarray) and k.dtype.kind == "b":
            used += k.ndim
        elif k is not None and k is not Ellipsis:
            used += 1
    i = ell[0]
    return key[:i] + (slice(None),) * (ndim - used) + key[i + 1 :]


def _rows_plan(key, shape: tuple):
    """For ``x[key]`` with adjacent integer arrays between full slices: ``(A, V, R, index, value_shape)``.

    Such a gradient is a row scatter-add on ``out.reshape(A, V, R)``; other keys give None.
    """
    key = _expand_ellipsis(key if isinstance(key, tuple) else (key,), len(shape))
    if key is None:
        return None
    arrays = []
    for i, k in enumerate(key):
        if isinstance(k, np.ndarray):
            if k.dtype.kind not in "iu":
                return None
            arrays.append(i)
        elif not (isinstance(k, slice) and k == slice(None)):
            return None
    if not arrays or arrays[-1] + 1 - arrays[0] != len(arrays):
        return None
    p, q = arrays[0], arrays[-1] + 1
    lead, mid, rest = shape[:p], shape[p:q], shape[q:]
    if len(arrays) == 1:
        idx = key[p]
        bshape = idx.shape
        flat = idx.reshape(-1)
    else:
        bs = np.broadcast_arrays(*(key[i] for i in arrays))
        bshape = bs[0].shape
        flat = np.ravel_multi_index(tuple(b.reshape(-1) for b in bs), mid, mode="wrap")
    return _prod(lead), _prod(mid), _prod(rest), flat, lead + bshape + rest


def _has_int_arrays(key) -> bool:
    ks = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, np.ndarray) and k.dtype.kind != "b" for k in ks)


def _index_add_into(out: np.ndarray, key, src: np.ndarray, fresh: bool) -> None:
    """``out[key] += src`` where repeated indices accumulate; ``fresh``: out is all zeros."""
    if not _has_int_arrays(key):  # slices, ints and bool masks never repeat a position
        if fresh:
            out[key] = src
        else:
            out[key] += src
        return
    plan = _rows_plan(key, out.shape) if out.flags.c_contiguous else None
    if plan is None:
        np.add.at(out, key, src)
        return
    a, v, r, flat, vshape = plan
    src = np.broadcast_to(src, vshape).reshape(a, flat.size, r)
    _add_rows(out.reshape(a, v, r), flat, src)


# ------------------------------------------------------------------ getitem
def _convert_one(k):
    if isinstance(k, Tensor):
        d = k.data
        if d.dtype.kind == "f":
            raise IndexError(f"tensors used as indices must be long, int or bool tensors, got {k.dtype}")
        if d.ndim == 0 and d.dtype.kind in "iu":
            return int(d)  # a 0-d integer tensor indexes like an int (a view, as in PyTorch)
        return d
    if isinstance(k, list):
        arr = np.asarray([data_of(x) for x in k])
        if arr.dtype.kind == "f":
            raise IndexError(f"indices must be integers or bools, got a list of floats {k!r:.80}")
        return arr
    return k


def convert_key(key):
    """An ember index (tensors, lists, slices, ...) as a NumPy index."""
    if isinstance(key, tuple):
        return tuple(_convert_one(k) for k in key)
    return _convert_one(key)


def _is_basic(key) -> bool:
    if isinstance(key, tuple):
        return all(k is None or k is Ellipsis or isinstance(k, (int, slice, np.integer)) for k in key)
    return key is None or key is Ellipsis or isinstance(key, (int, slice, np.integer))


class GetItem(Function):
    @staticmethod
    def forward(ctx, a, key, basic):
        ctx.meta = (a.data.shape, key, basic)
        return a.data[key]

    @staticmethod
    def backward(ctx, g):
        shape, key, basic = ctx.meta
        return IndexAddInto.apply(g, shape, key, basic), None, None


class _ViewGetItem(GetItem):
    is_view = True


class IndexAddInto(Function):
    """Zeros of ``shape`` with ``g`` added at ``key``: the gradient of indexing."""

    @staticmethod
    def forward(ctx, g, shape, key, basic):
        ctx.meta = (key, basic)
        out = np.zeros(shape, g.data.dtype)
        if basic:
            out[key] = g.data
        else:
            _index_add_into(out, key, g.data, fresh=True)
        return out

    @staticmethod
    def backward(ctx, gg):
        key, basic = ctx.meta
        return (_ViewGetItem if basic else GetItem).apply(gg, key, basic), None, None, None


_OUT_OF_BOUNDS = re.compile(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)")


def _index_error(op: str, e: Exception, key, shape) -> IndexError:
    m = _OUT_OF_BOUNDS.search(str(e))
    where = f"(tensor of shape {shape}, index {_key_repr(key)})"
    if m:
        i, d, n = m.groups()
        return IndexError(f"{op}: index {i} is out of range for dimension {d} with size {n} {where}")
    return IndexError(f"{op}: invalid index {where}: {e}")


def split_int_key(key):
    """``(basic, advanced)`` keys for a key mixing ints with index arrays, else None.

    PyTorch applies integer indices first (as a view), then the advanced ones, so
    ``x[1, :, idx]`` has shape ``(3, len(idx))`` for x of shape (4, 3, 5), where NumPy
    would move the broadcast index dims to the front.
    """
    if not isinstance(key, tuple):
        return None
    has_int = has_array = False
    for k in key:
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            has_int = True
        elif isinstance(k, np.ndarray):
            has_array = True
    if not (has_int and has_array):
        return None
    first, second = [], []
    for k in key:
        if isinstance(k, (int, np.integer)):
            first.append(k)
        elif k is None:
            first.append(None)
            second.append(slice(None))
        elif k is Ellipsis:
            first.append(k)
            second.append(k)
        else:
            n = k.ndim if isinstance(k, np.ndarray) and k.dtype.kind == "b" else 1
            first.extend([slice(None)] * n)
            second.append(k)
    return tuple(first), tuple(second)


def getitem(input: Tensor, key) -> Tensor:
    """``input[key]``: ints, slices (any step, negative too), None, ..., int and bool tensors.

    Advanced indexing follows NumPy, except that integers apply first (PyTorch's rule).
    """
    key = convert_key(key)
    basic = _is_basic(key)
    try:
        if basic:
            return _ViewGetItem.apply(input, key, True)
        split = split_int_key(key)
        if split is not None:
            return GetItem.apply(_ViewGetItem.apply(input, split[0], True), split[1], False)
        return GetItem.apply(input, key, False)
    except IndexError as e:
        raise _index_error("__getitem__", e, key, input.shape) from None


def assign(array: np.ndarray, key, value, accumulate: bool = False) -> None:
    """``array[key] = value`` in place with PyTorch's indexing rules (integers first).

    ``accumulate``: ``+=``, repeated indices adding up. A value that does not broadcast to the
    indexed region raises a ShapeError naming both shapes and the clashing dimension.
    """
    split = split_int_key(key)
    target, k = (array[split[0]], split[1]) if split is not None else (array, key)
    try:
        if accumulate:
            _index_add_into(target, k, np.asarray(value, array.dtype), fresh=False)
        else:
            target[k] = value
    except ValueError:
        error = _region_error(value, target, k)
        if error is None:
            raise
        raise error from None


def _region_error(value, target: np.ndarray, key) -> ShapeError | None:
    """Why ``value`` does not fit ``target[key]`` (for a caller to prefix with the op), or None if it does."""
    try:
        vshape, region = np.shape(value), target[key].shape
    except (IndexError, ValueError):
        return None
    clash = broadcast_clash(vshape, region)
    if clash is not None:
        d = clash[0]
        return ShapeError(
            f"the indexed region has shape {region}: dimension {d} has size {vshape[d]} in the value and "
            f"{region[d]} in the region"
        )
    extra = len(vshape) - len(region)
    if extra > 0 and any(n != 1 for n in vshape[:extra]):
        return ShapeError(
            f"the indexed region has shape {region}, fewer dimensions than the value, whose extra leading "
            f"dimensions {vshape[:extra]} must have size 1"
        )
    return None


def _key_repr(key) -> str:
    if isinstance(key, np.ndarray):
        return f"array of shape {key.shape} and dtype {key.dtype}"
    if isinstance(key, tuple):
        return "(" + ", ".join(_key_repr(k) for k in key) + ")"
    return repr(key)


class IndexPut(Function):
    @staticmethod
    def forward(ctx, a, key, value, accumulate):
        v = value.data if isinstance(value, Tensor) else value
        out = a.data.copy()
        try:
            assign(out, key, v, accumulate)
        except IndexError as e:
            raise _index_error("index_put", e, key, a.shape) from None
        except ValueError as e:
            raise ShapeError(
                f"__setitem__: cannot assign value of shape {np.shape(v)} to index {_key_repr(key)} of a tensor "
                f"of shape {a.shape}: {e}"
            ) from None
        ctx.meta = (key, accumulate, np.shape(v))
        return out

    @staticmethod
    def backward(ctx, g):
        key, accumulate, vshape = ctx.meta
        na, _, nv, _ = ctx.needs_input_grad
        ga = gv = None
        if na:
            ga = g if accumulate else IndexPut.apply(g, key, 0, False)
        if nv:
            gv = getitem(g, key)
            if gv.ndim < len(vshape):  # NumPy drops leading 1s of the value when assigning
                gv = gv.reshape((1,) * (len(vshape) - gv.ndim) + gv.shape)
        return ga, None, gv, None


def index_put(input: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """Out-of-place ``input[indices] = values`` (``+=`` with ``accumulate``, repeats adding up).

    Differentiable in both ``input`` and ``values``; ``values`` broadcasts to the indexed shape.
    """
    return IndexPut.apply(input, convert_key(indices), values, accumulate)


# ------------------------------------------------------------------ checks
def _index_array(op: str, index, what: str = "index") -> np.ndarray:
    if isinstance(index, Tensor):
        d = index.data
    elif isinstance(index, np.ndarray):
        d = index
    else:
        raise TypeError(f"{op}: {what} must be an integer tensor, got {type(index).__name__}")
    if d.dtype.kind not in "iu":
        raise DTypeError(f"{op}: {what} must be an integer tensor (int64), got {_dt.from_numpy_dtype(d.dtype)}")
    return d


def _check_range(op: str, index: np.ndarray, size: int, dim: int, allow_negative: bool = False) -> None:
    """IndexError naming the first bad index, the dim and its size."""
    if index.size == 0:
        return
    lo, hi = int(index.min()), int(index.max())
    low = -size if allow_negative else 0
    if lo < low or hi >= size:
        bad = hi if hi >= size else lo
        raise IndexError(f"{op}: index {bad} is out of range for dimension {dim} with size {size}")


def _normalize_negative(index: np.ndarray, size: int) -> np.ndarray:
    if index.size and index.min() < 0:
        return np.where(index < 0, index + size, index)
    return index


def _check_along(op: str, shape: tuple, dim: int, index: np.ndarray, src_shape=None) -> None:
    """PyTorch's gather/scatter shape rules, with errors naming every shape."""
    ishape = index.shape
    if len(ishape) != len(shape):
        raise ShapeError(
            f"{op}: index {ishape} must have the same number of dimensions as input {shape} "
            f"({len(ishape)} vs {len(shape)})"
        )
    for d, (i, n) in enumerate(zip(ishape, shape)):
        if d != dim and i > n:
            raise ShapeError(f"{op}: index {ishape} is larger than input {shape} in dimension {d} ({i} > {n})")
    if src_shape is not None:
        if len(src_shape) != len(ishape):
            raise ShapeError(
                f"{op}: index {ishape} must have the same number of dimensions as src {src_shape} "
                f"({len(ishape)} vs {len(src_shape)})"
            )
        for d, (i, n) in enumerate(zip(ishape, src_shape)):
            if i > n:
                raise ShapeError(f"{op}: index {ishape} is larger than src {src_shape} in dimension {d} ({i} > {n})")
    _check_range(op, index, shape[dim] if shape else 1, dim)


def _region(ishape: tuple, dim: int | None = None) -> tuple:
    """The slice of a larger tensor that an index of shape ``ishape`` covers (all of ``dim``)."""
    return tuple(slice(None) if d == dim else slice(0, s) for d, s in enumerate(ishape))


def _along(index: np.ndarray, dim: int) -> tuple:
    """A fancy index addressing ``x[..., index[i, j, k], ...]`` at every position of ``index``."""
    nd = index.ndim
    return tuple(
        index if d == dim else np.arange(s).reshape((-1,) + (1,) * (nd - d - 1)) for d, s in enumerate(index.shape)
    )


def _scatter_add_along(out: np.ndarray, dim: int, index: np.ndarray, src: np.ndarray) -> None:
    """``out.scatter_add_(dim, index, src)`` in NumPy; ``out`` C-contiguous, index checked."""
    ishape = index.shape
    if src.shape != ishape:
        src = src[_region(ishape)]
    if src.dtype != out.dtype:
        src = src.astype(out.dtype)
    if index.size == 0:
        return
    shape = out.shape
    if out.dtype not in _KERNEL_DTYPES or index.dtype.kind != "i":
        np.add.at(out, _along(index, dim), src)
        return
    from ..kernels.index import scatter_add_3d

    if all(ishape[d] == shape[d] for d in range(len(shape)) if d != dim):
        a, r = _prod(shape[:dim]), _prod(shape[dim + 1 :])
        out3 = out.reshape(a, shape[dim], r)
        scatter_add_3d(out3, index.reshape(a, ishape[dim], r), src.reshape(a, ishape[dim], r))
        return
    # index smaller than out in other dims: flat positions
    strides = [_prod(shape[d + 1 :]) for d in range(len(shape))]
    flat = np.zeros(ishape, np.int64)
    for d, pos in enumerate(_along(index, dim)):
        flat += pos * strides[d]
    scatter_add_3d(out.reshape(1, out.size, 1), flat.reshape(1, -1, 1), src.reshape(1, -1, 1))


def _pad_to(g: Tensor, shape: tuple) -> Tensor:
    """``g`` in the leading corner of zeros of ``shape`` (src larger than the index), differentiably."""
    if g.shape == tuple(shape):
        return g
    return IndexAddInto.apply(g, tuple(shape), _region(g.shape), True)


# ------------------------------------------------------------------ gather / scatter
class Gather(Function):
    @staticmethod
    def forward(ctx, a, dim, index):
        ctx.meta = (a.data.shape, dim, index)
        x = a.data
        if x.shape != index.shape:
            x = x[_region(index.shape, dim)]
        return np.take_along_axis(x, index, axis=dim)

    @staticmethod
    def backward(ctx, g):
        shape, dim, index = ctx.meta
        return ScatterAddInto.apply(g, shape, dim, index), None, None


class ScatterAddInto(Function):
    """Zeros of ``shape`` with ``g`` scatter-added along ``dim``: the gradient of gather."""

    @staticmethod
    def forward(ctx, g, shape, dim, index):
        ctx.meta = (dim, index)
        out = np.zeros(shape, g.data.dtype)
        _scatter_add_along(out, dim, index, g.data)
        return out

    @staticmethod
    def backward(ctx, gg):
        dim, index = ctx.meta
        return Gather.apply(gg, dim, index), None, None, None


def _prep_along(op: str, input: Tensor, dim: int, index, src=None) -> tuple:
    """Checked ``(dim, index array, input, src)`` of gather and the scatters.

    A 0-d input, index or src comes back as 1-d of size 1, as PyTorch treats them; the caller
    reshapes the result back (``out.reshape(())`` for a 0-d input, or the index's shape for gather).
    """
    idx = _index_array(op, index)
    if input.data.ndim == 0:
        input = input.reshape(1)
    if idx.ndim == 0:
        idx = idx.reshape(1)
    if src is not None and src.data.ndim == 0:
        src = src.reshape(1)
    dim = norm_dim(dim, input.data.ndim, op)
    _check_along(op, input.data.shape, dim, idx, None if src is None else src.data.shape)
    return dim, idx, input, src


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` for dim=0 (and so on); index may be smaller than input.

    The gradient scatter-adds back into input's shape.
    """
    dim, idx, x, _ = _prep_along("gather", input, dim, index)
    out = Gather.apply(x, dim, idx)
    return out.reshape(()) if index.ndim == 0 else out  # index: a Tensor or an ndarray (checked above)


class Scatter(Function):
    @staticmethod
    def forward(ctx, a, dim, index, src, value):
        ctx.meta = (dim, index, None if src is None else src.data.shape)
        out = a.data.copy()
        pos = _along(index, dim)
        if src is not None:
            s = src.data
            out[pos] = s if s.shape == index.shape else s[_region(index.shape)]
        else:
            out[pos] = value
        return out

    @staticmethod
    def backward(ctx, g):
        dim, index, src_shape = ctx.meta
        na, _, _, ns, _ = ctx.needs_input_grad
        ga = Scatter.apply(g, dim, index, None, 0) if na else None
        gs = _pad_to(Gather.apply(g, dim, index), src_shape) if ns else None
        return ga, None, None, gs, None


class ScatterAdd(Function):
    @staticmethod
    def forward(ctx, a, dim, index, src):
        ctx.meta = (dim, index, src.data.shape)
        out = a.data.copy()
        _scatter_add_along(out, dim, index, src.data)
        return out

    @staticmethod
    def backward(ctx, g):
        dim, index, src_shape = ctx.meta
        na, _, _, ns = ctx.needs_input_grad
        gs = _pad_to(Gather.apply(g, dim, index), src_shape) if ns else None
        return (g if na else None), None, None, gs


_REDUCE_ALIASES = {"add": "sum", "multiply": "prod"}


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce: str | None = None) -> Tensor:
    """Copy of ``input`` with ``src`` (a tensor, or a number ``value``) written at ``index`` along ``dim``.

    ``out[index[i][j]][j] = src[i][j]`` for dim=0. ``reduce='add'|'multiply'`` combines instead of
    overwriting. With repeated indices, which write wins is unspecified (as in PyTorch).
    """
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src
    if src is None and value is None:
        raise TypeError("scatter: expected a src tensor or a value")
    dim, idx, x, src = _prep_along("scatter", input, dim, index, src)
    if reduce is not None:
        if reduce not in _REDUCE_ALIASES:
            raise ValueError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
        if src is None:
            src = Tensor(np.full(idx.shape, value, input.data.dtype))
        return scatter_reduce(input, dim, index, src, _REDUCE_ALIASES[reduce])
    if src is not None and src.data.dtype != input.data.dtype:
        raise DTypeError(f"scatter: expected src of dtype {input.dtype} like the input, got {src.dtype}")
    return _like_input(Scatter.apply(x, dim, idx, src, value), input)


def _like_input(out: Tensor, input: Tensor) -> Tensor:
    """A scatter's result in the shape of its input (0-d inputs were lifted to 1-d by ``_prep_along``)."""
    return out.reshape(()) if input.data.ndim == 0 else out


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """Copy of ``input`` with ``src`` added at ``index`` along ``dim``; repeated indices accumulate."""
    dim, idx, x, src = _prep_along("scatter_add", input, dim, index, src)
    if src.data.dtype != input.data.dtype:
        raise DTypeError(f"scatter_add: expected src of dtype {input.dtype} like the input, got {src.dtype}")
    return _like_input(ScatterAdd.apply(x, dim, idx, src), input)


_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def _identity(reduce: str, dtype: np.dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    info = np.iinfo(dtype) if dtype.kind in "iu" else None
    if info is None:
        return reduce == "amin"
    return info.min if reduce == "amax" else info.max


class ScatterReduce(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a, dim, index, src, reduce, include_self):
        x = a.data
        s = src.data if src.data.shape == index.shape else src.data[_region(index.shape)]
        pos = _along(index, dim)
        scattered = np.zeros(x.shape, bool)
        scattered[pos] = True
        ctx.save_for_backward(a, src)
        out = x.copy()
        if not include_self:
            out[scattered] = _identity(reduce, x.dtype)
        if reduce in ("sum", "mean"):
            _scatter_add_along(out, dim, index, s)
        elif reduce == "prod":
            np.multiply.at(out, pos, s)
        elif reduce == "amax":
            np.maximum.at(out, pos, s)
        else:
            np.minimum.at(out, pos, s)
        counts = None
        if reduce == "mean":
            counts = np.zeros(x.shape, x.dtype)
            _scatter_add_along(counts, dim, index, np.ones(index.shape, x.dtype))
            if include_self:
                counts += 1
            counts[counts == 0] = 1
            if out.dtype.kind == "f":
                out /= counts
            else:
                out //= counts
        ctx.meta = (dim, index, reduce, include_self, scattered, counts)
        return out

    @staticmethod
    def backward(ctx, g):
        x, src = ctx.saved_tensors
        dim, index, reduce, include_self, scattered, counts = ctx.meta
        result = ctx.output
        sm = Tensor(scattered)
        s = src if src.shape == index.shape else getitem(src, _region(index.shape))
        gx = gs = None
        if reduce == "sum":
            gx = g
            gs = gather(g, dim, index)
        elif reduce == "mean":
            gn = g / Tensor(counts)
            gx = gn
            gs = gather(gn, dim, index)
        elif reduce in ("amax", "amin"):
            value = gather(result, dim, index)
            x_is = x == result
            if not include_self:
                x_is = x_is & ~sm
            s_is = s == value
            n = x_is.to(g.dtype) + ScatterAddInto.apply(s_is.to(g.dtype), x.shape, dim, index)
            gd = g / n
            gx = gd * x_is
            gs = gather(gd, dim, index) * s_is
        else:  # prod, zero-safe like PyTorch's rule
            masked_x = masked_fill(x, x == 0, 1)
            gx = g * scatter_reduce(masked_x, dim, index, s, "prod", include_self=include_self) / masked_x
            s_zero = s == 0
            zeros_per_slot = ScatterAddInto.apply(s_zero.to(g.dtype), x.shape, dim, index)
            single_zero = s_zero & (gather(zeros_per_slot, dim, index) == 1)
            masked_s_result = scatter_reduce(
                x, dim, index, masked_fill(s, single_zero, 1), "prod", include_self=include_self
            )
            gs = where(
                single_zero,
                gather(g * masked_s_result, dim, index),
                gather(g * result, dim, index) / masked_fill(s, s_zero, 1),
            )
        if not include_self:
            gx = masked_fill(gx, sm, 0)
        na, _, _, ns, _, _ = ctx.needs_input_grad
        return (gx if na else None), None, None, (_pad_to(gs, src.shape) if ns else None), None, None


def scatter_reduce(
    input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True
) -> Tensor:
    """Reduce ``src`` into a copy of ``input`` at ``index`` along ``dim``.

    ``reduce`` is 'sum', 'prod', 'mean', 'amax' or 'amin'; ``include_self=False`` leaves the old
    values out of the slots that receive something. Ties in amax/amin share the gradient evenly.
    """
    if reduce not in _REDUCES:
        raise ValueError(f"scatter_reduce: reduce must be one of {', '.join(_REDUCES)}, got {reduce!r}")
    dim, idx, x, src = _prep_along("scatter_reduce", input, dim, index, src)
    if src.data.dtype != input.data.dtype:
        raise DTypeError(f"scatter_reduce: expected src of dtype {input.dtype} like the input, got {src.dtype}")
    if reduce == "sum" and include_self:
        return _like_input(ScatterAdd.apply(x, dim, idx, src), input)
    return _like_input(ScatterReduce.apply(x, dim, idx, src, reduce, include_self), input)


# ------------------------------------------------------------------ index_* along one dim
def _vector_index(op: str, index, size: int, dim: int) -> np.ndarray:
    idx = _index_array(op, index)
    if idx.ndim > 1:
        raise ShapeError(f"{op}: index must be a vector (0-d or 1-d), got shape {idx.shape}")
    idx = idx.reshape(-1)
    _check_range(op, idx, size, dim)
    return idx


def _dim_and_index(op: str, input: Tensor, dim: int, index) -> tuple:
    shape = input.data.shape or (1,)
    dim = norm_dim(dim, len(shape), op)
    return dim, _vector_index(op, index, shape[dim], dim)


def _rows_view(shape: tuple, dim: int, n: int) -> tuple:
    return _prod(shape[:dim]), n, _prod(shape[dim + 1 :])


class IndexSelect(Function):
    @staticmethod
    def forward(ctx, a, dim, index):
        ctx.meta = (a.data.shape, dim, index)
        return np.take(a.data, index, axis=dim)

    @staticmethod
    def backward(ctx, g):
        shape, dim, index = ctx.meta
        return IndexAddAlong.apply(g, shape, dim, index), None, None


class IndexAddAlong(Function):
    """Zeros of ``shape`` with the slices of ``g`` added at ``index`` along ``dim``."""

    @staticmethod
    def forward(ctx, g, shape, dim, index):
        ctx.meta = (dim, index)
        out = np.zeros(shape, g.data.dtype)
        a, v, r = _rows_view(shape, dim, shape[dim])
        _add_rows(out.reshape(a, v, r), index, g.data.reshape(a, index.size, r))
        return out

    @staticmethod
    def backward(ctx, gg):
        dim, index = ctx.meta
        return IndexSelect.apply(gg, dim, index), None, None, None


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of ``input`` at the positions ``index`` (a vector) along ``dim``."""
    if input.ndim == 0:
        return index_select(input.reshape(1), dim, index).reshape(())
    dim, idx = _dim_and_index("index_select", input, dim, index)
    return IndexSelect.apply(input, dim, idx)


def _check_source(op: str, shape: tuple, dim: int, n: int, source_shape: tuple) -> None:
    expected = shape[:dim] + (n,) + shape[dim + 1 :]
    if tuple(source_shape) != expected:
        raise ShapeError(
            f"{op}: source {tuple(source_shape)} does not fit input {shape} with {n} indices along dimension "
            f"{dim}: expected source of shape {expected}"
        )


class IndexAdd(Function):
    @staticmethod
    def forward(ctx, a, dim, index, source, alpha):
        ctx.meta = (dim, index, alpha)
        out = a.data.copy()
        s = source.data
        if alpha != 1:
            s = s * alpha
        _add_rows(
            out.reshape(_rows_view(out.shape, dim, out.shape[dim])),
            index,
            s.reshape(_rows_view(s.shape, dim, index.size)),
        )
        return out

    @staticmethod
    def backward(ctx, g):
        dim, index, alpha = ctx.meta
        na, _, _, ns, _ = ctx.needs_input_grad
        gs = None
        if ns:
            gs = IndexSelect.apply(g, dim, index)
            if alpha != 1:
                gs = gs * alpha
        return (g if na else None), None, None, gs, None


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """Copy of ``input`` with ``alpha * source`` added at ``index`` along ``dim``; repeats accumulate."""
    squeeze = input.ndim == 0
    if squeeze:
        input, source = input.reshape(1), source.reshape(-1)
    dim, idx = _dim_and_index("index_add", input, dim, index)
    _check_source("index_add", input.shape, dim, idx.size, source.shape)
    if source.data.dtype != input.data.dtype:
        raise DTypeError(f"index_add: expected source of dtype {input.dtype} like the input, got {source.dtype}")
    out = IndexAdd.apply(input, dim, idx, source, alpha)
    return out.reshape(()) if squeeze else out


class IndexFill(Function):
    @staticmethod
    def forward(ctx, a, dim, index, value):
        ctx.meta = (dim, index)
        out = a.data.copy()
        out[(slice(None),) * dim + (index,)] = data_of(value)
        return out

    @staticmethod
    def backward(ctx, g):
        dim, index = ctx.meta
        na, _, _, nv = ctx.needs_input_grad
        ga = IndexFill.apply(g, dim, index, 0) if na else None
        gv = IndexSelect.apply(g, dim, np.unique(index)).sum() if nv else None
        return ga, None, None, gv


def _check_scalar_value(op: str, value) -> None:
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ShapeError(f"{op}: only a 0-dimensional value tensor is supported, got shape {value.shape}")


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """Copy of ``input`` with the slices at ``index`` along ``dim`` set to ``value`` (number or 0-d tensor)."""
    _check_scalar_value("index_fill", value)
    if input.ndim == 0:
        return index_fill(input.reshape(1), dim, index, value).reshape(())
    dim, idx = _dim_and_index("index_fill", input, dim, index)
    return IndexFill.apply(input, dim, idx, value)


class IndexCopy(Function):
    @staticmethod
    def forward(ctx, a, dim, index, source):
        ctx.meta = (dim, index)
        out = a.data.copy()
        out[(slice(None),) * dim + (index,)] = source.data
        return out

    @staticmethod
    def backward(ctx, g):
        dim, index = ctx.meta
        na, _, _, ns = ctx.needs_input_grad
        ga = IndexFill.apply(g, dim, index, 0) if na else None
        gs = IndexSelect.apply(g, dim, index) if ns else None
        return ga, None, None, gs


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """Copy of ``input`` with the slices of ``source`` written at ``index`` along ``dim``."""
    if input.ndim == 0:
        return index_copy(input.reshape(1), dim, index, source.reshape(-1)).reshape(())
    dim, idx = _dim_and_index("index_copy", input, dim, index)
    _check_source("index_copy", input.shape, dim, idx.size, source.shape)
    if source.data.dtype != input.data.dtype:
        raise DTypeError(f"index_copy: expected source of dtype {input.dtype} like the input, got {source.dtype}")
    return IndexCopy.apply(input, dim, idx, source)


# ------------------------------------------------------------------ masks
def _mask_array(op: str, mask) -> np.ndarray:
    m = data_of(mask)
    if not isinstance(m, np.ndarray) or m.dtype.kind != "b":
        got = _dt.from_numpy_dtype(m.dtype) if isinstance(m, np.ndarray) else type(m).__name__
        raise DTypeError(f"{op}: mask must be a bool tensor, got {got}")
    return m


def _mask_shape(op: str, shape: tuple, mshape: tuple) -> tuple:
    try:
        return np.broadcast_shapes(shape, mshape)
    except ValueError:
        raise broadcast_error(op, mshape, shape, names=("mask", "input")) from None


class MaskedFill(Function):
    @staticmethod
    def forward(ctx, a, mask, value):
        ctx.mask = mask
        x = a.data
        v = value.data.astype(x.dtype) if isinstance(value, Tensor) else x.dtype.type(value)
        return np.where(mask, v, x)

    @staticmethod
    def backward(ctx, g):
        mask = ctx.mask
        na, _, nv = ctx.needs_input_grad
        ga = MaskedFill.apply(g, mask, 0) if na else None
        gv = MaskedFill.apply(g, ~mask, 0).sum() if nv else None
        return ga, None, gv


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """Copy of ``input`` with ``value`` (number or 0-d tensor) where ``mask`` (bool, broadcast) is True."""
    m = _mask_array("masked_fill", mask)
    _mask_shape("masked_fill", input.shape, m.shape)
    _check_scalar_value("masked_fill", value)
    return MaskedFill.apply(input, m, value)


class MaskedSelect(Function):
    @staticmethod
    def forward(ctx, a, mask):
        x, m = np.broadcast_arrays(a.data, mask)
        ctx.meta = (x.shape, m)
        return x[m]

    @staticmethod
    def backward(ctx, g):
        shape, m = ctx.meta
        return IndexAddInto.apply(g, shape, m, False), None


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where ``mask`` is True, as a 1-d tensor (both broadcast)."""
    m = _mask_array("masked_select", mask)
    _mask_shape("masked_select", input.shape, m.shape)
    return MaskedSelect.apply(input, m)


class MaskedScatter(Function):
    @staticmethod
    def forward(ctx, a, mask, source, count):
        ctx.meta = (mask, count, source.data.shape)
        out = a.data.copy() if a.data.shape == mask.shape else np.array(np.broadcast_to(a.data, mask.shape))
        out[mask] = source.data.reshape(-1)[:count]
        return out

    @staticmethod
    def backward(ctx, g):
        mask, count, sshape = ctx.meta
        na, _, ns, _ = ctx.needs_input_grad
        ga = MaskedFill.apply(g, mask, 0) if na else None
        gs = None
        if ns:
            picked = MaskedSelect.apply(g, mask)
            gs = IndexAddInto.apply(picked, (_prod(sshape),), slice(0, count), True).reshape(sshape)
        return ga, None, gs, None


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """Copy of ``input`` with the first elements of ``source`` written, in order, where ``mask`` is True."""
    m = _mask_array("masked_scatter", mask)
    shape = _mask_shape("masked_scatter", input.shape, m.shape)
    m = np.broadcast_to(m, shape)
    count = int(np.count_nonzero(m))
    if source.data.size < count:
        raise ShapeError(
            f"masked_scatter: source {source.shape} has {source.data.size} elements but the mask "
            f"{tuple(m.shape)} selects {count}"
        )
    if source.data.dtype != input.data.dtype:
        raise DTypeError(f"masked_scatter: expected source of dtype {input.dtype} like the input, got {source.dtype}")
    return MaskedScatter.apply(input, m, source, count)


# ------------------------------------------------------------------ flat indexing
def take(input: Tensor, index: Tensor) -> Tensor:
    """``input.flatten()[index]`` in the shape of ``index``; negative indices count from the end."""
    idx = _index_array("take", index)
    n = input.data.size
    _check_range("take", idx, n, 0, allow_negative=True)
    flat = input.reshape(-1)
    out = IndexSelect.apply(flat, 0, idx.reshape(-1))
    return out.reshape(idx.shape)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` with broadcasting of ``input`` and ``indices`` outside ``dim``; dim=None: flat ``take``."""
    idx = _index_array("take_along_dim", indices, "indices")
    if dim is None:
        return take(input, Tensor(idx.reshape(-1)))
    if input.ndim != idx.ndim:
        raise ShapeError(
            f"take_along_dim: input {input.shape} and indices {idx.shape} must have the same number of dimensions"
        )
    if input.ndim == 0:
        raise IndexError(
            f"take_along_dim: dimension specified as {dim} but the input has no dimensions (shape ()); "
            "dim=None takes along the flattened input"
        )
    dim = norm_dim(dim, input.ndim, "take_along_dim")
    shape = input.shape
    x_outer = shape[:dim] + (1,) + shape[dim + 1 :]
    i_outer = idx.shape[:dim] + (1,) + idx.shape[dim + 1 :]
    clash = broadcast_clash(x_outer, i_outer)
    if clash is not None:
        d = clash[0] + len(shape)
        raise ShapeError(
            f"take_along_dim: input {shape} and indices {idx.shape} do not broadcast outside dimension {dim}: "
            f"dimension {d} has size {shape[d]} in input and {idx.shape[d]} in indices"
        )
    outer = np.broadcast_shapes(x_outer, i_outer)
    _check_range("take_along_dim", idx, shape[dim], dim, allow_negative=True)
    idx = _normalize_negative(idx, shape[dim])
    x_shape = outer[:dim] + (shape[dim],) + outer[dim + 1 :]
    i_shape = outer[:dim] + (idx.shape[dim],) + outer[dim + 1 :]
    x = input if x_shape == shape else input.expand(x_shape)
    idx = np.broadcast_to(idx, i_shape)
    return Gather.apply(x, dim, idx)


class Put(Function):
    @staticmethod
    def forward(ctx, a, index, source, accumulate):
        ctx.meta = (index, accumulate, source.data.shape)
        out = a.data.copy()
        flat = out.reshape(-1)
        s = source.data.reshape(-1)
        if accumulate:
            _add_rows(flat.reshape(1, -1, 1), index, s.reshape(1, -1, 1))
        else:
            flat[index] = s
        return out

    @staticmethod
    def backward(ctx, g):
        index, accumulate, sshape = ctx.meta
        na, _, ns, _ = ctx.needs_input_grad
        ga = gs = None
        if na:
            ga = g if accumulate else IndexFill.apply(g.reshape(-1), 0, index, 0).reshape(g.shape)
        if ns:
            gs = IndexSelect.apply(g.reshape(-1), 0, index).reshape(sshape)
        return ga, None, gs, None


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """Copy of ``input`` with ``source`` written (or added) at flat positions ``index``."""
    idx = _index_array("put", index)
    if idx.size != source.data.size:
        raise ShapeError(
            f"put: index {idx.shape} and source {source.shape} must have the same number of elements "
            f"({idx.size} vs {source.data.size})"
        )
    if source.data.dtype != input.data.dtype:
        raise DTypeError(f"put: expected source of dtype {input.dtype} like the input, got {source.dtype}")
    _check_range("put", idx, input.data.size, 0, allow_negative=True)
    return Put.apply(input, idx.reshape(-1), source, accumulate)


# ------------------------------------------------------------------ no gradient
def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one 1-d tensor per dim."""
    x = input.data
    if as_tuple:
        return tuple(Tensor(i.astype(np.int64, copy=False)) for i in np.nonzero(np.atleast_1d(x)))
    return Tensor(np.argwhere(x).astype(np.int64, copy=False))


def argwhere(input: Tensor) -> Tensor:
    """Indices of the non-zero elements as an (n, ndim) int64 tensor."""
    return Tensor(np.argwhere(input.data).astype(np.int64, copy=False))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """One-hot encoding of a class-index tensor of shape (*) into int64 of shape (*, num_classes).

    num_classes=-1 infers max + 1 from the data.
    """
    idx = _index_array("one_hot", tensor, "tensor")
    if num_classes == -1:
        if idx.size == 0:
            raise ValueError("one_hot: can not infer the number of classes from an empty tensor; pass num_classes")
        num_classes = int(idx.max()) + 1
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0:
            raise ValueError(f"one_hot: class values must be non-negative, got {lo}")
        if hi >= num_classes:
            raise ValueError(f"one_hot: class values must be smaller than num_classes={num_classes}, got {hi}")
    flat = idx.reshape(-1)
    out = np.zeros((flat.size, num_classes), np.int64)
    out[np.arange(flat.size), flat] = 1
    return Tensor(out.reshape(idx.shape + (num_classes,)))
