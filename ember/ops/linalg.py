"""Matrix products: matmul and its relatives, linear, einsum, tensordot, kron, trace.

Decompositions, norms, inverses and solves are in ``ember.linalg``; the Tensor
methods ``det``, ``inverse``, ``slogdet`` and ``logdet`` here load it on first use.
"""

from __future__ import annotations

import math
import string
from functools import lru_cache

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import state as _grad_state
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, new_tensor
from . import elementwise as _ew
from . import gemm as _gemm

__all__ = [
    "matmul",
    "mm",
    "bmm",
    "mv",
    "dot",
    "vdot",
    "outer",
    "ger",
    "inner",
    "addmm",
    "baddbmm",
    "linear",
    "einsum",
    "tensordot",
    "kron",
    "trace",
    "det",
    "inverse",
    "slogdet",
    "logdet",
]

TENSOR_METHODS = [
    "matmul",
    "mm",
    "bmm",
    "mv",
    "dot",
    "vdot",
    "outer",
    "ger",
    "inner",
    "addmm",
    "baddbmm",
    "kron",
    "trace",
    "det",
    "inverse",
    "slogdet",
    "logdet",
]
INPLACE_METHODS = ["addmm", "baddbmm"]


# ------------------------------------------------------------------ errors
def _matmul_error(a_shape, b_shape, op: str = "matmul") -> ShapeError:
    a_shape, b_shape = tuple(a_shape), tuple(b_shape)
    if len(a_shape) == 1 and len(b_shape) == 1:
        return ShapeError(
            f"{op}: cannot take the dot product of {a_shape} and {b_shape}: both vectors must have the same length"
        )
    ka = a_shape[-1]
    kb = b_shape[-2] if len(b_shape) >= 2 else b_shape[0]
    if ka != kb:
        da = len(a_shape) - 1
        db = len(b_shape) - 2 if len(b_shape) >= 2 else 0
        return ShapeError(
            f"{op}: cannot multiply {a_shape} by {b_shape}: dimension {da} of the first ({ka}) must equal "
            f"dimension {db} of the second ({kb})"
        )
    return ShapeError(
        f"{op}: batch dimensions of {a_shape} and {b_shape} do not broadcast ({a_shape[:-2]} vs {b_shape[:-2]})"
    )


def _same_dtype(op: str, a: Tensor, b: Tensor) -> None:
    if a.data.dtype != b.data.dtype:
        raise DTypeError(f"{op}: expected both operands to have the same dtype, got {a.dtype} and {b.dtype}")


def _need_ndim(op: str, ndims: tuple, *tensors: Tensor) -> None:
    if any(t.data.ndim != n for t, n in zip(tensors, ndims)):
        want = " and ".join(f"{n}-d" for n in ndims)
        got = " and ".join(str(t.shape) for t in tensors)
        raise ShapeError(f"{op}: expected {want} tensors, got shapes {got}")


# ------------------------------------------------------------------ matmul
def _lead(shape) -> int:
    """The product of all but the last dim (works for size-0 shapes, unlike reshape(-1, k))."""
    n = 1
    for d in shape[:-1]:
        n *= d
    return n


def _np_matmul(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x @ y``; a stack times a matrix is one 2-d product (NumPy loops over the stack otherwise)."""
    if x.ndim > 2 and y.ndim == 2:
        return _gemm.matmul(x.reshape(_lead(x.shape), x.shape[-1]), y).reshape(x.shape[:-1] + (y.shape[1],))
    if x.ndim > 2:
        return _gemm.batched(x, y)  # stacks of the same batch shape: one kernel call; else np.matmul
    return _gemm.matmul(x, y)  # np.matmul for anything but a 2-d product the kernel takes


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(a if needs[1] else None, b if needs[0] else None)
        x, y = a.data, b.data
        ctx.ndims = (x.ndim, y.ndim)
        if x.shape[-1] != (y.shape[-2] if y.ndim > 1 else y.shape[0]):
            raise _matmul_error(x.shape, y.shape)
        try:
            return _np_matmul(x, y)
        except ValueError:
            raise _matmul_error(x.shape, y.shape) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        a_nd, b_nd = ctx.ndims
        ga = gb = None
        if a_nd == 1 and b_nd == 1:
            return (g * b if na else None), (g * a if nb else None)
        if a_nd == 1:
            # (k,) @ (..., k, n) -> (..., n)
            if na:
                ga = matmul(b, g.unsqueeze(-1)).squeeze(-1)
            if nb:
                gb = a.unsqueeze(-1) * g.unsqueeze(-2)
            return ga, gb
        if b_nd == 1:
            # (..., m, k) @ (k,) -> (..., m)
            if na:
                ga = g.unsqueeze(-1) * b
            if nb:
                gb = matmul(g.reshape(-1), a.reshape(_lead(a.shape), a.shape[-1])) if a_nd > 2 else matmul(g, a)
            return ga, gb
        if na:
            ga = matmul(g, b.mT)
        if nb:
            if a_nd > 2 and b_nd == 2:
                # sum over the stack inside one product: (k, B*m) @ (B*m, n)
                gb = matmul(a.reshape(_lead(a.shape), a.shape[-1]).mT, g.reshape(_lead(g.shape), g.shape[-1]))
            else:
                gb = matmul(a.mT, g)
        return ga, gb


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with NumPy's rules: 1-d, 2-d, batched and broadcast batch dims."""
    if not (isinstance(input, Tensor) and isinstance(other, Tensor)):
        raise TypeError(
            f"matmul: expected two tensors, got {type(input).__name__} and {type(other).__name__} "
            "(wrap arrays with ember.tensor)"
        )
    if input.data.ndim == 0 or other.data.ndim == 0:
        raise ShapeError(
            f"matmul: both arguments need at least 1 dimension, got shapes {input.shape} and {other.shape}"
        )
    _same_dtype("matmul", input, other)
    return MatMul.apply(input, other)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """(n, m) @ (m, p) -> (n, p)."""
    _need_ndim("mm", (2, 2), input, mat2)
    if input.shape[1] != mat2.shape[0]:
        raise _matmul_error(input.shape, mat2.shape, "mm")
    _same_dtype("mm", input, mat2)
    return MatMul.apply(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """(b, n, m) @ (b, m, p) -> (b, n, p); batch sizes must be equal (no broadcasting)."""
    _need_ndim("bmm", (3, 3), input, mat2)
    if input.shape[2] != mat2.shape[1]:
        raise _matmul_error(input.shape, mat2.shape, "bmm")
    if input.shape[0] != mat2.shape[0]:
        raise ShapeError(
            f"bmm: batch sizes of {input.shape} and {mat2.shape} must be equal ({input.shape[0]} vs {mat2.shape[0]})"
        )
    _same_dtype("bmm", input, mat2)
    return MatMul.apply(input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """(n, m) @ (m,) -> (n,)."""
    _need_ndim("mv", (2, 1), input, vec)
    if input.shape[1] != vec.shape[0]:
        raise _matmul_error(input.shape, vec.shape, "mv")
    _same_dtype("mv", input, vec)
    return MatMul.apply(input, vec)


def _vector_dot(op: str, a: Tensor, b: Tensor) -> Tensor:
    _need_ndim(op, (1, 1), a, b)
    if a.shape[0] != b.shape[0]:
        raise ShapeError(
            f"{op}: cannot multiply {a.shape} by {b.shape}: dimension 0 of the first ({a.shape[0]}) "
            f"must equal dimension 0 of the second ({b.shape[0]})"
        )
    _same_dtype(op, a, b)
    return MatMul.apply(a, b)


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-d tensors of the same length."""
    return _vector_dot("dot", input, tensor)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """``dot`` with the first argument conjugated; the same as ``dot`` for real tensors."""
    return _vector_dot("vdot", input, other)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two vectors: (n,) x (m,) -> (n, m)."""
    _need_ndim("outer", (1, 1), input, vec2)
    return input.unsqueeze(1) * vec2.unsqueeze(0)


ger = outer


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum over the last dims: out[i..., j...] = sum_k input[i..., k] * other[j..., k]."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise ShapeError(
            f"inner: cannot multiply {input.shape} by {other.shape}: dimension {input.ndim - 1} of the first "
            f"({input.shape[-1]}) must equal dimension {other.ndim - 1} of the second ({other.shape[-1]})"
        )
    return tensordot(input, other, dims=([input.ndim - 1], [other.ndim - 1]))


class AddMatMul(Function):
    """``beta * input + alpha * (a @ b)`` in one output buffer (addmm, baddbmm)."""

    @staticmethod
    def forward(ctx, c, a, b, beta, alpha):
        ctx.save_for_backward(a, b)
        ctx.scale = (beta, alpha)
        out = _gemm.matmul(a.data, b.data)
        if alpha != 1:
            out *= alpha
        if beta != 0:
            cd = c.data
            try:
                fits = np.broadcast_shapes(out.shape, cd.shape) == out.shape
            except ValueError:
                fits = False
            if not fits:
                op = "addmm" if out.ndim == 2 else "baddbmm"
                raise ShapeError(f"{op}: input {c.shape} does not broadcast to the product's shape {out.shape}")
            if beta == 1:
                out += cd
            else:
                out += beta * cd
        return out

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        beta, alpha = ctx.scale
        nc, na, nb, _, _ = ctx.needs_input_grad
        gs = g * alpha if alpha != 1 else g
        gc = (g * beta if beta != 1 else g) if nc else None
        ga = matmul(gs, b.mT) if na else None
        gb = matmul(a.mT, gs) if nb else None
        return gc, ga, gb, None, None


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` for (n, m) @ (m, p); input broadcasts to (n, p)."""
    _need_ndim("addmm", (2, 2), mat1, mat2)
    if mat1.shape[1] != mat2.shape[0]:
        raise _matmul_error(mat1.shape, mat2.shape, "addmm")
    _same_dtype("addmm", mat1, mat2)
    return AddMatMul.apply(input, mat1, mat2, beta, alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``; input broadcasts to (b, n, p)."""
    _need_ndim("baddbmm", (3, 3), batch1, batch2)
    if batch1.shape[2] != batch2.shape[1]:
        raise _matmul_error(batch1.shape, batch2.shape, "baddbmm")
    if batch1.shape[0] != batch2.shape[0]:
        raise ShapeError(
            f"baddbmm: batch sizes of {batch1.shape} and {batch2.shape} must be equal "
            f"({batch1.shape[0]} vs {batch2.shape[0]})"
        )
    _same_dtype("baddbmm", batch1, batch2)
    return AddMatMul.apply(input, batch1, batch2, beta, alpha)


# ------------------------------------------------------------------ linear
# One-row products (batch-1 inference) go to a Numba kernel (ember.kernels.linear), which beat
# OpenBLAS's gemv by 20-25% from 256x256 up and NumPy's call and bias add below that.
_ROW_KERNEL = None


def _row_kernel_fits(x2: np.ndarray, w: np.ndarray) -> bool:
    """Whether ``x2 @ w.T`` is one row that the kernel takes (a C-contiguous float32/float64 weight)."""
    return x2.shape[0] == 1 and w.flags.c_contiguous and w.dtype.kind == "f" and w.itemsize >= 4


def _row_linear(x2: np.ndarray, w: np.ndarray, b) -> np.ndarray:
    """``x2 @ w.T + b`` for a single row ``x2`` (1, in) by ``ember.kernels.linear``."""
    global _ROW_KERNEL
    if _ROW_KERNEL is None:
        from ..kernels.linear import row_linear

        _ROW_KERNEL = row_linear
    out = np.empty((1, w.shape[0]), w.dtype)
    if x2.strides[1] != x2.itemsize:
        x2 = np.ascontiguousarray(x2)
    _ROW_KERNEL(w, x2, out.reshape(-1) if b is None else b.data, b is not None, False, out)
    return out


class Linear(Function):
    """``x @ W.T + b``: one matrix product and an in-place bias add; backward two products and a sum."""

    @staticmethod
    def forward(ctx, x, w, b):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(x if needs[1] else None, w if needs[0] else None)
        xd, wd = x.data, w.data
        x2 = xd if xd.ndim == 2 else xd.reshape(_lead(xd.shape), xd.shape[-1])
        if _row_kernel_fits(x2, wd):
            y = _row_linear(x2, wd, b)
        else:
            y = _gemm.matmul(x2, wd.T)
            if b is not None:
                y += b.data
        return y if xd.ndim == 2 else y.reshape(xd.shape[:-1] + (wd.shape[0],))

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        g2 = g if g.ndim == 2 else g.reshape(_lead(g.shape), g.shape[-1])
        gx = gw = gb = None
        if nx:
            gx = matmul(g2, w)
            if g.ndim != 2:
                gx = gx.reshape(g.shape[:-1] + (w.shape[1],))
        if nw:
            x2 = x if x.ndim == 2 else x.reshape(_lead(x.shape), x.shape[-1])
            gw = matmul(g2.mT, x2)
        if nb:
            gb = g2.sum(0)
        return gx, gw, gb


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``: input (*, in), weight (out, in), bias (out,) -> (*, out)."""
    x, w = input.data, weight.data
    if (
        w.ndim == 2
        and x.ndim
        and x.shape[-1] == w.shape[1]
        and w.dtype is x.dtype
        and (bias is None or (bias.data.dtype is x.dtype and bias.data.shape == w.shape[:1]))
    ):  # the usual call, checked in one go (batch-1 inference pays for every check)
        if not _grad_state.enabled and x.ndim == 2 and _row_kernel_fits(x, w):
            # batch-1 inference: the row kernel, without the Function machinery (nothing is recorded)
            return new_tensor(_row_linear(x, w, bias), False, None, 0)
        return Linear.apply(input, weight, bias)
    if weight.ndim != 2:
        raise ShapeError(f"linear: weight must be 2-d (out_features, in_features), got shape {weight.shape}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ShapeError(
            f"linear: cannot multiply {input.shape} by the transpose of weight {weight.shape}: dimension "
            f"{max(input.ndim - 1, 0)} of the input ({input.shape[-1] if input.ndim else None}) must equal "
            f"dimension 1 of the weight ({weight.shape[1]})"
        )
    if bias is not None and bias.shape not in ((weight.shape[0],), ()):
        raise ShapeError(
            f"linear: bias {bias.shape} does not match weight {weight.shape}: expected shape ({weight.shape[0]},)"
        )
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and t.data.dtype != input.data.dtype:
            raise DTypeError(f"linear: input is {input.dtype} but {name} is {t.dtype}: they must match")
    return Linear.apply(input, weight, bias)


def _row_chain(input: Tensor, layers: list) -> tuple:
    """Linear layers in turn on a one-row input with gradients off (``ember.nn``'s fused inference):
    ``layers`` is ``[(weight, bias or None, relu after it), ...]``. Runs the longest leading run that
    the row kernel takes (one dtype, C-contiguous weights whose widths chain, biases
    of the right shape) as one kernel call (``ember.kernels.linear.row_chain``); returns ``(layers
    run, output)``, or ``(0, None)``."""
    x = input.data
    if x.ndim != 2 or x.shape[0] != 1 or x.dtype.kind != "f" or x.itemsize < 4:
        return 0, None
    dtype, width = x.dtype, x.shape[1]
    ws, bs, has, relus = [], [], [], []
    for weight, bias, relu in layers:
        w = None if weight is None else weight.data
        if w is None or w.dtype is not dtype or w.ndim != 2 or w.shape[1] != width or not _chain_array(w):
            break
        b = _no_bias(dtype) if bias is None else bias.data
        if bias is not None and (b.dtype is not dtype or b.shape != w.shape[:1] or not _chain_array(b)):
            break
        ws.append(w)
        bs.append(b)
        has.append(bias is not None)
        relus.append(relu)
        width = w.shape[0]
    if not ws:
        return 0, None
    if x.strides[1] != x.itemsize:
        x = np.ascontiguousarray(x)
    global _CHAIN_KERNEL
    if _CHAIN_KERNEL is None:
        from ..kernels.linear import row_chain

        _CHAIN_KERNEL = row_chain
    return len(ws), new_tensor(_CHAIN_KERNEL(tuple(ws), tuple(bs), tuple(has), tuple(relus), x), False, None, 0)


_CHAIN_KERNEL = None
_NO_BIAS: dict = {}


def _no_bias(dtype) -> np.ndarray:
    """A stand-in 1-d array of ``dtype`` for a layer without bias (the kernel never reads it)."""
    b = _NO_BIAS.get(dtype)
    if b is None:
        b = _NO_BIAS[dtype] = np.zeros(1, dtype)
    return b


def _chain_array(a: np.ndarray) -> bool:
    """C-contiguous and writeable: the one array type the chain kernel's tuples hold (a read-only or
    strided array is another Numba type, and a tuple of mixed types cannot be indexed in a loop)."""
    flags = a.flags
    return flags.c_contiguous and flags.writeable


def _linear_relu(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``relu(linear(input, weight, bias))`` with gradients off (``ember.nn``'s fused inference): the
    ReLU runs in place on the product's own fresh output, with no second array (one row goes to
    ``_row_chain`` instead, which computes the ReLU in the row kernel)."""
    y = linear(input, weight, bias).data
    kernels = _ew._relu_kernels(y)
    if kernels is None or not y.flags.c_contiguous:
        return new_tensor(_ew._relu_array(y), False, None, 0)
    flat = y.reshape(-1)
    kernels.relu_forward(flat, flat)
    return new_tensor(y, False, None, 0)


# ------------------------------------------------------------------ einsum
_LETTERS = string.ascii_uppercase + string.ascii_lowercase


class _EinsumPlan:
    """A parsed equation for given operand shapes; broadcast (size-1) dims are squeezed out."""

    __slots__ = ("labels", "shapes", "squeezed", "out", "sizes", "equation", "path")

    def __init__(self, labels, shapes, squeezed, out, sizes):
        self.labels = labels  # per operand, after squeezing broadcast dims
        self.shapes = shapes  # the operands' original shapes
        self.squeezed = squeezed  # per operand, its shape after squeezing
        self.out = out
        self.sizes = sizes
        self.equation = ",".join("".join(lab) for lab in labels) + "->" + "".join(out)
        self.path = None  # np.einsum's contraction order for 3+ operands, found once per plan


def _split_term(term: str, equation: str):
    if term.count("...") > 1 or term.replace("...", "").count(".") > 0:
        raise ValueError(f"einsum: invalid ellipsis in {term!r} of equation {equation!r}")
    for c in term.replace("...", ""):
        if c not in _LETTERS:
            raise ValueError(f"einsum: invalid subscript {c!r} in equation {equation!r}: use letters a-z and A-Z")
    if "..." in term:
        pre, post = term.split("...")
        return list(pre), True, list(post)
    return list(term), False, []


@lru_cache(maxsize=512)
def _plan(equation: str, shapes: tuple) -> _EinsumPlan:
    eq = equation.replace(" ", "")
    if eq.count("->") > 1:
        raise ValueError(f"einsum: equation {equation!r} has more than one '->'")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(
            f"einsum: equation {equation!r} names {len(terms)} operand(s) but {len(shapes)} tensor(s) were given"
        )
    parsed = [_split_term(t, equation) for t in terms]
    used = set(c for t in terms for c in t if c in _LETTERS)
    spare = [c for c in _LETTERS if c not in used]
    n_ell = []
    for i, ((pre, has_ell, post), shape) in enumerate(zip(parsed, shapes)):
        named = len(pre) + len(post)
        if has_ell:
            if len(shape) < named:
                raise ShapeError(
                    f"einsum: operand {i} has {len(shape)} dimensions (shape {shape}) but subscripts "
                    f"{terms[i]!r} name at least {named}"
                )
            n_ell.append(len(shape) - named)
        else:
            if len(shape) != named:
                raise ShapeError(
                    f"einsum: operand {i} has {len(shape)} dimensions (shape {shape}) but subscripts "
                    f"{terms[i]!r} name {named}"
                )
            n_ell.append(0)
    n_max = max(n_ell, default=0)
    ell = spare[:n_max]
    labels = [pre + ell[n_max - n :] + post for (pre, _, post), n in zip(parsed, n_ell)]
    if arrow:
        out_pre, out_has_ell, out_post = _split_term(rhs, equation)
        out = out_pre + (ell if out_has_ell else []) + out_post
        present = set(c for lab in labels for c in lab)
        for c in out:
            if c not in present:
                raise ValueError(f"einsum: output subscript {c!r} of {equation!r} does not appear in any operand")
        if len(set(out)) != len(out):
            raise ValueError(f"einsum: output subscripts of {equation!r} repeat a letter")
    else:
        counts = {}
        for lab in labels:
            for c in lab:
                counts[c] = counts.get(c, 0) + 1
        out = ell + sorted(c for c, n in counts.items() if n == 1 and c not in ell)
    # sizes, with size-1 dims broadcasting
    sizes = {}
    for i, (lab, shape) in enumerate(zip(labels, shapes)):
        for c, n in zip(lab, shape):
            old = sizes.get(c)
            if old is None or old == 1:
                sizes[c] = n
            elif n != old and n != 1:
                raise ShapeError(
                    f"einsum: subscript {c!r} has size {old} in an earlier operand but size {n} in operand {i} "
                    f"(shapes {', '.join(str(s) for s in shapes)})"
                )
    squeezed_labels, squeezed_shapes = [], []
    for i, (lab, shape) in enumerate(zip(labels, shapes)):
        keep = [j for j, (c, n) in enumerate(zip(lab, shape)) if not (n == 1 and sizes[c] != 1)]
        new_lab = [lab[j] for j in keep]
        for j, c in enumerate(lab):
            if lab.count(c) > 1 and shape[j] != sizes[c]:
                raise ShapeError(
                    f"einsum: repeated subscript {c!r} in operand {i} spans dims of different sizes {shape}"
                )
        squeezed_labels.append(new_lab)
        squeezed_shapes.append(tuple(shape[j] for j in keep))
    return _EinsumPlan(squeezed_labels, shapes, squeezed_shapes, out, sizes)


def _unique(labels) -> list:
    seen = []
    for c in labels:
        if c not in seen:
            seen.append(c)
    return seen


def _reduce_single(x: np.ndarray, labels: list, keep: set):
    """Take diagonals of repeated subscripts and sum subscripts nobody else needs."""
    target = [c for c in _unique(labels) if c in keep]
    if target == labels:
        return x, labels
    return np.einsum("".join(labels) + "->" + "".join(target), x), target


def _contract_pair(x, lx, y, ly, out) -> np.ndarray:
    """Two-operand einsum as one (batched) matrix product."""
    x, lx = _reduce_single(x, lx, set(ly) | set(out))
    y, ly = _reduce_single(y, ly, set(lx) | set(out))
    size = dict(zip(lx, x.shape))
    size.update(zip(ly, y.shape))
    batch = [c for c in out if c in lx and c in ly]
    contracted = [c for c in lx if c in ly and c not in out]
    x_only = [c for c in lx if c not in ly]
    y_only = [c for c in ly if c not in lx]
    bs = [size[c] for c in batch]
    m = math.prod([size[c] for c in x_only])
    k = math.prod([size[c] for c in contracted])
    n = math.prod([size[c] for c in y_only])
    xp = x.transpose([lx.index(c) for c in batch + x_only + contracted])
    yp = y.transpose([ly.index(c) for c in batch + contracted + y_only])
    if batch:
        b = math.prod(bs)
        r = np.matmul(xp.reshape(b, m, k), yp.reshape(b, k, n))
    else:
        r = np.matmul(xp.reshape(m, k), yp.reshape(k, n))
    cur = batch + x_only + y_only
    r = r.reshape(bs + [size[c] for c in x_only] + [size[c] for c in y_only])
    perm = [cur.index(c) for c in out]
    return r if perm == list(range(len(perm))) else r.transpose(perm)


def _einsum_arrays(plan: _EinsumPlan, arrays) -> np.ndarray:
    labels, out = plan.labels, plan.out
    if len(arrays) == 2:
        return _contract_pair(arrays[0], labels[0], arrays[1], labels[1], out)
    if len(arrays) == 1:
        r = np.einsum(plan.equation, arrays[0])
        return r.copy() if np.may_share_memory(r, arrays[0]) else r
    if plan.path is None:
        plan.path = np.einsum_path(plan.equation, *arrays, optimize="greedy")[0][1:]
    # contract pairs in NumPy's greedy order, each as one matrix product
    ops = list(zip(arrays, labels))
    for step in plan.path:
        if len(step) != 2:
            return np.einsum(plan.equation, *arrays, optimize=True)
        i, j = sorted(step)
        y, ly = ops.pop(j)
        x, lx = ops.pop(i)
        needed = set(out).union(*(lab for _, lab in ops))
        keep = [c for c in _unique(lx + ly) if c in needed]
        ops.append((_contract_pair(x, lx, y, ly, keep), keep))
    r, lab = ops[0]
    if lab != out:
        r = np.einsum("".join(lab) + "->" + "".join(out), r)
    return r


class Einsum(Function):
    @staticmethod
    def forward(ctx, plan, *operands):
        ctx.save_for_backward(*operands)
        ctx.plan = plan
        arrays = [t.data if t.data.shape == s else t.data.reshape(s) for t, s in zip(operands, plan.squeezed)]
        return _einsum_arrays(plan, arrays)

    @staticmethod
    def backward(ctx, g):
        plan = ctx.plan
        saved = ctx.saved_tensors
        ops = [t if t.shape == s else t.reshape(s) for t, s in zip(saved, plan.squeezed)]
        grads = [None]
        for k, need in enumerate(ctx.needs_input_grad[1:]):
            if not need:
                grads.append(None)
                continue
            others = [(g, plan.out)] + [(ops[j], plan.labels[j]) for j in range(len(ops)) if j != k]
            present = set(c for _, lab in others for c in lab)
            lab_k = plan.labels[k]
            uniq = _unique(lab_k)
            target = [c for c in uniq if c in present]
            eq = ",".join("".join(lab) for _, lab in others) + "->" + "".join(target)
            gk = einsum(eq, *[t for t, _ in others])
            if len(target) < len(uniq):  # subscripts only operand k has: the gradient is constant along them
                gk = gk.reshape([plan.sizes[c] if c in target else 1 for c in uniq]).expand(
                    [plan.sizes[c] for c in uniq]
                )
            if len(uniq) < len(lab_k):
                gk = DiagEmbed.apply(gk, "".join(uniq), "".join(lab_k), plan.sizes)
            if gk.shape != plan.shapes[k]:
                gk = gk.reshape(plan.shapes[k])
            grads.append(gk)
        return tuple(grads)


class DiagEmbed(Function):
    """Zeros with ``g`` on the generalised diagonal (the gradient of ``einsum('ii->i')`` and kin)."""

    @staticmethod
    def forward(ctx, g, uniq, full, sizes):
        ctx.subs = (uniq, full)
        out = np.zeros([sizes[c] for c in full], g.data.dtype)
        nd = len(uniq)
        idx = tuple(np.arange(sizes[c]).reshape([-1 if u == c else 1 for u in uniq]) if nd else 0 for c in full)
        out[idx] = g.data
        return out

    @staticmethod
    def backward(ctx, gg):
        uniq, full = ctx.subs
        return einsum(full + "->" + uniq, gg), None, None, None


def _sublist_equation(args) -> tuple:
    """``einsum(a, [0, 1], b, [1, 2], [0, 2])`` as ``('ab,bc->ac', a, b)``."""

    def letters(sub):
        return "".join("..." if s is Ellipsis else _LETTERS[s] for s in sub)

    ops, terms = [], []
    i = 0
    while i + 1 < len(args):
        ops.append(args[i])
        terms.append(letters(args[i + 1]))
        i += 2
    eq = ",".join(terms)
    if i < len(args):
        eq += "->" + letters(args[i])
    return eq, ops


def einsum(equation, *operands) -> Tensor:
    """Einstein summation: any equation, implicit output, ``...``, broadcasting, repeated subscripts.

    Two operands contract as one batched matrix product; three or more use
    ``np.einsum(optimize=True)``. Differentiable in every operand.
    Example: ``einsum('bhqd,bhkd->bhqk', q, k)``.
    """
    if not isinstance(equation, str):
        equation, operands = _sublist_equation((equation, *operands))
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for i, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum: operand {i} is a {type(t).__name__}, not a Tensor")
    if len({t.data.dtype for t in operands}) > 1:
        raise DTypeError(f"einsum: operands must have the same dtype, got {', '.join(str(t.dtype) for t in operands)}")
    plan = _plan(equation, tuple(t.data.shape for t in operands))
    return Einsum.apply(plan, *operands)


# ------------------------------------------------------------------ tensordot, kron, trace
def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract the last ``dims`` dims of ``a`` with the first of ``b`` (or the listed pairs)."""
    if isinstance(dims, (int, np.integer)):
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: dims={dims} is out of range for shapes {a.shape} and {b.shape}")
        da = list(range(a.ndim - dims, a.ndim))
        db = list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, (int, np.integer)) else list(da)
        db = [db] if isinstance(db, (int, np.integer)) else list(db)
        if len(da) != len(db):
            raise ValueError(f"tensordot: dims {dims} must list as many dims of a as of b")
        da = [d + a.ndim if d < 0 else d for d in da]
        db = [d + b.ndim if d < 0 else d for d in db]
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise ShapeError(
                f"tensordot: cannot contract dimension {x} of {a.shape} (size {a.shape[x]}) with dimension {y} "
                f"of {b.shape} (size {b.shape[y]})"
            )
    _same_dtype("tensordot", a, b)
    free_a = [d for d in range(a.ndim) if d not in da]
    free_b = [d for d in range(b.ndim) if d not in db]
    k = math.prod([a.shape[d] for d in da])
    a2 = a.permute(free_a + da).reshape(math.prod([a.shape[d] for d in free_a]), k)
    b2 = b.permute(db + free_b).reshape(k, math.prod([b.shape[d] for d in free_b]))
    out = MatMul.apply(a2, b2)
    return out.reshape(tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b))


def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product: out[i*p + k, j*q + l] = input[i, j] * other[k, l] (any number of dims)."""
    nd = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (nd - input.ndim) + input.shape)
    b = other.reshape((1,) * (nd - other.ndim) + other.shape)
    a_shape = sum(((n, 1) for n in a.shape), ())
    b_shape = sum(((1, n) for n in b.shape), ())
    out = a.reshape(a_shape) * b.reshape(b_shape)
    return out.reshape(tuple(x * y for x, y in zip(a.shape, b.shape)))


class Trace(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.meta = (a.data.shape, a.data.dtype)
        out = np.trace(a.data)
        return np.asarray(out if a.data.dtype.kind == "f" else out.astype(np.int64))

    @staticmethod
    def backward(ctx, g):
        shape, dtype = ctx.meta
        return g * Tensor(np.eye(*shape, dtype=dtype))


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a 2-d tensor (any shape, not only square)."""
    if input.ndim != 2:
        raise ShapeError(f"trace: expected a 2-d tensor, got shape {input.shape}")
    return Trace.apply(input)


# ------------------------------------------------------------------ ember.linalg as methods
def det(input: Tensor) -> Tensor:
    """Determinant of (*, n, n) matrices; see ``ember.linalg.det``."""
    from .. import linalg

    return linalg.det(input)


def inverse(input: Tensor) -> Tensor:
    """Inverse of (*, n, n) matrices; see ``ember.linalg.inv``."""
    from .. import linalg

    return linalg.inv(input)


def slogdet(input: Tensor):
    """(sign, log|det|) of (*, n, n) matrices; see ``ember.linalg.slogdet``."""
    from .. import linalg

    return linalg.slogdet(input)


def logdet(input: Tensor) -> Tensor:
    """log(det(input)): nan for a negative determinant, -inf for a singular matrix."""
    from .. import linalg
    from .elementwise import where

    sign, logabs = linalg.slogdet(input)
    return where(sign < 0, float("nan"), logabs)
