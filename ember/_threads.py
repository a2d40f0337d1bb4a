"""Worker threads for ops that split their work into independent parts, BLAS single-threaded meanwhile.

A convolution done in chunks calls BLAS on small products with Numba
transforms between them. Run in the caller's thread, each small product wakes
OpenBLAS's thread pool and the transforms use one core. ``run_parts`` instead
runs the parts side by side, the caller taking the first and worker threads
the rest, with OpenBLAS set to one thread while they run (then set back), so
that the parts use the cores BLAS would have used and nothing runs two thread
pools at once. The kernels release the GIL (``nogil=True``), as NumPy's
products do.

OpenBLAS's thread count is process-wide (its ``openblas_set_num_threads_local``
too, in the pthreads build NumPy ships: setting it in one thread changed every
thread's), so the first ``run_parts`` to start sets it to one and the last to
finish restores it, under a lock. A BLAS call another thread makes meanwhile
runs single-threaded.

After a multi-threaded call, OpenBLAS's own worker threads spin waiting for
more work for a long while (``OPENBLAS_THREAD_TIMEOUT``, by default about 2^28
cycles), and a part running beside a spinning thread got half a core: the
reference CNN's 32->64 convolution took 11 ms in a training step against 7.8
alone. So the first ``run_parts`` in also shuts OpenBLAS's threads down
(``blas_thread_shutdown_``, as OpenBLAS itself does before a fork; its next
multi-threaded call starts them again, about 0.1 ms), but only when no other
Python thread exists that could be inside OpenBLAS at that moment.

A ``run_parts`` made while another is running (from one of its parts, or from
another thread) runs its parts in turn on its own thread: the workers are busy.

Workers are used only where ember can set OpenBLAS's thread count (NumPy's
bundled OpenBLAS); otherwise, with ``EMBER_NUM_THREADS=1``, or where BLAS runs
one thread, ``run_parts`` runs the parts in the caller's thread, one after
another. The worker count is BLAS's own thread count (``OPENBLAS_NUM_THREADS``),
so ember never runs more threads than the user allowed BLAS;
``EMBER_NUM_THREADS`` caps it.
"""

from __future__ import annotations

import ctypes
import os
import re
import threading

_lock = threading.Lock()
_CPUS = os.cpu_count() or 1
# "blas": (set_threads, get_threads, shutdown or None) or None; "pool", "size", "pid": the worker pool;
# "active": run_parts calls in progress; "saved": BLAS's thread count before the first of them
_state: dict = {"active": 0, "saved": None}

_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads")


def _openblas():
    """``(set_threads, get_threads, blas_thread_shutdown_ or None)`` of the OpenBLAS NumPy loaded, or None.

    Found through ``/proc/self/maps``: elsewhere than Linux (or with another BLAS) it is None.
    """
    if "blas" in _state:
        return _state["blas"]
    found = None
    try:
        import numpy  # noqa: F401  (loads its BLAS)

        with open("/proc/self/maps") as maps:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", maps.read())))
        for path in paths:
            lib = ctypes.CDLL(path)
            setter = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
            getter = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
            if setter is not None and getter is not None:
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                found = (_direct_setter(lib) or setter, getter, getattr(lib, "blas_thread_shutdown_", None))
                break
    except (OSError, ValueError):  # no /proc (not Linux) or an unloadable library
        found = None
    _state["blas"] = found
    return found


def _direct_setter(lib):
    """A setter that writes OpenBLAS's ``blas_cpu_number`` (the count each call reads), or None.

    ``openblas_set_num_threads`` also starts OpenBLAS's thread server if it is down (20 us, and
    the next shutdown then costs 50 us): with it, every ``run_parts`` paid 70 us of thread churn.
    Written directly, the count takes effect the same way, and the server starts on the next
    multi-threaded call, as after a fork.
    """
    try:
        count = ctypes.c_int.in_dll(lib, "blas_cpu_number")
    except ValueError:
        return None

    def set_count(n: int) -> None:
        count.value = int(n)

    return set_count


def workers() -> int:
    """How many parts ``run_parts`` runs at once: BLAS's thread count, or 1 (see the module docstring)."""
    blas = _openblas()
    if blas is None:
        return 1
    count = _state["saved"] if _state["active"] else blas[1]()  # inside run_parts BLAS reads 1
    count = max(1, int(count))
    cap = os.environ.get("EMBER_NUM_THREADS")
    if cap is not None and cap.strip().isdigit():
        count = min(count, max(1, int(cap)))
    return min(count, _CPUS)


def _pool(size: int):
    pool = _state.get("pool")
    # a forked child inherits the pool object but not its threads: it makes its own
    if pool is None or _state["size"] < size or _state["pid"] != os.getpid():
        from concurrent.futures import ThreadPoolExecutor

        if pool is not None and _state["pid"] == os.getpid():
            pool.shutdown(wait=False)  # a bigger pool replaces it: its idle threads exit
        pool = ThreadPoolExecutor(size, thread_name_prefix="ember-worker")
        _state["pool"], _state["size"], _state["pid"] = pool, size, os.getpid()
    return pool


def _alone() -> bool:
    """Whether no other Python thread could be inside OpenBLAS (ember's idle workers aside)."""
    me = threading.current_thread()
    return all(t is me or t.name.startswith("ember-worker") for t in threading.enumerate())


def _enter(size: int):
    """BLAS to one thread (the first caller in), and the pool."""
    setter, getter, shutdown = _state["blas"]
    with _lock:
        if _state["active"] == 0:
            _state["saved"] = getter()
            setter(1)
            if shutdown is not None and _state["saved"] > 1 and _alone():
                shutdown()
        _state["active"] += 1
        return _pool(size)


def _leave() -> None:
    setter = _state["blas"][0]
    with _lock:
        _state["active"] -= 1
        if _state["active"] == 0:
            setter(_state["saved"])
            _state["saved"] = None


def run_parts(fn, parts: list) -> list:
    """``[fn(*p) for p in parts]``, side by side on worker threads when there are several parts."""
    if (
        len(parts) < 2
        or _openblas() is None
        or _state["active"]  # inside another run_parts (a part of it, or another thread's): in turn
        or threading.current_thread().name.startswith("ember-worker")
    ):
        return [fn(*p) for p in parts]
    pool = _enter(len(parts) - 1)
    try:
        futures = [pool.submit(fn, *p) for p in parts[1:]]
        try:
            first = fn(*parts[0])  # the caller works too
        finally:
            errors = [f.exception() for f in futures]  # wait for every part before the caller's buffers go
    finally:
        _leave()
    for error in errors:
        if error is not None:
            raise error
    return [first] + [f.result() for f in futures]


def cuts(size: int, parts: int, step: int = 1, lead: float = 0.0) -> list:
    """Ranges for ``run_parts``: at most ``parts`` (one per ``step`` block) covering ``range(size)``,
    each boundary a multiple of ``step``; the first (the caller's part) larger by ``lead`` of the
    whole, since workers start later, and the others equal."""
    parts = max(1, min(parts, -(-size // step)))
    if parts == 1:
        return [(0, size)]
    blocks = -(-size // step)
    share = (1 - lead) / parts
    edges = [0] + [min(size, round(blocks * (lead + share * i)) * step) for i in range(1, parts)] + [size]
    return [(edges[i], edges[i + 1]) for i in range(parts)]
