"""Variable-length sequences: PackedSequence and padding/packing helpers (issue 5)."""

from __future__ import annotations

__all__: list = []
