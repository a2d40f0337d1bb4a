"""The backward engine: accumulation, graph freeing, version checks, hooks, grad modes."""

import numpy as np
import pytest
import torch

import ember as em
from ember.autograd import Function, gradcheck
from ember.errors import AutogradError, ShapeError


def test_gradients_accumulate_across_backward_calls():
    x = em.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])


def test_tensor_used_twice_sums_both_paths():
    x = em.tensor([1.5, -2.0], requires_grad=True)
    y = x * x + x.exp() * x
    y.sum().backward()
    xt = torch.tensor([1.5, -2.0], requires_grad=True)
    (xt * xt + xt.exp() * xt).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6)


def test_shared_gradient_is_not_aliased_between_leaves():
    a = em.ones(3, requires_grad=True)
    b = em.ones(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad.mul_(5)
    np.testing.assert_allclose(b.grad.numpy(), [1, 1, 1])


def test_backward_twice_through_freed_graph_raises():
    x = em.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(AutogradError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = em.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_backward_of_non_scalar_needs_gradient():
    x = em.ones(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(AutogradError, match=r"scalar outputs.*\(2, 3\)"):
        y.backward()
    y.backward(em.ones(2, 3))
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 2.0))


def test_backward_gradient_of_wrong_shape_is_a_shape_error():
    y = em.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(ShapeError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(em.ones(3))


def test_inplace_change_of_saved_tensor_raises():
    x = em.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    y = (a * a).sum()
    a.mul_(2)
    with pytest.raises(AutogradError, match="modified by an in-place operation.*version 1; expected version 0"):
        y.backward()


def test_inplace_change_of_saved_output_raises():
    x = em.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()
    z = y.sum()
    y.add_(1)
    with pytest.raises(AutogradError, match="in-place"):
        z.backward()


def test_inplace_change_of_unsaved_tensor_gives_correct_gradient():
    x = em.tensor([0.5, 1.0], requires_grad=True)
    y = x * 2
    y.add_(1)
    y.mul_(3)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_inplace_on_leaf_requiring_grad_raises_and_no_grad_allows():
    w = em.ones(3, requires_grad=True)
    with pytest.raises(AutogradError, match=r"leaf tensor of shape \(3,\) that requires grad"):
        w.add_(1)
    np.testing.assert_allclose(w.numpy(force=True), [1, 1, 1])
    with em.no_grad():
        w.add_(1)
    np.testing.assert_allclose(w.detach().numpy(), [2, 2, 2])


def test_long_chain_backward_is_iterative():
    x = em.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.item() == 1.0


def test_hooks_on_leaf_and_intermediate():
    x = em.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = x * 3
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [30.0, 30.0])
    np.testing.assert_allclose(x.grad.numpy(), [30.0, 30.0])
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    assert len(seen) == 1


def test_retain_grad_keeps_intermediate_gradient():
    x = em.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.retain_grad()
    (y * 2).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [2.0, 2.0])
    assert y.retains_grad


def test_autograd_grad_returns_without_touching_dot_grad():
    x = em.tensor([1.0, 2.0], requires_grad=True)
    z = em.tensor([3.0], requires_grad=True)
    (g,) = em.autograd.grad((x * x).sum(), x)
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    assert x.grad is None
    with pytest.raises(AutogradError, match="input 1.*not used"):
        em.autograd.grad((x * x).sum(), [x, z])
    gx, gz = em.autograd.grad((x * x).sum(), [x, z], allow_unused=True)
    assert gz is None


def test_autograd_grad_of_intermediate_tensor():
    x = em.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    (g,) = em.autograd.grad((y * y).sum(), y)
    np.testing.assert_allclose(g.numpy(), [6.0, 12.0])


def test_hessian_vector_product_of_tanh_network_matches_torch():
    rng = np.random.default_rng(0)
    w1, b1 = rng.standard_normal((4, 5)), rng.standard_normal(5)
    w2 = rng.standard_normal((5, 1))
    xin = rng.standard_normal((3, 4))
    v = [rng.standard_normal((4, 5)), rng.standard_normal(5), rng.standard_normal((5, 1))]

    def hvp(lib, tensor):
        params = [tensor(p, requires_grad=True) for p in (w1, b1, w2)]
        x = tensor(xin)
        loss = ((x @ params[0] + params[1]).tanh() @ params[2]).tanh().sum()
        grads = lib.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * tensor(vi)).sum() for g, vi in zip(grads, v))
        return [h.detach().numpy() for h in lib.autograd.grad(dot, params)]

    ours = hvp(em, lambda a, requires_grad=False: em.tensor(a, dtype=em.float64, requires_grad=requires_grad))
    ref = hvp(torch, lambda a, requires_grad=False: torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad))
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_no_grad_records_nothing_and_works_as_decorator():
    x = em.ones(2, requires_grad=True)
    with em.no_grad():
        y = x * 2
    assert y.grad_fn is None and not y.requires_grad

    @em.no_grad()
    def f(t):
        return t * 2

    assert f(x).grad_fn is None
    assert em.is_grad_enabled()


def test_enable_grad_inside_no_grad_and_set_grad_enabled():
    x = em.ones(2, requires_grad=True)
    with em.no_grad():
        with em.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    with em.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    em.set_grad_enabled(False)
    assert not em.is_grad_enabled()
    em.set_grad_enabled(True)

    @em.set_grad_enabled(False)
    def g(t):
        return t * 2

    assert em.is_grad_enabled()
    assert not g(x).requires_grad


def test_detach_shares_memory_and_leaves_graph():
    x = em.ones(3, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None
    d.data[0] = 7
    assert y.data[0] == 7


def test_requires_grad_only_for_floating_tensors():
    with pytest.raises(em.DTypeError, match="int64"):
        em.tensor([1, 2], requires_grad=True)


class _Cube(Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return scale * x.data**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        assert ctx.needs_input_grad == (True, False)
        return grad * 3 * ctx.scale * x * x, None


def test_custom_function_forward_backward_and_double_backward():
    x = em.tensor([1.0, -2.0, 0.5], dtype=em.float64, requires_grad=True)
    assert gradcheck(lambda t: _Cube.apply(t, 2.0), [x])
    (g,) = em.autograd.grad(_Cube.apply(x, 2.0).sum(), x, create_graph=True)
    (h,) = em.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 12 * x.detach().numpy())
    assert "_CubeBackward0" in repr(_Cube.apply(x, 1.0))


class _WrongGrad(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data**2

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x  # should be 2 * x


def test_gradcheck_catches_a_wrong_gradient():
    x = em.tensor([1.0, 2.0], dtype=em.float64, requires_grad=True)
    with pytest.raises(AutogradError, match="Jacobian mismatch for input 0"):
        gradcheck(_WrongGrad.apply, [x])


def test_backward_with_inputs_accumulates_only_into_those():
    a = em.ones(2, requires_grad=True)
    b = em.ones(2, requires_grad=True)
    (a * b).sum().backward(inputs=[a])
    assert a.grad is not None and b.grad is None


def test_detect_anomaly_names_the_op():
    x = em.tensor([0.0], requires_grad=True)
    with em.autograd.detect_anomaly():
        y = x.sqrt()
        with pytest.raises(AutogradError, match="SqrtBackward0"):
            y.sum().backward()


def test_broadcast_gradient_is_summed_to_input_shape():
    a = em.ones(3, 1, requires_grad=True)
    b = em.ones(1, 4, requires_grad=True)
    (a * b * 2).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (1, 4)
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1), 8.0))
    np.testing.assert_allclose(b.grad.numpy(), np.full((1, 4), 6.0))


# --------------------------------------------------------------- chain fast path
# Tensor.backward() walks a graph in which every node feeds one other node without the dependency
# bookkeeping, and hands over to the general engine at the first node that is not such a link.
def _grads_both(fn, *arrays):
    """``fn(lib, *leaves)`` returns a scalar; the leaves' gradients in ember and torch."""
    out = []
    for lib in (em, torch):
        leaves = [lib.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
        fn(lib, *leaves).backward()
        out.append([leaf.grad.numpy() if lib is em else leaf.grad.detach().numpy() for leaf in leaves])
    return out


def test_gradient_array_taken_by_a_leaf_is_not_changed_by_later_branches():
    # once w.grad took a gradient array that other branches still add to, an in-place add gave 2.125 for 2.0625
    ours, theirs = _grads_both(lambda lib, w, x: (w / x - x / w + w).sum(), [2.0, 3.0], [4.0, 0.5])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, w, x: ((w * 2) * (w * 2) * x).sum(),  # a chain that meets a node with two consumers
        lambda lib, w, x: (((w * x).exp() * w) - w.tanh()).sum(),
        lambda lib, w, x: ((w * x) * 3.0 / x).sum() * 2.0,  # pure chain
    ],
)
def test_chain_walk_hands_over_to_the_general_engine(fn):
    ours, theirs = _grads_both(fn, [0.5, -1.5, 2.0], [1.5, 0.25, -0.75])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_hook_and_retain_grad_added_to_a_middle_tensor_after_it_was_made():
    results = []
    for lib in (em, torch):
        w = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        y = w * 2.0
        z = y * 3.0  # y already has its consumer when the hook and retain_grad arrive
        y.register_hook(lambda g: g * 10.0)
        z.retain_grad()
        (z * z).sum().backward()
        results.append((w.grad.numpy() if lib is em else w.grad.numpy(), z.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12)
