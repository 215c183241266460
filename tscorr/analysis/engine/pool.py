"""Any picklable function over a list of jobs on an engine's workers: the work of a load
into Parquet partitions (:mod:`tscorr.ingest.partload`), which knows nothing of engines.

The workers are the same as an xcorr's: spawned processes of this machine with one thread
each (``local``), or a Dask cluster (``dask``: a LocalCluster with tscorr's worker settings,
or ``--scheduler``'s). One worker runs the jobs in this process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import Any, TypeVar

from tscorr.analysis.engine import Engine
from tscorr.analysis.engine.local import submit
from tscorr.analysis.engine.task import one_thread

T = TypeVar("T")
J = TypeVar("J")


def _start() -> None:
    one_thread()


class Pool:
    """``pool.map(fn, jobs)``: ``fn`` of each job on ``engine``'s workers, the results in
    the jobs' order; the first job's exception that fails is raised (the others are
    cancelled). The workers are started once and serve every map until the pool closes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._executor: ProcessPoolExecutor | None = None
        self._client: Any = None
        self._closing: Any = None

    @property
    def workers(self) -> int:
        if self._client is not None:
            return len(self._client.scheduler_info()["workers"])
        return self.engine.count if self.engine.kind == "dask" or self.engine.count > 1 else 1

    def __enter__(self) -> Pool:
        return self

    def _start_workers(self) -> None:
        """Start the workers at the first map (a load that reads no file starts none)."""
        if self.engine.kind == "dask" and self._client is None:
            from tscorr.analysis.engine.dask import client_for

            self._closing = client_for(self.engine)
            self._client = self._closing.__enter__()
        elif self.engine.kind == "local" and self.engine.count > 1 and self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.engine.count, mp_context=get_context("spawn"), initializer=_start
            )

    def __exit__(self, *exc: Any) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        if self._closing is not None:
            self._closing.__exit__(*exc)

    def map(self, fn: Callable[[J], T], jobs: Sequence[J]) -> list[T]:
        self._start_workers()
        if self._client is not None:
            futures = self._client.map(fn, list(jobs), pure=False)
            try:
                return list(self._client.gather(futures))
            finally:
                self._client.cancel(futures)
        if self._executor is not None:
            futures_ = [submit(self._executor, fn, job) for job in jobs]
            try:
                return [f.result() for f in futures_]
            finally:
                for f in futures_:
                    f.cancel()
                wait(futures_)  # the jobs still running end before the caller cleans up
        return [fn(job) for job in jobs]
