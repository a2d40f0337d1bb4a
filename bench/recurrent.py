"""The reference recurrent classifiers' train step, ember against PyTorch.

Run: ``python bench/recurrent.py [--quick]`` (or ``python -m bench.recurrent``).
The model: ``Embedding(10000, 128)`` on int64 tokens ``(64, 64)``
(batch_first), one recurrent layer of hidden size 128, its last hidden state
into ``Linear(128, 2)``. Rows: an LSTM, a GRU, and a bidirectional LSTM (both
directions' final states concatenated into ``Linear(256, 2)``). A train step is
forward, cross-entropy, backward and an Adam step. Both libraries start from the
same weights (PyTorch's, loaded into ember) and run in this process, PyTorch on
2 threads; timings alternate between the two so that load on the machine hits
both alike. Prints ms per step (median), samples/s and speed = torch time /
ember time (above 1: ember is faster).

``make_lstm_train(lib)``, ``make_gru_train(lib)`` and ``make_bilstm_train(lib)``
return ``(step, samples)`` for the suite (``python -m bench``). ``--native-blas``
adds a labelled second run with ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE``
unset (this machine pins OpenBLAS to AVX2 kernels; PyTorch's oneDNN LSTM uses
AVX-512 either way). Names (``lstm gru bilstm``) pick rows.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

try:
    from ._timing import median_time, print_table
except ImportError:  # run as a script: bench/ is on sys.path
    from _timing import median_time, print_table

BATCH, SEQ, VOCAB, EMBED, HIDDEN, CLASSES = 64, 64, 10000, 128, 128, 2

DESCRIPTIONS = {
    "lstm": f"train step, Embedding({VOCAB}, {EMBED}) + LSTM({HIDDEN}) + Linear, tokens {BATCH}x{SEQ}",
    "gru": f"train step, Embedding({VOCAB}, {EMBED}) + GRU({HIDDEN}) + Linear, tokens {BATCH}x{SEQ}",
    "bilstm": f"train step, Embedding({VOCAB}, {EMBED}) + BiLSTM({HIDDEN}) + Linear, tokens {BATCH}x{SEQ}",
}


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, VOCAB, (BATCH, SEQ)).astype(np.int64)
    y = rng.integers(0, CLASSES, BATCH).astype(np.int64)
    return x, y


def _classifier(nn, cell: str, bidirectional: bool):
    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, EMBED)
            self.rnn = getattr(nn, cell)(EMBED, HIDDEN, batch_first=True, bidirectional=bidirectional)
            self.head = nn.Linear(HIDDEN * (2 if bidirectional else 1), CLASSES)

        def forward(self, tokens):
            _, h = self.rnn(self.embed(tokens))
            if isinstance(h, tuple):  # LSTM: (h_n, c_n)
                h = h[0]
            if bidirectional:
                return self.head(cat([h[0], h[1]], 1))
            return self.head(h[-1])

    if nn.__name__.startswith("torch"):
        import torch

        cat = torch.cat
    else:
        import ember as em

        cat = em.cat
    return Classifier()


def _make(lib: str, cell: str, bidirectional: bool, torch_state: dict | None = None):
    """``(step, samples, model)`` for one library; ember loads ``torch_state`` when given."""
    x, y = _data()
    if lib == "torch":
        import torch

        torch.manual_seed(0)
        model = _classifier(torch.nn, cell, bidirectional)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        loss_fn = torch.nn.functional.cross_entropy
    else:
        import ember as em
        import ember.nn as nn

        em.manual_seed(0)
        model = _classifier(nn, cell, bidirectional)
        if torch_state is not None:
            model.load_state_dict(torch_state)
        opt = em.optim.Adam(model.parameters(), lr=1e-3)
        tx, ty = em.tensor(x), em.tensor(y)
        loss_fn = nn.functional.cross_entropy

    def step():
        opt.zero_grad()
        loss = loss_fn(model(tx), ty)
        loss.backward()
        opt.step()
        return loss

    return step, BATCH, model


def make_lstm_train(lib: str):
    step, samples, _ = _make(lib, "LSTM", False)
    return step, samples


def make_gru_train(lib: str):
    step, samples, _ = _make(lib, "GRU", False)
    return step, samples


def make_bilstm_train(lib: str):
    step, samples, _ = _make(lib, "LSTM", True)
    return step, samples


_BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

ROWS = {"lstm": ("LSTM", False), "gru": ("GRU", False), "bilstm": ("LSTM", True)}


def run(quick: bool = False, names=None) -> list[dict]:
    """Time each row; dicts with ``row``, ``ember_ms``, ``torch_ms``, ``*_samples_s``, ``speed``, ``notes``."""
    import torch

    torch.set_num_threads(2)
    number, rounds = (2, 3) if quick else (5, 7)
    results = []
    for name in names or ROWS:
        cell, bidirectional = ROWS[name]
        torch_step, samples, torch_model = _make("torch", cell, bidirectional)
        state = {k: v.detach().numpy().copy() for k, v in torch_model.state_dict().items()}
        ember_step, _, _ = _make("ember", cell, bidirectional, state)
        notes = []
        first = (float(ember_step().item()), float(torch_step().item()))
        if abs(first[0] - first[1]) > 1e-4 * max(1.0, abs(first[1])):
            notes.append(f"{name}: first losses differ: ember {first[0]:.6f}, torch {first[1]:.6f}")
        median_time(ember_step, number, repeat=1, warmup=2)
        median_time(torch_step, number, repeat=1, warmup=2)
        ember_runs, torch_runs = [], []
        for _ in range(rounds):  # alternate, so a busy moment on the machine costs both
            ember_runs.append(median_time(ember_step, number, repeat=1, warmup=0))
            torch_runs.append(median_time(torch_step, number, repeat=1, warmup=0))
        ember_ms = float(np.median(ember_runs)) * 1e3
        torch_ms = float(np.median(torch_runs)) * 1e3
        results.append(
            {
                "row": DESCRIPTIONS[name],
                "ember_ms": ember_ms,
                "torch_ms": torch_ms,
                "ember_samples_s": samples / ember_ms * 1e3,
                "torch_samples_s": samples / torch_ms * 1e3,
                "speed": torch_ms / ember_ms,
                "notes": notes,
            }
        )
    return results


def main(argv=None) -> None:
    args = list(argv if argv is not None else sys.argv[1:])
    quick = "--quick" in args
    names = [a for a in args if a in ROWS] or None
    results = run(quick, names)
    blas_env = ", ".join(f"{k}={os.environ[k]}" for k in _BLAS_ENV if k in os.environ) or "unset"
    print(f"ms per train step (median); speed = torch time / ember time (> 1: ember faster); BLAS env: {blas_env}")
    rows = [
        [r["row"], r["ember_ms"], r["torch_ms"], r["ember_samples_s"], r["torch_samples_s"], r["speed"]]
        for r in results
    ]
    print_table(["row", "ember ms", "torch ms", "ember samples/s", "torch samples/s", "speed"], rows)
    for r in results:
        for note in r["notes"]:
            print(f"note: {note}")
    if "--native-blas" in args and any(k in os.environ for k in _BLAS_ENV):
        # the labelled second run: OpenBLAS with its own choice of kernels (AVX-512 here) and cache sizes
        env = {k: v for k, v in os.environ.items() if k not in _BLAS_ENV}
        rest = [a for a in args if a != "--native-blas"]
        print("\nsecond run, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset:", flush=True)
        subprocess.run([sys.executable, os.path.abspath(__file__), *rest], env=env, check=True)


if __name__ == "__main__":
    main()
