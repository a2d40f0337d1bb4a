"""Elementwise ops: arithmetic, unary maths, rounding, comparisons and logic.

Each differentiable op is a ``Function`` with its forward (NumPy) and backward
(ember ops, so it can be differentiated again) side by side. Binary ops
broadcast like NumPy and promote dtypes like PyTorch; the engine sums each
gradient back to its input's shape. Integer and bool inputs of floating-point
functions (exp, sin, true division, ...) compute in the default float dtype, as
in PyTorch; rounding ops (floor, sign, ...) have a zero gradient.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import KEEP_CROSS, KEEP_DIVISOR, KEEP_NONE, Function
from ..autograd.grad_mode import state as _grad_state
from ..errors import DTypeError
from ..tensor import Tensor, new_tensor
from ._util import binary_arrays, broadcast_error, data_of

__all__ = [
    # arithmetic
    "add",
    "sub",
    "subtract",
    "mul",
    "multiply",
    "div",
    "divide",
    "true_divide",
    "floor_divide",
    "remainder",
    "fmod",
    "pow",
    "neg",
    "negative",
    "abs",
    "absolute",
    "square",
    "reciprocal",
    "lerp",
    "hypot",
    "atan2",
    "arctan2",
    # exponentials and logarithms
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "sqrt",
    "rsqrt",
    # trigonometric and hyperbolic
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    # activations and special functions
    "sigmoid",
    "logit",
    "relu",
    "softmax",
    "log_softmax",
    "erf",
    "erfc",
    "erfinv",
    # rounding and piecewise-constant
    "sign",
    "floor",
    "ceil",
    "round",
    "trunc",
    "fix",
    "frac",
    # selection
    "clamp",
    "clip",
    "clamp_min",
    "clamp_max",
    "where",
    "maximum",
    "minimum",
    "fmax",
    "fmin",
    # floating-point classification
    "isnan",
    "isinf",
    "isfinite",
    "isposinf",
    "isneginf",
    "nan_to_num",
    # comparisons
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "equal",
    "isclose",
    "allclose",
    # logic and bits
    "logical_and",
    "logical_or",
    "logical_xor",
    "logical_not",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "bitwise_not",
    "bitwise_left_shift",
    "bitwise_right_shift",
]

# Tensor.where(condition, other) means where(condition, self, other): it needs a
# method of its own in tensor.py, so ``where`` is not listed here.
TENSOR_METHODS = [n for n in __all__ if n != "where"]

# the ops that PyTorch also offers as ``x.name_(...)``: all but these
_NO_INPLACE = {
    "softmax",
    "log_softmax",
    "where",
    "maximum",
    "minimum",
    "fmax",
    "fmin",
    "isnan",
    "isinf",
    "isfinite",
    "isposinf",
    "isneginf",
    "equal",
    "isclose",
    "allclose",
}
INPLACE_METHODS = [n for n in __all__ if n not in _NO_INPLACE]

_builtin_abs = abs  # ``abs`` is the tensor op in this module
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_HALF_SQRT_PI = 0.5 * math.sqrt(math.pi)

# ------------------------------------------------------------- quiet NumPy maths
# PyTorch gives inf/nan silently (1/0, log(-1), ...); NumPy warns. ``np.errstate``
# costs about 1.6 us per use, more than a small op itself, so set NumPy's error
# state context variable directly (0.4 us) where this NumPy has it.
try:
    from numpy._core import umath as _umath

    _errstate_var = _umath._extobj_contextvar
    _IGNORE_ERRORS = _umath._make_extobj(all="ignore")
except (ImportError, AttributeError):  # pragma: no cover - other NumPy versions
    _errstate_var = None


def _quiet(fn, *args):
    """``fn(*args)`` with NumPy's floating-point warnings off."""
    if _errstate_var is None:  # pragma: no cover
        with np.errstate(all="ignore"):
            return fn(*args)
    token = _errstate_var.set(_IGNORE_ERRORS)
    try:
        return fn(*args)
    finally:
        _errstate_var.reset(token)


# ------------------------------------------------------------------- promotion
def _result_dtype(*operands) -> np.dtype:
    """PyTorch's result dtype over tensors and Python numbers; None operands are skipped."""
    return _dt.result_type(*(o.item() if isinstance(o, np.generic) else o for o in operands if o is not None)).np


def _operands(op: str, a, b):
    """The operands of a binary op as arrays (or weak Python scalars) of the promoted dtype.

    ``_util.binary_arrays`` with a shortcut for the common tensor-and-Python-number case.
    """
    if isinstance(a, Tensor):
        ad = a.data
        if isinstance(b, Tensor):
            bd = b.data
            if ad.dtype is bd.dtype or ad.dtype == bd.dtype:
                return ad, bd
            dt = _dt.result_type(a, b).np
            return ad.astype(dt, copy=False), bd.astype(dt, copy=False)
        if b.__class__ is float:
            if ad.dtype.kind == "f":
                return ad, b
        elif b.__class__ is int:
            if ad.dtype.kind in "fiu":
                return ad, b
        elif isinstance(b, np.ndarray):
            return _operands(op, a, Tensor(b))
    elif isinstance(b, Tensor):
        bd = b.data
        if a.__class__ is float:
            if bd.dtype.kind == "f":
                return a, bd
        elif a.__class__ is int:
            if bd.dtype.kind in "fiu":
                return a, bd
        elif isinstance(a, np.ndarray):
            return _operands(op, Tensor(a), b)
    return binary_arrays(op, a, b)


def _kind(x, y) -> str:
    """The dtype kind of a pair returned by ``_operands`` (one of them is a NumPy value)."""
    return x.dtype.kind if isinstance(x, (np.ndarray, np.generic)) else y.dtype.kind


def _to_float(v, dt):
    return v.astype(dt) if isinstance(v, (np.ndarray, np.generic)) else v


def _float_operands(op: str, a, b):
    """``_operands`` for floating-point functions: integer and bool pairs become the default float."""
    x, y = _operands(op, a, b)
    if _kind(x, y) == "f":
        return x, y
    dt = _dt.get_default_dtype().np
    return _to_float(x, dt), _to_float(y, dt)


def _float_data(a: Tensor) -> np.ndarray:
    """Integer inputs of float functions (exp, log, ...) compute in the default float dtype."""
    d = a.data
    if d.dtype.kind not in "fc":
        return d.astype(_dt.get_default_dtype().np)
    return d


def _apply_binary(fn, op: str, a, b):
    try:
        return fn.apply(a, b)
    except ValueError as e:
        if "broadcast" in str(e):
            raise broadcast_error(op, np.shape(data_of(a)), np.shape(data_of(b))) from None
        raise


def _save_pair(ctx, a, b, keep_a: bool = True, keep_b: bool = True) -> None:
    """Keep what backward needs of two operands: tensors (version-checked) and Python numbers.

    Only a recorded call keeps anything (its ``needs_input_grad`` is a tuple).
    Keeping no more than backward uses also lets ``y.mul_(2)`` on a graph
    tensor work: the old value of ``y`` is not needed, so not checked.
    """
    if ctx.needs_input_grad.__class__ is not tuple:
        return
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    ctx.save_for_backward(a if ta and keep_a else None, b if tb and keep_b else None)
    ctx.scalars = (None if ta else a, None if tb else b)


def _saved_pair(ctx):
    """The two operands kept by ``_save_pair`` (None for a tensor it did not keep)."""
    saved = ctx._saved
    if saved is not None:  # ``ctx.saved_tensors``' version check inline (backward of every product)
        sa, sb = saved
        va, vb = ctx._versions
        if (sa is None or sa._vc[0] == va) and (sb is None or sb._vc[0] == vb):
            a, b = ctx.scalars
            return (sa if a is None else a), (sb if b is None else b)
    sa, sb = ctx.saved_tensors  # raises the error
    a, b = ctx.scalars
    return (sa if a is None else a), (sb if b is None else b)


def _check_int_divisor(op: str, x, y) -> None:
    """Integer division by zero is an error (PyTorch), not NumPy's silent 0."""
    if _kind(x, y) in "iub":
        zero = (y == 0) if not isinstance(y, np.ndarray) else not y.all()
        if zero:
            raise ZeroDivisionError(f"{op}: integer division by zero")


def _zeros_like(g: Tensor) -> Tensor:
    return Tensor(np.zeros_like(g.data))


# ---------------------------------------------------------------------- arithmetic
class Add(Function):
    pair_saves = KEEP_NONE  # what forward keeps, for the operators' direct recording (function.record_pair)

    @staticmethod
    def forward(ctx, a, b):
        x, y = _operands("add", a, b)
        return np.add(x, y)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (g if na else None), (g if nb else None)


class Sub(Function):
    pair_saves = KEEP_NONE

    @staticmethod
    def forward(ctx, a, b):
        # checked before promotion, which would hide a bool operand (inline: sub is a hot path)
        if (a.data.dtype.kind == "b" if isinstance(a, Tensor) else a.__class__ is bool) or (
            b.data.dtype.kind == "b" if isinstance(b, Tensor) else b.__class__ is bool
        ):
            raise DTypeError("sub: subtraction with bool operands is not supported; use logical_xor or ~")
        x, y = _operands("sub", a, b)
        return np.subtract(x, y)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (g if na else None), (-g if nb else None)


class Mul(Function):
    pair_saves = KEEP_CROSS  # as forward's _save_pair below: each operand for the other's gradient

    @staticmethod
    def forward(ctx, a, b):
        needs = ctx.needs_input_grad
        if needs.__class__ is tuple:  # recorded: a is needed only for b's gradient and b for a's
            _save_pair(ctx, a, b, needs[1], needs[0])
        x, y = _operands("mul", a, b)
        return np.multiply(x, y)

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_pair(ctx)
        na, nb = ctx.needs_input_grad
        if not _grad_state.enabled:  # first order: skip the operator's dispatch where it can
            return (_product(g, b) if na else None), (_product(g, a) if nb else None)
        return (g * b if na else None), (g * a if nb else None)


def _product(g: Tensor, t) -> Tensor:
    """``g * t`` with grad mode off: one ufunc call for a tensor of ``g``'s dtype."""
    if t.__class__ is Tensor:
        gd = g.data
        td = t.data
        if gd.dtype is td.dtype:
            return new_tensor(np.multiply(gd, td), False, None, 0)
    return g * t


class Div(Function):
    pair_saves = KEEP_DIVISOR  # as forward's _save_pair below: a for b's gradient, and b

    @staticmethod
    def forward(ctx, a, b):
        needs = ctx.needs_input_grad
        if needs.__class__ is tuple:
            _save_pair(ctx, a, b, needs[1], True)
        x, y = _float_operands("div", a, b)
        return _quiet(np.true_divide, x, y)

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_pair(ctx)
        na, nb = ctx.needs_input_grad
        ga = g / b if na else None
        gb = -g * ((a / b) / b) if nb else None  # PyTorch's form: overflows later than a / (b * b)
        return ga, gb


class FloorDivide(Function):
    """``floor(a / b)``: Python's ``//``; zero gradient."""

    @staticmethod
    def forward(ctx, a, b):
        x, y = _operands("floor_divide", a, b)
        _check_int_divisor("floor_divide", x, y)
        return _quiet(np.floor_divide, x, y)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (_zeros_like(g) if na else None), (_zeros_like(g) if nb else None)


class TruncDivide(Function):
    """``trunc(a / b)``: C's integer division; zero gradient."""

    @staticmethod
    def forward(ctx, a, b):
        x, y = _operands("div", a, b)
        _check_int_divisor("div", x, y)
        if _kind(x, y) in "iub":
            return (x - np.fmod(x, y)) // y  # exact: x - fmod(x, y) is a multiple of y
        return _quiet(lambda p, q: np.trunc(np.true_divide(p, q)), x, y)

    backward = FloorDivide.backward


class Remainder(Function):
    """``a - floor(a / b) * b``: the sign of the divisor (Python's ``%``)."""

    @staticmethod
    def forward(ctx, a, b):
        needs = ctx.needs_input_grad
        if needs.__class__ is tuple:  # the gradient of a is g itself
            _save_pair(ctx, a, b, needs[1], needs[1])
        x, y = _operands("remainder", a, b)
        _check_int_divisor("remainder", x, y)
        return _quiet(np.remainder, x, y)

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_pair(ctx)
        na, nb = ctx.needs_input_grad
        return (g if na else None), (-g * floor_divide(a, b) if nb else None)


class Fmod(Function):
    """``a - trunc(a / b) * b``: the sign of the dividend (C's ``fmod``)."""

    @staticmethod
    def forward(ctx, a, b):
        needs = ctx.needs_input_grad
        if needs.__class__ is tuple:  # the gradient of a is g itself
            _save_pair(ctx, a, b, needs[1], needs[1])
        x, y = _operands("fmod", a, b)
        _check_int_divisor("fmod", x, y)
        return _quiet(np.fmod, x, y)

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_pair(ctx)
        na, nb = ctx.needs_input_grad
        return (g if na else None), (-g * div(a, b, rounding_mode="trunc") if nb else None)


class Pow(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a, b):
        _save_pair(ctx, a, b)
        x, y = _operands("pow", a, b)
        if _kind(x, y) in "iu":
            return _int_pow(x, y)
        if y.__class__ is int or y.__class__ is float:
            if y == 2:
                return np.square(x)
            if y == 0.5:
                return _quiet(np.sqrt, x)
        return _quiet(np.power, x, y)

    @staticmethod
    def backward(ctx, g):
        return _quiet(_pow_backward, ctx, g)  # 0 * inf and log(0) at a == 0 are expected


def _pow_backward(ctx, g):
    a, b = _saved_pair(ctx)
    na, nb = ctx.needs_input_grad
    ga = gb = None
    if na:
        if isinstance(b, Tensor):
            # b * a**(b-1), zero where b == 0 (even at a == 0), as PyTorch
            ga = where(b == 0, 0.0, g * (b * a ** (b - 1)))
        elif b == 0:
            ga = _zeros_like(g)
        else:
            ga = g * (b * a ** (b - 1))
    if nb:
        # a**b * log(a); zero where a == 0 and b >= 0 (PyTorch's choice); NaN for a < 0
        out = ctx.output
        if isinstance(a, Tensor):
            gb = g * where((a == 0) & (b >= 0), 0.0, out * log(a))
        elif a == 0:
            gb = g * where(b >= 0, 0.0, out * -math.inf)
        else:
            gb = g * (out * (math.log(a) if a > 0 else math.nan))
    return ga, gb


def _int_pow(x, y):
    """Integer powers as PyTorch: a negative Python exponent is an error; a negative
    tensor exponent gives 1 for base 1, +-1 for base -1 and 0 otherwise."""
    if not isinstance(y, np.ndarray):
        if y < 0:
            raise ValueError(f"pow: integers to negative integer powers are not allowed (exponent {y})")
        return np.power(x, y)
    negative = y < 0
    if not negative.any():
        return np.power(x, y)
    out = np.power(x, np.where(negative, 0, y))
    odd = (y % 2) != 0
    return np.where(negative, np.where(x == 1, 1, np.where(x == -1, np.where(odd, -1, 1), 0)), out).astype(out.dtype)


class Atan2(Function):
    @staticmethod
    def forward(ctx, a, b):
        _save_pair(ctx, a, b)
        x, y = _float_operands("atan2", a, b)
        return np.arctan2(x, y)

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_pair(ctx)
        na, nb = ctx.needs_input_grad
        recip = reciprocal(a * a + b * b)
        # NaN at (0, 0), like PyTorch, without NumPy's warning
        return _quiet(lambda: ((g * (b * recip) if na else None), (g * (-a * recip) if nb else None)))


class Hypot(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a, b):
        needs = ctx.needs_input_grad
        if needs.__class__ is tuple:
            _save_pair(ctx, a, b, needs[0], needs[1])
        x, y = _float_operands("hypot", a, b)
        return np.hypot(x, y)

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_pair(ctx)
        out = ctx.output
        na, nb = ctx.needs_input_grad
        return (div(g * a, out) if na else None), (div(g * b, out) if nb else None)


class Lerp(Function):
    """``start + weight * (end - start)``, in PyTorch's two-sided form for accuracy near weight 1."""

    @staticmethod
    def forward(ctx, start, end, weight):
        needs = ctx.needs_input_grad
        if needs.__class__ is tuple:
            # start and end only for the weight's gradient, so start.lerp_(end, 0.3) works in a graph
            keep_w = isinstance(weight, Tensor) and (needs[0] or needs[1])
            ctx.save_for_backward(start if needs[2] else None, end if needs[2] else None, weight if keep_w else None)
            ctx.weight = weight
        x, e = start.data, end.data
        diff = e - x
        if isinstance(weight, Tensor):
            w = weight.data
            return np.where(np.abs(w) < 0.5, x + w * diff, e - diff * (1 - w))
        return x + weight * diff if _builtin_abs(weight) < 0.5 else e - diff * (1 - weight)

    @staticmethod
    def backward(ctx, g):
        start, end, wt = ctx.saved_tensors
        w = ctx.weight if wt is None else wt
        ns, ne, nw = ctx.needs_input_grad
        return (g * (1 - w) if ns else None), (g * w if ne else None), (g * (end - start) if nw else None)


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        if a.data.dtype.kind == "b":
            raise DTypeError("neg: negation of a bool tensor is not supported; use ~ or logical_not")
        return np.negative(a.data)

    @staticmethod
    def backward(ctx, g):
        return -g


class Abs(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a.data)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * sign(a)


class Square(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.square(a.data)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * (2 * a)


# ---------------------------------------------------------------- float unary ops
class _FloatUnary(Function):
    """``y = ufunc(x)`` in floating point; integer and bool inputs compute in the default float.

    Subclasses set ``ufunc``, ``quiet`` (silence NumPy's domain warnings: PyTorch
    gives NaN/inf silently) and ``save_output`` (backward uses ``ctx.output``,
    else the input is saved).
    """

    ufunc = None
    quiet = False

    @classmethod
    def forward(cls, ctx, a):
        if not cls.save_output:
            ctx.save_for_backward(a)
        x = a.data
        if x.dtype.kind != "f":
            x = x.astype(_dt.get_default_dtype().np)
        return _quiet(cls.ufunc, x) if cls.quiet else cls.ufunc(x)


class Exp(_FloatUnary):
    ufunc = np.exp
    save_output = True

    @staticmethod
    def backward(ctx, g):
        return g * ctx.output


class Exp2(_FloatUnary):
    ufunc = np.exp2
    save_output = True

    @staticmethod
    def backward(ctx, g):
        return g * (ctx.output * _LN2)


class Expm1(_FloatUnary):
    ufunc = np.expm1
    save_output = True

    @staticmethod
    def backward(ctx, g):
        return g * (ctx.output + 1)


class Log(_FloatUnary):
    ufunc = np.log
    quiet = True

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / a


class Log2(_FloatUnary):
    ufunc = np.log2
    quiet = True

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / (a * _LN2)


class Log10(_FloatUnary):
    ufunc = np.log10
    quiet = True

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / (a * _LN10)


class Log1p(_FloatUnary):
    ufunc = np.log1p
    quiet = True

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / (a + 1)


class Sqrt(_FloatUnary):
    ufunc = np.sqrt
    quiet = True
    save_output = True

    @staticmethod
    def backward(ctx, g):
        return g / (2 * ctx.output)


def _rsqrt_array(x: np.ndarray) -> np.ndarray:
    out = np.sqrt(x)
    return np.divide(1, out, out=out) if out.__class__ is np.ndarray else 1 / out


class Rsqrt(_FloatUnary):
    ufunc = _rsqrt_array
    quiet = True
    save_output = True

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return g * (-0.5 * y * y * y)


def _reciprocal_array(x: np.ndarray) -> np.ndarray:
    return np.divide(1, x)


class Reciprocal(_FloatUnary):
    ufunc = _reciprocal_array
    quiet = True
    save_output = True

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return -g * (y * y)


class Sin(_FloatUnary):
    ufunc = np.sin

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * cos(a)


class Cos(_FloatUnary):
    ufunc = np.cos

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * -sin(a)


class Tan(_FloatUnary):
    ufunc = np.tan
    save_output = True

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return g * (1 + y * y)


class Asin(_FloatUnary):
    ufunc = np.arcsin
    quiet = True

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * rsqrt(1 - a * a)


class Acos(_FloatUnary):
    ufunc = np.arccos
    quiet = True

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * -rsqrt(1 - a * a)


class Atan(_FloatUnary):
    ufunc = np.arctan

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / (a * a + 1)


class Sinh(_FloatUnary):
    ufunc = np.sinh
    quiet = True

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * cosh(a)


class Cosh(_FloatUnary):
    ufunc = np.cosh
    quiet = True

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * sinh(a)


class Tanh(_FloatUnary):
    ufunc = np.tanh
    save_output = True

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return g * (1 - y * y)


class Asinh(_FloatUnary):
    ufunc = np.arcsinh

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * rsqrt(a * a + 1)


class Acosh(_FloatUnary):
    ufunc = np.arccosh
    quiet = True

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * rsqrt(a * a - 1)


class Atanh(_FloatUnary):
    ufunc = np.arctanh
    quiet = True

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / (1 - a * a)


def _sigmoid_array(x: np.ndarray) -> np.ndarray:
    # exp of a non-positive number never overflows: 1/(1+e^-x) or e^x/(1+e^x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class Sigmoid(_FloatUnary):
    ufunc = _sigmoid_array
    save_output = True

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return g * (y * (1 - y))


class Logit(Function):
    @staticmethod
    def forward(ctx, a, eps):
        ctx.save_for_backward(a)
        ctx.eps = eps
        x = _float_data(a)
        if eps is not None:
            x = np.minimum(np.maximum(x, eps), 1 - eps)
        return _quiet(lambda z: np.log(z / (1 - z)), x)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        eps = ctx.eps
        dx = div(g, a * (1 - a))
        if eps is None:
            return where((a < 0) | (a > 1), math.nan, dx), None
        # zero outside [eps, 1 - eps], where the input was clamped
        return where((a < eps) | (a > 1 - eps), 0.0, dx), None


def _special(name: str):
    """A lazy reference to a Numba kernel in ``ember.kernels.special`` (import ember never loads Numba)."""

    def run(x: np.ndarray) -> np.ndarray:
        from ..kernels import special

        return getattr(special, name)(x)

    run.__name__ = name
    return run


class Erf(_FloatUnary):
    ufunc = _special("erf")

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * (_TWO_OVER_SQRT_PI * exp(-(a * a)))


class Erfc(_FloatUnary):
    ufunc = _special("erfc")

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * (-_TWO_OVER_SQRT_PI * exp(-(a * a)))


class Erfinv(_FloatUnary):
    ufunc = _special("erfinv")
    save_output = True

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return g * (_HALF_SQRT_PI * exp(y * y))


# float32/float64 arrays of at least this many elements go through ember.kernels.activation (one
# pass each way; NumPy's np.where took 5 ns an element on 4-d arrays); below it NumPy's call is
# as fast.
_RELU_KERNEL_SIZE = 1 << 10
_RELU_KERNELS = None


def _relu_kernels(x: np.ndarray):
    """``ember.kernels.activation`` for a big float array ``x``, else None."""
    global _RELU_KERNELS
    if x.size < _RELU_KERNEL_SIZE or x.dtype.kind != "f" or x.itemsize < 4:
        return None
    if _RELU_KERNELS is None:
        from ..kernels import activation

        _RELU_KERNELS = activation
    return _RELU_KERNELS


def _same_layout(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a`` and ``b`` (one shape) lay out their elements alike; a size-1 dimension's stride
    does not count (NumPy gives it any value: a batch-1 conv output's differs from empty_like's)."""
    return all(sa == sb or n == 1 for sa, sb, n in zip(a.strides, b.strides, a.shape))


def _relu_array(x: np.ndarray) -> np.ndarray:
    if x.dtype.kind == "b":
        raise DTypeError("relu: bool tensors are not supported")
    kernels = _relu_kernels(x)
    if kernels is None:
        return np.maximum(x, 0)
    out = np.empty_like(x)  # x's layout if x is dense, else a dense one
    if not _same_layout(out, x):
        np.maximum(x, 0, out=out)
    else:
        kernels.relu_forward(x.ravel(order="K"), out.ravel(order="K"))
    return out


class Relu(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a):
        return _relu_array(a.data)

    @staticmethod
    def backward(ctx, g):
        if _grad_state.enabled:
            return g * (ctx.output > 0)
        # first order, as PyTorch's threshold_backward: 0 where y <= 0, else the gradient (NaN and inf too)
        y, gd = ctx.output_data, g.data
        kernels = _relu_kernels(gd) if gd.dtype == y.dtype else None
        if kernels is None:
            return new_tensor(np.where(y <= 0, np.zeros((), gd.dtype), gd), False, None, 0)
        out = np.empty_like(y)  # y is dense: a ufunc's or the kernel's output
        if not _same_layout(gd, y):  # the gradient in another layout: one copy into y's
            np.copyto(out, gd)
            gd = out
        kernels.relu_backward(gd.ravel(order="K"), y.ravel(order="K"), out.ravel(order="K"))
        return new_tensor(out, False, None, 0)


class NanToNum(Function):
    @staticmethod
    def forward(ctx, a, nan, posinf, neginf):
        ctx.save_for_backward(a)
        x = a.data
        if x.dtype.kind != "f":
            return x.copy()
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * isfinite(a), None, None, None


class Frac(Function):
    @staticmethod
    def forward(ctx, a):
        x = a.data
        if x.dtype.kind != "f":
            raise DTypeError(f"frac: only floating-point tensors are supported, got {a.dtype}")
        return x - np.trunc(x)

    @staticmethod
    def backward(ctx, g):
        return g


# ------------------------------------------------------- piecewise-constant ops
class _Stepwise(Function):
    """Floor, sign, ...: piecewise constant, so the gradient is zero (as in PyTorch).

    Integer and bool inputs are returned unchanged (copied), with their dtype.
    """

    @classmethod
    def forward(cls, ctx, a, *args):
        x = a.data
        if x.dtype.kind != "f":
            return cls.integer(x, *args)
        return cls.floating(x, *args)

    @staticmethod
    def integer(x, *args):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return (_zeros_like(g),) + (None,) * (len(ctx.needs_input_grad) - 1)


class Floor(_Stepwise):
    floating = staticmethod(np.floor)


class Ceil(_Stepwise):
    floating = staticmethod(np.ceil)


class Trunc(_Stepwise):
    floating = staticmethod(np.trunc)


class Round(_Stepwise):
    @staticmethod
    def floating(x, decimals):
        if decimals == 0:
            return np.rint(x)  # half to even, like PyTorch
        # PyTorch's formula, in the tensor's dtype: rint(x * 10^d) / 10^d, or rint(x / 10^-d) * 10^-d
        scale = 10.0 ** _builtin_abs(decimals)
        if decimals > 0:
            return _quiet(lambda v: np.rint(v * scale) / scale, x)
        return _quiet(lambda v: np.rint(v / scale) * scale, x)

    @staticmethod
    def integer(x, decimals):
        if decimals != 0:
            raise DTypeError(f"round: decimals={decimals} is only supported for floating-point tensors, got {x.dtype}")
        return x.copy()


class Sign(_Stepwise):
    @staticmethod
    def floating(x):
        # (x > 0) - (x < 0): 0 for NaN and -0.0, as PyTorch (np.sign gives NaN)
        return np.subtract(x > 0, x < 0, dtype=x.dtype)

    @staticmethod
    def integer(x):
        return x.copy() if x.dtype.kind == "b" else np.sign(x)


# ----------------------------------------------------------------- selection
class Clamp(Function):
    """``min(max(a, lo), hi)``; its backward needs only where each bound binds.

    Those masks are computed in forward, so backward does not keep ``a``: that
    lets ``y.clamp_(...)`` work on a tensor inside the graph.
    """

    @staticmethod
    def forward(ctx, a, lo, hi):
        x = a.data
        if isinstance(lo, Tensor) or isinstance(hi, Tensor) or _clamp_needs_promotion(x, lo, hi):
            dt = _result_dtype(a, lo, hi)
            x = x.astype(dt, copy=False)
            lo = lo.data.astype(dt, copy=False) if isinstance(lo, Tensor) else lo
            hi = hi.data.astype(dt, copy=False) if isinstance(hi, Tensor) else hi
        needs = ctx.needs_input_grad
        if needs.__class__ is tuple:
            ctx.masks = _clamp_masks(x, lo, hi, needs[1], needs[2])
        if lo is not None:
            x = np.maximum(x, lo)
            if hi is not None:
                if x.__class__ is np.ndarray and hi.__class__ is not np.ndarray:
                    return np.minimum(x, hi, out=x)  # a number bound: x already has the result's shape
                return np.minimum(x, hi)
            return x
        return np.minimum(x, hi)

    @staticmethod
    def backward(ctx, g):
        na, nlo, nhi = ctx.needs_input_grad
        return tuple(
            where(Tensor(m), g, 0.0) if need and m is not None else None for need, m in zip((na, nlo, nhi), ctx.masks)
        )


def _clamp_masks(x, lo, hi, need_lo: bool, need_hi: bool) -> tuple:
    """Where the gradient goes: to the input inside the bounds, else to the bound that binds.

    PyTorch's rule: with min > max the output is max, and only max gets the gradient.
    """
    m_lo = m_hi = None
    if lo is not None and hi is not None:
        m_in = (x >= lo) & (x <= hi)
        if need_lo:
            m_lo = (x < lo) & (lo < hi)
        if need_hi:
            m_hi = (x > hi) | (hi < lo)
    elif lo is not None:
        m_in = x >= lo
        m_lo = np.logical_not(m_in) if need_lo else None
    else:
        m_in = x <= hi
        m_hi = np.logical_not(m_in) if need_hi else None
    return m_in, m_lo, m_hi


def _clamp_needs_promotion(x: np.ndarray, lo, hi) -> bool:
    """A Python float bound on an integer (or a number on a bool) tensor changes the dtype."""
    k = x.dtype.kind
    if k == "f":
        return False
    for v in (lo, hi):
        if v is not None and (isinstance(v, float) or (k == "b" and not isinstance(v, bool))):
            return True
    return False


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        c = data_of(cond)
        ctx.cond = c
        if isinstance(a, Tensor) or isinstance(b, Tensor):
            x, y = _operands("where", a, b)
        else:
            dt = _result_dtype(a, b)
            x, y = dt.type(a), dt.type(b)
        return np.where(c, x, y)

    @staticmethod
    def backward(ctx, g):
        cond = Tensor(np.asarray(ctx.cond))
        _, na, nb = ctx.needs_input_grad
        return None, (where(cond, g, 0.0) if na else None), (where(cond, 0.0, g) if nb else None)


class _Extremum(Function):
    """maximum, minimum, fmax, fmin: ``ufunc(a, b)`` of the promoted operands."""

    ufunc = None

    @classmethod
    def forward(cls, ctx, a, b):
        _save_pair(ctx, a, b)
        x, y = _operands(cls.__name__.lower(), a, b)
        return cls.ufunc(x, y)


class Maximum(_Extremum):
    ufunc = np.maximum

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_pair(ctx)
        return _split_gradient(ctx, g, a < b, a > b, a == b)


class Minimum(_Extremum):
    ufunc = np.minimum

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_pair(ctx)
        return _split_gradient(ctx, g, a > b, a < b, a == b)


def _split_gradient(ctx, g, a_loses, b_loses, tie):
    """PyTorch's maximum/minimum gradient: to the winner, half each on a tie (NaN: both)."""
    na, nb = ctx.needs_input_grad
    half = where(tie, g * 0.5, g)
    return (where(a_loses, 0.0, half) if na else None), (where(b_loses, 0.0, half) if nb else None)


class Fmax(_Extremum):
    ufunc = np.fmax

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_pair(ctx)
        return _fmaxmin_gradient(ctx, g, (a >= b) | (b != b))


class Fmin(_Extremum):
    ufunc = np.fmin

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_pair(ctx)
        return _fmaxmin_gradient(ctx, g, (a <= b) | (b != b))


def _fmaxmin_gradient(ctx, g, a_wins):
    """fmax/fmin ignore NaN; a tie goes to ``a`` (PyTorch's rule)."""
    na, nb = ctx.needs_input_grad
    return (where(a_wins, g, 0.0) if na else None), (where(a_wins, 0.0, g) if nb else None)


# ----------------------------------------------------------- comparisons, logic
def _compare(ufunc, name):
    def op(input, other) -> Tensor:
        x, y = _operands(name, input, other)
        try:
            return Tensor(np.asarray(ufunc(x, y)))
        except ValueError:
            raise broadcast_error(name, np.shape(x), np.shape(y)) from None

    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}``, giving a bool tensor (no gradient)."
    return op


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
lt = _compare(np.less, "lt")
le = _compare(np.less_equal, "le")
gt = _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")
not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge
logical_and = _compare(np.logical_and, "logical_and")
logical_or = _compare(np.logical_or, "logical_or")
logical_xor = _compare(np.logical_xor, "logical_xor")


def _bitwise(ufunc, name):
    def op(input, other) -> Tensor:
        x, y = _operands(name, input, other)
        for v in (x, y):
            if isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind not in "biu" or isinstance(v, float):
                what = _dt.from_numpy_dtype(v.dtype) if isinstance(v, (np.ndarray, np.generic)) else "float"
                raise DTypeError(f"{name}: only bool and integer tensors are supported, got {what}")
        try:
            return Tensor(np.asarray(ufunc(x, y)))
        except ValueError:
            raise broadcast_error(name, np.shape(x), np.shape(y)) from None

    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}`` of bool or integer tensors (no gradient)."
    return op


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")
bitwise_left_shift = _bitwise(np.left_shift, "bitwise_left_shift")
bitwise_right_shift = _bitwise(np.right_shift, "bitwise_right_shift")


def bitwise_not(input: Tensor) -> Tensor:
    """``~x`` of a bool or integer tensor."""
    if input.data.dtype.kind not in "biu":
        raise DTypeError(f"bitwise_not: only bool and integer tensors are supported, got {input.dtype}")
    return Tensor(np.invert(input.data))


def logical_not(input: Tensor) -> Tensor:
    """``not x`` elementwise, as a bool tensor."""
    return Tensor(np.logical_not(input.data))


def isnan(input: Tensor) -> Tensor:
    return Tensor(np.isnan(input.data))


def isinf(input: Tensor) -> Tensor:
    return Tensor(np.isinf(input.data))


def isfinite(input: Tensor) -> Tensor:
    return Tensor(np.isfinite(input.data))


def isposinf(input: Tensor) -> Tensor:
    x = input.data
    return Tensor(x == np.inf if x.dtype.kind == "f" else np.zeros(x.shape, np.bool_))


def isneginf(input: Tensor) -> Tensor:
    x = input.data
    return Tensor(x == -np.inf if x.dtype.kind == "f" else np.zeros(x.shape, np.bool_))


def equal(input: Tensor, other: Tensor) -> bool:
    """True if both tensors have the same shape and elements (PyTorch's ``torch.equal``)."""
    return input.shape == other.shape and bool(np.array_equal(input.data, other.data))


def isclose(input, other, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise."""
    return Tensor(np.isclose(data_of(input), data_of(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input, other, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    """Whether ``isclose`` holds everywhere."""
    return bool(np.allclose(data_of(input), data_of(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


# ------------------------------------------------------------------ public API
def add(input, other, *, alpha=1) -> Tensor:
    """``input + alpha * other`` with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return _apply_binary(Add, "add", input, other)


def sub(input, other, *, alpha=1) -> Tensor:
    """``input - alpha * other`` with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return _apply_binary(Sub, "sub", input, other)


def mul(input, other) -> Tensor:
    """``input * other`` with broadcasting."""
    return _apply_binary(Mul, "mul", input, other)


def div(input, other, *, rounding_mode: str | None = None) -> Tensor:
    """True division (integers give the default float); ``rounding_mode='floor'|'trunc'`` rounds (zero gradient)."""
    if rounding_mode is None:
        return _apply_binary(Div, "div", input, other)
    if rounding_mode == "floor":
        return _apply_binary(FloorDivide, "div", input, other)
    if rounding_mode == "trunc":
        return _apply_binary(TruncDivide, "div", input, other)
    raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")


def true_divide(input, other) -> Tensor:
    """``input / other``, always true division."""
    return _apply_binary(Div, "true_divide", input, other)


def floor_divide(input, other) -> Tensor:
    """``floor(input / other)`` (Python's ``//``); zero gradient. Integer division by zero raises."""
    return _apply_binary(FloorDivide, "floor_divide", input, other)


def remainder(input, other) -> Tensor:
    """Python's modulus ``input - floor(input / other) * other``: the result has the divisor's sign."""
    return _apply_binary(Remainder, "remainder", input, other)


def fmod(input, other) -> Tensor:
    """C's modulus ``input - trunc(input / other) * other``: the result has the dividend's sign."""
    return _apply_binary(Fmod, "fmod", input, other)


def pow(input, exponent) -> Tensor:  # noqa: A001
    """``input ** exponent``; either may be a Python number. Gradients follow PyTorch at 0."""
    return _apply_binary(Pow, "pow", input, exponent)


def atan2(input, other) -> Tensor:
    """The angle of the point ``(other, input)``: ``atan(input / other)`` in the right quadrant."""
    return _apply_binary(Atan2, "atan2", input, other)


def hypot(input, other) -> Tensor:
    """``sqrt(input**2 + other**2)`` without overflow."""
    return _apply_binary(Hypot, "hypot", input, other)


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """``input + weight * (end - input)``; ``weight`` a number or a tensor, all broadcast together."""
    for name, t in (("end", end), ("weight", weight)):
        if isinstance(t, Tensor) and t.data.dtype != input.data.dtype:
            raise DTypeError(f"lerp: expected dtype {input.dtype} for `{name}` but got dtype {t.dtype}")
    if input.data.dtype.kind != "f":
        raise DTypeError(f"lerp: only floating-point tensors are supported, got {input.dtype}")
    try:
        return Lerp.apply(input, end, weight)
    except ValueError as e:
        if "broadcast" in str(e):
            shapes = [np.shape(data_of(v)) for v in (input, end, weight)]
            raise broadcast_error("lerp", *shapes, names=("input", "end", "weight")) from None
        raise


def neg(input: Tensor) -> Tensor:
    """``-input``."""
    return Neg.apply(input)


def abs(input: Tensor) -> Tensor:  # noqa: A001
    """``|input|``; the gradient at 0 is 0."""
    return Abs.apply(input)


def square(input: Tensor) -> Tensor:
    """``input * input``, keeping integer dtypes."""
    return Square.apply(input)


def reciprocal(input: Tensor) -> Tensor:
    """``1 / input``; integers give the default float."""
    return Reciprocal.apply(input)


def exp(input: Tensor) -> Tensor:
    """``e ** input``."""
    return Exp.apply(input)


def exp2(input: Tensor) -> Tensor:
    """``2 ** input``."""
    return Exp2.apply(input)


def expm1(input: Tensor) -> Tensor:
    """``exp(input) - 1``, accurate for small inputs."""
    return Expm1.apply(input)


def log(input: Tensor) -> Tensor:
    """Natural logarithm (NaN below 0, -inf at 0)."""
    return Log.apply(input)


def log2(input: Tensor) -> Tensor:
    """Base-2 logarithm."""
    return Log2.apply(input)


def log10(input: Tensor) -> Tensor:
    """Base-10 logarithm."""
    return Log10.apply(input)


def log1p(input: Tensor) -> Tensor:
    """``log(1 + input)``, accurate for small inputs."""
    return Log1p.apply(input)


def sqrt(input: Tensor) -> Tensor:
    """Square root (NaN below 0)."""
    return Sqrt.apply(input)


def rsqrt(input: Tensor) -> Tensor:
    """``1 / sqrt(input)``."""
    return Rsqrt.apply(input)


def sin(input: Tensor) -> Tensor:
    return Sin.apply(input)


def cos(input: Tensor) -> Tensor:
    return Cos.apply(input)


def tan(input: Tensor) -> Tensor:
    return Tan.apply(input)


def asin(input: Tensor) -> Tensor:
    """Inverse sine on ``[-1, 1]`` (NaN outside)."""
    return Asin.apply(input)


def acos(input: Tensor) -> Tensor:
    """Inverse cosine on ``[-1, 1]`` (NaN outside)."""
    return Acos.apply(input)


def atan(input: Tensor) -> Tensor:
    return Atan.apply(input)


def sinh(input: Tensor) -> Tensor:
    return Sinh.apply(input)


def cosh(input: Tensor) -> Tensor:
    return Cosh.apply(input)


def tanh(input: Tensor) -> Tensor:
    return Tanh.apply(input)


def asinh(input: Tensor) -> Tensor:
    return Asinh.apply(input)


def acosh(input: Tensor) -> Tensor:
    """Inverse hyperbolic cosine on ``[1, inf)`` (NaN below)."""
    return Acosh.apply(input)


def atanh(input: Tensor) -> Tensor:
    """Inverse hyperbolic tangent on ``(-1, 1)``."""
    return Atanh.apply(input)


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-input))``, without overflow for large negative inputs."""
    return Sigmoid.apply(input)


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """``log(p / (1 - p))``; with ``eps`` the input is first clamped to ``[eps, 1 - eps]``."""
    return Logit.apply(input, eps)


def relu(input: Tensor) -> Tensor:
    """``max(input, 0)``."""
    if not _grad_state.enabled and input.__class__ is Tensor:  # nothing to record: skip the Function
        return new_tensor(_relu_array(input.data), False, None, 0)
    return Relu.apply(input)


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``exp(x) / exp(x).sum(dim)``, computed stably (``torch.softmax``); ``dtype`` casts the input first.

    The activation family's op (``ember.nn.functional.softmax``), here so that ``ember.softmax``
    and ``Tensor.softmax`` exist as in PyTorch.
    """
    from .activation import _softmax  # activation builds on this module: import on use

    return _softmax("softmax", input, dim, dtype, log=False)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``x - logsumexp(x, dim)`` (``torch.log_softmax``): finite wherever softmax underflows to 0."""
    from .activation import _softmax

    return _softmax("log_softmax", input, dim, dtype, log=True)


def erf(input: Tensor) -> Tensor:
    """The error function, to float64 accuracy (a Numba kernel on the C library's erf)."""
    return Erf.apply(input)


def erfc(input: Tensor) -> Tensor:
    """``1 - erf(input)``, accurate where erf is close to 1."""
    return Erfc.apply(input)


def erfinv(input: Tensor) -> Tensor:
    """The inverse error function on ``[-1, 1]`` (``±inf`` at ``±1``, NaN outside)."""
    return Erfinv.apply(input)


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element (0 for NaN); zero gradient."""
    return Sign.apply(input)


def floor(input: Tensor) -> Tensor:
    """Round down; zero gradient. Integer tensors are returned unchanged."""
    return Floor.apply(input)


def ceil(input: Tensor) -> Tensor:
    """Round up; zero gradient."""
    return Ceil.apply(input)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even, to ``decimals`` decimal places (negative: tens, hundreds, ...); zero gradient."""
    return Round.apply(input, decimals)


def trunc(input: Tensor) -> Tensor:
    """Round toward zero; zero gradient."""
    return Trunc.apply(input)


def frac(input: Tensor) -> Tensor:
    """``input - trunc(input)``, with the sign of the input; gradient 1."""
    return Frac.apply(input)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """Replace NaN, +inf and -inf (by default with 0 and the dtype's largest and lowest finite values)."""
    return NanToNum.apply(input, nan, posinf, neginf)


def clamp(input: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """Limit each element to ``[min, max]``; the bounds may be numbers or tensors (broadcast).

    With ``min > max`` every element becomes ``max``. The gradient flows to the
    input where it is inside the bounds and to a tensor bound where it binds.
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    try:
        return Clamp.apply(input, min, max)
    except ValueError as e:
        if "broadcast" in str(e):
            shapes = tuple(np.shape(data_of(v)) for v in (input, min, max) if v is not None)
            raise broadcast_error("clamp", shapes[0], np.broadcast_shapes(*shapes[1:])) from None
        raise


def clamp_min(input: Tensor, min) -> Tensor:  # noqa: A002
    """``clamp(input, min=min)``."""
    return clamp(input, min, None)


def clamp_max(input: Tensor, max) -> Tensor:  # noqa: A002
    """``clamp(input, max=max)``."""
    return clamp(input, None, max)


def where(condition: Tensor, input=None, other=None) -> Tensor:
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (all broadcast together).

    With only ``condition``, the indices of its nonzero elements (``nonzero(as_tuple=True)``).
    """
    if input is None and other is None:
        from .index import nonzero

        return nonzero(condition, as_tuple=True)
    cd = data_of(condition)
    if isinstance(cd, np.ndarray) and cd.dtype.kind != "b":
        raise DTypeError(f"where: expected condition to be a bool tensor, got {_dt.from_numpy_dtype(cd.dtype)}")
    try:
        return Where.apply(condition, input, other)
    except ValueError as e:
        if "broadcast" in str(e):
            shapes = [np.shape(data_of(v)) for v in (condition, input, other)]
            raise broadcast_error("where", *shapes, names=("condition", "input", "other")) from None
        raise


def maximum(input, other) -> Tensor:
    """Elementwise maximum; NaN propagates; a tie splits the gradient evenly."""
    return _apply_binary(Maximum, "maximum", input, other)


def minimum(input, other) -> Tensor:
    """Elementwise minimum; NaN propagates; a tie splits the gradient evenly."""
    return _apply_binary(Minimum, "minimum", input, other)


def fmax(input, other) -> Tensor:
    """Elementwise maximum ignoring NaN (NaN only where both are)."""
    return _apply_binary(Fmax, "fmax", input, other)


def fmin(input, other) -> Tensor:
    """Elementwise minimum ignoring NaN (NaN only where both are)."""
    return _apply_binary(Fmin, "fmin", input, other)


subtract, multiply, divide, negative, absolute, fix = sub, mul, div, neg, abs, trunc
arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
arcsinh, arccosh, arctanh, clip = asinh, acosh, atanh, clamp
