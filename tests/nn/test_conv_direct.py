"""The direct one-channel 3x3 convolution (ember.kernels.direct) against PyTorch.

It runs where ember's vector kernels do (an AVX-512 host); the ``direct``
fixture forces that on any host and counts the kernel's calls, so each case
here is known to have taken it (or, for the last tests, not). Outputs are
compared at atol 5e-5, rtol 1e-4. Gradients at atol 1e-3: a weight gradient of
4 images of 28x28 sums 3,136 products of size up to 10 (entries up to 144), and
where they cancel to a small value float32's summation order alone moved it by
1.4e-4 (a failure seen in CI; the cotangents come from a shared generator, so
they differ with the order tests run in). A wrong tap is off by 1 or more.
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
from tests.helpers import check_op

TOL = {"atol": 5e-5, "rtol": 1e-4, "grad_atol": 1e-3}


@pytest.fixture
def direct(monkeypatch):
    monkeypatch.setitem(gemm._state, "host", True)
    calls = []
    real = kernel.conv3x3_one_channel
    monkeypatch.setattr(kernel, "conv3x3_one_channel", lambda *a: (calls.append(a[5] - a[4]), real(*a))[1])
    return calls


CASES = [
    ((4, 1, 28, 28), 32, True, {"padding": 1}),
    ((3, 1, 20, 17), 13, False, {}),  # output 15 wide: too narrow for a block, not taken
    ((2, 1, 16, 40), 9, True, {"padding": 2}),  # 42 wide: blocks at 0, 16 and 26 (overlapping)
    ((2, 1, 9, 16), 1, True, {"padding": (1, 1)}),  # exactly one block, one output channel
    ((2, 1, 12, 30), 7, True, {"padding": (0, 1)}),  # remainder channels only
    ((2, 1, 11, 19), 16, True, {"padding": "same"}),
]


def _fns(bias, kwargs):
    if bias:
        return (lambda x, w, b: F.conv2d(x, w, b, **kwargs)), (lambda x, w, b: TF.conv2d(x, w, b, **kwargs))
    return (lambda x, w: F.conv2d(x, w, **kwargs)), (lambda x, w: TF.conv2d(x, w, **kwargs))


def _shapes(x_shape, o, bias):
    return [x_shape, (o, 1, 3, 3)] + ([(o,)] if bias else [])


def _out_width(x_shape, kwargs):
    pad = kwargs.get("padding", 0)
    if pad == "same":
        return x_shape[-1]
    pw = pad[1] if isinstance(pad, tuple) else pad
    return x_shape[-1] + 2 * pw - 2


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[3]}")
def test_matches_torch(case, direct):
    x_shape, o, bias, kwargs = case
    fn, torch_fn = _fns(bias, kwargs)
    check_op(_shapes(x_shape, o, bias), fn, torch_fn, **TOL)
    if _out_width(x_shape, kwargs) >= 16:
        assert sum(direct) == x_shape[0]  # every image through the kernel once
    else:
        assert direct == []


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_images_split_over_workers(direct, workers, monkeypatch):
    monkeypatch.setattr(_threads, "workers", lambda: workers)
    monkeypatch.setattr(em.ops.conv, "_DIRECT_THREAD_OUTPUTS", 1)
    fn, torch_fn = _fns(True, {"padding": 1})
    check_op(_shapes((5, 1, 8, 20), 8, True), fn, torch_fn, **TOL)
    assert sum(direct) == 5 and len(direct) == workers  # each worker's images in one call


def test_channel_major_and_strided_inputs(direct):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 1, 3, 3)).astype(np.float32)
    base = rng.standard_normal((1, 3, 10, 40)).astype(np.float32)
    channel_major = base.transpose(1, 0, 2, 3)  # (3, 1, 10, 40) view of (1, 3, ...) memory
    strided = rng.standard_normal((3, 1, 10, 80)).astype(np.float32)[..., ::2]
    for x in (channel_major, strided):
        got = F.conv2d(em.from_numpy(x), em.tensor(w), padding=1).data  # from_numpy keeps the layout
        want = TF.conv2d(torch.tensor(np.ascontiguousarray(x)), torch.tensor(w), padding=1).numpy()
        np.testing.assert_allclose(got, want, atol=5e-5, rtol=1e-4)
    assert len(direct) == 2


@pytest.mark.parametrize(
    "x_shape,w_shape,kwargs",
    [
        ((2, 2, 10, 20), (4, 2, 3, 3), {}),  # two input channels
        ((2, 1, 10, 20), (4, 1, 3, 3), {"stride": 2}),
        ((2, 1, 10, 20), (4, 1, 3, 3), {"dilation": 2}),
        ((2, 1, 10, 20), (4, 1, 5, 5), {}),
    ],
)
def test_other_convolutions_do_not_take_it(direct, x_shape, w_shape, kwargs):
    check_op([x_shape, w_shape], lambda x, w: F.conv2d(x, w, **kwargs), lambda x, w: TF.conv2d(x, w, **kwargs), **TOL)
    assert direct == []


def test_float64_does_not_take_it(direct):
    fn, torch_fn = _fns(True, {"padding": 1})
    check_op(_shapes((2, 1, 8, 20), 4, True), fn, torch_fn, dtype=np.float64, atol=1e-12, rtol=1e-10)
    assert direct == []
