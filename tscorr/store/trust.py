"""What a database file may hold before tscorr runs its own SQL on it.

A ``.duckdb`` file carries SQL as well as data: views and macros run inside the commands
that read the file. A file from someone else could replace ``events`` by a view that reads
a local file, or define a macro with the name of a built-in function tscorr calls (a
falsified ``epoch_us`` moves every point while the rows and their checksums stay the same).
So a file is compared, on open, with the schema tscorr ships (``schemas/store.sql``):

* no macro at all (tscorr ships none; one with a built-in's name is named as such);
* a view only under a name tscorr does not use, or one of tscorr's views with tscorr's own
  definition;
* each of tscorr's tables a table, with tscorr's columns and types, and no generated column
  or default tscorr did not write.

Tables and views of the user's own (``sql --write "CREATE VIEW ..."``) are allowed: tscorr
never reads them. The first difference is reported as one line naming the object; ``--trust``
lifts the check (:meth:`tscorr.store.Store.open`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import duckdb

from tscorr.resources import schemas_dir

TRUST_HINT = "open it with --trust only if you trust where the file came from"


@dataclass(frozen=True)
class Shipped:
    """The schema tscorr writes: tables (column -> (type, default)) and views (name -> SQL)."""

    tables: dict[str, dict[str, tuple[str, str | None]]]
    views: dict[str, str]


@cache
def shipped() -> Shipped:
    """``schemas/store.sql`` as DuckDB itself describes it (built once, in memory, reaching
    no file)."""
    con = duckdb.connect(
        ":memory:",
        config={
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )
    try:
        text = (schemas_dir() / "store.sql").read_text(encoding="utf-8")
        for statement in con.extract_statements(text):
            con.execute(statement.query)
        return Shipped(_tables(con), _views(con))
    finally:
        con.close()


def _syntax(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> str | None:
    """A view's definition as DuckDB parses it (its syntax tree as JSON, without the text
    positions), or None when it is not ``CREATE VIEW name AS <one SELECT>``. Parsing only: the
    definition is not bound or run. A view read back from a file is written with other
    parentheses than the one just created; their trees are the same."""
    head = f"CREATE VIEW {name} AS "
    if not sql.startswith(head):
        return None
    found = con.execute("SELECT json_serialize_sql(?)", [sql[len(head) :].rstrip("; ")]).fetchall()
    tree = json.loads(str(found[0][0]))
    if tree.get("error") or len(tree.get("statements", [])) != 1:
        return None
    return json.dumps(_positionless(tree), sort_keys=True)


def _positionless(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _positionless(v) for k, v in node.items() if not k.startswith("query_location")}
    if isinstance(node, list):
        return [_positionless(v) for v in node]
    return node


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, tuple[str, str | None]]]:
    tables: dict[str, dict[str, tuple[str, str | None]]] = {}
    rows = con.execute(
        "SELECT table_name, column_name, data_type, column_default FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main' "
        "AND NOT internal AND table_name IN (SELECT table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND schema_name = 'main') "
        "ORDER BY table_name, column_index"
    ).fetchall()
    for table, column, dtype, default in rows:
        tables.setdefault(str(table), {})[str(column)] = (str(dtype), default)
    return tables


def _views(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT internal"
    ).fetchall()
    return {str(name): str(sql) for name, sql in rows}


def _generated(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    """(table, column) of generated columns (DuckDB versions that describe them)."""
    names = {str(r[0]) for r in con.execute("DESCRIBE SELECT * FROM duckdb_columns()").fetchall()}
    if "is_generated" not in names:
        return set()
    rows = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE is_generated "
        "AND database_name = current_database() AND schema_name = 'main'"
    ).fetchall()
    return {(str(t), str(c)) for t, c in rows}


def macro_problem(con: duckdb.DuckDBPyConnection) -> str | None:
    """A macro stored in the database (any schema), as one phrase."""
    rows = con.execute(
        "SELECT schema_name, function_name, function_type FROM duckdb_functions() "
        "WHERE NOT internal AND database_name = current_database() "
        "AND function_type IN ('macro', 'table_macro') ORDER BY 1, 2 LIMIT 1"
    ).fetchall()
    if not rows:
        return None
    schema, name, kind = (str(v) for v in rows[0])
    what = "table macro" if kind == "table_macro" else "macro"
    shown = name if schema == "main" else f"{schema}.{name}"
    builtin = con.execute(
        "SELECT 1 FROM duckdb_functions() WHERE internal AND function_name = ? LIMIT 1", [name]
    ).fetchall()
    if builtin:
        return f"{what} '{shown}' shadows DuckDB's built-in function {name}"
    if name in shipped().tables or name in shipped().views:
        return f"{what} '{shown}' shadows tscorr's {name}"
    return f"{what} '{shown}' is not part of tscorr's schema (tscorr ships no macros)"


def view_problem(con: duckdb.DuckDBPyConnection, exact: bool) -> str | None:
    """A view that takes the place of a tscorr table, or of a tscorr view with another
    definition (``exact``: the file is at the current schema version)."""
    ours = shipped()
    theirs = _views(con)
    for name in sorted(theirs):
        if name in ours.tables or name.startswith("_tscorr"):
            return f"view '{name}' takes the place of tscorr's table {name}"
    if exact:
        gone = sorted(set(ours.views) - set(theirs))
        if gone:
            return f"view '{gone[0]}' is missing"
        for name in sorted(set(theirs) & set(ours.views)):
            # both parsed by this connection: what a tree holds depends on its settings (the
            # storage version it writes)
            found = _syntax(con, name, theirs[name])
            if found is None or found != _syntax(con, name, ours.views[name]):
                return f"view '{name}' is not tscorr's definition of {name}"
    return None


def table_problem(con: duckdb.DuckDBPyConnection) -> str | None:
    """A tscorr table missing or with other columns, types or generated values."""
    ours, theirs, generated = shipped().tables, _tables(con), _generated(con)
    for table, columns in ours.items():
        if table not in theirs:
            if table in _views(con):
                return f"view '{table}' takes the place of tscorr's table {table}"
            return f"table '{table}' is missing"
        found = theirs[table]
        for column, (dtype, default) in columns.items():
            if column not in found:
                return f"table '{table}' has no column {column}"
            their_type, their_default = found[column]
            if their_type != dtype:
                return f"column '{table}.{column}' is {their_type}, not tscorr's {dtype}"
            if (table, column) in generated:
                return f"column '{table}.{column}' is computed by the file's own expression"
            if their_default is not None and their_default != default:
                return f"column '{table}.{column}' has a default tscorr did not write"
        extra = [c for c in found if c not in columns]
        if extra:
            return f"table '{table}' has a column tscorr does not know ({extra[0]})"
    return None


def schema_problem(con: duckdb.DuckDBPyConnection, current: bool) -> str | None:
    """The first way the file differs from tscorr's schema, or None. ``current``: the file
    is at this tscorr's schema version (an older one may lack tables and views the upgrade
    adds, so only its macros and views are checked before the upgrade)."""
    return (
        macro_problem(con)
        or view_problem(con, exact=current)
        or (table_problem(con) if current else None)
    )
