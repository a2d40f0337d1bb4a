"""Worker threads for ops that split their work into independent parts (each part single-threaded BLAS).

A convolution done in chunks calls BLAS on small products with Numba
transforms between them. Run in the caller's thread, each small product wakes
OpenBLAS's thread pool (tens of microseconds) and the transforms use one
core. ``run_parts`` instead hands each part to a worker thread whose BLAS calls
are single-threaded (OpenBLAS's ``openblas_set_num_threads_local``), so the
parts run side by side on as many cores as BLAS would have used, with no
pool waking between calls. The kernels release the GIL (``nogil=True``), as
NumPy's products do.

Workers are used only where that per-thread BLAS setting exists (NumPy's
bundled OpenBLAS 0.3.27+); otherwise, with ``EMBER_NUM_THREADS=1``, or where
BLAS itself runs one thread, ``run_parts`` runs the parts in the caller's
thread, one after another. The worker count is BLAS's own thread count
(``OPENBLAS_NUM_THREADS``), so ember never runs more threads than the user
allowed BLAS; ``EMBER_NUM_THREADS`` caps it.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
import threading

_lock = threading.Lock()
_CPUS = os.cpu_count() or 1
_state: dict = {}  # "blas": (set_local, get_threads) or None; "pool": ThreadPoolExecutor; "size": its workers


def _openblas():
    """``(openblas_set_num_threads_local, get_num_threads)`` of the OpenBLAS NumPy loaded, or None."""
    if "blas" in _state:
        return _state["blas"]
    found = None
    try:
        import numpy  # noqa: F401  (loads its BLAS)

        with open("/proc/self/maps") as maps:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", maps.read())))
        for path in paths:
            lib = ctypes.CDLL(path)
            local = getattr(lib, "openblas_set_num_threads_local", None)
            get = None
            for name in (
                "scipy_openblas_get_num_threads64_",
                "scipy_openblas_get_num_threads",
                "openblas_get_num_threads",
            ):
                get = getattr(lib, name, None)
                if get is not None:
                    break
            if local is not None and get is not None:
                local.argtypes, local.restype = [ctypes.c_int], ctypes.c_int
                get.argtypes, get.restype = [], ctypes.c_int
                found = (local, get)
                break
    except (OSError, ValueError):  # no /proc (not Linux) or an unloadable library
        found = None
    _state["blas"] = found
    return found


def workers() -> int:
    """How many parts ``run_parts`` runs at once: BLAS's thread count, or 1 (see the module docstring)."""
    if not sys.platform.startswith("linux"):
        return 1
    blas = _openblas()
    if blas is None:
        return 1
    count = max(1, int(blas[1]()))
    cap = os.environ.get("EMBER_NUM_THREADS")
    if cap is not None and cap.strip().isdigit():
        count = min(count, max(1, int(cap)))
    return min(count, _CPUS)


def _pool(size: int):
    with _lock:
        pool = _state.get("pool")
        # a forked child inherits the pool object but not its threads: it makes its own
        if pool is None or _state["size"] < size or _state["pid"] != os.getpid():
            from concurrent.futures import ThreadPoolExecutor

            local = _state["blas"][0]
            pool = ThreadPoolExecutor(size, thread_name_prefix="ember-worker", initializer=lambda: local(1))
            _state["pool"], _state["size"], _state["pid"] = pool, size, os.getpid()
        return pool


def run_parts(fn, parts: list) -> list:
    """``[fn(*p) for p in parts]``, on the worker threads when there are several parts and workers."""
    if len(parts) < 2 or _openblas() is None or threading.current_thread().name.startswith("ember-worker"):
        return [fn(*p) for p in parts]
    pool = _pool(len(parts) - 1)
    futures = [pool.submit(fn, *p) for p in parts[1:]]
    try:
        first = _run_local(fn, parts[0])  # the caller works too, on single-threaded BLAS like the others
    finally:
        rest = [f.exception() for f in futures]  # wait for every part before the caller's buffers go
    for error in rest:
        if error is not None:
            raise error
    return [first] + [f.result() for f in futures]


def _run_local(fn, part):
    local = _state["blas"][0]
    previous = local(1)
    try:
        return fn(*part)
    finally:
        local(previous)
