"""A big file's points written straight into ``points``, inside its load's own transaction.

:class:`tscorr.store.staging.SourceWriter` holds a file's parts in memory up to its hold;
past it, a file loaded alone opens its transaction (:class:`DirectWrites`) and writes each
part's points into ``points`` as it comes. DuckDB writes a transaction's big appends to the
database file as they come (its optimistic writes), so memory holds about one part; measured
alone, 60 M points took 3.3 s and 5.6 CPU-s this way against 5.3 s and 9.7 CPU-s staged in a
temporary table and then copied, and a 60 M-row Parquet file loads in about 8 s instead of 11
(``docs/benchmarks.md``). The final transaction (:mod:`tscorr.store.commit`) then only checks
the file's points against the stored ones they repeat. A failure rolls everything back; the
blocks the transaction wrote stay in the file as free space, which later writes reuse.

The file's source id and its series' ids are taken when the transaction opens (a stored
series keeps its own id, a new one takes the next free id in the order the file brought
them: the ids a held file's final transaction gives), after the sources ``--force``
replaces are removed, as a held file's final transaction removes them first. So another
connection of the same process (the command line has one) that commits a load while this
one is open makes this one fail at its commit, its ids taken, changing nothing (a held file
takes its ids at the commit and loads); one that removes a series this file adds to is
caught at the commit (:meth:`DirectWrites.still_stored`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import islice
from typing import TYPE_CHECKING

import polars as pl

from tscorr.errors import BadInput

if TYPE_CHECKING:  # the store mixin that owns a load (for types only)
    from tscorr.store.ingest import _Loading


class DirectWrites:
    """The open transaction of one file's load and what it wrote into ``points``."""

    def __init__(self, store: _Loading, replace: Sequence[int]) -> None:
        """Open the transaction: remove the sources ``replace`` names, take the file's
        source id (the caller rolls back if this fails: :meth:`SourceWriter.drop_stage`)."""
        self.store = store
        self.ids: list[int] = []  # the load's code -> series_id
        self.known: list[bool] = []  # ... a stored series' own id (else a new one)
        self._ids: pl.Series | None = None
        self.written = 0  # points of the file in ``points`` (repeats deleted)
        store.con.begin()
        store._remove(replace)
        self.source_id = store._next_id("sources", "source_id")
        self._next_series = store._next_id("series", "series_id")
        self._columns = store._columns("points")  # in the table's order

    def series_ids(self, codes: Mapping[str, int]) -> pl.Series:
        """series_id by the load's code, for every name of ``codes`` (name -> code, codes
        0, 1, 2 ... in the dict's order): a stored series' own, else the next free id."""
        if len(self.ids) < len(codes):
            names = list(islice(codes, len(self.ids), None))
            with self.store._registered("_tscorr_names", pl.DataFrame({"series": names})):
                stored = dict(
                    self.store._exec(
                        "SELECT s.name, s.series_id FROM series s "
                        "JOIN _tscorr_names n ON s.name = n.series"
                    )
                )
            for name in names:
                self.known.append(name in stored)
                if name in stored:
                    self.ids.append(int(stored[name]))
                else:
                    self.ids.append(self._next_series)
                    self._next_series += 1
            self._ids = None
        if self._ids is None:
            self._ids = pl.Series("series_id", self.ids, dtype=pl.Int64)
        return self._ids

    def assigned(self, codes: Mapping[str, int]) -> pl.DataFrame:
        """(code, series_id, known) of every series of ``codes``."""
        ids = self.series_ids(codes)
        return pl.DataFrame(
            [
                pl.int_range(0, ids.len(), dtype=pl.Int64, eager=True).alias("code"),
                ids,
                pl.Series("known", self.known, dtype=pl.Boolean),
            ]
        )

    def write(self, points: pl.DataFrame, codes: Mapping[str, int]) -> None:
        """One part's points (``code, ts, value, flag``) into ``points``. Not through a
        registered frame: a registration is a view in the catalog, which the open
        transaction keeps, with its frame, until it ends (memory grew with the file: 2.5 GB
        at 60 M rows, against 0.8 GB now and 1.6 GB staged)."""
        rows = pl.DataFrame(
            [
                self.series_ids(codes).gather(points["code"]),
                points["ts"],
                points["value"],
                points["flag"],
                pl.repeat(self.source_id, points.height, dtype=pl.Int64, eager=True).alias(
                    "source_id"
                ),
            ]
        )
        self.store._insert_rows("points", rows, self._columns)
        self.written += rows.height

    def drop(self, marked: pl.DataFrame, codes: Mapping[str, int]) -> int:
        """Delete the file's points written earlier at the (``code``, ``ts``) of ``marked``
        (a later part repeats them): how many were deleted."""
        again = pl.DataFrame([self.series_ids(codes).gather(marked["code"]), marked["ts"]])
        with self.store._registered("_tscorr_again", again):
            gone = int(
                self.store._exec(
                    "DELETE FROM points USING _tscorr_again a WHERE points.source_id = ? "
                    "AND points.series_id = a.series_id AND points.ts = a.ts",
                    [self.source_id],
                )[0][0]
            )
        self.written -= gone
        return gone

    def still_stored(self, known: pl.DataFrame) -> None:
        """Refuse the load if a stored series its points were given the id of (``known``:
        series, series_id) is gone from the database as committed now: another connection
        removed it while the transaction was open (its snapshot still shows it), and the
        points would name no series."""
        if known.height == 0:
            return
        now = self.store.con.cursor()  # a connection of its own: what is committed now
        try:
            now.register("_tscorr_known", known.select("series", "series_id"))
            gone = now.execute(
                "SELECT k.series FROM _tscorr_known k ANTI JOIN series s "
                "ON s.series_id = k.series_id AND s.name = k.series LIMIT 1"
            ).fetchall()
        finally:
            now.close()
        if gone:
            raise BadInput(
                f"{self.store.name}: series {gone[0][0]} was removed by another connection "
                "while this file was loaded; nothing was changed: load the file again"
            )

    def times(self, registered: str) -> str:
        """SQL of the (code, ts) of the file's points, with ``registered`` the name of a
        registered frame of (code, series_id): :meth:`assigned`'s."""
        return (
            f"(SELECT i.code, p.ts FROM points p JOIN {registered} i USING (series_id) "
            f"WHERE p.source_id = {int(self.source_id)})"
        )
