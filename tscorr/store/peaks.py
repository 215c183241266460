"""An xcorr run's peak rows ranked out of core: staged, adjusted and written in DuckDB.

A run spread over an engine that stores each pair's peak row (``--keep peaks``) hands its
pairs over task by task (:meth:`_Peaks.stage_peaks`: one frame of peak rows at a time, into
a temporary table that DuckDB keeps within its memory limit and spills to its temporary
folder); :meth:`_Peaks.rank_staged_peaks` computes ``q_peak`` (Benjamini-Hochberg over every
pair of the run) and ``q_set`` (within each event set) with window functions, bit for bit
the numbers of :func:`tscorr.analysis.kernels.adjust.bh_qvalues` (the same IEEE operations
in the same order: ``(p * m) / rank``, a running minimum from the largest p down, capped at
1; a NULL or non-finite p has a NULL q and does not count in m); and
:meth:`_Peaks.save_staged_run` writes the run in one transaction: every pair's peak row,
except the pairs given with every lag, whose rows replace it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from tscorr.store.reading import INSERT_ROWS, _Reading

STAGE = "_tscorr_peak_rows"  # temporary: the run's peak rows as the tasks give them
RANKED = "_tscorr_peak_q"  # temporary: (event_set, series, q_peak, q_set)

# the xcorr columns a staged peak row carries as they are stored (q_peak, q_set come later)
_ROW = (
    "event_set, series, lag, lag_seconds, r, n, p_value, q_value, p_peak, q_peak, "
    "p_method, q_set, p_peak_exact, p_check"
)


def bh_sql(source: str) -> str:
    """A SELECT of (event_set, series, q_peak, q_set) over ``source``'s (event_set, series,
    p_peak): Benjamini-Hochberg over every row (q_peak) and within each event set (q_set), as
    ``bh_qvalues`` computes it. Rows whose p is NULL, NaN or infinite get no row. One
    statement (DuckDB sorts once per window order; no join of the two)."""
    every, mine = "", "PARTITION BY event_set "
    # one row_number per order (two could order the ties of p apart), then each running
    # minimum from the largest p down
    return f"""
        SELECT event_set, series,
               least(min(scaled) OVER (
                   {every}ORDER BY i DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
               ), 1.0::DOUBLE) AS q_peak,
               least(min(scaled_set) OVER (
                   {mine}ORDER BY i_set DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
               ), 1.0::DOUBLE) AS q_set
        FROM (
            SELECT event_set, series, i, i_set,
                   (p * CAST(m AS DOUBLE)) / CAST(i AS DOUBLE) AS scaled,
                   (p * CAST(m_set AS DOUBLE)) / CAST(i_set AS DOUBLE) AS scaled_set
            FROM (
                SELECT event_set, series, p,
                       row_number() OVER ({every}ORDER BY p) AS i,
                       count(*) OVER ({every}) AS m,
                       row_number() OVER ({mine}ORDER BY p) AS i_set,
                       count(*) OVER ({mine}) AS m_set
                FROM (SELECT event_set, series, p_peak AS p FROM {source}
                      WHERE p_peak IS NOT NULL AND isfinite(p_peak))
            )
        )"""


class _Peaks(_Reading):
    def start_peak_stage(self) -> None:
        """An empty stage for one run's peak rows (one run at a time per connection)."""
        self.drop_peak_stage()

    def stage_peaks(self, frame: pl.DataFrame) -> None:
        """Append peak rows (one task's) to the stage. ``frame`` has the xcorr columns but
        ``p_value`` (NULL on a peak row stored alone), ``q_peak`` and ``q_set``, and
        ``detailed`` (the task tested every lag), ``disagrees`` (the exact check's verdict)
        and ``max_lag``; every frame of a run has the same columns."""
        if frame.height == 0:
            return
        with self._registered("_tscorr_peak_frame", frame):
            if self._table_exists_temp(STAGE):
                self._exec(f"INSERT INTO {STAGE} BY NAME SELECT * FROM _tscorr_peak_frame")
            else:
                self._exec(f"CREATE TEMP TABLE {STAGE} AS SELECT * FROM _tscorr_peak_frame")

    def _table_exists_temp(self, name: str) -> bool:
        return bool(
            self._exec("SELECT 1 FROM duckdb_tables() WHERE temporary AND table_name = ?", [name])
        )

    def rank_staged_peaks(self) -> None:
        """q_peak over every staged pair and q_set within each event set, into a temporary
        table (the stage is left as it is)."""
        if not self._table_exists_temp(STAGE):
            self._exec(
                f"CREATE TEMP TABLE {STAGE} (event_set VARCHAR, series VARCHAR, p_peak DOUBLE)"
            )
        self._exec(f"DROP TABLE IF EXISTS {RANKED}")
        self._exec(f"CREATE TEMP TABLE {RANKED} AS {bh_sql(STAGE)}")

    def staged_q(self) -> pl.DataFrame:
        """Every staged pair's (event_set, series, p_peak, q_peak, q_set), in no order."""
        return self.query(
            f"SELECT s.event_set, s.series, s.p_peak, q.q_peak, q.q_set FROM {STAGE} s "
            f"LEFT JOIN {RANKED} q USING (event_set, series)"
        )

    def staged_summary(self, strong: float) -> dict[str, Any]:
        """What the run's notes need, counted in SQL: ``pairs``; ``methods`` (pairs per
        p_method); ``checked`` (pairs with p_peak_exact) and ``disagrees``; ``tested``
        (pairs with a finite p_peak), ``strong`` (of them, p_peak <= ``strong``), ``p_min``
        and ``q_min``; ``widest`` (the widest window, 2 max_lag + 1)."""
        row = self._exec(
            f"SELECT count(*), count(p_peak_exact), count_if(disagrees), "
            f"count(*) FILTER (WHERE isfinite(p_peak)), "
            f"count(*) FILTER (WHERE isfinite(p_peak) AND p_peak <= ?), "
            f"min(p_peak) FILTER (WHERE isfinite(p_peak)), "
            f"(SELECT min(q_peak) FROM {RANKED}), max(2 * max_lag + 1) FROM {STAGE}",
            [strong],
        )[0]
        methods = self._exec(
            f"SELECT p_method, count(*) FROM {STAGE} GROUP BY p_method ORDER BY p_method"
        )
        keys = ("pairs", "checked", "disagrees", "tested", "strong", "p_min", "q_min", "widest")
        out: dict[str, Any] = dict(zip(keys, row, strict=True))
        out["methods"] = {str(name): int(count) for name, count in methods}
        return out

    def staged_discoveries(self, below: float) -> pl.DataFrame:
        """The staged pairs with ``q_peak <= below``: (event_set, series, detailed)."""
        return self.query(
            f"SELECT s.event_set, s.series, s.detailed FROM {STAGE} s "
            f"JOIN {RANKED} q USING (event_set, series) WHERE q.q_peak <= ? "
            "ORDER BY s.event_set, s.series",
            [below],
        )

    def save_staged_run(
        self,
        command: str,
        params: Mapping[str, Any],
        versions: Mapping[str, str],
        lags: pl.DataFrame,
        tables: Mapping[str, pl.DataFrame],
        label: str | None = None,
    ) -> int:
        """Record a run in one transaction: its ``runs`` row, every staged pair's peak row
        in ``xcorr`` with its q_peak and q_set, except the pairs ``lags`` gives every lag of
        (event_set, series, lag, lag_seconds, r, n, p_value, q_value: their p_peak, method,
        q and check come from their staged row), and ``tables`` as :meth:`save_run` writes
        them. Returns the run_id."""
        keys = (
            pl.DataFrame(schema={"event_set": pl.String, "series": pl.String})
            if lags.height == 0
            else lags.select("event_set", "series").unique()
        )
        with self.transaction():
            run_id = self._insert_run(command, params, versions, label)
            with self._registered("_tscorr_whole", keys):
                self._exec(
                    f"INSERT INTO xcorr (run_id, {_ROW}) SELECT {int(run_id)}, s.event_set, "
                    "s.series, s.lag, s.lag_seconds, s.r, s.n, NULL, s.q_value, s.p_peak, "
                    "q.q_peak, s.p_method, q.q_set, s.p_peak_exact, s.p_check "
                    f"FROM {STAGE} s LEFT JOIN {RANKED} q USING (event_set, series) "
                    "WHERE NOT EXISTS (SELECT 1 FROM _tscorr_whole w "
                    "WHERE w.event_set = s.event_set AND w.series = s.series)"
                )
            for offset in range(0, lags.height, INSERT_ROWS):
                with self._registered("_tscorr_lags", lags.slice(offset, INSERT_ROWS)):
                    self._exec(
                        f"INSERT INTO xcorr (run_id, {_ROW}) SELECT {int(run_id)}, l.event_set, "
                        "l.series, l.lag, l.lag_seconds, l.r, l.n, l.p_value, l.q_value, "
                        "s.p_peak, q.q_peak, s.p_method, q.q_set, s.p_peak_exact, s.p_check "
                        f"FROM _tscorr_lags l JOIN {STAGE} s USING (event_set, series) "
                        f"LEFT JOIN {RANKED} q USING (event_set, series)"
                    )
            self._insert_results(run_id, tables)
        return run_id

    def drop_peak_stage(self) -> None:
        """Drop the stage and its q (a run that ended, or failed)."""
        for name in (STAGE, RANKED):
            self._exec(f"DROP TABLE IF EXISTS temp.main.{name}")
