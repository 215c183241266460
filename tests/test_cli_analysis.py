"""The analysis commands: xcorr, export, demo."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from tscorr.errors import ExitCode


@pytest.fixture
def loaded(cli, fixtures: Path):  # type: ignore[no-untyped-def]
    real = fixtures / "real"
    result = cli(
        "load",
        str(real / "example_wp_log_peyton_manning.csv"),
        str(real / "peyton_manning_playoffs_superbowls.csv"),
        "--series-name",
        "pageviews:Peyton_Manning",
    )
    assert result.exit_code == ExitCode.OK, result.stderr
    return cli


def test_xcorr_prints_peaks_and_stores_the_run(loaded) -> None:  # type: ignore[no-untyped-def]
    result = loaded(
        "xcorr",
        "--events",
        "kind = 'playoff'",
        "--bucket",
        "1d",
        "--max-lag",
        "7d",
        "--surrogates",
        "99",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    peaks = json.loads(result.stdout)
    assert peaks[0]["series"] == "pageviews:Peyton_Manning" and peaks[0]["lag"] == 1
    stored = loaded("sql", "SELECT count(*) AS n FROM xcorr", "--format", "json")
    assert json.loads(stored.stdout) == [{"n": 15}]


def test_xcorr_help_states_the_lag_convention(runner) -> None:  # type: ignore[no-untyped-def]
    from tscorr.cli import app

    result = runner.invoke(app, ["xcorr", "--help"])
    assert "Lag k > 0 means the series moves k buckets AFTER the events" in " ".join(
        result.stdout.split()
    )


def test_xcorr_bad_arguments(loaded) -> None:  # type: ignore[no-untyped-def]
    bad_test = loaded("xcorr", "--events", "true", "--test", "magic")
    assert bad_test.exit_code == ExitCode.USAGE
    assert "Invalid value for '--test'" in bad_test.stderr  # click's usage error, with choices
    assert "'surrogate', 'prewhiten', 'white', 'none'" in bad_test.stderr
    bad_bucket = loaded("xcorr", "--events", "true", "--bucket", "1 fortnight")
    assert bad_bucket.exit_code == ExitCode.BAD_INPUT
    assert "is not a duration" in bad_bucket.stderr
    no_events = loaded("xcorr", "--events", "kind = 'nothing'")
    assert no_events.exit_code == ExitCode.NO_DATA


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "json", "ndjson", "md"])
def test_export_every_format(loaded, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    loaded(
        "xcorr",
        "--events",
        "true",
        "--by",
        "kind",
        "--bucket",
        "1d",
        "--max-lag",
        "3",
        "--surrogates",
        "99",
    )
    out = tmp_path / f"peaks.{fmt}"
    result = loaded("export", "--table", "xcorr", "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    readers = {
        "csv": pl.read_csv,
        "parquet": pl.read_parquet,
        "json": pl.read_json,
        "ndjson": pl.read_ndjson,
        "tsv": lambda p: pl.read_csv(p, separator="\t"),
    }
    if fmt == "md":
        lines = out.read_text().splitlines()
        assert lines[0].startswith("| run_id | event_set | series | lag |") and len(lines) == 2 + 14
    else:
        frame = readers[fmt](out)
        assert frame.height == 14 and {"lag", "r", "q_value"} <= set(frame.columns)


def test_export_unknown_run(loaded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = loaded("export", "42", "--out", str(tmp_path / "x.csv"))
    assert result.exit_code == ExitCode.NOT_FOUND
    assert result.stderr == "Error: run 42 does not exist; 'tscorr ls runs' lists them\n"


def test_demo_answers_its_question(runner, demo_built, demo_copy: Path, demo_rebuilt) -> None:  # type: ignore[no-untyped-def]
    from tscorr.cli import app

    stdout = demo_built.stdout  # built once per test run (conftest)
    assert "Question: When the US election was called on 9 Nov 2016" in stdout
    # the numbers first: 87 tweets in the hour of the call against 0.05 an hour in the 5 days
    # before (6 in 120 hours), and the verdict of the model test at its floor
    assert (
        "1. congratulations (tweets): 87 tweets in the hour of “AP calls the presidential race "
        "for Trump” (07:00-08:00 UTC, 9 Nov 2016), against 0.05 an hour in the 5 days before "
        "the window (4-9 Nov 2016): 1,740 times its usual level"
    ) in stdout
    assert "Far beyond chance (negative binomial test of the event's own hour, p < 0.0001)" in stdout
    assert "2. Donald Trump (wiki): 6,137,438 views on the day of" in stdout
    assert "fell" not in stdout and "cannot tell it from chance" not in stdout
    # the confounder the Brexit lists hold, and the comparison the question asks for
    assert "Other events in its window: Wales v Northern Ireland (Euro 2016), 25 Jun" in stdout
    assert "Compared: the race call moved" in stdout
    assert "the Brexit result moved" in stdout
    for low, high in re.findall(r"95% interval ([\d,.]+) to ([\d,.]+)", stdout):
        assert float(high.replace(",", "")) / float(low.replace(",", "")) <= 100
    assert "BBC forecasts Leave" in stdout  # the contrast
    again = runner.invoke(
        app, ["--db", str(demo_copy), "sql", "SELECT count(*) AS n FROM runs", "--format", "json"]
    )
    assert json.loads(again.stdout) == [{"n": 3}]
    assert demo_built.report.parent == demo_built.db.parent  # next to the database
    text = demo_built.report.read_text()
    assert text.count("<svg") >= 6 and "<script" not in text
    as_json = json.loads(demo_rebuilt[1])  # demo --json, rebuilding an earlier demo's file
    assert as_json[0]["answer"].startswith("congratulations (tweets): 87 tweets in the hour")


def test_export_html_report(loaded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    loaded(
        "xcorr",
        "--events",
        "true",
        "--by",
        "kind",
        "--bucket",
        "1d",
        "--max-lag",
        "3",
        "--surrogates",
        "99",
    )
    out = tmp_path / "report.html"
    result = loaded("export", "--table", "xcorr", "--format", "html", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and "<script" not in text
    # per pair: the series with its events and the correlogram; plus the overview
    assert text.count("<svg") == 2 * 2 + 1
    assert "Peyton Manning around kind = playoff" in text  # a human name, the key beside it
    assert "pageviews:Peyton_Manning: the answer is number" in text
    assert "lag (d); k &gt; 0: the series moves k d after the events" in text  # axis title
