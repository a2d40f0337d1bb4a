"""Functional neural-network ops: embedding (see issue 3)."""

from __future__ import annotations

__all__: list = []
