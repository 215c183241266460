"""Issue 29, class 7: messages that no longer mislead, and one line where a traceback was.

(A SQLite file as --db and a read-only file system are in test_sandbox.py.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

import tscorr


@pytest.mark.parametrize(
    "name,text,shown",
    [
        ("allinf.csv", "ts,value\n2016-01-01,inf\n2016-01-02,NaN\n2016-01-03,-inf\n", "inf"),
        ("inf.json", '[{"ts":"2016-01-01","v":"inf"},{"ts":"2016-01-02","v":"NaN"}]', "inf"),
        ("inf.ndjson", '{"ts":"2016-01-01","v":Infinity}\n{"ts":"2016-01-02","v":NaN}\n', "Inf"),
    ],
)
def test_a12_a_column_of_inf_and_nan_is_not_called_non_numeric(
    cli, db_path: Path, tmp_path: Path, name: str, text: str, shown: str
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(text)
    result = cli("load", str(path))
    assert result.exit_code == 7 and "no numeric columns" not in result.output, result.output
    assert "every row was rejected" in result.output and "is not a finite number" in result.output
    assert f"value '{shown}" in result.output
    with tscorr.open(db_path, read_only=True) as store:  # a failed load changes nothing
        assert store.scalar("SELECT count(*) FROM points") == 0


@pytest.fixture
def one_run(cli, db_path: Path, base_db: Path):  # type: ignore[no-untyped-def]
    """The session's base database: Sandy calls, news events, xcorr run 1."""
    shutil.copy(base_db, db_path)
    return cli


@pytest.mark.parametrize(
    "params,what",
    [
        ("'[1, 2]'", "run 1's params is not a JSON object"),
        ("'\"text\"'", "run 1's params is not a JSON object"),
        ("NULL", "run 1's params is not a JSON object"),
        ("'{\"options\": [1]}'", "run 1's params.options is not a JSON object"),
    ],
)
def test_d_plot_and_report_of_a_run_with_foreign_params_are_one_line(
    one_run, db_path: Path, tmp_path: Path, params: str, what: str
) -> None:  # type: ignore[no-untyped-def]
    con = duckdb.connect(str(db_path))
    con.execute(f"UPDATE runs SET params = {params} WHERE run_id = 1")
    con.close()
    for args in (
        ["plot", "1", "--out", str(tmp_path / "p.png")],
        ["report", "1", "--out", str(tmp_path / "r.html")],
        ["export", "1", "--format", "html", "--out", str(tmp_path / "e.html")],
    ):
        result = one_run(*args)
        assert result.exit_code == 3 and result.output.count("\n") == 1, (args, result.output)
        assert what in result.output and "cannot write" not in result.output
        assert not list(tmp_path.glob("*.html")) and not list(tmp_path.glob("*.png"))


def test_e_a_missing_table_under_trust_is_one_line(one_run, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    con = duckdb.connect(str(db_path))
    con.execute("DROP TABLE events")
    con.close()
    refused = one_run("ls", "events")
    assert refused.exit_code == 3 and "table 'events' is missing" in refused.output
    for args in (["--trust", "ls", "events"], ["--trust", "ls"]):
        result = one_run(*args)
        assert result.exit_code == 3 and result.output.count("\n") == 1, result.output
        assert "Table with name events does not exist" in result.output
        assert "opened with --trust" in result.output
