"""Fused per-time-step kernels of the recurrent layers (RNN, LSTM, GRU), forward and backward.

Each kernel does the elementwise part of one time step for a block of ``b``
rows: the gate nonlinearities and the state update (forward), or the gate
gradients (backward). The matrix products around them (``h @ W_hh^T``,
``dgates @ W_hh``) stay with BLAS in the caller. Arrays are 2-D and
C-contiguous; gate blocks are laid out as PyTorch's (LSTM ``i, f, g, o``; GRU
``r, z, n``), each ``H`` wide.

float32 uses a rational tanh (Eigen's ``generic_fast_tanh_float``, within
3e-7 of the true value) and ``sigmoid(x) = 0.5 + 0.5 tanh(x / 2)`` (within
2e-7): plain arithmetic that LLVM vectorises, where ``math.exp``/``math.tanh``
compile to one libm call per element (a 64x128 LSTM forward step: 280 us with
libm calls, 9 us vectorised). float64 keeps libm's functions for full
accuracy. ``error_model='numpy'`` drops the zero-division checks that would
stop vectorisation; ``contract`` allows fused multiply-adds and nothing else,
so a NaN still propagates. Loops are split so that each touches few arrays:
LLVM gives up vectorising a loop when too many arrays might overlap.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

from .gemm import sgemm_packed

__all__ = [
    "lstm_forward_step",
    "lstm_backward_step",
    "gru_forward_step",
    "gru_backward_step",
    "rnn_forward_step",
    "rnn_backward_step",
    "lstm_forward_loop",
    "lstm_backward_loop",
]

_FLAGS = {"contract"}

# Eigen's generic_fast_tanh_float: tanh(x) = x * P(x^2) / Q(x^2) on [-7.9053, 7.9053], +-1 beyond
_TANH_CLAMP = 7.90531110763549805
_P = (
    -2.76076847742355e-16,
    2.00018790482477e-13,
    -8.60467152213735e-11,
    5.12229709037114e-08,
    1.48572235717979e-05,
    6.37261928875436e-04,
    4.89352455891786e-03,
)
_Q = (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03)


def tanh(x):  # pragma: no cover - replaced by the overload below inside compiled code
    return math.tanh(x)


def sigmoid(x):  # pragma: no cover - replaced by the overload below inside compiled code
    return 1.0 / (1.0 + math.exp(-x))


@overload(tanh, fastmath=_FLAGS)
def _tanh_impl(x):
    if x == types.float32:
        lim = np.float32(_TANH_CLAMP)
        p0, p1, p2, p3, p4, p5, p6 = (np.float32(c) for c in _P)
        q0, q1, q2, q3 = (np.float32(c) for c in _Q)

        def fast_tanh(x):
            y = lim if x > lim else x  # comparisons, not min/max, so that NaN passes through
            y = -lim if y < -lim else y
            x2 = y * y
            p = p0 * x2 + p1
            p = p * x2 + p2
            p = p * x2 + p3
            p = p * x2 + p4
            p = p * x2 + p5
            p = p * x2 + p6
            q = q0 * x2 + q1
            q = q * x2 + q2
            q = q * x2 + q3
            return y * p / q

        return fast_tanh
    return lambda x: math.tanh(x)


@overload(sigmoid, fastmath=_FLAGS)
def _sigmoid_impl(x):
    if x == types.float32:
        half = np.float32(0.5)
        return lambda x: half + half * tanh(half * x)
    return lambda x: 1.0 / (1.0 + math.exp(-x))


@njit(cache=True, nogil=True, fastmath=_FLAGS, error_model="numpy")
def lstm_forward_step(gates, hg, bias, c_prev, c, h):  # pragma: no cover - compiled
    """One LSTM step: ``gates = act(gates + hg + bias)`` in place, ``c = f c_prev + i g``, ``h = o tanh(c)``.

    gates: (b, 4H), on entry the input's pre-activations ``x W_ih^T``, on exit
    the activated gates ``i, f, g, o``; hg: (b, 4H) ``h_prev W_hh^T``; bias:
    (4H,) ``b_ih + b_hh`` (zeros without bias); c_prev: (b, H). Writes c and h
    (b, H).
    """
    # one loop per gate, each from 0: one loop over all four gates (or loops
    # over ``range(H, 2 * H)``) compiled to gathers and ran 2.5-3.5x slower.
    # In place, so no second (T*B, 4H) buffer; a separate output array would
    # fail LLVM's overlap check and run unvectorised whenever it is the input.
    n = gates.shape[0]
    H = c.shape[1]
    for r in range(n):
        hr = hg[r]
        gr = gates[r]
        for j in range(H):
            gr[j] = sigmoid(gr[j] + hr[j] + bias[j])
        for j in range(H):
            gr[H + j] = sigmoid(gr[H + j] + hr[H + j] + bias[H + j])
        for j in range(H):
            gr[2 * H + j] = tanh(gr[2 * H + j] + hr[2 * H + j] + bias[2 * H + j])
        for j in range(H):
            gr[3 * H + j] = sigmoid(gr[3 * H + j] + hr[3 * H + j] + bias[3 * H + j])
        cp = c_prev[r]
        cr = c[r]
        out = h[r]
        for j in range(H):
            cj = gr[H + j] * cp[j] + gr[j] * gr[2 * H + j]
            cr[j] = cj
            out[j] = gr[3 * H + j] * tanh(cj)


@njit(cache=True, nogil=True, fastmath=_FLAGS, error_model="numpy")
def lstm_backward_step(dh_out, dh_rec, dc, gates, c, c_prev, dgates):  # pragma: no cover - compiled
    """The gradients of one LSTM step with respect to its gate pre-activations and ``c_prev``.

    dh = dh_out + dh_rec (b, H) is the gradient of h; dc (b, H) holds the
    gradient of c coming from the next step and is overwritten with that of
    ``c_prev``. gates, c, c_prev: the step's saved forward values. Writes
    dgates (b, 4H), the gradient of the pre-activations ``xg + hg + bias``.
    """
    # several loops over few arrays each: one loop over all nine arrays was not
    # vectorised (too many possible overlaps to check) and ran 4x slower
    n = c.shape[0]
    H = c.shape[1]
    one = c.dtype.type(1)
    tmp = np.empty(H, c.dtype)
    for r in range(n):
        gr = gates[r]
        dgr = dgates[r]
        a = dh_out[r]
        b = dh_rec[r]
        for j in range(H):
            tmp[j] = a[j] + b[j]
        dcr = dc[r]
        cr = c[r]
        for j in range(H):
            o = gr[3 * H + j]
            tc = tanh(cr[j])
            dh = tmp[j]
            dgr[3 * H + j] = dh * tc * o * (one - o)
            tmp[j] = dcr[j] + dh * o * (one - tc * tc)
        for j in range(H):
            i = gr[j]
            g = gr[2 * H + j]
            dgr[j] = tmp[j] * g * i * (one - i)
            dgr[2 * H + j] = tmp[j] * i * (one - g * g)
        cp = c_prev[r]
        for j in range(H):
            f = gr[H + j]
            dgr[H + j] = tmp[j] * cp[j] * f * (one - f)
            dcr[j] = tmp[j] * f


@njit(cache=True, nogil=True, fastmath=_FLAGS, error_model="numpy")
def gru_forward_step(gates, hg, bias, bias_hn, h_prev, hn, h):  # pragma: no cover - compiled
    """One GRU step (PyTorch's form): ``n = tanh(x_n + r (W_hn h + b_hn))``, ``h = (1 - z) n + z h_prev``.

    gates: (b, 3H), on entry the input's pre-activations ``x W_ih^T``, on exit
    the gates ``r, z, n``; hg: (b, 3H) ``h_prev W_hh^T`` (without bias); bias:
    (3H,) b_ih plus b_hh's r and z parts; bias_hn: (H,) b_hh's n part. Writes
    hn = ``W_hn h_prev + b_hn`` (b, H), kept for backward, and h (b, H).
    """
    # n goes through a scratch row: a loop that reads r from ``gates`` and
    # writes n into it was not vectorised (3.5x slower)
    n = gates.shape[0]
    H = h.shape[1]
    tmp = np.empty(H, h.dtype)
    for row in range(n):
        hr = hg[row]
        gr = gates[row]
        for j in range(H):
            gr[j] = sigmoid(gr[j] + hr[j] + bias[j])
        for j in range(H):
            gr[H + j] = sigmoid(gr[H + j] + hr[H + j] + bias[H + j])
        hnr = hn[row]
        for j in range(H):
            hnr[j] = hr[2 * H + j] + bias_hn[j]
        for j in range(H):
            tmp[j] = tanh(gr[2 * H + j] + bias[2 * H + j] + gr[j] * hnr[j])
        hp = h_prev[row]
        out = h[row]
        for j in range(H):
            out[j] = tmp[j] + gr[H + j] * (hp[j] - tmp[j])
        for j in range(H):
            gr[2 * H + j] = tmp[j]


@njit(cache=True, nogil=True, fastmath=_FLAGS, error_model="numpy")
def gru_backward_step(dh_out, dh_direct, dh_mm, gates, hn, h_prev, dxg, dhg):  # pragma: no cover - compiled
    """The gradients of one GRU step with respect to its pre-activations and (in part) ``h_prev``.

    dh = dh_out + dh_direct + dh_mm (b, H); dh_direct is overwritten with the
    direct part of the gradient of h_prev (``dh * z``; the rest is
    ``dhg @ W_hh``). Writes dxg (b, 3H), the gradient of the input
    pre-activations, and dhg (b, 3H), that of ``h_prev @ W_hh^T + b_hh``.
    """
    n = hn.shape[0]
    H = hn.shape[1]
    one = hn.dtype.type(1)
    tmp = np.empty(H, hn.dtype)
    for row in range(n):
        a = dh_out[row]
        d = dh_direct[row]
        m = dh_mm[row]
        for j in range(H):
            tmp[j] = a[j] + d[j] + m[j]
        gr = gates[row]
        hp = h_prev[row]
        dx = dxg[row]
        dhh = dhg[row]
        for j in range(H):
            z = gr[H + j]
            dz = tmp[j] * (hp[j] - gr[2 * H + j]) * z * (one - z)
            dx[H + j] = dz
            dhh[H + j] = dz
            d[j] = tmp[j] * z
        for j in range(H):
            nj = gr[2 * H + j]
            dn = tmp[j] * (one - gr[H + j]) * (one - nj * nj)
            dx[2 * H + j] = dn
            tmp[j] = dn
        hnr = hn[row]
        for j in range(H):
            r = gr[j]
            dr = tmp[j] * hnr[j] * r * (one - r)
            dx[j] = dr
            dhh[j] = dr
            dhh[2 * H + j] = tmp[j] * r


@njit(cache=True, nogil=True, fastmath=_FLAGS, error_model="numpy")
def rnn_forward_step(h, hg, bias, relu):  # pragma: no cover - compiled
    """One Elman step in place: ``h = act(h + hg + bias)``; h holds ``x W_ih^T`` on entry, hg ``h_prev W_hh^T``."""
    n = h.shape[0]
    H = h.shape[1]
    zero = h.dtype.type(0)
    for r in range(n):
        hr = h[r]
        gr = hg[r]
        if relu:
            for k in range(H):
                v = hr[k] + gr[k] + bias[k]
                hr[k] = zero if v < zero else v  # NaN stays NaN
        else:
            for k in range(H):
                hr[k] = tanh(hr[k] + gr[k] + bias[k])


@njit(cache=True, nogil=True, fastmath=_FLAGS, error_model="numpy")
def rnn_backward_step(dh_out, dh_rec, h, dpre, relu):  # pragma: no cover - compiled
    """The gradient of one Elman step's pre-activation: ``(dh_out + dh_rec) * act'(h)``."""
    n = h.shape[0]
    H = h.shape[1]
    one = h.dtype.type(1)
    zero = h.dtype.type(0)
    for r in range(n):
        a = dh_out[r]
        b = dh_rec[r]
        hr = h[r]
        out = dpre[r]
        if relu:
            for k in range(H):
                out[k] = (a[k] + b[k]) if hr[k] > zero else zero
        else:
            for k in range(H):
                out[k] = (a[k] + b[k]) * (one - hr[k] * hr[k])


# ---------------------------------------------------------------- whole-direction LSTM loops (float32)
# The per-step product runs ember's packed float32 kernel (ember.kernels.gemm), so a whole
# layer-direction is one nogil call: no Python between steps, and the two directions of a
# bidirectional layer can run on two threads at once.


@njit(nogil=True, inline="always")
def _prev_rows(buf, init, ps, pb, b, scratch):  # pragma: no cover - compiled
    """The previous state of a step's ``b`` rows (see ``ember.ops.recurrent._Steps``)."""
    if ps < 0:
        return init[:b]
    if pb >= b:
        return buf[ps : ps + b]
    scratch[:pb] = buf[ps : ps + pb]
    scratch[pb:b] = init[pb:b]
    return scratch[:b]


@njit(cache=True, nogil=True)
def lstm_forward_loop(order, gates, out, c, h0, c0, h0_zero, packed_whh, bias, hg, tmp, hbuf, cbuf):  # pragma: no cover
    """All steps of one LSTM layer-direction without projection, float32.

    order: (steps, 4) int64 ``(s, b, ps, pb)`` rows in processing order; gates (total, 4H) the
    input projections, activated in place; out, c (total, H) written; h0, c0 (B, H); with
    ``h0_zero`` the first step's ``h0 W_hh^T`` is known to be zero; packed_whh: ``W_hh^T``
    packed by ``ember.kernels.gemm.pack``; hg (B, 4H), hbuf, cbuf (B, H), tmp: scratch.
    """
    n4 = gates.shape[1]
    for q in range(order.shape[0]):
        s, b, ps, pb = order[q, 0], order[q, 1], order[q, 2], order[q, 3]
        e = s + b
        hp = _prev_rows(out, h0, ps, pb, b, hbuf)
        cp = _prev_rows(c, c0, ps, pb, b, cbuf)
        if ps < 0 and h0_zero:
            hg[:b] = 0.0
        else:
            sgemm_packed(hp, packed_whh, n4, hg[:b], False, tmp)
        lstm_forward_step(gates[s:e], hg[:b], bias, cp, c[s:e], out[s:e])


@njit(cache=True, nogil=True)
def lstm_backward_loop(order, dout, dh, dc, gates, c, c0, dg, first, packed_whh, tmp, cbuf):  # pragma: no cover
    """Backpropagation through all steps of one LSTM layer-direction without projection, float32.

    Steps in reverse processing order; dh, dc (B, H) enter as the final states' gradients and
    leave as the initial states'; dg (total, 4H) receives the pre-activation gradients. The
    step whose rows start at ``first`` skips ``dg W_hh`` (nobody needs h0's gradient).
    """
    hidden = dh.shape[1]
    for q in range(order.shape[0] - 1, -1, -1):
        s, b, ps, pb = order[q, 0], order[q, 1], order[q, 2], order[q, 3]
        e = s + b
        cp = _prev_rows(c, c0, ps, pb, b, cbuf)
        lstm_backward_step(dout[s:e], dh[:b], dc[:b], gates[s:e], c[s:e], cp, dg[s:e])
        if s != first:
            sgemm_packed(dg[s:e], packed_whh, hidden, dh[:b], False, tmp)
