"""Loading many files of a feed into a Parquet dataset of whole series, on an engine's workers.

``tscorr load FILES --partitions DIR`` (:func:`load_partitioned`): the points never enter the
database; they live in DIR, as the files ``tscorr partition`` writes (columns ``series``,
``ts``, ``value``; each series whole in one file, sorted by series then time), and
``xcorr`` reads them there (``--engine dask`` one task per file; in one process or on local
workers, from the file holding each series).

1. **Read** (a job per file, on the workers): the feed's reader, as a normal load reads the
   file (:func:`tscorr.ingest.load._parts`: the same parsing, zones, checks, rejected rows
   and their reasons, the same series kinds and native steps). A (series, ts) repeated in a
   file keeps its last row, as a normal load does. The points go to a shard file per input
   file, each point tagged with its series' fine bucket (a CRC-32 of its name: stable
   across processes, machines and versions), sorted by fine bucket, series and time.
2. **Merge** (a job per output file, on the workers): the shards' rows of a range of fine
   buckets, sorted by series then time; a (series, ts) given by several files keeps the
   last file's value (in load order), as a normal load replaces a stored point, and counts
   as a ``replaced`` point of that file. With ``--series-per-file N`` (default 1,024, as
   ``tscorr partition``) the series are cut into about N a file.
3. **Record** (the driver, one transaction): the sources with their counts, the rejected
   rows, the series (catalogue rows as a normal load makes them, ids in the dataset's order)
   and the dataset with each series' file, first and last time and points.

Everything is written in a temporary folder beside DIR, renamed to DIR when every file has
been read and merged; a failure anywhere (a file that cannot be read, ``--strict`` and a
rejected row, the database refusing the write) leaves no folder and changes nothing in the
database.
"""

from __future__ import annotations

import json
import shutil
import uuid
import zlib
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import polars as pl

from tscorr.choices import BATCH_ROWS
from tscorr.errors import BadInput, NotFound, RowsRejected
from tscorr.frames import POINTS, REJECTS, SERIES
from tscorr.ingest import feeds, observe
from tscorr.ingest.load import LoadReport, _check_names, _parts, _plan
from tscorr.ingest.request import STDIN, LoadParams, is_pattern
from tscorr.ingest.source import LoadOptions, SourceFile
from tscorr.store import IngestCounts, Store

FINE = 1 << 16  # fine buckets: an output file holds a contiguous range of them
ROW_GROUP = 65_536  # rows of a shard's row group (a merge skips the groups of other buckets)

J = TypeVar("J")
T = TypeVar("T")


class Mapper(Protocol):
    """Runs a picklable function over jobs on some workers, the results in the jobs' order
    (:class:`tscorr.analysis.engine.pool.Pool`, or the builtin ``map`` in this process)."""

    def map(self, fn: Callable[[J], T], jobs: Sequence[J]) -> list[T]: ...


class InProcess:
    """A :class:`Mapper` in this process."""

    workers = 1

    def map(self, fn: Callable[[J], T], jobs: Sequence[J]) -> list[T]:
        return [fn(job) for job in jobs]


def fine_bucket(name: str) -> int:
    """A series' fine bucket: the CRC-32 of its UTF-8 name, modulo :data:`FINE`."""
    return zlib.crc32(name.encode("utf-8")) % FINE


def bucket_range(bucket: int, buckets: int) -> tuple[int, int]:
    """The fine buckets [lo, hi) of output file ``bucket`` of ``buckets``."""
    return -(-bucket * FINE // buckets), -(-(bucket + 1) * FINE // buckets)


# --- 1. read: one job per file, in a worker ----------------------------------------------


@dataclass(frozen=True)
class ReadJob:
    no: int  # the file's position in the load
    path: str  # absolute: a worker of a cluster may run elsewhere
    shown: str  # as the user named it (messages, the sources table)
    feed: str
    options: LoadOptions
    strict: bool
    shard: str  # the shard file to write


@dataclass
class ReadDone:
    no: int
    rows_read: int
    rows_rejected: int
    duplicates: int
    points: int
    series: pl.DataFrame  # (series, unit, agg, attrs, kind, step) in first-seen order
    rejects: pl.DataFrame  # (line, raw, reason)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def read_file(job: ReadJob) -> ReadDone:
    """Read one file with its feed's reader and write its points to ``job.shard``."""
    import time

    started = time.perf_counter()
    feed = feeds.get_feed(job.feed)
    source = SourceFile(job.path, job.shown)
    series: list[pl.DataFrame] = []
    points: list[pl.DataFrame] = []
    rejects: list[pl.DataFrame] = []
    notes: list[str] = []
    rows_read = duplicates = 0
    with closing(_parts(feed, source, job.options)) as parts:
        for frames in parts:
            frames.series = observe.declare(
                frames.series, feed.spec.series.kind, job.options.series_kind
            )
            _check_names(frames, source)
            _only_points(frames.events.height, frames.censored.height, frames.points, source)
            if frames.rejects.height and job.strict:
                first = frames.rejects.row(0, named=True)
                raise RowsRejected(
                    f"{source.display_name}:{first['line']}: {first['reason']} "
                    f"({frames.rejects.height} rows rejected; --strict refuses the load, "
                    "nothing loaded)"
                )
            rows_read += frames.rows_read
            duplicates += frames.duplicates
            series.append(frames.series)
            points.append(frames.points.select("series", "ts", "value"))
            rejects.append(frames.rejects)
            notes.extend(n for n in frames.notes if n not in notes)
    every = pl.concat(points) if points else pl.DataFrame(schema=_POINT_COLUMNS)
    kept = every.unique(["series", "ts"], keep="last", maintain_order=True)
    duplicates += every.height - kept.height  # a later part's row wins, as in a normal load
    meta = (
        pl.concat(series, how="vertical_relaxed").unique("series", keep="first", maintain_order=True)
        if series
        else pl.DataFrame(schema=dict(SERIES))
    )
    wanted = meta.filter(pl.col("step").is_null())["series"]
    if wanted.len():
        steps = observe.native_steps(
            kept.filter(pl.col("series").is_in(wanted.implode())), job.options.tz
        )
        meta = meta.with_columns(
            pl.coalesce(
                "step",
                pl.col("series").replace_strict(
                    list(steps), list(steps.values()), default=None, return_dtype=pl.String
                ),
            ).alias("step")
        )
    names = kept["series"].unique()
    fine = pl.DataFrame(
        {"series": names, "fine": [fine_bucket(n) for n in names]},
        schema={"series": pl.String, "fine": pl.Int32},
    )
    kept.join(fine, on="series").select(
        "fine", "series", "ts", "value", pl.lit(job.no, pl.Int32).alias("no")
    ).sort("fine", "series", "ts").write_parquet(
        job.shard, compression="lz4", statistics=True, row_group_size=ROW_GROUP
    )
    return ReadDone(
        job.no,
        rows_read,
        sum(r.height for r in rejects),
        duplicates,
        kept.height,
        meta.select(list(SERIES)),
        pl.concat(rejects, how="vertical_relaxed") if rejects else pl.DataFrame(schema=REJECTS),
        notes,
        time.perf_counter() - started,
    )


_POINT_COLUMNS = {k: POINTS[k] for k in ("series", "ts", "value")}


def _only_points(events: int, censored: int, points: pl.DataFrame, source: SourceFile) -> None:
    """A dataset holds (series, ts, value): refuse what it cannot keep."""
    if events or censored:
        what = "events" if events else "censored days (a top list)"
        raise BadInput(
            f"{source.display_name}: gives {what}, which a Parquet dataset of points does not "
            "hold; load this file without --partitions"
        )
    flagged = points.filter(pl.col("flag").is_not_null())
    if flagged.height:
        raise BadInput(
            f"{source.display_name}: {flagged.height} values carry a flag "
            f"('{flagged['flag'][0]}'), which a Parquet dataset does not keep; load this file "
            "without --partitions"
        )


# --- 2. merge: one job per output file, in a worker --------------------------------------


@dataclass(frozen=True)
class MergeJob:
    bucket: int
    buckets: int
    shards: list[str]
    out: str  # the output file


@dataclass
class MergeDone:
    bucket: int
    spans: pl.DataFrame  # (series, first_ts, last_ts, points)
    replaced: dict[int, int]  # file no -> points of earlier files it replaced
    seconds: float = 0.0


def merge_bucket(job: MergeJob) -> MergeDone:
    """The shards' points of one output file: whole series sorted by series then time, a
    (series, ts) of several files taking the last file's value."""
    import time

    started = time.perf_counter()
    lo, hi = bucket_range(job.bucket, job.buckets)
    frame = (
        pl.scan_parquet(job.shards)
        .filter((pl.col("fine") >= lo) & (pl.col("fine") < hi))
        .select("series", "ts", "value", "no")
        .collect()
        .sort("series", "ts", "no")
    )
    again = (pl.col("series") == pl.col("series").shift(1)) & (
        pl.col("ts") == pl.col("ts").shift(1)
    )
    frame = frame.with_columns(again.fill_null(False).alias("again"))
    replaced = frame.filter("again").group_by("no").len()
    last = frame.filter(~pl.col("again").shift(-1).fill_null(False))  # the last file's row
    if last.height:
        last.select("series", "ts", "value").write_parquet(
            job.out, compression="zstd", statistics=True
        )
    spans = last.group_by("series", maintain_order=True).agg(
        pl.col("ts").min().alias("first_ts"),
        pl.col("ts").max().alias("last_ts"),
        pl.len().cast(pl.Int64).alias("points"),
    )
    return MergeDone(
        job.bucket,
        spans,
        dict(zip(replaced["no"].to_list(), replaced["len"].to_list(), strict=True)),
        time.perf_counter() - started,
    )


# --- 3. the driver -----------------------------------------------------------------------


@dataclass
class PartitionedLoad:
    """What a load into Parquet partitions did: a report per file (loaded, skipped or wholly
    rejected), the dataset (None: nothing new to load) and the workers' seconds by phase."""

    reports: list[LoadReport]
    dataset_id: int | None = None
    path: str = ""
    files: int = 0
    series: int = 0
    points: int = 0
    stats: dict[str, Any] = field(default_factory=dict)


def load_partitioned(
    store: Store,
    params: LoadParams,
    folder: str | Path,
    mapper: Mapper | None = None,
    series_per_file: int = BATCH_ROWS,
) -> PartitionedLoad:
    """Load every file of ``params`` into a new Parquet dataset at ``folder`` (which must not
    exist, or be an empty folder), reading and merging on ``mapper``'s workers (default: this
    process), and record it all in one transaction (see the module's docstring)."""
    import time

    if params.force:
        raise BadInput("--force does not apply to a load into --partitions (it makes new series)")
    if STDIN in params.given:
        raise BadInput("a load into --partitions reads files, not standard input; save it first")
    if series_per_file < 1:
        raise BadInput("--series-per-file must be at least 1")
    target = Path(folder)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BadInput(
            f"{target} exists and is not an empty folder; name a new folder for the dataset"
        )
    mapper = mapper or InProcess()
    options = params.options()
    reports: list[LoadReport] = []
    plans = []
    content: dict[str, str] = {}
    for file in params.files():
        if is_pattern(file):
            raise NotFound(f"{file}: no file matches this pattern; check the path")
        plan = _plan(store, file, params.feed, options, False, None)
        if isinstance(plan, LoadReport):
            reports.append(plan)
            continue
        earlier = content.setdefault(plan.meta.sha256, plan.shown)
        if earlier != plan.shown:
            plan.notes.append(f"the same content as {earlier}, loaded with it")
            reports.append(LoadReport(plan.shown, plan.feed.name, "skipped", None, plan.notes))
            continue
        plans.append(plan)
    if not plans:
        return PartitionedLoad(reports)
    work = target.resolve().parent / f".{target.name}.tscorr-{uuid.uuid4().hex[:8]}"
    made = False
    stats: dict[str, Any] = {"workers": getattr(mapper, "workers", 1)}
    try:
        (work / "shards").mkdir(parents=True)
        (work / "data").mkdir()
        t = time.perf_counter()
        read = mapper.map(
            read_file,
            [
                ReadJob(
                    no, str(p.source.path.resolve()), p.shown, p.feed.name, options,
                    params.strict,
                    str(work / "shards" / f"file-{no:06d}.parquet"),
                )
                for no, p in enumerate(plans)
            ],
        )  # fmt: skip
        stats["read_s"] = round(time.perf_counter() - t, 3)
        stats["read_cpu_s"] = round(sum(r.seconds for r in read), 3)
        meta = _catalogue(read, plans, options)
        buckets = max(1, min(FINE, -(-meta.height // series_per_file)))
        t = time.perf_counter()
        shards = [str(work / "shards" / f"file-{no:06d}.parquet") for no in range(len(plans))]
        merged = mapper.map(
            merge_bucket,
            [
                MergeJob(b, buckets, shards, str(work / "data" / f"part-{b:06d}.parquet"))
                for b in range(buckets)
            ],
        )
        stats["merge_s"] = round(time.perf_counter() - t, 3)
        stats["merge_cpu_s"] = round(sum(m.seconds for m in merged), 3)
        spans = pl.concat(
            [m.spans.with_columns(pl.lit(f"part-{m.bucket:06d}.parquet").alias("file"))
             for m in merged]
        )  # fmt: skip
        series = meta.join(spans.rename({"series": "name"}), on="name", how="left").sort(
            "file", "name", nulls_last=True
        )  # ids in the dataset's order (file, then name), so a batch of ids reads one file
        replaced = dict.fromkeys(range(len(plans)), 0)
        for m in merged:
            for no, n in m.replaced.items():
                replaced[int(no)] += int(n)
        for p, r in zip(plans, read, strict=True):  # the reader's notes, as a load keeps them
            p.notes.extend(n for n in r.notes if n not in p.notes)
        sources = [_source_row(p, r, replaced[r.no]) for p, r in zip(plans, read, strict=True)]
        rejects = pl.concat(
            [r.rejects.with_columns(pl.lit(r.no, pl.Int64).alias("no")) for r in read],
            how="vertical_relaxed",
        ).select("no", "line", "raw", "reason")
        shutil.rmtree(work / "shards")
        existed = target.exists()
        if existed:
            target.rmdir()  # empty, checked above
        (work / "data").rename(target)
        made = True
        dataset, ids, _ = store.save_loaded_set(str(target.resolve()), sources, series, rejects)
    except BaseException:
        if made:
            shutil.rmtree(target, ignore_errors=True)
            if existed:  # the user's empty folder, as it was
                target.mkdir(exist_ok=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    in_file = {r.no: r.series.height for r in read}  # every series of the file
    for p, r, source_id in zip(plans, read, ids, strict=True):
        counts = IngestCounts(
            source_id, r.rows_read, r.rows_read - r.rows_rejected, r.rows_rejected,
            r.points, 0, in_file[r.no], r.duplicates, replaced[r.no],
        )  # fmt: skip
        first = r.rejects.row(0, named=True) if r.rejects.height else None
        reports.append(p.report(counts, first))
    order = {f: n for n, f in enumerate(params.files())}
    reports.sort(key=lambda rep: order.get(rep.path, len(order)))
    held = series.filter(pl.col("file").is_not_null())
    return PartitionedLoad(
        reports,
        dataset,
        str(target),
        int(held["file"].n_unique()),
        held.height,
        int(held["points"].sum()),
        stats,
    )


def _catalogue(read: list[ReadDone], plans: list[Any], options: LoadOptions) -> pl.DataFrame:
    """Each series once, as its first file (in load order) declared it: the catalogue row a
    normal load of the same files makes (name, no, feed, unit, agg, attrs, kind, step, tz)."""
    frames = [
        r.series.rename({"series": "name"}).with_columns(
            pl.lit(r.no, pl.Int64).alias("no"), pl.lit(p.feed.name).alias("feed")
        )
        for p, r in zip(plans, read, strict=True)
    ]
    every = pl.concat(frames, how="vertical_relaxed")
    return every.unique("name", keep="first", maintain_order=True).select(
        "name", "no", "feed", "unit", "agg", "attrs", "kind", "step", pl.lit(options.tz).alias("tz")
    )


def _source_row(plan: Any, read: ReadDone, replaced: int) -> dict[str, Any]:
    """A file's row of the ``sources`` table, as a normal load writes it."""
    meta = plan.meta
    return {
        "feed": meta.feed,
        "path": meta.path,
        "sha256": meta.sha256,
        "bytes": meta.bytes,
        "tz": meta.tz,
        "options": json.dumps(dict(meta.options), default=str),
        "rows_read": read.rows_read,
        "rows_loaded": read.rows_read - read.rows_rejected,
        "rows_rejected": read.rows_rejected,
        "points_loaded": read.points,
        "duplicates": read.duplicates,
        "replaced": replaced,
        "notes": "; ".join(plan.notes) or None,
    }
