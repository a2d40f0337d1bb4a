"""Timing helpers shared by the benchmarks: medians of repeated runs, printed tables."""

from __future__ import annotations

import gc
import statistics
import time


def median_time(fn, number: int, repeat: int = 7, warmup: int = 1) -> float:
    """Median over ``repeat`` runs of the mean seconds per call of ``fn`` (``number`` calls a run)."""
    for _ in range(warmup):
        for _ in range(max(1, number // 10)):
            fn()
    runs = []
    for _ in range(repeat):
        quiesce()
        start = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - start) / number)
    return statistics.median(runs)


def print_table(headers: list[str], rows: list[list]) -> None:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for k, row in enumerate(cells):
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def _fmt(c) -> str:
    if isinstance(c, float):
        return f"{c:.3g}" if abs(c) < 100 else f"{c:.0f}"
    return str(c)


def quiesce() -> None:
    """Let the other library's threads go idle before a library's round.

    Both leave threads spinning after parallel work, and spinning beside the next round took a
    core from whichever library ran next. NumPy's OpenBLAS threads spin for a long while after a
    multi-threaded product (see ``ember._threads``): PyTorch's mlp step ran at about half speed
    right after ember's BLAS products. They are stopped here (OpenBLAS restarts them on its next
    multi-threaded call, about 0.1 ms). PyTorch's OpenMP threads spin for a few milliseconds
    after its ops: ember's first-layer convolution took 0.40 ms right after PyTorch's round, 0.29
    alone and 0.32 after a 10 ms pause, so every round starts after 10 ms.

    It also runs Python's garbage collector, so that no round pays for collecting what earlier
    rounds left: late in the suite, after the training workloads, ember's tiny step took 10 us
    against 6 with a collected heap (PyTorch's moved alike). Collections a round's own
    allocations trigger still count.
    """
    from ember import _threads

    gc.collect()
    blas = _threads._openblas()
    if blas is not None and blas[2] is not None and _threads._alone():
        blas[2]()
    time.sleep(0.01)


def compare(make, number: int, repeat: int, warmup: int = 3, libs=("ember", "torch")) -> dict:
    """Median seconds per step of ``make(lib)``'s step for each library, alternating libraries.

    Each library runs ``warmup`` steps first; then ``repeat`` rounds each time
    ``number`` steps of every library in turn, so drifting machine load hits
    all alike. Returns ``{lib: (median seconds per step, samples per step)}``.
    """
    steps = {}
    for lib in libs:
        step, samples = make(lib)
        for _ in range(warmup):
            step()
        steps[lib] = (step, samples)
    runs = {lib: [] for lib in libs}
    for _ in range(repeat):
        for lib in libs:
            step = steps[lib][0]
            quiesce()
            start = time.perf_counter()
            for _ in range(number):
                step()
            runs[lib].append((time.perf_counter() - start) / number)
    return {lib: (statistics.median(runs[lib]), steps[lib][1]) for lib in libs}
