"""CIFAR-10 from its binary version (never the pickled Python version)."""

from __future__ import annotations

import os

import numpy as np

from ...tensor import Tensor
from ..dataset import Dataset
from ._files import find_file

__all__ = ["CIFAR10"]

_RECORD = 1 + 3 * 32 * 32


class CIFAR10(Dataset):
    """60000 32x32 colour images in 10 classes, read from ``cifar-10-batches-bin``.

    Train: ``data_batch_1.bin`` .. ``data_batch_5.bin``; test: ``test_batch.bin``
    (each record: 1 label byte, then 3072 bytes of R, G, B planes). Samples are
    ``(image, label)``: ``image`` a float32 ``(3, 32, 32)`` tensor in [0, 1].
    """

    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    def __init__(
        self, root: str, train: bool = True, transform=None, target_transform=None, download: bool = False
    ) -> None:
        self.root = os.fspath(root)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        names = [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]
        hint = "the binary version, cifar-10-binary.tar.gz, extracted"
        if download:
            raise RuntimeError(
                "CIFAR10: automatic download is not supported; get cifar-10-binary.tar.gz and extract it into "
                + self.root
            )
        chunks = []
        for name in names:
            path = find_file(self.root, ["", "cifar-10-batches-bin"], [name], "CIFAR10", hint)
            raw = np.fromfile(path, dtype=np.uint8)
            if raw.size % _RECORD:
                raise ValueError(f"CIFAR10: {path} has {raw.size} bytes, not a multiple of the {_RECORD}-byte record")
            chunks.append(raw.reshape(-1, _RECORD))
        records = np.concatenate(chunks)
        self.targets = records[:, 0].astype(np.int64)
        if self.targets.size and self.targets.max() > 9:
            raise ValueError(f"CIFAR10: label {int(self.targets.max())} out of range 0..9: is this the CIFAR-100 file?")
        self.data = records[:, 1:].reshape(-1, 3, 32, 32)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int):
        image = Tensor(self.data[index].astype(np.float32) / 255.0)
        label = int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label
