"""The command line: exit codes and the exact text of its errors."""

from __future__ import annotations

import json
from pathlib import Path

from tscorr.cli import app
from tscorr.errors import ExitCode


def test_missing_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "nope.csv"
    result = cli("load", str(missing))
    assert result.exit_code == ExitCode.NOT_FOUND
    assert result.stderr == f"Error: {missing}: no such file; check the path\n"


def test_binary_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    blob = tmp_path / "blob.csv"
    blob.write_bytes(b"\x00\x01\x02\xff" * 100)
    result = cli("load", str(blob))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == (
        f"Error: {blob}: looks binary (NUL bytes), not a text file; "
        "check the file or pass the right --feed\n"
    )


def test_wrong_encoding_names_the_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "cp1252.csv"
    path.write_bytes("ts,kind,name\n2017-01-21,march,Women\x92s march\n".encode("latin-1"))
    result = cli("load", str(path))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == (
        f"Error: {path}:2: not valid utf-8 (byte 0x92); pass --encoding cp1252 (or the file's real encoding)\n"
    )
    ok = cli("load", str(path), "--encoding", "cp1252", "--json")
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)[0]["events"] == 1


def test_unknown_feed(cli, fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("load", str(fixtures / "feeds/csv/events.csv"), "--feed", "jsn")
    assert result.exit_code == ExitCode.USAGE
    assert (
        result.stderr
        == "Error: unknown feed 'jsn'; known: access-log, csv, gdelt, google-trends, ical, json, ndjson, parquet, prometheus, tsv, wikimedia-pageviews\n"
    )


def test_undetectable_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "data.xyz"
    path.write_text("hello\n")
    result = cli("load", str(path))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.startswith(
        f"Error: {path}: cannot tell which feed this file is; pass --feed (known: access-log, csv,"
    )


def test_empty_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "empty.csv"
    path.write_text("")
    result = cli("load", str(path))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == f"Error: {path}: is empty; nothing to load\n"


def test_header_only_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "header.csv"
    path.write_text("ts,series,value\n")
    result = cli("load", str(path))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == f"Error: {path}: has no data rows; check that it is the right file\n"


def test_strict_exit_code_and_nothing_loaded(cli, fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("load", str(fixtures / "feeds/csv/long_mixed.csv"), "--strict")
    assert result.exit_code == ExitCode.REJECTED
    assert "3 rows rejected; --strict refuses the file, nothing loaded" in result.stderr
    count = cli("sql", "SELECT count(*) AS n FROM sources", "--format", "json")
    assert json.loads(count.stdout) == [{"n": 0}]


def test_one_bad_file_does_not_stop_the_others(cli, fixtures: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "missing.csv"
    result = cli("load", str(missing), str(fixtures / "feeds/tsv/wide.tsv"), "--json")
    assert result.exit_code == ExitCode.NOT_FOUND
    assert json.loads(result.stdout)[0]["points"] == 6
    assert result.stderr.endswith(f"Error: {missing}: no such file; check the path\n")


def test_load_then_ls_and_sql(cli, fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    loaded = cli("load", str(fixtures / "feeds/tsv/wide.tsv"), "--prefix", "")
    assert loaded.exit_code == 0, loaded.stderr
    assert "wide.tsv" in loaded.stdout and "loaded" in loaded.stdout
    series = cli("ls", "series", "--json")
    names = [r["name"] for r in json.loads(series.stdout)]
    assert names == ["cic.gc.ca:5xx", "cic.gc.ca:requests"]
    csv_out = cli(
        "sql",
        "SELECT series, sum(value) AS total FROM observations GROUP BY 1 ORDER BY 1",
        "--format",
        "csv",
    )
    assert csv_out.stdout == "series,total\ncic.gc.ca:5xx,912.0\ncic.gc.ca:requests,30000.0\n"


def test_sql_is_read_only_unless_write(cli, fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    cli("load", str(fixtures / "feeds/tsv/wide.tsv"))
    refused = cli("sql", "DELETE FROM points")
    assert refused.exit_code == ExitCode.BAD_QUERY
    assert refused.stderr.startswith("Error: the database is opened read-only (")
    assert refused.stderr.endswith("); pass --write to change it\n")
    done = cli("sql", "DELETE FROM points", "--write")
    assert done.exit_code == 0
    left = cli("sql", "SELECT count(*) AS n FROM points", "--format", "json")
    assert json.loads(left.stdout) == [{"n": 0}]


def test_ls_on_a_missing_database(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "none.duckdb"
    result = runner.invoke(app, ["--db", str(db), "ls"])
    assert result.exit_code == ExitCode.NOT_FOUND
    assert result.stderr == f"Error: database {db} does not exist; load some files first\n"


def test_db_from_environment(runner, tmp_path: Path, fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "env.duckdb"
    result = runner.invoke(
        app, ["load", str(fixtures / "feeds/tsv/wide.tsv")], env={"TSCORR_DB": str(db)}
    )
    assert result.exit_code == 0, result.stderr
    assert db.exists()


def test_feeds_lists_every_builtin(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("feeds", "--json")
    names = {r["feed"] for r in json.loads(result.stdout)}
    assert {"csv", "tsv", "json", "ndjson", "parquet"} <= names


def test_every_command_has_help_with_an_example(runner) -> None:  # type: ignore[no-untyped-def]
    import typer.main

    group = typer.main.get_command(app)
    for name in group.commands:  # type: ignore[attr-defined]
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example:" in result.stdout, name
