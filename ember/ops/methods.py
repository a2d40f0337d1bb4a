"""The Tensor methods that the op families provide, collected in one table."""

from __future__ import annotations

from . import elementwise, index, linalg, reduce, shape

FAMILIES = (elementwise, reduce, shape, index, linalg)


def _inplace_method(fn):
    def method(self, *args, **kwargs):
        return self._inplace(lambda t, *a: fn(t, *a, **kwargs), *args, name=fn.__name__ + "_")

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place form of ``{fn.__name__}``."
    return method


def tensor_methods() -> dict:
    methods = {}
    for family in FAMILIES:
        for name in getattr(family, "TENSOR_METHODS", ()):
            methods[name] = getattr(family, name)
        for name in getattr(family, "INPLACE_METHODS", ()):
            methods[name + "_"] = _inplace_method(getattr(family, name))
    return methods
