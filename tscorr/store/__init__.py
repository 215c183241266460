"""The DuckDB file: the only package of tscorr that talks to DuckDB.

``Store.open`` takes a path, ``":memory:"`` or an existing DuckDB connection, creates or
upgrades the schema (``schemas/store.sql`` plus the steps in ``schemas/migrations``), and
hands out polars frames, never cursors. Every write that belongs to one file or one analysis
run happens in one transaction: a failure leaves the database as it was. The class is put
together from its parts: :mod:`.base` (the connection), :mod:`.ingest` (sources in and out)
and :mod:`.reading` (everything that reads).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from tscorr.choices import DEFAULT_DB
from tscorr.errors import BadInput, DatabaseBusy, NotFound, TscorrError
from tscorr.resources import schemas_dir
from tscorr.store.base import _first_line
from tscorr.store.ingest import _Loading
from tscorr.store.reading import FILTER_MEMORY, FILTER_SECONDS, _Reading
from tscorr.store.staging import IngestCounts, SourceMeta, drop_stages
from tscorr.units import parse_size

SCHEMA_VERSION = 9

__all__ = [
    "DEFAULT_DB",
    "FILTER_MEMORY",
    "FILTER_SECONDS",
    "SCHEMA_VERSION",
    "IngestCounts",
    "SourceMeta",
    "Store",
]


class _NeedsUpgrade(Exception):
    """Internal: a read-only open met an older schema."""


# New files are written in the storage format of DuckDB 1.1, so the duckdb CLI and older
# libraries users have can open them (tests/test_compat.py opens one with duckdb 1.1).
READABLE_BY = "v1.1.0"


class Store(_Loading, _Reading):
    """A tscorr database. Use :meth:`open`; close it (or use ``with``) when done."""

    # --- opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        target: str | Path | duckdb.DuckDBPyConnection = DEFAULT_DB,
        read_only: bool = False,
        memory_limit: str | None = None,
    ) -> Store:
        """Open (creating or upgrading) a database at a path, in memory, or on a connection.

        ``memory_limit`` (``2GB``, ``50%``; default ``TSCORR_MEMORY_LIMIT``, else half of this
        machine's RAM) bounds DuckDB and the analysis' blocks (:attr:`memory_limit`)."""
        if isinstance(target, duckdb.DuckDBPyConnection):
            store = cls(target, "<connection>", owned=False, read_only=read_only)
        else:
            name = str(target)
            if read_only and name != ":memory:" and not Path(name).exists():
                raise NotFound(f"database {name} does not exist; load some files first")
            try:
                config: dict[str, str | bool | int | float | list[str]] = (
                    {} if name == ":memory:" else {"storage_compatibility_version": READABLE_BY}
                )
                con = duckdb.connect(name, read_only=read_only, config=config)
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
        store.memory_limit = parse_size(
            memory_limit or os.environ.get("TSCORR_MEMORY_LIMIT") or "50%"
        )
        if store._owned:  # a caller's own connection keeps its own settings
            store._exec(f"SET memory_limit = '{store.memory_limit // 2**20}MiB'")
        try:
            store._prepare_schema()
            if not read_only:  # a load a killed process left half-staged never happened
                drop_stages(store)
        except TscorrError:
            store.close()  # a refused file leaves no connection behind
            raise
        except _NeedsUpgrade:
            # an older file opened for reading: upgrade it once, then read as asked
            store.close()
            cls.open(target, read_only=False).close()
            return cls.open(target, read_only=True)
        return store

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
