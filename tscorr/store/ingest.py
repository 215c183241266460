"""Writing a file's frames, and replacing or removing what a source loaded."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from tscorr.errors import NotFound
from tscorr.frames import FeedFrames
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
        """Write one file's frames in one transaction and return what was written.

        ``replace``: sources removed first, in the same transaction (``load --force``); the
        file's series metadata (kind, agg, unit, step) then replaces the stored one.
        """
        rows_rejected = frames.rejects.height
        with self.transaction():
            self._remove(replace)
            source_id = self._next_id("sources", "source_id")
            self._exec(
                "INSERT INTO sources (source_id, feed, path, sha256, bytes, loaded_at, rows_read, "
                "rows_loaded, rows_rejected, tz, options, notes) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    source_id,
                    meta.feed,
                    meta.path,
                    meta.sha256,
                    meta.bytes,
                    datetime.now(UTC),
                    frames.rows_read,
                    frames.rows_read - rows_rejected,
                    rows_rejected,
                    meta.tz,
                    json.dumps(dict(meta.options), default=str),
                    "; ".join(notes) or None,
                ],
            )
            n_series, replaced = self._write_points(
                source_id, meta, frames, update_meta=bool(replace)
            )
            n_events, skipped = self._write_events(source_id, frames.events)
            if rows_rejected:
                with self._registered("_tscorr_rejects", frames.rejects):
                    self._exec(
                        "INSERT INTO rejects SELECT ?, line, raw, reason FROM _tscorr_rejects",
                        [source_id],
                    )
            duplicates = frames.duplicates + skipped
            self._exec(
                "UPDATE sources SET points_loaded = ?, events_loaded = ?, duplicates = ?, "
                "replaced = ? WHERE source_id = ?",
                [frames.points.height, n_events, duplicates, replaced, source_id],
            )
        return IngestCounts(
            source_id=source_id,
            rows_read=frames.rows_read,
            rows_loaded=frames.rows_read - rows_rejected,
            rows_rejected=rows_rejected,
            points=frames.points.height,
            events=n_events,
            series=n_series,
            duplicates=duplicates,
            replaced=replaced,
        )

    def _write_points(
        self, source_id: int, meta: SourceMeta, frames: FeedFrames, update_meta: bool
    ) -> tuple[int, int]:
        if frames.points.height == 0:
            return 0, 0
        feed = meta.feed
        names = frames.series
        with self._registered("_tscorr_names", names.select("series")):
            known = self.query(
                "SELECT s.name AS series, s.series_id FROM series s "
                "JOIN _tscorr_names n ON s.name = n.series"
            )
        new = names.join(known, on="series", how="anti")
        first_id = self._next_id("series", "series_id")
        new = new.with_columns(
            (pl.int_range(0, pl.len(), dtype=pl.Int64) + first_id).alias("series_id")
        )
        if new.height:
            with self._registered("_tscorr_new_series", new):
                self._exec(
                    "INSERT INTO series (series_id, name, feed, unit, agg, source_id, attrs, "
                    "kind, step, tz) SELECT series_id, series, ?, unit, agg, ?, attrs, kind, "
                    "step, ? FROM _tscorr_new_series",
                    [feed, source_id, meta.tz],
                )
        if update_meta and known.height:
            with self._registered("_tscorr_meta", names.join(known, on="series")):
                self._exec(
                    "UPDATE series SET feed = ?, unit = m.unit, agg = m.agg, attrs = m.attrs, "
                    "kind = m.kind, step = m.step, tz = ? FROM _tscorr_meta m "
                    "WHERE series.series_id = m.series_id",
                    [feed, meta.tz],
                )
        ids = pl.concat([known, new.select("series", "series_id")])
        self._write_censored(source_id, frames.censored, ids)
        # names -> ids through an Enum of this file's series (cheaper than a string join)
        order = ids.sort("series")
        codes = frames.points["series"].cast(pl.Enum(order["series"].to_list())).to_physical()
        incoming = frames.points.select(
            pl.Series("series_id", order["series_id"].to_numpy()[codes.to_numpy()]),
            "ts",
            "value",
            "flag",
        )
        replaced = 0
        with self._registered("_tscorr_points", incoming):
            if known.height:
                # Only series that already had points can overlap: replace, never duplicate.
                replaced = int(
                    self._exec(
                        "DELETE FROM points USING _tscorr_points i "
                        "WHERE points.series_id = i.series_id AND points.ts = i.ts"
                    )[0][0]
                )
            self._exec(
                "INSERT INTO points (series_id, ts, value, flag, source_id) "
                "SELECT series_id, ts, value, flag, ? FROM _tscorr_points",
                [source_id],
            )
        return names.height, replaced

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
