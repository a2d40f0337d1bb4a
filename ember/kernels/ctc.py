"""Connectionist temporal classification: the alpha-beta recursion in log space.

One pass per sequence over the extended label ``blank, l1, blank, l2, ..., blank``
(Graves et al., 2006, eqs. 6-16). The forward variables give the loss; with
``want_grad`` the backward variables follow and give the exact gradient of each
sequence's loss with respect to its log-probabilities. Sums run in float64
whatever the input dtype. The caller checks lengths and labels: no bounds checks here.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["ctc_loss"]


@njit(cache=True)
def _logaddexp(a, b):  # pragma: no cover - compiled
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    if a > b:
        return a + np.log1p(np.exp(b - a))
    return b + np.log1p(np.exp(a - b))


@njit(cache=True)
def ctc_loss(log_probs, targets, offsets, input_lengths, target_lengths, blank, want_grad, grad):  # pragma: no cover
    """Negative log-likelihood of each sequence, shape (N,) float64.

    log_probs: (T, N, C); sequence b's labels are ``targets[offsets[b]:offsets[b] + target_lengths[b]]``.
    With ``want_grad``, ``grad`` (zeros of log_probs' shape) receives ``d nll[b] / d log_probs[t, b, c]``
    for ``t < input_lengths[b]``: NaN for an impossible alignment (infinite loss), as PyTorch.
    """
    n_time, n_batch, n_classes = log_probs.shape
    nll = np.empty(n_batch, np.float64)
    max_len = 0
    for b in range(n_batch):
        max_len = max(max_len, target_lengths[b])
    width = 2 * max_len + 1
    alpha = np.empty((max(n_time, 1), width), np.float64)
    beta = np.empty((max(n_time, 1), width), np.float64) if want_grad else alpha
    ext = np.empty(width, np.int64)
    occupancy = np.empty(n_classes, np.float64)
    neg_inf = -np.inf
    for b in range(n_batch):
        length = input_lengths[b]
        n_labels = target_lengths[b]
        n_states = 2 * n_labels + 1
        for s in range(n_states):
            ext[s] = blank if s % 2 == 0 else targets[offsets[b] + s // 2]
        if length == 0:
            nll[b] = 0.0 if n_labels == 0 else np.inf
            continue
        # forward variables
        for s in range(n_states):
            alpha[0, s] = neg_inf
        alpha[0, 0] = log_probs[0, b, blank]
        if n_states > 1:
            alpha[0, 1] = log_probs[0, b, ext[1]]
        for t in range(1, length):
            for s in range(n_states):
                a = alpha[t - 1, s]
                if s > 0:
                    a = _logaddexp(a, alpha[t - 1, s - 1])
                if s > 1 and ext[s] != blank and ext[s] != ext[s - 2]:
                    a = _logaddexp(a, alpha[t - 1, s - 2])
                alpha[t, s] = a + log_probs[t, b, ext[s]]
        ll = alpha[length - 1, n_states - 1]
        if n_states > 1:
            ll = _logaddexp(ll, alpha[length - 1, n_states - 2])
        nll[b] = -ll
        if not want_grad:
            continue
        # backward variables (each includes its own step's probability, as alpha does)
        last = length - 1
        for s in range(n_states):
            beta[last, s] = neg_inf
        beta[last, n_states - 1] = log_probs[last, b, blank]
        if n_states > 1:
            beta[last, n_states - 2] = log_probs[last, b, ext[n_states - 2]]
        for t in range(last - 1, -1, -1):
            for s in range(n_states):
                v = beta[t + 1, s]
                if s < n_states - 1:
                    v = _logaddexp(v, beta[t + 1, s + 1])
                if s < n_states - 2 and ext[s] != blank and ext[s] != ext[s + 2]:
                    v = _logaddexp(v, beta[t + 1, s + 2])
                beta[t, s] = v + log_probs[t, b, ext[s]]
        # d nll / d log_probs[t, c] = -sum_{s: ext[s] = c} alpha beta / (p(l|x) y_t(c))
        total = nll[b]
        for t in range(length):
            for c in range(n_classes):
                occupancy[c] = neg_inf
            for s in range(n_states):
                c = ext[s]
                occupancy[c] = _logaddexp(occupancy[c], alpha[t, s] + beta[t, s])
            for c in range(n_classes):
                occ = occupancy[c]
                if occ != neg_inf or total == np.inf:  # labels off every path get 0 (even at log-prob -inf)
                    grad[t, b, c] = -np.exp(occ + total - log_probs[t, b, c])
    return nll
