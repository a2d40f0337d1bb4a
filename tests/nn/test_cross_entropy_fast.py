"""The fused cross_entropy path ((N, C) logits, int64 indices, N >= 16) against PyTorch."""

import numpy as np
import pytest
import torch

import ember as em
import ember.nn.functional as F
from tests.helpers import check_gradcheck, check_op


def _targets(n, c, ignore=(), seed=0):
    y = np.random.default_rng(seed).integers(0, c, n).astype(np.int64)
    y[list(ignore)] = -100
    return y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("ignore", [(), (0, 5, 17)])
def test_fast_path_matches_torch(dtype, reduction, ignore):
    x = np.random.default_rng(1).standard_normal((64, 10)).astype(dtype) * 3
    y = _targets(64, 10, ignore)
    check_op(
        None,
        lambda a, t: F.cross_entropy(a, t, reduction=reduction),
        lambda a, t: torch.nn.functional.cross_entropy(a, t, reduction=reduction),
        inputs=[x, y],
        atol=1e-5,
        rtol=1e-5,
    )


def test_fast_path_is_taken_and_stable_at_huge_logits():
    x = np.zeros((32, 4), np.float32)
    x[:, 1] = 1e8
    y = np.ones(32, np.int64)
    y[::2] = 0
    out = F.cross_entropy(em.tensor(x, requires_grad=True), em.tensor(y))
    assert out.grad_fn.fn.__name__ == "_FastCrossEntropy"
    ref = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(y))
    assert np.isfinite(out.item()) and out.item() == pytest.approx(ref.item(), rel=1e-6)


def test_all_targets_ignored_gives_nan_and_zero_gradient():
    x = em.randn(20, 3, requires_grad=True)
    y = em.full((20,), -100, dtype=em.int64)
    loss = F.cross_entropy(x, y)
    assert np.isnan(loss.item())
    loss.backward()
    assert not np.any(x.grad.numpy())


def test_out_of_range_target_names_index_and_classes():
    with pytest.raises(IndexError, match=r"target class index 7 is out of range for an input with 5 classes"):
        F.cross_entropy(em.randn(16, 5), em.tensor([7] + [0] * 15))


def test_second_order_and_retained_second_backward():
    x64 = np.random.default_rng(2).standard_normal((16, 4))
    y = em.tensor(_targets(16, 4, (3,)))
    check_gradcheck(None, lambda a: F.cross_entropy(a, y), inputs=[x64])
    x = em.tensor(x64, requires_grad=True)
    assert em.autograd.gradgradcheck(lambda a: F.cross_entropy(a, y), [x])
    loss = F.cross_entropy(x, y)
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-12)
