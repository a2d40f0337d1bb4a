"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, to_scalar

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum, as ``torch.optim.SGD``.

    ``g = grad + weight_decay * p``; with momentum ``b = momentum * b + (1 - dampening) * g``
    (``b = g`` on the first step) and ``g = b`` (or ``g + momentum * b`` with
    Nesterov); then ``p -= lr * g``. Nesterov momentum: Sutskever et al. 2013,
    http://www.cs.toronto.edu/~hinton/absps/momentum.pdf

    Example:
        >>> opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        super()._check_options(options)
        if options["momentum"] < 0.0:
            raise ValueError(f"Invalid momentum value: {options['momentum']}")
        if options["weight_decay"] < 0.0:
            raise ValueError(f"Invalid weight_decay value: {options['weight_decay']}")
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError(
                "Nesterov momentum requires a momentum and zero dampening, got "
                f"momentum={options['momentum']} dampening={options['dampening']}"
            )

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = to_scalar(group["lr"])
        momentum = group["momentum"]
        dampening = group["dampening"]
        weight_decay = group["weight_decay"]
        nesterov = group["nesterov"]
        maximize = group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            x = p.data
            d = p.grad.data
            t0, t1 = self._buffers(p, 2)
            if maximize:
                d = np.negative(d, out=t0)
            if weight_decay != 0:
                np.multiply(x, weight_decay, out=t1)
                d = np.add(d, t1, out=t0)
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = Tensor(d.copy())
                    b = buf.data
                else:
                    b = buf.data
                    b *= momentum
                    if dampening == 0:
                        b += d
                    else:
                        np.multiply(d, 1 - dampening, out=t1)
                        b += t1
                if nesterov:
                    np.multiply(b, momentum, out=t1)
                    d = np.add(d, t1, out=t0)
                else:
                    d = b
            np.multiply(d, -lr, out=t1)
            x += t1
            p._vc[0] += 1
