"""``ember.nn.functional``: every stateless neural-network op, PyTorch's names and defaults.

Import as ``import ember.nn.functional as F``. The ops live in ``ember.ops``
by family; this module re-exports them.
"""

from __future__ import annotations

from ..ops import activation as _activation
from ..ops import attention as _attention
from ..ops import conv as _conv
from ..ops import dropout as _dropout
from ..ops import embedding as _embedding
from ..ops import loss as _loss
from ..ops import multihead as _multihead
from ..ops import norm as _norm
from ..ops import pool as _pool
from ..ops.bilinear import bilinear
from ..ops.elementwise import sigmoid, tanh
from ..ops.index import one_hot
from ..ops.linalg import linear
from ..ops.shape import pad

_FAMILIES = (_activation, _attention, _conv, _dropout, _embedding, _loss, _multihead, _norm, _pool)

__all__ = ["sigmoid", "tanh", "pad", "linear", "bilinear", "one_hot"]


def _reexport() -> None:
    for family in _FAMILIES:
        for name in family.__all__:
            globals()[name] = getattr(family, name)
            __all__.append(name)


_reexport()
