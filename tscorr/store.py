"""The DuckDB file: the only module of tscorr that talks to DuckDB.

``Store.open`` takes a path, ``":memory:"`` or an existing DuckDB connection, creates or
upgrades the schema (``schemas/store.sql`` plus the steps in ``schemas/migrations``), and
hands out polars frames, never cursors. Every write that belongs to one file or one analysis
run happens in one transaction: a failure leaves the database as it was.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from tscorr.errors import BadInput, BadQuery, DatabaseBusy, NotFound, TscorrError
from tscorr.frames import FeedFrames
from tscorr.resources import schemas_dir

SCHEMA_VERSION = 6
FILTER_SECONDS = float(os.environ.get("TSCORR_FILTER_SECONDS", 30))  # an --events filter's time
FILTER_MEMORY = "1GB"  # ... and memory
DEFAULT_DB = "tscorr.duckdb"


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


class _NeedsUpgrade(Exception):
    """Internal: a read-only open met an older schema."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Store:
    """A tscorr database. Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, con: duckdb.DuckDBPyConnection, name: str, owned: bool, read_only: bool):
        self.con = con
        self.name = name
        self._owned = owned
        self.read_only = read_only
        self._sandboxed = False  # user SQL may no longer reach files (see user_sql)

    # --- opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        target: str | Path | duckdb.DuckDBPyConnection = DEFAULT_DB,
        read_only: bool = False,
    ) -> Store:
        """Open (creating or upgrading) a database at a path, in memory, or on a connection."""
        if isinstance(target, duckdb.DuckDBPyConnection):
            store = cls(target, "<connection>", owned=False, read_only=read_only)
        else:
            name = str(target)
            if read_only and name != ":memory:" and not Path(name).exists():
                raise NotFound(f"database {name} does not exist; load some files first")
            try:
                con = duckdb.connect(name, read_only=read_only)
            except duckdb.IOException as exc:
                message = str(exc)
                if "lock" in message.lower():
                    pid = re.search(r"PID (\d+)", message)
                    holder = f" (process {pid.group(1)})" if pid else ""
                    raise DatabaseBusy(
                        f"database {name} is busy: another process{holder} is using it; "
                        "wait for it to finish and try again"
                    ) from exc
                if "permission denied" in message.lower():
                    raise BadInput(
                        f"{name}: cannot be opened (permission denied); check its permissions"
                    ) from exc
                raise BadInput(
                    f"{name}: not a DuckDB database ({_first_line(exc)}); pass another --db"
                ) from exc
            except duckdb.Error as exc:  # a corrupt file: checksums that do not match
                raise BadInput(
                    f"{name}: cannot be opened ({_first_line(exc)}); restore it from a copy "
                    "or pass another --db"
                ) from exc
            store = cls(con, name, owned=True, read_only=read_only)
        store._exec("SET TimeZone = 'UTC'")
        try:
            store._prepare_schema()
        except TscorrError:
            store.close()  # a refused file leaves no connection behind
            raise
        except _NeedsUpgrade:
            # an older file opened for reading: upgrade it once, then read as asked
            store.close()
            cls.open(target, read_only=False).close()
            return cls.open(target, read_only=True)
        return store

    def files(self) -> list[Path]:
        """The database file on disk (none for an in-memory database or a connection)."""
        if self.name in (":memory:", "<connection>"):
            return []
        return [Path(self.name)]

    def close(self) -> None:
        if self._owned:
            self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        if not self._table_exists("meta"):
            return 0
        row = self._exec("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(row[0][0]) if row else 0

    def _prepare_schema(self) -> None:
        version = self.schema_version()
        if version == SCHEMA_VERSION:
            return
        if version == 0:
            others = self._exec(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() ORDER BY 1 LIMIT 4"
            )
            if others:
                shown = ", ".join(str(r[0]) for r in others[:3])
                raise BadInput(
                    f"{self.name} is a DuckDB database of another application (tables: "
                    f"{shown}{', ...' if len(others) > 3 else ''}); tscorr will not add its "
                    "tables to it; pass another --db"
                )
        if version > SCHEMA_VERSION:
            raise BadInput(
                f"database {self.name} has schema version {version}, newer than this tscorr "
                f"understands ({SCHEMA_VERSION}); upgrade tscorr"
            )
        if self.read_only:
            raise _NeedsUpgrade(version)
        with self.transaction():
            if version > 0:
                for step in range(version + 1, SCHEMA_VERSION + 1):
                    self._run_script(schemas_dir() / "migrations" / f"{step:03d}.sql")
            self._run_script(schemas_dir() / "store.sql")
            self._exec(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
            )

    def _run_script(self, path: Path) -> None:
        for statement in self.con.extract_statements(path.read_text(encoding="utf-8")):
            self.con.execute(statement.query).complete()

    # --- low-level helpers -------------------------------------------------------------------

    def _exec(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        self.con.execute(sql, params or [])
        return self.con.fetchall()

    def _table_exists(self, name: str) -> bool:
        rows = self._exec(
            "SELECT 1 FROM information_schema.tables WHERE table_name = ? "
            "AND table_schema = current_schema()",
            [name],
        )
        return bool(rows)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """Run SQL written by tscorr itself and return a polars frame."""
        frame: pl.DataFrame = self.con.sql(sql, params=params or None).pl()
        return frame

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """The first value of the first row (None when there is no row)."""
        frame = self.query(sql, params)
        return frame.item(0, 0) if frame.height else None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction: everything or nothing. A DuckDB failure inside (disk full, an
        interrupted query) becomes one line; the database is left as it was."""
        self.con.begin()
        try:
            yield
        except duckdb.Error as exc:
            self.con.rollback()
            raise BadInput(
                f"{self.name}: the write failed ({_first_line(exc)}); nothing was changed"
            ) from exc
        except BaseException:
            self.con.rollback()
            raise
        try:
            self.con.commit()
        except duckdb.Error as exc:
            raise BadInput(
                f"{self.name}: the write failed ({_first_line(exc)}); nothing was changed"
            ) from exc

    @contextmanager
    def _registered(self, name: str, frame: pl.DataFrame) -> Iterator[str]:
        self.con.register(name, frame)
        try:
            yield name
        finally:
            try:
                self.con.unregister(name)
            except duckdb.Error:
                pass  # an aborted transaction refuses this too; the real error is on its way

    def _next_id(self, table: str, column: str) -> int:
        return int(self.scalar(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}"))

    # --- loading -----------------------------------------------------------------------------

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

    def read_censored(self, series_ids: Sequence[int]) -> pl.DataFrame:
        """Censored buckets (series_id, ts, below) where no real point exists."""
        ids = pl.DataFrame({"series_id": list(series_ids)}, schema={"series_id": pl.Int64})
        with self._registered("_tscorr_ids", ids):
            return self.query(
                "SELECT c.series_id, c.ts, min(c.below) AS below FROM censored c "
                "JOIN _tscorr_ids USING (series_id) "
                "WHERE NOT EXISTS (SELECT 1 FROM points p WHERE p.series_id = c.series_id "
                "AND p.ts = c.ts) GROUP BY ALL ORDER BY 1, 2"
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
        return self.query(
            "SELECT s.series_id, s.name, s.kind, s.agg, s.step, s.tz, s.feed, s.unit, "
            "count(p.ts) AS points, "
            "min(p.ts) AS first, max(p.ts) AS last, "
            "CASE WHEN count(p.ts) > 1 THEN "
            "  (epoch(max(p.ts)) - epoch(min(p.ts))) / (count(p.ts) - 1) END AS mean_step_s "
            "FROM series s LEFT JOIN points p USING (series_id) WHERE s.name GLOB ? "
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

    def user_sql(self, sql: str, allow_files: bool = False) -> pl.DataFrame:
        """Run a user's SQL; the last statement's rows come back (empty for a command).

        Unless ``allow_files``, the connection first loses access to every file but the
        database (no COPY TO, EXPORT, ATTACH, read_text, INSTALL) and its configuration is
        locked, so the SQL can read and (opened for writing) change the database and
        nothing else.
        """
        if not sql.strip():
            raise BadQuery("no SQL statement given")
        if not allow_files and not self._sandboxed:
            self._exec("SET enable_external_access = false")
            self._exec("SET lock_configuration = true")
            self._sandboxed = True
        elif allow_files and self._sandboxed:
            raise BadQuery("this connection already refused files; open the database again")
        try:
            relation = self.con.sql(sql)  # runs every statement, relation of the last one
            rows: pl.DataFrame = relation.pl() if relation is not None else pl.DataFrame()
            return rows
        except TscorrError:
            raise
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

    # --- analysis inputs ---------------------------------------------------------------------

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
        sandbox = duckdb.connect(":memory:")
        # a filter may not run away with the machine: a memory cap, and a timer that
        # interrupts it after FILTER_SECONDS
        timer = threading.Timer(FILTER_SECONDS, sandbox.interrupt)
        try:
            sandbox.execute("SET TimeZone = 'UTC'").complete()
            sandbox.execute(f"SET memory_limit = '{FILTER_MEMORY}'").complete()
            sandbox.register("_events", events)
            sandbox.execute("CREATE TABLE events AS SELECT * FROM _events").complete()
            sandbox.unregister("_events")
            sandbox.execute("SET enable_external_access = false").complete()
            sandbox.execute("SET lock_configuration = true").complete()
            timer.start()
            selected: pl.DataFrame = sandbox.sql(
                f"SELECT event_id, ts, kind, name, weight FROM events WHERE ({where}) ORDER BY ts"
            ).pl()
            return selected
        except (duckdb.InterruptException, RuntimeError) as exc:
            if "interrupt" not in str(exc).lower():
                raise
            raise BadQuery(
                f"event filter '{where}' ran longer than {FILTER_SECONDS:g} s and was stopped; "
                "write a simpler condition"
            ) from exc
        except duckdb.Error as exc:
            raise BadQuery(
                f"event filter '{where}' failed: {_first_line(exc)}; write a SQL condition over "
                "event_id, ts, ts_end, kind, name, weight, source_id, attrs"
            ) from exc
        finally:
            timer.cancel()
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

    def read_points(self, series_ids: Sequence[int]) -> pl.DataFrame:
        """Points of the given series as (series_id, ts, value), by series_id then time."""
        ids = pl.DataFrame({"series_id": list(series_ids)}, schema={"series_id": pl.Int64})
        with self._registered("_tscorr_ids", ids):
            return self.query(
                "SELECT p.series_id, p.ts, p.value FROM points p "
                "JOIN _tscorr_ids i USING (series_id) ORDER BY p.series_id, p.ts"
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
            for table, frame in tables.items():
                if frame.height == 0:
                    continue
                framed = frame.with_columns(pl.lit(run_id, pl.Int64).alias("run_id"))
                with self._registered("_tscorr_result", framed):
                    cols = ", ".join(f'"{c}"' for c in framed.columns)
                    self._exec(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _tscorr_result")
        return run_id

    def latest_run(self) -> int:
        run = self.scalar("SELECT max(run_id) FROM runs")
        if run is None:
            raise NotFound("no analysis run in the database yet; run 'tscorr xcorr' first")
        return int(run)

    def read_result(self, table: str, run_id: int) -> pl.DataFrame:
        if not self.scalar("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]):
            raise NotFound(f"run {run_id} does not exist; 'tscorr ls runs' lists them")
        return self.query(f"SELECT * FROM {table} WHERE run_id = ? ORDER BY ALL", [run_id])
