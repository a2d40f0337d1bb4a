"""The op families' shared helpers: the per-signature cache and the channel-major test."""

import numpy as np
import pytest

from ember.ops import _util


def test_cached_builds_once_per_key_and_not_on_error_or_unhashable_keys(monkeypatch):
    calls = []

    def build(x):
        calls.append(x)
        if x < 0:
            raise ValueError(f"bad {x}")
        return x * 2

    store = {}
    assert _util.cached(store, ("k", 1), build, 1) == 2
    assert _util.cached(store, ("k", 1), build, 1) == 2
    assert calls == [1]
    with pytest.raises(ValueError, match="bad -1"):
        _util.cached(store, ("k", -1), build, -1)
    assert ("k", -1) not in store
    assert _util.cached(store, ("k", [3]), build, 3) == 6  # a list in the key: built, not remembered
    assert len(store) == 1
    monkeypatch.setattr(_util, "_CACHE_LIMIT", 2)
    _util.cached(store, 2, build, 2)
    _util.cached(store, 3, build, 3)  # past the limit: emptied first
    assert list(store) == [3]


def test_is_channel_major():
    a = np.zeros((3, 4, 5, 5))
    assert not _util.is_channel_major(a)  # plain NCHW
    assert _util.is_channel_major(a.swapaxes(0, 1))  # an NCHW view of (C, N, H, W) memory
    assert not _util.is_channel_major(a.transpose(0, 1, 3, 2))  # other non-contiguous layouts
    assert not _util.is_channel_major(a[:, :, ::2])
