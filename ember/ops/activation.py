"""Activation functions and softmax: PyTorch's ``torch.nn.functional`` names, arguments and defaults.

Three shapes of op, by what backward needs:

- piecewise-linear ops (``leaky_relu``, ``hardtanh``, ``threshold``, ...) keep a
  bool mask (only when a gradient is wanted) and multiply the gradient by a constant;
- the ELU family keeps its output: ``f'(x)`` is ``scale`` or ``(y + alpha * scale) * input_scale``;
- smooth ops (``gelu``, ``silu``, ``mish``, ``softplus``, ...) are ``_Smooth``
  subclasses with three functions side by side: the value (NumPy, also saving
  what the derivative reuses), the derivative (NumPy) and the second derivative
  (ember ops). Backward multiplies by the derivative as an op of its own, so
  ``create_graph=True`` gives second and higher derivatives at NumPy speed for
  the first.

Branches are selected arithmetically (``max(x, 0) + slope * min(x, 0)``, a 0/1
mask times a value), not with ``np.where``, which costs about twenty multiplies
per element on unpredictable masks here. ``sigmoid``, ``tanh`` (and the plain
``relu``) live in ``ops.elementwise``.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from . import elementwise as _ew
from ._util import norm_dim

__all__ = [
    "relu",
    "relu_",
    "relu6",
    "leaky_relu",
    "leaky_relu_",
    "elu",
    "elu_",
    "selu",
    "selu_",
    "celu",
    "celu_",
    "gelu",
    "silu",
    "mish",
    "softplus",
    "softsign",
    "hardswish",
    "hardsigmoid",
    "hardtanh",
    "hardtanh_",
    "logsigmoid",
    "prelu",
    "rrelu",
    "rrelu_",
    "glu",
    "tanhshrink",
    "softshrink",
    "hardshrink",
    "threshold",
    "threshold_",
    "softmax",
    "log_softmax",
    "softmin",
    "gumbel_softmax",
]

_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_K = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


# --------------------------------------------------------------------- helpers
def _float_input(op: str, input) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if input.data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point tensor, got {input.dtype}")
    return input


def _apply_inplace(input: Tensor, fn, saves_input: bool = False) -> Tensor:
    """``fn(input)`` written back into ``input`` (PyTorch's ``inplace=True``).

    Same rules as ``Tensor._inplace``; an op whose backward reads its input runs
    on a clone, so the overwrite does not invalidate what it saved.
    """
    if input._check_inplace():
        src = input._alias()
        return input._rebase(fn(src.clone() if saves_input else src))
    return input._inplace(fn)


def _log1p_exp_neg_abs(z: np.ndarray) -> np.ndarray:
    """``log(1 + exp(-|z|))``, the bounded part of softplus and logsigmoid (a new array)."""
    t = np.abs(z)
    np.negative(t, out=t)
    np.exp(t, out=t)
    return np.log1p(t, out=t)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` in three passes; ``exp`` overflowing to inf gives the right 0."""
    with np.errstate(over="ignore"):
        e = np.exp(np.negative(x))
    e += 1
    return np.reciprocal(e, out=e)


# ------------------------------------------------------------------------- erf
# Fallback for ember.erf (added by the elementwise family). Approximations fitted
# for ember (Chebyshev interpolation, converted to the power basis):
#   |x| <= 1:      erf(x)  = x * A(x^2)
#   1 < |x| < L:   erfc(|x|) = exp(-x^2) * B(s),  s = scl / |x| + off  (s in [-1, 1])
#   |x| >= L:      erf(x) = sign(x)
# Largest error against math.erf: 1.0e-15 (float64 set), 1.1e-7 (float32 set).
_ERF64 = (
    (
        1.1283791670955106,
        -0.37612638903155193,
        0.11283791670088976,
        -0.026866170532934577,
        0.005223976840719564,
        -0.0008548293959439558,
        0.00012054445195727484,
        -1.4910073456452336e-05,
        1.628348400117829e-06,
        -1.5063481193713168e-07,
        9.180935607715086e-09,
    ),
    (
        0.2897221163234639,
        0.16536269001258513,
        -0.030831050508347575,
        0.002821131900046171,
        0.0010344322234029507,
        -0.0007383867899814294,
        0.00026560550902583724,
        -5.5286027740551845e-05,
        -4.046920331156956e-06,
        1.0880087955683826e-05,
        -6.496787362845071e-06,
        2.591524332447895e-06,
        -6.669805985384393e-07,
        -1.5995558218180167e-08,
        1.3288180823454134e-07,
        -7.205365907650082e-08,
        3.954342205682843e-08,
        -3.6829836093791786e-08,
        1.1131437732346886e-08,
        8.34948837263754e-09,
        -4.437748744078313e-09,
    ),
    6.0,
    2.4,
    -1.4000000000000001,
)
_ERF32 = (
    (
        1.1283791261787366,
        -0.37612343775325874,
        0.11280316652496886,
        -0.026715054232140194,
        0.004921762027810436,
        -0.0005648059865469198,
    ),
    (
        0.305952988794231,
        0.1433564093135496,
        -0.02424283655523325,
        0.0023080897081626376,
        0.00045994451728605936,
        -0.0003483616160930458,
        0.00012419661909710559,
        -2.7750282449545703e-05,
        -2.7728106445579216e-06,
        3.671016921202863e-06,
    ),
    4.0,
    2.6666666666666665,
    -1.6666666666666667,
)


def _horner(coefs, x: np.ndarray) -> np.ndarray:
    p = np.full_like(x, coefs[-1])
    for c in coefs[-2::-1]:
        p *= x
        p += c
    return p


def _erf_numpy(x: np.ndarray) -> np.ndarray:
    """Vectorised erf of a float array (at least 1-d) in its own dtype (float16 via float32)."""
    if x.dtype == np.float16:
        return _erf_numpy(x.astype(np.float32)).astype(np.float16)
    small, large, limit, scl, off = _ERF64 if x.dtype == np.float64 else _ERF32
    # both branches on clipped arguments (so neither overflows), then blended by a 0/1 mask:
    # a multiply-add is far cheaper than np.where on unpredictable masks
    xs = np.clip(x, -1.0, 1.0)
    inner = _horner(small, xs * xs)
    inner *= xs
    s = np.abs(x)
    inside = s <= 1.0
    np.clip(s, 1.0, limit, out=s)
    np.reciprocal(s, out=s)
    s *= scl
    s += off
    out = _horner(large, s)
    u = x * x
    np.negative(u, out=u)
    np.exp(u, out=u)
    out *= u
    np.subtract(1.0, out, out=out)
    np.copysign(out, x, out=out)
    inner -= out
    inner *= inside
    out += inner
    return out


def _erf(x: np.ndarray) -> np.ndarray:
    """erf of an array: float64 by ``ember.erf`` (the C library's, when present), float32 by ``_erf_numpy``.

    On a (256, 1024) float32 array ``_erf_numpy`` took 1.1 ms against 2.9 ms for
    ``ember.erf``, which evaluates every element in float64; in float64 it is the
    other way round (3.6 ms against 2.8 ms).
    """
    op = getattr(_ew, "erf", None)
    if op is not None and x.dtype == np.float64:
        return np.asarray(op(Tensor(x)).data)
    return _erf_numpy(x)


# ----------------------------------------------------------- smooth activations
class _Smooth(Function):
    """``y = f(x)`` for a smooth ``f``; subclasses give ``value``, ``derivative`` and ``second``.

    ``value(x, *params) -> (y, saved)`` and ``derivative(x, saved, *params) -> f'(x)``
    work on NumPy arrays (at least 1-d); ``second(x, *params) -> f''(x)`` is written
    with ember ops on a Tensor so that it can be differentiated again.
    """

    @classmethod
    def forward(cls, ctx, x, *params):
        xd = x.data
        y, saved = cls.value(xd.reshape(1) if xd.ndim == 0 else xd, *params)
        ctx.save_for_backward(x)
        ctx.params = params
        ctx.saved = saved
        return y.reshape(()) if xd.ndim == 0 else y

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        params = ctx.params
        return (g * _SmoothDerivative.apply(x, ctx.fn, ctx.saved, params),) + (None,) * len(params)

    @classmethod
    def run(cls, op: str, input: Tensor, *params) -> Tensor:
        return cls.apply(_float_input(op, input), *params)


class _SmoothDerivative(Function):
    """``f'(x)`` of a ``_Smooth`` op; its own gradient is ``f''(x)`` in ember ops."""

    @staticmethod
    def forward(ctx, x, kind, saved, params):
        ctx.save_for_backward(x)
        ctx.kind = kind
        ctx.params = params
        xd = x.data
        d = kind.derivative(xd.reshape(1) if xd.ndim == 0 else xd, saved, *params)
        return d.reshape(()) if xd.ndim == 0 else d

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.kind.second(x, *ctx.params), None, None, None


class Gelu(_Smooth):
    @staticmethod
    def value(x, approximate):
        if approximate == "tanh":
            t = x * x
            t *= _GELU_C * _GELU_K
            t += _GELU_K
            t *= x
            np.tanh(t, out=t)
            y = t + 1.0
            y *= x
            y *= 0.5
            return y, t
        cdf = _erf(x * _SQRT1_2)
        cdf += 1.0
        cdf *= 0.5
        return x * cdf, cdf

    @staticmethod
    def derivative(x, saved, approximate):
        if approximate == "tanh":
            t = saved
            du = x * x
            du *= 3.0 * _GELU_C * _GELU_K
            du += _GELU_K
            d = t * t
            np.subtract(1.0, d, out=d)
            d *= du
            d *= x
            d += t
            d += 1.0
            d *= 0.5
            return d
        pdf = x * x
        pdf *= -0.5
        np.exp(pdf, out=pdf)
        pdf *= _INV_SQRT_2PI
        pdf *= x
        pdf += saved
        return pdf

    @staticmethod
    def second(x, approximate):
        x2 = x * x
        if approximate == "tanh":
            t = _ew.tanh(x * (x2 * (_GELU_C * _GELU_K) + _GELU_K))
            du = x2 * (3.0 * _GELU_C * _GELU_K) + _GELU_K
            ddu = x * (6.0 * _GELU_C * _GELU_K)
            return (1 - t * t) * (du + 0.5 * x * (ddu - 2 * t * du * du))
        return _ew.exp(x2 * -0.5) * (_INV_SQRT_2PI * (2 - x2))


class Silu(_Smooth):
    @staticmethod
    def value(x):
        s = _sigmoid(x)
        return x * s, s

    @staticmethod
    def derivative(x, s):
        d = np.subtract(1.0, s)
        d *= x
        d += 1.0
        d *= s
        return d

    @staticmethod
    def second(x):
        s = _ew.sigmoid(x)
        return s * (1 - s) * (2 + x * (1 - 2 * s))


class Mish(_Smooth):
    @staticmethod
    def value(x):
        sp = _log1p_exp_neg_abs(x)
        sp += np.maximum(x, 0.0)
        t = np.tanh(sp)
        return x * t, (t, sp)

    @staticmethod
    def derivative(x, saved):
        t, sp = saved
        s = np.expm1(np.negative(sp))  # -sigmoid(x), since exp(-softplus(x)) = 1 - sigmoid(x)
        d = t * t
        d -= 1.0
        d *= x
        d *= s
        d += t
        return d

    @staticmethod
    def second(x):
        t = _ew.tanh(Softplus.apply(x, 1.0, 20.0))
        s = _ew.sigmoid(x)
        return (1 - t * t) * s * (2 + x * (1 - s - 2 * t * s))


class Softplus(_Smooth):
    @staticmethod
    def value(x, beta, threshold):
        z = x * beta if beta != 1 else x
        sp = _log1p_exp_neg_abs(z)
        sp += np.maximum(z, 0.0)
        if beta != 1:
            sp /= beta
        linear = z > threshold
        if linear.any():
            sp[linear] = x[linear]
        return sp, None

    @staticmethod
    def derivative(x, saved, beta, threshold):
        z = x * beta if beta != 1 else x
        d = _sigmoid(z)
        linear = z > threshold
        if linear.any():
            d[linear] = 1.0
        return d

    @staticmethod
    def second(x, beta, threshold):
        z = x * beta if beta != 1 else x
        s = _ew.sigmoid(z)
        return _ew.where(z.data > threshold, 0.0, (s - s * s) * beta)


class Logsigmoid(_Smooth):
    @staticmethod
    def value(x):
        y = np.minimum(x, 0.0)
        y -= _log1p_exp_neg_abs(x)
        return y, None

    @staticmethod
    def derivative(x, saved):
        return _sigmoid(np.negative(x))

    @staticmethod
    def second(x):
        s = _ew.sigmoid(x)
        return s * s - s


class Hardswish(_Smooth):
    @staticmethod
    def value(x):
        r = x + 3.0
        np.clip(r, 0.0, 6.0, out=r)
        r *= x
        r /= 6.0
        return r, None

    @staticmethod
    def derivative(x, saved):
        # PyTorch's convention at the kinks: 0 at -3, 1 at 3
        d = x / 3.0
        d += 0.5
        d *= (x > -3.0) & (x < 3.0)
        d += x >= 3.0
        return d

    @staticmethod
    def second(x):
        xd = x.data
        inside = ((xd > -3.0) & (xd < 3.0)).astype(xd.dtype)
        inside *= 1.0 / 3.0
        return Tensor(inside)


class Softsign(_Smooth):
    @staticmethod
    def value(x):
        d = np.abs(x)
        d += 1.0
        return x / d, None

    @staticmethod
    def derivative(x, saved):
        d = np.abs(x)
        d += 1.0
        np.square(d, out=d)
        return np.reciprocal(d, out=d)

    @staticmethod
    def second(x):
        return _ew.sign(x) * -2 / (_ew.abs(x) + 1) ** 3


class Tanhshrink(_Smooth):
    @staticmethod
    def value(x):
        t = np.tanh(x)
        return x - t, t

    @staticmethod
    def derivative(x, t):
        return t * t

    @staticmethod
    def second(x):
        t = _ew.tanh(x)
        return 2 * t * (1 - t * t)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` (Gaussian CDF); ``approximate='tanh'`` uses the tanh formula of Hendrycks & Gimpel."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate argument must be either 'none' or 'tanh', got {approximate!r}")
    return Gelu.run("gelu", input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (swish)."""
    _float_input("silu", input)
    if inplace:
        return _apply_inplace(input, Silu.apply, saves_input=True)
    return Silu.apply(input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    _float_input("mish", input)
    if inplace:
        return _apply_inplace(input, Mish.apply, saves_input=True)
    return Mish.apply(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``; finite for any input."""
    return Softplus.run("softplus", input, float(beta), float(threshold))


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x)) = -softplus(-x)``, computed without overflow."""
    return Logsigmoid.run("logsigmoid", input)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6`` (MobileNetV3)."""
    _float_input("hardswish", input)
    if inplace:
        return _apply_inplace(input, Hardswish.apply, saves_input=True)
    return Hardswish.apply(input)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    return Softsign.run("softsign", input)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    return Tanhshrink.run("tanhshrink", input)


# ------------------------------------------------------------------ ELU family
class Elu(Function):
    """``scale * x`` for ``x > 0``, else ``alpha * scale * (exp(input_scale * x) - 1)``."""

    save_output = True

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale):
        xd = x.data
        ctx.params = (alpha, scale, input_scale)
        if ctx.needs_input_grad[0]:
            ctx.pos = xd > 0
        # scale * max(x, 0) + alpha * scale * expm1(input_scale * min(x, 0)): one term is always 0
        neg = np.minimum(xd, 0.0)
        if input_scale != 1:
            neg = neg * input_scale
        neg = np.expm1(neg)
        neg *= alpha * scale
        pos = np.maximum(xd, 0.0)
        if scale != 1:
            pos *= scale
        neg += pos
        return neg

    @staticmethod
    def backward(ctx, g):
        return g * _EluDerivative.apply(ctx.output, ctx.pos, ctx.params), None, None, None


class _EluDerivative(Function):
    """ELU's ``f'(x)`` from its output ``y``: ``scale`` where ``x > 0``, else ``(y + alpha * scale) * input_scale``."""

    @staticmethod
    def forward(ctx, y, pos, params):
        alpha, scale, input_scale = params
        ctx.pos = pos
        ctx.input_scale = input_scale
        # y <= 0 wherever x <= 0 (for alpha >= 0): clipping keeps an infinite y of the other branch out
        d = np.minimum(y.data, 0.0) if alpha >= 0 else y.data.copy()
        d += alpha * scale
        if input_scale != 1:
            d *= input_scale
        d *= ~pos
        d += pos if scale == 1 else pos * scale
        return d

    @staticmethod
    def backward(ctx, gg):
        slope = (~ctx.pos).astype(gg.data.dtype)
        if ctx.input_scale != 1:
            slope *= ctx.input_scale
        return gg * Tensor(slope), None, None


def _elu_family(op: str, input: Tensor, alpha: float, scale: float, input_scale: float, inplace: bool) -> Tensor:
    _float_input(op, input)
    if inplace:
        return _apply_inplace(input, lambda t: Elu.apply(t, alpha, scale, input_scale))
    return Elu.apply(input, alpha, scale, input_scale)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    return _elu_family("elu", input, float(alpha), 1.0, 1.0, inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """Self-normalising ELU: ``scale * elu(x, alpha)`` with the constants of Klambauer et al. (2017)."""
    return _elu_family("selu", input, _SELU_ALPHA, _SELU_SCALE, 1.0, inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    if alpha == 0:
        raise ValueError("celu: alpha cannot be 0")
    return _elu_family("celu", input, float(alpha), 1.0, 1.0 / alpha, inplace)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def selu_(input: Tensor) -> Tensor:
    return selu(input, inplace=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, inplace=True)


# --------------------------------------------------------- piecewise linear
class _Masked(Function):
    """A piecewise-linear op: ``value(x, *params)``; the gradient is ``slope * g`` where ``mask(x, *params)``, else 0."""

    slope = 1.0

    @classmethod
    def forward(cls, ctx, x, *params):
        xd = x.data
        if ctx.needs_input_grad[0]:
            ctx.mask = cls.mask(xd, *params)
        return cls.value(xd, *params)

    @staticmethod
    def backward(ctx, g):
        factor = ctx.mask.astype(g.data.dtype)
        if ctx.fn.slope != 1:
            factor *= ctx.fn.slope
        return (g * Tensor(factor),) + (None,) * (len(ctx.edges) - 1)


class Hardtanh(_Masked):
    @staticmethod
    def value(x, lo, hi):
        return np.minimum(np.maximum(x, lo), hi).astype(x.dtype, copy=False)

    @staticmethod
    def mask(x, lo, hi):
        return (x > lo) & (x < hi)


class Hardsigmoid(_Masked):
    slope = 1.0 / 6.0

    @staticmethod
    def value(x):
        y = np.clip(x + 3.0, 0.0, 6.0)
        y /= 6.0
        return y

    @staticmethod
    def mask(x):
        return (x > -3.0) & (x < 3.0)


class Threshold(_Masked):
    @staticmethod
    def value(x, threshold, value):
        return np.where(x > threshold, x, value).astype(x.dtype, copy=False)

    @staticmethod
    def mask(x, threshold, value):
        return x > threshold


class Softshrink(_Masked):
    @staticmethod
    def value(x, lambd):
        return x - np.clip(x, -lambd, lambd)

    @staticmethod
    def mask(x, lambd):
        return (x < -lambd) | (x > lambd)


class Hardshrink(_Masked):
    @staticmethod
    def value(x, lambd):
        return x * ((x < -lambd) | (x > lambd))

    mask = Softshrink.mask


def _masked_op(cls, input: Tensor, params: tuple, inplace: bool) -> Tensor:
    if inplace:
        return _apply_inplace(input, lambda t: cls.apply(t, *params))
    return cls.apply(input, *params)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """Clamp to ``[min_val, max_val]``; the gradient is 1 strictly inside, as in PyTorch."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _masked_op(Hardtanh, input, (min_val, max_val), inplace)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(0, x), 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``, a piecewise-linear sigmoid."""
    _float_input("hardsigmoid", input)
    return _masked_op(Hardsigmoid, input, (), inplace)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``."""
    return _masked_op(Threshold, input, (threshold, value), inplace)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _masked_op(Threshold, input, (threshold, value), True)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 between."""
    if lambd < 0:
        raise ValueError(f"softshrink: lambda must be greater or equal to 0, but found to be {lambd}")
    _float_input("softshrink", input)
    return _masked_op(Softshrink, input, (lambd,), False)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0."""
    _float_input("hardshrink", input)
    return _masked_op(Hardshrink, input, (lambd,), False)


class LeakyRelu(Function):
    """``x`` where ``x > 0``, else ``slope * x``; the slope is an array for rrelu's random slopes."""

    @staticmethod
    def forward(ctx, x, slope):
        xd = x.data
        if ctx.needs_input_grad[0]:
            ctx.mask = xd > 0
            ctx.slope = slope
        if not isinstance(slope, np.ndarray) and 0 <= slope <= 1:
            return np.maximum(xd, xd * slope)
        # exact selection without np.where: one of the two terms is 0
        y = np.minimum(xd, 0.0) * slope
        y += np.maximum(xd, 0.0)
        return y

    @staticmethod
    def backward(ctx, g):
        mask = ctx.mask
        factor = (~mask).astype(g.data.dtype)
        factor *= ctx.slope
        factor += mask
        return g * Tensor(factor), None


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0``, else ``negative_slope * x``."""
    _float_input("leaky_relu", input)
    slope = float(negative_slope)
    if inplace:
        return _apply_inplace(input, lambda t: LeakyRelu.apply(t, slope))
    return LeakyRelu.apply(input, slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


def rrelu(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, inplace: bool = False
) -> Tensor:
    """Randomized leaky ReLU: in training each ``x <= 0`` gets a slope drawn from U(lower, upper)
    with ember's generator; in eval the slope is ``(lower + upper) / 2``."""
    _float_input("rrelu", input)
    if lower > upper:
        raise ValueError(f"rrelu: lower bound {lower} must be less than or equal to upper bound {upper}")
    if training:
        from ..random import numpy_generator

        slope = numpy_generator().uniform(lower, upper, input.data.shape).astype(input.data.dtype)
    else:
        slope = (lower + upper) / 2.0
    if inplace:
        return _apply_inplace(input, lambda t: LeakyRelu.apply(t, slope))
    return LeakyRelu.apply(input, slope)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, inplace=True)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(0, x)``; ``ember.relu`` with PyTorch's ``inplace`` flag."""
    if inplace:
        return _apply_inplace(input, _ew.relu)
    return _ew.relu(input)


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


class Prelu(Function):
    """Leaky ReLU with a learned slope per channel (dim 1) or one shared slope."""

    @staticmethod
    def forward(ctx, x, weight, bshape):
        xd = x.data
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            ctx.save_for_backward(x, weight)
            ctx.mask = xd > 0
            ctx.bshape = bshape
        y = np.minimum(xd, 0.0) * weight.data.reshape(bshape)
        y += np.maximum(xd, 0.0)
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        dtype = g.data.dtype
        pos = ctx.mask.astype(dtype)
        neg = Tensor(1.0 - pos)
        nx, nw, _ = ctx.needs_input_grad
        gx = gw = None
        if nx:
            gx = g * (neg * weight.reshape(ctx.bshape) + Tensor(pos))
        if nw:
            gw = g * x * neg
            if weight.data.size == 1:
                gw = gw.sum().reshape(weight.shape)
            else:
                gw = gw.sum(tuple(i for i in range(gw.ndim) if i != 1)).reshape(weight.shape)
        return gx, gw, None


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` for ``x > 0``, else ``weight * x``; ``weight`` has 1 element or one per channel (dim 1)."""
    _float_input("prelu", input)
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu: weight must be a Tensor, got {type(weight).__name__}")
    n = weight.data.size
    channels = input.data.shape[1] if input.data.ndim >= 2 else 1
    if weight.data.ndim > 1 or (n != 1 and n != channels):
        raise ShapeError(
            f"prelu: weight of shape {weight.shape} must have 1 element or one per channel: input of shape "
            f"{input.shape} has {channels} channel(s) (dim 1)"
        )
    bshape = (1, n) + (1,) * (input.data.ndim - 2) if n > 1 else ()
    return Prelu.apply(input, weight, bshape)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: ``a * sigmoid(b)`` where ``a``, ``b`` are the two halves of ``input`` along ``dim``."""
    _float_input("glu", input)
    if input.data.ndim == 0:
        raise ShapeError("glu: does not support scalars (0-d tensors)")
    d = norm_dim(dim, input.data.ndim, "glu")
    size = input.data.shape[d]
    if size % 2:
        raise ShapeError(
            f"glu: halving dimension must be even, but dimension {d} has size {size} (input {input.shape})"
        )
    h = size // 2
    lead = (slice(None),) * d
    return input[lead + (slice(0, h),)] * _ew.sigmoid(input[lead + (slice(h, size),)])


# --------------------------------------------------------------------- softmax
class Softmax(Function):
    """Softmax (or log-softmax) along one axis, stable by subtracting the maximum.

    ``safe`` rows whose entries are all -inf give zeros instead of nan (attention's rule).
    """

    save_output = True

    @staticmethod
    def forward(ctx, x, axis, log, safe):
        xd = x.data
        ctx.meta = (axis, log)
        if xd.size == 0:
            return xd.copy()
        ax = axis if xd.ndim else None
        m = np.max(xd, axis=ax, keepdims=True)
        blank = None
        if safe:
            blank = np.isneginf(m)
            if blank.any():
                m = np.where(blank, 0.0, m).astype(xd.dtype, copy=False)
            else:
                blank = None
        with np.errstate(invalid="ignore"):
            z = np.subtract(xd, m)
        if z.ndim == 0:
            z = z.reshape(1)
        if log:
            s = np.exp(z).sum(axis=ax, keepdims=True)
            z -= np.log(s)
        else:
            np.exp(z, out=z)
            s = z.sum(axis=ax, keepdims=True)
            if blank is not None:
                s[blank] = 1.0
            z /= s
        return z.reshape(xd.shape)

    @staticmethod
    def backward(ctx, g):
        axis, log = ctx.meta
        y = ctx.output
        if log:
            return g - _ew.exp(y) * g.sum(axis, keepdim=True), None, None, None
        return y * (g - (g * y).sum(axis, keepdim=True)), None, None, None


def _softmax_dim(op: str, ndim: int, dim) -> int:
    if dim is None:
        # PyTorch's legacy implicit choice (without its deprecation warning)
        dim = 0 if ndim in (0, 1, 3) else 1
    return norm_dim(dim, ndim, op)


def _softmax(op: str, input: Tensor, dim, dtype, log: bool, negate: bool = False) -> Tensor:
    if dtype is not None:
        input = input.to(dtype)
    _float_input(op, input)
    axis = _softmax_dim(op, input.data.ndim, dim)
    if negate:
        input = -input
    return Softmax.apply(input, axis, log, False)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``exp(x) / exp(x).sum(dim)``, computed stably; ``dtype`` casts the input first.

    ``dim=None`` follows PyTorch's legacy rule (0 for 0-d, 1-d and 3-d inputs, else 1).
    """
    return _softmax("softmax", input, dim, dtype, log=False)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``x - logsumexp(x, dim)``: finite wherever softmax underflows to 0."""
    return _softmax("log_softmax", input, dim, dtype, log=True)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-x, dim)``."""
    return _softmax("softmin", input, dim, dtype, log=False, negate=True)


def safe_softmax(input: Tensor, dim: int) -> Tensor:
    """Softmax whose all -inf rows give zeros (and zero gradient), as attention needs."""
    return Softmax.apply(input, norm_dim(dim, input.data.ndim, "softmax"), False, True)


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """Sample from the Gumbel-softmax distribution (noise from ember's generator).

    ``hard=True`` returns one-hot samples whose gradient is that of the soft sample
    (straight-through estimator).
    """
    from ..random import numpy_generator

    _float_input("gumbel_softmax", logits)
    xd = logits.data
    gumbels = np.log(numpy_generator().exponential(1.0, xd.shape))
    np.negative(gumbels, out=gumbels)
    y_soft = softmax((logits + Tensor(gumbels.astype(xd.dtype))) / tau, dim)
    if not hard:
        return y_soft
    axis = norm_dim(dim, xd.ndim, "gumbel_softmax")
    ys = y_soft.data
    y_hard = np.zeros_like(ys)
    if ys.ndim:
        np.put_along_axis(y_hard, np.argmax(ys, axis=axis, keepdims=True), 1.0, axis=axis)
    else:
        y_hard[()] = 1.0
    return y_soft + Tensor(y_hard - ys)
