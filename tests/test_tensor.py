"""Tensor creation, attributes, conversions, repr and Python protocol, against PyTorch."""

import numpy as np
import pytest
import torch

import ember as em


def _same(e, t):
    assert str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1], f"{e.dtype} vs {t.dtype}"
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "data", [[1.0, 2.0], [1, 2], [True, False], 3.5, 7, [[1, 2.5]], np.array([1.0, 2.0]), np.array([1, 2], np.int32)]
)
def test_tensor_default_dtypes_follow_torch(data):
    _same(em.tensor(data), torch.tensor(data))


def test_tensor_copies_and_from_numpy_shares():
    a = np.zeros(3, np.float32)
    t = em.tensor(a)
    s = em.from_numpy(a)
    a[0] = 5
    assert t.numpy()[0] == 0 and s.numpy()[0] == 5
    assert em.as_tensor(a).numpy() is a


def test_unsupported_dtype_is_a_clear_error():
    with pytest.raises(TypeError, match="complex128 is not supported"):
        em.tensor(np.array([1j]))


@pytest.mark.parametrize(
    "name,args,kwargs",
    [
        ("zeros", (2, 3), {}),
        ("ones", ((2, 3),), {}),
        ("zeros", (2,), {"dtype": "float64"}),
        ("full", ((2, 2), 7), {}),
        ("full", ((2, 2), 1.5), {}),
        ("full", ((2,), True), {}),
        ("arange", (5,), {}),
        ("arange", (1, 2.5, 0.5), {}),
        ("arange", (0, 10, 3), {}),
        ("linspace", (0, 1, 5), {}),
        ("eye", (3,), {}),
        ("eye", (2, 3), {}),
    ],
)
def test_creation_matches_torch(name, args, kwargs):
    tkw = {k: getattr(torch, v) for k, v in kwargs.items()}
    ekw = {k: getattr(em, v) for k, v in kwargs.items()}
    _same(getattr(em, name)(*args, **ekw), getattr(torch, name)(*args, **tkw))


def test_like_functions():
    base = em.ones(2, 3, dtype=em.float64)
    assert em.zeros_like(base).dtype == em.float64 and em.zeros_like(base).shape == (2, 3)
    assert em.full_like(base, 2).numpy().tolist() == [[2, 2, 2]] * 2
    assert em.ones_like(base, dtype=em.int64).dtype == em.int64
    assert em.empty_like(base).shape == (2, 3)
    assert em.rand_like(base).dtype == em.float64
    assert em.randn_like(base).shape == (2, 3)


def test_random_ops_are_seeded_by_manual_seed():
    def draw():
        em.manual_seed(42)
        return [
            em.rand(3).numpy(),
            em.randn(2, 2).numpy(),
            em.randint(0, 10, (5,)).numpy(),
            em.randperm(6).numpy(),
            em.normal(0.0, 2.0, (3,)).numpy(),
            em.bernoulli(em.full((4,), 0.5)).numpy(),
            em.multinomial(em.tensor([0.1, 0.2, 0.7]), 2).numpy(),
        ]

    first, second = draw(), draw()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    em.manual_seed(43)
    assert not np.array_equal(em.rand(3).numpy(), first[0])


def test_random_distributions_have_the_right_moments():
    em.manual_seed(0)
    u = em.rand(200_000).numpy()
    n = em.randn(200_000).numpy()
    assert u.dtype == np.float32 and 0 <= u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.01 and abs(n.mean()) < 0.01 and abs(n.std() - 1) < 0.01
    r = em.randint(3, 7, (10_000,)).numpy()
    assert r.dtype == np.int64 and set(np.unique(r)) == {3, 4, 5, 6}
    assert sorted(em.randperm(10).tolist()) == list(range(10))
    m = em.multinomial(em.tensor([0.0, 1.0, 3.0]), 4000, replacement=True).numpy()
    assert 0 not in m and abs((m == 2).mean() - 0.75) < 0.03
    s = em.multinomial(em.tensor([[1.0, 1.0, 1.0, 1.0]]), 4).numpy()
    assert sorted(s[0].tolist()) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="cannot draw 5 samples without replacement from 4"):
        em.multinomial(em.ones(4), 5)


def test_rng_state_round_trip():
    em.manual_seed(1)
    state = em.get_rng_state()
    a = em.randn(4).numpy()
    em.set_rng_state(state)
    np.testing.assert_array_equal(em.randn(4).numpy(), a)


def test_attributes():
    t = em.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.dim() == 3
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.numel() == 24 and em.numel(t) == 24 and len(t) == 2
    assert t.T.shape == (4, 3, 2) and t.mT.shape == (2, 4, 3)
    assert t.dtype == em.float32 and t.is_floating_point() and t.is_leaf
    with pytest.raises(IndexError, match="dimension out of range"):
        t.size(3)


def test_conversions():
    t = em.tensor([1.7, -2.2])
    assert t.to(em.int64).tolist() == [1, -2]
    assert t.long().dtype == em.int64 and t.int().dtype == em.int32
    assert t.double().dtype == em.float64 and t.half().dtype == em.float16
    assert t.float().dtype == em.float32 and t.bool().tolist() == [True, True]
    assert t.to(em.float64).to(em.float32).tolist() == pytest.approx([1.7, -2.2])
    assert em.tensor(2.5).item() == 2.5 and isinstance(em.tensor(3).item(), int)
    with pytest.raises(em.ShapeError, match=r"one element.*\(2,\)"):
        t.item()
    c = t.clone()
    c.data[0] = 9
    assert t.data[0] != 9
    assert np.asarray(t).dtype == np.float32
    x = em.ones(3, 4).T
    assert not x.is_contiguous() and x.contiguous().is_contiguous()


def test_to_dtype_keeps_gradient_flow():
    x = em.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 3
    y.sum().backward()
    assert x.grad.dtype == em.float32
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_numpy_of_tensor_requiring_grad_asks_for_detach():
    with pytest.raises(em.AutogradError, match="detach"):
        em.ones(2, requires_grad=True).numpy()


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.tensor([[1.0, 2.0]], requires_grad=True),
        lambda lib: lib.tensor([-0.3131, 0.9027, 0.4165]),
        lambda lib: lib.tensor([1e-5, 1.0, 300.0]),
        lambda lib: lib.tensor([1, 2, 3]),
        lambda lib: lib.tensor([True, False]),
        lambda lib: lib.tensor(3.5),
        lambda lib: lib.zeros((0, 3)),
        lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64),
        lambda lib: lib.tensor([1, 2], dtype=lib.int32),
        lambda lib: lib.arange(12.0).reshape(3, 4),
    ],
)
def test_repr_matches_torch(make):
    assert repr(make(em)) == repr(make(torch)).replace("torch.", "ember.")


def test_repr_shows_grad_fn():
    x = em.tensor([1.0], requires_grad=True)
    assert repr(x * 2) == "tensor([2.], grad_fn=<MulBackward0>)"


def test_python_protocol():
    t = em.tensor([[1, 2], [3, 4]])
    rows = list(t)
    assert len(rows) == 2 and rows[1].tolist() == [3, 4]
    assert bool(em.tensor([1.0])) and not bool(em.tensor(0))
    with pytest.raises(em.ShapeError, match="ambiguous"):
        bool(t)
    assert float(em.tensor(2.5)) == 2.5 and int(em.tensor(3)) == 3
    assert [10, 20, 30][em.tensor(1)] == 20


def test_operators_and_reflected_forms():
    a = em.tensor([1.0, 2.0, 3.0])
    np.testing.assert_allclose((2 - a).numpy(), [1, 0, -1])
    np.testing.assert_allclose((6 / a).numpy(), [6, 3, 2])
    np.testing.assert_allclose((2**a).numpy(), [2, 4, 8])
    np.testing.assert_allclose((-a).numpy(), [-1, -2, -3])
    np.testing.assert_allclose(abs(-a).numpy(), [1, 2, 3])
    np.testing.assert_allclose((a // 2).numpy(), [0, 1, 1])
    np.testing.assert_allclose((a % 2).numpy(), [1, 0, 1])
    np.testing.assert_allclose((np.float32(2) * a).numpy(), [2, 4, 6])
    assert (a > 1.5).dtype == em.bool and (a > 1.5).tolist() == [False, True, True]
    assert (a == em.tensor([1.0, 0.0, 3.0])).tolist() == [True, False, True]
    m = em.tensor([True, False])
    assert (m & em.tensor([True, True])).tolist() == [True, False]
    assert (m | em.tensor([False, False])).tolist() == [True, False]
    assert (m ^ em.tensor([True, True])).tolist() == [False, True]
    assert (~m).tolist() == [False, True]
    assert (em.tensor([6]) & 3).tolist() == [2]
    assert (em.tensor([[1.0, 2.0]]) @ em.tensor([[3.0], [4.0]])).tolist() == [[11.0]]


def test_int_true_division_gives_float32():
    assert (em.tensor([1, 2]) / em.tensor([2, 2])).dtype == em.float32
    assert (em.tensor([1, 2]) / 2).dtype == em.float32


def test_inplace_methods_and_version_counter():
    t = em.zeros(3)
    v = t._version
    t.add_(1).mul_(3).sub_(1).div_(2)
    np.testing.assert_allclose(t.numpy(), [1, 1, 1])
    assert t._version == v + 4
    t.fill_(2.5)
    t.clamp_(max=1.0)
    assert t.tolist() == [1.0, 1.0, 1.0]
    t.copy_(em.tensor([4.0, 5.0, 6.0]))
    assert t.tolist() == [4.0, 5.0, 6.0]
    t.zero_()
    assert t.tolist() == [0.0, 0.0, 0.0]
    t += 2
    assert t.tolist() == [2.0, 2.0, 2.0]
    em.manual_seed(0)
    u = em.empty(1000).uniform_(-1, 2)
    assert -1 <= u.numpy().min() and u.numpy().max() < 2
    n = em.empty(10_000).normal_(3.0, 0.5)
    assert abs(n.numpy().mean() - 3.0) < 0.02


def test_inplace_shape_and_dtype_errors():
    t = em.zeros(3)
    with pytest.raises(em.ShapeError, match=r"\(2, 3\).*\(3,\)"):
        t.add_(em.ones(2, 3))
    i = em.tensor([1, 2])
    with pytest.raises(em.DTypeError, match="float32 can't be cast.*int64"):
        i.add_(1.5)
    assert i.tolist() == [1, 2]


def test_setitem_without_and_with_autograd():
    t = em.zeros(2, 3)
    t[0, 1] = 5
    t[1] = em.tensor([1.0, 2.0, 3.0])
    assert t.tolist() == [[0, 5, 0], [1, 2, 3]]
    x = em.ones(3, requires_grad=True)
    v = em.tensor(4.0, requires_grad=True)
    y = x * 2
    y[1] = v * 3
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 2.0] and v.grad.item() == 3.0
