"""Fused inference for ``Sequential``: with gradients off, a run of layers that one kernel pass can do.

``Sequential.forward`` calls ``run`` when gradients are off (``ember.no_grad``,
``inference_mode``). It looks for these runs of layers and hands each to one op:

- ``Conv2d, ReLU`` and ``Conv2d, ReLU, MaxPool2d(2)``: the convolution's vector kernels add the
  bias, clamp and pool as they write the output (``ember.ops.conv._conv2d_relu``);
- ``ReLU, MaxPool2d(2)``: one pass that pools and clamps (``ember.ops.pool._relu_max_pool2d``);
- ``Linear, ReLU``: the ReLU in place on the product's fresh output;
- on a one-row input, Linear layers in a row, each with or without a ReLU after it (``Linear,
  ReLU`` included): one call of the row kernels for the run (``ember.ops.linalg._row_chain``; each layer's own call cost about
  1.5 us of Python, and the reference MLP's batch-1 forward went from 54 to 48 us in an A/B).

The values are those of the layers called in turn (max, ReLU and the bias add commute, rounding being
monotone), and the intermediate outputs are never seen. A run is fused only when its layers are of
exactly these classes (a subclass may change ``forward``), carry no hooks, and the op's kernels take
the input; otherwise the layers run one by one, as with gradients on. What it saves: a pass over
memory and an output array per fused layer, and the per-layer Python calls. The benchmark CNN's
forward (``bench.workloads.cnn``) takes 86 us at batch 1 against 130 for its layers one by one, and
5.3 ms at batch 128 against 8.8 (same-process A/B, medians of 7 rounds).
"""

from __future__ import annotations

from ..errors import ShapeError
from ..ops import conv as _conv_ops
from ..ops import linalg as _linalg
from ..ops import pool as _pool_ops
from ..tensor import Tensor
from .layers.activation import ReLU
from .layers.conv import Conv2d
from .layers.linear import Linear
from .layers.pooling import MaxPool2d


def _plain(m) -> bool:
    return not m._forward_hooks and not m._forward_pre_hooks


def _relu_at(mods: list, i: int) -> bool:
    return i < len(mods) and type(mods[i]) is ReLU and _plain(mods[i])


def _pool2_at(mods: list, i: int) -> bool:
    """Whether ``mods[i]`` is a plain ``MaxPool2d(2)``: 2x2 windows, stride 2, no padding or dilation."""
    if i >= len(mods) or type(mods[i]) is not MaxPool2d or not _plain(mods[i]):
        return False
    m = mods[i]
    return (
        m.kernel_size in (2, (2, 2))
        and m.stride in (2, (2, 2))
        and m.padding in (0, (0, 0))
        and m.dilation in (1, (1, 1))
        and not m.ceil_mode
        and not m.return_indices
    )


def _conv(mods: list, i: int, x):
    conv = mods[i]
    if conv.padding_mode != "zeros" or not _relu_at(mods, i + 1):
        return 0, None
    params = conv._parameters
    weight = params.get("weight")
    if weight is None:  # deleted or set to None: the layer's own error
        return 0, None
    pool = _pool2_at(mods, i + 2)
    y = _conv_ops._conv2d_relu(
        x, weight, params.get("bias"), conv.stride, conv.padding, conv.dilation, conv.groups, pool
    )
    return (0, None) if y is None else (3 if pool else 2, y)


def _relu(mods: list, i: int, x):
    if not _pool2_at(mods, i + 1):
        return 0, None
    y = _pool_ops._relu_max_pool2d(x)
    return (0, None) if y is None else (2, y)


def _linear(mods: list, i: int, x):
    n = len(mods)
    if x.ndim == 2 and x.shape[0] == 1:  # one row: Linear layers in a row (each + ReLU) as one call
        layers, ends, j = [], [], i
        while j < n and type(mods[j]) is Linear and _plain(mods[j]):
            params = mods[j]._parameters
            relu = _relu_at(mods, j + 1)
            layers.append((params.get("weight"), params.get("bias"), relu))
            j += 2 if relu else 1
            ends.append(j)
        if ends[-1] - i > 1:  # (a lone Linear is no run)
            done, y = _linalg._row_chain(x, layers)
            if done:
                return ends[done - 1] - i, y
    if not _relu_at(mods, i + 1):
        return 0, None
    params = mods[i]._parameters
    weight = params.get("weight")
    if weight is None:
        return 0, None
    try:
        return 2, _linalg._linear_relu(x, weight, params.get("bias"))
    except ShapeError:  # raised before any work: the layer then raises its own error
        return 0, None


# the first layer of each pattern -> fn(layers, index, input) -> (layers consumed or 0, output)
_STARTS = {Conv2d: _conv, ReLU: _relu, Linear: _linear}


def run(modules: list, x):
    """``modules`` called in turn on ``x``, the runs above fused (gradients are off)."""
    i, n = 0, len(modules)
    while i < n:
        m = modules[i]
        start = _STARTS.get(type(m))
        if start is not None and _plain(m) and x.__class__ is Tensor:
            used, y = start(modules, i, x)
            if used:
                x, i = y, i + used
                continue
        x = m(x)
        i += 1
    return x
