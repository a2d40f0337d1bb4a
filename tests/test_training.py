"""End-to-end training: accuracy on real data, exact resume from a checkpoint, flat memory."""

import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import ember as em
import ember.nn as nn
import ember.nn.functional as F
from ember.data import DataLoader, datasets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _model():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8 * 4 * 4, 32),
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.Linear(32, 10),
    )


def _setup(seed=0):
    em.manual_seed(seed)
    model = _model()
    opt = em.optim.Adam(model.parameters(), lr=3e-3)
    sched = em.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    loader = DataLoader(datasets.digits(), batch_size=64, shuffle=True)
    return model, opt, sched, loader


def _train_epochs(model, opt, sched, loader, epochs):
    model.train()
    for _ in range(epochs):
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()


def _weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def train_and_save(path, epochs):
    model, opt, sched, loader = _setup()
    _train_epochs(model, opt, sched, loader, epochs)
    em.save(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "rng": em.get_rng_state(),
            "loader": loader.state_dict(),
            "epoch": epochs,
        },
        path,
    )


def resume_and_save(path, out, epochs):
    model, opt, sched, loader = _setup(seed=123)  # a different seed: everything must come from the file
    ckpt = em.load(path)
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    sched.load_state_dict(ckpt["scheduler"])
    em.set_rng_state(ckpt["rng"])
    _train_epochs(model, opt, sched, loader, epochs)
    em.save({"model": model.state_dict()}, out)


def test_digits_mlp_reaches_95_percent():
    em.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = em.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = DataLoader(datasets.digits(flatten=True), batch_size=32, shuffle=True)
    for _ in range(10):
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    test = datasets.digits(train=False, flatten=True)
    with em.no_grad():
        acc = (model(test.tensors[0]).argmax(1) == test.tensors[1]).float().mean().item()
    assert acc >= 0.95, f"test accuracy {acc:.3f} below 0.95"


def test_same_seed_same_weights():
    a = _setup()
    _train_epochs(*a, 1)
    b = _setup()
    _train_epochs(*b, 1)
    for k, v in _weights(a[0]).items():
        assert np.array_equal(v, _weights(b[0])[k]), k


@pytest.mark.slow
def test_exact_resume_in_a_fresh_process_is_bitwise_equal(tmp_path):
    model, opt, sched, loader = _setup()
    _train_epochs(model, opt, sched, loader, 3)
    straight = _weights(model)
    ckpt, out = tmp_path / "two.safetensors", tmp_path / "resumed.safetensors"
    train_and_save(ckpt, 2)
    code = f"import sys; sys.path.insert(0, {ROOT!r}); from tests.test_training import resume_and_save; resume_and_save({str(ckpt)!r}, {str(out)!r}, 1)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    resumed = {k: v.numpy() for k, v in em.load(out)["model"].items()}
    assert list(resumed) == list(straight)
    for k in straight:
        assert np.array_equal(straight[k], resumed[k]), f"{k} differs after resume"


def test_memory_stays_flat_over_1000_steps():
    em.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = em.optim.Adam(model.parameters(), lr=1e-3)
    x = em.randn(16, 32)
    y = em.randint(0, 10, (16,))

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(50):
        step()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(950):
        step()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 1_000_000, f"traced memory grew by {grown} bytes over 950 steps"
