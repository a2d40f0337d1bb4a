"""Elementwise ops: arithmetic, unary maths, comparisons and logic.

Each op is a ``Function`` with its forward (NumPy) and backward (ember ops)
side by side. Binary ops broadcast like NumPy and promote dtypes like PyTorch;
the engine sums gradients back to each input's shape.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import binary_arrays, broadcast_error, data_of

__all__ = [
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
    "exp",
    "log",
    "sqrt",
    "tanh",
    "sigmoid",
    "relu",
    "square",
    "clamp",
    "clip",
    "where",
    "sign",
    "maximum",
    "minimum",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
    "logical_not",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "bitwise_not",
    "isnan",
    "isinf",
    "isfinite",
    "allclose",
    "isclose",
]

TENSOR_METHODS = [n for n in __all__ if n not in ("where",)] + ["where"]
INPLACE_METHODS = ["neg", "abs", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "square", "floor_divide", "remainder"]


def _apply_binary(fn, op: str, a, b):
    try:
        return fn.apply(a, b)
    except ValueError as e:
        if "broadcast" in str(e):
            raise broadcast_error(op, np.shape(data_of(a)), np.shape(data_of(b))) from None
        raise


# ---------------------------------------------------------------------- arithmetic
class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        x, y = binary_arrays("add", a, b)
        return np.add(x, y)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (g if na else None), (g if nb else None)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        x, y = binary_arrays("sub", a, b)
        if x.__class__ is np.ndarray and x.dtype.kind == "b" or y.__class__ is np.ndarray and y.dtype.kind == "b":
            raise TypeError("sub: subtraction with bool tensors is not supported; use logical_xor or ~")
        return np.subtract(x, y)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (g if na else None), (-g if nb else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if isinstance(a, Tensor) else None, b if isinstance(b, Tensor) else None)
        ctx.scalars = (a, b)
        x, y = binary_arrays("mul", a, b)
        return np.multiply(x, y)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.saved_tensors
        a = sa if sa is not None else ctx.scalars[0]
        b = sb if sb is not None else ctx.scalars[1]
        na, nb = ctx.needs_input_grad
        return (g * b if na else None), (g * a if nb else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if isinstance(a, Tensor) else None, b if isinstance(b, Tensor) else None)
        ctx.scalars = (a, b)
        x, y = binary_arrays("div", a, b)
        if np.result_type(x, y).kind not in "fc":
            dt = _dt.get_default_dtype().np
            x = np.asarray(x, dt) if isinstance(x, np.ndarray) else x
            y = np.asarray(y, dt) if isinstance(y, np.ndarray) else y
            if not isinstance(x, np.ndarray) and not isinstance(y, np.ndarray):
                x = np.asarray(x, dt)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.true_divide(x, y)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.saved_tensors
        a = sa if sa is not None else ctx.scalars[0]
        b = sb if sb is not None else ctx.scalars[1]
        na, nb = ctx.needs_input_grad
        ga = g / b if na else None
        gb = -g * a / (b * b) if nb else None
        return ga, gb


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if isinstance(a, Tensor) else None, b if isinstance(b, Tensor) else None)
        ctx.scalars = (a, b)
        x, y = binary_arrays("pow", a, b)
        if isinstance(y, np.ndarray) and y.dtype.kind in "iu" and isinstance(x, np.ndarray) and x.dtype.kind in "iu":
            if np.any(y < 0):
                raise ValueError("pow: integers to negative integer powers are not allowed")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if y.__class__ is int or y.__class__ is float:
                if y == 2:
                    return np.square(x)
                if y == 0.5:
                    return np.sqrt(x)
            return np.power(x, y)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.saved_tensors
        a = sa if sa is not None else ctx.scalars[0]
        b = sb if sb is not None else ctx.scalars[1]
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if na:
            if isinstance(b, Tensor):
                ga = g * where(b == 0, 0.0, b * a ** (b - 1))
            elif b == 0:
                ga = g * 0
            elif b == 2:
                ga = g * (2 * a)
            elif b == 1:
                ga = g
            else:
                ga = g * (b * a ** (b - 1))
        if nb:
            # d/db a**b = a**b * log(a); defined as 0 where a == 0 and b >= 0 (PyTorch's choice)
            out = a**b
            if isinstance(a, Tensor):
                safe = where(a == 0, 1.0, a)
                gb = g * where((a == 0) & (b >= 0), 0.0, out * log(safe))
            else:
                gb = g * out * float(np.log(a)) if a > 0 else g * where(b >= 0, 0.0, out * float(np.log(abs(a) or 1)))
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        if a.data.dtype.kind == "b":
            raise TypeError("neg: negation of a bool tensor is not supported; use ~ or logical_not")
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


class Sign(Function):
    differentiable = False

    @staticmethod
    def forward(ctx, a):
        return np.sign(a.data)


def sign(a: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element; its gradient is zero."""
    return _ZeroGrad.apply(a, np.sign)


class _ZeroGrad(Function):
    """An op whose output is piecewise constant: gradient zero everywhere."""

    @staticmethod
    def forward(ctx, a, fn):
        out = fn(a.data)
        if out.dtype != a.data.dtype and a.data.dtype.kind == "f":
            out = out.astype(a.data.dtype)
        return out

    @staticmethod
    def backward(ctx, g):
        return g * 0, None


# ------------------------------------------------------------------ unary maths
class Exp(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a):
        return np.exp(_float_data(a))

    @staticmethod
    def backward(ctx, g):
        return g * ctx.output


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(_float_data(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / a


class Sqrt(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a):
        with np.errstate(invalid="ignore"):
            return np.sqrt(_float_data(a))

    @staticmethod
    def backward(ctx, g):
        return g / (2 * ctx.output)


class Tanh(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a):
        return np.tanh(_float_data(a))

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return g * (1 - y * y)


class Sigmoid(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a):
        x = _float_data(a)
        # exp of a non-positive number never overflows: use 1/(1+e^-x) or e^x/(1+e^x)
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return g * (y * (1 - y))


class Relu(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a):
        return np.maximum(a.data, 0)

    @staticmethod
    def backward(ctx, g):
        return g * (ctx.output > 0)


class Square(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.square(a.data)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * (2 * a)


def _float_data(a: Tensor) -> np.ndarray:
    """Integer inputs of float functions (exp, log, ...) compute in the default float dtype."""
    d = a.data
    if d.dtype.kind not in "fc":
        return d.astype(_dt.get_default_dtype().np)
    return d


class Clamp(Function):
    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.save_for_backward(a, lo if isinstance(lo, Tensor) else None, hi if isinstance(hi, Tensor) else None)
        ctx.bounds = (lo, hi)
        x = a.data
        lo_d, hi_d = data_of(lo), data_of(hi)
        if lo_d is not None and hi_d is not None:
            out = np.minimum(np.maximum(x, lo_d), hi_d)
        elif lo_d is not None:
            out = np.maximum(x, lo_d)
        else:
            out = np.minimum(x, hi_d)
        if out.dtype != x.dtype and isinstance(lo_d, (int, float)) and isinstance(hi_d, (int, float, type(None))):
            out = out.astype(x.dtype)
        return out

    @staticmethod
    def backward(ctx, g):
        a, lo_t, hi_t = ctx.saved_tensors
        lo, hi = ctx.bounds
        lo = lo_t if lo_t is not None else lo
        hi = hi_t if hi_t is not None else hi
        inside = None
        if lo is not None:
            inside = a >= lo
        if hi is not None:
            inside = (a <= hi) if inside is None else inside & (a <= hi)
        ga = g * inside
        glo = ghi = None
        if ctx.needs_input_grad[1]:
            glo = g * (a < lo)
        if ctx.needs_input_grad[2]:
            ghi = g * (a > hi) if lo is None else g * ((a > hi) & (a >= lo))
        return ga, glo, ghi


def clamp(input: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """Limit each element to ``[min, max]``; gradient flows where the input is inside."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return Clamp.apply(input, min, max)


clip = clamp


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        c = data_of(cond)
        ctx.cond = c if isinstance(c, np.ndarray) else np.asarray(c)
        if isinstance(a, Tensor) or isinstance(b, Tensor):
            x, y = binary_arrays("where", a, b)
        else:
            x, y = a, b
            dt = _dt.result_type(a, b).np
            return np.where(c, dt.type(x), dt.type(y))
        return np.where(c, x, y)

    @staticmethod
    def backward(ctx, g):
        cond = Tensor(ctx.cond)
        _, na, nb = ctx.needs_input_grad
        zero = g * 0
        return None, (where(cond, g, zero) if na else None), (where(cond, zero, g) if nb else None)


def where(condition: Tensor, input=None, other=None) -> Tensor:
    """Elements of ``input`` where ``condition`` holds, else of ``other``."""
    if input is None and other is None:
        from .index import nonzero

        return nonzero(condition, as_tuple=True)
    cd = data_of(condition)
    if isinstance(cd, np.ndarray) and cd.dtype.kind != "b":
        raise TypeError(f"where: expected condition to be a bool tensor, got {_dt.from_numpy_dtype(cd.dtype)}")
    return Where.apply(condition, input, other)


class _MaxMin(Function):
    @staticmethod
    def forward(ctx, a, b, take_max):
        x, y = binary_arrays("maximum" if take_max else "minimum", a, b)
        ctx.save_for_backward(a, b)
        ctx.take_max = take_max
        return np.maximum(x, y) if take_max else np.minimum(x, y)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        # ties split the gradient evenly, as PyTorch does
        pick_a = (a > b) if ctx.take_max else (a < b)
        tie = a == b
        w = pick_a + tie * 0.5
        na, nb, _ = ctx.needs_input_grad
        return (g * w if na else None), (g * (1 - w) if nb else None), None


def maximum(input, other) -> Tensor:
    return _maxmin(input, other, True)


def minimum(input, other) -> Tensor:
    return _maxmin(input, other, False)


def _maxmin(a, b, take_max):
    if not isinstance(a, Tensor):
        a = Tensor(np.asarray(a))
    if not isinstance(b, Tensor):
        b = Tensor(np.asarray(b, a.data.dtype))
    try:
        return _MaxMin.apply(a, b, take_max)
    except ValueError:
        raise broadcast_error("maximum" if take_max else "minimum", a.shape, b.shape) from None


# ----------------------------------------------------------- comparisons, logic
def _compare(ufunc, name):
    def op(input, other) -> Tensor:
        x, y = binary_arrays(name, input, other)
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
equal_elementwise = eq
not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge
logical_and = _compare(np.logical_and, "logical_and")
logical_or = _compare(np.logical_or, "logical_or")
logical_xor = _compare(np.logical_xor, "logical_xor")


def _bitwise(ufunc, name):
    def op(input, other) -> Tensor:
        x, y = binary_arrays(name, input, other)
        for v in (x, y):
            if isinstance(v, np.ndarray) and v.dtype.kind not in "biu":
                raise TypeError(
                    f"{name}: only bool and integer tensors are supported, got {_dt.from_numpy_dtype(v.dtype)}"
                )
        return Tensor(np.asarray(ufunc(x, y)))

    op.__name__ = name
    return op


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")


def bitwise_not(input: Tensor) -> Tensor:
    if input.data.dtype.kind not in "biu":
        raise TypeError(f"bitwise_not: only bool and integer tensors are supported, got {input.dtype}")
    return Tensor(np.invert(input.data))


def logical_not(input: Tensor) -> Tensor:
    return Tensor(np.logical_not(input.data))


def isnan(input: Tensor) -> Tensor:
    return Tensor(np.isnan(input.data))


def isinf(input: Tensor) -> Tensor:
    return Tensor(np.isinf(input.data))


def isfinite(input: Tensor) -> Tensor:
    return Tensor(np.isfinite(input.data))


def equal(input: Tensor, other: Tensor) -> bool:
    """True if both tensors have the same shape and elements (PyTorch's ``torch.equal``)."""
    return input.shape == other.shape and bool(np.array_equal(input.data, other.data))


def isclose(input, other, rtol=1e-5, atol=1e-8, equal_nan=False) -> Tensor:
    return Tensor(np.isclose(data_of(input), data_of(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input, other, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    return bool(np.allclose(data_of(input), data_of(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


# ------------------------------------------------------------------ public API
def add(input, other, alpha=1) -> Tensor:
    """``input + alpha * other`` with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return _apply_binary(Add, "add", input, other)


def sub(input, other, alpha=1) -> Tensor:
    """``input - alpha * other`` with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return _apply_binary(Sub, "sub", input, other)


def mul(input, other) -> Tensor:
    return _apply_binary(Mul, "mul", input, other)


def div(input, other, rounding_mode=None) -> Tensor:
    """True division; ``rounding_mode='floor'|'trunc'`` rounds (no gradient)."""
    if rounding_mode is None:
        return _apply_binary(Div, "div", input, other)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        x, y = binary_arrays("div", input, other)
        if np.result_type(x, y).kind in "iu":
            q = np.trunc(np.true_divide(x, y)).astype(np.result_type(x, y))
        else:
            q = np.trunc(np.true_divide(x, y))
        return _ZeroGradResult(input, other, q)
    raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")


def _ZeroGradResult(a, b, value):  # noqa: N802
    """Wrap a piecewise-constant result of ``a`` and ``b`` with zero gradient."""
    t = Tensor(np.asarray(value))
    if t.data.dtype.kind == "f" and any(isinstance(v, Tensor) and v.requires_grad for v in (a, b)):
        from ..autograd.grad_mode import state

        if state.enabled:
            return _ConstantOf.apply(a, b, t.data)
    return t


class _ConstantOf(Function):
    @staticmethod
    def forward(ctx, a, b, value):
        return value

    @staticmethod
    def backward(ctx, g):
        na, nb, _ = ctx.needs_input_grad
        return (g * 0 if na else None), (g * 0 if nb else None), None


def floor_divide(input, other) -> Tensor:
    x, y = binary_arrays("floor_divide", input, other)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _ZeroGradResult(input, other, np.floor_divide(x, y))


def remainder(input, other) -> Tensor:
    """Python-style modulus (the sign of the divisor); gradient 1 for ``input``."""
    x, y = binary_arrays("remainder", input, other)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.remainder(x, y)
    if np.asarray(r).dtype.kind == "f":
        # remainder(a, b) = a - floor(a / b) * b: differentiable in both
        return sub(input, mul(floor_divide(input, other), other))
    return Tensor(np.asarray(r))


def fmod(input, other) -> Tensor:
    """C-style modulus (the sign of the dividend)."""
    return sub(input, mul(div(input, other, rounding_mode="trunc"), other))


def pow(input, exponent) -> Tensor:  # noqa: A001
    return _apply_binary(Pow, "pow", input, exponent)


def neg(input: Tensor) -> Tensor:
    return Neg.apply(input)


def abs(input: Tensor) -> Tensor:  # noqa: A001
    return Abs.apply(input)


def exp(input: Tensor) -> Tensor:
    return Exp.apply(input)


def log(input: Tensor) -> Tensor:
    return Log.apply(input)


def sqrt(input: Tensor) -> Tensor:
    return Sqrt.apply(input)


def tanh(input: Tensor) -> Tensor:
    return Tanh.apply(input)


def sigmoid(input: Tensor) -> Tensor:
    return Sigmoid.apply(input)


def relu(input: Tensor) -> Tensor:
    return Relu.apply(input)


def square(input: Tensor) -> Tensor:
    return Square.apply(input)


subtract, multiply, divide, true_divide, negative, absolute = sub, mul, div, div, neg, abs
