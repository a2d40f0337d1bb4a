"""Peak memory (RSS) of a process that trains the reference CNN for 50 steps.

Run: ``python -m bench.memory ember`` or ``... torch``: prints the peak
resident set size in MiB. The suite runs both in fresh processes.
"""

from __future__ import annotations

import resource
import subprocess
import sys


def peak_rss_mib(lib: str, steps: int = 50) -> float:
    """Run the CNN training in a fresh process and return its peak RSS in MiB."""
    out = subprocess.run([sys.executable, "-m", "bench.memory", lib, str(steps)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _main() -> None:
    lib = sys.argv[1]
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    if lib == "torch":
        import torch

        torch.set_num_threads(2)
    from .workloads import make_cnn_train

    step, _ = make_cnn_train(lib)
    for _ in range(steps):
        step()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


if __name__ == "__main__":
    _main()
