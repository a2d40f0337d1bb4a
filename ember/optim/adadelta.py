"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, addcmul_square_, effective_grad, increment_step, new_step, to_scalar

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012, https://arxiv.org/abs/1212.5701), as ``torch.optim.Adadelta``.

    ``s = rho * s + (1 - rho) * g * g``; ``delta = sqrt(a + eps) / sqrt(s + eps) * g``;
    ``a = rho * a + (1 - rho) * delta * delta``; ``p -= lr * delta``.

    Example:
        >>> opt = ember.optim.Adadelta(model.parameters(), lr=1.0)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "capturable": capturable,
            "foreach": foreach,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        super()._check_options(options)
        if not 0.0 <= options["rho"] <= 1.0:
            raise ValueError(f"Invalid rho value: {options['rho']}")
        if not 0.0 <= options["eps"]:
            raise ValueError(f"Invalid epsilon value: {options['eps']}")
        if not 0.0 <= options["weight_decay"]:
            raise ValueError(f"Invalid weight_decay value: {options['weight_decay']}")

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = to_scalar(group["lr"])
        rho = group["rho"]
        eps = group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            x = p.data
            if len(state) == 0:
                state["step"] = new_step()
                state["square_avg"] = Tensor(np.zeros_like(x))
                state["acc_delta"] = Tensor(np.zeros_like(x))
            increment_step(state)
            t0, t1, t2 = self._buffers(p, 3)
            d = effective_grad(p, group["maximize"], group["weight_decay"], t0, t1)
            square_avg = state["square_avg"].data
            acc_delta = state["acc_delta"].data
            square_avg *= rho
            addcmul_square_(square_avg, d, 1 - rho, t1)
            std = np.add(square_avg, eps, out=t1)
            np.sqrt(std, out=std)
            delta = np.add(acc_delta, eps, out=t2)
            np.sqrt(delta, out=delta)
            delta /= std
            delta *= d
            acc_delta *= rho
            addcmul_square_(acc_delta, delta, 1 - rho, t1)
            np.multiply(delta, -lr, out=t1)
            x += t1
            p._vc[0] += 1
