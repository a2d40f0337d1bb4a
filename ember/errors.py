"""ember's exceptions. Each subclasses the built-in a Python user would catch."""

from __future__ import annotations

__all__ = ["EmberError", "ShapeError", "DTypeError", "CheckpointError"]


class EmberError(Exception):
    """Base of every error ember raises on purpose."""


class ShapeError(EmberError, ValueError):
    """Operands whose shapes do not fit the op; the message names op and shapes."""


class DTypeError(EmberError, TypeError):
    """Operands whose dtypes do not fit the op; the message names the dtypes."""


class CheckpointError(EmberError, ValueError):
    """A checkpoint file that is truncated, corrupted, hostile or does not match."""


class AutogradError(EmberError, RuntimeError):
    """Misuse of autograd: freed graphs, in-place changes to saved tensors, ..."""
