"""Pooling, unpooling, interpolation and pixel shuffles on ``(N, C, *spatial)`` tensors, as in PyTorch.

Regular windows (kernel, stride, padding, dilation, ceil mode) are separable:
sums and maxima without indices are one NumPy ufunc call per kernel tap and
spatial dim on strided views. Max pooling that must return or differentiate
its argmax, and adaptive pools (variable windows), run Numba kernels from
``ember.kernels.pool`` on a per-dim description of the windows. Max pooling
keeps PyTorch's flat indices into each input plane, so its gradient is a
scatter by them (whose own gradient is a gather) and ``max_unpool`` takes them
as they are. Interpolation applies one sparse resampling matrix per axis with
PyTorch's source-index formulas; its gradient is the transposed matrix. Every
backward is itself a differentiable op, so higher-order gradients work.
Unbatched inputs ``(C, *spatial)`` and any leading dims work alike.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import state as _grad_state
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, new_tensor
from . import elementwise as _ew
from . import reduce as _reduce
from ._util import cached, is_channel_major

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "interpolate",
    "upsample",
    "upsample_nearest",
    "upsample_bilinear",
    "pixel_shuffle",
    "pixel_unshuffle",
    "channel_shuffle",
]

_SPATIAL_NAMES = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


_KERNELS = None


def _kernels():
    """``ember.kernels.pool``, imported on first use (``import ember`` must not import Numba)."""
    global _KERNELS
    if _KERNELS is None:
        from ..kernels import pool

        _KERNELS = pool
    return _KERNELS


def _prod(shape) -> int:
    p = 1
    for s in shape:
        p *= s
    return p


# ------------------------------------------------------------------ arguments
def _ntuple(op: str, name: str, value, n: int) -> tuple:
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    try:
        t = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}") from None
    if len(t) == 1:
        return t * n
    if len(t) != n:
        raise ShapeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    return t


def _check_input(op: str, input: Tensor, n: int) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected an ember Tensor as input, got {type(input).__name__}")
    shape = input.data.shape
    if len(shape) not in (n + 1, n + 2):
        raise ShapeError(
            f"{op}: expected a {n + 1}D (unbatched) or {n + 2}D {_SPATIAL_NAMES[n]} input, got shape {shape}"
        )
    inner = shape[1:] if len(shape) == n + 2 else shape
    if 0 in inner:
        raise ShapeError(
            f"{op}: expected an input whose non-batch dims are all non-zero (an empty batch is fine), got shape {shape}"
        )
    if input.data.dtype.kind == "b" or input.data.dtype.kind == "c":
        raise DTypeError(f"{op}: not implemented for {input.dtype} input (shape {shape})")


def _check_float(op: str, input: Tensor) -> None:
    if input.data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point input, got {input.dtype} (shape {input.data.shape})")


def _pool_output_size(n_in: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's ``pooling_output_shape``: in ceil mode the last window must start inside the input or left pad."""
    out = (n_in + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n_in + p:
        out -= 1
    return out


def _pool_args(op, input, n, kernel_size, stride, padding, dilation, ceil_mode, max_pool):
    """Validated ``(kernel, stride, padding, dilation, output spatial size)``; errors name every value."""
    k = _ntuple(op, "kernel_size", kernel_size, n)
    no_stride = stride is None or (not isinstance(stride, (int, np.integer)) and len(stride) == 0)
    s = k if no_stride else _ntuple(op, "stride", stride, n)
    p = _ntuple(op, "padding", padding, n)
    d = _ntuple(op, "dilation", dilation, n)
    shape = input.data.shape
    what = f"input {shape} with kernel_size={k}, stride={s}, padding={p}" + (f", dilation={d}" if max_pool else "")
    if min(k) <= 0 or min(s) <= 0 or min(d) <= 0:
        raise ShapeError(f"{op}: kernel_size, stride and dilation must be positive, got {what}")
    if min(p) < 0:
        raise ShapeError(f"{op}: padding must be non-negative, got {what}")
    for kk, pp, dd in zip(k, p, d):
        # PyTorch's rule: max pools compare with the dilated (effective) kernel, avg pools with the kernel
        effective = (kk - 1) * dd + 1 if max_pool else kk
        if pp > effective // 2:
            half = "the effective kernel size dilation * (kernel_size - 1) + 1" if max_pool else "kernel_size"
            raise ShapeError(f"{op}: padding should be at most half of {half}, got {what}")
    spatial = shape[-n:]
    out = tuple(_pool_output_size(n_in, kk, ss, pp, dd, ceil_mode) for n_in, kk, ss, pp, dd in zip(spatial, k, s, p, d))
    if min(out) <= 0:
        raise ShapeError(f"{op}: {what}, ceil_mode={ceil_mode} gives an empty output {out}: the input is too small")
    return k, s, p, d, out


def _adaptive_size(op: str, input: Tensor, n: int, output_size) -> tuple:
    spatial = input.data.shape[-n:]
    if output_size is None or isinstance(output_size, (int, np.integer)):
        sizes = (output_size,) * n
    else:
        sizes = tuple(output_size)
        if len(sizes) == 1:
            sizes = sizes * n
    if len(sizes) != n:
        raise ShapeError(
            f"{op}: output_size must be an int or a tuple of {n} ints (None keeps a size), got {output_size!r} "
            f"for input {input.data.shape}"
        )
    out = tuple(n_in if o is None else int(o) for n_in, o in zip(spatial, sizes))
    if min(out) < 0:
        raise ShapeError(f"{op}: output_size must be non-negative, got {output_size!r} for input {input.data.shape}")
    return out


# -------------------------------------------------------------------- windows
class _Windows:
    """Per-dim window descriptions padded to 3 dims, in the kernels' argument order."""

    __slots__ = ("n", "in_spatial", "out_spatial", "args", "empty", "inside", "square")

    def __init__(self, in_spatial: tuple, out_spatial: tuple, dims: list, regular: tuple | None = None) -> None:
        n = len(in_spatial)
        self.n = n
        self.in_spatial = tuple(in_spatial)
        self.out_spatial = tuple(out_spatial)
        # windows with no tap inside the input (dilation with padding): a mask over the output, else None
        empty = [lo >= hi for _, lo, hi, _ in dims]
        self.empty = None
        if any(e.any() for e in empty):
            mask = np.zeros((), bool)
            for e in empty:
                mask = np.logical_or.outer(mask, e)
            self.empty = mask
        unit = (np.zeros(1, np.int64), np.zeros(1, np.int64), np.ones(1, np.int64), 1)
        dims = [unit] * (3 - n) + list(dims)
        sizes = (1,) * (3 - n) + self.in_spatial
        self.args = tuple(sizes) + tuple(a for dim in dims for a in dim)
        # regular windows (``(kernel, stride, padding, dilation, out)`` per dim), all inside the input; and
        # 2d, 2x2 with stride 2 (the fast kernels' cases)
        self.inside = regular is not None and _inside(regular, self.in_spatial)
        self.square = self.inside and n == 2 and all(r[:2] == (2, 2) for r in regular)


def _regular_dim(n_in: int, k: int, s: int, p: int, d: int, o: int) -> tuple:
    start = np.arange(o, dtype=np.int64) * s - p
    lo = np.maximum((-start + d - 1) // d, 0)  # first tap inside the input
    hi = np.minimum((n_in - start + d - 1) // d, k)  # one past the last
    return start, lo, hi, d


def _adaptive_dim(n_in: int, o: int) -> tuple:
    i = np.arange(o, dtype=np.int64)
    start = (i * n_in) // o
    end = -((-(i + 1) * n_in) // o)  # ceil((i + 1) * n_in / o)
    return start, np.zeros(o, np.int64), end - start, 1


def _planes(data: np.ndarray, n: int) -> tuple:
    """``data`` as a C-contiguous ``(B, plane)`` array the kernels take (float16 computes in float32)."""
    lead = data.shape[:-n] if n else data.shape
    plane = _prod(data.shape[-n:])
    if data.dtype == np.float16:
        data = data.astype(np.float32)
    return np.ascontiguousarray(data).reshape(_prod(lead), plane), lead


def _planes_in_memory_order(data: np.ndarray, n: int) -> tuple:
    """``(planes (B, plane), lead, channel_major)``: like ``_planes``, but a channel-major input is read
    plane by plane in its own memory order, without a copy (float16 still computes in float32)."""
    if data.ndim == n + 2 and is_channel_major(data):
        lead = data.shape[:-n]
        swapped = data.swapaxes(0, 1)
        if data.dtype == np.float16:
            swapped = swapped.astype(np.float32)
        return swapped.reshape(_prod(lead), _prod(data.shape[-n:])), lead, True
    x2, lead = _planes(data, n)
    return x2, lead, False


def _new_planes(lead: tuple, spatial: tuple, dtype, channel_major: bool, zeros: bool = False) -> tuple:
    """``(memory, view)``: a new ``lead + spatial`` array, in ``(C, N, ...)`` memory when ``channel_major``."""
    shape = ((lead[1], lead[0]) + lead[2:] if channel_major else lead) + spatial
    memory = np.zeros(shape, dtype) if zeros else np.empty(shape, dtype)
    return memory, memory.swapaxes(0, 1) if channel_major else memory


# ------------------------------------------------------------------- max pool
# A channel-major input (a convolution's output, or a ReLU of one) gives a channel-major output and
# gradient: no copy of the input, the next convolution reads it as it lies, and the gradient reaches the
# convolution in the layout its backward wants.
class _MaxPool(Function):
    """Window maxima; indices are computed only when returned or needed for the gradient."""

    @staticmethod
    def forward(ctx, x, win, return_indices, regular):
        data = x.data
        n = win.n
        inside, square = win.inside, win.square
        if not return_indices and not ctx.needs_input_grad[0] and regular is not None and not (inside and n <= 2):
            # no kernel for these windows, and no indices needed: maxima of strided views
            return _window_reduce(data, regular, np.maximum).astype(data.dtype, copy=False)
        if square and data.dtype in (np.float16, np.float32) and not return_indices and not ctx.needs_input_grad[0]:
            return _max_pool2x2_values(data, -np.inf)
        x2, lead, channel_major = _planes_in_memory_order(data, n)
        out_memory, out = _new_planes(lead, win.out_spatial, x2.dtype, channel_major)
        idx_memory, idx = _new_planes(lead, win.out_spatial, np.int64, channel_major)
        planes = (x2.shape[0], _prod(win.out_spatial))
        out_planes, idx_planes = out_memory.reshape(planes), idx_memory.reshape(planes)
        if square:
            _kernels().max_pool2d_2x2(x2, *win.in_spatial, *win.out_spatial, out_planes, idx_planes)
        elif inside and n <= 2:
            h = (1,) * (2 - n)
            k, s = tuple(r[0] for r in regular), tuple(r[1] for r in regular)
            _kernels().max_pool2d_inside(
                x2, *(h + win.in_spatial), *(h + k), *(h + s), *(h + win.out_spatial), out_planes, idx_planes
            )  # fmt: skip
        else:
            lowest = -np.inf if x2.dtype.kind == "f" else np.iinfo(x2.dtype).min
            _kernels().max_pool_forward(x2, *win.args, x2.dtype.type(lowest), out_planes, idx_planes)
        out = out.astype(data.dtype, copy=False)
        # an empty window's index may lie outside the plane: its output depends on no input
        ctx.idx = idx if win.empty is None else np.where(win.empty, 0, idx)
        ctx.meta = (data.shape, n, win.empty)
        return (out, idx) if return_indices else out

    @staticmethod
    def backward(ctx, g, *_):
        in_shape, n, empty = ctx.meta
        if empty is not None:
            g = g * Tensor((~empty).astype(g.data.dtype))
        return _ScatterAdd.apply(g, ctx.idx, in_shape, n), None, None, None


def _max_pool2x2_values(data: np.ndarray, lo: float) -> np.ndarray:
    """Maxima of the 2x2 stride-2 windows over ``data``'s last two dims (float16 or float32, its planes
    read in memory order), those at or below ``lo`` made ``lo``, by the vector kernel: no indices."""
    h, w = data.shape[-2:]
    x2, lead, channel_major = _planes_in_memory_order(data, 2)  # (float16 computes in float32)
    out_memory, out = _new_planes(lead, (h // 2, w // 2), np.float32, channel_major)
    _kernels().max_pool2d_2x2_values(x2, h, w, h // 2, w // 2, out_memory.reshape(x2.shape[0], -1), lo)
    return out.astype(data.dtype, copy=False)


def _inside(regular: tuple, spatial: tuple) -> bool:
    """No padding, no dilation and every window inside the input (the fast kernel's case)."""
    return all(p == 0 and d == 1 and (o - 1) * s + k <= n_in for (k, s, p, d, o), n_in in zip(regular, spatial))


def _window_reduce(data: np.ndarray, regular: tuple, ufunc) -> np.ndarray:
    """Reduce regular windows with a separable ufunc (``np.add`` or ``np.maximum``) on strided views.

    One ufunc call per kernel tap: over all dims at once for small kernels (no
    intermediate arrays), else one spatial dim at a time (``k1 + k2`` calls
    instead of ``k1 * k2``). The input is padded (0 for sums, the lowest value
    for maxima) where windows reach past it. ``regular`` holds
    ``(kernel, stride, padding, dilation, out)`` per spatial dim.
    """
    n = len(regular)
    x = data.astype(np.float32) if data.dtype == np.float16 else data
    fill = 0 if ufunc is np.add else (-np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min)
    # cost in element operations: all taps on the output, or dim by dim on shrinking intermediates
    sizes = list(x.shape[-n:])
    separable = 0
    for i in range(n - 1, -1, -1):
        sizes[i] = regular[i][4]
        separable += (regular[i][0] - 1) * _prod(sizes)
    if (_prod(r[0] for r in regular) - 1) * _prod(sizes) <= separable:
        x = _pad_for_windows(x, regular, range(n), fill)
        views = [
            x[
                (Ellipsis,)
                + tuple(slice(t * d, t * d + (o - 1) * s + 1, s) for t, (_, s, _, d, o) in zip(taps, regular))
            ]
            for taps in itertools.product(*(range(r[0]) for r in regular))
        ]
        out = _fold(views, ufunc)
    else:
        for i in range(n - 1, -1, -1):
            k, s, p, d, o = regular[i]
            x = _pad_for_windows(x, regular, (i,), fill)
            pre = (slice(None),) * (x.ndim - n + i)
            x = _fold([x[pre + (slice(t * d, t * d + (o - 1) * s + 1, s),)] for t in range(k)], ufunc)
        out = x
    return out if out.base is None and out is not data else out.copy()


def _pad_for_windows(x: np.ndarray, regular: tuple, dims, fill) -> np.ndarray:
    """``x`` padded with ``fill`` along the given spatial dims so that every window lies inside."""
    n = len(regular)
    widths = [(0, 0)] * x.ndim
    for i in dims:
        k, s, p, d, o = regular[i]
        axis = x.ndim - n + i
        widths[axis] = (p, max(0, (o - 1) * s + (k - 1) * d + 1 - x.shape[axis] - p))
    if not any(a or b for a, b in widths):
        return x
    padded = np.full([size + a + b for size, (a, b) in zip(x.shape, widths)], fill, x.dtype)
    padded[tuple(slice(a, a + size) for size, (a, _) in zip(x.shape, widths))] = x
    return padded


def _fold(views: list, ufunc) -> np.ndarray:
    if len(views) == 1:
        return views[0]
    out = ufunc(views[0], views[1])
    for v in views[2:]:
        ufunc(out, v, out=out)
    return out


def _window_sum_transpose(g: np.ndarray, regular: tuple, in_spatial: tuple) -> np.ndarray:
    """The transpose of ``_window_reduce(..., np.add)``: each value added back over its window."""
    n = len(regular)
    for i in range(n - 1, -1, -1):
        k, s, p, d, o = regular[i]
        axis = g.ndim - n + i
        size = in_spatial[i]
        shape = list(g.shape)
        shape[axis] = max(size + p, (o - 1) * s + (k - 1) * d + 1)
        out = np.zeros(shape, g.dtype)
        pre = (slice(None),) * axis
        for t in range(k):
            view = out[pre + (slice(t * d, t * d + (o - 1) * s + 1, s),)]
            if s >= k * d:  # windows do not overlap: plain writes
                view[...] = g
            else:
                view += g
        g = out if out.shape[axis] == size else out[pre + (slice(p, p + size),)]
    return g if g.base is None else np.array(g, order="C")


class _ScatterAdd(Function):
    """``out.flat_plane[idx] += g`` into zeros of ``in_shape``: max pooling's gradient; its own is a gather."""

    @staticmethod
    def forward(ctx, g, idx, in_shape, n):
        ctx.meta = (idx, n)
        # a channel-major index (from a channel-major input): g, the result and idx all go in (C, N, ...) order
        channel_major = idx.ndim == n + 2 and is_channel_major(idx)
        gd = g.data
        if channel_major:
            gd = gd.swapaxes(0, 1)
            idx = idx.swapaxes(0, 1)
        g2, _ = _planes(gd, n)
        memory, out = _new_planes(in_shape[:-n], in_shape[-n:], g2.dtype, channel_major, zeros=True)
        _kernels().scatter_add(g2, idx.reshape(g2.shape), memory.reshape(g2.shape[0], _prod(in_shape[-n:])))
        return out.astype(g.data.dtype, copy=False)

    @staticmethod
    def backward(ctx, gg):
        idx, n = ctx.meta
        return _Gather.apply(gg, idx, n), None, None, None


class _Gather(Function):
    """``x.flat_plane[idx]`` per plane: the gradient of a scatter (and of ``max_unpool``)."""

    @staticmethod
    def forward(ctx, x, idx, n):
        ctx.meta = (x.data.shape, idx, n)
        x2, lead = _planes(x.data, n)
        offsets = (np.arange(x2.shape[0]) * x2.shape[1]).reshape(lead + (1,) * n)
        return np.take(x2.reshape(-1), idx + offsets).astype(x.data.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        shape, idx, n = ctx.meta
        return _ScatterAdd.apply(g, idx, shape, n), None, None


# Validated windows by call signature (spatial size and options): a model pools the same shapes on every
# step, and building the windows costs more than pooling one small image.
_MAX_POOL_SETUPS: dict = {}


def _max_pool_setup(op, n, input, kernel_size, stride, padding, dilation, ceil_mode) -> tuple:
    """``(windows, regular dims)`` for these arguments."""
    k, s, p, d, out = _pool_args(op, input, n, kernel_size, stride, padding, dilation, ceil_mode, True)
    spatial = input.data.shape[-n:]
    regular = tuple(zip(k, s, p, d, out))
    return _Windows(spatial, out, [_regular_dim(*a) for a in zip(spatial, k, s, p, d, out)], regular), regular


def _max_pool(op, n, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    _check_input(op, input, n)
    key = (op, input.data.shape[-n:], kernel_size, stride, padding, dilation, bool(ceil_mode))
    args = (op, n, input, kernel_size, stride, padding, dilation, ceil_mode)
    win, regular = cached(_MAX_POOL_SETUPS, key, _max_pool_setup, *args)
    return _MaxPool.apply(input, win, bool(return_indices), regular)


def max_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """Max over sliding windows of ``(N, C, L)`` or ``(C, L)``; with ``return_indices`` also the argmax in each ``L``."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """Max over sliding windows of ``(N, C, H, W)`` or ``(C, H, W)``; padding counts as -inf.

    ``stride`` defaults to ``kernel_size``. With ``return_indices`` also returns
    the flat index ``h * W + w`` of each maximum (ties: the first), for ``max_unpool2d``.
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _relu_max_pool2d(input: Tensor):
    """``max_pool2d(relu(input), 2)`` in one pass, with gradients off (``ember.nn``'s fused inference),
    for float32 ``(N, C, H, W)`` or ``(C, H, W)``; None for other inputs (the caller runs the ops in
    turn). The maxima of the ReLUs are the ReLUs of the maxima, so it pools and clamps once."""
    data = input.data
    if (
        _grad_state.enabled
        or data.dtype != np.float32
        or data.ndim not in (3, 4)
        or min(data.shape[-2:]) < 2
        or 0 in data.shape
    ):
        return None
    return new_tensor(_max_pool2x2_values(data, 0.0), False, None, 0)


def max_pool3d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """Max over sliding windows of ``(N, C, D, H, W)`` or ``(C, D, H, W)``; indices are flat in ``D * H * W``."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _adaptive_max_pool(op, n, input, output_size, return_indices):
    _check_input(op, input, n)
    out = _adaptive_size(op, input, n, output_size)
    spatial = input.data.shape[-n:]
    win = _Windows(spatial, out, [_adaptive_dim(n_in, o) for n_in, o in zip(spatial, out)])
    return _MaxPool.apply(input, win, bool(return_indices), None)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling of ``(N, C, L)`` to ``output_size`` windows ``[floor(i*L/out), ceil((i+1)*L/out))``."""
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling of ``(N, C, H, W)`` to ``output_size`` (an int, or a pair where None keeps a size)."""
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling of ``(N, C, D, H, W)`` to ``output_size``."""
    return _adaptive_max_pool("adaptive_max_pool3d", 3, input, output_size, return_indices)


# ------------------------------------------------------------------- avg pool
class _AvgPool(Function):
    """Window sums over a divisor; linear, so its gradient is its transpose and vice versa.

    ``pool`` is ``("regular", windows, divisor)`` (separable strided sums) or
    ``("adaptive", _Windows, divisor)`` (a Numba kernel for variable windows).
    """

    @staticmethod
    def forward(ctx, x, pool):
        data = x.data
        ctx.meta = (pool, data.shape)
        kind, windows, divisor = pool
        if kind == "regular":
            out = _window_reduce(data, windows, np.add)
            return np.divide(out, divisor, out=out).astype(data.dtype, copy=False)
        x2, lead = _planes(data, windows.n)
        out = np.empty(lead + windows.out_spatial, x2.dtype)
        zero = x2.dtype.type(0)
        _kernels().avg_pool_forward(
            x2, *windows.args, divisor.reshape(-1), zero, out.reshape(x2.shape[0], _prod(windows.out_spatial))
        )
        return out.astype(data.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        pool, shape = ctx.meta
        return _AvgPoolTranspose.apply(g, pool, shape), None


class _AvgPoolTranspose(Function):
    @staticmethod
    def forward(ctx, g, pool, in_shape):
        ctx.meta = pool
        kind, windows, divisor = pool
        data = g.data
        compute = np.float32 if data.dtype == np.float16 else data.dtype
        if kind == "regular":
            scaled = np.divide(data, divisor, dtype=compute)
            return _window_sum_transpose(scaled, windows, in_shape[-len(windows) :]).astype(data.dtype, copy=False)
        g2, lead = _planes(data, windows.n)
        out = np.zeros(in_shape, g2.dtype)
        _kernels().avg_pool_backward(
            g2, *windows.args, divisor.reshape(-1), out.reshape(g2.shape[0], _prod(in_shape[-windows.n :]))
        )
        return out.astype(data.dtype, copy=False)

    @staticmethod
    def backward(ctx, gg):
        return _AvgPool.apply(gg, ctx.meta), None, None


def _divisor(counts: list, dtype) -> np.ndarray:
    """The outer product of per-dim window counts, shaped like the output's spatial dims."""
    div = np.ones(())
    for c in counts:
        div = np.multiply.outer(div, c.astype(np.float64))
    return div.astype(np.float32 if dtype == np.float16 else dtype)


def _avg_pool(op, n, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    _check_input(op, input, n)
    _check_float(op, input)
    k, s, p, d, out = _pool_args(op, input, n, kernel_size, stride, padding, 1, ceil_mode, False)
    spatial = input.data.shape[-n:]
    if n == 3 and any(n_in < kk for n_in, kk in zip(spatial, k)):  # PyTorch checks this for avg_pool3d only
        raise ShapeError(f"{op}: input {input.data.shape} is smaller than kernel_size={k} (padding={p} aside)")
    dtype = input.data.dtype
    if divisor_override is not None:
        if int(divisor_override) == 0:
            raise ShapeError(f"{op}: divisor_override must be non-zero, got {divisor_override} for input {input.shape}")
        divisor = np.full(out, divisor_override, np.float32 if dtype == np.float16 else dtype)
    else:
        counts = []
        for n_in, kk, ss, pp, o in zip(spatial, k, s, p, out):
            start = np.arange(o, dtype=np.int64) * ss - pp
            if count_include_pad:  # padding counts, the overhang of ceil mode past it does not
                counts.append(np.minimum(start + kk, n_in + pp) - start)
            else:
                counts.append(np.minimum(start + kk, n_in) - np.maximum(start, 0))
        divisor = _divisor(counts, dtype)
    return _AvgPool.apply(input, ("regular", tuple(zip(k, s, p, d, out)), divisor))


def avg_pool1d(
    input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True
) -> Tensor:
    """Mean over sliding windows of ``(N, C, L)`` or ``(C, L)``; zero padding counts if ``count_include_pad``."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over sliding windows of ``(N, C, H, W)`` or ``(C, H, W)``.

    The divisor counts zero padding if ``count_include_pad`` (never the overhang
    of ``ceil_mode``); ``divisor_override`` replaces it with a constant.
    """
    return _avg_pool(
        "avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def avg_pool3d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over sliding windows of ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""
    return _avg_pool(
        "avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def _adaptive_avg_pool(op, n, input, output_size):
    _check_input(op, input, n)
    _check_float(op, input)
    out = _adaptive_size(op, input, n, output_size)
    spatial = input.data.shape[-n:]
    if all(o == 1 for o in out):  # global average pooling: a plain mean is faster and differentiable
        return _reduce.mean(input, tuple(range(-n, 0)), keepdim=True)
    dims = [_adaptive_dim(n_in, o) for n_in, o in zip(spatial, out)]
    divisor = _divisor([hi for _, _, hi, _ in dims], input.data.dtype)
    return _AvgPool.apply(input, ("adaptive", _Windows(spatial, out, dims), divisor))


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling of ``(N, C, L)`` to ``output_size`` windows ``[floor(i*L/out), ceil((i+1)*L/out))``."""
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling of ``(N, C, H, W)`` to ``output_size`` (an int, or a pair where None keeps a size)."""
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Average pooling of ``(N, C, D, H, W)`` to ``output_size``."""
    return _adaptive_avg_pool("adaptive_avg_pool3d", 3, input, output_size)


# ------------------------------------------------------------------- lp pool
def _lp_pool(op, n, input, norm_type, kernel_size, stride, ceil_mode):
    _check_input(op, input, n)
    _check_float(op, input)
    pool = (max_pool1d, max_pool2d, max_pool3d)[n - 1]
    if norm_type == math.inf:
        return pool(_ew.abs(input), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -math.inf:
        return _ew.neg(pool(_ew.neg(_ew.abs(input)), kernel_size, stride, 0, 1, ceil_mode))
    k = _ntuple(op, "kernel_size", kernel_size, n)
    avg = (avg_pool1d, avg_pool2d, avg_pool3d)[n - 1]
    out = avg(_ew.pow(input, norm_type), kernel_size, stride, 0, ceil_mode)
    # as PyTorch: sign(out) * relu(|out|) keeps the sign of odd powers and the gradient's zeros
    return _ew.pow(_ew.sign(out) * _ew.relu(_ew.abs(out)) * _prod(k), 1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling ``(sum x**p)**(1/p)`` over windows of ``(N, C, L)``."""
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling ``(sum x**p)**(1/p)`` over windows of ``(N, C, H, W)``; p = inf is max pooling."""
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling ``(sum x**p)**(1/p)`` over windows of ``(N, C, D, H, W)``."""
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


# ------------------------------------------------------------------ max unpool
class _MaxUnpool(Function):
    """Zeros of ``out_shape`` with ``x`` written at its flat plane indices; the gradient gathers them back."""

    @staticmethod
    def forward(ctx, x, idx, out_shape, n):
        ctx.meta = (idx, n)
        x2, lead = _planes(x.data, n)
        out = np.zeros(out_shape, x2.dtype)
        np.put_along_axis(out.reshape(x2.shape[0], _prod(out_shape[-n:])), idx.reshape(x2.shape), x2, axis=1)
        return out.astype(x.data.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        idx, n = ctx.meta
        return _Gather.apply(g, idx, n), None, None, None


def _max_unpool(op, n, input, indices, kernel_size, stride, padding, output_size):
    _check_input(op, input, n)
    k = _ntuple(op, "kernel_size", kernel_size, n)
    s = k if stride is None else _ntuple(op, "stride", stride, n)
    p = _ntuple(op, "padding", padding, n)
    shape = input.data.shape
    idx = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"{op}: indices must be an integer tensor, got {idx.dtype} (input {shape})")
    if idx.shape != shape:
        raise ShapeError(f"{op}: indices of shape {idx.shape} must have the shape of the input {shape}")
    default = tuple((n_in - 1) * ss + kk - 2 * pp for n_in, ss, kk, pp in zip(shape[-n:], s, k, p))
    if output_size is None:
        out = default
    else:
        out = tuple(int(o) for o in output_size)
        if len(out) == n + 2:
            out = out[2:]
        if len(out) != n:
            raise ShapeError(f"{op}: output_size should have {n} or {n + 2} elements, got {tuple(output_size)}")
        for i, (o, dflt, ss) in enumerate(zip(out, default, s)):
            if not dflt - ss < o < dflt + ss:
                raise ShapeError(
                    f"{op}: invalid output_size {out} for input {shape} with kernel_size={k}, stride={s}, "
                    f"padding={p}: dim {i} must be between {dflt - ss} and {dflt + ss} (exclusive)"
                )
    if min(out) <= 0:
        raise ShapeError(f"{op}: input {shape} with kernel_size={k}, stride={s}, padding={p} gives output {out}")
    plane = _prod(out)
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(f"{op}: found an invalid max index {bad} for output planes of size {out} (input {shape})")
    return _MaxUnpool.apply(input, idx.astype(np.int64, copy=False), shape[:-n] + out, n)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Partial inverse of ``max_pool1d``: puts each value at its index, zeros elsewhere."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Partial inverse of ``max_pool2d``: ``(N, C, h, w)`` values to their flat indices in ``(N, C, H, W)``.

    ``output_size`` (``(H, W)`` or a full shape) resolves the sizes that several inputs pool to.
    """
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Partial inverse of ``max_pool3d``."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


# ----------------------------------------------------------------- interpolate
class _Taps:
    """A resampling matrix along one axis with ``K`` taps per output: ``idx``, ``w`` are ``(K, n_out)``.

    ``w`` is None for nearest (a plain gather). The transpose (the gradient's
    matrix) is built once and cached; it pads short rows with zero weights on a
    column the row already reads, and ``empty`` lists rows with no taps at all.
    """

    __slots__ = ("idx", "w", "n_in", "empty", "_t")

    def __init__(self, idx: np.ndarray, w, n_in: int, empty=None) -> None:
        self.idx = np.ascontiguousarray(idx, dtype=np.int64)
        self.w = w
        self.n_in = n_in
        self.empty = empty
        self._t = None

    def transposed(self) -> _Taps:
        if self._t is None:
            k, n_out = self.idx.shape
            cols = self.idx.reshape(-1)
            w = np.ones(cols.size, np.float32) if self.w is None else self.w.reshape(-1)
            rows = np.tile(np.arange(n_out), k)
            order = np.lexsort((rows, cols))  # by input index, then by output index
            cols, rows, w = cols[order], rows[order], w[order]
            counts = np.bincount(cols, minlength=self.n_in)
            width = max(int(counts.max(initial=0)), 1)
            start = np.concatenate(([0], np.cumsum(counts)[:-1]))
            slot = np.arange(cols.size) - np.repeat(start, counts)
            first = np.zeros(self.n_in, np.int64)  # pad short rows with a column they already read
            first[counts > 0] = rows[start[counts > 0]]
            t_idx = np.repeat(first[None], width, 0)
            t_w = np.zeros((width, self.n_in), w.dtype)
            t_idx[slot, cols] = rows
            t_w[slot, cols] = w
            empty = np.flatnonzero(counts == 0)
            self._t = _Taps(t_idx, t_w, n_out, empty if empty.size else None)
            self._t._t = self
        return self._t


class _Resample(Function):
    """One axis of interpolation, ``out[..., o, ...] = sum_k w[k, o] * x[..., idx[k, o], ...]``; linear, so
    its gradient is the same op with the transposed matrix."""

    @staticmethod
    def forward(ctx, x, axis, taps):
        data = x.data
        ctx.meta = (axis, taps)
        if taps.w is None:  # nearest: a plain take, any dtype
            return np.take(data, taps.idx[0], axis=axis)
        compute = np.float32 if data.dtype == np.float16 else data.dtype
        shape = data.shape
        lead, n_out = _prod(shape[:axis]), taps.idx.shape[1]
        x = np.ascontiguousarray(data, dtype=compute)
        w = taps.w.astype(compute, copy=False)
        out = np.empty(shape[:axis] + (n_out,) + shape[axis + 1 :], compute)
        if axis == len(shape) - 1:
            _kernels().resample_last(x.reshape(lead, shape[axis]), taps.idx, w, out.reshape(lead, n_out))
        else:
            inner = (lead, shape[axis], _prod(shape[axis + 1 :]))
            _kernels().resample_middle(x.reshape(inner), taps.idx, w, out.reshape(lead, n_out, inner[2]))
        if taps.empty is not None:  # exact zeros where no tap reads (no 0 * inf)
            out[(slice(None),) * axis + (taps.empty,)] = 0
        return out.astype(data.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        axis, taps = ctx.meta
        return _Resample.apply(g, axis, taps.transposed()), None, None


def _scale_value(n_in: int, n_out: int, scale, ct) -> np.floating:
    """PyTorch's ``compute_scales_value``: ``1 / scale_factor`` if one was given, else ``L / O`` (in ``ct``)."""
    if scale is not None and scale > 0:
        return ct(1.0 / scale)
    return ct(n_in) / ct(n_out)


def _nearest_taps(n_in: int, n_out: int, scale, exact: bool, shortcuts: bool) -> np.ndarray:
    """Source indices of ``nearest`` / ``nearest-exact``, computed in float32 exactly as PyTorch does.

    PyTorch's 2d nearest kernel copies an axis whose size is unchanged and
    halves indices for an exact doubling even when a ``scale_factor`` says
    otherwise (``shortcuts``); its 1d and 3d kernels always use the scale.
    """
    o = np.arange(n_out)
    if not exact:
        if shortcuts and n_out == n_in:
            return o
        if shortcuts and n_out == 2 * n_in:
            return o >> 1
        src = np.floor(o.astype(np.float32) * _scale_value(n_in, n_out, scale, np.float32))
    else:
        # (o + 0.5) is a double times a float scale; floorf sees the product rounded to float
        prod = (o + 0.5) * np.float64(_scale_value(n_in, n_out, scale, np.float32))
        src = np.floor(prod.astype(np.float32))
    return np.minimum(src.astype(np.int64), n_in - 1)


def _linear_taps(n_in: int, n_out: int, scale, align_corners: bool, ct) -> tuple:
    """Two taps per output, ``(2, n_out)``: PyTorch's ``compute_source_index_and_lambda`` in ``ct`` (its opmath)."""
    real = _source_index(n_in, n_out, scale, align_corners, ct, cubic=False)
    i0 = np.minimum(np.floor(real).astype(np.int64), n_in - 1)
    lam1 = np.clip(real - i0.astype(ct), ct(0), ct(1)).astype(ct)
    i1 = i0 + (i0 < n_in - 1)
    return np.stack([i0, i1]), np.stack([ct(1) - lam1, lam1])


def _cubic_taps(n_in: int, n_out: int, scale, align_corners: bool, ct) -> tuple:
    """Four taps per output, ``(4, n_out)``, with A = -0.75 and clamped borders, as PyTorch's bicubic."""
    real = _source_index(n_in, n_out, scale, align_corners, ct, cubic=True)
    i0 = np.minimum(np.floor(real).astype(np.int64), n_in - 1)
    t = np.clip(real - i0.astype(ct), ct(0), ct(1)).astype(ct)
    a = ct(-0.75)

    def conv1(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def conv2(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    one = ct(1)
    w = np.stack([conv2(t + one), conv1(t), conv1(one - t), conv2(one - t + one)]).astype(ct)
    idx = np.clip(i0[None] + np.arange(-1, 3)[:, None], 0, n_in - 1)
    return idx, w


def _source_index(n_in: int, n_out: int, scale, align_corners: bool, ct, cubic: bool) -> np.ndarray:
    """PyTorch's ``area_pixel_compute_source_index`` for every output position, in ``ct`` arithmetic."""
    o = np.arange(n_out).astype(ct)
    if align_corners:
        ratio = ct(n_in - 1) / ct(n_out - 1) if n_out > 1 else ct(0)
        return (ratio * o).astype(ct)
    ratio = _scale_value(n_in, n_out, scale, ct)
    src = (ratio * (o + ct(0.5)) - ct(0.5)).astype(ct)
    return src if cubic else np.maximum(src, ct(0))


_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def interpolate(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize ``(N, C, *spatial)`` to ``size`` or by ``scale_factor``, as ``torch.nn.functional.interpolate``.

    Modes: ``nearest``, ``nearest-exact``, ``linear`` (3D), ``bilinear`` and
    ``bicubic`` (4D), ``trilinear`` (5D), ``area`` (adaptive average pooling).
    A given ``scale_factor`` sets the source-index ratio to ``1 / scale_factor``
    unless ``recompute_scale_factor`` (then the ratio is ``in / out``, as for ``size``).
    """
    op = "interpolate"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected an ember Tensor as input, got {type(input).__name__}")
    if mode not in ("nearest", "nearest-exact", "area", "linear", "bilinear", "bicubic", "trilinear"):
        raise ValueError(
            f"{op}: unknown mode {mode!r}; expected one of nearest | nearest-exact | linear | bilinear | bicubic | "
            "trilinear | area"
        )
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                f"{op}: align_corners option can only be set with the interpolating modes: "
                f"linear | bilinear | bicubic | trilinear (got mode {mode!r})"
            )
    elif align_corners is None:
        align_corners = False
    shape = input.data.shape
    if not 3 <= len(shape) <= 5:
        raise ShapeError(f"{op}: expected a 3D, 4D or 5D (N, C, *spatial) input, got shape {shape} (mode {mode!r})")
    n = len(shape) - 2
    if mode in _MODE_DIMS and _MODE_DIMS[mode] != n:
        need = _MODE_DIMS[mode]
        raise ShapeError(f"{op}: mode {mode!r} needs a {need + 2}D {_SPATIAL_NAMES[need]} input, got shape {shape}")
    if antialias:
        raise NotImplementedError(f"{op}: antialias=True is not supported (mode {mode!r}, input {shape})")
    spatial = shape[2:]
    if size is not None and scale_factor is not None:
        raise ValueError(f"{op}: only one of size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError(f"{op}: recompute_scale_factor is not meaningful with an explicit size")
        if isinstance(size, (list, tuple)):
            if len(size) != n:
                raise ShapeError(f"{op}: size {tuple(size)} must have {n} elements for input {shape}")
            out = tuple(int(v) for v in size)
        else:
            out = (int(size),) * n
        scales = (None,) * n
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != n:
                raise ShapeError(f"{op}: scale_factor {tuple(scale_factor)} must have {n} elements for input {shape}")
            scales = tuple(float(f) for f in scale_factor)
        else:
            scales = (float(scale_factor),) * n
        out = tuple(int(math.floor(n_in * f)) for n_in, f in zip(spatial, scales))
        if recompute_scale_factor or mode == "area":
            scales = (None,) * n
    else:
        raise ValueError(f"{op}: either size or scale_factor should be defined")
    if mode == "area":  # adaptive pooling allows empty outputs
        return _adaptive_avg_pool(f"{op} (mode 'area')", n, input, out)
    if min(out) <= 0:
        raise ShapeError(f"{op}: input and output sizes should be greater than 0, got input {shape} and output {out}")
    if mode not in ("nearest", "nearest-exact"):
        _check_float(f"{op} (mode {mode!r})", input)
    ct = np.float64 if input.data.dtype == np.float64 else np.float32  # PyTorch's opmath type
    result = input
    for axis in range(len(shape) - 1, 1, -1):  # the last axis first, as PyTorch nests its sums
        n_in, n_out, scale = spatial[axis - 2], out[axis - 2], scales[axis - 2]
        if mode in ("nearest", "nearest-exact"):
            src = _nearest_taps(n_in, n_out, scale, mode == "nearest-exact", n == 2)
            if n_out == n_in and np.array_equal(src, np.arange(n_in)):
                continue
            result = _Resample.apply(result, axis, _Taps(src[None], None, n_in))
            continue
        if mode == "bicubic":
            idx, w = _cubic_taps(n_in, n_out, scale, align_corners, ct)
        else:
            if n_out == n_in:
                continue  # PyTorch copies an axis whose size does not change
            idx, w = _linear_taps(n_in, n_out, scale, align_corners, ct)
        result = _Resample.apply(result, axis, _Taps(idx, w, n_in))
    if result is input:
        return input.clone()
    return result


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None) -> Tensor:
    """Deprecated alias of ``interpolate`` (kept for PyTorch compatibility)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated alias of ``interpolate(..., mode='nearest')``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated alias of ``interpolate(..., mode='bilinear', align_corners=True)``."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ------------------------------------------------------------- pixel shuffles
def _check_factor(op: str, name: str, factor) -> int:
    if not isinstance(factor, (int, np.integer)) or factor <= 0:
        raise ValueError(f"{op}: {name} must be a positive int, got {factor!r}")
    return int(factor)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Rearrange ``(*, C*r*r, H, W)`` into ``(*, C, H*r, W*r)`` (sub-pixel convolution)."""
    op = "pixel_shuffle"
    r = _check_factor(op, "upscale_factor", upscale_factor)
    shape = input.data.shape
    if len(shape) < 3:
        raise ShapeError(f"{op}: expected an input with at least 3 dims (*, C, H, W), got shape {shape}")
    *lead, c, h, w = shape
    if c % (r * r):
        raise ShapeError(
            f"{op}: the channel dim of input {shape} must be divisible by upscale_factor**2 = {r * r}, got {c}"
        )
    lead = tuple(lead)
    m = len(lead)
    x = input.reshape(lead + (c // (r * r), r, r, h, w))
    x = x.permute(tuple(range(m)) + (m, m + 3, m + 1, m + 4, m + 2))
    return x.reshape(lead + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Rearrange ``(*, C, H*r, W*r)`` into ``(*, C*r*r, H, W)``; the inverse of ``pixel_shuffle``."""
    op = "pixel_unshuffle"
    r = _check_factor(op, "downscale_factor", downscale_factor)
    shape = input.data.shape
    if len(shape) < 3:
        raise ShapeError(f"{op}: expected an input with at least 3 dims (*, C, H, W), got shape {shape}")
    *lead, c, h, w = shape
    if h % r or w % r:
        raise ShapeError(f"{op}: height and width of input {shape} must be divisible by downscale_factor {r}")
    lead = tuple(lead)
    m = len(lead)
    x = input.reshape(lead + (c, h // r, r, w // r, r))
    x = x.permute(tuple(range(m)) + (m, m + 2, m + 4, m + 1, m + 3))
    return x.reshape(lead + (c * r * r, h // r, w // r))


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``(N, C, *)`` across ``groups`` (ShuffleNet): ``(g, C/g)`` becomes ``(C/g, g)``."""
    op = "channel_shuffle"
    g = _check_factor(op, "groups", groups)
    shape = input.data.shape
    if len(shape) < 3:
        raise ShapeError(f"{op}: expected an input with at least 3 dims (N, C, *), got shape {shape}")
    c = shape[1]
    if c % g:
        raise ShapeError(f"{op}: the number of channels of input {shape} ({c}) must be divisible by groups={g}")
    x = input.reshape((shape[0], g, c // g) + shape[2:])
    return x.transpose(1, 2).reshape(shape)
