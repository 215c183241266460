"""The kernel's own threads and BLAS's do not fight: inside ``on_cores`` BLAS runs one
thread, whatever it was set to outside, and is given back its setting after."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from tscorr.analysis.kernels.cores import on_cores


def _blas_threads() -> list[int]:
    return [int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]


def test_blas_runs_one_thread_inside_the_kernels_parallel_section() -> None:
    if not _blas_threads():
        pytest.skip("numpy links no BLAS that threadpoolctl can see")
    a = np.random.default_rng(0).normal(size=(64, 64))
    with threadpool_limits(limits=2):  # as a 2-core machine's OpenBLAS starts
        outside = _blas_threads()
        seen = on_cores(lambda lo: (_blas_threads(), float((a @ a).sum())), 4, 1)
        after = _blas_threads()
    assert outside == after == [2] * len(outside)
    assert all(threads == [1] * len(outside) for threads, _ in seen), seen
    sums = {round(total, 6) for _, total in seen}
    assert len(sums) == 1  # the same product in every chunk


def test_tscorr_threads_caps_the_kernels_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """An engine's workers set TSCORR_THREADS=1: every chunk then runs on the calling
    thread (two workers of two threads each would put four threads on two cores)."""
    import threading

    monkeypatch.setenv("TSCORR_THREADS", "1")
    here = threading.get_ident()
    seen = on_cores(lambda lo: threading.get_ident(), 8, 1)
    assert seen == [here] * 8
    monkeypatch.setenv("TSCORR_THREADS", "2")
    seen = on_cores(lambda lo: threading.get_ident(), 8, 1)
    assert here not in seen and len(set(seen)) <= 2


def test_the_threads_are_made_once_and_nested_calls_do_not_wait_on_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pool is kept between calls (a run makes 10^5 of them); a chunk that calls
    ``on_cores`` again runs its inner chunks itself instead of waiting for a pool thread
    that is waiting for it."""
    import threading

    monkeypatch.setenv("TSCORR_THREADS", "2")
    from tscorr.analysis.kernels import cores

    ran = on_cores(lambda lo: threading.current_thread(), 4, 1)
    assert all(t.is_alive() for t in ran)  # kept for the next call, not shut down
    pool = cores._STATE["pool"]
    again = on_cores(lambda lo: threading.current_thread(), 4, 1)
    # the same pool, and its threads (a pool made a call would bring new ones each time)
    assert cores._STATE["pool"] is pool
    assert set(ran) | set(again) <= set(pool._threads) and len(pool._threads) <= 2

    def outer(lo: int) -> list[int]:
        return on_cores(lambda inner: lo + inner, 4, 1)

    assert on_cores(outer, 4, 1) == [[i + j for j in range(4)] for i in range(4)]
