"""2-d float32 matrix products: ember's AVX-512 kernel where it is faster, NumPy's BLAS elsewhere.

``matmul(a, b, out=None, accumulate=False)`` is ``a @ b`` (or ``out += a @ b``)
for 2-d arrays. The kernel (``ember.kernels.gemm``) takes it when

- both are float32, the host CPU has AVX-512 (``avx512f``), and
  ``EMBER_GEMM`` is not ``blas``;
- the product has at least ``MIN_WORK`` multiply-adds, ``a`` at least 4 rows
  and K at least 16 (a first convolution's 32x9 weight times its columns ran
  25% slower in the kernel, which stores its block of C every K steps). That is where OpenBLAS would start its own threads (2^18); below it
  BLAS runs one thread and its call costs less than Numba's dispatch and the
  packing. Taking every product OpenBLAS would thread also keeps its threads
  from starting and then spinning beside ember's workers;
- ``b`` or ``b.T`` is C-contiguous (else it is copied), ``a`` has positive
  strides (multiples of 4 bytes), and ``out`` has unit column stride and
  does not overlap them.

Products of ``THREAD_WORK`` multiply-adds or more are split over
``ember._threads.run_parts`` (by rows when ``a`` is the taller side, by
32-column slivers otherwise), each part single-threaded.

Everything else, float64 included, goes to ``np.matmul``.
"""

from __future__ import annotations

import os

import numpy as np

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
        and a.strides[0] > 0
        and a.strides[1] > 0
        and a.strides[0] % 4 == 0
        and a.strides[1] % 4 == 0
        and _kernel_host()
    )


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None, accumulate: bool = False) -> np.ndarray:
    """``a @ b`` for 2-d arrays, into ``out`` if given (``out += a @ b`` with ``accumulate``)."""
    if not fits(a, b) or (
        out is not None
        and (out.dtype != np.float32 or out.strides[1] != 4 or out.strides[0] <= 0 or out.strides[0] % 4)
    ):
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
    from ember.kernels.gemm import MR, NR, sgemm

    parts = 1
    if m * n * k >= THREAD_WORK:
        from ember import _threads

        parts = _threads.workers()
    if parts < 2:
        sgemm(a, source, transposed, out, 0, m, 0, n, accumulate)
        return out
    if m >= n:
        cuts = _cuts(m, parts, MR)
        ranges = [(i0, i1, 0, n) for i0, i1 in cuts]
    else:
        cuts = _cuts(n, parts, NR)
        ranges = [(0, m, j0, j1) for j0, j1 in cuts]
    _threads.run_parts(lambda i0, i1, j0, j1: sgemm(a, source, transposed, out, i0, i1, j0, j1, accumulate), ranges)
    return out


def stack(a: np.ndarray, b: np.ndarray, out: np.ndarray, accumulate: bool = False) -> np.ndarray:
    """``out[i] (+)= a[i] @ b[i]`` for 3-d stacks, on the calling thread (for parts of ``run_parts``).

    One kernel call for the whole stack where the kernel takes ``a[0] @ b[0]`` (Numba's dispatch
    costs a few microseconds a call, as much as a small product); else ``np.matmul``.
    """
    inner = b[0]
    if (
        not fits(a[0], inner)
        or out.dtype != np.float32
        or out.strides[2] != 4
        or out.strides[1] <= 0
        or out.strides[1] % 4
        or not (inner.strides[1] == 4 or inner.strides[0] == 4)
    ):
        if accumulate:
            out += np.matmul(a, b)
        else:
            np.matmul(a, b, out=out)
        return out
    from ember.kernels.gemm import sgemm_stack

    if inner.strides[1] == 4:
        sgemm_stack(a, b, False, out, accumulate)
    else:
        sgemm_stack(a, b.transpose(0, 2, 1), True, out, accumulate)
    return out


def _cuts(size: int, parts: int, step: int) -> list:
    """``parts`` ranges covering ``range(size)``, each boundary a multiple of ``step``."""
    blocks = -(-size // step)
    parts = min(parts, blocks)
    edges = [min(size, (blocks * i // parts) * step) for i in range(parts + 1)]
    return [(edges[i], edges[i + 1]) for i in range(parts)]


class Right:
    """``a @ b`` for many ``a`` and one ``b`` (a recurrent layer's ``W_hh^T`` at every step).

    ``b`` is packed once when the kernel takes products of ``rows`` rows by it (float32, the
    host, at least ``MIN_STEP_WORK`` multiply-adds); otherwise every product is ``np.dot``.
    """

    __slots__ = ("b", "packed", "tmp", "_sgemm")

    def __init__(self, b: np.ndarray, rows: int):
        self.b = b
        self.packed = None
        k, n = b.shape
        if b.dtype == np.float32 and rows * k * n >= MIN_STEP_WORK and k > 0 and _kernel_host():
            from ember.kernels.gemm import MR, NR, pack, packed_size, sgemm_packed

            transposed = not b.flags.c_contiguous and b.T.flags.c_contiguous
            source = b.T if transposed else np.ascontiguousarray(b)
            self.packed = np.empty(packed_size(k, n), np.float32)
            pack(source, transposed, self.packed)
            self.tmp = np.empty(MR * NR, np.float32)
            self._sgemm = sgemm_packed

    def product(self, a: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``out[...] = a @ b``; ``out`` C-contiguous, not overlapping ``a``."""
        if self.packed is None or a.dtype != np.float32 or a.strides[0] <= 0 or a.strides[1] <= 0:
            return np.dot(a, self.b, out=out)
        self._sgemm(a, self.packed, self.b.shape[1], out, False, self.tmp)
        return out
