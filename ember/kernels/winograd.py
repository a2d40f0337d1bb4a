"""Numba kernels for Winograd F(2x2, 3x3) convolution: the four tile transforms.

A 3x3, stride-1 convolution computes each 2x2 block of output ("tile") from the
4x4 block of padded input under it. Winograd's F(2x2, 3x3) writes that as
``Y = A^T [(G g G^T) * (B^T d B)] A`` with an element-wise product of 4x4
arrays, so that summed over input channels the 16 element positions become 16
independent matrix products (2.25x fewer multiplications than im2col's one).
These kernels are the transforms around those products and their adjoints,
each on the images ``first .. first + batch`` of the ``total`` in memory:

- ``input_transform``: image -> ``V = B^T d B`` of every tile, 16 matrices ``(N*T, C)``;
- ``output_transform``: 16 matrices ``(O, N*T)`` -> output ``A^T m A`` (+ bias);
- ``output_adjoint``: output gradient -> ``A dy A^T`` of every tile, 16 matrices ``(O, N*T)``;
- ``input_adjoint``: 16 matrices ``(N*T, C)`` -> input gradient ``B dv B^T``, overlapping tiles summed.

``T = tiles_h * tiles_w`` tiles per image; tile ``p = n * T + ty * tiles_w + tx``
(``n`` counted from ``first``). The 16 matrices lie ``stride`` elements apart in
one flat buffer. Images and output gradients are flat ``(N, C, H, W)`` or
``(C, N, H, W)`` (``channel_major``, a conv output's memory); outputs and input
gradients are written channel-major ``(C, N, H, W)``.

Layout for vectorising. The input side works channels innermost: each image
first goes into a small zero-bordered buffer whose rows hold the even columns,
then the odd columns, each column with its channels contiguous (``_gather``);
results come back through the same kind of buffer (``_scatter``). Then a row of
tiles is one contiguous run in every array: tile ``tx``'s column ``2tx + j`` is
at ``tx * C`` in the even half (``j`` = 0), the odd half (1), and one column on
(2, 3). The output side works tiles innermost (the products write ``M`` as
``(O, tiles)``), so an output channel's tiles are one run and its 2x2 blocks
are interleaved straight into the channel's planes (in the reference CNN the
output has twice the input's channels, and transposing it through a buffer had
cost more than the transform itself). Every transform is a handful of long loops with four
output streams each (more streams need more run-time overlap checks than LLVM
makes, and it gives up vectorising). The buffers also make padding and the
partial tiles of odd sizes free of branches.

All indices are unsigned (``uint64``), as in ``ember.kernels.conv``: a signed
index costs a wrap-around check that stops vectorisation, and mixing signed and
unsigned integers makes Numba compute the index in float64, hence the
``_1``/``_2``/``_3`` constants instead of literals.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

_1, _2, _3, _4 = uint64(1), uint64(2), uint64(3), uint64(4)


@njit(cache=True, nogil=True)
def _plane(n, c, batch, channels, size, channel_major):
    if channel_major:
        return (c * batch + n) * size
    return (n * channels + c) * size


@njit(cache=True, nogil=True)
def _columns(width, col0, pairs, channels):
    """Buffer-row offsets of columns ``col0 .. col0 + width``: even columns first, then odd, channels innermost."""
    offsets = np.empty(width, np.uint64)
    for w in range(width):
        col = col0 + w
        offsets[w] = ((col & _1) * pairs + (col >> _1)) * channels
    return offsets


@njit(cache=True, nogil=True)
def _gather(src, buf, n, total, channels, height, width, row0, columns, row, channel_major, sums, summing):
    """Image ``n`` of ``src`` into ``buf`` (rows of ``row`` elements) from row ``row0``, at the ``columns`` offsets.

    With ``summing``, each channel's sum is added into ``sums`` (float64) on the way.
    """
    size = height * width
    for c in range(channels):
        plane = _plane(n, c, total, channels, size, channel_major)
        total_c = 0.0
        for h in range(height):
            line = plane + h * width
            dst = (row0 + h) * row + c
            for w in range(width):
                v = src[line + w]
                buf[dst + columns[w]] = v
                if summing:
                    total_c += v
        if summing:
            sums[c] += total_c


@njit(cache=True, nogil=True)
def _scatter(buf, dst, n, total, channels, height, width, row0, columns, row):
    """Rows ``row0 ..`` of ``buf`` at the ``columns`` offsets into image ``n`` of ``dst`` ``(C, N, H, W)``."""
    size = height * width
    for c in range(channels):
        plane = (c * total + n) * size
        for h in range(height):
            line = plane + h * width
            src = (row0 + h) * row + c
            for w in range(width):
                dst[line + w] = buf[src + columns[w]]


@njit(cache=True, nogil=True)
def _input_pass(buf, v, ra, rb, sign, odd, channels, out, s, length):
    """One row ``buf[ra] + sign * buf[rb]`` of a row of tiles' ``B^T d``, transformed along the row into 4 planes."""
    for f in range(length):
        e0 = buf[ra + f] + sign * buf[rb + f]
        o0 = buf[ra + odd + f] + sign * buf[rb + odd + f]
        e1 = buf[ra + channels + f] + sign * buf[rb + channels + f]
        o1 = buf[ra + odd + channels + f] + sign * buf[rb + odd + channels + f]
        v[out + f] = e0 - e1
        v[out + s + f] = o0 + e1
        v[out + _2 * s + f] = e1 - o0
        v[out + _3 * s + f] = o0 - o1


@njit(cache=True, nogil=True)
def input_transform(
    image, v, stride, first, batch, total, channels, height, width, pad_h, pad_w, tiles_h, tiles_w, channel_major
):
    """``v[4i+j][p, c] = (B^T d B)[i, j]`` for the 4x4 padded-input block ``d`` of tile ``p`` in channel ``c``."""
    first, batch, total, channels = uint64(first), uint64(batch), uint64(total), uint64(channels)
    height, width, pad_h, pad_w = uint64(height), uint64(width), uint64(pad_h), uint64(pad_w)
    tiles_h, tiles_w, s = uint64(tiles_h), uint64(tiles_w), uint64(stride)
    pairs = tiles_w + _1
    row, odd, length = _2 * pairs * channels, pairs * channels, tiles_w * channels
    buf = np.zeros((_2 * tiles_h + _2) * row, image.dtype)  # the border stays zero
    plus, minus = image.dtype.type(1), image.dtype.type(-1)
    columns = _columns(width, pad_w, pairs, channels)
    no_sums = np.zeros(1)
    for n in range(batch):
        _gather(
            image, buf, first + n, total, channels, height, width, pad_h, columns, row, channel_major, no_sums, False
        )
        for ty in range(tiles_h):
            r = _2 * ty * row
            out = (n * tiles_h + ty) * length
            # the rows of B^T d are (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
            _input_pass(buf, v, r, r + _2 * row, minus, odd, channels, out, s, length)
            _input_pass(buf, v, r + row, r + _2 * row, plus, odd, channels, out + _4 * s, s, length)
            _input_pass(buf, v, r + _2 * row, r + row, minus, odd, channels, out + uint64(8) * s, s, length)
            _input_pass(buf, v, r + row, r + _3 * row, minus, odd, channels, out + uint64(12) * s, s, length)


@njit(cache=True, nogil=True)
def output_transform(m, stride, y, bias, has_bias, channels, first, batch, total, out_h, out_w, tiles_h, tiles_w):
    """``y`` ``(O, N, Ho, Wo)`` = the 2x2 blocks ``A^T m A`` of every tile, plus ``bias[o]`` when ``has_bias``.

    ``m``: 16 matrices ``(O, batch * T)``, tiles innermost, so that each output channel's tiles are one
    contiguous run: the transform is vectorised over tiles, and the 2x2 blocks are then interleaved
    into the channel's planes (no transposition).
    """
    channels, first, batch, total = uint64(channels), uint64(first), uint64(batch), uint64(total)
    out_h, out_w, tiles_h, tiles_w, s = uint64(out_h), uint64(out_w), uint64(tiles_h), uint64(tiles_w), uint64(stride)
    per_image = tiles_h * tiles_w
    length = batch * per_image  # tiles in the chunk
    rows = np.empty(uint64(8) * length, m.dtype)
    blocks = np.empty(_4 * length, m.dtype)  # y00, y01, y10, y11 of every tile
    zero = m.dtype.type(0)
    full_w = out_w >> _1  # tile columns whose both output columns exist
    for k in range(channels):
        src = k * length
        # A^T m: rows (m0 + m1 + m2, m1 - m2 - m3), one column (planes j, 4 + j, 8 + j, 12 + j) at a time
        for j in range(4):
            q = src + uint64(j) * s
            t0, t1 = uint64(j) * length, uint64(4 + j) * length
            for f in range(length):
                m0, m1, m2, m3 = m[q + f], m[q + _4 * s + f], m[q + uint64(8) * s + f], m[q + uint64(12) * s + f]
                rows[t0 + f] = m0 + m1 + m2
                rows[t1 + f] = m1 - m2 - m3
        add = bias[k] if has_bias else zero
        # then the same along each row
        for i in range(2):
            t = uint64(4 * i) * length
            e, o = uint64(2 * i) * length, uint64(2 * i + 1) * length
            for f in range(length):
                a0, a1 = rows[t + f], rows[t + length + f]
                a2, a3 = rows[t + _2 * length + f], rows[t + _3 * length + f]
                blocks[e + f] = a0 + a1 + a2 + add
                blocks[o + f] = a1 - a2 - a3 + add
        # interleave the blocks into the output planes, dropping the partial tiles' extra row and column
        for n in range(batch):
            dst = (k * total + first + n) * out_h * out_w
            for ty in range(tiles_h):
                p = (n * tiles_h + ty) * tiles_w
                for i in range(2):
                    h = _2 * ty + uint64(i)
                    if h >= out_h:
                        break
                    line = dst + h * out_w
                    e, o = uint64(2 * i) * length + p, uint64(2 * i + 1) * length + p
                    for tx in range(full_w):
                        y[line + _2 * tx] = blocks[e + tx]
                        y[line + _2 * tx + _1] = blocks[o + tx]
                    if out_w & _1:
                        y[line + out_w - _1] = blocks[e + full_w]


@njit(cache=True, nogil=True)
def output_adjoint(
    grad, dm, stride, channels, first, batch, total, out_h, out_w, tiles_h, tiles_w, channel_major, sums
):
    """``dm[4i+j][o, p] = (A dy A^T)[i, j]`` for the 2x2 output-gradient block ``dy`` of tile ``p``.

    ``dm``: 16 matrices ``(O, batch * T)``, tiles innermost (as ``output_transform`` reads them).
    Adds each channel's gradient sum (the bias gradient) into ``sums`` (float64) when it has an entry per channel.
    """
    channels, first, batch, total = uint64(channels), uint64(first), uint64(batch), uint64(total)
    out_h, out_w, tiles_h, tiles_w, s = uint64(out_h), uint64(out_w), uint64(tiles_h), uint64(tiles_w), uint64(stride)
    per_image = tiles_h * tiles_w
    length = batch * per_image
    blocks = np.zeros(_4 * length, grad.dtype)  # d00, d01, d10, d11 of every tile; cropped ones stay zero
    summing = sums.shape[0] == channels
    size = out_h * out_w
    for k in range(channels):
        # split each output-gradient plane into its tiles' 2x2 blocks
        total_k = 0.0
        for n in range(batch):
            src = _plane(first + n, k, total, channels, size, channel_major)
            for h in range(out_h):
                line = src + h * out_w
                i = h & _1
                p = (n * tiles_h + (h >> _1)) * tiles_w
                e, o = _2 * i * length + p, (_2 * i + _1) * length + p
                for w in range(out_w):
                    v = grad[line + w]
                    if w & _1:
                        blocks[o + (w >> _1)] = v
                    else:
                        blocks[e + (w >> _1)] = v
                    if summing:
                        total_k += v
        if summing:
            sums[k] += total_k
        # the rows of A dy are (d0, d0 + d1, d0 - d1, -d1); each is transformed the same way along the row
        out = k * length
        for f in range(length):
            t0, t1 = blocks[f], blocks[length + f]
            dm[out + f], dm[out + s + f], dm[out + _2 * s + f], dm[out + _3 * s + f] = t0, t0 + t1, t0 - t1, -t1
        out += _4 * s
        for f in range(length):
            t0, t1 = blocks[f] + blocks[_2 * length + f], blocks[length + f] + blocks[_3 * length + f]
            dm[out + f], dm[out + s + f], dm[out + _2 * s + f], dm[out + _3 * s + f] = t0, t0 + t1, t0 - t1, -t1
        out += _4 * s
        for f in range(length):
            t0, t1 = blocks[f] - blocks[_2 * length + f], blocks[length + f] - blocks[_3 * length + f]
            dm[out + f], dm[out + s + f], dm[out + _2 * s + f], dm[out + _3 * s + f] = t0, t0 + t1, t0 - t1, -t1
        out += _4 * s
        for f in range(length):
            t0, t1 = -blocks[_2 * length + f], -blocks[_3 * length + f]
            dm[out + f], dm[out + s + f], dm[out + _2 * s + f], dm[out + _3 * s + f] = t0, t0 + t1, t0 - t1, -t1


@njit(cache=True, nogil=True)
def _adjoint_pass(rows, buf, r, odd, channels, length, later):
    """Add one row of ``B (dv B^T)`` for a row of tiles into ``buf`` at ``r``: ``rows`` holds its 4 columns of ``dv``'s row combination.

    Tile ``tx``'s last two columns are the next tile's first two: they go through ``later`` and a
    second loop, so that neither loop reads what it wrote.
    """
    for f in range(length):
        a0, a1, a2, a3 = rows[f], rows[length + f], rows[_2 * length + f], rows[_3 * length + f]
        buf[r + f] += a0
        buf[r + odd + f] += a1 - a2 + a3
        later[f] = a1 + a2 - a0
        later[length + f] = -a3
    for f in range(length):
        buf[r + channels + f] += later[f]
        buf[r + odd + channels + f] += later[length + f]


@njit(cache=True, nogil=True)
def input_adjoint(dv, stride, dx, first, batch, total, channels, height, width, pad_h, pad_w, tiles_h, tiles_w):
    """``dx`` ``(C, N, H, W)`` = the sum over tiles of ``B dv B^T`` placed at each tile's 4x4 block (padding dropped)."""
    first, batch, total, channels = uint64(first), uint64(batch), uint64(total), uint64(channels)
    height, width, pad_h, pad_w = uint64(height), uint64(width), uint64(pad_h), uint64(pad_w)
    tiles_h, tiles_w, s = uint64(tiles_h), uint64(tiles_w), uint64(stride)
    pairs = tiles_w + _1
    row, odd, length = _2 * pairs * channels, pairs * channels, tiles_w * channels
    buf = np.empty((_2 * tiles_h + _2) * row, dv.dtype)
    rows = np.empty(_4 * length, dv.dtype)
    later = np.empty(_2 * length, dv.dtype)
    zero = dv.dtype.type(0)
    columns = _columns(width, pad_w, pairs, channels)
    for n in range(batch):
        buf[:] = zero
        for ty in range(tiles_h):
            src = (n * tiles_h + ty) * length
            r = _2 * ty * row
            # B dv has rows (v0, v1 - v2 + v3, -v0 + v1 + v2, -v3) (v_i: row i of dv, planes 4i .. 4i+3)
            for j in range(4):
                q = src + uint64(j) * s
                part = uint64(j) * length
                for f in range(length):
                    rows[part + f] = dv[q + f]
            _adjoint_pass(rows, buf, r, odd, channels, length, later)
            for j in range(4):
                q = src + uint64(j) * s
                part = uint64(j) * length
                for f in range(length):
                    rows[part + f] = dv[q + _4 * s + f] - dv[q + uint64(8) * s + f] + dv[q + uint64(12) * s + f]
            _adjoint_pass(rows, buf, r + row, odd, channels, length, later)
            for j in range(4):
                q = src + uint64(j) * s
                part = uint64(j) * length
                for f in range(length):
                    rows[part + f] = dv[q + _4 * s + f] + dv[q + uint64(8) * s + f] - dv[q + f]
            _adjoint_pass(rows, buf, r + _2 * row, odd, channels, length, later)
            for j in range(4):
                q = src + uint64(j) * s
                part = uint64(j) * length
                for f in range(length):
                    rows[part + f] = -dv[q + uint64(12) * s + f]
            _adjoint_pass(rows, buf, r + _3 * row, odd, channels, length, later)
        _scatter(buf, dx, first + n, total, channels, height, width, pad_h, columns, row)
