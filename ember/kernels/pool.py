"""Numba kernels for pooling and resampling (imported lazily by ``ember.ops.pool``).

Inputs are C-contiguous ``(B, D*H*W)`` planes (1d and 2d pooling use ``D = 1``
and ``H = 1``). A window along one spatial dim is given per output position
``o`` by ``start[o]`` (may be negative: padding), the valid tap range
``lo[o] <= j < hi[o]`` and the dilation: it reads positions
``start[o] + j * dilation``. The same description serves regular pooling
(padding, dilation, ceil mode) and adaptive pooling (variable windows).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "max_pool_forward",
    "avg_pool_forward",
    "avg_pool_backward",
    "scatter_add",
    "resample_axis",
    "resample_axis_transpose",
]


@njit(cache=True)
def max_pool_forward(x, d_in, h_in, w_in, sd, ld, hd, dd, sh, lh, hh, dh, sw, lw, hw, dw):
    """Window maxima and their flat plane indices; ties pick the first, NaN wins (the last NaN), as in PyTorch."""
    B = x.shape[0]
    oD, oH, oW = sd.shape[0], sh.shape[0], sw.shape[0]
    out = np.empty((B, oD * oH * oW), x.dtype)
    idx = np.empty((B, oD * oH * oW), np.int64)
    for b in range(B):
        xb = x[b]
        o = 0
        for od in range(oD):
            d0, dlo, dhi = sd[od], ld[od], hd[od]
            for oh in range(oH):
                h0, hlo, hhi = sh[oh], lh[oh], hh[oh]
                for ow in range(oW):
                    w0, wlo, whi = sw[ow], lw[ow], hw[ow]
                    first = ((d0 + dlo * dd) * h_in + h0 + hlo * dh) * w_in + w0 + wlo * dw
                    bi = first
                    best = xb[first]
                    nan = False
                    for jd in range(dlo, dhi):
                        rd = (d0 + jd * dd) * h_in + h0
                        for jh in range(hlo, hhi):
                            r = (rd + jh * dh) * w_in + w0
                            for jw in range(wlo, whi):
                                p = r + jw * dw
                                v = xb[p]
                                c = v > best
                                nan |= v != v
                                # arithmetic select: a branch here mispredicts on random data
                                bi += (p - bi) * c
                                best = v if c else best
                    if nan:  # rare: redo with PyTorch's NaN rule (a NaN beats everything, the last one wins)
                        bi = first
                        best = xb[first]
                        for jd in range(dlo, dhi):
                            rd = (d0 + jd * dd) * h_in + h0
                            for jh in range(hlo, hhi):
                                r = (rd + jh * dh) * w_in + w0
                                for jw in range(wlo, whi):
                                    p = r + jw * dw
                                    v = xb[p]
                                    if v > best or v != v:
                                        best = v
                                        bi = p
                    out[b, o] = best
                    idx[b, o] = bi
                    o += 1
    return out, idx


@njit(cache=True)
def avg_pool_forward(x, d_in, h_in, w_in, sd, ld, hd, dd, sh, lh, hh, dh, sw, lw, hw, dw, divisor):
    """Window sums divided by ``divisor`` (one value per output position)."""
    B = x.shape[0]
    oD, oH, oW = sd.shape[0], sh.shape[0], sw.shape[0]
    out = np.empty((B, oD * oH * oW), x.dtype)
    for b in range(B):
        xb = x[b]
        o = 0
        for od in range(oD):
            d0, dlo, dhi = sd[od], ld[od], hd[od]
            for oh in range(oH):
                h0, hlo, hhi = sh[oh], lh[oh], hh[oh]
                for ow in range(oW):
                    w0, wlo, whi = sw[ow], lw[ow], hw[ow]
                    acc = 0.0  # accumulate in float64
                    for jd in range(dlo, dhi):
                        rd = (d0 + jd * dd) * h_in + h0
                        for jh in range(hlo, hhi):
                            r = (rd + jh * dh) * w_in + w0
                            for jw in range(wlo, whi):
                                acc += xb[r + jw * dw]
                    out[b, o] = acc / divisor[o]
                    o += 1
    return out


@njit(cache=True)
def avg_pool_backward(g, d_in, h_in, w_in, sd, ld, hd, dd, sh, lh, hh, dh, sw, lw, hw, dw, divisor):
    """The transpose of ``avg_pool_forward``: each ``g / divisor`` added over its window."""
    B = g.shape[0]
    oD, oH, oW = sd.shape[0], sh.shape[0], sw.shape[0]
    out = np.zeros((B, d_in * h_in * w_in), g.dtype)
    for b in range(B):
        ob = out[b]
        o = 0
        for od in range(oD):
            d0, dlo, dhi = sd[od], ld[od], hd[od]
            for oh in range(oH):
                h0, hlo, hhi = sh[oh], lh[oh], hh[oh]
                for ow in range(oW):
                    w0, wlo, whi = sw[ow], lw[ow], hw[ow]
                    v = g[b, o] / divisor[o]
                    for jd in range(dlo, dhi):
                        rd = (d0 + jd * dd) * h_in + h0
                        for jh in range(hlo, hhi):
                            r = (rd + jh * dh) * w_in + w0
                            for jw in range(wlo, whi):
                                ob[r + jw * dw] += v
                    o += 1
    return out


@njit(cache=True)
def scatter_add(g, idx, plane):
    """``out[b, idx[b, p]] += g[b, p]`` into zeros of ``(B, plane)``: the gradient of max pooling."""
    B, P = g.shape
    out = np.zeros((B, plane), g.dtype)
    for b in range(B):
        ob = out[b]
        gb = g[b]
        ib = idx[b]
        for p in range(P):
            ob[ib[p]] += gb[p]
    return out


@njit(cache=True)
def resample_axis(x, idx, w):
    """``out[a, o, c] = sum_k w[o, k] * x[a, idx[o, k], c]``: one axis of interpolation, ``x`` is ``(A, L, C)``."""
    A, n_in, C = x.shape
    n_out, K = idx.shape
    out = np.empty((A, n_out, C), x.dtype)
    if C == 1:
        for a in range(A):
            xa = x[a, :, 0]
            for o in range(n_out):
                acc = w[o, 0] * xa[idx[o, 0]]
                for k in range(1, K):
                    acc += w[o, k] * xa[idx[o, k]]
                out[a, o, 0] = acc
        return out
    for a in range(A):
        for o in range(n_out):
            row = out[a, o]
            src = x[a, idx[o, 0]]
            wk = w[o, 0]
            for c in range(C):
                row[c] = wk * src[c]
            for k in range(1, K):
                src = x[a, idx[o, k]]
                wk = w[o, k]
                for c in range(C):
                    row[c] += wk * src[c]
    return out


@njit(cache=True)
def resample_axis_transpose(g, idx, w, n_in):
    """The transpose of ``resample_axis``: ``(A, O, C)`` back to ``(A, L, C)``."""
    A, n_out, C = g.shape
    K = idx.shape[1]
    out = np.zeros((A, n_in, C), g.dtype)
    for a in range(A):
        for o in range(n_out):
            src = g[a, o]
            for k in range(K):
                dst = out[a, idx[o, k]]
                wk = w[o, k]
                for c in range(C):
                    dst[c] += wk * src[c]
    return out
