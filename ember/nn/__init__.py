"""``ember.nn``: modules, layers, initialisation and the functional API, with PyTorch's names.

Example:
    >>> import ember.nn as nn
    >>> model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
"""

from __future__ import annotations

from . import functional, init, utils
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .layers import activation as _activation
from .layers import conv as _conv
from .layers import dropout as _dropout
from .layers import flatten as _flatten
from .layers import linear as _linear
from .layers import loss as _loss
from .layers import normalization as _normalization
from .layers import pooling as _pooling
from .layers import rnn as _rnn
from .layers import sparse as _sparse
from .layers import transformer as _transformer
from .module import IncompatibleKeys, Module, StateDictError
from .parameter import Buffer, Parameter

_LAYER_FILES = (
    _activation,
    _conv,
    _dropout,
    _flatten,
    _linear,
    _loss,
    _normalization,
    _pooling,
    _rnn,
    _sparse,
    _transformer,
)

__all__ = [
    "functional",
    "init",
    "utils",
    "Module",
    "Parameter",
    "Buffer",
    "IncompatibleKeys",
    "StateDictError",
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "ParameterList",
    "ParameterDict",
]


def _export_layers() -> None:
    for layer_file in _LAYER_FILES:
        for name in layer_file.__all__:
            globals()[name] = getattr(layer_file, name)
            __all__.append(name)


_export_layers()
