"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule."""

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
    scalar_dtype,
    to_scalar,
)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam (Dozat 2016, https://openreview.net/forum?id=OM0jvwB8jIp57ZJjtNEZ), as ``torch.optim.NAdam``.

    With ``mu_t = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay))`` and their
    running product ``P_t``, the step is
    ``p -= lr * ((1 - mu_t) / (1 - P_t) * g + mu_{t+1} / (1 - P_t mu_{t+1}) * m) / (sqrt(v / (1 - beta2**t)) + eps)``.
    ``decoupled_weight_decay`` gives NAdamW.

    Example:
        >>> opt = ember.optim.NAdam(model.parameters(), lr=2e-3)
    """

    _scalar_state = ("step", "mu_product")

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
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
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        super()._check_options(options)
        check_betas_eps_decay(options)
        if not 0.0 <= options["momentum_decay"]:
            raise ValueError(f"Invalid momentum_decay value: {options['momentum_decay']}")

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = to_scalar(group["lr"])
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        momentum_decay = group["momentum_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            x = p.data
            if len(state) == 0:
                state["step"] = new_step()
                state["mu_product"] = Tensor(np.ones((), scalar_dtype()))
                state["exp_avg"] = Tensor(np.zeros_like(x))
                state["exp_avg_sq"] = Tensor(np.zeros_like(x))
            step = increment_step(state)
            bias_correction2 = 1 - beta2**step
            t0, t1, t2 = self._buffers(p, 3)
            d = effective_grad(p, group["maximize"], group["weight_decay"], t0, t1, group["decoupled_weight_decay"], lr)
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
            mu_product = state["mu_product"].data
            mu_product *= mu  # kept in its own (float32) dtype, like PyTorch's 0-d tensor
            mu_product = float(mu_product)
            mu_product_next = mu_product * mu_next
            m = state["exp_avg"].data
            v = state["exp_avg_sq"].data
            lerp_(m, d, 1 - beta1, t1)
            v *= beta2
            addcmul_square_(v, d, 1 - beta2, t1)
            denom = np.divide(v, bias_correction2, out=t2)
            np.sqrt(denom, out=denom)
            denom += eps
            np.multiply(d, -lr * (1.0 - mu) / (1.0 - mu_product), out=t1)
            t1 /= denom
            x += t1
            np.multiply(m, (-lr * mu_next) / (1.0 - mu_product_next), out=t1)
            t1 /= denom
            x += t1
            p._vc[0] += 1
