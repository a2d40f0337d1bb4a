"""MNIST and Fashion-MNIST from their standard IDX files (gzipped or raw)."""

from __future__ import annotations

import gzip
import os

import numpy as np

from ...tensor import Tensor
from ..dataset import Dataset
from ._files import download, find_file

__all__ = ["MNIST", "FashionMNIST", "read_idx"]

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file (the MNIST format): magic, big-endian dims, then the data."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        blob = f.read()
    if len(blob) < 4 or blob[0] != 0 or blob[1] != 0 or blob[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {blob[:4].hex()})")
    ndim = blob[3]
    header = 4 + 4 * ndim
    if len(blob) < header:
        raise ValueError(f"{path}: truncated IDX header")
    dims = [int.from_bytes(blob[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    dtype = np.dtype(_IDX_TYPES[blob[2]])
    count = int(np.prod(dims)) if dims else 1
    if len(blob) - header != count * dtype.itemsize:
        raise ValueError(
            f"{path}: IDX data holds {len(blob) - header} bytes, dims {dims} need {count * dtype.itemsize}"
        )
    return np.frombuffer(blob, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


class MNIST(Dataset):
    """Handwritten digits, 60000 train and 10000 test 28x28 images.

    Looks for ``train-images-idx3-ubyte(.gz)``, ``train-labels-idx1-ubyte(.gz)``,
    ``t10k-images-idx3-ubyte(.gz)``, ``t10k-labels-idx1-ubyte(.gz)`` in ``root``,
    ``root/<Name>/raw`` or ``root/<Name>``. Samples are ``(image, label)``:
    ``image`` a float32 ``(1, 28, 28)`` tensor in [0, 1] (before ``transform``).
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]

    def __init__(
        self, root: str, train: bool = True, transform=None, target_transform=None, download: bool = False
    ) -> None:
        self.root = os.fspath(root)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        prefix = "train" if train else "t10k"
        name = type(self).__name__
        files = {}
        for kind, suffix in (("images", "idx3-ubyte"), ("labels", "idx1-ubyte")):
            base = f"{prefix}-{kind}-{suffix}"
            try:
                files[kind] = find_file(
                    self.root, ["", f"{name}/raw", name], [base, base + ".gz"], name, f"the {name} IDX files {base}.gz"
                )
            except FileNotFoundError:
                if not download:
                    raise
                dest = os.path.join(self.root, name, "raw", base + ".gz")
                _download(self.mirrors, base + ".gz", dest, name)
                files[kind] = dest
        images = read_idx(files["images"])
        labels = read_idx(files["labels"])
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{name}: images {images.shape} and labels {labels.shape} do not match")
        self.data = images
        self.targets = labels.astype(np.int64)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int):
        image = Tensor((self.data[index].astype(np.float32) / 255.0)[None])
        label = int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def _batch(self, indices):
        if self.transform is not None or self.target_transform is not None:
            return None
        idx = np.asarray(indices)
        return Tensor((self.data[idx].astype(np.float32) / 255.0)[:, None]), Tensor(self.targets[idx])


def _download(mirrors, filename, dest, name) -> None:
    download([m + filename for m in mirrors], dest, name)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: the same format and sizes as MNIST, clothing in 10 classes."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
