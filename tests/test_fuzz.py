"""Fuzzing every reader (hypothesis, fixed budget): random bytes and mutated real fixtures,
each through its feed. A tscorr error is a fine answer; any other exception is a bug, and a
refused file leaves the database as it was."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tscorr
from tscorr.errors import TscorrError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# one real (or, where none exists, hand-written) file per feed to mutate
SEEDS = {
    "csv": "real/sandy-311-calls--sandy-311-calls-by-day.csv",
    "tsv": "feeds/tsv/wide.tsv",
    "json": "feeds/json/events.json",
    "ndjson": "feeds/ndjson/long.ndjson",
    "access-log": "real/weblogs/nasa_access_log_Aug95_first205KB_corrupt.log",
    "google-trends": "real/googletrends/20160517_RepublicanByWeek.csv",
    "wikimedia-pageviews": "real/wikipedia/top100_2016-11-05_to_2016-11-10.csv",
    "gdelt": "real/gdelt/gdelt1_events_sample_20160728.tsv",
    "prometheus": "feeds/prometheus/query_range.json",
    "ical": "feeds/ical/election2016.ics",
}
BUDGET = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _load_or_refuse(tmp: Path, name: str, data: bytes, feed: str) -> None:
    path = tmp / name
    path.write_bytes(data)
    with tscorr.open(tmp / "fuzz.duckdb") as store:
        before = store.scalar("SELECT count(*) FROM sources")
        try:
            tscorr.load_file(store, path, feed=feed, force=True)
        except TscorrError:
            assert store.scalar("SELECT count(*) FROM sources") == before  # nothing half-done


def _mutate(data: bytes, cuts: list[tuple[int, int, bytes]]) -> bytes:
    out = bytearray(data[:20_000])
    for at, width, junk in cuts:
        at %= max(len(out), 1)
        out[at : at + width] = junk
    return bytes(out)


@pytest.mark.parametrize("feed", sorted(SEEDS))
@BUDGET
@given(st.binary(max_size=3000))
def test_random_bytes_never_crash_a_reader(tmp_path_factory, feed: str, data: bytes) -> None:  # type: ignore[no-untyped-def]
    _load_or_refuse(tmp_path_factory.mktemp("fuzz"), "random.bin", data, feed)


@pytest.mark.parametrize("feed", sorted(SEEDS))
@BUDGET
@given(
    st.lists(
        st.tuples(
            st.integers(0, 20_000),
            st.integers(0, 40),
            st.sampled_from(
                [
                    b"",
                    b",",
                    b"\t",
                    b"\n",
                    b'"',
                    b"\x00",
                    b"\xff\xfe",
                    b"{[",
                    b"]}",
                    b"9" * 25,
                    b"1e400",
                    b"NaN",
                    b"-",
                    b"0000-00-00",
                    b"\r",
                    b"\xe2\x80",
                    b"[/x]",
                    b"\x1b[2J",
                ]
            ),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_mutated_real_files_never_crash_a_reader(tmp_path_factory, feed: str, cuts) -> None:  # type: ignore[no-untyped-def]
    data = (FIXTURES / SEEDS[feed]).read_bytes()
    name = Path(SEEDS[feed]).name
    _load_or_refuse(tmp_path_factory.mktemp("fuzz"), name, _mutate(data, cuts), feed)


def test_deeply_nested_json_is_a_clear_error(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with tscorr.open(tmp_path / "d.duckdb") as store:
        for feed in ("json", "prometheus", "ndjson"):
            with pytest.raises(TscorrError, match="deep.json"):
                tscorr.load_file(store, deep, feed=feed, force=True)


def test_utf16_and_utf32_files_load(tmp_path: Path) -> None:
    text = "ts,series,value\n2016-11-08,caf\u00e9,1\n2016-11-09,caf\u00e9,2\n"
    with tscorr.open(tmp_path / "u.duckdb") as store:
        for codec in ("utf-16", "utf-32"):
            path = tmp_path / f"{codec}.csv"
            path.write_bytes(text.encode(codec))  # with its byte-order mark
            report = tscorr.load_file(store, path)
            assert report.counts is not None and report.counts.points == 2
        assert store.query("SELECT DISTINCT name FROM series").rows() == [("caf\u00e9",)]


def test_one_bad_file_does_not_stop_the_others(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.csv"
    good.write_text("ts,series,value\n2016-11-08,x,1\n")
    bad = tmp_path / "bad.json"
    bad.write_text('{"status": "success", "data": {"result": 42}}')
    later = tmp_path / "later.csv"
    later.write_text("ts,series,value\n2016-11-09,y,2\n")
    result = cli("load", str(good), str(bad), str(later), "--feed", "csv")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "good.csv" in result.output and "later.csv" in result.output


# --- crafted databases: random schema changes, views and macros ---------------------------
# A file from someone else is refused (one line, the file unchanged) or read; never a
# traceback, and never a file of this machine in the output.

SECRET = "fuzz-secret-d41d8cd9"
TABLES = ("events", "points", "series", "sources", "runs", "xcorr", "meta", "rejects")
BUILTINS = ("epoch_us", "abs", "hash", "coalesce", "lower", "list_contains", "least", "unnest")
CHANGES = st.one_of(
    st.builds(lambda f: f"CREATE MACRO {f}(x) AS x", st.sampled_from(BUILTINS)),
    st.builds(
        lambda f: f"CREATE MACRO {f}(a) AS TABLE SELECT 1 AS a",
        st.sampled_from(("range", "read_csv", "generate_series")),
    ),
    st.builds(lambda t: f"CREATE MACRO {t}_m(x) AS x + 1", st.sampled_from(TABLES)),
    st.builds(
        lambda t: f"ALTER TABLE {t} RENAME TO {t}_x; CREATE VIEW {t} AS SELECT * FROM {t}_x",
        st.sampled_from(TABLES),
    ),
    st.builds(
        lambda v: (
            f"CREATE OR REPLACE VIEW {v} AS SELECT "
            "(SELECT content FROM read_text('{secret}')) AS series, now() AS ts, 1.0 AS value"
        ),
        st.sampled_from(("observations", "xcorr_peaks")),
    ),
    st.builds(lambda t: f"CREATE VIEW {t}_mine AS SELECT * FROM {t}", st.sampled_from(TABLES)),
    st.builds(lambda t: f"DROP TABLE {t} CASCADE", st.sampled_from(TABLES)),
    st.builds(lambda t: f"ALTER TABLE {t} ADD COLUMN zz INTEGER", st.sampled_from(TABLES)),
    st.sampled_from(
        [
            "ALTER TABLE events ALTER kind TYPE INTEGER USING 1",
            "ALTER TABLE points DROP COLUMN flag",
            "ALTER TABLE events ALTER weight SET DEFAULT 99",
            "CREATE SCHEMA s; CREATE MACRO s.helper(x) AS x",
            "CREATE TABLE mine AS SELECT 1 AS x",
            "DELETE FROM meta",
            "UPDATE meta SET value = '3' WHERE key = 'schema_version'",
            "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
            "UPDATE meta SET value = 'seven' WHERE key = 'schema_version'",
            "UPDATE meta SET value = NULL WHERE key = 'schema_version'",
            "UPDATE runs SET params = '[1]'",
            "UPDATE runs SET params = NULL",
            "INSERT INTO points SELECT series_id, TIMESTAMPTZ '0000-06-01 00:00:00+00', 1, "
            "NULL, source_id FROM points LIMIT 1",
            "INSERT INTO events VALUES (999, TIMESTAMPTZ '9999-12-31 23:00:00+00' + "
            "INTERVAL 2 HOUR, NULL, 'x', 'y', 1, 1, NULL)",
            "UPDATE points SET value = 'inf'::DOUBLE WHERE value > 100",
            "DELETE FROM series",
        ]
    ),
)
COMMANDS = (
    ["ls"],
    ["ls", "events"],
    ["ls", "series", "--csv"],
    ["sql", "--json", "SELECT * FROM observations LIMIT 3"],
    ["xcorr", "--events", "true", "--series", "311:total", "--bucket", "1d", "--max-lag", "2"],
    ["plot", "--out", "{tmp}/plot.png"],
    ["export", "--out", "-"],
)


@settings(
    max_examples=int(os.environ.get("TSCORR_FUZZ_EXAMPLES", 10)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(CHANGES, min_size=1, max_size=3), st.sampled_from(COMMANDS), st.booleans())
def test_crafted_databases_are_refused_or_read_never_a_traceback(
    base_db: Path, tmp_path_factory, changes: list[str], command: list[str], trust: bool
) -> None:  # type: ignore[no-untyped-def]
    """... and opened with --trust (the schema check lifted), still one line, and still no
    local file: the connection's sandbox holds."""
    import shutil

    import duckdb
    from typer.testing import CliRunner

    from tscorr.cli import app

    tmp = tmp_path_factory.mktemp("crafted")
    (tmp / "secret.txt").write_text(SECRET)
    db = tmp / "crafted.duckdb"
    shutil.copy(base_db, db)
    con = duckdb.connect(str(db))
    for change in changes:
        for statement in change.replace("{secret}", str(tmp / "secret.txt")).split("; "):
            try:
                con.execute(statement)
            except duckdb.Error:
                break  # a change DuckDB itself refuses: the file stays as far as it got
    con.close()
    before = db.read_bytes()
    args = [a.replace("{tmp}", str(tmp)) for a in command]
    if trust:
        args = ["--trust", *args]
    result = CliRunner().invoke(app, ["--db", str(db), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        changes,
        command,
        result.output[-2000:],
    )
    assert SECRET not in result.output
    if result.exit_code not in (0, 130):
        assert result.output.startswith("Error:"), result.output
        if command[0] in ("ls", "sql", "plot", "export"):  # refused readers change nothing
            assert db.read_bytes() == before
