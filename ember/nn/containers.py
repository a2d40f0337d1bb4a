"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``, ``ParameterDict``."""

from __future__ import annotations

from collections import OrderedDict

from ..autograd.grad_mode import state as _grad_state
from ..tensor import Tensor
from . import _fuse
from .module import Module
from .parameter import Parameter

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


def _index(i: int, n: int, what: str) -> int:
    if not -n <= i < n:
        raise IndexError(f"{what}: index {i} is out of range for length {n}")
    return i + n if i < 0 else i


class Sequential(Module):
    """Modules called in order, each on the previous one's output.

    Example:
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> model[0], model[1:], model.append(nn.Softmax(dim=1))
    """

    def __init__(self, *args) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], (dict, OrderedDict)):
            for name, mod in args[0].items():
                self.add_module(name, mod)
        else:
            for i, mod in enumerate(args):
                self.add_module(str(i), mod)

    def forward(self, input):
        if not _grad_state.enabled:  # inference: runs of layers that one kernel pass can do (``_fuse``)
            return _fuse.run(list(self._modules.values()), input)
        for mod in self._modules.values():
            input = mod(input)
        return input

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        if isinstance(idx, str):
            return self._modules[idx]
        keys = list(self._modules)
        return self._modules[keys[_index(idx, len(keys), "Sequential")]]

    def __setitem__(self, idx: int, module: Module) -> None:
        keys = list(self._modules)
        setattr(self, keys[_index(idx, len(keys), "Sequential")], module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules)
        targets = keys[idx] if isinstance(idx, slice) else [keys[_index(idx, len(keys), "Sequential")]]
        for k in targets:
            del self._modules[k]
        # renumber so that indices stay 0..n-1, as PyTorch does
        items = list(self._modules.values())
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules) -> Sequential:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        items = list(self._modules.values())
        n = len(items)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} is out of range for length {n}")
        items.insert(index if index >= 0 else index + n, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self.add_module(str(i), m)
        return self


class _Registry:
    """A container over one of its Module's registries (``_modules`` or ``_parameters``), named by ``_store_name``."""

    _store_name = ""

    def _store(self) -> dict:
        return self.__dict__[self._store_name]


class _IndexedStore(_Registry):
    """The list protocol of ModuleList/ParameterList over their registry, keyed ``"0"``, ``"1"``, ...;
    ``_put(key, value)`` registers one entry."""

    def _put(self, key: str, value) -> None:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._store())

    def __iter__(self):
        return iter(self._store().values())

    def __getitem__(self, idx):
        store = self._store()
        if isinstance(idx, slice):
            return type(self)(list(store.values())[idx])
        keys = list(store)
        return store[keys[_index(idx, len(keys), type(self).__name__)]]

    def __setitem__(self, idx: int, value) -> None:
        keys = list(self._store())
        self._put(keys[_index(idx, len(keys), type(self).__name__)], value)

    def append(self, value):
        self._put(str(len(self)), value)
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self


class ModuleList(_IndexedStore, Module):
    """A list of modules whose parameters are registered (unlike a plain Python list)."""

    _store_name = "_modules"

    def __init__(self, modules=None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _put(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, idx) -> None:
        items = list(self._modules.values())
        del items[idx]
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m

    def __iadd__(self, modules) -> ModuleList:
        return self.extend(modules)

    def insert(self, index: int, module: Module) -> None:
        items = list(self._modules.values())
        items.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self.add_module(str(i), m)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(): iterate over it in your own forward")


class _NamedStore(_Registry):
    """The dict protocol of ModuleDict/ParameterDict over their registry."""

    def __delitem__(self, key: str) -> None:
        del self._store()[key]

    def __len__(self) -> int:
        return len(self._store())

    def __iter__(self):
        return iter(self._store())

    def __contains__(self, key: str) -> bool:
        return key in self._store()

    def keys(self):
        return self._store().keys()

    def values(self):
        return self._store().values()

    def items(self):
        return self._store().items()


class ModuleDict(_NamedStore, Module):
    """A dict of modules whose parameters are registered, in insertion order."""

    _store_name = "_modules"

    def __init__(self, modules=None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def pop(self, key: str) -> Module:
        return self._modules.pop(key)

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules) -> None:
        items = modules.items() if hasattr(modules, "items") else modules
        for k, m in items:
            self[k] = m

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward(): index it in your own forward")


def _as_parameter(value) -> Parameter:
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value.data)
    return Parameter(value)


class ParameterList(_IndexedStore, Module):
    """A list of parameters, registered as ``0``, ``1``, ..."""

    _store_name = "_parameters"

    def __init__(self, values=None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def _put(self, key: str, value) -> None:
        self.register_parameter(key, _as_parameter(value))

    def extra_repr(self) -> str:
        return "\n".join(
            f"({i}): Parameter containing: [{p.dtype} of size {tuple(p.shape)}]" for i, p in enumerate(self)
        )


class ParameterDict(_NamedStore, Module):
    """A dict of parameters, registered under their keys."""

    _store_name = "_parameters"

    def __init__(self, parameters=None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Parameter:
        return self._parameters[key]

    def __setitem__(self, key: str, value) -> None:
        self.register_parameter(key, _as_parameter(value))

    def update(self, parameters) -> None:
        items = parameters.items() if hasattr(parameters, "items") else parameters
        for k, v in items:
            self[k] = v
