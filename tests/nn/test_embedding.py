"""embedding and embedding_bag against PyTorch: lookups, scatter-add gradients, padding, max_norm, bags."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember as em
import ember.nn.functional as F
from tests.helpers import check_gradcheck, check_op, make_array, rng


def _table(rows=10, dim=4, dtype=np.float32):
    return make_array((rows, dim), dtype)


def _compare(idx, weight, atol=1e-6, **kwargs):
    return check_op(
        [],
        lambda i, w: F.embedding(i, w, **kwargs),
        lambda i, w: TF.embedding(i, w, **kwargs),
        inputs=[idx, weight],
        atol=atol,
    )


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_embedding_matches_torch_for_any_index_shape(shape, dtype):
    idx = rng().integers(0, 10, shape).astype(dtype)
    _compare(idx, _table())


def test_repeated_indices_accumulate_their_gradients():
    idx = np.array([[1, 1, 1, 4], [4, 0, 1, 9]])
    _compare(idx, _table())
    w = em.zeros(10, 3, requires_grad=True)
    F.embedding(em.tensor(idx), w).sum().backward()
    np.testing.assert_array_equal(w.grad.data[:, 0], np.bincount(idx.ravel(), minlength=10))


@pytest.mark.parametrize("padding_idx", [0, 4, -1, -10])
def test_padding_rows_get_no_gradient(padding_idx):
    idx = np.array([[0, 4, 9, 4], [1, 0, 9, 2]])
    _compare(idx, _table(), padding_idx=padding_idx)
    w = em.ones(10, 3, requires_grad=True)
    F.embedding(em.tensor(idx), w, padding_idx=padding_idx).sum().backward()
    assert not w.grad.data[padding_idx].any()


@pytest.mark.parametrize("padding_idx", [None, 2])
def test_scale_grad_by_freq_matches_torch(padding_idx):
    idx = np.array([[2, 2, 2, 5], [5, 7, 2, 0]])
    _compare(idx, _table(), scale_grad_by_freq=True, padding_idx=padding_idx)


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, float("inf")])
def test_max_norm_renormalises_referenced_rows_in_place_like_torch(norm_type):
    w0 = _table() * 3
    idx = np.array([[1, 3, 3], [7, 1, 0]])
    ew = em.Tensor(w0.copy(), requires_grad=True)
    tw = torch.tensor(w0.copy(), requires_grad=True)
    eo = F.embedding(em.tensor(idx), ew, max_norm=1.5, norm_type=norm_type)
    to = TF.embedding(torch.tensor(idx), tw, max_norm=1.5, norm_type=norm_type)
    np.testing.assert_allclose(ew.data, tw.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(eo.data, to.detach().numpy(), rtol=1e-6)
    untouched = [2, 4, 5, 6, 8, 9]
    np.testing.assert_array_equal(ew.data[untouched], w0[untouched])
    assert ew._version == 1
    g = make_array(eo.shape)
    eo.backward(em.Tensor(g))
    to.backward(torch.tensor(g))
    np.testing.assert_allclose(ew.grad.data, tw.grad.numpy(), rtol=1e-6)


def test_non_contiguous_weight_and_gradient():
    w = _table(8, 6).T.copy().T  # Fortran order
    idx = np.array([3, 1, 3, 7])
    _compare(idx, w)
    ew = em.Tensor(_table(8, 12)[:, ::2], requires_grad=True)
    out = F.embedding(em.tensor(idx), ew)
    (out * em.Tensor(make_array(out.shape))).sum().backward()
    assert ew.grad.shape == (8, 6)


@pytest.mark.parametrize("options", [{}, {"padding_idx": 3, "scale_grad_by_freq": True}])
def test_large_table_gradient_uses_the_kernel_and_matches_torch(options):
    # the Numba scatter-add runs from 64 indices up; 64x64 indices into 10000x128 is the size it is meant for
    idx = rng().integers(0, 10000, (64, 64))
    idx[0, :10] = 3  # repeats, and padding when padding_idx=3
    _compare(idx, make_array((10000, 128)), **options)


def test_float16_and_float64_tables():
    idx = np.array([[0, 2, 2], [5, 1, 0]])
    _compare(idx, _table(dtype=np.float64), padding_idx=1, scale_grad_by_freq=True)
    w = em.Tensor(_table().astype(np.float16), requires_grad=True)
    out = F.embedding(em.tensor(idx), w, padding_idx=1, scale_grad_by_freq=True)
    out.backward(em.ones(*out.shape, dtype=em.float16))
    tw = torch.tensor(w.data.astype(np.float32), requires_grad=True)
    TF.embedding(torch.tensor(idx), tw, padding_idx=1, scale_grad_by_freq=True).sum().backward()
    assert out.dtype == em.float16 and w.grad.dtype == em.float16
    np.testing.assert_allclose(w.grad.data.astype(np.float32), tw.grad.numpy(), rtol=1e-3)


def test_embedding_gradcheck_float64():
    idx = em.tensor([[0, 2, 2], [1, 0, 3]])
    check_gradcheck([(4, 3)], lambda w: F.embedding(idx, w))
    check_gradcheck([(4, 3)], lambda w: F.embedding(idx, w) ** 2)


def test_double_backward_matches_torch():
    idx = np.array([[0, 2, 2], [1, 0, 3]])
    w0, g0, v0 = make_array((4, 3), np.float64), make_array((2, 3, 3), np.float64), make_array((4, 3), np.float64)
    kw = dict(padding_idx=0)
    ew, eg = em.Tensor(w0.copy(), requires_grad=True), em.Tensor(g0.copy(), requires_grad=True)
    (egw,) = em.grad(F.embedding(em.tensor(idx), ew, **kw), [ew], eg, create_graph=True)
    (egg,) = em.grad((egw * em.Tensor(v0)).sum(), [eg])
    tw, tg = torch.tensor(w0, requires_grad=True), torch.tensor(g0, requires_grad=True)
    (tgw,) = torch.autograd.grad(TF.embedding(torch.tensor(idx), tw, **kw), [tw], tg, create_graph=True)
    (tgg,) = torch.autograd.grad((tgw * torch.tensor(v0)).sum(), [tg])
    np.testing.assert_allclose(egg.data, tgg.numpy(), rtol=1e-12)


def test_double_backward_with_scale_grad_by_freq_is_the_derivative_of_the_first_backward():
    # torch's double backward drops the 1 / frequency factor; ours differentiates what backward computed
    idx = em.tensor([[0, 2, 2], [1, 0, 3]])
    w = em.Tensor(make_array((4, 3), np.float64), requires_grad=True)

    def first_backward(g):
        with em.enable_grad():
            out = F.embedding(idx, w, padding_idx=1, scale_grad_by_freq=True)
            return em.grad(out, [w], g, create_graph=True)[0]

    check_gradcheck([(2, 3, 3)], first_backward)


def test_out_of_range_indices_raise_index_error_naming_index_and_size():
    w = em.Tensor(_table() * 5)
    before = w.data.copy()
    with pytest.raises(IndexError, match=r"index 10 .* 10 rows"):
        F.embedding(em.tensor([1, 10, 2]), w, max_norm=1.0)
    with pytest.raises(IndexError, match=r"index -1 .* 10 rows"):
        F.embedding(em.tensor([-1, 3]), w)
    np.testing.assert_array_equal(w.data, before)  # max_norm did not run


def test_embedding_argument_errors():
    w = em.Tensor(_table())
    with pytest.raises(em.DTypeError, match="float32"):
        F.embedding(em.tensor([1.0, 2.0]), w)
    with pytest.raises(em.ShapeError, match="2-D"):
        F.embedding(em.tensor([1]), em.randn(10))
    with pytest.raises(ValueError, match="padding_idx 10 .* 10"):
        F.embedding(em.tensor([1]), w, padding_idx=10)


def test_empty_index():
    out = _compare(np.zeros((0, 3), np.int64), _table())
    assert out.shape == (0, 3, 4)


# ------------------------------------------------------------------ embedding_bag
def _compare_bag(idx, weight, *extra, grad_atol=1e-5, **kwargs):
    """check_op of embedding_bag; ``extra`` arrays (offsets, per_sample_weights) follow the table."""
    names = ["offsets", "per_sample_weights"][: len(extra)] if len(extra) != 1 else ["offsets"]
    if kwargs.pop("weights_only", False):
        names = ["per_sample_weights"]

    def make(fn):
        return lambda i, w, *rest: fn(i, w, **dict(zip(names, rest)), **kwargs)

    return check_op(
        [],
        make(F.embedding_bag),
        make(TF.embedding_bag),
        inputs=[idx, weight, *extra],
        atol=1e-5,
        grad_atol=grad_atol,
    )


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_fixed_size_bags(mode):
    idx = rng().integers(0, 10, (4, 5))
    _compare_bag(idx, _table(), mode=mode)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("include_last_offset", [False, True])
def test_embedding_bag_offsets_with_an_empty_bag(mode, include_last_offset):
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 9, 1])
    offsets = np.array([0, 3, 3, 7, 9]) if include_last_offset else np.array([0, 3, 3, 7])
    out = _compare_bag(idx, _table(), offsets, mode=mode, include_last_offset=include_last_offset)
    assert not out.data[1].any()  # the empty bag gives zeros


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_padding_entries_are_left_out(mode):
    idx = np.array([2, 2, 4, 5, 4, 2, 2, 9])
    _compare_bag(idx, _table(), np.array([0, 2, 5]), mode=mode, padding_idx=2)


def test_embedding_bag_per_sample_weights_get_gradients():
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 9])
    psw = make_array((8,))
    _compare_bag(idx, _table(), np.array([0, 3, 6]), psw, mode="sum")
    _compare_bag(rng().integers(0, 10, (3, 4)), _table(), make_array((3, 4)), mode="sum", weights_only=True)


def test_embedding_bag_max_norm():
    idx = np.array([1, 2, 2, 5, 1, 1])
    _compare_bag(idx, _table() * 3, np.array([0, 2]), mode="mean", max_norm=1.0)


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_scale_grad_by_freq_scales_like_embedding(mode):
    # torch's CPU embedding_bag divides by the wrong index's count here (bag [3, 3, 7] gives row 7 half its
    # gradient); the reference is the same bag written with torch's embedding, which is right
    idx = np.array([3, 3, 7, 1, 3, 7])
    offsets = np.array([0, 3])

    def torch_bag(i, w):
        rows = TF.embedding(i, w, scale_grad_by_freq=True)
        bags = [rows[0:3], rows[3:6]]
        return torch.stack([b.sum(0) if mode == "sum" else b.mean(0) for b in bags])

    check_op(
        [],
        lambda i, w: F.embedding_bag(i, w, em.tensor(offsets), mode=mode, scale_grad_by_freq=True),
        torch_bag,
        inputs=[idx, _table()],
        atol=1e-6,
    )


def test_embedding_bag_gradcheck():
    idx = em.tensor([1, 2, 2, 3, 0])
    off = em.tensor([0, 2])
    for mode in ("sum", "mean", "max"):
        check_gradcheck([(4, 3)], lambda w, mode=mode: F.embedding_bag(idx, w, off, mode=mode))
    check_gradcheck([(4, 3), (5,)], lambda w, p: F.embedding_bag(idx, w, off, mode="sum", per_sample_weights=p))


def test_embedding_bag_errors():
    w = em.Tensor(_table())
    idx = em.tensor([1, 2, 3])
    with pytest.raises(ValueError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(idx, w, em.tensor([1, 2]))
    with pytest.raises(ValueError, match="offsets has to be a 1-D tensor"):
        F.embedding_bag(idx, w)
    with pytest.raises(ValueError, match="offsets must be None"):
        F.embedding_bag(em.tensor([[1, 2]]), w, em.tensor([0]))
    with pytest.raises(ValueError, match="only supported for mode='sum'"):
        F.embedding_bag(idx, w, em.tensor([0]), per_sample_weights=em.ones(3))
    with pytest.raises(ValueError, match="mode has to be one of"):
        F.embedding_bag(idx, w, em.tensor([0]), mode="median")
    with pytest.raises(IndexError, match="index 12"):
        F.embedding_bag(em.tensor([1, 12]), w, em.tensor([0]))


def test_embedding_ops_are_exported():
    assert "embedding" in F.__all__ and "embedding_bag" in F.__all__
