"""Gradient clipping, in place on ``.grad``, as ``torch.nn.utils``."""

from __future__ import annotations

import math

import numpy as np

from ...errors import EmberError
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]


def _grads(parameters) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """The ``norm_type``-norm of all tensors together, as if concatenated into one vector."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = [t for t in tensors if t is not None]
    norm_type = float(norm_type)
    if not tensors:
        return Tensor(np.zeros((), np.float32))
    if math.isinf(norm_type):
        total = max(float(np.max(np.abs(t.data))) if t.data.size else 0.0 for t in tensors)
    else:
        total = sum(float(np.sum(np.abs(t.data.astype(np.float64)) ** norm_type)) for t in tensors) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise EmberError(
            f"the total norm of order {norm_type} for gradients from {len(tensors)} tensors is non-finite; "
            "set error_if_nonfinite=False to clip anyway"
        )
    return Tensor(np.asarray(total, dtype=tensors[0].data.dtype))


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None
) -> Tensor:
    """Scale all gradients so that their total norm is at most ``max_norm``; returns the norm before clipping."""
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    coef = float(max_norm) / (float(total.data) + 1e-6)
    if coef < 1:
        for g in grads:
            g.data *= g.data.dtype.type(coef)
            g._vc[0] += 1
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]``."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        np.clip(g.data, -clip_value, clip_value, out=g.data)
        g._vc[0] += 1
