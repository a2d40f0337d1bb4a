"""Loss functions against PyTorch: values, gradients, finite differences, extremes, errors, modules.

Tolerances: float32 forward and gradient atol 1e-5, rtol 1e-4 (check_op's default) unless
stated; float64 finite differences atol 1e-5, rtol 1e-3 (check_gradcheck's default).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import ember as em
import ember.nn as enn
import ember.nn.functional as F
from ember.autograd import gradgradcheck
from ember.errors import AutogradError, DTypeError, ShapeError
from ember.ops import loss as loss_ops
from tests.helpers import check_gradcheck, check_op, make_array

REDUCTIONS = ["none", "mean", "sum"]
_rng = np.random.default_rng(7)


def _labels(shape, n_classes, ignore=(), low=0):
    y = _rng.integers(low, n_classes, shape)
    for index in ignore:
        y[index] = -100
    return y


def _probs(shape, axis=1):
    p = _rng.random(shape).astype(np.float32) + 0.05
    return p / p.sum(axis=axis, keepdims=True)


def _weight(n):
    return _rng.uniform(0.2, 2.0, n).astype(np.float32)


def _pair(name, **kw):
    """The same functional call in ember and torch; ``weight``-like arrays become constants of each."""
    consts = {k: v for k, v in kw.items() if isinstance(v, np.ndarray)}
    plain = {k: v for k, v in kw.items() if k not in consts}

    def ember_fn(*xs):
        return getattr(F, name)(*xs, **plain, **{k: em.Tensor(v) for k, v in consts.items()})

    def torch_fn(*xs):
        return getattr(TF, name)(*xs, **plain, **{k: torch.from_numpy(v) for k, v in consts.items()})

    return ember_fn, torch_fn


def _const_last(fn, tfn, last):
    """``fn`` and ``tfn`` with a constant (non-differentiable) last argument, such as a +-1 target."""
    return (lambda *xs: fn(*xs, em.Tensor(last))), (lambda *xs: tfn(*xs, torch.from_numpy(last)))


# ------------------------------------------------------------- cross entropy
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_class_indices(reduction, weighted, ignore, smoothing):
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    if weighted:
        kw["weight"] = _weight(5)
    y = _labels((7,), 5, ignore=(1, 4) if ignore else ())
    fn, tfn = _pair("cross_entropy", **kw)
    check_op(None, fn, tfn, inputs=[make_array((7, 5), low=-3, high=3), y])


@pytest.mark.parametrize("layout", ["transposed", "sliced"])
def test_cross_entropy_non_contiguous_logits(layout):
    fn, tfn = _pair("cross_entropy", weight=_weight(6), label_smoothing=0.1)
    x = make_array((5, 6), layout=layout)
    check_op(None, fn, tfn, inputs=[x, _labels((5,), 6)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_k_dimensional(reduction, smoothing):
    fn, tfn = _pair(
        "cross_entropy", weight=_weight(4), ignore_index=-100, reduction=reduction, label_smoothing=smoothing
    )
    y = _labels((2, 3, 5), 4, ignore=((0, 1, 2), (1, 0, 0)))
    check_op(None, fn, tfn, inputs=[make_array((2, 4, 3, 5)), y])
    fn, tfn = _pair("cross_entropy", reduction=reduction, label_smoothing=smoothing)
    check_op(None, fn, tfn, inputs=[make_array((3, 4, 6)), _labels((3, 6), 4)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_cross_entropy_class_probabilities(reduction, weighted, smoothing):
    # the target is differentiable too: both gradients are compared
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    if weighted:
        kw["weight"] = _weight(5)
    fn, tfn = _pair("cross_entropy", **kw)
    check_op(None, fn, tfn, inputs=[make_array((6, 5)), _probs((6, 5))])
    check_op(None, fn, tfn, inputs=[make_array((2, 5, 3)), _probs((2, 5, 3))])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_unbatched(reduction):
    fn, tfn = _pair("cross_entropy", weight=_weight(5), reduction=reduction, label_smoothing=0.1)
    check_op(None, fn, tfn, inputs=[make_array((5,)), np.array(3)])
    check_op(None, fn, tfn, inputs=[make_array((5,)), _probs((5,), axis=0)])


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_all_ignored_gives_nan_mean_and_zero_gradient(smoothing, weighted):
    kw = {"label_smoothing": smoothing}
    if weighted:
        kw["weight"] = _weight(3)
    fn, tfn = _pair("cross_entropy", **kw)
    y = np.full(4, -100)
    out = check_op(None, fn, tfn, inputs=[make_array((4, 3)), y])
    assert np.isnan(out.item())
    fn, tfn = _pair("cross_entropy", reduction="sum", **kw)
    assert check_op(None, fn, tfn, inputs=[make_array((4, 3)), y]).item() == 0.0


def test_cross_entropy_empty_batch_mean_is_nan():
    fn, tfn = _pair("cross_entropy")
    assert np.isnan(check_op(None, fn, tfn, inputs=[make_array((0, 3)), np.zeros(0, np.int64)]).item())


@pytest.mark.parametrize("dtype", [np.int32, np.uint8])
def test_cross_entropy_accepts_int32_and_uint8_indices(dtype):
    x = make_array((6, 4))
    y = _labels((6,), 4)
    check_op(
        None,
        lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1),
        lambda a, b: TF.cross_entropy(a, b.long(), label_smoothing=0.1),
        inputs=[x, y.astype(dtype)],
    )


def test_cross_entropy_ignore_index_inside_class_range():
    fn, tfn = _pair("cross_entropy", weight=_weight(4), ignore_index=2, label_smoothing=0.1)
    y = np.array([0, 2, 3, 2, 1])
    check_op(None, fn, tfn, inputs=[make_array((5, 4)), y])


def test_cross_entropy_float64():
    fn, tfn = _pair("cross_entropy", weight=_weight(5).astype(np.float64), label_smoothing=0.2)
    check_op(None, fn, tfn, inputs=[make_array((4, 5), np.float64), _labels((4,), 5)], atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradcheck_and_second_order(reduction):
    w = em.Tensor(_weight(3).astype(np.float64))
    y = em.Tensor(np.array([0, 2, -100, 1]))
    y3 = em.Tensor(np.array([[0, 2], [1, -100]]))
    q = make_array((4, 3), np.float64, 0.1, 1.0)
    for smoothing in (0.0, 0.3):

        def by_index(a, s=smoothing):
            return F.cross_entropy(a, y, w, reduction=reduction, label_smoothing=s)

        def by_probs(a, b, s=smoothing):
            return F.cross_entropy(a, b, w, reduction=reduction, label_smoothing=s)

        def k_dim(a, s=smoothing):
            return F.cross_entropy(a, y3, w, reduction=reduction, label_smoothing=s)

        check_gradcheck([(4, 3)], by_index)
        check_gradcheck(None, by_probs, inputs=[make_array((4, 3), np.float64), q])
        x = em.Tensor(make_array((4, 3), np.float64), requires_grad=True)
        assert gradgradcheck(by_index, [x])
        assert gradgradcheck(by_probs, [x, em.Tensor(q.copy(), requires_grad=True)])
        assert gradgradcheck(k_dim, [em.Tensor(make_array((2, 3, 2), np.float64), requires_grad=True)])


def test_cross_entropy_matches_its_composition():
    x = em.Tensor(make_array((8, 6)), requires_grad=True)
    y = em.Tensor(_labels((8,), 6, ignore=(3,)))
    w = em.Tensor(_weight(6))
    fused = F.cross_entropy(x, y, w)
    (g_fused,) = em.grad(fused, [x])
    composed = F.nll_loss(F.log_softmax(x, 1), y, w)
    (g_composed,) = em.grad(composed, [x])
    np.testing.assert_allclose(fused.data, composed.data, rtol=1e-6)
    np.testing.assert_allclose(g_fused.data, g_composed.data, atol=1e-7)


# ----------------------------------------------------------------------- nll
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(reduction, weighted):
    kw = {"reduction": reduction}
    if weighted:
        kw["weight"] = _weight(5)
    fn, tfn = _pair("nll_loss", **kw)
    check_op(None, fn, tfn, inputs=[make_array((6, 5)), _labels((6,), 5, ignore=(2,))])
    check_op(None, fn, tfn, inputs=[make_array((2, 5, 4)), _labels((2, 4), 5, ignore=((0, 1),))])
    check_op(None, fn, tfn, inputs=[make_array((5,)), np.array(1)])


def test_nll_loss_all_ignored_mean_is_nan():
    fn, tfn = _pair("nll_loss", weight=_weight(3))
    assert np.isnan(check_op(None, fn, tfn, inputs=[make_array((4, 3)), np.full(4, -100)]).item())


def test_nll_loss_gradcheck_and_second_order():
    w = em.Tensor(_weight(4).astype(np.float64))
    y = em.Tensor(np.array([[3, -100], [0, 1]]))
    for reduction in REDUCTIONS:

        def fn(a, r=reduction):
            return F.nll_loss(a, y, w, reduction=r)

        check_gradcheck([(2, 4, 2)], fn)
        assert gradgradcheck(fn, [em.Tensor(make_array((2, 4, 2), np.float64), requires_grad=True)])


# ---------------------------------------------------------- binary losses
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(reduction, weighted):
    kw = {"reduction": reduction}
    if weighted:
        kw["weight"] = _weight(4)  # broadcasts over the last dim
    fn, tfn = _pair("binary_cross_entropy", **kw)
    x = make_array((3, 4), low=0.02, high=0.98)
    t = make_array((3, 4), low=0.0, high=1.0)
    check_op(None, fn, tfn, inputs=[x, t], grad_rtol=1e-3)


def test_binary_cross_entropy_clamps_log_at_minus_100():
    fn, tfn = _pair("binary_cross_entropy", reduction="none")
    out = check_op(None, fn, tfn, inputs=[np.array([0.0, 1.0, 0.5], np.float32), np.array([1.0, 0.0, 1.0], np.float32)])
    np.testing.assert_allclose(out.data[:2], [100.0, 100.0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weighted", [False, True])
def test_binary_cross_entropy_with_logits(reduction, weighted, pos_weighted):
    kw = {"reduction": reduction}
    if weighted:
        kw["weight"] = _weight(5)
    if pos_weighted:
        kw["pos_weight"] = _weight(5) * 2  # one per class: broadcast over the last dim
    fn, tfn = _pair("binary_cross_entropy_with_logits", **kw)
    t = make_array((2, 3, 5), low=0.0, high=1.0)
    check_op(None, fn, tfn, inputs=[make_array((2, 3, 5), low=-4, high=4), t])
    check_op(None, fn, tfn, inputs=[make_array((5,)), t[0, 0]])


def test_binary_losses_gradcheck_and_second_order():
    w = em.Tensor(_weight(3).astype(np.float64))
    pw = em.Tensor(_weight(3).astype(np.float64))
    t = make_array((4, 3), np.float64, 0.0, 1.0)
    p = make_array((4, 3), np.float64, 0.1, 0.9)
    for reduction in REDUCTIONS:

        def logits(a, b, r=reduction):
            return F.binary_cross_entropy_with_logits(a, b, w, reduction=r, pos_weight=pw)

        def probs(a, b, r=reduction):
            return F.binary_cross_entropy(a, b, w, reduction=r)

        check_gradcheck(None, logits, inputs=[make_array((4, 3), np.float64), t])
        check_gradcheck(None, probs, inputs=[p, t])
        xs = [em.Tensor(make_array((4, 3), np.float64), requires_grad=True), em.Tensor(t.copy(), requires_grad=True)]
        assert gradgradcheck(logits, xs)
        assert gradgradcheck(probs, [em.Tensor(p.copy(), requires_grad=True), xs[1]])


# -------------------------------------------------------- stability at 1e8
def test_cross_entropy_finite_and_equal_to_torch_at_huge_logits():
    x = np.array([[1e8, -1e8, 0.0], [-1e8, 1e8, 3.0], [0.0, 0.0, -1e8]], np.float32)
    targets = [
        np.array([0, 0, 2]),
        np.array([1, 1, 0]),
        np.array([[0.5, 0.5, 0], [0.2, 0.3, 0.5], [1, 0, 0]], np.float32),
    ]
    for y in targets:
        for smoothing in (0.0, 0.1):
            fn, tfn = _pair("cross_entropy", reduction="none", label_smoothing=smoothing)
            out = check_op(None, fn, tfn, inputs=[x, y], rtol=1e-6, grad=y.dtype.kind != "f")
            assert np.isfinite(out.data).all()


def test_bce_with_logits_finite_and_equal_to_torch_at_huge_logits():
    x = np.array([1e8, -1e8, 1e8, -1e8, 0.0], np.float32)
    y = np.array([1, 1, 0, 0, 0.3], np.float32)
    for pw in (None, np.array([2.0], np.float32)):
        fn, tfn = _pair(
            "binary_cross_entropy_with_logits", reduction="none", **({} if pw is None else {"pos_weight": pw})
        )
        out = check_op(None, fn, tfn, inputs=[x, y], rtol=1e-6)
        assert np.isfinite(out.data).all()


# ---------------------------------------------------------- regression losses
REGRESSION = [
    ("mse_loss", {}),
    ("l1_loss", {}),
    ("smooth_l1_loss", {}),
    ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 0.0}),
    ("huber_loss", {}),
    ("huber_loss", {"delta": 2.0}),
    ("soft_margin_loss", {}),
]


@pytest.mark.parametrize("name,kw", REGRESSION, ids=[n + str(kw) for n, kw in REGRESSION])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(name, kw, reduction):
    fn, tfn = _pair(name, reduction=reduction, **kw)
    if name == "soft_margin_loss":  # torch gives no gradient for its target
        t = np.sign(make_array((4, 5))).astype(np.float32)
        check_op(None, *_const_last(fn, tfn, t), inputs=[make_array((4, 5), low=-3, high=3)])
        return
    check_op([(4, 5), (4, 5)], fn, tfn, low=-3, high=3)
    check_op([(3, 4), (3, 4)], fn, tfn, layout="transposed")


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_with_weight(name, reduction):
    check_op(
        None,
        lambda a, b, w: getattr(F, name)(a, b, reduction=reduction, weight=w),
        lambda a, b, w: getattr(TF, name)(a, b, reduction=reduction, weight=w),
        inputs=[make_array((3, 4)), make_array((3, 4)), make_array((3, 4), low=0.1, high=1.0)],
    )


def test_regression_broadcast_warns_like_torch():
    fn, tfn = _pair("mse_loss")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_op([(3, 4), (4,)], fn, tfn)
    mine = [w for w in caught if "mse_loss" in str(w.message)]
    assert mine and "(3, 4)" in str(mine[0].message) and "(4,)" in str(mine[0].message)
    assert mine[0].filename == __file__


def test_regression_gradcheck_and_second_order():
    for name, kw in REGRESSION:
        for reduction in REDUCTIONS:

            def fn(a, b, n=name, k=kw, r=reduction):
                return getattr(F, n)(a, b, reduction=r, **k)

            check_gradcheck([(3, 4), (3, 4)], fn, low=-3, high=3)
        xs = [em.Tensor(make_array((3, 4), np.float64, -3, 3), requires_grad=True) for _ in range(2)]
        assert gradgradcheck(fn, xs)


# ------------------------------------------------------------ composed losses
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    fn, tfn = _pair("kl_div", reduction=reduction, log_target=log_target)
    q = _probs((4, 5))
    x = np.log(_probs((4, 5)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's warning about 'mean'
        check_op(None, fn, tfn, inputs=[x, np.log(q) if log_target else q])
        check_gradcheck(None, fn, inputs=[x.astype(np.float64), (np.log(q) if log_target else q).astype(np.float64)])


def test_kl_div_zero_target_counts_nothing():
    fn, tfn = _pair("kl_div", reduction="sum")
    q = np.array([[0.0, 0.5, 0.5]], np.float32)
    check_op(None, *_const_last(fn, tfn, q), inputs=[np.log(_probs((1, 3)))])


@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_poisson_nll_loss(log_input, full, reduction):
    fn, tfn = _pair("poisson_nll_loss", log_input=log_input, full=full, reduction=reduction)
    x = make_array((4, 5), low=-1.0, high=1.0) if log_input else make_array((4, 5), low=0.1, high=3.0)
    t = make_array((4, 5), low=0.0, high=4.0)
    check_op(None, fn, tfn, inputs=[x, t])
    check_gradcheck(None, fn, inputs=[x.astype(np.float64), t.astype(np.float64)])


@pytest.mark.parametrize("var_shape", [(4, 5), (4,), (4, 1), (1, 5)])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_loss(var_shape, full, reduction):
    fn, tfn = _pair("gaussian_nll_loss", full=full, reduction=reduction)
    var = make_array(var_shape, low=0.2, high=2.0)
    check_op(None, fn, tfn, inputs=[make_array((4, 5)), make_array((4, 5)), var], rtol=1e-4, atol=3e-5)
    check_gradcheck(
        None, fn, inputs=[make_array((4, 5), np.float64), make_array((4, 5), np.float64), var.astype(np.float64)]
    )


def test_gaussian_nll_loss_clamps_var_but_passes_its_gradient():
    fn, tfn = _pair("gaussian_nll_loss", eps=1e-2)
    var = np.array([[1e-4, 0.5, 1e-3], [2.0, 0.0, 1.0]], np.float32)
    check_op(None, fn, tfn, inputs=[make_array((2, 3)), make_array((2, 3)), var], rtol=1e-4, atol=1e-4)
    out = F.gaussian_nll_loss(em.tensor([1.0, 2.0]), em.tensor([0.0, 0.0]), 0.5, reduction="none")
    ref = TF.gaussian_nll_loss(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 0.0]), 0.5, reduction="none")
    np.testing.assert_allclose(out.data, ref.numpy(), rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.4])
def test_cosine_embedding_and_margin_ranking(reduction, margin):
    y = np.array([1.0, -1.0, 1.0, -1.0, -1.0], np.float32)
    fn, tfn = _pair("cosine_embedding_loss", margin=margin, reduction=reduction)
    check_op(None, *_const_last(fn, tfn, y), inputs=[make_array((5, 3)), make_array((5, 3))])
    check_op(None, *_const_last(fn, tfn, y[1:2].reshape(())), inputs=[make_array((3,)), make_array((3,))])
    check_gradcheck(
        None,
        lambda a, b: F.cosine_embedding_loss(a, b, em.Tensor(y), margin, reduction=reduction),
        inputs=[make_array((5, 3), np.float64), make_array((5, 3), np.float64)],
    )
    fn, tfn = _pair("margin_ranking_loss", margin=margin, reduction=reduction)
    check_op(None, *_const_last(fn, tfn, y), inputs=[make_array((5,)), make_array((5,))])
    check_gradcheck(
        None,
        lambda a, b: F.margin_ranking_loss(a, b, em.Tensor(y), margin, reduction=reduction),
        inputs=[make_array((5,), np.float64), make_array((5,), np.float64)],
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_embedding_loss(reduction):
    y = np.sign(make_array((4, 5))).astype(np.float32)
    fn, tfn = _pair("hinge_embedding_loss", margin=0.7, reduction=reduction)
    check_op(None, *_const_last(fn, tfn, y), inputs=[make_array((4, 5))])
    check_gradcheck(
        None,
        lambda a: F.hinge_embedding_loss(a, em.Tensor(y), 0.7, reduction=reduction),
        inputs=[make_array((4, 5), np.float64)],
    )


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_triplet_margin_loss(p, swap, reduction):
    fn, tfn = _pair("triplet_margin_loss", margin=0.7, p=p, swap=swap, reduction=reduction)
    check_op([(5, 4), (5, 4), (5, 4)], fn, tfn)
    check_op([(4,), (4,), (4,)], fn, tfn)
    check_gradcheck([(3, 4), (3, 4), (3, 4)], fn)


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_loss(p, weighted, reduction):
    kw = {"p": p, "margin": 0.8, "reduction": reduction}
    if weighted:
        kw["weight"] = _weight(5)
    fn, tfn = _pair("multi_margin_loss", **kw)
    check_op(None, fn, tfn, inputs=[make_array((6, 5)), _labels((6,), 5)])
    check_op(None, fn, tfn, inputs=[make_array((5,)), np.array(2)])
    y = em.Tensor(_labels((3,), 5))
    check_gradcheck([(3, 5)], lambda a: F.multi_margin_loss(a, y, p, 0.8, reduction=reduction))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_soft_margin_loss(weighted, reduction):
    kw = {"reduction": reduction}
    if weighted:
        kw["weight"] = _weight(5)
    fn, tfn = _pair("multilabel_soft_margin_loss", **kw)
    t = (make_array((4, 5), low=0, high=1) > 0.5).astype(np.float32)
    check_op(None, fn, tfn, inputs=[make_array((4, 5)), t])
    check_gradcheck(None, fn, inputs=[make_array((4, 5), np.float64), t.astype(np.float64)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss(reduction):
    fn, tfn = _pair("multilabel_margin_loss", reduction=reduction)
    y = np.array([[3, 0, -1, 1, 2], [1, 1, 4, -1, -1], [-1, 2, 2, 2, 2], [0, 1, 2, 3, 4]])
    check_op(None, fn, tfn, inputs=[make_array((4, 5)), y])
    check_op(None, fn, tfn, inputs=[make_array((5,)), y[0]])
    check_gradcheck([(4, 5)], lambda a: F.multilabel_margin_loss(a, em.Tensor(y), reduction=reduction))


# --------------------------------------------------- similarity and distance
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cosine_similarity(dim):
    fn, tfn = _pair("cosine_similarity", dim=dim)
    check_op([(4, 5), (4, 5)], fn, tfn)
    check_op([(2, 3, 4), (2, 3, 4)], fn, tfn, layout="transposed")
    check_gradcheck([(3, 4), (3, 4)], fn)


def test_cosine_similarity_broadcasts_and_clamps_small_norms():
    fn, tfn = _pair("cosine_similarity", eps=1e-2)
    check_op([(4, 5), (1, 5)], fn, tfn)
    tiny = make_array((3, 4)) * 1e-4
    check_op(None, fn, tfn, inputs=[tiny, make_array((3, 4))], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance(p, keepdim):
    fn, tfn = _pair("pairwise_distance", p=p, keepdim=keepdim)
    check_op([(4, 5), (4, 5)], fn, tfn)
    check_op([(4, 5), (5,)], fn, tfn)
    check_op([(5,), (5,)], fn, tfn)
    if p != float("inf"):
        check_gradcheck([(3, 4), (3, 4)], fn)


# ----------------------------------------------------------------------- CTC
def _ctc_problem(n_time, batch, n_classes, max_len, blank, impossible=False):
    il = _rng.integers(max(1, n_time // 2), n_time + 1, batch)
    il[0] = n_time
    tl = _rng.integers(0, max_len + 1, batch)
    tl[0] = max_len
    labels = [c for c in range(n_classes) if c != blank]
    padded = _rng.choice(labels, (batch, max_len))
    padded[1, :] = labels[0]  # repeated labels need a blank between them
    if impossible:
        il[-1], tl[-1] = 1, 2  # two labels cannot fit in one frame
    return make_array((n_time, batch, n_classes)), padded, il, tl


def _concatenated(padded, tl):
    return np.concatenate([padded[b, : tl[b]] for b in range(len(tl))])


@pytest.mark.parametrize("layout", ["padded", "concatenated"])
@pytest.mark.parametrize("blank", [0, 3])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ctc_loss_matches_torch(layout, blank, reduction):
    logits, padded, il, tl = _ctc_problem(9, 4, 5, 3, blank)
    targets = padded if layout == "padded" else _concatenated(padded, tl)

    def fn(x, y):
        return F.ctc_loss(F.log_softmax(x, 2), y, em.Tensor(il), tuple(tl.tolist()), blank, reduction)

    def tfn(x, y):
        return TF.ctc_loss(TF.log_softmax(x, 2), y, torch.from_numpy(il), torch.from_numpy(tl), blank, reduction)

    check_op(None, fn, tfn, inputs=[logits, targets], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ctc_loss_impossible_alignment(zero_infinity, reduction):
    logits, padded, il, tl = _ctc_problem(8, 3, 4, 3, 0, impossible=True)
    targets = _concatenated(padded, tl)

    def fn(x, y):
        return F.ctc_loss(F.log_softmax(x, 2), y, il.tolist(), tl.tolist(), 0, reduction, zero_infinity)

    def tfn(x, y):
        return TF.ctc_loss(
            TF.log_softmax(x, 2), y, torch.from_numpy(il), torch.from_numpy(tl), 0, reduction, zero_infinity
        )

    x = em.Tensor(logits.copy(), requires_grad=True)
    xt = torch.from_numpy(logits.copy()).requires_grad_()
    out = fn(x, em.Tensor(targets))
    ref = tfn(xt, torch.from_numpy(targets))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-4)
    if reduction == "none":
        assert (out.data[-1] == 0.0) if zero_infinity else np.isinf(out.data[-1])
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_array_equal(np.isnan(x.grad.data), np.isnan(xt.grad.numpy()))
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), atol=1e-5, equal_nan=True)
    assert zero_infinity == np.isfinite(x.grad.data).all()


def test_ctc_loss_gradient_is_exact():
    # finite differences on log-probabilities, and PyTorch's gradient minus its exp(log_probs) term
    lp = np.log(_rng.dirichlet(np.ones(4), (6, 2)))
    targets = em.Tensor(np.array([[1, 2, 2], [3, 3, 0]]))
    for reduction in REDUCTIONS:
        check_gradcheck(None, lambda a, r=reduction: F.ctc_loss(a, targets, (6, 5), (3, 2), 0, r), inputs=[lp])
    x = em.Tensor(lp.copy(), requires_grad=True)
    xt = torch.from_numpy(lp.copy()).requires_grad_()
    F.ctc_loss(x, targets, (6, 5), (3, 2), reduction="sum").backward()
    TF.ctc_loss(xt, torch.from_numpy(targets.data), (6, 5), (3, 2), reduction="sum").backward()
    frames = (np.arange(6)[:, None] < np.array([6, 5])[None, :])[:, :, None]
    np.testing.assert_allclose(x.grad.data + np.exp(lp) * frames, xt.grad.numpy(), atol=1e-10)


def test_ctc_loss_unbatched_and_float64():
    logits, padded, il, tl = _ctc_problem(7, 2, 5, 3, 0)
    lp = TF.log_softmax(torch.from_numpy(logits[:, 0].astype(np.float64)), 1).numpy()
    out = F.ctc_loss(em.Tensor(lp), em.Tensor(padded[0]), 7, 3, reduction="none")
    ref = TF.ctc_loss(
        torch.from_numpy(lp), torch.from_numpy(padded[0]), torch.tensor(7), torch.tensor(3), reduction="none"
    )
    assert out.shape == tuple(ref.shape) == ()
    np.testing.assert_allclose(out.data, ref.numpy(), rtol=1e-12)


def test_ctc_loss_second_order_raises():
    lp = em.Tensor(np.log(_rng.dirichlet(np.ones(4), (5, 1))), requires_grad=True)
    loss = F.ctc_loss(lp, em.Tensor(np.array([[1, 2]])), (5,), (2,))
    (g,) = em.grad(loss, [lp], create_graph=True)
    with pytest.raises(AutogradError, match="ctc_loss"):
        em.grad(g.sum(), [lp])


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda x: F.ctc_loss(x, em.tensor([[1, 2], [1, 5]]), (5, 5), (2, 2)), IndexError, "label 5.*4 classes"),
        (lambda x: F.ctc_loss(x, em.tensor([[1, 2], [1, 3]]), (6, 5), (2, 2)), ValueError, "at most T=5"),
        (lambda x: F.ctc_loss(x, em.tensor([1, 2, 1]), (5, 5), (2, 2)), ShapeError, "sum\\(target_lengths\\)=4"),
        (lambda x: F.ctc_loss(x, em.tensor([[1, 2], [1, 3]]), (5, 5), (3, 2)), ShapeError, "padded length 2"),
        (lambda x: F.ctc_loss(x, em.tensor([[1, 2], [1, 3]]), (5, 5), (2, 2), blank=4), ValueError, "blank"),
        (lambda x: F.ctc_loss(x, em.tensor([[1, 2], [1, 3]]), (5,), (2, 2)), ShapeError, "input_lengths"),
    ],
)
def test_ctc_loss_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(em.randn(5, 2, 4))


# --------------------------------------------------------------------- errors
def test_cross_entropy_float_target_of_index_shape_suggests_class_indices():
    with pytest.raises(DTypeError) as info:
        F.cross_entropy(em.randn(4, 3), em.rand(4))
    msg = str(info.value)
    assert "class indices as an int64 tensor of shape (4,)" in msg
    assert "class probabilities of shape (4, 3)" in msg and ".long()" in msg


def test_cross_entropy_int_target_of_input_shape_suggests_float():
    with pytest.raises(DTypeError, match=r"\.float\(\).*argmax"):
        F.cross_entropy(em.randn(4, 3), em.tensor([[0, 1, 0]] * 4))


def test_cross_entropy_wrong_target_shape_names_both_shapes():
    with pytest.raises(ShapeError, match=r"shape \(3,\) for input of shape \(4, 3\)"):
        F.cross_entropy(em.randn(4, 3), em.tensor([0, 1, 2]))


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
@pytest.mark.parametrize("bad", [5, -1])
def test_class_index_out_of_range_names_index_and_classes(fn, bad):
    with pytest.raises(IndexError, match=f"index {bad} .*3 classes"):
        fn(em.randn(4, 3), em.tensor([0, 1, bad, 0]))


def test_class_weight_of_wrong_size():
    with pytest.raises(ShapeError, match=r"\(3,\).*\(2,\)"):
        F.cross_entropy(em.randn(4, 3), em.tensor([0, 1, 2, 0]), weight=em.rand(2))


def test_bad_reduction_and_smoothing_are_value_errors():
    with pytest.raises(ValueError, match="'avg'"):
        F.mse_loss(em.randn(3), em.randn(3), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(em.randn(4, 3), em.tensor([0, 1, 2, 0]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="ignore_index"):
        F.cross_entropy(em.randn(4, 3), em.rand(4, 3), ignore_index=1)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "soft_margin_loss"])
def test_elementwise_loss_shape_mismatch_names_both_shapes(name):
    with pytest.raises(ShapeError, match=r"\(4, 3\).*\(5,\)"):
        getattr(F, name)(em.randn(4, 3), em.randn(5))


@pytest.mark.parametrize("name", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_binary_losses_need_equal_shapes(name):
    with pytest.raises(ShapeError, match=r"\(4,\).*\(4, 3\)"):
        getattr(F, name)(em.rand(4, 3), em.rand(4))


def test_binary_cross_entropy_checks_range():
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(em.tensor([0.5, 1.5]), em.tensor([0.0, 1.0]))


def test_legacy_size_average_and_reduce():
    x, y = em.randn(4, 3), em.tensor([0, 1, 2, 0])
    assert F.cross_entropy(x, y, None, False).item() == pytest.approx(F.cross_entropy(x, y, reduction="sum").item())
    assert F.nll_loss(x, y, reduce=False).shape == (4,)


def test_functional_exports():
    for name in loss_ops.__all__:
        assert getattr(F, name) is getattr(loss_ops, name)


# -------------------------------------------------------------------- modules
def _module_cases():
    w5 = _weight(5)
    pw = _weight(5) * 2
    y = _labels((6,), 5, ignore=(2,))
    return [
        ("CrossEntropyLoss", {"weight": w5, "ignore_index": -100, "label_smoothing": 0.1}, [make_array((6, 5)), y]),
        ("CrossEntropyLoss", {"reduction": "sum"}, [make_array((6, 5)), _probs((6, 5))]),
        ("NLLLoss", {"weight": w5, "reduction": "none"}, [make_array((6, 5)), y]),
        ("BCELoss", {"weight": w5}, [make_array((3, 5), low=0.05, high=0.95), make_array((3, 5), low=0, high=1)]),
        ("BCEWithLogitsLoss", {"pos_weight": pw}, [make_array((3, 5)), make_array((3, 5), low=0, high=1)]),
        (
            "BCEWithLogitsLoss",
            {"weight": w5, "reduction": "none"},
            [make_array((3, 5)), make_array((3, 5), low=0, high=1)],
        ),
        ("MSELoss", {}, [make_array((3, 5)), make_array((3, 5))]),
        ("L1Loss", {"reduction": "sum"}, [make_array((3, 5)), make_array((3, 5))]),
        ("SmoothL1Loss", {"beta": 0.5}, [make_array((3, 5)), make_array((3, 5))]),
        ("HuberLoss", {"delta": 0.7}, [make_array((3, 5)), make_array((3, 5))]),
        ("KLDivLoss", {"reduction": "batchmean", "log_target": True}, [np.log(_probs((3, 5))), np.log(_probs((3, 5)))]),
        ("PoissonNLLLoss", {"full": True}, [make_array((3, 5)), make_array((3, 5), low=0, high=4)]),
        (
            "GaussianNLLLoss",
            {"full": True},
            [make_array((3, 5)), make_array((3, 5)), make_array((3, 1), low=0.1, high=1)],
        ),
        ("TripletMarginLoss", {"margin": 0.5, "p": 1.0, "swap": True}, [make_array((4, 3)) for _ in range(3)]),
        ("MultiMarginLoss", {"p": 2, "weight": w5}, [make_array((6, 5)), _labels((6,), 5)]),
        ("MultiLabelSoftMarginLoss", {"weight": w5}, [make_array((3, 5)), make_array((3, 5), low=0, high=1)]),
        ("CosineSimilarity", {"dim": 0}, [make_array((4, 3)), make_array((4, 3))]),
        ("PairwiseDistance", {"p": 1.0, "keepdim": True}, [make_array((4, 3)), make_array((4, 3))]),
    ]


@pytest.mark.parametrize("index", range(18))
def test_loss_modules_match_torch(index):
    name, kw, inputs = _module_cases()[index]
    mine = getattr(enn, name)(**{k: em.Tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})
    theirs = getattr(tnn, name)(**{k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})
    check_op(None, mine, theirs, inputs=inputs, atol=3e-5)


@pytest.mark.parametrize("name", ["CosineEmbeddingLoss", "MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss"])
def test_signed_target_loss_modules_match_torch(name):
    y = np.array([1.0, -1.0, -1.0, 1.0], np.float32)
    kw = {"margin": 0.3} if name != "SoftMarginLoss" else {}
    mine, theirs = getattr(enn, name)(**kw), getattr(tnn, name)(**kw)
    if name == "CosineEmbeddingLoss":
        inputs = [make_array((4, 3)), make_array((4, 3))]
    elif name == "MarginRankingLoss":
        inputs = [make_array((4,)), make_array((4,))]
    else:
        inputs = [make_array((4,))]
    check_op(None, lambda *xs: mine(*xs, em.Tensor(y)), lambda *xs: theirs(*xs, torch.from_numpy(y)), inputs=inputs)


def test_ctc_loss_module_matches_torch():
    logits, padded, il, tl = _ctc_problem(8, 3, 6, 3, 2, impossible=True)
    mine, theirs = enn.CTCLoss(blank=2, zero_infinity=True), tnn.CTCLoss(blank=2, zero_infinity=True)
    check_op(
        None,
        lambda x, y: mine(F.log_softmax(x, 2), y, em.Tensor(il), em.Tensor(tl)),
        lambda x, y: theirs(TF.log_softmax(x, 2), y, torch.from_numpy(il), torch.from_numpy(tl)),
        inputs=[logits, padded],
    )


@pytest.mark.parametrize("target", ["indices", "probabilities"])
def test_cross_entropy_backward_twice_through_retained_graph(target):
    # the first backward hands its prepared gradient over; the second recomputes it
    x = em.Tensor(make_array((5, 4)), requires_grad=True)
    y = em.Tensor(_labels((5,), 4)) if target == "indices" else em.Tensor(_probs((5, 4)), requires_grad=True)
    loss = F.cross_entropy(x, y, label_smoothing=0.1)
    loss.backward(retain_graph=True)
    first = x.grad.data.copy()
    loss.backward()
    np.testing.assert_allclose(x.grad.data, 2 * first, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name,kw", REGRESSION + [("binary_cross_entropy_with_logits", {})], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_elementwise_losses_on_0d_and_empty_inputs(name, kw, reduction):
    fn, tfn = _pair(name, reduction=reduction, **kw)
    for shape in [(), (0,), (2, 0, 3)]:
        x = make_array(shape)
        t = make_array(shape, low=0.0, high=1.0)
        if name == "soft_margin_loss":
            check_op(None, *_const_last(fn, tfn, np.asarray(np.sign(t - 0.5), np.float32)), inputs=[x])
        else:
            check_op(None, fn, tfn, inputs=[x, t])
