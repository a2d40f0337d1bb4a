"""Fused recurrent layers: a whole RNN/LSTM/GRU stack as one autograd ``Function``.

Forward, per layer and direction: one matrix product projects the input of
every time step at once (``X W_ih^T``); then each step costs one matrix
product (``h W_hh^T``, plus ``m W_hr^T`` with a projection) and one Numba
kernel for the gates and the state update (``ember.kernels.recurrent``).
Backward is the same loop run back in time: a kernel for the gate gradients
and one matrix product (``dgates W_hh``) per step; the weight gradients are
then one matrix product each over all steps (``dgates^T X``, ``dgates^T
H_prev``), and so is the input gradient (``dgates W_ih``).

The data are kept time-major, as the rows of a ``(total, features)`` array in
which step ``t`` holds ``batch_sizes[t]`` consecutive rows: padded input is
the case of equal batch sizes, a ``PackedSequence`` is already so laid out.
Sequences are sorted longest first, so the rows active at a step are always a
prefix of the batch and the state is a ``(B, H)`` array of which step ``t``
updates the first ``batch_sizes[t]`` rows. The reverse direction walks the
steps backwards, so each sequence starts at its own last element.

Backward is hand-written NumPy/Numba: with ``create_graph=True`` the gradients
are correct but a second derivative raises ``AutogradError``.
"""

from __future__ import annotations

import warnings
from functools import partial

import numpy as np

from .. import _threads
from ..autograd.function import Function, Node
from ..autograd.grad_mode import state as _grad_state
from ..errors import AutogradError
from ..random import numpy_generator
from ..tensor import Tensor
from .gemm import Right
from .gemm import matmul as _mm

__all__ = ["recurrent", "rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_LAYER_NAME = {"RNN_TANH": "RNN", "RNN_RELU": "RNN", "LSTM": "LSTM", "GRU": "GRU"}


class _Steps:
    """Where each time step's rows lie in time-major ``(total, features)`` data.

    ``order(reverse)`` lists, in processing order, ``(s, b, ps, pb)``: the step
    owns rows ``[s, s + b)``; its previous state is rows ``[ps, ps + b)`` of
    the step processed before (``ps < 0``: the initial state), and when that
    step had fewer rows (``pb < b``, reverse direction of packed data) rows
    ``pb..b`` of the initial state.
    """

    def __init__(self, sizes) -> None:
        self.sizes = [int(b) for b in sizes]
        offsets, acc = [], 0
        for b in self.sizes:
            offsets.append(acc)
            acc += b
        self.offsets = offsets
        self.total = acc
        self.B = self.sizes[0]
        self.T = len(self.sizes)
        self.equal = self.sizes[-1] == self.B
        self._orders = {}
        self._final = None

    def order(self, reverse: bool) -> list:
        cached = self._orders.get(reverse)
        if cached is not None:
            return cached
        sizes, offsets, T = self.sizes, self.offsets, self.T
        steps = []
        if not reverse:
            for t in range(T):
                steps.append((offsets[t], sizes[t], offsets[t - 1] if t else -1, sizes[t - 1] if t else 0))
        else:
            for t in range(T - 1, -1, -1):
                last = t == T - 1
                steps.append((offsets[t], sizes[t], -1 if last else offsets[t + 1], 0 if last else sizes[t + 1]))
        self._orders[reverse] = steps
        return steps

    def order_array(self, reverse: bool) -> np.ndarray:
        """``order(reverse)`` as a (steps, 4) int64 array, for the compiled loops."""
        key = ("array", reverse)
        cached = self._orders.get(key)
        if cached is None:
            cached = self._orders[key] = np.array(self.order(reverse), dtype=np.int64).reshape(-1, 4)
        return cached

    def final_rows(self, reverse: bool):
        """Rows holding each sequence's final state: a slice, or an index array for packed data."""
        if reverse:
            return slice(0, self.B)
        if self.equal:
            return slice(self.total - self.B, self.total)
        if self._final is None:
            sizes = np.asarray(self.sizes)
            counts = (sizes[None, :] > np.arange(self.B)[:, None]).sum(1)  # each sequence's length
            self._final = np.asarray(self.offsets)[counts - 1] + np.arange(self.B)
        return self._final

    def prev_rows(self, reverse: bool) -> np.ndarray:
        """For each row, the row of its previous state; ``total + j`` for sequence ``j``'s initial state."""
        sizes = np.asarray(self.sizes)
        offsets = np.asarray(self.offsets)
        t_of = np.repeat(np.arange(self.T), sizes)
        j_of = np.arange(self.total) - offsets[t_of]
        initial = self.total + j_of
        if not reverse:
            return np.where(t_of > 0, offsets[t_of - 1] + j_of, initial)
        nxt = np.minimum(t_of + 1, self.T - 1)
        return np.where((t_of < self.T - 1) & (j_of < sizes[nxt]), offsets[nxt] + j_of, initial)


_STEPS_CACHE: dict = {}


def _steps_for(sizes: tuple) -> _Steps:
    """The (cached) step layout for these batch sizes: a training loop sees the same few shapes again and again."""
    steps = _STEPS_CACHE.get(sizes)
    if steps is None:
        if len(_STEPS_CACHE) >= 64:
            _STEPS_CACHE.clear()
        steps = _STEPS_CACHE[sizes] = _Steps(sizes)
    return steps


def _prev(buf, init, ps, pb, b):
    if ps < 0:
        return init[:b]
    if pb >= b:
        return buf[ps : ps + b]
    return np.concatenate((buf[ps : ps + pb], init[pb:b]))


def _hidden_product(hp, whh_t, hg, hg_zero, ps, b):
    """``h_prev W_hh^T`` of a step's ``b`` rows, into ``hg``; zeros for the first step without a given h0."""
    if ps < 0 and hg_zero is not None:
        return hg_zero[:b]
    return whh_t.product(hp, hg[:b])


class _Direction:
    """What one layer-direction's forward keeps for its backward."""

    __slots__ = ("reverse", "h0", "c0", "gates", "c", "m", "hn", "out", "h0_given")


def _call(fn):
    return fn()


def _time_chunks(steps: int) -> list:
    """``(first, end)`` time steps of the chunks an overlapped LSTM layer hands between its threads:
    about 8 of them, at least 4 steps each."""
    size = max(4, -(-steps // 8))
    return [(q0, min(steps, q0 + size)) for q0 in range(0, steps, size)]


def _lstm_forward_overlapped(steps, x_in, w_ih, gates, loop) -> None:
    """A unidirectional LSTM layer's input projection beside its loop.

    The caller's thread computes ``x W_ih^T`` chunk by chunk of time steps; a worker runs the
    compiled loop over each chunk once its projection is there (``loop(order rows)``). Run in
    turn (one thread), the projections all come first, so nothing waits forever.
    """
    import threading

    T = steps.T
    order = steps.order_array(False)
    ends = [o + b for o, b in zip(steps.offsets, steps.sizes)]
    chunks = _time_chunks(T)
    ready = [threading.Event() for _ in chunks]

    def project():
        try:
            for (q0, q1), event in zip(chunks, ready):
                r0, r1 = steps.offsets[q0], ends[q1 - 1]
                _mm(x_in[r0:r1], w_ih.T, out=gates[r0:r1])
                event.set()
        finally:
            for event in ready:  # after an error too: the loop's part must not wait forever
                event.set()

    def run():
        for (q0, q1), event in zip(chunks, ready):
            event.wait()
            loop(order[q0:q1])

    _threads.run_parts(_call, [(project,), (run,)])


def _compiled_loop(right, *arrays) -> bool:
    """Whether a layer-direction runs as one compiled loop: ``W_hh`` packed for ember's float32
    product (see ``ember.ops.gemm.Right``) and every array float32."""
    return right.packed is not None and all(a.dtype == np.float32 for a in arrays)


def _run_direction(mode, x_in, steps, reverse, w, h0, c0, h0_given, hidden_size, proj, defer=None):
    """Forward of one layer-direction over all steps; returns (_Direction, out (total, P)).

    Without a given h0 the first step's ``h0 W_hh^T`` is known to be zero and skipped. An LSTM
    without projection whose products ember's kernel takes runs all its steps in one compiled
    call; with a ``defer`` list that call is appended to it (to run on a worker thread beside
    the other direction) instead of made, and ``out`` is filled only once it has run.
    """
    w_ih, w_hh, b_ih, b_hh, w_hr = w
    from ..kernels import recurrent as K

    dt = x_in.dtype
    H = hidden_size
    G = _GATES[mode]
    total, B = steps.total, steps.B
    order = steps.order(reverse)
    whh_t = Right(w_hh.T, B)
    biases = [v for v in (b_ih, b_hh) if v is not None]
    compiled = mode == "LSTM" and not proj and _compiled_loop(whh_t, x_in, w_ih, h0, c0, *biases)
    overlap = compiled and defer is None and not reverse and steps.T >= 8 and _threads.workers() >= 2
    # (total, G*H): the input projection of every step at once, or chunk by chunk beside the loop
    gates = np.empty((total, G * H), dt) if overlap else _mm(x_in, w_ih.T)
    hg = np.empty((B, G * H), dt)
    hg_zero = None if h0_given else np.zeros((B, G * H), dt)
    rec = _Direction()
    rec.reverse = reverse
    rec.h0_given = h0_given
    rec.h0 = h0
    rec.c0 = c0
    rec.gates = gates
    rec.c = rec.m = rec.hn = None
    if mode == "LSTM":
        bias = (b_ih + b_hh) if b_ih is not None else np.zeros(G * H, dt)
        P = proj if proj else H
        out = np.empty((total, P), dt)
        c = np.empty((total, H), dt)
        m = np.empty((total, H), dt) if proj else out
        whr_t = Right(w_hr.T, B) if proj else None
        if compiled:
            scratch = (np.empty((B, H), dt), np.empty((B, H), dt))
            args = (gates, out, c, h0, c0, not h0_given, whh_t.packed, bias, hg, whh_t.tmp) + scratch
            if overlap:
                _lstm_forward_overlapped(steps, x_in, w_ih, gates, lambda rows: K.lstm_forward_loop(rows, *args))
            elif defer is None:
                K.lstm_forward_loop(steps.order_array(reverse), *args)
            else:
                defer.append(partial(K.lstm_forward_loop, steps.order_array(reverse), *args))
            order = ()  # the Python loop below has nothing to do
        step = K.lstm_forward_step
        for s, b, ps, pb in order:
            e = s + b
            hp = _prev(out, h0, ps, pb, b)
            cp = _prev(c, c0, ps, pb, b)
            hgb = _hidden_product(hp, whh_t, hg, hg_zero, ps, b)
            step(gates[s:e], hgb, bias, cp, c[s:e], m[s:e])
            if proj:
                whr_t.product(m[s:e], out[s:e])
        rec.c = c
        rec.m = m if proj else None
    elif mode == "GRU":
        if b_ih is not None:
            bias = b_ih.copy()
            bias[: 2 * H] += b_hh[: 2 * H]
            bias_hn = b_hh[2 * H :]
        else:
            bias = np.zeros(G * H, dt)
            bias_hn = np.zeros(H, dt)
        out = np.empty((total, H), dt)
        hn = np.empty((total, H), dt)
        step = K.gru_forward_step
        for s, b, ps, pb in order:
            e = s + b
            hp = _prev(out, h0, ps, pb, b)
            hgb = _hidden_product(hp, whh_t, hg, hg_zero, ps, b)
            step(gates[s:e], hgb, bias, bias_hn, hp, hn[s:e], out[s:e])
        rec.hn = hn
    else:
        bias = (b_ih + b_hh) if b_ih is not None else np.zeros(H, dt)
        relu = mode == "RNN_RELU"
        out = gates  # the pre-activations become the hidden states in place
        step = K.rnn_forward_step
        for s, b, ps, pb in order:
            e = s + b
            hp = _prev(out, h0, ps, pb, b)
            hgb = _hidden_product(hp, whh_t, hg, hg_zero, ps, b)
            step(out[s:e], hgb, bias, relu)
        rec.gates = None
    rec.out = out
    return rec, out


def _backward_direction(
    mode, x_in, steps, rec, w, dout, dh_n, dc_n, hidden_size, proj, need_w, need_b, need_h0, defer=None
):
    """Backward of one layer-direction.

    Returns (dgates_x, weight grads [w_ih, w_hh, b_ih, b_hh, w_hr], dh0, dc0);
    ``dgates_x @ W_ih`` is this direction's share of the input gradient. Without
    ``need_h0`` the last step's ``dgates W_hh`` (only the gradient of h0) is skipped.
    With a ``defer`` list, an LSTM's compiled loop over the steps (where it applies) is
    appended to it, and a function is returned that gives the result once the loop has run.
    """
    from ..kernels import recurrent as K

    w_ih, w_hh, b_ih, b_hh, w_hr = w
    w_hh_r = Right(w_hh, steps.B)
    w_hr_r = Right(w_hr, steps.B) if proj else None
    dt = dout.dtype
    H = hidden_size
    G = _GATES[mode]
    total, B = steps.total, steps.B
    order = steps.order(rec.reverse)
    out = rec.out
    dc0 = None
    dh_out_all = None
    first = -1 if need_h0 else order[0][0]  # rows of the step whose h_prev is h0 for all its rows
    loop = None  # an LSTM's compiled loop over all steps, where it applies
    if mode == "LSTM":
        dh = dh_n.copy()
        dc = dc_n.copy()
        dg = np.empty((total, G * H), dt)
        gates, c, c0 = rec.gates, rec.c, rec.c0
        step = K.lstm_backward_step
        if proj:
            dh_out_all = np.empty((total, proj), dt)
            dm = np.empty((B, H), dt)
            zeros = np.zeros((B, H), dt)
            for s, b, ps, pb in reversed(order):
                e = s + b
                cp = _prev(c, c0, ps, pb, b)
                np.add(dout[s:e], dh[:b], out=dh_out_all[s:e])
                w_hr_r.product(dh_out_all[s:e], dm[:b])
                step(dm[:b], zeros[:b], dc[:b], gates[s:e], c[s:e], cp, dg[s:e])
                if s != first:
                    w_hh_r.product(dg[s:e], dh[:b])
        elif _compiled_loop(w_hh_r, dout, dh, dc, gates, c0):
            loop = partial(
                K.lstm_backward_loop,
                steps.order_array(rec.reverse),
                dout,
                dh,
                dc,
                gates,
                c,
                c0,
                dg,
                first,
                w_hh_r.packed,
                w_hh_r.tmp,
                np.empty((B, H), dt),
            )
        else:
            for s, b, ps, pb in reversed(order):
                e = s + b
                step(dout[s:e], dh[:b], dc[:b], gates[s:e], c[s:e], _prev(c, c0, ps, pb, b), dg[s:e])
                if s != first:
                    w_hh_r.product(dg[s:e], dh[:b])
        dgx = dgh = dg
        dh0, dc0 = dh, dc
    elif mode == "GRU":
        direct = dh_n.copy()
        mm = np.zeros((B, H), dt)
        dgx = np.empty((total, G * H), dt)
        dgh = np.empty((total, G * H), dt)
        gates, hn, h0 = rec.gates, rec.hn, rec.h0
        step = K.gru_backward_step
        for s, b, ps, pb in reversed(order):
            e = s + b
            step(dout[s:e], direct[:b], mm[:b], gates[s:e], hn[s:e], _prev(out, h0, ps, pb, b), dgx[s:e], dgh[s:e])
            if s != first:
                w_hh_r.product(dgh[s:e], mm[:b])
        dh0 = direct + mm if need_h0 else None
    else:
        relu = mode == "RNN_RELU"
        dh = dh_n.copy()
        dg = np.empty((total, H), dt)
        step = K.rnn_backward_step
        for s, b, _, _ in reversed(order):
            e = s + b
            step(dout[s:e], dh[:b], out[s:e], dg[s:e], relu)
            if s != first:
                w_hh_r.product(dg[s:e], dh[:b])
        dgx = dgh = dg
        dh0 = dh

    def finish():
        grads = [None] * 5
        if need_w[0]:
            grads[0] = _mm(dgx.T, x_in)
        if need_w[1]:
            grads[1] = _hidden_weight_grad(dgh, out, rec, steps)
        grads[2], grads[3] = _bias_grads(dgx, dgh, need_b)
        if proj and need_w[4]:
            grads[4] = _mm(dh_out_all.T, rec.m)
        return dgx, grads, dh0, dc0

    if defer is None:
        if loop is not None:
            loop()
        return finish()
    if loop is not None:
        defer.append(loop)
    return finish


def _overlap_right(mode, proj, directions, steps, w, rec, *arrays):
    """``W_hh`` packed, where a layer's backward can overlap its products with its loop, else None.

    That is a unidirectional LSTM without projection on unpacked input of 8 or more steps, whose
    loop is compiled (see ``_compiled_loop``) and where two threads may run.
    """
    if mode != "LSTM" or proj or directions != 1 or not steps.equal or steps.T < 8 or _threads.workers() < 2:
        return None
    arrays = (w[0], rec.gates, rec.c, rec.c0) + arrays
    if not all(a.dtype == np.float32 for a in arrays):  # before packing W_hh for nothing
        return None
    right = Right(w[1], steps.B)
    return right if right.packed is not None else None


def _lstm_backward_overlapped(x_in, steps, rec, w, w_hh_r, dout, dh_n, dc_n, hidden_size, need_w, need_h0, need_dx):
    """A unidirectional LSTM layer's backward with its big products beside its loop.

    The compiled loop runs over chunks of time steps, last chunk first, on the caller's thread;
    as each chunk's gate gradients ``dg`` are final, its products (its rows of ``dx = dg W_ih``,
    its shares of ``dW_ih = dg^T x`` and ``dW_hh = dg^T h_prev``) are queued. A worker thread
    runs them as they come, and the caller joins in once its loop is done: one core ran the loop
    while the other idled, and then both ran the products. Each thread sums the weight gradients
    into its own arrays, added at the end. Returns ``(dg, grads, dh0, dc0, dx or None)``.
    """
    import threading
    from collections import deque

    from ..kernels import recurrent as K

    w_ih = w[0]
    dt = dout.dtype
    H = hidden_size
    total, B, T = steps.total, steps.B, steps.T
    dh = np.array(dh_n, dt)
    dc = np.array(dc_n, dt)
    dg = np.empty((total, 4 * H), dt)
    out = rec.out
    order = steps.order_array(False)
    first = -1 if need_h0 else 0
    chunks = _time_chunks(T)[::-1]  # processing order
    kinds = [k for k, needed in enumerate((need_dx, need_w[0], need_w[1])) if needed]
    dx = np.empty((total, x_in.shape[1]), dt) if need_dx else None
    shapes = ((4 * H, x_in.shape[1]), (4 * H, H))
    # per thread (caller, worker): dW_ih, dW_hh
    sums = [[np.zeros(shape, dt) if need_w[i] else None for i, shape in enumerate(shapes)] for _ in range(2)]
    queue = deque()
    cond = threading.Condition()
    done = [False]
    cbuf = np.empty((B, H), dt)

    def run(item, me):
        kind, r0, r1 = item
        if kind == 0:
            _mm(dg[r0:r1], w_ih, out=dx[r0:r1])
            return
        acc = sums[me][kind - 1]
        if kind == 1:
            _mm(dg[r0:r1].T, x_in[r0:r1], out=acc, accumulate=True)
            return
        lo = max(r0, B)  # rows whose h_prev is the previous step's output
        if r1 > lo:
            _mm(dg[lo:r1].T, out[lo - B : r1 - B], out=acc, accumulate=True)
        if r0 == 0 and rec.h0_given:
            _mm(dg[:B].T, rec.h0, out=acc, accumulate=True)

    def loop():
        try:
            for q0, q1 in chunks:
                K.lstm_backward_loop(
                    order[q0:q1], dout, dh, dc, rec.gates, rec.c, rec.c0, dg, first, w_hh_r.packed, w_hh_r.tmp, cbuf
                )
                with cond:
                    queue.extend((kind, q0 * B, q1 * B) for kind in kinds)
                    cond.notify()
        finally:
            with cond:  # after an error too: the worker must not wait forever
                done[0] = True
                cond.notify_all()
        while True:  # then the caller takes its share of what is left
            try:
                item = queue.popleft()
            except IndexError:
                return
            run(item, 0)

    def products():
        while True:
            with cond:
                while not queue and not done[0]:
                    cond.wait()
                if not queue:
                    return
                item = queue.popleft()
            run(item, 1)

    # the loop is the first part: run in turn (one thread), it leaves nothing for the second
    _threads.run_parts(_call, [(loop,), (products,)])
    grads = [None] * 5
    for i in (0, 1):
        if need_w[i]:
            grads[i] = np.add(sums[0][i], sums[1][i], out=sums[0][i])
    grads[2], grads[3] = _bias_grads(dg, dg, need_w[2:4])
    return dg, grads, dh, dc, dx


def _bias_grads(dgx, dgh, need_b) -> tuple:
    """The gradients of ``b_ih`` and ``b_hh`` (None where not needed): the column sums of the gate
    gradients, summed once when the two are the same array."""
    g_ih = dgx.sum(0) if need_b[0] else None
    g_hh = None
    if need_b[1]:
        g_hh = g_ih.copy() if (dgh is dgx and g_ih is not None) else dgh.sum(0)
    return g_ih, g_hh


def _hidden_weight_grad(dgh, out, rec, steps):
    """``sum_t dgates_t^T h_prev_t`` as one product over all steps (two when batch sizes are equal)."""
    B, total = steps.B, steps.total
    h0 = rec.h0
    if steps.equal:
        if rec.reverse:
            grad = _mm(dgh[: total - B].T, out[B:]) if total > B else None
            first = dgh[total - B :]
        else:
            grad = _mm(dgh[B:].T, out[: total - B]) if total > B else None
            first = dgh[:B]
        if rec.h0_given:
            g0 = _mm(first.T, h0)
            grad = g0 if grad is None else grad + g0
        if grad is None:
            grad = np.zeros((dgh.shape[1], out.shape[1]), dgh.dtype)
        return grad
    h_prev = np.take(np.concatenate((out, h0)), steps.prev_rows(rec.reverse), axis=0)
    return _mm(dgh.T, h_prev)


class _Recurrent(Function):
    """A whole recurrent stack: inputs ``x, h0, c0, *weights`` (5 per layer-direction, None where absent)."""

    @staticmethod
    def forward(ctx, x, h0, c0, *weights, mode, hidden_size, proj_size, num_layers, num_directions, batch_first,
                batch_sizes, sorted_indices, unsorted_indices, dropout, training):  # fmt: skip
        xd = x.data
        dt = xd.dtype
        D, L, H = num_directions, num_layers, hidden_size
        P = proj_size if proj_size else H
        if batch_sizes is None:
            if batch_first:
                B, T = xd.shape[0], xd.shape[1]
                x_in = np.ascontiguousarray(xd.transpose(1, 0, 2)).reshape(T * B, xd.shape[2])
            else:
                T, B = xd.shape[0], xd.shape[1]
                x_in = np.ascontiguousarray(xd).reshape(T * B, xd.shape[2])
            steps = _steps_for((B,) * T)
        else:
            x_in = np.ascontiguousarray(xd)
            steps = _steps_for(tuple(batch_sizes))
            B = steps.B
        h0d = None if h0 is None else h0.data
        c0d = None if c0 is None else c0.data
        if sorted_indices is not None:
            h0d = None if h0d is None else h0d[:, sorted_indices]
            c0d = None if c0d is None else c0d[:, sorted_indices]
        zeros_h = np.zeros((B, P), dt) if h0d is None else None
        zeros_c = np.zeros((B, H), dt) if (mode == "LSTM" and c0d is None) else None
        W = [w.data if isinstance(w, Tensor) else None for w in weights]
        h_n = np.empty((L * D, B, P), dt)
        c_n = np.empty((L * D, B, H), dt) if mode == "LSTM" else None
        inputs, records, masks = [], [], []
        layer_in = x_in
        drop = training and dropout > 0 and L > 1
        for layer in range(L):
            inputs.append(layer_in)
            outs = []
            pending = [] if D > 1 else None  # compiled loops of both directions, run side by side
            for d in range(D):
                k = layer * D + d
                hi = zeros_h if h0d is None else np.ascontiguousarray(h0d[k])
                ci = None
                if mode == "LSTM":
                    ci = zeros_c if c0d is None else np.ascontiguousarray(c0d[k])
                w = W[5 * k : 5 * k + 5]
                rec, out = _run_direction(
                    mode, layer_in, steps, d == 1, w, hi, ci, h0d is not None, H, proj_size, pending
                )
                records.append(rec)
                outs.append(out)
            if pending:
                _threads.run_parts(_call, [(loop,) for loop in pending])
            for d in range(D):
                k = layer * D + d
                rows = steps.final_rows(d == 1)
                h_n[k] = outs[d][rows]
                if mode == "LSTM":
                    c_n[k] = records[k].c[rows]
            layer_out = outs[0] if D == 1 else np.concatenate(outs, axis=1)
            if drop and layer < L - 1:
                mask = _dropout_mask(layer_out.shape, dropout, dt)
                masks.append(mask)
                layer_out = layer_out * mask
            else:
                masks.append(None)
            layer_in = layer_out
        if unsorted_indices is not None:
            h_n = h_n[:, unsorted_indices]
            c_n = None if c_n is None else c_n[:, unsorted_indices]
        out = layer_in
        if batch_sizes is None:
            out = out.reshape(steps.T, B, D * P)
            if batch_first:
                out = out.transpose(1, 0, 2)
        if isinstance(ctx, Node):  # recorded: keep what backward needs
            ctx.save_for_backward(x, h0, c0, *weights)
            ctx.inputs, ctx.records, ctx.masks, ctx.steps = inputs, records, masks, steps
            ctx.config = (
                mode,
                H,
                proj_size,
                L,
                D,
                batch_first,
                batch_sizes is not None,
                sorted_indices,
                unsorted_indices,
            )
        return (out, h_n) if c_n is None else (out, h_n, c_n)

    @staticmethod
    def backward(ctx, dout, dh_n, dc_n=None):
        saved = ctx.saved_tensors
        watched = getattr(ctx, "output_version", None)
        if watched is not None and watched[0][0] != watched[1]:
            raise AutogradError(
                "one of the tensors needed for gradient computation has been modified by an in-place "
                f"operation: the output of {_LAYER_NAME[ctx.config[0]]} is at version {watched[0][0]}; "
                f"expected version {watched[1]} instead"
            )
        mode, H, proj, L, D, batch_first, packed, sorted_indices, unsorted_indices = ctx.config
        needs = ctx.needs_input_grad
        steps = ctx.steps
        W = [w.data if isinstance(w, Tensor) else None for w in saved[3:]]
        P = proj if proj else H
        dod = dout.data
        if not packed:
            if batch_first:
                dod = dod.transpose(1, 0, 2)
            dod = dod.reshape(steps.total, D * P)  # copies only if not time-major contiguous
        dod = np.ascontiguousarray(dod)
        dhd = dh_n.data
        dcd = None if dc_n is None else dc_n.data
        if sorted_indices is not None:
            dhd = dhd[:, sorted_indices]
            dcd = None if dcd is None else dcd[:, sorted_indices]
        dh0 = np.empty((L * D,) + dhd.shape[1:], dod.dtype) if needs[1] else None
        dc0 = np.empty((L * D,) + dcd.shape[1:], dod.dtype) if (mode == "LSTM" and needs[2]) else None
        wgrads = [None] * len(W)
        dx = None
        for layer in range(L - 1, -1, -1):
            x_in = ctx.inputs[layer]
            need_dx = layer > 0 or needs[0]
            dx = None
            pending = [] if D > 1 else None  # compiled loops of both directions, run side by side
            finishers = []
            for d in range(D):
                k = layer * D + d
                rec = ctx.records[k]
                w = W[5 * k : 5 * k + 5]
                do = dod if D == 1 else np.ascontiguousarray(dod[:, d * P : (d + 1) * P])
                base = 3 + 5 * k
                need_w = [needs[base + i] for i in range(5)]
                w_hh_r = _overlap_right(mode, proj, D, steps, w, rec, do, dhd[k], dcd[k]) if dcd is not None else None
                if w_hh_r is not None:  # one direction: its backward makes dx itself
                    dgx, grads, dhk, dck, dx = _lstm_backward_overlapped(
                        x_in, steps, rec, w, w_hh_r, do, dhd[k], dcd[k], H, need_w, needs[1], need_dx
                    )
                    finishers.append((None, grads, dhk, dck))
                    continue
                finishers.append(
                    _backward_direction(
                        mode,
                        x_in,
                        steps,
                        rec,
                        w,
                        do,
                        np.ascontiguousarray(dhd[k]),
                        None if dcd is None else np.ascontiguousarray(dcd[k]),
                        H,
                        proj,
                        need_w,
                        need_w[2:4],
                        needs[1],
                        pending,
                    )
                )
            if pending:
                _threads.run_parts(_call, [(loop,) for loop in pending])
            for d in range(D):
                k = layer * D + d
                w = W[5 * k : 5 * k + 5]
                dgx, grads, dhk, dck = finishers[d]() if pending is not None else finishers[d]
                wgrads[5 * k : 5 * k + 5] = grads
                if dh0 is not None:
                    dh0[k] = dhk
                if dc0 is not None:
                    dc0[k] = dck
                if need_dx and dgx is not None:  # (None: the overlapped backward made dx already)
                    if dx is None:
                        dx = _mm(dgx, w[0])
                    else:
                        _mm(dgx, w[0], out=dx, accumulate=True)
            if layer > 0:
                mask = ctx.masks[layer - 1]
                if mask is not None:
                    dx *= mask
                dod = dx
        if dx is not None and needs[0]:
            if not packed:
                dx = dx.reshape(steps.T, steps.B, dx.shape[1])
                if batch_first:
                    dx = dx.transpose(1, 0, 2)
        else:
            dx = None
        if unsorted_indices is not None:
            dh0 = None if dh0 is None else dh0[:, unsorted_indices]
            dc0 = None if dc0 is None else dc0[:, unsorted_indices]
        results = [dx, dh0, dc0, *wgrads]
        if _grad_state.enabled:  # create_graph: first-order gradients, but no second order
            return _guard_double_backward(_LAYER_NAME[mode], results, (dout, dh_n, dc_n, *saved))
        return tuple(None if r is None else Tensor(r) for r in results)


def _dropout_mask(shape, p: float, dt) -> np.ndarray:
    """Dropout between layers as a multiplier: ``1 / (1 - p)`` where kept, 0 where dropped."""
    if p >= 1.0:
        return np.zeros(shape, dt)
    keep = numpy_generator().random(shape, dtype=np.float32) >= np.float32(p)
    return keep * dt.type(1.0 / (1.0 - p))


class _NoDoubleBackward(Function):
    """Hands on gradients computed by a fused backward; differentiating them again raises."""

    @staticmethod
    def forward(ctx, name, arrays, *connect):
        if isinstance(ctx, Node):
            ctx.layer_name = name
        return tuple(arrays)

    @staticmethod
    def backward(ctx, *grads):
        raise AutogradError(
            f"double backward through {ctx.layer_name} is not supported: its backward is a fused "
            "NumPy/Numba loop, so gradients of its gradients (create_graph=True) cannot be computed"
        )


def _guard_double_backward(name, results, connect):
    present = [i for i, r in enumerate(results) if r is not None]
    if not present:
        return tuple(results)
    tensors = [t for t in connect if isinstance(t, Tensor)]
    wrapped = _NoDoubleBackward.apply(name, [results[i] for i in present], *tensors)
    out = [None] * len(results)
    for i, t in zip(present, wrapped):
        out[i] = t
    return tuple(out)


def recurrent(
    mode: str,
    input: Tensor,
    h0: Tensor | None,
    c0: Tensor | None,
    weights: list,
    *,
    hidden_size: int,
    proj_size: int = 0,
    num_layers: int = 1,
    bidirectional: bool = False,
    batch_first: bool = False,
    dropout: float = 0.0,
    training: bool = False,
    batch_sizes=None,
    sorted_indices=None,
    unsorted_indices=None,
) -> tuple:
    """Run a recurrent stack; the engine of ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (which check the shapes).

    mode: ``'RNN_TANH'``, ``'RNN_RELU'``, ``'LSTM'`` or ``'GRU'``. input: ``(T, B, I)``
    (``(B, T, I)`` with batch_first), or packed data ``(total, I)`` with
    ``batch_sizes``. h0: ``(num_layers * D, B, P)`` or None (zeros); c0 likewise
    ``(num_layers * D, B, hidden_size)`` for LSTM. weights: per layer and
    direction ``[w_ih, w_hh, b_ih, b_hh, w_hr]`` (None where absent), flattened.
    Returns ``(output, h_n)``, and ``c_n`` for LSTM.
    """
    if mode not in _GATES:
        raise ValueError(f"recurrent: unknown mode {mode!r}; expected one of {sorted(_GATES)}")
    if dropout and num_layers == 1:
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
            f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
            stacklevel=3,
        )
    if batch_sizes is not None:
        batch_sizes = [int(b) for b in np.asarray(batch_sizes.data if isinstance(batch_sizes, Tensor) else batch_sizes)]
    if sorted_indices is not None:
        sorted_indices = np.asarray(sorted_indices.data if isinstance(sorted_indices, Tensor) else sorted_indices)
    if unsorted_indices is not None:
        unsorted_indices = np.asarray(
            unsorted_indices.data if isinstance(unsorted_indices, Tensor) else unsorted_indices
        )
    outs = _Recurrent.apply(
        input,
        h0,
        c0 if mode == "LSTM" else None,
        *weights,
        mode=mode,
        hidden_size=hidden_size,
        proj_size=proj_size,
        num_layers=num_layers,
        num_directions=2 if bidirectional else 1,
        batch_first=batch_first,
        batch_sizes=batch_sizes,
        sorted_indices=sorted_indices,
        unsorted_indices=unsorted_indices,
        dropout=float(dropout),
        training=training,
    )
    node = outs[0].grad_fn
    if node is not None:  # the output shares memory with what backward reads: watch for in-place changes
        node.output_version = (outs[0]._vc, outs[0]._vc[0])
    return outs


def _cell(mode, input, hx, cx, w_ih, w_hh, b_ih, b_hh):
    hidden = w_hh.shape[1]
    x = input.reshape((1,) + tuple(input.shape))
    h0 = None if hx is None else hx.reshape((1,) + tuple(hx.shape))
    c0 = None if cx is None else cx.reshape((1,) + tuple(cx.shape))
    outs = recurrent(mode, x, h0, c0, [w_ih, w_hh, b_ih, b_hh, None], hidden_size=hidden)
    if mode == "LSTM":
        return outs[1][0], outs[2][0]
    return outs[1][0]


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None) -> Tensor:
    """One Elman step ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)``; input ``(N, I)``, hx ``(N, H)`` or None."""
    return _cell("RNN_TANH", input, hx, None, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None) -> Tensor:
    """One Elman step with ReLU; input ``(N, I)``, hx ``(N, H)`` or None."""
    return _cell("RNN_RELU", input, hx, None, w_ih, w_hh, b_ih, b_hh)


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None) -> tuple:
    """One LSTM step; hx is ``(h, c)`` (each ``(N, H)``) or None; returns ``(h', c')``."""
    h, c = (None, None) if hx is None else hx
    return _cell("LSTM", input, h, c, w_ih, w_hh, b_ih, b_hh)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None) -> Tensor:
    """One GRU step (PyTorch's gate form); input ``(N, I)``, hx ``(N, H)`` or None."""
    return _cell("GRU", input, hx, None, w_ih, w_hh, b_ih, b_hh)
