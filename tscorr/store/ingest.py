"""Writing a file's frames, and replacing or removing what a source loaded."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from tscorr.errors import NotFound
from tscorr.frames import FeedFrames
from tscorr.store.base import _Base
from tscorr.store.staging import IngestCounts, SourceMeta, SourceWriter

LOAD_MEMORY = 2**30  # DuckDB's memory during a load, at most (bytes)


class _Loading(_Base):
    """Sources in and out: ingest a file's frames, replace or remove a source."""

    def find_source(self, sha256: str) -> dict[str, Any] | None:
        rows = self.query(
            "SELECT source_id, feed, path, loaded_at, rows_loaded FROM sources WHERE sha256 = ? "
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
            # (a series whose points live in a load's Parquet dataset stays: its points do)
            counts["series"] = int(
                self._exec(
                    "DELETE FROM series s WHERE NOT EXISTS (SELECT 1 FROM points p "
                    "WHERE p.series_id = s.series_id) AND NOT EXISTS (SELECT 1 FROM censored c "
                    "WHERE c.series_id = s.series_id) AND NOT EXISTS (SELECT 1 FROM "
                    "partition_files f JOIN partition_sets d USING (dataset_id) "
                    "WHERE d.how = 'loaded' AND f.series_id = s.series_id)"
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
        series' steps as the frames say; :meth:`loading` can detect the missing ones)."""
        with self.loading(meta, replace) as writer:
            writer.add(frames)
            return writer.finish(notes)

    @contextmanager
    def loading(
        self,
        meta: SourceMeta,
        replace: Sequence[int] = (),
        hold_rows: int | None = None,
        tag: str = "",
        alone: bool = True,
    ) -> Iterator[SourceWriter]:
        """One file's load, written part by part (a big file's blocks) and made visible in one
        transaction by :meth:`SourceWriter.finish`. ``replace``: sources removed in that
        transaction (``load --force``); the file's series metadata (kind, agg, unit, step)
        then replaces the stored one. An exception before the end (a bad block, a refused
        row under ``--strict``, Ctrl-C) leaves the database as it was. ``hold_rows`` (0: stage
        every part on disk) and ``tag`` (the stage tables' suffix) are for a load of several
        files committed together (:meth:`SourceWriter.finish` without its own transaction;
        ``alone`` False: its points are staged too, never written in a transaction of its own)."""
        writer = SourceWriter(self, meta, replace, hold_rows, tag, alone)
        # a load needs little of DuckDB's memory: what it caches of the pages it writes is
        # capped, so a load's peak does not grow with the file. A store tscorr opened has its
        # configuration locked: the cap is chosen when it is opened (Store.open's loading);
        # a caller's own connection keeps its own settings
        try:
            yield writer
        finally:
            writer.drop_stage()
