"""Numba kernel for the common cross-entropy: (N, C) logits, class indices, no weights or smoothing."""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, error_model="numpy")
def cross_entropy_rows(x, y, ignore_index, probs):  # pragma: no cover - compiled
    """Sum of ``-log_softmax(x)[i, y[i]]`` over counted rows; ``probs`` gets each row's softmax.

    Returns ``(loss sum, counted rows, first bad row or -1)``; an ignored row's
    ``probs`` is all zero (it gets no gradient). One pass per row, exact at any
    logit scale (the row maximum is subtracted first).
    """
    n, c = x.shape
    total = 0.0
    counted = 0
    for i in range(n):
        t = y[i]
        if t == ignore_index:
            for j in range(c):
                probs[i, j] = 0.0
            continue
        if t < 0 or t >= c:
            return total, counted, i
        m = x[i, 0]
        for j in range(1, c):
            v = x[i, j]
            if v > m or v != v:
                m = v
        s = 0.0
        for j in range(c):
            e = math.exp(x[i, j] - m)
            probs[i, j] = e
            s += e
        inv = 1.0 / s
        for j in range(c):
            probs[i, j] *= inv
        total += math.log(s) - (x[i, t] - m)
        counted += 1
    return total, counted, -1
