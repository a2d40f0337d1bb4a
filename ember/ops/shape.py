"""Shape ops: views (reshape, permute, expand, ...) and copies (cat, stack, pad, ...)."""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..errors import ShapeError
from ..tensor import Tensor
from ._util import norm_dim

__all__ = [
    "reshape",
    "view",
    "permute",
    "transpose",
    "swapaxes",
    "swapdims",
    "expand",
    "expand_as",
    "broadcast_to",
    "clone",
    "cast",
    "squeeze",
    "unsqueeze",
]

TENSOR_METHODS = [n for n in __all__ if n != "cast"]
INPLACE_METHODS: list = []


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _infer_shape(op: str, in_shape: tuple, shape: tuple, size: int) -> tuple:
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise ShapeError(f"{op}: only one dimension can be inferred (-1), got shape {shape}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise ShapeError(f"{op}: invalid shape dimension {s} in {shape}")
            known *= s
    if unknown:
        if known == 0 or size % known:
            raise ShapeError(f"{op}: shape {shape} is invalid for input of size {size} (shape {in_shape})")
        shape = tuple(size // known if s == -1 else s for s in shape)
    elif known != size:
        raise ShapeError(f"{op}: shape {shape} is invalid for input of size {size} (shape {in_shape})")
    return shape


class Reshape(Function):
    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.data.shape
        return a.data.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


def reshape(input: Tensor, *shape) -> Tensor:
    """The same elements in a new shape (a view when possible); one ``-1`` is inferred."""
    shape = _shape_arg(shape)
    if shape == input.data.shape:
        return Reshape.apply(input, shape) if input.requires_grad else _same(input)
    if -1 in shape or _prod(shape) != input.data.size:
        shape = _infer_shape("reshape", input.data.shape, shape, input.data.size)
    return Reshape.apply(input, shape)


def view(input: Tensor, *shape) -> Tensor:
    """Like ``reshape``; also accepts a dtype of the same size (a bit-level reinterpretation)."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, np.integer)):
        d = _dt.to_dtype(shape[0])
        return Tensor(input.data.view(d.np))
    return reshape(input, *shape)


def _same(t: Tensor) -> Tensor:
    out = Tensor(t.data)
    out._vc = t._vc
    out._base = t if t._base is None else t._base
    return out


def _prod(shape) -> int:
    p = 1
    for s in shape:
        p *= s
    return p


class Permute(Function):
    is_view = True

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return a.data.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return g.permute(tuple(np.argsort(ctx.dims))), None


def permute(input: Tensor, *dims) -> Tensor:
    """Reorder the axes (a view)."""
    dims = _shape_arg(dims)
    ndim = input.data.ndim
    if len(dims) != ndim:
        raise ShapeError(
            f"permute: number of dims {len(dims)} ({dims}) does not match the tensor's {ndim} dims (shape {input.shape})"
        )
    nd = tuple(norm_dim(d, ndim, "permute") for d in dims)
    if len(set(nd)) != ndim:
        raise ShapeError(f"permute: repeated dim in {dims}")
    return Permute.apply(input, nd)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two axes (a view)."""
    ndim = input.data.ndim
    if ndim == 0:
        return _same(input)
    d0 = norm_dim(dim0, ndim, "transpose")
    d1 = norm_dim(dim1, ndim, "transpose")
    dims = list(range(ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(input, tuple(dims))


swapaxes = swapdims = transpose


class Expand(Function):
    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        return np.broadcast_to(a.data, shape)

    @staticmethod
    def backward(ctx, g):
        return g, None  # the engine sums it back to the input's shape


def expand(input: Tensor, *sizes) -> Tensor:
    """Broadcast to a larger shape without copying; ``-1`` keeps a size."""
    sizes = _shape_arg(sizes)
    in_shape = input.data.shape
    if len(sizes) < len(in_shape):
        raise ShapeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the number of "
            f"dimensions in the tensor ({len(in_shape)}); shape {in_shape} to {sizes}"
        )
    lead = len(sizes) - len(in_shape)
    target = []
    for i, s in enumerate(sizes):
        if s == -1:
            if i < lead:
                raise ShapeError(f"expand: -1 is not allowed in a leading, new dimension ({sizes})")
            s = in_shape[i - lead]
        elif i >= lead and in_shape[i - lead] not in (1, s):
            raise ShapeError(
                f"expand: the expanded size of the tensor ({s}) must match the existing size "
                f"({in_shape[i - lead]}) at non-singleton dimension {i}; target sizes {sizes}, tensor shape {in_shape}"
            )
        target.append(s)
    target = tuple(target)
    if target == in_shape:
        return Expand.apply(input, target) if input.requires_grad else _same(input)
    return Expand.apply(input, target)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


def broadcast_to(input: Tensor, shape) -> Tensor:
    return expand(input, tuple(shape))


class Clone(Function):
    @staticmethod
    def forward(ctx, a):
        return np.array(a.data, copy=True, order="C")

    @staticmethod
    def backward(ctx, g):
        return g


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy with its own memory; gradient flows back to the original."""
    return Clone.apply(input)


class Cast(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.in_dtype = a.dtype
        return a.data.astype(dtype.np)

    @staticmethod
    def backward(ctx, g):
        return g.to(ctx.in_dtype), None


def cast(input: Tensor, dtype) -> Tensor:
    """``input`` converted to ``dtype``; gradients flow between floating dtypes."""
    d = _dt.to_dtype(dtype)
    if not d.is_floating_point or input.data.dtype.kind != "f":
        return Tensor(input.data.astype(d.np))
    return Cast.apply(input, d)


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove axes of size 1 (all of them, or those in ``dim``); a view."""
    shape = input.data.shape
    if dim is None:
        new = tuple(n for n in shape if n != 1)
    else:
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        nd = {norm_dim(d, len(shape), "squeeze") for d in dims} if shape else set()
        new = tuple(n for i, n in enumerate(shape) if not (i in nd and n == 1))
    return reshape(input, new)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert an axis of size 1 at ``dim``; a view."""
    shape = input.data.shape
    d = norm_dim(dim, len(shape) + 1, "unsqueeze")
    return reshape(input, shape[:d] + (1,) + shape[d:])
