"""The reference CNN's layers, ember against PyTorch: conv2d, max_pool2d and cross_entropy.

Run: ``python bench/conv.py [--quick] [--unpinned]`` (or ``python -m bench.conv``). Prints
milliseconds per call (medians of repeated timings, both libraries in this
process in alternating rounds, PyTorch on 2 threads) and speed = torch time / ember time (above 1:
ember is faster). "forward" is a training forward (parameters require grad);
"fwd+bwd" adds ``backward`` with a fixed output gradient. A row whose ember op
does not exist yet prints n/a.

Shapes are those of the reference MNIST CNN (batch 64): conv 1->32 3x3 pad 1
on 28x28 (its input is data, so no input gradient), conv 32->64 3x3 pad 1 on
14x14, 2x2 max-pooling of both conv outputs (taken from the conv itself, so
each library pools its own output layout), cross-entropy of 64x10 logits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

try:
    from ._timing import compare, print_table
except ImportError:  # run as a script: bench/ is on sys.path
    from _timing import compare, print_table


def _cases(lib: str, rng: np.random.Generator) -> dict:
    """name -> (forward, forward+backward) closures for one library; None where the op is missing."""
    if lib == "torch":
        import torch
        import torch.nn.functional as F

        def tensor(a, requires_grad=False):
            return torch.tensor(a, requires_grad=requires_grad)

        def detached(t):
            return t.detach().requires_grad_()

        conv2d, max_pool2d, cross_entropy = F.conv2d, F.max_pool2d, F.cross_entropy
    else:
        import ember as em
        import ember.nn.functional as F

        def tensor(a, requires_grad=False):
            return em.tensor(a, requires_grad=requires_grad)

        def detached(t):
            return t.detach().requires_grad_()

        conv2d = F.conv2d
        max_pool2d = getattr(F, "max_pool2d", None)
        cross_entropy = getattr(F, "cross_entropy", None)

    def pair(forward, params, out_shape):
        grad = tensor(rng.standard_normal(out_shape).astype(np.float32)) if out_shape else None

        def fwd_bwd():
            out = forward()
            out.backward(grad)
            for p in params:
                p.grad = None

        return forward, fwd_bwd

    cases = {}
    conv_outputs = {}
    for name, (n, c, hw, o, input_grad) in {
        "conv2d 64x1x28x28 -> 32, 3x3 pad 1": (64, 1, 28, 32, False),
        "conv2d 64x32x14x14 -> 64, 3x3 pad 1": (64, 32, 14, 64, True),
    }.items():
        x = tensor(rng.standard_normal((n, c, hw, hw)).astype(np.float32), input_grad)
        w = tensor((rng.standard_normal((o, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32), True)
        b = tensor(rng.standard_normal(o).astype(np.float32) * 0.1, True)
        cases[name] = pair(lambda x=x, w=w, b=b: conv2d(x, w, b, padding=1), [x, w, b], (n, o, hw, hw))
        conv_outputs[hw] = conv2d(x, w, b, padding=1)
    for hw, label in ((28, "64x32x28x28"), (14, "64x64x14x14")):
        name = f"max_pool2d 2x2 {label}"
        if max_pool2d is None:
            cases[name] = None
            continue
        y = detached(conv_outputs[hw])
        n, c = y.shape[:2]
        cases[name] = pair(lambda y=y: max_pool2d(y, 2), [y], (n, c, hw // 2, hw // 2))
    name = "cross_entropy 64x10, int64 targets"
    if cross_entropy is None:
        cases[name] = None
    else:
        logits = tensor(rng.standard_normal((64, 10)).astype(np.float32), True)
        target = tensor(rng.integers(0, 10, 64).astype(np.int64))
        cases[name] = pair(lambda: cross_entropy(logits, target), [logits], None)
    return cases


def run(quick: bool = False) -> list[dict]:
    """Time every row; returns dicts with ``row``, ``ember_ms``, ``torch_ms``, ``speed`` (None for n/a)."""
    import torch

    torch.set_num_threads(2)
    number, repeat = (5, 3) if quick else (20, 7)
    ember_cases = _cases("ember", np.random.default_rng(0))
    torch_cases = _cases("torch", np.random.default_rng(0))
    results = []
    for name, torch_pair in torch_cases.items():
        ember_pair = ember_cases[name]
        for i, kind in enumerate(("forward", "fwd+bwd")):
            row = f"{name} {kind}"
            if ember_pair is None:
                results.append({"row": row, "ember_ms": None, "torch_ms": None, "speed": None})
                continue
            # alternating rounds (ember's, then PyTorch's, ``repeat`` times): drifting load hits both
            fns = {"ember": ember_pair[i], "torch": torch_pair[i]}
            timed = compare(lambda lib, fns=fns: (fns[lib], 1), number, repeat, warmup=3)
            ember_ms, torch_ms = timed["ember"][0] * 1e3, timed["torch"][0] * 1e3
            results.append({"row": row, "ember_ms": ember_ms, "torch_ms": torch_ms, "speed": torch_ms / ember_ms})
    return results


def _print(results: list[dict]) -> None:
    rows = [
        [r["row"]] + (["n/a"] * 3 if r["speed"] is None else [r["ember_ms"], r["torch_ms"], r["speed"]])
        for r in results
    ]
    print_table(["row", "ember ms", "torch ms", "speed"], rows)


def main(argv=None) -> None:
    """Print the table; ``--unpinned`` adds a labelled second run with NumPy's BLAS free to use AVX-512."""
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    if "--json" in argv:  # the child process of --unpinned
        print(json.dumps(run(quick)))
        return
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    print(f"ms per call (median); speed = torch time / ember time (> 1: ember faster); OPENBLAS_CORETYPE={pinned}")
    _print(run(quick))
    if "--unpinned" in argv:
        env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        args = [sys.executable, os.path.abspath(__file__), "--json"] + (["--quick"] if quick else [])
        out = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
        print("\nsecond run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (OpenBLAS picks its AVX-512 kernels):")
        _print(json.loads(out.strip().splitlines()[-1]))


if __name__ == "__main__":
    main()
