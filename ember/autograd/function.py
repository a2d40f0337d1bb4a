"""``Function``: an op with a forward and a backward, and the graph node it records.

``forward(ctx, *inputs, **attrs)`` receives the inputs as given (tensors and
Python values) and returns NumPy arrays or tensors (a tuple for several
outputs). ``backward(ctx, *grad_outputs)`` receives one gradient tensor per
output and returns one gradient per positional input (``None`` where there is
none), written with ember ops so that ``create_graph=True`` differentiates it
again. A gradient may keep a broadcast shape: the engine sums it back to the
input's shape in one place.
"""

from __future__ import annotations

import numpy as np

from ..errors import AutogradError
from .grad_mode import state as _grad_state

__all__ = ["Function", "Node"]


class Node:
    """The record of one op call: the ``ctx`` of forward/backward and a tensor's ``grad_fn``.

    Rarely set fields are class-level defaults (an instance only stores them when
    they change): creating a node is on the path of every recorded op.
    """

    # ``scalars`` and ``meta`` are what most ops keep besides tensors: slots spare them a ``__dict__``.
    # ``chain_link``: the node feeds at most one other node and has no hooks, retained
    # gradients or several outputs (the engine walks a chain of such nodes in order)
    __slots__ = ("fn", "grad_edges", "needs_input_grad", "scalars", "meta", "chain_link", "__dict__", "__weakref__")

    _saved = None
    _versions = None
    _freed = False
    _out_data = None
    _out_vc = None
    _out_meta = None
    _hooks = None
    _retained = None

    def __init__(self, fn) -> None:
        self.fn = fn
        self.grad_edges = ()  # (input index, target, output_nr or -1 for a leaf, shape, dtype)
        self.chain_link = False

    @property
    def edges(self) -> tuple:
        """One entry per forward input: ``(target, output_nr, shape, dtype)`` or None."""
        out = [None] * len(self.needs_input_grad)
        for i, target, nr, shape, dtype in self.grad_edges:
            out[i] = (target, nr, shape, dtype)
        return tuple(out)

    def save_for_backward(self, *tensors) -> None:
        """Keep input tensors for backward; an in-place change to one later is an error."""
        self._saved = tensors
        versions = []
        for t in tensors:
            versions.append(None if t is None else t._vc[0])
        self._versions = versions

    @property
    def saved_tensors(self) -> tuple:
        saved = self._saved
        if saved is None:
            if self._freed:
                raise AutogradError(
                    f"Trying to backward through the graph a second time (through {self.name()}): "
                    "its saved tensors were freed after the first backward. Pass "
                    "retain_graph=True to the first backward() if you need to backward twice."
                )
            return ()
        for t, v in zip(saved, self._versions):
            if t is not None and t._vc[0] != v:
                raise AutogradError(
                    "one of the tensors needed for gradient computation has been modified by an "
                    f"in-place operation: the tensor of shape {tuple(t.shape)} saved by {self.name()} "
                    f"is at version {t._vc[0]}; expected version {v} instead"
                )
        return saved

    @property
    def output(self):
        """The op's (single) output as a tensor, rebuilt without a reference cycle."""
        return Tensor(self.output_data, True, self, 0)

    @property
    def output_data(self):
        """The op's (single) output array, checked like ``output`` (for first-order backwards on arrays)."""
        if self._out_data is None:
            if self._freed:
                _ = self.saved_tensors  # raises the freed-graph error
            raise AutogradError(f"{self.name()} did not keep its output (set save_output = True)")
        vc, version = self._out_vc
        if vc[0] != version:
            raise AutogradError(
                "one of the tensors needed for gradient computation has been modified by an "
                f"in-place operation: the output of shape {self._out_data.shape} of {self.name()} "
                f"is at version {vc[0]}; expected version {version} instead"
            )
        return self._out_data

    def release(self) -> None:
        if self._saved is not None or self._out_data is not None:
            self._saved = None
            self._out_data = None
            self._freed = True

    def name(self) -> str:
        return self.fn.__name__ + "Backward0"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    # PyTorch-compatible introspection
    @property
    def next_functions(self) -> tuple:
        out = []
        for e in self.edges:
            if e is None:
                out.append((None, 0))
            elif e[1] < 0:
                out.append((e[0], 0))
            else:
                out.append((e[0], e[1]))
        return tuple(out)

    def mark_non_differentiable(self, *tensors) -> None:
        pass


class Function:
    """Base of every differentiable op; subclass with static ``forward``/``backward``.

    Example:
        >>> class Square(Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x.data ** 2
        ...     @staticmethod
        ...     def backward(ctx, grad):
        ...         (x,) = ctx.saved_tensors
        ...         return 2 * x * grad
        >>> Square.apply(ember.tensor([3.0], requires_grad=True))
        tensor([9.], grad_fn=<SquareBackward>)
    """

    save_output = False  # keep the output's array so backward can use ``ctx.output``
    is_view = False  # the output shares memory with the first input (reshape, transpose, ...)
    differentiable = True  # False for ops whose outputs never need a gradient

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        if _grad_state.enabled:
            if cls.differentiable:
                for a in args:
                    if a.__class__ is Tensor or isinstance(a, Tensor):
                        if a.requires_grad:
                            return _apply_recorded(cls, args, kwargs)
            else:
                # a non-differentiable op's forward may call other ops: record nothing
                _grad_state.enabled = False
                try:
                    out = cls.forward(_Unrecorded(), *args, **kwargs)
                finally:
                    _grad_state.enabled = True
                return _wrap_unrecorded(cls, out, args)
        return _wrap_unrecorded(cls, cls.forward(_Unrecorded(), *args, **kwargs), args)


class _NoNeeds:
    """``needs_input_grad`` of an unrecorded call: False for every input."""

    __slots__ = ()

    def __getitem__(self, i):
        return False

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0


class _Unrecorded:
    """The ``ctx`` of a call that records no graph: saving does nothing."""

    needs_input_grad = _NoNeeds()

    def save_for_backward(self, *tensors) -> None:
        pass

    def mark_non_differentiable(self, *tensors) -> None:
        pass


def _apply_recorded(cls, args, kwargs):
    ctx = Node(cls)
    needs = []
    grad_edges = []
    links = 0
    i = 0
    for a in args:
        if (a.__class__ is Tensor or isinstance(a, Tensor)) and a.requires_grad:
            needs.append(True)
            fn = a.grad_fn
            d = a.data
            if fn is None:
                grad_edges.append((i, a, -1, d.shape, d.dtype))
            else:
                grad_edges.append((i, fn, a._output_nr, d.shape, d.dtype))
                links += 1
        else:
            needs.append(False)
        i += 1
    ctx.chain_link = links <= 1
    # known before forward runs, so forward can save only what backward will need
    ctx.needs_input_grad = tuple(needs)
    _grad_state.enabled = False
    try:
        out = cls.forward(ctx, *args, **kwargs)
    finally:
        _grad_state.enabled = True
    ctx.grad_edges = grad_edges
    if out.__class__ is np.ndarray:
        if out.dtype.kind not in "fc":  # integer outputs (indices) carry no gradient
            return Tensor(out)
        result = new_tensor(out, True, ctx, 0)
    elif out.__class__ is tuple:
        ctx._out_meta = tuple((o.shape, o.dtype) for o in out)
        ctx.chain_link = False
        return tuple(_wrap_output(o, ctx, i) for i, o in enumerate(out))
    else:
        result = _wrap_output(out, ctx, 0)
    if cls.is_view:
        _mark_view(result, args[0])
    if cls.save_output:
        ctx._out_data = result.data
        ctx._out_vc = (result._vc, result._vc[0])
    return result


def record_pair(cls, a, b, out, na: bool, nb: bool, keep: int):
    """The output of ``cls`` on tensors ``a`` and ``b`` (``out``, computed by the caller), recorded.

    The operators' fast path for two tensors of one floating dtype: it makes the
    same node as ``cls.apply(a, b)`` without the generic argument handling.
    ``keep`` (the Function's ``pair_saves``) says what that forward keeps for backward (with the versions):
    ``KEEP_NONE``; ``KEEP_CROSS``, ``a`` if ``b`` needs a gradient and ``b`` if
    ``a`` does (a product); ``KEEP_DIVISOR``, ``a`` if ``b`` needs one, and ``b``.
    """
    ctx = _new_object(Node)  # Node(cls) without the cost of calling a class
    ctx.fn = cls
    ctx.needs_input_grad = (na, nb)
    fa = None
    if na:
        d = a.data
        fa = a.grad_fn
        ea = (0, a, -1, d.shape, d.dtype) if fa is None else (0, fa, a._output_nr, d.shape, d.dtype)
    if nb:
        d = b.data
        fn = b.grad_fn
        if fn is None:
            eb = (1, b, -1, d.shape, d.dtype)
            ctx.chain_link = True
        else:
            eb = (1, fn, b._output_nr, d.shape, d.dtype)
            ctx.chain_link = fa is None
        ctx.grad_edges = (ea, eb) if na else (eb,)
    else:
        ctx.grad_edges = (ea,)
        ctx.chain_link = True
    if keep:
        sa = a if nb else None
        sb = b if na or keep == KEEP_DIVISOR else None
        ctx._saved = (sa, sb)
        ctx._versions = (None if sa is None else a._vc[0], None if sb is None else b._vc[0])
        ctx.scalars = _NO_SCALARS
    return new_tensor(out, True, ctx, 0)


def record_one(cls, a, out, needs: tuple, meta):
    """The output of ``cls`` on tensor ``a`` (``out``, computed by the caller), recorded with ``ctx.meta``.

    The fast path of ops whose first input is the only one with a gradient:
    ``needs`` is the node's ``needs_input_grad`` (one flag per input of
    ``cls.forward``, the first one True).
    """
    ctx = _new_object(Node)
    ctx.fn = cls
    ctx.needs_input_grad = needs
    d = a.data
    fn = a.grad_fn
    ctx.grad_edges = ((0, a, -1, d.shape, d.dtype),) if fn is None else ((0, fn, a._output_nr, d.shape, d.dtype),)
    ctx.chain_link = True
    ctx.meta = meta
    return new_tensor(out, True, ctx, 0)


KEEP_NONE = 0
KEEP_CROSS = 1
KEEP_DIVISOR = 2
_NO_SCALARS = (None, None)


def _wrap_unrecorded(cls, out, args):
    if out.__class__ is np.ndarray:
        result = new_tensor(out, False, None, 0)
    elif out.__class__ is tuple:
        return tuple(o if isinstance(o, Tensor) else Tensor(o) for o in out)
    elif isinstance(out, Tensor):
        result = out
    else:
        result = Tensor(out)
    if cls.is_view:
        _mark_view(result, args[0])
    return result


def _mark_view(result, base):
    """A view shares its base's version counter, so in-place changes are seen by both."""
    result._vc = base._vc
    result._base = base if base._base is None else base._base


def _wrap_output(o, ctx, i):
    if isinstance(o, Tensor):
        o = o.data
    elif o.__class__ is not np.ndarray:
        o = np.asarray(o)
    if o.dtype.kind not in "fc":
        # integer outputs (indices) carry no gradient
        return Tensor(o)
    return Tensor(o, True, ctx, i)


from ..tensor import Tensor, _new_object, new_tensor  # noqa: E402
