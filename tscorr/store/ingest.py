"""Writing a file's frames, and replacing or removing what a source loaded."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from tscorr.errors import NotFound
from tscorr.frames import POINTS, FeedFrames
from tscorr.store.base import _Base


@dataclass(frozen=True)
class SourceMeta:
    feed: str
    path: str
    sha256: str
    bytes: int
    tz: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class IngestCounts:
    source_id: int
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    points: int
    events: int
    series: int
    duplicates: int
    replaced: int


POINTS_TS = POINTS["ts"]


class _Loading(_Base):
    """Sources in and out: ingest a file's frames, replace or remove a source."""

    def find_source(self, sha256: str) -> dict[str, Any] | None:
        rows = self.query(
            "SELECT source_id, feed, path, loaded_at FROM sources WHERE sha256 = ? "
            "ORDER BY source_id DESC LIMIT 1",
            [sha256],
        ).to_dicts()
        return rows[0] if rows else None

    def sources_like(self, sha256: str, path: str) -> list[int]:
        """Sources of the same content or loaded from the same file (what --force replaces)."""
        target = str(Path(path).resolve())
        return sorted(
            int(r["source_id"])
            for r in self.query("SELECT source_id, path, sha256 FROM sources").to_dicts()
            if r["sha256"] == sha256
            or r["path"] == path
            or str(Path(r["path"]).resolve()) == target
        )

    def resolve_sources(self, which: str) -> list[int]:
        """Source ids for a source id or a path as loaded (or resolving to the same file)."""
        if which.strip().isdigit():
            found = self.query("SELECT source_id FROM sources WHERE source_id = ?", [int(which)])[
                "source_id"
            ].to_list()
        else:
            target = str(Path(which).resolve())
            found = [
                int(r["source_id"])
                for r in self.query("SELECT source_id, path FROM sources").to_dicts()
                if r["path"] == which or str(Path(r["path"]).resolve()) == target
            ]
        if not found:
            raise NotFound(f"no source '{which}'; 'tscorr ls sources' lists ids and paths")
        return sorted(found)

    def remove_sources(self, ids: Sequence[int]) -> dict[str, int]:
        """Delete sources and everything they loaded, in one transaction; returns counts."""
        with self.transaction():
            return self._remove(ids)

    def _remove(self, ids: Sequence[int]) -> dict[str, int]:
        if not ids:
            return {}
        frame = pl.DataFrame({"source_id": list(ids)}, schema={"source_id": pl.Int64})
        counts: dict[str, int] = {}
        with self._registered("_tscorr_gone", frame):
            for table in ("points", "events", "censored", "rejects"):
                counts[table] = int(
                    self._exec(
                        f"DELETE FROM {table} WHERE source_id IN "
                        "(SELECT source_id FROM _tscorr_gone)"
                    )[0][0]
                )
            counts["series"] = int(
                self._exec(
                    "DELETE FROM series s WHERE NOT EXISTS (SELECT 1 FROM points p "
                    "WHERE p.series_id = s.series_id) AND NOT EXISTS (SELECT 1 FROM censored c "
                    "WHERE c.series_id = s.series_id)"
                )[0][0]
            )
            # a series that lives on in other sources now belongs to the first of them
            self._exec(
                "UPDATE series SET source_id = (SELECT min(p.source_id) FROM points p "
                "WHERE p.series_id = series.series_id) "
                "WHERE source_id IN (SELECT source_id FROM _tscorr_gone)"
            )
            counts["sources"] = int(
                self._exec(
                    "DELETE FROM sources WHERE source_id IN (SELECT source_id FROM _tscorr_gone)"
                )[0][0]
            )
        return counts

    def ingest(
        self,
        meta: SourceMeta,
        frames: FeedFrames,
        notes: Sequence[str] = (),
        replace: Sequence[int] = (),
    ) -> IngestCounts:
        """Write one file's frames in one transaction and return what was written (the
        series' steps as the frames say; :meth:`loading` detects the missing ones)."""
        with self.loading(meta, replace) as writer:
            writer.add(frames)
            return writer.finish(notes)

    @contextmanager
    def loading(self, meta: SourceMeta, replace: Sequence[int] = ()) -> Iterator[SourceWriter]:
        """One file's load as one transaction, written part by part (a big file's blocks):
        ``replace``: sources removed first (``load --force``); the file's series metadata
        (kind, agg, unit, step) then replaces the stored one. An exception (a bad block, a
        refused row under ``--strict``, Ctrl-C) leaves the database as it was."""
        with self.transaction():
            self._remove(replace)
            source_id = self._next_id("sources", "source_id")
            self._exec(
                "INSERT INTO sources (source_id, feed, path, sha256, bytes, loaded_at, rows_read, "
                "rows_loaded, rows_rejected, tz, options, notes) "
                "VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, ?, ?, NULL)",
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
            yield SourceWriter(self, meta, source_id, update_meta=bool(replace))

    def _write_censored(self, source_id: int, censored: pl.DataFrame, ids: pl.DataFrame) -> None:
        if censored.height == 0:
            return
        rows = censored.join(ids, on="series", how="inner").select("series_id", "ts", "below")
        with self._registered("_tscorr_censored", rows):
            self._exec(
                "DELETE FROM censored USING _tscorr_censored c "
                "WHERE censored.series_id = c.series_id AND censored.ts = c.ts"
            )
            self._exec(
                "INSERT INTO censored SELECT series_id, ts, below, ? FROM _tscorr_censored",
                [source_id],
            )

    def _write_events(self, source_id: int, events: pl.DataFrame) -> tuple[int, int]:
        if events.height == 0:
            return 0, 0
        first_id = self._next_id("events", "event_id")
        with self._registered("_tscorr_events", events):
            fresh = self.query(
                "SELECT e.* FROM _tscorr_events e WHERE NOT EXISTS (SELECT 1 FROM events x "
                "WHERE x.ts = e.ts AND x.kind = e.kind AND x.name IS NOT DISTINCT FROM e.name "
                "AND x.ts_end IS NOT DISTINCT FROM e.ts_end "
                "AND CAST(x.attrs AS VARCHAR) IS NOT DISTINCT FROM CAST(e.attrs AS VARCHAR))"
            )
        fresh = fresh.with_columns(
            (pl.int_range(0, pl.len(), dtype=pl.Int64) + first_id).alias("event_id")
        )
        with self._registered("_tscorr_fresh", fresh):
            self._exec(
                "INSERT INTO events (event_id, ts, ts_end, kind, name, weight, source_id, attrs) "
                "SELECT event_id, ts, ts_end, kind, name, weight, ?, attrs FROM _tscorr_fresh",
                [source_id],
            )
        return fresh.height, events.height - fresh.height


class SourceWriter:
    """A file's rows going into the store, part by part, inside :meth:`_Loading.loading`.

    Parts are written as they come, so memory holds one part. A (series, time) seen again in
    a later part replaces the earlier one, as a later line does within a part, and counts as
    a duplicate; one loaded by another source is replaced and counted as such.
    """

    def __init__(
        self, store: _Loading, meta: SourceMeta, source_id: int, update_meta: bool
    ) -> None:
        self.store = store
        self.meta = meta
        self.source_id = source_id
        self.update_meta = update_meta
        self.rows_read = self.rows_rejected = self.points = self.events = 0
        self.duplicates = self.replaced = 0
        self.series: set[int] = set()  # every series of the file
        self.earlier: set[int] = set()  # series that existed before this load
        self.unstepped: set[int] = set()  # series whose step is to be detected
        # the latest time this load wrote to each series: a part's rows after it are new
        self.latest = pl.DataFrame(schema={"series_id": pl.Int64, "ts": POINTS_TS})

    def add(self, frames: FeedFrames) -> None:
        """Write one part: its points, censored rows, events and rejects."""
        store, source_id = self.store, self.source_id
        self.rows_read += frames.rows_read
        self.rows_rejected += frames.rejects.height
        self.duplicates += frames.duplicates
        self._write_points(frames)
        n_events, skipped = store._write_events(source_id, frames.events)
        self.events += n_events
        self.duplicates += skipped
        if frames.rejects.height:
            with store._registered("_tscorr_rejects", frames.rejects):
                store._exec(
                    "INSERT INTO rejects SELECT ?, line, raw, reason FROM _tscorr_rejects",
                    [source_id],
                )

    def step_batches(self, max_rows: int) -> Iterator[pl.DataFrame]:
        """(series_id, ts) of this file's points and censored rows, series by series in time
        order, for the series whose step is to be detected; about ``max_rows`` rows at a time
        (a series is never split)."""
        if not self.unstepped:
            return
        store = self.store
        ids = pl.DataFrame({"series_id": sorted(self.unstepped)}, schema={"series_id": pl.Int64})
        with store._registered("_tscorr_unstepped", ids):
            sizes = store.query(
                "SELECT series_id, count(*) AS n FROM (SELECT series_id FROM points WHERE "
                "source_id = ? UNION ALL SELECT series_id FROM censored WHERE source_id = ?) "
                "JOIN _tscorr_unstepped USING (series_id) GROUP BY ALL ORDER BY series_id",
                [self.source_id, self.source_id],
            )
        batch: list[int] = []
        rows = 0
        for sid, n in sizes.iter_rows():
            batch.append(sid)
            rows += n
            if rows >= max_rows:
                yield self._times(batch)
                batch, rows = [], 0
        if batch:
            yield self._times(batch)

    def _times(self, ids: list[int]) -> pl.DataFrame:
        frame = pl.DataFrame({"series_id": ids}, schema={"series_id": pl.Int64})
        with self.store._registered("_tscorr_batch", frame):
            return self.store.query(
                "SELECT series_id AS series, ts FROM (SELECT series_id, ts FROM points "
                "WHERE source_id = ? UNION ALL SELECT series_id, ts FROM censored "
                "WHERE source_id = ?) SEMI JOIN _tscorr_batch USING (series_id) "
                "ORDER BY series_id, ts",
                [self.source_id, self.source_id],
            )

    def set_steps(self, steps: Mapping[int, str | None]) -> None:
        """Store the detected native step of series (by id)."""
        found = pl.DataFrame(
            {"series_id": list(steps), "step": list(steps.values())},
            schema={"series_id": pl.Int64, "step": pl.String},
        )
        with self.store._registered("_tscorr_steps", found):
            self.store._exec(
                "UPDATE series SET step = m.step FROM _tscorr_steps m "
                "WHERE series.series_id = m.series_id"
            )

    def finish(self, notes: Sequence[str] = ()) -> IngestCounts:
        """The source's counts and notes, as the file's last part left them."""
        loaded = self.rows_read - self.rows_rejected
        self.store._exec(
            "UPDATE sources SET rows_read = ?, rows_loaded = ?, rows_rejected = ?, notes = ?, "
            "points_loaded = ?, events_loaded = ?, duplicates = ?, replaced = ? "
            "WHERE source_id = ?",
            [
                self.rows_read,
                loaded,
                self.rows_rejected,
                "; ".join(notes) or None,
                self.points,
                self.events,
                self.duplicates,
                self.replaced,
                self.source_id,
            ],
        )
        return IngestCounts(
            source_id=self.source_id,
            rows_read=self.rows_read,
            rows_loaded=loaded,
            rows_rejected=self.rows_rejected,
            points=self.points,
            events=self.events,
            series=len(self.series),
            duplicates=self.duplicates,
            replaced=self.replaced,
        )

    def _write_points(self, frames: FeedFrames) -> None:
        store, source_id = self.store, self.source_id
        names = frames.series
        if frames.points.height == 0 and frames.censored.height == 0:
            return
        with store._registered("_tscorr_names", names.select("series")):
            known = store.query(
                "SELECT s.name AS series, s.series_id, coalesce(s.source_id = ?, false) AS ours "
                "FROM series s "
                "JOIN _tscorr_names n ON s.name = n.series",
                [source_id],
            )
        first_time = known.filter(~pl.col("series_id").is_in(list(self.series)))
        self.earlier.update(first_time.filter(~pl.col("ours"))["series_id"].to_list())
        new = names.join(known, on="series", how="anti")
        first_id = store._next_id("series", "series_id")
        new = new.with_columns(
            (pl.int_range(0, pl.len(), dtype=pl.Int64) + first_id).alias("series_id")
        )
        if new.height:
            with store._registered("_tscorr_new_series", new):
                store._exec(
                    "INSERT INTO series (series_id, name, feed, unit, agg, source_id, attrs, "
                    "kind, step, tz) SELECT series_id, series, ?, unit, agg, ?, attrs, kind, "
                    "step, ? FROM _tscorr_new_series",
                    [self.meta.feed, source_id, self.meta.tz],
                )
            self.unstepped.update(new.filter(pl.col("step").is_null())["series_id"].to_list())
        # under --force the file's metadata replaces the stored one, once, as first seen
        renamed = names.join(first_time.filter(~pl.col("ours")), on="series")
        if self.update_meta and renamed.height:
            with store._registered("_tscorr_meta", renamed):
                store._exec(
                    "UPDATE series SET feed = ?, unit = m.unit, agg = m.agg, attrs = m.attrs, "
                    "kind = m.kind, step = m.step, tz = ? FROM _tscorr_meta m "
                    "WHERE series.series_id = m.series_id",
                    [self.meta.feed, self.meta.tz],
                )
            self.unstepped.update(renamed.filter(pl.col("step").is_null())["series_id"].to_list())
        ids = pl.concat([known.select("series", "series_id"), new.select("series", "series_id")])
        self.series.update(ids["series_id"].to_list())
        store._write_censored(source_id, frames.censored, ids)
        if frames.points.height == 0:
            return
        # names -> ids through an Enum of this part's series (cheaper than a string join)
        order = ids.sort("series")
        codes = frames.points["series"].cast(pl.Enum(order["series"].to_list())).to_physical()
        incoming = frames.points.select(
            pl.Series("series_id", order["series_id"].to_numpy()[codes.to_numpy()]),
            "ts",
            "value",
            "flag",
        )
        # rows that may meet a stored point: series of other sources, or times this load
        # wrote already (a series met again in a later part of the file, at or before its
        # latest time); the rest cannot, and skip the join
        mask = pl.col("series_id").is_in(list(self.earlier))
        if self.latest.height:
            incoming = incoming.join(
                self.latest.rename({"ts": "latest"}), on="series_id", how="left"
            )
            mask = mask | (pl.col("ts") <= pl.col("latest")).fill_null(False)
            overlap = incoming.filter(mask).drop("latest")
            incoming = incoming.drop("latest")
        else:
            overlap = incoming.filter(mask)
        if overlap.height:
            with store._registered("_tscorr_overlap", overlap):
                ours, others = store._exec(
                    "SELECT count(*) FILTER (WHERE p.source_id = ?), "
                    "count(*) FILTER (WHERE p.source_id <> ?) FROM points p "
                    "JOIN _tscorr_overlap i ON p.series_id = i.series_id AND p.ts = i.ts",
                    [source_id, source_id],
                )[0]
                if ours or others:
                    store._exec(
                        "DELETE FROM points USING _tscorr_overlap i "
                        "WHERE points.series_id = i.series_id AND points.ts = i.ts"
                    )
            self.duplicates += int(ours)
            self.points -= int(ours)
            self.replaced += int(others)
        with store._registered("_tscorr_points", incoming):
            store._exec(
                "INSERT INTO points (series_id, ts, value, flag, source_id) "
                "SELECT series_id, ts, value, flag, ? FROM _tscorr_points",
                [source_id],
            )
        self.points += incoming.height
        self.latest = (
            pl.concat([self.latest, incoming.group_by("series_id").agg(pl.col("ts").max())])
            .group_by("series_id")
            .agg(pl.col("ts").max())
        )
