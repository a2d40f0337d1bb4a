"""Convolutions, transposed convolutions, unfold and fold against PyTorch.

Tolerances: float32 forward and gradients atol 1e-4, rtol 1e-4 (sums of up to a
few hundred products of values in [-2, 2]); float64 finite differences atol
1e-5, rtol 1e-3 (check_gradcheck's default).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember as em
import ember.nn.functional as F
from ember.errors import AutogradError, DTypeError, ShapeError
from tests.helpers import check_grad_subset, check_gradcheck, check_op

pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel:UserWarning")

TOL = {"atol": 1e-4, "rtol": 1e-4}


def _call(name: str, kwargs: dict, with_bias: bool):
    """The same call for ember and torch: ``(fn, torch_fn)`` taking ``(x, w[, b])``."""

    def make(module):
        op = getattr(module, name)
        if with_bias:
            return lambda x, w, b: op(x, w, b, **kwargs)
        return lambda x, w: op(x, w, **kwargs)

    return make(F), make(TF)


def _shapes(x_shape, w_shape, bias_channels):
    return [x_shape, w_shape] + ([(bias_channels,)] if bias_channels else [])


# (op, input shape, weight shape, bias channels (0: no bias), keyword arguments)
CONV_CASES = [
    ("conv2d", (2, 3, 7, 8), (4, 3, 3, 3), 4, {}),
    ("conv2d", (2, 3, 9, 7), (5, 3, 3, 2), 5, {"stride": 2, "padding": 1}),
    ("conv2d", (2, 3, 9, 8), (4, 3, 2, 3), 4, {"stride": (2, 1), "padding": (1, 2), "dilation": (2, 1)}),
    ("conv2d", (2, 3, 7, 6), (4, 3, 3, 3), 4, {"padding": "same"}),
    ("conv2d", (2, 3, 7, 6), (4, 3, 4, 2), 4, {"padding": "same", "dilation": (1, 3)}),
    ("conv2d", (2, 3, 8, 9), (2, 3, 2, 4), 2, {"padding": "same"}),
    ("conv2d", (2, 3, 7, 6), (4, 3, 3, 3), 4, {"padding": "valid"}),
    ("conv2d", (2, 4, 6, 7), (6, 2, 3, 3), 6, {"groups": 2, "padding": 1}),
    ("conv2d", (2, 3, 6, 6), (3, 1, 3, 3), 3, {"groups": 3, "padding": 1}),  # depthwise
    ("conv2d", (2, 3, 6, 5), (6, 1, 3, 2), 6, {"groups": 3, "stride": 2}),  # depthwise, multiplier 2
    ("conv2d", (2, 3, 7, 8), (4, 3, 3, 3), 0, {"padding": 1}),  # no bias
    ("conv2d", (1, 2, 5, 5), (3, 2, 3, 3), 3, {"padding": 2, "dilation": 2}),  # batch 1
    ("conv2d", (2, 3, 5, 6), (4, 3, 1, 1), 4, {}),  # 1x1
    ("conv2d", (2, 2, 4, 5), (3, 2, 4, 5), 3, {}),  # kernel = input: 1x1 output
    ("conv2d", (2, 2, 8, 7), (3, 2, 2, 2), 3, {"stride": 3}),  # stride > kernel skips pixels
    ("conv2d", (2, 2, 3, 4), (3, 2, 2, 2), 3, {"padding": 3}),  # padding > kernel: rows of zeros
    ("conv2d", (3, 7, 8), (4, 3, 3, 3), 4, {"padding": 1}),  # unbatched
    ("conv2d", (1, 2, 5, 2), (2, 2, 3, 3), 2, {"padding": "same", "dilation": 2}),  # taps past both edges
    ("conv1d", (2, 3, 11), (4, 3, 3), 4, {}),
    ("conv1d", (2, 3, 12), (4, 3, 2), 4, {"stride": 3, "padding": 2, "dilation": 2}),
    ("conv1d", (2, 3, 9), (4, 3, 4), 4, {"padding": "same", "dilation": 2}),
    ("conv1d", (2, 4, 10), (4, 1, 3), 4, {"groups": 4, "padding": 1}),
    ("conv1d", (3, 10), (4, 3, 3), 0, {}),  # unbatched
    ("conv3d", (2, 2, 4, 5, 6), (3, 2, 2, 3, 2), 3, {}),
    ("conv3d", (2, 2, 5, 4, 6), (3, 2, 3, 2, 3), 3, {"stride": (1, 2, 2), "padding": (1, 0, 1), "dilation": (2, 1, 1)}),
    ("conv3d", (2, 4, 4, 4, 3), (4, 2, 3, 3, 2), 4, {"groups": 2, "padding": "same"}),
]

# weight of a transposed conv: (in_channels, out_channels/groups, *kernel)
TRANSPOSE_CASES = [
    ("conv_transpose2d", (2, 3, 4, 5), (3, 4, 3, 3), 4, {}),
    ("conv_transpose2d", (2, 3, 4, 5), (3, 2, 3, 3), 2, {"stride": 2, "padding": 1, "output_padding": 1}),
    ("conv_transpose2d", (2, 4, 3, 4), (4, 3, 2, 3), 6, {"stride": (2, 3), "groups": 2, "output_padding": (1, 2)}),
    ("conv_transpose2d", (2, 3, 4, 4), (3, 2, 3, 2), 2, {"dilation": 2, "output_padding": 1, "padding": 1}),
    ("conv_transpose2d", (1, 2, 3, 3), (2, 3, 3, 3), 0, {"stride": 2}),  # batch 1, no bias
    ("conv_transpose2d", (3, 3, 4, 5), (3, 2, 2, 2), 0, {"stride": 2, "groups": 3}),  # depthwise-style
    ("conv_transpose2d", (3, 4, 5), (3, 4, 3, 3), 4, {"padding": 1}),  # unbatched
    ("conv_transpose1d", (2, 3, 7), (3, 4, 3), 4, {"stride": 2, "padding": 1, "output_padding": 1}),
    ("conv_transpose1d", (2, 4, 6), (4, 1, 3), 2, {"groups": 2, "dilation": 2}),
    ("conv_transpose3d", (2, 2, 3, 3, 4), (2, 3, 2, 3, 2), 3, {"stride": (2, 1, 2), "padding": (0, 1, 1)}),
    ("conv_transpose3d", (1, 4, 2, 3, 3), (4, 1, 3, 2, 2), 2, {"groups": 2, "output_padding": (1, 0, 1), "stride": 2}),
]


def _id(case) -> str:
    op, x, w, b, kw = case
    return f"{op}-x{x}-w{w}-{'b' if b else 'nobias'}-" + ",".join(f"{k}={v}" for k, v in kw.items())


ALL_CASES = CONV_CASES + TRANSPOSE_CASES


@pytest.mark.parametrize("case", ALL_CASES, ids=[_id(c) for c in ALL_CASES])
def test_matches_torch(case):
    op, x_shape, w_shape, bias, kwargs = case
    fn, torch_fn = _call(op, kwargs, bool(bias))
    check_op(_shapes(x_shape, w_shape, bias), fn, torch_fn, **TOL)


@pytest.mark.parametrize("layout", ["transposed", "sliced"])
@pytest.mark.parametrize(
    "case",
    [CONV_CASES[1], CONV_CASES[7], CONV_CASES[18], CONV_CASES[23], TRANSPOSE_CASES[2], TRANSPOSE_CASES[9]],
    ids=_id,
)
def test_non_contiguous_inputs(case, layout):
    op, x_shape, w_shape, bias, kwargs = case
    fn, torch_fn = _call(op, kwargs, bool(bias))
    check_op(_shapes(x_shape, w_shape, bias), fn, torch_fn, layout=layout, **TOL)


def test_float64_matches_torch():
    fn, torch_fn = _call("conv2d", {"stride": 2, "padding": 1, "groups": 2}, True)
    check_op([(2, 4, 7, 6), (6, 2, 3, 3), (6,)], fn, torch_fn, dtype=np.float64, atol=1e-12, rtol=1e-10)


def test_chained_convs_read_the_channel_major_output():
    # conv2d returns an NCHW view of (C, N, H, W) memory: the next conv and its backward must read it right
    def net(module):
        def f(x, w1, w2, w3):
            h = module.conv2d(x, w1, padding=1)
            h = module.conv2d(h, w2, stride=2)
            return module.conv_transpose2d(h, w3, stride=2, output_padding=1)

        return f

    out = check_op([(2, 3, 8, 8), (4, 3, 3, 3), (5, 4, 2, 2), (5, 2, 3, 3)], net(F), net(TF), **TOL)
    assert out.shape == (2, 2, 10, 10)


@pytest.mark.parametrize(
    "kernel,kwargs",
    [
        (3, {"padding": 1}),
        (1, {}),
        (5, {"padding": 2}),
        (3, {"padding": 2, "dilation": 2}),
        ((3, 1), {"padding": (1, 0)}),
    ],
)
def test_same_size_conv_of_a_channel_major_input_matches_torch(kernel, kwargs):
    # a "same" convolution of a conv output copies each channel's images as one run, then zeroes the borders
    k = (kernel, kernel) if isinstance(kernel, int) else kernel

    def net(module):
        def f(x, w1, w2, b2):
            return module.conv2d(module.relu(module.conv2d(x, w1, padding=1)), w2, b2, **kwargs)

        return f

    check_op([(3, 2, 5, 6), (4, 2, 3, 3), (3, 4) + k, (3,)], net(F), net(TF), **TOL)


@pytest.mark.parametrize("batch", [1, 5])
def test_no_grad_conv_with_bias_matches_torch(batch):
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((batch, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    with em.no_grad():
        got = F.conv2d(em.tensor(x), em.tensor(w), em.tensor(b), padding=1)
    want = TF.conv2d(*(torch.tensor(a) for a in (x, w, b)), padding=1)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


def test_empty_batch():
    x = em.zeros((0, 3, 5, 5), requires_grad=True)
    w = em.randn(4, 3, 3, 3, requires_grad=True)
    b = em.randn(4, requires_grad=True)
    y = F.conv2d(x, w, b, padding=1)
    assert y.shape == (0, 4, 5, 5)
    y.sum().backward()
    assert x.grad.shape == (0, 3, 5, 5)
    assert not np.any(w.grad.data) and not np.any(b.grad.data)


@pytest.mark.parametrize("op", ["conv1d", "conv2d", "conv_transpose2d"])
def test_grouped_empty_batch(op):
    x_shape = (0, 4, 5) if op == "conv1d" else (0, 4, 5, 5)
    w_shape = (6, 2, 3) if op == "conv1d" else (6, 2, 3, 3) if op == "conv2d" else (4, 3, 3, 3)
    fn, torch_fn = _call(op, {"groups": 2}, True)
    check_op([x_shape, w_shape, (6,)], fn, torch_fn, **TOL)


def test_float16_computes_in_float32():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    y = F.conv2d(em.tensor(x, dtype=em.float16), em.tensor(w, dtype=em.float16), padding=1)
    assert y.dtype == em.float16
    expected = TF.conv2d(torch.tensor(x).half().double(), torch.tensor(w).half().double(), padding=1).numpy()
    np.testing.assert_allclose(y.data.astype(np.float64), expected, atol=3e-2, rtol=1e-2)


@pytest.mark.parametrize(
    "needs", [(True, False, False), (False, True, False), (False, False, True), (True, False, True)]
)
@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d", "conv2d_ungrouped"])
def test_gradient_of_a_subset_of_inputs(op, needs):
    # only some inputs require grad (frozen weights, data input): each path must still be right
    rng = np.random.default_rng(2)
    arrays = [
        rng.standard_normal((2, 4, 6, 5)),
        rng.standard_normal((4, 2, 3, 3)),
        rng.standard_normal(6 if op == "conv2d" else 4),
    ]
    kwargs = {"stride": 2, "padding": 1, "groups": 2}
    if op == "conv2d":
        arrays[1] = rng.standard_normal((6, 2, 3, 3))
    if op == "conv2d_ungrouped":  # groups=1: the bias rides in the product only when its gradient is wanted
        op, kwargs = "conv2d", {"stride": 2, "padding": 1}
        arrays[1], arrays[2] = rng.standard_normal((6, 4, 3, 3)), rng.standard_normal(6)
    check_grad_subset(arrays, needs, lambda *a: getattr(F, op)(*a, **kwargs), lambda *a: getattr(TF, op)(*a, **kwargs))


def test_backward_twice_with_retain_graph():
    # the columns kept from forward are dropped after the first backward: the second recomputes them
    x = em.randn(2, 3, 6, 6, requires_grad=True)
    w = em.randn(4, 3, 3, 3, requires_grad=True)
    b = em.randn(4, requires_grad=True)
    y = F.conv2d(x, w, b, padding=1)
    g = em.randn(*y.shape)
    y.backward(g, retain_graph=True)
    first = [t.grad.data.copy() for t in (x, w, b)]
    y.backward(g)
    for t, f in zip((x, w, b), first):
        np.testing.assert_allclose(t.grad.data, 2 * f, rtol=1e-5, atol=1e-5)


def test_interleaved_graphs_keep_their_own_columns():
    # scratch buffers are recycled between calls: two live graphs of the same shape must not share one
    rng = np.random.default_rng(4)
    xs = [rng.standard_normal((2, 3, 6, 6)) for _ in range(3)]
    w, b = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    we, be = em.tensor(w, requires_grad=True), em.tensor(b, requires_grad=True)
    wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    ye = [F.conv2d(em.tensor(x), we, be, padding=1) for x in xs]
    with em.no_grad():
        F.conv2d(em.tensor(xs[0] * 2), we, be, padding=1)  # gives its columns back at once
    yt = [TF.conv2d(torch.tensor(x), wt, bt, padding=1) for x in xs]
    for i in (2, 0, 1):
        (ye[i] * ye[i]).sum().backward()
        (yt[i] * yt[i]).sum().backward()
    np.testing.assert_allclose(we.grad.data, wt.grad.numpy(), rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(be.grad.data, bt.grad.numpy(), rtol=1e-10, atol=1e-9)


def test_input_modified_in_place_after_forward_is_an_error():
    x = em.randn(2, 3, 6, 6, requires_grad=True)
    h = x * 1.0
    w = em.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(h, w)
    with em.no_grad():
        h.add_(1.0)
    with pytest.raises(AutogradError, match="modified by an in-place operation"):
        y.sum().backward()


def test_accepts_input_padded_by_the_caller():
    # non-zero padding modes pad first and call conv with padding=0
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 7)).astype(np.float32)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2)), mode="reflect")
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    y = F.conv2d(em.tensor(padded), em.tensor(w), padding=0)
    expected = torch.nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode="reflect", bias=False)
    with torch.no_grad():
        expected.weight.copy_(torch.tensor(w))
        ref = expected(torch.tensor(x)).numpy()
    np.testing.assert_allclose(y.data, ref, **TOL)


# ------------------------------------------------------------------ unfold / fold
UNFOLD_CASES = [
    ((2, 3, 6, 7), {"kernel_size": 2}),
    ((2, 3, 6, 7), {"kernel_size": (2, 3), "dilation": (1, 2), "padding": 1, "stride": (2, 1)}),
    ((1, 2, 5, 5), {"kernel_size": 3, "padding": 2, "stride": 2}),
    ((2, 5, 6), {"kernel_size": (3, 2)}),  # unbatched
]


@pytest.mark.parametrize("x_shape,kwargs", UNFOLD_CASES)
def test_unfold_matches_torch(x_shape, kwargs):
    check_op([x_shape], lambda x: F.unfold(x, **kwargs), lambda x: TF.unfold(x, **kwargs), **TOL)


@pytest.mark.parametrize("x_shape,kwargs", UNFOLD_CASES)
def test_fold_matches_torch(x_shape, kwargs):
    cols_shape = TF.unfold(torch.zeros(x_shape), **kwargs).shape
    size = x_shape[-2:]
    check_op(
        [cols_shape], lambda c: F.fold(c, size, **kwargs), lambda c: TF.fold(c, size, **kwargs), layout="sliced", **TOL
    )


def test_unfold_then_matmul_is_conv2d():
    x, w = em.randn(2, 3, 6, 6), em.randn(4, 3, 3, 3)
    cols = F.unfold(x, 3, padding=1)  # (2, 27, 36)
    y = (w.reshape(4, -1) @ cols).reshape(2, 4, 6, 6)
    np.testing.assert_allclose(y.data, F.conv2d(x, w, padding=1).data, atol=1e-5, rtol=1e-5)


# ------------------------------------------------------- float64 finite differences
GRADCHECK_CASES = [
    ("conv1d", (2, 2, 5), (3, 2, 2), 3, {"stride": 2, "padding": 1}),
    ("conv2d", (1, 2, 4, 5), (4, 1, 2, 3), 4, {"padding": "same", "groups": 2}),
    ("conv2d", (1, 2, 5, 5), (2, 2, 2, 3), 0, {"stride": (1, 2), "padding": (0, 1)}),
    ("conv2d", (2, 2, 4, 4), (2, 2, 2, 2), 2, {"dilation": 2, "padding": 1}),
    ("conv3d", (1, 2, 3, 3, 3), (2, 2, 2, 2, 2), 2, {"padding": (1, 0, 0)}),
    ("conv_transpose1d", (2, 2, 3), (2, 2, 3), 2, {"stride": 2, "output_padding": 1}),
    ("conv_transpose2d", (1, 2, 3, 2), (2, 1, 2, 3), 2, {"stride": 2, "padding": 1, "groups": 2}),
    ("conv_transpose3d", (1, 2, 2, 2, 2), (2, 1, 2, 2, 2), 1, {"stride": (2, 1, 1)}),
]


@pytest.mark.parametrize("case", GRADCHECK_CASES, ids=_id)
def test_gradcheck(case):
    op, x_shape, w_shape, bias, kwargs = case
    fn, _ = _call(op, kwargs, bool(bias))
    check_gradcheck(_shapes(x_shape, w_shape, bias), fn)


def test_unfold_fold_gradcheck():
    check_gradcheck([(1, 2, 4, 5)], lambda x: F.unfold(x, (2, 3), padding=1, stride=(2, 1)))
    check_gradcheck([(1, 8, 8)], lambda c: F.fold(c, (3, 4), 2, dilation=(1, 2), padding=(1, 0)))


def _second_order_check(fn, shapes):
    """gradcheck of the vector-Jacobian product: the second derivatives of ``fn``."""
    rng = np.random.default_rng(3)
    inputs = [em.Tensor(rng.uniform(-2, 2, s), requires_grad=True) for s in shapes]
    cotangent = em.Tensor(rng.standard_normal(fn(*inputs).shape))

    def vjp(*xs):
        with em.enable_grad():
            grads = em.grad(fn(*xs), list(xs), cotangent, create_graph=True, allow_unused=True)
        # the bias gradient is the cotangent's sum: constant, so not part of the graph
        return tuple(g for g in grads if g is not None and g.requires_grad)

    assert em.autograd.gradcheck(vjp, inputs)


def test_conv2d_second_order():
    _second_order_check(
        lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2), [(1, 2, 4, 5), (2, 1, 2, 3), (2,)]
    )


def test_conv_transpose2d_second_order():
    _second_order_check(
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
        [(1, 2, 3, 3), (2, 2, 2, 3), (2,)],
    )


def test_second_order_matches_torch():
    # d/dx of sum(grad_w(conv)^2): exercises the weight-gradient Function's own backward
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3))

    def run(lib, module):
        xt = lib.tensor(x, requires_grad=True)
        wt = lib.tensor(w, requires_grad=True)
        y = module.conv2d(xt, wt, padding=1, stride=2)
        (gw,) = lib.autograd.grad((y * y).sum(), [wt], create_graph=True)
        (gx,) = lib.autograd.grad((gw * gw).sum(), [xt])
        return np.asarray(gx.detach().numpy())

    np.testing.assert_allclose(run(em, F), run(torch, TF), rtol=1e-9, atol=1e-9)


# --------------------------------------------------------------------------- errors
def test_error_input_channels():
    x, w = em.zeros((8, 4, 28, 28)), em.zeros((16, 3, 3, 3))
    msg = "conv2d: weight (16, 3, 3, 3) with groups=1 expects input with 3 channels, got (8, 4, 28, 28)"
    with pytest.raises(ShapeError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        F.conv2d(x, w)


@pytest.mark.parametrize(
    "op,x_shape,w_shape",
    [("conv2d", (2, 3, 4, 5, 6), (4, 3, 3, 3)), ("conv1d", (3,), (4, 3, 3)), ("conv3d", (3, 4, 5), (4, 3, 2, 2, 2))],
)
def test_error_input_rank(op, x_shape, w_shape):
    with pytest.raises(ShapeError, match=rf"{op}: expected .*-d \(unbatched\) or .*-d \(batched\) input"):
        getattr(F, op)(em.zeros(x_shape), em.zeros(w_shape))


def test_error_weight_rank():
    with pytest.raises(ShapeError, match=r"conv2d: weight must be 4-d .* got shape \(4, 3, 3\)"):
        F.conv2d(em.zeros((2, 3, 5, 5)), em.zeros((4, 3, 3)))


def test_error_channels_not_divisible_by_groups():
    with pytest.raises(ShapeError, match=r"conv2d: input \(2, 5, 8, 8\) has 5 channels, not divisible by groups=2"):
        F.conv2d(em.zeros((2, 5, 8, 8)), em.zeros((4, 2, 3, 3)), groups=2)
    with pytest.raises(ShapeError, match=r"5 output channels, not divisible by groups=2"):
        F.conv2d(em.zeros((2, 4, 8, 8)), em.zeros((5, 2, 3, 3)), groups=2)
    with pytest.raises(ShapeError, match=r"conv_transpose2d: weight \(3, 2, 3, 3\) has 3 input channels"):
        F.conv_transpose2d(em.zeros((2, 3, 8, 8)), em.zeros((3, 2, 3, 3)), groups=2)


def test_error_output_too_small():
    with pytest.raises(ShapeError) as info:
        F.conv2d(em.zeros((1, 1, 4, 2)), em.zeros((1, 1, 3, 3)), padding=(0, 0), dilation=1, stride=2)
    text = str(info.value)
    for part in ("conv2d", "input size (4, 2)", "kernel (3, 3)", "padding (0, 0)", "dilation (1, 1)", "stride (2, 2)"):
        assert part in text
    with pytest.raises(ShapeError, match="conv_transpose1d: output size"):
        F.conv_transpose1d(em.zeros((1, 1, 1)), em.zeros((1, 1, 2)), padding=1)


def test_error_bias_shape_and_dtype():
    with pytest.raises(ShapeError, match=r"conv2d: bias must have shape \(4,\)"):
        F.conv2d(em.zeros((1, 3, 5, 5)), em.zeros((4, 3, 3, 3)), em.zeros(3))
    with pytest.raises(DTypeError, match="conv2d: input dtype float64 and weight dtype float32"):
        F.conv2d(em.zeros((1, 3, 5, 5), dtype=em.float64), em.zeros((4, 3, 3, 3)))
    with pytest.raises(DTypeError, match="conv1d: expected a floating point input, got int64"):
        F.conv1d(em.zeros((1, 3, 5), dtype=em.int64), em.zeros((4, 3, 3), dtype=em.int64))


def test_error_bad_options():
    x, w = em.zeros((1, 3, 5, 5)), em.zeros((4, 3, 3, 3))
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        F.conv2d(x, w, stride=2, padding="same")
    with pytest.raises(ValueError, match="invalid padding string 'full'"):
        F.conv2d(x, w, padding="full")
    with pytest.raises(ValueError, match="stride must be positive"):
        F.conv2d(x, w, stride=0)
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        F.conv2d(x, w, groups=0)
    with pytest.raises(ValueError, match=r"padding must be an int or a tuple of 2 ints, got \(1, 1, 1\)"):
        F.conv2d(x, w, padding=(1, 1, 1))
    with pytest.raises(ValueError, match="output_padding .* must be smaller than either stride"):
        F.conv_transpose2d(x, em.zeros((3, 4, 3, 3)), stride=2, output_padding=2)


def test_error_fold_block_count():
    with pytest.raises(ShapeError, match=r"fold: .* give 2 \* 2 = 4 sliding blocks, but input \(1, 12, 5\) has 5"):
        F.fold(em.zeros((1, 12, 5)), (3, 3), 2)
    with pytest.raises(ShapeError, match="divisible by the product of kernel_size"):
        F.fold(em.zeros((1, 10, 4)), (3, 3), 2)
    with pytest.raises(ShapeError, match="unfold: expected 3-d"):
        F.unfold(em.zeros((2, 3)), 2)


# ------------------------------------------------------------ chunked columns
# Big convolutions build their columns a few images at a time (conv._chunk); the tests cap the
# chunk so that small shapes take that path: one image per chunk, and uneven chunks.
CHUNK_CASES = [
    ("conv2d", (5, 3, 7, 8), (4, 3, 3, 3), 4, {"padding": 1}),
    ("conv2d", (5, 3, 9, 7), (5, 3, 3, 2), 0, {"stride": 2, "padding": 1, "dilation": (1, 2)}),
    ("conv1d", (4, 3, 11), (4, 3, 3), 4, {"padding": 2}),
    ("conv3d", (3, 2, 4, 5, 6), (3, 2, 2, 3, 2), 3, {"padding": (1, 0, 1)}),
]


def _images_per_chunk(monkeypatch, per: int) -> None:
    from ember.ops import conv

    chunk = conv._chunk
    monkeypatch.setattr(conv, "_chunk", lambda geo, n, rows, itemsize: min(per, chunk(geo, n, rows, itemsize)))


@pytest.mark.parametrize("per", [1, 2])  # 2: the last chunk of 3, 4 or 5 images is short
@pytest.mark.parametrize("case", CHUNK_CASES, ids=_id)
def test_chunked_columns_match_torch(case, per, monkeypatch):
    _images_per_chunk(monkeypatch, per)
    op, x_shape, w_shape, bias, kwargs = case
    fn, torch_fn = _call(op, kwargs, bool(bias))
    check_op(_shapes(x_shape, w_shape, bias), fn, torch_fn, **TOL)
    check_op(_shapes(x_shape, w_shape, bias), fn, torch_fn, dtype=np.float64, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize(
    "needs", [(True, False, False), (False, True, False), (False, False, True), (True, False, True), (True, True, True)]
)
def test_chunked_gradient_of_a_subset_of_inputs(needs, monkeypatch):
    _images_per_chunk(monkeypatch, 2)
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((5, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)]
    check_grad_subset(arrays, needs, lambda *a: F.conv2d(*a, padding=1), lambda *a: TF.conv2d(*a, padding=1))


def test_chunked_conv_reads_a_channel_major_input(monkeypatch):
    # the second conv's input is the first conv's (C, N, H, W) memory: chunks must step through it right
    _images_per_chunk(monkeypatch, 2)

    def net(module):
        def f(x, w1, w2, b2):
            return module.conv2d(module.conv2d(x, w1, padding=1), w2, b2, padding=1)

        return f

    check_op([(5, 2, 6, 6), (4, 2, 3, 3), (3, 4, 3, 3), (3,)], net(F), net(TF), **TOL)


def test_chunked_conv_second_order_matches_torch(monkeypatch):
    # create_graph goes through the differentiable Functions; the forward was chunked
    _images_per_chunk(monkeypatch, 3)
    rng = np.random.default_rng(4)
    xa, wa = rng.standard_normal((4, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    x, w = em.tensor(xa, requires_grad=True), em.tensor(wa, requires_grad=True)
    tx, tw = torch.tensor(xa, requires_grad=True), torch.tensor(wa, requires_grad=True)
    (gx,) = em.autograd.grad((F.conv2d(x, w, padding=1) ** 2).sum(), [x], create_graph=True)
    (tgx,) = torch.autograd.grad((TF.conv2d(tx, tw, padding=1) ** 2).sum(), [tx], create_graph=True)
    gx.sum().backward()
    tgx.sum().backward()
    np.testing.assert_allclose(w.grad.data, tw.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_chunked_backward_twice_rebuilds_the_columns_it_gave_back(monkeypatch):
    # the first backward uses (and frees) the columns the forward kept per chunk; the second rebuilds them
    _images_per_chunk(monkeypatch, 2)
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal((5, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)]
    e = [em.tensor(a, requires_grad=True) for a in arrays]
    t = [torch.tensor(a, requires_grad=True) for a in arrays]
    ye, yt = F.conv2d(*e, padding=1), TF.conv2d(*t, padding=1)
    g = rng.standard_normal(yt.shape)
    for _ in range(2):
        ye.backward(em.tensor(g), retain_graph=True)
        yt.backward(torch.tensor(g), retain_graph=True)
    for a, b in zip(e, t):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-10, atol=1e-10)
