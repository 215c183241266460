"""Every file of ``fixtures/realworld`` (75 real files from public repositories, provenance in
its SOURCES.md) either loads correctly or is refused with one line naming what is wrong.

"Correctly" is checked against parsers that share no code with tscorr: the csv and json
modules, a log regex written here, dateutil's rrule and zoneinfo for calendars, and known
answers worked out by hand from the files.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

import tscorr
from tscorr.errors import ExitCode
from tscorr.store import Store

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "realworld"
FILES = sorted(str(p.relative_to(REAL)) for p in REAL.glob("*/*"))

# the files refused whole, and the words their one-line message must hold
REFUSED = {
    "google-trends/india_geoMap.csv": "no timestamp column",
    "ical/icaljs_blank_line_mid.ics": "holds no VEVENT",
    "ical/pyical_bom_calendar.ics": "holds no VEVENT",
    "ical/pyical_calendar_with_unicode.ics": "holds no VEVENT",
    "ical/pyical_america_new_york_forward_reference.ics": "2 DTSTART values",
    "ical/pyical_pacific_fiji.ics": "2 DTSTART values",
    "ical/pyical_multiple_timezones.ics": "RDATE holds a time of day without a date",
    "ical/pyical_pr_480_summary_with_colon.ics": "no DTSTART",
    "prometheus/kubecam_PrometheusResponse.js": "is a JavaScript module, not JSON",
    "prometheus/radex_prometheus_response.json": "holds no samples",
    "wikimedia/pageviews-20180101-000000.gz": "is a Git LFS pointer",
}


def test_the_folder_is_all_there() -> None:
    assert len(FILES) == 75 and len(REFUSED) == 11


@pytest.mark.parametrize("name", FILES)
def test_each_file_loads_or_is_refused_in_one_line(cli, name: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("load", str(REAL / name), "--json")
    if name in REFUSED:
        assert result.exit_code in (ExitCode.BAD_INPUT, ExitCode.REJECTED), result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
        assert Path(name).name in lines[0] and REFUSED[name] in lines[0]
        assert "Traceback" not in result.stderr
    else:
        assert result.exit_code == 0, result.stderr
        (report,) = json.loads(result.stdout)
        assert report["status"] == "loaded" and report["loaded"] > 0


def _load(store: Store, name: str, **extra: str) -> tscorr.LoadReport:
    options = tscorr.LoadOptions(extra=extra) if extra else None
    return tscorr.load_file(store, REAL / name, options=options)


def _points(store: Store, series: str) -> dict[datetime, float]:
    rows = store.query(
        "SELECT ts, value FROM observations WHERE series = ? ORDER BY ts", [series]
    ).rows()
    return dict(rows)


# --- access logs: a regex of our own, counted per minute ---------------------------------------

LOG = re.compile(r'^(?:\S+:\d+ )?\S+ \S+ \S+ \[([^\]]+)\] "[^"]*" (\d{3}) (\d+|-)')


@pytest.mark.parametrize(
    "name",
    [n for n in FILES if n.startswith("access-log/")],
)
def test_access_logs_equal_an_independent_count(store: Store, name: str) -> None:
    per_minute: Counter[datetime] = Counter()
    errors: Counter[datetime] = Counter()
    for line in (REAL / name).read_text(errors="replace").splitlines():
        match = LOG.match(line)
        if match:
            when = datetime.strptime(match.group(1), "%d/%b/%Y:%H:%M:%S %z").astimezone(UTC)
            minute = when.replace(second=0)
            per_minute[minute] += 1
            errors[minute] += match.group(2).startswith("5")
    report = _load(store, name)
    assert report.counts is not None and report.counts.rows_loaded == sum(per_minute.values())
    stored = _points(store, "access:requests")
    assert {k: v for k, v in stored.items() if v} == dict(per_minute)
    busiest = per_minute.most_common(3)  # three spot checks: the busiest minutes
    for minute, n in busiest:
        assert stored[minute] == n
    five = _points(store, "access:5xx")
    assert sum(five.values()) == sum(errors.values())


# --- GDELT: the csv module, tab-separated ---------------------------------------------------


@pytest.mark.parametrize("name", [n for n in FILES if n.startswith("gdelt/")])
def test_gdelt_equals_the_csv_module(store: Store, name: str) -> None:
    with (REAL / name).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    report = _load(store, name)
    assert report.counts is not None and report.counts.events == len(rows)
    mentions = name.endswith(".mentions.CSV")
    for row in (rows[0], rows[len(rows) // 2], rows[-1]):
        event_id = row[0]
        stamp = row[2] if mentions else (row[59] if len(row) >= 61 else None)
        got = store.query(
            "SELECT ts FROM events WHERE json_extract_string(attrs, '$.GLOBALEVENTID') = ?",
            [event_id],
        ).rows()
        assert got, event_id
        if stamp and len(stamp) == 14:
            assert got[0][0] == datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


# --- Google Trends: the csv module ----------------------------------------------------------

TRENDS = [n for n in FILES if n.startswith("google-trends/") and n not in REFUSED]


@pytest.mark.parametrize("name", TRENDS)
def test_trends_equal_the_csv_module(store: Store, name: str) -> None:
    lines = (REAL / name).read_text(encoding="utf-8-sig").splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^[^,:]+,.*: \(", line))
    table = list(csv.reader(lines[start:]))
    header, body = table[0], [r for r in table[1:] if r]
    report = _load(store, name)
    assert report.counts is not None and report.counts.rows_read == len(body)
    for column in range(1, len(header)):
        term, _, geo = header[column].rpartition(": (")
        series = f"trends:{term} ({geo.rstrip(')')})"  # quotes kept, as searched
        stored = _points(store, series)
        for row in (body[0], body[len(body) // 2], body[-1]):
            day = row[0] + "-01" if len(row[0]) == 7 else row[0]  # a monthly export: 2004-01
            when = datetime.fromisoformat(day).replace(tzinfo=UTC)
            expected = 0.5 if row[column] == "<1" else float(row[column])
            assert stored[when] == expected, (series, row)


def test_a_ukrainian_export_keeps_its_words(store: Store) -> None:
    _load(store, "google-trends/ukraine_multiTimeline.csv")
    stored = _points(store, "trends:что такое пандемия (Україна)")
    assert stored[datetime(2020, 3, 8, tzinfo=UTC)] == 100.0  # the peak week, by hand


# --- Prometheus: the json module --------------------------------------------------------------


def _prom_name(metric: dict[str, str], stem: str) -> str:
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    base = f"prom:{metric.get('__name__') or stem}"
    return f"{base}{{{rest}}}" if rest else base


@pytest.mark.parametrize(
    "name,stem",
    [
        ("prometheus/4n4nd_up_201907281200.json", "4n4nd_up_201907281200"),
        ("prometheus/grafana_range_auto.result.json", "grafana_range_auto.result"),
        ("prometheus/kubecam_PrometheusResponse.slice.json", "kubecam_PrometheusResponse.slice"),
    ],
)
def test_prometheus_equals_the_json_module(store: Store, name: str, stem: str) -> None:
    doc = json.loads((REAL / name).read_text())
    results = doc if isinstance(doc, list) else doc["data"]["result"]
    samples = [(r["metric"], t, float(v)) for r in results for t, v in r["values"]]
    report = _load(store, name)
    assert report.counts is not None and report.counts.points == len(
        {(_prom_name(m, stem), t) for m, t, _ in samples}
    )
    names = {s for (s,) in store.query("SELECT name FROM series").rows()}
    assert "prom:" not in names and all(n.startswith("prom:") and len(n) > 5 for n in names)
    for metric, t, value in (samples[0], samples[len(samples) // 2], samples[-1]):
        when = datetime.fromtimestamp(round(t * 1e6) / 1e6, UTC)
        assert _points(store, _prom_name(metric, stem))[when] == value


# --- Wikimedia: the json module -------------------------------------------------------------


def _documents(path: Path) -> list[object]:
    text, decoder, at, docs = path.read_text(), json.JSONDecoder(), 0, []
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        doc, at = decoder.raw_decode(text, at)
        docs.append(doc)
    return docs


@pytest.mark.parametrize(
    "name",
    [
        "wikimedia/keegan_top_per_country_pageviews.json",
        "wikimedia/lapaglia_top_per_country_pageviews.json",
    ],
)
def test_top_per_country_equals_the_json_module(store: Store, name: str) -> None:
    items: list[dict[str, object]] = []
    for doc in _documents(REAL / name):
        if isinstance(doc, dict):
            items += doc["items"] if "items" in doc else [doc]
    entries = {}
    for item in items:  # a day listed twice: the later list counts
        day = datetime(int(item["year"]), int(item["month"]), int(item["day"]), tzinfo=UTC)  # type: ignore[call-overload]
        for art in item["articles"]:  # type: ignore[attr-defined]
            name_ = f"pageviews:{art['project']}/{art['article']}@{item['country']}"
            entries[(name_, day)] = float(art["views_ceil"])
    report = _load(store, name)
    assert report.counts is not None and report.counts.points == len(entries)
    nulls = store.scalar("SELECT count(*) FROM points WHERE value IS NULL")
    assert nulls == 0  # the bug: 969 of 1000 values NULL
    keys = sorted(entries)
    for key in (keys[0], keys[len(keys) // 2], keys[-1]):
        assert _points(store, key[0])[key[1]] == entries[key]
    other_wikis = store.scalar(
        "SELECT count(*) FROM series WHERE name NOT LIKE 'pageviews:en.wikipedia/%'"
    )
    assert other_wikis > 0  # fr.wikipedia, wikidata ... under their own project
    flags = {f for (f,) in store.query("SELECT DISTINCT flag FROM points").rows()}
    assert flags == {"ceil"}


# --- iCalendar: dateutil's rrule, zoneinfo and answers worked out by hand -------------------


def _events(store: Store) -> list[tuple[datetime, datetime | None, str]]:
    return [tuple(r) for r in store.query("SELECT ts, ts_end, name FROM events ORDER BY ts").rows()]  # type: ignore[misc]


def test_a_daily_rule_expands_to_until(store: Store) -> None:
    _load(store, "ical/icaljs_daily_recur.ics", until="2012-09-01")  # a date: that day included
    la = ZoneInfo("America/Los_Angeles")
    rule = rrulestr("FREQ=DAILY", dtstart=datetime(2012, 8, 1, 5, tzinfo=la))
    expected = [
        d.astimezone(UTC)
        for d in rule.between(
            datetime(2012, 8, 1, tzinfo=UTC), datetime(2012, 9, 2, tzinfo=UTC), inc=False
        )
    ]
    got = _events(store)
    assert [e[0] for e in got] == expected and len(got) == 32
    assert got[0][:2] == (
        datetime(2012, 8, 1, 12, tzinfo=UTC),
        datetime(2012, 8, 1, 13, tzinfo=UTC),
    )
    assert {e[2] for e in got} == {"Every day recurring"}  # the VALARM text is not an event


def test_exdate_removes_an_occurrence(store: Store) -> None:
    _load(store, "ical/icaljs_rdate_exdate.ics")
    days = [e[0] for e in _events(store)]
    assert days == [
        datetime(2024, 6, d, 3, tzinfo=UTC) for d in (9, 10, 12)
    ]  # COUNT=4, not the 11th


def test_rdates_join_the_rule_across_a_dst_change(store: Store) -> None:
    _load(store, "ical/icaljs_recur_instances_finite.ics")
    got = [e[0] for e in _events(store)]
    # first Tuesdays Oct-Dec 2012 at 10:00 in Los Angeles, plus RDATEs 5 and 10 November
    la = ZoneInfo("America/Los_Angeles")
    local = [
        datetime(2012, m, d, 10, tzinfo=la)
        for m, d in ((10, 2), (11, 5), (11, 6), (11, 10), (12, 4))
    ]
    assert got == [t.astimezone(UTC) for t in local]
    assert got[0].hour == 17 and got[1].hour == 18  # PDT, then PST after 4 November


def test_two_rules_are_a_union(store: Store) -> None:
    _load(store, "ical/icaljs_multiple_rrules.ics")
    la = ZoneInfo("America/Los_Angeles")
    start = datetime(2012, 3, 26, 11, tzinfo=la)
    until = datetime(2012, 7, 30, 6, 59, 59, tzinfo=UTC)
    weekly = rrulestr("FREQ=WEEKLY", dtstart=start).between(start, until, inc=True)
    sundays = rrulestr("FREQ=MONTHLY;BYDAY=SU", dtstart=start).between(start, until, inc=True)
    expected = sorted({d.astimezone(UTC) for d in weekly + sundays} | {start.astimezone(UTC)})
    assert [e[0] for e in _events(store)] == expected and len(expected) == 36


def test_duration_gives_the_end(store: Store) -> None:
    _load(store, "ical/icaljs_duration_instead_of_dtend.ics")
    ((start, end, _),) = _events(store)
    assert start == datetime(2012, 6, 30, 13, tzinfo=UTC) and end == start + timedelta(days=1)


@pytest.mark.parametrize(
    "name,utc",
    [
        # a Windows zone name (with its VTIMEZONE): 17:00 Eastern daylight time
        ("ical/pyical_issue_836_do_not_quote_tzid.ics", datetime(2024, 10, 28, 21, tzinfo=UTC)),
        # a quoted TZID holding ':' and a non-ASCII letter: UTC-3
        (
            "ical/pyical_issue_237_fail_to_parse_timezone_with_non_ascii_tzid.ics",
            datetime(2017, 5, 11, 16, 30, tzinfo=UTC),
        ),
        # a zone only the file defines: Nowhere/Middle
        ("ical/icaljs_timezone_from_file.ics", None),
    ],
)
def test_zone_names_other_than_iana(store: Store, name: str, utc: datetime | None) -> None:
    report = _load(store, name)
    assert report.counts is not None and report.counts.events == 1
    if utc is not None:
        assert _events(store)[0][0] == utc


def test_vendor_prefixed_zones_are_their_iana_zone(store: Store) -> None:
    report = _load(store, "ical/pyical_issue_313_globally_unique_tzid.ics")
    got = {e[0] for e in _events(store)}
    berlin = datetime(2020, 4, 26, 14, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
    assert berlin in got
    assert (
        "TZID '/mozilla.org/20070129_1/America/New_York' read as the IANA zone America/New_York (vendor prefix dropped)"
        in report.notes
    )


def test_an_overlap_in_a_file_defined_zone_is_the_earlier_instant(store: Store) -> None:
    _load(store, "ical/pyical_issue_722_timezone_transition_ambiguity.ics")
    by_name = {e[2]: e[0] for e in _events(store)}
    winter = next(v for k, v in by_name.items() if "7:00:01 is winter" in k)
    assert winter == datetime(2024, 5, 4, 19, 0, 1, tzinfo=UTC)  # 07:00:01 at +12:00


def test_a_time_in_a_dst_gap_is_rejected_as_in_a_csv(store: Store, tmp_path: Path) -> None:
    """SYNTHETIC: 02:30 on 13 March 2016 never happened in New York."""
    ics = tmp_path / "gap.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nSUMMARY:in the gap\n"
        "DTSTART;TZID=America/New_York:20160313T023000\nEND:VEVENT\n"
        "BEGIN:VEVENT\nUID:b\nSUMMARY:fine\nDTSTART;TZID=America/New_York:20160313T033000\n"
        "END:VEVENT\nEND:VCALENDAR\n"
    )
    csv_file = tmp_path / "gap.csv"
    csv_file.write_text("ts,kind,name\n2016-03-13 02:30,x,in the gap\n2016-03-13 03:30,x,fine\n")
    ics_report = tscorr.load_file(store, ics)
    csv_report = tscorr.load_file(
        store, csv_file, options=tscorr.LoadOptions(tz="America/New_York")
    )
    reasons = [r for (r,) in store.query("SELECT reason FROM rejects ORDER BY source_id").rows()]
    assert (
        reasons[0]
        == reasons[1]
        == ("time 2016-03-13 02:30:00 does not exist in America/New_York (daylight-saving gap)")
    )
    assert ics_report.counts is not None and ics_report.counts.events == 1
    assert csv_report.counts is not None and csv_report.counts.events == 1


def test_broken_events_are_rejected_and_the_rest_load(store: Store) -> None:
    report = _load(store, "ical/robinvenables_F1.ics")
    assert report.counts is not None and (report.counts.events, report.counts.rows_rejected) == (
        127,
        1,
    )
    line, reason = store.query("SELECT line, reason FROM rejects").row(0)
    assert line == 6 and "DTEND cannot be read" in reason and "20230132" in reason
    assert (REAL / "ical/robinvenables_F1.ics").read_text().splitlines()[line - 1] == "BEGIN:VEVENT"
