"""The catalogue of Parquet datasets of whole series (``tscorr partition``): which folder,
and which file holds each series (its stable bucket).

A dataset written by a load (``tscorr load --partitions``, ``how = 'loaded'``) holds the only
copy of its series' points: the catalogue keeps each series' first and last time and its
points beside its file, and the analyses read the points from the file."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from tscorr.errors import BadInput, NotFound
from tscorr.store.base import _Base


class _Partitions(_Base):
    def save_partition_set(self, path: str, how: str, files: pl.DataFrame, points: int) -> int:
        """Record a dataset at ``path`` (``how``: written or registered) and the file of each
        series (``files``: series_id, file) in one transaction; returns its id."""
        with self.transaction():
            dataset_id = self._next_id("partition_sets", "dataset_id")
            self._exec(
                "INSERT INTO partition_sets VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    dataset_id,
                    path,
                    how,
                    datetime.now(UTC),
                    int(files["file"].n_unique()),
                    files.height,
                    points,
                ],
            )
            with self._registered("_tscorr_files", files.select("series_id", "file")):
                self._exec(
                    "INSERT INTO partition_files (dataset_id, series_id, file) "
                    "SELECT ?, series_id, file FROM _tscorr_files",
                    [dataset_id],
                )
        return dataset_id

    def partition_set(self, of_points: bool = False) -> tuple[int, str]:
        """(dataset_id, path) of the latest dataset; ``of_points``: the latest that holds the
        database's points (written or registered by ``tscorr partition``, not made by
        ``load --partitions``, whose series live in their own dataset only)."""
        where = "WHERE how <> 'loaded' " if of_points else ""
        row = self._exec(
            f"SELECT dataset_id, path FROM partition_sets {where}ORDER BY dataset_id DESC LIMIT 1"
        )
        if not row:
            raise NotFound(
                "no Parquet partitions of this database yet; write them with "
                "'tscorr partition DIR' first"
            )
        return int(row[0][0]), str(row[0][1])

    def partition_files(self, dataset_id: int, series_ids: Sequence[int]) -> pl.DataFrame:
        """(series_id, file) of the given series in dataset ``dataset_id`` (missing: absent)."""
        ids = pl.DataFrame({"series_id": list(series_ids)}, schema={"series_id": pl.Int64})
        with self._registered("_tscorr_ids", ids):
            return self.query(
                "SELECT f.series_id, f.file FROM partition_files f "
                "JOIN _tscorr_ids USING (series_id) WHERE f.dataset_id = ? "
                "ORDER BY f.series_id",
                [dataset_id],
            )

    def save_loaded_set(
        self,
        path: str,
        sources: list[dict[str, Any]],
        series: pl.DataFrame,
        rejects: pl.DataFrame,
    ) -> tuple[int, list[int], pl.DataFrame]:
        """A load whose points live in the Parquet dataset at ``path``, recorded in one
        transaction: the ``sources`` (one dict per file, in load order: the ``sources``
        table's columns without ids), the ``series`` (name, no: the position of the series'
        first source in ``sources``, feed, unit, agg, attrs, kind, step, tz, file, first_ts,
        last_ts, points; in the order their ids are given), the ``rejects`` (no, line, raw,
        reason) and the dataset. Refuses a series already in the catalogue (its points would
        live in two places). Returns (dataset_id, the sources' ids, (name, series_id))."""
        with self.transaction():
            with self._registered("_tscorr_names", series.select("name")):
                clash = self._exec(
                    "SELECT s.name, s.source_id FROM series s JOIN _tscorr_names n USING (name) "
                    "ORDER BY s.series_id LIMIT 1"
                )
            if clash:
                raise BadInput(
                    f"series {clash[0][0]} is in the database already (source {clash[0][1]}); "
                    "a load into Parquet partitions makes new series only: load these files "
                    "without --partitions, or into another database"
                )
            first_source = self._next_id("sources", "source_id")
            ids = [first_source + k for k in range(len(sources))]
            now = datetime.now(UTC)
            for source_id, row in zip(ids, sources, strict=True):
                self._exec(
                    "INSERT INTO sources (source_id, feed, path, sha256, bytes, loaded_at, "
                    "rows_read, rows_loaded, rows_rejected, points_loaded, events_loaded, "
                    "duplicates, replaced, tz, options, notes) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
                    [
                        source_id, row["feed"], row["path"], row["sha256"], row["bytes"], now,
                        row["rows_read"], row["rows_loaded"], row["rows_rejected"],
                        row["points_loaded"], row["duplicates"], row["replaced"], row["tz"],
                        row["options"], row["notes"],
                    ],
                )  # fmt: skip
            first_series = self._next_id("series", "series_id")
            numbered = series.with_columns(
                (pl.int_range(0, pl.len(), dtype=pl.Int64) + first_series).alias("series_id"),
                (pl.col("no").cast(pl.Int64) + first_source).alias("source_id"),
            )
            with self._registered("_tscorr_new_series", numbered):
                self._exec(
                    "INSERT INTO series (series_id, name, feed, unit, agg, source_id, attrs, "
                    "kind, step, tz) SELECT series_id, name, feed, unit, agg, source_id, attrs, "
                    "kind, step, tz FROM _tscorr_new_series"
                )
            if rejects.height:
                with self._registered("_tscorr_rejects", rejects):
                    self._exec(
                        "INSERT INTO rejects SELECT ? + no, line, raw, reason FROM _tscorr_rejects",
                        [first_source],
                    )
            held = numbered.filter(pl.col("file").is_not_null())
            dataset_id = self._next_id("partition_sets", "dataset_id")
            self._exec(
                "INSERT INTO partition_sets VALUES (?, ?, 'loaded', ?, ?, ?, ?)",
                [
                    dataset_id,
                    path,
                    now,
                    int(held["file"].n_unique()),
                    held.height,
                    int(held["points"].sum()),
                ],
            )
            with self._registered("_tscorr_files", held):
                self._exec(
                    "INSERT INTO partition_files (dataset_id, series_id, file, first_ts, "
                    "last_ts, points) SELECT ?, series_id, file, first_ts, last_ts, points "
                    "FROM _tscorr_files",
                    [dataset_id],
                )
        return dataset_id, ids, numbered.select("name", "series_id")

    def observed(self, series: str) -> pl.DataFrame:
        """(ts, value) of the series named ``series`` in time order: its stored points, or
        for a series whose points live in a Parquet dataset of a load, its file's."""
        frame = self.query(
            "SELECT ts, value FROM observations WHERE series = ? ORDER BY ts", [series]
        )
        if frame.height:
            return frame
        home = self._exec(
            "SELECT d.path, f.file FROM partition_files f JOIN partition_sets d "
            "USING (dataset_id) JOIN series s USING (series_id) WHERE d.how = 'loaded' "
            "AND s.name = ? ORDER BY f.dataset_id DESC LIMIT 1",
            [series],
        )
        if not home:
            return frame
        held = (
            pl.scan_parquet(Path(home[0][0]) / home[0][1])
            .filter(pl.col("series") == series)
            .select(pl.col("ts").dt.convert_time_zone("UTC"), "value")
            .collect()
            .sort("ts")
        )
        return held.cast(frame.schema)

    def parquet_homes(self, series_ids: Sequence[int]) -> pl.DataFrame:
        """(series_id, name, path, file) of the given series whose points live in a dataset
        of a load only (the latest such dataset holding each); the others are absent."""
        ids = pl.DataFrame({"series_id": list(series_ids)}, schema={"series_id": pl.Int64})
        with self._registered("_tscorr_ids", ids):
            return self.query(
                "SELECT f.series_id, s.name, d.path, f.file FROM partition_files f "
                "JOIN partition_sets d USING (dataset_id) JOIN series s USING (series_id) "
                "JOIN _tscorr_ids USING (series_id) WHERE d.how = 'loaded' "
                "QUALIFY row_number() OVER (PARTITION BY f.series_id "
                "ORDER BY f.dataset_id DESC) = 1 ORDER BY f.series_id"
            )


def refuse_parquet_series(store: _Base, known: pl.DataFrame) -> None:
    """A series whose points live in a Parquet dataset of a load takes no stored point."""
    with store._registered("_tscorr_known", known.select("series", "series_id")):
        held = store._exec(
            "SELECT k.series, d.path FROM _tscorr_known k JOIN partition_files f "
            "USING (series_id) JOIN partition_sets d USING (dataset_id) "
            "WHERE d.how = 'loaded' LIMIT 1"
        )
    if held:
        raise BadInput(
            f"series {held[0][0]} lives in the Parquet dataset at {held[0][1]} (tscorr load "
            "--partitions); its points are not added to the database: load this file into a "
            "database of its own"
        )
