"""Parquet files of whole series: what the workers read.

Two kinds: the local engine's files, made for one run and read once, and the datasets of
``tscorr partition`` that a cluster engine reads again and again (below).

The local engine writes one file per task from the store while the workers analyse the
files written before it; the points come out of the store as
:func:`~tscorr.analysis.inputs.batch_points` gives them to one process, so a worker aligns
exactly what the driver would have.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from tscorr.analysis.inputs import Plan, batch_points
from tscorr.choices import BATCH_ROWS
from tscorr.errors import BadInput, NoData
from tscorr.store import Store

Step = Callable[[str, int, int], None]  # (what, done, total)


def write_series(store: Store, plan: Plan, ids: list[int], path: Path) -> int:
    """The points of series ``ids`` (made series of the plan included) into ``path`` as
    :func:`~tscorr.analysis.inputs.batch_points` gives them to one process: (row, ts_us,
    value), ``row`` the position in ``ids``, in the store's order. A file made for one run
    and read once: neither sorted nor compressed (sorting took 0.15-0.3 s of the driver's
    time a file of 256 series, the write itself 0.03-0.05 s); returns the points."""
    points = batch_points(store, plan, ids)
    points.write_parquet(path, compression="uncompressed", statistics=False)
    return points.height


# --- persistent datasets (tscorr partition), read by a cluster engine ---------------------
# A dataset is a folder of Parquet files with columns (series: the series' name, ts:
# timestamp in UTC, value), each file holding whole series sorted by series then time. The
# catalogue keeps each series' file (tscorr.store.partitions).


def write_dataset(
    store: Store, folder: Path, series_per_file: int = BATCH_ROWS, step: Step | None = None
) -> DatasetInfo:
    """Write every series' points into ``folder`` (created; must hold no Parquet file yet),
    ``series_per_file`` series a file in the order of their ids, and record the dataset."""
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.glob("*.parquet")):
        raise BadInput(
            f"{folder} already holds Parquet files; write partitions into an empty folder, "
            "or register the files with --register"
        )
    meta = store.series_matching("*")
    # series whose points live in a dataset of a load (load --partitions) have their files
    homes = store.parquet_homes(meta["series_id"].to_list())
    meta = meta.filter(~pl.col("series_id").is_in(homes["series_id"].implode()))
    if meta.height == 0 and homes.height:
        raise NoData(
            f"every series lives in a Parquet dataset already (tscorr load --partitions, "
            f"{homes['path'][0]}); --engine dask reads them there"
        )
    if meta.height == 0:
        raise NoData("the database has no series to partition; load some files first")
    ids = meta["series_id"].to_list()
    names = dict(zip(ids, meta["name"].to_list(), strict=True))
    files, points = [], 0
    for k, lo in enumerate(range(0, len(ids), series_per_file)):
        if step:
            step("series", lo, len(ids))
        chunk = [int(i) for i in ids[lo : lo + series_per_file]]
        frame = (
            store.read_points(chunk)
            .select(
                pl.col("row")
                .cast(pl.Int64)
                .replace_strict(
                    range(len(chunk)), [names[i] for i in chunk], return_dtype=pl.String
                )
                .alias("series"),
                pl.from_epoch("ts_us", "us").dt.replace_time_zone("UTC").alias("ts"),
                pl.col("value").cast(pl.Float64),
            )
            .sort("series", "ts")
        )
        name = f"part-{k:06d}.parquet"
        frame.write_parquet(folder / name, compression="zstd", statistics=True)
        points += frame.height
        files.append(pl.DataFrame({"series_id": chunk, "file": [name] * len(chunk)}))
    catalogue = pl.concat(files)
    dataset = store.save_partition_set(str(folder.resolve()), "written", catalogue, points)
    return DatasetInfo(dataset, str(folder), catalogue["file"].n_unique(), len(ids), points)


def register_dataset(store: Store, folder: Path) -> DatasetInfo:
    """Record ``folder``'s Parquet files (series, ts, value) as a dataset of this database's
    series, after checking that every series lives in one file and is in the catalogue."""
    paths = sorted(folder.glob("*.parquet"))
    if not paths:
        raise NoData(f"{folder} holds no Parquet file")
    seen: dict[str, str] = {}
    points = 0
    for path in paths:
        try:
            got = pl.scan_parquet(path).group_by("series").agg(pl.len().alias("n")).collect()
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise BadInput(
                f"{path.name}: not a partition file with a 'series' column "
                f"({str(exc).splitlines()[0]})"
            ) from exc
        points += int(got["n"].sum())
        for series in got["series"].to_list():
            if series in seen:
                raise BadInput(split_message(series, seen[series], path.name))
            seen[series] = path.name
    meta = store.series_matching("*")
    known = dict(zip(meta["name"].to_list(), meta["series_id"].to_list(), strict=True))
    unknown = [s for s in seen if s not in known]
    if unknown:
        raise BadInput(
            f"series {unknown[0]} of {seen[unknown[0]]} is not in the database "
            f"({len(unknown)} such); load the series first, so that their kind and "
            "aggregation are known"
        )
    catalogue = pl.DataFrame(
        {"series_id": [known[s] for s in seen], "file": list(seen.values())},
        schema={"series_id": pl.Int64, "file": pl.String},
    ).sort("series_id")
    dataset = store.save_partition_set(str(folder.resolve()), "registered", catalogue, points)
    return DatasetInfo(dataset, str(folder), len(paths), len(seen), points)


def split_message(series: str, first: str, second: str) -> str:
    """The split-series guard's one line."""
    return (
        f"series {series} is split across {first} and {second}; each series must live in "
        "one file (tscorr partition DIR writes such files)"
    )


@dataclass(frozen=True)
class DatasetInfo:
    dataset_id: int
    path: str
    files: int
    series: int
    points: int
