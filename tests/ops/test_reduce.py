"""Reductions, scans, sorting and selection against PyTorch, plus float64 gradchecks.

Forward tolerances are check_op's float32 defaults (atol 1e-5, rtol 1e-4) unless a
case states its own; gradchecks use central differences in float64 (atol 1e-5, rtol 1e-3).
Inputs of max/min/sort/median/kthvalue are random floats, so they have no ties unless a
test makes them on purpose.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember as em
from tests.helpers import check_gradcheck, check_op, make_array, rng

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning"),  # torch, on var with N <= correction
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),  # inf/NaN edge cases
    pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning"),
]


@pytest.fixture(autouse=True, scope="module")
def _torch_single_thread():
    """torch's intra-op thread pool spins between calls on this shared 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


SHAPE = (3, 4, 5)
DIMS = [None, 0, -1, (0, 2), (-1, 1)]


def _dims(dim, ndim):
    if dim is None:
        return tuple(range(ndim))
    return (dim,) if isinstance(dim, int) else tuple(dim)


def _torch_prod(x, dim=None, keepdim=False):
    """torch.prod takes one dim: reduce the dims one at a time, highest first."""
    if dim is None and not keepdim:
        return x.prod()
    out = x
    for d in sorted((d % max(x.dim(), 1) for d in _dims(dim, x.dim())), reverse=True):
        out = out.prod(d, keepdim=keepdim) if x.dim() else out.prod()
    return out


def _check(fn, torch_fn, dim, keepdim, shapes, **kwargs):
    """check_op of ``fn(x, dim, keepdim)`` (``torch_fn`` likewise; None: the same spelling)."""
    torch_fn = torch_fn or fn
    check_op(shapes, lambda x: fn(x, dim, keepdim), lambda x: torch_fn(x, dim, keepdim), **kwargs)


def _pm(shape, low=0.5, high=1.5):
    """Values with magnitude in [low, high] and random signs (products stay well scaled)."""
    r = rng()
    return (r.uniform(low, high, shape) * r.choice([-1.0, 1.0], shape)).astype(np.float32)


# (ember fn, torch fn or None when the same spelling works) for fn(x, dim, keepdim)
REDUCTIONS = {
    "sum": (lambda x, d, k: x.sum(d, k), None),
    "mean": (lambda x, d, k: x.mean(d, k), None),
    "nansum": (lambda x, d, k: x.nansum(d, k), None),
    "nanmean": (lambda x, d, k: x.nanmean(d, k), None),
    "prod": (lambda x, d, k: x.prod(d, k), lambda x, d, k: _torch_prod(x, d, k)),
    "amax": (lambda x, d, k: x.amax(d, k), lambda x, d, k: x.amax(() if d is None else d, k)),
    "amin": (lambda x, d, k: x.amin(d, k), lambda x, d, k: x.amin(() if d is None else d, k)),
    "var": (lambda x, d, k: x.var(d, keepdim=k), None),
    "var_c0": (lambda x, d, k: x.var(d, keepdim=k, correction=0), None),
    "std": (lambda x, d, k: x.std(d, keepdim=k), None),
    "var_mean": (lambda x, d, k: em.var_mean(x, d, keepdim=k), lambda x, d, k: torch.var_mean(x, d, keepdim=k)),
    "std_mean": (
        lambda x, d, k: em.std_mean(x, d, keepdim=k, correction=0),
        lambda x, d, k: torch.std_mean(x, d, keepdim=k, correction=0),
    ),
    "logsumexp": (lambda x, d, k: x.logsumexp(d, k), lambda x, d, k: x.logsumexp(_dims(d, x.dim()), k)),
    "norm_fro": (lambda x, d, k: x.norm(dim=d, keepdim=k), None),
    "norm_1": (lambda x, d, k: x.norm(1, d, k), None),
    "norm_3": (lambda x, d, k: x.norm(3, d, k), None),
    "norm_0.5": (lambda x, d, k: x.norm(0.5, d, k), None),
    "norm_inf": (lambda x, d, k: x.norm(float("inf"), d, k), None),
    "norm_-inf": (lambda x, d, k: x.norm(float("-inf"), d, k), None),
    "norm_0": (lambda x, d, k: x.norm(0, d, k), None),
}


def _reduction(name):
    fn, tfn = REDUCTIONS[name]
    return fn, (tfn or fn)


@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_matches_torch(name, dim):
    fn, tfn = _reduction(name)
    for keepdim in (False, True):
        inputs = [_pm(SHAPE)] if name == "prod" else None
        _check(fn, tfn, dim, keepdim, [SHAPE], inputs=inputs)


@pytest.mark.parametrize("layout", ["transposed", "sliced"])
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_non_contiguous(name, layout):
    fn, tfn = _reduction(name)
    for dim in (None, 1, (0, 2)):
        _check(fn, tfn, dim, False, [SHAPE], layout=layout, low=0.5)


@pytest.mark.parametrize("dim", [None, 0, -1, ()], ids=str)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_zero_dim_input(name, dim):
    fn, tfn = _reduction(name)
    if dim == () and name in ("prod", "logsumexp", "var_mean", "std_mean"):
        pytest.skip("torch does not take dim=() here")
    for keepdim in (False, True):
        _check(fn, tfn, dim, keepdim, [()], low=0.5)


EMPTY_OK = ["sum", "mean", "nansum", "nanmean", "prod", "var", "std", "logsumexp", "norm_fro", "norm_1", "norm_0"]


@pytest.mark.parametrize("dim", [None, 1, (0, 1), 2], ids=str)
@pytest.mark.parametrize("name", EMPTY_OK)
def test_reduction_over_size_zero_dims(name, dim):
    fn, tfn = _reduction(name)
    for keepdim in (False, True):
        _check(fn, tfn, dim, keepdim, [(2, 0, 3)])


def test_empty_dims_reduce_everything_like_torch():
    check_op([SHAPE], lambda x: x.sum(()), lambda x: x.sum(()))
    check_op([SHAPE], lambda x: x.mean([]), lambda x: x.mean([]))
    check_op([SHAPE], lambda x: x.amax(()), lambda x: x.amax(()))


# ------------------------------------------------------------- one-dim ops
DIM_OPS = {
    "max": lambda x, d, k: x.max(d, k),
    "min": lambda x, d, k: x.min(d, keepdim=k),
    "argmax": lambda x, d, k: x.argmax(d, k),
    "argmin": lambda x, d, k: x.argmin(dim=d, keepdim=k),
    "kthvalue": lambda x, d, k: x.kthvalue(2, d, k),
    "median": lambda x, d, k: x.median(d, k),
    "sort": lambda x, d, k: x.sort(d),
    "sort_desc": lambda x, d, k: x.sort(d, descending=True),
    "argsort": lambda x, d, k: x.argsort(d),
    "argsort_desc": lambda x, d, k: x.argsort(d, descending=True),
    "topk": lambda x, d, k: x.topk(2, d),
    "topk_smallest": lambda x, d, k: x.topk(3, d, largest=False),
    "topk_all": lambda x, d, k: x.topk(x.shape[d], d),
    "cumsum": lambda x, d, k: x.cumsum(d),
    "cumprod": lambda x, d, k: x.cumprod(d),
    "cummax": lambda x, d, k: x.cummax(d),
    "cummin": lambda x, d, k: x.cummin(d),
    "logcumsumexp": lambda x, d, k: x.logcumsumexp(d),
}


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced"])
@pytest.mark.parametrize("name", list(DIM_OPS))
def test_dim_op_matches_torch(name, layout):
    fn = DIM_OPS[name]
    for dim in (0, 1, -1):
        for keepdim in (False, True):
            inputs = [_pm(SHAPE)] if name == "cumprod" and layout == "contiguous" else None
            _check(fn, fn, dim, keepdim, [SHAPE], inputs=inputs, layout=layout)


ZERO_DIM_OPS = {**DIM_OPS, "kthvalue": lambda x, d, k: x.kthvalue(1, d, k), "topk": lambda x, d, k: x.topk(1, d)}


@pytest.mark.parametrize("name", [n for n in ZERO_DIM_OPS if n not in ("topk_smallest", "topk_all")])
def test_dim_op_zero_dim_input(name):
    fn = ZERO_DIM_OPS[name]
    for dim in (0, -1):
        for keepdim in (False, True):
            _check(fn, fn, dim, keepdim, [()])


@pytest.mark.parametrize("name", ["sort", "sort_desc", "argsort", "cumsum", "cumprod", "cummax", "logcumsumexp"])
def test_dim_op_over_size_zero_dim(name):
    fn = DIM_OPS[name]
    for dim in (1, 2):
        _check(fn, fn, dim, False, [(2, 0, 3)])


def test_max_min_over_nonempty_dim_of_empty_tensor():
    check_op([(2, 0, 3)], lambda x: x.max(2))
    check_op([(2, 0, 3)], lambda x: x.amin(0, keepdim=True))
    check_op([(0, 3)], lambda x: x.topk(0, 1))


@pytest.mark.parametrize("largest", [True, False])
def test_topk_partition_path(largest):
    # k much smaller than the dim: argpartition then sort the k
    for dim in (0, 1):
        _check(lambda x, d, k: x.topk(3, d, largest=k), None, dim, largest, [(40, 30)])


def test_topk_unsorted_returns_the_same_set():
    x = em.tensor(make_array((5, 30)))
    v = x.topk(4, 1, sorted=False).values.data
    np.testing.assert_array_equal(np.sort(v, 1), np.sort(torch.from_numpy(x.data).topk(4, 1).values.numpy(), 1))


def test_mode_matches_torch():
    for shape, dim in (((3, 4, 9), -1), ((6, 5), 0), ((7,), 0)):
        x = rng().integers(0, 4, shape).astype(np.float32)
        for keepdim in (False, True):
            _check(lambda t, d, k: t.mode(d, k), None, dim, keepdim, [], inputs=[x])
    check_op([], lambda t: t.mode(0), inputs=[np.array([1, 2, 2, 3, 3, 1, 1, 2])])  # ties: smallest value
    check_op([()], lambda t: t.mode())


def test_mode_and_median_of_integers():
    x = rng().integers(-5, 5, (4, 7)).astype(np.int64)
    check_op([], lambda t: t.mode(1), inputs=[x])
    check_op([], lambda t: t.median(), inputs=[x])
    check_op([], lambda t: t.median(), inputs=[x[:, :6]])  # even count: the lower median


# -------------------------------------------------------------- dtypes
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_])
def test_integer_sums_and_products_give_int64(dtype):
    for fn in (
        lambda x: x.sum(),
        lambda x: x.sum(1, True),
        lambda x: x.nansum(0),
        lambda x: x.prod(),
        lambda x: x.prod(1),
        lambda x: x.cumsum(1),
        lambda x: x.cumprod(0),
        lambda x: x.count_nonzero(),
        lambda x: x.count_nonzero((0, 1)),
        lambda x: x.all(),
        lambda x: x.any(1),
    ):
        check_op([(3, 4)], fn, dtype=dtype, low=-2, high=3)
    assert em.ones(3, dtype=em.int32).sum().dtype == em.int64


def test_integer_max_min_keep_their_dtype():
    for fn in (lambda x: x.max(), lambda x: x.amin(1), lambda x: x.max(0), lambda x: x.sort(1), lambda x: x.cummax(1)):
        check_op([(3, 4)], fn, dtype=np.int32, low=-50, high=50)


def test_all_any_of_uint8_give_uint8_and_of_floats_give_bool():
    check_op([(3, 4)], lambda x: (x.all(), x.any(0)), dtype=np.uint8, low=0, high=3)
    check_op([(3, 4)], lambda x: (x.all(1, True), x.any()), grad=False)
    check_op([(2, 0)], lambda x: (x.all(1), x.any(1), x.count_nonzero(1)), grad=False)


def test_mean_of_integers_needs_a_dtype():
    x = em.tensor([[1, 2], [3, 5]])
    with pytest.raises(TypeError, match="mean.*int64"):
        x.mean()
    with pytest.raises(TypeError, match="nanmean"):
        x.nanmean()
    check_op([], lambda t: t.mean(1, dtype=em.float64), lambda t: t.mean(1, dtype=torch.float64), inputs=[x.data])


def test_dtype_arguments():
    check_op([(3, 4)], lambda x: x.sum(1, dtype=em.float64), lambda x: x.sum(1, dtype=torch.float64))
    check_op([(3, 4)], lambda x: x.cumsum(1, dtype=em.float64), lambda x: x.cumsum(1, dtype=torch.float64))
    check_op([(3, 4)], lambda x: x.prod(1, dtype=em.float64), lambda x: x.prod(1, dtype=torch.float64))
    check_op([(3, 4)], lambda x: x.norm(dtype=em.float64), lambda x: x.norm(dtype=torch.float64))


def test_logsumexp_of_integers_computes_in_float():
    check_op([(3, 4)], lambda x: x.logsumexp(1), dtype=np.int64, low=-3, high=3)


def test_var_std_norm_of_integers_raise():
    x = em.tensor([1, 2, 3])
    for fn in (x.var, x.std, x.norm, lambda: x.logcumsumexp(0)):
        with pytest.raises(em.DTypeError):
            fn()


# ------------------------------------------------------------- var/std args
def test_var_std_unbiased_and_correction_spellings():
    check_op([(4, 5)], lambda x: x.var(1, False), lambda x: x.var(1, False))
    check_op([(4, 5)], lambda x: x.var(True), lambda x: x.var(True))
    check_op([(4, 5)], lambda x: x.std(False), lambda x: x.std(False))
    check_op([(4, 5)], lambda x: x.var(1, True, True), lambda x: x.var(1, True, True))
    check_op([(4, 5)], lambda x: x.var(dim=0, correction=2), lambda x: x.var(dim=0, correction=2))
    check_op([(4, 5)], lambda x: x.std(dim=(0, 1), correction=0.5), lambda x: x.std(dim=(0, 1), correction=0.5))
    check_op([(4, 5)], lambda x: em.var_mean(x, 1, True), lambda x: torch.var_mean(x, 1, True))
    with pytest.raises(ValueError, match="unbiased or correction"):
        em.var(em.ones(3), 0, True, correction=1)


def test_var_with_correction_at_least_the_count_matches_torch():
    check_op([(2, 1)], lambda x: x.var(1))  # 0/0 -> nan
    check_op([(3, 2)], lambda x: x.var(1, correction=3))  # divides by max(0, N - correction)


def test_std_gradient_is_zero_where_std_is_zero():
    x = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]], np.float32)
    check_op([], lambda t: t.std(1), inputs=[x])
    check_op([], lambda t: t.std(), inputs=[x[:1]])


# ------------------------------------------------------------ special values
PROD_ZEROS = [
    np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 2.0, 0.0, 3.0], [1.0, -2.0, 3.0, 0.5]], np.float32),
    np.array([[0.0, 0.0, 0.0], [0.0, 2.0, 1.0]], np.float32),
]


@pytest.mark.parametrize("x", PROD_ZEROS, ids=["mixed", "many"])
def test_prod_gradient_with_zeros(x):
    for dim in (None, 0, 1, (0, 1)):
        for keepdim in (False, True):
            _check(lambda t, d, k: t.prod(d, k), _torch_prod, dim, keepdim, [], inputs=[x])
    check_op([], lambda t: t.prod(), inputs=[np.float32(0.0)])


@pytest.mark.parametrize("x", PROD_ZEROS, ids=["mixed", "many"])
def test_prod_gradcheck_with_zeros(x):
    check_gradcheck([], lambda t: t.prod(1), inputs=[x])
    check_gradcheck([], lambda t: t.prod(), inputs=[x])
    check_gradcheck([], lambda t: t.prod((0, 1), keepdim=True), inputs=[x])


def test_prod_second_derivative_with_zeros():
    x = em.tensor(PROD_ZEROS[0].astype(np.float64), requires_grad=True)
    assert em.autograd.gradgradcheck(lambda t: t.prod(1), [x])
    y = em.tensor(np.array([[0.0, 2.0, 3.0], [1.5, 0.0, 0.0]]), requires_grad=True)
    assert em.autograd.gradgradcheck(lambda t: t.prod(), [y])


def test_cumprod_gradient_with_zeros():
    for x in PROD_ZEROS:
        for dim in (0, 1):
            _check(lambda t, d, k: t.cumprod(d), None, dim, None, [], inputs=[x])
            check_gradcheck([], lambda t, d=dim: t.cumprod(d), inputs=[x])
    x = em.tensor(PROD_ZEROS[0].astype(np.float64), requires_grad=True)
    assert em.autograd.gradgradcheck(lambda t: t.cumprod(1), [x])


def test_logsumexp_is_exact_for_huge_inputs():
    x = em.tensor([[1e8, 1e8, -np.inf], [-1e8, -1e8 - 1, -np.inf]], dtype=em.float64)
    out = x.logsumexp(1).data
    np.testing.assert_allclose(out, [1e8 + np.log(2), -1e8 + np.log1p(np.exp(-1))], rtol=1e-15)
    check_op([], lambda t: t.logsumexp(1), inputs=[np.array([[1e8, 1e8 - 1, 0], [3e7, -3e7, 1]], np.float32)])
    check_op([], lambda t: t.logsumexp(0), inputs=[np.array([1e38, 3e38, 2e38], np.float32)], rtol=1e-6)


def test_logsumexp_with_minus_infinity_like_torch():
    x = np.array([[-np.inf, -np.inf, -np.inf], [0.5, -np.inf, 2.0], [np.inf, 1.0, 0.0]], np.float32)
    out = check_op([], lambda t: t.logsumexp(1), inputs=[x], grad=False)
    assert out.data[0] == -np.inf and np.isfinite(out.data[1]) and out.data[2] == np.inf
    check_op([], lambda t: t.logsumexp(1), inputs=[x[:2]])  # grads: NaN on the all -inf row, as torch


def test_logcumsumexp_is_stable():
    # float64: torch's float32 gradient loses digits next to 1e6 (it goes through log|grad| - out)
    x = np.array([[-1000.0, 0.0, 1000.0, -np.inf], [-np.inf, -np.inf, 3.0, 1e6]])
    check_op([], lambda t: t.logcumsumexp(1), inputs=[x])
    check_op([], lambda t: t.logcumsumexp(0), inputs=[x[:, :3]])


def test_ties_split_the_gradient_evenly_for_whole_reductions():
    x = np.array([[1.0, 3.0, 3.0], [3.0, 0.0, 2.0]], np.float32)
    for fn in (
        lambda t: t.max(),
        lambda t: t.min(),
        lambda t: t.amax(1),
        lambda t: t.amax(),
        lambda t: t.amin((0, 1), True),
        lambda t: t.median(),
        lambda t: t.norm(float("inf")),
        lambda t: t.norm(float("inf"), 1),
    ):
        check_op([], fn, inputs=[x])
    g = em.tensor(x, requires_grad=True)
    g.max().backward()
    np.testing.assert_allclose(g.grad.data, [[0, 1 / 3, 1 / 3], [1 / 3, 0, 0]], rtol=1e-6)


def test_ties_give_the_first_index_and_gradient_with_dim():
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 0.0, 0.0]], np.float32)
    check_op([], lambda t: t.max(1), inputs=[x])
    check_op([], lambda t: t.min(1, True), inputs=[x])
    check_op([], lambda t: (t.argmax(1), t.argmin(), t.argmax(keepdim=True)), inputs=[x])
    check_op([], lambda t: t.sort(dim=1, stable=True), inputs=[x])
    check_op([], lambda t: t.sort(dim=1, descending=True, stable=True), inputs=[x])
    check_op([], lambda t: t.cummax(1), inputs=[x])
    check_op([], lambda t: t.cummin(1), inputs=[x])


def test_nan_propagates_like_torch():
    x = np.array([[1.0, np.nan, 3.0, np.nan], [2.0, 0.5, 4.0, 1.0]], np.float32)
    check_op([], lambda t: t.max(1), inputs=[x])
    check_op([], lambda t: (t.amax(1), t.argmax(1), t.argmin(1)), inputs=[x])
    check_op([], lambda t: t.sort(1), inputs=[x], grad=False)
    check_op([], lambda t: t.sort(1, descending=True), inputs=[x], grad=False)
    check_op([], lambda t: t.median(), inputs=[x])
    check_op([], lambda t: t.median(1), inputs=[x], grad=False)
    check_op([], lambda t: t.cummax(1), inputs=[x], grad=False)
    check_op([], lambda t: (t.nansum(1), t.nanmean(), t.nanmean(1, True)), inputs=[x])
    check_op([], lambda t: t.nanmean(1), inputs=[np.full((2, 3), np.nan, np.float32)])


def test_norm_gradient_is_zero_where_the_norm_is_zero():
    x = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, -2.0]], np.float32)
    for p in (2, 1, 3, 0.5, -1, float("inf")):
        _check(lambda t, d, k: t.norm(k, d), None, 1, p, [], inputs=[x])


def test_norm_fro_and_nuc():
    check_op([(4, 3)], lambda x: x.norm("fro"), lambda x: x.norm("fro"))
    check_op([(2, 4, 3)], lambda x: x.norm("fro", (1, 2)), lambda x: x.norm("fro", (1, 2)))
    check_op([(4, 3)], lambda x: x.norm("nuc"), lambda x: x.norm("nuc"))
    check_op([(2, 4, 3)], lambda x: x.norm("nuc", (2, 1), True), lambda x: x.norm("nuc", (2, 1), True))
    with pytest.raises(em.ShapeError, match="nuc"):
        em.norm(em.ones(2, 3, 4), "nuc")


def test_nuclear_norm_second_derivative_raises():
    x = em.tensor(make_array((3, 3), np.float64), requires_grad=True)
    (g,) = em.grad(x.norm("nuc"), [x], create_graph=True)
    with pytest.raises(em.AutogradError, match="nuc"):
        g.sum().backward()


# ---------------------------------------------------------------- gradcheck
GRADCHECK = {
    "sum": lambda x: x.sum((0, 1)),
    "mean": lambda x: x.mean(1, True),
    "nansum": lambda x: x.nansum(0),
    "nanmean": lambda x: x.nanmean(1),
    "prod": lambda x: x.prod(1),
    "amax": lambda x: x.amax(1),
    "amin": lambda x: x.amin(),
    "max": lambda x: x.max(),
    "max_dim": lambda x: x.max(1).values,
    "min_dim": lambda x: x.min(0, True).values,
    "var": lambda x: x.var(1),
    "std": lambda x: x.std(0, keepdim=True),
    "var_mean": lambda x: em.var_mean(x, 1),
    "std_mean": lambda x: em.std_mean(x, correction=0),
    "logsumexp": lambda x: x.logsumexp(1),
    "norm_2": lambda x: x.norm(dim=1),
    "norm_1": lambda x: x.norm(1),
    "norm_3": lambda x: x.norm(3, 0),
    "norm_0.5": lambda x: x.norm(0.5, 1),
    "norm_inf": lambda x: x.norm(float("inf"), 1),
    "norm_nuc": lambda x: x.norm("nuc"),
    "cumsum": lambda x: x.cumsum(1),
    "cumprod": lambda x: x.cumprod(0),
    "cummax": lambda x: x.cummax(1).values,
    "cummin": lambda x: x.cummin(0).values,
    "logcumsumexp": lambda x: x.logcumsumexp(1),
    "sort": lambda x: x.sort(1, descending=True).values,
    "topk": lambda x: x.topk(2, 1).values,
    "kthvalue": lambda x: x.kthvalue(2, 0).values,
    "median": lambda x: x.median(),
    "median_dim": lambda x: x.median(1).values,
}


@pytest.mark.parametrize("name", list(GRADCHECK))
def test_gradcheck(name):
    check_gradcheck([(3, 4)], GRADCHECK[name])


def test_gradcheck_mode():
    # finite differences need no ties; the mode of distinct values is the smallest
    check_gradcheck([(3, 4)], lambda t: t.mode(1).values)


GRADGRAD = {
    "sum": lambda x: x.sum(1) ** 2,
    "mean": lambda x: x.mean(0) ** 2,
    "var": lambda x: x.var(1),
    "std": lambda x: x.std(0),
    "logsumexp": lambda x: x.logsumexp(1),
    "norm_2": lambda x: x.norm(dim=1),
    "norm_3": lambda x: x.norm(3),
    "prod": lambda x: x.prod(1),
    "cumprod": lambda x: x.cumprod(1),
    "logcumsumexp": lambda x: x.logcumsumexp(1),
    "max_dim": lambda x: x.max(1).values ** 2,
    "cummax": lambda x: x.cummax(1).values ** 2,
}


@pytest.mark.parametrize("name", list(GRADGRAD))
def test_gradgradcheck(name):
    x = em.tensor(make_array((2, 3), np.float64, low=0.5), requires_grad=True)
    assert em.autograd.gradgradcheck(GRADGRAD[name], [x])


# ------------------------------------------------------------------- API
def test_max_min_with_a_tensor_are_elementwise():
    check_op([(3, 4), (4,)], lambda a, b: a.max(b))
    check_op([(3, 4), (3, 1)], lambda a, b: em.min(a, b), lambda a, b: torch.min(a, b))
    check_op([(3, 4), (4,)], lambda a, b: em.max(a, other=b), lambda a, b: torch.max(a, b))


def test_named_tuples_like_torch_return_types():
    x = em.tensor(make_array((3, 4)))
    for name, out in (
        ("max", x.max(1)),
        ("min", x.min(1)),
        ("sort", x.sort()),
        ("topk", x.topk(2)),
        ("kthvalue", x.kthvalue(1)),
        ("median", x.median(0)),
        ("mode", x.mode()),
        ("cummax", x.cummax(0)),
        ("cummin", x.cummin(0)),
    ):
        assert type(out).__name__ == name
        values, indices = out
        assert values is out.values and indices is out.indices and indices.dtype == em.int64
    mn, mx = em.aminmax(x, dim=1)
    np.testing.assert_array_equal(mn.data, x.data.min(1))
    np.testing.assert_array_equal(mx.data, x.data.max(1))


def test_every_op_is_a_tensor_method():
    x = em.tensor(make_array((2, 3)))
    for name in em.ops.reduce.__all__:
        assert getattr(em.Tensor, name) is getattr(em.ops.reduce, name), name
        assert getattr(em, name) is getattr(em.ops.reduce, name), name
    assert x.max().item() == x.data.max()


def test_errors_name_the_op_the_dim_and_the_shape():
    x = em.ones(2, 3)
    with pytest.raises(IndexError, match=r"sum: .*got 2\).*\(2, 3\)"):
        x.sum(2)
    with pytest.raises(IndexError, match=r"max: .*got -3\).*\(2, 3\)"):
        x.max(-3)
    with pytest.raises(IndexError, match=r"cumsum: .*got 5"):
        x.cumsum(5)
    with pytest.raises(IndexError, match=r"var: .*got 7"):
        x.var((0, 7))
    with pytest.raises(em.ShapeError, match="dim 0 appears multiple times"):
        x.sum((0, -2))
    with pytest.raises(IndexError, match=r"amax: .*dim 1 .*\(2, 0\)"):
        em.ones(2, 0).amax(1)
    with pytest.raises(IndexError, match=r"max: .*dim 1 .*\(2, 0\)"):
        em.ones(2, 0).max(1)
    with pytest.raises(em.ShapeError, match=r"max: .*\(2, 0\)"):
        em.ones(2, 0).max()
    with pytest.raises(IndexError, match=r"argmax"):
        em.ones(0).argmax()
    with pytest.raises(IndexError, match=r"topk: k=4 .*size 3 .*\(2, 3\)"):
        x.topk(4)
    with pytest.raises(IndexError, match=r"kthvalue: k=0"):
        x.kthvalue(0)
    with pytest.raises(TypeError, match="cumsum: dim must be an int"):
        x.cumsum((0, 1))


def test_reductions_record_no_graph_without_requires_grad():
    x = em.tensor(make_array((3, 4)))
    for out in (x.sum(), x.prod(1), x.max(1).values, x.sort().values, x.logsumexp(0), x.cumprod(1)):
        assert not out.requires_grad and out.grad_fn is None
