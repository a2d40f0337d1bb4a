"""RMSprop: divide the gradient by a running root mean square of recent gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, addcmul_square_, effective_grad, increment_step, lerp_, new_step, to_scalar

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton, lecture 6e; centered form from Graves 2013, https://arxiv.org/abs/1308.0850).

    ``s = alpha * s + (1 - alpha) * g * g``; the denominator is ``sqrt(s) + eps``
    (``centered`` subtracts the square of a running mean of ``g`` first);
    ``p -= lr * g / denom``, or with ``momentum`` through a buffer
    ``b = momentum * b + g / denom``, as ``torch.optim.RMSprop``.

    Example:
        >>> opt = ember.optim.RMSprop(model.parameters(), lr=1e-2, momentum=0.9)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        super()._check_options(options)
        for name in ("eps", "momentum", "weight_decay", "alpha"):
            if not 0.0 <= options[name]:
                what = "epsilon" if name == "eps" else name
                raise ValueError(f"Invalid {what} value: {options[name]}")

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = to_scalar(group["lr"])
        alpha = group["alpha"]
        eps = group["eps"]
        momentum = group["momentum"]
        centered = group["centered"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            x = p.data
            if len(state) == 0:
                state["step"] = new_step()
                state["square_avg"] = Tensor(np.zeros_like(x))
                if momentum > 0:
                    state["momentum_buffer"] = Tensor(np.zeros_like(x))
                if centered:
                    state["grad_avg"] = Tensor(np.zeros_like(x))
            increment_step(state)
            t0, t1 = self._buffers(p, 2)
            d = effective_grad(p, group["maximize"], group["weight_decay"], t0, t1)
            square_avg = state["square_avg"].data
            square_avg *= alpha
            addcmul_square_(square_avg, d, 1 - alpha, t1)
            if centered:
                grad_avg = state["grad_avg"].data
                lerp_(grad_avg, d, 1 - alpha, t1)
                avg = np.multiply(grad_avg, grad_avg, out=t1)
                np.subtract(square_avg, avg, out=avg)
                np.sqrt(avg, out=avg)
            else:
                avg = np.sqrt(square_avg, out=t1)
            avg += eps
            if momentum > 0:
                buf = state["momentum_buffer"].data
                buf *= momentum
                np.divide(d, avg, out=avg)
                buf += avg
                np.multiply(buf, -lr, out=avg)
            else:
                np.multiply(d, -lr, out=t0)
                np.divide(t0, avg, out=avg)
            x += avg
            p._vc[0] += 1
