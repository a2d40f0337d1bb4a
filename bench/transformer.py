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
    import ember.optim  # noqa: F401  (em.optim)

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
    opt = em.optim.Adam(model.parameters(), lr=1e-3)
    ex, ey = em.tensor(x), em.tensor(y)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(ex), ey)
        loss.backward()
        opt.step()
        return loss

    return model, step


DESCRIPTIONS = {"transformer": f"train step, 2-layer Transformer encoder d{D_MODEL}, batch {BATCH} x seq {SEQ}"}


def make_transformer_train(lib: str):
    """``(step, samples)`` for the suite (``python -m bench``); ember starts from PyTorch's weights."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SEQ, D_MODEL)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH).astype(np.int64)
    torch_model, torch_step = _torch_step(x, y)
    if lib == "torch":
        return torch_step, BATCH
    state = {k: v.detach().numpy().copy() for k, v in torch_model.state_dict().items()}
    return _ember_step(x, y, state)[1], BATCH


def run(quick: bool = False) -> list[dict]:
    """Time the train step; dicts with ``row``, ``ember_ms``, ``torch_ms``, ``*_samples_s``, ``speed``, ``notes``.

    The first row is the reference setting (PyTorch on 2 threads, NumPy's BLAS on its
    default); a second row limits both to one thread (with threadpoolctl, if installed).
    """
    import torch

    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SEQ, D_MODEL)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH).astype(np.int64)
    torch_model, torch_step = _torch_step(x, y)
    state = {k: v.detach().numpy().copy() for k, v in torch_model.state_dict().items()}
    _, ember_step = _ember_step(x, y, state)
    notes = []
    for i in range(2):  # same weights: the first loss checks forward, the second backward and Adam too
        losses = (float(ember_step().item()), float(torch_step().item()))
        if abs(losses[0] - losses[1]) > 1e-4 * max(1.0, abs(losses[1])):
            notes.append(f"loss {i} differs: ember {losses[0]:.6f}, torch {losses[1]:.6f}")
    number, rounds = (2, 3) if quick else (5, 9)
    label = f"train step: {LAYERS}x encoder d{D_MODEL} h{HEADS} ff{FF}, batch {BATCH} x seq {SEQ}, Adam"
    results = [_timed(f"{label} (2 threads)", ember_step, torch_step, number, rounds, notes)]
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return results
    # a second, labelled row with one thread each: on a busy machine, thread pools spinning against other
    # processes swing the 2-thread figures (PyTorch's more), and this row shows the work itself
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            results.append(_timed(f"{label} (1 thread)", ember_step, torch_step, number, rounds, []))
    finally:
        torch.set_num_threads(2)
    return results


def _timed(row: str, ember_step, torch_step, number: int, rounds: int, notes: list) -> dict:
    median_time(ember_step, number, repeat=1, warmup=2)
    median_time(torch_step, number, repeat=1, warmup=2)
    ember_runs, torch_runs = [], []
    for _ in range(rounds):  # alternate, so a busy moment on the machine costs both
        ember_runs.append(median_time(ember_step, number, repeat=1, warmup=0))
        torch_runs.append(median_time(torch_step, number, repeat=1, warmup=0))
    ember_ms = float(np.median(ember_runs)) * 1e3
    torch_ms = float(np.median(torch_runs)) * 1e3
    return {
        "row": row,
        "ember_ms": ember_ms,
        "torch_ms": torch_ms,
        "ember_samples_s": BATCH / ember_ms * 1e3,
        "torch_samples_s": BATCH / torch_ms * 1e3,
        "speed": torch_ms / ember_ms,
        "notes": notes,
    }


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
