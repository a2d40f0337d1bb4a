"""A float32 matrix product compiled by Numba for the host CPU: ``C (+)= A @ B``.

NumPy hands products to OpenBLAS, which on the development machine is held to
its AVX2 kernels (``OPENBLAS_CORETYPE=Haswell``, see DESIGN). Numba compiles
for the host, so on an AVX-512 CPU this product runs 512-bit fused
multiply-adds: about 200 GFLOP/s on one Zen 5 core against OpenBLAS's 100.

The layout is GotoBLAS's:

- ``B`` is packed, ``KC`` rows at a time, into slivers of ``NR`` = 32 columns
  (``[sliver][p][32]``, zero-padded on the right), from either a row-major
  ``B`` (a copy) or a row-major ``B^T`` (16x16 in-register transposes).
- ``A`` is read in place when its rows are contiguous. Rows a multiple of
  4 KiB apart (which put the ``MR`` rows in one L1 set) are first copied to a
  stride that does not alias; any other ``A`` (a transposed view) is packed
  into ``MR``-row strips, ``[p][MR]``.
- The micro-kernel keeps an ``MR x 32`` block of ``C`` (``MR`` = 8: sixteen
  512-bit accumulators) in registers for the whole ``KC`` loop. Each step
  broadcasts ``MR`` scalars of ``A`` (through two strides, so all three ways of
  reading ``A`` share it) and loads the sliver's two vectors. It is written in
  LLVM IR (``@intrinsic``) because Numba's own loops do not keep a register
  block of that size.
- A sliver (``KC x 32``, 32 KiB) stays in L1 while the ``MC`` rows of ``A``
  pass over it; those rows (``MC x KC``, 96 KiB) stay in L2.

A last block of fewer than ``MR`` rows has its own compiled kernel, reading only
those rows; a last sliver narrower than 32 columns goes through a small buffer.
The sums run in a different order from BLAS's (``K`` in steps, each a fused
multiply-add): results agree to float32 rounding, not bit for bit.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._vector import lane_mask, masked_load, masked_store, splat

MR = 8
NR = 32
KC = 256
MC = 96
NC = 2048

_NV = NR // 16


def _vec_types():
    f32 = ir.FloatType()
    return f32, ir.VectorType(f32, 16), ir.IntType(64), ir.IntType(32)


def _fma(builder):
    """LLVM's fused multiply-add on 16 float32 lanes, declared in the builder's module."""
    vt = _vec_types()[1]
    return cgutils.get_or_insert_function(builder.module, ir.FunctionType(vt, [vt, vt, vt]), "llvm.fma.v16f32")


def _loop_blocks(builder, name: str) -> tuple:
    """``(entry, loop, body, done)`` blocks of a loop, the builder branched into ``loop`` and at it."""
    entry = builder.block
    loop = builder.append_basic_block(f"{name}_loop")
    body = builder.append_basic_block(f"{name}_body")
    done = builder.append_basic_block(f"{name}_done")
    builder.branch(loop)
    builder.position_at_end(loop)
    return entry, loop, body, done


def _emit_kernel(builder, mr: int, args) -> None:
    """The micro-kernel for ``mr`` rows, emitted at the builder: ``C[mr, 32] (+)= A[mr, k] @ Bsliver[k, 32]``."""
    k, a, rs_a, cs_a, b, c, ldc, accumulate = args
    f32, vt, i64, _ = _vec_types()
    fp, vp = f32.as_pointer(), vt.as_pointer()
    a, b, c = (builder.inttoptr(x, fp) for x in (a, b, c))
    fma = _fma(builder)
    zero = ir.Constant(vt, [0.0] * 16)
    const = lambda v: ir.Constant(i64, v)  # noqa: E731
    rows = [builder.gep(a, [builder.mul(const(i), rs_a)]) for i in range(mr)]
    entry, loop, body, done = _loop_blocks(builder, "gemm")
    p = builder.phi(i64)
    a_off = builder.phi(i64)
    b_off = builder.phi(i64)
    for phi in (p, a_off, b_off):
        phi.add_incoming(const(0), entry)
    acc = []
    for _ in range(mr * _NV):
        phi = builder.phi(vt)
        phi.add_incoming(zero, entry)
        acc.append(phi)
    builder.cbranch(builder.icmp_signed("<", p, k), body, done)

    builder.position_at_end(body)
    bv = []
    for v in range(_NV):
        load = builder.load(builder.bitcast(builder.gep(b, [builder.add(b_off, const(16 * v))]), vp))
        load.align = 4
        bv.append(load)
    new = []
    for i in range(mr):
        s = splat(builder, builder.load(builder.gep(rows[i], [a_off])))
        new.extend(builder.call(fma, [s, bv[v], acc[i * _NV + v]]) for v in range(_NV))
    end = builder.block
    p.add_incoming(builder.add(p, const(1)), end)
    a_off.add_incoming(builder.add(a_off, cs_a), end)
    b_off.add_incoming(builder.add(b_off, const(NR)), end)
    for phi, value in zip(acc, new):
        phi.add_incoming(value, end)
    builder.branch(loop)

    builder.position_at_end(done)
    ptrs = [
        builder.bitcast(builder.gep(c, [builder.add(builder.mul(const(i), ldc), const(16 * v))]), vp)
        for i in range(mr)
        for v in range(_NV)
    ]
    with builder.if_else(builder.icmp_signed("!=", accumulate, const(0))) as (add, store):
        with add:
            for ptr, value in zip(ptrs, acc):
                old = builder.load(ptr)
                old.align = 4
                builder.store(builder.fadd(old, value), ptr).align = 4
        with store:
            for ptr, value in zip(ptrs, acc):
                builder.store(value, ptr).align = 4


@intrinsic
def _kernel(typingctx, mr, k, a, rs_a, cs_a, b, c, ldc, accumulate):
    """The micro-kernel for ``mr`` (1 to ``MR``) rows: a switch over ``MR`` compiled variants, since a
    variant's register block (``mr x 32`` floats) is fixed when it is emitted."""
    i64, ptr = types.int64, types.uintp
    sig = types.void(i64, i64, ptr, i64, i64, ptr, ptr, i64, i64)

    def codegen(context, builder, signature, args):
        done = builder.append_basic_block("kernel_done")
        variants = [builder.append_basic_block(f"kernel_mr{r}") for r in range(1, MR + 1)]
        switch = builder.switch(args[0], variants[-1])  # (mr is never outside 1..MR)
        for r, block in enumerate(variants, 1):
            switch.add_case(ir.Constant(ir.IntType(64), r), block)
            builder.position_at_end(block)
            _emit_kernel(builder, r, args[1:])
            builder.branch(done)
        builder.position_at_end(done)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _transpose16(typingctx, src, lds, dst, ldd):
    """``dst[c * ldd + r] = src[r * lds + c]`` for a 16x16 float32 block, in registers."""
    sig = types.void(types.uintp, types.int64, types.uintp, types.int64)

    def codegen(context, builder, signature, args):
        src, lds, dst, ldd = args
        f32, vt, i64, i32 = _vec_types()
        fp, vp = f32.as_pointer(), vt.as_pointer()
        src, dst = builder.inttoptr(src, fp), builder.inttoptr(dst, fp)
        rows = []
        for r in range(16):
            load = builder.load(builder.bitcast(builder.gep(src, [builder.mul(ir.Constant(i64, r), lds)]), vp))
            load.align = 4
            rows.append(load)
        # swap the off-diagonal d x d blocks of every 2d x 2d block, for d = 8, 4, 2, 1
        for d in (8, 4, 2, 1):
            low = [lane if not lane & d else 16 + lane - d for lane in range(16)]
            high = [lane + d if not lane & d else 16 + lane for lane in range(16)]
            for r in range(16):
                if r & d:
                    continue
                x, y = rows[r], rows[r + d]
                rows[r] = builder.shuffle_vector(x, y, ir.Constant(ir.VectorType(i32, 16), low))
                rows[r + d] = builder.shuffle_vector(x, y, ir.Constant(ir.VectorType(i32, 16), high))
        for r in range(16):
            builder.store(
                rows[r], builder.bitcast(builder.gep(dst, [builder.mul(ir.Constant(i64, r), ldd)]), vp)
            ).align = 4
        return context.get_dummy_value()

    return sig, codegen


@njit(nogil=True, inline="always")
def _pack_at(src0, offsets, p0, kc, j0, nc, out, o0):  # pragma: no cover - compiled
    """Slivers of ``B[p0:p0+kc, j0:j0+nc]`` into ``out[o0:]``, zero-padded, where ``B[p, j]`` is the
    float32 at address ``src0 + 4 * (offsets[p] + j)``."""
    dst0 = out.ctypes.data
    for s in range((nc + NR - 1) // NR):
        base = o0 + s * kc * NR
        j = j0 + s * NR
        w = min(NR, nc - s * NR)
        for p in range(kc):
            o = base + p * NR
            _copy(src0 + 4 * (offsets[p0 + p] + j), dst0 + 4 * o, w)
            for c in range(w, NR):
                out[o + c] = 0.0


@njit(cache=True, nogil=True)
def pack_rows(b, p0, kc, j0, nc, out, o0):  # pragma: no cover - compiled
    """Slivers of ``b[p0:p0+kc, j0:j0+nc]`` (``b`` (K, N), unit column stride) into ``out[o0:]``, zero-padded."""
    _pack_at(b.ctypes.data, np.arange(p0 + kc) * (b.strides[0] // 4), p0, kc, j0, nc, out, o0)


@njit(cache=True, nogil=True)
def pack_cols(bt, p0, kc, j0, nc, out, o0):  # pragma: no cover - compiled
    """Slivers of ``bt[j0:j0+nc, p0:p0+kc].T`` (``bt`` (N, K), unit column stride) into ``out[o0:]``, zero-padded."""
    ld = bt.strides[0] // 4
    src0 = bt.ctypes.data
    dst0 = out.ctypes.data
    k16 = kc - kc % 16
    for s in range((nc + NR - 1) // NR):
        base = o0 + s * kc * NR
        j = j0 + s * NR
        w = min(NR, nc - s * NR)
        for h in range(0, w - w % 16, 16):
            for p in range(0, k16, 16):
                _transpose16(src0 + 4 * ((j + h) * ld + p0 + p), ld, dst0 + 4 * (base + p * NR + h), NR)
            for p in range(k16, kc):
                for c in range(16):
                    out[base + p * NR + h + c] = bt[j + h + c, p0 + p]
        for c in range(w - w % 16, NR):
            if c < w:
                for p in range(kc):
                    out[base + p * NR + c] = bt[j + c, p0 + p]
            else:
                for p in range(kc):
                    out[base + p * NR + c] = 0.0


@njit(cache=True, nogil=True)
def pack_gather(src, offsets, p0, kc, j0, nc, out, o0):  # pragma: no cover - compiled
    """Slivers of ``B[p0:p0+kc, j0:j0+nc]`` into ``out[o0:]``, zero-padded, where row ``p`` of ``B`` starts
    at ``src[offsets[p]]``: ``B[p, j] = src[offsets[p] + j]`` (an implicit im2col, see ``sgemm_gather``)."""
    _pack_at(src.ctypes.data, offsets, p0, kc, j0, nc, out, o0)


def _make_copy(width: int):
    @intrinsic
    def copy(typingctx, src, dst):
        sig = types.void(types.uintp, types.uintp)

        def codegen(context, builder, signature, args):
            vp = ir.VectorType(ir.FloatType(), width).as_pointer()
            value = builder.load(builder.inttoptr(args[0], vp))
            value.align = 4
            builder.store(value, builder.inttoptr(args[1], vp)).align = 4
            return context.get_dummy_value()

        return sig, codegen

    return copy


# ``width`` float32 from address ``src`` to address ``dst``, one vector load and store (Numba's own
# indexing checks each index for wraparound, and those loops ran at 0.6 ns per float)
_copy8 = _make_copy(8)
_copy16 = _make_copy(16)


@intrinsic
def _copy_part(typingctx, src, dst, n):
    """The first ``n`` (at most 16) float32 from address ``src`` to address ``dst``: one masked load
    and store, touching nothing past them."""
    sig = types.void(types.uintp, types.uintp, types.int64)

    def codegen(context, builder, signature, args):
        src, dst, n = args
        mask = lane_mask(builder, 16, builder.trunc(n, ir.IntType(32)))
        masked_store(builder, masked_load(builder, src, 16, mask), dst, mask)
        return context.get_dummy_value()

    return sig, codegen


@njit(nogil=True, inline="always")
def _copy(src, dst, n):  # pragma: no cover - compiled
    """``n`` float32 from address ``src`` to address ``dst``."""
    for q in range(0, n - 15, 16):
        _copy16(src + 4 * q, dst + 4 * q)
    if n % 16:
        _copy_part(src + 4 * (n - n % 16), dst + 4 * (n - n % 16), n % 16)


@njit(nogil=True, inline="always")
def _pack_strips(a, m0, m1, p0, kc, out):  # pragma: no cover - compiled
    """A block of ``a`` as ``MR``-row strips, each ``[p][MR]``: ``a[i, p0 + p]`` goes to
    ``out[(i - m0) // MR * kc * MR + p * MR + (i - m0) % MR]`` (for an ``a`` whose rows are strided)."""
    dst0 = out.ctypes.data
    for s in range(m0, m1, MR):
        base = (s - m0) * kc
        rows = min(MR, m1 - s)
        if rows == MR and a.strides[0] == 4:  # a column-major: each p is 8 contiguous floats
            src = a.ctypes.data + 4 * s + p0 * a.strides[1]
            for p in range(kc):
                _copy8(src + p * a.strides[1], dst0 + 4 * (base + p * MR))
        else:
            for p in range(kc):
                for r in range(rows):
                    out[base + p * MR + r] = a[s + r, p0 + p]


@njit(nogil=True, inline="always")
def _pack_rows_a(a, m0, m1, p0, kc, out, ld):  # pragma: no cover - compiled
    """``out[(i - m0) * ld + p] = a[i, p0 + p]`` (for row strides that alias in L1)."""
    for i in range(m0, m1):
        _copy(a.ctypes.data + i * a.strides[0] + 4 * p0, out.ctypes.data + 4 * (i - m0) * ld, kc)


@njit(nogil=True, inline="always")
def _a_mode(a):  # pragma: no cover - compiled
    """How ``_panel`` reads ``a``: 0 in place (unit column stride), 1 rows copied (a row stride
    that is a multiple of 4 KiB puts the 8 rows in one L1 set), 2 packed in strips (other strides)."""
    if a.strides[1] != 4:
        return 2
    return 1 if a.strides[0] % 4096 == 0 else 0


@njit(nogil=True, inline="always")
def _panel(a, i0, i1, p0, kc, packed, o0, j0, nc, c, accumulate, tmp, apack):  # pragma: no cover - compiled
    """``c[i0:i1, j0:j0+nc] (+)= a[i0:i1, p0:p0+kc] @ B-panel``, the panel packed at ``packed[o0:]``.

    ``apack`` (MC*KC floats) holds a block of ``a`` when its rows are not contiguous.
    """
    ldc = c.strides[0] // 4
    c0 = c.ctypes.data
    b0 = packed.ctypes.data + 4 * o0
    t0 = tmp.ctypes.data
    mode = _a_mode(a)
    for m0 in range(i0, i1, MC):
        m1 = min(m0 + MC, i1)
        if mode == 0:  # rows of A read in place
            rs_a = a.strides[0] // 4
            cs_a = 1
            a0 = a.ctypes.data + 4 * (m0 * rs_a + p0)
        elif mode == 1:  # rows copied to a stride that does not alias
            rs_a = kc + 16
            cs_a = 1
            _pack_rows_a(a, m0, m1, p0, kc, apack, rs_a)
            a0 = apack.ctypes.data
        else:
            _pack_strips(a, m0, m1, p0, kc, apack)
            rs_a = 1
            cs_a = MR
            a0 = apack.ctypes.data
        for s in range((nc + NR - 1) // NR):
            j = j0 + s * NR
            w = min(NR, nc - s * NR)
            bs = b0 + 4 * s * kc * NR
            for i in range(m0, m1, MR):
                mr = min(MR, m1 - i)
                ai = a0 + 4 * (i - m0) * (kc if mode == 2 else rs_a)
                if w == NR:
                    _kernel(mr, kc, ai, rs_a, cs_a, bs, c0 + 4 * (i * ldc + j), ldc, accumulate)
                else:
                    _kernel(mr, kc, ai, rs_a, cs_a, bs, t0, NR, 0)
                    for r in range(mr):
                        for q in range(w):
                            if accumulate:
                                c[i + r, j + q] += tmp[r * NR + q]
                            else:
                                c[i + r, j + q] = tmp[r * NR + q]


@njit(nogil=True, inline="always")
def _buffers(a, width):  # pragma: no cover - compiled
    """Scratch for products with ``a`` on the left and ``width`` columns at a time: the packed ``B``
    panel, the edge tile, and the ``A`` block (empty when ``A`` is read in place)."""
    k = a.shape[1]
    packed = np.empty(((width + NR - 1) // NR) * NR * min(KC, k), np.float32)
    return packed, np.empty(MR * NR, np.float32), _apack(a)


@njit(nogil=True, inline="always")
def _apack(a):  # pragma: no cover - compiled
    """Room for one ``MC x KC`` block of ``a`` as ``_panel`` copies or packs it; empty when read in place."""
    return np.empty(0 if _a_mode(a) == 0 else MC * (min(KC, a.shape[1]) + 16), np.float32)


@njit(nogil=True, inline="always")
def _pack_block(b, mode, offsets, p0, kc, j0, nc, out, o0):  # pragma: no cover - compiled
    """Rows ``p0..p0+kc`` and columns ``j0..j0+nc`` of ``B`` as slivers into ``out[o0:]``: ``B`` is ``b``
    (mode 0), ``b.T`` (mode 1), or gathered, ``B[p, j] = b[offsets[p] + j]`` (mode 2)."""
    if mode == 0:
        pack_rows(b, p0, kc, j0, nc, out, o0)
    elif mode == 1:
        pack_cols(b, p0, kc, j0, nc, out, o0)
    else:
        pack_gather(b, offsets, p0, kc, j0, nc, out, o0)


@njit(nogil=True, inline="always")
def _sgemm(a, b, mode, offsets, c, i0, i1, j0, j1, accumulate, packed, tmp, apack):  # pragma: no cover - compiled
    """``sgemm`` with ``B`` read as ``_pack_block`` reads it and its scratch given (see ``_buffers``)."""
    k = a.shape[1]
    if k == 0:
        if not accumulate:
            for i in range(i0, i1):
                for j in range(j0, j1):
                    c[i, j] = 0.0
        return
    for jc in range(j0, j1, NC):
        nc = min(NC, j1 - jc)
        for p0 in range(0, k, KC):
            kc = min(KC, k - p0)
            _pack_block(b, mode, offsets, p0, kc, jc, nc, packed, 0)
            _panel(a, i0, i1, p0, kc, packed, 0, jc, nc, c, 1 if accumulate or p0 > 0 else 0, tmp, apack)


_NO_OFFSETS = np.empty(0, np.int64)  # ``_sgemm``'s offsets where B is not gathered


@njit(cache=True, nogil=True)
def sgemm(a, b, transposed, c, i0, i1, j0, j1, accumulate):  # pragma: no cover - compiled
    """``c[i0:i1, j0:j1] (+)= a[i0:i1] @ B[:, j0:j1]``, float32.

    ``a`` (M, K) with any strides; ``B`` is ``b`` (K, N) C-contiguous, or ``b.T`` for a C-contiguous
    ``b`` (N, K) when ``transposed``; ``c`` (M, N) has unit column stride. ``accumulate`` adds into ``c``.
    """
    packed, tmp, apack = _buffers(a, min(NC, j1 - j0))
    _sgemm(a, b, 1 if transposed else 0, _NO_OFFSETS, c, i0, i1, j0, j1, accumulate, packed, tmp, apack)


def packed_size(k: int, n: int) -> int:
    """Floats that :func:`pack` writes for a (k, n) ``B``."""
    return ((n + NR - 1) // NR) * NR * k


@njit(cache=True, nogil=True)
def pack(b, transposed, out):  # pragma: no cover - compiled
    """All of ``B`` packed once, ``KC`` rows at a time (for a ``B`` used by many products)."""
    if transposed:
        n, k = b.shape
    else:
        k, n = b.shape
    for p0 in range(0, k, KC):
        kc = min(KC, k - p0)
        _pack_block(b, 1 if transposed else 0, _NO_OFFSETS, p0, kc, 0, n, out, p0 * ((n + NR - 1) // NR) * NR)


@njit(cache=True, nogil=True)
def sgemm_packed(a, packed, n, c, accumulate, tmp):  # pragma: no cover - compiled
    """``c (+)= a @ B`` with ``B`` (K, n) already packed by :func:`pack`; ``tmp`` holds MR*NR floats."""
    m, k = a.shape
    apack = _apack(a)
    for p0 in range(0, k, KC):
        kc = min(KC, k - p0)
        o0 = p0 * ((n + NR - 1) // NR) * NR
        _panel(a, 0, m, p0, kc, packed, o0, 0, n, c, 1 if accumulate or p0 > 0 else 0, tmp, apack)


@njit(cache=True, nogil=True)
def sgemm_batch(a, b, transposed, c, accumulate, t0, t1):  # pragma: no cover - compiled
    """``c[i, j] (+)= a[i, j] @ B[i, j]`` for 4-d stacks, over the flat batch indices ``t0..t1`` of the
    first two dims (``t = i * a.shape[1] + j``): one call for many products (as ``sgemm``; ``B[i, j]``
    is ``b[i, j]``, or ``b[i, j].T`` when ``transposed``, either with unit column stride)."""
    h, m = a.shape[1], a.shape[2]
    n = c.shape[3]
    packed, tmp, apack = _buffers(a[0, 0], min(NC, n))  # one set for the whole stack
    for t in range(t0, t1):
        i, j = t // h, t % h
        _sgemm(
            a[i, j], b[i, j], 1 if transposed else 0, _NO_OFFSETS, c[i, j], 0, m, 0, n, accumulate, packed, tmp, apack
        )


@njit(cache=True, nogil=True)
def sgemm_gather(a, src, offsets, c, j0, j1):  # pragma: no cover - compiled
    """``c[:, j0:j1] = a @ B[:, j0:j1]`` where ``B[p, j] = src[offsets[p] + j]``, float32.

    A stride-1 convolution of a zero-padded image is such a product, with ``p`` running over
    (channel, kernel row, kernel column) and ``j`` over the padded image's flat positions: the
    columns are gathered while ``B`` is packed, and never written out (no im2col).
    """
    packed, tmp, apack = _buffers(a, min(NC, j1 - j0))
    # (2-d like the other modes' B, so that every branch of _pack_block types; mode 2 reads addresses)
    _sgemm(a, src.reshape(1, -1), 2, offsets, c, 0, a.shape[0], j0, j1, False, packed, tmp, apack)
