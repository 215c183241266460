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
import stat
from pathlib import Path

import duckdb

from tscorr.choices import DEFAULT_DB
from tscorr.errors import BadInput, DatabaseBusy, NotFound, TscorrError
from tscorr.resources import schemas_dir
from tscorr.store.base import _first_line, ctrl_c
from tscorr.store.ingest import LOAD_MEMORY, _Loading
from tscorr.store.partitions import _Partitions
from tscorr.store.peaks import _Peaks
from tscorr.store.reading import FILTER_MEMORY, FILTER_SECONDS
from tscorr.store.staging import IngestCounts, SourceMeta, drop_stages
from tscorr.store.trust import TRUST_HINT, macro_problem, table_problem, view_problem
from tscorr.units import parse_size

SCHEMA_VERSION = 11

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


class Store(_Loading, _Peaks, _Partitions):
    """A tscorr database. Use :meth:`open`; close it (or use ``with``) when done."""

    # --- opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        target: str | Path | duckdb.DuckDBPyConnection = DEFAULT_DB,
        read_only: bool = False,
        memory_limit: str | None = None,
        trust: bool = False,
        allow_files: bool = False,
        loading: bool = False,
    ) -> Store:
        """Open (creating or upgrading) a database at a path, in memory, or on a connection.

        ``memory_limit`` (``2GB``, ``50%``; default ``TSCORR_MEMORY_LIMIT``, else half of this
        machine's RAM) bounds DuckDB and the analysis' blocks (:attr:`memory_limit`).

        A connection tscorr opens is a sandbox: no access to files outside the database
        (unless ``allow_files``, for ``sql --write --allow-files``), no extension installed
        or loaded, and its configuration locked, so nothing the file holds or a user writes
        can change them. ``loading``: DuckDB's memory is capped as a load needs
        (:data:`~tscorr.store.ingest.LOAD_MEMORY`; a locked configuration cannot change it
        later). The file's schema is checked against tscorr's (:mod:`.trust`) before any of
        tscorr's SQL runs on it, unless ``trust``; a caller's own connection keeps its own
        settings but is checked the same way."""
        limit = parse_size(memory_limit or os.environ.get("TSCORR_MEMORY_LIMIT") or "50%")
        if isinstance(target, duckdb.DuckDBPyConnection):
            store = cls(target, "<connection>", owned=False, read_only=read_only)
        else:
            name = str(target)
            if name != ":memory:":
                _regular_or_new(Path(name))
            if read_only and name != ":memory:" and not Path(name).exists():
                raise NotFound(f"database {name} does not exist; load some files first")
            duck_memory = min(limit, LOAD_MEMORY) if loading else limit
            config: dict[str, str | bool | int | float | list[str]] = {
                "enable_external_access": allow_files,
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "memory_limit": f"{max(duck_memory // 2**20, 64)}MiB",
            }
            if name != ":memory:":
                config["storage_compatibility_version"] = READABLE_BY
            if loading:  # rows are inserted in parallel (no reader of points needs an order)
                config["preserve_insertion_order"] = False
            con = _connect(name, read_only, config)
            store = cls(con, name, owned=True, read_only=read_only)
        store.memory_limit = limit
        store.trusted = trust
        try:
            with ctrl_c():
                store._exec("SET TimeZone = 'UTC'")
                if store._owned:  # a caller's own connection keeps its other settings
                    store._exec("SET lock_configuration = true")
                    store._sandboxed = not allow_files
                store._check_schema(before_upgrade=True)
                store._prepare_schema()
                store._check_schema(before_upgrade=False)
                if not read_only:  # a load a killed process left half-staged never happened
                    drop_stages(store)
        except (TscorrError, duckdb.Error) as exc:
            store.close()  # a refused file leaves no connection behind
            if isinstance(exc, TscorrError):
                raise
            raise BadInput(
                f"{store.name}: cannot be read as a tscorr database ({_first_line(exc)}); "
                "pass another --db"
            ) from exc
        except _NeedsUpgrade:
            # an older file opened for reading: upgrade it once, then read as asked
            store.close()
            cls.open(target, False, memory_limit, trust, allow_files).close()
            return cls.open(target, True, memory_limit, trust, allow_files)
        except BaseException:
            store.close()
            raise
        return store

    def _check_schema(self, before_upgrade: bool) -> None:
        """Refuse a file whose schema is not tscorr's (see :mod:`.trust`) unless trusted."""
        if self.trusted:
            return
        version = self.schema_version() if not before_upgrade else None
        if before_upgrade:
            problem = macro_problem(self.con) or view_problem(self.con, exact=False)
        elif version == SCHEMA_VERSION:  # macros were checked before (an upgrade adds none)
            problem = view_problem(self.con, exact=True) or table_problem(self.con)
        else:
            return
        if problem:
            raise BadInput(f"{self.name}: {problem}; {TRUST_HINT}")

    def schema_version(self) -> int:
        if not self._table_exists("meta"):
            return 0
        row = self._exec("SELECT value FROM meta WHERE key = 'schema_version'")
        if not row:
            return 0
        try:
            return int(row[0][0])
        except (TypeError, ValueError):
            raise BadInput(
                f"{self.name}: its schema version is {str(row[0][0])[:40]!r}, not a number "
                "(the file was changed by another tool); pass another --db"
            ) from None

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


def _regular_or_new(path: Path) -> None:
    """A database is a regular DuckDB file or a path not yet taken: opening a pipe would
    block forever, a device or a folder is no database, and DuckDB handed a SQLite file would
    go looking for an extension to read it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise BadInput(f"{path}: cannot be opened ({exc.strerror}); pass another --db") from exc
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise BadInput(f"{path} is {what}; --db takes a DuckDB file or a new path")
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise BadInput(f"{path}: cannot be opened ({exc.strerror}); pass another --db") from exc
    if head.startswith(b"SQLite format 3"):
        raise BadInput(f"{path} is a SQLite database, not a DuckDB one; pass another --db")
    if len(head) >= 12 and head[8:12] != b"DUCK":
        raise BadInput(f"{path}: not a DuckDB database (no DuckDB header); pass another --db")


def _connect(
    name: str, read_only: bool, config: dict[str, str | bool | int | float | list[str]]
) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` with its failures as one line each."""
    try:
        return duckdb.connect(name, read_only=read_only, config=config)
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
        if "no such file or directory" in message.lower():
            raise BadInput(
                f"{name}: cannot be created (folder {Path(name).parent} does not exist); "
                "pass another --db"
            ) from exc
        if "read-only file system" in message.lower():
            raise BadInput(
                f"{name}: cannot be opened for writing (read-only file system); copy it "
                "somewhere writable, or use a command that only reads"
            ) from exc
        raise BadInput(
            f"{name}: not a DuckDB database ({_first_line(exc)}); pass another --db"
        ) from exc
    except duckdb.Error as exc:  # a corrupt file: checksums that do not match
        raise BadInput(
            f"{name}: cannot be opened ({_first_line(exc)}); restore it from a copy "
            "or pass another --db"
        ) from exc
