"""Issue 29, class 5: interrupts tell the truth.

Ctrl-C during ``rm`` (inside a DELETE, as DuckDB's own "Query interrupted", after the commit),
``load``, an analysis or an export: exit 130, no traceback, and one line saying whether the
change was made or rolled back, which is checked against the database afterwards.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest

import tscorr
from tscorr.store import Store

SANDY = "real/sandy-311-calls--sandy-311-calls-by-day.csv"  # source 1 of the base database


def counts(db: Path) -> dict[str, int]:
    with tscorr.open(db, read_only=True) as store:
        return {
            t: int(store.scalar(f"SELECT count(*) FROM {t}"))
            for t in ("sources", "series", "points", "events", "runs")
        }


@pytest.fixture
def two_sources(cli, db_path: Path, base_db: Path):  # type: ignore[no-untyped-def]
    """The Sandy calls (source 1) and three news events (source 2), one xcorr run."""
    shutil.copy(base_db, db_path)
    return cli


def interrupt_exec(monkeypatch: pytest.MonkeyPatch, starts: str, error: BaseException) -> None:
    """Ctrl-C while the store runs a statement beginning with ``starts``."""
    real = Store._exec

    def exec_(self: Store, sql: str, params: Any = None) -> Any:
        if sql.startswith(starts):
            raise error
        return real(self, sql, params)

    monkeypatch.setattr(Store, "_exec", exec_)


@pytest.mark.parametrize(
    "starts,error",
    [
        ("DELETE FROM points", KeyboardInterrupt()),
        ("DELETE FROM events", RuntimeError("Query interrupted")),  # what DuckDB raises
        ("DELETE FROM series", KeyboardInterrupt()),
        ("DELETE FROM sources", RuntimeError("Query interrupted")),
    ],
)
def test_b_ctrl_c_inside_rm_rolls_back_and_says_so(
    two_sources, db_path: Path, monkeypatch: pytest.MonkeyPatch, starts: str, error: BaseException
) -> None:  # type: ignore[no-untyped-def]
    before = counts(db_path)
    interrupt_exec(monkeypatch, starts, error)
    result = two_sources("rm", "1", "--yes")
    assert result.exit_code == 130, result.output
    assert result.output == (
        "Interrupted: nothing was removed (rolled back): source 1 is still there.\n"
    )
    monkeypatch.undo()
    assert counts(db_path) == before


def test_b_ctrl_c_just_after_rm_committed_says_it_was_made(
    two_sources, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    real = Store.remove_sources

    def removed_then_interrupted(self: Store, ids: list[int]) -> dict[str, int]:
        real(self, ids)
        raise KeyboardInterrupt  # e.g. while the commit returns

    monkeypatch.setattr(Store, "remove_sources", removed_then_interrupted)
    result = two_sources("rm", "1", "--yes")
    assert result.exit_code == 130
    assert result.output == (
        "Interrupted: the removal was committed before the interrupt: source 1 is gone.\n"
    )
    monkeypatch.undo()
    after = counts(db_path)
    assert after["sources"] == 1 and after["points"] == 0 and after["events"] == 3


def test_b_ctrl_c_during_a_load_names_what_was_committed(
    cli, db_path: Path, fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    tscorr.open(db_path).close()
    interrupt_exec(monkeypatch, "INSERT INTO series", RuntimeError("Query interrupted"))
    events, metrics = fixtures / "events/news2012-2016.csv", fixtures / SANDY
    result = cli("load", str(events), str(metrics))
    assert result.exit_code == 130 and "Traceback" not in result.output
    assert result.output.splitlines()[-1] == (
        "Interrupted: loaded before the interrupt: news2012-2016.csv (source 1); the rest was "
        "rolled back."
    )
    monkeypatch.undo()
    assert counts(db_path) == {"sources": 1, "series": 0, "points": 0, "events": 3, "runs": 0}


def test_b_ctrl_c_during_an_analysis_or_an_export(
    two_sources, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    args = ["--events", "true", "--series", "311:total", "--bucket", "1d", "--max-lag", "2"]
    runs = counts(db_path)["runs"]
    interrupt_exec(monkeypatch, "INSERT INTO xcorr", RuntimeError("Query interrupted"))
    result = two_sources("xcorr", *args)
    assert result.exit_code == 130
    assert result.output.splitlines()[-1] == (
        "Interrupted: no run was saved (the database is as it was)."
    )
    monkeypatch.undo()
    assert counts(db_path)["runs"] == runs
    assert two_sources("xcorr", *args).exit_code == 0
    out = tmp_path / "peaks.csv"
    out.write_text("old\n")
    digest = hashlib.sha256(db_path.read_bytes()).hexdigest()
    import tscorr.results.export as exporting

    def interrupted(*a: object, **k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(exporting, "write", interrupted)
    result = two_sources("export", "--out", str(out), "--force")
    assert result.exit_code == 130
    assert result.output == f"Interrupted: {out} was not written (the old file is as it was).\n"
    assert out.read_text() == "old\n"
    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == digest


def test_b_ctrl_c_in_sql_is_not_called_a_timeout(
    two_sources, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import duckdb

    real = duckdb.DuckDBPyConnection.sql

    def sql(self: Any, query: str, *a: Any, **k: Any) -> Any:
        if "range(" in query:
            raise RuntimeError("Query interrupted")
        return real(self, query, *a, **k)

    monkeypatch.setattr(duckdb.DuckDBPyConnection, "sql", sql, raising=False)
    result = two_sources("sql", "SELECT count(*) FROM range(10)")
    if result.exit_code == 0:  # the connection's method could not be replaced here
        pytest.skip("DuckDBPyConnection.sql is not patchable in this duckdb")
    assert result.exit_code == 130 and "ran longer" not in result.output


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.05, 0.3, 0.8, 1.5])
def test_b_real_sigint_during_rm_tells_the_truth(
    db_path: Path, tmp_path: Path, delay: float
) -> None:
    """A real SIGINT at several moments of removing 2 M points: whatever the moment, the
    exit code and the line agree with the database."""
    import os
    import signal
    import subprocess
    import sys
    import time

    big = tmp_path / "big.csv"
    with big.open("w") as fh:
        fh.write("ts,series,value\n")
        fh.writelines(f"{946684800 + t * 60},big:{t % 50},{t}\n" for t in range(2_000_000))
    with tscorr.open(db_path) as store:
        tscorr.load_file(store, big)
    env = dict(os.environ, PYTHONPATH=str(Path(tscorr.__file__).parent.parent))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tscorr", "--db", str(db_path), "rm", "1", "--yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert "Traceback" not in stderr, stderr  # whole, to see where the interrupt landed
    gone = counts(db_path)["sources"] == 0
    if proc.returncode == 130:
        line = stderr.strip().splitlines()[-1]
        if "removal was committed" in line:
            assert gone
        elif "nothing was removed" in line:
            assert not gone and counts(db_path)["points"] == 2_000_000
        else:  # interrupted before it started (while Python imported the CLI)
            assert line.startswith("Interrupted") and not gone
    else:
        assert proc.returncode == 0 and gone


def test_b_ctrl_c_in_sql_write_says_which_statements_were_kept(
    two_sources, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    real = Store._user_statement

    def statement(self: Store, query: str, last: bool) -> Any:
        if "second" in query:
            raise RuntimeError("Query interrupted")
        return real(self, query, last)

    monkeypatch.setattr(Store, "_user_statement", statement)
    result = two_sources(
        "sql", "--write", "CREATE TABLE first AS SELECT 1 AS x; CREATE TABLE second AS SELECT 2"
    )
    assert result.exit_code == 130
    assert result.output == (
        "Interrupted: the first statement had been committed; the one running (and any open "
        "BEGIN) was rolled back.\n"
    )
    monkeypatch.undo()
    with tscorr.open(db_path, read_only=True) as store:
        made = store.query("SELECT table_name FROM duckdb_tables() ORDER BY 1")["table_name"]
    assert "first" in made.to_list() and "second" not in made.to_list()
