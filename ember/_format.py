"""``repr`` of a tensor, in PyTorch's style: ``tensor([[1., 2.]], requires_grad=True)``."""

from __future__ import annotations

import numpy as np

_PREFIX = "tensor("


def _float_formatter(values: np.ndarray):
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return lambda v: _special(v) or f"{v:.4f}"
    absvals = np.abs(finite)
    if np.all(finite == np.round(finite)) and absvals.max() < 1e8:
        return lambda v: _special(v) or f"{v:.0f}."
    nonzero = absvals[absvals > 0]
    big = absvals.max()
    small = nonzero.min() if nonzero.size else 0.0
    if big > 1e8 or (small and (small < 1e-4 or big / small > 1e3)):
        return lambda v: _special(v) or f"{v:.4e}"
    return lambda v: _special(v) or f"{v:.4f}"


def _special(v) -> str | None:
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def format_tensor(t) -> str:
    data = t.data
    kind = data.dtype.kind
    suffix = []
    if data.size == 0 and data.ndim != 1:
        body = "[]"
        suffix.append(f"size={tuple(data.shape)}")
    else:
        fmt = {}
        if kind == "f":
            sample = data.ravel() if data.size <= 1000 else np.concatenate([data.ravel()[:3], data.ravel()[-3:]])
            base = _float_formatter(np.asarray(sample, dtype=np.float64))
            width = max((len(base(v)) for v in sample.astype(np.float64)), default=0)
            fmt = {"float_kind": lambda v: base(v).rjust(width)}
        elif kind == "b":
            width = 5 if not data.all() and data.any() else (4 if data.all() else 5)
            fmt = {"bool": lambda v: ("True" if v else "False").rjust(width)}
        body = np.array2string(
            data,
            separator=", ",
            prefix=_PREFIX,
            formatter=fmt,
            threshold=1000,
            edgeitems=3,
            max_line_width=80,
        )
    name = t.dtype.name
    if name not in ("float32", "int64", "bool"):
        suffix.append(f"dtype=ember.{name}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    return _PREFIX + body + "".join(", " + s for s in suffix) + ")"
