"""Ready-made datasets: ``digits()`` (ships inside scikit-learn), ``MNIST``, ``FashionMNIST``, ``CIFAR10``."""

from __future__ import annotations

from .cifar import CIFAR10
from .digits import digits
from .mnist import MNIST, FashionMNIST

__all__ = ["digits", "MNIST", "FashionMNIST", "CIFAR10"]
