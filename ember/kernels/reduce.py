"""A first-order linear recurrence along one axis, for the gradients of cumprod and logcumsumexp.

``y[k] = x[k] + c[k] * y[k - 1]`` (or ``y[k + 1]`` in reverse) has no NumPy
ufunc; written as a product-and-divide it breaks on zeros and overflows, so
it is a loop here.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def linear_scan(x: np.ndarray, c: np.ndarray, reverse: bool) -> np.ndarray:  # pragma: no cover - compiled
    """Scan the middle axis of ``(A, n, B)`` C-contiguous arrays; ``c`` at the first step is unused."""
    outer, n, inner = x.shape
    y = np.empty_like(x)
    if n == 0:
        return y
    for a in range(outer):
        if reverse:
            for b in range(inner):
                y[a, n - 1, b] = x[a, n - 1, b]
            for k in range(n - 2, -1, -1):
                for b in range(inner):
                    y[a, k, b] = x[a, k, b] + c[a, k, b] * y[a, k + 1, b]
        else:
            for b in range(inner):
                y[a, 0, b] = x[a, 0, b]
            for k in range(1, n):
                for b in range(inner):
                    y[a, k, b] = x[a, k, b] + c[a, k, b] * y[a, k - 1, b]
    return y
