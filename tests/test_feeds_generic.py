"""Generic tabular feeds: each form (long, wide, events) in each format, plain and gzip."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

import tscorr
from tscorr.errors import BadInput
from tscorr.ingest.source import LoadOptions
from tscorr.store import Store

LONG = pl.DataFrame(
    {
        "ts": ["2016-11-08T00:00:00Z", "2016-11-09T00:00:00Z", "2016-11-08T00:00:00Z"],
        "series": ["a", "a", "b"],
        "value": [1.5, 2.5, 7.0],
    }
)
WIDE = pl.DataFrame({"date": ["2016-11-08", "2016-11-09"], "x": [1, 2], "y": [10, 20]})
EVENTS = pl.DataFrame(
    {
        "ts": ["2016-11-09T07:29:00Z", "2016-06-24T04:40:00Z"],
        "kind": ["race-call", "referendum"],
        "name": ["AP call", "Leave wins"],
        "station": ["AP", "BBC"],
    }
)


def write(frame: pl.DataFrame, path: Path, fmt: str, gz: bool) -> Path:
    if fmt == "csv":
        data = frame.write_csv().encode()
    elif fmt == "tsv":
        data = frame.write_csv(separator="\t").encode()
    elif fmt == "json":
        data = json.dumps(frame.to_dicts()).encode()
    elif fmt == "ndjson":
        data = frame.write_ndjson().encode()
    else:
        frame.write_parquet(path)
        return path
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


FORMATS = [
    (fmt, gz)
    for fmt in ("csv", "tsv", "json", "ndjson", "parquet")
    for gz in ((False, True) if fmt != "parquet" else (False,))
]


def observations(store: Store) -> list[tuple[str, datetime, float]]:
    return store.query("SELECT series, ts, value FROM observations ORDER BY series, ts").rows()


@pytest.mark.parametrize("fmt,gz", FORMATS)
def test_long_form(store: Store, tmp_path: Path, fmt: str, gz: bool) -> None:
    path = write(LONG, tmp_path / f"long.{fmt}", fmt, gz)
    report = tscorr.load_file(store, path)
    assert report.feed == fmt  # detected from the name
    assert report.counts is not None and report.counts.points == 3
    assert observations(store) == [
        ("a", datetime(2016, 11, 8, tzinfo=UTC), 1.5),
        ("a", datetime(2016, 11, 9, tzinfo=UTC), 2.5),
        ("b", datetime(2016, 11, 8, tzinfo=UTC), 7.0),
    ]


@pytest.mark.parametrize("fmt,gz", FORMATS)
def test_wide_form(store: Store, tmp_path: Path, fmt: str, gz: bool) -> None:
    path = write(WIDE, tmp_path / f"traffic.{fmt}", fmt, gz)
    tscorr.load_file(store, path, options=LoadOptions(prefix="site:"))
    assert observations(store) == [
        ("site:x", datetime(2016, 11, 8, tzinfo=UTC), 1.0),
        ("site:x", datetime(2016, 11, 9, tzinfo=UTC), 2.0),
        ("site:y", datetime(2016, 11, 8, tzinfo=UTC), 10.0),
        ("site:y", datetime(2016, 11, 9, tzinfo=UTC), 20.0),
    ]
    # whole numbers alone never make a count: a generic file is a level unless --kind count
    assert store.query("SELECT DISTINCT kind, agg FROM series").rows() == [("level", "mean")]


@pytest.mark.parametrize("fmt,gz", FORMATS)
def test_events_form(store: Store, tmp_path: Path, fmt: str, gz: bool) -> None:
    path = write(EVENTS, tmp_path / f"timeline.{fmt}", fmt, gz)
    tscorr.load_file(store, path)
    rows = store.query("SELECT ts, kind, name, weight, attrs FROM events ORDER BY ts").rows()
    assert rows[1][:4] == (datetime(2016, 11, 9, 7, 29, tzinfo=UTC), "race-call", "AP call", 1.0)
    assert json.loads(rows[1][4]) == {"station": "AP"}


def test_wide_default_prefix_is_the_file_stem(store: Store, tmp_path: Path) -> None:
    tscorr.load_file(store, write(WIDE, tmp_path / "traffic.csv", "csv", False))
    assert store.query("SELECT name FROM series ORDER BY 1").rows() == [
        ("traffic:x",),
        ("traffic:y",),
    ]


def test_mixed_timestamps_and_bad_values_are_rejected_per_row(store: Store, fixtures: Path) -> None:
    report = tscorr.load_file(store, fixtures / "feeds/csv/long_mixed.csv")
    assert report.counts is not None
    assert (report.counts.rows_read, report.counts.rows_loaded, report.counts.rows_rejected) == (
        10,
        7,
        3,
    )
    rejects = store.query("SELECT line, raw, reason FROM rejects ORDER BY line").rows()
    assert rejects == [
        (
            8,
            "not a time,trends:move to canada (US),7",
            "unrecognised timestamp 'not a time' (expected ISO 8601, 2016/11/09 07:30, 11/9/2016, "
            "Nov 9 2016, epoch s or ms, YYYYMMDD[HHMMSS])",
        ),
        (9, "2016-11-09T07:30:00Z,trends:jobs in canada (US),n/a", "value 'n/a' is not a number"),
        (11, "2016-11-09T09:30:00Z,trends:jobs in canada (US),", "empty value"),
    ]
    canada = store.query(
        "SELECT hour(ts) AS h, value FROM observations WHERE series LIKE 'trends:move%' ORDER BY ts"
    ).rows()
    assert canada == [(7, 100.0), (8, 80.0), (9, 40.0), (10, 20.0), (11, 10.0), (12, 5.0)]
    jobs = store.query("SELECT ts, value FROM observations WHERE series LIKE 'trends:jobs%'").rows()
    assert jobs == [(datetime(2016, 11, 9, 7, 30, tzinfo=UTC), 1234.0)]


def test_events_with_end_weight_and_a_bad_weight(store: Store, fixtures: Path) -> None:
    report = tscorr.load_file(
        store, fixtures / "feeds/csv/events.csv", options=LoadOptions(tz="America/New_York")
    )
    assert report.counts is not None and report.counts.events == 3
    debate = store.query("SELECT ts, ts_end, weight, attrs FROM events WHERE kind = 'debate'").row(
        0
    )
    assert debate[0] == datetime(2016, 10, 10, 1, 0, tzinfo=UTC)  # 21:00 EDT
    assert debate[1] == datetime(2016, 10, 10, 2, 30, tzinfo=UTC)
    assert debate[2] == 2.0
    assert json.loads(debate[3]) == {"source": "CPD"}
    assert store.query("SELECT line, reason FROM rejects").rows() == [
        (5, "weight 'heavy' is not a number")
    ]


def test_ndjson_bad_line_is_rejected_rest_loads(store: Store, fixtures: Path) -> None:
    report = tscorr.load_file(store, fixtures / "feeds/ndjson/long.ndjson")
    assert report.counts is not None and report.counts.points == 3
    line, raw, reason = store.query("SELECT line, raw, reason FROM rejects").row(0)
    assert line == 3 and raw.startswith('{"timestamp": "2016-11-09T09:00:00Z"')
    assert reason.startswith("not valid JSON")


def test_tsv_wide_fixture(store: Store, fixtures: Path) -> None:
    tscorr.load_file(store, fixtures / "feeds/tsv/wide.tsv", options=LoadOptions(prefix=""))
    got = store.query(
        "SELECT series, value FROM observations WHERE ts = '2016-11-09' ORDER BY 1"
    ).rows()
    assert got == [("cic.gc.ca:5xx", 900.0), ("cic.gc.ca:requests", 25000.0)]


def test_json_nested_values_are_kept_as_json(store: Store, fixtures: Path) -> None:
    tscorr.load_file(store, fixtures / "feeds/json/events.json")
    attrs = store.scalar("SELECT attrs FROM events WHERE kind = 'race-call'")
    assert json.loads(json.loads(attrs)["meta"]) == {"by": "AP"}


def test_explicit_column_roles(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(
        "stamp,who,amount,rank\n2016-11-09,Trump,6000000,1\n2016-11-09,Clinton,2500000,2\n"
    )
    tscorr.load_file(
        store,
        path,
        options=LoadOptions(ts_col="stamp", series_col="who", value_col="amount", prefix="views:"),
    )
    assert store.query("SELECT series, value FROM observations ORDER BY 1").rows() == [
        ("views:Clinton", 2500000.0),
        ("views:Trump", 6000000.0),
    ]


def test_unknown_role_column_names_the_columns(store: Store, tmp_path: Path) -> None:
    path = write(LONG, tmp_path / "long.csv", "csv", False)
    with pytest.raises(
        BadInput, match=r"--ts-col 'time' is not a column \(found: ts, series, value\)"
    ):
        tscorr.load_file(store, path, options=LoadOptions(ts_col="time"))


def test_native_parquet_timestamps_keep_their_zone(store: Store, tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "ts": pl.Series([datetime(2016, 11, 9, 2, 30)]).dt.replace_time_zone(
                "America/New_York"
            ),
            "series": ["x"],
            "value": [1],
        }
    )
    tscorr.load_file(store, write(frame, tmp_path / "t.parquet", "parquet", False))
    assert store.scalar("SELECT ts FROM points") == datetime(2016, 11, 9, 7, 30, tzinfo=UTC)
