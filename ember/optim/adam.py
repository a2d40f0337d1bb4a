"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay and AMSGrad."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
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

__all__ = ["Adam", "AdamW"]

_FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_betas_eps_decay(options: dict[str, Any]) -> None:
    """PyTorch's checks of ``eps``, ``betas`` and ``weight_decay``, shared by the Adam family."""
    eps, betas, weight_decay = options["eps"], options["betas"], options["weight_decay"]
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= to_scalar(betas[0]) < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= to_scalar(betas[1]) < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    """Adam (Kingma & Ba 2014, https://arxiv.org/abs/1412.6980), as ``torch.optim.Adam``.

    ``m = lerp(m, g, 1 - beta1)``, ``v = beta2 * v + (1 - beta2) * g * g``,
    ``p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)``.
    ``weight_decay`` adds ``weight_decay * p`` to the gradient, or with
    ``decoupled_weight_decay`` scales ``p`` by ``1 - lr * weight_decay`` first
    (AdamW); ``amsgrad`` uses the running maximum of ``v``
    (https://openreview.net/forum?id=ryQu7f-RZ).

    Contiguous float32/float64 parameters are updated by one fused Numba loop
    (each element read and written once); others by in-place NumPy ufuncs.

    Example:
        >>> opt = ember.optim.Adam(model.parameters(), lr=1e-3)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": tuple(map(to_scalar, betas)),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        super()._check_options(options)
        check_betas_eps_decay(options)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = to_scalar(group["lr"])
        beta1, beta2 = (to_scalar(b) for b in group["betas"])
        eps = group["eps"]
        weight_decay = group["weight_decay"]
        amsgrad = group["amsgrad"]
        maximize = group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        flags = (1 if maximize else 0) | (2 if decoupled and weight_decay != 0 else 0) | (4 if amsgrad else 0)
        kernel = None
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            x = p.data
            if len(state) == 0:
                state["step"] = new_step()
                state["exp_avg"] = Tensor(np.zeros_like(x))
                state["exp_avg_sq"] = Tensor(np.zeros_like(x))
                if amsgrad:
                    state["max_exp_avg_sq"] = Tensor(np.zeros_like(x))
            step = increment_step(state)
            bias_correction1 = 1 - beta1**step
            bias_correction2 = 1 - beta2**step
            step_size = lr / bias_correction1
            bias_correction2_sqrt = bias_correction2**0.5
            g = p.grad.data
            m = state["exp_avg"].data
            v = state["exp_avg_sq"].data
            vmax = state["max_exp_avg_sq"].data if amsgrad else v
            if (
                x.dtype in _FUSED_DTYPES
                and g.dtype == x.dtype
                and x.flags.c_contiguous
                and g.flags.c_contiguous
                and m.flags.c_contiguous
                and v.flags.c_contiguous
                and vmax.flags.c_contiguous
            ):
                if kernel is None:
                    from ..kernels.optim import adam_step as kernel
                t = x.dtype.type
                kernel(
                    x.reshape(-1),
                    g.reshape(-1),
                    m.reshape(-1),
                    v.reshape(-1),
                    vmax.reshape(-1),
                    t(1 - beta1),
                    t(1) - t(1 - beta1),
                    t(beta2),
                    t(1 - beta2),
                    t(bias_correction2_sqrt),
                    t(-step_size),
                    t(eps),
                    t(0 if decoupled else weight_decay),
                    t(1 - lr * weight_decay),
                    flags,
                )
            else:
                t0, t1 = self._buffers(p, 2)
                d = effective_grad(p, maximize, weight_decay, t0, t1, decoupled, lr)
                lerp_(m, d, 1 - beta1, t1)
                v *= beta2
                addcmul_square_(v, d, 1 - beta2, t1)
                if amsgrad:
                    np.maximum(vmax, v, out=vmax)
                denom = np.sqrt(vmax if amsgrad else v, out=t1)
                denom /= bias_correction2_sqrt
                denom += eps
                np.multiply(m, -step_size, out=t0)
                t0 /= denom
                x += t0
            p._vc[0] += 1


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2017, https://arxiv.org/abs/1711.05101).

    Each step first scales the parameters by ``1 - lr * weight_decay``, then
    takes an Adam step without decay, as ``torch.optim.AdamW``.

    Example:
        >>> opt = ember.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )
