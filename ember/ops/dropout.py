"""Functional neural-network ops: dropout (see issue 3)."""

from __future__ import annotations

__all__: list = []
