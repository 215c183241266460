"""Issue 29, class 1: a database someone sends you is data, not code.

Crafted DuckDB files (an ``events`` view reading a local file, a macro shadowing a built-in
function tscorr calls) are refused on open with one line naming the object, and the data is
left as it was. Each attack test runs twice: with the sandbox as shipped, and with it turned
off (``sandbox=False``: the schema check skipped and file access on), where it must show the
leak or the falsified result, so the test is known to be able to fail.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from crafted import craft, digest

import tscorr
from tscorr.store import Store

SECRET = "hunter2-the-secret-of-this-machine"


@pytest.fixture
def copy(copy_db):  # type: ignore[no-untyped-def]
    return copy_db


@pytest.fixture
def invoke(runner):  # type: ignore[no-untyped-def]
    from tscorr.cli import app

    def run(db: Path, *args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["--db", str(db), *args])

    return run


def sandbox_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mutation: no schema check, file access on (what tscorr did before issue 29)."""
    import tscorr.store as store_pkg

    real = store_pkg._connect

    def connect(name, read_only, config):  # type: ignore[no-untyped-def]
        return real(name, read_only, {**config, "enable_external_access": True})

    monkeypatch.setattr(store_pkg, "_connect", connect)
    monkeypatch.setattr(Store, "_check_schema", lambda self, before_upgrade: None)


XCORR = ["--series", "311:total", "--bucket", "1d", "--max-lag", "5", "--json"]


@pytest.mark.parametrize("sandbox", [True, False], ids=["sandbox", "mutation-sandbox-off"])
def test_c_events_view_reading_a_local_file_is_refused(
    copy, invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: bool
) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    db = copy("view")
    craft(
        db,
        "ALTER TABLE events RENAME TO events_real",
        "CREATE VIEW events AS SELECT event_id, ts, ts_end, "
        f"(SELECT content FROM read_text('{secret}')) AS kind, name, weight, source_id, attrs "
        "FROM events_real",
    )
    if not sandbox:
        sandbox_off(monkeypatch)
    before = digest(db)
    outputs = []
    for args in (
        ["ls", "events"],
        ["ls"],
        ["xcorr", "--events", "true", "--by", "kind", *XCORR],
        ["respond", "--events", "true", "--series", "311:total", "--bucket", "1d"],
    ):
        result = invoke(db, *args)
        outputs.append(result.output)
        if sandbox:
            assert result.exit_code == 3, (args, result.output)
            assert result.output.count("\n") == 1 and result.output.startswith("Error:")
            assert "view 'events' takes the place of tscorr's table events" in result.output
            assert "--trust" in result.output
    if sandbox:
        assert all(SECRET not in text for text in outputs)
        assert digest(db) == before
    else:  # the same commands without the sandbox read the file and show it
        assert SECRET in outputs[0] and SECRET in outputs[2]


@pytest.mark.parametrize("sandbox", [True, False], ids=["sandbox", "mutation-sandbox-off"])
def test_c_a_macro_shadowing_a_builtin_cannot_move_a_result(
    copy, invoke, monkeypatch: pytest.MonkeyPatch, sandbox: bool
) -> None:  # type: ignore[no-untyped-def]
    import json

    clean = invoke(copy("clean"), "xcorr", "--events", "kind = 'hurricane'", *XCORR)
    assert clean.exit_code == 0, clean.output
    lag = json.loads(clean.stdout)[0]["lag"]
    db = copy("macro")
    # every point read three days later: the rows and their checksums stay the same
    craft(db, "CREATE MACRO epoch_us(x) AS epoch_ms(x) * 1000 + 3 * 86400000000")
    if not sandbox:
        sandbox_off(monkeypatch)
    before = digest(db)
    result = invoke(db, "xcorr", "--events", "kind = 'hurricane'", *XCORR)
    if sandbox:
        assert result.exit_code == 3 and result.output.count("\n") == 1
        assert "macro 'epoch_us' shadows DuckDB's built-in function epoch_us" in result.output
        assert digest(db) == before
    else:
        assert result.exit_code == 0 and json.loads(result.stdout)[0]["lag"] != lag


def test_trust_opens_a_refused_file_and_is_documented(copy, invoke) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from tscorr.cli import app

    db = copy("helper")
    craft(db, "CREATE MACRO twice(x) AS 2 * x")
    refused = invoke(db, "ls")
    assert refused.exit_code == 3 and "macro 'twice' is not part of tscorr's schema" in (
        refused.output
    )
    assert invoke(db, "--trust", "ls").exit_code == 0
    assert invoke(db, "ls", "--trust").exit_code == 0  # before or after the command
    dropped = invoke(db, "--trust", "sql", "--write", "DROP MACRO twice")
    assert dropped.exit_code == 0, dropped.output
    assert invoke(db, "ls").exit_code == 0
    assert "--trust" in CliRunner().invoke(app, ["--help"]).output
    limits = (Path(__file__).resolve().parent.parent / "docs" / "limits.md").read_text()
    assert "--trust" in limits


@pytest.mark.parametrize(
    "sql,problem",
    [
        ("CREATE MACRO epoch_us(x) AS 0", "macro 'epoch_us' shadows DuckDB's built-in"),
        ("CREATE MACRO range(a) AS TABLE SELECT 1", "table macro 'range' shadows"),
        ("CREATE MACRO observations(x) AS x", "macro 'observations' shadows tscorr's"),
        ("CREATE SCHEMA s; CREATE MACRO s.helper(x) AS x", "macro 's.helper' is not part"),
        ("CREATE OR REPLACE VIEW observations AS SELECT 1 AS x", "view 'observations' is not"),
        ("DROP TABLE rejects", "table 'rejects' is missing"),
        ("ALTER TABLE events ADD COLUMN note VARCHAR", "column tscorr does not know (note)"),
        ("ALTER TABLE points RENAME TO p2; CREATE VIEW points AS SELECT * FROM p2", "'points' is"),
        ("BEGIN; CREATE VIEW mine AS SELECT 1 AS x; DROP VIEW xcorr_peaks; COMMIT", "missing"),
    ],
)
def test_c_sql_write_cannot_plant_a_macro_or_a_view(copy, invoke, sql: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    db = copy("plant")
    with tscorr.open(db, read_only=True) as store:
        before = store.query("SELECT count(*) AS n, sum(hash(series_id, ts, value)) FROM points")
    result = invoke(db, "sql", "--write", sql)
    assert result.exit_code == 6 and result.output.count("\n") == 1, result.output
    assert "refused" in result.output and problem in result.output
    assert "rolled back" in result.output
    with tscorr.open(db, read_only=True) as store:  # opens: nothing of it was kept
        assert store.query(
            "SELECT count(*) AS n, sum(hash(series_id, ts, value)) FROM points"
        ).equals(before)
        assert not store.scalar("SELECT count(*) FROM duckdb_views() WHERE view_name = 'mine'")


def test_sql_write_keeps_the_users_own_views_and_temp_macros(copy, invoke) -> None:  # type: ignore[no-untyped-def]
    db = copy("own")
    made = invoke(
        db,
        "sql",
        "--write",
        "CREATE VIEW daily AS SELECT * FROM observations; CREATE TABLE notes (t VARCHAR); "
        "CREATE TEMP MACRO epoch_us(x) AS 0; SELECT epoch_us(now()) AS z",
    )
    assert made.exit_code == 0, made.output
    assert invoke(db, "ls").exit_code == 0  # the file still opens, the temp macro is gone
    assert invoke(db, "sql", "SELECT count(*) FROM daily").exit_code == 0


def test_every_connection_is_a_sandbox(copy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tscorr.errors import BadInput, BadQuery

    (tmp_path / "secret.txt").write_text(SECRET)
    db = copy("settings")
    for read_only in (True, False):
        with Store.open(db, read_only=read_only) as store:
            settings = dict(
                store.con.execute(
                    "SELECT name, value FROM duckdb_settings() WHERE name IN "
                    "('enable_external_access', 'autoinstall_known_extensions', "
                    "'autoload_known_extensions', 'lock_configuration')"
                ).fetchall()
            )
            assert settings == {
                "enable_external_access": "false",
                "autoinstall_known_extensions": "false",
                "autoload_known_extensions": "false",
                "lock_configuration": "true",
            }
            with pytest.raises(BadInput, match="disabled by configuration"):
                store.query(f"SELECT content FROM read_text('{tmp_path / 'secret.txt'}')")
            with pytest.raises(duckdb.Error, match="locked"):
                store.query("SET enable_external_access = true")
            with pytest.raises(BadQuery, match="already refused files"):
                store.user_sql("SELECT 1", allow_files=True)
    with Store.open(db, allow_files=True) as store:  # sql --write --allow-files
        assert (
            store.user_sql(
                f"SELECT content FROM read_text('{tmp_path / 'secret.txt'}')", allow_files=True
            ).item()
            == SECRET
        )


@pytest.mark.parametrize(
    "sql,problem",
    [
        ("DROP TABLE events", "table 'events' is missing"),
        ("CREATE OR REPLACE VIEW xcorr_peaks AS SELECT * FROM xcorr", "view 'xcorr_peaks'"),
        (
            "ALTER TABLE points RENAME TO p0; CREATE TABLE points (series_id BIGINT, "
            "ts TIMESTAMPTZ, value DOUBLE GENERATED ALWAYS AS (1.0), flag VARCHAR, "
            "source_id BIGINT)",
            "column 'points.value' is computed",
        ),
        ("ALTER TABLE events ALTER weight SET DEFAULT 5", "has a default tscorr did not write"),
        ("ALTER TABLE events ALTER kind TYPE INTEGER USING 1", "events.kind' is INTEGER"),
    ],
)
def test_e_a_damaged_or_foreign_schema_is_one_line_for_every_reader(
    copy, invoke, sql: str, problem: str
) -> None:  # type: ignore[no-untyped-def]
    db = copy("damaged")
    craft(db, *sql.split("; "))
    for args in (["ls", "events"], ["plot", "1"], ["export", "--out", "-"]):
        result = invoke(db, *args)
        assert result.exit_code == 3, (args, result.output)
        assert result.output.count("\n") == 1 and problem in result.output, result.output


def test_a15_db_that_is_a_pipe_a_folder_or_sqlite_is_refused_at_once(
    invoke, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import os
    import sqlite3
    import time

    fifo = tmp_path / "pipe.duckdb"
    os.mkfifo(fifo)
    lite = tmp_path / "app.db"
    con = sqlite3.connect(lite)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, just some notes\n")
    cases = {
        fifo: "is not a regular file",
        tmp_path: "is a folder",
        lite: "is a SQLite database, not a DuckDB one",
        text: "not a DuckDB database",
    }
    for path, message in cases.items():
        started = time.perf_counter()
        result = invoke(path, "ls")
        assert time.perf_counter() - started < 10
        assert result.exit_code == 3 and message in result.output, result.output
        assert "extension" not in result.output  # SQLite never sends DuckDB to the network
    assert lite.read_bytes().startswith(b"SQLite format 3")


def test_b_a_read_only_file_system_is_named(copy, invoke, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import tscorr.store as store_pkg

    def read_only_fs(*args: object, **kwargs: object) -> None:
        raise duckdb.IOException('IO Error: Cannot open file "x.duckdb": Read-only file system')

    monkeypatch.setattr(store_pkg.duckdb, "connect", read_only_fs)
    result = invoke(copy("rofs"), "xcorr", "--events", "true")
    assert result.exit_code == 3 and "read-only file system" in result.output
    assert "not a DuckDB database" not in result.output


def test_e_a_database_in_a_missing_folder_is_named_as_such(invoke, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = invoke(tmp_path / "nowhere" / "x.duckdb", "xcorr", "--events", "true")
    assert result.exit_code == 3 and "does not exist" in result.output
    assert "not a DuckDB database" not in result.output
