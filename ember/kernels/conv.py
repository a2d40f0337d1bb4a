"""Numba kernels for convolution: im2col (gather) and col2im (scatter-add).

Both work on 3-d spatial data; 1-d and 2-d convolutions pass singleton depth
(and height) axes. An output position ``o`` with kernel tap ``k`` reads
image position ``o * stride - pad + k * dilation``; positions outside the
image read as zero (im2col) or are dropped (col2im), so padding costs no copy.

Every array is C-contiguous (the caller copies the rare one that is not), in
one of two axis orders chosen by a flag, so that two layouts need no copy:

- image: ``(N, C, D, H, W)``, or ``(C, N, D, H, W)`` when ``image_channel_major``
  (the memory of a conv output, which ember returns as an NCHW view);
- columns: ``(C, KD, KH, KW, N, OD, OH, OW)`` (a conv's ``(C*K, N*P)`` matrix),
  or ``(N, C, KD, KH, KW, OD, OH, OW)`` when ``cols_batch_major`` (unfold's
  ``(N, C*K, L)``).

Arrays are passed flat and indexed with unsigned offsets: a signed index
that might be negative makes Numba emit a wrap-around check that stops LLVM
from vectorising the inner loop, and a slice per row costs reference counting
(each was 5x slower here). ``weight_grad`` is the weight gradient of first
layers, where BLAS is slow on the long, thin product.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64


@njit(cache=True, nogil=True)
def _valid_range(size_out, size_in, offset, stride):
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
def _plane_offset(n, c, batch, channels, size, channel_major):
    """Flat offset of the ``(n, c)`` block of ``size`` elements in ``(N, C, ...)`` or ``(C, N, ...)`` memory.

    ``batch`` is the number of images the memory holds (the ``N`` of ``(C, N, ...)``).
    """
    if channel_major:
        return uint64((c * batch + n) * size)
    return uint64((n * channels + c) * size)


@njit(cache=True, nogil=True)
def _cols_offset(n, c, tap, batch, channels, taps, size, batch_major):
    """Flat offset of the block of ``size`` elements for image ``n``, channel ``c``, kernel tap ``tap``."""
    if batch_major:
        return uint64(((n * channels + c) * taps + tap) * size)
    return uint64(((c * taps + tap) * batch + n) * size)


@njit(cache=True, nogil=True)
def _valid_span(height, width, h_lo, h_hi, shift):
    """``[a, b)``: the run of a stride-1, ``OW == width`` output plane that reads inside its input plane."""
    a = max(h_lo * width, -shift)
    b = max(a, min(h_hi * width, height * width - shift))
    return a, b


@njit(cache=True, nogil=True)
def _zero_outside(cols, dst, width, out_height, h_lo, h_hi, w_lo, w_hi, a, b):
    """Zero what an output plane must not take from its run: rows above and below the image, wrapped columns."""
    for j in range(uint64(a)):  # rows above the image, and the wrapped column before the first valid one
        cols[dst + j] = 0
    for j in range(uint64(b), uint64(out_height * width)):
        cols[dst + j] = 0
    if w_lo > 0 or w_hi < width:  # the columns that wrapped round a row end read the neighbouring row: zero them
        for oh in range(h_lo, h_hi):
            row = dst + uint64(oh * width)
            for j in range(uint64(w_lo)):
                cols[row + j] = 0
            for j in range(uint64(w_hi), uint64(width)):
                cols[row + j] = 0


@njit(cache=True, nogil=True)
def _copy_plane(image, cols, src, dst, height, width, out_height, h_lo, h_hi, w_lo, w_hi, shift):
    """One output plane of a stride-1 im2col with ``OW == width``: output index ``t`` reads input ``t + shift``."""
    a, b = _valid_span(height, width, h_lo, h_hi, shift)
    first = dst + uint64(a)
    source = src + uint64(a + shift)
    for j in range(uint64(b - a)):
        cols[first + j] = image[source + j]
    _zero_outside(cols, dst, width, out_height, h_lo, h_hi, w_lo, w_hi, a, b)


@njit(cache=True, nogil=True)
def _copy_planes(image, cols, src, dst, count, height, width, h_lo, h_hi, w_lo, w_hi, shift):
    """``count`` consecutive planes of ``_copy_plane`` (``out_height == height``) as one shifted run, then fixed up.

    For channel-major images: the planes of one channel's images follow each other in the image as in the
    columns, so one long copy replaces ``count`` short ones; what it took across plane borders is then
    zeroed like everything else outside each plane's valid span.
    """
    size = height * width
    lo = max(0, -(src + shift))  # never read before the image or past its end
    hi = min(count * size, image.size - (src + shift))
    source = uint64(src + shift)
    for j in range(uint64(lo), uint64(hi)):
        cols[dst + j] = image[source + j]
    a, b = _valid_span(height, width, h_lo, h_hi, shift)
    for n in range(count):
        _zero_outside(cols, uint64(dst + n * size), width, height, h_lo, h_hi, w_lo, w_hi, a, b)


@njit(cache=True, nogil=True)
def im2col(image, cols, shape, kernel, out, stride, pad, dilation, image_channel_major, cols_batch_major, image_batch):
    """Fill ``cols[c, kd, kh, kw, n, od, oh, ow] = image[n, c, od*sd-pd+kd*dd, ...]`` (zero outside).

    ``image`` and ``cols`` are flat; ``shape`` is ``(N, C, D, H, W)``, ``kernel`` ``(KD, KH, KW)``,
    ``out`` ``(OD, OH, OW)``. ``image_batch`` is the number of images in channel-major image memory
    (``N`` itself, or more when ``image`` starts at image ``n0`` of a bigger batch: one chunk of it).
    """
    N, C, D, H, W = shape
    KD, KH, KW = kernel
    OD, OH, OW = out
    sd, sh, sw = stride
    pd, ph, pw = pad
    dd, dh, dw = dilation
    plane_size = D * H * W
    block_size = OD * OH * OW
    taps = KD * KH * KW
    usw = uint64(sw)
    # stride 1 with output rows as wide as input rows: the valid rows of one output plane are one
    # contiguous run of the input plane (less the columns that wrap around the row ends)
    merge_rows = sh == 1 and sw == 1 and OW == W
    # 2-d "same" convolution of channel-major images: a channel's planes run on in image and columns alike
    merge_images = merge_rows and image_channel_major and not cols_batch_major and D == 1 and OD == 1 and OH == H
    for c in range(C):  # then taps, then images: the columns are written in memory order
        for kd in range(KD):
            d_off = kd * dd - pd
            d_lo, d_hi = _valid_range(OD, D, d_off, sd)
            for kh in range(KH):
                h_off = kh * dh - ph
                h_lo, h_hi = _valid_range(OH, H, h_off, sh)
                for kw in range(KW):
                    w_off = kw * dw - pw
                    w_lo, w_hi = _valid_range(OW, W, w_off, sw)
                    count = uint64(w_hi - w_lo)
                    tap = (kd * KH + kh) * KW + kw
                    if merge_images:
                        _copy_planes(
                            image,
                            cols,
                            c * image_batch * plane_size,
                            _cols_offset(0, c, tap, N, C, taps, block_size, False),
                            N,
                            H,
                            W,
                            h_lo,
                            h_hi,
                            w_lo,
                            w_hi,
                            h_off * W + w_off,
                        )
                        continue
                    for n in range(N):
                        plane = _plane_offset(n, c, image_batch, C, plane_size, image_channel_major)
                        block = _cols_offset(n, c, tap, N, C, taps, block_size, cols_batch_major)
                        for od in range(OD):
                            if merge_rows and d_lo <= od < d_hi and h_lo < h_hi:
                                _copy_plane(
                                    image,
                                    cols,
                                    plane + uint64((od * sd + d_off) * H * W),
                                    block + uint64(od * OH * OW),
                                    H,
                                    W,
                                    OH,
                                    h_lo,
                                    h_hi,
                                    w_lo,
                                    w_hi,
                                    h_off * W + w_off,
                                )
                                continue
                            for oh in range(OH):
                                row = block + uint64((od * OH + oh) * OW)
                                if od < d_lo or od >= d_hi or oh < h_lo or oh >= h_hi:
                                    for j in range(uint64(OW)):
                                        cols[row + j] = 0
                                    continue
                                for j in range(uint64(w_lo)):
                                    cols[row + j] = 0
                                for j in range(uint64(w_hi), uint64(OW)):
                                    cols[row + j] = 0
                                src = plane + uint64(((od * sd + d_off) * H + oh * sh + h_off) * W + w_lo * sw + w_off)
                                dst = row + uint64(w_lo)
                                if sw == 1:
                                    for j in range(count):
                                        cols[dst + j] = image[src + j]
                                else:
                                    for j in range(count):
                                        cols[dst + j] = image[src + j * usw]


@njit(cache=True, nogil=True)
def col2im(cols, image, shape, kernel, out, stride, pad, dilation, image_channel_major, cols_batch_major, image_batch):
    """Add ``cols[c, kd, kh, kw, n, od, oh, ow]`` into ``image[n, c, od*sd-pd+kd*dd, ...]`` (im2col's adjoint).

    Arguments as for ``im2col``; ``image`` must be zeroed (or hold what the sums add to) by the caller.
    """
    N, C, D, H, W = shape
    KD, KH, KW = kernel
    OD, OH, OW = out
    sd, sh, sw = stride
    pd, ph, pw = pad
    dd, dh, dw = dilation
    plane_size = D * H * W
    block_size = OD * OH * OW
    taps = KD * KH * KW
    usw = uint64(sw)
    for c in range(C):
        for n in range(N):
            plane = _plane_offset(n, c, image_batch, C, plane_size, image_channel_major)
            for kd in range(KD):
                d_off = kd * dd - pd
                d_lo, d_hi = _valid_range(OD, D, d_off, sd)
                for kh in range(KH):
                    h_off = kh * dh - ph
                    h_lo, h_hi = _valid_range(OH, H, h_off, sh)
                    for kw in range(KW):
                        w_off = kw * dw - pw
                        w_lo, w_hi = _valid_range(OW, W, w_off, sw)
                        if w_hi <= w_lo:
                            continue
                        count = uint64(w_hi - w_lo)
                        tap = (kd * KH + kh) * KW + kw
                        block = _cols_offset(n, c, tap, N, C, taps, block_size, cols_batch_major)
                        for od in range(d_lo, d_hi):
                            for oh in range(h_lo, h_hi):
                                src = block + uint64((od * OH + oh) * OW + w_lo)
                                dst = plane + uint64(((od * sd + d_off) * H + oh * sh + h_off) * W + w_lo * sw + w_off)
                                if sw == 1:
                                    for j in range(count):
                                        image[dst + j] += cols[src + j]
                                else:
                                    for j in range(count):
                                        image[dst + j * usw] += cols[src + j]


def warm_up(dtype=np.float32) -> None:
    """Compile (or load from the cache) both kernels for ``dtype``."""
    image = np.zeros(4, dtype)
    cols = np.zeros(4, dtype)
    args = ((1, 1, 1, 2, 2), (1, 1, 1), (1, 2, 2), (1, 1, 1), (0, 0, 0), (1, 1, 1), False, False, 1)
    im2col(image, cols, *args)
    col2im(cols, image, *args)


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})  # vectorised sums; NaN and inf still propagate
def weight_grad(grad, cols, weight_grad_out, bias_grad_out, batch, channels, positions, channel_major):
    """Add ``grad (O, N*P) @ cols.T`` into ``weight_grad_out`` ``(O, K)`` and ``grad``'s row sums into ``bias_grad_out``.

    ``grad`` is flat ``(N, O, P)`` (or ``(O, N, P)`` when ``channel_major``), so an NCHW gradient needs no
    transpose copy; ``cols`` is ``(K, N*P)`` (rows past ``K`` are ignored). For small ``K`` (first
    layers: 1 to 3 input channels) this beats a BLAS product, which is slow on such long, thin shapes.
    Four output channels at a time share each load of ``cols``.
    """
    taps = weight_grad_out.shape[1]
    length = uint64(positions)
    zero = grad.dtype.type(0)
    bases = np.empty(4, np.uint64)
    for n in range(batch):
        col = uint64(n * positions)
        for o0 in range(0, channels, 4):
            block = min(4, channels - o0)
            for i in range(4):
                o = o0 + min(i, block - 1)  # a short last block repeats its last channel
                if channel_major:
                    bases[i] = uint64((o * batch + n) * positions)
                else:
                    bases[i] = uint64((n * channels + o) * positions)
            b0, b1, b2, b3 = bases[0], bases[1], bases[2], bases[3]
            for i in range(block):
                s = zero
                b = bases[i]
                for j in range(length):
                    s += grad[b + j]
                bias_grad_out[o0 + i] += s
            for k in range(taps):
                s0 = s1 = s2 = s3 = zero
                for j in range(length):
                    c = cols[k, col + j]
                    s0 += grad[b0 + j] * c
                    s1 += grad[b1 + j] * c
                    s2 += grad[b2 + j] * c
                    s3 += grad[b3 + j] * c
                weight_grad_out[o0, k] += s0
                if block > 1:
                    weight_grad_out[o0 + 1, k] += s1
                if block > 2:
                    weight_grad_out[o0 + 2, k] += s2
                if block > 3:
                    weight_grad_out[o0 + 3, k] += s3
