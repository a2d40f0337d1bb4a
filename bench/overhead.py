"""Per-call overhead: tiny ops and a tiny training step, ember vs PyTorch vs raw NumPy.

Run: ``python -m bench.overhead``. Prints microseconds per call (medians of
repeated timings) and the ember/PyTorch time ratio (below 1: ember is faster),
plus the time of ``import ember`` and ``import torch`` in fresh processes.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

import numpy as np

from ._timing import median_time, print_table


def _import_time(module: str, repeat: int = 5) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    times = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(repeat)
    ]
    return statistics.median(times)


def run(quick: bool = False) -> list[dict]:
    import torch

    import ember as em

    torch.set_num_threads(2)
    number = 300 if quick else 2000
    repeat = 5 if quick else 9
    rng = np.random.default_rng(0)
    a16, b16 = rng.standard_normal(16, dtype=np.float32), rng.standard_normal(16, dtype=np.float32)
    a128, b128 = rng.standard_normal((128, 128), dtype=np.float32), rng.standard_normal((128, 128), dtype=np.float32)
    m64, n64 = rng.standard_normal((64, 64), dtype=np.float32), rng.standard_normal((64, 64), dtype=np.float32)

    def cases(lib, tensor):
        x16, y16 = tensor(a16), tensor(b16)
        x128, y128 = tensor(a128), tensor(b128)
        p64, q64 = tensor(m64), tensor(n64)
        x = tensor(a16)
        w = tensor(b16, requires_grad=True) if lib is not np else b16

        if lib is np:

            def step():
                # the same maths by hand: loss = sum(x * w); dloss/dw = x
                _ = np.sum(x * w)
                return x.copy()

        else:

            def step():
                loss = (x * w).sum()
                loss.backward()
                w.grad = None

        return {
            "add 16": lambda: x16 + y16,
            "add 128x128": lambda: x128 + y128,
            "matmul 64x64": lambda: p64 @ q64,
            "tiny step (x*w).sum().backward()": step,
        }

    libs = {
        "ember": cases(em, lambda a, requires_grad=False: em.tensor(a, requires_grad=requires_grad)),
        "torch": cases(torch, lambda a, requires_grad=False: torch.tensor(a, requires_grad=requires_grad)),
        "numpy": cases(np, lambda a, requires_grad=False: a.copy()),
    }
    results = []
    for name in libs["ember"]:
        times = {}
        # alternate the libraries so drifting machine load hits both alike
        for lib in ("ember", "torch", "numpy"):
            times[lib] = median_time(libs[lib][name], number, repeat) * 1e6
        results.append(
            {"workload": name, "ember_us": times["ember"], "torch_us": times["torch"], "numpy_us": times["numpy"]}
        )
    imp_e = _import_time("ember", 3 if quick else 7)
    imp_t = _import_time("torch", 3 if quick else 5)
    results.append({"workload": "import (s)", "ember_us": imp_e, "torch_us": imp_t, "numpy_us": float("nan")})
    return results


def main(argv=None) -> None:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    results = run(quick)
    rows = [
        [r["workload"], r["ember_us"], r["torch_us"], r["numpy_us"], r["ember_us"] / r["torch_us"]] for r in results
    ]
    print(
        "Per-call time in microseconds (import in seconds), medians; ratio = ember time / torch time (< 1: ember faster)"
    )
    print_table(["workload", "ember", "torch", "numpy", "ember/torch"], rows)


if __name__ == "__main__":
    main()
