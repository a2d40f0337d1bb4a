"""Winograd F(2x2, 3x3) convolutions (``ember.ops.winograd``) against PyTorch.

3x3, stride-1 convolutions with at least 16 input and output channels and
enough tiles take this path. The tests lower the tile threshold so that small
shapes take it too, and check that they did. Tolerances: float32 atol 2e-4,
rtol 1e-4 (sums of 9*C = 144-216 products of values in [-2, 2]; the transforms
add a few ulps); float64 atol 1e-11, rtol 1e-10; finite differences as in
check_gradcheck.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember as em
import ember.nn.functional as F
from ember import _threads
from ember.ops import conv, winograd
from tests.helpers import check_grad_subset, check_gradcheck, check_op, spy_stacked_kernel

TOL = {"atol": 2e-4, "rtol": 1e-4}
TOL64 = {"atol": 1e-11, "rtol": 1e-10}


@pytest.fixture
def calls(monkeypatch):
    """Small shapes take the Winograd path; returns a list that counts its forwards and backwards."""
    monkeypatch.setattr(winograd, "MIN_TILES", 1)
    seen = []
    forward, backward = winograd.forward, winograd.backward

    def counted_forward(*args, **kwargs):
        seen.append("forward")
        return forward(*args, **kwargs)

    def counted_backward(*args, **kwargs):
        seen.append("backward")
        return backward(*args, **kwargs)

    monkeypatch.setattr(winograd, "forward", counted_forward)
    monkeypatch.setattr(winograd, "backward", counted_backward)
    return seen


# (input shape, output channels, bias, keyword arguments)
CASES = [
    ((2, 16, 8, 8), 16, True, {"padding": 1}),
    ((3, 16, 7, 9), 18, True, {"padding": 1}),  # odd sizes: partial tiles on both edges
    ((2, 17, 8, 6), 20, False, {}),  # no padding, no bias
    ((2, 16, 5, 5), 16, True, {"padding": 2}),
    ((2, 16, 6, 7), 16, True, {"padding": (1, 0)}),
    ((2, 16, 4, 5), 17, True, {"padding": "same"}),
    ((1, 16, 3, 3), 16, True, {"padding": 1}),  # one tile row and column, cropped
    ((16, 6, 7), 16, True, {"padding": 1}),  # unbatched
]


def _id(case) -> str:
    x_shape, o, bias, kwargs = case
    return f"{x_shape}-{o}-{'b' if bias else 'nob'}-{kwargs}"


def _fns(bias: bool, kwargs: dict):
    if bias:
        return (lambda x, w, b: F.conv2d(x, w, b, **kwargs)), (lambda x, w, b: TF.conv2d(x, w, b, **kwargs))
    return (lambda x, w: F.conv2d(x, w, **kwargs)), (lambda x, w: TF.conv2d(x, w, **kwargs))


def _shapes(x_shape, o, bias):
    c = x_shape[-3]
    return [x_shape, (o, c, 3, 3)] + ([(o,)] if bias else [])


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_matches_torch(case, calls):
    x_shape, o, bias, kwargs = case
    fn, torch_fn = _fns(bias, kwargs)
    check_op(_shapes(x_shape, o, bias), fn, torch_fn, **TOL)
    assert calls == ["forward", "backward"]
    check_op(_shapes(x_shape, o, bias), fn, torch_fn, dtype=np.float64, **TOL64)


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("chunk_bytes", [1, 1 << 20])  # 1: one image per chunk
def test_chunks_and_worker_threads(workers, chunk_bytes, calls, monkeypatch):
    monkeypatch.setattr(winograd, "_CHUNK_BYTES", chunk_bytes)
    monkeypatch.setattr(_threads, "workers", lambda: workers)
    fn, torch_fn = _fns(True, {"padding": 1})
    check_op(_shapes((5, 16, 6, 5), 16, True), fn, torch_fn, dtype=np.float64, **TOL64)
    assert calls == ["forward", "backward"]


def test_channel_major_input_and_gradient(calls):
    # the second conv reads the first's (C, N, H, W) memory, and gets its gradient in that layout
    def net(module):
        def f(x, w1, w2, b2):
            return module.relu(module.conv2d(module.relu(module.conv2d(x, w1, padding=1)), w2, b2, padding=1))

        return f

    check_op([(3, 16, 6, 7), (16, 16, 3, 3), (20, 16, 3, 3), (20,)], net(F), net(TF), **TOL)
    assert calls == ["forward", "forward", "backward", "backward"]


@pytest.mark.parametrize(
    "needs",
    [(True, False, False), (False, True, False), (False, False, True), (True, False, True), (False, True, True)],
)
def test_gradient_of_a_subset_of_inputs(needs, calls):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((3, 16, 6, 5)), rng.standard_normal((16, 16, 3, 3)), rng.standard_normal(16)]
    check_grad_subset(arrays, needs, lambda *a: F.conv2d(*a, padding=1), lambda *a: TF.conv2d(*a, padding=1), **TOL64)


def test_float16_computes_in_float32(calls):
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((2, 16, 5, 5)).astype(np.float16), rng.standard_normal((16, 16, 3, 3)).astype(np.float16)
    y = F.conv2d(em.tensor(x), em.tensor(w), padding=1)
    assert y.dtype == em.float16
    expected = TF.conv2d(torch.tensor(x, dtype=torch.float32), torch.tensor(w, dtype=torch.float32), padding=1)
    np.testing.assert_allclose(y.data.astype(np.float32), expected.numpy(), atol=0.1, rtol=1e-2)


def test_gradcheck(calls):
    check_gradcheck([(2, 16, 3, 4), (16, 16, 3, 3), (16,)], lambda x, w, b: F.conv2d(x, w, b, padding=1))


def test_second_order_matches_torch(calls):
    # create_graph builds the backward from the im2col Functions; the forward was Winograd's
    rng = np.random.default_rng(7)
    xa, wa = rng.standard_normal((2, 16, 4, 5)), rng.standard_normal((16, 16, 3, 3))
    xe, we = em.tensor(xa, requires_grad=True), em.tensor(wa, requires_grad=True)
    xt, wt = torch.tensor(xa, requires_grad=True), torch.tensor(wa, requires_grad=True)
    (gxe,) = em.grad(F.conv2d(xe, we, padding=1).square().sum(), [xe], create_graph=True)
    (gxt,) = torch.autograd.grad(TF.conv2d(xt, wt, padding=1).square().sum(), [xt], create_graph=True)
    gxe.square().sum().backward()
    gxt.square().sum().backward()
    np.testing.assert_allclose(gxe.data, gxt.detach().numpy(), **TOL64)
    np.testing.assert_allclose(we.grad.data, wt.grad.numpy(), **TOL64)
    assert calls[0] == "forward"


def test_which_convolutions_take_the_path():
    def geo(kernel=(3, 3), stride=(1, 1), dilation=(1, 1), groups=1, size=(14, 14), pad=(1, 1)):
        cols = tuple(
            (s + 2 * p - d * (k - 1) - 1) // st + 1 for s, p, d, k, st in zip(size, pad, dilation, kernel, stride)
        )
        return conv._Geometry(2, kernel, stride, pad, dilation, groups, size, cols)

    assert winograd.applies(geo(), 64, 32, 64)
    assert winograd.applies(geo(size=(28, 28)), 1, 16, 16)  # one big image: 196 tiles
    assert not winograd.applies(geo(), 2, 32, 64)  # 98 tiles: im2col measured faster
    assert not winograd.applies(geo(), 64, 1, 32)  # a first layer
    assert not winograd.applies(geo(), 64, 32, 8)
    assert not winograd.applies(geo(stride=(2, 2)), 64, 32, 64)
    assert not winograd.applies(geo(dilation=(2, 2)), 64, 32, 64)
    assert not winograd.applies(geo(kernel=(5, 5)), 64, 32, 64)
    assert not winograd.applies(geo(groups=2), 64, 32, 64)


def test_reference_cnn_shape_matches_torch():
    # 64x32x14x14 -> 64 takes the path without lowering any threshold
    rng = np.random.default_rng(8)
    arrays = [rng.uniform(-1, 1, (64, 32, 14, 14)), rng.uniform(-0.1, 0.1, (64, 32, 3, 3)), rng.uniform(-1, 1, 64)]
    arrays = [a.astype(np.float32) for a in arrays]
    e = [em.tensor(a, requires_grad=True) for a in arrays]
    t = [torch.tensor(a, requires_grad=True) for a in arrays]
    ye, yt = F.conv2d(*e, padding=1), TF.conv2d(*t, padding=1)
    g = rng.standard_normal(yt.shape).astype(np.float32)
    ye.backward(em.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(ye.data, yt.detach().numpy(), atol=1e-4, rtol=1e-4)
    for a, b in zip(e, t):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), atol=2e-3, rtol=1e-4)  # sums over 12,544 positions


def test_one_big_image_matches_torch():
    # one image of odd size takes the path by its own tiles (17 x 15 >= MIN_TILES): one chunk, one part
    rng = np.random.default_rng(9)
    arrays = [rng.uniform(-1, 1, (1, 16, 33, 30)), rng.uniform(-0.3, 0.3, (20, 16, 3, 3)), rng.uniform(-1, 1, 20)]
    e = [em.tensor(a, requires_grad=True) for a in arrays]
    t = [torch.tensor(a, requires_grad=True) for a in arrays]
    assert winograd.applies(conv._Geometry(2, (3, 3), (1, 1), (1, 1), (1, 1), 1, (33, 30), (33, 30)), 1, 16, 20)
    ye, yt = F.conv2d(*e, padding=1), TF.conv2d(*t, padding=1)
    g = rng.standard_normal(yt.shape)
    ye.backward(em.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(ye.data, yt.detach().numpy(), **TOL64)
    for a, b in zip(e, t):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), **TOL64)


@pytest.mark.parametrize("layout", ["transposed", "sliced"])
def test_non_contiguous_input_matches_torch(layout, calls):
    fn, torch_fn = _fns(True, {"padding": 1})
    check_op(_shapes((3, 16, 6, 5), 16, True), fn, torch_fn, layout=layout, **TOL)
    assert calls == ["forward", "backward"]


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_matches_torch_with_embers_product(case, calls, monkeypatch):
    """The 16 products of each chunk in one call of ember's float32 kernel (forced on any host)."""
    stacks = spy_stacked_kernel(monkeypatch, lambda a: a[2])  # B transposed?
    x_shape, o, bias, kwargs = case
    fn, torch_fn = _fns(bias, kwargs)
    check_op(_shapes(x_shape, o, bias), fn, torch_fn, **TOL)
    assert calls == ["forward", "backward"]
    # forward (B transposed); input gradient (B row-major, K = O); the weight gradient's K is the
    # chunk's tile count, which the kernel takes from 16 up
    tiles = x_shape[0] * -(-x_shape[-2] // 2) * -(-x_shape[-1] // 2) if len(x_shape) == 4 else 0
    assert stacks.count(True) >= 1 and stacks.count(False) >= (2 if tiles >= 16 else 1)


def test_embers_product_accumulates_the_weight_gradient_over_chunks(calls, monkeypatch):
    monkeypatch.setattr(winograd, "_CHUNK_BYTES", 1)  # one image per chunk
    fn, torch_fn = _fns(True, {"padding": 1})
    stacks = spy_stacked_kernel(monkeypatch, lambda a: a[4])  # accumulate?
    check_op(_shapes((5, 16, 8, 8), 16, True), fn, torch_fn, **TOL)  # 16 tiles an image: K of 16
    assert calls == ["forward", "backward"]
    assert stacks.count(True) == 5  # the weight gradient accumulated in the kernel, chunk by chunk
