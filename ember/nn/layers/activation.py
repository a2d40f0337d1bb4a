"""Activation layers: one module per ``ember.nn.functional`` activation.

Most are a constructor that stores PyTorch's arguments and a forward that calls
the functional op; they are generated from one table so each is written once.
"""

from __future__ import annotations

import numpy as np

from ... import dtypes as _dt
from ...ops import activation as _act
from ...ops import elementwise as _ew
from ..module import Module
from ..parameter import Parameter

# name: (functional op, ((argument, default), ...), docstring)
_TABLE = {
    "ReLU": ("relu", (("inplace", False),), "``max(0, x)``."),
    "ReLU6": ("relu6", (("inplace", False),), "``min(max(0, x), 6)``."),
    "LeakyReLU": (
        "leaky_relu",
        (("negative_slope", 0.01), ("inplace", False)),
        "``x`` if positive, else ``negative_slope * x``.",
    ),
    "ELU": ("elu", (("alpha", 1.0), ("inplace", False)), "Exponential linear unit (Clevert et al., 2015)."),
    "SELU": ("selu", (("inplace", False),), "Scaled ELU (Klambauer et al., 2017: https://arxiv.org/abs/1706.02515)."),
    "CELU": ("celu", (("alpha", 1.0), ("inplace", False)), "Continuously differentiable ELU."),
    "GELU": ("gelu", (("approximate", "none"),), "Gaussian error linear unit (Hendrycks & Gimpel, 2016)."),
    "SiLU": ("silu", (("inplace", False),), "``x * sigmoid(x)`` (a.k.a. swish)."),
    "Mish": ("mish", (("inplace", False),), "``x * tanh(softplus(x))`` (Misra, 2019)."),
    "Softplus": (
        "softplus",
        (("beta", 1.0), ("threshold", 20.0)),
        "``log(1 + exp(beta x)) / beta``, linear above ``threshold``.",
    ),
    "Softsign": ("softsign", (), "``x / (1 + |x|)``."),
    "Hardswish": ("hardswish", (("inplace", False),), "``x * relu6(x + 3) / 6`` (Howard et al., 2019)."),
    "Hardsigmoid": ("hardsigmoid", (("inplace", False),), "``relu6(x + 3) / 6``."),
    "Hardtanh": (
        "hardtanh",
        (("min_val", -1.0), ("max_val", 1.0), ("inplace", False)),
        "Clamp to ``[min_val, max_val]``.",
    ),
    "LogSigmoid": ("logsigmoid", (), "``log(sigmoid(x))``, stable for large ``|x|``."),
    "GLU": ("glu", (("dim", -1),), "Gated linear unit: ``a * sigmoid(b)`` of the two halves along ``dim``."),
    "Tanhshrink": ("tanhshrink", (), "``x - tanh(x)``."),
    "Softshrink": ("softshrink", (("lambd", 0.5),), "Shrink towards zero by ``lambd``."),
    "Hardshrink": ("hardshrink", (("lambd", 0.5),), "Zero inside ``[-lambd, lambd]``."),
    "Threshold": (
        "threshold",
        (("threshold", None), ("value", None), ("inplace", False)),
        "``x`` above ``threshold``, else ``value``.",
    ),
    "Softmax": ("softmax", (("dim", None),), "Exponentials normalised to sum to 1 along ``dim``."),
    "LogSoftmax": ("log_softmax", (("dim", None),), "``log(softmax(x))``, computed stably."),
    "Softmin": ("softmin", (("dim", None),), "``softmax(-x)``."),
    "RReLU": (
        "rrelu",
        (("lower", 1.0 / 8), ("upper", 1.0 / 3), ("inplace", False)),
        "Randomised leaky ReLU (slope drawn in training).",
    ),
}

__all__ = [*_TABLE, "Sigmoid", "Tanh", "PReLU"]


def _make(name: str, fn_name: str, params: tuple, doc: str):
    names = [p for p, _ in params]
    defaults = dict(params)

    def __init__(self, *args, **kwargs) -> None:  # noqa: N807 - becomes the class's __init__
        Module.__init__(self)
        if len(args) > len(names):
            raise TypeError(f"{name} takes at most {len(names)} arguments ({', '.join(names)}), got {len(args)}")
        values = dict(defaults)
        values.update(zip(names, args))
        for k, v in kwargs.items():
            if k not in values:
                raise TypeError(f"{name} got an unexpected argument {k!r} (accepts {', '.join(names) or 'none'})")
            values[k] = v
        for k, v in values.items():
            setattr(self, k, v)

    fn = getattr(_act, fn_name)
    # one forward per arity, so that a call passes its options without a generator (batch-1 latency)
    if name == "RReLU":

        def forward(self, input):
            return fn(input, self.lower, self.upper, self.training, self.inplace)

    elif not names:

        def forward(self, input):
            return fn(input)

    elif len(names) == 1:
        only = names[0]

        def forward(self, input):
            return fn(input, getattr(self, only))

    else:

        def forward(self, input):
            return fn(input, *[getattr(self, n) for n in names])

    def extra_repr(self) -> str:
        return ", ".join(f"{n}={getattr(self, n)}" for n in names if n != "inplace" or getattr(self, n))

    return type(
        name,
        (Module,),
        {"__init__": __init__, "forward": forward, "extra_repr": extra_repr, "__doc__": doc, "__module__": __name__},
    )


for _name, (_fn, _params, _doc) in _TABLE.items():
    globals()[_name] = _make(_name, _fn, _params, _doc)


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``."""

    def forward(self, input):
        return _ew.sigmoid(input)


class Tanh(Module):
    """Hyperbolic tangent."""

    def forward(self, input):
        return _ew.tanh(input)


class PReLU(Module):
    """Leaky ReLU with a learned slope: one, or one per channel (He et al., 2015)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        d = (_dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)).np
        self.weight = Parameter(np.full(num_parameters, init, d))

    def forward(self, input):
        return _act.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"
