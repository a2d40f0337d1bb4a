"""Dropout: mask statistics, scaling, channel masks, seeding, gradients, eval identity, errors.

Masks come from ember's generator, so they are checked by their statistics,
not against torch's. Statistical tolerances: on n draws the kept fraction has
standard deviation sqrt(p (1 - p) / n); each bound below is at least 5 of those.
"""

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember as em
import ember.nn.functional as F

ALL = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]
# a shape each function takes without a warning
SHAPE = {
    "dropout": (8, 6, 5),
    "dropout1d": (8, 6, 5),
    "dropout2d": (4, 6, 3, 5),
    "dropout3d": (3, 4, 2, 3, 4),
    "alpha_dropout": (8, 6, 5),
    "feature_alpha_dropout": (4, 6, 3, 5),
}


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_one_minus_p_and_scales_kept(p):
    x = em.rand(400, 500) + 0.5  # no zeros in the input
    y = F.dropout(x, p)
    kept = y.data != 0
    n = kept.size
    assert abs(kept.mean() - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(y.data[kept], x.data[kept] / (1 - p), rtol=1e-6)
    assert y.dtype == em.float32


def test_dropout_preserves_the_mean_in_expectation():
    x = em.ones(1000, 1000, dtype=em.float64)
    y = F.dropout(x, 0.3)
    assert abs(y.data.mean() - 1.0) < 0.01  # std of the mean is sqrt(0.3 / 0.7 / 1e6) ~ 6.5e-4


def test_dropout_gradient_is_mask_times_scale():
    x = em.randn(50, 60, requires_grad=True)
    y = F.dropout(x, 0.4)
    g = em.randn(50, 60)
    y.backward(g)
    mask = (y.data != 0) / 0.6
    np.testing.assert_allclose(x.grad.data, g.data * mask, rtol=1e-6)


def test_dropout_second_order_gradient_is_zero_and_grad_of_grad_is_the_mask():
    x = em.randn(20, 30, dtype=em.float64, requires_grad=True)
    y = F.dropout(x, 0.5)
    g = em.randn(20, 30, dtype=em.float64, requires_grad=True)
    (gx,) = em.grad(y, [x], g, create_graph=True)
    (gg,) = em.grad(gx.sum(), [g])
    np.testing.assert_allclose(gg.data, (y.data != 0) * 2.0)


@pytest.mark.parametrize("name", ALL)
def test_same_seed_gives_the_same_mask(name):
    fn = getattr(F, name)
    x = em.randn(*SHAPE[name])
    em.manual_seed(123)
    a = fn(x, 0.5, training=True)
    b = fn(x, 0.5, training=True)
    em.manual_seed(123)
    c = fn(x, 0.5, training=True)
    np.testing.assert_array_equal(a.data, c.data)
    assert not np.array_equal(a.data, b.data)


@pytest.mark.parametrize("name", ALL)
def test_eval_and_p_zero_are_the_identity(name):
    fn = getattr(F, name)
    x = em.randn(*SHAPE[name], requires_grad=True)
    assert fn(x, 0.5, training=False) is x
    assert fn(x, 0.0, training=True) is x


@pytest.mark.parametrize("name", ALL)
def test_p_one_gives_zeros_with_zero_gradient(name):
    x = em.randn(*SHAPE[name], requires_grad=True)
    y = getattr(F, name)(x, 1.0, training=True)
    np.testing.assert_array_equal(y.data, 0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, 0)
    t = torch.tensor(x.data, requires_grad=True)
    assert not getattr(TF, name)(t, 1.0, training=True).detach().numpy().any()


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_p_outside_unit_interval_raises_naming_p(name, p):
    with pytest.raises(ValueError, match=f"p={p}"):
        getattr(F, name)(em.randn(*SHAPE[name]), p, training=True)


@pytest.mark.parametrize(
    "name,shape,mask_shape",
    [
        ("dropout1d", (40, 50, 7), (40, 50, 1)),
        ("dropout1d", (50, 7), (50, 1)),
        ("dropout2d", (40, 50, 3, 4), (40, 50, 1, 1)),
        ("dropout2d", (40, 50, 7), (40, 50, 1)),  # 3D: taken as (N, C, L), as in torch
        ("dropout3d", (10, 50, 2, 2, 3), (10, 50, 1, 1, 1)),
        ("dropout3d", (50, 2, 3, 2), (50, 1, 1, 1)),
    ],
)
def test_feature_dropout_drops_whole_channels(name, shape, mask_shape):
    x = em.rand(*shape) + 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = getattr(F, name)(x, 0.3)
    kept = y.data != 0
    axes = tuple(i for i, n in enumerate(mask_shape) if n == 1)
    assert np.array_equal(kept.all(axes), kept.any(axes))  # each channel all kept or all dropped
    channels = kept.any(axes)
    assert abs(channels.mean() - 0.7) < 5 * math.sqrt(0.21 / channels.size)
    np.testing.assert_allclose(y.data[kept], x.data[kept] / 0.7, rtol=1e-6)


def test_dropout2d_on_3d_input_warns_like_torch():
    with pytest.warns(UserWarning, match="3D input"):
        F.dropout2d(em.randn(2, 3, 4), 0.5)


def test_dropout1d_rejects_other_ranks():
    with pytest.raises(em.ShapeError, match=r"\(2, 3, 4, 5\)"):
        F.dropout1d(em.randn(2, 3, 4, 5), 0.5)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_alpha_dropout_keeps_mean_zero_and_std_one(p):
    x = em.randn(1000, 1000)
    y = F.alpha_dropout(x, p, training=True)
    assert abs(y.data.mean()) < 0.01  # ~10 standard errors
    assert abs(y.data.std() - 1.0) < 0.01
    # two kinds of values: a * x + b where kept, one constant where dropped
    alpha = 1.7580993408473766
    a = 1 / math.sqrt((alpha**2 * p + 1) * (1 - p))
    dropped = np.isclose(y.data, alpha * a * (p - 1))
    assert abs(dropped.mean() - p) < 0.01
    np.testing.assert_allclose(y.data[~dropped], a * x.data[~dropped] + alpha * a * p, rtol=1e-5, atol=1e-6)


def test_alpha_dropout_matches_torch_values_on_the_same_mask():
    # torch's alpha dropout of x with mask m equals ours: recover our mask, then replay torch's formula
    x = em.randn(300, 200, dtype=em.float64)
    y = F.alpha_dropout(x, 0.3, training=True)
    alpha, p = 1.7580993408473766, 0.3
    a = 1 / math.sqrt((alpha**2 * p + 1) * (1 - p))
    mask = ~np.isclose(y.data, alpha * a * (p - 1))
    noise = torch.tensor(mask, dtype=torch.float64)
    b = (noise - 1) * (alpha * a) + alpha * a * p
    ref = torch.tensor(x.data) * (noise * a) + b
    np.testing.assert_allclose(y.data, ref.numpy(), rtol=1e-12, atol=1e-12)


def test_alpha_dropout_gradient_and_default_eval():
    x = em.randn(40, 50, requires_grad=True)
    assert F.alpha_dropout(x, 0.5) is x  # training defaults to False, as in torch
    y = F.alpha_dropout(x, 0.5, training=True)
    y.sum().backward()
    alpha = 1.7580993408473766
    a = 1 / math.sqrt((alpha**2 * 0.5 + 1) * 0.5)
    kept = ~np.isclose(y.data, alpha * a * -0.5)
    np.testing.assert_allclose(x.grad.data, kept * a, rtol=1e-6)


def test_feature_alpha_dropout_drops_whole_channels_and_keeps_stats():
    x = em.randn(200, 100, 4, 5)
    y = F.feature_alpha_dropout(x, 0.4, training=True)
    alpha = 1.7580993408473766
    a = 1 / math.sqrt((alpha**2 * 0.4 + 1) * 0.6)
    dropped = np.isclose(y.data, alpha * a * -0.6).all((2, 3))
    kept = ~np.isclose(y.data, alpha * a * -0.6).any((2, 3))
    assert np.array_equal(dropped, ~kept)
    assert abs(y.data.mean()) < 0.02 and abs(y.data.std() - 1) < 0.02


def test_inplace_dropout_writes_into_the_input():
    x = em.ones(100, 100)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x
    assert set(np.unique(x.data)) == {0.0, 2.0}
    leaf = em.ones(3, requires_grad=True)
    with pytest.raises(em.AutogradError, match="in-place"):
        F.dropout(leaf, 0.5, inplace=True)
    h = leaf * 1.0
    out = F.dropout(h, 0.5, inplace=True)
    out.sum().backward()
    np.testing.assert_array_equal(leaf.grad.data, out.data)  # input ones: grad equals output (mask * 2)


def test_dropout_on_float64_and_empty_input():
    y = F.dropout(em.ones(10, 10, dtype=em.float64), 0.5)
    assert y.dtype == em.float64
    e = em.zeros(0, 5)
    assert F.dropout(e, 0.5).shape == (0, 5)


def test_dropout_rejects_integer_input():
    with pytest.raises(em.DTypeError, match="int64"):
        F.dropout(em.tensor([1, 2, 3]), 0.5)


def test_dropout_ops_are_exported():
    for name in ALL:
        assert name in F.__all__
