"""Flatten parameters into one vector and back."""

from __future__ import annotations

import numpy as np

from ...errors import ShapeError
from ...ops import shape as _shape
from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened and concatenated (differentiable)."""
    return _shape.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of ``vec`` into the parameters (in place, no graph)."""
    if not isinstance(vec, Tensor) or vec.ndim != 1:
        raise TypeError(
            f"vector_to_parameters: expected a 1-d tensor, got {type(vec).__name__} {getattr(vec, 'shape', '')}"
        )
    parameters = list(parameters)
    total = sum(p.numel() for p in parameters)
    if total != vec.numel():
        raise ShapeError(f"vector_to_parameters: vector has {vec.numel()} elements, the parameters need {total}")
    offset = 0
    for p in parameters:
        n = p.numel()
        np.copyto(p.data, vec.data[offset : offset + n].reshape(p.shape))
        p._vc[0] += 1
        offset += n
