"""The gathered stride-1 convolution (ember.kernels.direct.conv_gather) against PyTorch.

Without a weight gradient (inference, or a frozen weight) a stride-1 convolution
runs as one product whose columns are gathered from the zero-padded input while
it is packed, with no im2col. The ``gather`` fixture forces ember's vector
kernels on any host (and for any size of product) and records each call's image range, so each case is known
to have taken the kernel (or, for the last tests, not). Tolerances are the conv
tests' float32 ones.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember as em
import ember.nn.functional as F
from ember import _threads
from ember.kernels import direct as kernel
from ember.ops import gemm

TOL = {"atol": 5e-5, "rtol": 1e-4}


@pytest.fixture
def gather(monkeypatch):
    monkeypatch.setitem(gemm._state, "host", True)
    monkeypatch.setattr(gemm, "MIN_WORK", 1)  # small cases take it too (the last test puts it back)
    calls = []
    real = kernel.conv_gather
    monkeypatch.setattr(kernel, "conv_gather", lambda *a: (calls.append((a[11], a[12])), real(*a))[1])
    return calls


def _data(x_shape, w_shape, bias, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32) if bias else None
    return x, w, b


def _torch(x, w, b, **kwargs):
    return TF.conv2d(
        torch.from_numpy(np.ascontiguousarray(x)),
        torch.from_numpy(w),
        None if b is None else torch.from_numpy(b),
        **kwargs,
    )


# (input shape, weight shape, bias, conv options)
CASES = [
    ((1, 32, 14, 14), (64, 32, 3, 3), True, {"padding": 1}),  # the reference CNN's second layer, batch 1
    ((3, 8, 11, 13), (10, 8, 3, 3), False, {}),  # no padding, odd sizes
    ((2, 4, 12, 21), (9, 4, 5, 5), True, {"padding": 2}),
    ((2, 6, 10, 9), (5, 6, 3, 3), True, {"padding": (0, 2), "dilation": 2}),
    ((2, 3, 9, 40), (17, 3, 2, 3), True, {"padding": (1, 0)}),  # rows wider than 32: two 16-wide steps
    ((2, 24, 7, 7), (16, 24, 1, 1), True, {}),  # 1x1: 24 taps
    ((1, 2, 30, 30), (33, 2, 3, 3), True, {"padding": "same"}),  # more output channels than a block
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[3]}")
def test_inference_matches_torch(case, gather):
    x_shape, w_shape, bias, kwargs = case
    x, w, b = _data(x_shape, w_shape, bias)
    with em.no_grad():
        y = F.conv2d(em.from_numpy(x), em.from_numpy(w), None if b is None else em.from_numpy(b), **kwargs)
    np.testing.assert_allclose(y.data, _torch(x, w, b, **kwargs).numpy(), **TOL)
    assert gather == [(0, x_shape[0])]


def test_frozen_weight_takes_it_and_the_input_gradient_matches_torch(gather):
    x, w, b = _data((2, 8, 9, 10), (12, 8, 3, 3), True)
    xe = em.tensor(x, requires_grad=True)
    ye = F.conv2d(xe, em.from_numpy(w), em.from_numpy(b), padding=1)
    g = np.random.default_rng(1).standard_normal(ye.shape).astype(np.float32)
    ye.backward(em.from_numpy(g))
    xt = torch.from_numpy(x).requires_grad_()
    yt = TF.conv2d(xt, torch.from_numpy(w), torch.from_numpy(b), padding=1)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(ye.data, yt.detach().numpy(), **TOL)
    np.testing.assert_allclose(xe.grad.data, xt.grad.numpy(), **TOL)
    assert gather == [(0, 2)]


@pytest.mark.parametrize("layout", ["conv output", "strided rows", "channel slice"])
def test_input_layouts(layout, gather):
    x, w, b = _data((3, 16, 10, 12), (20, 16, 3, 3), True)
    if layout == "conv output":  # an NCHW view of (C, N, H, W) memory
        xe = em.from_numpy(np.ascontiguousarray(x.swapaxes(0, 1))).transpose(0, 1)
    elif layout == "strided rows":  # unit stride lost: copied first
        xe = em.from_numpy(np.repeat(x, 2, axis=-1))[..., ::2]
    else:
        xe = em.from_numpy(np.concatenate([x, x], axis=1))[:, 16:]
    with em.no_grad():
        y = F.conv2d(xe, em.from_numpy(w), em.from_numpy(b), padding=1)
    np.testing.assert_allclose(y.data, _torch(x, w, b, padding=1).numpy(), **TOL)
    assert gather == [(0, 3)]


@pytest.mark.parametrize("workers", [2, 3])
def test_images_split_over_workers(gather, workers, monkeypatch):
    monkeypatch.setattr(_threads, "workers", lambda: workers)
    monkeypatch.setattr(gemm, "THREAD_WORK", 1)
    x, w, b = _data((5, 16, 8, 9), (24, 16, 3, 3), True)
    with em.no_grad():
        y = F.conv2d(em.from_numpy(x), em.from_numpy(w), em.from_numpy(b), padding=1)
    np.testing.assert_allclose(y.data, _torch(x, w, b, padding=1).numpy(), **TOL)
    assert sorted(gather) == {2: [(0, 2), (2, 5)], 3: [(0, 2), (2, 3), (3, 5)]}[workers]


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "kwargs", "dtype", "grad"),
    [
        ((2, 16, 10, 10), (16, 16, 3, 3), {"stride": 2}, np.float32, False),
        ((2, 16, 10, 10), (16, 8, 3, 3), {"groups": 2}, np.float32, False),
        ((2, 16, 10, 10), (16, 16, 3, 3), {}, np.float64, False),
        ((2, 16, 10, 10), (16, 16, 3, 3), {}, np.float32, True),  # training: the columns are kept
    ],
)
def test_cases_it_does_not_take(x_shape, w_shape, kwargs, dtype, grad, gather):
    x, w, b = _data(x_shape, w_shape, True)
    xe, we, be = (em.tensor(a.astype(dtype), requires_grad=grad) for a in (x, w, b))
    y = F.conv2d(xe, we, be, **kwargs)
    expected = TF.conv2d(*(torch.from_numpy(a.astype(dtype)) for a in (x, w, b)), **kwargs)
    np.testing.assert_allclose(y.data, expected.numpy(), **TOL)
    assert gather == []


def test_too_little_work_does_not_take_it(gather, monkeypatch):
    monkeypatch.setattr(gemm, "MIN_WORK", 1 << 18)
    x, w, b = _data((1, 2, 6, 6), (4, 2, 3, 3), True)
    with em.no_grad():
        y = F.conv2d(em.from_numpy(x), em.from_numpy(w), em.from_numpy(b))
    np.testing.assert_allclose(y.data, _torch(x, w, b).numpy(), **TOL)
    assert gather == []


@pytest.mark.parametrize(("workers", "chunks"), [(1, [(0, 2), (2, 4), (4, 5)]), (2, [(0, 2), (2, 4), (4, 5)])])
def test_images_in_chunks_through_a_small_scratch(gather, monkeypatch, workers, chunks):
    monkeypatch.setattr(_threads, "workers", lambda: workers)
    monkeypatch.setattr(gemm, "THREAD_WORK", 1)
    monkeypatch.setattr(em.ops.conv, "_CHUNK_BYTES", 2 * 24 * 10 * 11 * 4)  # two images' product outputs
    x, w, b = _data((5, 16, 8, 9), (24, 16, 3, 3), True)
    with em.no_grad():
        y = F.conv2d(em.from_numpy(x), em.from_numpy(w), em.from_numpy(b), padding=1)
    np.testing.assert_allclose(y.data, _torch(x, w, b, padding=1).numpy(), **TOL)
    assert sorted(gather) == chunks
