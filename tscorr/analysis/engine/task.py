"""The work of one task, in a worker: read a Parquet file of whole series, align them as
the driver's plan says, run the block function, hand back each pair's peak row.

The same :func:`~tscorr.analysis.inputs.align_batch` and
:func:`~tscorr.analysis.pairs.correlate_block` as one process runs, so the numbers are the
same. A task's files hold whole series: the local engine's (row, ts_us, value) as the store
gave them, or a dataset's of ``tscorr partition`` (series, ts, value), sorted by series then
time (``ts_us``: microseconds since 1970 UTC).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from tscorr.analysis.inputs import Group, Plan, align_batch, by_row, read_named
from tscorr.analysis.pairs import BlockResult, correlate_block
from tscorr.analysis.request import XcorrParams

# what a worker runs with, whatever its environment says: one thread for polars, BLAS,
# OpenMP and tscorr's own chunks (the workers are the parallelism)
ONE_THREAD = {
    "POLARS_MAX_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TSCORR_THREADS": "1",
}


@dataclass(frozen=True)
class Context:
    """What every task of a run needs, sent to each worker once: the event sets, the
    request, the plan's alignment settings (no groups) and the driver's memory limit."""

    sets: dict[str, pl.DataFrame]
    params: XcorrParams
    keep_all: bool
    plan: Plan  # requested bucket, transform, season, made series; groups left empty
    chunk_memory: int  # the driver's: the kernels' chunks of rows are the same as in one process
    # a folder the driver reads: each task writes its pairs there (peakfiles) and hands back
    # the files' names, not the pairs (None: the pairs come back)
    peak_dir: str | None = None


@dataclass(frozen=True)
class Task:
    """Files and the series of them to analyse, by the grid each is aligned on.

    ``named``: the files are a dataset's of ``tscorr partition`` (series by name, ts as a
    timestamp), not the run's own (row, ts_us) of one group."""

    paths: list[str]
    groups: list[Group]
    delete: bool = False  # the files were made for this run only
    named: bool = False


@dataclass
class Done:
    """A task's peak rows and what it cost (seconds, the worker's CPU and peak memory)."""

    result: BlockResult
    stats: dict[str, float] = field(default_factory=dict)


def one_thread() -> None:
    """Hold BLAS and OpenMP at one thread in this process (environment variables only
    reach a library before it starts its pool)."""
    from threadpoolctl import threadpool_limits

    os.environ.update(ONE_THREAD)
    threadpool_limits(limits=1)


def run_task(task: Task, context: Context) -> Done:
    """Read ``task.path``, align each group's series, correlate them with every event set."""
    wall, cpu = time.perf_counter(), time.process_time()
    frame, key = _read(task)
    if task.delete:
        for path in task.paths:
            os.unlink(path)
    stats = {"read_s": time.perf_counter() - wall, "align_s": 0.0, "kernel_s": 0.0}
    out = BlockResult()
    for group in task.groups:  # each one batch, as one process cuts them
        t = time.perf_counter()
        if key == "row":  # the run's own file: this group's points, as the store gave them
            points = frame
        else:
            names = [r["name"] for r in group.rows]
            points = by_row(frame, names)
        block = align_batch(points, group.rows, group.grid, context.plan)
        del points
        stats["align_s"] += time.perf_counter() - t
        t = time.perf_counter()
        got = correlate_block(
            block, context.sets, context.params, context.keep_all, context.chunk_memory
        )
        stats["kernel_s"] += time.perf_counter() - t
        if context.peak_dir is not None and got.parts:
            from tscorr.analysis.peakfiles import write_peaks

            out.files.append(write_peaks(got.parts, context.peak_dir))
        else:
            out.parts += got.parts
        out.nulls += got.nulls
        out.notes += got.notes
        del block
    stats["cpu_s"] = time.process_time() - cpu
    stats["wall_s"] = time.perf_counter() - wall
    stats["peak_mib"] = peak_mib()
    return Done(out, stats)


def _read(task: Task) -> tuple[pl.DataFrame, str]:
    """The task's points as (row or series, ts_us, value), and which of the two."""
    if not task.named:
        return pl.read_parquet(task.paths, columns=["row", "ts_us", "value"]), "row"
    names = [r["name"] for g in task.groups for r in g.rows]
    frame = read_named(task.paths, names)
    return frame, "series"


def peak_mib() -> float:
    """This process' peak resident memory (MiB): VmHWM, its own high-water mark."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def describe(stats: list[dict[str, float]]) -> dict[str, Any]:
    """The tasks' costs summed (seconds) and the largest worker peak (MiB)."""
    keys = ("read_s", "align_s", "kernel_s", "cpu_s")
    total = {k: round(sum(s.get(k, 0.0) for s in stats), 3) for k in keys}
    peak = max((s.get("peak_mib", 0.0) for s in stats), default=0.0)
    return {**total, "tasks": len(stats), "worker_peak_mib": round(peak, 1)}
