"""Normalisation ops against PyTorch: values, gradients, running buffers, errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember as em
import ember.nn.functional as F
from tests.helpers import check_gradcheck, check_op, make_array

SHAPES = [(4, 3), (4, 3, 5), (2, 3, 4, 5), (2, 3, 2, 3, 4)]


def _buffers(c, dtype=np.float32):
    mean = make_array((c,), dtype, -1, 1)
    var = make_array((c,), dtype, 0.5, 2)
    return mean, var


def _compare(shapes, make, **kwargs):
    """check_op with ``make(F)`` for ember and ``make(torch.nn.functional)`` for torch."""
    return check_op(shapes, make(F), make(TF), **kwargs)


def _check_second_order(fn, shape, seed=0):
    """Gradcheck of x -> d<fn(x), v>/dx: the create_graph backward must itself be differentiable."""
    rng = np.random.default_rng(seed)
    x = em.Tensor(rng.uniform(-2, 2, shape), requires_grad=True)
    cot = em.Tensor(rng.standard_normal(fn(x).shape))

    def vjp(t):
        with em.enable_grad():
            (g,) = em.grad(fn(t), [t], cot, create_graph=True)
        return g

    assert em.autograd.gradcheck(vjp, [x], atol=1e-5, rtol=1e-3)


# ------------------------------------------------------------------ batch norm
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_matches_torch_and_updates_buffers(shape, affine):
    c = shape[1]
    mean, var = _buffers(c)
    em_buf = [em.Tensor(mean.copy()), em.Tensor(var.copy())]
    t_buf = [torch.tensor(mean), torch.tensor(var)]
    shapes = [shape, (c,), (c,)] if affine else [shape]

    def run(lib_fn, buf):
        return lambda x, *wb: lib_fn(x, buf[0], buf[1], *wb, training=True, momentum=0.3, eps=1e-4)

    check_op(shapes, run(F.batch_norm, em_buf), run(TF.batch_norm, t_buf), atol=1e-5, grad_atol=1e-4)
    np.testing.assert_allclose(em_buf[0].data, t_buf[0].numpy(), atol=1e-6, rtol=1e-5)
    np.testing.assert_allclose(em_buf[1].data, t_buf[1].numpy(), atol=1e-6, rtol=1e-5)
    assert em_buf[0]._version == 1 and em_buf[1]._version == 1


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_eval_uses_running_stats(shape, affine):
    c = shape[1]
    mean, var = _buffers(c)
    shapes = [shape, (c,), (c,)] if affine else [shape]
    em_buf = [em.Tensor(mean.copy()), em.Tensor(var.copy())]

    def ember_fn(x, *wb):
        return F.batch_norm(x, em_buf[0], em_buf[1], *wb, training=False)

    def torch_fn(x, *wb):
        return TF.batch_norm(x, torch.tensor(mean), torch.tensor(var), *wb, training=False)

    check_op(shapes, ember_fn, torch_fn, atol=1e-5, grad_atol=1e-4)
    np.testing.assert_array_equal(em_buf[0].data, mean)  # eval leaves the buffers alone
    np.testing.assert_array_equal(em_buf[1].data, var)


def test_batch_norm_without_buffers_and_non_contiguous_input():
    check_op(
        [(3, 4, 5, 6), (4,), (4,)],
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
        layout="transposed",
        grad_atol=1e-4,
    )


def test_batch_norm_only_bias_and_only_weight():
    for kw in ("weight", "bias"):
        check_op(
            [(5, 3, 4), (3,)],
            lambda x, p, kw=kw: F.batch_norm(x, None, None, training=True, **{kw: p}),
            lambda x, p, kw=kw: TF.batch_norm(x, None, None, training=True, **{kw: p}),
            grad_atol=1e-4,
        )


def test_batch_norm_repeated_updates_follow_torch():
    mean, var = _buffers(3)
    em_buf = [em.Tensor(mean.copy()), em.Tensor(var.copy())]
    t_buf = [torch.tensor(mean), torch.tensor(var)]
    for _ in range(3):
        x = make_array((6, 3, 4))
        F.batch_norm(em.Tensor(x), *em_buf, training=True)
        TF.batch_norm(torch.tensor(x), *t_buf, training=True)
    np.testing.assert_allclose(em_buf[0].data, t_buf[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(em_buf[1].data, t_buf[1].numpy(), atol=1e-6)


def test_batch_norm_momentum_none_leaves_buffers_to_the_caller():
    rm, rv = em.zeros(3), em.ones(3)
    F.batch_norm(em.randn(4, 3), rm, rv, training=True, momentum=None)
    np.testing.assert_array_equal(rm.data, 0)
    np.testing.assert_array_equal(rv.data, 1)


def test_batch_norm_empty_batch_returns_empty_and_keeps_buffers():
    rm = em.zeros(3)
    x = em.zeros(0, 3, 4, requires_grad=True)
    y = F.batch_norm(x, rm, em.ones(3), training=True)
    y.sum().backward()
    assert y.shape == (0, 3, 4) and x.grad.shape == (0, 3, 4)
    np.testing.assert_array_equal(rm.data, 0)


def test_batch_norm_errors_leave_buffers_unchanged():
    rm, rv = em.zeros(3), em.ones(3)
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 3\)"):
        F.batch_norm(em.randn(1, 3), rm, rv, training=True)
    with pytest.raises(em.ShapeError, match=r"weight of shape \(3,\), got \(4,\)"):
        F.batch_norm(em.randn(2, 3), rm, rv, em.ones(4), training=True)
    with pytest.raises(ValueError, match="running_mean and running_var"):
        F.batch_norm(em.randn(2, 3), None, None, training=False)
    with pytest.raises(em.DTypeError, match="int64"):
        F.batch_norm(em.tensor([[1, 2, 3], [4, 5, 6]]), rm, rv, training=True)
    assert rm._version == 0 and rv._version == 0


def test_batch_norm_float16_computes_stats_in_float32():
    x = make_array((8, 3, 5)).astype(np.float16)
    out = F.batch_norm(em.Tensor(x), None, None, training=True)
    ref = TF.batch_norm(torch.tensor(x, dtype=torch.float32), None, None, training=True)
    assert out.dtype == em.float16
    np.testing.assert_allclose(out.data.astype(np.float32), ref.numpy(), atol=2e-3)


def test_batch_norm_gradients_by_finite_differences():
    rm, rv = _buffers(3, np.float64)
    check_gradcheck(
        [(4, 3, 2), (3,), (3,)],
        lambda x, w, b: F.batch_norm(x, em.Tensor(rm.copy()), em.Tensor(rv.copy()), w, b, training=True),
    )
    check_gradcheck(
        [(4, 3, 2), (3,), (3,)],
        lambda x, w, b: F.batch_norm(x, em.Tensor(rm), em.Tensor(rv), w, b, training=False),
    )


def test_batch_norm_second_order_gradients_are_exact():
    w = em.Tensor(make_array((3,), np.float64))
    _check_second_order(lambda x: F.batch_norm(x, None, None, w, None, training=True), (4, 3, 2))
    x = em.Tensor(make_array((4, 3, 2), np.float64))

    def of_weight(w):
        return F.batch_norm(x, None, None, w, None, training=True) ** 2

    _check_second_order(of_weight, (3,))


# ------------------------------------------------------------------ layer norm
@pytest.mark.parametrize(
    "shape,normalized",
    [((4, 6), (6,)), ((2, 3, 5), (5,)), ((2, 3, 4, 5), (4, 5)), ((3, 4), 4), ((7,), (7,))],
)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(shape, normalized, affine):
    ns = (normalized,) if isinstance(normalized, int) else normalized
    shapes = [shape, ns, ns] if affine else [shape]
    check_op(
        shapes,
        lambda x, *wb: F.layer_norm(x, normalized, *wb, eps=1e-3),
        lambda x, *wb: TF.layer_norm(x, ns, *wb, eps=1e-3),  # torch's functional wants a tuple
        grad_atol=1e-4,
    )


def test_layer_norm_non_contiguous_empty_and_gradcheck():
    _compare(
        [(4, 5, 6), (6,), (6,)],
        lambda lib: lambda x, w, b: lib.layer_norm(x, (6,), w, b),
        layout="sliced",
        grad_atol=1e-4,
    )
    _compare([(0, 5)], lambda lib: lambda x: lib.layer_norm(x, (5,)))
    check_gradcheck([(3, 2, 3), (2, 3), (2, 3)], lambda x, w, b: F.layer_norm(x, (2, 3), w, b))
    _check_second_order(lambda x: F.layer_norm(x, (4,)), (3, 4))


def test_layer_norm_shape_errors():
    with pytest.raises(em.ShapeError, match=r"normalized_shape \(5,\).*\(3, 4\)"):
        F.layer_norm(em.randn(3, 4), (5,))
    with pytest.raises(em.ShapeError, match=r"weight of shape \(4,\), got \(3,\)"):
        F.layer_norm(em.randn(3, 4), (4,), em.ones(3))


# ------------------------------------------------------------------ group norm
@pytest.mark.parametrize(
    "shape,groups",
    [((2, 6, 5), 1), ((2, 6, 5), 2), ((2, 6, 3, 4), 3), ((3, 6), 2), ((2, 6, 5), 6), ((2, 4, 2, 2, 3), 2)],
)
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_matches_torch(shape, groups, affine):
    c = shape[1]
    shapes = [shape, (c,), (c,)] if affine else [shape]
    _compare(shapes, lambda lib: lambda x, *wb: lib.group_norm(x, groups, *wb), grad_atol=1e-4)


def test_group_norm_gradcheck_and_errors():
    check_gradcheck([(2, 4, 3), (4,), (4,)], lambda x, w, b: F.group_norm(x, 2, w, b))
    _check_second_order(lambda x: F.group_norm(x, 2), (2, 4, 3))
    with pytest.raises(em.ShapeError, match=r"6 to be divisible by num_groups=4"):
        F.group_norm(em.randn(2, 6, 3), 4)


# ------------------------------------------------------------------ instance norm
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 4), (1, 2, 2, 3, 2)])
def test_instance_norm_matches_torch(shape):
    c = shape[1]
    _compare([shape, (c,), (c,)], lambda lib: lambda x, w, b: lib.instance_norm(x, weight=w, bias=b), grad_atol=1e-4)
    _compare([shape], lambda lib: lambda x: lib.instance_norm(x, eps=1e-3), grad_atol=1e-4)


def test_instance_norm_with_running_stats_updates_them_like_torch():
    mean, var = _buffers(3)
    em_buf = [em.Tensor(mean.copy()), em.Tensor(var.copy())]
    t_buf = [torch.tensor(mean), torch.tensor(var)]
    check_op(
        [(4, 3, 6), (3,), (3,)],
        lambda x, w, b: F.instance_norm(x, *em_buf, w, b, momentum=0.2),
        lambda x, w, b: TF.instance_norm(x, *t_buf, w, b, momentum=0.2),
        grad_atol=1e-4,
    )
    np.testing.assert_allclose(em_buf[0].data, t_buf[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(em_buf[1].data, t_buf[1].numpy(), atol=1e-6)


def test_instance_norm_without_input_stats_uses_buffers():
    mean, var = _buffers(3)
    check_op(
        [(2, 3, 4, 2), (3,), (3,)],
        lambda x, w, b: F.instance_norm(x, em.Tensor(mean), em.Tensor(var), w, b, use_input_stats=False),
        lambda x, w, b: TF.instance_norm(x, torch.tensor(mean), torch.tensor(var), w, b, use_input_stats=False),
        grad_atol=1e-4,
    )


def test_instance_norm_gradcheck_and_errors():
    check_gradcheck([(2, 3, 4), (3,), (3,)], lambda x, w, b: F.instance_norm(x, weight=w, bias=b))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(em.randn(2, 3, 1))
    with pytest.raises(ValueError, match="use_input_stats=False"):
        F.instance_norm(em.randn(2, 3, 4), use_input_stats=False)


# ------------------------------------------------------------------ RMS norm
@pytest.mark.parametrize("shape,normalized", [((4, 6), (6,)), ((2, 3, 4, 5), (4, 5)), ((3, 5), 5)])
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_matches_torch(shape, normalized, eps):
    ns = (normalized,) if isinstance(normalized, int) else normalized
    check_op(
        [shape, ns],
        lambda x, w: F.rms_norm(x, normalized, w, eps),
        lambda x, w: TF.rms_norm(x, ns, w, eps),
        grad_atol=1e-4,
    )
    check_op(
        [shape], lambda x: F.rms_norm(x, normalized, eps=eps), lambda x: TF.rms_norm(x, ns, eps=eps), grad_atol=1e-4
    )


def test_rms_norm_default_eps_is_dtype_eps():
    # tiny inputs make eps dominate, so the dtype's eps must match torch's exactly
    for dtype in (np.float32, np.float64):
        x = make_array((3, 4), dtype, -1e-4, 1e-4)
        out = F.rms_norm(em.Tensor(x), (4,))
        np.testing.assert_allclose(out.data, TF.rms_norm(torch.tensor(x), (4,)).numpy(), rtol=1e-5)


def test_rms_norm_gradcheck():
    check_gradcheck([(3, 4), (4,)], lambda x, w: F.rms_norm(x, (4,), w))
    _check_second_order(lambda x: F.rms_norm(x, (2, 3)), (2, 2, 3))


# ------------------------------------------------------------ local response norm
@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("shape", [(2, 6, 5), (2, 5, 3, 4), (1, 4, 2, 3, 2)])
def test_local_response_norm_matches_torch(size, shape):
    _compare(
        [shape], lambda lib: lambda x: lib.local_response_norm(x, size, alpha=0.1, beta=0.75, k=2.0), grad_atol=1e-5
    )


def test_local_response_norm_defaults_gradcheck_and_errors():
    _compare([(2, 7, 3, 3)], lambda lib: lambda x: lib.local_response_norm(x, 3))
    check_gradcheck([(2, 5, 3)], lambda x: F.local_response_norm(x, 4, alpha=0.5, k=1.5))
    _check_second_order(lambda x: F.local_response_norm(x, 3, alpha=0.5), (1, 4, 2))
    with pytest.raises(em.ShapeError, match=r"3D or higher.*\(4, 5\)"):
        F.local_response_norm(em.randn(4, 5), 3)


# ------------------------------------------------------------------ normalize
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
@pytest.mark.parametrize("dim", [1, -1, 0])
def test_normalize_matches_torch(p, dim):
    _compare([(4, 5, 3)], lambda lib: lambda x: lib.normalize(x, p, dim), grad_atol=1e-5)


def test_normalize_zero_vector_and_gradcheck():
    # a zero vector stays zero; its gradient is 1 / eps as in torch
    x = np.zeros((2, 3), np.float64)
    x[1] = [1.0, -2.0, 0.5]
    _compare([], lambda lib: lambda x: lib.normalize(x, eps=1e-6), inputs=[x], atol=1e-8, grad_rtol=1e-6)
    check_gradcheck([(3, 4)], lambda x: F.normalize(x, 2, 1))
    check_gradcheck([(3, 4)], lambda x: F.normalize(x, 3, 0))
    _check_second_order(lambda x: F.normalize(x), (3, 4))


def test_norm_ops_are_exported():
    for name in (
        "batch_norm",
        "layer_norm",
        "group_norm",
        "instance_norm",
        "rms_norm",
        "local_response_norm",
        "normalize",
    ):
        assert name in F.__all__ and callable(getattr(F, name))
