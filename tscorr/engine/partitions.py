"""Parquet files of whole series: what the workers read.

Each file holds (series_id, ts_us, value) of whole series, sorted by series then time
(``ts_us``: microseconds since 1970 UTC). The local engine writes one file per task from
the store while the workers analyse the files written before it; the points come out of
the store as :func:`~tscorr.analysis.inputs.batch_points` gives them to one process, so a
worker aligns exactly what the driver would have.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tscorr.analysis.inputs import Plan, batch_points
from tscorr.store import Store

COLUMNS = {"series_id": pl.Int64, "ts_us": pl.Int64, "value": pl.Float64}


def write_series(store: Store, plan: Plan, ids: list[int], path: Path) -> int:
    """The points of series ``ids`` (made series of the plan included) into ``path``;
    returns how many."""
    points = batch_points(store, plan, ids)
    frame = points.select(
        pl.col("row")
        .cast(pl.Int64)
        .replace_strict(range(len(ids)), ids, return_dtype=pl.Int64)
        .alias("series_id"),
        pl.col("ts_us").cast(pl.Int64),
        pl.col("value").cast(pl.Float64),
    ).sort("series_id", "ts_us")
    frame.write_parquet(path, compression="lz4", statistics=True)
    return frame.height
