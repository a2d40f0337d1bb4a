"""The backward engine: an iterative walk of the graph in reverse topological order.

1. Find every node reachable from the roots and count, for each, the edges that
   lead into it from other reachable nodes.
2. Start from the roots; run a node's backward once all its consumers have
   delivered their gradient (its count reaches zero), then pass each input's
   gradient on, summed back to that input's shape here and nowhere else.
3. Gradients for leaves accumulate into ``.grad`` (or are captured for
   ``autograd.grad``). Saved tensors are freed unless ``retain_graph``.
"""

from __future__ import annotations

import numpy as np

from ..errors import AutogradError, ShapeError
from .grad_mode import state as _grad_state

__all__ = ["run_backward"]


def run_backward(
    roots,
    root_grads,
    retain_graph: bool = False,
    create_graph: bool = False,
    inputs=None,
    accumulate: bool = True,
):
    """Backpropagate ``root_grads`` from ``roots``.

    With ``accumulate`` (``Tensor.backward``), leaf gradients add into ``.grad``
    (only of ``inputs`` if given). Without it (``autograd.grad``) the gradients of
    ``inputs`` are returned as a list, ``None`` for an input not reached.
    """
    buffers = {}  # node -> list of gradients, one per output
    captured = None
    capture_leaf = capture_node = None
    accumulate_only = None
    if inputs is not None:
        if accumulate:
            accumulate_only = {id(t) for t in inputs}
        else:
            captured = [None] * len(inputs)
            capture_leaf, capture_node = {}, {}
            for i, t in enumerate(inputs):
                if t.grad_fn is None:
                    capture_leaf[id(t)] = i
                else:
                    capture_node[(t.grad_fn, t._output_nr)] = i
    # ids of arrays already given to a .grad (or owned by the caller), so a second taker copies
    handed = {id(g.data) for g in root_grads}

    def deliver_leaf(t, g):
        if t._hooks:
            for hook in t._hooks:
                r = hook(g)
                if r is not None:
                    g = r
        if captured is not None:
            i = capture_leaf.get(id(t))
            if i is not None:
                captured[i] = g if captured[i] is None else captured[i] + g
            return
        if accumulate_only is not None and id(t) not in accumulate_only:
            return
        _accumulate_grad(t, g, create_graph, handed)

    # 1. discover reachable nodes and dependency counts
    deps = {}
    stack = []
    for t, g in zip(roots, root_grads):
        fn = t.grad_fn
        if fn is None:
            if t.requires_grad:
                deliver_leaf(t, g)
            continue
        buf = buffers.get(fn)
        if buf is None:
            buf = buffers[fn] = [None] * _n_outputs(fn)
        nr = t._output_nr
        buf[nr] = g if buf[nr] is None else buf[nr] + g
        if fn not in deps:
            deps[fn] = 0
            stack.append(fn)
    while stack:
        fn = stack.pop()
        for e in fn.edges:
            if e is None or e[1] < 0:
                continue
            nxt = e[0]
            if nxt in deps:
                deps[nxt] += 1
            else:
                deps[nxt] = 1
                stack.append(nxt)

    # 2. walk in topological order
    ready = [fn for fn, d in deps.items() if d == 0]
    prev_mode = _grad_state.enabled
    _grad_state.enabled = create_graph
    try:
        while ready:
            fn = ready.pop()
            grads = buffers.pop(fn)
            if fn._hooks is not None or fn._retained is not None or capture_node:
                grads = _node_output_hooks(fn, grads, create_graph, captured, capture_node, handed)
            if any(g is None for g in grads):
                grads = _materialize(fn, grads)
            if fn.edges:
                results = fn.fn.backward(fn, *grads)
                if results.__class__ is not tuple:
                    results = (results,)
                edges = fn.edges
                if len(results) != len(edges):
                    raise AutogradError(
                        f"{fn.name()}.backward returned {len(results)} gradients, "
                        f"expected {len(edges)} (one per forward input)"
                    )
                for e, g in zip(edges, results):
                    if e is None or g is None:
                        continue
                    g = _conform(g, e, fn)
                    target, nr = e[0], e[1]
                    if nr < 0:
                        deliver_leaf(target, g)
                        continue
                    buf = buffers.get(target)
                    if buf is None:
                        buf = buffers[target] = [None] * _n_outputs(target)
                    buf[nr] = g if buf[nr] is None else buf[nr] + g
                    d = deps[target] - 1
                    deps[target] = d
                    if d == 0:
                        ready.append(target)
            if not retain_graph:
                fn.release()
    finally:
        _grad_state.enabled = prev_mode
    return captured


def _n_outputs(fn) -> int:
    meta = fn._out_meta
    return 1 if meta is None else len(meta)


def _materialize(fn, grads):
    from ..tensor import Tensor

    meta = fn._out_meta
    out = list(grads)
    for i, g in enumerate(out):
        if g is None:
            shape, dtype = meta[i]
            out[i] = Tensor(np.zeros(shape, dtype))
    return out


def _node_output_hooks(fn, grads, create_graph, captured, capture_node, handed):
    grads = list(grads)
    for nr, g in enumerate(grads):
        if g is None:
            continue
        if fn._hooks is not None:
            for hook in fn._hooks.get(nr, ()):
                r = hook(g)
                if r is not None:
                    g = r
            grads[nr] = g
        if fn._retained is not None:
            ref = fn._retained.get(nr)
            t = ref() if ref is not None else None
            if t is not None:
                _accumulate_grad(t, g, create_graph, handed)
        if capture_node:
            i = capture_node.get((fn, nr))
            if i is not None:
                captured[i] = g if captured[i] is None else captured[i] + g
    return grads


def _conform(g, edge, fn):
    """Sum a gradient back to its input's shape and cast it to the input's dtype."""
    from ..tensor import Tensor

    if g.__class__ is not Tensor:
        if isinstance(g, Tensor):
            pass
        else:
            g = Tensor(np.asarray(g))
    shape = edge[2]
    if g.data.shape != shape:
        g = sum_to_shape(g, shape, fn)
    if g.data.dtype != edge[3]:
        g = g.to(edge[3])
    if _grad_state.anomaly and not np.all(np.isfinite(g.data)):
        raise AutogradError(f"{fn.name()} returned a gradient with NaN or infinite values")
    return g


def sum_to_shape(g, shape, fn=None):
    """Sum ``g`` over the axes that broadcasting added or stretched to give ``shape``."""
    gshape = g.data.shape
    lead = len(gshape) - len(shape)
    if lead < 0:
        where = f" in {fn.name()}" if fn is not None else ""
        raise ShapeError(f"gradient of shape {gshape}{where} cannot be summed to input shape {shape}")
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1)
    for i, n in enumerate(shape):
        if n != 1 and gshape[i + lead] != n:
            where = f" in {fn.name()}" if fn is not None else ""
            raise ShapeError(f"gradient of shape {gshape}{where} does not broadcast to input shape {shape}")
    if axes:
        g = g.sum(axes, keepdim=True)
    if lead:
        g = g.reshape(shape)
    return g


def _accumulate_grad(t, g, create_graph, handed):
    from ..tensor import Tensor

    if t.grad is None:
        if create_graph:
            t.grad = g
            return
        arr = g.data
        if id(arr) in handed or arr.base is not None or not arr.flags.writeable:
            arr = arr.copy()
        handed.add(id(arr))
        t.grad = Tensor(arr)
    elif create_graph or t.grad.requires_grad:
        t.grad = t.grad + g
    else:
        gd = t.grad.data
        if gd.shape != g.data.shape:
            raise ShapeError(f"cannot accumulate gradient of shape {g.data.shape} into .grad of shape {gd.shape}")
        np.add(gd, g.data, out=gd)
        t.grad._vc[0] += 1
