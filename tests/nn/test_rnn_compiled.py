"""The LSTM's compiled whole-direction loops (ember.kernels.recurrent.lstm_*_loop) against PyTorch.

They run where ember's float32 product takes the per-step products (an
AVX-512 host, steps of ``MIN_STEP_WORK`` multiply-adds or more); the
``compiled`` fixture forces that on any host and for the small test sizes, and
counts the loops run, so every case here is known to have taken them. The
parity helpers and tolerances (atol 1e-5, rtol 1e-4) are test_rnn's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember as em
from ember.kernels import recurrent as kernels
from ember.ops import gemm
from tests.nn.test_rnn import IN, B, T, _compare_layer, _init_states, _packed_case, _pair, _rng


@pytest.fixture
def compiled(monkeypatch):
    monkeypatch.setitem(gemm._state, "host", True)
    monkeypatch.setattr(gemm, "MIN_STEP_WORK", 0)
    calls = {"forward": 0, "backward": 0}

    def counting(name, fn):
        def run(*args):
            calls[name] += 1
            return fn(*args)

        return run

    monkeypatch.setattr(kernels, "lstm_forward_loop", counting("forward", kernels.lstm_forward_loop))
    monkeypatch.setattr(kernels, "lstm_backward_loop", counting("backward", kernels.lstm_backward_loop))
    return calls


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_init", [False, True])
def test_lstm_loops_match_torch(compiled, num_layers, bidirectional, with_init):
    tl, el = _pair("lstm", num_layers=num_layers, bidirectional=bidirectional)
    x = _rng().standard_normal((T, B, IN)).astype(np.float32)
    directions = 2 if bidirectional else 1
    init = _init_states("lstm", num_layers, directions, B) if with_init else None
    _compare_layer("lstm", tl, el, x, init)
    assert compiled == {"forward": num_layers * directions, "backward": num_layers * directions}


@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_loops_on_packed_sequences(compiled, enforce_sorted, bidirectional):
    # the reverse direction's steps take part of their previous state from h0 (pb < b)
    _packed_case("lstm", enforce_sorted, bidirectional, with_init=True)
    assert compiled["forward"] == compiled["backward"] == 2 * (2 if bidirectional else 1)


def test_lstm_loops_without_initial_state_batch_first(compiled):
    _packed_case("lstm", False, True, with_init=False, num_layers=1, batch_first=True)
    assert compiled["forward"] == 2


def test_lstm_loops_with_dropout_between_layers_in_eval_and_no_grad(compiled):
    tl, el = _pair("lstm", num_layers=2, bidirectional=True, dropout=0.5)
    tl.eval()
    el.eval()
    x = _rng().standard_normal((T, B, IN)).astype(np.float32)
    with em.no_grad():
        out, (h, c) = el(em.tensor(x))
    with torch.no_grad():
        t_out, (t_h, t_c) = tl(torch.tensor(x))
    for e, t in ((out, t_out), (h, t_h), (c, t_c)):
        np.testing.assert_allclose(e.data, t.numpy(), atol=1e-5, rtol=1e-4)
    assert compiled == {"forward": 4, "backward": 0}


def test_realistic_size_takes_the_loops_by_default(monkeypatch):
    """Hidden 64, batch 16 (16*64*256 multiply-adds a step): the loops run without lowering the threshold."""
    monkeypatch.setitem(gemm._state, "host", True)
    calls = []
    real = kernels.lstm_forward_loop
    monkeypatch.setattr(kernels, "lstm_forward_loop", lambda *args: (calls.append(1), real(*args))[1])
    tl, el = _pair("lstm", input_size=32, hidden=64, bidirectional=True)
    x = _rng().standard_normal((12, 16, 32)).astype(np.float32)
    _compare_layer("lstm", tl, el, x, _init_states("lstm", 1, 2, 16, hidden=64), atol=2e-5, rtol=2e-4)
    assert len(calls) == 2


# ------------------------------------------------------------ unidirectional backward, products beside the loop
@pytest.fixture
def overlapped(compiled, monkeypatch):
    """The overlapped backward forced (two workers) and counted."""
    from ember import _threads
    from ember.ops import recurrent as ops

    monkeypatch.setattr(_threads, "workers", lambda: 2)
    calls = []
    backward, forward = ops._lstm_backward_overlapped, ops._lstm_forward_overlapped
    monkeypatch.setattr(ops, "_lstm_backward_overlapped", lambda *a: (calls.append("backward"), backward(*a))[1])
    monkeypatch.setattr(ops, "_lstm_forward_overlapped", lambda *a: (calls.append("forward"), forward(*a))[1])
    return calls


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("with_init", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_overlapped_backward_matches_torch(overlapped, num_layers, with_init, bias):
    steps = 11  # three chunks of 3 steps and one of 2
    tl, el = _pair("lstm", num_layers=num_layers, bias=bias)
    x = _rng().standard_normal((steps, B, IN)).astype(np.float32)
    init = _init_states("lstm", num_layers, 1, B) if with_init else None
    _compare_layer("lstm", tl, el, x, init)
    assert sorted(overlapped) == ["backward"] * num_layers + ["forward"] * num_layers


def test_overlapped_backward_run_in_turn_and_partial_gradients(overlapped, monkeypatch):
    from ember import _threads

    # parts one after another (as with one thread): the loop comes first, so nothing waits forever
    monkeypatch.setattr(_threads, "run_parts", lambda fn, parts: [fn(*p) for p in parts])
    tl, el = _pair("lstm", num_layers=1, batch_first=True)
    x = _rng().standard_normal((B, 9, IN)).astype(np.float32)
    el.weight_ih_l0.requires_grad_(False)
    el.bias_hh_l0.requires_grad_(False)
    ex = em.tensor(x)  # no input gradient either
    out, (h, c) = el(ex)
    (out.sum() + h.sum() * 2 + c.sum()).backward()
    tx = torch.tensor(x)
    t_out, (t_h, t_c) = tl(tx)
    (t_out.sum() + t_h.sum() * 2 + t_c.sum()).backward()
    for name in ("weight_hh_l0", "bias_ih_l0"):
        np.testing.assert_allclose(
            getattr(el, name).grad.data, getattr(tl, name).grad.numpy(), atol=1e-5, rtol=1e-4, err_msg=name
        )
    assert el.weight_ih_l0.grad is None and el.bias_hh_l0.grad is None
    assert sorted(overlapped) == ["backward", "forward"]


def test_overlapped_backward_error_in_the_loop_does_not_hang(overlapped, monkeypatch):
    def broken(*args):
        raise RuntimeError("loop failed")

    monkeypatch.setattr(kernels, "lstm_backward_loop", broken)
    tl, el = _pair("lstm")
    ex = em.tensor(_rng().standard_normal((10, B, IN)).astype(np.float32), requires_grad=True)
    out, _ = el(ex)
    with pytest.raises(RuntimeError, match="loop failed"):
        out.sum().backward()


def test_overlapped_forward_on_packed_sequences(overlapped):
    """Uneven lengths: the forward projection goes chunk by chunk over uneven rows (backward does not overlap)."""
    lengths = [12, 10, 9, 9, 3]
    tl, el = _pair("lstm")
    x = _rng().standard_normal((max(lengths), len(lengths), IN)).astype(np.float32)
    tx, ex = torch.tensor(x, requires_grad=True), em.tensor(x, requires_grad=True)
    t_out, (t_h, t_c) = tl(torch.nn.utils.rnn.pack_padded_sequence(tx, lengths))
    e_out, (e_h, e_c) = el(em.nn.utils.rnn.pack_padded_sequence(ex, lengths))
    for e, t in ((e_out.data, t_out.data), (e_h, t_h), (e_c, t_c)):
        np.testing.assert_allclose(e.data, t.detach().numpy(), atol=1e-5, rtol=1e-4)
    (t_out.data.sum() + t_h.sum()).backward()
    (e_out.data.sum() + e_h.sum()).backward()
    np.testing.assert_allclose(ex.grad.data, tx.grad.numpy(), atol=1e-5, rtol=1e-4)
    assert overlapped == ["forward"]
