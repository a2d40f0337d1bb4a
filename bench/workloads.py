"""The train-step and inference workloads of the suite, built the same way in ember and PyTorch.

Each ``make_*`` takes ``"ember"`` or ``"torch"`` and returns ``(step, samples)``:
a zero-argument function that runs one step, and the samples it processes. The
two libraries share one API here (``nn``, ``F``, ``optim``), so each model is
written once.
"""

from __future__ import annotations

import numpy as np


def lib_modules(lib: str):
    """(tensor module, nn, functional, optim, no_grad) for ``"ember"`` or ``"torch"``."""
    if lib == "torch":
        import torch

        return torch, torch.nn, torch.nn.functional, torch.optim, torch.no_grad
    import ember as em

    return em, em.nn, em.nn.functional, em.optim, em.no_grad


def _data(lib: str, shape, classes: int, seed: int = 0):
    mod = lib_modules(lib)[0]
    rng = np.random.default_rng(seed)
    x = mod.tensor(rng.standard_normal(shape).astype(np.float32))
    y = mod.tensor(rng.integers(0, classes, shape[0]).astype(np.int64))
    return x, y


def mlp(nn):
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


def cnn(nn):
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(3136, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def _train(lib: str, build, shape, classes: int = 10):
    mod, nn, F, optim, _ = lib_modules(lib)
    mod.manual_seed(0)
    model = build(nn)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x, y = _data(lib, shape, classes)

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step, shape[0]


def _infer(lib: str, build, shape):
    mod, nn, _, _, no_grad = lib_modules(lib)
    mod.manual_seed(0)
    model = build(nn).eval()
    x, _ = _data(lib, shape, 10)

    def step():
        with no_grad():
            model(x)

    return step, shape[0]


def make_mlp_train(lib: str):
    return _train(lib, mlp, (128, 784))


def make_cnn_train(lib: str):
    return _train(lib, cnn, (64, 1, 28, 28))


def make_mlp_infer(lib: str, batch: int = 128):
    return _infer(lib, mlp, (batch, 784))


def make_cnn_infer(lib: str, batch: int = 128):
    return _infer(lib, cnn, (batch, 1, 28, 28))
