"""Indexing: ``__getitem__``/``__setitem__`` (basic and advanced), gather, scatter and friends.

Gradients of advanced indexing scatter-add, so repeated indices accumulate.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..errors import ShapeError
from ..tensor import Tensor
from ._util import binary_arrays, data_of

__all__ = ["getitem", "index_put", "convert_key"]

TENSOR_METHODS: list = []
INPLACE_METHODS: list = []


def _convert_one(k):
    if isinstance(k, Tensor):
        d = k.data
        if d.dtype.kind == "f":
            raise IndexError(f"tensors used as indices must be long, int or bool tensors, got {k.dtype}")
        return d
    if isinstance(k, list):
        arr = np.asarray([data_of(x) for x in k])
        if arr.dtype.kind == "f":
            raise IndexError(f"indices must be integers or bools, got a list of floats {k!r:.80}")
        return arr
    return k


def convert_key(key):
    """An ember index (tensors, lists, slices, ...) as a NumPy index."""
    if isinstance(key, tuple):
        return tuple(_convert_one(k) for k in key)
    return _convert_one(key)


def _is_basic(key) -> bool:
    if isinstance(key, tuple):
        return all(k is None or k is Ellipsis or isinstance(k, (int, slice, np.integer)) for k in key)
    return key is None or key is Ellipsis or isinstance(key, (int, slice, np.integer))


class GetItem(Function):
    @staticmethod
    def forward(ctx, a, key, basic):
        ctx.meta = (a.data.shape, a.data.dtype, key, basic)
        return a.data[key]

    @staticmethod
    def backward(ctx, g):
        shape, dtype, key, basic = ctx.meta
        return IndexAddInto.apply(g, shape, key, basic), None, None


class _ViewGetItem(GetItem):
    is_view = True


class IndexAddInto(Function):
    """Zeros of ``shape`` with ``g`` added at ``key``: the gradient of indexing."""

    @staticmethod
    def forward(ctx, g, shape, key, basic):
        ctx.meta = (key, basic)
        out = np.zeros(shape, g.data.dtype)
        if basic:
            out[key] = g.data
        else:
            np.add.at(out, key, g.data)
        return out

    @staticmethod
    def backward(ctx, gg):
        key, basic = ctx.meta
        return (_ViewGetItem if basic else GetItem).apply(gg, key, basic), None, None, None


def getitem(input: Tensor, key) -> Tensor:
    """``input[key]`` with NumPy semantics: ints, slices, None, ..., int and bool tensors."""
    key = convert_key(key)
    basic = _is_basic(key)
    try:
        if basic:
            return _ViewGetItem.apply(input, key, True)
        return GetItem.apply(input, key, False)
    except IndexError as e:
        raise IndexError(f"index {_key_repr(key)} is invalid for a tensor of shape {input.shape}: {e}") from None


def _key_repr(key) -> str:
    if isinstance(key, np.ndarray):
        return f"array of shape {key.shape} and dtype {key.dtype}"
    if isinstance(key, tuple):
        return "(" + ", ".join(_key_repr(k) for k in key) + ")"
    return repr(key)


class IndexPut(Function):
    @staticmethod
    def forward(ctx, a, key, value):
        if isinstance(value, Tensor):
            x, v = binary_arrays("index_put", a, value)
            v = v.astype(a.data.dtype, copy=False)
        else:
            v = value
        out = a.data.copy()
        try:
            out[key] = v
        except ValueError as e:
            raise ShapeError(
                f"__setitem__: cannot assign value of shape {np.shape(v)} to index {_key_repr(key)} of a tensor "
                f"of shape {a.shape}: {e}"
            ) from None
        ctx.meta = (key, a.data.shape)
        return out

    @staticmethod
    def backward(ctx, g):
        key, shape = ctx.meta
        na, _, nv = ctx.needs_input_grad
        ga = gv = None
        if na:
            mask = np.ones(shape, dtype=bool)
            mask[key] = False
            ga = g * Tensor(mask)
        if nv:
            gv = getitem(g, key)
        return ga, None, gv


def index_put(input: Tensor, key, value) -> Tensor:
    """Out-of-place ``input[key] = value``, differentiable in both."""
    return IndexPut.apply(input, convert_key(key), value)
