"""Reverse-mode autograd: ``backward``, ``grad``, ``Function``, grad modes, ``gradcheck``."""

from __future__ import annotations

import numpy as np

from ..errors import AutogradError, ShapeError
from .engine import run_backward
from .function import Function, Node
from .grad_mode import detect_anomaly, enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck, gradgradcheck

__all__ = [
    "Function",
    "Node",
    "backward",
    "grad",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "inference_mode",
    "detect_anomaly",
    "gradcheck",
    "gradgradcheck",
]


def _as_tuple(x):
    if x.__class__ is Tensor:
        return (x,)
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return tuple(x)
    return (x,)


def _root_grads(outputs, grad_outputs, op: str):
    grads = []
    for i, out in enumerate(outputs):
        g = None if grad_outputs is None else grad_outputs[i]
        if g is None:
            if out.data.size != 1:
                raise AutogradError(
                    f"{op}: grad can be implicitly created only for scalar outputs; output {i} has shape "
                    f"{out.shape}: pass a gradient of that shape"
                )
            g = np.empty(out.data.shape, out.data.dtype)
            g.fill(1)  # np.ones is a Python-level wrapper; this is two C calls
            g = Tensor(g)
        elif not isinstance(g, Tensor):
            g = Tensor(np.asarray(g, dtype=out.data.dtype))
        if g.shape != out.shape:
            raise ShapeError(f"{op}: gradient of shape {g.shape} does not match output of shape {out.shape}")
        if not out.requires_grad:
            raise AutogradError(
                f"{op}: element {i} of tensors does not require grad and does not have a grad_fn "
                "(was it computed under no_grad, or from tensors without requires_grad=True?)"
            )
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False, inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the graph's leaves."""
    tensors = _as_tuple(tensors)
    grad_tensors = _as_tuple(grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    grads = _root_grads(tensors, grad_tensors, "backward")
    run_backward(tensors, grads, retain_graph, create_graph, inputs=_as_tuple(inputs), accumulate=True)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph: bool = False,
    allow_unused: bool = False,
    materialize_grads: bool = False,
):
    """The gradients of ``outputs`` with respect to ``inputs``, returned (``.grad`` untouched)."""
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    grad_outputs = _as_tuple(grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise AutogradError(f"grad: input {i} (shape {t.shape}) does not require grad")
    grads = _root_grads(outputs, grad_outputs, "grad")
    result = run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs, accumulate=False)
    for i, g in enumerate(result):
        if g is None:
            if materialize_grads:
                result[i] = Tensor(np.zeros_like(inputs[i].data))
            elif not allow_unused:
                raise AutogradError(
                    f"grad: input {i} (shape {inputs[i].shape}) was not used in the graph of the outputs; "
                    "pass allow_unused=True to get None for it"
                )
    return tuple(result)


from ..tensor import Tensor  # noqa: E402
