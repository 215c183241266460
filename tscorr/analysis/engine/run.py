"""The driver's side of an engine: tasks out, each pair's peak row back, in the plan's order.

Planning, Benjamini-Hochberg over every pair, the discoveries' second pass and the single
write of the run stay with the caller (:func:`tscorr.analysis.correlate.run_xcorr`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from typing import Any

import polars as pl

from tscorr.analysis.engine import Engine
from tscorr.analysis.engine.task import Context, describe
from tscorr.analysis.inputs import Group, Plan
from tscorr.analysis.pairs import BlockResult
from tscorr.analysis.request import XcorrParams
from tscorr.store import Store


def map_blocks(
    store: Store,
    plan: Plan,
    tasks: list[Group],
    sets: dict[str, pl.DataFrame],
    params: XcorrParams,
    keep_all: bool,
    engine: Engine,
    tick: Callable[[int], None],
    stats: dict[str, Any],
    peak_dir: str | None = None,
) -> Iterator[BlockResult]:
    """Every batch ``tasks`` of ``plan`` correlated with every event set on ``engine``'s workers;
    ``stats`` receives what it cost (seconds by phase, the workers' peak memory).
    ``peak_dir``: the tasks write their pairs into this folder and hand back the files
    (:mod:`tscorr.analysis.peakfiles`)."""
    started = time.perf_counter()
    skeleton = dataclasses.replace(plan, groups=[], notes=[])
    memory = store.memory_limit or 2**33
    context = Context(sets, params, keep_all, skeleton, memory, peak_dir)
    if engine.kind == "dask":
        from tscorr.analysis.engine.dask import run_dask

        results = run_dask(store, plan, tasks, context, engine, tick, stats)
    else:
        from tscorr.analysis.engine.local import run_local

        results = run_local(store, plan, tasks, context, engine, tick, stats)
    for _, got in results:
        yield got
    stats.update(describe(stats.pop("task_stats", [])))
    stats["engine_s"] = round(time.perf_counter() - started, 3)
    for key in ("write_s", "start_s"):
        if key in stats:
            stats[key] = round(stats[key], 3)
