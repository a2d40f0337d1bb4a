"""scaled_dot_product_attention against PyTorch: masks, causal, scale, GQA, gradients, dropout.

Tolerances: float32 atol 1e-5, rtol 1e-4 (check_op's default); float64 finite
differences atol 1e-5, rtol 1e-3.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember as em
import ember.nn.functional as F
from ember.errors import DTypeError, ShapeError
from tests.helpers import check_gradcheck, check_op

sdpa = F.scaled_dot_product_attention
tsdpa = TF.scaled_dot_product_attention

QKV = [(2, 4, 5, 8), (2, 4, 7, 8), (2, 4, 7, 6)]  # (N, H, L, E), (N, H, S, E), (N, H, S, Ev)


def _bool_mask(shape, seed=0, blank_row=None):
    m = np.random.default_rng(seed).random(shape) < 0.6
    if blank_row is not None:
        m[..., blank_row, :] = False
    return m


@pytest.mark.parametrize(
    "shapes",
    [QKV, [(5, 8), (7, 8), (7, 6)], [(3, 6, 4), (3, 6, 4), (3, 6, 4)], [(2, 3, 1, 4), (2, 3, 9, 4), (2, 3, 9, 2)]],
)
def test_no_mask_matches_torch(shapes):
    check_op(shapes, sdpa, tsdpa)


@pytest.mark.parametrize("layout", ["transposed", "sliced"])
def test_non_contiguous_inputs(layout):
    check_op(QKV, sdpa, tsdpa, layout=layout)


@pytest.mark.parametrize("mask_shape", [(5, 7), (2, 1, 5, 7), (2, 4, 5, 7), (1, 7)])
def test_bool_mask_matches_torch(mask_shape):
    m = _bool_mask(mask_shape)
    check_op(QKV, lambda q, k, v: sdpa(q, k, v, em.tensor(m)), lambda q, k, v: tsdpa(q, k, v, torch.tensor(m)))


def test_fully_masked_rows_give_zeros_like_torch():
    m = _bool_mask((5, 7), blank_row=2)
    out = check_op(QKV, lambda q, k, v: sdpa(q, k, v, em.tensor(m)), lambda q, k, v: tsdpa(q, k, v, torch.tensor(m)))
    np.testing.assert_array_equal(out.data[:, :, 2], 0.0)
    fm = np.where(m, 0.0, -np.inf).astype(np.float32)
    check_op(QKV, lambda q, k, v: sdpa(q, k, v, em.tensor(fm)), lambda q, k, v: tsdpa(q, k, v, torch.tensor(fm)))


@pytest.mark.parametrize("mask_shape", [(5, 7), (2, 1, 5, 7)])
def test_float_mask_matches_torch_with_its_gradient(mask_shape):
    check_op(QKV + [mask_shape], lambda q, k, v, m: sdpa(q, k, v, m), lambda q, k, v, m: tsdpa(q, k, v, m))


@pytest.mark.parametrize("L,S", [(5, 5), (5, 7), (7, 5)])
def test_causal_matches_torch(L, S):
    shapes = [(2, 4, L, 8), (2, 4, S, 8), (2, 4, S, 6)]
    check_op(shapes, lambda q, k, v: sdpa(q, k, v, is_causal=True), lambda q, k, v: tsdpa(q, k, v, is_causal=True))


@pytest.mark.parametrize("scale", [0.05, 1.0, 2.5])
def test_custom_scale_matches_torch(scale):
    check_op(QKV, lambda q, k, v: sdpa(q, k, v, scale=scale), lambda q, k, v: tsdpa(q, k, v, scale=scale))


def test_scale_with_long_features_matches_torch():
    # E > S takes the other scaling branch (scores scaled after the product)
    check_op([(2, 3, 40), (2, 4, 40), (2, 4, 5)], sdpa, tsdpa)


def test_grouped_query_attention_matches_torch():
    shapes = [(2, 4, 5, 8), (2, 2, 7, 8), (2, 1, 7, 6)]
    check_op(shapes, lambda q, k, v: sdpa(q, k, v, enable_gqa=True), lambda q, k, v: tsdpa(q, k, v, enable_gqa=True))


def test_float64_matches_torch():
    m = _bool_mask((5, 7), blank_row=0)
    check_op(
        QKV,
        lambda q, k, v: sdpa(q, k, v, em.tensor(m)),
        lambda q, k, v: tsdpa(q, k, v, torch.tensor(m)),
        dtype=np.float64,
        atol=1e-12,
        rtol=1e-10,
    )


def test_gradcheck_tiny_cases():
    shapes = [(1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 3)]
    check_gradcheck(shapes, sdpa)
    m = em.tensor(_bool_mask((3, 5), blank_row=1))
    check_gradcheck(shapes, lambda q, k, v: sdpa(q, k, v, m, scale=0.7))
    check_gradcheck(shapes[:3] + [(3, 5)], lambda q, k, v, fm: sdpa(q, k, v, fm))
    check_gradcheck([(3, 4), (3, 4), (3, 2)], lambda q, k, v: sdpa(q, k, v, is_causal=True))


def test_second_order_through_attention():
    rng = np.random.default_rng(4)
    q, k, v = (em.tensor(rng.standard_normal(s), requires_grad=True) for s in [(2, 3), (4, 3), (4, 2)])
    assert em.autograd.gradgradcheck(sdpa, [q, k, v])


# ------------------------------------------------------------------ dropout
def test_dropout_scales_kept_weights_and_is_seeded():
    rng = np.random.default_rng(5)
    q = em.tensor(rng.standard_normal((3, 1, 6, 4)).astype(np.float32))
    k = em.tensor(rng.standard_normal((3, 1, 10, 4)).astype(np.float32))
    eye = em.tensor(np.eye(10, dtype=np.float32))  # value = identity: the output is the weights
    weights = sdpa(q, k, eye).data
    em.manual_seed(11)
    dropped = sdpa(q, k, eye, dropout_p=0.4).data
    em.manual_seed(11)
    np.testing.assert_array_equal(sdpa(q, k, eye, dropout_p=0.4).data, dropped)
    kept = dropped != 0
    assert 0.4 < kept.mean() < 0.8
    np.testing.assert_allclose(dropped[kept], weights[kept] / 0.6, rtol=1e-6)
    np.testing.assert_array_equal(sdpa(q, k, eye, dropout_p=1.0).data, 0.0)


def test_dropout_gradient_uses_the_same_mask():
    rng = np.random.default_rng(6)
    q = em.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    k = em.tensor(rng.standard_normal((6, 3)))
    v = em.tensor(rng.standard_normal((6, 2)))

    def run(t):
        em.manual_seed(2)
        return sdpa(t, k, v, dropout_p=0.3)

    assert em.autograd.gradcheck(run, [q])


# ------------------------------------------------------------------- errors
def test_bad_arguments_raise():
    q, k, v = em.zeros(2, 3, 4), em.zeros(2, 5, 4), em.zeros(2, 5, 6)
    with pytest.raises(ValueError, match="is_causal"):
        sdpa(q, k, v, em.ones(3, 5).bool(), is_causal=True)
    with pytest.raises(ShapeError, match=r"\(2, 3, 4\).*\(2, 5, 3\)"):
        sdpa(q, em.zeros(2, 5, 3), v)
    with pytest.raises(ShapeError, match=r"\(2, 5, 4\).*\(2, 6, 6\)"):
        sdpa(q, k, em.zeros(2, 6, 6))
    with pytest.raises(DTypeError, match="float64"):
        sdpa(q, k, v.double())
    with pytest.raises(DTypeError, match="float64"):
        sdpa(q, k, v, em.zeros(3, 5).double())
    with pytest.raises(ShapeError, match="multiple"):
        sdpa(em.zeros(1, 4, 3, 4), em.zeros(1, 3, 5, 4), em.zeros(1, 3, 5, 4), enable_gqa=True)
    with pytest.raises(ValueError, match="dropout_p"):
        sdpa(q, k, v, dropout_p=1.5)


@pytest.mark.parametrize(
    "mask_shape,detail",
    [
        ((3, 4), r"dimension -1 has size 4 in attn_mask and 5 in the scores"),
        ((4, 3, 5), r"dimension -3 has size 4 in attn_mask and 2 in the scores"),
        ((1, 2, 3, 5), r"attn_mask has 4 dimensions, the scores 3"),  # torch: the mask may not enlarge the output
    ],
)
@pytest.mark.parametrize("dtype", [em.float32, em.bool])
def test_mask_that_does_not_broadcast_to_the_scores_names_both_shapes(mask_shape, detail, dtype):
    q, k, v = em.zeros(2, 3, 4), em.zeros(2, 5, 4), em.zeros(2, 5, 6)
    shape = r"\(" + ", ".join(map(str, mask_shape)) + r"\)"
    with pytest.raises(ShapeError, match=rf"^scaled_dot_product_attention: attn_mask {shape} .*\(2, 3, 5\).*{detail}$"):
        sdpa(q, k, v, em.zeros(*mask_shape, dtype=dtype))


@pytest.mark.parametrize("scale", [None, 0.5])
def test_no_features_give_the_mean_of_value_like_torch(scale):
    check_op(
        [(2, 3, 0), (2, 5, 0), (2, 5, 6)],
        lambda q, k, v: sdpa(q, k, v, scale=scale),
        lambda q, k, v: tsdpa(q, k, v, scale=scale),
    )
    m = _bool_mask((3, 5), blank_row=1)
    check_op(
        [(2, 3, 0), (2, 5, 0), (2, 5, 6)],
        lambda q, k, v: sdpa(q, k, v, em.tensor(m)),
        lambda q, k, v: tsdpa(q, k, v, torch.tensor(m)),
    )
