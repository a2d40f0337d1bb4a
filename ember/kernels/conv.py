"""Numba kernels for convolution: im2col (gather) and col2im (scatter-add).

Both work on 3-d spatial data; 1-d and 2-d convolutions pass singleton depth
(and height) axes. ``x`` is ``(N, C, D, H, W)`` with any strides; ``cols`` is
``(C, KD, KH, KW, N, OD, OH, OW)``, contiguous when it is a conv's column
matrix ``(C*KD*KH*KW, N*OD*OH*OW)``. An output position ``o`` with kernel tap
``k`` reads input position ``o * stride - pad + k * dilation``; positions
outside the input read as zero (im2col) or are dropped (col2im), so padding
costs no copy. Loops run ``c, n`` outermost so that one ``(D, H, W)`` plane
of ``x`` stays in cache while every tap of it is visited.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _valid_range(size_out: int, size_in: int, offset: int, stride: int) -> tuple:
    """The output positions ``o`` in ``[lo, hi)`` with ``0 <= o * stride + offset < size_in``."""
    lo = 0
    if offset < 0:
        lo = (-offset + stride - 1) // stride
    hi = 0
    if size_in - offset > 0:
        hi = (size_in - offset + stride - 1) // stride
    if hi > size_out:
        hi = size_out
    if lo > hi:
        lo = hi
    return lo, hi


@njit(cache=True, nogil=True)
def im2col(x, cols, stride, pad, dilation):
    """Fill ``cols[c, kd, kh, kw, n, od, oh, ow] = x[n, c, od*sd-pd+kd*dd, ...]`` (zero outside)."""
    N, C, D, H, W = x.shape
    _, KD, KH, KW, _, OD, OH, OW = cols.shape
    sd, sh, sw = stride
    pd, ph, pw = pad
    dd, dh, dw = dilation
    for c in range(C):
        for n in range(N):
            for kd in range(KD):
                d_lo, d_hi = _valid_range(OD, D, kd * dd - pd, sd)
                for kh in range(KH):
                    h_lo, h_hi = _valid_range(OH, H, kh * dh - ph, sh)
                    for kw in range(KW):
                        w_off = kw * dw - pw
                        w_lo, w_hi = _valid_range(OW, W, w_off, sw)
                        out = cols[c, kd, kh, kw, n]
                        for od in range(OD):
                            if od < d_lo or od >= d_hi:
                                out[od] = 0
                                continue
                            plane = x[n, c, od * sd + kd * dd - pd]
                            for oh in range(OH):
                                row = out[od, oh]
                                if oh < h_lo or oh >= h_hi:
                                    row[:] = 0
                                    continue
                                src = plane[oh * sh + kh * dh - ph]
                                for ow in range(w_lo):
                                    row[ow] = 0
                                for ow in range(w_lo, w_hi):
                                    row[ow] = src[ow * sw + w_off]
                                for ow in range(w_hi, OW):
                                    row[ow] = 0


@njit(cache=True, nogil=True)
def col2im(cols, x, stride, pad, dilation):
    """Add ``cols[c, kd, kh, kw, n, od, oh, ow]`` into ``x[n, c, od*sd-pd+kd*dd, ...]`` (the adjoint of im2col).

    ``x`` must be zeroed (or hold what the sums should add to) by the caller.
    """
    N, C, D, H, W = x.shape
    _, KD, KH, KW, _, OD, OH, OW = cols.shape
    sd, sh, sw = stride
    pd, ph, pw = pad
    dd, dh, dw = dilation
    for c in range(C):
        for n in range(N):
            for kd in range(KD):
                d_lo, d_hi = _valid_range(OD, D, kd * dd - pd, sd)
                for kh in range(KH):
                    h_lo, h_hi = _valid_range(OH, H, kh * dh - ph, sh)
                    for kw in range(KW):
                        w_off = kw * dw - pw
                        w_lo, w_hi = _valid_range(OW, W, w_off, sw)
                        src = cols[c, kd, kh, kw, n]
                        for od in range(d_lo, d_hi):
                            plane = x[n, c, od * sd + kd * dd - pd]
                            for oh in range(h_lo, h_hi):
                                dst = plane[oh * sh + kh * dh - ph]
                                row = src[od, oh]
                                for ow in range(w_lo, w_hi):
                                    dst[ow * sw + w_off] += row[ow]


def warm_up(dtype=np.float32) -> None:
    """Compile (or load from cache) both kernels for ``dtype`` on contiguous arrays."""
    x = np.zeros((1, 1, 1, 2, 2), dtype)
    cols = np.zeros((1, 1, 1, 1, 1, 1, 2, 2), dtype)
    im2col(x, cols, (1, 1, 1), (0, 0, 0), (1, 1, 1))
    col2im(cols, x, (1, 1, 1), (0, 0, 0), (1, 1, 1))
