"""2-d float32 matrix products: ember's AVX-512 kernel where it is faster, NumPy's BLAS elsewhere.

``matmul(a, b, out=None, accumulate=False)`` is ``a @ b`` (or ``out += a @ b``)
for 2-d arrays. The kernel (``ember.kernels.gemm``) takes it when

- both are float32, the host CPU has AVX-512 (``avx512f``), and
  ``EMBER_GEMM`` is not ``blas``;
- the product has at least ``MIN_WORK`` (2^18) multiply-adds: where OpenBLAS
  would start its own threads. Below it BLAS runs one thread and its call costs
  less than Numba's dispatch and the packing; taking every product OpenBLAS
  would thread also keeps its threads from starting and then spinning beside
  ember's workers;
- ``a`` has at least 4 rows and K is at least 16 (a first convolution's 32x9
  weight times its columns ran 25% slower in the kernel, which stores its
  block of C every K steps);
- ``b`` or ``b.T`` is C-contiguous (else it is copied), ``a`` has positive
  strides (multiples of 4 bytes), and ``out`` has unit column stride and
  does not overlap them.

Products of ``THREAD_WORK`` multiply-adds or more are split over
``ember._threads.run_parts`` (by rows when ``a`` is the taller side, by
32-column slivers otherwise), each part single-threaded.

Everything else, float64 included, goes to ``np.matmul``.
"""

from __future__ import annotations

import math
import os

import numpy as np

from .. import _threads

MIN_WORK = 1 << 18
MIN_STEP_WORK = 1 << 15
THREAD_WORK = 1 << 24
_state: dict = {}


def _kernel_host() -> bool:
    """Whether this process uses the kernel at all: an AVX-512 host and no ``EMBER_GEMM=blas``."""
    if "host" not in _state:
        use = os.environ.get("EMBER_GEMM", "").strip().lower() != "blas"
        if use:
            from llvmlite import binding

            use = "+avx512f" in binding.get_host_cpu_features().flatten().split(",")
        _state["host"] = use
    return _state["host"]


def _kernels():
    """``ember.kernels.gemm``, imported on first use (it imports Numba)."""
    module = _state.get("kernels")
    if module is None:
        from ..kernels import gemm as module

        _state["kernels"] = module
    return module


def _readable(a: np.ndarray) -> bool:
    """Whether the kernel can read ``a`` through its strides: positive whole float32 steps."""
    s0, s1 = a.strides
    return s0 > 0 and s1 > 0 and s0 % 4 == 0 and s1 % 4 == 0


def _writable(out: np.ndarray) -> bool:
    """Whether the kernel can write ``out`` (2-d): float32 rows of unit stride, whole float32 steps apart."""
    return out.dtype == np.float32 and out.strides[1] == 4 and out.strides[0] > 0 and out.strides[0] % 4 == 0


def fits(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a @ b`` (2-d) goes to the kernel."""
    return (
        a.dtype == np.float32
        and b.dtype == np.float32
        and a.ndim == 2
        and b.ndim == 2
        and a.shape[0] >= 4
        and a.shape[1] >= 16
        and a.shape[0] * a.shape[1] * b.shape[1] >= MIN_WORK
        and _readable(a)
        and _kernel_host()
    )


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None, accumulate: bool = False) -> np.ndarray:
    """``a @ b`` for 2-d arrays, into ``out`` if given (``out += a @ b`` with ``accumulate``)."""
    if not fits(a, b) or (out is not None and not _writable(out)):
        if accumulate:
            out += np.matmul(a, b)
            return out
        return np.matmul(a, b, out=out)
    m, k = a.shape
    n = b.shape[1]
    if out is None:
        out = np.empty((m, n), np.float32)
    if b.flags.c_contiguous:
        source, transposed = b, False
    elif b.T.flags.c_contiguous:
        source, transposed = b.T, True
    else:
        source, transposed = np.ascontiguousarray(b), False
    kernels = _kernels()
    sgemm = kernels.sgemm
    parts = _threads.workers() if m * n * k >= THREAD_WORK else 1
    if parts < 2:
        sgemm(a, source, transposed, out, 0, m, 0, n, accumulate)
        return out
    lead = _lead(m * n * k)
    if m >= n:
        ranges = [(i0, i1, 0, n) for i0, i1 in _threads.cuts(m, parts, kernels.MR, lead)]
    else:
        ranges = [(0, m, j0, j1) for j0, j1 in _threads.cuts(n, parts, kernels.NR, lead)]
    _threads.run_parts(lambda i0, i1, j0, j1: sgemm(a, source, transposed, out, i0, i1, j0, j1, accumulate), ranges)
    return out


def batched(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None, accumulate: bool = False) -> np.ndarray:
    """``a @ b`` for two 3-d or 4-d float32 stacks with the same batch dims, into ``out`` if given
    (``out += a @ b`` with ``accumulate``); ``np.matmul`` otherwise.

    The kernel takes the whole stack in one call per part where each product has at least
    ``MIN_STEP_WORK`` multiply-adds (4 rows, K of 16) and the stack ``MIN_WORK``, and ``b``'s
    matrices or their transposes have unit column stride (attention's heads are such views). A
    stack of ``THREAD_WORK`` multiply-adds or more is split by products over ``run_parts``.
    NumPy loops over a stack calling BLAS once per product: the transformer's 128 attention
    products of 64x64x32 cost more in calls than in arithmetic, and Winograd's 16 per chunk of
    images as much.
    """
    if (
        a.ndim not in (3, 4)
        or a.ndim != b.ndim
        or a.shape[:-2] != b.shape[:-2]
        or a.dtype != np.float32
        or b.dtype != np.float32
        or not _kernel_host()
    ):
        return _np_batched(a, b, out, accumulate)
    m, k = a.shape[-2:]
    n = b.shape[-1]
    count = math.prod(a.shape[:-2])
    inner_b = b.strides[-1] == 4 or b.strides[-2] == 4
    if (
        m < 4
        or k < 16
        or m * n * k < MIN_STEP_WORK
        or count * m * n * k < MIN_WORK
        or not inner_b
        or min(a.strides) <= 0
        or any(s % 4 for s in a.strides)
        or (out is not None and (out.dtype != np.float32 or out.strides[-1] != 4 or min(out.strides) <= 0))
    ):
        return _np_batched(a, b, out, accumulate)
    if out is None:
        out = np.empty(a.shape[:-1] + (n,), np.float32)
    a4, b4, c4 = (x if x.ndim == 4 else x[None] for x in (a, b, out))
    source, transposed = (b4, False) if b.strides[-1] == 4 else (b4.swapaxes(-1, -2), True)
    kernels = _kernels()
    parts = min(count, _threads.workers()) if count * m * n * k >= THREAD_WORK else 1
    if parts < 2:
        kernels.sgemm_batch(a4, source, transposed, c4, accumulate, 0, count)
    else:
        ranges = _threads.cuts(count, parts, 1, _lead(count * m * n * k))
        _threads.run_parts(lambda t0, t1: kernels.sgemm_batch(a4, source, transposed, c4, accumulate, t0, t1), ranges)
    return out


def _np_batched(a: np.ndarray, b: np.ndarray, out, accumulate: bool) -> np.ndarray:
    if accumulate:
        out += np.matmul(a, b)
        return out
    return np.matmul(a, b, out=out)


def _lead(work: int) -> float:
    """The caller's head start in a split product, as a fraction of ``work`` multiply-adds: a worker
    thread starts about ``LEAD_WORK`` multiply-adds late (waking it took 40-60 us here), so the
    caller takes that much more and the two finish together (128x784x512 on two threads: 410 ->
    345 us with a 55% share)."""
    return min(0.2, LEAD_WORK / work)


# multiply-adds one core does while a worker thread wakes (about 40 us at 100 GMAC/s)
LEAD_WORK = 1 << 22


class Right:
    """``a @ b`` for many ``a`` and one ``b`` (a recurrent layer's ``W_hh^T`` at every step).

    ``b`` is packed once when the kernel takes products of ``rows`` rows by it (float32, the
    host, at least ``MIN_STEP_WORK`` multiply-adds); otherwise every product is ``np.dot``.
    """

    __slots__ = ("b", "packed", "tmp")

    def __init__(self, b: np.ndarray, rows: int):
        self.b = b
        self.packed = None
        k, n = b.shape
        if b.dtype == np.float32 and rows * k * n >= MIN_STEP_WORK and k > 0 and _kernel_host():
            kernels = _kernels()
            transposed = not b.flags.c_contiguous and b.T.flags.c_contiguous
            source = b.T if transposed else np.ascontiguousarray(b)
            self.packed = np.empty(kernels.packed_size(k, n), np.float32)
            kernels.pack(source, transposed, self.packed)
            self.tmp = np.empty(kernels.MR * kernels.NR, np.float32)

    def product(self, a: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``out[...] = a @ b``; ``out`` C-contiguous, not overlapping ``a``."""
        if self.packed is None or a.dtype != np.float32 or not _readable(a):
            return np.dot(a, self.b, out=out)
        _kernels().sgemm_packed(a, self.packed, self.b.shape[1], out, False, self.tmp)
        return out
