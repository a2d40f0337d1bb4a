"""Linear algebra: matmul and its relatives, einsum, and ``ember.linalg``."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..errors import ShapeError
from ..tensor import Tensor

__all__ = ["matmul"]

TENSOR_METHODS = list(__all__)
INPLACE_METHODS: list = []


def _matmul_error(a_shape, b_shape) -> ShapeError:
    if len(a_shape) == 1 and len(b_shape) == 1:
        return ShapeError(
            f"matmul: cannot take the dot product of {a_shape} and {b_shape}: both vectors must have the same length"
        )
    ka = a_shape[-1]
    kb = b_shape[-2] if len(b_shape) >= 2 else b_shape[0]
    if ka != kb:
        da = len(a_shape) - 1
        db = len(b_shape) - 2 if len(b_shape) >= 2 else 0
        return ShapeError(
            f"matmul: cannot multiply {a_shape} by {b_shape}: dimension {da} of the first ({ka}) must equal "
            f"dimension {db} of the second ({kb})"
        )
    return ShapeError(
        f"matmul: batch dimensions of {a_shape} and {b_shape} do not broadcast ({a_shape[:-2]} vs {b_shape[:-2]})"
    )


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        x, y = a.data, b.data
        if x.dtype != y.dtype:
            raise TypeError(f"matmul: expected both operands to have the same dtype, got {a.dtype} and {b.dtype}")
        try:
            return np.matmul(x, y)
        except ValueError:
            raise _matmul_error(x.shape, y.shape) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if na else None), (g * a if nb else None)
        if a.ndim == 1:
            # (k,) @ (..., k, n) -> (..., n)
            if na:
                ga = matmul(b, g.unsqueeze(-1)).squeeze(-1)
            if nb:
                gb = a.unsqueeze(-1) * g.unsqueeze(-2)
            return ga, gb
        if b.ndim == 1:
            # (..., m, k) @ (k,) -> (..., m)
            if na:
                ga = g.unsqueeze(-1) * b
            if nb:
                gb = matmul(a.mT, g.unsqueeze(-1)).squeeze(-1)
            return ga, gb
        if na:
            ga = matmul(g, b.mT)
        if nb:
            gb = matmul(a.mT, g)
        return ga, gb


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with NumPy's rules: 1-d, 2-d, batched and broadcast batch dims."""
    if input.data.ndim == 0 or other.data.ndim == 0:
        raise ShapeError(
            f"matmul: both arguments need at least 1 dimension, got shapes {input.shape} and {other.shape}"
        )
    return MatMul.apply(input, other)
