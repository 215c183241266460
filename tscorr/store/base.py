"""The store's foundation: one DuckDB connection and the helpers every part uses.

Only the ``tscorr.store`` package talks to DuckDB; the rest of tscorr gets polars frames.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import duckdb
import polars as pl

from tscorr.errors import BadInput


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_interrupt(exc: BaseException) -> bool:
    """DuckDB turns Ctrl-C during a query into ``RuntimeError: Query interrupted`` (or its
    own InterruptException), not a KeyboardInterrupt."""
    return isinstance(exc, duckdb.InterruptException) or (
        isinstance(exc, RuntimeError) and "interrupt" in str(exc).lower()
    )


@contextmanager
def ctrl_c() -> Iterator[None]:
    """Ctrl-C inside DuckDB becomes the KeyboardInterrupt it is, so the caller (and the CLI's
    boundary) handles one kind of interrupt, never a RuntimeError traceback."""
    try:
        yield
    except (RuntimeError, duckdb.Error) as exc:
        if _is_interrupt(exc):
            raise KeyboardInterrupt from exc
        raise


class _Base:
    """The connection, its transactions and the small helpers of every store method."""

    def __init__(self, con: duckdb.DuckDBPyConnection, name: str, owned: bool, read_only: bool):
        self.con = con
        self.name = name
        self._owned = owned
        self.read_only = read_only
        self._sandboxed = False  # SQL may no longer reach files (see Store.open, user_sql)
        self.trusted = False  # the file's schema was not checked (Store.open's trust)
        self.sql_kept = 0  # statements of the last user SQL that were committed (user_sql)
        self.memory_limit = 0  # bytes DuckDB and the analysis blocks may use (set on open)

    def files(self) -> list[Path]:
        """The database file on disk (none for an in-memory database or a connection)."""
        if self.name in (":memory:", "<connection>"):
            return []
        return [Path(self.name)]

    def close(self) -> None:
        if self._owned:
            self.con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- low-level helpers -------------------------------------------------------------------

    @contextmanager
    def _own_sql(self) -> Iterator[None]:
        """tscorr's own SQL: Ctrl-C as a KeyboardInterrupt; a file's own SQL reaching for a
        file, and any DuckDB error in a file opened with --trust (its schema is not
        tscorr's: a table missing, a column of another type), as one line."""
        try:
            with ctrl_c():
                yield
        except duckdb.PermissionException as exc:  # the file's own SQL, reaching for a file
            raise BadInput(
                f"{self.name}: {_first_line(exc)} (the file's own SQL tried to reach a file; "
                "tscorr's connections cannot)"
            ) from exc
        except duckdb.Error as exc:
            if not self.trusted:
                raise
            raise BadInput(
                f"{self.name}: {_first_line(exc)} (the file's schema is not tscorr's; it was "
                "opened with --trust)"
            ) from exc

    def _exec(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with self._own_sql():
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
        with self._own_sql():
            frame: pl.DataFrame = self.con.sql(sql, params=params or None).pl()
        return frame

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """The first value of the first row (None when there is no row)."""
        frame = self.query(sql, params)
        return frame.item(0, 0) if frame.height else None

    @contextmanager
    def transaction(self, begun: bool = False) -> Iterator[None]:
        """One transaction: everything or nothing. A DuckDB failure inside (disk full) becomes
        one line; Ctrl-C a KeyboardInterrupt; either way the database is left as it was. (Ctrl-C
        while the commit itself runs may come after it took effect: the CLI checks the file.)
        ``begun``: the transaction is already open (a big load's, which began with its writes);
        this ends it the same way."""
        if not begun:
            self.con.begin()
        try:
            with ctrl_c():
                yield
        except duckdb.Error as exc:
            self._rollback()
            raise self._write_failed(exc) from exc
        except BaseException:
            self._rollback()
            raise
        try:
            with ctrl_c():
                self.con.commit()
        except duckdb.Error as exc:
            raise self._write_failed(exc) from exc

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A load's writes before its final transaction (a big file's parts, written into
        ``points`` in its open transaction or staged): a DuckDB failure (disk full) becomes
        the one line :meth:`transaction` gives; the load rolls back and drops its stage."""
        try:
            with ctrl_c():
                yield
        except duckdb.Error as exc:
            raise self._write_failed(exc) from exc

    def _write_failed(self, exc: duckdb.Error) -> BadInput:
        return BadInput(f"{self.name}: the write failed ({_first_line(exc)}); nothing was changed")

    def _rollback(self) -> None:
        try:
            self.con.rollback()
        except (duckdb.Error, RuntimeError):
            pass  # no transaction left to roll back (DuckDB ended it): nothing was kept

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

    def _insert_rows(self, table: str, frame: pl.DataFrame, columns: Sequence[str]) -> None:
        """Append ``frame``'s rows to ``table``, whose columns are ``columns`` in order
        (:meth:`_columns`), without registering the frame: a registration is a view in the
        catalog, which an open transaction keeps, with its frame, until it ends (a long
        transaction's appends would all stay in memory)."""
        if sorted(columns) != sorted(frame.columns):
            raise BadInput(
                f"{self.name}: table {table} has the columns {', '.join(columns)}, not "
                f"tscorr's {', '.join(frame.columns)}; load into a database tscorr made"
            )
        with self._own_sql():
            self.con.from_arrow(frame.select(columns).to_arrow()).insert_into(table)

    def _columns(self, table: str) -> list[str]:
        """``table``'s columns in order (this database's: not a table of the same name in
        another database attached to a caller's connection)."""
        rows = self._exec(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND table_schema = current_schema() AND table_catalog = current_database() "
            "ORDER BY ordinal_position",
            [table],
        )
        return [name for (name,) in rows]

    def _next_id(self, table: str, column: str) -> int:
        return int(self.scalar(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}"))
