"""Dropout: zero random elements (or whole channels) in training and rescale the rest.

Every mask is one draw from ember's seeded generator (``ember.manual_seed``
makes it reproducible), kept for backward as a bool array: measured on a
(64, 1024, 16) float32 tensor, a bool mask and a multiply-then-scale cost the
same as a pre-scaled float mask (2.5-2.7 ms against 2.9-3.0 ms forward plus
backward) in a quarter of the memory.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import state as _grad_state
from ..errors import DTypeError, ShapeError
from ..random import numpy_generator
from ..tensor import Tensor

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]

# SELU's negative saturation value, -scale * alpha: alpha dropout sets dropped units to it (before its affine fix-up)
_SELU_SATURATION = 1.7580993408473766


class _MaskedScale(Function):
    """``x * scale`` where ``mask`` (broadcast to ``x``) holds, else 0; with ``fill`` (alpha dropout),
    kept elements are ``x * scale + fill[0]`` and dropped ones ``fill[1]``."""

    @staticmethod
    def forward(ctx, x, mask, scale, fill):
        ctx.mask, ctx.scale = mask, scale
        d = x.data
        scale = d.dtype.type(scale)
        if fill is None:
            out = np.multiply(d, mask)
            out *= scale
            return out
        kept, dropped = fill
        out = np.multiply(d, scale)
        out += d.dtype.type(kept)
        np.copyto(out, d.dtype.type(dropped), where=~mask)
        return out

    @staticmethod
    def backward(ctx, g):
        mask, scale = ctx.mask, ctx.scale
        if _grad_state.enabled:  # create_graph: keep it differentiable in g
            return g * Tensor(mask) * scale, None, None, None
        out = np.multiply(g.data, mask)
        out *= out.dtype.type(scale)
        return Tensor(out), None, None, None


def _check_p(op: str, p) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got p={p}")
    return p


def _keep_mask(shape: tuple, p: float) -> np.ndarray:
    """A bool array, True with probability ``1 - p``: one draw from ember's generator."""
    return numpy_generator().random(shape, dtype=np.float32) >= np.float32(p)


def _drop(op: str, input: Tensor, p: float, training: bool, inplace: bool, mask_shape, alpha: bool) -> Tensor:
    p = _check_p(op, p)
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, got {type(input).__name__}")
    if input.data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point input, got {input.dtype}")
    if not training or p == 0.0 or input.data.size == 0:
        return input
    if p == 1.0:
        fn = _zeros_like_graph
    else:
        mask = _keep_mask(mask_shape, p)
        if alpha:
            a = 1.0 / math.sqrt((_SELU_SATURATION**2 * p + 1) * (1 - p))
            fill = (_SELU_SATURATION * a * p, _SELU_SATURATION * a * (p - 1))

            def fn(t):
                return _MaskedScale.apply(t, mask, a, fill)
        else:

            def fn(t):
                return _MaskedScale.apply(t, mask, 1.0 / (1.0 - p), None)

    if inplace:
        return input._inplace(fn)
    return fn(input)


def _zeros_like_graph(t: Tensor) -> Tensor:
    # p = 1 drops everything: zeros that still carry a (zero) gradient, as PyTorch's input * 0
    return t * 0.0


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` (identity in eval)."""
    return _drop("dropout", input, p, training, inplace, input.shape if isinstance(input, Tensor) else (), False)


def _feature_shape(input: Tensor, batched: bool) -> tuple:
    """The mask shape that drops whole channels: ``(N, C, 1, ...)``, or ``(C, 1, ...)`` unbatched."""
    shape = input.data.shape
    lead = 2 if batched else 1
    return shape[:lead] + (1,) * (len(shape) - lead)


def _feature_dropout(op, input, p, training, inplace, feature_dim, alpha=False):
    """Channel dropout of ``(N, C, *spatial)`` with ``feature_dim`` spatial dims; one fewer dim is unbatched."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, got {type(input).__name__}")
    ndim = input.data.ndim
    batched = ndim == feature_dim + 2
    if op == "dropout1d":
        if ndim not in (2, 3):
            raise ShapeError(f"{op}: expected a 2D (C, L) or 3D (N, C, L) input, got shape {input.shape}")
    elif op == "dropout2d" and ndim == 3:
        warnings.warn(
            "dropout2d: received a 3D input; as PyTorch does, it is taken as (N, C, L) and whole channels "
            "are dropped (1D channel-wise dropout). Use dropout1d for that, or give dropout2d (N, C, H, W).",
            stacklevel=3,
        )
        batched = True
    elif ndim not in (feature_dim + 1, feature_dim + 2):
        if ndim < 2:
            raise ShapeError(f"{op}: expected an input of at least 2 dims (N, C, ...), got shape {input.shape}")
        warnings.warn(
            f"{op}: received a {ndim}D input, expected {feature_dim + 1}D (unbatched) or {feature_dim + 2}D "
            "(batched); dropping whole channels of (N, C, ...).",
            stacklevel=3,
        )
        batched = op != "dropout3d"  # PyTorch's dropout3d takes any other input as one unbatched sample
    return _drop(op, input, p, training, inplace, _feature_shape(input, batched), alpha)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` with probability ``p``, scale the rest by ``1 / (1 - p)``."""
    return _feature_dropout("dropout1d", input, p, training, inplace, 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of ``(N, C, H, W)`` or ``(C, H, W)`` with probability ``p``, scale the rest by ``1 / (1 - p)``.

    A 3D input is taken as ``(N, C, L)``, with a warning, as PyTorch does.
    """
    return _feature_dropout("dropout2d", input, p, training, inplace, 2)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` with probability ``p``, scale the rest."""
    return _feature_dropout("dropout3d", input, p, training, inplace, 3)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: keeps zero mean and unit variance of a standard normal input.

    Dropped elements take SELU's saturation value, then an affine map restores the
    statistics (`Klambauer et al. 2017 <https://arxiv.org/abs/1706.02515>`_).
    """
    shape = input.shape if isinstance(input, Tensor) else ()
    return _drop("alpha_dropout", input, p, training, inplace, shape, True)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels of ``(N, C, *)``."""
    if isinstance(input, Tensor) and input.data.ndim < 2:
        raise ShapeError(f"feature_alpha_dropout: expected an input of at least 2 dims (N, C, ...), got {input.shape}")
    shape = _feature_shape(input, True) if isinstance(input, Tensor) else ()
    return _drop("feature_alpha_dropout", input, p, training, inplace, shape, True)
