"""MultiheadAttention and the Transformer layers against PyTorch.

Each parity case builds the same module in both libraries, loads torch's
state_dict into ember (the key lists must be identical), runs both on the same
inputs and compares the outputs (attention weights too), the gradient of every
input that requires one and of every parameter. Tolerances: float32 atol 1e-5,
rtol 1e-4; float64 finite differences atol 1e-5, rtol 1e-3.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember as em
import ember.nn as enn
import ember.nn.functional as F
from ember.autograd import gradcheck, gradgradcheck
from ember.errors import ShapeError
from ember.ops.multihead import multi_head_attention_forward

pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")

ATOL, RTOL = 1e-5, 1e-4
E, H, L, S, N = 8, 2, 5, 4, 3  # embed dim, heads, target length, source length, batch


def _arr(shape, seed, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def _close(actual, expected, what):
    np.testing.assert_allclose(actual, expected, atol=ATOL, rtol=RTOL, equal_nan=True, err_msg=what)


def _load(ours, ref):
    t_state = ref.state_dict()
    assert list(ours.state_dict()) == list(t_state), "state_dict keys (and their order) differ from torch's"
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in t_state.items()})


class _Pair:
    """The same tensors in both libraries: ``pair.em[name]`` and ``pair.torch[name]``."""

    def __init__(self, arrays: dict, grad: tuple = ()):
        self.em = {k: em.tensor(v, requires_grad=k in grad) for k, v in arrays.items()}
        self.torch = {k: torch.tensor(v, requires_grad=k in grad) for k, v in arrays.items()}
        self.grad = grad


def _compare(ours, ref, pair: _Pair, call, seed=11):
    """Run ``call(module, tensors)`` in both libraries; compare outputs, input and parameter gradients."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_out = call(ref, pair.torch)
    e_out = call(ours, pair.em)
    t_out = t_out if isinstance(t_out, tuple) else (t_out,)
    e_out = e_out if isinstance(e_out, tuple) else (e_out,)
    assert len(e_out) == len(t_out)
    rng = np.random.default_rng(seed)
    e_loss = t_loss = 0
    for i, (e, t) in enumerate(zip(e_out, t_out)):
        if t is None:
            assert e is None, f"output {i}: torch gives None, ember {e.shape}"
            continue
        assert e.shape == tuple(t.shape), f"output {i}: shape {e.shape} != torch's {tuple(t.shape)}"
        _close(e.data, t.detach().numpy(), f"output {i}")
        if not np.all(np.isfinite(t.detach().numpy())):
            continue  # nan rows (fully masked, as torch) have no gradient to compare
        cot = rng.standard_normal(e.shape).astype(np.float32)
        e_loss = e_loss + (e * em.tensor(cot)).sum()
        t_loss = t_loss + (t * torch.tensor(cot)).sum()
    e_loss.backward()
    t_loss.backward()
    for name in pair.grad:
        _close(pair.em[name].grad.data, pair.torch[name].grad.numpy(), f"gradient of input {name}")
    t_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        tg = t_params[name].grad
        if tg is None:
            assert p.grad is None or not np.any(p.grad.data), f"{name}: torch has no gradient"
            continue
        assert p.grad is not None, f"{name}: no gradient, torch has one"
        _close(p.grad.data, tg.numpy(), f"gradient of {name}")
    return e_out


def _mha_pair(**kwargs):
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(E, H, **kwargs)
    ours = enn.MultiheadAttention(E, H, **kwargs)
    _load(ours, ref)
    return ours, ref


def _seq(batch_first, length=L, feat=E, seed=0):
    return _arr((N, length, feat) if batch_first else (length, N, feat), seed)


# ------------------------------------------------------------------ MultiheadAttention
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_mha_self_attention(batch_first, need_weights, average):
    ours, ref = _mha_pair(batch_first=batch_first)
    pair = _Pair({"x": _seq(batch_first)}, grad=("x",))

    def call(m, t):
        return m(t["x"], t["x"], t["x"], need_weights=need_weights, average_attn_weights=average)

    out = _compare(ours, ref, pair, call)
    if need_weights:
        assert out[1].shape == ((N, L, L) if average else (N, H, L, L))


# Heads of 16 features over 24 positions: the attention's stacked products go to ember's kernel
# (``ops.gemm.batched``, forced on any host and at this size), the packed q/k/v views and the
# (N, L, H, D) output included; sgemm_batch's calls are counted.
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_through_embers_stacked_products(batch_first, need_weights, monkeypatch):
    from tests.helpers import spy_stacked_kernel

    calls = spy_stacked_kernel(monkeypatch, lambda a: a[2])  # B transposed?
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(32, 2, batch_first=batch_first)
    ours = enn.MultiheadAttention(32, 2, batch_first=batch_first)
    _load(ours, ref)
    pair = _Pair({"x": _seq(batch_first, length=24, feat=32)}, grad=("x",))
    _compare(ours, ref, pair, lambda m, t: m(t["x"], t["x"], t["x"], need_weights=need_weights))
    # forward: scores (B transposed) and the weighted sum; backward: four more
    assert len(calls) == 6 and calls.count(True) == 2


def _bool_mask(shape, seed):
    m = np.random.default_rng(seed).random(shape) < 0.3
    m[..., 0] = False  # every row keeps a key: no nan rows
    return m


def _float_mask(shape, seed):
    return np.random.default_rng(seed).uniform(-2.0, 1.0, shape).astype(np.float32)


MASKS = {
    "kpm-bool": {"key_padding_mask": lambda: _bool_mask((N, S), 1)},
    "kpm-float": {"key_padding_mask": lambda: _float_mask((N, S), 2)},
    "attn-bool-2d": {"attn_mask": lambda: _bool_mask((L, S), 3)},
    "attn-float-2d": {"attn_mask": lambda: _float_mask((L, S), 4)},
    "attn-bool-3d": {"attn_mask": lambda: _bool_mask((N * H, L, S), 5)},
    "attn-float-3d": {"attn_mask": lambda: _float_mask((N * H, L, S), 6)},
    "attn-and-kpm-bool": {
        "attn_mask": lambda: _bool_mask((L, S), 7),
        "key_padding_mask": lambda: _bool_mask((N, S), 8),
    },
    "attn-float-kpm-float": {
        "attn_mask": lambda: _float_mask((N * H, L, S), 9),
        "key_padding_mask": lambda: _float_mask((N, S), 10),
    },
}


@pytest.mark.parametrize("mask", list(MASKS))
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_masks_cross_attention(mask, need_weights, batch_first):
    ours, ref = _mha_pair(batch_first=batch_first)
    arrays = {"q": _seq(batch_first, L, seed=1), "kv": _seq(batch_first, S, seed=2)}
    arrays.update({k: f() for k, f in MASKS[mask].items()})
    pair = _Pair(arrays, grad=("q", "kv"))
    masks = list(MASKS[mask])

    def call(m, t):
        return m(t["q"], t["kv"], t["kv"], need_weights=need_weights, **{k: t[k] for k in masks})

    _compare(ours, ref, pair, call)


def test_mha_separate_key_and_value_tensors():
    ours, ref = _mha_pair()
    pair = _Pair(
        {"q": _seq(False, L, seed=1), "k": _seq(False, S, seed=2), "v": _seq(False, S, seed=3)}, ("q", "k", "v")
    )
    _compare(ours, ref, pair, lambda m, t: m(t["q"], t["k"], t["v"], key_padding_mask=None))


def test_mha_query_is_key_but_not_value():
    ours, ref = _mha_pair(batch_first=True)
    pair = _Pair({"x": _seq(True, L, seed=1), "v": _seq(True, L, seed=2)}, ("x", "v"))
    _compare(ours, ref, pair, lambda m, t: m(t["x"], t["x"], t["v"]))


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_is_causal_with_causal_mask(need_weights):
    ours, ref = _mha_pair(batch_first=True)
    causal = np.triu(np.ones((L, L), bool), 1)
    pair = _Pair({"x": _seq(True), "mask": causal}, grad=("x",))
    _compare(
        ours,
        ref,
        pair,
        lambda m, t: m(t["x"], t["x"], t["x"], attn_mask=t["mask"], is_causal=True, need_weights=need_weights),
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"add_bias_kv": True},
        {"add_zero_attn": True},
        {"add_bias_kv": True, "add_zero_attn": True},
        {"bias": False},
        {"kdim": 6, "vdim": 3},
        {"kdim": 6, "vdim": 3, "add_bias_kv": True, "bias": False},
    ],
    ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()),
)
@pytest.mark.parametrize("masked", [False, True])
def test_mha_options(kwargs, masked):
    batch_first = "kdim" in kwargs
    ours, ref = _mha_pair(batch_first=batch_first, **kwargs)
    kdim, vdim = kwargs.get("kdim", E), kwargs.get("vdim", E)
    arrays = {"q": _seq(batch_first, L, E, 1), "k": _seq(batch_first, S, kdim, 2), "v": _seq(batch_first, S, vdim, 3)}
    if masked:
        arrays["kpm"] = _bool_mask((N, S), 4)
        arrays["am"] = _float_mask((L, S), 5)
    pair = _Pair(arrays, grad=("q", "k", "v"))

    def call(m, t):
        masks = {"key_padding_mask": t["kpm"], "attn_mask": t["am"]} if masked else {}
        return m(t["q"], t["k"], t["v"], average_attn_weights=False, **masks)

    out = _compare(ours, ref, pair, call)
    extra = kwargs.get("add_bias_kv", False) + kwargs.get("add_zero_attn", False)
    assert out[1].shape == (N, H, L, S + extra)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_unbatched(need_weights):
    ours, ref = _mha_pair(batch_first=True)  # batch_first is ignored for unbatched input
    arrays = {"x": _arr((L, E), 1), "kpm": _bool_mask((L,), 2), "am": _float_mask((H, L, L), 3)}
    pair = _Pair(arrays, grad=("x",))

    def call(m, t):
        return m(t["x"], t["x"], t["x"], key_padding_mask=t["kpm"], attn_mask=t["am"], need_weights=need_weights)

    out = _compare(ours, ref, pair, call)
    assert out[0].shape == (L, E)


def test_mha_fully_masked_rows_follow_torch():
    """A query that sees no key: nan with need_weights (plain softmax), zeros without (SDPA's rule)."""
    ours, ref = _mha_pair()
    kpm = np.zeros((N, L), bool)
    kpm[1] = True
    pair = _Pair({"x": _seq(False), "kpm": kpm}, grad=("x",))
    out = _compare(
        ours, ref, pair, lambda m, t: m(t["x"], t["x"], t["x"], key_padding_mask=t["kpm"], need_weights=False)
    )
    assert np.all(out[0].data[:, 1] == 0)
    ours.eval()
    weighted = ours(pair.em["x"], pair.em["x"], pair.em["x"], key_padding_mask=pair.em["kpm"])
    assert np.all(np.isnan(weighted[0].data[:, 1])) and np.all(np.isfinite(weighted[0].data[:, 0]))


def test_mha_float_attn_mask_gets_a_gradient():
    """A learned additive bias (float mask requiring grad) gets the score gradient, as in torch."""
    ours, ref = _mha_pair(batch_first=True)
    pair = _Pair({"x": _seq(True), "bias": _float_mask((N * H, L, L), 1)}, grad=("x", "bias"))
    _compare(ours, ref, pair, lambda m, t: m(t["x"], t["x"], t["x"], attn_mask=t["bias"]))


def test_functional_multi_head_attention_forward_matches_torch():
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(E, H)
    args = [p.detach().numpy() for p in (ref.in_proj_weight, ref.in_proj_bias, ref.out_proj.weight, ref.out_proj.bias)]
    x = _seq(False)
    kpm = _bool_mask((N, L), 3)
    t = torch.tensor(x)
    tw, tb, tow, tob = (torch.tensor(a) for a in args)
    expected = TF.multi_head_attention_forward(
        t, t, t, E, H, tw, tb, None, None, False, 0.0, tow, tob, key_padding_mask=torch.tensor(kpm)
    )
    e = em.tensor(x)
    ew, eb, eow, eob = (em.tensor(a) for a in args)
    got = multi_head_attention_forward(
        e, e, e, E, H, ew, eb, None, None, False, 0.0, eow, eob, key_padding_mask=em.tensor(kpm)
    )
    _close(got[0].data, expected[0].numpy(), "output")
    _close(got[1].data, expected[1].numpy(), "weights")


def test_mha_parameter_names_and_init():
    m = enn.MultiheadAttention(E, H, add_bias_kv=True)
    assert list(m.state_dict()) == [
        "in_proj_weight",
        "in_proj_bias",
        "bias_k",
        "bias_v",
        "out_proj.weight",
        "out_proj.bias",
    ]
    assert m.in_proj_weight.shape == (3 * E, E) and m.bias_k.shape == (1, 1, E)
    bound = np.sqrt(6.0 / (E + 3 * E))  # xavier_uniform_ on (3E, E)
    assert np.all(np.abs(m.in_proj_weight.data) <= bound) and np.abs(m.in_proj_weight.data).max() > bound / 2
    assert not np.any(m.in_proj_bias.data) and not np.any(m.out_proj.bias.data)
    sep = enn.MultiheadAttention(E, H, kdim=6, vdim=3, bias=False)
    assert list(sep.state_dict()) == ["q_proj_weight", "k_proj_weight", "v_proj_weight", "out_proj.weight"]
    assert sep.in_proj_weight is None and sep.bias_k is None and sep.out_proj.bias is None


def test_mha_errors():
    with pytest.raises(ValueError, match="divisible"):
        enn.MultiheadAttention(6, 4)
    m = enn.MultiheadAttention(E, H)
    x = em.randn(L, N, E)
    with pytest.raises(ShapeError, match=r"2-d attn_mask has shape \(4, 4\), but should be \(5, 5\)"):
        m(x, x, x, attn_mask=em.zeros(4, 4))
    with pytest.raises(ShapeError, match=r"key_padding_mask has shape \(2, 5\), but should be \(3, 5\)"):
        m(x, x, x, key_padding_mask=em.zeros(2, 5, dtype=em.bool))
    with pytest.raises(ValueError, match="is_causal"):
        m(x, x, x, is_causal=True)
    with pytest.raises(ShapeError, match="embedding dimension 8"):
        m(em.randn(L, N, 4), x, x)


# ------------------------------------------------------------------ dropout
def test_mha_dropout_eval_identity_and_seeded_training():
    ours, ref = _mha_pair(dropout=0.5, batch_first=True)
    ours.eval()
    ref.eval()
    pair = _Pair({"x": _seq(True)}, grad=("x",))
    _compare(ours, ref, pair, lambda m, t: m(t["x"], t["x"], t["x"]))
    ours.train()
    x = em.tensor(_seq(True))
    em.manual_seed(3)
    a, wa = ours(x, x, x, average_attn_weights=False)
    em.manual_seed(3)
    b, wb = ours(x, x, x, average_attn_weights=False)
    c, wc = ours(x, x, x, average_attn_weights=False)
    assert np.array_equal(a.data, b.data) and np.array_equal(wa.data, wb.data)
    assert not np.array_equal(a.data, c.data)
    zeros = np.mean(wa.data == 0)
    assert 0.3 < zeros < 0.7, f"fraction of dropped weights {zeros}"
    kept = wa.data[wa.data != 0]
    ours.eval()
    _, w_eval = ours(x, x, x, average_attn_weights=False)
    # kept weights are the eval weights scaled by 1 / (1 - p)
    np.testing.assert_allclose(kept, 2 * w_eval.data[wa.data != 0], rtol=1e-6)


def test_mha_dropout_gradient_matches_finite_differences():
    m = enn.MultiheadAttention(4, 2, dropout=0.3, batch_first=True).double()
    x = em.tensor(np.random.default_rng(0).uniform(-1, 1, (2, 3, 4)), requires_grad=True)

    def fn(x, w):
        em.manual_seed(5)  # the same dropout mask on every call
        return m(x, x, x, need_weights=False)[0]

    def fn_weights(x, w):
        em.manual_seed(5)
        return m(x, x, x, average_attn_weights=False)  # the weights output (after dropout) too

    assert gradcheck(fn, (x, m.in_proj_weight))
    assert gradcheck(fn_weights, (x, m.in_proj_weight))
    assert gradgradcheck(fn, (x, m.in_proj_weight))


# ------------------------------------------------------------------ gradcheck
def test_mha_gradcheck_float64():
    rng = np.random.default_rng(1)

    def t(*shape):
        return em.tensor(rng.uniform(-1, 1, shape), requires_grad=True)

    q, kv = t(3, 2, 4), t(2, 2, 4)
    w_in, b_in, w_out, b_out, bias_k, bias_v = t(12, 4), t(12), t(4, 4), t(4), t(1, 1, 4), t(1, 1, 4)
    kpm = em.tensor(np.array([[0.0, -1.0], [0.5, 0.0]]))

    def fn(q, kv, w_in, b_in, w_out, b_out, bias_k, bias_v):
        return multi_head_attention_forward(
            q, kv, kv, 4, 2, w_in, b_in, bias_k, bias_v, True, 0.0, w_out, b_out, key_padding_mask=kpm,
            average_attn_weights=False,
        )  # fmt: skip

    assert gradcheck(fn, (q, kv, w_in, b_in, w_out, b_out, bias_k, bias_v))


def test_mha_second_order_gradients():
    rng = np.random.default_rng(2)
    x = em.tensor(rng.uniform(-1, 1, (2, 1, 4)), requires_grad=True)
    w_in = em.tensor(rng.uniform(-1, 1, (12, 4)), requires_grad=True)
    w_out = em.tensor(rng.uniform(-1, 1, (4, 4)), requires_grad=True)
    mask = em.tensor(np.array([[0.0, -0.5], [0.3, 0.0]]))

    def fn(x, w_in, w_out):
        out, weights = multi_head_attention_forward(
            x, x, x, 4, 2, w_in, None, None, None, False, 0.0, w_out, None, attn_mask=mask
        )
        return out

    assert gradgradcheck(fn, (x, w_in, w_out))


def test_encoder_layer_gradcheck_float64():
    torch.manual_seed(0)
    layer = enn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, batch_first=True).double()
    x = em.tensor(np.random.default_rng(3).uniform(-1, 1, (2, 3, 4)), requires_grad=True)
    params = (layer.self_attn.in_proj_weight, layer.linear1.weight, layer.norm1.weight, layer.norm2.bias)

    def fn(x, *params):
        return layer(x)

    assert gradcheck(fn, (x, *params))


# ------------------------------------------------------------------ encoder / decoder layers
ACTIVATIONS = {
    "relu": ("relu", "relu"),
    "gelu": ("gelu", "gelu"),
    "callable": (lambda x: F.silu(x), lambda x: TF.silu(x)),
}


def _layer_pair(kind, activation="relu", **kwargs):
    ea, ta = ACTIVATIONS[activation]
    torch.manual_seed(0)
    ref = getattr(torch.nn, kind)(E, H, 16, dropout=0.0, activation=ta, **kwargs)
    ours = getattr(enn, kind)(E, H, 16, dropout=0.0, activation=ea, **kwargs)
    _load(ours, ref)
    return ours, ref


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer(norm_first, activation, batch_first):
    ours, ref = _layer_pair("TransformerEncoderLayer", activation, batch_first=batch_first, norm_first=norm_first)
    pair = _Pair({"x": _seq(batch_first), "mask": _float_mask((L, L), 1), "kpm": _bool_mask((N, L), 2)}, ("x",))
    _compare(ours, ref, pair, lambda m, t: m(t["x"], src_mask=t["mask"], src_key_padding_mask=t["kpm"]))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", "callable"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer(norm_first, activation, batch_first):
    ours, ref = _layer_pair("TransformerDecoderLayer", activation, batch_first=batch_first, norm_first=norm_first)
    arrays = {
        "tgt": _seq(batch_first, L, seed=1),
        "mem": _seq(batch_first, S, seed=2),
        "tgt_mask": np.triu(np.full((L, L), -np.inf, np.float32), 1),
        "mem_kpm": _bool_mask((N, S), 3),
        "mem_mask": _bool_mask((L, S), 4),
    }
    pair = _Pair(arrays, grad=("tgt", "mem"))

    def call(m, t):
        return m(
            t["tgt"], t["mem"], tgt_mask=t["tgt_mask"], memory_mask=t["mem_mask"],
            memory_key_padding_mask=t["mem_kpm"], tgt_is_causal=True,
        )  # fmt: skip

    _compare(ours, ref, pair, call)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_stack_with_final_norm_and_causal_mask(norm_first):
    torch.manual_seed(0)
    t_layer = torch.nn.TransformerEncoderLayer(E, H, 16, dropout=0.0, norm_first=norm_first)
    ref = torch.nn.TransformerEncoder(t_layer, 2, norm=torch.nn.LayerNorm(E), enable_nested_tensor=False)
    e_layer = enn.TransformerEncoderLayer(E, H, 16, dropout=0.0, norm_first=norm_first)
    ours = enn.TransformerEncoder(e_layer, 2, norm=enn.LayerNorm(E))
    _load(ours, ref)
    assert "layers.1.self_attn.in_proj_weight" in ours.state_dict()
    assert ours.layers[0].linear1.weight is not ours.layers[1].linear1.weight  # deep copies
    causal = np.triu(np.full((L, L), -np.inf, np.float32), 1)
    pair = _Pair({"x": _seq(False), "mask": causal, "kpm": _bool_mask((N, L), 2)}, grad=("x",))
    _compare(ours, ref, pair, lambda m, t: m(t["x"], mask=t["mask"]))
    _compare(ours, ref, pair, lambda m, t: m(t["x"], mask=t["mask"], src_key_padding_mask=t["kpm"]))


def test_decoder_stack_with_final_norm():
    torch.manual_seed(0)
    ref = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(E, H, 16, dropout=0.0), 2, torch.nn.LayerNorm(E))
    ours = enn.TransformerDecoder(enn.TransformerDecoderLayer(E, H, 16, dropout=0.0), 2, enn.LayerNorm(E))
    _load(ours, ref)
    causal = np.triu(np.ones((L, L), bool), 1)
    pair = _Pair({"tgt": _seq(False, L, seed=1), "mem": _seq(False, S, seed=2), "mask": causal}, grad=("tgt", "mem"))
    _compare(ours, ref, pair, lambda m, t: m(t["tgt"], t["mem"], tgt_mask=t["mask"]))


def test_layer_module_activation_is_a_submodule():
    layer = enn.TransformerEncoderLayer(E, H, 16, activation=enn.GELU())
    assert "activation" in dict(layer.named_children())
    assert layer.activation_relu_or_gelu == 2
    assert enn.TransformerEncoderLayer(E, H, 16).activation_relu_or_gelu == 1
    assert enn.TransformerEncoderLayer(E, H, 16, activation=F.silu).activation_relu_or_gelu == 0
    with pytest.raises(ValueError, match="relu/gelu"):
        enn.TransformerEncoderLayer(E, H, activation="tanh")


def test_encoder_layer_unbatched():
    ours, ref = _layer_pair("TransformerEncoderLayer", batch_first=True)
    pair = _Pair({"x": _arr((L, E), 1)}, grad=("x",))
    _compare(ours, ref, pair, lambda m, t: m(t["x"]))


def test_encoder_layer_dropout_eval_identity_and_seeded_training():
    torch.manual_seed(0)
    ref = torch.nn.TransformerEncoderLayer(E, H, 16, dropout=0.3)
    ours = enn.TransformerEncoderLayer(E, H, 16, dropout=0.3)
    _load(ours, ref)
    ours.eval()
    ref.eval()
    pair = _Pair({"x": _seq(False)}, grad=("x",))
    _compare(ours, ref, pair, lambda m, t: m(t["x"]))
    ours.train()
    x = em.tensor(_seq(False))
    em.manual_seed(1)
    a = ours(x)
    em.manual_seed(1)
    b = ours(x)
    assert np.array_equal(a.data, b.data) and not np.array_equal(a.data, ours(x).data)


# ------------------------------------------------------------------ Transformer
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_with_square_subsequent_mask(batch_first):
    kwargs = {"d_model": E, "nhead": H, "num_encoder_layers": 2, "num_decoder_layers": 1, "dim_feedforward": 16}
    kwargs.update(dropout=0.0, batch_first=batch_first)
    torch.manual_seed(0)
    ref = torch.nn.Transformer(**kwargs)
    ours = enn.Transformer(**kwargs)
    _load(ours, ref)
    mask = enn.Transformer.generate_square_subsequent_mask(L)
    t_mask = torch.nn.Transformer.generate_square_subsequent_mask(L)
    assert mask.dtype == em.float32
    np.testing.assert_array_equal(mask.data, t_mask.numpy())
    arrays = {"src": _seq(batch_first, S, seed=1), "tgt": _seq(batch_first, L, seed=2), "mask": mask.data}
    arrays["src_kpm"] = _bool_mask((N, S), 3)
    pair = _Pair(arrays, grad=("src", "tgt"))

    def call(m, t):
        return m(
            t["src"], t["tgt"], tgt_mask=t["mask"], src_key_padding_mask=t["src_kpm"],
            memory_key_padding_mask=t["src_kpm"],
        )  # fmt: skip

    _compare(ours, ref, pair, call)


def test_transformer_init_and_errors():
    m = enn.Transformer(E, H, 1, 1, 16)
    assert list(m.state_dict()) == list(torch.nn.Transformer(E, H, 1, 1, 16).state_dict())
    # xavier_uniform_ on every matrix: linear1 (16, 8) within sqrt(6 / 24)
    w = m.encoder.layers[0].linear1.weight.data
    assert np.abs(w).max() <= np.sqrt(6 / 24)
    with pytest.raises(ShapeError, match="batch sizes"):
        m(em.randn(S, 2, E), em.randn(L, 3, E))
    with pytest.raises(ShapeError, match="d_model"):
        m(em.randn(S, 2, 4), em.randn(L, 2, 4))


def test_returned_weights_are_not_the_saved_ones():
    m = enn.MultiheadAttention(E, H)
    x = em.tensor(_seq(False), requires_grad=True)
    out, weights = m(x, x, x, average_attn_weights=False)
    out.sum().backward()
    expected = x.grad.data.copy()
    x.grad = None
    out, weights = m(x, x, x, average_attn_weights=False)
    weights.data[...] = 0.0
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, expected)


def test_transformer_custom_encoder_and_decoder():
    encoder = enn.TransformerEncoder(enn.TransformerEncoderLayer(E, H, 16, dropout=0.0), 1)
    decoder = enn.TransformerDecoder(enn.TransformerDecoderLayer(E, H, 16, dropout=0.0), 1)
    m = enn.Transformer(E, H, custom_encoder=encoder, custom_decoder=decoder)
    assert m.encoder is encoder and m.decoder is decoder
    assert m(em.randn(S, N, E), em.randn(L, N, E)).shape == (L, N, E)
