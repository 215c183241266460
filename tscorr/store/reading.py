"""Reading the file: what it holds, user SQL, analysis inputs and results."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import polars as pl

from tscorr.choices import SQL_SECONDS
from tscorr.errors import BadQuery, NotFound, TscorrError
from tscorr.store.base import _Base, _first_line, _is_interrupt
from tscorr.store.trust import schema_problem
from tscorr.store.watch import Watchdog, address_space
from tscorr.units import parse_size

# DuckDB's words for a bare word in a filter (kind = hurricane, or "hurricane": an identifier)
_UNKNOWN_COLUMN = re.compile(r'Referenced column "([^"]+)" not found')


def _quoted(where: str, word: str) -> str | None:
    """``where`` with ``word`` (bare or in double quotes) as a text literal where it stands
    as a value (kind = word, kind IN (word, ...)): kind = 'word'; None where it does not (a
    misspelt column)."""
    bare = rf'(?:"{re.escape(word)}"|(?<![\w\'"]){re.escape(word)}(?![\w\'"]))'
    text = "'" + word.replace("'", "''") + "'"
    compared = re.sub(rf"\s*(=|==|!=|<>)\s*{bare}", lambda m: f" {m[1]} {text}", where)
    if compared != where:
        return compared
    if re.search(rf"(?i)\bin\s*\([^)]*{bare}", where):
        return re.sub(bare, lambda _: text, where)
    return None


FILTER_SECONDS = float(os.environ.get("TSCORR_FILTER_SECONDS", 30))  # an --events filter's time
FILTER_MEMORY = "1GB"  # ... and memory

# statements that can add or change a schema object, checked by user_sql before they stay
_DDL = frozenset(
    {
        duckdb.StatementType.CREATE,
        duckdb.StatementType.CREATE_FUNC,
        duckdb.StatementType.ALTER,
        duckdb.StatementType.DROP,
    }
)


INSERT_ROWS = 500_000  # result rows handed to DuckDB per INSERT


class _Reading(_Base):
    """Everything that reads: listings, user SQL, analysis inputs, run results."""

    # --- what the file holds -----------------------------------------------------------------

    def overview(self) -> pl.DataFrame:
        """Rows per public table, with the time range where the table has one."""
        return self.query(
            "SELECT 'sources' AS table, count(*) AS rows, min(loaded_at) AS first, "
            "max(loaded_at) AS last FROM sources "
            "UNION ALL SELECT 'series', count(*), NULL, NULL FROM series "
            "UNION ALL SELECT 'points', count(*), min(ts), max(ts) FROM points "
            "UNION ALL SELECT 'events', count(*), min(ts), max(ts) FROM events "
            "UNION ALL SELECT 'rejects', count(*), NULL, NULL FROM rejects "
            "UNION ALL SELECT 'runs', count(*), min(created_at), max(created_at) FROM runs"
        )

    def list_sources(self) -> pl.DataFrame:
        return self.query(
            "SELECT source_id, feed, path, rows_read, rows_loaded, rows_rejected, points_loaded, "
            "events_loaded, duplicates, replaced, loaded_at FROM sources ORDER BY source_id"
        )

    def list_series(self, glob: str = "*") -> pl.DataFrame:
        """Each series with its points, first and last time (for a series whose points live
        in a Parquet dataset of a load, the dataset's)."""
        n = "(count(p.ts) + coalesce(any_value(q.points), 0))"
        first, last = "coalesce(min(p.ts), any_value(q.first_ts))", (
            "coalesce(max(p.ts), any_value(q.last_ts))"
        )
        return self.query(
            "WITH q AS (SELECT f.series_id, f.points, f.first_ts, f.last_ts "
            "FROM partition_files f JOIN partition_sets d USING (dataset_id) "
            "WHERE d.how = 'loaded' QUALIFY row_number() OVER (PARTITION BY f.series_id "
            "ORDER BY f.dataset_id DESC) = 1) "
            "SELECT s.series_id, s.name, s.kind, s.agg, s.step, s.tz, s.feed, s.unit, "
            f"{n} AS points, {first} AS first, {last} AS last, "
            f"CASE WHEN {n} > 1 THEN "
            f"  (epoch({last}) - epoch({first})) / ({n} - 1) END AS mean_step_s "
            "FROM series s LEFT JOIN points p USING (series_id) "
            "LEFT JOIN q USING (series_id) WHERE s.name GLOB ? "
            "GROUP BY ALL ORDER BY s.name",
            [glob],
        )

    def list_events(self) -> pl.DataFrame:
        return self.query(
            "SELECT kind, count(*) AS events, min(ts) AS first, max(ts) AS last, "
            "count(DISTINCT name) AS names FROM events GROUP BY kind ORDER BY kind"
        )

    def list_runs(self) -> pl.DataFrame:
        return self.query(
            "SELECT run_id, command, label, created_at, params FROM runs ORDER BY run_id"
        )

    # --- user SQL ----------------------------------------------------------------------------

    def user_sql(
        self, sql: str, allow_files: bool = False, timeout: float | None = SQL_SECONDS
    ) -> pl.DataFrame:
        """Run a user's SQL; the last statement's rows come back (empty for a command).

        Unless ``allow_files`` (and a store opened with it), the SQL cannot reach any file but
        the database (no COPY TO, EXPORT, ATTACH, read_text, INSTALL) nor change the
        configuration, so it can read and (opened for writing) change the database and
        nothing else. A change that would leave the file with a schema tscorr refuses on open
        (a macro, a view in place of a tscorr table or view, a dropped table; see
        :mod:`.trust`) is rolled back, unless the store is trusted. ``timeout``: seconds
        after which the SQL is interrupted (None or 0: no limit).
        """
        if not sql.strip():
            raise BadQuery("no SQL statement given")
        if allow_files and self._sandboxed:
            raise BadQuery("this connection already refused files; open the database again")
        if not allow_files and not self._sandboxed:  # a caller's own connection
            self._exec("SET enable_external_access = false")
            self._exec("SET lock_configuration = true")
            self._sandboxed = True
        fired = threading.Event()  # the timer, not Ctrl-C, interrupted the SQL

        def stop() -> None:
            fired.set()
            self.con.interrupt()

        timer = threading.Timer(timeout, stop) if timeout else None
        try:
            statements = self.con.extract_statements(sql)
            if timer is not None:
                timer.start()
            rows, inside = pl.DataFrame(), False  # inside: the user's BEGIN ... COMMIT
            self.sql_kept = 0
            for i, statement in enumerate(statements):
                last = i == len(statements) - 1
                if self.read_only or self.trusted or statement.type not in _DDL:
                    rows = self._user_statement(statement.query, last)
                else:
                    rows = self._guarded(statement.query, last, inside)
                if statement.type == duckdb.StatementType.TRANSACTION:
                    word = statement.query.strip().split(None, 1)[0].upper().rstrip(";")
                    inside = word in ("BEGIN", "START")
                if not inside:  # autocommit, or the user's COMMIT: kept from here on
                    self.sql_kept = i + 1
            return rows
        except TscorrError:
            raise
        except (duckdb.InterruptException, RuntimeError) as exc:
            if not _is_interrupt(exc):
                raise
            if not fired.is_set():
                raise KeyboardInterrupt from exc
            raise BadQuery(
                f"the SQL ran longer than {timeout:g} s and was stopped (the statement "
                "running was rolled back); pass a longer --timeout, or 0 for none"
            ) from exc
        except duckdb.Error as exc:
            message = _first_line(exc)
            if self.read_only and ("read-only" in message or "read only" in message):
                raise BadQuery(
                    f"the database is opened read-only ({message}); pass --write to change it"
                ) from exc
            if "file system operations are disabled" in message or (
                "lock_configuration" in message or "configuration has been locked" in message
            ):
                raise BadQuery(
                    f"SQL may only use the database itself ({message}); files outside it need "
                    "--write --allow-files"
                ) from exc
            raise BadQuery(f"SQL error: {message}") from exc
        finally:
            if timer is not None:
                timer.cancel()

    def _user_statement(self, query: str, last: bool) -> pl.DataFrame:
        if not last:
            self.con.execute(query)
            return pl.DataFrame()
        relation = self.con.sql(query)
        rows: pl.DataFrame = relation.pl() if relation is not None else pl.DataFrame()
        return rows

    def _guarded(self, query: str, last: bool, inside: bool) -> pl.DataFrame:
        """A statement that changes the schema, checked before it is kept: in a transaction
        of its own, or (``inside`` the user's BEGIN ... COMMIT) rolling that one back."""
        own = not inside
        if own:
            self.con.begin()
        try:
            rows = self._user_statement(query, last)
            problem = schema_problem(self.con, current=True)
        except BaseException:
            if own:
                self._rollback()
            raise
        if problem:
            self._rollback()
            raise BadQuery(
                f"refused '{' '.join(query.split())[:80]}': {problem}, and tscorr would refuse "
                "to open the file; the change was rolled back (a TEMP MACRO or TEMP VIEW lasts "
                "for this SQL; --trust lifts the check)"
            )
        if own:
            self.con.commit()
        return rows

    # --- analysis inputs ---------------------------------------------------------------------

    def events_between(self, first: datetime, last: datetime) -> pl.DataFrame:
        """Every event with ``first <= ts <= last`` (event_id, ts, kind, name), by time."""
        return self.query(
            "SELECT event_id, ts, kind, name FROM events WHERE ts BETWEEN ? AND ? ORDER BY ts",
            [first, last],
        )

    def select_events(self, where: str) -> pl.DataFrame:
        """Events matching a SQL boolean expression over the ``events`` columns.

        The expression runs in a private in-memory database that holds only a copy of
        ``events`` and cannot reach files, so a filter can read events and nothing else.
        """
        try:
            statements = self.con.extract_statements(f"SELECT 1 FROM events WHERE {where}")
        except duckdb.Error as exc:
            raise BadQuery(
                f"event filter '{where}' failed: {_first_line(exc)}; write a SQL condition over "
                "event_id, ts, ts_end, kind, name, weight, source_id, attrs"
            ) from exc
        if len(statements) != 1:
            raise BadQuery(f"event filter '{where}' must be one boolean expression")
        events = self.query(
            "SELECT event_id, ts, ts_end, kind, name, weight, source_id, attrs FROM events"
        )
        sandbox = duckdb.connect(
            ":memory:",
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
        )
        # a filter may not run away with the machine: DuckDB's memory limit, and a watchdog
        # that interrupts it after FILTER_SECONDS or once the process has grown by
        # FILTER_MEMORY (Ctrl-C stays a KeyboardInterrupt)
        watch = Watchdog(sandbox.interrupt, FILTER_SECONDS, parse_size(FILTER_MEMORY))
        try:
            sandbox.execute("SET TimeZone = 'UTC'").complete()
            sandbox.execute(f"SET memory_limit = '{FILTER_MEMORY}'").complete()
            sandbox.register("_events", events)
            sandbox.execute("CREATE TABLE events AS SELECT * FROM _events").complete()
            sandbox.unregister("_events")
            sandbox.execute("SET enable_external_access = false").complete()
            sandbox.execute("SET lock_configuration = true").complete()
            watch.start()
            with address_space(parse_size(FILTER_MEMORY)):
                selected: pl.DataFrame = sandbox.sql(
                    f"SELECT event_id, ts, kind, name, weight FROM events WHERE ({where}) "
                    "ORDER BY ts"
                ).pl()
            return selected
        except (duckdb.InterruptException, RuntimeError) as exc:
            if not _is_interrupt(exc):
                raise
            if watch.why is None:
                raise KeyboardInterrupt from exc
            what = (
                f"ran longer than {FILTER_SECONDS:g} s"
                if watch.why == "time"
                else f"needed more than {FILTER_MEMORY} of memory"
            )
            raise BadQuery(
                f"event filter '{where}' {what} and was stopped; write a simpler condition"
            ) from exc
        except duckdb.OutOfMemoryException as exc:
            raise BadQuery(
                f"event filter '{where}' needed more than {FILTER_MEMORY} of memory and was "
                "stopped; write a simpler condition"
            ) from exc
        except duckdb.Error as exc:
            word = _UNKNOWN_COLUMN.search(str(exc))
            quoted = _quoted(where, word[1]) if word else None
            if isinstance(exc, duckdb.BinderException) and word and quoted:
                raise BadQuery(
                    f"event filter '{where}': {word[1]} is not a column; put text in single "
                    f"quotes: {quoted}"
                ) from exc
            raise BadQuery(
                f"event filter '{where}' failed: {_first_line(exc)}; write a SQL condition over "
                "event_id, ts, ts_end, kind, name, weight, source_id, attrs"
            ) from exc
        finally:
            watch.stop()
            sandbox.close()

    def series_matching(self, glob: str) -> pl.DataFrame:
        return self.query(
            "SELECT series_id, name, agg, unit, attrs, kind, step, tz FROM series "
            "WHERE name GLOB ? "
            "ORDER BY series_id",
            [glob],
        )

    def event_times(self, kind_glob: str) -> pl.DataFrame:
        """(kind, ts) of every event whose kind matches ``kind_glob``, by kind then time."""
        return self.query(
            "SELECT kind, ts FROM events WHERE kind GLOB ? ORDER BY kind, ts", [kind_glob]
        )

    def _by_ids(self, series_ids: Sequence[int], sql: str) -> pl.DataFrame:
        """Run ``sql``, which joins the table ``_tscorr_ids`` (series_id, and ``row``: the
        position of the id in ``series_ids``)."""
        ids = pl.DataFrame(
            {"series_id": list(series_ids), "row": range(len(series_ids))},
            schema={"series_id": pl.Int64, "row": pl.Int32},
        )
        with self._registered("_tscorr_ids", ids):
            return self.query(sql)

    def read_points(self, series_ids: Sequence[int]) -> pl.DataFrame:
        """Points of the given series as (row, ts_us, value): ``row`` is the position of the
        point's series in ``series_ids``, ``ts_us`` microseconds since 1970-01-01 UTC. In no
        particular order (sorting 17 M points took DuckDB longer than reading them; the
        aligner needs no order)."""
        return self._by_ids(
            series_ids,
            "SELECT i.row, epoch_us(p.ts) AS ts_us, p.value FROM points p "
            "JOIN _tscorr_ids i USING (series_id)",
        )

    def series_spans(self, series_ids: Sequence[int]) -> pl.DataFrame:
        """(series_id, first, last): each series' first and last observation (a point or a
        censored time; for a series whose points live in a Parquet dataset of a load only,
        the dataset's), for the series that have one."""
        return self._by_ids(
            series_ids,
            "WITH stored AS (SELECT series_id, min(ts) AS first, max(ts) AS last FROM ("
            "SELECT series_id, ts FROM points JOIN _tscorr_ids USING (series_id) "
            "UNION ALL SELECT series_id, ts FROM censored JOIN _tscorr_ids USING (series_id)"
            ") GROUP BY series_id) "
            "SELECT * FROM stored UNION ALL "
            # series whose points live in a dataset of a load only (load --partitions)
            "SELECT f.series_id, f.first_ts, f.last_ts FROM partition_files f "
            "JOIN partition_sets d USING (dataset_id) JOIN _tscorr_ids USING (series_id) "
            "WHERE d.how = 'loaded' AND f.first_ts IS NOT NULL "
            "AND f.series_id NOT IN (SELECT series_id FROM stored) "
            "QUALIFY row_number() OVER (PARTITION BY f.series_id "
            "ORDER BY f.dataset_id DESC) = 1 ORDER BY series_id",
        )

    def read_censored(self, series_ids: Sequence[int]) -> pl.DataFrame:
        """Censored buckets (series_id, ts, below) where no real point exists."""
        return self._by_ids(
            series_ids,
            "SELECT c.series_id, c.ts, min(c.below) AS below FROM censored c "
            "JOIN _tscorr_ids USING (series_id) "
            "WHERE NOT EXISTS (SELECT 1 FROM points p WHERE p.series_id = c.series_id "
            "AND p.ts = c.ts) GROUP BY ALL ORDER BY 1, 2",
        )

    # --- results -----------------------------------------------------------------------------

    def save_run(
        self,
        command: str,
        params: Mapping[str, Any],
        versions: Mapping[str, str],
        tables: Mapping[str, pl.DataFrame],
        label: str | None = None,
    ) -> int:
        """Record a run and its result tables in one transaction; returns the run_id."""
        with self.transaction():
            run_id = self._insert_run(command, params, versions, label)
            self._insert_results(run_id, tables)
        return run_id

    def _insert_run(
        self,
        command: str,
        params: Mapping[str, Any],
        versions: Mapping[str, str],
        label: str | None,
    ) -> int:
        """The run's row in ``runs`` (inside the caller's transaction); returns its id."""
        run_id = self._next_id("runs", "run_id")
        self._exec(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)",
            [
                run_id,
                command,
                datetime.now(UTC),
                json.dumps(dict(params), default=str),
                json.dumps(dict(versions)),
                label,
            ],
        )
        return run_id

    def _insert_results(self, run_id: int, tables: Mapping[str, pl.DataFrame]) -> None:
        """Result rows of run ``run_id`` (inside the caller's transaction)."""
        for table, frame in tables.items():
            if frame.height == 0:
                continue
            # run_id is added by the INSERT (no copy of millions of rows), in slices that
            # bound what DuckDB converts at once
            cols = ", ".join(f'"{c}"' for c in frame.columns)
            for offset in range(0, frame.height, INSERT_ROWS):
                with self._registered("_tscorr_result", frame.slice(offset, INSERT_ROWS)):
                    self._exec(
                        f"INSERT INTO {table} (run_id, {cols}) "
                        f"SELECT {int(run_id)}, {cols} FROM _tscorr_result"
                    )

    def latest_run(self) -> int:
        run = self.scalar("SELECT max(run_id) FROM runs")
        if run is None:
            raise NotFound("no analysis run in the database yet; run 'tscorr xcorr' first")
        return int(run)

    def read_result(
        self, table: str, run_id: int, pairs: pl.DataFrame | None = None
    ) -> pl.DataFrame:
        """Run ``run_id``'s rows of ``table`` in order; only those of ``pairs`` (rows of
        event_set and series) when given."""
        if not self.scalar("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]):
            raise NotFound(f"run {run_id} does not exist; 'tscorr ls runs' lists them")
        if pairs is None:
            return self.query(f"SELECT * FROM {table} WHERE run_id = ? ORDER BY ALL", [run_id])
        with self._registered("_tscorr_pairs", pairs.select("event_set", "series")):
            return self.query(
                f"SELECT * FROM {table} t WHERE run_id = ? AND EXISTS (SELECT 1 FROM "
                "_tscorr_pairs p WHERE p.event_set = t.event_set AND p.series = t.series) "
                "ORDER BY ALL",
                [run_id],
            )

    def first_peaks(self, run_id: int, n: int) -> tuple[pl.DataFrame, int]:
        """The first ``n`` peak rows with an r of run ``run_id`` (``xcorr_peaks``), by q_peak
        then |r| (largest first), ties by event set and series: the order
        :func:`tscorr.analysis.correlate.ranked` gives them, without reading the others;
        and how many there are."""
        first = self.query(
            "SELECT * FROM xcorr_peaks WHERE run_id = ? AND r IS NOT NULL "
            "ORDER BY q_peak ASC NULLS LAST, abs(r) DESC, event_set, series LIMIT ?",
            [run_id, n],
        )
        total = self.scalar(
            "SELECT count(*) FROM xcorr_peaks WHERE run_id = ? AND r IS NOT NULL", [run_id]
        )
        return first, int(total)

    def count_rows(self, table: str, run_id: int) -> int:
        """How many rows of ``table`` run ``run_id`` has."""
        return int(self.scalar(f"SELECT count(*) FROM {table} WHERE run_id = ?", [run_id]))
