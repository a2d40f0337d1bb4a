"""ember.kernels.gemm and its dispatcher ember.ops.gemm, against float64 NumPy products.

The kernel runs on any host (LLVM lowers its 512-bit vectors to what the CPU
has); the dispatcher only sends products to it on AVX-512 hosts, so these tests
call the kernel directly, and force the dispatcher's host check where they test
the dispatch itself. Tolerance: float32 sums of K terms, relative to the largest
output, 1e-5.
"""

from __future__ import annotations

import numpy as np
import pytest

from ember.kernels import gemm as kernel
from ember.ops import gemm
from tests.helpers import spy_stacked_kernel

TOL = 1e-5


def _close(got, want):
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL * scale)


def _operands(m, k, n, a_layout, b_layout, seed=0):
    rng = np.random.default_rng(seed)
    if a_layout == "row":
        a = rng.standard_normal((m, k), dtype=np.float32)
    elif a_layout == "col":  # a transposed view: unit row stride
        a = rng.standard_normal((k, m), dtype=np.float32).T
    else:  # every other column of a wider array
        a = rng.standard_normal((m, 2 * k), dtype=np.float32)[:, ::2]
    if b_layout == "row":
        b = rng.standard_normal((k, n), dtype=np.float32)
    else:
        b = rng.standard_normal((n, k), dtype=np.float32).T
    return a, b


def _kernel_product(a, b, out=None, accumulate=False, rows=None, cols=None):
    m, n = a.shape[0], b.shape[1]
    if out is None:
        out = np.full((m, n), np.nan, np.float32)
    src, transposed = (b, False) if b.flags.c_contiguous else (b.T, True)
    i0, i1 = rows or (0, m)
    j0, j1 = cols or (0, n)
    kernel.sgemm(a, src, transposed, out, i0, i1, j0, j1, accumulate)
    return out


# sizes around the blocks: MR=8 rows, NR=32 columns, KC=256 depth, MC=96 rows, 16x16 transposes
SHAPES = [(1, 1, 1), (7, 5, 3), (8, 16, 32), (9, 17, 33), (64, 128, 512), (97, 257, 65), (13, 300, 70), (200, 513, 40)]


@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("a_layout", ["row", "col", "strided"])
@pytest.mark.parametrize("b_layout", ["row", "transposed"])
def test_kernel_matches_float64_product(m, k, n, a_layout, b_layout):
    a, b = _operands(m, k, n, a_layout, b_layout)
    _close(_kernel_product(a, b), a.astype(np.float64) @ b.astype(np.float64))


def test_row_stride_that_aliases_in_l1_and_long_k():
    # 1024 columns: rows 4 KiB apart take the copied-rows path; K of 2048 is eight KC blocks
    a, b = _operands(40, 2048, 70, "row", "row", seed=1)
    assert a.strides[0] % 4096 == 0
    _close(_kernel_product(a, b), a.astype(np.float64) @ b)
    wide = np.random.default_rng(2).standard_normal((24, 1024), dtype=np.float32)
    bt = np.random.default_rng(3).standard_normal((1024, 33), dtype=np.float32)
    _close(_kernel_product(wide, bt), wide.astype(np.float64) @ bt)


def test_accumulate_adds_and_sub_ranges_touch_only_their_block():
    a, b = _operands(50, 40, 70, "row", "transposed")
    base = np.random.default_rng(4).standard_normal((50, 70), dtype=np.float32)
    got = _kernel_product(a, b, out=base.copy(), accumulate=True)
    _close(got, base + a.astype(np.float64) @ b)
    part = _kernel_product(a, b, out=base.copy(), rows=(8, 40), cols=(32, 70))
    want = base.copy()
    want[8:40, 32:70] = (a.astype(np.float64) @ b)[8:40, 32:70]
    _close(part, want)


def test_output_with_a_row_stride_and_k_zero():
    a, b = _operands(20, 30, 40, "row", "row")
    wide = np.zeros((20, 64), np.float32)
    _kernel_product(a, b, out=wide[:, 8:48])
    _close(wide[:, 8:48], a.astype(np.float64) @ b)
    assert not wide[:, :8].any() and not wide[:, 48:].any()
    empty = _kernel_product(np.ones((3, 0), np.float32), np.ones((0, 5), np.float32))
    np.testing.assert_array_equal(empty, np.zeros((3, 5), np.float32))


def test_nan_and_inf_propagate():
    a, b = _operands(16, 20, 40, "row", "row")
    a[3, 4] = np.nan
    b[5, 7] = np.inf
    got = _kernel_product(a, b)
    want = a.astype(np.float64) @ b
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))


def test_prepacked_b_matches():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((70, 300), dtype=np.float32)  # used as w.T: (300, 70)
    packed = np.empty(kernel.packed_size(300, 70), np.float32)
    kernel.pack(w, True, packed)
    x = rng.standard_normal((19, 300), dtype=np.float32)
    out = np.empty((19, 70), np.float32)
    kernel.sgemm_packed(x, packed, 70, out, False, np.empty(kernel.MR * kernel.NR, np.float32))
    _close(out, x.astype(np.float64) @ w.T.astype(np.float64))


@pytest.fixture
def on_kernel(monkeypatch):
    """The dispatcher as on an AVX-512 host, whatever this one is."""
    monkeypatch.setitem(gemm._state, "host", True)


@pytest.mark.parametrize("m,k,n", [(4096, 128, 512), (100, 3000, 60), (40, 700, 2000)])
def test_dispatch_threads_split_rows_or_columns(on_kernel, m, k, n):
    assert m * k * n >= gemm.THREAD_WORK
    a, b = _operands(m, k, n, "row", "transposed", seed=m)
    _close(gemm.matmul(a, b), a.astype(np.float64) @ b)
    base = np.ones((m, n), np.float32)
    _close(gemm.matmul(a, b, out=base, accumulate=True), 1 + a.astype(np.float64) @ b)


def test_dispatch_falls_back_to_numpy(on_kernel, monkeypatch):
    calls = []
    monkeypatch.setattr(kernel, "sgemm", lambda *args: calls.append(args))
    small = np.ones((8, 8), np.float32)
    np.testing.assert_array_equal(gemm.matmul(small, small), small @ small)
    big = np.ones((128, 128), np.float64)
    np.testing.assert_array_equal(gemm.matmul(big, big), big @ big)
    reversed_rows = np.ones((128, 128), np.float32)[::-1]
    np.testing.assert_array_equal(gemm.matmul(reversed_rows, reversed_rows), reversed_rows @ reversed_rows)
    assert calls == []
    gemm.matmul(np.ones((128, 128), np.float32), np.ones((128, 128), np.float32))
    assert len(calls) == 1


def test_env_switch_keeps_numpy(monkeypatch):
    monkeypatch.setattr(gemm, "_state", {})  # a fresh decision, and the process's own kept as it was
    monkeypatch.setenv("EMBER_GEMM", "blas")
    assert not gemm._kernel_host()


def test_dispatch_declines_odd_strides_and_outputs(on_kernel, monkeypatch):
    calls = []
    monkeypatch.setattr(kernel, "sgemm", lambda *args: calls.append(args))
    a = np.ones((128, 128), np.float32)
    buffer = np.ones(128 * 130, np.float32)
    odd = np.lib.stride_tricks.as_strided(buffer, (128, 128), (514, 4))  # a row stride not a multiple of 4
    np.testing.assert_array_equal(gemm.matmul(odd, a), odd @ a)
    column_out = np.empty((128, 128), np.float32, order="F")
    np.testing.assert_array_equal(gemm.matmul(a, a, out=column_out), a @ a)
    assert calls == []


# ------------------------------------------------------------------ stacks (gemm.batched)
def _stack_operands(batch, m, k, n, a_layout, b_layout, seed=0):
    """Stacks ``batch + (m, k)`` and ``batch + (k, n)`` laid out as attention's are: ``a`` row-major,
    a transposed view (column-major matrices), or the heads of a packed ``(N, L, 3, H, D)`` array;
    ``b`` row-major or a transposed view."""
    rng = np.random.default_rng(seed)
    if a_layout == "row":
        a = rng.standard_normal(batch + (m, k), dtype=np.float32)
    elif a_layout == "col":
        a = rng.standard_normal(batch + (k, m), dtype=np.float32).swapaxes(-1, -2)
    else:  # heads: batch (N, H), a[i, j] = packed[i, :, 1, j] with rows 3*H*k floats apart
        n_, h = batch
        a = rng.standard_normal((n_, m, 3, h, k), dtype=np.float32)[:, :, 1].transpose(0, 2, 1, 3)
    if b_layout == "row":
        b = rng.standard_normal(batch + (k, n), dtype=np.float32)
    else:
        b = rng.standard_normal(batch + (n, k), dtype=np.float32).swapaxes(-1, -2)
    return a, b


@pytest.fixture
def batch_calls(monkeypatch):
    """Every product goes to the kernel's stack call (sizes forced down), whose flat ranges are recorded."""
    return spy_stacked_kernel(monkeypatch, lambda a: a[5:])


@pytest.mark.parametrize(
    "batch,a_layout", [((5,), "row"), ((5,), "col"), ((2, 3), "row"), ((2, 3), "col"), ((2, 3), "heads")]
)
@pytest.mark.parametrize("m,k,n", [(4, 16, 1), (64, 32, 64), (33, 70, 40), (9, 300, 65)])
@pytest.mark.parametrize("b_layout", ["row", "transposed"])
def test_stacks_match_float64_products(batch_calls, batch, m, k, n, a_layout, b_layout):
    a, b = _stack_operands(batch, m, k, n, a_layout, b_layout, seed=m + k)
    got = gemm.batched(a, b)
    _close(got, a.astype(np.float64) @ b.astype(np.float64))
    assert batch_calls == [(0, int(np.prod(batch)))]


def test_stack_into_an_output_view_like_attentions(batch_calls):
    a, b = _stack_operands((2, 4), 64, 64, 32, "col", "row")
    buf = np.full((2, 64, 4, 32), np.nan, np.float32)  # (N, L, H, D): the heads merge for free
    out = buf.transpose(0, 2, 1, 3)
    assert gemm.batched(a, b, out=out) is out
    _close(buf.transpose(0, 2, 1, 3), a.astype(np.float64) @ b.astype(np.float64))


@pytest.mark.parametrize("kernel_takes_it", [True, False])
def test_stacks_accumulate_into_out(batch_calls, monkeypatch, kernel_takes_it):
    if not kernel_takes_it:
        monkeypatch.setattr(gemm, "MIN_STEP_WORK", 1 << 20)  # NumPy's loop, then an add
    a, b = _stack_operands((16,), 12, 40, 33, "row", "transposed")
    out = np.random.default_rng(5).standard_normal((16, 12, 33)).astype(np.float32)
    expected = out.astype(np.float64) + a.astype(np.float64) @ b.astype(np.float64)
    assert gemm.batched(a, b, out=out, accumulate=True) is out
    _close(out, expected)
    assert batch_calls == ([(0, 16)] if kernel_takes_it else [])


@pytest.mark.parametrize("workers", [2, 3])
def test_stack_split_over_workers(batch_calls, monkeypatch, workers):
    from ember import _threads

    monkeypatch.setattr(_threads, "workers", lambda: workers)
    monkeypatch.setattr(gemm, "THREAD_WORK", 1)
    monkeypatch.setattr(gemm, "LEAD_WORK", 0)  # even parts
    a, b = _stack_operands((2, 5), 16, 32, 24, "row", "transposed")
    _close(gemm.batched(a, b), a.astype(np.float64) @ b.astype(np.float64))
    assert sorted(batch_calls) == {2: [(0, 5), (5, 10)], 3: [(0, 3), (3, 7), (7, 10)]}[workers]


def test_the_callers_part_has_a_head_start():
    from ember import _threads

    # the first range is the caller's: larger by the workers' late start, the rest equal, all aligned
    assert _threads.cuts(512, 2, 32, gemm._lead(128 * 784 * 512)) == [(0, 288), (288, 512)]
    assert _threads.cuts(10, 3, 1, 0.1) == [(0, 4), (4, 7), (7, 10)]
    assert _threads.cuts(4096, 2, 8, gemm._lead(4096 * 128 * 512)) == [(0, 2080), (2080, 4096)]
    assert _threads.cuts(33, 2, 32, 0.2) == [(0, 32), (32, 33)]  # two blocks: one each
    assert _threads.cuts(100, 1, 8, 0.2) == [(0, 100)]
    assert _threads.cuts(3, 5) == [(0, 1), (1, 2), (2, 3)]  # no more parts than blocks
    assert _threads.cuts(0, 2) == [(0, 0)]  # an empty batch: one empty part
    assert gemm._lead(1) == 0.2  # capped: a small product is still split


def test_stacks_the_kernel_does_not_take(batch_calls, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 16, 32), dtype=np.float32)
    y = rng.standard_normal((3, 32, 8), dtype=np.float32)
    cases = [
        (x, y[:1]),  # broadcast batch dims
        (x.astype(np.float64), y.astype(np.float64)),
        (x[:, :3], y),  # 3 rows
        (x[:, :, :8], y[:, :8]),  # K of 8
        (x, rng.standard_normal((3, 64, 16), dtype=np.float32)[:, ::2, ::2]),  # no unit stride in b
        (
            rng.standard_normal((2, 3, 4, 16, 32), dtype=np.float32),
            rng.standard_normal((2, 3, 4, 32, 8), dtype=np.float32),
        ),
    ]
    for p, q in cases:
        np.testing.assert_allclose(gemm.batched(p, q), np.matmul(p, q), rtol=1e-5, atol=1e-5)
    column_out = np.empty((3, 8, 16), np.float32).swapaxes(-1, -2)  # no unit stride in the output
    np.testing.assert_allclose(gemm.batched(x, y, out=column_out), x @ y, rtol=1e-5, atol=1e-5)
    monkeypatch.setattr(gemm, "MIN_STEP_WORK", 1 << 15)
    small = gemm.batched(x, y)  # 4096 multiply-adds a product: NumPy's loop
    np.testing.assert_allclose(small, x @ y, rtol=1e-5, atol=1e-5)
    assert batch_calls == []


@pytest.mark.parametrize("layout", ["reversed rows", "broadcast rows", "transposed, reversed", "reversed batch"])
def test_stacks_with_odd_b_strides(batch_calls, layout):
    # the kernel reads b's matrices through their strides: negative and zero ones included
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 20, 40), dtype=np.float32)
    b = rng.standard_normal((3, 40, 24), dtype=np.float32)
    b = {
        "reversed rows": b[:, ::-1],
        "broadcast rows": np.broadcast_to(b[:, :1], b.shape),
        "transposed, reversed": b.swapaxes(-1, -2).copy()[:, ::-1].swapaxes(-1, -2),
        "reversed batch": b[::-1],
    }[layout]
    _close(gemm.batched(a, b), a.astype(np.float64) @ b.astype(np.float64))
    assert batch_calls == [(0, 3)]
