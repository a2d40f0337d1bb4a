"""ember's glibc malloc settings: big per-step arrays reuse the process's pages instead of faulting in new ones."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc settings")

_TRAIN = """
import resource, sys
import numpy as np
import ember as em
import ember.nn as nn
import ember.nn.functional as F
em.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1568, 10),
)
opt = em.optim.Adam(model.parameters())
x = em.randn(32, 1, 28, 28)
y = em.randint(0, 10, (32,))
def step():
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    step()
before = faults()
for _ in range(5):
    step()
print(em._allocator.tuned, (faults() - before) / 5)
"""


def _run(extra_env: dict) -> tuple:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "EMBER_MALLOC"))}
    env.update(extra_env)
    out = subprocess.run([sys.executable, "-c", _TRAIN], env=env, capture_output=True, text=True, check=True)
    tuned, faults = out.stdout.split()
    return tuned == "True", float(faults)


def test_training_steps_fault_in_no_new_pages():
    tuned, faults = _run({})
    if not tuned:
        pytest.skip("not glibc: ember leaves the allocator alone")
    # a step makes and frees several 0.4-1.6 MB arrays; without the settings glibc hands some of
    # them fresh pages every step (thousands of faults per step on the reference CNN)
    assert faults < 20, f"{faults} page faults per step"


@pytest.mark.slow
@pytest.mark.parametrize("env", [{"EMBER_MALLOC_TUNING": "0"}, {"MALLOC_TRIM_THRESHOLD_": "1000000"}])
def test_the_process_own_settings_win(env):
    tuned, _ = _run(env)
    assert not tuned
