"""``ember.nn``: modules, layers, initialisation and the functional API."""

from __future__ import annotations

from . import functional

__all__ = ["functional"]
