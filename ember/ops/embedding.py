"""Embedding lookups: ``embedding`` (rows of a table by index) and ``embedding_bag`` (sums, means, maxima of bags).

The gradient of a lookup scatter-adds rows of the output gradient into a
zeroed table; a Numba loop (``ember.kernels.embedding``) does it 30x faster
than ``np.add.at``. That scatter is itself an op whose gradient is a gather,
so higher-order gradients are exact.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from .index import getitem

__all__ = ["embedding", "embedding_bag"]


# from this many looked-up rows the gradient uses the Numba scatter-add (np.add.at costs ~1 us per row)
_KERNEL_MIN_INDICES = 64


class _Embedding(Function):
    """``weight[indices]``; the gradient skips ``padding_idx`` and may be divided by index frequency."""

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        ctx.meta = (indices, weight.data.shape[0], padding_idx, scale_grad_by_freq)
        return np.take(weight.data, indices, axis=0)

    @staticmethod
    def backward(ctx, g):
        indices, rows, padding_idx, scale = ctx.meta
        return _EmbeddingGrad.apply(g, indices, rows, padding_idx, scale), None, None, None


class _EmbeddingGrad(Function):
    """Zeros of ``(rows, D)`` with ``g[i]`` added at row ``indices[i]`` (the gradient of ``_Embedding``)."""

    @staticmethod
    def forward(ctx, g, indices, rows, padding_idx, scale):
        ctx.meta = (indices, padding_idx, scale)
        d = g.data.shape[-1]
        flat_idx = np.ascontiguousarray(indices.reshape(-1))
        flat_g = np.ascontiguousarray(g.data.reshape(flat_idx.size, d))
        out = np.zeros((rows, d), g.data.dtype)
        pad = -1 if padding_idx is None else padding_idx
        if flat_idx.size >= _KERNEL_MIN_INDICES and flat_g.dtype in (np.float32, np.float64):
            from ..kernels.embedding import embedding_backward

            return embedding_backward(out, flat_idx, flat_g, pad, scale)
        # a few indices (or float16): np.add.at costs microseconds, and Numba's import and compile are not paid
        if scale:
            counts = np.bincount(flat_idx, minlength=rows)
            flat_g = flat_g / counts[flat_idx, None].astype(flat_g.dtype)
        np.add.at(out, flat_idx, flat_g)
        if padding_idx is not None:
            out[padding_idx] = 0
        return out

    @staticmethod
    def backward(ctx, gg):
        indices, padding_idx, scale = ctx.meta
        rows = getitem(gg, indices)
        factor = _row_factors(indices, gg.shape[0], padding_idx, scale)
        if factor is not None:
            rows = rows * Tensor(factor.astype(gg.data.dtype)[..., None])
        return rows, None, None, None, None


def _row_factors(indices: np.ndarray, rows: int, padding_idx, scale: bool):
    """What each looked-up row's gradient is multiplied by: 0 at padding, 1 / frequency with ``scale``."""
    if padding_idx is None and not scale:
        return None
    factor = np.ones(indices.shape, np.float64)
    if scale:
        counts = np.bincount(indices.reshape(-1), minlength=rows)
        factor = factor / counts[indices]
    if padding_idx is not None:
        factor[indices == padding_idx] = 0
    return factor


# ------------------------------------------------------------------ checks
def _index_array(op: str, input) -> np.ndarray:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor of indices, got {type(input).__name__}")
    idx = input.data
    if idx.dtype not in (np.int64, np.int32):
        raise DTypeError(f"{op}: expected indices of dtype int64 or int32, got {input.dtype}")
    return idx


def _check_weight(op: str, weight) -> None:
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}: expected weight to be a Tensor, got {type(weight).__name__}")
    if weight.data.ndim != 2:
        raise ShapeError(f"{op}: expected weight to be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}")
    if weight.data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point weight, got {weight.dtype}")


def _check_range(op: str, idx: np.ndarray, weight: Tensor) -> None:
    if idx.size == 0:
        return
    rows = weight.data.shape[0]
    lo, hi = idx.min(), idx.max()
    if lo < 0 or hi >= rows:
        bad = int(lo) if lo < 0 else int(hi)
        raise IndexError(
            f"{op}: index {bad} is out of range for a table of {rows} rows (weight shape {weight.shape}); "
            f"indices must be in [0, {rows})"
        )


def _padding(op: str, padding_idx, weight: Tensor):
    if padding_idx is None:
        return None
    rows = weight.data.shape[0]
    if not -rows <= padding_idx < rows:
        raise ValueError(
            f"{op}: padding_idx {padding_idx} must be within num_embeddings {rows} (weight shape {weight.shape})"
        )
    return int(padding_idx) + rows if padding_idx < 0 else int(padding_idx)


def _renorm_(weight: Tensor, idx: np.ndarray, max_norm: float, norm_type: float) -> None:
    """Scale the rows of ``weight`` that ``idx`` uses down to norm ``max_norm``, in place (PyTorch's ``embedding_renorm_``)."""
    if idx.size == 0:
        return
    with no_grad():
        rows = np.unique(idx)
        table = weight.data
        sel = table[rows]
        norms = np.linalg.norm(sel, ord=norm_type, axis=1)
        over = norms > max_norm
        if not over.any():
            return
        scale = (max_norm / (norms[over] + 1e-7)).astype(table.dtype)
        table[rows[over]] = sel[over] * scale[:, None]
        weight._vc[0] += 1


# ------------------------------------------------------------------ public ops
def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` ``(num_embeddings, D)`` picked by integer ``input`` of any shape: output ``(*input.shape, D)``.

    Rows at ``padding_idx`` get no gradient; ``max_norm`` first rescales, in
    place, the referenced rows whose ``norm_type``-norm exceeds it. ``sparse``
    is accepted for compatibility: the gradient is always dense.
    """
    op = "embedding"
    idx = _index_array(op, input)
    _check_weight(op, weight)
    _check_range(op, idx, weight)
    padding_idx = _padding(op, padding_idx, weight)
    if max_norm is not None:
        _renorm_(weight, idx, float(max_norm), float(norm_type))
    return _Embedding.apply(weight, idx, padding_idx, bool(scale_grad_by_freq))


class _SegmentSum(Function):
    """Sum the rows of ``(n, D)`` into ``bags`` segments; ``bag_of`` (sorted) names each row's segment."""

    @staticmethod
    def forward(ctx, rows, bag_of, starts, bags):
        ctx.bag_of = bag_of
        x = rows.data
        out = np.zeros((bags, x.shape[1]), x.dtype)
        if x.shape[0]:
            out[bag_of[starts]] = np.add.reduceat(x, starts, axis=0)
        return out

    @staticmethod
    def backward(ctx, g):
        return getitem(g, ctx.bag_of), None, None, None


class _SegmentMax(Function):
    """Elementwise maximum over each segment of rows (0 for an empty one); the gradient goes to the first maximum."""

    @staticmethod
    def forward(ctx, rows, bag_of, starts, bags):
        x = rows.data
        n, d = x.shape
        out = np.zeros((bags, d), x.dtype)
        if n:
            nonempty = bag_of[starts]
            out[nonempty] = np.maximum.reduceat(x, starts, axis=0)
            pos = np.arange(n)[:, None]
            candidates = np.where(x == out[bag_of], pos, n)
            first = np.full((bags, d), n)
            first[nonempty] = np.minimum.reduceat(candidates, starts, axis=0)
            ctx.meta = (bag_of, pos == first[bag_of])
        else:
            ctx.meta = (bag_of, np.zeros((0, d), bool))
        return out

    @staticmethod
    def backward(ctx, g):
        bag_of, is_max = ctx.meta
        return getitem(g, bag_of) * Tensor(is_max), None, None, None


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Sum, mean or max of bags of embeddings without materialising ``(B, L, D)``: output ``(B, D)``.

    ``input`` is ``(B, L)`` (fixed-size bags) or 1-D with ``offsets`` giving where
    each bag starts. ``per_sample_weights`` (mode 'sum' only) scales each looked-up
    row; ``padding_idx`` entries are left out of their bag; an empty bag gives zeros.
    """
    op = "embedding_bag"
    idx = _index_array(op, input)
    _check_weight(op, weight)
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"{op}: mode has to be one of 'sum', 'mean' or 'max', got {mode!r}")
    if per_sample_weights is not None:
        if mode != "sum":
            raise ValueError(f"{op}: per_sample_weights is only supported for mode='sum', got mode={mode!r}")
        if tuple(per_sample_weights.shape) != idx.shape:
            raise ShapeError(
                f"{op}: per_sample_weights of shape {per_sample_weights.shape} must have the shape of input {idx.shape}"
            )
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{op}: offsets must be None when input is 2-D (B, L), got input shape {idx.shape}")
        bags, length = idx.shape
        bag_of = np.repeat(np.arange(bags), length)
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError(f"{op}: offsets has to be a 1-D tensor when input is 1-D, got None")
        off = _index_array(op, offsets).astype(np.int64)
        if off.ndim != 1:
            raise ShapeError(f"{op}: offsets has to be a 1-D tensor, got shape {offsets.shape}")
        if off.size and off[0] != 0:
            raise ValueError(f"{op}: offsets[0] has to be 0 (the first bag starts at position 0), got {int(off[0])}")
        ends = off[1:] if include_last_offset else np.append(off[1:], idx.size)
        starts = off[:-1] if include_last_offset else off
        if np.any(ends < starts) or (ends.size and (ends[-1] > idx.size)):
            raise ValueError(
                f"{op}: offsets must be non-decreasing and at most the input length {idx.size}, got {off.tolist()}"
            )
        bags = starts.size
        bag_of = np.repeat(np.arange(bags), ends - starts)
        if include_last_offset and bag_of.size < idx.size:
            idx = idx[: bag_of.size]
    else:
        raise ShapeError(f"{op}: expected input to be 1-D (with offsets) or 2-D (B, L), got shape {idx.shape}")
    flat = idx.reshape(-1)
    _check_range(op, flat, weight)
    padding_idx = _padding(op, padding_idx, weight)
    if max_norm is not None:
        _renorm_(weight, flat, float(max_norm), float(norm_type))
    psw = None if per_sample_weights is None else per_sample_weights.reshape(-1)
    if psw is not None and psw.shape[0] != flat.size:
        psw = psw[: flat.size]
    if padding_idx is not None:
        keep = flat != padding_idx
        if not keep.all():
            flat, bag_of = flat[keep], bag_of[keep]
            psw = None if psw is None else getitem(psw, keep)
    rows = _Embedding.apply(weight, flat, None, bool(scale_grad_by_freq))
    if psw is not None:
        rows = rows * psw.reshape(-1, 1)
    starts = np.flatnonzero(np.r_[True, bag_of[1:] != bag_of[:-1]]) if bag_of.size else np.zeros(0, np.int64)
    if mode == "max":
        return _SegmentMax.apply(rows, bag_of, starts, bags)
    out = _SegmentSum.apply(rows, bag_of, starts, bags)
    if mode == "mean":
        counts = np.bincount(bag_of, minlength=bags).astype(weight.data.dtype)
        out = out * Tensor((1.0 / np.maximum(counts, 1))[:, None].astype(weight.data.dtype))
    return out
