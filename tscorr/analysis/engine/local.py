"""The local engine: the run's blocks on spawned worker processes of this machine.

The driver writes a Parquet file of whole series for each task (one batch of series as
one process would read them) while the workers analyse the
files written before; each worker reads its file, aligns and correlates it
(:func:`tscorr.analysis.engine.task.run_task`) and deletes it. Workers are started with ``spawn``
(a forked child of a process whose polars or DuckDB threads have run can hang) and run one
thread each. The event sets and the request reach each worker once, at its start.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

from tscorr.analysis.engine import Engine
from tscorr.analysis.engine.partitions import write_series
from tscorr.analysis.engine.task import ONE_THREAD, Context, Done, Task, one_thread, run_task
from tscorr.analysis.inputs import Group, Plan
from tscorr.analysis.pairs import BlockResult
from tscorr.store import Store

T = TypeVar("T")
_CONTEXT: Context | None = None  # a worker's run context, set at its start


def _start(context: Context) -> None:
    global _CONTEXT
    one_thread()
    _CONTEXT = context


def _work(task: Task) -> Done:
    assert _CONTEXT is not None
    return run_task(task, _CONTEXT)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` in os.environ while workers are spawned (they inherit it), then as before."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_local(
    store: Store,
    plan: Plan,
    tasks: list[Group],
    context: Context,
    engine: Engine,
    tick: Callable[[int], None],
    stats: dict[str, Any],
) -> Iterator[tuple[Group, BlockResult]]:
    """Each task's result, in the plan's order (group after group, series in order)."""
    workers = min(engine.count, len(tasks))
    sets = len(context.sets)
    stats.update(write_s=0.0, start_s=0.0, points=0)
    done: list[dict[str, float]] = stats.setdefault("task_stats", [])
    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tscorr-") as tmp:
        pool = ProcessPoolExecutor(
            workers, mp_context=get_context("spawn"), initializer=_start, initargs=(context,)
        )
        try:
            stats["start_s"] = time.perf_counter() - t
            pending: deque[tuple[Group, Future[Done]]] = deque()
            for i, group in enumerate(tasks):
                path = Path(tmp) / f"part-{i:06d}.parquet"
                t = time.perf_counter()
                ids = [int(r["series_id"]) for r in group.rows]
                stats["points"] += write_series(store, plan, ids, path)
                stats["write_s"] += time.perf_counter() - t
                pending.append((group, submit(pool, _work, Task([str(path)], [group], True))))
                while len(pending) > 2 * workers:  # a few files ahead of the workers
                    yield _collect(*pending.popleft(), tick, sets, done)
            while pending:
                yield _collect(*pending.popleft(), tick, sets, done)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    stats["workers"] = workers


def submit(pool: ProcessPoolExecutor, fn: Callable[..., T], *args: Any) -> Future[T]:
    """``pool.submit(fn, *args)`` with tscorr's worker settings in os.environ while it runs:
    a spawned worker starts at a submit and inherits them (polars reads its threads as it
    starts), and this process' own settings are back before it returns (never left changed
    while a run is under way, nor by a run abandoned half-way)."""
    with _environment(ONE_THREAD):
        return pool.submit(fn, *args)


def _collect(
    group: Group,
    future: Future[Done],
    tick: Callable[[int], None],
    sets: int,
    done: list[dict[str, float]],
) -> tuple[Group, BlockResult]:
    got = future.result()
    tick(sets * len(group.rows))
    done.append(got.stats)
    return group, got.result
