"""The catalogue of Parquet datasets of whole series (``tscorr partition``): which folder,
and which file holds each series (its stable bucket)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import polars as pl

from tscorr.errors import NotFound
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
                    "INSERT INTO partition_files SELECT ?, series_id, file FROM _tscorr_files",
                    [dataset_id],
                )
        return dataset_id

    def partition_set(self) -> tuple[int, str]:
        """(dataset_id, path) of the latest dataset."""
        row = self._exec(
            "SELECT dataset_id, path FROM partition_sets ORDER BY dataset_id DESC LIMIT 1"
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
