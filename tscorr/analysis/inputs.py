"""What every analysis reads: series aligned in blocks, and event sets.

Shared by xcorr, respond, scan and explain, so that all of them align the same way.

The observation model (:mod:`tscorr.ingest.observe`) decides how each series is put on a grid:

* **its own span**: a series is aligned from the bucket of its first observation (a point,
  or a censored day of a top list) to the bucket of its last. What else is loaded never
  changes a series' grid, so it never changes a pair's r, n or p.
* **its native step**: a series whose native step is coarser than ``--bucket`` (daily counts
  asked for at 1h, monthly counts at 1w) is analysed at its native step, with a note; nothing
  is ever zero-filled between native observations.
* **its zone**: day and coarser buckets are calendar buckets in ``--tz``, or, when no zone is
  given, in the zone the series was loaded in.
* **its kind**: an empty bucket of a ``count`` series inside its span is 0; of a ``level`` or
  ``censored`` series it is missing.

Series with the same effective bucket, zone and span form a :class:`Block` and are analysed
together as one matrix; lags and windows are counted in that block's buckets
(:meth:`~tscorr.analysis.scale.Scale.on`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tscorr.analysis import align
from tscorr.analysis.kernels.transforms import apply_transforms
from tscorr.analysis.scale import Scale
from tscorr.choices import BATCH_ROWS, BY
from tscorr.errors import BadInput, NoData, UnknownName
from tscorr.store import Store
from tscorr.units import (
    Duration,
    bucket_start,
    check_zone,
    finer,
    parse_duration,
)

EVENT_SERIES = "events:"  # prefix of the count series made from events of a kind


@dataclass
class Block:
    """Series on one grid: one effective bucket, zone and span. Arrays are (rows, grid.n)."""

    grid: align.Grid
    names: list[str]
    y: np.ndarray  # after transforms
    raw: np.ndarray  # before transforms
    censored: np.ndarray  # upper bound where a bucket is censored, else NaN
    kinds: list[str]
    aggs: list[str]
    steps: list[str | None]
    requested: Duration  # the --bucket asked for; grid.bucket may be coarser

    @property
    def bucket(self) -> Duration:
        return self.grid.bucket

    @property
    def coarsened(self) -> bool:
        return self.grid.bucket != self.requested

    def only(self, names: set[str]) -> Block:
        """The same block with some series only."""
        keep = [i for i, name in enumerate(self.names) if name in names]
        return Block(
            self.grid,
            [self.names[i] for i in keep],
            self.y[keep],
            self.raw[keep],
            self.censored[keep],
            [self.kinds[i] for i in keep],
            [self.aggs[i] for i in keep],
            [self.steps[i] for i in keep],
            self.requested,
        )

    def record(self) -> dict[str, Any]:
        """How this block was aligned, for ``runs.params``."""
        return grid_record(self.grid, self.names, self.kinds, self.requested)


def grid_record(
    grid: align.Grid, names: list[str], kinds: list[str], requested: Duration
) -> dict[str, Any]:
    """How series were put on ``grid``, for ``runs.params.alignment.blocks``."""
    return {
        "series": names,
        "bucket": str(grid.bucket),
        "coarsened_from": str(requested) if grid.bucket != requested else None,
        "tz": grid.tz,
        "grid_start": grid.starts[0].isoformat(),
        "grid_end": grid.end.isoformat(),  # type: ignore[attr-defined]
        "grid_buckets": grid.n,
        "kinds": sorted(set(kinds)),
    }


@dataclass
class Aligned:
    """Every matched series, in blocks, ready for any kernel."""

    blocks: list[Block]
    requested: Duration
    notes: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [n for b in self.blocks for n in b.names]

    def record(self) -> dict[str, Any]:
        return alignment_record(self.requested, [b.record() for b in self.blocks])


def alignment_record(requested: Duration, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """How the series were aligned, for ``runs.params.alignment``."""
    return {
        "bucket_requested": str(requested),
        "gaps": "count: an empty bucket inside the series' span is 0; level and "
        "censored: missing; never filled between native observations",
        "events": "snapped to the bucket that contains them",
        "blocks": blocks,
    }


@dataclass
class Group:
    """Series sharing one grid (effective bucket, zone and span): one block, or several
    batches of rows of it when it is large."""

    grid: align.Grid
    rows: list[dict[str, Any]]  # the series' catalogue rows, by series_id

    def record(self, requested: Duration) -> dict[str, Any]:
        names = [r["name"] for r in self.rows]
        return grid_record(self.grid, names, [r["kind"] for r in self.rows], requested)


@dataclass
class Plan:
    """What an analysis will read, before any point is read: every matched series' grid.

    ``extra``: points made from events (``events:KIND`` series), which live in no table."""

    groups: list[Group]
    requested: Duration
    transform: str
    season: int | None  # buckets of ``requested`` (seasonal-diff)
    notes: list[str] = field(default_factory=list)
    extra: pl.DataFrame | None = None

    @property
    def series(self) -> int:
        return sum(len(g.rows) for g in self.groups)

    def only(self, names: set[str]) -> Plan:
        """The same plan for some series only (their grids unchanged)."""
        groups = [Group(g.grid, [r for r in g.rows if r["name"] in names]) for g in self.groups]
        return Plan(
            [g for g in groups if g.rows],
            self.requested,
            self.transform,
            self.season,
            self.notes,
            self.extra,
        )

    def record(self) -> dict[str, Any]:
        """How the series were aligned, for ``runs.params`` (one entry per grid)."""
        return alignment_record(self.requested, [g.record(self.requested) for g in self.groups])


def _catalogue(store: Store, glob: str) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
    """(meta, spans, extra) of the series matching ``glob``, events:KIND included: each
    series' catalogue row, its first and last observation, and the points of event kinds
    counted as series (not stored as points)."""
    meta = store.series_matching(glob).with_columns(pl.col("kind").fill_null("level"))
    spans = store.series_spans(meta["series_id"].to_list())
    extra = None
    if glob.startswith(EVENT_SERIES):
        # each event kind as a count series: events per bucket, 0 between its first and last
        counts = store.event_times(glob[len(EVENT_SERIES) :])
        kinds = counts["kind"].unique(maintain_order=True).sort().to_list()
        ids = {k: -(i + 1) for i, k in enumerate(kinds)}
        meta = pl.concat(
            [
                pl.DataFrame(
                    {
                        "series_id": list(ids.values()),
                        "name": [EVENT_SERIES + k for k in kinds],
                        "agg": ["sum"] * len(kinds),
                        "unit": ["events"] * len(kinds),
                        "attrs": ["{}"] * len(kinds),
                        "kind": ["count"] * len(kinds),
                        "step": [None] * len(kinds),
                        "tz": ["UTC"] * len(kinds),
                    },
                    schema=meta.schema,
                ),
                meta,
            ]
        )
        extra = counts.select(
            pl.col("kind").replace_strict(ids, return_dtype=pl.Int64).alias("series_id"),
            pl.col("ts"),
            pl.lit(1.0).alias("value"),
        ).sort("series_id", "ts")
        spans = pl.concat(
            [
                extra.group_by("series_id")
                .agg(pl.col("ts").min().alias("first"), pl.col("ts").max().alias("last"))
                .cast({"first": spans.schema["first"], "last": spans.schema["last"]}),
                spans,
            ]
        )
    return meta, spans, extra


def plan_alignment(
    store: Store,
    glob: str,
    bucket: Duration,
    tz: str | None,
    transform: str,
    season: int | None,
) -> Plan:
    """Every series matching ``glob`` on its grid (its span, native step and zone), without
    reading its points. ``tz`` None: calendar buckets in the zone each series was loaded in.
    ``glob`` starting with ``events:`` also matches event kinds as count series
    (``events:race-call``). ``season``: buckets of ``bucket`` (for ``seasonal-diff``)."""
    if tz is not None:
        check_zone(tz)
    meta, spans, extra = _catalogue(store, glob)
    if meta.height == 0:
        raise NoData(f"no series matches '{glob}'; 'tscorr ls series' lists them")
    if spans.height == 0:
        raise NoData(f"the series matching '{glob}' have no points")
    meta = meta.join(spans, on="series_id", how="inner").sort("series_id")
    beyond = meta.filter(
        (pl.col("first").dt.year() < 1) | (pl.col("last").dt.year() > 9999)
    )["name"]
    if beyond.len():
        raise BadInput(
            f"series {beyond[0]} has points outside years 1-9999 (written by another tool or "
            "an older tscorr), which no analysis can place on a calendar; remove them with "
            "tscorr sql --write \"DELETE FROM points WHERE year(ts) NOT BETWEEN 1 AND 9999\""
        )
    notes: list[str] = []
    coarse: dict[str, list[str]] = {}
    effs: list[Duration] = []
    for name, step_text in zip(meta["name"], meta["step"], strict=True):
        step = parse_duration(step_text) if step_text else None
        if step is not None and finer(bucket, step):
            coarse.setdefault(str(step), []).append(name)
            effs.append(step)
        else:
            effs.append(bucket)
    meta = meta.with_columns(
        pl.Series("eff", [str(e) for e in effs]),
        (pl.lit(tz) if tz else pl.col("tz").fill_null("UTC")).alias("zone"),
    )
    # each series' span in buckets of its effective bucket and zone: one query per group
    keyed = []
    by_text = {str(e): e for e in effs}
    for (eff_text, zone), part in meta.group_by("eff", "zone", maintain_order=True):
        eff = by_text[str(eff_text)]
        bounds = part.select(
            bucket_start(pl.col("first"), eff, str(zone)).alias("lo"),
            bucket_start(pl.col("last"), eff, str(zone)).alias("hi"),
        )
        for row, lo, hi in zip(part.iter_rows(named=True), bounds["lo"], bounds["hi"], strict=True):
            keyed.append(((str(eff), str(zone), lo, hi), eff, row))
    for step_text, names in coarse.items():
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        notes.append(
            f"{len(names)} series observed every {step_text} analysed in {step_text} buckets, "
            f"not --bucket {bucket} (no zeros between native observations): {shown}"
        )
    by_key: dict[tuple[Any, ...], list[tuple[Duration, dict[str, Any]]]] = {}
    for key, eff, row in keyed:
        by_key.setdefault(key, []).append((eff, row))
    groups = [
        Group(align.make_grid(lo, hi, rows[0][0], zone), [r for _, r in rows])
        for (_, zone, lo, hi), rows in by_key.items()
    ]
    if any(r["kind"] == "censored" for g in groups for r in g.rows):
        notes.append("censored series (top lists): days below the cut-off are missing, not 0")
    if len(groups) > 1:
        notes.append(
            f"{len(groups)} alignment blocks: each series is aligned over its own span"
            + (" and native step" if coarse else "")
        )
    return Plan(groups, bucket, transform, season, notes, extra)


# bytes an aligned row holds per bucket while it is analysed: the values before and after
# transforms, censoring bounds, the centred copy, its spectrum, masks and temporaries
BYTES_PER_BUCKET = 96




def rows_per_batch(memory: int, buckets: int) -> int:
    """Series aligned at once so that a batch stays within an eighth of ``memory`` bytes
    (at most :data:`BATCH_ROWS`)."""
    return int(min(BATCH_ROWS, max(16, memory // 8 // (BYTES_PER_BUCKET * max(buckets, 1)))))


def batches(plan: Plan, memory: int, max_rows: int | None = None) -> list[Group]:
    """The plan's series in batches of one group: ``max_rows`` series (default: as many as
    :func:`rows_per_batch` allows under ``memory`` bytes)."""
    out = []
    for group in plan.groups:
        size = max_rows or rows_per_batch(memory, group.grid.n)
        rows = group.rows
        out += [Group(group.grid, rows[lo : lo + size]) for lo in range(0, len(rows), size)]
    return out


def iter_blocks(store: Store, plan: Plan, max_rows: int | None = None) -> Iterator[Block]:
    """Each group's series, read from the store and aligned, ``max_rows`` series at a time
    (default: as many as :func:`rows_per_batch` allows under the store's memory limit)."""
    for batch in batches(plan, store.memory_limit or 2**33, max_rows):
        ids = [int(r["series_id"]) for r in batch.rows]
        points = batch_points(store, plan, ids)
        yield align_batch(points, batch.rows, batch.grid, plan, store.read_censored(ids))


def batch_points(store: Store, plan: Plan, ids: list[int]) -> pl.DataFrame:
    """The points of series ``ids`` as :func:`align_batch` takes them: (row, ts_us, value),
    ``row`` the position in ``ids``; made series (``events:KIND``, ids < 0) from the plan."""
    points = store.read_points(ids)  # made series (ids < 0) have none stored
    homes = store.parquet_homes([i for i in ids if i > 0])
    if homes.height:  # series whose points live in a Parquet dataset of a load only
        rows = {i: k for k, i in enumerate(ids)}
        for (path, file), part in homes.group_by("path", "file", maintain_order=True):
            names = part["name"].to_list()
            named = read_named([str(Path(str(path)) / str(file))], names)
            here = by_row(named, names, [rows[int(i)] for i in part["series_id"]])
            points = pl.concat([points, here.cast(points.schema)])
    if plan.extra is not None:
        made = align.stored_form(plan.extra, ids)
        points = pl.concat([made, points.cast(made.schema)]) if made.height else points
    return points


def by_row(frame: pl.DataFrame, names: list[str], rows: list[int] | None = None) -> pl.DataFrame:
    """The points of series ``names`` in ``frame`` (series, ts_us, value) as (row, ts_us,
    value), ``row`` the name's position in ``names`` (or ``rows[position]``); other series
    dropped. A dataset's file holds each series in one run of rows (sorted by series), so
    the names are looked up once a run, not once a point."""
    index = dict(zip(names, rows if rows is not None else range(len(names)), strict=True))
    runs = frame["series"].rle()
    lengths = runs.struct.field("len").to_numpy()
    of_run = np.array(
        [index.get(name, -1) for name in runs.struct.field("value").to_list()], dtype=np.int64
    )
    out = frame.select(pl.Series("row", np.repeat(of_run, lengths)), "ts_us", "value")
    return out if (of_run >= 0).all() else out.filter(pl.col("row") >= 0)


def read_named(paths: list[str], names: list[str]) -> pl.DataFrame:
    """The points of series ``names`` in Parquet files of a dataset (series, ts, value) as
    (series, ts_us, value), ``ts_us`` microseconds since 1970 UTC (a naive ``ts`` is UTC)."""
    lazy = pl.scan_parquet(paths)
    ts = pl.col("ts")
    dtype = lazy.collect_schema()["ts"]
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:  # naive: UTC
        ts = ts.dt.replace_time_zone("UTC")
    return (
        lazy.filter(pl.col("series").is_in(names))
        .select(
            "series",
            ts.dt.convert_time_zone("UTC")
            .cast(pl.Datetime("us", "UTC"))
            .dt.epoch("us")
            .alias("ts_us"),
            pl.col("value").cast(pl.Float64),
        )
        .collect()
    )


def align_batch(
    points: pl.DataFrame,
    rows: list[dict[str, Any]],
    grid: align.Grid,
    plan: Plan,
    censored: pl.DataFrame | None = None,
) -> Block:
    """Series ``rows`` (catalogue rows of one group) on ``grid``: bucketed, transformed.

    ``points``: (row, ts_us, value) as :func:`batch_points` gives them, in any order.
    ``censored`` None: no bucket is censored (an xcorr never reads the bounds)."""
    ids = [int(r["series_id"]) for r in rows]
    season = Scale(plan.requested, season=plan.season).on(grid.bucket).season
    kinds = [r["kind"] for r in rows]
    aggs = [r["agg"] for r in rows]
    raw = align.series_matrix(points, ids, aggs, grid, [k == "count" for k in kinds])
    del points
    if censored is None:
        censored = pl.DataFrame(
            schema={"series_id": pl.Int64, "ts": pl.Datetime("us", "UTC"), "below": pl.Float64}
        )
    return Block(
        grid=grid,
        names=[r["name"] for r in rows],
        y=apply_transforms(raw, plan.transform, season),
        raw=raw,
        censored=align.censored_matrix(censored, ids, grid),
        kinds=kinds,
        aggs=aggs,
        steps=[r["step"] for r in rows],
        requested=plan.requested,
    )


def load_aligned(
    store: Store,
    glob: str,
    bucket: Duration,
    tz: str | None,
    transform: str,
    season: int | None,
) -> Aligned:
    """Read the series matching ``glob``, align each block, apply ``transform`` (all in
    memory at once; :func:`plan_alignment` and :func:`iter_blocks` read them in batches)."""
    plan = plan_alignment(store, glob, bucket, tz, transform, season)
    blocks = list(iter_blocks(store, plan, max_rows=max(plan.series, 1)))
    return Aligned(blocks, bucket, plan.notes)


def event_sets(store: Store, where: str, by: str | None) -> dict[str, pl.DataFrame]:
    events = store.select_events(where)
    if events.height == 0:
        raise NoData(f"no event matches --events \"{where}\"; 'tscorr ls events' lists kinds")
    if by is None:
        return {where: events}
    if by not in BY:
        raise UnknownName("--by value", by, BY)
    return {f"{by} = {key}": part for (key,), part in events.group_by(by, maintain_order=True)}
