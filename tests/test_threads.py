"""ember._threads: parts of an op on worker threads with single-threaded BLAS."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from ember import _threads


@pytest.fixture
def blas():
    """``(set_threads, get_threads, shutdown)`` of NumPy's OpenBLAS; its thread count is restored afterwards."""
    found = _threads._openblas()
    if found is None:
        pytest.skip("ember cannot set NumPy's BLAS thread count")
    before = found[1]()
    yield found
    found[0](before)


def test_results_in_order_and_equal_to_running_in_turn(monkeypatch):
    monkeypatch.setattr(_threads, "workers", lambda: 3)
    rng = np.random.default_rng(0)
    mats = [rng.standard_normal((64, 64)) for _ in range(4)]
    parts = [(a, b) for a, b in zip(mats, mats[1:])]
    got = _threads.run_parts(lambda a, b: a @ b, parts)
    for (a, b), r in zip(parts, got):
        np.testing.assert_array_equal(r, a @ b)


def test_parts_run_on_several_threads_when_blas_allows():
    if _threads._openblas() is None:
        pytest.skip("NumPy's BLAS has no per-thread thread count (not OpenBLAS 0.3.27+)")
    barrier = threading.Barrier(2, timeout=10)
    names = _threads.run_parts(lambda: (barrier.wait(), threading.current_thread().name)[1], [(), ()])
    # both parts waited for each other, so they ran at the same time: the caller and one worker
    assert names[0] == threading.current_thread().name
    assert names[1].startswith("ember-worker")


def test_blas_runs_one_thread_during_the_parts_and_its_count_is_restored(blas):
    setter, getter = blas[:2]
    setter(2)  # OpenBLAS's count is process-wide: a worker setting it must not leave it changed
    seen = _threads.run_parts(lambda: getter(), [(), (), ()])
    assert seen == [1, 1, 1]
    assert getter() == 2
    with pytest.raises(ValueError):
        _threads.run_parts(lambda i: (_ for _ in ()).throw(ValueError("boom")) if i else None, [(0,), (1,)])
    assert getter() == 2  # restored after a failing part too


@pytest.mark.parametrize("failing", [0, 1])  # the caller's own part, a worker's part
def test_an_error_in_any_part_is_raised_after_all_parts_finish(failing):
    if _threads._openblas() is None:
        pytest.skip("parts run in turn without per-thread BLAS")
    finished = []

    def part(i):
        if i == failing:
            raise ValueError(f"part {i} failed")
        threading.Event().wait(0.05)
        finished.append(i)

    with pytest.raises(ValueError, match=f"part {failing} failed"):
        _threads.run_parts(part, [(0,), (1,)])
    assert finished == [1 - failing]


def test_ember_num_threads_caps_the_workers(monkeypatch):
    if _threads._openblas() is None:
        assert _threads.workers() == 1
        return
    monkeypatch.setenv("EMBER_NUM_THREADS", "1")
    assert _threads.workers() == 1
    monkeypatch.delenv("EMBER_NUM_THREADS")
    assert _threads.workers() == min(_threads._openblas()[1](), _threads._CPUS)


def test_one_part_runs_in_the_caller():
    assert _threads.run_parts(lambda: threading.current_thread().name, [()]) == [threading.current_thread().name]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork")
def test_a_forked_child_makes_its_own_workers():
    import os

    if _threads._openblas() is None:
        pytest.skip("parts run in turn without per-thread BLAS")
    _threads.run_parts(lambda: None, [(), ()])  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # the child: its parts must run (an inherited pool has no threads and would hang)
        try:
            ok = _threads.run_parts(lambda i: i * 2, [(1,), (2,)]) == [2, 4]
        finally:
            os._exit(0 if ok else 1)
    import signal
    import time

    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child's parts never ran")
        time.sleep(0.01)
    assert os.WEXITSTATUS(status) == 0


def test_openblas_threads_are_stopped_only_when_no_other_thread_could_be_in_blas(blas, monkeypatch):
    setter, getter, shutdown = blas
    if shutdown is None:
        pytest.skip("this OpenBLAS exports no blas_thread_shutdown_")
    calls = []
    monkeypatch.setitem(_threads._state, "blas", (setter, getter, lambda: calls.append(1) or shutdown()))
    setter(2)
    a = np.random.default_rng(0).standard_normal((300, 300))
    if _threads._alone():
        _threads.run_parts(lambda m: m @ m, [(a,), (a,)])
        assert calls == [1]
    calls.clear()
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)  # another Python thread: it might be inside BLAS
    other.start()
    try:
        _threads.run_parts(lambda m: m @ m, [(a,), (a,)])
    finally:
        stop.set()
        other.join()
    assert calls == []
    np.testing.assert_allclose(a @ a, np.einsum("ij,jk->ik", a, a), rtol=1e-10, atol=1e-10)  # BLAS restarts
    assert getter() == 2


def test_the_thread_count_ember_writes_is_the_one_openblas_reads(blas):
    setter, getter = blas[:2]
    for n in (1, 3, 2):
        setter(n)
        assert getter() == n  # OpenBLAS reads the count ember wrote
    a = np.random.default_rng(1).standard_normal((400, 400))
    np.testing.assert_allclose(a @ a, np.einsum("ij,jk->ik", a, a), rtol=1e-10, atol=1e-10)


def test_a_run_parts_inside_a_part_runs_its_parts_in_turn():
    if _threads._openblas() is None:
        pytest.skip("NumPy's BLAS has no per-thread thread count (not OpenBLAS 0.3.27+)")
    seen = []

    def inner(tag):
        seen.append((tag, threading.current_thread().name))

    def outer(tag):
        _threads.run_parts(inner, [(tag + "a",), (tag + "b",)])
        return tag

    assert _threads.run_parts(outer, [("x",), ("y",)]) == ["x", "y"]
    # each inner pair ran on the thread of the part that asked for it, not on another worker
    by_tag = dict(seen)
    assert by_tag["xa"] == by_tag["xb"] and by_tag["ya"] == by_tag["yb"]
    assert sorted(by_tag) == ["xa", "xb", "ya", "yb"]
