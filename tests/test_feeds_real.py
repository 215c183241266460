"""Real-world feeds on real files (fixtures/real) and small synthetic ones, checked by hand."""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

import tscorr
from tscorr.ingest.feeds import access_log
from tscorr.ingest.source import LoadOptions
from tscorr.store import Store

WEB = "real/weblogs/elastic_apache_logs.log"
NASA = "real/weblogs/nasa_access_log_Aug95_first205KB_corrupt.log"


def total(store: Store, series: str) -> float:
    return store.scalar("SELECT sum(value) FROM observations WHERE series = ?", [series])


def status_and_bytes(line: str) -> tuple[int, int] | None:
    """An independent reading of a log line: the fields after the quoted request."""
    parts = line.split('"')
    if len(parts) < 3:
        return None
    tail = parts[2].split()
    if len(tail) < 2 or not tail[0].isdigit():
        return None
    return int(tail[0]), 0 if tail[1] == "-" else int(tail[1])


# --- access-log ---------------------------------------------------------------------------------


def test_access_log_counts_per_bucket(store: Store, fixtures: Path) -> None:
    report = tscorr.load_file(store, fixtures / WEB, options=LoadOptions(extra={"bucket": "1h"}))
    assert report.feed == "access-log" and report.counts is not None
    assert (report.counts.rows_read, report.counts.rows_rejected) == (10000, 0)
    fields = [status_and_bytes(line) for line in (fixtures / WEB).read_text().splitlines()]
    assert total(store, "access:requests") == 10000
    assert total(store, "access:5xx") == sum(1 for f in fields if f and 500 <= f[0] < 600)
    assert total(store, "access:4xx") == sum(1 for f in fields if f and 400 <= f[0] < 500)
    assert total(store, "access:bytes") == sum(f[1] for f in fields if f)
    first, last = store.query("SELECT min(ts), max(ts) FROM points").row(0)
    assert first == datetime(2015, 5, 17, 10, tzinfo=UTC) and last == datetime(
        2015, 5, 20, 21, tzinfo=UTC
    )
    assert store.scalar("SELECT agg FROM series WHERE name = 'access:requests'") == "sum"


def test_access_log_offsets_and_broken_lines(store: Store, fixtures: Path) -> None:
    report = tscorr.load_file(store, fixtures / NASA, options=LoadOptions(extra={"bucket": "15m"}))
    assert report.counts is not None
    assert (report.counts.rows_read, report.counts.rows_rejected) == (1930, 89)
    # 01/Aug/1995:00:00:01 -0400 is 04:00:01 UTC
    assert store.scalar("SELECT min(ts) FROM points") == datetime(1995, 8, 1, 4, tzinfo=UTC)
    line, raw = store.query("SELECT line, raw FROM rejects ORDER BY line LIMIT 1").row(0)
    assert (fixtures / NASA).read_text().splitlines()[line - 1] == raw
    assert total(store, "access:requests") == 1930 - 89


def test_access_log_per_path_and_gzip(store: Store, fixtures: Path, tmp_path: Path) -> None:
    packed = tmp_path / "access.log.gz"
    packed.write_bytes(gzip.compress((fixtures / WEB).read_bytes()))
    tscorr.load_file(
        store, packed, options=LoadOptions(extra={"bucket": "1d", "by": "path-prefix"})
    )
    lines = (fixtures / WEB).read_text().splitlines()
    blog = sum(1 for ln in lines if re.search(r'"[A-Z]+ /blog[/? ]', ln))
    assert total(store, "access:requests:/blog") == blog
    names = store.query("SELECT name FROM series WHERE name LIKE 'access:requests:%'")["name"]
    assert "access:requests:/presentations" in names.to_list()


def test_access_log_path_regex(store: Store, fixtures: Path) -> None:
    opts = LoadOptions(extra={"bucket": "1d", "path": r"^(/presentations)/"})
    tscorr.load_file(store, fixtures / WEB, options=opts)
    lines = (fixtures / WEB).read_text().splitlines()
    assert total(store, "access:requests:/presentations") == sum(
        1
        for ln in lines
        if '"GET /presentations/' in ln
        or '"HEAD /presentations/' in ln
        or '"POST /presentations/' in ln
    )


def test_access_log_chunks_add_up(
    store: Store, fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(access_log, "CHUNK", 97)  # many partial aggregates, combined at the end
    tscorr.load_file(store, fixtures / WEB, options=LoadOptions(extra={"bucket": "1h"}))
    assert total(store, "access:requests") == 10000
    assert (
        store.scalar(
            "SELECT count(*) FROM (SELECT series_id, ts FROM points GROUP BY ALL HAVING count(*) > 1)"
        )
        == 0
    )


# --- google-trends ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,rows,series,first,last,check",
    [
        (
            "09252017_TrumpNewsEventsIndexedSeparately.csv",
            244,
            40,
            datetime(2017, 1, 1),
            datetime(2017, 9, 1),
            ("trends:Women’s march", datetime(2017, 1, 21), 100.0),
        ),
        (
            "20150626_ElectionCandidatesbyWeek.csv",
            25,
            21,
            datetime(2014, 12, 28),
            datetime(2015, 6, 14),
            ("trends:Hillary Clinton", datetime(2014, 12, 28), 1.699089009),
        ),
        (
            "20160517_RepublicanByWeek.csv",
            72,
            15,
            datetime(2014, 12, 28),
            datetime(2016, 5, 8),
            ("trends:Jeb Bush", datetime(2014, 12, 28), 2.22),
        ),
        (
            "20180426_Search_interest_in_royal_baby_v_Brexit.csv",
            85,
            2,
            datetime(2018, 4, 12, 8),
            datetime(2018, 4, 26, 8),
            ("trends:Brexit", datetime(2018, 4, 12, 8), 4.0),
        ),
        (
            "puerto-rico-media--google_trends.csv",
            37,
            4,
            datetime(2017, 8, 20),
            datetime(2017, 9, 25),
            ('trends:"Hurricane Harvey" (United States)', datetime(2017, 8, 20), 0.0),
        ),
    ],
)
def test_google_trends_files(
    store: Store,
    fixtures: Path,
    name: str,
    rows: int,
    series: int,
    first: datetime,
    last: datetime,
    check: tuple[str, datetime, float],
) -> None:
    report = tscorr.load_file(store, fixtures / "real/googletrends" / name)
    assert report.feed == "google-trends" and report.counts is not None
    assert (report.counts.rows_read, report.counts.rows_rejected, report.counts.series) == (
        rows,
        0,
        series,
    )
    lo, hi = store.query("SELECT min(ts), max(ts) FROM points").row(0)
    assert (lo, hi) == (first.replace(tzinfo=UTC), last.replace(tzinfo=UTC))
    got = store.scalar(
        "SELECT value FROM observations WHERE series = ? AND ts = ?",
        [check[0], check[1].replace(tzinfo=UTC)],
    )
    assert got == pytest.approx(check[2])
    attrs = json.loads(store.scalar("SELECT attrs FROM series LIMIT 1"))
    assert attrs["relative_index"] is True and attrs["comparable_within"] == name


def test_trump_news_women_march_peak_read_by_hand(fixtures: Path) -> None:
    # the raw file (MacRoman bytes) has 100 for the Women's march column on Jan 21 2017
    raw = (
        (fixtures / "real/googletrends/09252017_TrumpNewsEventsIndexedSeparately.csv")
        .read_bytes()
        .decode("mac_roman")
    )
    row = next(
        r for r in csv.reader(raw.replace("\r", "").splitlines()) if r and r[0] == "Jan 21 2017"
    )
    assert row[2] == "100"


def test_google_trends_lt1_kept_with_flag(store: Store, fixtures: Path) -> None:
    report = tscorr.load_file(
        store,
        fixtures / "feeds/google-trends/multiTimeline.csv",
        options=LoadOptions(tz="America/New_York"),
    )
    assert report.feed == "google-trends" and report.counts is not None
    flagged = store.query("SELECT value, flag FROM points WHERE flag IS NOT NULL").rows()
    assert flagged == [(0.5, "lt1")]
    assert report.counts.rows_rejected == 1
    assert (
        store.scalar("SELECT reason FROM rejects")
        == "value 'n/a' in column 'trends:jobs in canada (United States)' is not a number"
    )
    # 2016-11-09T00 in New York is 05:00 UTC
    assert (
        store.scalar(
            "SELECT value FROM observations WHERE series = 'trends:move to canada (United States)' AND ts = '2016-11-09 05:00:00+00'"
        )
        == 100
    )


# --- wikimedia-pageviews ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["top100_2016-06-22_to_2016-06-24.csv", "top100_2016-11-05_to_2016-11-10.csv"]
)
def test_top_lists_with_censoring(store: Store, fixtures: Path, name: str) -> None:
    path = fixtures / "real/wikipedia" / name
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    report = tscorr.load_file(store, path)
    assert report.feed == "wikimedia-pageviews" and report.counts is not None
    articles = {r["article"] for r in rows}
    days = {r["date"] for r in rows}
    present = {(r["article"], r["date"]) for r in rows}
    assert report.counts.points == len(rows) and report.counts.series == len(articles)
    assert store.scalar("SELECT count(*) FROM censored") == len(articles) * len(days) - len(present)
    cutoff = {d: min(int(r["views"]) for r in rows if r["date"] == d) for d in days}
    censored = store.query(
        "SELECT s.name, strftime(c.ts, '%Y/%m/%d') AS day, c.below FROM censored c JOIN series s USING (series_id)"
    )
    for article, day, below in censored.rows():
        assert (article.removeprefix("pageviews:en.wikipedia/"), day) not in present
        assert below == cutoff[day]
    assert json.loads(store.scalar("SELECT attrs FROM series LIMIT 1"))["censored"] is True


def test_top_list_values_by_hand(store: Store, fixtures: Path) -> None:
    tscorr.load_file(store, fixtures / "real/wikipedia/top100_2016-06-22_to_2016-06-24.csv")
    assert (
        store.scalar(
            "SELECT value FROM observations WHERE series = 'pageviews:en.wikipedia/Brexit'"
        )
        == 42058
    )
    days = store.query(
        "SELECT ts FROM censored c JOIN series s USING (series_id) WHERE s.name = 'pageviews:en.wikipedia/Brexit' ORDER BY ts"
    )
    assert days["ts"].to_list() == [
        datetime(2016, 6, 22, tzinfo=UTC),
        datetime(2016, 6, 23, tzinfo=UTC),
    ]


def test_pageviews_api_json_and_hourly_dump(store: Store, fixtures: Path) -> None:
    tscorr.load_file(store, fixtures / "feeds/wikimedia/per_article.json")
    assert store.query("SELECT series, ts, value FROM observations ORDER BY ts").rows() == [
        ("pageviews:en.wikipedia/Brexit", datetime(2016, 6, 23, tzinfo=UTC), 29000.0),
        ("pageviews:en.wikipedia/Brexit", datetime(2016, 6, 24, tzinfo=UTC), 410000.0),
    ]
    report = tscorr.load_file(
        store, fixtures / "feeds/wikimedia/pageviews-20161109-070000", feed="wikimedia-pageviews"
    )
    assert report.counts is not None and report.counts.rows_rejected == 1
    hour = datetime(2016, 11, 9, 7, tzinfo=UTC)
    got = dict(store.query("SELECT series, value FROM observations WHERE ts = ?", [hour]).rows())
    assert got == {
        "pageviews:en.wikipedia/Donald_Trump": 81234.0,
        "pageviews:en.m.wikipedia/Donald_Trump": 120456.0,
        "pageviews:en.wikipedia/Hillary_Clinton": 40321.0,
        "pageviews:de.wikipedia/Donald_Trump": 9876.0,
    }


# --- gdelt -----------------------------------------------------------------------------------


def test_gdelt_1_events_mixed_widths(store: Store, fixtures: Path) -> None:
    path = fixtures / "real/gdelt/gdelt1_events_sample_20160728.tsv"
    lines = path.read_text().splitlines()
    widths = Counter(len(ln.split("\t")) for ln in lines)
    assert widths == {58: 509, 57: 201}
    report = tscorr.load_file(store, path)
    assert report.feed == "gdelt" and report.counts is not None
    assert (report.counts.rows_read, report.counts.rows_rejected, report.counts.events) == (
        710,
        0,
        710,
    )
    first = lines[0].split("\t")
    ev = store.query(
        "SELECT ts, kind, name, weight, attrs FROM events WHERE json_extract_string(attrs, '$.GLOBALEVENTID') = ?",
        [first[0]],
    ).row(0, named=True)
    assert ev["ts"] == datetime(2016, 7, 28, tzinfo=UTC)  # DATEADDED 20160728
    assert ev["kind"] == "cameo:make public statement"  # root code 01
    assert ev["name"] == "UNITED STATES -> ?: make public statement (010)"
    assert ev["weight"] == float(first[31])  # NumMentions
    attrs = json.loads(ev["attrs"])
    assert (
        attrs["ActionGeo_FullName"] == "National Postal Museum, District of Columbia, United States"
    )
    assert attrs["SOURCEURL"].startswith("http://wtop.com/")


def test_gdelt_event_date_instead_of_date_added(store: Store, fixtures: Path) -> None:
    tscorr.load_file(
        store,
        fixtures / "real/gdelt/gdelt1_events_sample_20160728.tsv",
        options=LoadOptions(ts_col="SQLDATE"),
    )
    # SQLDATE runs from 19820102 (backfile rows) to 20160728 (cut -f2 | sort)
    first, last = store.query("SELECT min(ts), max(ts) FROM events").row(0)
    assert (first, last) == (datetime(1982, 1, 2, tzinfo=UTC), datetime(2016, 7, 28, tzinfo=UTC))


def test_gdelt_2_mentions(store: Store, fixtures: Path) -> None:
    path = fixtures / "real/gdelt/gdelt2_mentions_sample_20170701.csv"
    report = tscorr.load_file(store, path)
    assert report.feed == "gdelt" and report.counts is not None
    assert (report.counts.rows_read, report.counts.rows_rejected) == (1635, 0)
    assert report.counts.events + report.counts.duplicates == 1635
    assert store.scalar("SELECT DISTINCT kind FROM events") == "gdelt:mention"
    assert store.scalar("SELECT min(ts) FROM events") == datetime(2017, 7, 1, 23, 45, tzinfo=UTC)


# --- prometheus and ical ---------------------------------------------------------------------------


def test_prometheus_range_query(store: Store, fixtures: Path) -> None:
    report = tscorr.load_file(store, fixtures / "feeds/prometheus/query_range.json")
    assert (
        report.feed == "prometheus"
        and report.counts is not None
        and report.counts.rows_rejected == 1
    )
    names = store.query("SELECT name FROM series ORDER BY 1")["name"].to_list()
    assert names == [
        'prom:http_requests_total{code="200",job="cic"}',
        'prom:http_requests_total{code="503",job="cic"}',
    ]
    assert (
        store.scalar(
            "SELECT value FROM observations WHERE ts = '2016-11-09 02:00:00+00' AND series LIKE '%200%'"
        )
        == 9800.5
    )


def test_ical_events(store: Store, fixtures: Path) -> None:
    report = tscorr.load_file(store, fixtures / "feeds/ical/election2016.ics")
    assert report.feed == "ical" and report.counts is not None
    assert (report.counts.events, report.counts.rows_rejected) == (4, 0)
    rows = {r[2]: r for r in store.query("SELECT ts, ts_end, kind, name FROM events").rows()}
    assert rows["debate"][:2] == (
        datetime(2016, 10, 10, 1, tzinfo=UTC),
        datetime(2016, 10, 10, 2, 30, tzinfo=UTC),
    )
    assert rows["debate"][3] == "Second presidential debate, St. Louis"
    assert rows["race-call"][3] == "AP calls the presidential race"  # unfolded
    assert rows["election"][:2] == (
        datetime(2016, 11, 8, tzinfo=UTC),
        datetime(2016, 11, 9, tzinfo=UTC),
    )
    # a Windows zone name is read as its IANA zone: 04:40 in London in June is 03:40 UTC
    assert rows["referendum-result"][0] == datetime(2016, 6, 24, 3, 40, tzinfo=UTC)


def test_gdelt_2_events_row(store: Store, fixtures: Path) -> None:
    report = tscorr.load_file(store, fixtures / "feeds/gdelt/20161109081500.export.CSV")
    assert report.feed == "gdelt" and report.counts is not None and report.counts.events == 1
    ev = store.query("SELECT ts, kind, name, weight FROM events").row(0)
    # DATEADDED 20161109081500 is a 15-minute UTC stamp in GDELT 2.0
    assert ev == (
        datetime(2016, 11, 9, 8, 15, tzinfo=UTC),
        "cameo:express intent to cooperate",
        "UNITED STATES -> CANADA: express intent to cooperate (0311)",
        12.0,
    )
