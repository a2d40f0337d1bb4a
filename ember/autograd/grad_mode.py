"""Grad mode: whether ops record a graph. Context managers that also decorate."""

from __future__ import annotations

import functools

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode"]


class _State:
    __slots__ = ("enabled", "anomaly")

    def __init__(self) -> None:
        self.enabled = True
        self.anomaly = False


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


class _GradModeContext:
    """Sets grad mode on entry and restores the previous mode on exit."""

    _mode = True

    def __init__(self) -> None:
        self._prev = []

    def __enter__(self):
        self._prev.append(state.enabled)
        state.enabled = self._mode
        return self

    def __exit__(self, *exc) -> None:
        state.enabled = self._prev.pop()

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Ops run without recording a graph: ``with ember.no_grad(): ...``."""

    _mode = False


class enable_grad(_GradModeContext):  # noqa: N801
    """Record a graph again inside a ``no_grad`` block."""

    _mode = True


inference_mode = no_grad


class set_grad_enabled(_GradModeContext):  # noqa: N801
    """Turn graph recording on or off; takes effect at once and as a context manager."""

    def __init__(self, mode: bool) -> None:
        self._prev = [state.enabled]
        self._mode = bool(mode)
        state.enabled = self._mode

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        state.enabled = self._prev[0]

    def __call__(self, fn):
        state.enabled = self._prev[0]
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class detect_anomaly:  # noqa: N801
    """Check every backward result for NaN and name the op that made it."""

    def __init__(self, mode: bool = True) -> None:
        self._mode = mode

    def __enter__(self):
        self._prev = state.anomaly
        state.anomaly = self._mode
        return self

    def __exit__(self, *exc) -> None:
        state.anomaly = self._prev
