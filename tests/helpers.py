"""One helper that checks an ember op against PyTorch, forward and backward.

``check_op(shapes, fn)`` draws fresh random inputs of the given shapes, runs
``fn`` on ember tensors and on torch tensors made from the same arrays (pass
``torch_fn`` when the two spellings differ), and compares values, dtypes and
the gradient of every input for a random cotangent. ``layout`` makes the inputs
non-contiguous ('transposed' or 'sliced') to catch stride bugs.
"""

from __future__ import annotations

import numpy as np
import torch

import ember as em

TORCH_DTYPES = {
    np.dtype(np.float16): torch.float16,
    np.dtype(np.float32): torch.float32,
    np.dtype(np.float64): torch.float64,
    np.dtype(np.int32): torch.int32,
    np.dtype(np.int64): torch.int64,
    np.dtype(np.bool_): torch.bool,
    np.dtype(np.uint8): torch.uint8,
}

_rng = np.random.default_rng(1234)


def rng() -> np.random.Generator:
    return _rng


def reseed(seed: int) -> None:
    """Start the helpers' generator afresh (``conftest`` does, per test, from the test's id: a test's
    inputs and cotangents then do not depend on which tests ran before it in its worker)."""
    global _rng
    _rng = np.random.default_rng(seed)


def make_array(shape, dtype=np.float32, low=-2.0, high=2.0, layout="contiguous") -> np.ndarray:
    """A random array; 'transposed' and 'sliced' layouts give non-contiguous views."""
    shape = tuple(shape)
    dtype = np.dtype(dtype)

    def draw(s):
        if dtype.kind == "f":
            return _rng.uniform(low, high, s).astype(dtype)
        if dtype.kind == "b":
            return _rng.random(s) < 0.5
        return _rng.integers(int(low), int(high), s).astype(dtype)

    if layout == "transposed" and len(shape) >= 2:
        return draw(shape[::-1]).transpose(tuple(range(len(shape) - 1, -1, -1)))
    if layout == "sliced" and len(shape) >= 1:
        big = draw(shape[:-1] + (shape[-1] * 2,))
        return big[..., ::2]
    return draw(shape)


def to_torch(x: np.ndarray, requires_grad: bool) -> torch.Tensor:
    t = torch.from_numpy(np.array(x, order="C", copy=True))
    if requires_grad and t.is_floating_point():
        t.requires_grad_(True)
    return t


def to_ember(x: np.ndarray, requires_grad: bool) -> em.Tensor:
    # keep the (possibly non-contiguous) layout: wrap a copy that has the same strides
    arr = x.copy(order="K") if x.flags.c_contiguous else _same_layout_copy(x)
    return em.Tensor(arr, requires_grad=requires_grad and arr.dtype.kind == "f")


def _same_layout_copy(x: np.ndarray) -> np.ndarray:
    if x.ndim >= 2 and x.T.flags.c_contiguous:
        return x.T.copy().T
    big = np.empty(x.shape[:-1] + (x.shape[-1] * 2,), x.dtype)
    view = big[..., ::2]
    view[...] = x
    return view


def _flat(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def assert_close(actual, expected, atol, rtol, what: str) -> None:
    a = np.asarray(actual, dtype=np.float64) if np.asarray(actual).dtype.kind != "b" else np.asarray(actual)
    e = np.asarray(expected, dtype=np.float64) if np.asarray(expected).dtype.kind != "b" else np.asarray(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != torch's {e.shape}"
    if a.dtype.kind == "b" or e.dtype.kind == "b":
        assert np.array_equal(a, e), f"{what}: values differ from torch's"
        return
    np.testing.assert_allclose(a, e, atol=atol, rtol=rtol, equal_nan=True, err_msg=what)


def check_op(
    shapes,
    fn,
    torch_fn=None,
    *,
    inputs=None,
    dtype=np.float32,
    low=-2.0,
    high=2.0,
    atol=1e-5,
    rtol=1e-4,
    grad_atol=None,
    grad_rtol=None,
    layout="contiguous",
    grad=True,
    check_dtype=True,
):
    """Compare ``fn`` on ember tensors with ``torch_fn`` (default ``fn``) on torch tensors.

    ``shapes``: the input shapes (ignored if ``inputs`` gives arrays). Returns
    the ember output for further checks.
    """
    torch_fn = torch_fn or fn
    if inputs is None:
        inputs = [make_array(s, dtype, low, high, layout) for s in shapes]
    else:
        inputs = [np.asarray(x) for x in inputs]
    et = [to_ember(x, grad) for x in inputs]
    tt = [to_torch(x, grad) for x in inputs]
    e_out = _flat(fn(*et))
    t_out = _flat(torch_fn(*tt))
    assert len(e_out) == len(t_out), f"{len(e_out)} outputs, torch gives {len(t_out)}"
    for i, (e, t) in enumerate(zip(e_out, t_out)):
        if not isinstance(t, torch.Tensor):
            assert e == t, f"output {i}: {e} != torch's {t}"
            continue
        assert isinstance(e, em.Tensor), f"output {i} is {type(e).__name__}, not a Tensor"
        if check_dtype:
            assert TORCH_DTYPES[e.data.dtype] == t.dtype, f"output {i}: dtype {e.dtype} != torch's {t.dtype}"
        assert_close(e.data, t.detach().numpy(), atol, rtol, f"forward output {i}")
    if not grad:
        return e_out[0] if len(e_out) == 1 else e_out
    diff = [(e, t) for e, t in zip(e_out, t_out) if isinstance(t, torch.Tensor) and t.requires_grad]
    wrt = [i for i, t in enumerate(tt) if t.requires_grad]
    if not diff or not wrt:
        return e_out[0] if len(e_out) == 1 else e_out
    cotangents = [_rng.standard_normal(t.shape).astype(e.data.dtype) for e, t in diff]
    t_grads = torch.autograd.grad(
        [t for _, t in diff],
        [tt[i] for i in wrt],
        [torch.from_numpy(c.copy()) for c in cotangents],
        allow_unused=True,
    )
    e_grads = em.grad(
        [e for e, _ in diff], [et[i] for i in wrt], [em.Tensor(c.copy()) for c in cotangents], allow_unused=True
    )
    ga = atol if grad_atol is None else grad_atol
    gr = rtol if grad_rtol is None else grad_rtol
    for i, eg, tg in zip(wrt, e_grads, t_grads):
        if tg is None or not tg.abs().sum().item():
            assert eg is None or not np.any(eg.data), f"gradient of input {i}: torch gives none/zero, ember gives {eg}"
            continue
        assert eg is not None, f"gradient of input {i}: ember gives None, torch does not"
        assert eg.shape == tuple(tg.shape), f"gradient of input {i}: shape {eg.shape} != torch's {tuple(tg.shape)}"
        assert eg.data.dtype == inputs[i].dtype, f"gradient of input {i}: dtype {eg.dtype} != input's {inputs[i].dtype}"
        assert_close(eg.data, tg.numpy(), ga, gr, f"gradient of input {i}")
    return e_out[0] if len(e_out) == 1 else e_out


def check_gradcheck(shapes, fn, *, inputs=None, low=-2.0, high=2.0, eps=1e-6, atol=1e-5, rtol=1e-3):
    """float64 finite-difference check of ``fn``'s gradient with respect to every input."""
    if inputs is None:
        inputs = [make_array(s, np.float64, low, high) for s in shapes]
    ts = [em.Tensor(np.asarray(x, np.float64).copy(), requires_grad=True) for x in inputs]
    assert em.autograd.gradcheck(fn, ts, eps=eps, atol=atol, rtol=rtol)


def check_grad_subset(arrays, needs, fn, torch_fn=None, *, rtol=1e-10, atol=1e-10):
    """``fn`` on tensors of ``arrays`` of which only those flagged in ``needs`` require grad, against torch.

    Compares the output and, after ``backward`` with a random cotangent, that exactly the flagged
    inputs got a gradient and that each equals torch's (float64 arrays: tight default tolerances).
    """
    torch_fn = torch_fn or fn
    e = [em.tensor(a, requires_grad=r) for a, r in zip(arrays, needs)]
    t = [torch.tensor(a, requires_grad=r) for a, r in zip(arrays, needs)]
    ye, yt = fn(*e), torch_fn(*t)
    g = _rng.standard_normal(tuple(yt.shape))
    ye.backward(em.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(ye.data, yt.detach().numpy(), rtol=rtol, atol=atol)
    for i, (a, b, r) in enumerate(zip(e, t, needs)):
        assert (a.grad is not None) == r, f"input {i}: gradient {'missing' if r else 'unexpected'}"
        if r:
            np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=rtol, atol=atol, err_msg=f"input {i}")


def spy_stacked_kernel(monkeypatch, pick) -> list:
    """Sends every stacked product (``ember.ops.gemm.batched``) to ember's kernel, on any host and at
    any size, and records ``pick(args)`` of each ``sgemm_batch`` call (args: ``a, b, transposed, c,
    accumulate, t0, t1``)."""
    from ember.kernels import gemm as kernel
    from ember.ops import gemm

    monkeypatch.setitem(gemm._state, "host", True)
    monkeypatch.setattr(gemm, "MIN_WORK", 0)
    monkeypatch.setattr(gemm, "MIN_STEP_WORK", 0)
    calls = []
    real = kernel.sgemm_batch
    monkeypatch.setattr(kernel, "sgemm_batch", lambda *a: (calls.append(pick(a)), real(*a))[1])
    return calls
