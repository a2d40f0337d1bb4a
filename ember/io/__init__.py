"""Checkpoints: ``ember.save`` / ``ember.load`` as safetensors plus JSON, never pickle."""

from __future__ import annotations

from .checkpoint import load, save
from .safetensors import load_file, save_file

__all__ = ["save", "load", "save_file", "load_file"]
