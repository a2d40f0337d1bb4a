"""Dense layers: ``Identity``, ``Linear``, ``Bilinear``, ``LazyLinear``."""

from __future__ import annotations

import math

import numpy as np

from ... import dtypes as _dt
from ...errors import ShapeError
from ...ops import bilinear as _bilinear_ops
from ...ops import linalg as _linalg
from .. import init
from ..module import Module
from ..parameter import Parameter

__all__ = ["Identity", "Linear", "Bilinear", "LazyLinear"]


def _empty(*shape, dtype=None) -> Parameter:
    d = _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)
    return Parameter(np.empty(shape, d.np))


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are ignored (as in PyTorch)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """``y = x W^T + b``: weight ``(out_features, in_features)``, bias ``(out_features,)``.

    Shape: input ``(*, in_features)``, output ``(*, out_features)``.
    Initialised like PyTorch: uniform on ``±1/sqrt(in_features)`` for both.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = _empty(out_features, in_features, dtype=dtype)
        if bias:
            self.bias = _empty(out_features, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        params = self._parameters  # not self.weight: Module.__getattr__ is a Python call per lookup
        weight = params.get("weight")
        if weight is None:  # deleted or set to None: the attribute's own error
            weight = self.weight
        try:  # the op checks the shapes; the layer's own message only when that fails
            return _linalg.linear(input, weight, params.get("bias"))
        except ShapeError:
            if input.shape[-1:] != (self.in_features,):
                raise ShapeError(
                    f"Linear: expected input with {self.in_features} features in its last dimension, "
                    f"got shape {input.shape}"
                ) from None
            raise

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class LazyLinear(Linear):
    """A ``Linear`` whose ``in_features`` is taken from the first input it sees."""

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        Module.__init__(self)
        self.in_features = 0
        self.out_features = out_features
        self._dtype = dtype
        self._has_bias = bias
        self.weight = Parameter(np.empty((0,), (_dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)).np))
        if bias:
            self.bias = Parameter(np.empty((0,), self.weight.data.dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, input):
        if self.in_features == 0:
            self.in_features = input.shape[-1]
            self.weight.data = np.empty((self.out_features, self.in_features), self.weight.data.dtype)
            if self.bias is not None:
                self.bias.data = np.empty((self.out_features,), self.weight.data.dtype)
            self.reset_parameters()
            self.__class__ = Linear
        return Linear.forward(self, input)


class Bilinear(Module):
    """``y = x1^T A x2 + b``: weight ``(out_features, in1_features, in2_features)``."""

    def __init__(
        self, in1_features: int, in2_features: int, out_features: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = _empty(out_features, in1_features, in2_features, dtype=dtype)
        if bias:
            self.bias = _empty(out_features, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return _bilinear_ops.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )
