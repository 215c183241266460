"""Where an xcorr's blocks run: this process, worker processes, or a Dask cluster.

An :class:`Engine` is an execution choice, not part of the statistical request: every
engine runs the same block function (:func:`tscorr.analysis.pairs.correlate_block`) on the
same aligned series, so ``p_peak`` and ``q_peak`` are equal and r agrees to rounding
whatever the engine. The driver keeps the planning, Benjamini-Hochberg over every pair, the
discoveries' second pass and the single write of the run; workers read their own series
from Parquet files of whole series (:mod:`tscorr.analysis.engine.partitions`) and hand back each
pair's peak row, or (a run that stores peaks) write them to Parquet files that the driver
ranks in DuckDB (:mod:`tscorr.analysis.peakfiles`). The run's record names the engine
(provenance only).

This module imports nothing heavy; :mod:`tscorr.analysis.engine.run` does the work.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from tscorr.choices import ENGINES
from tscorr.errors import BadInput, UnknownName


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Engine:
    """How an xcorr run is executed.

    ``kind``: ``local`` (this machine) or ``dask``. ``workers``: processes (local; default
    the machine's cores; 1 runs in this process) or the LocalCluster's workers (dask without
    a scheduler). ``scheduler``: a Dask scheduler's address (``tcp://host:8786``); None
    starts a LocalCluster. A task is one batch of series as one process reads them
    (:func:`tscorr.analysis.inputs.batches`): the same blocks, the same numbers."""

    kind: str = "local"
    workers: int | None = None
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ENGINES:
            raise UnknownName("engine", self.kind, ENGINES)
        if self.workers is not None and self.workers < 1:
            raise BadInput(f"--workers must be at least 1 (got {self.workers})")
        if self.scheduler is not None and self.kind != "dask":
            raise BadInput("--scheduler needs --engine dask")

    @property
    def count(self) -> int:
        """Worker processes (local), or LocalCluster workers (dask)."""
        return self.workers or cores()

    def spreads(self, tasks: int) -> bool:
        """Whether a run of ``tasks`` batches leaves this process: always on Dask; with more
        than one worker and more than one batch on the local engine (one batch runs faster
        here than a worker starts)."""
        if self.kind == "dask":
            return True
        return self.count > 1 and tasks > 1

    def record(self, spread: bool) -> dict[str, Any]:
        """The engine for ``runs.params.method.engine`` (provenance; no number depends on it)."""
        if not spread:
            return {"kind": "in-process", "workers": 1}
        return {
            "kind": self.kind,
            "workers": self.count if self.scheduler is None else None,
            "scheduler": self.scheduler,
        }
