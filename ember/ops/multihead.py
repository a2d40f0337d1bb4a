"""Multi-head attention, PyTorch's ``F.multi_head_attention_forward`` with a lean NumPy core.

The path of a self-attention step: one in-projection matmul for q, k and v;
the heads split by a reshape and transpose (views, no copy); one fused
attention Function (scores, masked softmax, dropout, weighted sum) that writes
its output straight into the ``(N, L, H, D)`` layout the out-projection reads,
so merging the heads is a free view; the out-projection. The fused op has a
hand-written NumPy backward that writes the q, k, v gradients into one packed
array, which the head split hands to the in-projection's backward as is;
under ``create_graph`` it recomputes in ember ops instead, so higher-order
gradients stay exact.

Masks follow ``nn.MultiheadAttention``: in a bool mask True means *not*
allowed (the opposite of ``scaled_dot_product_attention``); a float mask is
added to the scores (and gets a gradient if it requires one).
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import state as _grad_state
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from . import gemm as _gemm
from .activation import safe_softmax, softmax
from .linalg import linear, matmul
from .shape import cat, pad, stack

__all__ = ["multi_head_attention_forward"]


# ------------------------------------------------------------------ head split
class SplitHeads(Function):
    """``n`` packed projections ``(N, L, n*E)`` (or ``(L, N, n*E)``) -> ``n`` views ``(N, H, L, D)``.

    The backward writes the ``n`` gradients into one packed array, so the fused
    in-projection's backward is a single matmul.
    """

    @staticmethod
    def forward(ctx, x, n, heads, batch_first):
        xd = x.data
        a, b, width = xd.shape
        d = width // (n * heads)
        ctx.meta = (xd.shape, n, heads, d, batch_first)
        x5 = xd.reshape(a, b, n, heads, d)
        perm = (0, 2, 1, 3) if batch_first else (1, 2, 0, 3)
        return tuple(x5[:, :, i].transpose(perm) for i in range(n))

    @staticmethod
    def backward(ctx, *grads):
        shape, n, heads, d, batch_first = ctx.meta
        perm = (0, 2, 1, 3) if batch_first else (2, 0, 1, 3)  # (N, H, L, D) -> sequence layout
        if _grad_state.enabled:  # create_graph: stay differentiable
            return stack([g.permute(perm) for g in grads], 2).reshape(shape), None, None, None
        a, b = shape[:2]
        base = grads[0].data.base
        if base is not None and base.shape == (a, b, n, heads, d) and base.flags.c_contiguous:
            forward_perm = (0, 2, 1, 3) if batch_first else (1, 2, 0, 3)
            slots = [base[:, :, i].transpose(forward_perm) for i in range(n)]
            if all(
                g.data.base is base and g.data.ctypes.data == s.ctypes.data and g.data.strides == s.strides
                for g, s in zip(grads, slots)
            ):
                return Tensor(base.reshape(shape)), None, None, None  # Attention wrote them packed already
        out = np.empty((a, b, n, heads, d), grads[0].data.dtype)
        for i, g in enumerate(grads):
            out[:, :, i] = g.data.transpose(perm)
        return Tensor(out.reshape(shape)), None, None, None


def _split_heads(x: Tensor, n: int, heads: int, batch_first: bool) -> tuple:
    return SplitHeads.apply(x, n, heads, batch_first)


# ------------------------------------------------------------------ fused core
# The core keeps the scores transposed, ``(N, H, S, L)``: the softmax then reduces
# over axis -2, where NumPy's reductions and broadcasts run over whole contiguous
# rows (a max over the last axis of 64-wide rows costs ~5x more), and its sums
# are a matmul with a row of ones (~4x faster than ``sum(-2)``).


def _max_over_rows(t: np.ndarray) -> np.ndarray:
    """``t.max(-2, keepdims=True)`` by pairwise maxima of contiguous halves (~2x faster for short columns)."""
    n = t.shape[-2]
    if n < 4:
        return t.max(-2, keepdims=True)
    h = n // 2
    acc = np.maximum(t[..., :h, :], t[..., h : 2 * h, :])
    if n % 2:
        np.maximum(acc[..., :1, :], t[..., 2 * h :, :], out=acc[..., :1, :])
    n = h
    while n > 1:
        h = n // 2
        np.maximum(acc[..., :h, :], acc[..., h : 2 * h, :], out=acc[..., :h, :])
        if n % 2:
            np.maximum(acc[..., :1, :], acc[..., 2 * h : n, :], out=acc[..., :1, :])
        n = h
    return acc[..., :1, :]


def _sum_over_rows(t: np.ndarray) -> np.ndarray:
    """``t.sum(-2, keepdims=True)`` as one batched matmul with a row of ones."""
    return np.matmul(np.ones((1, t.shape[-2]), t.dtype), t)


def _softmax_columns(t: np.ndarray, masked: bool, safe: bool) -> np.ndarray:
    """Softmax over axis -2 of ``t``, in place. ``safe``: all -inf columns give zeros, not nan."""
    m = _max_over_rows(t)
    blank = None
    if masked and safe:
        blank = np.isneginf(m)
        if blank.any():
            m[blank] = 0.0
        else:
            blank = None
    with np.errstate(invalid="ignore"):
        np.subtract(t, m, out=t)
    np.exp(t, out=t)
    total = _sum_over_rows(t)
    if blank is not None:
        total[blank] = 1.0
    with np.errstate(divide="ignore"):
        np.reciprocal(total, out=total)
    np.multiply(t, total, out=t)
    return t


def _grad_arrays(q: np.ndarray, k: np.ndarray, v: np.ndarray, batch_first: bool) -> tuple:
    """Arrays for the gradients of q, k, v: slots of one packed buffer when q, k, v are a packed projection's.

    The packed buffer has the layout ``SplitHeads`` builds its gradient in, so it
    passes the buffer on without a copy.
    """
    n, h, length, d = q.shape
    step = h * d * q.itemsize
    packed = (
        q.shape == k.shape == v.shape
        and q.strides == k.strides == v.strides
        and k.ctypes.data - q.ctypes.data == step
        and v.ctypes.data - k.ctypes.data == step
        and q.strides[1] == d * q.itemsize
        and q.strides[3] == q.itemsize
        and q.strides[2 if batch_first else 0] == 3 * step
    )
    if not packed:
        return np.empty(q.shape, q.dtype), np.empty(k.shape, k.dtype), np.empty(v.shape, v.dtype)
    if batch_first:
        buf = np.empty((n, length, 3, h, d), q.dtype)
        return tuple(buf[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
    buf = np.empty((length, n, 3, h, d), q.dtype)
    return tuple(buf[:, :, i].transpose(1, 2, 0, 3) for i in range(3))


class Attention(Function):
    """``dropout(softmax(q k^T * scale + mask)) @ v`` for ``q (N, H, L, D)``, ``k, v (N, H, S, D)``.

    The output ``(N, H, L, D)`` is a view of an array laid out as ``(N, L, H, D)``
    (``batch_first``) or ``(L, N, H, D)``, so the heads merge without a copy.
    With ``need_weights`` the (post-dropout) weights ``(N, H, L, S)`` are a second
    output. ``keep`` is the dropout multiplier laid out ``(N, H, S, L)``, or None.
    """

    @staticmethod
    def forward(ctx, q, k, v, mask, scale, safe, keep, need_weights, batch_first):
        qd, kd, vd = q.data, k.data, v.data
        n, h, length, _ = qd.shape
        scores = _gemm.batched(kd, qd.swapaxes(-1, -2))  # (N, H, S, L)
        scores *= qd.dtype.type(scale)
        if mask is not None:
            scores += mask.data.swapaxes(-1, -2)
        probs = _softmax_columns(scores, mask is not None, safe)
        weights = probs if keep is None else probs * keep
        if batch_first:
            buf = np.empty((n, length, h, vd.shape[-1]), qd.dtype)
            out = buf.transpose(0, 2, 1, 3)
        else:
            buf = np.empty((length, n, h, vd.shape[-1]), qd.dtype)
            out = buf.transpose(1, 2, 0, 3)
        _gemm.batched(weights.swapaxes(-1, -2), vd, out=out)
        ctx.save_for_backward(q, k, v, mask)
        ctx.probs, ctx.weights, ctx.out, ctx.keep = probs, weights, out, keep
        ctx.scale, ctx.safe, ctx.batch_first = scale, safe, batch_first
        if need_weights:  # a copy: changing the returned weights in place must not change the gradients
            return out, weights.swapaxes(-1, -2).copy()
        return out

    @staticmethod
    def backward(ctx, g_out, g_weights=None):
        q, k, v, mask = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if _grad_state.enabled:
            return _attention_backward_graph(ctx, q, k, v, mask, g_out, g_weights)
        probs, weights, keep = ctx.probs, ctx.weights, ctx.keep
        qd, kd, vd, go = q.data, k.data, v.data, g_out.data
        gq, gk, gv = _grad_arrays(qd, kd, vd, ctx.batch_first)
        if needs[2]:
            _gemm.batched(weights, go, out=gv)
        if needs[0] or needs[1] or needs[3]:
            # softmax backward, ds = p * (dp - sum_s(dp * p)), where sum_s(dp * p) = sum_d(g_out * out)
            row = np.einsum("nhld,nhld->nhl", go, ctx.out)[:, :, None, :]
            dw = _gemm.batched(vd, go.swapaxes(-1, -2))  # (N, H, S, L)
            if g_weights is not None:
                gw = g_weights.data.swapaxes(-1, -2)
                dw += gw
                row = row + _sum_over_rows(gw * weights)
            if keep is not None:
                dw *= keep
            with np.errstate(invalid="ignore"):
                dw -= row
            dw *= probs
            s = dw.dtype.type(ctx.scale)
            if needs[0]:
                _gemm.batched(dw.swapaxes(-1, -2), kd, out=gq)
                gq *= s
            if needs[1]:
                _gemm.batched(dw, qd, out=gk)
                gk *= s
        return (
            Tensor(gq) if needs[0] else None,
            Tensor(gk) if needs[1] else None,
            Tensor(gv) if needs[2] else None,
            Tensor(dw.swapaxes(-1, -2)) if needs[3] else None,
            None, None, None, None, None,
        )  # fmt: skip


def _attention_backward_graph(ctx, q, k, v, mask, g_out, g_weights):
    """The same gradients in ember ops (recomputing the weights), for ``create_graph=True``."""
    scores = matmul(q, k.mT) * ctx.scale
    if mask is not None:
        scores = scores + mask
    probs = safe_softmax(scores, -1) if ctx.safe else softmax(scores, -1)
    keep = None if ctx.keep is None else Tensor(ctx.keep).mT
    weights = probs if keep is None else probs * keep
    gv = matmul(weights.mT, g_out)
    dw = matmul(g_out, v.mT)
    if g_weights is not None:
        dw = dw + g_weights
    if keep is not None:
        dw = dw * keep
    ds = probs * (dw - (dw * probs).sum(-1, keepdim=True))
    gq = matmul(ds, k) * ctx.scale
    gk = matmul(ds.mT, q) * ctx.scale
    return gq, gk, gv, (ds if mask is not None else None), None, None, None, None, None


# ------------------------------------------------------------------ masks
def _float_mask(mask, name: str, dtype: np.dtype):
    """A bool mask (True = not allowed) as -inf/0, a float mask as is (cast to ``dtype``)."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"multi_head_attention_forward: {name} must be a Tensor, got {type(mask).__name__}")
    kind = mask.data.dtype.kind
    if kind == "b":
        return Tensor(np.where(mask.data, -np.inf, 0.0).astype(dtype))
    if kind != "f":
        raise DTypeError(
            f"multi_head_attention_forward: only bool and floating types of {name} are supported, got {mask.dtype}"
        )
    return mask if mask.data.dtype == dtype else mask.to(dtype)


def _combined_mask(attn_mask, key_padding_mask, n, heads, length, source, extra, causal, dtype):
    """One additive mask broadcastable to ``(N, H, L, S + extra)``, or None."""
    if causal:
        full = source + extra
        return Tensor(np.triu(np.full((length, full), -np.inf, dtype), 1).reshape(1, 1, length, full))
    mask = None
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if attn_mask.shape != (length, source):
                raise ShapeError(
                    f"multi_head_attention_forward: the 2-d attn_mask has shape {attn_mask.shape}, but should be "
                    f"{(length, source)} (target length, source length)"
                )
            mask = attn_mask.reshape(1, 1, length, source)
        elif attn_mask.ndim == 3:
            if attn_mask.shape != (n * heads, length, source):
                raise ShapeError(
                    f"multi_head_attention_forward: the 3-d attn_mask has shape {attn_mask.shape}, but should be "
                    f"{(n * heads, length, source)} (batch * num_heads, target length, source length)"
                )
            mask = attn_mask.reshape(n, heads, length, source)
        else:
            raise ShapeError(f"multi_head_attention_forward: attn_mask must be 2-d or 3-d, got shape {attn_mask.shape}")
        if extra:
            mask = pad(mask, (0, extra))
    if key_padding_mask is not None:
        if key_padding_mask.shape != (n, source):
            raise ShapeError(
                f"multi_head_attention_forward: key_padding_mask has shape {key_padding_mask.shape}, but should be "
                f"{(n, source)} (batch, source length)"
            )
        padding = key_padding_mask
        if extra:
            padding = pad(padding, (0, extra))
        padding = padding.reshape(n, 1, 1, source + extra)
        mask = padding if mask is None else mask + padding
    return mask


# ------------------------------------------------------------------ projections
def _in_projection(query, key, value, embed_dim, heads, in_proj_weight, in_proj_bias, separate, batch_first):
    """q, k, v as ``(N, H, L, D)`` views: one fused matmul when query is key is value."""
    e = embed_dim
    if separate is None:
        if query is key and key is value:
            return _split_heads(linear(query, in_proj_weight, in_proj_bias), 3, heads, batch_first)
        if key is value:
            w_q, w_kv = in_proj_weight.split([e, 2 * e])
            b_q, b_kv = (None, None) if in_proj_bias is None else in_proj_bias.split([e, 2 * e])
            (q,) = _split_heads(linear(query, w_q, b_q), 1, heads, batch_first)
            k, v = _split_heads(linear(key, w_kv, b_kv), 2, heads, batch_first)
            return q, k, v
        weights = in_proj_weight.chunk(3)
    else:
        weights = separate
    biases = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
    return tuple(
        _split_heads(linear(x, w, b), 1, heads, batch_first)[0] for x, w, b in zip((query, key, value), weights, biases)
    )


def _check_inputs(query, key, value, embed_dim, heads, kpm, attn_mask, separate) -> bool:
    op = "multi_head_attention_forward"
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t.data.dtype.kind != "f":
            raise DTypeError(f"{op}: {name} must be a floating point tensor, got {t.dtype}")
    batched = query.ndim == 3
    if query.ndim not in (2, 3):
        raise ShapeError(f"{op}: query should be unbatched 2-d or batched 3-d, got shape {query.shape}")
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise ShapeError(
            f"{op}: query {query.shape}, key {key.shape} and value {value.shape} must all be "
            f"{'3-d (batched)' if batched else '2-d (unbatched)'}"
        )
    if kpm is not None and kpm.ndim != query.ndim - 1:
        raise ShapeError(
            f"{op}: key_padding_mask must be {'2-d (N, S)' if batched else '1-d (S,)'} for query {query.shape}, "
            f"got shape {kpm.shape}"
        )
    if attn_mask is not None and attn_mask.ndim not in (2, 3):
        raise ShapeError(f"{op}: attn_mask must be 2-d or 3-d, got shape {attn_mask.shape}")
    if query.shape[-1] != embed_dim:
        raise ShapeError(f"{op}: expected query with embedding dimension {embed_dim}, got shape {query.shape}")
    if embed_dim % heads:
        raise ShapeError(f"{op}: embed_dim {embed_dim} is not divisible by num_heads {heads}")
    if separate is None and key.shape != value.shape:
        raise ShapeError(f"{op}: key shape {key.shape} does not match value shape {value.shape}")
    if key.shape[:-1] != value.shape[:-1]:
        raise ShapeError(f"{op}: key {key.shape} and value {value.shape} must agree in sequence and batch dims")
    return batched


def mha_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    separate_weights: tuple | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
    batch_first: bool = False,
    embed_dim_to_check: int | None = None,
) -> tuple:
    """Multi-head attention on ``(L, N, E)`` or (``batch_first``) ``(N, L, E)`` inputs; see ``nn.MultiheadAttention``.

    Returns ``(output, weights or None)``; ``separate_weights`` is ``(q_proj_weight,
    k_proj_weight, v_proj_weight)`` when key/value dims differ from the query's.
    """
    op = "multi_head_attention_forward"
    e = query.shape[-1] if embed_dim_to_check is None else embed_dim_to_check
    batched = _check_inputs(query, key, value, e, num_heads, key_padding_mask, attn_mask, separate_weights)
    if not batched:
        # one batch entry; keep the identities that pick the fused projection
        same_kv = key is value
        same_qk = query is key
        query = query.unsqueeze(0)
        key = query if same_qk else key.unsqueeze(0)
        value = key if same_kv else value.unsqueeze(0)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
        batch_first = True
    if batch_first:
        n, length = query.shape[:2]
        source = key.shape[1]
    else:
        length, n = query.shape[:2]
        source = key.shape[0]
    if key.shape[0 if batch_first else 1] != n:
        raise ShapeError(f"{op}: query {query.shape} and key {key.shape} have different batch sizes")
    dtype = query.data.dtype
    key_padding_mask = _float_mask(key_padding_mask, "key_padding_mask", dtype)
    if is_causal and attn_mask is None:
        raise ValueError(
            f"{op}: is_causal is a hint that attn_mask is the causal mask and needs attn_mask; use "
            "nn.Transformer.generate_square_subsequent_mask to make one"
        )
    causal = is_causal and key_padding_mask is None and not need_weights
    attn_mask = None if causal else _float_mask(attn_mask, "attn_mask", dtype)
    heads = num_heads
    head_dim = e // heads

    q, k, v = _in_projection(query, key, value, e, heads, in_proj_weight, in_proj_bias, separate_weights, batch_first)
    for name, static in (("static_k", static_k), ("static_v", static_v)):
        if static is not None and (static.ndim != 3 or static.shape[0] != n * heads or static.shape[2] != head_dim):
            raise ShapeError(f"{op}: {name} must have shape ({n * heads}, S, {head_dim}), got {static.shape}")
    extra = 0
    if bias_k is not None or bias_v is not None:
        if bias_k is None or bias_v is None:
            raise ValueError(f"{op}: bias_k and bias_v must be given together")
        if static_k is not None or static_v is not None:
            raise ValueError(f"{op}: bias_k/bias_v cannot be added to static_k/static_v")
        k = cat([k, bias_k.reshape(1, heads, 1, head_dim).expand(n, heads, 1, head_dim)], 2)
        v = cat([v, bias_v.reshape(1, heads, 1, head_dim).expand(n, heads, 1, head_dim)], 2)
        extra += 1
    if static_k is not None:
        k = static_k.reshape(n, heads, static_k.shape[1], head_dim)
    if static_v is not None:
        v = static_v.reshape(n, heads, static_v.shape[1], head_dim)
    if add_zero_attn:
        zeros = Tensor(np.zeros((n, heads, 1, head_dim), dtype))
        k = cat([k, zeros], 2)
        v = cat([v, zeros], 2)
        extra += 1
    if static_k is not None:
        source = k.shape[2] - extra
    mask = _combined_mask(attn_mask, key_padding_mask, n, heads, length, source, extra, causal, dtype)

    p = float(dropout_p) if training else 0.0
    keep = None
    if p > 0.0:
        from ..random import numpy_generator

        shape = (n, heads, k.shape[2], length)  # the core's transposed layout
        if p >= 1.0:
            keep = np.zeros(shape, dtype)
        else:
            keep = (numpy_generator().random(shape, dtype=np.float32) >= np.float32(p)).astype(dtype)
            keep *= dtype.type(1.0 / (1.0 - p))
    scale = 1.0 / math.sqrt(head_dim)
    out = Attention.apply(q, k, v, mask, scale, not need_weights, keep, need_weights, batch_first)
    weights = None
    if need_weights:
        out, weights = out
        if average_attn_weights:
            weights = weights.mean(1)
    # merge heads: a view, since Attention wrote its output in the sequence layout
    if batch_first:
        merged = out.transpose(1, 2).reshape(n, length, e)
    else:
        merged = out.permute(2, 0, 1, 3).reshape(length, n, e)
    out = linear(merged, out_proj_weight, out_proj_bias)
    if not batched:
        out = out.squeeze(0)
        if weights is not None:
            weights = weights.squeeze(0)
    return out, weights


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple:
    """PyTorch's functional multi-head attention: query ``(L, N, E)`` or ``(L, E)``, key/value ``(S, N, E*)``.

    Returns ``(attn_output (L, N, E), attn_weights)``: weights ``(N, L, S)`` averaged over
    heads, ``(N, H, L, S)`` per head, or None without ``need_weights``. Bool masks mark
    with True what may *not* be attended; float masks are added to the scores.
    """
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise ValueError(
                "multi_head_attention_forward: use_separate_proj_weight needs q_proj_weight, k_proj_weight and "
                "v_proj_weight"
            )
        separate = (q_proj_weight, k_proj_weight, v_proj_weight)
    else:
        if in_proj_weight is None:
            raise ValueError("multi_head_attention_forward: in_proj_weight is None without use_separate_proj_weight")
        separate = None
    return mha_forward(
        query,
        key,
        value,
        num_heads,
        in_proj_weight,
        in_proj_bias,
        bias_k,
        bias_v,
        add_zero_attn,
        dropout_p,
        out_proj_weight,
        out_proj_bias,
        training=training,
        key_padding_mask=key_padding_mask,
        need_weights=need_weights,
        attn_mask=attn_mask,
        separate_weights=separate,
        static_k=static_k,
        static_v=static_v,
        average_attn_weights=average_attn_weights,
        is_causal=is_causal,
        batch_first=False,
        embed_dim_to_check=embed_dim_to_check,
    )
