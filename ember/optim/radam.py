"""RAdam: Adam with a rectified adaptive learning rate."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .adam import check_betas_eps_decay
from .optimizer import (
    Optimizer,
    ParamsT,
    addcmul_square_,
    effective_grad,
    increment_step,
    lerp_,
    new_step,
    to_scalar,
)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam (Liu et al. 2019, https://arxiv.org/abs/1908.03265), as ``torch.optim.RAdam``.

    While the approximated SMA length ``rho_t`` is at most 5 the step is
    momentum SGD with bias correction; after that the adaptive Adam step is
    scaled by the variance rectification term. ``decoupled_weight_decay``
    gives RAdamW.

    Example:
        >>> opt = ember.optim.RAdam(model.parameters(), lr=1e-3)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        super()._check_options(options)
        check_betas_eps_decay(options)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = to_scalar(group["lr"])
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        rho_inf = 2 / (1 - beta2) - 1
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            x = p.data
            if len(state) == 0:
                state["step"] = new_step()
                state["exp_avg"] = Tensor(np.zeros_like(x))
                state["exp_avg_sq"] = Tensor(np.zeros_like(x))
            step = increment_step(state)
            t0, t1 = self._buffers(p, 2)
            d = effective_grad(p, group["maximize"], group["weight_decay"], t0, t1, group["decoupled_weight_decay"], lr)
            m = state["exp_avg"].data
            v = state["exp_avg_sq"].data
            lerp_(m, d, 1 - beta1, t1)
            v *= beta2
            addcmul_square_(v, d, 1 - beta2, t1)
            bias_correction1 = 1 - beta1**step
            bias_correction2 = 1 - beta2**step
            update = np.divide(m, bias_correction1, out=t0)
            update *= lr
            rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                adaptive = np.sqrt(v, out=t1)
                adaptive += eps
                np.reciprocal(adaptive, out=adaptive)  # PyTorch's scalar / tensor is reciprocal() * scalar
                adaptive *= bias_correction2**0.5
                update *= adaptive
                update *= rect
            x -= update
            p._vc[0] += 1
