"""Rows of a matrix worked on in chunks, on every core.

numpy's sorting, filtering and FFTs release the GIL, so threads over chunks of rows use
every core without copying the arrays to other processes. Inside that parallel section BLAS
(and any OpenMP pool) runs one thread, whatever the environment says: its own pool of one
thread per core under each of our threads only spins against them (measured on the
2,000 x 10 run: 2.5-4.2x slower in wall time, 13-22 CPU-s of spin for 5 of work).

The threads and the BLAS controller are made once per process and kept: a run calls this
once per event set and block (10^5 times at 10^7 pairs), and a fresh pool and a fresh scan
of the loaded libraries each time cost about 10 ms (12 of 98 CPU-s of a 1,000,000-pair run).
``TSCORR_THREADS`` caps the threads (an engine's workers run with 1: the workers are the
parallelism).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}  # pid -> this process' pool and BLAS controller


def threads() -> int:
    """The threads a kernel may use: ``TSCORR_THREADS`` if set, else this process' cores."""
    asked = os.environ.get("TSCORR_THREADS", "").strip()
    if asked.isdigit() and int(asked) > 0:
        return int(asked)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _shared(width: int) -> tuple[ThreadPoolExecutor, Any]:
    """This process' pool of ``width`` threads and its BLAS controller (a forked child makes
    its own: threads do not survive a fork)."""
    with _LOCK:
        key = (os.getpid(), width)
        if _STATE.get("key") != key:
            from threadpoolctl import ThreadpoolController

            _STATE["key"] = key
            if "pool" in _STATE and _STATE.get("pid") == os.getpid():
                _STATE["pool"].shutdown(wait=False)  # another width: its threads end
            _STATE["pool"] = ThreadPoolExecutor(max_workers=width, thread_name_prefix="tscorr")
            if "controller" not in _STATE or _STATE.get("pid") != os.getpid():
                _STATE["controller"] = ThreadpoolController()
                _STATE["pid"] = os.getpid()
        return _STATE["pool"], _STATE["controller"]


def on_cores(work: Callable[[int], T], rows: int, chunk_rows: int) -> list[T]:
    """``work(lo)`` for each chunk of ``chunk_rows`` rows starting at lo, on every core
    (sorting, filtering and FFTs release the GIL); results in row order."""
    starts = list(range(0, rows, max(1, chunk_rows)))
    width = min(len(starts), threads())
    if width < 2 or threading.current_thread().name.startswith("tscorr"):  # nested: here
        return [work(lo) for lo in starts]
    pool, controller = _shared(threads())
    with controller.limit(limits=1):
        return list(pool.map(work, starts))
