"""Scaled dot-product attention, composed from ember ops so autograd (to any order) comes for free."""

from __future__ import annotations

import math

import numpy as np

from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from ._util import broadcast_clash
from .activation import safe_softmax
from .linalg import matmul

__all__ = ["scaled_dot_product_attention"]


def _check(query: Tensor, key: Tensor, value: Tensor, attn_mask, dropout_p: float, is_causal: bool) -> None:
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t.data.ndim < 2:
            raise ShapeError(f"{op}: {name} must have at least 2 dimensions (..., length, features), got {t.shape}")
        if t.data.dtype.kind != "f":
            raise DTypeError(f"{op}: {name} must be a floating point tensor, got {t.dtype}")
    if not query.dtype == key.dtype == value.dtype:
        raise DTypeError(
            f"{op}: expected query, key and value to have the same dtype, got {query.dtype}, {key.dtype} and "
            f"{value.dtype}"
        )
    if query.shape[-1] != key.shape[-1]:
        raise ShapeError(
            f"{op}: query {query.shape} and key {key.shape} must have the same feature size (last dimension)"
        )
    if key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"{op}: key {key.shape} and value {value.shape} must have the same length (dimension -2)")
    if attn_mask is not None:
        if is_causal:
            raise ValueError(f"{op}: explicit attn_mask should not be set when is_causal=True")
        if not isinstance(attn_mask, Tensor):
            raise TypeError(f"{op}: attn_mask must be a Tensor, got {type(attn_mask).__name__}")
        kind = attn_mask.data.dtype.kind
        if kind != "b" and attn_mask.dtype != query.dtype:
            raise DTypeError(
                f"{op}: attn_mask must be bool or have the query's dtype {query.dtype}, got {attn_mask.dtype}"
            )
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{op}: dropout_p must be in [0, 1], got {dropout_p}")


def _check_mask_shape(mask: tuple, scores: tuple, query: tuple, key: tuple) -> None:
    """The mask must broadcast to the scores' shape ``(..., L, S)`` without enlarging it (PyTorch's rule)."""
    op = "scaled_dot_product_attention"
    clash = broadcast_clash(mask, scores)
    if clash is not None:
        d = clash[0]
        detail = f"dimension {d} has size {mask[d]} in attn_mask and {scores[d]} in the scores"
    elif len(mask) > len(scores):
        detail = f"attn_mask has {len(mask)} dimensions, the scores {len(scores)}"
    else:
        return
    raise ShapeError(
        f"{op}: attn_mask {mask} does not broadcast to the attention scores (..., L, S) {scores} of query {query} "
        f"and key {key}: {detail}"
    )


def _repeat_heads(t: Tensor, heads: int) -> Tensor:
    """``t.repeat_interleave(heads // t.shape[-3], dim=-3)`` with expand + reshape."""
    shape = t.shape
    groups = heads // shape[-3]
    expanded = t.unsqueeze(-3).expand(shape[:-2] + (groups,) + shape[-2:])
    return expanded.reshape(shape[:-3] + (heads,) + shape[-2:])


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value`` with PyTorch's semantics.

    Shapes: query ``(..., L, E)``, key ``(..., S, E)``, value ``(..., S, Ev)`` -> ``(..., L, Ev)``.
    A bool ``attn_mask`` (broadcast to ``(..., L, S)``) marks with True the keys that take
    part; a float mask is added to the scores. ``is_causal`` lets query ``i`` see keys
    ``j <= i``. A query that sees no key gets zeros, as in PyTorch 2.5 and later.
    ``scale`` defaults to ``1 / sqrt(E)``; ``dropout_p`` drops attention weights with
    ember's generator. ``enable_gqa`` repeats key/value heads (dim -3) to the query's.
    """
    _check(query, key, value, attn_mask, dropout_p, is_causal)
    if enable_gqa:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if query.ndim < 3 or hq % hk or hq % hv:
            raise ShapeError(
                f"scaled_dot_product_attention: with enable_gqa the query heads (dim -3) must be a multiple of the "
                f"key and value heads, got query {query.shape}, key {key.shape}, value {value.shape}"
            )
        if hk != hq:
            key = _repeat_heads(key, hq)
        if hv != hq:
            value = _repeat_heads(value, hq)
    length, source, features = query.shape[-2], key.shape[-2], query.shape[-1]
    if scale is not None:
        factor = float(scale)
    else:  # with no features (E = 0) every score is 0 whatever the scale: the weights are uniform
        factor = 1.0 / math.sqrt(features) if features else 1.0
    # scale whichever of query and scores is smaller
    if features <= source:
        scores = matmul(query * factor, key.mT)
    else:
        scores = matmul(query, key.mT) * factor
    if is_causal:
        allowed = np.tri(length, source, dtype=bool)
        scores = scores + Tensor(np.where(allowed, 0.0, -np.inf).astype(scores.data.dtype))
    elif attn_mask is not None:
        if attn_mask.data.shape != scores.data.shape:
            _check_mask_shape(attn_mask.data.shape, scores.data.shape, query.shape, key.shape)
        if attn_mask.data.dtype.kind == "b":
            scores = scores + Tensor(np.where(attn_mask.data, 0.0, -np.inf).astype(scores.data.dtype))
        else:
            scores = scores + attn_mask
    weights = safe_softmax(scores, -1)
    if dropout_p > 0.0:
        from ..random import numpy_generator

        if dropout_p >= 1.0:
            keep = np.zeros(weights.shape, weights.data.dtype)
        else:
            keep = numpy_generator().random(weights.shape) >= dropout_p
            keep = keep.astype(weights.data.dtype) * (1.0 / (1.0 - dropout_p))
        weights = weights * Tensor(keep)
    return matmul(weights, value)
