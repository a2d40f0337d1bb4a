"""ember.nn.utils.rnn against torch.nn.utils.rnn: padding, packing, round trips, gradients, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as tu

import ember as em
import ember.nn.utils.rnn as eu
from tests.helpers import check_gradcheck


def _seqs(lengths, feat=(3,), seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n,) + feat).astype(dtype) for n in lengths]


def _both(arrays, requires_grad=True):
    return (
        [torch.tensor(a, requires_grad=requires_grad) for a in arrays],
        [em.tensor(a, requires_grad=requires_grad) for a in arrays],
    )


def _close(e, t, what=""):
    np.testing.assert_allclose(e.data, t.detach().numpy(), atol=1e-6, rtol=1e-6, err_msg=what)


def _grads_match(e_inputs, t_inputs, e_out, t_out, seed=1):
    cot = np.random.default_rng(seed).standard_normal(tuple(t_out.shape)).astype(np.float32)
    (t_out * torch.tensor(cot)).sum().backward()
    (e_out * em.tensor(cot)).sum().backward()
    for i, (e, t) in enumerate(zip(e_inputs, t_inputs)):
        _close(e.grad, t.grad, f"gradient of input {i}")


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("feat", [(), (3,), (2, 2)])
def test_pad_sequence_matches_torch(batch_first, padding_side, feat):
    arrays = _seqs([3, 5, 1], feat)
    ts, es = _both(arrays)
    t_out = tu.pad_sequence(ts, batch_first=batch_first, padding_value=-1.5, padding_side=padding_side)
    e_out = eu.pad_sequence(es, batch_first=batch_first, padding_value=-1.5, padding_side=padding_side)
    assert e_out.shape == tuple(t_out.shape)
    _close(e_out, t_out, "padded")
    _grads_match(es, ts, e_out, t_out)


def test_pad_sequence_single_and_errors():
    (a,) = _seqs([4])
    out = eu.pad_sequence([em.tensor(a)])
    np.testing.assert_array_equal(out.data, a[:, None])
    with pytest.raises(em.ShapeError, match=r"pad_sequence: every sequence must have shape \(L, \*\(3,\)\)"):
        eu.pad_sequence([em.zeros(2, 3), em.zeros(2, 4)])
    with pytest.raises(ValueError, match="padding_side must be 'left' or 'right'"):
        eu.pad_sequence([em.zeros(2, 3)], padding_side="middle")


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_padded_sequence_matches_torch(batch_first, enforce_sorted):
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 4]
    arrays = _seqs(lengths)
    padded = tu.pad_sequence([torch.tensor(a) for a in arrays], batch_first=batch_first).numpy()
    (tx,), (ex,) = _both([padded])
    tp = tu.pack_padded_sequence(tx, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    ep = eu.pack_padded_sequence(ex, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    assert isinstance(ep, eu.PackedSequence) and isinstance(ep, tuple)
    _close(ep.data, tp.data, "packed data")
    np.testing.assert_array_equal(ep.batch_sizes.data, tp.batch_sizes.numpy())
    assert ep.batch_sizes.dtype == em.int64
    for name in ("sorted_indices", "unsorted_indices"):
        e, t = getattr(ep, name), getattr(tp, name)
        assert (e is None) == (t is None), name
        if t is not None:
            np.testing.assert_array_equal(e.data, t.numpy())
    _grads_match([ex], [tx], ep.data, tp.data)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pad_packed_sequence_round_trip_matches_torch(batch_first, enforce_sorted):
    lengths = [4, 4, 2, 1] if enforce_sorted else [2, 4, 1, 4]
    arrays = _seqs(lengths, seed=2)
    ts, es = _both(arrays)
    tp = tu.pack_sequence(ts, enforce_sorted=enforce_sorted)
    ep = eu.pack_sequence(es, enforce_sorted=enforce_sorted)
    for total in (None, 6):
        t_pad, t_len = tu.pad_packed_sequence(tp, batch_first=batch_first, padding_value=9.0, total_length=total)
        e_pad, e_len = eu.pad_packed_sequence(ep, batch_first=batch_first, padding_value=9.0, total_length=total)
        _close(e_pad, t_pad, f"padded (total_length={total})")
        np.testing.assert_array_equal(e_len.data, t_len.numpy())
        assert e_len.dtype == em.int64
    _grads_match(es, ts, e_pad, t_pad)


def test_unpack_and_unpad_sequence_round_trip():
    arrays = _seqs([2, 5, 3], feat=(2,), seed=3)
    ts, es = _both(arrays)
    e_back = eu.unpack_sequence(eu.pack_sequence(es, enforce_sorted=False))
    t_back = tu.unpack_sequence(tu.pack_sequence(ts, enforce_sorted=False))
    assert len(e_back) == 3
    for e, t, a in zip(e_back, t_back, arrays):
        np.testing.assert_array_equal(e.data, a)
        _close(e, t)
    padded = eu.pad_sequence(es, batch_first=True)
    for e, a in zip(eu.unpad_sequence(padded, em.tensor([2, 5, 3]), batch_first=True), arrays):
        np.testing.assert_array_equal(e.data, a)
    for e, a in zip(eu.unpad_sequence(eu.pad_sequence(es), [2, 5, 3]), arrays):
        np.testing.assert_array_equal(e.data, a)
    sum(e.sum() * (i + 1) for i, e in enumerate(e_back)).backward()
    for i, e in enumerate(es):
        np.testing.assert_array_equal(e.grad.data, np.full(e.shape, i + 1.0, np.float32))


def test_packing_gradcheck_and_double_backward():
    lengths = [3, 1, 2]

    def fn(x):
        packed = eu.pack_padded_sequence(x, lengths, enforce_sorted=False)
        padded, _ = eu.pad_packed_sequence(packed, total_length=4)
        return packed.data * padded.sum()

    check_gradcheck([(3, 3, 2)], fn)
    x = em.tensor(np.random.default_rng(4).standard_normal((3, 3, 2)), requires_grad=True)
    (g,) = em.grad((fn(x) ** 2).sum(), [x], create_graph=True)
    assert em.autograd.gradgradcheck(lambda x: fn(x) ** 2, [x])
    assert g.requires_grad


def test_packed_sequence_is_a_namedtuple_like_torch():
    ep = eu.pack_sequence([em.ones(2, 3), em.ones(1, 3)])
    data, batch_sizes, sorted_indices, unsorted_indices = ep
    assert ep._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    assert data.shape == (3, 3) and batch_sizes.tolist() == [2, 1]
    assert sorted_indices is None and unsorted_indices is None
    built = eu.PackedSequence(data, batch_sizes, em.tensor([1, 0]))
    assert built.unsorted_indices.tolist() == [1, 0]
    assert eu.PackedSequence((data, batch_sizes)).batch_sizes.tolist() == [2, 1]
    assert ep.double().data.dtype == em.float64 and ep.to(em.float32) is ep
    assert eu.invert_permutation(em.tensor([2, 0, 1])).tolist() == [1, 2, 0]


def test_pack_errors():
    x = em.zeros(4, 3, 2)
    with pytest.raises(ValueError, match="`lengths` array must be sorted in decreasing order.*enforce_sorted"):
        eu.pack_padded_sequence(x, [2, 4, 1])
    with pytest.raises(em.ShapeError, match="got 2 lengths for a batch of 3 sequences"):
        eu.pack_padded_sequence(x, [4, 2])
    with pytest.raises(ValueError, match="greater than 0"):
        eu.pack_padded_sequence(x, [4, 2, 0])
    with pytest.raises(em.ShapeError, match=r"lengths \[5, 2, 1\] exceed the 4 time steps"):
        eu.pack_padded_sequence(x, [5, 2, 1])
    with pytest.raises(ValueError, match="total_length=2 and max sequence length being 4"):
        eu.pad_packed_sequence(eu.pack_padded_sequence(x, [4, 2, 1]), total_length=2)
    with pytest.raises(TypeError, match="integer lengths"):
        eu.pack_padded_sequence(x, [2.5, 2, 1])
