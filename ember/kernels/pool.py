"""Numba kernels for pooling and resampling (imported lazily by ``ember.ops.pool``).

Inputs are C-contiguous ``(B, D*H*W)`` planes (1d and 2d pooling use ``D = 1``
and ``H = 1``). A window along one spatial dim is given per output position
``o`` by ``start[o]`` (may be negative: padding), the valid tap range
``lo[o] <= j < hi[o]`` and the dilation: it reads positions
``start[o] + j * dilation``. The same description serves regular pooling
(padding, dilation, ceil mode) and adaptive pooling (variable windows).

Kernels write into output arrays the caller allocates in their final shape, so
the results own their memory (autograd copies views it is handed as gradients).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ._vector import add_bias, clamp_below, lane_mask, masked_load, masked_store

__all__ = [
    "max_pool2d_2x2",
    "max_pool2d_2x2_values",
    "max_pool2d_inside",
    "max_pool_forward",
    "avg_pool_forward",
    "avg_pool_backward",
    "scatter_add",
    "resample_last",
    "resample_middle",
]


@njit(cache=True)
def max_pool2d_2x2(x, h_in, w_in, oh_n, ow_n, out, idx):
    """``max_pool2d_inside`` unrolled for 2x2 windows with stride 2, the most common pool (2.5x faster)."""
    B = x.shape[0]
    for b in range(B):
        xb = x[b]
        for oh in range(oh_n):
            r0 = 2 * oh * w_in
            r1 = r0 + w_in
            o0 = oh * ow_n
            for ow in range(ow_n):
                p = r0 + 2 * ow
                best = xb[p]
                bi = p
                nan = best != best
                q = p + 1
                v = xb[q]
                c = v > best
                nan |= v != v
                bi += (q - bi) * c
                best = v if c else best
                q = r1 + 2 * ow
                v = xb[q]
                c = v > best
                nan |= v != v
                bi += (q - bi) * c
                best = v if c else best
                q += 1
                v = xb[q]
                c = v > best
                nan |= v != v
                bi += (q - bi) * c
                best = v if c else best
                if nan:  # PyTorch's rule: a NaN beats everything, the last one wins
                    for q in (p, p + 1, r1 + 2 * ow, r1 + 2 * ow + 1):
                        if xb[q] != xb[q]:
                            best = xb[q]
                            bi = q
                out[b, o0 + ow] = best
                idx[b, o0 + ow] = bi


@intrinsic
def _max_pool16(typingctx, src, ld, dst, n, bias, lo):
    """``n`` (at most 16) maxima of 2x2 stride-2 windows, in vector registers: the window tops start at
    address ``src``, their bottoms ``ld`` floats on; ``clamp_below(max + bias, lo)`` goes to address
    ``dst`` (``add_bias``: a bias of 0 is not added).

    Masked loads and stores touch only the ``2n`` input and ``n`` output floats. The four taps are
    compared in PyTorch's order (a later tap wins when greater, or when it is NaN), so the values are
    PyTorch's, the signs of zeros and NaN payloads included. Adding a bias after the maximum gives the
    maximum of the biased taps (rounding is monotone), and a ReLU (``lo = 0``) after it the maximum of
    the ReLUs: a convolution's bias, ReLU and pooling in one pass.
    """
    sig = types.void(types.uintp, types.int64, types.uintp, types.int64, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        src, ld, dst, n, bias, lo = args
        i32 = ir.IntType(32)
        n32 = builder.trunc(n, i32)
        inputs = lane_mask(builder, 32, builder.add(n32, n32))
        rows = [masked_load(builder, a, 32, inputs) for a in (src, builder.add(src, builder.mul(ld, ld.type(4))))]
        even = ir.Constant(ir.VectorType(i32, 16), list(range(0, 32, 2)))
        odd = ir.Constant(ir.VectorType(i32, 16), list(range(1, 32, 2)))
        taps = [builder.shuffle_vector(r, r, lanes) for r in rows for lanes in (even, odd)]
        best = taps[0]
        for v in taps[1:]:
            take = builder.or_(builder.fcmp_ordered(">", v, best), builder.fcmp_unordered("uno", v, v))
            best = builder.select(take, v, best)
        best = clamp_below(builder, add_bias(builder, best, bias), lo)
        masked_store(builder, best, dst, lane_mask(builder, 16, n32))
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True)
def max_pool2d_2x2_values(x, h_in, w_in, oh_n, ow_n, out, lo):  # pragma: no cover - compiled
    """``max_pool2d_2x2``'s maxima without the indices (inference), 16 windows per vector step:
    float32 ``x`` and ``out`` with contiguous planes; 6x faster on 32x28x28. Maxima at or below
    ``lo`` become ``lo``: -inf for the plain pool, 0 for a ReLU before it."""
    src0, dst0 = x.ctypes.data, out.ctypes.data
    lo32 = np.float32(lo)
    for b in range(x.shape[0]):
        for oh in range(oh_n):
            src = src0 + b * x.strides[0] + 8 * oh * w_in
            dst = dst0 + b * out.strides[0] + 4 * oh * ow_n
            for ow in range(0, ow_n, 16):
                _max_pool16(src + 8 * ow, w_in, dst + 4 * ow, min(16, ow_n - ow), np.float32(0.0), lo32)


@njit(cache=True)
def max_pool2d_inside(x, h_in, w_in, kh, kw, sh, sw, oh_n, ow_n, out, idx):
    """``max_pool_forward`` for the common case: 2d (or 1d with ``h_in = kh = sh = 1``), no padding or
    dilation, every window inside the input. Twice as fast as the general kernel on 2x2 windows."""
    B = x.shape[0]
    for b in range(B):
        xb = x[b]
        for oh in range(oh_n):
            for ow in range(ow_n):
                first = oh * sh * w_in + ow * sw
                best = xb[first]
                bi = first
                nan = False
                for jh in range(kh):
                    r = first + jh * w_in
                    for jw in range(kw):
                        p = r + jw
                        v = xb[p]
                        c = v > best
                        nan |= v != v
                        bi += (p - bi) * c
                        best = v if c else best
                if nan:
                    best = xb[first]
                    bi = first
                    for jh in range(kh):
                        r = first + jh * w_in
                        for jw in range(kw):
                            p = r + jw
                            v = xb[p]
                            if v > best or v != v:
                                best = v
                                bi = p
                o = oh * ow_n + ow
                out[b, o] = best
                idx[b, o] = bi


@njit(cache=True)
def max_pool_forward(x, d_in, h_in, w_in, sd, ld, hd, dd, sh, lh, hh, dh, sw, lw, hw, dw, lowest, out, idx):
    """Window maxima and their flat plane indices; ties pick the first, NaN wins (the last NaN), as in PyTorch.

    A window with no tap inside the input (dilation with padding can make one)
    gives ``lowest`` and PyTorch's index of its first non-negative tap position."""
    B = x.shape[0]
    oD, oH, oW = sd.shape[0], sh.shape[0], sw.shape[0]
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
                    if dlo >= dhi or hlo >= hhi or wlo >= whi:
                        out[b, o] = lowest
                        idx[b, o] = first
                        o += 1
                        continue
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


@njit(cache=True)
def avg_pool_forward(x, d_in, h_in, w_in, sd, ld, hd, dd, sh, lh, hh, dh, sw, lw, hw, dw, divisor, zero, out):
    """Window sums divided by ``divisor`` (one value per output position), accumulated in ``zero``'s type."""
    B = x.shape[0]
    oD, oH, oW = sd.shape[0], sh.shape[0], sw.shape[0]
    for b in range(B):
        xb = x[b]
        o = 0
        for od in range(oD):
            d0, dlo, dhi = sd[od], ld[od], hd[od]
            for oh in range(oH):
                h0, hlo, hhi = sh[oh], lh[oh], hh[oh]
                for ow in range(oW):
                    w0, wlo, whi = sw[ow], lw[ow], hw[ow]
                    acc = zero
                    for jd in range(dlo, dhi):
                        rd = (d0 + jd * dd) * h_in + h0
                        for jh in range(hlo, hhi):
                            r = (rd + jh * dh) * w_in + w0
                            for jw in range(wlo, whi):
                                acc += xb[r + jw * dw]
                    out[b, o] = acc / divisor[o]
                    o += 1


@njit(cache=True)
def avg_pool_backward(g, d_in, h_in, w_in, sd, ld, hd, dd, sh, lh, hh, dh, sw, lw, hw, dw, divisor, out):
    """The transpose of ``avg_pool_forward``: each ``g / divisor`` added over its window of ``out`` (zeroed)."""
    B = g.shape[0]
    oD, oH, oW = sd.shape[0], sh.shape[0], sw.shape[0]
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


@njit(cache=True)
def scatter_add(g, idx, out):
    """``out[b, idx[b, p]] += g[b, p]`` into ``out`` ``(B, plane)``, zeroed by the caller: max pooling's gradient."""
    B, P = g.shape
    for b in range(B):
        ob = out[b]
        gb = g[b]
        ib = idx[b]
        for p in range(P):
            ob[ib[p]] += gb[p]


@njit(cache=True)
def resample_last(x, idx, w, out):
    """``out[a, o] = sum_k w[k, o] * x[a, idx[k, o]]``: a sparse matrix with ``K`` taps per output row
    applied along the last axis of ``x`` ``(A, L)``. Tap-major loops keep the inner loop branch-free."""
    A = x.shape[0]
    K, n_out = idx.shape
    for a in range(A):
        xa = x[a]
        oa = out[a]
        for o in range(n_out):
            oa[o] = w[0, o] * xa[idx[0, o]]
        for k in range(1, K):
            for o in range(n_out):
                oa[o] += w[k, o] * xa[idx[k, o]]


@njit(cache=True)
def resample_middle(x, idx, w, out):
    """``resample_last`` along the middle axis of ``x`` ``(A, L, C)``: whole rows of ``C`` at a time."""
    A, _, C = x.shape
    K, n_out = idx.shape
    for a in range(A):
        for o in range(n_out):
            i0 = idx[0, o]
            w0 = w[0, o]
            for c in range(C):
                out[a, o, c] = w0 * x[a, i0, c]
            for k in range(1, K):
                ik = idx[k, o]
                wk = w[k, o]
                for c in range(C):
                    out[a, o, c] += wk * x[a, ik, c]
