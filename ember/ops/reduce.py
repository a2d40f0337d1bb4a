"""Reductions over ``dim`` (int or tuple, ``None`` for all) with ``keepdim``."""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import norm_dims

__all__ = ["sum", "mean"]

TENSOR_METHODS = list(__all__)
INPLACE_METHODS: list = []


def _keepdim_shape(shape: tuple, dims: tuple) -> tuple:
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def expand_reduced(g: Tensor, in_shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Broadcast a reduced gradient back over the reduced axes of ``in_shape``."""
    if not keepdim and dims:
        g = g.reshape(_keepdim_shape(in_shape, dims))
    return g.expand(in_shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, a, dims, keepdim, dtype):
        ctx.meta = (a.data.shape, dims, keepdim)
        x = a.data
        if dtype is not None:
            x = x.astype(dtype.np)
        elif x.dtype.kind in "biu":
            x = x.astype(np.int64)
        return np.sum(x, axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.meta
        return expand_reduced(g, shape, dims, keepdim), None, None, None


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    """Sum over ``dim`` (all elements by default); bool and int sum to int64."""
    dims = norm_dims(dim, input.data.ndim, "sum")
    return Sum.apply(input, dims, keepdim, None if dtype is None else _dt.to_dtype(dtype))


class Mean(Function):
    @staticmethod
    def forward(ctx, a, dims, keepdim):
        shape = a.data.shape
        count = 1
        for d in dims:
            count *= shape[d]
        ctx.meta = (shape, dims, keepdim, count)
        return np.mean(a.data, axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim, count = ctx.meta
        return expand_reduced(g / count if count else g * np.nan, shape, dims, keepdim), None, None


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Arithmetic mean over ``dim``; integer tensors need a floating ``dtype`` (as in PyTorch)."""
    if dtype is not None:
        input = input.to(dtype)
    if input.data.dtype.kind not in "fc":
        raise TypeError(
            f"mean: could not infer output dtype: input dtype is {input.dtype}; "
            "pass a floating point dtype, e.g. mean(dtype=ember.float32), or call .float() first"
        )
    dims = norm_dims(dim, input.data.ndim, "mean")
    return Mean.apply(input, dims, keepdim)
