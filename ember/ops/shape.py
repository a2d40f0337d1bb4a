"""Shape ops: views (reshape, permute, expand, ...) and copies (cat, stack, pad, ...).

Views are NumPy views of the input that share its version counter; ops with
several outputs (split, chunk, unbind) are one node whose backward joins the
output gradients again (cat or stack), with zeros for the pieces not used.
Linear ops whose adjoint is not an existing op (pad, diagonal, repeat_interleave)
come as a pair of Functions, each the other's backward, so gradients of any
order stay exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..errors import ShapeError
from ..tensor import Tensor
from ._util import broadcast_view, norm_dim

__all__ = [
    "reshape",
    "view",
    "view_as",
    "flatten",
    "ravel",
    "unflatten",
    "permute",
    "transpose",
    "t",
    "swapaxes",
    "swapdims",
    "movedim",
    "moveaxis",
    "expand",
    "expand_as",
    "broadcast_to",
    "broadcast_tensors",
    "broadcast_shapes",
    "clone",
    "cast",
    "squeeze",
    "unsqueeze",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "repeat",
    "tile",
    "repeat_interleave",
    "cat",
    "concat",
    "concatenate",
    "stack",
    "hstack",
    "vstack",
    "dstack",
    "column_stack",
    "split",
    "chunk",
    "unbind",
    "narrow",
    "flip",
    "fliplr",
    "flipud",
    "roll",
    "tril",
    "triu",
    "diagonal",
    "diag",
    "diag_embed",
    "pad",
]

_NOT_METHODS = {
    "cast",
    "broadcast_tensors",
    "broadcast_shapes",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "cat",
    "concat",
    "concatenate",
    "stack",
    "hstack",
    "vstack",
    "dstack",
    "column_stack",
    "pad",
}
TENSOR_METHODS = [n for n in __all__ if n not in _NOT_METHODS]
INPLACE_METHODS: list = ["tril", "triu"]


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    for s in shape:
        if s.__class__ is not int:  # NumPy ints, 0-d tensors: convert (the common all-int case skips this)
            return tuple(int(s) for s in shape)
    return tuple(shape)


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


def _dim_slice(dim: int, index) -> tuple:
    """The key ``[:, ..., :, index]`` with ``index`` at axis ``dim``."""
    return (slice(None),) * dim + (index,)


# ---------------------------------------------------------------- reshape, view
class Reshape(Function):
    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.data.shape
        return a.data.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


class _ReshapeCopy(Reshape):
    """Reshape of a non-contiguous tensor whose strides cannot express the new shape: a copy."""

    is_view = False


def _is_viewable(data: np.ndarray, shape: tuple) -> bool:
    """Whether ``data``'s strides can express ``shape`` without a copy."""
    try:
        np.reshape(data, shape, copy=False)
    except ValueError:
        return False
    except TypeError:  # NumPy < 2.1 has no copy=
        return np.may_share_memory(data.reshape(shape), data)
    return True


def reshape(input: Tensor, *shape) -> Tensor:
    """The same elements in a new shape (a view when possible); one ``-1`` is inferred."""
    shape = _shape_arg(shape)
    data = input.data
    if shape == data.shape:
        return Reshape.apply(input, shape) if input.requires_grad else _same(input)
    if -1 in shape or _prod(shape) != data.size:
        shape = _infer_shape("reshape", data.shape, shape, data.size)
    if not data.flags.c_contiguous and not _is_viewable(data, shape):
        return _ReshapeCopy.apply(input, shape)
    return Reshape.apply(input, shape)


def view(input: Tensor, *shape) -> Tensor:
    """``reshape`` that must not copy; also accepts a dtype of the same size (a bit-level reinterpretation)."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, np.integer)):
        d = _dt.to_dtype(shape[0])
        return Tensor(input.data.view(d.np))
    shape = _shape_arg(shape)
    data = input.data
    if shape == data.shape:
        return Reshape.apply(input, shape) if input.requires_grad else _same(input)
    if -1 in shape or _prod(shape) != data.size:
        shape = _infer_shape("view", data.shape, shape, data.size)
    if not data.flags.c_contiguous and not _is_viewable(data, shape):
        raise ShapeError(
            f"view: view size is not compatible with input tensor's size and stride: a tensor of shape "
            f"{data.shape} and strides {input.stride()} cannot be viewed as {shape} without a copy; "
            "use .reshape(...) instead"
        )
    return Reshape.apply(input, shape)


def view_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.view(other.shape)``."""
    return view(input, other.data.shape)


def _same(t: Tensor) -> Tensor:
    out = Tensor(t.data)
    out._vc = t._vc
    out._base = t if t._base is None else t._base
    return out


def _alias(t: Tensor) -> Tensor:
    """A view of the whole tensor that keeps it in the graph."""
    return Reshape.apply(t, t.data.shape) if t.requires_grad else _same(t)


def _prod(shape) -> int:
    p = 1
    for s in shape:
        p *= s
    return p


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one (a view when possible); a 0-d tensor becomes ``(1,)``."""
    shape = input.data.shape
    ndim = len(shape)
    if ndim == 0:
        norm_dim(start_dim, 0, "flatten")
        norm_dim(end_dim, 0, "flatten")
        return reshape(input, (1,))
    s = norm_dim(start_dim, ndim, "flatten")
    e = norm_dim(end_dim, ndim, "flatten")
    if s > e:
        raise ShapeError(f"flatten: start_dim ({start_dim}) cannot come after end_dim ({end_dim}) for shape {shape}")
    if s == e:
        return reshape(input, shape)
    return reshape(input, shape[:s] + (_prod(shape[s : e + 1]),) + shape[e + 1 :])


def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-d tensor (a view when possible)."""
    return reshape(input, (-1,))


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one ``-1`` is inferred); the inverse of ``flatten``."""
    shape = input.data.shape
    d = norm_dim(dim, len(shape), "unflatten")
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise ShapeError(f"unflatten: sizes must be non-empty (input shape {shape}, dim {dim})")
    n = shape[d] if shape else 1
    if -1 in sizes or _prod(sizes) != n:
        try:
            sizes = _infer_shape("unflatten", shape, sizes, n)
        except ShapeError:
            raise ShapeError(
                f"unflatten: provided sizes {sizes} don't multiply up to the size of dim {dim} ({n}) "
                f"of the input of shape {shape}"
            ) from None
    return reshape(input, shape[:d] + sizes + shape[d + 1 :])


# ------------------------------------------------------------ permute, transpose
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
        norm_dim(dim0, 0, "transpose")
        norm_dim(dim1, 0, "transpose")
        return _alias(input)
    d0 = norm_dim(dim0, ndim, "transpose")
    d1 = norm_dim(dim1, ndim, "transpose")
    dims = list(range(ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(input, tuple(dims))


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """Alias of ``transpose`` (NumPy's name)."""
    return transpose(input, axis0, axis1)


def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Alias of ``transpose``."""
    return transpose(input, dim0, dim1)


def t(input: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dims (0-d and 1-d come back as they are)."""
    ndim = input.data.ndim
    if ndim > 2:
        raise ShapeError(f"t: expects a tensor with <= 2 dimensions, but got shape {input.data.shape} ({ndim}D)")
    if ndim < 2:
        return _alias(input)
    return Permute.apply(input, (1, 0))


def _dims_arg(op: str, dims, ndim: int) -> tuple:
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    return tuple(norm_dim(d, ndim, op) for d in dims)


def movedim(input: Tensor, source, destination) -> Tensor:
    """Move the dims ``source`` to positions ``destination`` (ints or sequences); the others keep their order."""
    ndim = input.data.ndim
    src = _dims_arg("movedim", source, ndim)
    dst = _dims_arg("movedim", destination, ndim)
    if len(src) != len(dst):
        raise ShapeError(
            f"movedim: source {source} and destination {destination} must have the same number of dims, "
            f"got {len(src)} and {len(dst)}"
        )
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ShapeError(f"movedim: repeated dim in source {source} or destination {destination}")
    if ndim == 0:
        return _alias(input)
    order = [d for d in range(ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return Permute.apply(input, tuple(order))


moveaxis = movedim


# ------------------------------------------------------------------ broadcasting
class Expand(Function):
    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        return broadcast_view(a.data, shape)

    @staticmethod
    def backward(ctx, g):
        return g, None  # the engine sums it back to the input's shape


def expand(input: Tensor, *sizes) -> Tensor:
    """Broadcast to a larger shape without copying; ``-1`` keeps a size."""
    return _expand(input, _shape_arg(sizes), "expand")


def _expand(input: Tensor, sizes: tuple, op: str) -> Tensor:
    """``expand``'s work, with errors naming ``op``, the function the user called."""
    in_shape = input.data.shape
    if len(sizes) < len(in_shape):
        raise ShapeError(
            f"{op}: the number of sizes provided ({len(sizes)}) must be greater or equal to the number of "
            f"dimensions in the tensor ({len(in_shape)}); shape {in_shape} to {sizes}"
        )
    lead = len(sizes) - len(in_shape)
    target = []
    for i, s in enumerate(sizes):
        if s == -1:
            if i < lead:
                raise ShapeError(f"{op}: -1 is not allowed in a leading, new dimension ({sizes})")
            s = in_shape[i - lead]
        elif i >= lead and in_shape[i - lead] not in (1, s):
            raise ShapeError(
                f"{op}: the expanded size of the tensor ({s}) must match the existing size "
                f"({in_shape[i - lead]}) at non-singleton dimension {i}; target sizes {sizes}, tensor shape {in_shape}"
            )
        target.append(s)
    target = tuple(target)
    if target == in_shape:
        return Expand.apply(input, target) if input.requires_grad else _same(input)
    return Expand.apply(input, target)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.expand(other.shape)``."""
    return _expand(input, other.data.shape, "expand_as")


def broadcast_to(input: Tensor, shape) -> Tensor:
    """``input.expand(shape)``: broadcast to ``shape`` without copying."""
    return _expand(input, _shape_arg((shape,)), "broadcast_to")


def _broadcast_all(op: str, what: str, shapes: list) -> tuple:
    out = ()
    for i, s in enumerate(shapes):
        try:
            out = np.broadcast_shapes(out, s)
        except ValueError:
            raise ShapeError(
                f"{op}: {what} {i} has shape {s}, which does not broadcast with {tuple(out)}, the broadcast shape "
                f"of the ones before it (all shapes: {tuple(shapes)})"
            ) from None
    return tuple(out)


def broadcast_shapes(*shapes) -> tuple:
    """The shape that tensors of ``shapes`` broadcast to; a ShapeError names the first clash."""
    shapes = [(int(s),) if isinstance(s, (int, np.integer)) else tuple(int(n) for n in s) for s in shapes]
    return _broadcast_all("broadcast_shapes", "shape", shapes)


def broadcast_tensors(*tensors: Tensor) -> tuple:
    """Expand every tensor to their common broadcast shape (views)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = _broadcast_all("broadcast_tensors", "tensor", [x.data.shape for x in tensors])
    return tuple(expand(x, shape) for x in tensors)


# ----------------------------------------------------------------- copy, cast
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


# ---------------------------------------------------------- squeeze, unsqueeze
def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove axes of size 1 (all of them, or those in ``dim``); a view."""
    shape = input.data.shape
    if dim is None:
        new = tuple(n for n in shape if n != 1)
    else:
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        nd = {norm_dim(d, len(shape), "squeeze") for d in dims} if shape else set()
        new = tuple(n for i, n in enumerate(shape) if not (i in nd and n == 1))
    if new == shape:
        return _alias(input)
    return Reshape.apply(input, new)  # dropping unit dims never needs a copy


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert an axis of size 1 at ``dim``; a view."""
    shape = input.data.shape
    d = norm_dim(dim, len(shape) + 1, "unsqueeze")
    return Reshape.apply(input, shape[:d] + (1,) + shape[d:])  # adding a unit dim never needs a copy


def _atleast(tensors, n: int):
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    out = []
    for x in tensors:
        shape = x.data.shape
        if len(shape) >= n:
            out.append(x)
        elif n == 3 and len(shape) == 2:
            out.append(reshape(x, shape + (1,)))
        elif n == 3 and len(shape) == 1:
            out.append(reshape(x, (1,) + shape + (1,)))
        else:
            out.append(reshape(x, (1,) * (n - len(shape)) + shape))
    return out[0] if single else tuple(out)


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (0-d becomes ``(1,)``); one tensor in, one out."""
    return _atleast(tensors, 1)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims: ``()`` to ``(1, 1)``, ``(n,)`` to ``(1, n)``."""
    return _atleast(tensors, 2)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims: ``(n,)`` to ``(1, n, 1)``, ``(m, n)`` to ``(m, n, 1)``."""
    return _atleast(tensors, 3)


# --------------------------------------------------------------------- repeats
class Repeat(Function):
    @staticmethod
    def forward(ctx, a, sizes):
        x = a.data
        lead = len(sizes) - x.ndim
        padded = (1,) * lead + x.shape
        ctx.meta = (x.shape, padded, sizes)
        return np.tile(x.reshape(padded), sizes)

    @staticmethod
    def backward(ctx, g):
        in_shape, padded, sizes = ctx.meta
        interleaved = tuple(n for pair in zip(sizes, padded) for n in pair)
        summed = g.reshape(interleaved).sum(tuple(range(0, 2 * len(sizes), 2)))
        return summed.reshape(in_shape), None


def repeat(input: Tensor, *sizes) -> Tensor:
    """Tile ``input`` ``sizes[i]`` times along each dim (like ``np.tile``); ``len(sizes) >= input.dim()``."""
    sizes = _shape_arg(sizes)
    if len(sizes) < input.data.ndim:
        raise ShapeError(
            f"repeat: the repeat sizes {sizes} are fewer than the dimensions of the tensor of shape "
            f"{input.data.shape} ({len(sizes)} < {input.data.ndim}): give at least one size per dimension"
        )
    if any(s < 0 for s in sizes):
        raise ShapeError(f"repeat: repeat sizes must be non-negative, got {sizes}")
    return Repeat.apply(input, sizes)


def tile(input: Tensor, dims) -> Tensor:
    """``repeat`` that pads ``dims`` with leading 1s when it is shorter than the tensor's dims."""
    dims = (int(dims),) if isinstance(dims, (int, np.integer)) else tuple(int(d) for d in dims)
    dims = (1,) * (input.data.ndim - len(dims)) + dims
    return repeat(input, dims)


class RepeatInterleave(Function):
    @staticmethod
    def forward(ctx, a, repeats, dim):
        ctx.meta = (a.data.shape, repeats, dim)
        return np.repeat(a.data, repeats, axis=dim)

    @staticmethod
    def backward(ctx, g):
        shape, repeats, dim = ctx.meta
        if isinstance(repeats, int):
            return g.reshape(shape[:dim] + (shape[dim], repeats) + shape[dim + 1 :]).sum(dim + 1), None, None
        return _SegmentSum.apply(g, repeats, dim, shape[dim]), None, None


class _SegmentSum(Function):
    """Sums of consecutive runs of ``repeats[i]`` slices along ``dim``: the adjoint of repeat_interleave."""

    @staticmethod
    def forward(ctx, g, repeats, dim, n):
        ctx.meta = (repeats, dim)
        gd = g.data
        shape = gd.shape[:dim] + (n,) + gd.shape[dim + 1 :]
        out = np.zeros(shape, gd.dtype)
        positive = repeats > 0
        if gd.shape[dim]:
            starts = np.cumsum(repeats) - repeats
            sums = np.add.reduceat(gd, starts[positive], axis=dim)
            out[_dim_slice(dim, positive)] = sums
        return out

    @staticmethod
    def backward(ctx, gg):
        repeats, dim = ctx.meta
        return RepeatInterleave.apply(gg, repeats, dim), None, None, None


def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *, output_size: int | None = None) -> Tensor:
    """Repeat each element (or slice along ``dim``) ``repeats`` times; ``repeats`` is an int or a 1-d tensor.

    Without ``dim`` the input is flattened first. ``repeat_interleave(r)`` with only a
    tensor of repeats gives ``[0]*r[0] + [1]*r[1] + ...``.
    """
    if repeats is None:
        r = input.data
        if r.ndim > 1 or r.dtype.kind not in "iu":
            raise ShapeError(
                f"repeat_interleave: repeats must be a 0-d or 1-d integer tensor, got {input.dtype} {r.shape}"
            )
        if np.any(r < 0):
            raise ShapeError("repeat_interleave: repeats can not be negative")
        return Tensor(np.repeat(np.arange(r.size, dtype=np.int64), r.reshape(-1)))
    if dim is None:
        input = reshape(input, (-1,))
        d = 0
    else:
        d = norm_dim(dim, input.data.ndim, "repeat_interleave")
        if input.data.ndim == 0:
            input = reshape(input, (1,))
    n = input.data.shape[d]
    if isinstance(repeats, Tensor):
        r = repeats.data
        if r.dtype.kind not in "iu" or r.ndim > 1:
            raise ShapeError(
                f"repeat_interleave: repeats must be an int or a 0-d or 1-d integer tensor, got {repeats.dtype} {r.shape}"
            )
        if r.size == 1:
            repeats = int(r.reshape(()))
        elif r.size != n:
            raise ShapeError(
                f"repeat_interleave: repeats must have the same size as input along dim {d}: repeats has shape "
                f"{r.shape}, input has shape {input.data.shape}"
            )
        else:
            repeats = r.astype(np.int64).reshape(-1)
            if np.any(repeats < 0):
                raise ShapeError(f"repeat_interleave: repeats can not be negative, got {repeats.tolist()}")
    else:
        repeats = int(repeats)
    if isinstance(repeats, int) and repeats < 0:
        raise ShapeError(f"repeat_interleave: repeats can not be negative, got {repeats}")
    return RepeatInterleave.apply(input, repeats, d)


# -------------------------------------------------------------- joining tensors
def _check_tensors(op: str, tensors) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expected a sequence of tensors, got a single Tensor (shape {tensors.shape})")
    tensors = list(tensors)
    if not tensors:
        raise ShapeError(f"{op}: expected a non-empty list of tensors")
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(f"{op}: expected a sequence of Tensors, got {type(x).__name__} at position {i}")
    return tensors


def _common_dtype(tensors) -> np.dtype:
    """PyTorch's promotion over tensors: the highest category (bool < int < float) wins as it is."""
    dt = tensors[0].data.dtype
    for x in tensors:
        if x.data.dtype != dt:
            break
    else:
        return dt
    best = None
    for x in tensors:
        d = x.data.dtype
        if best is None or _CATEGORY[d.kind] > _CATEGORY[best.kind]:
            best = d
        elif _CATEGORY[d.kind] == _CATEGORY[best.kind]:
            best = np.promote_types(best, d)
    return best


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


class Cat(Function):
    @staticmethod
    def forward(ctx, *tensors, dim, dtype, keep):
        arrays = [x.data for x, k in zip(tensors, keep) if k]
        ctx.meta = (dim, [a.shape[dim] for a in arrays], keep)
        return np.concatenate(arrays, axis=dim, dtype=dtype, casting="unsafe")

    @staticmethod
    def backward(ctx, g):
        dim, sizes, keep = ctx.meta
        pieces = iter(split(g, sizes, dim))
        return tuple(next(pieces) if k else None for k in keep)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim; shapes must match elsewhere, dtypes promote like ``torch.cat``.

    1-d empty tensors of shape ``(0,)`` are skipped, as in PyTorch.
    """
    return _cat(_check_tensors("cat", tensors), dim, "cat")


def _cat(tensors: list, dim: int, op: str) -> Tensor:
    """``cat``'s work on checked tensors, with errors naming ``op``, the function the user called."""
    keep = [not (x.data.ndim == 1 and x.data.size == 0) for x in tensors]
    if not any(keep):
        keep = [True] * len(tensors)
    ref_i = keep.index(True)
    ref = tensors[ref_i].data.shape
    if not ref:
        raise ShapeError(f"{op}: zero-dimensional tensor (at position {ref_i}) cannot be concatenated")
    d = norm_dim(dim, len(ref), op)
    for i, x in enumerate(tensors):
        s = x.data.shape
        if not keep[i] or s == ref:
            continue
        if len(s) != len(ref):
            raise ShapeError(
                f"{op}: tensor {i} has {len(s)} dimensions (shape {s}) but tensor {ref_i} has {len(ref)} "
                f"(shape {ref}): tensors must have the same number of dimensions"
            )
        if s[:d] != ref[:d] or s[d + 1 :] != ref[d + 1 :]:
            raise ShapeError(
                f"{op}: tensor {i} has shape {s} but tensor {ref_i} has shape {ref}: sizes must match except "
                f"in dimension {d}"
            )
    return Cat.apply(*tensors, dim=d, dtype=_common_dtype(tensors), keep=keep)


def concat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Alias of ``cat``."""
    return _cat(_check_tensors("concat", tensors), dim, "concat")


def concatenate(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Alias of ``cat`` (NumPy's name, ``axis`` or ``dim``)."""
    return _cat(_check_tensors("concatenate", tensors), axis if dim is None else dim, "concatenate")


class Stack(Function):
    @staticmethod
    def forward(ctx, *tensors, dim, dtype):
        ctx.dim = dim
        return np.stack([x.data for x in tensors], axis=dim, dtype=dtype, casting="unsafe")

    @staticmethod
    def backward(ctx, g):
        return unbind(g, ctx.dim)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dim ``dim``; dtypes promote like ``torch.stack``."""
    tensors = _check_tensors("stack", tensors)
    ref = tensors[0].data.shape
    for i, x in enumerate(tensors):
        if x.data.shape != ref:
            raise ShapeError(
                f"stack: tensor {i} has shape {x.data.shape} but tensor 0 has shape {ref}: all tensors must have "
                "the same shape"
            )
    d = norm_dim(dim, len(ref) + 1, "stack")
    return Stack.apply(*tensors, dim=d, dtype=_common_dtype(tensors))


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join column-wise: along dim 1, or dim 0 when all are 1-d (0-d become 1-d)."""
    tensors = atleast_1d(_check_tensors("hstack", tensors))
    return _cat(list(tensors), 0 if all(x.data.ndim == 1 for x in tensors) else 1, "hstack")


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join row-wise along dim 0, after making each tensor at least 2-d (``(n,)`` becomes ``(1, n)``)."""
    return _cat(list(atleast_2d(_check_tensors("vstack", tensors))), 0, "vstack")


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join depth-wise along dim 2, after making each tensor at least 3-d."""
    return _cat(list(atleast_3d(_check_tensors("dstack", tensors))), 2, "dstack")


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Join along dim 1, turning 0-d and 1-d tensors into columns ``(n, 1)``."""
    tensors = _check_tensors("column_stack", tensors)
    cols = [reshape(x, (x.data.size, 1)) if x.data.ndim <= 1 else x for x in tensors]
    return _cat(cols, 1, "column_stack")


# ------------------------------------------------------------ splitting tensors
def _share_base(pieces: tuple, base: Tensor) -> tuple:
    """Mark the outputs of a multi-output view op as views of ``base``."""
    vc = base._vc
    root = base if base._base is None else base._base
    for p in pieces:
        p._vc = vc
        p._base = root
    return pieces


class Split(Function):
    @staticmethod
    def forward(ctx, a, bounds, dim):
        ctx.dim = dim
        x = a.data
        lead = (slice(None),) * dim
        return tuple(x[lead + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:]))

    @staticmethod
    def backward(ctx, *grads):
        return cat(grads, ctx.dim), None, None


def _split_at(input: Tensor, sizes, dim: int) -> tuple:
    bounds = [0]
    for s in sizes:
        bounds.append(bounds[-1] + s)
    return _share_base(Split.apply(input, bounds, dim), input)


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Views of consecutive pieces along ``dim``: of size ``split_size`` (the last may be smaller) or of the given sizes."""
    shape = tensor.data.shape
    if not shape:
        raise ShapeError("split: expected a tensor with at least 1 dimension, got a 0-d tensor")
    d = norm_dim(dim, len(shape), "split")
    n = shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size < 0 or (size == 0 and n != 0):
            raise ShapeError(
                f"split: split_size must be positive (0 only when the dim has size 0), got {size} for dim {d} of "
                f"size {n} (shape {shape})"
            )
        if size == 0 or n == 0:
            sizes = [0]
        else:
            sizes = [size] * (n // size) + ([n % size] if n % size else [])
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ShapeError(
                f"split: split sizes {tuple(sizes)} must be non-negative and sum exactly to the size {n} of dim {d} "
                f"(shape {shape})"
            )
    return _split_at(tensor, sizes, d)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` views of equal size along ``dim`` (the last may be smaller, there may be fewer)."""
    chunks = int(chunks)
    if chunks <= 0:
        raise ShapeError(f"chunk: number of chunks must be greater than 0, got {chunks}")
    shape = input.data.shape
    if not shape:
        raise ShapeError("chunk: expected a tensor with at least 1 dimension, got a 0-d tensor")
    d = norm_dim(dim, len(shape), "chunk")
    n = shape[d]
    if n == 0:
        return _split_at(input, [0] * chunks, d)
    size = -(-n // chunks)
    return _split_at(input, [size] * (n // size) + ([n % size] if n % size else []), d)


class Unbind(Function):
    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        x = a.data if dim == 0 else np.moveaxis(a.data, dim, 0)
        if x.ndim == 1:  # iterating a 1-d array gives scalars, not 0-d views
            return tuple(x[i, ...] for i in range(x.shape[0]))
        return tuple(x)

    @staticmethod
    def backward(ctx, *grads):
        return stack(grads, ctx.dim), None


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, as a tuple of views with that dim removed."""
    shape = input.data.shape
    if not shape:
        raise ShapeError("unbind: expected a tensor with at least 1 dimension, got a 0-d tensor")
    return _share_base(Unbind.apply(input, norm_dim(dim, len(shape), "unbind")), input)


class Slice(Function):
    """``input[key]`` for a basic key of slices; the backward pads the gradient with zeros."""

    is_view = True

    @staticmethod
    def forward(ctx, a, key):
        ctx.meta = (a.data.shape, key)
        return a.data[key]

    @staticmethod
    def backward(ctx, g):
        shape, key = ctx.meta
        return _SliceBackward.apply(g, shape, key), None


class _SliceBackward(Function):
    @staticmethod
    def forward(ctx, g, shape, key):
        ctx.key = key
        out = np.zeros(shape, g.data.dtype)
        out[key] = g.data
        return out

    @staticmethod
    def backward(ctx, gg):
        return Slice.apply(gg, ctx.key), None, None


def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    """The view ``input[..., start:start+length, ...]`` along ``dim``; ``start`` may be negative."""
    shape = input.data.shape
    if not shape:
        raise ShapeError("narrow: cannot narrow a 0-d tensor")
    d = norm_dim(dim, len(shape), "narrow")
    n = shape[d]
    start, length = int(start), int(length)
    if not -n <= start <= n:
        raise IndexError(f"narrow: start ({start}) out of range [{-n}, {n}] for dim {d} of shape {shape}")
    if start < 0:
        start += n
    if length < 0 or start + length > n:
        raise ShapeError(
            f"narrow: start ({start}) + length ({length}) exceeds the size {n} of dim {d} (shape {shape}), "
            "or length is negative"
        )
    return Slice.apply(input, _dim_slice(d, slice(start, start + length)))


# ------------------------------------------------------------------ flip, roll
class Flip(Function):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return np.flip(a.data, dims).copy()

    @staticmethod
    def backward(ctx, g):
        return Flip.apply(g, ctx.dims), None


def flip(input: Tensor, dims) -> Tensor:
    """Reverse the order of elements along ``dims`` (a copy, as in PyTorch)."""
    ndim = input.data.ndim
    d = tuple(sorted(set(_dims_arg("flip", dims, ndim)))) if ndim else ()
    return Flip.apply(input, d)


def fliplr(input: Tensor) -> Tensor:
    """Flip dim 1 (left/right); the input must be at least 2-d."""
    if input.data.ndim < 2:
        raise ShapeError(f"fliplr: input must be at least 2-d, got shape {input.data.shape}")
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    """Flip dim 0 (up/down); the input must be at least 1-d."""
    if input.data.ndim < 1:
        raise ShapeError(f"flipud: input must be at least 1-d, got shape {input.data.shape}")
    return flip(input, (0,))


class Roll(Function):
    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.meta = (shifts, dims)
        return np.roll(a.data, shifts, dims)

    @staticmethod
    def backward(ctx, g):
        shifts, dims = ctx.meta
        neg = -shifts if isinstance(shifts, int) else tuple(-s for s in shifts)
        return Roll.apply(g, neg, dims), None, None


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements circularly by ``shifts`` along ``dims``; without ``dims`` the tensor is rolled flat."""
    shifts = (int(shifts),) if isinstance(shifts, (int, np.integer)) else tuple(int(s) for s in shifts)
    if dims is None:
        if len(shifts) != 1:
            raise ShapeError(f"roll: shifts {shifts} must be a single int when dims is not given")
        return Roll.apply(input, shifts[0], None)
    ndim = input.data.ndim
    dims = _dims_arg("roll", dims, ndim)
    if len(shifts) != len(dims):
        raise ShapeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    if ndim == 0:
        return Roll.apply(input, shifts[0], None)
    return Roll.apply(input, shifts, dims)


# --------------------------------------------------------- triangles, diagonals
class Tril(Function):
    @staticmethod
    def forward(ctx, a, diagonal):
        ctx.k = diagonal
        return np.tril(a.data, diagonal)

    @staticmethod
    def backward(ctx, g):
        return Tril.apply(g, ctx.k), None


class Triu(Function):
    @staticmethod
    def forward(ctx, a, diagonal):
        ctx.k = diagonal
        return np.triu(a.data, diagonal)

    @staticmethod
    def backward(ctx, g):
        return Triu.apply(g, ctx.k), None


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """Lower triangle of the last two dims (``(*, M, N)``): elements with ``col - row <= diagonal``."""
    if input.data.ndim < 2:
        raise ShapeError(f"tril: input tensor must have at least 2 dimensions, got shape {input.data.shape}")
    return Tril.apply(input, int(diagonal))


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """Upper triangle of the last two dims (``(*, M, N)``): elements with ``col - row >= diagonal``."""
    if input.data.ndim < 2:
        raise ShapeError(f"triu: input tensor must have at least 2 dimensions, got shape {input.data.shape}")
    return Triu.apply(input, int(diagonal))


def _diagonal_view(x: np.ndarray, offset: int, dim1: int, dim2: int) -> np.ndarray:
    """``np.diagonal`` made writable when ``x`` is (NumPy returns a read-only view)."""
    d = np.diagonal(x, offset, dim1, dim2)
    if x.flags.writeable:
        d.flags.writeable = True
    return d


class Diagonal(Function):
    is_view = True

    @staticmethod
    def forward(ctx, a, offset, dim1, dim2):
        ctx.meta = (a.data.shape, offset, dim1, dim2)
        return _diagonal_view(a.data, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, g):
        shape, offset, dim1, dim2 = ctx.meta
        return DiagonalScatter.apply(g, shape, offset, dim1, dim2), None, None, None


class _DiagonalCopy(Diagonal):
    is_view = False

    @staticmethod
    def forward(ctx, a, offset, dim1, dim2):
        ctx.meta = (a.data.shape, offset, dim1, dim2)
        return np.diagonal(a.data, offset, dim1, dim2).copy()


class DiagonalScatter(Function):
    """Zeros of ``shape`` with ``src`` written on a diagonal: the adjoint of ``diagonal``."""

    @staticmethod
    def forward(ctx, src, shape, offset, dim1, dim2):
        ctx.meta = (offset, dim1, dim2)
        out = np.zeros(shape, src.data.dtype)
        _diagonal_view(out, offset, dim1, dim2)[...] = src.data
        return out

    @staticmethod
    def backward(ctx, g):
        offset, dim1, dim2 = ctx.meta
        return Diagonal.apply(g, offset, dim1, dim2), None, None, None, None


def _diag_dims(op: str, ndim: int, dim1: int, dim2: int) -> tuple:
    if ndim < 2:
        raise ShapeError(f"{op}: expected a tensor with at least 2 dimensions, got {ndim}")
    d1 = norm_dim(dim1, ndim, op)
    d2 = norm_dim(dim2, ndim, op)
    if d1 == d2:
        raise ShapeError(f"{op}: diagonal dimensions cannot be identical, got dim1={dim1} and dim2={dim2}")
    return d1, d2


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the (``dim1``, ``dim2``) planes as a view; it becomes the last dim.

    ``offset`` > 0 is above the main diagonal, < 0 below.
    """
    d1, d2 = _diag_dims("diagonal", input.data.ndim, dim1, dim2)
    return Diagonal.apply(input, int(offset), d1, d2)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices whose (``dim1``, ``dim2``) diagonal at ``offset`` holds the last dim of ``input``; zeros elsewhere."""
    shape = input.data.shape
    if not shape:
        raise ShapeError("diag_embed: expected a tensor with at least 1 dimension, got a 0-d tensor")
    offset = int(offset)
    d1, d2 = _diag_dims("diag_embed", len(shape) + 1, dim1, dim2)
    size = shape[-1] + abs(offset)
    rest = iter(shape[:-1])
    out_shape = tuple(size if i in (d1, d2) else next(rest) for i in range(len(shape) + 1))
    return DiagonalScatter.apply(input, out_shape, offset, d1, d2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-d input: a square matrix with it on the ``diagonal``-th diagonal; 2-d input: that diagonal (a copy)."""
    ndim = input.data.ndim
    k = int(diagonal)
    if ndim == 1:
        n = input.data.shape[0] + abs(k)
        return DiagonalScatter.apply(input, (n, n), k, 0, 1)
    if ndim == 2:
        return _DiagonalCopy.apply(input, k, 0, 1)
    raise ShapeError(f"diag: expected a 1-d or 2-d tensor, got shape {input.data.shape}")


# ------------------------------------------------------------------------ pad
class ConstantPad(Function):
    """Pad with ``value`` (negative widths crop); its adjoint is itself with the widths negated."""

    @staticmethod
    def forward(ctx, a, widths, value):
        x = a.data
        ctx.widths = widths
        out_shape = []
        src = []
        dst = []
        for n, (lo, hi) in zip(x.shape, widths):
            size = n + lo + hi
            out_shape.append(size)
            s0 = -lo if lo < 0 else 0
            s1 = n + hi if hi < 0 else n
            d0 = lo if lo > 0 else 0
            src.append(slice(s0, s1))
            dst.append(slice(d0, d0 + s1 - s0))
        out = np.full(out_shape, value, x.dtype) if value else np.zeros(out_shape, x.dtype)
        out[tuple(dst)] = x[tuple(src)]
        return out

    @staticmethod
    def backward(ctx, g):
        return ConstantPad.apply(g, tuple((-lo, -hi) for lo, hi in ctx.widths), 0), None, None


class EdgePad(Function):
    """Non-negative reflect/replicate/circular padding (NumPy's reflect/edge/wrap)."""

    @staticmethod
    def forward(ctx, a, widths, mode):
        ctx.meta = (widths, mode)
        return np.pad(a.data, widths, mode=_NUMPY_PAD_MODES[mode])

    @staticmethod
    def backward(ctx, g):
        widths, mode = ctx.meta
        return _EdgePadAdjoint.apply(g, widths, mode), None, None


class _EdgePadAdjoint(Function):
    """Fold the padded borders of ``g`` back onto the elements they copy, one axis at a time."""

    @staticmethod
    def forward(ctx, g, widths, mode):
        ctx.meta = (widths, mode)
        out = g.data
        for axis, (lo, hi) in enumerate(widths):
            if not lo and not hi:
                continue
            n = out.shape[axis] - lo - hi
            lead = (slice(None),) * axis
            res = out[lead + (slice(lo, lo + n),)].copy()
            left = out[lead + (slice(0, lo),)]
            right = out[lead + (slice(lo + n, None),)]
            if mode == "reflect":
                res[lead + (slice(1, lo + 1),)] += np.flip(left, axis)
                res[lead + (slice(n - 1 - hi, n - 1),)] += np.flip(right, axis)
            elif mode == "replicate":
                res[lead + (slice(0, 1),)] += left.sum(axis, keepdims=True)
                res[lead + (slice(n - 1, n),)] += right.sum(axis, keepdims=True)
            else:  # circular
                res[lead + (slice(n - lo, n),)] += left
                res[lead + (slice(0, hi),)] += right
            out = res
        return out

    @staticmethod
    def backward(ctx, gg):
        widths, mode = ctx.meta
        return EdgePad.apply(gg, widths, mode), None, None


_NUMPY_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad (or, with negative widths, crop) the last dims: ``pad = (left, right, top, bottom, front, back)``.

    ``pad`` starts from the last dim, as ``torch.nn.functional.pad``. Modes: 'constant'
    (with ``value``, any number of dims), 'reflect', 'replicate' and 'circular' (the last
    1, 2 or 3 dims of a ``(C, *)`` or ``(N, C, *)`` input).
    """
    shape = input.data.shape
    ndim = len(shape)
    p = tuple(int(v) for v in pad)
    if len(p) % 2:
        raise ShapeError(f"pad: padding length must be divisible by 2, got {len(p)} values {p}")
    k = len(p) // 2
    if k > ndim:
        raise ShapeError(
            f"pad: padding length {len(p)} ({p}) must be at most two times the number of dimensions of the "
            f"input of shape {shape}"
        )
    widths = [(0, 0)] * ndim
    for i in range(k):
        widths[ndim - 1 - i] = (p[2 * i], p[2 * i + 1])
    widths = tuple(widths)
    if mode == "constant":
        for axis, (n, (lo, hi)) in enumerate(zip(shape, widths)):
            if n + min(lo, 0) + min(hi, 0) < 0 or n + lo + hi < 0:
                raise ShapeError(
                    f"pad: padding ({lo}, {hi}) of dimension {axis} of the input of shape {shape} gives a negative "
                    f"output size {n + lo + hi} or crops more than the {n} elements there"
                )
        return ConstantPad.apply(input, widths, 0 if value is None else value)
    if mode not in _NUMPY_PAD_MODES:
        raise ValueError(f"pad: unknown mode {mode!r}; expected 'constant', 'reflect', 'replicate' or 'circular'")
    if value is not None and value != 0:
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in value argument, got value={value}")
    if k not in (1, 2, 3) or ndim not in (k + 1, k + 2):
        raise ShapeError(
            f"pad: mode {mode!r} with padding {p} pads the last {k} dims of a {k + 1}D or {k + 2}D input, "
            f"got shape {shape} (only padding lengths 2, 4 and 6 are supported)"
        )
    if mode != "circular":
        for axis, n in enumerate(shape):
            if n == 0 and not (axis == 0 and ndim == k + 2):
                raise ShapeError(
                    f"pad: mode {mode!r} expects a {k + 1}D or {k + 2}D input with possibly 0 batch size and other "
                    f"non-zero dimensions, got shape {shape}"
                )
    crop = []
    grow = []
    for axis, (n, (lo, hi)) in enumerate(zip(shape, widths)):
        crop.append((min(lo, 0), min(hi, 0)))
        grow.append((max(lo, 0), max(hi, 0)))
        if not lo and not hi:
            continue
        kept = n + min(lo, 0) + min(hi, 0)
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ShapeError(
                f"pad: reflect padding ({lo}, {hi}) must be less than the input size {n} of dimension {axis} "
                f"(input shape {shape})"
            )
        if mode == "circular" and (kept < 0 or max(lo, hi) > kept):
            raise ShapeError(
                f"pad: circular padding ({lo}, {hi}) of dimension {axis} wraps around more than once: the "
                f"(cropped) input there has size {kept} (input shape {shape})"
            )
        if mode != "circular" and n + lo + hi <= 0:
            raise ShapeError(
                f"pad: {mode} padding ({lo}, {hi}) of dimension {axis} of the input of shape {shape} gives an "
                f"output size of {n + lo + hi}; it must be at least 1"
            )
    crop, grow = tuple(crop), tuple(grow)
    cropping = any(lo or hi for lo, hi in crop)
    growing = any(lo or hi for lo, hi in grow)
    out = input
    if mode == "circular":  # torch crops first, then wraps what is left
        if cropping:
            out = ConstantPad.apply(out, crop, 0)
        if growing:
            out = EdgePad.apply(out, grow, mode)
    else:  # reflect/replicate index the original input, then crop
        if growing:
            out = EdgePad.apply(out, grow, mode)
        if cropping:
            out = ConstantPad.apply(out, crop, 0)
    return out if out is not input else clone(input)
