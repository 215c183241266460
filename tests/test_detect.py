"""Feed detection on every fixture, and clear failures for bad files of every feed."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import tscorr
from tscorr.errors import BadInput, TscorrError
from tscorr.ingest.feeds import detect
from tscorr.ingest.source import SourceFile
from tscorr.store import Store

EXPECTED = {
    "feeds/csv/long_mixed.csv": "csv",
    "feeds/csv/events.csv": "csv",
    "feeds/tsv/wide.tsv": "tsv",
    "feeds/json/events.json": "json",
    "feeds/ndjson/long.ndjson": "ndjson",
    "feeds/prometheus/query_range.json": "prometheus",
    "feeds/ical/election2016.ics": "ical",
    "feeds/google-trends/multiTimeline.csv": "google-trends",
    "feeds/wikimedia/per_article.json": "wikimedia-pageviews",
    "feeds/wikimedia/pageviews-20161109-070000": "wikimedia-pageviews",
    "real/sandy-311-calls--sandy-311-calls-by-day.csv": "csv",
    "real/presidential-campaign-trail--trump.csv": "csv",
    "real/example_wp_log_peyton_manning.csv": "csv",
    "real/weblogs/elastic_apache_logs.log": "access-log",
    "real/weblogs/nasa_access_log_Aug95_first205KB_corrupt.log": "access-log",
    "real/googletrends/09252017_TrumpNewsEventsIndexedSeparately.csv": "google-trends",
    "real/googletrends/20150626_ElectionCandidatesbyWeek.csv": "google-trends",
    "real/googletrends/20160517_RepublicanByWeek.csv": "google-trends",
    "real/googletrends/20180426_Search_interest_in_royal_baby_v_Brexit.csv": "google-trends",
    "real/googletrends/puerto-rico-media--google_trends.csv": "google-trends",
    "real/wikipedia/top100_2016-06-22_to_2016-06-24.csv": "wikimedia-pageviews",
    "real/gdelt/gdelt1_events_sample_20160728.tsv": "gdelt",
    "real/gdelt/gdelt2_mentions_sample_20170701.csv": "gdelt",
}


@pytest.mark.parametrize("path,feed", sorted(EXPECTED.items()))
def test_detection_picks_the_right_feed(fixtures: Path, path: str, feed: str) -> None:
    assert detect(SourceFile(fixtures / path)).name == feed


def test_detection_sees_through_gzip(fixtures: Path, tmp_path: Path) -> None:
    packed = tmp_path / "elastic.log.gz"
    packed.write_bytes(
        gzip.compress((fixtures / "real/weblogs/elastic_apache_logs.log").read_bytes())
    )
    assert detect(SourceFile(packed)).name == "access-log"


def test_ambiguous_file_is_refused_with_the_candidates(tmp_path: Path) -> None:
    odd = tmp_path / "export.dat"
    odd.write_text('{"resultType": "matrix", "items": [{"article": "X"}]}\n')
    with pytest.raises(
        BadInput, match=r"could be any of these feeds: prometheus, wikimedia-pageviews; pass --feed"
    ):
        detect(SourceFile(odd))


BAD_FILES = {
    "empty": b"",
    "binary": b"\x00\x01\x02\x03garbage\x00" * 50,
    "wrong encoding": "caf\xe9 BEGIN:VCALENDAR\n".encode("latin-1") + b"\xff\xfe\x00",
}


@pytest.mark.parametrize(
    "feed", ["access-log", "google-trends", "wikimedia-pageviews", "gdelt", "prometheus", "ical"]
)
@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_files_fail_clearly_and_leave_nothing(
    store: Store, tmp_path: Path, feed: str, kind: str
) -> None:
    path = tmp_path / "bad.input"
    path.write_bytes(BAD_FILES[kind])
    with pytest.raises(TscorrError) as info:
        tscorr.load_file(store, path, feed=feed)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert store.scalar("SELECT count(*) FROM sources") == 0


def test_truncated_gzip_log(store: Store, fixtures: Path, tmp_path: Path) -> None:
    packed = gzip.compress((fixtures / "real/weblogs/elastic_apache_logs.log").read_bytes())
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(BadInput, match="the gzip stream is damaged"):
        tscorr.load_file(store, cut)
    assert store.scalar("SELECT count(*) FROM points") == 0


def test_header_only_trends_file(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "multiTimeline.csv"
    path.write_text("Category: All categories\n\nDay,brexit: (United Kingdom)\n")
    with pytest.raises(BadInput, match="no header row"):
        tscorr.load_file(store, path)


def test_mixed_format_log_rejects_the_foreign_lines(
    store: Store, fixtures: Path, tmp_path: Path
) -> None:
    lines = (fixtures / "real/weblogs/elastic_apache_logs.log").read_text().splitlines()[:50]
    mixed = tmp_path / "mixed.log"
    mixed.write_text(
        "\n".join(lines[:25] + ['{"ts": "2015-05-17T10:05:03Z", "status": 200}'] + lines[25:])
        + "\n"
    )
    report = tscorr.load_file(store, mixed)
    assert report.counts is not None and (
        report.counts.rows_loaded,
        report.counts.rows_rejected,
    ) == (50, 1)
    assert store.query("SELECT line, reason FROM rejects").row(0) == (
        26,
        "not a Common or Combined Log Format line",
    )


def test_truncated_gdelt_row_is_rejected(store: Store, fixtures: Path, tmp_path: Path) -> None:
    rows = (fixtures / "real/gdelt/gdelt1_events_sample_20160728.tsv").read_text().splitlines()[:5]
    rows[2] = "\t".join(rows[2].split("\t")[:30])
    path = tmp_path / "cut.tsv"
    path.write_text("\n".join(rows) + "\n")
    report = tscorr.load_file(store, path, feed="gdelt")
    assert report.counts is not None and report.counts.rows_rejected == 1
    assert (
        store.scalar("SELECT reason FROM rejects")
        == "30 tab-separated columns; GDELT events have 57, 58 (1.0) or 61 (2.0)"
    )
