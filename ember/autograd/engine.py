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

__all__ = ["run_backward", "run_backward_from"]


def run_backward(
    roots,
    root_grads,
    retain_graph: bool = False,
    create_graph: bool = False,
    inputs=None,
    accumulate: bool = True,
    _handed: set | None = None,
):
    """Backpropagate ``root_grads`` from ``roots``.

    With ``accumulate`` (``Tensor.backward``), leaf gradients add into ``.grad``
    (only of ``inputs`` if given). Without it (``autograd.grad``) the gradients of
    ``inputs`` are returned as a list, ``None`` for an input not reached.
    """
    buffers = {}  # node -> list of gradients, one per output
    sink = _Sink(create_graph)
    if _handed is not None:  # arrays that leaves took earlier in the same pass
        sink.handed = _handed
    if inputs is not None:
        if accumulate:
            sink.accumulate_only = {id(t) for t in inputs}
        else:
            sink.captured = [None] * len(inputs)
            sink.capture_leaf, sink.capture_node = {}, {}
            for i, t in enumerate(inputs):
                if t.grad_fn is None:
                    sink.capture_leaf[id(t)] = i
                else:
                    sink.capture_node[(t.grad_fn, t._output_nr)] = i
    captured = sink.captured
    capture_node = sink.capture_node
    # ids of arrays already given to a .grad (or owned by the caller), so a second taker copies
    handed = sink.handed
    for g in root_grads:
        handed.add(id(g.data))

    # 1. discover reachable nodes and dependency counts
    deps = {}
    stack = []
    for t, g in zip(roots, root_grads):
        fn = t.grad_fn
        if fn is None:
            if t.requires_grad:
                _deliver_leaf(sink, t, g)
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
        for e in fn.grad_edges:
            if e[2] < 0:
                continue
            nxt = e[1]
            if nxt in deps:
                deps[nxt] += 1
            else:
                deps[nxt] = 1
                stack.append(nxt)

    # 2. walk in topological order
    ready = []
    for fn, d in deps.items():
        if d == 0:
            ready.append(fn)
    prev_mode = _grad_state.enabled
    _grad_state.enabled = create_graph
    anomaly = _grad_state.anomaly
    plain_sink = sink.captured is None and sink.accumulate_only is None
    try:
        while ready:
            fn = ready.pop()
            grads = buffers.pop(fn)
            if fn._hooks is not None or fn._retained is not None or capture_node:
                grads = _node_output_hooks(fn, grads, create_graph, captured, capture_node, handed)
            if len(grads) != 1:
                for g in grads:
                    if g is None:
                        grads = _materialize(fn, grads)
                        break
            grad_edges = fn.grad_edges
            if grad_edges:
                results = fn.fn.backward(fn, *grads)
                if results.__class__ is not tuple:
                    results = (results,)
                if len(results) != len(fn.needs_input_grad):
                    raise _n_results_error(fn, results)
                for i, target, nr, shape, dtype in grad_edges:
                    g = results[i]
                    if g is None:
                        continue
                    if g.__class__ is not Tensor or g.data.shape != shape or g.data.dtype != dtype or anomaly:
                        g = _conform(g, shape, dtype, fn, anomaly)
                    if nr < 0:
                        if plain_sink and target._hooks is None:
                            _accumulate_grad(target, g, create_graph, handed)
                        else:
                            _deliver_leaf(sink, target, g)
                        continue
                    buf = buffers.get(target)
                    if buf is None:
                        meta = target._out_meta
                        buf = buffers[target] = [None] if meta is None else [None] * len(meta)
                    buf[nr] = g if buf[nr] is None else buf[nr] + g
                    d = deps[target] - 1
                    deps[target] = d
                    if d == 0:
                        ready.append(target)
            if not retain_graph and (fn._saved is not None or fn._out_data is not None):
                fn.release()
    finally:
        _grad_state.enabled = prev_mode
    return captured


def run_backward_from(root, grad, retain_graph: bool, create_graph: bool) -> None:
    """``root.backward(grad)`` for a non-leaf ``root``: accumulate into the leaves' ``.grad``.

    Where the graph is a simple chain (each node a ``chain_link``: it feeds at
    most one other node and has no hooks, retained gradients or several
    outputs; ``loss = f(g(h(w)))`` and the like), it is walked in order without
    the bookkeeping of the general engine, which takes over from the first node
    that is not a link, with the same results.
    """
    fn = root.grad_fn
    if not fn.chain_link:
        run_backward((root,), (grad,), retain_graph, create_graph)
        return
    handed = {id(grad.data)}
    prev_mode = _grad_state.enabled
    _grad_state.enabled = create_graph
    anomaly = _grad_state.anomaly
    g = grad
    try:
        while True:
            grad_edges = fn.grad_edges
            nxt = None
            if grad_edges:
                results = fn.fn.backward(fn, g)
                if results.__class__ is not tuple:
                    results = (results,)
                if len(results) != len(fn.needs_input_grad):
                    raise _n_results_error(fn, results)
                for i, target, nr, shape, dtype in grad_edges:
                    r = results[i]
                    if r is None:
                        continue
                    if r.__class__ is not Tensor or r.data.shape != shape or r.data.dtype != dtype or anomaly:
                        r = _conform(r, shape, dtype, fn, anomaly)
                    if nr >= 0:
                        g = r
                        nxt = target
                        nxt_nr = nr
                    elif target._hooks is None:
                        _accumulate_grad(target, r, create_graph, handed)
                    else:
                        _accumulate_grad(target, _leaf_hooks(target, r), create_graph, handed)
            if not retain_graph and (fn._saved is not None or fn._out_data is not None):
                fn.release()
            if nxt is None:
                return  # the end of the chain, or the rest gets no gradient
            fn = nxt
            if not fn.chain_link:
                # only through here is the rest of the graph reached: the general engine takes it
                run_backward((Tensor(g.data, True, fn, nxt_nr),), (g,), retain_graph, create_graph, _handed=handed)
                return
    finally:
        _grad_state.enabled = prev_mode


def _conform(g, shape, dtype, fn, anomaly: bool):
    """A gradient that a backward returned for an input: a tensor of the input's shape and dtype."""
    if g.__class__ is not Tensor:
        g = g if isinstance(g, Tensor) else Tensor(np.asarray(g))
    if g.data.shape != shape:
        g = sum_to_shape(g, shape, fn)
    if g.data.dtype != dtype:
        g = g.to(dtype)
    if anomaly and not np.all(np.isfinite(g.data)):
        raise AutogradError(f"{fn.name()} returned a gradient with NaN or infinite values")
    return g


def _n_results_error(fn, results) -> AutogradError:
    return AutogradError(
        f"{fn.name()}.backward returned {len(results)} gradients, "
        f"expected {len(fn.needs_input_grad)} (one per forward input)"
    )


def _leaf_hooks(t, g):
    for hook in t._hooks:
        r = hook(g)
        if r is not None:
            g = r
    return g


class _Sink:
    """Where leaf gradients go: into ``.grad``, or captured for ``autograd.grad``."""

    __slots__ = ("create_graph", "captured", "capture_leaf", "capture_node", "accumulate_only", "handed")

    def __init__(self, create_graph: bool) -> None:
        self.create_graph = create_graph
        self.captured = self.capture_leaf = self.capture_node = self.accumulate_only = None
        self.handed = set()


def _deliver_leaf(sink, t, g) -> None:
    if t._hooks:
        g = _leaf_hooks(t, g)
    captured = sink.captured
    if captured is not None:
        i = sink.capture_leaf.get(id(t))
        if i is not None:
            captured[i] = g if captured[i] is None else captured[i] + g
        return
    if sink.accumulate_only is not None and id(t) not in sink.accumulate_only:
        return
    _accumulate_grad(t, g, sink.create_graph, sink.handed)


def _n_outputs(fn) -> int:
    meta = fn._out_meta
    return 1 if meta is None else len(meta)


def _materialize(fn, grads):
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
    if t.grad is None:
        if create_graph:
            t.grad = g
            return
        arr = g.data
        # a fresh array that no one else holds becomes .grad as it is; a view, a
        # read-only or an already handed-out array is copied so .grad never aliases
        if arr.base is not None or id(arr) in handed or not arr.flags.writeable:
            arr = arr.copy()
            g = Tensor(arr)
        handed.add(id(arr))
        t.grad = g
    elif create_graph or t.grad.requires_grad:
        t.grad = t.grad + g
    else:
        gd = t.grad.data
        if gd.shape != g.data.shape:
            raise ShapeError(f"cannot accumulate gradient of shape {g.data.shape} into .grad of shape {gd.shape}")
        if id(gd) in handed:
            # .grad took a gradient of this pass as it was, which the graph may still be
            # passing on to other nodes (``w + f(w)``): adding in place would change it there
            t.grad = Tensor(gd + g.data)
            return
        np.add(gd, g.data, out=gd)
        t.grad._vc[0] += 1


from ..tensor import Tensor  # noqa: E402  (tensor.py imports autograd first)
