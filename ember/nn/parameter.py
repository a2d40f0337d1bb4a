"""``Parameter``: a tensor that a ``Module`` registers as a learnable weight."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, as_array

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A leaf tensor with ``requires_grad=True`` by default, found by ``Module.parameters()``.

    Example:
        >>> w = nn.Parameter(ember.zeros(3, 4))
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        if data is None:
            arr = np.empty(0, np.float32)
        elif isinstance(data, Tensor):
            arr = data.data
        elif isinstance(data, np.ndarray):
            arr = data
        else:
            arr = as_array(data)
        super().__init__(arr, requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        p = Parameter(self.data.copy(), self.requires_grad)
        if self.grad is not None:
            p.grad = Tensor(self.grad.data.copy())
        memo[id(self)] = p
        return p

    def __reduce_ex__(self, protocol):
        return (Parameter, (self.data, self.requires_grad))


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module (like ``torch.nn.Buffer``)."""

    __slots__ = ("persistent",)

    def __init__(self, data, persistent: bool = True) -> None:
        arr = data.data if isinstance(data, Tensor) else as_array(data)
        super().__init__(arr)
        self.persistent = persistent
