"""glibc malloc settings that keep big NumPy temporaries on pages the process already has.

A training step makes and frees the same big arrays every step (activations,
their gradients, columns). glibc serves a block above its mmap threshold with
fresh pages from the kernel and returns freed memory at the top of the heap to
the kernel once more than the trim threshold lies free there; either way the
next step touches new pages, and each first touch of a 4 KiB page is a page
fault: about 4-9 us on the sandboxed machines ember is developed on. A 6.4 MB
gradient then cost 6-8 ms of faults for 0.5 ms of work, and the reference CNN
step took 45 ms instead of 25-31 ms.

``tune()`` (called once by ``import ember``) raises the mmap threshold to
glibc's maximum (32 MiB) and the trim threshold to 1 GiB, as
``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` would: freed memory
stays with the process for reuse, so its resident size stays near its peak.
It does nothing where the process already chose (either variable, or
``GLIBC_TUNABLES``, is set), where ``EMBER_MALLOC_TUNING=0``, or off glibc.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 1 << 30

tuned = False  # whether tune() changed the settings in this process


def tune() -> bool:
    """Apply the settings above once; returns whether they are in effect."""
    global tuned
    if tuned:
        return True
    if not sys.platform.startswith("linux") or os.environ.get("EMBER_MALLOC_TUNING", "1") == "0":
        return False
    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")):
        return False  # the process's own allocator settings win
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # the mmap threshold first: setting only the trim threshold would freeze glibc's adaptive one at 128 KiB
    if not mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD):
        return False
    mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    tuned = True
    return True
