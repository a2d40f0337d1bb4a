"""Winograd F(2x2, 3x3) for 3x3, stride-1 convolutions with many channels (used by ``conv``).

im2col's one product does 9 multiply-adds per input channel and output
position. Winograd's minimal filtering computes each 2x2 output tile from its
4x4 input tile with 16 (2.25x fewer): the input tiles and the weights are
transformed (``V = B^T d B``, ``U = G g G^T``), the 16 element positions become
16 independent products over channels, ``M[k] = U[k] @ V[k]^T`` (``(O, C) @
(C, tiles)``), and ``A^T m A`` turns each tile's 16 sums back into 2x2 outputs.
The transforms are in ``ember.kernels.winograd``; each chunk's 16 products are one call of
ember's matrix kernel (``ember.ops.gemm.batched``; NumPy's where the kernel does not apply).

The backward is the exact adjoint of those same linear steps (not a second
approximation): ``dM = A dy A^T`` per tile, then ``dU[k] = dM[k] @ V[k]``
(weight: ``G^T dU G``) and ``dV[k] = dM[k]^T @ U[k]`` (input: ``B dV B^T``, summed
over overlapping tiles). Rounding differs from im2col's by a few float32 ulps.

Images go through in chunks (``_CHUNK_BYTES``) so that a chunk's tiles stay in
cache from transform to product to inverse transform, and the batch is split
into one range of chunks per worker thread (``ember._threads``), each on
single-threaded products, so the transforms run on every core too. The input
tiles are rebuilt in backward rather than kept (6.4 MB for the reference CNN).
"""

from __future__ import annotations

import math

import numpy as np

from .. import _threads
from . import gemm as _gemm

# Winograd F(2, 3) filter transform (the data transforms B^T and A^T are written out in the kernels)
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])

# At least this many input and output channels, and tiles in the batch: below them the products
# are too small for the transforms to pay (a first layer on 1-3 channel images, or one or two
# 14x14 images, measured faster with im2col).
MIN_CHANNELS = 16
MIN_TILES = 128

_KERNELS = None


def _kernels():
    """``ember.kernels.winograd``, imported on first use (``import ember`` must not import Numba)."""
    global _KERNELS
    if _KERNELS is None:
        from ..kernels import winograd

        _KERNELS = winograd
    return _KERNELS


def applies(geo, batch: int, channels: int, out_channels: int) -> bool:
    """Whether a convolution of this geometry runs as Winograd F(2x2, 3x3)."""
    return (
        geo.nd == 2
        and geo.groups == 1
        and geo.kernel == (1, 3, 3)
        and geo.stride == (1, 1, 1)
        and geo.dilation == (1, 1, 1)
        and channels >= MIN_CHANNELS
        and out_channels >= MIN_CHANNELS
        and geo.cols[1] >= 2
        and geo.cols[2] >= 2
        and batch * math.prod(_tiles(geo)) >= MIN_TILES
    )


def _tiles(geo) -> tuple:
    """``(tiles_h, tiles_w)``: 2x2 output tiles per image, the last ones partial for odd sizes."""
    return (geo.cols[1] + 1) // 2, (geo.cols[2] + 1) // 2


# Sixteen planes exactly a multiple of 4 KiB apart (64 x 64 x 49 floats is) all map to the same
# cache sets, and the transforms, which touch all sixteen at once, ran 5x slower; one cache line
# of padding between planes spreads them over sixteen sets.
_PLANE_PAD = 16

# The transformed tiles are 4x the size of the images they come from; a whole batch's (12.8 MB for
# 64x64x14x14 outputs) made every transform wait on memory. Each chunk of images goes through
# transform, products and inverse transform while its tiles are in cache.
_CHUNK_BYTES = 1 << 20


def _per_chunk(n: int, channels: int, tiles: int, itemsize: int) -> int:
    return max(1, min(n, _CHUNK_BYTES // (16 * channels * tiles * itemsize)))


def _planes(scratch, rows: int, cols: int, dtype) -> np.ndarray:
    """A scratch buffer ``(16, step)`` for 16 matrices of up to ``rows x cols``, not 4 KiB-aligned."""
    return scratch.take((16, rows * cols + _PLANE_PAD), dtype)


def _view(planes: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """The ``(16, rows, cols)`` matrices in ``planes``."""
    return planes[:, : rows * cols].reshape(16, rows, cols)


def _weight_transform(w: np.ndarray) -> np.ndarray:
    """``U = G g G^T`` for every (output, input) channel pair: ``(16, O, C)``."""
    # as two plain 2-d products: einsum (mostly planning) and stacked 3x3 matmuls took 0.4 ms
    o, c = w.shape[:2]
    g = _G.astype(w.dtype)
    t = w.reshape(-1, 3) @ g.T  # g G^T: (o, c, i, b)
    t = t.reshape(o * c, 3, 4).transpose(1, 0, 2).reshape(3, -1)  # (i, (o, c, b))
    u = (g @ t).reshape(4, o, c, 4)  # G g G^T: (a, o, c, b)
    return np.ascontiguousarray(u.transpose(0, 3, 1, 2)).reshape(16, o, c)


def _weight_adjoint(du: np.ndarray) -> np.ndarray:
    """The weight gradient ``G^T dU G`` ``(O, C, 3, 3)`` from ``dU`` ``(16, O, C)``."""
    _, o, c = du.shape
    g = _G.astype(du.dtype)
    t = (g.T @ du.reshape(4, -1)).reshape(3, 4, o * c).transpose(2, 0, 1)  # ((o, c), i, b)
    return (t.reshape(-1, 4) @ g).reshape(o, c, 3, 3)  # ((o, c), i, j)


def _layout(geo, x: np.ndarray, channels: int, out_channels: int) -> tuple:
    """``(tiles_h, tiles_w, tiles per image, images per chunk)``."""
    th, tw = _tiles(geo)
    t = th * tw
    return th, tw, t, _per_chunk(x.shape[0], max(channels, out_channels), t, x.dtype.itemsize)


def forward(x: np.ndarray, w: np.ndarray, b, geo, scratch) -> np.ndarray:
    """The convolution ``(N, C, H, W)`` -> ``(N, O, Ho, Wo)``, a view of ``(O, N, Ho, Wo)`` memory."""
    from .conv import _kernel_image

    n, c = x.shape[:2]
    o = w.shape[0]
    th, tw, t, per = _layout(geo, x, c, o)
    (_, oh, ow), (_, h, wd) = geo.cols, geo.image
    kernels = _kernels()
    u = _weight_transform(w)
    y = np.empty((o, n, oh, ow), x.dtype)
    bias = np.zeros(1, x.dtype) if b is None else b
    image, channel_major = _kernel_image(x)

    def run(lo, hi, v, m):
        for s in range(lo, hi, per):
            k = min(per, hi - s)
            kernels.input_transform(
                image, v.reshape(-1), v.shape[1], s, k, n, c, h, wd, geo.pad[1], geo.pad[2], th, tw, channel_major
            )
            _gemm.batched(u, _view(v, k * t, c).transpose(0, 2, 1), _view(m, o, k * t))
            kernels.output_transform(
                m.reshape(-1), m.shape[1], y.reshape(-1), bias, b is not None, o, s, k, n, oh, ow, th, tw
            )

    parts = [
        (lo, hi, _planes(scratch, per * t, c, x.dtype), _planes(scratch, o, per * t, x.dtype))
        for lo, hi in _threads.cuts(n, _threads.workers())
    ]
    _threads.run_parts(run, parts)
    for _, _, v, m in parts:
        scratch.give(v)
        scratch.give(m)
    return y.swapaxes(0, 1)


def backward(
    x: np.ndarray, w: np.ndarray, grad: np.ndarray, geo, scratch, need_x: bool, need_w: bool, need_b: bool = False
) -> tuple:
    """``(input, weight, bias gradients, None where not needed)`` from the output gradient ``(N, O, Ho, Wo)``.

    Chunk by chunk: the output gradient's tiles ``dM`` ``(O, tiles)``, then ``dU += dM @ V`` (the input
    tiles are rebuilt, not kept from forward) and ``dV = dM^T @ U``, whose inverse transform is the input
    gradient. The bias gradient is summed while ``dM`` is built.
    """
    from .conv import _kernel_image

    n, c = x.shape[:2]
    o = w.shape[0]
    th, tw, t, per = _layout(geo, x, c, o)
    (_, oh, ow), (_, h, wd) = geo.cols, geo.image
    kernels = _kernels()
    flat, grad_channel_major = _kernel_image(grad)
    image, channel_major = _kernel_image(x) if need_w else (None, False)
    u = _weight_transform(w) if need_x else None
    dx = np.empty((c, n, h, wd), x.dtype) if need_x else None

    def run(lo, hi, dm, v, dv):
        du = np.zeros((16, o, c), x.dtype) if need_w else None
        sums = np.zeros(o if need_b else 1)  # the bias gradient, summed as the output gradient is read
        for s in range(lo, hi, per):
            k = min(per, hi - s)
            kernels.output_adjoint(
                flat, dm.reshape(-1), dm.shape[1], o, s, k, n, oh, ow, th, tw, grad_channel_major, sums
            )
            dmk = _view(dm, o, k * t)
            if need_w:
                kernels.input_transform(
                    image, v.reshape(-1), v.shape[1], s, k, n, c, h, wd, geo.pad[1], geo.pad[2], th, tw, channel_major
                )
                _gemm.batched(dmk, _view(v, k * t, c), du, accumulate=True)
            if need_x:
                _gemm.batched(dmk.transpose(0, 2, 1), u, _view(dv, k * t, c))
                kernels.input_adjoint(
                    dv.reshape(-1), dv.shape[1], dx.reshape(-1), s, k, n, c, h, wd, geo.pad[1], geo.pad[2], th, tw
                )
        return du, sums

    parts = [
        (
            lo,
            hi,
            _planes(scratch, o, per * t, x.dtype),
            _planes(scratch, per * t, c, x.dtype) if need_w else None,
            _planes(scratch, per * t, c, x.dtype) if need_x else None,
        )
        for lo, hi in _threads.cuts(n, _threads.workers())
    ]
    results = _threads.run_parts(run, parts)
    for _, _, dm, v, dv in parts:
        scratch.give(dm)
        scratch.give(v)
        scratch.give(dv)
    gw = _weight_adjoint(sum(r[0] for r in results)) if need_w else None
    gb = sum(r[1] for r in results).astype(x.dtype) if need_b else None
    return (dx.swapaxes(0, 1) if need_x else None), gw, gb
