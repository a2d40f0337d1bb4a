"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .adam import check_betas_eps_decay
from .optimizer import Optimizer, ParamsT, effective_grad, increment_step, lerp_, new_step, to_scalar

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax (Kingma & Ba 2014, section 7, https://arxiv.org/abs/1412.6980), as ``torch.optim.Adamax``.

    ``m = lerp(m, g, 1 - beta1)``, ``u = max(beta2 * u, |g| + eps)``,
    ``p -= lr / (1 - beta1**t) * m / u``.

    Example:
        >>> opt = ember.optim.Adamax(model.parameters(), lr=2e-3)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        super()._check_options(options)
        check_betas_eps_decay(options)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = to_scalar(group["lr"])
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            x = p.data
            if len(state) == 0:
                state["step"] = new_step()
                state["exp_avg"] = Tensor(np.zeros_like(x))
                state["exp_inf"] = Tensor(np.zeros_like(x))
            step = increment_step(state)
            m = state["exp_avg"].data
            u = state["exp_inf"].data
            t0, t1 = self._buffers(p, 2)
            d = effective_grad(p, group["maximize"], group["weight_decay"], t0, t1)
            lerp_(m, d, 1 - beta1, t1)
            u *= beta2
            np.abs(d, out=t1)
            t1 += eps
            np.maximum(u, t1, out=u)
            clr = lr / (1 - beta1**step)
            np.multiply(m, -clr, out=t0)
            t0 /= u
            x += t0
            p._vc[0] += 1
