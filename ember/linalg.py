# ruff: noqa: N803 - PyTorch names its matrix arguments A and B
"""``ember.linalg``: norms, inverses, determinants, solves and decompositions (``torch.linalg``).

Matrices are the last two dims of a tensor, (*, m, n), so every function takes
batches. Gradients of inv, det, slogdet, solve, cholesky and the norms are ember
ops (differentiable again); those of eigh, svd and qr are computed in NumPy and
raise an ``AutogradError`` if differentiated a second time.

Example:
    >>> A = ember.randn(3, 3)
    >>> x = ember.linalg.solve(A @ A.mT + ember.eye(3), ember.ones(3))
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .autograd.function import Function
from .autograd.grad_mode import is_grad_enabled
from .errors import AutogradError, DTypeError, EmberError, ShapeError
from .ops._util import norm_dim, norm_dims
from .ops.elementwise import abs as _abs
from .ops.elementwise import sign, where
from .ops.linalg import dot, matmul, mm, mv, vdot
from .tensor import Tensor

__all__ = [
    "LinAlgError",
    "norm",
    "vector_norm",
    "matrix_norm",
    "inv",
    "det",
    "slogdet",
    "solve",
    "cholesky",
    "qr",
    "svd",
    "svdvals",
    "eigh",
    "eigvalsh",
    "matrix_power",
    "multi_dot",
    "vecdot",
    "matmul",
    "mm",
    "mv",
    "dot",
    "vdot",
]


class LinAlgError(EmberError, RuntimeError):
    """A matrix the operation cannot handle: singular, not positive-definite, no convergence."""


class SlogdetResult(NamedTuple):
    sign: Tensor
    logabsdet: Tensor


class QRResult(NamedTuple):
    Q: Tensor
    R: Tensor


class SVDResult(NamedTuple):
    U: Tensor
    S: Tensor
    Vh: Tensor


class EighResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


# ------------------------------------------------------------------ helpers
def _float_input(op: str, A: Tensor) -> None:
    if A.data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating point tensor, got {A.dtype}")


def _square(op: str, A: Tensor) -> None:
    _float_input(op, A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ShapeError(
            f"{op}: A must be a (batch of) square matrix, got shape {A.shape}"
            + (f" ({A.shape[-2]} by {A.shape[-1]} matrices)" if A.ndim >= 2 else "")
        )


def _at_least_2d(op: str, A: Tensor) -> None:
    _float_input(op, A)
    if A.ndim < 2:
        raise ShapeError(f"{op}: A must have at least 2 dimensions (*, m, n), got shape {A.shape}")


def _mT(x: np.ndarray) -> np.ndarray:  # noqa: N802
    return np.swapaxes(x, -1, -2)


def _eye_like(n: int, dtype) -> Tensor:
    return Tensor(np.eye(n, dtype=dtype))


class _FirstOrderOnly(Function):
    """A gradient computed in NumPy: using it in a second derivative raises instead of being wrong.

    The op's input comes along (unused) so that the result depends on it in the graph.
    """

    @staticmethod
    def forward(ctx, name, fn, a, *grads):
        ctx.name = name
        return fn(*[None if g is None else g.data for g in grads])

    @staticmethod
    def backward(ctx, *gg):
        raise AutogradError(f"{ctx.name}: second derivatives are not implemented (its gradient is computed in NumPy)")


def _numpy_grad(name: str, fn, a: Tensor, *grads) -> Tensor:
    return _FirstOrderOnly.apply(name, fn, a, *grads)


def _nonzero_or_none(g: Tensor | None):
    """The engine passes zeros for outputs that got no gradient; treat those as absent."""
    return None if g is None or not g.data.any() else g


# ------------------------------------------------------------------ norms
class VectorNorm(Function):
    save_output = True

    @staticmethod
    def forward(ctx, x, ord, dims, keepdim):
        ctx.save_for_backward(x)
        ctx.meta = (ord, dims, keepdim)
        d = x.data
        if ord == 2:
            return np.sqrt(np.sum(d * d, axis=dims, keepdims=keepdim))
        a = np.abs(d)
        if ord == 1:
            return np.sum(a, axis=dims, keepdims=keepdim)
        if ord == math.inf:
            return np.max(a, axis=dims, keepdims=keepdim)
        if ord == -math.inf:
            return np.min(a, axis=dims, keepdims=keepdim)
        if ord == 0:
            return np.sum(a != 0, axis=dims, keepdims=keepdim).astype(d.dtype)
        with np.errstate(divide="ignore"):
            return np.power(np.sum(np.power(a, ord), axis=dims, keepdims=keepdim), 1.0 / ord).astype(d.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        ord, dims, keepdim = ctx.meta
        out = ctx.output
        if not keepdim and dims:
            kshape = tuple(1 if i in dims else n for i, n in enumerate(x.shape))
            g = g.reshape(kshape)
            out = out.reshape(kshape)
        if ord == 2:
            return x * (g / where(out == 0, 1.0, out)), None, None, None  # x is 0 where the norm is
        if ord == 1:
            return sign(x) * g, None, None, None
        if ord == 0:
            return x * 0 * g, None, None, None
        if ord in (math.inf, -math.inf):
            hit = _abs(x) == out
            count = hit.sum(dims, keepdim=True)
            return sign(x) * hit * (g / count), None, None, None
        a = _abs(x)
        scale = g / where(out == 0, 1.0, out) ** (ord - 1)
        return where(x == 0, 0.0, sign(x) * a ** (ord - 1)) * scale, None, None, None


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``(sum |x|^ord)^(1/ord)`` over ``dim`` (all elements by default); ord may be inf, -inf or 0.

    The gradient at a zero vector is zero (as in PyTorch); ties of the inf-norm share it evenly.
    """
    if dtype is not None:
        x = x.to(dtype)
    _float_input("linalg.vector_norm", x)
    if isinstance(ord, str):
        raise ValueError(f"linalg.vector_norm: ord must be a number, got {ord!r} (use matrix_norm for 'fro'/'nuc')")
    dims = norm_dims(dim, x.ndim, "linalg.vector_norm")
    if x.data.size == 0 and ord < 0 or (x.data.size == 0 and ord == math.inf):
        raise ShapeError(f"linalg.vector_norm: ord={ord} of an empty tensor {x.shape} is not defined")
    return VectorNorm.apply(x, float(ord), dims, keepdim)


class _Extreme(Function):
    """max/min over one dim, keeping it; ties share the gradient evenly."""

    save_output = True

    @staticmethod
    def forward(ctx, x, dim, largest):
        ctx.save_for_backward(x)
        ctx.dim = dim
        return (np.max if largest else np.min)(x.data, axis=dim, keepdims=True)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        hit = x == ctx.output
        return hit * (g / hit.sum(ctx.dim, keepdim=True)), None, None


def _drop_dims(t: Tensor, dims: tuple) -> Tensor:
    return t.reshape(tuple(n for i, n in enumerate(t.shape) if i not in dims))


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:
    """Matrix norm over the two dims ``dim``: 'fro', 'nuc', inf, -inf, 1, -1, 2, -2 (torch.linalg's)."""
    if dtype is not None:
        A = A.to(dtype)
    _at_least_2d("linalg.matrix_norm", A)
    if len(dim) != 2:
        raise ValueError(f"linalg.matrix_norm: dim must be a pair of dims, got {dim}")
    d0, d1 = (norm_dim(d, A.ndim, "linalg.matrix_norm") for d in dim)
    if d0 == d1:
        raise ValueError(f"linalg.matrix_norm: dims must be different, got {dim}")
    both = tuple(sorted((d0, d1)))
    if ord == "fro":
        return vector_norm(A, 2, both, keepdim)
    if ord == "nuc" or ord in (2, -2):
        rest = [i for i in range(A.ndim) if i not in both]
        s = svdvals(A.permute(rest + [d0, d1]))
        r = s.sum(-1) if ord == "nuc" else (s[..., 0] if ord == 2 else s[..., -1])
        if keepdim:
            r = r.reshape(tuple(1 if i in both else n for i, n in enumerate(A.shape)))
        return r
    if ord in (1, -1, math.inf, -math.inf):
        inner, outer = (d0, d1) if ord in (1, -1) else (d1, d0)
        r = _Extreme.apply(_abs(A).sum(inner, keepdim=True), outer, ord > 0)
        return r if keepdim else _drop_dims(r, both)
    raise ValueError(f"linalg.matrix_norm: ord must be 'fro', 'nuc', inf, -inf, 1, -1, 2 or -2, got {ord!r}")


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``torch.linalg.norm``: a vector norm for one ``dim`` (or a 1-d input), a matrix norm for two.

    With ``dim=None`` and ``ord=None`` it is the 2-norm of all elements.
    """
    if dim is None:
        if ord is None:
            return vector_norm(A, 2, None, keepdim, dtype=dtype)
        if A.ndim == 1:
            return vector_norm(A, ord, None, keepdim, dtype=dtype)
        if A.ndim == 2:
            return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
        raise ShapeError(
            f"linalg.norm: with ord={ord!r} and dim=None the input must be 1-d or 2-d, got shape {A.shape}"
        )
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if len(dims) == 1:
        return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
    if len(dims) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
    raise ValueError(f"linalg.norm: dim must be an int or a pair of ints, got {dim}")


# ------------------------------------------------------------------ inverse, determinants, solve
def _singular(op: str, A: np.ndarray) -> LinAlgError:
    return LinAlgError(f"{op}: the input matrix (shape {A.shape}) is singular, the operation cannot be completed")


class Inv(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a):
        try:
            return np.linalg.inv(a.data)
        except np.linalg.LinAlgError:
            raise _singular("linalg.inv", a.data) from None

    @staticmethod
    def backward(ctx, g):
        ainv_t = ctx.output.mT
        return -matmul(matmul(ainv_t, g), ainv_t)


def inv(A: Tensor) -> Tensor:
    """Inverse of a (batch of) square matrix (*, n, n); raises LinAlgError if singular."""
    _square("linalg.inv", A)
    return Inv.apply(A)


def _cofactor(a: np.ndarray) -> np.ndarray:
    """Cofactor matrix (the gradient of det) by SVD, valid for singular matrices too."""
    u, s, vh = np.linalg.svd(a)
    n = s.shape[-1]
    others = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(n)], axis=-1)
    sign = np.linalg.det(u) * np.linalg.det(vh)
    return sign[..., None, None] * (u * others[..., None, :]) @ vh


class Det(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.asarray(np.linalg.det(a.data))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        d = ctx.output
        if np.all(d.data != 0):
            return (g * d).unsqueeze(-1).unsqueeze(-1) * inv(a).mT
        cof = _numpy_grad("linalg.det at a singular matrix", lambda: _cofactor(a.data), a)
        return g.unsqueeze(-1).unsqueeze(-1) * cof


def det(A: Tensor) -> Tensor:
    """Determinant of a (batch of) square matrix (*, n, n) -> (*)."""
    _square("linalg.det", A)
    return Det.apply(A)


class Slogdet(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        sign_, logabs = np.linalg.slogdet(a.data)
        return np.asarray(sign_), np.asarray(logabs)

    @staticmethod
    def backward(ctx, g_sign, g_logabs):
        (a,) = ctx.saved_tensors
        return g_logabs.unsqueeze(-1).unsqueeze(-1) * inv(a).mT


def slogdet(A: Tensor) -> SlogdetResult:
    """(sign, log|det|) of a (batch of) square matrix: stable where det over- or underflows."""
    _square("linalg.slogdet", A)
    s, logabs = Slogdet.apply(A)
    return SlogdetResult(s, logabs)


class Solve(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a, b, vector):
        ctx.save_for_backward(a)
        ctx.vector = vector
        bd = b.data[..., None] if vector else b.data
        try:
            x = np.linalg.solve(a.data, bd)
        except np.linalg.LinAlgError:
            raise _singular("linalg.solve", a.data) from None
        return x[..., 0] if vector else x

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        x = ctx.output
        na, nb, _ = ctx.needs_input_grad
        gb = Solve.apply(a.mT, g, ctx.vector)
        ga = None
        if na:
            ga = -(gb.unsqueeze(-1) * x.unsqueeze(-2)) if ctx.vector else -matmul(gb, x.mT)
        return ga, (gb if nb else None), None


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """The X with ``A @ X = B`` (or ``X @ A = B`` with left=False); A (*, n, n), B (*, n) or (*, n, k).

    Batch dims broadcast. B is a batch of vectors when it is 1-d or has shape A.shape[:-1].
    """
    _square("linalg.solve", A)
    _float_input("linalg.solve", B)
    if A.data.dtype != B.data.dtype:
        raise DTypeError(f"linalg.solve: A and B must have the same dtype, got {A.dtype} and {B.dtype}")
    if not left:
        if B.ndim < 2:
            raise ShapeError(f"linalg.solve: left=False needs B of shape (*, k, n), got {B.shape}")
        return solve(A.mT, B.mT).mT
    n = A.shape[-1]
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    rows = B.shape[-1] if vector else (B.shape[-2] if B.ndim >= 2 else None)
    if rows != n:
        raise ShapeError(
            f"linalg.solve: A {A.shape} and B {B.shape} do not fit: B must have {n} rows "
            f"(shape (*, {n}) or (*, {n}, k)), got {rows}"
        )
    try:
        np.broadcast_shapes(A.shape[:-2], B.shape[:-1] if vector else B.shape[:-2])
    except ValueError:
        raise ShapeError(f"linalg.solve: batch dimensions of A {A.shape} and B {B.shape} do not broadcast") from None
    return Solve.apply(A, B, vector)


def _tril_mask(n: int, dtype, diag_scale: float = 1.0) -> Tensor:
    m = np.tril(np.ones((n, n), dtype))
    np.fill_diagonal(m, diag_scale)
    return Tensor(m)


class Cholesky(Function):
    save_output = True

    @staticmethod
    def forward(ctx, a):
        try:
            return np.linalg.cholesky(a.data)
        except np.linalg.LinAlgError:
            raise LinAlgError(
                f"linalg.cholesky: the input (shape {a.shape}) is not positive-definite, the factorization "
                "could not be completed"
            ) from None

    @staticmethod
    def backward(ctx, g):
        # Murray (2016): A_bar = L^-T Phi(L^T L_bar) L^-1, symmetrised; Phi keeps the lower triangle, halves the diagonal
        L = ctx.output
        n = L.shape[-1]
        gl = g * _tril_mask(n, g.data.dtype)
        p = matmul(L.mT, gl) * _tril_mask(n, g.data.dtype, 0.5)
        linv = inv(L)
        s = matmul(matmul(linv.mT, p), linv)
        return (s + s.mT) * 0.5


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """L with ``A = L @ L.mT`` for symmetric positive-definite A (*, n, n); ``upper`` gives L.mT."""
    _square("linalg.cholesky", A)
    L = Cholesky.apply(A)
    return L.mT if upper else L


# ------------------------------------------------------------------ decompositions (first-order gradients)
def _copyltu(m: np.ndarray) -> np.ndarray:
    low = np.tril(m, -1)
    return low + _mT(low) + np.tril(np.triu(m))


class QR(Function):
    @staticmethod
    def forward(ctx, a, mode):
        ctx.save_for_backward(a)
        q, r = np.linalg.qr(a.data, mode="complete" if mode == "complete" else "reduced")
        ctx.meta = (q, r, mode, a.shape)
        return q, r

    @staticmethod
    def backward(ctx, gq, gr):
        q, r, mode, shape = ctx.meta
        m, n = shape[-2], shape[-1]
        if m < n or (mode == "complete" and m > n):
            raise AutogradError(
                f"linalg.qr: the gradient is implemented for reduced QR of tall or square inputs, got shape {shape} "
                f"with mode={mode!r}"
            )

        def grad(gq_, gr_):
            gq_ = np.zeros_like(q) if gq_ is None else gq_
            gr_ = np.zeros_like(r) if gr_ is None else gr_
            mm_ = r @ _mT(gr_) - _mT(gq_) @ q
            b = gq_ + q @ _copyltu(mm_)
            # b @ R^-T, as a solve: (R^-1 b^T)^T
            return _mT(np.linalg.solve(r, _mT(b)))

        (a,) = ctx.saved_tensors
        return _numpy_grad("linalg.qr", grad, a, _nonzero_or_none(gq), _nonzero_or_none(gr)), None


def qr(A: Tensor, mode: str = "reduced") -> QRResult:
    """Q with orthonormal columns and upper-triangular R with ``A = Q @ R``; mode 'reduced', 'complete' or 'r'."""
    _at_least_2d("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    q, r = QR.apply(A, mode)
    if mode == "r":
        return QRResult(Tensor(np.zeros(0, A.data.dtype)), r)
    return QRResult(q, r)


class SVD(Function):
    @staticmethod
    def forward(ctx, a, full_matrices):
        ctx.save_for_backward(a)
        try:
            u, s, vh = np.linalg.svd(a.data, full_matrices=full_matrices)
        except np.linalg.LinAlgError:
            raise LinAlgError(f"linalg.svd: the algorithm did not converge for input of shape {a.shape}") from None
        ctx.meta = (u, s, vh, full_matrices, a.shape)
        return u, s, vh

    @staticmethod
    def backward(ctx, gu, gs, gvh):
        u, s, vh, full, shape = ctx.meta
        m, n = shape[-2], shape[-1]
        k = min(m, n)
        gu, gs, gvh = _nonzero_or_none(gu), _nonzero_or_none(gs), _nonzero_or_none(gvh)
        if full and m != n and (gu is not None or gvh is not None):
            raise AutogradError(
                "linalg.svd: the gradient through U or Vh needs full_matrices=False (the extra columns of a "
                f"full SVD of a {m}x{n} matrix are not unique)"
            )
        u, vh = u[..., :, :k], vh[..., :k, :]

        def grad(gu_, gs_, gvh_):
            if gu_ is not None:
                gu_ = gu_[..., :, :k]
            if gvh_ is not None:
                gvh_ = gvh_[..., :k, :]
            return _svd_backward(gu_, gs_, gvh_, u, s, vh)

        (a,) = ctx.saved_tensors
        return _numpy_grad("linalg.svd", grad, a, gu, gs, gvh), None


def _svd_backward(gu, gs, gvh, u, s, vh) -> np.ndarray:
    """PyTorch's real SVD gradient (reduced U (m, k), S (k,), Vh (k, n))."""
    m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
    if gu is None and gvh is None:
        return u @ (gs[..., :, None] * vh)
    s2 = s * s
    e = s2[..., None, :] - s2[..., :, None]
    idx = np.arange(k)
    e[..., idx, idx] = 1
    ga = np.zeros(s.shape[:-1] + (k, k), s.dtype)
    if gu is not None:
        uhgu = _mT(u) @ gu
        ga = ga + (uhgu - _mT(uhgu)) * s[..., None, :]
    if gvh is not None:
        vhgv = vh @ _mT(gvh)
        ga = ga + s[..., :, None] * (vhgv - _mT(vhgv))
    ga = ga / e
    ga[..., idx, idx] = 0 if gs is None else gs
    if m > k and gu is not None:
        ga = u @ ga
        gu_sinv = gu / s[..., None, :]
        ga = (ga + gu_sinv - u @ (_mT(u) @ gu_sinv)) @ vh
    elif n > k and gvh is not None:
        ga = ga @ vh
        gvh_sinv = gvh / s[..., :, None]
        ga = u @ (ga + gvh_sinv - (gvh_sinv @ _mT(vh)) @ vh)
    else:
        ga = u @ ga @ vh
    return ga


def svd(A: Tensor, full_matrices: bool = True) -> SVDResult:
    """``A = U @ diag(S) @ Vh`` with singular values S in descending order; A (*, m, n)."""
    _at_least_2d("linalg.svd", A)
    u, s, vh = SVD.apply(A, full_matrices)
    return SVDResult(u, s, vh)


def svdvals(A: Tensor) -> Tensor:
    """Singular values of A (*, m, n), descending; differentiable (U diag(g) Vh)."""
    _at_least_2d("linalg.svdvals", A)
    if not (A.requires_grad and is_grad_enabled()):
        return Tensor(np.linalg.svd(A.data, compute_uv=False))
    return SVD.apply(A, False)[1]


class Eigh(Function):
    @staticmethod
    def forward(ctx, a, uplo):
        ctx.save_for_backward(a)
        try:
            w, v = np.linalg.eigh(a.data, UPLO=uplo)
        except np.linalg.LinAlgError:
            raise LinAlgError(f"linalg.eigh: the algorithm did not converge for input of shape {a.shape}") from None
        ctx.meta = (w, v)
        return w, v

    @staticmethod
    def backward(ctx, gw, gv):
        w, v = ctx.meta

        def grad(gw_, gv_):
            n = w.shape[-1]
            idx = np.arange(n)
            inner = np.zeros(w.shape[:-1] + (n, n), w.dtype)
            if gv_ is not None:
                e = w[..., None, :] - w[..., :, None]
                e[..., idx, idx] = 1
                inner = (_mT(v) @ gv_) / e
                inner[..., idx, idx] = 0
            if gw_ is not None:
                inner[..., idx, idx] = gw_
            return v @ inner @ _mT(v)

        (a,) = ctx.saved_tensors
        return _numpy_grad("linalg.eigh", grad, a, _nonzero_or_none(gw), _nonzero_or_none(gv)), None


def eigh(A: Tensor, UPLO: str = "L") -> EighResult:  # noqa: N803
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric A (*, n, n), reading one triangle."""
    _square("linalg.eigh", A)
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    w, v = Eigh.apply(A, UPLO)
    return EighResult(w, v)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:  # noqa: N803
    """Eigenvalues (ascending) of symmetric A (*, n, n)."""
    return eigh(A, UPLO).eigenvalues


# ------------------------------------------------------------------ composites
def matrix_power(A: Tensor, n: int) -> Tensor:
    """A @ A @ ... (n times) by repeated squaring; n=0 gives the identity, n<0 powers of inv(A)."""
    _square("linalg.matrix_power", A)
    if n == 0:
        return Tensor(np.broadcast_to(np.eye(A.shape[-1], dtype=A.data.dtype), A.shape).copy()) + A * 0
    if n < 0:
        A, n = inv(A), -n
    result = None
    base = A
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


def multi_dot(tensors) -> Tensor:
    """Product of a chain of matrices; the first and last may be vectors."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise ValueError(f"linalg.multi_dot: expected at least 2 tensors, got {len(tensors)}")
    out = tensors[0]
    for t in tensors[1:]:
        out = matmul(out, t)
    return out


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """Dot product of the vectors along ``dim`` (broadcasting the rest)."""
    return (x * y).sum(dim)
