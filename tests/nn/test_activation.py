"""Activations and softmax against PyTorch: values, gradients, finite differences, extremes.

Tolerances: float32 forward and gradient atol 1e-5, rtol 1e-4 (check_op's default);
float64 finite differences atol 1e-5, rtol 1e-3 (check_gradcheck's default).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember as em
import ember.nn.functional as F
from ember.autograd import gradgradcheck
from ember.errors import AutogradError, DTypeError, ShapeError
from ember.ops import activation as act
from tests.helpers import check_gradcheck, check_op

# (name, keyword arguments): the same call for ember and torch.
# float64 is compared at rtol 1e-7: torch's hardsigmoid gradient uses a float32 1/6 even in float64.
CASES = [
    ("relu", {}),
    ("relu6", {}),
    ("leaky_relu", {}),
    ("leaky_relu", {"negative_slope": 0.2}),
    ("elu", {}),
    ("elu", {"alpha": 0.5}),
    ("selu", {}),
    ("celu", {}),
    ("celu", {"alpha": 2.0}),
    ("gelu", {}),
    ("gelu", {"approximate": "tanh"}),
    ("silu", {}),
    ("mish", {}),
    ("softplus", {}),
    ("softplus", {"beta": 2.0, "threshold": 1.0}),
    ("softsign", {}),
    ("hardswish", {}),
    ("hardsigmoid", {}),
    ("hardtanh", {}),
    ("hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    ("logsigmoid", {}),
    ("rrelu", {}),
    ("rrelu", {"lower": 0.1, "upper": 0.5}),
    ("tanhshrink", {}),
    ("softshrink", {}),
    ("softshrink", {"lambd": 1.0}),
    ("hardshrink", {}),
    ("hardshrink", {"lambd": 1.0}),
    ("threshold", {"threshold": 0.5, "value": -2.0}),
]
IDS = [name + "".join(f"-{k}={v}" for k, v in kw.items()) for name, kw in CASES]

# values at least 0.1 away from every kink (0, +-0.5, +-1, 2, +-3, 6) and the softplus switch at 0.5
SMOOTH_POINTS = np.array([-3.7, -2.1, -0.8, -0.3, 0.2, 0.65, 1.3, 2.4, 3.6])


def _pair(name, kw):
    return (lambda x: getattr(F, name)(x, **kw)), (lambda x: getattr(TF, name)(x, **kw))


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
@pytest.mark.parametrize(
    "shape,layout",
    [((), "contiguous"), ((7,), "contiguous"), ((3, 4, 5), "contiguous"), ((6, 5), "transposed"), ((4, 6), "sliced")],
)
def test_activation_matches_torch(name, kw, shape, layout):
    fn, tfn = _pair(name, kw)
    check_op([shape], fn, tfn, low=-4.0, high=4.0, layout=layout)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_activation_empty_and_float64(name, kw):
    fn, tfn = _pair(name, kw)
    check_op([(0, 3)], fn, tfn)
    check_op([(4, 3)], fn, tfn, dtype=np.float64, low=-4.0, high=4.0, atol=1e-10, rtol=1e-7)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_activation_gradcheck(name, kw):
    fn, _ = _pair(name, kw)
    check_gradcheck(None, fn, inputs=[SMOOTH_POINTS.reshape(3, 3)])


KINKS = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, 6.0, -0.0], np.float32)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_gradient_at_kinks_follows_torch(name, kw):
    # which side's slope a kink takes is a convention: PyTorch's, at every kink of every case
    fn, tfn = _pair(name, kw)
    check_op(None, fn, tfn, inputs=[KINKS])


@pytest.mark.parametrize(
    "name,kw",
    [
        ("gelu", {}),
        ("gelu", {"approximate": "tanh"}),
        ("silu", {}),
        ("mish", {}),
        ("softplus", {}),
        ("softplus", {"beta": 2.0, "threshold": 1.0}),
        ("logsigmoid", {}),
        ("elu", {"alpha": 0.5}),
        ("selu", {}),
        ("celu", {"alpha": 2.0}),
        ("softsign", {}),
        ("tanhshrink", {}),
        ("hardswish", {}),
        ("leaky_relu", {"negative_slope": 0.2}),
        ("hardtanh", {}),
        ("threshold", {"threshold": 0.5, "value": -2.0}),
    ],
)
def test_activation_second_order(name, kw):
    x = em.tensor(SMOOTH_POINTS, requires_grad=True)
    assert gradgradcheck(lambda t: getattr(F, name)(t, **kw), [x])


@pytest.mark.parametrize("name,kw", [("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}), ("mish", {})])
def test_second_derivative_matches_torch(name, kw):
    x = SMOOTH_POINTS.astype(np.float32)
    ex = em.tensor(x, requires_grad=True)
    (g,) = em.grad(getattr(F, name)(ex, **kw).sum(), [ex], create_graph=True)
    (gg,) = em.grad(g.sum(), [ex])
    tx = torch.tensor(x, requires_grad=True)
    (tg,) = torch.autograd.grad(getattr(TF, name)(tx, **kw).sum(), tx, create_graph=True)
    (tgg,) = torch.autograd.grad(tg.sum(), tx)
    np.testing.assert_allclose(gg.data, tgg.numpy(), atol=1e-5, rtol=1e-4)


# ------------------------------------------------------------------- extremes
EXTREME = np.array([[1e8, -1e8, 0.0, 1e4, -1e4], [-1e8, -1e4, -1e8, -1e4, -1e8]], np.float32)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_extreme_logits_equal_torch(name):
    x = em.tensor(EXTREME, requires_grad=True)
    y = getattr(F, name)(x, dim=1)
    tx = torch.tensor(EXTREME, requires_grad=True)
    ty = getattr(TF, name)(tx, dim=1)
    assert np.all(np.isfinite(y.data))
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    cot = np.linspace(-1, 1, EXTREME.size, dtype=np.float32).reshape(EXTREME.shape)
    (g,) = em.grad(y, [x], em.tensor(cot))
    (tg,) = torch.autograd.grad(ty, tx, torch.tensor(cot))
    assert np.all(np.isfinite(g.data))
    np.testing.assert_allclose(g.data, tg.numpy(), atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("name", ["logsigmoid", "softplus"])
def test_pointwise_extreme_logits_equal_torch(name):
    x = em.tensor(EXTREME, requires_grad=True)
    y = getattr(F, name)(x)
    ty = getattr(TF, name)(torch.tensor(EXTREME))
    assert np.all(np.isfinite(y.data))
    np.testing.assert_array_equal(y.data, ty.numpy())
    (g,) = em.grad(y.sum(), [x])
    assert np.all(np.isfinite(g.data))


def test_softmax_with_neg_inf_entries_matches_torch():
    x = np.array([[0.0, -np.inf, 1.0, 2.0], [-np.inf] * 4, [3.0, -np.inf, -np.inf, -np.inf]], np.float32)
    for name in ("softmax", "log_softmax"):
        y = getattr(F, name)(em.tensor(x), dim=1).data
        ty = getattr(TF, name)(torch.tensor(x), dim=1).numpy()
        np.testing.assert_allclose(y, ty, rtol=1e-6, equal_nan=True)
        assert np.all(np.isnan(y[1]))  # a row of all -inf is nan, as in torch
    check_op(None, lambda t: F.softmax(t, dim=1), lambda t: TF.softmax(t, dim=1), inputs=[x[[0, 2]]])


def test_safe_softmax_gives_zeros_for_blank_rows():
    x = em.tensor(np.array([[0.0, -np.inf, 1.0], [-np.inf] * 3], np.float32), requires_grad=True)
    y = act.safe_softmax(x, -1)
    np.testing.assert_array_equal(y.data[1], 0.0)
    np.testing.assert_allclose(y.data[0], F.softmax(x.detach(), -1).data[0])
    (g,) = em.grad(y, [x], em.tensor(np.ones((2, 3), np.float32)))
    assert np.all(g.data == 0)


# -------------------------------------------------------------------- softmax
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize(
    "shape,dim,layout",
    [
        ((), 0, "contiguous"),
        ((7,), 0, "contiguous"),
        ((4, 6), 1, "contiguous"),
        ((4, 6), 0, "transposed"),
        ((2, 3, 5), -1, "sliced"),
        ((2, 3, 4, 5), 2, "contiguous"),
        ((3, 0), 1, "contiguous"),
    ],
)
def test_softmax_family_matches_torch(name, shape, dim, layout):
    check_op(
        [shape],
        lambda t: getattr(F, name)(t, dim=dim),
        lambda t: getattr(TF, name)(t, dim=dim),
        low=-5.0,
        high=5.0,
        layout=layout,
    )


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 3, 4, 5)])
def test_softmax_implicit_dim_follows_torch_legacy_rule(shape):
    with pytest.warns(UserWarning):
        expected = TF.softmax(torch.ones(shape).cumsum(-1), dim=None)  # torch warns; ember does not
    got = F.softmax(em.tensor(np.ones(shape, np.float32).cumsum(-1)))
    np.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-6)


def test_softmax_dtype_casts_first():
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    for name in ("softmax", "log_softmax", "softmin"):
        check_op(
            None,
            lambda t, name=name: getattr(F, name)(t, 1, dtype=em.float64),
            lambda t, name=name: getattr(TF, name)(t, 1, dtype=torch.float64),
            inputs=[x],
        )


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_family_gradcheck_and_second_order(name):
    x = em.tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    fn = lambda t: getattr(F, name)(t, dim=1)
    assert em.autograd.gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


# ------------------------------------------------------------------ in place
@pytest.mark.parametrize(
    "name,kw",
    [
        ("relu", {}),
        ("relu6", {}),
        ("leaky_relu", {"negative_slope": 0.2}),
        ("elu", {}),
        ("selu", {}),
        ("celu", {"alpha": 2.0}),
        ("silu", {}),
        ("mish", {}),
        ("hardswish", {}),
        ("hardsigmoid", {}),
        ("hardtanh", {}),
        ("rrelu", {}),
        ("threshold", {"threshold": 0.5, "value": -2.0}),
    ],
)
def test_inplace_writes_input_and_keeps_gradient(name, kw):
    x = SMOOTH_POINTS.astype(np.float32)
    # no graph: the input itself is overwritten and returned, its version bumped
    t = em.tensor(x)
    v = t._version
    out = getattr(F, name)(t, **kw, inplace=True)
    assert out is t and t._version == v + 1
    np.testing.assert_allclose(t.data, getattr(TF, name)(torch.tensor(x), **kw).numpy(), rtol=1e-6)
    # inside a graph: gradient through the in-place op equals torch's out-of-place gradient
    leaf = em.tensor(x, requires_grad=True)
    y = leaf * 2.0
    z = getattr(F, name)(y, **kw, inplace=True)
    assert z is y
    (g,) = em.grad((z * z).sum(), [leaf])
    tleaf = torch.tensor(x, requires_grad=True)
    tz = getattr(TF, name)(tleaf * 2.0, **kw)
    (tg,) = torch.autograd.grad((tz * tz).sum(), tleaf)
    np.testing.assert_allclose(g.data, tg.numpy(), atol=1e-5, rtol=1e-5)


def test_inplace_on_leaf_requiring_grad_raises():
    x = em.tensor(SMOOTH_POINTS, requires_grad=True)
    with pytest.raises(AutogradError):
        F.relu(x, inplace=True)
    with pytest.raises(AutogradError):
        F.silu(x, inplace=True)


def test_underscore_variants_are_inplace():
    for fn, tfn in [
        (F.relu_, TF.relu_),
        (F.elu_, TF.elu_),
        (F.leaky_relu_, TF.leaky_relu_),
        (F.hardtanh_, TF.hardtanh_),
    ]:
        t = em.tensor(SMOOTH_POINTS)
        tt = torch.tensor(SMOOTH_POINTS)
        assert fn(t) is t
        tfn(tt)
        np.testing.assert_allclose(t.data, tt.numpy())


# --------------------------------------------------------------- prelu, glu, rrelu
@pytest.mark.parametrize(
    "shape,wshape",
    [((2, 3, 4, 5), (3,)), ((2, 3, 4, 5), (1,)), ((4, 6), (6,)), ((7,), (1,)), ((), (1,)), ((2, 3, 4), ())],
)
def test_prelu_matches_torch(shape, wshape):
    check_op([shape, wshape], F.prelu, TF.prelu)
    check_gradcheck([shape, wshape], F.prelu)


def test_prelu_non_contiguous():
    check_op([(3, 4, 5), (4,)], F.prelu, TF.prelu, layout="transposed")


def test_prelu_wrong_weight_size_raises():
    with pytest.raises(ShapeError, match=r"\(3,\).*\(2, 4\)"):
        F.prelu(em.zeros(2, 4), em.zeros(3))


@pytest.mark.parametrize("shape,dim", [((4, 6), -1), ((4, 6), 0), ((2, 4, 3), 1), ((6,), 0)])
def test_glu_matches_torch(shape, dim):
    check_op([shape], lambda t: F.glu(t, dim), lambda t: TF.glu(t, dim))
    check_gradcheck([shape], lambda t: F.glu(t, dim))


def test_glu_odd_dimension_raises():
    with pytest.raises(ShapeError, match="even.*size 5"):
        F.glu(em.zeros(2, 5), 1)


def test_rrelu_training_draws_slopes_from_ember_generator():
    x = em.tensor(np.linspace(-3, 3, 200).astype(np.float32), requires_grad=True)
    em.manual_seed(3)
    y = F.rrelu(x, 0.1, 0.4, training=True)
    em.manual_seed(3)
    y2 = F.rrelu(x, 0.1, 0.4, training=True)
    np.testing.assert_array_equal(y.data, y2.data)
    neg = x.data < 0
    slopes = y.data[neg] / x.data[neg]
    assert np.all((slopes >= 0.1) & (slopes <= 0.4)) and slopes.std() > 0.01
    np.testing.assert_array_equal(y.data[~neg], x.data[~neg])
    (g,) = em.grad(y.sum(), [x])
    np.testing.assert_allclose(g.data[neg], slopes, rtol=1e-6)
    np.testing.assert_array_equal(g.data[x.data > 0], 1.0)


# -------------------------------------------------------------------- gumbel
def test_gumbel_softmax_soft_and_hard():
    logits = em.tensor(np.random.default_rng(2).standard_normal((4, 5)).astype(np.float32), requires_grad=True)
    em.manual_seed(7)
    soft = F.gumbel_softmax(logits, tau=0.5)
    em.manual_seed(7)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    np.testing.assert_allclose(soft.data.sum(-1), 1.0, rtol=1e-6)
    assert np.all((hard.data == 0) | (hard.data == 1)) and np.all(hard.data.sum(-1) == 1)
    np.testing.assert_array_equal(hard.data.argmax(-1), soft.data.argmax(-1))
    # straight-through: the hard sample's gradient is the soft sample's
    cot = em.tensor(np.random.default_rng(3).standard_normal((4, 5)).astype(np.float32))
    (gs,) = em.grad(soft, [logits], cot)
    (gh,) = em.grad(hard, [logits], cot)
    np.testing.assert_allclose(gh.data, gs.data, rtol=1e-5, atol=1e-7)
    em.manual_seed(8)
    assert not np.allclose(F.gumbel_softmax(logits, tau=0.5).data, soft.data)


def test_gumbel_softmax_dim():
    logits = em.zeros(3, 4, 2)
    y = F.gumbel_softmax(logits, hard=True, dim=1)
    np.testing.assert_array_equal(y.data.sum(1), 1.0)


# -------------------------------------------------------------------- errors, erf
def test_bad_arguments_raise():
    x = em.zeros(3)
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="fast")
    with pytest.raises(ValueError, match="lambda"):
        F.softshrink(x, -1.0)
    with pytest.raises(ValueError, match="alpha"):
        F.celu(x, 0.0)
    with pytest.raises(DTypeError, match="int64"):
        F.gelu(em.tensor([1, 2, 3]))
    with pytest.raises(IndexError):
        F.softmax(em.zeros(2, 3), dim=2)


def test_erf_fallback_is_accurate():
    x = np.concatenate([np.linspace(-7, 7, 20001), [0.0, -0.0, 1e-30, -1e-300, np.inf, -np.inf]])
    ref = np.array([math.erf(v) for v in x])
    assert np.abs(act._erf_numpy(x) - ref).max() < 2e-15
    assert np.abs(act._erf_numpy(x.astype(np.float32)) - ref).max() < 2e-7
    assert act._erf_numpy(x.astype(np.float32)).dtype == np.float32
    assert np.isnan(act._erf_numpy(np.array([np.nan])))[0]
    assert np.abs(act._erf(x) - ref).max() < 2e-15  # whichever erf gelu uses


# ------------------------------------------------------------ big ReLU (one-pass kernels)
# At 2^10 elements and more, ReLU runs Numba kernels on flat memory when its arrays share one layout.
@pytest.mark.parametrize("layout", ["contiguous", "channel_major", "sliced"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_big_relu_matches_torch(layout, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((16, 8, 12, 12)).astype(dtype)
    a[0, 0, 0, :4] = [np.nan, 0.0, -0.0, np.inf]
    if layout == "channel_major":
        a = np.ascontiguousarray(a.swapaxes(0, 1)).swapaxes(0, 1)
    elif layout == "sliced":
        a = np.concatenate([a, a], axis=3)[..., ::2]
    g = rng.standard_normal(a.shape).astype(dtype)
    g[0, 0, 1, :2] = [np.nan, np.inf]
    x = em.tensor(a, requires_grad=True)
    y = F.relu(x)
    y.backward(em.tensor(g))
    xt = torch.tensor(a, requires_grad=True)
    yt = TF.relu(xt)
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(y.data, yt.detach().numpy())
    np.testing.assert_array_equal(x.grad.data, xt.grad.numpy())  # including NaN and inf where torch has them


def test_big_relu_backward_with_a_gradient_of_another_layout():
    # the output is channel-major, the incoming gradient contiguous: copied into its layout first
    rng = np.random.default_rng(1)
    a = np.ascontiguousarray(rng.standard_normal((8, 16, 12, 12)).astype(np.float32).swapaxes(0, 1)).swapaxes(0, 1)
    g = rng.standard_normal(a.shape).astype(np.float32)
    x = em.tensor(a, requires_grad=True)
    F.relu(x).backward(em.tensor(g))
    np.testing.assert_array_equal(x.grad.data, np.where(a <= 0, 0, g))


@pytest.mark.parametrize("shape", [(1, 512), (4, 8, 40)])  # below and above the kernel's size
def test_relu_without_grad_matches_torch(shape):
    # under no_grad relu skips the Function (nothing to record)
    a = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    a.flat[:3] = [np.nan, -0.0, np.inf]
    with em.no_grad():
        got = F.relu(em.tensor(a, requires_grad=True))
    assert not got.requires_grad and got.grad_fn is None
    np.testing.assert_array_equal(got.data, TF.relu(torch.tensor(a)).numpy())
    with em.no_grad(), pytest.raises(DTypeError, match="relu: bool"):
        F.relu(em.tensor([True, False]))


def test_big_relu_of_a_batch_one_channel_major_array_takes_the_kernel(monkeypatch):
    # (1, C, H, W) over (C, 1, H, W) memory (a batch-1 conv output): the size-1 dimension's stride
    # differs from empty_like's, yet the layouts match, so the one-pass kernels run both ways
    from ember.kernels import activation

    calls = []
    for name in ("relu_forward", "relu_backward"):
        real = getattr(activation, name)
        monkeypatch.setattr(activation, name, lambda *a, real=real, name=name: (calls.append(name), real(*a))[1])
    rng = np.random.default_rng(3)
    a = rng.standard_normal((32, 1, 12, 12)).astype(np.float32).swapaxes(0, 1)
    a[0, 0, 0, :3] = [np.nan, -0.0, np.inf]
    g = np.ascontiguousarray(rng.standard_normal((32, 1, 12, 12)).astype(np.float32)).swapaxes(0, 1)
    x = em.from_numpy(a).requires_grad_()  # shares a's memory: em.tensor would copy it to C order
    assert x.data.strides[0] != np.empty_like(a).strides[0]
    y = F.relu(x)
    y.backward(em.from_numpy(g))
    xt = torch.tensor(a, requires_grad=True)
    TF.relu(xt).backward(torch.tensor(g))
    np.testing.assert_array_equal(y.data, TF.relu(torch.tensor(a)).numpy())
    np.testing.assert_array_equal(x.grad.data, xt.grad.numpy())
    assert calls == ["relu_forward", "relu_backward"]
