"""``Optimizer``: the base of every optimizer, with PyTorch's param groups, state and state_dict.

An optimizer holds ``param_groups`` (dicts with a ``'params'`` list and every
option, so each group can have its own learning rate) and ``state`` (a dict
from parameter tensor to that parameter's running buffers). ``state_dict()``
replaces tensors by their index, in PyTorch's layout, so a checkpoint written
with ``ember.save`` loads into a fresh optimizer over the same model.
Subclasses implement ``_update_group(group)``, which changes ``p.data`` in
place with NumPy; scratch arrays live in a private cache, never in ``state``.
Each optimizer has one implementation: PyTorch's ``foreach``, ``fused``,
``capturable`` and ``differentiable`` keywords are accepted (and kept in the
groups, so state dicts have PyTorch's keys) but change nothing.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import enable_grad, no_grad
from ..errors import CheckpointError
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]


class _RequiredParameter:
    """Marks an option that every param group must set (like ``torch.optim.optimizer.required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def to_scalar(value) -> float:
    """A learning rate or other option as a Python float (a one-element Tensor is allowed)."""
    if isinstance(value, Tensor):
        return float(value.data)
    return value


def scalar_dtype() -> np.dtype:
    """The dtype of 0-d counters such as ``state['step']``: float64 only when that is the default dtype."""
    return np.dtype(np.float64) if _dt.get_default_dtype() == _dt.float64 else np.dtype(np.float32)


def new_step() -> Tensor:
    """A fresh 0-d ``step`` counter, as PyTorch keeps it (a float tensor, not an int)."""
    return Tensor(np.zeros((), scalar_dtype()))


def increment_step(state: dict) -> float:
    """Add one to ``state['step']`` in place and return the new count as a float."""
    counter = state["step"].data
    counter += 1
    return float(counter)


def effective_grad(
    p: Tensor, maximize: bool, weight_decay: float, t0: np.ndarray, t1: np.ndarray, decoupled: bool = False, lr=0.0
) -> np.ndarray:
    """The gradient after ``maximize`` and weight decay, as PyTorch forms it (may be ``p.grad.data`` itself).

    L2 decay gives ``grad + weight_decay * p`` (in ``t0``, using ``t1``);
    decoupled decay instead scales ``p.data`` by ``1 - lr * weight_decay``.
    """
    d = p.grad.data
    if maximize:
        d = np.negative(d, out=t0)
    if weight_decay != 0:
        if decoupled:
            np.multiply(p.data, 1 - lr * weight_decay, out=p.data)
        else:
            np.multiply(p.data, weight_decay, out=t1)
            d = np.add(d, t1, out=t0)
    return d


def lerp_(start: np.ndarray, end: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """``start += weight * (end - start)`` in place, in PyTorch's two forms for small and large weights."""
    np.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        tmp *= weight
        start += tmp
    else:
        t = start.dtype.type
        tmp *= t(1) - t(weight)
        np.subtract(end, tmp, out=start)


def addcmul_square_(acc: np.ndarray, d: np.ndarray, value: float, tmp: np.ndarray) -> None:
    """``acc += value * d * d`` in place (``value * d`` first, as PyTorch's addcmul)."""
    np.multiply(d, value, out=tmp)
    tmp *= d
    acc += tmp


def _describe(p: Tensor) -> str:
    return f"{type(p).__name__} of shape {tuple(p.shape)}"


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs (as from
            ``model.named_parameters()``), or of dicts, each a param group with
            a ``'params'`` entry and its own options.
        defaults: the default value of every option, used for groups that do
            not set it.

    Example:
        >>> opt = ember.optim.SGD([{"params": model.body.parameters()},
        ...                        {"params": model.head.parameters(), "lr": 1e-3}], lr=1e-2)
    """

    # state entries that are 0-d tensors (restored as 0-d by load_state_dict)
    _scalar_state: tuple[str, ...] = ("step",)

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got a {_describe(params)}"
            )
        self.defaults = dict(defaults)
        self._check_options(self.defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._scratch: dict[Tensor, list[np.ndarray]] = {}
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ----------------------------------------------------------------- groups
    def _check_options(self, options: dict[str, Any]) -> None:
        """Raise ``ValueError`` naming the value of any invalid option (subclasses add their checks)."""
        lr = options.get("lr")
        if lr is not None and lr is not required and to_scalar(lr) < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (missing options take the defaults).

        Useful when fine-tuning: unfreeze layers and hand them to the optimizer
        mid-training. A parameter may belong to one group only.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of "
                "tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        tensors, names = [], []
        for p in params:
            if isinstance(p, tuple):
                if len(p) != 2 or not isinstance(p[0], str):
                    raise TypeError(f"named parameters must be (str, Tensor) pairs, got {p!r:.80}")
                names.append(p[0])
                tensors.append(p[1])
            else:
                tensors.append(p)
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            group["param_names"] = names
        group["params"] = tensors
        for i, p in enumerate(tensors):
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but parameter {i} is a {type(p).__name__}")
            if p.grad_fn is not None and not p.retains_grad:
                raise ValueError(f"can't optimize a non-leaf Tensor (parameter {i}, {_describe(p)})")
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        self._check_options(group)
        if len({id(p) for p in tensors}) != len(tensors):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; "
                "in future, this will cause an error; see github.com/pytorch/pytorch/issues/40967",
                stacklevel=3,
            )
        for g, existing in enumerate(self.param_groups):
            if ("param_names" in group) != ("param_names" in existing):
                kind = "with names" if "param_names" in group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {kind} to the optimizer"
                )
            seen = {id(p): j for j, p in enumerate(existing["params"])}
            for i, p in enumerate(tensors):
                if id(p) in seen:
                    what = f"'{names[i]}'" if names else f"{i} of the new group"
                    raise ValueError(
                        f"some parameters appear in more than one parameter group: parameter {what} "
                        f"({_describe(p)}) is already parameter {seen[id(p)]} of param group {g}"
                    )
        # validated on a copy; now the caller's dict becomes the group, as in PyTorch
        param_group.clear()
        param_group.update(group)
        self.param_groups.append(param_group)

    # ------------------------------------------------------------------- steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the ``.grad`` of every parameter: set it to ``None`` (default) or zero it in place."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif grad.grad_fn is not None or grad.requires_grad:
                    p.grad = Tensor(np.zeros_like(grad.data))
                else:
                    grad.data.fill(0)
                    grad._vc[0] += 1

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a ``.grad``; returns the loss of ``closure`` if given.

        ``closure`` re-evaluates the model and returns the loss; it runs with
        gradients enabled, before the update.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    def _update_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement _update_group()")

    def _buffers(self, p: Tensor, n: int) -> list[np.ndarray]:
        """``n`` scratch arrays shaped like ``p.data``, kept between steps (not part of the state)."""
        x = p.data
        bufs = self._scratch.get(p)
        if bufs is None or len(bufs) < n or bufs[0].shape != x.shape or bufs[0].dtype != x.dtype:
            bufs = [np.empty_like(x) for _ in range(n)]
            self._scratch[p] = bufs
        return bufs

    # -------------------------------------------------------------- state dict
    def state_dict(self) -> dict[str, Any]:
        """The optimizer state in PyTorch's layout, with parameters replaced by their index.

        ``{'state': {index: {name: Tensor or number}}, 'param_groups': [{options...,
        'params': [indices]}]}``. The state tensors are the live ones, as in
        PyTorch: save or copy the dict before stepping again.
        """
        mapping: dict[int, int] = {}
        start = 0
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                if id(p) not in mapping:
                    mapping[id(p)] = i
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        packed_state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": packed_state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from ``state_dict()`` (or ``ember.load`` of one) into this optimizer.

        The groups must match in number and size; everything is checked before
        anything changes. State tensors are copied (and cast to their
        parameter's dtype, except ``step``), so the loaded dict is never aliased.
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            got = sorted(map(str, state_dict)) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise CheckpointError(
                f"{type(self).__name__}.load_state_dict: expected a dict with 'state' and 'param_groups', got {got}"
            )
        groups = self.param_groups
        saved_groups = copy.deepcopy(list(state_dict["param_groups"]))
        if len(groups) != len(saved_groups):
            raise CheckpointError(
                f"{type(self).__name__}.load_state_dict: loaded state dict has {len(saved_groups)} parameter "
                f"groups, the optimizer has {len(groups)}"
            )
        for i, (g, s) in enumerate(zip(groups, saved_groups)):
            if not isinstance(s, dict) or "params" not in s:
                raise CheckpointError(
                    f"{type(self).__name__}.load_state_dict: parameter group {i} of the loaded state dict "
                    "has no 'params' list"
                )
            if len(g["params"]) != len(s["params"]):
                raise CheckpointError(
                    f"{type(self).__name__}.load_state_dict: loaded parameter group {i} has "
                    f"{len(s['params'])} parameters, the optimizer's group {i} has {len(g['params'])}"
                )
        id_map = dict(
            zip(
                chain.from_iterable(s["params"] for s in saved_groups), chain.from_iterable(g["params"] for g in groups)
            )
        )
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = _cast_state(param, v, None, self._scalar_state)
            else:
                state[k] = copy.deepcopy(v)
        new_groups = []
        for g, s in zip(groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            for name, default in self.defaults.items():
                s.setdefault(name, default)
            new_groups.append(s)
        self.state = state
        self.param_groups = new_groups
        self._scratch = {}

    # -------------------------------------------------------------------- misc
    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._scratch = {}


def _cast_state(param: Tensor, value, key, scalar_keys: tuple[str, ...]):
    """A deep copy of one parameter's saved state, tensors cast to the parameter's dtype (not ``step``).

    Values under ``scalar_keys`` come back 0-d even if a writer stored them with shape ``(1,)``.
    """
    if isinstance(value, (Tensor, np.ndarray)):
        arr = value.data if isinstance(value, Tensor) else value
        if key in scalar_keys and arr.size == 1 and arr.ndim > 0:
            arr = arr.reshape(())
        if key != "step" and param.data.dtype.kind == "f" and arr.dtype.kind in "fiu":
            return Tensor(np.array(arr, dtype=param.data.dtype, copy=True))
        return Tensor(np.array(arr, copy=True))
    if isinstance(value, dict):
        return {k: _cast_state(param, v, k, scalar_keys) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, v, key, scalar_keys) for v in value)
    return value
