"""The Dask engine: the run's batches as tasks on a Dask cluster (``--engine dask``).

The points live in a Parquet dataset of whole series (``tscorr partition DIR``); the
catalogue says which file holds each series. Each task is one batch of series as one
process cuts them (:func:`tscorr.analysis.inputs.batches`: the same blocks, the same
numbers), and reads the file (or the two) that hold them inside the worker. The event sets
and the request are scattered to every worker once; each task hands back its pairs' peak
rows, and the driver runs Benjamini-Hochberg and the single write of the run.

Worker settings tscorr imposes on a cluster it starts (a LocalCluster): one thread per
worker, BLAS and polars at one thread, and no ``MALLOC_TRIM_THRESHOLD_`` (the nanny's
default of 65536 turns off glibc's dynamic mmap threshold: every multi-MB temporary of the
kernel became a fresh mmap, and its CPU doubled). Workers of a cluster started elsewhere
keep their own environment; the run's record says what they ran with.

Dask is an optional dependency (``pip install 'tscorr[dask]'``), imported here only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tscorr.analysis.engine import Engine
from tscorr.analysis.engine.task import ONE_THREAD, Context, Done, Task, one_thread, run_task
from tscorr.analysis.inputs import Group, Plan, batches
from tscorr.analysis.pairs import BlockResult
from tscorr.errors import BadInput
from tscorr.store import Store

TRIM = "MALLOC_TRIM_THRESHOLD_"
_SET_UP = False  # this worker process holds BLAS at one thread already


def _work(task: Task, context: Context) -> Done:
    global _SET_UP
    if not _SET_UP:
        one_thread()
        _SET_UP = True
    done = run_task(task, context)
    done.stats["trim_set"] = float(TRIM in os.environ)
    return done


def worker_settings(_job: object = None) -> dict[str, Any]:
    """What a worker runs with: its BLAS threads, polars threads, and the malloc variable
    (``_job``: ignored, so that a pool can map it over jobs)."""
    import polars as pl
    from threadpoolctl import threadpool_info

    one_thread()
    return {
        "blas_threads": max((p["num_threads"] for p in threadpool_info()), default=1),
        "polars_threads": pl.thread_pool_size(),
        "malloc_trim": os.environ.get(TRIM),
    }


@contextmanager
def client_for(engine: Engine) -> Iterator[Any]:
    """A client of ``engine.scheduler``, or of a LocalCluster of ``engine.count`` workers
    started with tscorr's worker settings."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise BadInput(
            "--engine dask needs Dask: pip install 'tscorr[dask]' (dask[distributed])"
        ) from exc
    if engine.scheduler is not None:
        try:
            client = Client(engine.scheduler, timeout="20s")  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise BadInput(
                f"no Dask scheduler answers at {engine.scheduler} ({exc}); start one with "
                "'dask scheduler' or leave out --scheduler for a local cluster"
            ) from exc
        with client:
            yield client
        return
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop(TRIM, None)
    environ.update(ONE_THREAD)
    before = {k: os.environ.get(k) for k in environ}
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ": environ}),
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=engine.count,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,  # errors only: the run's notes say what matters
        ) as cluster,
    ):
        # the nanny puts its workers' settings in this process' environment as well: this
        # process' own kernels would then run on one thread, for as long as it lives
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        with Client(cluster) as client:  # type: ignore[no-untyped-call]
            yield client


def _tasks(tasks: list[Group], where: dict[int, str]) -> list[Task]:
    """One task per batch: the file (or files) holding its series, read in the worker."""
    return [
        Task(
            sorted({where[int(r["series_id"])] for r in g.rows}),
            [g],
            named=True,
        )
        for g in tasks
    ]


def run_dask(
    store: Store,
    plan: Plan,
    tasks: list[Group],
    context: Context,
    engine: Engine,
    tick: Callable[[int], None],
    stats: dict[str, Any],
) -> Iterator[tuple[Group, BlockResult]]:
    """Each batch's result, in the plan's order."""
    import time

    ids = [int(r["series_id"]) for g in tasks for r in g.rows]
    # series whose points live in a dataset of a load only (load --partitions) are read
    # there; the others from the latest dataset of tscorr partition
    homes = store.parquet_homes(ids)
    where = {
        int(i): str(Path(p) / f)
        for i, p, f in homes.select("series_id", "path", "file").iter_rows()
    }
    root = homes["path"][0] if homes.height else ""
    if len(where) < len(set(ids)):
        dataset, root = store.partition_set(of_points=True)
        files = store.partition_files(dataset, [i for i in ids if i not in where])
        for i, f in files.select("series_id", "file").iter_rows():
            where[int(i)] = str(Path(root) / f)
    missing = [r["name"] for g in tasks for r in g.rows if int(r["series_id"]) not in where]
    if missing:
        raise BadInput(
            f"series {missing[0]} is not in the Parquet partitions at {root} "
            f"({len(missing)} such, loaded after them?); write them again with "
            "'tscorr partition DIR'"
        )
    work = _tasks(tasks, where)
    t = time.perf_counter()
    with client_for(engine) as client:
        stats["start_s"] = time.perf_counter() - t
        workers = client.scheduler_info()["workers"]
        stats["workers"] = len(workers)
        lowest: int = min((int(w.get("memory_limit") or 0) for w in workers.values()), default=0)
        if 0 < lowest < context.chunk_memory:
            # blocks sized from the workers' memory: the batches one process would cut
            # under that limit (run xcorr with --memory-limit of it to compare bit for bit)
            tasks = batches(plan, lowest)
            work = _tasks(tasks, where)
            stats["batch_memory"] = lowest
        shared = client.scatter(context, broadcast=True)
        futures = [client.submit(_work, task, shared, pure=False) for task in work]
        done: list[dict[str, float]] = stats.setdefault("task_stats", [])
        sets = len(context.sets)
        try:
            for group, future in zip(tasks, futures, strict=True):
                got: Done = future.result()
                tick(sets * len(group.rows))
                done.append(got.stats)
                yield group, got.result
        finally:
            client.cancel(futures)
    stats["workers_with_malloc_trim"] = int(sum(s.get("trim_set", 0.0) for s in done))
