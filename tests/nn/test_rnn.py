"""RNN, LSTM, GRU and their cells against PyTorch: the same weights (PyTorch's state_dict loaded into
ember), the same inputs, then outputs, final states and the gradients of the input, the initial states
and every parameter compared; float64 finite differences; errors; dropout between layers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as tu

import ember as em
import ember.nn as nn
import ember.nn.utils.rnn as eu
from ember.ops import recurrent as rec
from tests.helpers import check_gradcheck

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")

ATOL, RTOL = 1e-5, 1e-4
T, B, IN, H = 4, 3, 5, 6

KINDS = {
    "rnn_tanh": ("RNN", {}),
    "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
    "lstm": ("LSTM", {}),
    "gru": ("GRU", {}),
}


def _rng(seed=0):
    return np.random.default_rng(seed)


def _pair(kind: str, dtype=torch.float32, input_size=IN, hidden=H, **kw):
    """A torch layer and an ember layer holding the same weights."""
    cls, extra = KINDS[kind] if kind in KINDS else (kind, {})
    torch.manual_seed(0)
    tl = getattr(torch.nn, cls)(input_size, hidden, **extra, **kw).to(dtype)
    el = getattr(nn, cls)(input_size, hidden, **extra, **kw)
    if dtype == torch.float64:
        el = el.double()
    el.load_state_dict({k: v.detach().numpy().copy() for k, v in tl.state_dict().items()})
    return tl, el


def _close(e, t, what, atol=ATOL, rtol=RTOL):
    a = e.data if isinstance(e, em.Tensor) else np.asarray(e)
    b = t.detach().numpy()
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}"
    np.testing.assert_allclose(a, b, atol=atol, rtol=rtol, err_msg=what)


def _states(kind, out):
    """Flatten a layer's result to the list of output tensors: output, h_n (and c_n)."""
    output, hidden = out
    if kind == "lstm" or (isinstance(hidden, tuple)):
        return [output, hidden[0], hidden[1]]
    return [output, hidden]


def _compare_layer(kind, tl, el, x: np.ndarray, init: list[np.ndarray] | None, atol=ATOL, rtol=RTOL):
    """Run both layers on x (and initial states), compare results and all gradients."""
    tx = torch.tensor(x, requires_grad=True)
    ex = em.tensor(x, requires_grad=True)
    tinit = [torch.tensor(s, requires_grad=True) for s in init] if init else None
    einit = [em.tensor(s, requires_grad=True) for s in init] if init else None
    targ = None if tinit is None else (tuple(tinit) if kind == "lstm" else tinit[0])
    earg = None if einit is None else (tuple(einit) if kind == "lstm" else einit[0])
    t_outs = _states(kind, tl(tx, targ))
    e_outs = _states(kind, el(ex, earg))
    for i, (e, t) in enumerate(zip(e_outs, t_outs)):
        _close(e, t, f"{kind} result {i}", atol, rtol)
    rng = _rng(1)
    cots = [rng.standard_normal(t.shape).astype(x.dtype) for t in t_outs]
    torch.autograd.backward(t_outs, [torch.tensor(c) for c in cots])
    em.autograd.backward(e_outs, [em.tensor(c) for c in cots])
    _close(ex.grad, tx.grad, f"{kind} input gradient", atol, rtol)
    if init:
        for i, (e, t) in enumerate(zip(einit, tinit)):
            _close(e.grad, t.grad, f"{kind} initial state {i} gradient", atol, rtol)
    eparams = dict(el.named_parameters())
    for name, p in tl.named_parameters():
        _close(eparams[name].grad, p.grad, f"{kind} gradient of {name}", atol, rtol)
    return e_outs


def _init_states(kind, layers, directions, batch, hidden=H, proj=0, unbatched=False, dtype=np.float32):
    rng = _rng(2)
    lead = (layers * directions,) if unbatched else (layers * directions, batch)
    h = rng.standard_normal(lead + (proj or hidden,)).astype(dtype)
    if kind != "lstm":
        return [h]
    return [h, rng.standard_normal(lead + (hidden,)).astype(dtype)]


# ------------------------------------------------------------------------------ parity
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_init", [False, True])
def test_layer_matches_torch(kind, num_layers, bidirectional, with_init):
    tl, el = _pair(kind, num_layers=num_layers, bidirectional=bidirectional)
    x = _rng().standard_normal((T, B, IN)).astype(np.float32)
    D = 2 if bidirectional else 1
    init = _init_states(kind, num_layers, D, B) if with_init else None
    _compare_layer(kind, tl, el, x, init)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_layer_flags_match_torch(kind, batch_first, bias):
    tl, el = _pair(kind, num_layers=2, bidirectional=True, batch_first=batch_first, bias=bias)
    shape = (B, T, IN) if batch_first else (T, B, IN)
    x = _rng().standard_normal(shape).astype(np.float32)
    _compare_layer(kind, tl, el, x, _init_states(kind, 2, 2, B))


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_init", [False, True])
def test_lstm_projection_matches_torch(num_layers, bidirectional, with_init):
    tl, el = _pair("lstm", num_layers=num_layers, bidirectional=bidirectional, proj_size=3)
    x = _rng().standard_normal((T, B, IN)).astype(np.float32)
    D = 2 if bidirectional else 1
    init = _init_states("lstm", num_layers, D, B, proj=3) if with_init else None
    _compare_layer("lstm", tl, el, x, init)
    assert el.weight_hr_l0.shape == (3, H)
    assert el(em.tensor(x))[1][0].shape == (num_layers * D, B, 3)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("with_init", [False, True])
def test_unbatched_input_matches_torch(kind, with_init):
    tl, el = _pair(kind, num_layers=2, bidirectional=True)
    x = _rng().standard_normal((T, IN)).astype(np.float32)
    init = _init_states(kind, 2, 2, None, unbatched=True) if with_init else None
    outs = _compare_layer(kind, tl, el, x, init)
    assert outs[0].shape == (T, 2 * H) and outs[1].shape == (4, H)


def test_long_sequence_and_larger_sizes_match_torch():
    tl, el = _pair("lstm", input_size=16, hidden=32, num_layers=2, batch_first=True)
    x = _rng().standard_normal((8, 40, 16)).astype(np.float32)
    _compare_layer("lstm", tl, el, x, None, atol=2e-5, rtol=2e-4)


def test_single_step_and_single_sequence():
    for kind in KINDS:
        tl, el = _pair(kind, bidirectional=True)
        _compare_layer(kind, tl, el, _rng().standard_normal((1, 1, IN)).astype(np.float32), None)


def test_float64_matches_torch_closely():
    for kind in KINDS:
        tl, el = _pair(kind, dtype=torch.float64, num_layers=2, bidirectional=True)
        x = _rng().standard_normal((T, B, IN))
        _compare_layer(kind, tl, el, x, _init_states(kind, 2, 2, B, dtype=np.float64), atol=1e-12, rtol=1e-10)
        assert el(em.tensor(x))[0].dtype == em.float64


# --------------------------------------------------------------------------- packed input
def _packed_case(kind, enforce_sorted, bidirectional, with_init, num_layers=2, proj=0, batch_first=False):
    lengths = [5, 4, 4, 2, 1] if enforce_sorted else [2, 5, 1, 4, 4]
    nb, steps = len(lengths), max(lengths)
    kw = {"proj_size": proj} if proj else {}
    tl, el = _pair(kind, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, **kw)
    shape = (nb, steps, IN) if batch_first else (steps, nb, IN)
    x = _rng().standard_normal(shape).astype(np.float32)
    D = 2 if bidirectional else 1
    init = _init_states(kind, num_layers, D, nb, proj=proj) if with_init else None
    tx, ex = torch.tensor(x, requires_grad=True), em.tensor(x, requires_grad=True)
    tinit = [torch.tensor(s, requires_grad=True) for s in init] if init else None
    einit = [em.tensor(s, requires_grad=True) for s in init] if init else None
    targ = None if tinit is None else (tuple(tinit) if kind == "lstm" else tinit[0])
    earg = None if einit is None else (tuple(einit) if kind == "lstm" else einit[0])
    tp = tu.pack_padded_sequence(tx, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    ep = eu.pack_padded_sequence(ex, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    t_out, t_hidden = tl(tp, targ)
    e_out, e_hidden = el(ep, earg)
    assert isinstance(e_out, eu.PackedSequence)
    np.testing.assert_array_equal(e_out.batch_sizes.data, t_out.batch_sizes.numpy())
    _close(e_out.data, t_out.data, "packed output data")
    t_pad, t_len = tu.pad_packed_sequence(t_out, batch_first=batch_first)
    e_pad, e_len = eu.pad_packed_sequence(e_out, batch_first=batch_first)
    np.testing.assert_array_equal(e_len.data, t_len.numpy())
    t_res = [t_pad] + (list(t_hidden) if kind == "lstm" else [t_hidden])
    e_res = [e_pad] + (list(e_hidden) if kind == "lstm" else [e_hidden])
    for i, (e, t) in enumerate(zip(e_res, t_res)):
        _close(e, t, f"packed {kind} result {i}")
    rng = _rng(3)
    cots = [rng.standard_normal(t.shape).astype(np.float32) for t in t_res]
    torch.autograd.backward(t_res, [torch.tensor(c) for c in cots])
    em.autograd.backward(e_res, [em.tensor(c) for c in cots])
    _close(ex.grad, tx.grad, "packed input gradient")
    if init:
        for i, (e, t) in enumerate(zip(einit, tinit)):
            _close(e.grad, t.grad, f"packed initial state {i} gradient")
    eparams = dict(el.named_parameters())
    for name, p in tl.named_parameters():
        _close(eparams[name].grad, p.grad, f"packed gradient of {name}")


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_input_matches_torch(kind, enforce_sorted, bidirectional):
    _packed_case(kind, enforce_sorted, bidirectional, with_init=True)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_packed_input_without_initial_state_batch_first(kind):
    _packed_case(kind, False, True, with_init=False, num_layers=1, batch_first=True)


def test_packed_lstm_with_projection_matches_torch():
    _packed_case("lstm", False, True, with_init=True, proj=3)


def test_packed_final_state_is_each_sequences_own_last_step():
    _, el = _pair("gru")
    seqs = [em.tensor(_rng(i).standard_normal((n, IN)).astype(np.float32)) for i, n in enumerate([3, 5, 2])]
    _, h_packed = el(eu.pack_sequence(seqs, enforce_sorted=False))
    for j, s in enumerate(seqs):
        _, h_alone = el(s.unsqueeze(1))
        np.testing.assert_allclose(h_packed.data[:, j], h_alone.data[:, 0], atol=1e-6)


# ------------------------------------------------------------------------------- cells
CELLS = {
    "rnn_tanh": ("RNNCell", {}),
    "rnn_relu": ("RNNCell", {"nonlinearity": "relu"}),
    "lstm": ("LSTMCell", {}),
    "gru": ("GRUCell", {}),
}


def _cell_pair(kind, bias=True, dtype=torch.float32):
    cls, extra = CELLS[kind]
    torch.manual_seed(0)
    tc = getattr(torch.nn, cls)(IN, H, bias=bias, **extra).to(dtype)
    ec = getattr(nn, cls)(IN, H, bias=bias, **extra)
    if dtype == torch.float64:
        ec = ec.double()
    ec.load_state_dict({k: v.detach().numpy().copy() for k, v in tc.state_dict().items()})
    return tc, ec


@pytest.mark.parametrize("kind", list(CELLS))
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cell_matches_torch(kind, batched, with_state):
    tc, ec = _cell_pair(kind, bias=batched)  # exercise bias=False on the unbatched cases
    rng = _rng()
    lead = (B,) if batched else ()
    x = rng.standard_normal(lead + (IN,)).astype(np.float32)
    states = [rng.standard_normal(lead + (H,)).astype(np.float32) for _ in range(2 if kind == "lstm" else 1)]
    tx, ex = torch.tensor(x, requires_grad=True), em.tensor(x, requires_grad=True)
    ts = [torch.tensor(s, requires_grad=True) for s in states]
    es = [em.tensor(s, requires_grad=True) for s in states]
    if not with_state:
        t_res, e_res = tc(tx), ec(ex)
    elif kind == "lstm":
        t_res, e_res = tc(tx, tuple(ts)), ec(ex, tuple(es))
    else:
        t_res, e_res = tc(tx, ts[0]), ec(ex, es[0])
    t_res = list(t_res) if isinstance(t_res, tuple) else [t_res]
    e_res = list(e_res) if isinstance(e_res, tuple) else [e_res]
    for i, (e, t) in enumerate(zip(e_res, t_res)):
        _close(e, t, f"{kind} cell result {i}")
    cots = [rng.standard_normal(t.shape).astype(np.float32) for t in t_res]
    torch.autograd.backward(t_res, [torch.tensor(c) for c in cots])
    em.autograd.backward(e_res, [em.tensor(c) for c in cots])
    _close(ex.grad, tx.grad, f"{kind} cell input gradient")
    if with_state:
        for e, t in zip(es, ts):
            _close(e.grad, t.grad, f"{kind} cell state gradient")
    eparams = dict(ec.named_parameters())
    for name, p in tc.named_parameters():
        _close(eparams[name].grad, p.grad, f"{kind} cell gradient of {name}")


# ------------------------------------------------------------------ finite differences
def _weights_of(el):
    return [p for p in el._weights_per_direction()]


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
def test_gradcheck_float64(mode):
    cls = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
    kw = {"nonlinearity": "relu"} if mode == "RNN_RELU" else {}
    layer = getattr(nn, cls)(2, 3, num_layers=2, bidirectional=True, **kw).double()
    weights = _weights_of(layer)
    present = [i for i, w in enumerate(weights) if w is not None]
    rng = _rng(4)
    x = rng.standard_normal((3, 2, 2))
    h0 = rng.standard_normal((4, 2, 3))
    c0 = rng.standard_normal((4, 2, 3))

    def fn(x, h0, c0, *ws):
        full = list(weights)
        for i, w in zip(present, ws):
            full[i] = w
        return rec.recurrent(mode, x, h0, c0, full, hidden_size=3, num_layers=2, bidirectional=True)

    check_gradcheck(None, fn, inputs=[x, h0, c0] + [weights[i].data for i in present])


def test_gradcheck_lstm_projection_packed_float64():
    layer = nn.LSTM(2, 3, bidirectional=True, proj_size=2).double()
    weights = _weights_of(layer)
    present = [i for i, w in enumerate(weights) if w is not None]
    rng = _rng(5)
    data = rng.standard_normal((6, 2))  # lengths 3, 2, 1 packed: batch sizes 3, 2, 1
    h0, c0 = rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 3, 3))

    def fn(x, h0, c0, *ws):
        full = list(weights)
        for i, w in zip(present, ws):
            full[i] = w
        return rec.recurrent(
            "LSTM", x, h0, c0, full, hidden_size=3, proj_size=2, bidirectional=True,
            batch_sizes=[3, 2, 1], sorted_indices=[2, 0, 1], unsorted_indices=[1, 2, 0],
        )  # fmt: skip

    check_gradcheck(None, fn, inputs=[data, h0, c0] + [weights[i].data for i in present])


@pytest.mark.parametrize("kind", list(CELLS))
def test_cell_gradcheck_float64(kind):
    _, cell = _cell_pair(kind, dtype=torch.float64)
    rng = _rng(6)
    x = rng.standard_normal((2, IN))
    states = [rng.standard_normal((2, H)) for _ in range(2 if kind == "lstm" else 1)]
    if kind == "lstm":
        check_gradcheck(None, lambda x, h, c: cell(x, (h, c)), inputs=[x] + states)
    else:
        check_gradcheck(None, lambda x, h: cell(x, h), inputs=[x] + states)


def test_gradcheck_with_dropout_between_layers():
    layer = nn.GRU(2, 3, num_layers=3, dropout=0.5).double().train()
    x = _rng(7).standard_normal((3, 2, 2))

    def fn(x):
        em.manual_seed(11)  # the same dropout masks on every evaluation
        return layer(x)[0]

    check_gradcheck(None, fn, inputs=[x])


def test_double_backward_raises():
    _, el = _pair("lstm")
    x = em.tensor(_rng().standard_normal((T, B, IN)).astype(np.float32), requires_grad=True)
    out, _ = el(x)
    (gx,) = em.grad(out.sum(), [x], create_graph=True)
    tl, _ = _pair("lstm")
    tx = torch.tensor(x.data, requires_grad=True)
    (t_gx,) = torch.autograd.grad(tl(tx)[0].sum(), [tx])
    _close(gx, t_gx, "first-order gradient under create_graph")
    with pytest.raises(em.AutogradError, match="double backward through LSTM is not supported"):
        gx.sum().backward()


def test_in_place_change_of_the_output_is_caught():
    _, el = _pair("rnn_tanh")
    x = em.tensor(_rng().standard_normal((T, B, IN)).astype(np.float32), requires_grad=True)
    out, _ = el(x)
    loss = out.sum()
    out.mul_(2.0)
    with pytest.raises(em.AutogradError, match="modified by an in-place operation: the output of RNN"):
        loss.backward()


def test_nan_propagates_like_torch():
    for kind in KINDS:
        tl, el = _pair(kind)
        x = _rng().standard_normal((T, B, IN)).astype(np.float32)
        x[1, 0, 2] = np.nan
        t_out = tl(torch.tensor(x))[0].detach().numpy()
        e_out = el(em.tensor(x))[0].data
        np.testing.assert_array_equal(np.isnan(e_out), np.isnan(t_out), err_msg=kind)
        assert np.isnan(e_out[1:, 0]).all()


def test_empty_batch():
    for kind in KINDS:
        tl, el = _pair(kind, bidirectional=True)
        t_res = _states(kind, tl(torch.zeros(T, 0, IN)))
        e_res = _states(kind, el(em.zeros(T, 0, IN)))
        assert [tuple(e.shape) for e in e_res] == [tuple(t.shape) for t in t_res]


def test_backward_twice_without_retain_graph_raises():
    _, el = _pair("gru")
    x = em.tensor(_rng().standard_normal((T, B, IN)).astype(np.float32), requires_grad=True)
    out = el(x)[0].sum()
    out.backward()
    with pytest.raises(em.AutogradError, match="second time"):
        out.backward()


# ----------------------------------------------------------------------------- dropout
def _identity_second_layer(p):
    """A 2-layer ReLU RNN whose second layer passes its (dropped-out) input through unchanged."""
    layer = nn.RNN(2, 4, num_layers=2, nonlinearity="relu", bias=False, dropout=p)
    layer.weight_ih_l0.data[:] = np.abs(layer.weight_ih_l0.data) + 0.1
    layer.weight_hh_l0.data[:] = 0.0
    layer.weight_ih_l1.data[:] = np.eye(4, dtype=np.float32)
    layer.weight_hh_l1.data[:] = 0.0
    return layer


def test_dropout_between_layers_statistics():
    p = 0.3
    layer = _identity_second_layer(p)
    x = em.tensor(np.abs(_rng().standard_normal((50, 40, 2))).astype(np.float32) + 0.1)
    reference = layer.eval()(x)[0].data  # positive everywhere: layer 1 output, no dropout
    assert np.all(reference > 0)
    out = layer.train()(x)[0].data
    dropped = out == 0
    assert abs(dropped.mean() - p) < 0.02
    np.testing.assert_allclose(out[~dropped], reference[~dropped] / (1 - p), rtol=1e-5)
    em.manual_seed(3)
    a = layer(x)[0].data
    em.manual_seed(3)
    b = layer(x)[0].data
    np.testing.assert_array_equal(a, b)


def test_dropout_is_identity_in_eval_and_matches_torch():
    tl, el = _pair("lstm", num_layers=2, dropout=0.5)
    tl.eval()
    el.eval()
    x = _rng().standard_normal((T, B, IN)).astype(np.float32)
    _compare_layer("lstm", tl, el, x, None)


def test_dropout_one_layer_warns():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.LSTM(IN, H, dropout=0.5)


# ------------------------------------------------------------------- module contract
def test_parameter_names_shapes_and_order_match_torch():
    for cls, kw in [("RNN", {}), ("LSTM", {"proj_size": 2}), ("GRU", {"bias": False}), ("LSTM", {})]:
        tl = getattr(torch.nn, cls)(IN, H, num_layers=2, bidirectional=True, **kw)
        el = getattr(nn, cls)(IN, H, num_layers=2, bidirectional=True, **kw)
        assert [(n, tuple(p.shape)) for n, p in el.named_parameters()] == [
            (n, tuple(p.shape)) for n, p in tl.named_parameters()
        ]
        assert list(el.state_dict()) == list(tl.state_dict())
        assert len(el.all_weights) == len(tl.all_weights) == 4
        assert [len(w) for w in el.all_weights] == [len(w) for w in tl.all_weights]


def test_default_init_is_uniform_in_one_over_sqrt_hidden():
    layer = nn.GRU(10, 64, num_layers=2)
    bound = 1 / np.sqrt(64)
    values = np.concatenate([p.data.ravel() for p in layer.parameters()])
    assert values.min() >= -bound and values.max() <= bound
    assert values.min() < -0.9 * bound and values.max() > 0.9 * bound
    assert abs(values.mean()) < 0.01
    cell = nn.LSTMCell(3, 16)
    assert np.abs(cell.weight_hh.data).max() <= 0.25


def test_flatten_parameters_is_a_noop_and_repr():
    layer = nn.LSTM(IN, H, num_layers=2, batch_first=True, bidirectional=True, proj_size=2)
    assert layer.flatten_parameters() is None
    assert repr(layer) == repr(torch.nn.LSTM(IN, H, num_layers=2, batch_first=True, bidirectional=True, proj_size=2))
    assert repr(nn.RNN(2, 3, nonlinearity="relu")) == repr(torch.nn.RNN(2, 3, nonlinearity="relu"))
    assert repr(nn.GRUCell(2, 3, bias=False)) == repr(torch.nn.GRUCell(2, 3, bias=False))
    assert repr(nn.RNNCell(2, 3, nonlinearity="relu")) == repr(torch.nn.RNNCell(2, 3, nonlinearity="relu"))


def test_no_grad_forward_records_nothing():
    _, el = _pair("lstm")
    x = em.tensor(_rng().standard_normal((T, B, IN)).astype(np.float32))
    with em.no_grad():
        out, (h, c) = el(x)
    assert not out.requires_grad and out.grad_fn is None and h.grad_fn is None


def test_frozen_weights_and_data_input_get_no_gradient():
    tl, el = _pair("lstm", num_layers=2)
    el.weight_ih_l0.requires_grad_(False)
    x = em.tensor(_rng().standard_normal((T, B, IN)).astype(np.float32))
    out, _ = el(x)
    out.sum().backward()
    assert el.weight_ih_l0.grad is None and x.grad is None
    tl.weight_ih_l0.requires_grad_(False)
    tl(torch.tensor(x.data))[0].sum().backward()
    _close(el.weight_hh_l0.grad, tl.weight_hh_l0.grad, "weight_hh_l0 gradient with frozen weight_ih_l0")


@pytest.mark.parametrize("kind", list(KINDS))
def test_initial_state_without_gradient(kind):
    tl, el = _pair(kind, num_layers=2)
    x = _rng().standard_normal((T, B, IN)).astype(np.float32)
    init = _init_states(kind, 2, 1, B)
    t_hx = tuple(torch.tensor(s) for s in init) if kind == "lstm" else torch.tensor(init[0])
    e_hx = tuple(em.tensor(s) for s in init) if kind == "lstm" else em.tensor(init[0])
    tl(torch.tensor(x), t_hx)[0].sum().backward()
    el(em.tensor(x), e_hx)[0].sum().backward()
    for name, p in tl.named_parameters():
        _close(dict(el.named_parameters())[name].grad, p.grad, f"gradient of {name} with a constant h_0")


def test_output_only_and_hidden_only_losses():
    tl, el = _pair("gru", bidirectional=True)
    x = _rng().standard_normal((T, B, IN)).astype(np.float32)
    tx, ex = torch.tensor(x, requires_grad=True), em.tensor(x, requires_grad=True)
    tl(tx)[1].sum().backward()
    el(ex)[1].sum().backward()
    _close(ex.grad, tx.grad, "gradient of h_n only")


# ------------------------------------------------------------------------------ errors
def test_input_size_error_names_layer_and_shape():
    layer = nn.LSTM(128, 32, batch_first=True)
    with pytest.raises(
        em.ShapeError, match=r"LSTM: expected input of size 128 in its last dimension, got \(64, 50, 100\)"
    ):
        layer(em.zeros(64, 50, 100))


def test_input_rank_error():
    with pytest.raises(
        em.ShapeError, match=r"GRU: expected input of 2 .* or 3 .* dimensions, got shape \(2, 3, 4, 5\)"
    ):
        nn.GRU(5, 3)(em.zeros(2, 3, 4, 5))
    with pytest.raises(em.ShapeError, match="RNNCell: expected input to be 1-D or 2-D"):
        nn.RNNCell(5, 3)(em.zeros(2, 3, 5))


def test_initial_state_shape_errors_name_expected_and_got():
    layer = nn.LSTM(IN, H, num_layers=2)
    x = em.zeros(T, B, IN)
    with pytest.raises(em.ShapeError, match=r"LSTM: expected h_0 of shape \(2, 3, 6\), got \(1, 3, 6\)"):
        layer(x, (em.zeros(1, B, H), em.zeros(2, B, H)))
    with pytest.raises(em.ShapeError, match=r"LSTM: expected c_0 of shape \(2, 3, 6\), got \(2, 3, 5\)"):
        layer(x, (em.zeros(2, B, H), em.zeros(2, B, 5)))
    with pytest.raises(em.ShapeError, match=r"GRU: expected h_0 of shape \(2, 3, 6\)"):
        nn.GRU(IN, H, bidirectional=True)(x, em.zeros(1, B, H))
    with pytest.raises(em.ShapeError, match="for unbatched 2-D input, h_0 should also be 2-D"):
        nn.RNN(IN, H)(em.zeros(T, IN), em.zeros(1, 1, H))
    with pytest.raises(TypeError, match=r"expected hx to be a tuple \(h_0, c_0\)"):
        layer(x, em.zeros(2, B, H))
    with pytest.raises(em.ShapeError, match=r"GRUCell: expected hx of shape \(3, 6\), got \(2, 6\)"):
        nn.GRUCell(IN, H)(em.zeros(B, IN), em.zeros(2, H))


def test_dtype_and_argument_errors():
    with pytest.raises(
        em.DTypeError, match="LSTM: input dtype ember.float64 does not match the weights' dtype ember.float32"
    ):
        nn.LSTM(IN, H)(em.zeros(T, B, IN, dtype=em.float64))
    with pytest.raises(em.DTypeError, match="expected a float32 or float64 input"):
        nn.GRU(IN, H)(em.zeros(T, B, IN, dtype=em.int64))
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        nn.RNNBase("GRU", IN, H, proj_size=2)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(IN, H, proj_size=H)
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        nn.RNN(IN, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.LSTM(IN, H, num_layers=2, dropout=1.5)
    with pytest.raises(em.ShapeError, match="at least one time step"):
        nn.LSTM(IN, H)(em.zeros(0, B, IN))
