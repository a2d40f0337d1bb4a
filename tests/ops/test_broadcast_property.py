"""Property tests: for any broadcastable shapes, each input's gradient has its shape and equals torch's."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import ember as em

BINARY = {
    "add": (em.add, torch.add),
    "sub": (em.sub, torch.sub),
    "mul": (em.mul, torch.mul),
    "div": (em.div, torch.div),
    "maximum": (em.maximum, torch.maximum),
    "pow": (em.pow, torch.pow),
    "atan2": (em.atan2, torch.atan2),
}


def _draw(rng, shape, positive=False):
    x = rng.uniform(0.5, 2.0, shape)
    if not positive:
        x *= np.where(rng.random(shape) < 0.5, -1.0, 1.0)  # away from zero: safe divisors, no ties at 0
    return x


def _check(e_inputs, e_out, t_inputs, t_out, rng, shapes):
    assert e_out.shape == tuple(t_out.shape)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12, atol=1e-12)
    cot = rng.standard_normal(e_out.shape)
    e_grads = em.autograd.grad(e_out, e_inputs, em.tensor(cot), allow_unused=True)
    t_grads = torch.autograd.grad(t_out, t_inputs, torch.from_numpy(cot), allow_unused=True)
    for i, (eg, tg, shape) in enumerate(zip(e_grads, t_grads, shapes)):
        if tg is None:
            assert eg is None or not np.any(eg.numpy()), f"input {i}"
            continue
        assert eg is not None, f"input {i}: no gradient"
        assert eg.shape == tuple(shape), f"input {i}: gradient shape {eg.shape}, input shape {tuple(shape)}"
        np.testing.assert_allclose(eg.numpy(), tg.numpy(), rtol=1e-10, atol=1e-12, err_msg=f"input {i}")


@pytest.mark.parametrize("name", list(BINARY))
@settings(max_examples=30, deadline=None)
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_binary_gradients_have_input_shapes_and_match_torch(name, shapes, seed):
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    a, b = _draw(rng, sa, positive=name == "pow"), _draw(rng, sb)
    ef, tf = BINARY[name]
    ea, eb = em.tensor(a, requires_grad=True), em.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    eo, to = ef(ea, eb), tf(ta, tb)
    assert eo.shape == shapes.result_shape
    _check([ea, eb], eo, [ta, tb], to, rng, [sa, sb])


@settings(max_examples=30, deadline=None)
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=4, min_side=0, max_side=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_where_gradients_have_input_shapes_and_match_torch(shapes, seed):
    rng = np.random.default_rng(seed)
    sc, sa, sb = shapes.input_shapes
    cond = np.asarray(rng.random(sc) < 0.5)
    a, b = _draw(rng, sa), _draw(rng, sb)
    ea, eb = em.tensor(a, requires_grad=True), em.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    eo = em.where(em.tensor(cond), ea, eb)
    to = torch.where(torch.from_numpy(cond), ta, tb)
    assert eo.shape == shapes.result_shape
    _check([ea, eb], eo, [ta, tb], to, rng, [sa, sb])


@settings(max_examples=30, deadline=None)
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, min_side=0, max_side=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_lerp_and_clamp_with_tensor_arguments(shapes, seed):
    rng = np.random.default_rng(seed)
    s0, s1, s2 = shapes.input_shapes
    x, y, z = _draw(rng, s0), _draw(rng, s1), rng.uniform(-0.5, 1.5, s2)
    for ef, tf in [(em.lerp, torch.lerp), (em.clamp, torch.clamp)]:
        e_in = [em.tensor(v, requires_grad=True) for v in (x, y, z)]
        t_in = [torch.tensor(v, requires_grad=True) for v in (x, y, z)]
        # torch's own lerp/clamp backward fails for some broadcasts (a 0-d input against a (1,)
        # or a size-0 result); expanding the inputs first gives the same maths with expand's backward
        eo, to = ef(*e_in), tf(*torch.broadcast_tensors(*t_in))
        assert eo.shape == shapes.result_shape
        _check(e_in, eo, t_in, to, rng, [s0, s1, s2])
