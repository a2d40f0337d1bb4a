"""ember's benchmark suite against PyTorch: ``python -m bench [--quick] [WORKLOAD ...]``.

Every workload runs ember and PyTorch in this one process, alternating, after
warm-up, as the median of at least 5 repeats of at least 20 steps, with 2
threads for both (BLAS and PyTorch). Prints one table (samples/s and the ratio
ember/PyTorch: above 1 means ember is faster) and writes it, with the machine's
CPU, BLAS and library versions, to ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time

from ._timing import compare, print_table

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "latest.json")


def _train_rows():
    from . import workloads

    rows = {
        "mlp": (workloads.make_mlp_train, "train step, 784-512-512-10 MLP, batch 128"),
        "cnn": (workloads.make_cnn_train, "train step, 2-conv CNN on 1x28x28, batch 64"),
    }
    for module, names in (("bench.recurrent", ("lstm", "gru", "bilstm")), ("bench.transformer", ("transformer",))):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        for name in names:
            make = getattr(mod, f"make_{name}_train", None)
            if make is not None:
                rows[name] = (make, getattr(mod, "DESCRIPTIONS", {}).get(name, f"train step, {name}"))
    return rows


def _infer_rows():
    from . import workloads

    return {
        "mlp-infer": (lambda lib: workloads.make_mlp_infer(lib, 128), "inference, MLP, batch 128"),
        "cnn-infer": (lambda lib: workloads.make_cnn_infer(lib, 128), "inference, CNN, batch 128"),
        "mlp-latency": (lambda lib: workloads.make_mlp_infer(lib, 1), "inference, MLP, batch 1"),
        "cnn-latency": (lambda lib: workloads.make_cnn_infer(lib, 1), "inference, CNN, batch 1"),
    }


def _machine() -> dict:
    import numpy as np

    info = {"python": sys.version.split()[0], "platform": platform.platform(), "numpy": np.__version__}
    try:
        with open("/proc/cpuinfo") as f:
            models = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        info["cpu"] = f"{models[0]} x{len(models)}" if models else platform.processor()
    except OSError:
        info["cpu"] = platform.processor()
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name')} {blas.get('version')}"
    except (AttributeError, KeyError, TypeError):
        pass
    for name in ("numba", "torch"):
        try:
            info[name] = importlib.import_module(name).__version__
        except ImportError:
            pass
    info["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE", "")
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            {k: p.get(k) for k in ("internal_api", "num_threads", "architecture")} for p in threadpool_info()
        ]
    except ImportError:
        pass
    return info


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="ember against PyTorch, same machine, same run"
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats: a check in under two minutes")
    parser.add_argument("workloads", nargs="*", help="a subset, e.g. mlp cnn overhead")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(2)
    number, repeat = (20, 5) if args.quick else (30, 7)
    registry = {**_train_rows(), **_infer_rows()}
    extra = ["overhead", "memory"]
    wanted = args.workloads or [*registry, *extra]
    unknown = [w for w in wanted if w not in registry and w not in extra]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {[*registry, *extra]}")

    rows, records = [], []
    started = time.time()
    for name in wanted:
        if name not in registry:
            continue
        make, description = registry[name]
        latency = "latency" in name
        result = compare(make, number * (5 if latency else 1), repeat)
        (te, n), (tt, _) = result["ember"], result["torch"]
        records.append(
            {
                "workload": name,
                "description": description,
                "ember_samples_per_s": n / te,
                "torch_samples_per_s": n / tt,
                "ratio": tt / te,
            }
        )
        rows.append([name, n / te, n / tt, tt / te])
        print(f"  {name}: ember {n / te:.0f}/s, torch {n / tt:.0f}/s, ratio {tt / te:.2f}", file=sys.stderr)
    if "overhead" in wanted:
        from . import overhead

        for r in overhead.run(args.quick):
            unit = "s" if r["workload"].startswith("import") else "us"
            label = r["workload"] if unit == "s" else f"{r['workload']} (us/call)"
            records.append(
                {
                    "workload": label,
                    "ember": r["ember_us"],
                    "torch": r["torch_us"],
                    "ratio": r["torch_us"] / r["ember_us"],
                }
            )
            rows.append([label, r["ember_us"], r["torch_us"], r["torch_us"] / r["ember_us"]])
    if "memory" in wanted:
        from .memory import peak_rss_mib

        me, mt = peak_rss_mib("ember"), peak_rss_mib("torch")
        records.append({"workload": "peak RSS MiB, cnn 50 steps", "ember": me, "torch": mt, "ratio": mt / me})
        rows.append(["peak RSS MiB, cnn 50 steps", me, mt, mt / me])

    print("\nember vs PyTorch (samples/s for workloads; time or MiB where named). ratio: above 1 = ember better")
    print_table(["workload", "ember", "torch", "ratio"], rows)
    machine = _machine()
    print(
        f"\n{machine.get('cpu')}; numpy {machine.get('numpy')} ({machine.get('blas', '?')}); torch {machine.get('torch')}; {time.time() - started:.0f} s"
    )
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump({"machine": machine, "quick": args.quick, "results": records}, f, indent=2)


if __name__ == "__main__":
    main()
