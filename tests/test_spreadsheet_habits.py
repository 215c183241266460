"""What a spreadsheet user does (#26): a date column and a time column, a retry after a load
that rejected every row, an unquoted word in a filter, a glob where one series is wanted, and a
date given as the last day to read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tscorr.store import Store

DTE = (
    "Date,Time,Event\n"
    "11/9/2016,2:29 AM,AP calls the race for Trump\n"
    "11/8/2016,7:00 PM,First polls close\n"
    "3/13/2016,2:30 AM,Inside the daylight-saving gap\n"
    "11/8/2016,25:00,Not a time\n"
)


def _events(db: Path) -> dict[str, datetime]:
    with Store.open(str(db), read_only=True) as store:
        rows = store.query("SELECT name, ts FROM events").to_dicts()
    return {r["name"]: r["ts"].astimezone(UTC).replace(tzinfo=None) for r in rows}


@pytest.mark.parametrize("ts_col", [None, "Date,Time"])
def test_a_date_and_a_time_column_are_one_wall_time(
    cli, db_path: Path, tmp_path: Path, ts_col: str | None
) -> None:  # type: ignore[no-untyped-def]
    """Detected from the header (Date + Time) or named; 2:29 AM in New York on 9 Nov 2016
    (EST, UTC-5) is 07:29 UTC; 7:00 PM on 8 Nov is midnight UTC on the 9th."""
    path = tmp_path / "calls.csv"
    path.write_text(DTE)
    args = ["load", str(path), "--tz", "America/New_York"]
    done = cli(*args, *(["--ts-col", ts_col] if ts_col else []))
    assert done.exit_code == 0, done.output
    assert _events(db_path) == {
        "AP calls the race for Trump": datetime(2016, 11, 9, 7, 29),
        "First polls close": datetime(2016, 11, 9, 0, 0),
    }
    rejects = json.loads(
        cli("sql", "SELECT line, reason FROM rejects ORDER BY line", "--json").stdout
    )
    assert [r["line"] for r in rejects] == [4, 5]
    assert "does not exist in America/New_York" in rejects[0]["reason"]
    assert rejects[1]["reason"] == "time '25:00' is not a time of day (e.g. 14:30 or 2:30 PM)"
    # the Time column is read, not kept as an attribute of each event
    attrs = cli("sql", "SELECT DISTINCT attrs FROM events", "--json").stdout
    assert "Time" not in attrs


def test_ts_col_naming_a_missing_column_of_a_pair_says_which(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "calls.csv"
    path.write_text(DTE)
    done = cli("load", str(path), "--ts-col", "Date,Hour")
    assert done.exit_code != 0
    assert done.stderr.strip() == (
        f"Error: {path}: --ts-col 'Date,Hour': 'Hour' is not a column (found: Date, Time, Event)"
    )


def test_a_retry_after_every_row_was_rejected_loads(cli, db_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "calls.csv"
    path.write_text(DTE)
    first = cli("load", str(path), "--ts-col", "Time")  # the wrong column: every row rejected
    assert first.exit_code != 0 and "every row was rejected" in first.stderr
    retry = cli("load", str(path), "--ts-col", "Date,Time", "--tz", "America/New_York")
    assert retry.exit_code == 0, retry.output
    said = " ".join(retry.stderr.split())  # notes wrap at the terminal's width
    assert "already loaded" not in said
    assert "loaded no rows, every one rejected; this load replaces it" in said
    assert len(_events(db_path)) == 2
    sources = json.loads(cli("ls", "sources", "--json").stdout)
    assert len(sources) == 1 and sources[0]["rows_loaded"] == 2
    # the rejects of the first try went with it: only the retry's two remain
    assert json.loads(cli("sql", "SELECT count(*) AS n FROM rejects", "--json").stdout)[0]["n"] == 2
    # a load that did load rows is still skipped on a second try
    again = cli("load", str(path), "--ts-col", "Date,Time", "--tz", "America/New_York")
    assert again.exit_code == 0 and "already loaded" in again.stderr


@pytest.fixture
def sandy(cli, fixtures: Path):  # type: ignore[no-untyped-def]
    assert (
        cli(
            "load",
            str(fixtures / "real/sandy-311-calls--sandy-311-calls-by-day.csv"),
            "--prefix",
            "311:",
        ).exit_code
        == 0
    )
    assert cli("load", str(fixtures / "events/news2012-2016.csv")).exit_code == 0
    return cli


@pytest.mark.parametrize(
    ("written", "suggested"),
    [
        ("kind=hurricane", "kind = 'hurricane'"),
        ('kind = "hurricane"', "kind = 'hurricane'"),
        ("kind in (hurricane, 'race-call')", "kind in ('hurricane', 'race-call')"),
    ],
)
def test_an_unquoted_word_in_a_filter_says_to_quote_it(sandy, written: str, suggested: str) -> None:  # type: ignore[no-untyped-def]
    done = sandy("xcorr", "--events", written, "--series", "311:NYCEM", "--bucket", "1d")
    assert done.exit_code != 0
    assert done.stderr.strip() == (
        f"Error: event filter '{written}': hurricane is not a column; put text in single "
        f"quotes: {suggested}"
    )
    assert "Binder" not in done.stderr


def test_explain_with_a_glob_says_it_takes_one_series(sandy) -> None:  # type: ignore[no-untyped-def]
    done = sandy("explain", "--series", "311:*", "--bucket", "1d")
    assert done.exit_code != 0
    message = done.stderr.strip()
    assert message.startswith("Error: explain takes one series, and --series '311:*' matches 24: ")
    assert "311:ACS, 311:BPSI" in message and "and 14 more" in message and "[*]" not in message
    none = sandy("explain", "--series", "nothing:*", "--bucket", "1d")
    assert (
        none.stderr.strip() == "Error: no series matches 'nothing:*'; 'tscorr ls series' lists them"
    )
    # a glob of one name is that name
    one = sandy("explain", "--series", "311:NYCE*", "--bucket", "1d", "--json")
    assert one.exit_code == 0, one.output
    assert "--series '311:NYCE*' matches 311:NYCEM" in " ".join(one.stderr.split())
    assert json.loads(one.stdout)[0]["value"] == 154  # the day after landfall


STANDUP = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//tscorr tests//EN
BEGIN:VEVENT
UID:standup@example.com
DTSTART;TZID=America/New_York:20240101T100000
DTEND;TZID=America/New_York:20240101T101500
RRULE:FREQ=DAILY
SUMMARY:Stand-up
END:VEVENT
END:VCALENDAR
"""


@pytest.mark.parametrize(("until", "days"), [("2024-01-05", 5), ("2024-01-05 09:00", 4)])
def test_until_a_date_includes_that_day(
    cli, db_path: Path, tmp_path: Path, until: str, days: int
) -> None:  # type: ignore[no-untyped-def]
    """A daily 10:00 event read --until 2024-01-05 includes the 5th; a time is an instant."""
    path = tmp_path / "standup.ics"
    path.write_text(STANDUP)
    done = cli("load", str(path), "--until", until, "--tz", "America/New_York")
    assert done.exit_code == 0, done.output
    with Store.open(str(db_path), read_only=True) as store:
        times = store.query("SELECT ts FROM events ORDER BY ts")["ts"].to_list()
    assert len(times) == days
    assert times[-1].astimezone(UTC).replace(tzinfo=None) == datetime(2024, 1, days, 15, 0)


@pytest.mark.parametrize(
    ("header", "cells", "expected"),
    [
        (["Date", "Time", "Event"], ["11/9/2016", "2:29 AM", "x"], ("Date", "Time")),
        (["day", "time of day", "views"], ["2016-11-09", "14:30", "3"], ("day", "time of day")),
        # a full timestamp column wins; a time column of instants is not a time of day
        (["timestamp", "date", "time", "v"], ["2016-11-09T07:29Z", "x", "2:29 AM", "1"], None),
        (["date", "time", "v"], ["2016-11-09", "2016-11-09T07:29:00Z", "1"], None),
    ],
)
def test_a_date_and_time_pair_is_found_only_when_the_header_and_cells_say_so(
    header: list[str], cells: list[str], expected: tuple[str, str] | None
) -> None:
    import polars as pl

    from tscorr.ingest.feeds import get_feed
    from tscorr.ingest.feeds.shape import resolve_roles
    from tscorr.ingest.source import LoadOptions

    raw = pl.DataFrame([pl.Series(h, [c]) for h, c in zip(header, cells, strict=True)])
    roles = resolve_roles(raw.columns, get_feed("csv").spec, LoadOptions(), "f.csv", raw)
    assert ((roles.ts, roles.ts_time) if roles.ts_time else None) == expected


def test_a_misspelt_column_is_not_taken_for_text(sandy) -> None:  # type: ignore[no-untyped-def]
    done = sandy("xcorr", "--events", "kidn = 'hurricane'", "--series", "311:NYCEM")
    assert done.exit_code != 0
    assert "single quotes" not in done.stderr
    assert "write a SQL condition over event_id, ts, ts_end, kind" in done.stderr
