"""Adagrad: per-coordinate learning rates from the running sum of squared gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, addcmul_square_, effective_grad, increment_step, new_step, to_scalar

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011, https://jmlr.org/papers/v12/duchi11a.html), as ``torch.optim.Adagrad``.

    ``s += g * g``; ``p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)``,
    with ``s`` starting at ``initial_accumulator_value``. Like PyTorch, the
    state of every parameter is created by the constructor.

    Example:
        >>> opt = ember.optim.Adagrad(model.parameters(), lr=1e-2)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group["initial_accumulator_value"])

    def _check_options(self, options: dict[str, Any]) -> None:
        super()._check_options(options)
        for name in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            if not 0.0 <= options[name]:
                what = "epsilon" if name == "eps" else name
                raise ValueError(f"Invalid {what} value: {options[name]}")

    def _init_state(self, p: Tensor, initial_accumulator_value: float) -> None:
        state = self.state[p]
        state["step"] = new_step()
        state["sum"] = Tensor(np.full_like(p.data, initial_accumulator_value))

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = to_scalar(group["lr"])
        lr_decay = group["lr_decay"]
        eps = group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:  # a group added after construction, as in PyTorch
                self._init_state(p, self.defaults["initial_accumulator_value"])
            step = increment_step(state)
            t0, t1 = self._buffers(p, 2)
            d = effective_grad(p, group["maximize"], group["weight_decay"], t0, t1)
            clr = lr / (1 + (step - 1) * lr_decay)
            acc = state["sum"].data
            addcmul_square_(acc, d, 1, t1)
            std = np.sqrt(acc, out=t1)
            std += eps
            np.multiply(d, -clr, out=t0)
            t0 /= std
            p.data += t0
            p._vc[0] += 1
