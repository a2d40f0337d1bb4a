"""Elementwise ops against PyTorch: values, dtypes, gradients, edge cases and errors."""

import math

import numpy as np
import pytest
import torch

import ember as em
from ember.errors import DTypeError, ShapeError
from tests.helpers import check_gradcheck, check_op, make_array

# name (in ember and torch), input range inside the op's domain
UNARY = [
    ("neg", -2, 2),
    ("abs", -2, 2),
    ("square", -2, 2),
    ("reciprocal", 0.3, 2),
    ("exp", -2, 2),
    ("exp2", -2, 2),
    ("expm1", -2, 2),
    ("log", 0.1, 3),
    ("log2", 0.1, 3),
    ("log10", 0.1, 3),
    ("log1p", -0.9, 2),
    ("sqrt", 0.1, 3),
    ("rsqrt", 0.2, 3),
    ("sin", -3, 3),
    ("cos", -3, 3),
    ("tan", -1.2, 1.2),
    ("asin", -0.95, 0.95),
    ("acos", -0.95, 0.95),
    ("atan", -3, 3),
    ("sinh", -2, 2),
    ("cosh", -2, 2),
    ("tanh", -2, 2),
    ("asinh", -3, 3),
    ("acosh", 1.1, 3),
    ("atanh", -0.9, 0.9),
    ("sigmoid", -5, 5),
    ("logit", 0.05, 0.95),
    ("relu", -2, 2),
    ("erf", -3, 3),
    ("erfc", -3, 3),
    ("erfinv", -0.95, 0.95),
    ("frac", -3, 3),
    ("nan_to_num", -2, 2),
    ("sign", -2, 2),
    ("floor", -3, 3),
    ("ceil", -3, 3),
    ("round", -3, 3),
    ("trunc", -3, 3),
]
UNARY_IDS = [u[0] for u in UNARY]
SHAPES = [(), (0,), (5,), (3, 4), (2, 3, 4)]
ZERO_GRAD = {"sign", "floor", "ceil", "round", "trunc"}
# ops PyTorch computes in float for integer inputs (int -> the default float dtype)
INT_TO_FLOAT = [
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "sqrt",
    "rsqrt",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "sigmoid",
    "logit",
    "erf",
    "erfc",
    "erfinv",
    "reciprocal",
]


def _fn(name):
    return getattr(em, name), getattr(torch, name)


# ------------------------------------------------------------------ unary ops
@pytest.mark.parametrize("name,low,high", UNARY, ids=UNARY_IDS)
def test_unary_matches_torch(name, low, high):
    ef, tf = _fn(name)
    for shape in SHAPES:  # 0-d, size-0, 1-3 dims
        check_op([shape], ef, tf, low=low, high=high)
    for layout in ("transposed", "sliced"):
        check_op([(3, 4)], ef, tf, low=low, high=high, layout=layout)


@pytest.mark.parametrize("name,low,high", UNARY, ids=UNARY_IDS)
def test_unary_float64_float16_and_gradcheck(name, low, high):
    ef, tf = _fn(name)
    check_op([(4, 3)], ef, tf, low=low, high=high, dtype=np.float64, atol=1e-12, rtol=1e-10)
    if name not in ("erfinv", "logit", "acosh"):  # torch's float16 kernels differ in the last bits here
        check_op([(4, 3)], ef, tf, low=low, high=high, dtype=np.float16, atol=2e-3, rtol=2e-3, grad=False)
    check_gradcheck([(2, 3)], ef, low=low, high=high)


@pytest.mark.parametrize("name", INT_TO_FLOAT)
def test_integer_input_computes_in_float32(name):
    ef, tf = _fn(name)
    x = np.array([[0, 1, 2], [3, -1, 5]], np.int64) if name not in ("acosh",) else np.array([1, 2, 3])
    out = check_op(None, ef, tf, inputs=[x], grad=False)
    assert out.dtype == em.float32
    out = check_op(None, ef, tf, inputs=[np.array([True, False])], grad=False)
    assert out.dtype == em.float32


def test_integer_input_follows_default_dtype():
    em.set_default_dtype(em.float64)
    try:
        assert em.exp(em.tensor([1, 2])).dtype == em.float64
        assert (em.tensor([1, 2]) / em.tensor([2, 2])).dtype == em.float64
    finally:
        em.set_default_dtype(em.float32)


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "sign", "abs", "neg", "square", "relu"])
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_preserving_ops_keep_dtype(name, dtype):
    ef, tf = _fn(name)
    x = np.array([[-3, 0, 2], [5, -1, 7]], dtype)
    check_op(None, ef, tf, inputs=[x], grad=False)  # compares the dtype with torch's


def test_sign_of_nan_and_negative_zero_is_zero():
    x = np.array([np.nan, -0.0, 0.0, -np.inf, np.inf, -2.5], np.float32)
    check_op(None, em.sign, torch.sign, inputs=[x])
    assert em.sign(em.tensor([True, False])).dtype == em.bool


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_decimals(dtype):
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 1.2345, 1234.5678, -987.65, 0.125, 1e-3], dtype)
    for d in [0, 1, 2, 3, -1, -2]:
        check_op(None, lambda t, d=d: em.round(t, decimals=d), lambda t, d=d: torch.round(t, decimals=d), inputs=[x])
        check_op([(3, 4)], lambda t, d=d: t.round(decimals=d), lambda t, d=d: t.round(decimals=d), dtype=dtype)


def test_round_decimals_on_integers_is_an_error():
    assert em.round(em.tensor([1, 2])).dtype == em.int64
    with pytest.raises(DTypeError, match="round"):
        em.round(em.tensor([1, 2]), decimals=1)


@pytest.mark.parametrize("eps", [None, 0.0, 1e-6, 0.1])
def test_logit_eps_values_and_gradients(eps):
    x = np.array([-0.5, 0.0, 0.05, 0.1, 0.5, 0.9, 0.95, 1.0, 1.2], np.float64)
    check_op(None, lambda t: em.logit(t, eps), lambda t: torch.logit(t, eps), inputs=[x], atol=1e-10, rtol=1e-10)
    check_op(None, lambda t: em.logit(t, eps=eps), lambda t: torch.logit(t, eps=eps), inputs=[x.astype(np.float32)])
    check_gradcheck(None, lambda t: em.logit(t, eps), inputs=[np.array([0.2, 0.45, 0.7])])


@pytest.mark.parametrize(
    "kwargs", [{}, {"nan": 1.5}, {"posinf": 7.0}, {"neginf": -7.0}, {"nan": -1.0, "posinf": 2.0, "neginf": -2.0}]
)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_nan_to_num(kwargs, dtype):
    x = np.array([np.nan, np.inf, -np.inf, 1.5, -0.0, 3.0], dtype)
    check_op(None, lambda t: em.nan_to_num(t, **kwargs), lambda t: torch.nan_to_num(t, **kwargs), inputs=[x])
    check_op(None, lambda t: t.nan_to_num(**kwargs), lambda t: t.nan_to_num(**kwargs), inputs=[np.array([1, 2])])


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite", "isposinf", "isneginf"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64, np.bool_])
def test_float_classification(name, dtype):
    ef, tf = _fn(name)
    if np.dtype(dtype).kind == "f":
        x = np.array([[np.nan, np.inf, -np.inf], [0.0, -1.5, 3.0]], dtype)
    else:
        x = np.array([[1, 0, 1], [0, 1, 1]]).astype(dtype)
    out = check_op(None, ef, tf, inputs=[x], grad=False)
    assert out.dtype == em.bool
    check_op([(0, 3)], ef, tf, grad=False)


def test_frac_keeps_the_sign_and_rejects_integers():
    check_op(None, em.frac, torch.frac, inputs=[np.array([-2.75, -0.5, 0.0, 0.5, 3.25], np.float32)])
    with pytest.raises(DTypeError, match="frac"):
        em.frac(em.tensor([1, 2]))


# ------------------------------------------------------------- erf precision
def test_erf_erfc_are_accurate_to_float64():
    x = np.concatenate([np.linspace(-6, 6, 2001), [0.0, -0.0, 1e-300, -1e-20, 0.5, 26.0, 30.0]])
    e, t = em.tensor(x), torch.from_numpy(x)
    np.testing.assert_allclose(em.erf(e).numpy(), torch.erf(t).numpy(), rtol=4e-16, atol=0)
    ref = np.array([math.erfc(v) for v in x])
    np.testing.assert_allclose(em.erfc(e).numpy(), ref, rtol=0, atol=0)  # the C library's erfc exactly
    tail = np.linspace(5, 26, 500)  # erfc down to 1e-295: relative accuracy kept where 1 - erf is 0
    np.testing.assert_allclose(em.erfc(em.tensor(tail)).numpy(), torch.erfc(torch.from_numpy(tail)).numpy(), rtol=1e-15)
    assert np.all(em.erfc(em.tensor(tail)).numpy() > 0)


def test_erf_special_values():
    x = np.array([np.nan, np.inf, -np.inf, 0.0], np.float64)
    check_op(None, em.erf, torch.erf, inputs=[x], grad=False)
    check_op(None, em.erfc, torch.erfc, inputs=[x], grad=False)


def test_erfinv_is_accurate_and_inverts_erf():
    rng = np.random.default_rng(0)
    y = np.concatenate(
        [rng.uniform(-1, 1, 2000), 1 - 10.0 ** rng.uniform(-16, -1, 500), 10.0 ** -rng.uniform(1, 300, 200)]
    )
    x = em.erfinv(em.tensor(y)).numpy()
    np.testing.assert_allclose(x, torch.erfinv(torch.from_numpy(y)).numpy(), rtol=1e-12)
    # erf(erfinv(y)) == y to rounding, even next to 1 (measured through erfc there)
    np.testing.assert_allclose(em.erf(em.tensor(x)).numpy(), y, rtol=4e-16)
    near_one = y > 0.9
    # erfc's condition number there is 2x^2 (up to 70): one ulp of x moves erfc by ~70 ulps
    np.testing.assert_allclose(em.erfc(em.tensor(x[near_one])).numpy(), 1 - y[near_one], rtol=3e-14)


def test_erfinv_edges():
    x = np.array([1.0, -1.0, 1.5, -2.0, np.nan, 0.0, -0.0], np.float64)
    check_op(None, em.erfinv, torch.erfinv, inputs=[x], grad=False)
    check_op(None, em.erfinv, torch.erfinv, inputs=[x.astype(np.float32)], grad=False)


# ------------------------------------------------------------------ binary ops
def _nonzero(shape, dtype=np.float32, layout="contiguous"):
    """Values in +-[0.5, 2]: safe divisors."""
    arr = make_array(shape, dtype, 0.5, 2.0, layout)
    arr[...] = arr * np.where(np.random.default_rng(7).random(arr.shape) < 0.5, -1, 1).astype(dtype)
    return arr


# name, torch name, range of a, range of b (None: nonzero divisors)
BINARY = [
    ("add", "add", (-2, 2), (-2, 2)),
    ("sub", "sub", (-2, 2), (-2, 2)),
    ("mul", "mul", (-2, 2), (-2, 2)),
    ("div", "div", (-2, 2), None),
    ("true_divide", "true_divide", (-2, 2), None),
    # torch.floor_divide has no derivative; div(rounding_mode='floor') is the same op with a zero one
    ("floor_divide", lambda a, b: torch.div(a, b, rounding_mode="floor"), (-3, 3), None),
    ("remainder", "remainder", (-3, 3), None),
    ("fmod", "fmod", (-3, 3), None),
    ("pow", "pow", (0.5, 2), (-2, 2)),
    ("atan2", "atan2", (-2, 2), (-2, 2)),
    ("hypot", "hypot", (-2, 2), (-2, 2)),
    ("maximum", "maximum", (-2, 2), (-2, 2)),
    ("minimum", "minimum", (-2, 2), (-2, 2)),
    ("fmax", "fmax", (-2, 2), (-2, 2)),
    ("fmin", "fmin", (-2, 2), (-2, 2)),
]
BINARY_IDS = [b[0] for b in BINARY]


def _torch(tname):
    return tname if callable(tname) else getattr(torch, tname)


PAIRS = [((3, 4), (3, 4)), ((2, 1, 4), (3, 1)), ((), (3,)), ((4,), ()), ((), ()), ((0, 3), (1, 3)), ((2, 3), (0, 1, 3))]


def _binary_inputs(ra, rb, sa, sb, dtype=np.float32, layout="contiguous"):
    a = make_array(sa, dtype, ra[0], ra[1], layout)
    b = _nonzero(sb, dtype, layout) if rb is None else make_array(sb, dtype, rb[0], rb[1], layout)
    return [a, b]


@pytest.mark.parametrize("name,tname,ra,rb", BINARY, ids=BINARY_IDS)
def test_binary_matches_torch(name, tname, ra, rb):
    for shapes in PAIRS:  # broadcasting, 0-d, size-0
        check_op(None, getattr(em, name), _torch(tname), inputs=_binary_inputs(ra, rb, *shapes))
    for shapes in [((3, 4), (3, 4)), ((2, 3, 4), (3, 1))]:
        for layout in ("transposed", "sliced"):
            inputs = _binary_inputs(ra, rb, *shapes, layout=layout)
            check_op(None, getattr(em, name), _torch(tname), inputs=inputs)


@pytest.mark.parametrize("name,tname,ra,rb", BINARY, ids=BINARY_IDS)
def test_binary_float64_and_gradcheck(name, tname, ra, rb):
    inputs = _binary_inputs(ra, rb, (3, 1), (1, 4), np.float64)
    check_op(None, getattr(em, name), _torch(tname), inputs=inputs, atol=1e-12, rtol=1e-10)
    check_gradcheck(None, getattr(em, name), inputs=_binary_inputs(ra, rb, (2, 3), (3,), np.float64))


SCALARS = [2, -3, 2.5, -0.75, True]


@pytest.mark.parametrize(
    "name", ["add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "fmod", "pow", "maximum"]
)
def test_binary_with_python_scalar(name):
    ef = getattr(em, name)
    if name == "maximum":  # torch.maximum takes tensors only; ember takes numbers too (a 0-d tensor promotes alike)
        tf = lambda t, s: torch.maximum(t, torch.tensor(s))  # noqa: E731
    elif name == "floor_divide":  # torch's has no derivative; this is the same op with a zero one
        tf = lambda t, s: torch.div(t, s, rounding_mode="floor")  # noqa: E731
    else:
        tf = getattr(torch, name)
    for scalar in SCALARS:
        if name == "sub" and isinstance(scalar, bool):
            continue  # bool operands of sub are an error in both
        x = make_array((3, 4), np.float32, 0.5, 2.0) if name == "pow" else _nonzero((3, 4))
        check_op(None, lambda t, s=scalar: ef(t, s), lambda t, s=scalar: tf(t, s), inputs=[x])
        xi = np.array([[-3, 0, 4], [7, 1, -2]], np.int64)
        if name == "pow" and scalar == -3:
            with pytest.raises(ValueError, match="negative integer powers"):
                ef(em.tensor(xi), scalar)
        else:
            check_op(None, lambda t, s=scalar: ef(t, s), lambda t, s=scalar: tf(t, s), inputs=[xi], grad=False)


@pytest.mark.parametrize(
    "op",
    [
        (lambda s, t: s + t),
        (lambda s, t: s - t),
        (lambda s, t: s * t),
        (lambda s, t: s / t),
        (lambda s, t: s // t),
        (lambda s, t: s % t),
        (lambda s, t: s**t),
    ],
    ids=["radd", "rsub", "rmul", "rtruediv", "rfloordiv", "rmod", "rpow"],
)
def test_scalar_first_operators(op):
    for scalar in [2, -3, 2.5, -0.75]:
        x = _nonzero((2, 3))
        if op(2.0, 3.0) == 8.0:  # pow: a positive base for real results
            scalar = abs(scalar)
        # torch has no derivative for floor_divide, nor for remainder with a number first
        grad = op(7.0, 2.0) not in (3.0, 1.0)
        check_op(None, lambda t, s=scalar: op(s, t), lambda t, s=scalar: op(s, t), inputs=[x], grad=grad)


def test_scalar_first_functions():
    x = _nonzero((2, 3))
    check_op(None, lambda t: em.remainder(-2.5, t), lambda t: torch.remainder(-2.5, t), inputs=[x], grad=False)
    check_gradcheck(None, lambda t: em.remainder(-2.5, t), inputs=[x.astype(np.float64)])
    check_op(None, lambda t: em.pow(1.5, t), lambda t: torch.pow(1.5, t), inputs=[x])
    check_op(None, lambda t: em.sub(1, t, alpha=2), lambda t: torch.sub(1, t, alpha=2), inputs=[x])


def test_add_sub_alpha():
    check_op([(3, 4), (4,)], lambda a, b: em.add(a, b, alpha=2.5), lambda a, b: torch.add(a, b, alpha=2.5))
    check_op([(3, 4), (4,)], lambda a, b: em.sub(a, b, alpha=-3), lambda a, b: torch.sub(a, b, alpha=-3))
    check_op([(3, 4), (4,)], lambda a, b: a.add(b, alpha=2), lambda a, b: a.add(b, alpha=2))


# ------------------------------------------------- division and modulus edges
def test_float_division_by_zero_gives_inf_and_nan():
    a = np.array([1.0, -1.0, 0.0, np.inf, np.nan], np.float32)
    b = np.zeros(5, np.float32)
    for fn in (em.div, em.true_divide, em.floor_divide, em.remainder, em.fmod):
        tf = getattr(torch, fn.__name__)
        check_op(None, fn, tf, inputs=[a, b], grad=False)
    check_op(None, lambda x: x / 0.0, lambda x: x / 0.0, inputs=[a], grad=False)
    check_op(
        None,
        lambda x: em.div(x, 0.0, rounding_mode="trunc"),
        lambda x: torch.div(x, 0.0, rounding_mode="trunc"),
        inputs=[a],
        grad=False,
    )


def test_integer_true_division_by_zero_is_float():
    a, b = np.array([1, -1, 0], np.int64), np.zeros(3, np.int64)
    out = check_op(None, em.div, torch.div, inputs=[a, b], grad=False)
    assert out.dtype == em.float32


@pytest.mark.parametrize(
    "fn",
    [
        em.floor_divide,
        em.remainder,
        em.fmod,
        lambda a, b: em.div(a, b, rounding_mode="trunc"),
        lambda a, b: em.div(a, b, rounding_mode="floor"),
    ],
    ids=["floor_divide", "remainder", "fmod", "div_trunc", "div_floor"],
)
def test_integer_division_by_zero_raises(fn):
    a = em.tensor([5, 6])
    with pytest.raises(ZeroDivisionError):
        fn(a, em.tensor([1, 0]))
    with pytest.raises(ZeroDivisionError):
        fn(a, 0)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        torch.remainder(torch.tensor([5, 6]), 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_remainder_fmod_and_rounding_division_signs(dtype):
    a = np.array([5, -5, 5, -5, 7, -7, 0, 6, -6], dtype)
    b = np.array([3, 3, -3, -3, 2, 2, 3, -3, 4], dtype)
    if np.dtype(dtype).kind == "f":
        a = a + np.array([0.5, -0.5, 0.25, -0.25, 0, 0, 0, 0.5, 0], dtype)
    for name in ("remainder", "fmod", "floor_divide"):
        ef, tf = _fn(name)
        check_op(None, ef, tf, inputs=[a, b], atol=1e-6, grad=name != "floor_divide")
    for mode in ("trunc", "floor"):
        check_op(
            None,
            lambda x, y, mode=mode: em.div(x, y, rounding_mode=mode),
            lambda x, y, mode=mode: torch.div(x, y, rounding_mode=mode),
            inputs=[a, b],
        )
    check_op(None, lambda x, y: x % y, lambda x, y: x % y, inputs=[a, b])
    check_op(None, lambda x, y: x // y, lambda x, y: x // y, inputs=[a, b], grad=False)


def test_large_int64_truncating_division_is_exact():
    a = np.array([2**62 + 1, -(2**62) - 3, 9007199254740993], np.int64)
    b = np.array([3, 7, -2], np.int64)
    check_op(
        None,
        lambda x, y: em.div(x, y, rounding_mode="trunc"),
        lambda x, y: torch.div(x, y, rounding_mode="trunc"),
        inputs=[a, b],
    )


def test_div_rounding_mode_gradients_are_zero_and_bad_mode_raises():
    check_op(
        [(3, 4), (4,)],
        lambda a, b: em.div(a, b, rounding_mode="floor"),
        lambda a, b: torch.div(a, b, rounding_mode="floor"),
    )
    check_op(
        [(3, 4), (4,)],
        lambda a, b: em.div(a, b, rounding_mode="trunc"),
        lambda a, b: torch.div(a, b, rounding_mode="trunc"),
    )
    with pytest.raises(ValueError, match="rounding_mode"):
        em.div(em.ones(2), em.ones(2), rounding_mode="round")


# ------------------------------------------------------------------------ pow
def test_pow_gradients_at_zero_and_negative_bases():
    a = np.array([-2.0, -2.0, 0.0, 0.0, 0.0, 0.0, 3.0, -1.5, 0.0], np.float64)
    b = np.array([2.5, 2.0, 0.0, -1.0, 0.5, 2.0, 0.5, 3.0, 1.0], np.float64)
    check_op(None, em.pow, torch.pow, inputs=[a, b], atol=1e-12, rtol=1e-10)
    check_op(None, lambda x, y: x**y, lambda x, y: x**y, inputs=[a.astype(np.float32), b.astype(np.float32)])


@pytest.mark.parametrize("exponent", [0, 1, 2, 3, 0.5, -0.5, -1, -2, 2.5, 0.0])
def test_pow_scalar_exponent_gradients_at_zero_and_negative(exponent):
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0], np.float64)
    check_op(None, lambda t: em.pow(t, exponent), lambda t: torch.pow(t, exponent), inputs=[x], atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("base", [0.0, 0, 2.0, -2.0, 1, 0.5])
def test_pow_scalar_base_gradients(base):
    e = np.array([-1.0, 0.0, 0.5, 2.0, 3.0], np.float64)
    check_op(None, lambda t: em.pow(base, t), lambda t: torch.pow(base, t), inputs=[e], atol=1e-12, rtol=1e-10)


def test_integer_pow():
    a = np.array([2, 1, -1, -1, 3, 0, -2], np.int64)
    b = np.array([-1, -2, -3, -2, 2, 0, 3], np.int64)
    out = check_op(None, em.pow, torch.pow, inputs=[a, b], grad=False)
    assert out.dtype == em.int64
    check_op(None, lambda t: t**2, lambda t: t**2, inputs=[a], grad=False)
    check_op(None, lambda t: t**0.5, lambda t: t**0.5, inputs=[np.abs(a)], grad=False)
    with pytest.raises(ValueError, match="negative integer powers"):
        em.tensor([2, 3]) ** -1


# --------------------------------------------------------------- clamp, where
@pytest.mark.parametrize("lo,hi", [(-0.5, 0.5), (-0.5, None), (None, 0.5), (1.0, -1.0), (0, 1), (-1, 1.5)], ids=str)
def test_clamp_with_numbers(lo, hi):
    check_op([(3, 4)], lambda t: em.clamp(t, lo, hi), lambda t: torch.clamp(t, lo, hi))
    check_op([(3, 4)], lambda t: t.clip(min=lo, max=hi), lambda t: t.clip(min=lo, max=hi), layout="transposed")
    check_op([()], lambda t: t.clamp(lo, hi), lambda t: t.clamp(lo, hi))
    check_gradcheck([(2, 3)], lambda t: em.clamp(t, lo, hi))


@pytest.mark.parametrize(
    "shapes",
    [
        ((3, 4), (3, 4), (3, 4)),
        ((3, 4), (4,), (3, 1)),
        ((4,), (2, 1), None),
        ((3,), None, ()),
        ((2, 3), (0, 1, 3), None),
    ],
    ids=str,
)
def test_clamp_with_tensor_bounds(shapes):
    s, slo, shi = shapes
    x = make_array(s, np.float32, -2, 2)
    lo = None if slo is None else make_array(slo, np.float32, -1.5, 0.5)
    hi = None if shi is None else make_array(shi, np.float32, -0.5, 1.5)
    given = [v for v in (x, lo, hi) if v is not None]

    def call(mod):
        def f(*ts):
            it = iter(ts)
            t = next(it)
            a = next(it) if lo is not None else None
            b = next(it) if hi is not None else None
            return mod.clamp(t, a, b)

        return f

    check_op(None, call(em), call(torch), inputs=given)


def test_clamp_min_above_max_sends_the_gradient_to_max():
    x = np.array([1.0, 5.0, 0.0, -3.0], np.float32)
    lo = np.array([2.0, 2.0, -1.0, 2.0], np.float32)
    hi = np.array([1.0, 1.0, 1.0, 1.0], np.float32)
    check_op(None, em.clamp, torch.clamp, inputs=[x, lo, hi])
    # ties at the bounds: the input keeps the gradient
    check_op(None, em.clamp, torch.clamp, inputs=[lo.copy(), lo, lo + 1])


def test_clamp_dtypes_follow_promotion():
    for x, lo in [([1, 2, 3], 1.5), ([1, 2, 3], 2), ([True, False], 0), ([1.0, 2.0], 1)]:
        e, t = em.clamp(em.tensor(x), min=lo), torch.clamp(torch.tensor(x), min=lo)
        assert str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1]
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    e = em.clamp(em.tensor([1.0, 2.0]), min=em.tensor([1.5], dtype=em.float64))
    assert e.dtype == em.float64
    assert em.clamp_min(em.tensor([1, 5]), 3).tolist() == [3, 5]
    assert em.clamp_max(em.tensor([1.0, 5.0]), 3).tolist() == [1.0, 3.0]


def test_clamp_errors():
    with pytest.raises(ValueError, match="min"):
        em.clamp(em.ones(3))
    with pytest.raises(ShapeError, match=r"\(3,\)"):
        em.clamp(em.ones(3), em.zeros(4))


def test_clamp_propagates_nan():
    check_op(
        None, lambda t: em.clamp(t, -1, 1), lambda t: torch.clamp(t, -1, 1), inputs=[np.array([np.nan, 2.0, -2.0])]
    )


@pytest.mark.parametrize(
    "shapes", [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (4,)), ((), (2, 3), ()), ((2, 3), (0, 1, 3), (3,))], ids=str
)
def test_where_tensors(shapes):
    sc, sa, sb = shapes
    cond = make_array(sc, np.bool_)
    a, b = make_array(sa), make_array(sb)
    check_op(None, em.where, torch.where, inputs=[cond, a, b])
    check_gradcheck(
        None, lambda x, y: em.where(em.tensor(cond), x, y), inputs=[a.astype(np.float64), b.astype(np.float64)]
    )


def test_where_with_scalars_and_mixed_dtypes():
    cond = make_array((3, 4), np.bool_)
    a = make_array((3, 4))
    check_op(None, lambda c, x: em.where(c, x, 0.0), lambda c, x: torch.where(c, x, 0.0), inputs=[cond, a])
    check_op(None, lambda c, x: em.where(c, 2.5, x), lambda c, x: torch.where(c, 2.5, x), inputs=[cond, a])
    check_op(None, lambda c: em.where(c, 1.0, 0.0), lambda c: torch.where(c, 1.0, 0.0), inputs=[cond])
    check_op(None, lambda c: em.where(c, 1, 0), lambda c: torch.where(c, 1, 0), inputs=[cond])
    ai = make_array((3, 4), np.int32, -5, 5)
    check_op(None, em.where, torch.where, inputs=[cond, ai, a])
    check_op(None, lambda c, x: em.where(c, x, 1.5), lambda c, x: torch.where(c, x, 1.5), inputs=[cond, ai])


def test_where_errors():
    with pytest.raises(DTypeError, match="bool"):
        em.where(em.ones(3), em.ones(3), em.zeros(3))
    with pytest.raises(ShapeError, match=r"\(4,\)"):
        em.where(em.ones(3) > 0, em.ones(3), em.zeros(4))


# --------------------------------------------------- maximum, minimum, lerp
@pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin"])
def test_extrema_ties_and_nan(name):
    a = np.array([1.0, 2.0, 3.0, np.nan, 1.0, np.nan, -0.0], np.float32)
    b = np.array([1.0, 1.0, 4.0, 1.0, np.nan, np.nan, 0.0], np.float32)
    ef, tf = _fn(name)
    check_op(None, ef, tf, inputs=[a, b])
    check_op(None, ef, tf, inputs=[b, a])


def test_maximum_mixed_dtypes():
    out = check_op(None, em.maximum, torch.maximum, inputs=[np.array([1, 2, 3]), np.array([1.5, 1.0, 4.0], np.float32)])
    assert out.dtype == em.float32


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.5, 0.7, 1.0, -0.5, 1.5])
def test_lerp_scalar_weight(weight):
    check_op([(3, 4), (3, 4)], lambda a, b: em.lerp(a, b, weight), lambda a, b: torch.lerp(a, b, weight))
    check_op([(2, 1, 4), (3, 1)], lambda a, b: a.lerp(b, weight), lambda a, b: a.lerp(b, weight))
    check_gradcheck([(2, 3), (3,)], lambda a, b: em.lerp(a, b, weight))


@pytest.mark.parametrize(
    "shapes", [((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), (3, 4)), ((4,), (4,), ()), ((2, 3), (3,), (1, 3))], ids=str
)
def test_lerp_tensor_weight(shapes):
    inputs = [make_array(shapes[0]), make_array(shapes[1]), make_array(shapes[2], low=-0.5, high=1.5)]
    check_op(None, em.lerp, torch.lerp, inputs=inputs)
    check_op(None, em.lerp, torch.lerp, inputs=inputs, layout="transposed")
    check_gradcheck(None, em.lerp, inputs=[x.astype(np.float64) for x in inputs])


def test_lerp_dtype_errors():
    with pytest.raises(DTypeError, match="float64"):
        em.lerp(em.ones(2), em.ones(2, dtype=em.float64), 0.5)
    with pytest.raises(DTypeError, match="weight"):
        em.lerp(em.ones(2), em.ones(2), em.ones(2, dtype=em.float64))
    with pytest.raises(ShapeError, match="lerp"):
        em.lerp(em.ones(2), em.ones(3), 0.5)


def test_atan2_quadrants_and_hypot_extremes():
    y = np.array([1.0, 1.0, -1.0, -1.0, 0.0, 0.0, -0.0, 2.0], np.float64)
    x = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0, -1.0, 0.0], np.float64)
    check_op(None, em.atan2, torch.atan2, inputs=[y, x], atol=1e-12, rtol=1e-10)
    check_op(None, em.arctan2, torch.arctan2, inputs=[y, x], atol=1e-12, rtol=1e-10)
    big = np.array([1e200, 3e-200, 0.0, 3.0], np.float64)
    check_op(None, em.hypot, torch.hypot, inputs=[big, big[::-1].copy()], grad=False)
    out = check_op(None, em.atan2, torch.atan2, inputs=[np.array([1, 2]), np.array([2, 0])], grad=False)
    assert out.dtype == em.float32


# ------------------------------------------------------- second derivatives
@pytest.mark.parametrize(
    "fn,low,high",
    [
        (em.exp, -2, 2),
        (em.tanh, -2, 2),
        (em.sigmoid, -3, 3),
        (lambda a: em.pow(a, 3.0), 0.5, 2),
        (lambda a: em.pow(2.5, a), -1, 1),
        (em.log, 0.5, 2),
        (em.sin, -2, 2),
        (em.erf, -2, 2),
        (em.sqrt, 0.5, 2),
    ],
    ids=["exp", "tanh", "sigmoid", "pow_scalar_exponent", "pow_scalar_base", "log", "sin", "erf", "sqrt"],
)
def test_gradgradcheck_unary(fn, low, high):
    x = em.tensor(make_array((2, 3), np.float64, low, high), requires_grad=True)
    assert em.autograd.gradgradcheck(fn, [x])


@pytest.mark.parametrize(
    "fn,ra,rb",
    [
        (em.mul, (-2, 2), (-2, 2)),
        (em.div, (-2, 2), (0.5, 2)),
        (em.pow, (0.5, 2), (-2, 2)),
        (em.atan2, (0.5, 2), (0.5, 2)),
        (em.maximum, (-2, 2), (-2, 2)),
        (em.hypot, (0.5, 2), (0.5, 2)),
    ],
    ids=["mul", "div", "pow", "atan2", "maximum", "hypot"],
)
def test_gradgradcheck_binary(fn, ra, rb):
    a = em.tensor(make_array((2, 3), np.float64, *ra), requires_grad=True)
    b = em.tensor(make_array((3,), np.float64, *rb), requires_grad=True)
    assert em.autograd.gradgradcheck(fn, [a, b])


def test_second_derivative_matches_torch():
    x = make_array((5,), np.float64, 0.5, 2)
    for ef, tf in [(lambda t: t**3.5, lambda t: t**3.5), (em.tanh, torch.tanh), (em.erfinv, torch.erfinv)]:
        xi = x / 2.5 if ef is em.erfinv else x
        e = em.tensor(xi, requires_grad=True)
        (ge,) = em.autograd.grad(ef(e).sum(), [e], create_graph=True)
        (gge,) = em.autograd.grad(ge.sum(), [e])
        t = torch.tensor(xi, requires_grad=True)
        (gt,) = torch.autograd.grad(tf(t).sum(), [t], create_graph=True)
        (ggt,) = torch.autograd.grad(gt.sum(), [t])
        np.testing.assert_allclose(gge.numpy(), ggt.numpy(), rtol=1e-10)


# --------------------------------------------------- comparisons and logic
CMP = ["eq", "ne", "lt", "le", "gt", "ge", "not_equal", "less", "less_equal", "greater", "greater_equal"]


@pytest.mark.parametrize("name", CMP)
def test_comparisons(name):
    ef, tf = _fn(name)
    for dtype in (np.float32, np.int64):
        out = check_op([(3, 4), (4,)], ef, tf, dtype=dtype, low=-2, high=2, grad=False)
        assert out.dtype == em.bool
        check_op([(2, 1, 4), (3, 1)], ef, tf, dtype=dtype, low=-2, high=2, grad=False, layout="transposed")
        check_op([(0, 3), ()], ef, tf, dtype=dtype, grad=False)
    check_op(None, lambda t: ef(t, 1), lambda t: tf(t, 1), inputs=[np.array([0, 1, 2])], grad=False)
    check_op(None, lambda t: ef(t, 0.5), lambda t: tf(t, 0.5), inputs=[np.array([0, 1, 2])], grad=False)
    mixed = [np.array([1, 2, 3], np.int64), np.array([1.0, 2.5, 2.0], np.float32)]
    check_op(None, ef, tf, inputs=mixed, grad=False)


def test_comparison_operators_and_nan():
    a = np.array([np.nan, 1.0, 2.0], np.float32)
    b = np.array([np.nan, 1.0, 3.0], np.float32)
    for op in (lambda x, y: x == y, lambda x, y: x != y, lambda x, y: x < y, lambda x, y: x >= y):
        check_op(None, op, op, inputs=[a, b], grad=False)


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
def test_logical_binary(name):
    ef, tf = _fn(name)
    for dtype in (np.bool_, np.float32, np.int64):
        out = check_op([(3, 4), (4,)], ef, tf, dtype=dtype, low=-1, high=2, grad=False)
        assert out.dtype == em.bool
    check_op(None, ef, tf, inputs=[np.array([0.0, 1.0, 2.0]), np.array([0, 0, 3])], grad=False)


def test_logical_not():
    for dtype in (np.bool_, np.float32, np.int64):
        check_op([(3, 4)], em.logical_not, torch.logical_not, dtype=dtype, low=-1, high=2, grad=False)


@pytest.mark.parametrize(
    "name", ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"]
)
def test_bitwise(name):
    ef, tf = _fn(name)
    for dtype in (np.int32, np.int64) + ((np.bool_,) if "shift" not in name else ()):
        low = 0 if "shift" in name else -8
        check_op([(3, 4), (4,)], ef, tf, dtype=dtype, low=low, high=8, grad=False)
    check_op(None, lambda t: ef(t, 3), lambda t: tf(t, 3), inputs=[np.array([1, 6, 12])], grad=False)
    with pytest.raises(DTypeError, match=name):
        ef(em.ones(2), em.ones(2))


def test_bitwise_not_and_operators():
    check_op([(3, 4)], em.bitwise_not, torch.bitwise_not, dtype=np.int64, low=-8, high=8, grad=False)
    check_op([(3, 4)], em.bitwise_not, torch.bitwise_not, dtype=np.bool_, grad=False)
    for op in (lambda x, y: x & y, lambda x, y: x | y, lambda x, y: x ^ y):
        check_op([(3, 4), (3, 4)], op, op, dtype=np.int32, low=-8, high=8, grad=False)
        check_op([(3, 4), (3, 4)], op, op, dtype=np.bool_, grad=False)
    with pytest.raises(DTypeError, match="bitwise_not"):
        em.bitwise_not(em.ones(2))


def test_isclose_allclose_equal():
    a = np.array([1.0, 2.0, np.nan], np.float32)
    b = np.array([1.0 + 1e-7, 2.1, np.nan], np.float32)
    check_op(None, em.isclose, torch.isclose, inputs=[a, b], grad=False)
    check_op(
        None,
        lambda x, y: em.isclose(x, y, equal_nan=True),
        lambda x, y: torch.isclose(x, y, equal_nan=True),
        inputs=[a, b],
        grad=False,
    )
    assert em.allclose(em.tensor([1.0, 2.0]), em.tensor([1.0, 2.0 + 1e-9])) is True
    assert em.equal(em.tensor([1, 2]), em.tensor([1, 2])) is True
    assert em.equal(em.tensor([1, 2]), em.tensor([[1, 2]])) is False


# ------------------------------------------------------------- errors, API
def test_broadcast_error_names_op_and_shapes():
    for fn in (em.add, em.mul, em.div, em.pow, em.maximum, em.atan2, em.remainder, em.eq, em.logical_and):
        with pytest.raises(ShapeError, match=r"\(2, 3\).*\(4,\)"):
            fn(em.ones(2, 3), em.ones(4))


def test_bool_arithmetic_errors():
    with pytest.raises(DTypeError, match="neg"):
        em.neg(em.tensor([True]))
    with pytest.raises(DTypeError, match="sub"):
        em.sub(em.tensor([True]), em.tensor([False]))
    with pytest.raises(DTypeError, match="relu"):
        em.relu(em.tensor([True]))


def test_aliases_are_the_same_functions():
    for alias, name in [
        ("arcsin", "asin"),
        ("arccos", "acos"),
        ("arctan", "atan"),
        ("arctan2", "atan2"),
        ("arcsinh", "asinh"),
        ("arccosh", "acosh"),
        ("arctanh", "atanh"),
        ("clip", "clamp"),
        ("fix", "trunc"),
        ("negative", "neg"),
        ("absolute", "abs"),
        ("subtract", "sub"),
        ("multiply", "mul"),
        ("divide", "div"),
    ]:
        assert getattr(em, alias) is getattr(em, name), alias


def test_every_tensor_method_exists():
    from ember.ops import elementwise

    x = em.ones(2)
    for name in elementwise.TENSOR_METHODS:
        assert callable(getattr(x, name)), name
    for name in elementwise.INPLACE_METHODS:
        assert callable(getattr(x, name + "_")), name + "_"
        assert hasattr(torch.Tensor, name + "_"), f"torch has no {name}_"
        assert hasattr(torch, name) or hasattr(torch.Tensor, name), name


def test_methods_match_functions():
    x = make_array((3, 4), low=0.1, high=0.9)
    check_op(None, lambda t: t.logit(eps=0.2), lambda t: t.logit(eps=0.2), inputs=[x])
    check_op(None, lambda t: t.pow(2).exp2().rsqrt(), lambda t: t.pow(2).exp2().rsqrt(), inputs=[x])
    check_op(None, lambda t: t.erfinv().hypot(t).atan2(t), lambda t: t.erfinv().hypot(t).atan2(t), inputs=[x])


def test_zero_gradient_ops_give_zeros_not_none():
    x = em.tensor([0.4, 1.6, -2.3], requires_grad=True)
    for fn in (em.floor, em.ceil, em.round, em.trunc, em.sign, lambda t: em.floor_divide(t, 0.7)):
        (g,) = em.autograd.grad(fn(x).sum(), [x])
        np.testing.assert_array_equal(g.numpy(), np.zeros(3, np.float32))


def test_float_ops_are_quiet_like_torch():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        em.log(em.tensor([-1.0, 0.0]))
        em.sqrt(em.tensor([-1.0]))
        em.div(em.tensor([1.0, 0.0]), em.tensor([0.0, 0.0]))
        em.acos(em.tensor([2.0]))
        em.pow(em.tensor([-2.0]), 0.5)
        em.remainder(em.tensor([1.0]), 0.0)
        em.logit(em.tensor([1.0, 2.0]))


# ------------------------------------------------------------- softmax at the top level and as methods
SOFTMAX_CASES = [((4, 5), 1), ((4, 5), -2), ((2, 3, 4), 0), ((7,), 0), ((), 0), ((0, 3), 1), ((3, 0), 0)]


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced"])
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES, ids=str)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_function_and_method_match_torch(name, shape, dim, layout):
    lib = lambda x: em if isinstance(x, em.Tensor) else torch  # noqa: E731
    check_op([shape], lambda x: getattr(lib(x), name)(x, dim), layout=layout)
    check_op([shape], lambda x: getattr(x, name)(dim), layout=layout)
    check_op([shape], lambda x: getattr(x, name)(dim=dim, dtype=lib(x).float64), layout=layout)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_function_gradcheck_and_errors(name):
    check_gradcheck([(3, 4)], lambda x: getattr(em, name)(x, 1) * em.arange(4.0, dtype=em.float64))
    check_gradcheck([(3, 4)], lambda x: getattr(x, name)(0) * em.arange(4.0, dtype=em.float64))
    with pytest.raises(IndexError, match=f"^{name}: dimension out of range"):
        getattr(em.zeros(2, 3), name)(2)
    with pytest.raises(TypeError):
        getattr(em, name)(em.zeros(2, 3))  # dim is required, as in torch.softmax
    x = em.randn(4, 6)
    np.testing.assert_array_equal(getattr(x, name)(1).data, getattr(em.nn.functional, name)(x, 1).data)
