"""A direct 3x3 convolution of one input channel (a network's first layer), float32, in vector registers.

im2col's product for such a layer is ``(O, 9) @ (9, N*P)``: nine multiply-adds
per output, so the time goes to writing the columns and the product's own
passes over memory. Here each 16 outputs of an image row are computed from
the nine shifted 16-wide rows of the zero-padded input, held in registers,
for every output channel in turn: the input is read once and every output
written once. Written in LLVM IR (``@intrinsic``) like ``ember.kernels.gemm``;
Numba's loops gathered where this needs plain vector loads.

A row wider than 16 takes blocks at 0, 16, ... and a last block ending at the
row's end, which may overlap the one before; it writes the same values there.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ._vector import add_bias, clamp_below, lane_mask, masked_load, masked_store, splat
from .gemm import _copy, _fma, _loop_blocks, _vec_types, sgemm_gather
from .pool import _max_pool16


@intrinsic
def _block(typingctx, x, ldx, w, b, outputs, y, ldy):
    """``y[o * ldy + j] = b[o] + sum_{r, s} w[9 o + 3 r + s] x[r * ldx + s + j]`` for j < 16, o < outputs."""
    sig = types.void(types.uintp, types.int64, types.uintp, types.uintp, types.int64, types.uintp, types.int64)

    def codegen(context, builder, signature, args):
        x, ldx, w, b, outputs, y, ldy = args
        f32, vt, i64, _ = _vec_types()
        fp, vp = f32.as_pointer(), vt.as_pointer()
        x, w, b, y = (builder.inttoptr(v, fp) for v in (x, w, b, y))
        fma = _fma(builder)

        taps = []
        for r in range(3):
            row = builder.mul(ir.Constant(i64, r), ldx)
            for s in range(3):
                load = builder.load(builder.bitcast(builder.gep(x, [builder.add(row, ir.Constant(i64, s))]), vp))
                load.align = 4
                taps.append(load)

        def channels(start, width, bound):
            """A loop over output channels ``width`` at a time from ``start`` while they fit: the chains
            of nine dependent multiply-adds of ``width`` channels interleave (one channel at a time
            waited on each multiply-add's latency). Returns the first channel it did not do."""
            entry, loop, body, done = _loop_blocks(builder, "direct")
            o = builder.phi(i64)
            o.add_incoming(start, entry)
            builder.cbranch(builder.icmp_signed("<=", builder.add(o, ir.Constant(i64, width)), bound), body, done)
            builder.position_at_end(body)
            outs = [builder.add(o, ir.Constant(i64, u)) for u in range(width)]
            accs = [splat(builder, builder.load(builder.gep(b, [ou]))) for ou in outs]
            bases = [builder.mul(ou, ir.Constant(i64, 9)) for ou in outs]
            for t in range(9):
                for u in range(width):
                    weight = builder.load(builder.gep(w, [builder.add(bases[u], ir.Constant(i64, t))]))
                    accs[u] = builder.call(fma, [splat(builder, weight), taps[t], accs[u]])
            for u in range(width):
                builder.store(accs[u], builder.bitcast(builder.gep(y, [builder.mul(outs[u], ldy)]), vp)).align = 4
            o.add_incoming(builder.add(o, ir.Constant(i64, width)), builder.block)
            builder.branch(loop)
            builder.position_at_end(done)
            return o

        rest = channels(ir.Constant(i64, 0), 8, outputs)
        channels(rest, 1, outputs)
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True)
def conv3x3_one_channel(xpad, w, b, y, n0, n1, lo, pool):  # pragma: no cover - compiled
    """``y[o, n, i, j] = b[o] + sum_{r, s} w[o, r, s] xpad[n, i + r, j + s]`` for images ``n0..n1``;
    values at or below ``lo`` become ``lo`` (0: a ReLU after the convolution; -inf: none), and with
    ``pool`` ``y`` takes the maxima of 2x2 stride-2 windows of that (a ``MaxPool2d(2)`` after it).

    xpad (N, Hp, Wp) the zero-padded input, C-contiguous; w (O, 9) and b (O,) C-contiguous;
    y (O, N, Hp - 2, Wp - 2) C-contiguous, or (O, N, (Hp - 2) // 2, (Wp - 2) // 2) with ``pool``;
    Wp - 2 >= 16.

    Each image goes to a small (O, Ho, Wo) buffer first, then plane by plane into ``y``: written
    straight into ``y``, the O planes of a block lie a multiple of 4 KiB apart for the usual sizes
    (64 images of 28x28: 196 KiB), so every store of a block hit one cache set, 5x slower.
    """
    n_img, hp, wp = xpad.shape
    outputs = w.shape[0]
    ho, wo = hp - 2, wp - 2
    plane = ho * wo
    buf = np.empty(outputs * plane + 16, np.float32)
    x0 = xpad.ctypes.data
    w0 = w.ctypes.data
    b0 = b.ctypes.data
    t0 = buf.ctypes.data
    last = wo - 16
    lo32 = np.float32(lo)
    zeros = np.zeros(outputs, np.float32)  # the bias is in the block's sums already
    for n in range(n0, n1):
        for i in range(ho):
            xrow = x0 + 4 * ((n * hp + i) * wp)
            trow = t0 + 4 * (i * wo)
            j = 0
            while True:
                if j > last:
                    j = last
                _block(xrow + 4 * j, wp, w0, b0, outputs, trow + 4 * j, plane)
                if j == last:
                    break
                j += 16
        _epilogue(t0, plane, wo, ho, wo, zeros, lo32, pool, y, n)


@intrinsic
def _add_row(typingctx, src, dst, n, bias, lo):
    """``dst[j] = clamp_below(src[j] + bias, lo)`` for ``j < n`` (at most 16), float32 at integer
    addresses, one masked step (``add_bias``: a bias of 0 is not added)."""
    sig = types.void(types.uintp, types.uintp, types.int64, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        src, dst, n, bias, lo = args
        mask = lane_mask(builder, 16, builder.trunc(n, ir.IntType(32)))
        v = add_bias(builder, masked_load(builder, src, 16, mask), bias)
        masked_store(builder, clamp_below(builder, v, lo), dst, mask)
        return context.get_dummy_value()

    return sig, codegen


@njit(nogil=True)
def _epilogue(src, ld_o, ld_r, ho, wo, bias, lo, pool, y, n):  # pragma: no cover - compiled
    """A convolution's ``(O, ho, wo)`` result for image ``n``, channel ``o``'s row ``r`` at address
    ``src + 4 * (o * ld_o + r * ld_r)``, to ``y[:, n]``: ``bias[o]`` added, values at or below ``lo``
    made ``lo`` (``clamp_below``), and with ``pool`` the maxima of its 2x2 stride-2 windows."""
    outputs, n_img, yh, yw = y.shape
    y0 = y.ctypes.data
    for o in range(outputs):
        s = src + 4 * o * ld_o
        d = y0 + 4 * ((o * n_img + n) * yh * yw)
        if pool:
            for r in range(yh):
                for q in range(0, yw, 16):
                    _max_pool16(
                        s + 4 * (2 * r * ld_r + 2 * q), ld_r, d + 4 * (r * yw + q), min(16, yw - q), bias[o], lo
                    )
        else:
            for r in range(ho):
                for q in range(0, wo, 16):
                    _add_row(s + 4 * (r * ld_r + q), d + 4 * (r * wo + q), min(16, wo - q), bias[o], lo)


@njit(cache=True, nogil=True)
def conv_gather(x, ph, pw, w, offsets, bias, xpad, c, y, ho, wo, n0, n1, lo, pool):  # pragma: no cover - compiled
    """A stride-1 convolution of images ``n0..n1`` as one product that gathers its own columns.

    x (N, C, H, W) with unit column stride, padded by ``(ph, pw)`` into ``xpad`` (C, N, Hp, Wp),
    C-contiguous and zeroed by the caller (each call fills its own images); w (O, K) C-contiguous with
    ``offsets`` (K,) the flat offset in ``xpad`` of each of its columns' taps (``c*N*Hp*Wp + i*Wp + j``
    for channel ``c`` and tap ``(i, j)``, dilation included); bias (O,); c (O, >= (n1-n0)*Hp*Wp)
    scratch for these images' columns; ``(ho, wo)`` the output's image size; y (O, N, ho, wo)
    C-contiguous, or (O, N, ho // 2, wo // 2) with ``pool``.

    Output ``(n, r, q)`` is column ``((n - n0)*Hp + r)*Wp + q`` of ``w @ B``, ``B[p, j] =
    xpad[n0*Hp*Wp + offsets[p] + j]``: the padded rows' last ``Wp - Wo`` columns are computed and
    dropped, and the last image's last column reads no further than ``xpad``'s last float. The
    kept columns then go to ``y`` by ``_epilogue``: the bias added, values at or below ``lo`` made
    ``lo`` (0: a ReLU after the convolution; -inf: none), and 2x2-pooled with ``pool``.
    """
    n_img, channels, h, wd = x.shape
    _, _, hp, wp = xpad.shape
    x0, p0 = x.ctypes.data, xpad.ctypes.data
    for ch in range(channels):
        for n in range(n0, n1):
            for r in range(h):
                src = x0 + n * x.strides[0] + ch * x.strides[1] + r * x.strides[2]
                _copy(src, p0 + 4 * (((ch * n_img + n) * hp + ph + r) * wp + pw), wd)
    first = n0 * hp * wp
    j1 = (n1 - 1) * hp * wp + (ho - 1) * wp + wo
    sgemm_gather(w, xpad.reshape(-1)[first:], offsets, c, 0, j1 - first)
    lo32 = np.float32(lo)
    for n in range(n0, n1):
        _epilogue(c.ctypes.data + 4 * ((n - n0) * hp * wp), c.strides[0] // 4, wp, ho, wo, bias, lo32, pool, y, n)
