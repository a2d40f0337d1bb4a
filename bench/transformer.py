"""The reference Transformer classifier's train step, ember against PyTorch.

Run: ``python bench/transformer.py [--quick]`` (or ``python -m bench.transformer``).
The model: 2 ``TransformerEncoderLayer`` (d_model 128, 4 heads, feed-forward 512,
dropout 0, ``batch_first``), mean over positions, ``Linear(128, 10)``; input a
batch of 32 sequences of 64 feature vectors. A train step is forward,
cross-entropy, backward and an Adam step. Both libraries start from the same
weights (PyTorch's, loaded into ember) and run in this process, PyTorch on 2
threads; timings alternate between the two so that load on the machine hits
both alike. Prints ms per step (median), samples/s and speed = torch time /
ember time (above 1: ember is faster).
"""

from __future__ import annotations

import sys

import numpy as np

try:
    from ._timing import median_time, print_table
except ImportError:  # run as a script: bench/ is on sys.path
    from _timing import median_time, print_table

BATCH, SEQ, D_MODEL, HEADS, FF, LAYERS, CLASSES = 32, 64, 128, 4, 512, 2, 10


def _torch_step(x: np.ndarray, y: np.ndarray):
    import torch

    torch.manual_seed(0)

    class Classifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            layer = torch.nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.0, batch_first=True)
            self.encoder = torch.nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
            self.head = torch.nn.Linear(D_MODEL, CLASSES)

        def forward(self, x):
            return self.head(self.encoder(x).mean(1))

    model = Classifier()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = torch.nn.functional.cross_entropy

    def step():
        opt.zero_grad()
        loss = loss_fn(model(tx), ty)
        loss.backward()
        opt.step()
        return loss

    return model, step


def _ember_step(x: np.ndarray, y: np.ndarray, torch_state: dict):
    import ember as em
    import ember.nn as nn
    import ember.nn.functional as F

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
            self.head = nn.Linear(D_MODEL, CLASSES)

        def forward(self, x):
            return self.head(self.encoder(x).mean(1))

    model = Classifier()
    model.load_state_dict(torch_state)
    adam = getattr(getattr(em, "optim", None), "Adam", None)
    notes = []
    if adam is None:
        opt = _FallbackAdam(list(model.parameters()), lr=1e-3)
        notes.append("NumPy Adam stand-in: ember.optim.Adam missing")
    else:
        opt = adam(model.parameters(), lr=1e-3)
    loss_fn = getattr(F, "cross_entropy", None)
    if loss_fn is None:
        notes.append("cross-entropy composed: F.cross_entropy missing")
        onehot = em.tensor(np.eye(CLASSES, dtype=np.float32)[y])

        def loss_fn(logits, target):
            return -(F.log_softmax(logits, 1) * onehot).sum() / logits.shape[0]

    ex, ey = em.tensor(x), em.tensor(y)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(ex), ey)
        loss.backward()
        opt.step()
        return loss

    return model, step, notes


class _FallbackAdam:
    """Plain in-place NumPy Adam, used only while ``ember.optim.Adam`` does not exist."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.betas, self.eps, self.t = params, lr, betas, eps, 0
        self.m = [np.zeros_like(p.data) for p in params]
        self.v = [np.zeros_like(p.data) for p in params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad.data
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p.data -= self.lr / c1 * m / (np.sqrt(v / c2) + self.eps)


def run(quick: bool = False) -> list[dict]:
    """Time the train step; returns one dict with ``row``, ``ember_ms``, ``torch_ms``, ``samples_s``, ``speed``."""
    import torch

    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SEQ, D_MODEL)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH).astype(np.int64)
    torch_model, torch_step = _torch_step(x, y)
    state = {k: v.detach().numpy().copy() for k, v in torch_model.state_dict().items()}
    _, ember_step, notes = _ember_step(x, y, state)
    first = (float(ember_step().item()), float(torch_step().item()))
    if abs(first[0] - first[1]) > 1e-4 * max(1.0, abs(first[1])):
        notes.append(f"first losses differ: ember {first[0]:.6f}, torch {first[1]:.6f}")
    number, rounds = (2, 3) if quick else (5, 9)
    median_time(ember_step, number, repeat=1, warmup=2)
    median_time(torch_step, number, repeat=1, warmup=2)
    ember_runs, torch_runs = [], []
    for _ in range(rounds):  # alternate, so a busy moment on the machine costs both
        ember_runs.append(median_time(ember_step, number, repeat=1, warmup=0))
        torch_runs.append(median_time(torch_step, number, repeat=1, warmup=0))
    ember_ms = float(np.median(ember_runs)) * 1e3
    torch_ms = float(np.median(torch_runs)) * 1e3
    row = f"train step: {LAYERS}x encoder d{D_MODEL} h{HEADS} ff{FF}, batch {BATCH} x seq {SEQ}, Adam"
    return [
        {
            "row": row,
            "ember_ms": ember_ms,
            "torch_ms": torch_ms,
            "ember_samples_s": BATCH / ember_ms * 1e3,
            "torch_samples_s": BATCH / torch_ms * 1e3,
            "speed": torch_ms / ember_ms,
            "notes": notes,
        }
    ]


def main(argv=None) -> None:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    results = run(quick)
    print("ms per train step (median); speed = torch time / ember time (> 1: ember faster)")
    rows = [
        [r["row"], r["ember_ms"], r["torch_ms"], r["ember_samples_s"], r["torch_samples_s"], r["speed"]]
        for r in results
    ]
    print_table(["row", "ember ms", "torch ms", "ember samples/s", "torch samples/s", "speed"], rows)
    for r in results:
        for note in r["notes"]:
            print(f"note: {note}")


if __name__ == "__main__":
    main()
