"""``Tensor``: one NumPy array plus what autograd needs (grad, requires_grad, grad_fn).

Ops live in ``ember.ops`` (one file per family); they become Tensor methods at
the bottom of this file, so ``x.exp()`` and ``ember.exp(x)`` are the same function.
"""

from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .autograd.grad_mode import state as _grad_state
from .errors import AutogradError, DTypeError, ShapeError

__all__ = ["Tensor", "as_array"]


def as_array(data, dtype=None) -> np.ndarray:
    """Turn tensor-like data into an ndarray with PyTorch's default dtypes.

    Python floats give the default float dtype, ints int64, bools bool; NumPy
    arrays keep their dtype unless ``dtype`` is given. Always a new array.
    """
    if isinstance(data, Tensor):
        arr = data.data
    elif isinstance(data, np.ndarray):
        arr = data
    else:
        if isinstance(data, (list, tuple)) and data and _holds_tensors(data):
            data = _tensors_to_lists(data)
        arr = np.asarray(data)
        kind = arr.dtype.kind
        if dtype is None:
            if kind == "f" and not isinstance(data, np.generic):
                arr = arr.astype(_dt.get_default_dtype().np)
            elif kind in "iu" and not isinstance(data, np.generic):
                arr = arr.astype(np.int64)
            elif kind == "O" or kind == "U" or kind == "S":
                raise TypeError(f"ember.tensor: cannot make a tensor from {type(data).__name__} {data!r:.80}")
    if dtype is not None:
        return np.array(arr, dtype=_dt.to_dtype(dtype).np, copy=True)
    if arr.dtype not in _dt._BY_NUMPY:
        _dt.to_dtype(arr.dtype)  # raises a clear error for unsupported dtypes
    return np.array(arr, copy=True)


def _holds_tensors(seq) -> bool:
    for x in seq:
        if isinstance(x, Tensor):
            return True
        if isinstance(x, (list, tuple)):
            return _holds_tensors(x)
    return False


def _tensors_to_lists(seq):
    return [
        x.data if isinstance(x, Tensor) else _tensors_to_lists(x) if isinstance(x, (list, tuple)) else x for x in seq
    ]


class Tensor:
    """An n-dimensional array with autograd, like ``torch.Tensor``.

    Create tensors with ``ember.tensor``, ``ember.zeros``, ``ember.randn`` and
    friends; ``Tensor(ndarray)`` wraps an array without copying.
    """

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "_output_nr", "_vc", "_base", "_hooks", "__weakref__")
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad: bool = False, grad_fn=None, output_nr: int = 0) -> None:
        if data.__class__ is not np.ndarray:
            data = np.asarray(data) if isinstance(data, np.generic) else as_array(data)
        self.data = data
        self.grad = None
        self.requires_grad = requires_grad
        self.grad_fn = grad_fn
        self._output_nr = output_nr
        self._vc = [0]
        self._base = None
        self._hooks = None
        if requires_grad and grad_fn is None and data.dtype.kind not in "fc":
            raise DTypeError(
                f"only tensors of floating point dtype can require gradients, got {_dt.from_numpy_dtype(data.dtype)}"
            )

    # ----------------------------------------------------------------- attributes
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> _dt.dtype:
        return _dt._BY_NUMPY[self.data.dtype]

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def is_floating_point(self) -> bool:
        return self.data.dtype.kind == "f"

    @property
    def itemsize(self) -> int:
        return self.data.itemsize

    def element_size(self) -> int:
        return self.data.itemsize

    @property
    def nbytes(self) -> int:
        return self.data.nbytes

    @property
    def _version(self) -> int:
        return self._vc[0]

    def dim(self) -> int:
        return self.data.ndim

    def size(self, dim: int | None = None):
        if dim is None:
            return self.data.shape
        return self.data.shape[_normalize_dim(dim, self.data.ndim, "size")]

    def numel(self) -> int:
        return self.data.size

    def nelement(self) -> int:
        return self.data.size

    def stride(self, dim: int | None = None):
        strides = tuple(s // self.data.itemsize for s in self.data.strides)
        return strides if dim is None else strides[_normalize_dim(dim, self.data.ndim, "stride")]

    def is_contiguous(self) -> bool:
        return self.data.flags.c_contiguous

    def data_ptr(self) -> int:
        return self.data.__array_interface__["data"][0]

    @property
    def T(self) -> Tensor:  # noqa: N802
        return self.permute(tuple(range(self.data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:  # noqa: N802
        if self.data.ndim < 2:
            raise ShapeError(f"mT: expected a tensor with at least 2 dimensions, got shape {self.data.shape}")
        return self.transpose(-2, -1)

    # ---------------------------------------------------------------- conversion
    def item(self):
        if self.data.size != 1:
            raise ShapeError(
                f"item: only a tensor with one element can be converted to a Python number, got shape {self.data.shape}"
            )
        return self.data.item()

    def numpy(self, force: bool = False) -> np.ndarray:
        if self.requires_grad and not force:
            raise AutogradError("can't call numpy() on a tensor that requires grad: use tensor.detach().numpy()")
        return self.data

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data

    def to(self, *args, **kwargs) -> Tensor:
        """``to(dtype)``; ``to('cpu')`` and ``to(other_tensor)`` work too."""
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, str) or a is None:
                if isinstance(a, str) and a.split(":")[0] not in ("cpu",):
                    raise ValueError(f"to: ember runs on the CPU only, got device {a!r}")
            else:
                dtype = a
        if dtype is None:
            return self
        d = _dt.to_dtype(dtype)
        if d.np == self.data.dtype:
            return self
        return _ops_shape.cast(self, d)

    def type(self, dtype=None):
        if dtype is None:
            return f"ember.{self.dtype.name}"
        return self.to(dtype)

    def float(self) -> Tensor:
        return self.to(_dt.float32)

    def double(self) -> Tensor:
        return self.to(_dt.float64)

    def half(self) -> Tensor:
        return self.to(_dt.float16)

    def long(self) -> Tensor:
        return self.to(_dt.int64)

    def int(self) -> Tensor:
        return self.to(_dt.int32)

    def short(self) -> Tensor:
        return self.to(_dt.int16)

    def bool(self) -> Tensor:
        return self.to(_dt.bool)

    def byte(self) -> Tensor:
        return self.to(_dt.uint8)

    def cpu(self) -> Tensor:
        return self

    def clone(self) -> Tensor:
        return _ops_shape.clone(self)

    def contiguous(self) -> Tensor:
        if self.data.flags.c_contiguous:
            return self
        return _ops_shape.clone(self)

    def detach(self) -> Tensor:
        t = Tensor(self.data)
        t._vc = self._vc
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self.requires_grad = False
        return self

    # ------------------------------------------------------------------ autograd
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if self.grad_fn is not None and not requires_grad:
            raise AutogradError(
                "requires_grad_(False) on a non-leaf tensor: use detach() to get a tensor out of the graph"
            )
        if requires_grad and self.data.dtype.kind not in "fc":
            raise DTypeError(f"only tensors of floating point dtype can require gradients, got {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        if self.grad_fn is None:
            if not self.requires_grad:
                raise AutogradError("can't retain_grad on a tensor that has requires_grad=False")
            return
        import weakref

        fn = self.grad_fn
        fn.chain_link = False  # the engine's general walk handles retained gradients
        if fn._retained is None:
            fn._retained = {}
        fn._retained[self._output_nr] = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        fn = self.grad_fn
        return fn is not None and fn._retained is not None and self._output_nr in fn._retained

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a return value replaces it."""
        if not self.requires_grad:
            raise AutogradError("cannot register a hook on a tensor that doesn't require gradient")
        fn = self.grad_fn
        if fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            fn.chain_link = False  # the engine's general walk runs node hooks
            if fn._hooks is None:
                fn._hooks = {}
            hooks = fn._hooks.setdefault(self._output_nr, [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def backward(
        self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False, inputs=None
    ) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of the leaves."""
        if gradient is None and inputs is None and self.grad_fn is not None and self.data.size == 1:
            # the common ``loss.backward()``: seed with ones and walk, skipping the general checks
            seed = _ONES.get(self.data.dtype)
            if seed is None or seed.shape != self.data.shape:
                seed = np.ones(self.data.shape, self.data.dtype)
                seed.flags.writeable = False  # shared: read-only, so it is copied before anyone keeps it
                if seed.ndim == 0:
                    _ONES[self.data.dtype] = seed
            _run_backward_from(self, new_tensor(seed, False, None, 0), bool(retain_graph or create_graph), create_graph)
            return
        _autograd.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # --------------------------------------------------------------------- python
    def __repr__(self) -> str:
        from ._format import format_tensor

        return format_tensor(self)

    __str__ = __repr__

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        if not self.requires_grad or not _grad_state.enabled:
            return iter([Tensor(row) for row in self.data])
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ShapeError(
                f"the truth value of a tensor with {self.data.size} elements (shape {self.data.shape}) is "
                "ambiguous: use .any() or .all()"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError(
                f"only integer tensors of a single element can be converted to an index, got {self.dtype} {self.shape}"
            )
        return int(self.data)

    def __hash__(self) -> int:
        return id(self)

    def __deepcopy__(self, memo):
        t = Tensor(self.data.copy(), self.requires_grad if self.grad_fn is None else False)
        if self.grad is not None:
            t.grad = Tensor(self.grad.data.copy())
        memo[id(self)] = t
        return t

    def __reduce_ex__(self, protocol):
        # pickling is never used to *read* files in ember, but multiprocessing
        # workers hand batches back to the main process this way
        return (_rebuild_tensor, (self.data, self.requires_grad if self.grad_fn is None else False))

    # ---------------------------------------------------------------- in place
    def _check_inplace(self, *others) -> bool:
        """Whether the in-place op must be recorded; errors for leaves that require grad."""
        if not _grad_state.enabled:
            return False
        track = self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others)
        if not track:
            return False
        if self.requires_grad and self.grad_fn is None:
            raise AutogradError(
                f"a leaf tensor of shape {self.data.shape} that requires grad is being used in an in-place "
                "operation: wrap it in `with ember.no_grad():` (as optimizers do) or clone() it first"
            )
        base = self._base
        if base is not None and (base.requires_grad or base.grad_fn is not None):
            raise AutogradError(
                f"in-place operation on a view of shape {self.data.shape} of a tensor that is part of the graph "
                "is not supported: use the out-of-place op instead"
            )
        return True

    def _rebase(self, out: Tensor, name: str = "in-place operation") -> Tensor:
        """Write the result of a recorded op into this tensor and make it the new node."""
        if out.data.shape != self.data.shape:
            raise _inplace_shape_error(name, out.data.shape, self.data.shape)
        _check_inplace_dtype(out.data.dtype, self.data.dtype)
        np.copyto(self.data, out.data, casting="unsafe")
        self.grad_fn = out.grad_fn
        self._output_nr = out._output_nr
        self.requires_grad = out.requires_grad
        if out.grad_fn is not None and out.grad_fn._out_data is out.data:
            out.grad_fn._out_data = self.data
            out.grad_fn._out_vc = (self._vc, self._vc[0] + 1)
        self._vc[0] += 1
        return self

    def _alias(self) -> Tensor:
        t = Tensor(self.data, self.requires_grad, self.grad_fn, self._output_nr)
        t._vc = self._vc
        return t

    def _inplace(self, op, *args, name: str | None = None) -> Tensor:
        name = name or getattr(op, "__name__", "in-place operation") + "_"
        if self._check_inplace(*args):
            # the op sees a copy of the old value, which its backward may need
            # (PyTorch keeps the original self the same way); views are unaffected
            old = Tensor(self.data.copy(), self.requires_grad, self.grad_fn, self._output_nr)
            return self._rebase(op(old, *args), name)
        out = op(self.detach(), *args)
        if out.data.shape != self.data.shape:
            raise _inplace_shape_error(name, out.data.shape, self.data.shape)
        _check_inplace_dtype(out.data.dtype, self.data.dtype)
        np.copyto(self.data, out.data, casting="unsafe")
        self._vc[0] += 1
        return self

    def _inplace_binary(self, op, other) -> Tensor:
        # fast path: no graph, same-dtype operands -> one ufunc call writing into self
        if other.__class__ is not bool and (
            not _grad_state.enabled or not (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad))
        ):
            o = other.data if isinstance(other, Tensor) else other
            ufunc = _INPLACE_UFUNCS.get(op)
            if (
                ufunc is not None
                and self.data.dtype.kind == "f"
                and (not isinstance(o, np.ndarray) or o.dtype == self.data.dtype)
            ):
                if isinstance(o, np.ndarray) and o.shape != self.data.shape:
                    try:
                        out_shape = np.broadcast_shapes(o.shape, self.data.shape)
                    except ValueError:
                        raise _ops_ew.broadcast_error(op.__name__ + "_", self.data.shape, o.shape) from None
                    if out_shape != self.data.shape:
                        raise _inplace_shape_error(op.__name__ + "_", out_shape, self.data.shape)
                ufunc(self.data, o, out=self.data)
                self._vc[0] += 1
                return self
        return self._inplace(op, other)

    def add_(self, other, alpha=1) -> Tensor:
        if alpha != 1:
            other = other * alpha
        return self._inplace_binary(_ops_ew.add, other)

    def sub_(self, other, alpha=1) -> Tensor:
        if alpha != 1:
            other = other * alpha
        return self._inplace_binary(_ops_ew.sub, other)

    def mul_(self, other) -> Tensor:
        return self._inplace_binary(_ops_ew.mul, other)

    def div_(self, other, *, rounding_mode: str | None = None) -> Tensor:
        if rounding_mode is not None:
            return self._inplace(lambda t, o: _ops_ew.div(t, o, rounding_mode=rounding_mode), other, name="div_")
        return self._inplace_binary(_ops_ew.div, other)

    def pow_(self, other) -> Tensor:
        return self._inplace(_ops_ew.pow, other)

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_
    __ipow__ = pow_

    def clamp_(self, min=None, max=None) -> Tensor:  # noqa: A002
        return self._inplace(lambda t: _ops_ew.clamp(t, min, max), name="clamp_")

    clip_ = clamp_

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value) -> Tensor:
        if self._check_inplace(value):
            v = value if isinstance(value, Tensor) else Tensor(np.asarray(value, self.data.dtype))
            return self._rebase(_ops_ew.add(_ops_ew.mul(self._alias(), 0), v.to(self.dtype)))
        self.data[...] = value.data if isinstance(value, Tensor) else value
        self._vc[0] += 1
        return self

    def copy_(self, src) -> Tensor:
        src = src if isinstance(src, Tensor) else Tensor(as_array(src))
        if self._check_inplace(src):
            expanded = _ops_shape.expand(src, self.data.shape).to(self.dtype)
            return self._rebase(_ops_ew.add(_ops_ew.mul(self._alias(), 0), expanded))
        try:
            np.copyto(self.data, src.data, casting="unsafe")
        except ValueError:
            raise ShapeError(f"copy_: source of shape {src.shape} does not broadcast to {self.shape}") from None
        self._vc[0] += 1
        return self

    def set_(self, src) -> Tensor:
        self.data = src.data
        self._vc[0] += 1
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
        from .random import numpy_generator

        return self._fill_random(numpy_generator(generator).uniform(a, b, self.data.shape))

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
        from .random import numpy_generator

        return self._fill_random(numpy_generator(generator).normal(mean, std, self.data.shape))

    def bernoulli_(self, p: float = 0.5, generator=None) -> Tensor:
        from .random import numpy_generator

        return self._fill_random(numpy_generator(generator).random(self.data.shape) < p)

    def exponential_(self, lambd: float = 1.0, generator=None) -> Tensor:
        from .random import numpy_generator

        return self._fill_random(numpy_generator(generator).exponential(1.0 / lambd, self.data.shape))

    def random_(self, low: int = 0, high: int | None = None, generator=None) -> Tensor:
        from .random import numpy_generator

        if high is None:
            low, high = 0, low if low else 2**24
        return self._fill_random(numpy_generator(generator).integers(low, high, self.data.shape))

    def _fill_random(self, values: np.ndarray) -> Tensor:
        if _grad_state.enabled and self.requires_grad and self.grad_fn is None:
            self._check_inplace()
        self.data[...] = values
        self._vc[0] += 1
        return self

    def __setitem__(self, key, value) -> None:
        from .ops import index as _ops_index

        if self._check_inplace(value):
            self._rebase(_ops_index.index_put(self._alias(), key, value))
            return
        key = _ops_index.convert_key(key)
        v = value.data if isinstance(value, Tensor) else value
        try:
            _ops_index.assign(self.data, key, v)
        except ValueError as e:
            raise ShapeError(f"__setitem__: cannot assign value of shape {np.shape(v)} to index {key!r}: {e}") from None
        except IndexError as e:
            raise _ops_index._index_error("__setitem__", e, key, self.shape) from None
        self._vc[0] += 1

    # ----------------------------------------------------------------- operators
    # +, -, *, / are defined below the class by _arithmetic(): a fast path for
    # calls that record no graph, the full op otherwise.

    def __floordiv__(self, other):
        return _ops_ew.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ops_ew.floor_divide(other, self)

    def __mod__(self, other):
        return _ops_ew.remainder(self, other)

    def __rmod__(self, other):
        return _ops_ew.remainder(other, self)

    def __pow__(self, other):
        return _ops_ew.pow(self, other)

    def __rpow__(self, other):
        return _ops_ew.pow(other, self)

    def __matmul__(self, other):
        return _ops_linalg.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops_linalg.matmul(other, self)

    def __neg__(self):
        return _ops_ew.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops_ew.abs(self)

    def __invert__(self):
        return _ops_ew.bitwise_not(self)

    def __and__(self, other):
        return _ops_ew.bitwise_and(self, other)

    __rand__ = __and__

    def __or__(self, other):
        return _ops_ew.bitwise_or(self, other)

    __ror__ = __or__

    def __xor__(self, other):
        return _ops_ew.bitwise_xor(self, other)

    __rxor__ = __xor__

    def __eq__(self, other):  # noqa: D105
        return _ops_ew.eq(self, other)

    def __ne__(self, other):
        return _ops_ew.ne(self, other)

    def __lt__(self, other):
        return _ops_ew.lt(self, other)

    def __le__(self, other):
        return _ops_ew.le(self, other)

    def __gt__(self, other):
        return _ops_ew.gt(self, other)

    def __ge__(self, other):
        return _ops_ew.ge(self, other)

    def where(self, condition, other) -> Tensor:
        """Elements of self where ``condition`` holds, else of ``other`` (``ember.where(condition, self, other)``)."""
        return _ops_ew.where(condition, self, other)

    def __lshift__(self, other):
        return _ops_ew.bitwise_left_shift(self, other)

    def __rshift__(self, other):
        return _ops_ew.bitwise_right_shift(self, other)

    def __getitem__(self, key):
        from .ops import index as _ops_index

        return _ops_index.getitem(self, key)


_new_object = object.__new__


def new_tensor(data: np.ndarray, requires_grad: bool, grad_fn, output_nr: int) -> Tensor:
    """``Tensor(data, requires_grad, grad_fn, output_nr)`` for an exact ndarray that needs no checks.

    Ops make a tensor per call: this skips ``__init__``'s conversions and checks,
    and the cost of calling a class (about a third of making a tensor).
    """
    t = _new_object(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = requires_grad
    t.grad_fn = grad_fn
    t._output_nr = output_nr
    t._vc = [0]
    t._base = None
    t._hooks = None
    return t


def _arithmetic(ufunc, name: str, reflected: bool):
    """A Python operator method with a fast path when no graph is recorded.

    Backward rules (run under no_grad) and inference go through here, so this
    costs one ufunc call and one Tensor, as the design promises. Anything
    unusual (dtype promotion, broadcasting errors, recording) takes the full op.
    """

    def _operator(self, other):
        if other.__class__ is Tensor:
            sd = self.data
            od = other.data
            if sd.dtype is od.dtype and sd.dtype.kind == "f":
                try:
                    if not _grad_state.enabled:
                        return new_tensor(ufunc(od, sd) if reflected else ufunc(sd, od), False, None, 0)
                    sr = self.requires_grad
                    orq = other.requires_grad
                    if not (sr or orq):
                        return new_tensor(ufunc(od, sd) if reflected else ufunc(sd, od), False, None, 0)
                    # recorded: the op's node made directly (what its forward would save)
                    if reflected:
                        return _record_pair(function, other, self, ufunc(od, sd), orq, sr, keep)
                    return _record_pair(function, self, other, ufunc(sd, od), sr, orq, keep)
                except ValueError:
                    pass  # the public function below raises the op's own error message
        elif other.__class__ is float or other.__class__ is int:
            sd = self.data
            if sd.dtype.kind == "f":
                if not _grad_state.enabled or not self.requires_grad:
                    return new_tensor(ufunc(other, sd) if reflected else ufunc(sd, other), False, None, 0)
                return function.apply(other, self) if reflected else function.apply(self, other)
        full = getattr(_ops_ew, name)
        return full(other, self) if reflected else full(self, other)

    function = {"add": _ops_ew.Add, "sub": _ops_ew.Sub, "mul": _ops_ew.Mul, "div": _ops_ew.Div}[name]
    keep = function.pair_saves  # what the op's forward keeps for backward, declared beside it
    if ufunc is np.true_divide:  # 1/0 gives inf silently, as in PyTorch

        def op(self, other):
            return _ops_ew._quiet(_operator, self, other)

    else:
        op = _operator
    op.__name__ = f"__{'r' if reflected else ''}{name}__"
    return op


_ONES: dict = {}  # the 0-d seed of loss.backward(), one per dtype


def _rebuild_tensor(data, requires_grad):
    return Tensor(data, requires_grad)


def _inplace_shape_error(name: str, out_shape: tuple, shape: tuple) -> ShapeError:
    return ShapeError(
        f"{name}: the result has shape {tuple(out_shape)}, which does not fit into the tensor of shape "
        f"{tuple(shape)} (an in-place op cannot change the shape)"
    )


def _check_inplace_dtype(result: np.dtype, target: np.dtype) -> None:
    rc = _dt._BY_NUMPY[result].category
    tc = _dt._BY_NUMPY[target].category
    if rc > tc:
        raise DTypeError(
            f"in-place operation: result type {_dt._BY_NUMPY[result]} can't be cast to the "
            f"desired output type {_dt._BY_NUMPY[target]}"
        )


class _RemovableHandle:
    def __init__(self, hooks: list, hook) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _normalize_dim(dim: int, ndim: int, op: str) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim


from . import autograd as _autograd  # noqa: E402
from .autograd.engine import run_backward_from as _run_backward_from  # noqa: E402
from .autograd.function import record_pair as _record_pair  # noqa: E402
from .ops import elementwise as _ops_ew  # noqa: E402
from .ops import linalg as _ops_linalg  # noqa: E402
from .ops import methods as _ops_methods  # noqa: E402
from .ops import shape as _ops_shape  # noqa: E402

for _ufunc, _name, _dunder in (
    (np.add, "add", "add"),
    (np.subtract, "sub", "sub"),
    (np.multiply, "mul", "mul"),
    (np.true_divide, "div", "truediv"),
):
    setattr(Tensor, f"__{_dunder}__", _arithmetic(_ufunc, _name, False))
    setattr(Tensor, f"__r{_dunder}__", _arithmetic(_ufunc, _name, True))

_INPLACE_UFUNCS = {_ops_ew.add: np.add, _ops_ew.sub: np.subtract, _ops_ew.mul: np.multiply, _ops_ew.div: np.true_divide}

for _name, _fn in _ops_methods.tensor_methods().items():
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, _fn)
