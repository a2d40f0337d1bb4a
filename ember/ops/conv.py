"""Convolutions (1-d, 2-d, 3-d, transposed) and ``unfold``/``fold``, NCHW as in PyTorch.

A convolution is one gather and one matrix product: im2col (a Numba kernel)
copies every kernel tap of the input into a column matrix ``(C*K, N*P)``
(``K`` taps, ``P`` output positions; padding reads as zeros and is never
copied), and the weight ``(O, C*K)`` times it gives the output ``(O, N*P)``.
With groups=1 a row of ones under the columns carries the bias through the
same product. The gradients are two more products: weight ``= grad @ cols.T``
(the bias gradient rides along) and input ``= col2im(weight.T @ grad)``, a
Numba scatter-add. Groups batch those products. For first layers (at most
32 column rows: 1-3 input channels) a Numba kernel replaces the weight
gradient's long, thin product, which BLAS runs slowly.

Layout: a convolution's output is an ``(N, O, *P)`` view of channel-major
``(O, N, *P)`` memory, so ``is_contiguous()`` is False where PyTorch's would be
True, and ``.view(N, -1)`` on it needs ``.reshape`` (or ``.contiguous()``)
instead; element-wise ops keep that layout for free, and the next convolution
reads it without a copy. Making it contiguous would cost a transpose copy of
the output on every call. Transposed convolutions return contiguous NCHW.

3x3, stride-1 convolutions with many channels (``winograd.applies``) run as
Winograd F(2x2, 3x3) instead (``ember.ops.winograd``): 2.25x fewer
multiplications, chunks of images on ``ember._threads``' worker threads.
Where no weight gradient is wanted (inference, a frozen weight), other float32
stride-1 2-d convolutions write no columns: ``ember.kernels.direct.conv_gather``
gathers them from the zero-padded input while ember's matrix product packs
them (``_gather``), 1.5-2x faster at batch 1. One-channel 3x3 first layers
take a direct kernel (``_direct``).

Three Functions close under differentiation, so gradients of any order
work: the input-gradient of a convolution is a transposed convolution, the
input-gradient of a transposed convolution is a convolution, and the weight
gradient of either is a ``_ConvWeight`` whose own gradients are the other two.
"""

from __future__ import annotations

import math
import sys
import weakref

import numpy as np

from .. import _threads
from ..autograd.function import Function
from ..autograd.grad_mode import state as _grad_state
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, new_tensor
from . import gemm as _gemm
from . import winograd
from ._util import cached, is_channel_major

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "unfold",
    "fold",
]


# ----------------------------------------------------------------------- geometry
class _Geometry:
    """Where every kernel tap reads, in conv orientation, padded to 3 spatial dims.

    ``image``: the spatial size of the conv input (= transposed-conv output);
    ``cols``: the spatial size of the conv output (= transposed-conv input).
    Tap ``k`` of output position ``o`` reads image position
    ``o * stride - pad + k * dilation``; outside the image it reads zero.
    """

    __slots__ = ("nd", "kernel", "stride", "pad", "dilation", "groups", "image", "cols")

    def __init__(self, nd, kernel, stride, pad, dilation, groups, image, cols) -> None:
        lead = (1,) * (3 - nd)
        self.nd = nd
        self.kernel = lead + tuple(kernel)
        self.stride = lead + tuple(stride)
        self.pad = (0,) * (3 - nd) + tuple(pad)
        self.dilation = lead + tuple(dilation)
        self.groups = groups
        self.image = lead + tuple(image)
        self.cols = lead + tuple(cols)

    @property
    def taps(self) -> int:
        kd, kh, kw = self.kernel
        return kd * kh * kw

    @property
    def positions(self) -> int:
        od, oh, ow = self.cols
        return od * oh * ow


_KERNELS = None


def _kernels():
    """``ember.kernels.conv``, imported on first use (``import ember`` must not import Numba)."""
    global _KERNELS
    if _KERNELS is None:
        from ..kernels import conv

        _KERNELS = conv
    return _KERNELS


def _kernel_image(x: np.ndarray) -> tuple:
    """``x`` ``(N, C, *S)`` as the kernels take it: flat, and whether its memory is ``(C, N, *S)``."""
    if x.flags.c_contiguous:
        return x.reshape(-1), False
    if is_channel_major(x):  # a conv output
        return x.swapaxes(0, 1).reshape(-1), True
    return np.ascontiguousarray(x).reshape(-1), False


def _kernel_args(geo: _Geometry, n: int, c: int) -> tuple:
    return ((n, c) + geo.image, geo.kernel, geo.cols, geo.stride, geo.pad, geo.dilation)


def _compute_dtype(a: np.ndarray) -> np.ndarray:
    # Numba and BLAS have no float16 arithmetic: compute in float32 (as PyTorch's CPU kernels do)
    return a.astype(np.float32) if a.dtype == np.float16 else a


class _Scratch:
    """Big scratch arrays (columns, their gradient) kept between calls for reuse.

    A fresh multi-megabyte array costs a page fault per 4 KiB page on first touch, about 9 us each
    on this machine: 1,600 of them made a 64x32x14x14 conv forward+backward take 24 ms instead of
    12. ``take`` hands out a kept buffer of the same size when there is one; ``give`` keeps a buffer
    from ``take`` once nothing else views it.
    """

    def __init__(self, max_bytes: int = 256 << 20) -> None:
        self._free: dict = {}  # nbytes -> raw uint8 buffers
        self._bytes = 0
        self._max_bytes = max_bytes
        self._mine: dict = {}  # id -> weak reference of every buffer take() made: give() accepts no other

    def take(self, shape: tuple, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        nbytes = dtype.itemsize * math.prod(shape)
        kept = self._free.get(nbytes)
        if kept:
            raw = kept.pop()
            self._bytes -= nbytes
        else:
            raw = np.empty(nbytes, np.uint8)
            key = id(raw)
            self._mine[key] = weakref.ref(raw, lambda _, key=key: self._mine.pop(key, None))
        return raw.view(dtype).reshape(shape)

    def give(self, a) -> None:
        if a is None:
            return
        raw = a.base
        mine = self._mine.get(id(raw))
        if raw is None or mine is None or mine() is not raw:
            return
        # references: a.base, this frame's raw, getrefcount's argument; more means a live view elsewhere
        if sys.getrefcount(raw) > 3 or self._bytes + raw.nbytes > self._max_bytes:
            return
        self._free.setdefault(raw.nbytes, []).append(raw)
        self._bytes += raw.nbytes


_scratch = _Scratch()


def _im2col(x: np.ndarray, geo: _Geometry, bias_row: bool = False) -> np.ndarray:
    """``(N, C, *image)`` -> columns ``(C*K, N*P)``, rows ordered ``(c, kd, kh, kw)``.

    With ``bias_row`` a last row of ones is appended, so that one product with ``[weight | bias]``
    adds the bias, and one product with the output gradient gives the bias gradient too.
    """
    n, c = x.shape[:2]
    rows, length = c * geo.taps, n * geo.positions
    cols = _scratch.take((rows + bias_row, length), x.dtype)
    image, channel_major = _kernel_image(x)
    _kernels().im2col(image, cols.reshape(-1)[: rows * length], *_kernel_args(geo, n, c), channel_major, False, n)
    if bias_row:
        cols[rows] = 1
    return cols


def _col2im(cols: np.ndarray, geo: _Geometry, n: int, c: int) -> np.ndarray:
    """Columns ``(C*K, N*P)`` -> ``(N, C, *image)``, summing the taps that land on one position."""
    image = np.zeros((n, c) + geo.image[3 - geo.nd :], cols.dtype)
    flat = np.ascontiguousarray(cols).reshape(-1)
    _kernels().col2im(flat, image.reshape(-1), *_kernel_args(geo, n, c), False, False, n)
    return image


def _channel_major(a: np.ndarray) -> np.ndarray:
    """``(N, C, *P)`` -> ``(C, N*P)``; free for a conv output, one copy (into scratch) otherwise."""
    swapped = a.swapaxes(0, 1)
    if swapped.flags.c_contiguous:
        return swapped.reshape(a.shape[1], -1)
    out = _scratch.take(swapped.shape, a.dtype)
    np.copyto(out, swapped)
    return out.reshape(a.shape[1], -1)


def _conv_forward(
    x: np.ndarray, w: np.ndarray, b, geo: _Geometry, bias_row: bool = True, cols_needed: bool = True
) -> tuple:
    """The convolution ``(N, C, *image)`` -> ``(N, O, *cols)``; returns ``(output, columns or None)``.

    Big convolutions run in chunks of images (``_chunk``) and keep no columns (backward rebuilds them).
    ``bias_row``: carry the bias through the product on a row of ones (so that the kept columns give
    the bias gradient too); without it the bias is added to the output. Without ``cols_needed`` (no
    weight gradient), a stride-1 convolution gathers its columns inside the product (``_gather``).
    """
    n = x.shape[0]
    if _direct_fits(x, w, geo):
        return _direct(x, w, b, geo), None
    if not cols_needed and _gather_fits(x, w, geo):
        return _gather(x, w, b, geo), None
    bias_row = bias_row and b is not None and geo.groups == 1
    per = _chunk(geo, n, x.shape[1] * geo.taps + bias_row, x.dtype.itemsize)
    if per < n:
        return _conv_forward_chunked(x, w, b, geo, per), None
    cols = _im2col(x, geo, bias_row=bias_row)
    y = _conv_product(cols, w, b if bias_row or geo.groups != 1 else None, geo, n)
    if b is not None and not bias_row and geo.groups == 1:
        y += b.reshape((1, -1) + (1,) * geo.nd)
    return y, cols


def _bias_f32(b, o: int) -> np.ndarray:
    """The bias as the vector kernels take it: ``o`` contiguous float32 (zeros for none)."""
    return np.zeros(o, np.float32) if b is None else np.ascontiguousarray(b, np.float32)


def _direct_fits(x: np.ndarray, w: np.ndarray, geo: _Geometry) -> bool:
    """Whether ``ember.kernels.direct`` takes the convolution: a float32 2-d 3x3, stride-1,
    dilation-1 convolution of one input channel, output rows of 16 or more, on a host where
    ember's vector kernels run (see ``ember.ops.gemm``)."""
    return (
        geo.nd == 2
        and geo.groups == 1
        and x.shape[1] == 1
        and x.dtype == np.float32
        and w.dtype == np.float32
        and geo.kernel[1:] == (3, 3)
        and geo.stride[1:] == (1, 1)
        and geo.dilation[1:] == (1, 1)
        and geo.cols[2] >= 16
        and _gemm._kernel_host()
    )


def _direct(x: np.ndarray, w: np.ndarray, b, geo: _Geometry, lo: float = -np.inf, pool: bool = False) -> np.ndarray:
    """The convolution by ``ember.kernels.direct``: ``(N, O, Ho, Wo)``, a view of ``(O, N, Ho, Wo)`` memory.
    With ``lo = 0`` a ReLU follows in the same pass, and with ``pool`` a 2x2 max pool (``_epilogue``)."""
    return _plan(_direct_plan, x.shape, w.shape[0], geo, pool)(x, w, b, lo)


def _plan(build, x_shape: tuple, o: int, geo: _Geometry, pool: bool):
    """``build(x_shape, o, geo, pool)``, the ``run(x, w, b, lo)`` of a vector-kernel convolution, made
    once per call signature (``geo`` is itself one object per signature, see ``_geometry``). A run
    keeps what the shapes decide (the padded and output shapes, the tap offsets) and reads the
    thread and chunk limits when it runs."""
    return cached(_PLANS, (build, x_shape, o, geo, pool), build, x_shape, o, geo, pool)


_PLANS: dict = {}


def _direct_plan(x_shape: tuple, o: int, geo: _Geometry, pool: bool):
    """``_direct``'s set-up for one call signature: ``run(x, w, b, lo)``."""
    from ..kernels import direct as kernels  # the kernel is looked up on each run (tests replace it)

    n, _, h, wd = x_shape
    ph, pw = geo.pad[1], geo.pad[2]
    pad_shape, inside = (n, h + 2 * ph, wd + 2 * pw), (slice(None), slice(ph, ph + h), slice(pw, pw + wd))
    ho, wo = geo.cols[1], geo.cols[2]
    y_shape = (o, n) + _pooled((ho, wo), pool)
    outputs = o * n * ho * wo

    def run(x: np.ndarray, w: np.ndarray, b, lo: float) -> np.ndarray:
        xpad = np.zeros(pad_shape, np.float32)
        xpad[inside] = x[:, 0]
        weights = _contiguous(w.reshape(o, 9))
        bias = _bias_f32(b, o)
        y = np.empty(y_shape, np.float32)
        if outputs >= _DIRECT_THREAD_OUTPUTS:
            parts = _threads.cuts(n, _threads.workers())
            kernel = kernels.conv3x3_one_channel
            _threads.run_parts(lambda n0, n1: kernel(xpad, weights, bias, y, n0, n1, lo, pool), parts)
        else:
            kernels.conv3x3_one_channel(xpad, weights, bias, y, 0, n, lo, pool)
        return y.swapaxes(0, 1)

    return run


def _contiguous(a: np.ndarray) -> np.ndarray:
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _pooled(size: tuple, pool: bool) -> tuple:
    """An image size after a 2x2 stride-2 max pool (when ``pool``), as ``MaxPool2d(2)`` gives it."""
    return tuple(d // 2 for d in size) if pool else size


def _gather_fits(x: np.ndarray, w: np.ndarray, geo: _Geometry) -> bool:
    """Whether ``ember.kernels.direct.conv_gather`` takes the convolution: float32 2-d, groups 1,
    stride 1, at least 16 taps per output, and a product big enough for ember's kernel
    (``ember.ops.gemm.MIN_WORK``, on a host where it runs)."""
    return (
        geo.nd == 2
        and geo.groups == 1
        and x.dtype == np.float32
        and w.dtype == np.float32
        and geo.stride[1:] == (1, 1)
        and x.shape[1] * geo.taps >= 16
        and w.shape[0] * x.shape[1] * geo.taps * x.shape[0] * geo.positions >= _gemm.MIN_WORK
        and _gemm._kernel_host()
    )


def _gather(x: np.ndarray, w: np.ndarray, b, geo: _Geometry, lo: float = -np.inf, pool: bool = False) -> np.ndarray:
    """The convolution by ``ember.kernels.direct.conv_gather`` (no columns written): ``(N, O, Ho, Wo)``,
    a view of ``(O, N, Ho, Wo)`` memory. The product's output goes through a scratch of about
    ``_CHUNK_BYTES`` (a few images at a time, read back for the crop while in cache); images are
    split over worker threads for big products. ``lo`` and ``pool`` as in ``_direct``."""
    return _plan(_gather_plan, x.shape, w.shape[0], geo, pool)(x, w, b, lo)


def _gather_plan(x_shape: tuple, o: int, geo: _Geometry, pool: bool):
    """``_gather``'s set-up for one call signature: ``run(x, w, b, lo)``."""
    from ..kernels import direct as kernels  # the kernel is looked up on each run (tests replace it)

    n, c, h, wd = x_shape
    ph, pw = geo.pad[1], geo.pad[2]
    hp, wp = h + 2 * ph, wd + 2 * pw
    offsets = _gather_offsets(c, n, hp, wp, geo)
    ho, wo = geo.cols[1:]
    y_shape = (o, n) + _pooled((ho, wo), pool)
    work = o * c * geo.taps * n * hp * wp

    def run(x: np.ndarray, w: np.ndarray, b, lo: float) -> np.ndarray:
        per = max(1, _CHUNK_BYTES // (o * hp * wp * 4))  # images a chunk
        if x.strides[3] != 4:
            x = np.ascontiguousarray(x)
        weights = _contiguous(w.reshape(o, -1))
        bias = _bias_f32(b, o)
        xpad = np.zeros((c, n, hp, wp), np.float32)
        y = np.empty(y_shape, np.float32)

        def images(n0: int, n1: int) -> None:
            scratch = np.empty((o, min(per, n1 - n0) * hp * wp), np.float32)
            conv_gather = kernels.conv_gather
            for s in range(n0, n1, per):
                conv_gather(x, ph, pw, weights, offsets, bias, xpad, scratch, y, ho, wo, s, min(s + per, n1), lo, pool)

        if work >= _gemm.THREAD_WORK:
            _threads.run_parts(images, _threads.cuts(n, _threads.workers()))
        else:
            images(0, n)
        return y.swapaxes(0, 1)

    return run


def _gather_offsets(c: int, n: int, hp: int, wp: int, geo: _Geometry) -> np.ndarray:
    """The flat offset in the padded ``(C, N, Hp, Wp)`` input of each tap ``(c, i, j)``: ``conv_gather``'s
    row offsets of its implicit columns."""
    kh, kw = geo.kernel[1:]
    dh, dw = geo.dilation[1:]
    taps = (np.arange(kh) * (dh * wp))[:, None] + np.arange(kw) * dw
    return ((np.arange(c) * (n * hp * wp))[:, None] + taps.reshape(-1)).reshape(-1)


# outputs from which the direct convolution splits its images over worker threads (about 0.2 ms of work)
_DIRECT_THREAD_OUTPUTS = 1 << 19

# Columns of a big convolution are built this many bytes at a time (a few images), so that the
# product reads them from cache rather than memory: 64x32x14x14 -> 64 channels (14.5 MB of
# columns) measured 25% faster forward in chunks of 1.8-3.6 MB than in one piece.
_CHUNK_BYTES = 4 << 20


def _chunk(geo: _Geometry, n: int, rows: int, itemsize: int) -> int:
    """Images per chunk of columns: ``n`` (one piece) for grouped or small convolutions."""
    if geo.groups != 1:
        return n
    return max(1, min(n, _CHUNK_BYTES // max(1, rows * geo.positions * itemsize)))


def _image_step(x: np.ndarray, channel_major: bool) -> int:
    """Elements between consecutive images' first planes in ``x``'s kernel layout."""
    plane = math.prod(x.shape[2:])
    return plane if channel_major else plane * x.shape[1]


def _conv_forward_chunked(x: np.ndarray, w: np.ndarray, b, geo: _Geometry, per: int) -> np.ndarray:
    """``_conv_forward`` for groups=1, ``per`` images at a time through one reused columns buffer."""
    n, c = x.shape[:2]
    o, positions = w.shape[0], geo.positions
    rows = c * geo.taps
    wm = w.reshape(o, rows)
    bias_row = b is not None
    if bias_row:
        wm = np.concatenate([wm, b[:, None]], axis=1)
    y = np.empty((o, n * positions), x.dtype)
    buf = _scratch.take(((rows + bias_row) * per * positions,), x.dtype)
    image, channel_major = _kernel_image(x)
    step = _image_step(x, channel_major)
    im2col = _kernels().im2col
    for s in range(0, n, per):
        m = min(per, n - s)
        length = m * positions
        cols = buf[: (rows + bias_row) * length].reshape(rows + bias_row, length)
        im2col(image[s * step :], buf[: rows * length], *_kernel_args(geo, m, c), channel_major, False, n)
        if bias_row:
            cols[rows] = 1
        np.matmul(wm, cols, out=y[:, s * positions : s * positions + length])
    _scratch.give(buf)
    return y.reshape((o, n) + geo.cols[3 - geo.nd :]).swapaxes(0, 1)


def _conv_backward_chunked(x, w, gm, geo, per, need_x, need_w, need_b) -> tuple:
    """``(input, weight, bias)`` gradients of a groups=1 convolution, ``per`` images at a time.

    ``gm`` is the output gradient channel-major ``(O, N*P)``. Each chunk rebuilds its columns in one
    reused buffer (in cache), adds ``grad @ cols.T`` to the weight gradient (the bias gradient rides
    along on a row of ones), then overwrites the buffer with ``weight.T @ grad`` for col2im.
    """
    n, c = x.shape[:2]
    o, positions = w.shape[0], geo.positions
    rows = c * geo.taps
    bias_row = need_w and need_b
    kernels = _kernels()
    dx = np.zeros(x.shape, x.dtype) if need_x else None
    dw = np.zeros((o, rows + bias_row), x.dtype) if need_w else None
    part = np.empty_like(dw) if need_w else None
    wt = w.reshape(o, rows).T
    buf = _scratch.take(((rows + bias_row) * per * positions,), x.dtype)
    image, channel_major = _kernel_image(x) if need_w else (None, False)
    step = _image_step(x, channel_major)
    for s in range(0, n, per):
        m = min(per, n - s)
        length = m * positions
        g = gm[:, s * positions : s * positions + length]
        args = _kernel_args(geo, m, c)
        if need_w:
            cols = buf[: (rows + bias_row) * length].reshape(rows + bias_row, length)
            kernels.im2col(image[s * step :], buf[: rows * length], *args, channel_major, False, n)
            if bias_row:
                cols[rows] = 1
            np.matmul(g, cols.T, out=part)
            dw += part
        if need_x:
            np.matmul(wt, g, out=buf[: rows * length].reshape(rows, length))
            kernels.col2im(buf[: rows * length], dx[s : s + m].reshape(-1), *args, False, False, m)
    _scratch.give(buf)
    gw = gb = None
    if need_w:
        gw = dw[:, :rows].reshape(w.shape)
        if bias_row:
            gb = dw[:, rows].copy()
    if need_b and gb is None:
        gb = gm.sum(1)
    return dx, gw, gb


def _conv_product(cols: np.ndarray, w: np.ndarray, b, geo: _Geometry, n: int) -> np.ndarray:
    """Weight times columns: ``(N, O, *cols)``, a view of ``(O, N*P)`` memory (no transpose copy)."""
    o, g = w.shape[0], geo.groups
    if g == 1:
        wm = w.reshape(o, -1)
        if cols.shape[0] > wm.shape[1]:  # the row of ones: the bias rides along in the product
            wm = np.concatenate([wm, b[:, None]], axis=1)
        y = wm @ cols
    else:
        # explicit sizes, not -1: an empty batch (N*P = 0) must reshape too
        y = np.matmul(w.reshape(g, o // g, -1), cols.reshape(g, cols.shape[0] // g, cols.shape[1]))
        y = y.reshape(o, cols.shape[1])
        if b is not None:
            y += b[:, None]
    return y.reshape((o, n) + geo.cols[3 - geo.nd :]).swapaxes(0, 1)


def _conv_input_grad(gm: np.ndarray, w: np.ndarray, geo: _Geometry, n: int) -> np.ndarray:
    """The transposed convolution of ``gm`` ``(O, N*P)`` (channel-major) -> ``(N, C, *image)``."""
    o, g = w.shape[0], geo.groups
    c = w.shape[1] * g
    cols = _scratch.take((c * geo.taps, gm.shape[1]), gm.dtype)
    if g == 1:
        np.matmul(w.reshape(o, -1).T, gm, out=cols)
    else:
        wt = w.reshape(g, o // g, -1).transpose(0, 2, 1)
        np.matmul(wt, gm.reshape(g, o // g, gm.shape[1]), out=cols.reshape(g, cols.shape[0] // g, gm.shape[1]))
    image = _col2im(cols, geo, n, c)
    _scratch.give(cols)
    return image


def _conv_weight_grad(cols: np.ndarray, gm: np.ndarray, geo: _Geometry, w_shape: tuple) -> tuple:
    """``(weight gradient (O, C/G, *K), bias gradient (O,) or None)`` from columns and channel-major gradient.

    The bias gradient comes free when the columns carry the row of ones (groups=1).
    """
    g, o = geo.groups, w_shape[0]
    rows = cols.shape[0] // g if g > 1 else int(np.prod(w_shape[1:]))
    if g == 1:
        dw = gm @ cols.T
        if cols.shape[0] > rows:
            return dw[:, :rows].reshape(w_shape), dw[:, rows].copy()
        return dw.reshape(w_shape), None
    dw = np.matmul(gm.reshape(g, o // g, gm.shape[1]), cols.reshape(g, rows, cols.shape[1]).transpose(0, 2, 1))
    return dw.reshape(w_shape), None


# Weight gradients with at most this many rows per output channel (C/groups * taps: first layers
# on 1-3 channel images) use the Numba kernel: BLAS runs the long, thin product at a fraction
# of its speed, and the kernel reads an NCHW gradient without a transpose copy (measured 3x
# faster single-threaded at 9 rows, 2x at 27, 0.5x at 288).
_SMALL_WEIGHT_ROWS = 32


def _small_weight_grad(grad: np.ndarray, cols: np.ndarray, w_shape: tuple, n: int) -> tuple:
    """Weight and bias gradients by the Numba kernel; ``grad`` is ``(N, O, *P)`` or channel-major ``(O, N*P)``."""
    o = w_shape[0]
    if grad.ndim == 2:
        flat, channel_major = grad.reshape(-1), True
    else:
        flat, channel_major = _kernel_image(grad)
    dw = np.zeros((o, int(np.prod(w_shape[1:]))), cols.dtype)
    db = np.zeros(o, cols.dtype)
    if n:
        _kernels().weight_grad(flat, cols, dw, db, n, o, cols.shape[1] // n, channel_major)
    return dw.reshape(w_shape), db


def _restore(a: np.ndarray, dtype) -> np.ndarray:
    return a if a.dtype == dtype else a.astype(dtype)


def _grad_tensors(grads: tuple, dtype) -> tuple:
    """Gradient arrays (None where not needed) as tensors of the inputs' ``dtype``."""
    return tuple(None if a is None else Tensor(_restore(a, dtype)) for a in grads)


def _spatial_sum(grad: Tensor) -> Tensor:
    """The bias gradient ``(C,)`` of ``(N, C, *S)``, differentiable."""
    return grad.sum((0,) + tuple(range(2, grad.ndim)))


# ---------------------------------------------------------------------- Functions
# With create_graph each backward below is built from these Functions (so gradients of any
# order work); without it (the usual case) it runs straight NumPy and reuses what forward kept.
class _Conv(Function):
    """``y = conv(x, w) + b``, ``x`` ``(N, C, *image)`` -> ``y`` ``(N, O, *cols)``."""

    @staticmethod
    def forward(ctx, x, w, b, geo):
        xd, wd = _compute_dtype(x.data), _compute_dtype(w.data)
        bd = None if b is None else _compute_dtype(b.data)
        ctx.save_for_backward(x, w)
        ctx.geo = geo
        if winograd.applies(geo, *xd.shape[:2], wd.shape[0]):
            ctx.cols = None
            return _restore(winograd.forward(xd, wd, bd, geo, _scratch), x.data.dtype)
        y, cols = _conv_forward(xd, wd, bd, geo, ctx.needs_input_grad[2], ctx.needs_input_grad[1])
        # keep the columns for the weight gradient (saves a second im2col) only when it will be needed
        if ctx.needs_input_grad[1]:
            ctx.cols = cols
        else:
            ctx.cols = None
            _scratch.give(cols)
        return _restore(y, x.data.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        geo, cols = ctx.geo, ctx.cols
        ctx.cols = None  # a second backward (retain_graph) recomputes them
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        if _grad_state.enabled:
            gx = _ConvTranspose.apply(grad, w, None, geo) if need_x else None
            gw = _ConvWeight.apply(x, grad, geo) if need_w else None
            return gx, gw, _spatial_sum(grad) if need_b else None, None
        dtype = x.data.dtype
        wd = _compute_dtype(w.data)
        gd = _compute_dtype(grad.data)
        if (need_x or need_w) and winograd.applies(geo, *x.data.shape[:2], wd.shape[0]):
            # (a bias-only gradient is the plain sum below); the bias gradient is summed on the way
            grads = winograd.backward(_compute_dtype(x.data), wd, gd, geo, _scratch, need_x, need_w, need_b)
            return _grad_tensors(grads, dtype) + (None,)
        if cols is None and geo.groups == 1:
            xd = _compute_dtype(x.data)
            n = xd.shape[0]
            per = _chunk(geo, n, xd.shape[1] * geo.taps + need_b, xd.dtype.itemsize)
            if per < n:
                gm = _channel_major(gd)
                grads = _conv_backward_chunked(xd, wd, gm, geo, per, need_x, need_w, need_b)
                _scratch.give(gm)
                return _grad_tensors(grads, dtype) + (None,)
        gm = _channel_major(gd) if need_x or (need_b and not need_w) else None
        gx = Tensor(_restore(_conv_input_grad(gm, wd, geo, x.data.shape[0]), dtype)) if need_x else None
        gw = gb = None
        if need_w:
            if cols is None:
                cols = _im2col(_compute_dtype(x.data), geo, bias_row=need_b and geo.groups == 1)
            if geo.groups == 1 and wd[0].size <= _SMALL_WEIGHT_ROWS:
                gw, gb = _small_weight_grad(gd if gm is None else gm, cols, wd.shape, x.data.shape[0])
            else:
                if gm is None:
                    gm = _channel_major(gd)
                gw, gb = _conv_weight_grad(cols, gm, geo, wd.shape)
            _scratch.give(cols)
            gw = Tensor(_restore(gw, dtype))
        if need_b:
            gb = Tensor(_restore(gm.sum(1) if gb is None else gb, dtype))
        if gm is not None:
            _scratch.give(gm)
        return gx, gw, gb, None


class _ConvTranspose(Function):
    """``y = conv_transpose(x, w) + b``, ``x`` ``(N, O, *cols)`` -> ``y`` ``(N, C, *image)``: the adjoint of ``_Conv``."""

    @staticmethod
    def forward(ctx, x, w, b, geo):
        gm = _channel_major(_compute_dtype(x.data))
        y = _conv_input_grad(gm, _compute_dtype(w.data), geo, x.data.shape[0])
        _scratch.give(gm)
        if b is not None:
            y += _compute_dtype(b.data).reshape((-1,) + (1,) * geo.nd)
        ctx.save_for_backward(x, w)
        ctx.geo = geo
        return _restore(y, x.data.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        geo = ctx.geo
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        if _grad_state.enabled:
            gx = _Conv.apply(grad, w, None, geo) if need_x else None
            gw = _ConvWeight.apply(grad, x, geo) if need_w else None
            return gx, gw, _spatial_sum(grad) if need_b else None, None
        dtype = x.data.dtype
        gd = _compute_dtype(grad.data)
        gx = gw = gb = None
        if need_x or need_w:
            # the input gradient is a convolution of grad; the weight gradient reuses its columns
            wd = _compute_dtype(w.data)
            cols = _im2col(gd, geo)
            if need_x:
                gx = Tensor(_restore(_conv_product(cols, wd, None, geo, x.data.shape[0]), dtype))
            if need_w:
                xm = _channel_major(_compute_dtype(x.data))
                gw, _ = _conv_weight_grad(cols, xm, geo, wd.shape)
                gw = Tensor(_restore(gw, dtype))
                _scratch.give(xm)
            _scratch.give(cols)
        if need_b:
            gb = Tensor(_restore(gd.sum((0,) + tuple(range(2, gd.ndim))), dtype))
        return gx, gw, gb, None


class _ConvWeight(Function):
    """The weight gradient of ``_Conv``: ``(x (N, C, *image), grad (N, O, *cols))`` -> ``(O, C/G, *K)``."""

    @staticmethod
    def forward(ctx, x, grad, geo):
        xd = _compute_dtype(x.data)
        w_shape = (grad.data.shape[1], x.data.shape[1] // geo.groups) + geo.kernel[3 - geo.nd :]
        cols, gm = _im2col(xd, geo), _channel_major(_compute_dtype(grad.data))
        dw, _ = _conv_weight_grad(cols, gm, geo, w_shape)
        _scratch.give(cols)
        _scratch.give(gm)
        ctx.save_for_backward(x, grad)
        ctx.geo = geo
        return _restore(dw, x.data.dtype)

    @staticmethod
    def backward(ctx, ggw):
        x, grad = ctx.saved_tensors
        geo = ctx.geo
        need_x, need_g = ctx.needs_input_grad[:2]
        gx = _ConvTranspose.apply(grad, ggw, None, geo) if need_x else None
        gg = _Conv.apply(x, ggw, None, geo) if need_g else None
        return gx, gg, None


# ------------------------------------------------------------------- arguments
def _tuple(value, nd: int, name: str, op: str) -> tuple:
    if isinstance(value, (int, np.integer)):
        return (int(value),) * nd
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * nd
    if len(value) != nd:
        raise ValueError(f"{op}: {name} must be an int or a tuple of {nd} ints, got {value}")
    return value


def _check_dtypes(op: str, input: Tensor, weight: Tensor, bias) -> None:
    if input.data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point input, got {input.dtype.name}")
    if weight.data.dtype != input.data.dtype:
        raise DTypeError(
            f"{op}: input dtype {input.dtype.name} and weight dtype {weight.dtype.name} should be the same"
        )
    if bias is not None and bias.data.dtype != input.data.dtype:
        raise DTypeError(f"{op}: input dtype {input.dtype.name} and bias dtype {bias.dtype.name} should be the same")


def _check_ranks(op: str, nd: int, input: Tensor, weight: Tensor, weight_doc: str) -> bool:
    """Checks input and weight ranks; returns whether the input is batched."""
    if weight.data.ndim != nd + 2:
        raise ShapeError(f"{op}: weight must be {nd + 2}-d {weight_doc}, got shape {weight.shape}")
    if input.data.ndim not in (nd + 1, nd + 2):
        raise ShapeError(
            f"{op}: expected {nd + 1}-d (unbatched) or {nd + 2}-d (batched) input, got input of shape {input.shape}"
        )
    return input.data.ndim == nd + 2


def _check_positive(op: str, **values) -> None:
    for name, value in values.items():
        if any(v < 1 for v in value):
            raise ValueError(f"{op}: {name} must be positive, got {value}")


def _check_groups(op: str, groups) -> int:
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups!r}")
    return int(groups)


def _check_bias(op: str, bias, channels: int) -> None:
    if bias is not None and bias.data.shape != (channels,):
        raise ShapeError(f"{op}: bias must have shape ({channels},) (one per output channel), got {bias.shape}")


def _batched(input: Tensor, batched: bool) -> Tensor:
    return input if batched else input.unsqueeze(0)


# Validated geometries by call signature (shapes and options), so repeated calls skip the checks.
_GEOMETRIES: dict = {}


def _geometry(build, op: str, nd: int, input, weight, bias, *options) -> tuple:
    """``build(...)``'s ``(geometry, batched)``, cached by shapes and options."""
    key = (op, input.data.shape, weight.data.shape, None if bias is None else bias.data.shape, *options)
    return cached(_GEOMETRIES, key, build, op, nd, input, weight, bias, *options)


def _conv(op: str, nd: int, input, weight, bias, stride, padding, dilation, groups) -> Tensor:
    _check_dtypes(op, input, weight, bias)
    geo, batched = _geometry(_conv_geometry, op, nd, input, weight, bias, stride, padding, dilation, groups)
    y = _Conv.apply(_batched(input, batched), weight, bias, geo)
    return y if batched else y.squeeze(0)


def _conv_transpose(op: str, nd: int, input, weight, bias, stride, padding, output_padding, groups, dilation):
    _check_dtypes(op, input, weight, bias)
    geo, batched = _geometry(
        _conv_transpose_geometry, op, nd, input, weight, bias, stride, padding, output_padding, groups, dilation
    )
    y = _ConvTranspose.apply(_batched(input, batched), weight, bias, geo)
    return y if batched else y.squeeze(0)


def _conv_geometry(op: str, nd: int, input, weight, bias, stride, padding, dilation, groups) -> tuple:
    batched = _check_ranks(op, nd, input, weight, "(out_channels, in_channels/groups, *kernel_size)")
    groups = _check_groups(op, groups)
    stride = _tuple(stride, nd, "stride", op)
    dilation = _tuple(dilation, nd, "dilation", op)
    _check_positive(op, stride=stride, dilation=dilation)
    shape = input.data.shape if batched else (1,) + input.data.shape
    out_channels, in_per_group = weight.data.shape[:2]
    kernel = weight.data.shape[2:]
    channels, image = shape[1], shape[2:]
    if out_channels % groups:
        raise ShapeError(
            f"{op}: weight {weight.shape} has {out_channels} output channels, not divisible by groups={groups}"
        )
    if channels % groups:
        raise ShapeError(f"{op}: input {input.shape} has {channels} channels, not divisible by groups={groups}")
    if in_per_group * groups != channels:
        raise ShapeError(
            f"{op}: weight {weight.shape} with groups={groups} expects input with {in_per_group * groups} channels, "
            f"got {input.shape}"
        )
    _check_bias(op, bias, out_channels)
    if isinstance(padding, str):
        if padding == "valid":
            pad_lo = pad_hi = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions (stride {stride})")
            total = tuple(d * (k - 1) for d, k in zip(dilation, kernel))
            pad_lo = tuple(t // 2 for t in total)  # the odd extra goes on the right, as in PyTorch
            pad_hi = tuple(t - lo for t, lo in zip(total, pad_lo))
        else:
            raise ValueError(f"{op}: invalid padding string {padding!r}: expected 'same' or 'valid'")
    else:
        pad_lo = pad_hi = _tuple(padding, nd, "padding", op)
        if any(p < 0 for p in pad_lo):
            raise ValueError(f"{op}: padding must be non-negative, got {pad_lo}")
    out = tuple(
        (i + lo + hi - d * (k - 1) - 1) // s + 1
        for i, lo, hi, d, k, s in zip(image, pad_lo, pad_hi, dilation, kernel, stride)
    )
    if any(o < 1 for o in out):
        raise ShapeError(
            f"{op}: output size {out} is too small (< 1) for input {input.shape}: input size {image}, "
            f"kernel {kernel}, padding {padding if isinstance(padding, str) else pad_lo}, dilation {dilation}, "
            f"stride {stride}"
        )
    return _Geometry(nd, kernel, stride, pad_lo, dilation, groups, image, out), batched


def _conv_transpose_geometry(op: str, nd: int, input, weight, bias, stride, padding, output_padding, groups, dilation):
    batched = _check_ranks(op, nd, input, weight, "(in_channels, out_channels/groups, *kernel_size)")
    groups = _check_groups(op, groups)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding={padding!r} is not supported for transposed convolutions; pass ints")
    stride = _tuple(stride, nd, "stride", op)
    dilation = _tuple(dilation, nd, "dilation", op)
    padding = _tuple(padding, nd, "padding", op)
    output_padding = _tuple(output_padding, nd, "output_padding", op)
    _check_positive(op, stride=stride, dilation=dilation)
    if any(p < 0 for p in padding) or any(p < 0 for p in output_padding):
        raise ValueError(f"{op}: padding {padding} and output_padding {output_padding} must be non-negative")
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ >= s and op_ >= d:
            raise ValueError(
                f"{op}: output_padding {output_padding} must be smaller than either stride {stride} "
                f"or dilation {dilation}"
            )
    shape = input.data.shape if batched else (1,) + input.data.shape
    in_channels, out_per_group = weight.data.shape[:2]
    kernel = weight.data.shape[2:]
    channels, size = shape[1], shape[2:]
    if in_channels % groups:
        raise ShapeError(
            f"{op}: weight {weight.shape} has {in_channels} input channels, not divisible by groups={groups}"
        )
    if channels != in_channels:
        raise ShapeError(
            f"{op}: weight {weight.shape} with groups={groups} expects input with {in_channels} channels, "
            f"got {input.shape}"
        )
    _check_bias(op, bias, out_per_group * groups)
    out = tuple(
        (i - 1) * s - 2 * p + d * (k - 1) + op_ + 1
        for i, s, p, d, k, op_ in zip(size, stride, padding, dilation, kernel, output_padding)
    )
    if any(o < 1 for o in out):
        raise ShapeError(
            f"{op}: output size {out} is too small (< 1) for input {input.shape}: input size {size}, "
            f"kernel {kernel}, padding {padding}, output_padding {output_padding}, dilation {dilation}, "
            f"stride {stride}"
        )
    return _Geometry(nd, kernel, stride, padding, dilation, groups, out, size), batched


# ------------------------------------------------------------------ public ops
def conv1d(
    input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1, groups: int = 1
) -> Tensor:
    """1-d convolution (cross-correlation): ``(N, C, L)`` with weight ``(O, C/groups, K)`` -> ``(N, O, L_out)``.

    ``padding``: int, tuple, ``'valid'`` (none) or ``'same'`` (output length = input length, stride 1).
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1, groups: int = 1
) -> Tensor:
    """2-d convolution (cross-correlation): ``(N, C, H, W)`` with weight ``(O, C/groups, kH, kW)`` -> ``(N, O, H_out, W_out)``.

    ``padding``: int, tuple, ``'valid'`` or ``'same'``. ``groups=C`` with ``O = m*C`` is a depthwise convolution.
    The output is an NCHW view of channel-major memory (PyTorch's strides would be contiguous).
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _conv2d_relu(input: Tensor, weight: Tensor, bias, stride, padding, dilation, groups, pool: bool):
    """``relu(conv2d(...))``, and ``max_pool2d(.., 2)`` of that with ``pool``, in one pass over the
    output, with gradients off (``ember.nn``'s fused inference); None where no vector kernel takes the
    convolution (the caller then runs the ops one by one). The values are those of the ops in turn:
    the bias, ReLU and maximum commute (rounding is monotone).

    What depends only on the call signature (the checks, the geometry, which kernel takes it) is
    worked out once (``_fused_conv``), keyed by the shapes, dtypes, options and the dispatch limits
    that decide it; the kernel's own set-up is its ``_plan``: the batch-1 CNN's two calls spend about
    4 us each outside their kernels, against 7.5 and 9 before."""
    if _grad_state.enabled:
        return None
    x, w = input.data, weight.data
    b = None if bias is None else bias.data
    key = (
        x.shape,
        x.dtype,
        w.shape,
        w.dtype,
        None if b is None else (b.shape, b.dtype),
        stride,
        padding,
        dilation,
        groups,
        pool,
        _gemm._kernel_host(),
        _gemm.MIN_WORK,
        winograd.MIN_TILES,
        winograd.MIN_CHANNELS,
    )
    run = cached(_FUSED, key, _fused_conv, input, weight, bias, stride, padding, dilation, groups, pool)
    return None if run is None else new_tensor(run(x, w, b, 0.0), False, None, 0)


# ``_conv2d_relu``'s kernel runs (``_plan``s, or None) by call signature
_FUSED: dict = {}


def _fused_conv(input: Tensor, weight: Tensor, bias, stride, padding, dilation, groups, pool: bool):
    """``_conv2d_relu``'s set-up for one call signature: the ``run`` of the kernel that takes it, or None.
    Raises the op's own errors for bad arguments."""
    x, w = input.data, weight.data
    if x.ndim != 4 or x.shape[0] == 0:
        return None
    _check_dtypes("conv2d", input, weight, bias)
    geo, _ = _geometry(_conv_geometry, "conv2d", 2, input, weight, bias, stride, padding, dilation, groups)
    if x.dtype != np.float32 or (pool and min(geo.cols[1:]) < 2) or winograd.applies(geo, *x.shape[:2], w.shape[0]):
        return None
    if _direct_fits(x, w, geo):
        return _plan(_direct_plan, x.shape, w.shape[0], geo, pool)
    if _gather_fits(x, w, geo):
        return _plan(_gather_plan, x.shape, w.shape[0], geo, pool)
    return None


def conv3d(
    input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1, groups: int = 1
) -> Tensor:
    """3-d convolution: ``(N, C, D, H, W)`` with weight ``(O, C/groups, kD, kH, kW)`` -> ``(N, O, D_out, H_out, W_out)``."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """Transposed 1-d convolution (the gradient of ``conv1d`` w.r.t. its input): weight ``(C_in, C_out/groups, K)``.

    ``L_out = (L - 1)*stride - 2*padding + dilation*(K - 1) + output_padding + 1``.
    """
    return _conv_transpose(
        "conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """Transposed 2-d convolution ("deconvolution"): ``(N, C_in, H, W)`` with weight ``(C_in, C_out/groups, kH, kW)``.

    ``H_out = (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1``, likewise ``W_out``.
    """
    return _conv_transpose(
        "conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """Transposed 3-d convolution: ``(N, C_in, D, H, W)`` with weight ``(C_in, C_out/groups, kD, kH, kW)``."""
    return _conv_transpose(
        "conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


# --------------------------------------------------------------- unfold / fold
class _Unfold(Function):
    """im2col: ``(N, C, H, W)`` -> ``(N, C*kH*kW, L)``, taps ordered ``(c, kh, kw)`` as in PyTorch."""

    @staticmethod
    def forward(ctx, x, geo):
        xd = _compute_dtype(x.data)
        n, c = xd.shape[:2]
        out = np.empty((n, c * geo.taps, geo.positions), xd.dtype)
        image, channel_major = _kernel_image(xd)
        _kernels().im2col(image, out.reshape(-1), *_kernel_args(geo, n, c), channel_major, True, n)
        ctx.geo = geo
        ctx.channels = c
        return _restore(out, x.data.dtype)

    @staticmethod
    def backward(ctx, grad):
        return _Fold.apply(grad, ctx.geo, ctx.channels), None


class _Fold(Function):
    """col2im: ``(N, C*kH*kW, L)`` -> ``(N, C, H, W)``, summing overlapping blocks; the adjoint of ``_Unfold``."""

    @staticmethod
    def forward(ctx, cols, geo, channels):
        cd = _compute_dtype(cols.data)
        n = cd.shape[0]
        out = np.zeros((n, channels) + geo.image[1:], cd.dtype)
        flat = np.ascontiguousarray(cd).reshape(-1)
        _kernels().col2im(flat, out.reshape(-1), *_kernel_args(geo, n, channels), False, True, n)
        ctx.geo = geo
        return _restore(out, cols.data.dtype)

    @staticmethod
    def backward(ctx, grad):
        return _Unfold.apply(grad, ctx.geo), None, None


def _block_geometry(op: str, image, kernel_size, dilation, padding, stride) -> _Geometry:
    kernel = _tuple(kernel_size, 2, "kernel_size", op)
    dilation = _tuple(dilation, 2, "dilation", op)
    padding = _tuple(padding, 2, "padding", op)
    stride = _tuple(stride, 2, "stride", op)
    _check_positive(op, kernel_size=kernel, dilation=dilation, stride=stride)
    if any(p < 0 for p in padding):
        raise ValueError(f"{op}: padding must be non-negative, got {padding}")
    blocks = tuple(
        (i + 2 * p - d * (k - 1) - 1) // s + 1 for i, p, d, k, s in zip(image, padding, dilation, kernel, stride)
    )
    if any(b < 1 for b in blocks):
        raise ShapeError(
            f"{op}: no sliding block fits: spatial size {tuple(image)} with kernel_size {kernel}, dilation "
            f"{dilation}, padding {padding}, stride {stride} gives {blocks} blocks"
        )
    return _Geometry(2, kernel, stride, padding, dilation, 1, image, blocks)


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding blocks (im2col): ``(N, C, H, W)`` -> ``(N, C*kH*kW, L)``, ``L`` blocks.

    Column ``l`` holds block ``l`` (row-major over block positions), rows ordered ``(c, kh, kw)``.
    """
    if input.data.ndim not in (3, 4):
        raise ShapeError(f"unfold: expected 3-d (unbatched) or 4-d (batched) input, got input of shape {input.shape}")
    batched = input.data.ndim == 4
    geo = _block_geometry("unfold", input.data.shape[-2:], kernel_size, dilation, padding, stride)
    y = _Unfold.apply(_batched(input, batched), geo)
    return y if batched else y.squeeze(0)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum sliding blocks back into an image (col2im): ``(N, C*kH*kW, L)`` -> ``(N, C, *output_size)``.

    The inverse of ``unfold`` up to overlap: positions covered by several blocks get their sum.
    """
    if input.data.ndim not in (2, 3):
        raise ShapeError(f"fold: expected 2-d (unbatched) or 3-d (batched) input, got input of shape {input.shape}")
    batched = input.data.ndim == 3
    image = _tuple(output_size, 2, "output_size", "fold")
    geo = _block_geometry("fold", image, kernel_size, dilation, padding, stride)
    rows, length = input.data.shape[-2:]
    if rows % geo.taps:
        raise ShapeError(
            f"fold: expected size of input's dimension {int(batched)} ({rows}, input {input.shape}) to be "
            f"divisible by the product of kernel_size {geo.kernel[1:]} ({geo.taps})"
        )
    if length != geo.positions:
        raise ShapeError(
            f"fold: output_size {image}, kernel_size {geo.kernel[1:]}, dilation {geo.dilation[1:]}, padding "
            f"{geo.pad[1:]}, stride {geo.stride[1:]} give {geo.cols[1]} * {geo.cols[2]} = {geo.positions} sliding "
            f"blocks, but input {input.shape} has {length}"
        )
    y = _Fold.apply(_batched(input, batched), geo, rows // geo.taps)
    return y if batched else y.squeeze(0)
