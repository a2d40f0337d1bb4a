"""Check analytic gradients against central finite differences in float64."""

from __future__ import annotations

import numpy as np

from ..errors import AutogradError

__all__ = ["gradcheck", "gradgradcheck"]


def _flatten_outputs(out):
    return out if isinstance(out, (tuple, list)) else (out,)


def _numerical_jacobian(fn, inputs, i, eps):
    from ..tensor import Tensor
    from .grad_mode import no_grad

    x = inputs[i]
    with no_grad():
        outs = [o.data.astype(np.float64).ravel() for o in _flatten_outputs(fn(*inputs)) if isinstance(o, Tensor)]
    n_out = sum(o.size for o in outs)
    jac = np.zeros((x.data.size, n_out))
    flat = x.data.reshape(-1)  # a view: perturb in place
    for j in range(flat.size):
        orig = flat[j]
        with no_grad():
            flat[j] = orig + eps
            plus = np.concatenate(
                [o.data.astype(np.float64).ravel() for o in _flatten_outputs(fn(*inputs)) if isinstance(o, Tensor)]
                or [np.zeros(0)]
            )
            flat[j] = orig - eps
            minus = np.concatenate(
                [o.data.astype(np.float64).ravel() for o in _flatten_outputs(fn(*inputs)) if isinstance(o, Tensor)]
                or [np.zeros(0)]
            )
            flat[j] = orig
        jac[j] = (plus - minus) / (2 * eps)
    return jac


def _analytical_jacobian(fn, inputs, diff_idx):
    from ..tensor import Tensor
    from . import grad

    outs = [o for o in _flatten_outputs(fn(*inputs)) if isinstance(o, Tensor)]
    sizes = [o.data.size for o in outs]
    n_out = sum(sizes)
    jacs = [np.zeros((inputs[i].data.size, n_out)) for i in diff_idx]
    col = 0
    for o, size in zip(outs, sizes):
        if not o.requires_grad:  # no gradient path: its Jacobian columns stay zero
            col += size
            continue
        for k in range(size):
            seed = np.zeros(size, dtype=o.data.dtype)
            seed[k] = 1
            gs = grad(
                o, [inputs[i] for i in diff_idx], Tensor(seed.reshape(o.shape)), retain_graph=True, allow_unused=True
            )
            for jac, g in zip(jacs, gs):
                if g is not None:
                    jac[:, col] = g.data.astype(np.float64).ravel()
            col += 1
    return jacs


def gradcheck(
    fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True
) -> bool:
    """Compare the gradient of ``fn`` at ``inputs`` with central differences.

    Inputs that require grad should be float64. Returns True, or raises an
    ``AutogradError`` naming the input and the largest mismatch.
    """
    from ..tensor import Tensor

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff_idx:
        raise AutogradError("gradcheck: no input requires grad")
    for i in diff_idx:
        if inputs[i].data.dtype != np.float64:
            raise AutogradError(f"gradcheck: input {i} is {inputs[i].dtype}; use float64 for finite differences")
    analytical = _analytical_jacobian(fn, inputs, diff_idx)
    for i, jac_a in zip(diff_idx, analytical):
        jac_n = _numerical_jacobian(fn, inputs, i, eps)
        if not np.allclose(jac_a, jac_n, atol=atol, rtol=rtol):
            err = np.abs(jac_a - jac_n)
            k = np.unravel_index(np.argmax(err), err.shape)
            msg = (
                f"gradcheck: Jacobian mismatch for input {i}: largest difference {err[k]:.3g} at "
                f"(input element {k[0]}, output element {k[1]}): analytical {jac_a[k]:.6g}, numerical {jac_n[k]:.6g}"
            )
            if raise_exception:
                raise AutogradError(msg)
            return False
    return True


def gradgradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    """Check second derivatives: gradcheck of the vector-Jacobian product of ``fn``."""
    from ..tensor import Tensor
    from . import grad
    from .grad_mode import enable_grad

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    outs = _flatten_outputs(fn(*inputs))
    rng = np.random.default_rng(seed)
    # the cotangents are inputs too (as in PyTorch), so linear ops have something to check
    cotangents = [Tensor(rng.standard_normal(o.shape), requires_grad=True) for o in outs]
    n = len(inputs)

    def vjp(*args):
        xs, cts = args[:n], args[n:]
        with enable_grad():
            ys = _flatten_outputs(fn(*xs))
            gs = grad(ys, [xs[i] for i in diff_idx], list(cts), create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(vjp, inputs + tuple(cotangents), eps=eps, atol=atol, rtol=rtol)
