"""``bilinear``: ``y = x1^T A x2 + b``, composed from matmul and a product-sum."""

from __future__ import annotations

from ..errors import ShapeError
from ..tensor import Tensor

__all__ = ["bilinear"]


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Bilinear map. Shapes: ``(*, in1)``, ``(*, in2)``, weight ``(out, in1, in2)`` -> ``(*, out)``."""
    out_f, in1, in2 = weight.shape
    if input1.shape[-1] != in1 or input2.shape[-1] != in2 or input1.shape[:-1] != input2.shape[:-1]:
        raise ShapeError(
            f"bilinear: weight {tuple(weight.shape)} expects inputs (*, {in1}) and (*, {in2}) with the same leading "
            f"dimensions, got {tuple(input1.shape)} and {tuple(input2.shape)}"
        )
    lead = input1.shape[:-1]
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, in2)
    # (N, in1) @ (in1, out*in2) -> (N, out, in2), then contract with x2 over in2
    t = (x1 @ weight.permute(1, 0, 2).reshape(in1, out_f * in2)).reshape(-1, out_f, in2)
    y = (t * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, out_f)
