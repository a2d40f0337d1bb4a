"""Functional neural-network ops: loss (see issue 3)."""

from __future__ import annotations

__all__: list = []
