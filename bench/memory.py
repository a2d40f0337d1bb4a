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
    out = subprocess.run(
        [sys.executable, "-m", "bench.memory", lib, str(steps)], capture_output=True, text=True, check=True
    )
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
    print(_peak_rss_kib() / 1024)


def _peak_rss_kib() -> float:
    """This process's peak RSS. ``ru_maxrss`` would carry over the parent's peak across fork+exec
    (a Linux quirk), so read the high-water mark of this address space where the kernel gives it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    _main()
