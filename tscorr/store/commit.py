"""The final transaction of a file's load (:meth:`tscorr.store.staging.SourceWriter.finish`):
its source row, its new series with their ids and steps, its points, censored rows, events
and rejects moved from the stage (or the held parts registered under the stage names) into
the tables, replacing what ``--force`` replaces and the stored points it repeats. A big file
that wrote its points straight into ``points`` (its transaction open since) took its source
id, its series ids and ``--force``'s removals when it began; its points are then only
checked against the stored ones they repeat.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import polars as pl

from tscorr.store.partitions import refuse_parquet_series

if TYPE_CHECKING:
    from tscorr.store.staging import SourceWriter


def stage_name(kind: str, tag: str = "") -> str:
    """The stage table of ``kind``; ``tag`` tells apart the stages of the files of one load
    that commits them together."""
    return f"_tscorr_stage_{kind}{tag}"


def commit(writer: SourceWriter, notes: Sequence[str]) -> dict[str, int]:
    """Move ``writer``'s file from its stage (or its held parts, registered under the
    stage names) into the tables, in the caller's transaction: what was written."""
    store, meta = writer.store, writer.meta
    series = _series_frame(writer)
    direct = writer.direct
    if direct is None:
        store._remove(writer.replace)
        source_id = store._next_id("sources", "source_id")
        with store._registered("_tscorr_names", series.select("series")):
            known = store.query(
                "SELECT s.name AS series, s.series_id FROM series s "
                "JOIN _tscorr_names n ON s.name = n.series"
            )
        new = series.join(known, on="series", how="anti")
        first_id = store._next_id("series", "series_id")
        new = new.with_columns(
            (pl.int_range(0, pl.len(), dtype=pl.Int64) + first_id).alias("series_id")
        )
    else:  # written directly: the ids were given as the points came
        source_id = direct.source_id
        given = series.join(direct.assigned(writer.codes), on="code")
        known = given.filter(pl.col("known")).select("series", "series_id")
        new = given.filter(~pl.col("known")).drop("known")
        direct.still_stored(known)
    refuse_parquet_series(store, known)
    store._exec(
        "INSERT INTO sources (source_id, feed, path, sha256, bytes, loaded_at, tz, options) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            source_id,
            meta.feed,
            meta.path,
            meta.sha256,
            meta.bytes,
            datetime.now(UTC),
            meta.tz,
            json.dumps(dict(meta.options), default=str),
        ],
    )
    if new.height:
        with store._registered("_tscorr_new_series", new):
            store._exec(
                "INSERT INTO series (series_id, name, feed, unit, agg, source_id, attrs, "
                "kind, step, tz) SELECT series_id, series, ?, unit, agg, ?, attrs, kind, "
                "step, ? FROM _tscorr_new_series",
                [meta.feed, source_id, meta.tz],
            )
    if writer.replace and known.height:  # --force: the file's metadata replaces the stored
        with store._registered("_tscorr_meta", series.join(known, on="series")):
            store._exec(
                "UPDATE series SET feed = ?, unit = m.unit, agg = m.agg, attrs = m.attrs, "
                "kind = m.kind, step = m.step, tz = ? FROM _tscorr_meta m "
                "WHERE series.series_id = m.series_id",
                [meta.feed, meta.tz],
            )
    ids = pl.concat([known, new.select("series", "series_id")]).join(
        series.select("series", "code"), on="series"
    )
    replaced = 0
    points, censored = stage_name("points", writer.tag), stage_name("censored", writer.tag)
    with store._registered("_tscorr_ids", ids.select("code", "series_id")):
        staged = f"(SELECT i.series_id, p.* FROM {points} p JOIN _tscorr_ids i USING (code))"
        shift = (ids["series_id"] - ids["code"]).unique()
        if shift.len() == 1 and ids.height == series.height:  # ids in code order: no join
            staged = (
                f"(SELECT CAST(p.code AS BIGINT) + {int(shift[0])} AS series_id, p.* "
                f"FROM {points} p)"
            )
        written = staged
        if direct is not None:  # the file's points are in ``points`` already
            written = f"(SELECT series_id, ts FROM points WHERE source_id = {source_id})"
        if known.height:
            # only series that already had points can overlap: replace, never duplicate
            replaced = int(
                store._exec(
                    f"DELETE FROM points USING {written} i "
                    "WHERE points.series_id = i.series_id AND points.ts = i.ts "
                    "AND points.source_id IS DISTINCT FROM ?",
                    [source_id],
                )[0][0]
            )
            store._exec(
                f"DELETE FROM censored USING (SELECT i.series_id, c.ts FROM {censored} c "
                "JOIN _tscorr_ids i USING (code)) c "
                "WHERE censored.series_id = c.series_id AND censored.ts = c.ts"
            )
        n_points = direct.written if direct is not None else 0
        if direct is None:
            n_points = int(
                store._exec(
                    "INSERT INTO points (series_id, ts, value, flag, source_id) "
                    f"SELECT series_id, ts, value, flag, ? FROM {staged}",
                    [source_id],
                )[0][0]
            )
        store._exec(
            f"INSERT INTO censored SELECT i.series_id, c.ts, c.below, ? FROM {censored} c "
            "JOIN _tscorr_ids i USING (code)",
            [source_id],
        )
    n_events, skipped = _events(writer, source_id)
    store._exec(
        f"INSERT INTO rejects SELECT ?, line, raw, reason FROM {stage_name('rejects', writer.tag)}",
        [source_id],
    )
    duplicates = writer.duplicates + skipped
    loaded = writer.rows_read - writer.rows_rejected
    store._exec(
        "UPDATE sources SET rows_read = ?, rows_loaded = ?, rows_rejected = ?, notes = ?, "
        "points_loaded = ?, events_loaded = ?, duplicates = ?, replaced = ? "
        "WHERE source_id = ?",
        [
            writer.rows_read,
            loaded,
            writer.rows_rejected,
            "; ".join(notes) or None,
            n_points,
            n_events,
            duplicates,
            replaced,
            source_id,
        ],
    )
    return {
        "source_id": source_id,
        "rows_read": writer.rows_read,
        "rows_loaded": loaded,
        "rows_rejected": writer.rows_rejected,
        "points": n_points,
        "events": n_events,
        "series": series.height,
        "duplicates": duplicates,
        "replaced": replaced,
    }

def _series_frame(writer: SourceWriter) -> pl.DataFrame:
    """Each series of the file once, with its code and its step (given or detected)."""
    if not writer.series_meta:
        return pl.DataFrame(schema={"series": pl.String, "code": pl.Int64, "step": pl.String})
    meta = pl.concat(writer.series_meta)
    detected = pl.DataFrame(
        {"code": list(writer.steps), "detected": list(writer.steps.values())},
        schema={"code": pl.Int64, "detected": pl.String},
    )
    return (
        meta.join(detected, on="code", how="left")
        .with_columns(pl.coalesce("step", "detected").alias("step"))
        .drop("detected")
    )

def _events(writer: SourceWriter, source_id: int) -> tuple[int, int]:
    """Insert the file's events not already stored (nor earlier in the file): (written,
    skipped)."""
    store = writer.store
    events = stage_name("events", writer.tag)
    total = int(store._exec(f"SELECT count(*) FROM {events}")[0][0])
    if total == 0:
        return 0, 0
    first_id = store._next_id("events", "event_id")
    written = int(
        store._exec(
            "INSERT INTO events (event_id, ts, ts_end, kind, name, weight, source_id, attrs) "
            "SELECT ? + row_number() OVER (ORDER BY seq) - 1, ts, ts_end, kind, name, "
            f"weight, ?, attrs FROM (SELECT * FROM {events} e "
            "QUALIFY row_number() OVER (PARTITION BY ts, ts_end, kind, name, attrs "
            "ORDER BY seq) = 1) e WHERE NOT EXISTS (SELECT 1 FROM events x "
            "WHERE x.ts = e.ts AND x.kind = e.kind AND x.name IS NOT DISTINCT FROM e.name "
            "AND x.ts_end IS NOT DISTINCT FROM e.ts_end "
            "AND CAST(x.attrs AS VARCHAR) IS NOT DISTINCT FROM CAST(e.attrs AS VARCHAR))",
            [first_id, source_id],
        )[0][0]
    )
    return written, total - written
