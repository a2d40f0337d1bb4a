"""The UCI handwritten digits (1797 8x8 images) that scikit-learn ships inside its package.

The CSV is read straight from scikit-learn's installed files, without importing
scikit-learn (which would pull in SciPy): ``pip install scikit-learn`` (the
``demo`` extra) is all it needs.
"""

from __future__ import annotations

import gzip
import importlib.util
import os

import numpy as np

from ...tensor import Tensor
from ..dataset import TensorDataset

__all__ = ["digits", "load_digits_arrays"]

_SPLIT_SEED = 0
_TEST_FRACTION = 0.2


def _csv_path() -> str:
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "digits(): the data ships inside scikit-learn, which is not installed: "
            "`pip install scikit-learn` (or `pip install -e .[demo]`)"
        )
    path = os.path.join(list(spec.submodule_search_locations)[0], "datasets", "data", "digits.csv.gz")
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"digits(): expected scikit-learn's copy of the digits data at {path}, but it is missing"
        )
    return path


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 images as ``(1797, 8, 8)`` float32 in [0, 1] and labels as int64."""
    with gzip.open(_csv_path(), "rt") as f:
        raw = np.loadtxt(f, delimiter=",", dtype=np.float64)
    if raw.shape != (1797, 65):
        raise ValueError(f"digits(): unexpected data shape {raw.shape}, expected (1797, 65)")
    images = (raw[:, :64] / 16.0).astype(np.float32).reshape(-1, 8, 8)
    labels = raw[:, 64].astype(np.int64)
    return images, labels


def digits(train: bool = True, flatten: bool = False) -> TensorDataset:
    """The train (1438 images) or test (359 images) part of a fixed, seeded 80/20 split.

    Samples are ``(image, label)``: ``image`` of shape ``(1, 8, 8)`` (or ``(64,)``
    with ``flatten=True``), float32 in [0, 1]; ``label`` an int64 in 0..9.
    """
    images, labels = load_digits_arrays()
    order = np.random.default_rng(_SPLIT_SEED).permutation(len(labels))
    n_test = int(round(len(labels) * _TEST_FRACTION))
    idx = order[n_test:] if train else order[:n_test]
    x = images[idx]
    x = x.reshape(len(idx), 64) if flatten else x.reshape(len(idx), 1, 8, 8)
    return TensorDataset(Tensor(np.ascontiguousarray(x)), Tensor(labels[idx]))
