"""Pooling, unpooling, interpolation and pixel shuffles against PyTorch: values, indices, gradients, errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember as em
import ember.nn.functional as F
from ember.errors import DTypeError, ShapeError
from tests.helpers import check_gradcheck, check_op, make_array


def _compare(shapes, make, **kwargs):
    """check_op with ``make(F)`` for ember and ``make(torch.nn.functional)`` for torch."""
    return check_op(shapes, make(F), make(TF), **kwargs)


def _second_order(fn, shape, low=-2.0, high=2.0, seed=0):
    """gradcheck of (x, v) -> d<fn(x), v>/dx: the create_graph backward must itself be differentiable."""
    rng = np.random.default_rng(seed)
    x = em.Tensor(rng.uniform(low, high, shape), requires_grad=True)
    v = em.Tensor(rng.standard_normal(fn(x).shape), requires_grad=True)

    def vjp(t, cot):
        with em.enable_grad():
            (g,) = em.grad(fn(t), [t], cot, create_graph=True)
        return g

    assert em.autograd.gradcheck(vjp, [x, v], atol=1e-5, rtol=1e-3)


# ------------------------------------------------------------------- max pool
# (shape, kernel_size, stride, padding, dilation, ceil_mode)
MAX_POOL2D_CASES = [
    ((2, 3, 8, 8), 2, None, 0, 1, False),  # the fast path: kernel == stride, divisible
    ((2, 3, 7, 9), 2, None, 0, 1, False),  # odd sizes drop the remainder
    ((2, 3, 7, 9), 2, None, 0, 1, True),  # ceil mode keeps a partial window
    ((2, 3, 7, 9), 3, 2, 1, 1, False),
    ((2, 3, 7, 9), 3, 2, 1, 1, True),
    ((1, 2, 9, 8), (2, 3), (1, 2), (1, 1), (2, 1), True),
    ((2, 2, 6, 6), 3, 1, 1, 1, False),  # overlapping windows: gradients add up
    ((1, 2, 10, 11), 3, 3, 0, 2, False),  # dilation
    ((1, 1, 5, 5), 4, 3, 2, 1, True),  # the last window starts in the padding
    ((3, 7, 7), 3, 2, 1, 1, False),  # unbatched (C, H, W)
    ((0, 2, 6, 6), 2, None, 0, 1, False),  # empty batch
]


@pytest.mark.parametrize(("shape", "k", "s", "p", "d", "ceil"), MAX_POOL2D_CASES)
def test_max_pool2d_values_indices_and_gradient_match_torch(shape, k, s, p, d, ceil):
    def make(lib):
        return lambda x: lib.max_pool2d(x, k, s, p, d, ceil_mode=ceil, return_indices=True)

    out, idx = _compare([shape], make)
    assert idx.dtype == em.int64


@pytest.mark.parametrize(("shape", "k", "s", "p", "d", "ceil"), MAX_POOL2D_CASES[:6])
def test_max_pool2d_without_grad_matches_torch(shape, k, s, p, d, ceil):
    _compare([shape], lambda lib: lambda x: lib.max_pool2d(x, k, s, p, d, ceil), grad=False)


# A convolution's output is an NCHW view of (C, N, H, W) memory: max pooling reads it in that order
# without a copy and returns values, indices and the input gradient in the same layout.
@pytest.mark.parametrize(("shape", "k", "s", "p", "d", "ceil"), MAX_POOL2D_CASES[:-2])
def test_max_pool2d_of_a_conv_output_matches_torch(shape, k, s, p, d, ceil):
    def make(lib):
        def f(x, w):
            y = lib.relu(lib.conv2d(x, w, padding=1))
            return lib.max_pool2d(y, k, s, p, d, ceil_mode=ceil, return_indices=True)

        return f

    (c, h, w_) = shape[1:]
    _, idx = _compare([shape[:1] + (2, h, w_), (c, 2, 3, 3)], make)
    assert idx.dtype == em.int64


@pytest.mark.parametrize("n", [1, 3])
def test_max_pool1d_and_3d_of_a_conv_output_match_torch(n):
    spatial = (9, 6, 7)[:n]

    def make(lib):
        conv, pool = getattr(lib, f"conv{n}d"), getattr(lib, f"max_pool{n}d")
        return lambda x, w: pool(conv(x, w, padding=1), 2, return_indices=True)

    _compare([(3, 2) + spatial, (4, 2) + (3,) * n], make)


def test_max_pool_of_a_conv_output_float16_and_unpool():
    x = em.randn(2, 3, 6, 6)
    w = em.randn(4, 3, 3, 3)
    y = F.conv2d(x, w, padding=1)
    out, idx = F.max_pool2d(y, 2, return_indices=True)
    # the layout is kept: (C, N, H, W) memory in, (C, N, H, W) memory out, no copy of the input
    assert out.numpy().swapaxes(0, 1).flags.c_contiguous and idx.numpy().swapaxes(0, 1).flags.c_contiguous
    xg = x.detach().requires_grad_()
    seen = []
    yg = F.conv2d(xg, w, padding=1)
    yg.register_hook(lambda g: seen.append(g.numpy()))
    F.max_pool2d(yg, 2).sum().backward()
    assert seen[0].swapaxes(0, 1).flags.c_contiguous  # the gradient the convolution's backward receives
    ty = torch.tensor(y.numpy())
    tout, tidx = TF.max_pool2d(ty, 2, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    np.testing.assert_array_equal(out.numpy(), tout.numpy())
    back = F.max_unpool2d(out, idx, 2)
    np.testing.assert_array_equal(back.numpy(), TF.max_unpool2d(tout, tidx, 2).numpy())
    half = F.max_pool2d(y.to(em.float16), 2)
    np.testing.assert_array_equal(half.numpy(), TF.max_pool2d(ty.half(), 2).numpy())


@pytest.mark.parametrize("layout", ["transposed", "sliced"])
def test_max_pool2d_non_contiguous_input(layout):
    _compare([(2, 3, 8, 10)], lambda lib: lambda x: lib.max_pool2d(x, 3, 2, 1), layout=layout)
    _compare([(2, 3, 8, 10)], lambda lib: lambda x: lib.max_pool2d(x, 2), layout=layout, grad=False)


@pytest.mark.parametrize(
    ("shape", "k", "s", "p", "d", "ceil"),
    [((2, 3, 11), 3, 2, 1, 1, False), ((2, 3, 11), 2, None, 0, 1, True), ((3, 10), 3, 1, 1, 2, False)],
)
def test_max_pool1d_matches_torch(shape, k, s, p, d, ceil):
    _compare([shape], lambda lib: lambda x: lib.max_pool1d(x, k, s, p, d, ceil, return_indices=True))


@pytest.mark.parametrize(
    ("shape", "k", "s", "p", "ceil"),
    [
        ((1, 2, 4, 6, 6), 2, None, 0, False),
        ((1, 2, 5, 6, 7), 3, 2, 1, True),
        ((2, 5, 4, 5), (2, 3, 2), 1, (1, 1, 0), False),
    ],
)
def test_max_pool3d_matches_torch(shape, k, s, p, ceil):
    _compare([shape], lambda lib: lambda x: lib.max_pool3d(x, k, s, p, ceil_mode=ceil, return_indices=True))


@pytest.mark.parametrize(("k", "s", "p"), [(2, None, 0), (3, 1, 1), (3, 2, 0)])
def test_max_pool_ties_pick_the_first_maximum_like_torch(k, s, p):
    x = (make_array((2, 3, 8, 8), np.float32, 0, 1) < 0.3).astype(np.float32)  # 0/1: ties in nearly every window
    _compare([], lambda lib: lambda t: lib.max_pool2d(t, k, s, p, return_indices=True), inputs=[x])


def test_max_pool_propagates_nan_like_torch():
    x = make_array((1, 2, 6, 6))
    x[0, 0, 1, 1] = x[0, 1, 4, 5] = x[0, 1, 5, 5] = np.nan
    for ri in (True, False):  # the Numba kernels and the strided NumPy path
        _compare([], lambda lib, ri=ri: lambda t: lib.max_pool2d(t, 2, return_indices=ri), inputs=[x], grad=False)
        _compare([], lambda lib, ri=ri: lambda t: lib.max_pool2d(t, 3, 1, 1, return_indices=ri), inputs=[x], grad=False)


def test_max_pool_integer_and_float64_inputs():
    x = make_array((2, 3, 6, 6), np.int64, -50, 50)
    _compare([], lambda lib: lambda t: lib.max_pool2d(t, 3, 2, 1, return_indices=True), inputs=[x])
    _compare([(2, 3, 6, 7)], lambda lib: lambda t: lib.max_pool2d(t, 3, 2, 1), dtype=np.float64)


def test_max_pool_strided_and_kernel_paths_agree():
    x = em.Tensor(make_array((3, 4, 9, 12)))
    fast = F.max_pool2d(x, (2, 3), (2, 2), dilation=(1, 2))
    _, idx = F.max_pool2d(x, (2, 3), (2, 2), dilation=(1, 2), return_indices=True)
    np.testing.assert_array_equal(
        fast.data, np.take_along_axis(x.data.reshape(3, 4, -1), idx.data.reshape(3, 4, -1), 2).reshape(fast.shape)
    )


def test_max_pool_window_without_input_gives_lowest_value_torch_index_and_no_gradient():
    # dilation 2 with padding 1 on a width-1 input: the window's taps (-1 and 1) both miss the input
    x = make_array((2, 3, 5, 1))
    out, idx = _compare(
        [], lambda lib: lambda t: lib.max_pool2d(t, (2, 2), 1, 1, 2, return_indices=True), inputs=[x], grad=False
    )
    assert np.isneginf(out.data).any()
    xe = em.Tensor(x, requires_grad=True)
    F.max_pool2d(xe, (2, 2), 1, 1, 2).sum().backward()
    # only real maxima receive gradient (torch sends the empty windows' gradient to its placeholder index)
    kept = F.max_pool2d(em.Tensor(x), (2, 2), 1, 1, 2, return_indices=True)[1].data[~np.isneginf(out.data)]
    assert xe.grad.data.sum() == kept.size


def test_max_pool_gradcheck_and_second_order():
    check_gradcheck([(2, 2, 5, 6)], lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True))
    check_gradcheck([(2, 2, 7)], lambda x: F.max_pool1d(x, 2, 1, dilation=2))
    check_gradcheck([(1, 2, 3, 4, 4)], lambda x: F.max_pool3d(x, 2, 1, 1))
    _second_order(lambda x: F.max_pool2d(x, 3, 1, 1), (1, 2, 4, 5))


# ------------------------------------------------------------------- avg pool
# (shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_POOL2D_CASES = [
    ((2, 3, 8, 8), 2, None, 0, False, True, None),
    ((2, 3, 7, 9), 3, 2, 1, False, True, None),
    ((2, 3, 7, 9), 3, 2, 1, False, False, None),
    ((2, 3, 7, 9), 3, 2, 1, True, True, None),
    ((2, 3, 7, 9), 3, 2, 1, True, False, None),
    ((1, 2, 6, 7), (2, 3), (2, 1), (1, 1), True, True, None),
    ((1, 2, 6, 7), 3, 2, 1, True, False, 5),
    ((3, 7, 6), 2, 1, 1, False, True, 3),  # unbatched
]


@pytest.mark.parametrize(("shape", "k", "s", "p", "ceil", "cip", "div"), AVG_POOL2D_CASES)
def test_avg_pool2d_matches_torch(shape, k, s, p, ceil, cip, div):
    _compare([shape], lambda lib: lambda x: lib.avg_pool2d(x, k, s, p, ceil, cip, div))


def test_avg_pool2d_non_contiguous_and_float64():
    _compare([(2, 3, 8, 10)], lambda lib: lambda x: lib.avg_pool2d(x, 3, 2, 1), layout="transposed")
    _compare([(2, 3, 8, 10)], lambda lib: lambda x: lib.avg_pool2d(x, 2), layout="sliced", dtype=np.float64)


@pytest.mark.parametrize(
    ("shape", "k", "s", "p", "ceil", "cip"),
    [((2, 3, 11), 3, 2, 1, True, False), ((2, 3, 11), 2, None, 0, True, True), ((3, 9), 4, 3, 2, False, True)],
)
def test_avg_pool1d_matches_torch(shape, k, s, p, ceil, cip):
    _compare([shape], lambda lib: lambda x: lib.avg_pool1d(x, k, s, p, ceil, cip))


@pytest.mark.parametrize(("ceil", "cip", "div"), [(False, True, None), (True, False, None), (True, True, 7)])
def test_avg_pool3d_matches_torch(ceil, cip, div):
    _compare([(1, 2, 5, 6, 7)], lambda lib: lambda x: lib.avg_pool3d(x, 3, 2, 1, ceil, cip, div))


def test_avg_pool_gradcheck_and_second_order():
    check_gradcheck([(2, 2, 5, 6)], lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False))
    check_gradcheck([(2, 2, 7)], lambda x: F.avg_pool1d(x, 3, 2, 1))
    check_gradcheck([(1, 2, 3, 4, 4)], lambda x: F.avg_pool3d(x, 2, 1, 1, divisor_override=3))
    _second_order(lambda x: F.avg_pool2d(x, 3, 2, 1), (1, 2, 5, 5))


# --------------------------------------------------------------- adaptive pools
@pytest.mark.parametrize(
    ("shape", "size"),
    [((2, 3, 10, 9), (4, 5)), ((2, 3, 7, 7), 3), ((3, 5, 13), (None, 4)), ((2, 3, 8, 8), 1), ((2, 3, 5, 6), (7, 9))],
)
def test_adaptive_avg_and_max_pool2d_match_torch(shape, size):
    _compare([shape], lambda lib: lambda x: lib.adaptive_avg_pool2d(x, size))
    _compare([shape], lambda lib: lambda x: lib.adaptive_max_pool2d(x, size, return_indices=True))


@pytest.mark.parametrize(("shape", "size"), [((2, 3, 11), 4), ((3, 10), 3), ((2, 3, 5), 8)])
def test_adaptive_pool1d_matches_torch(shape, size):
    _compare([shape], lambda lib: lambda x: lib.adaptive_avg_pool1d(x, size))
    _compare([shape], lambda lib: lambda x: lib.adaptive_max_pool1d(x, size, return_indices=True))


def test_adaptive_pool3d_matches_torch():
    _compare([(1, 2, 5, 7, 6)], lambda lib: lambda x: lib.adaptive_avg_pool3d(x, (2, 3, None)))
    _compare([(2, 5, 7, 6)], lambda lib: lambda x: lib.adaptive_max_pool3d(x, (3, 2, 4), return_indices=True))
    _compare([(1, 2, 4, 5, 6)], lambda lib: lambda x: lib.adaptive_avg_pool3d(x, 1), layout="transposed")


def test_adaptive_pool_gradcheck():
    check_gradcheck([(1, 2, 5, 7)], lambda x: F.adaptive_avg_pool2d(x, (3, 4)))
    check_gradcheck([(1, 2, 5, 7)], lambda x: F.adaptive_max_pool2d(x, (3, 4)))
    check_gradcheck([(2, 7)], lambda x: F.adaptive_max_pool1d(x, 3))


# ------------------------------------------------------------------ max unpool
@pytest.mark.parametrize(
    ("shape", "k", "s", "p", "output_size"),
    [
        ((2, 3, 8, 8), 2, None, 0, None),
        ((2, 3, 7, 9), 3, 2, 1, None),
        ((2, 3, 7, 9), 2, 2, 0, (7, 9)),
        ((3, 6, 6), 2, None, 0, [1, 3, 7, 6]),
    ],
)
def test_max_unpool2d_round_trip_matches_torch(shape, k, s, p, output_size):
    x = make_array(shape)
    _, idx = TF.max_pool2d(torch.from_numpy(x), k, s, p, return_indices=True)
    pooled = make_array(idx.shape)
    out = check_op(
        [],
        lambda t: F.max_unpool2d(t, em.Tensor(idx.numpy()), k, s, p, output_size),
        lambda t: TF.max_unpool2d(t, idx, k, s, p, output_size),
        inputs=[pooled],
    )
    if s in (None, k):  # non-overlapping windows: pooling the unpooled values again finds them at the same places
        _, idx2 = F.max_pool2d(
            em.Tensor(np.where(out.data == 0, -9.0, out.data).astype(np.float32)), k, s, p, return_indices=True
        )
        np.testing.assert_array_equal(idx2.data, idx.numpy())


def test_max_unpool1d_and_3d_round_trip_match_torch():
    x = make_array((2, 3, 9))
    pooled, idx = TF.max_pool1d(torch.from_numpy(x), 3, 2, 1, return_indices=True)
    check_op(
        [],
        lambda t: F.max_unpool1d(t, em.Tensor(idx.numpy()), 3, 2, 1),
        lambda t: TF.max_unpool1d(t, idx, 3, 2, 1),
        inputs=[pooled.numpy()],
    )
    x = make_array((1, 2, 4, 6, 5))
    pooled, idx = TF.max_pool3d(torch.from_numpy(x), 2, return_indices=True)  # the odd W needs output_size
    check_op(
        [],
        lambda t: F.max_unpool3d(t, em.Tensor(idx.numpy()), 2, output_size=(4, 6, 5)),
        lambda t: TF.max_unpool3d(t, idx, 2, output_size=(4, 6, 5)),
        inputs=[pooled.numpy()],
    )


def test_max_unpool_gradcheck_and_second_order():
    x = em.Tensor(make_array((1, 2, 6, 6)))
    _, idx = F.max_pool2d(x, 2, return_indices=True)
    check_gradcheck([(1, 2, 3, 3)], lambda t: F.max_unpool2d(t, idx, 2))
    _second_order(lambda t: F.max_unpool2d(t, idx, 2), (1, 2, 3, 3))


# --------------------------------------------------------------------- lp pool
@pytest.mark.parametrize("norm", [1, 2, 3.5, float("inf")])
def test_lp_pool_matches_torch(norm):
    _compare([(2, 3, 7, 8)], lambda lib: lambda x: lib.lp_pool2d(x, norm, 3, 2), low=0.1, high=2.0)
    _compare([(2, 3, 9)], lambda lib: lambda x: lib.lp_pool1d(x, norm, 2, ceil_mode=True), low=0.1, high=2.0)


def test_lp_pool3d_and_gradcheck():
    _compare([(1, 2, 4, 5, 6)], lambda lib: lambda x: lib.lp_pool3d(x, 2, 2), low=0.1, high=2.0)
    check_gradcheck([(1, 2, 4, 5)], lambda x: F.lp_pool2d(x, 2, 2, 1), low=0.1, high=2.0)


# ----------------------------------------------------------------- interpolate
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear", "bicubic", "area"])
@pytest.mark.parametrize(
    "resize",
    [
        {"size": (11, 6)},
        {"size": 3},
        {"scale_factor": 2},
        {"scale_factor": (1.7, 0.6)},
        {"scale_factor": (0.3, 2.5), "recompute_scale_factor": True},
    ],
)
def test_interpolate_2d_matches_torch(mode, resize):
    corners = [None] if mode in ("nearest", "nearest-exact", "area") else [False, True]
    for ac in corners:
        _compare(
            [(2, 3, 5, 7)],
            lambda lib, ac=ac: lambda x: lib.interpolate(x, mode=mode, align_corners=ac, **resize),
            atol=2e-5,
        )


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "linear", "area"])
@pytest.mark.parametrize(
    "resize", [{"size": 13}, {"size": 4}, {"scale_factor": 1.5}, {"scale_factor": 0.37}, {"scale_factor": 3}]
)
def test_interpolate_1d_matches_torch(mode, resize):
    corners = [None] if mode != "linear" else [False, True]
    for ac in corners:
        _compare([(2, 3, 9)], lambda lib, ac=ac: lambda x: lib.interpolate(x, mode=mode, align_corners=ac, **resize))


@pytest.mark.parametrize("mode", ["nearest", "trilinear", "area"])
def test_interpolate_3d_matches_torch(mode):
    ac = False if mode == "trilinear" else None
    _compare([(1, 2, 3, 4, 5)], lambda lib: lambda x: lib.interpolate(x, size=(5, 3, 7), mode=mode, align_corners=ac))
    _compare(
        [(1, 2, 3, 4, 5)],
        lambda lib: lambda x: lib.interpolate(x, scale_factor=(2, 0.5, 1.3), mode=mode, align_corners=ac),
    )


def test_interpolate_nearest_awkward_scales_match_torch_indices():
    # float32 source-index arithmetic decides these; compare on an arange so a wrong index shows
    x = np.arange(2 * 1 * 7 * 29, dtype=np.float32).reshape(2, 1, 7, 29)
    for mode in ("nearest", "nearest-exact"):
        for size in [(3, 10), (21, 87), (13, 58), (9, 31)]:
            _compare(
                [],
                lambda lib, size=size, mode=mode: lambda t: lib.interpolate(t, size=size, mode=mode),
                inputs=[x],
                atol=0,
                rtol=0,
                grad_atol=1e-5,
                grad_rtol=1e-5,
            )
        for sf in [(1 / 3, 0.7), (2.9, 1.1)]:
            _compare(
                [],
                lambda lib, sf=sf, mode=mode: lambda t: lib.interpolate(t, scale_factor=sf, mode=mode),
                inputs=[x],
                atol=0,
                rtol=0,
                grad_atol=1e-5,
                grad_rtol=1e-5,
            )


def test_interpolate_nearest_scale_factor_rules_follow_torch_per_dimension():
    # torch's 2d kernel copies an unchanged axis and halves indices on exact doubling whatever the
    # scale_factor says; its 1d and 3d kernels always use the scale
    x = np.arange(2 * 8, dtype=np.float32).reshape(1, 1, 2, 8)
    for sf in [(1.2, 1.1), (2.085, 1.9), (1.6, 2.085)]:
        _compare(
            [],
            lambda lib, sf=sf: lambda t: lib.interpolate(t, scale_factor=sf),
            inputs=[x],
            atol=0,
            rtol=0,
            grad_atol=1e-5,
        )
    for shape, sf in [((1, 2, 4), 1.072), ((1, 2, 3), 2.085), ((1, 1, 2, 3, 4), (1.2, 2.085, 1.1))]:
        _compare([shape], lambda lib, sf=sf: lambda t: lib.interpolate(t, scale_factor=sf), grad=False)


def test_interpolate_nearest_1d_gradient_is_that_of_its_forward():
    # torch's 1d/3d backward still uses the size shortcut its forward dropped; ember's gradient is exact
    x = em.tensor([[[1.0, 2.0]]], requires_grad=True)
    y = F.interpolate(x, scale_factor=2.136)  # sources [0, 0, 0, 1], as torch
    np.testing.assert_array_equal(y.data.ravel(), [1, 1, 1, 2])
    y.backward(em.tensor([[[1.0, 10.0, 100.0, 1000.0]]]))
    np.testing.assert_array_equal(x.grad.data.ravel(), [111, 1000])
    check_gradcheck([(1, 2, 3)], lambda t: F.interpolate(t, scale_factor=2.085))


def test_interpolate_non_contiguous_float64_integer_and_same_size():
    _compare(
        [(2, 3, 5, 6)], lambda lib: lambda x: lib.interpolate(x, scale_factor=2, mode="bilinear"), layout="transposed"
    )
    _compare(
        [(2, 3, 5, 6)],
        lambda lib: lambda x: lib.interpolate(x, size=(4, 9), mode="bicubic"),
        dtype=np.float64,
        layout="sliced",
    )
    _compare([(2, 3, 5, 6)], lambda lib: lambda x: lib.interpolate(x, size=(5, 6), mode="bilinear"))
    img = make_array((1, 3, 4, 5), np.uint8, 0, 255)
    _compare([], lambda lib: lambda x: lib.interpolate(x, scale_factor=2), inputs=[img])


@pytest.mark.filterwarnings("ignore:.*is deprecated")
def test_upsample_aliases_match_torch():
    _compare([(1, 2, 4, 5)], lambda lib: lambda x: lib.upsample_bilinear(x, scale_factor=2))
    _compare([(1, 2, 4, 5)], lambda lib: lambda x: lib.upsample_nearest(x, size=(7, 3)))
    _compare([(1, 2, 4, 5)], lambda lib: lambda x: lib.upsample(x, scale_factor=1.5, mode="bicubic"))


def test_interpolate_gradcheck_and_second_order():
    check_gradcheck([(1, 2, 3, 4)], lambda x: F.interpolate(x, size=(5, 3), mode="bilinear", align_corners=True))
    check_gradcheck([(1, 2, 3, 4)], lambda x: F.interpolate(x, scale_factor=1.5, mode="bicubic"))
    check_gradcheck([(1, 2, 5)], lambda x: F.interpolate(x, size=8, mode="nearest"))
    check_gradcheck([(1, 1, 2, 3, 3)], lambda x: F.interpolate(x, size=(3, 2, 4), mode="trilinear"))
    check_gradcheck([(1, 2, 5, 4)], lambda x: F.interpolate(x, size=(3, 3), mode="area"))
    _second_order(lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), (1, 1, 3, 3))


# -------------------------------------------------------------- pixel shuffles
def test_pixel_shuffle_unshuffle_channel_shuffle_match_torch():
    _compare([(2, 12, 3, 4)], lambda lib: lambda x: lib.pixel_shuffle(x, 2))
    _compare([(5, 9, 2, 2)], lambda lib: lambda x: lib.pixel_shuffle(x, 3))  # unbatched-like leading dims
    _compare([(2, 3, 6, 4)], lambda lib: lambda x: lib.pixel_unshuffle(x, 2), layout="transposed")
    _compare([(2, 6, 3, 4)], lambda lib: lambda x: lib.channel_shuffle(x, 3))
    x = em.Tensor(make_array((2, 8, 3, 5)))
    np.testing.assert_array_equal(
        F.pixel_shuffle(F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2), 2).data, F.pixel_shuffle(x, 2).data
    )
    check_gradcheck([(1, 8, 2, 3)], lambda x: F.pixel_shuffle(x, 2))


# ------------------------------------------------------------ across the family
@pytest.mark.parametrize(
    ("shape", "fn"),
    [
        ((2, 7), lambda x: F.adaptive_avg_pool1d(x, 3)),
        ((1, 2, 3, 4, 5), lambda x: F.adaptive_avg_pool3d(x, (2, 3, 2))),
        ((1, 2, 3, 4, 5), lambda x: F.adaptive_max_pool3d(x, (2, 3, 2))),
        ((2, 3, 8), lambda x: F.lp_pool1d(x, 3, 2)),
        ((1, 2, 6, 4), lambda x: F.pixel_unshuffle(x, 2)),
        ((1, 6, 2, 3), lambda x: F.channel_shuffle(x, 2)),
        ((1, 2, 7), lambda x: F.interpolate(x, size=4, mode="nearest-exact")),
        ((1, 2, 4), lambda x: F.interpolate(x, scale_factor=2.5, mode="linear", align_corners=True)),
        ((2, 3, 4), lambda x: F.interpolate(x, size=1, mode="linear", align_corners=True)),
    ],
)
def test_gradcheck_remaining_ops(shape, fn):
    check_gradcheck([shape], fn, low=0.2, high=2.0)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lambda x: lib.max_pool2d(x, 3, 2, 1),
        lambda lib: lambda x: lib.max_pool2d(x, 2, return_indices=True),
        lambda lib: lambda x: lib.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
        lambda lib: lambda x: lib.adaptive_avg_pool2d(x, (3, 4)),
        lambda lib: lambda x: lib.adaptive_max_pool2d(x, 3),
        lambda lib: lambda x: lib.interpolate(x, scale_factor=1.5, mode="bilinear"),
        lambda lib: lambda x: lib.interpolate(x, size=(3, 8)),
    ],
)
def test_float16_inputs_compute_in_float32_and_keep_their_dtype(make):
    _compare([(2, 3, 6, 7)], make, dtype=np.float16, atol=2e-3, rtol=2e-3)


def test_empty_batch_and_empty_adaptive_output():
    _compare([(0, 3, 6, 7)], lambda lib: lambda x: lib.max_pool2d(x, 3, 2, 1, return_indices=True))
    _compare([(0, 3, 6, 7)], lambda lib: lambda x: lib.avg_pool2d(x, 2))
    _compare([(0, 3, 6, 7)], lambda lib: lambda x: lib.interpolate(x, scale_factor=2, mode="bicubic"))
    # torch's own backward refuses empty outputs: compare values only
    _compare([(2, 3, 6, 7)], lambda lib: lambda x: lib.adaptive_avg_pool2d(x, (0, 3)), grad=False)
    _compare([(2, 3, 6, 7)], lambda lib: lambda x: lib.adaptive_max_pool2d(x, 0, return_indices=True), grad=False)


# ----------------------------------------------------------------------- errors
def test_pool_errors_name_op_shape_and_arguments():
    x = em.randn(1, 3, 5, 5)
    with pytest.raises(
        ShapeError,
        match=r"max_pool2d: .*\(1, 3, 5, 5\).*kernel_size=\(6, 6\).*stride=\(6, 6\).*padding=\(0, 0\).*empty",
    ):
        F.max_pool2d(x, 6)
    with pytest.raises(
        ShapeError,
        match=r"max_pool2d: padding should be at most half.*\(1, 3, 5, 5\).*kernel_size=\(3, 3\).*padding=\(2, 2\)",
    ):
        F.max_pool2d(x, 3, padding=2)
    F.max_pool2d(x, 3, padding=2, dilation=2)  # the dilated kernel is 5 wide: padding 2 is allowed, as in torch
    with pytest.raises(
        ShapeError, match=r"avg_pool2d: padding should be at most half.*kernel_size=\(3, 3\).*padding=\(2, 2\)"
    ):
        F.avg_pool2d(x, 3, padding=2, ceil_mode=True)
    with pytest.raises(
        ShapeError, match=r"max_pool2d: expected a 3D \(unbatched\) or 4D \(N, C, H, W\) input, got shape \(5, 5\)"
    ):
        F.max_pool2d(em.randn(5, 5), 2)
    with pytest.raises(ShapeError, match=r"avg_pool1d: .*got shape \(1, 2, 3, 4\)"):
        F.avg_pool1d(em.randn(1, 2, 3, 4), 2)
    with pytest.raises(ShapeError, match=r"max_pool2d: .*non-zero.*\(2, 0, 5, 5\)"):
        F.max_pool2d(em.randn(2, 0, 5, 5), 2)
    with pytest.raises(ShapeError, match=r"stride.*positive"):
        F.max_pool2d(x, 2, stride=0)
    with pytest.raises(ShapeError, match=r"avg_pool2d: divisor_override must be non-zero"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(
        ShapeError, match=r"avg_pool3d: input \(1, 2, 1, 6, 6\) is smaller than kernel_size=\(2, 2, 2\)"
    ):
        F.avg_pool3d(em.randn(1, 2, 1, 6, 6), 2, padding=1)
    with pytest.raises(DTypeError, match=r"avg_pool2d: expected a floating point input, got ember.int64"):
        F.avg_pool2d(em.tensor(np.ones((1, 1, 4, 4), np.int64)), 2)


def test_unpool_interpolate_and_shuffle_errors():
    x = em.randn(1, 1, 2, 2)
    idx = em.tensor(np.array([[[[0, 1], [2, 100]]]]))
    with pytest.raises(IndexError, match=r"max_unpool2d: found an invalid max index 100 .*\(4, 4\)"):
        F.max_unpool2d(x, idx, 2)
    with pytest.raises(ShapeError, match=r"max_unpool2d: invalid output_size \(6, 6\).*between 2 and 6"):
        F.max_unpool2d(x, em.tensor(np.zeros((1, 1, 2, 2), np.int64)), 2, output_size=(6, 6))
    with pytest.raises(ShapeError, match=r"max_unpool2d: indices of shape \(1, 1, 1, 2\)"):
        F.max_unpool2d(x, em.tensor(np.zeros((1, 1, 1, 2), np.int64)), 2)
    with pytest.raises(ShapeError, match=r"interpolate: mode 'linear' needs a 3D .*got shape \(1, 1, 2, 2\)"):
        F.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(x, scale_factor=2, align_corners=False)
    with pytest.raises(ShapeError, match=r"interpolate: .*greater than 0.*\(1, 1, 2, 2\)"):
        F.interpolate(x, scale_factor=0.2)
    with pytest.raises(ShapeError, match=r"pixel_shuffle: .*\(1, 3, 5, 5\).*divisible by upscale_factor\*\*2 = 4"):
        F.pixel_shuffle(em.randn(1, 3, 5, 5), 2)
    with pytest.raises(ShapeError, match=r"pixel_unshuffle: .*\(1, 3, 5, 5\).*divisible by downscale_factor 2"):
        F.pixel_unshuffle(em.randn(1, 3, 5, 5), 2)
    with pytest.raises(ShapeError, match=r"channel_shuffle: .*\(1, 3, 5, 5\) \(3\).*groups=2"):
        F.channel_shuffle(em.randn(1, 3, 5, 5), 2)


def test_max_pool_windows_cached_per_signature_stay_right():
    # the windows are built once per (spatial size, options): other sizes, lists and bad options still work
    rng = np.random.default_rng(5)
    for shape in [(2, 3, 8, 8), (1, 2, 9, 7), (2, 3, 8, 8), (4, 8, 8)]:
        a = rng.standard_normal(shape).astype(np.float32)
        for kwargs in [{"kernel_size": 2}, {"kernel_size": [3, 2], "stride": [2, 1], "padding": [1, 0]}]:
            got = F.max_pool2d(em.tensor(a), **kwargs)
            want = TF.max_pool2d(torch.tensor(a), **kwargs)
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(ShapeError, match=r"padding should be at most half"):
        F.max_pool2d(em.zeros(1, 1, 8, 8), 2, padding=2)
    with pytest.raises(ShapeError, match=r"input is too small"):
        F.max_pool2d(em.zeros(1, 1, 1, 1), 2)
    F.max_pool2d(em.zeros(1, 1, 2, 2), 2)  # the same options on a big enough input
    with pytest.raises(ShapeError, match=r"input is too small"):
        F.max_pool2d(em.zeros(1, 1, 1, 1), 2)


# Without indices or a gradient, float32 2x2 pooling takes a vector kernel (16 windows a step, masked
# at each row's end): its values must be PyTorch's bit for bit, NaN and the signs of zeros included.
@pytest.mark.parametrize(
    "shape", [(1, 32, 28, 28), (2, 3, 7, 9), (1, 2, 6, 70), (3, 1, 64, 65), (2, 2, 2, 2), (4, 5, 33, 32)]
)
@pytest.mark.parametrize("layout", ["contiguous", "conv output", "strided"])
def test_max_pool2d_2x2_inference_kernel_is_torchs_bit_for_bit(shape, layout, monkeypatch):
    from ember.ops import pool as pool_ops

    kernels = pool_ops._kernels()
    calls = []
    real = kernels.max_pool2d_2x2_values
    monkeypatch.setattr(kernels, "max_pool2d_2x2_values", lambda *a: calls.append(a[0].shape) or real(*a))
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(np.float32)
    x[..., ::3, 1::4] = 0.0  # zeros of both signs, ties between them in some windows
    x[..., 1::3, ::5] = -0.0
    flat = x.reshape(-1)
    flat[rng.integers(0, flat.size, 5)] = np.nan
    if layout == "conv output":  # an NCHW view of (C, N, H, W) memory, as a convolution returns
        xe = em.from_numpy(np.ascontiguousarray(x.swapaxes(0, 1))).transpose(0, 1)
    elif layout == "strided":
        xe = em.from_numpy(np.repeat(x, 2, axis=-1))[..., ::2]
    else:
        xe = em.from_numpy(x)
    with em.no_grad():
        out = F.max_pool2d(xe, 2)
    expected = TF.max_pool2d(torch.from_numpy(x), 2).numpy()
    assert calls, "the vector kernel did not run"
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)
    np.testing.assert_array_equal(np.signbit(out.data), np.signbit(expected))


@pytest.mark.parametrize("grad", [False, True])
def test_max_pool2d_2x2_of_float16_stays_float16(grad):
    # the inference kernel computes in float32: its maxima are float16 values, returned as float16
    x = np.random.default_rng(7).standard_normal((2, 3, 8, 10)).astype(np.float16)
    xe = em.tensor(x, requires_grad=grad)
    out = F.max_pool2d(xe, 2)
    expected = TF.max_pool2d(torch.from_numpy(x.astype(np.float32)), 2).numpy().astype(np.float16)
    assert out.dtype == em.float16
    np.testing.assert_array_equal(out.data, expected)
