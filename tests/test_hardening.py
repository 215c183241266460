"""Red-team findings F1-F4 (shared/reviews/redteam-2026-11.md) as tests: outputs never destroy,
read-only means read-only, another application's file is left alone, data cannot drive the
terminal. Each case checks the database's checksum where data could be lost."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

import tscorr
from tscorr.cli.app import printable

SANDY = "real/sandy-311-calls--sandy-311-calls-by-day.csv"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def analysed(cli, fixtures: Path, db_path: Path):  # type: ignore[no-untyped-def]
    """A database with a run in it (as in the review's base database)."""
    assert cli("load", str(fixtures / SANDY), "--prefix", "311:", "--kind", "count").exit_code == 0
    assert cli("load", str(fixtures / "events/news2012-2016.csv")).exit_code == 0
    run = cli(
        "xcorr",
        "--events",
        "kind = 'hurricane'",
        "--series",
        "311:total",
        "--bucket",
        "1d",
        "--max-lag",
        "2",
    )
    assert run.exit_code == 0, run.output
    return cli


def test_c109_export_onto_the_database_is_refused(analysed, db_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = digest(db_path)
    for target in (db_path, db_path.with_name(db_path.name + ".wal")):
        result = analysed("export", "--out", str(target), "--force")
        assert result.exit_code != 0 and "is the database being read" in result.output
    link = tmp_path / "link.csv"
    link.symlink_to(db_path)
    result = analysed("export", "--out", str(link), "--force")
    assert result.exit_code != 0 and "is the database being read" in result.output
    assert digest(db_path) == before


def test_c100_c106_export_never_overwrites_unless_forced(analysed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    precious = tmp_path / "precious.csv"
    precious.write_text("my notes\n")
    refused = analysed("export", "--out", str(precious))
    assert refused.exit_code != 0 and "already exists; pass --force" in refused.output
    assert precious.read_text() == "my notes\n"
    # --force through a symlink replaces the link, never the file it points to
    link = tmp_path / "out.csv"
    link.symlink_to(precious)
    assert analysed("export", "--out", str(link), "--force").exit_code == 0
    assert precious.read_text() == "my notes\n" and not link.is_symlink()
    assert link.read_text().startswith("run_id,")


@pytest.mark.parametrize("target", ["folder", "missing/out.csv"])
def test_c101_export_os_errors_are_one_line(analysed, tmp_path: Path, target: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "folder").mkdir()
    result = analysed("export", "--out", str(tmp_path / target))
    assert (
        result.exit_code != 0
        and result.exception is None
        or isinstance(result.exception, SystemExit)
    )
    assert result.output.count("\n") == 1 and result.output.startswith("Error: cannot write")


def test_c113_demo_never_deletes_a_file_it_did_not_build(runner, tmp_path: Path, demo_built, demo_rebuilt) -> None:  # type: ignore[no-untyped-def]
    from tscorr.cli import app

    notes = tmp_path / "notes.txt"
    notes.write_text("my thesis notes")
    refused = runner.invoke(app, ["demo", "--out", str(notes)])
    assert refused.exit_code != 0 and "not an earlier demo database" in refused.output
    assert notes.read_text() == "my thesis notes"
    other = tmp_path / "other.duckdb"
    with tscorr.open(other) as store:
        tscorr.load_file(store, Path(__file__).parent.parent / "fixtures/feeds/csv/long_mixed.csv")
    before = digest(other)
    assert runner.invoke(app, ["demo", "--out", str(other)]).exit_code != 0
    assert digest(other) == before
    assert demo_rebuilt[0] == 0  # an earlier demo's database and report: its own, rebuilt
    # --force replaces a file it did not build: the session's demo was built that way (conftest)
    assert not demo_built.db.read_bytes().startswith(b"my thesis") and demo_built.stdout
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    refused = runner.invoke(app, ["demo", "--out", str(fifo), "--force"])
    assert refused.exit_code == 3 and "not a regular file" in refused.output and fifo.exists()


@pytest.mark.parametrize(
    "sql,made",
    [
        ("COPY (SELECT * FROM series) TO '{tmp}/copy_out.csv'", "copy_out.csv"),
        ("EXPORT DATABASE '{tmp}/exported'", "exported"),
        ("SELECT content FROM read_text('{tmp}/secret.txt')", None),
        ("ATTACH '{tmp}/victim.duckdb' AS v (READ_WRITE); DELETE FROM v.points", None),
        ("INSTALL httpfs", None),
        ("SET enable_external_access = true", None),
    ],
)
def test_c56_c58_c85_c86_sql_reaches_nothing_but_the_database(
    analysed,
    db_path: Path,
    tmp_path: Path,
    sql: str,
    made: str | None,  # type: ignore[no-untyped-def]
) -> None:
    (tmp_path / "secret.txt").write_text("root:secret")
    victim = tmp_path / "victim.duckdb"
    con = duckdb.connect(str(victim))
    con.execute("CREATE TABLE points AS SELECT 1 AS x")
    con.close()
    before, victim_before = digest(db_path), digest(victim)
    for write in ([], ["--write"]):
        result = analysed("sql", *write, sql.format(tmp=tmp_path))
        assert result.exit_code != 0, result.output
        assert "root:secret" not in result.output
        assert "--allow-files" in result.output or "Error:" in result.output
    assert made is None or not (tmp_path / made).exists()
    assert digest(victim) == victim_before and digest(db_path) == before


def test_sql_with_allow_files_may_write_files(analysed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "copy.csv"
    sql = f"COPY (SELECT name FROM series) TO '{out}'"
    assert analysed("sql", "--allow-files", sql).exit_code != 0  # needs --write too
    assert analysed("sql", "--write", "--allow-files", sql).exit_code == 0 and out.exists()


def test_e_foreign_ls_leaves_another_applications_file_alone(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tscorr.cli import app

    foreign = tmp_path / "app.duckdb"
    con = duckdb.connect(str(foreign))
    con.execute("CREATE TABLE points AS SELECT 1 AS x")
    con.close()
    before = digest(foreign)
    for args in (
        ["ls"],
        ["load", str(Path(__file__).parent.parent / "fixtures/feeds/csv/long_mixed.csv")],
    ):
        result = runner.invoke(app, ["--db", str(foreign), *args])
        assert result.exit_code != 0 and "another application" in result.output
    assert digest(foreign) == before


def test_f4_escape_sequences_and_markup_never_reach_the_terminal(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    events = tmp_path / "evil.csv"
    events.write_text(
        'ts,kind,name\n2016-11-09T07:29Z,"evil\x1b[31mRED","\x1b[2J\x1b[Hclear"\n'
        "2016-11-09T08:00Z,x,\x1b]0;pwned\x07\n"
    )
    assert cli("load", str(events)).exit_code == 0
    for args in (["ls", "events"], ["sql", "SELECT kind, name FROM events"]):
        result = cli(*args)
        assert result.exit_code == 0 and "\x1b" not in result.output and "\x07" not in result.output
        assert "\\x1b" in result.output
    markup = tmp_path / "markup.csv"
    markup.write_text("ts,value,[/x]\n2016-11-08,1,2\n2016-11-09,2,3\n")
    loaded = cli("load", str(markup))
    assert loaded.exit_code == 0 and loaded.exception is None
    aliased = cli("sql", 'SELECT 1 AS "[/x]", 2 AS "[link=http://evil.example]click[/link]"')
    assert aliased.exit_code == 0 and "[/x]" in aliased.output and "[link=" in aliased.output


def test_f4_markdown_export_escapes_html_and_newlines(tmp_path: Path) -> None:
    import polars as pl

    from tscorr.results.export import to_markdown

    md = to_markdown(pl.DataFrame({"<b>": ["<script>alert(1)</script>", "two\nlines|x"]}))
    assert "<script>" not in md and "&lt;script&gt;" in md and "&lt;b&gt;" in md
    assert md.count("\n") == 4 and "two<br>lines\\|x" in md  # header, rule, two rows


def test_printable_escapes_controls_and_bidi() -> None:
    assert printable("a\x1b[2Jb\u202ec") == "a\\x1b[2Jb\\u202ec"
    assert printable("a\nb") == "a\nb" and printable("a\nb", newlines=False) == "a\\nb"


@pytest.mark.parametrize(
    "args,message",
    [
        (["xcorr", "--events", "true", "--seed", "-1"], "--seed -1"),  # D10a
        (["xcorr", "--events", "true", "--tz", "Mars/Olympus"], "unknown time zone"),  # D11a
        (["respond", "--events", "true", "--placebos", "10000000"], "--placebos 10000000"),  # F6
        (["respond", "--events", "true", "--bootstrap", "10000000"], "--bootstrap 10000000"),
        (["xcorr", "--events", "true", "--bucket", "99999999999999999999d"], "1,000 years"),  # D08
        (
            ["respond", "--events", "true", "--baseline", "same-weekday:99999999999"],
            "at most",
        ),  # D28
    ],
)
def test_d_cases_analysis_options_get_one_line_errors(
    analysed, args: list[str], message: str
) -> None:  # type: ignore[no-untyped-def]
    result = analysed(*args)
    assert result.exit_code == 3 and result.output.startswith("Error:") and message in result.output


def test_d12_series_from_year_1_to_9999_is_a_clear_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wide = tmp_path / "wide.csv"
    wide.write_text(
        "ts,series,value\n0001-01-01,deg:wide,1\n5000-06-01,deg:wide,2\n9999-12-31,deg:wide,3\n"
    )
    (tmp_path / "ev.csv").write_text("ts,kind,name\n2016-01-01,x,a\n")
    assert cli("load", str(wide), str(tmp_path / "ev.csv")).exit_code == 0
    for bucket in ("1d", "1y"):
        result = cli("xcorr", "--events", "true", "--bucket", bucket)
        assert result.exit_code == 3 and "run off the calendar" in result.output


def test_a12_non_finite_numbers_are_rejected_with_a_reason(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    weird = tmp_path / "weird.csv"
    weird.write_text(
        "ts,series,value\n2016-11-08,x,1\n2016-11-09,x,1e400\n2016-11-10,x,inf\n"
        "2016-11-11,x,-Infinity\n2016-11-12,x,NaN\n2016-11-13,x,n/a\n2016-11-14,x,2\n"
    )
    report = tscorr.load_file(store, weird)
    assert report.counts is not None and report.counts.points == 2
    reasons = store.query("SELECT reason FROM rejects ORDER BY line")["reason"].to_list()
    assert reasons[:4] == [
        "value '1e400' is not a finite number",
        "value 'inf' is not a finite number",
        "value '-Infinity' is not a finite number",
        "value 'NaN' is not a finite number",
    ]
    assert reasons[4] == "value 'n/a' is not a number"
    events = tmp_path / "weights.csv"
    events.write_text("ts,kind,name,weight\n2016-11-08,x,a,inf\n2016-11-09,x,b,2\n")
    tscorr.load_file(store, events)
    assert store.scalar("SELECT count(*) FROM events") == 1
    assert (
        store.scalar(
            "SELECT max(reason) FROM rejects WHERE raw LIKE '%inf%' AND reason LIKE 'weight%'"
        )
        == "weight 'inf' is not a finite number"
    )


def test_a15_pipes_and_devices_are_refused_not_waited_on(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import os

    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    for path, feed in ((fifo, []), (Path("/dev/zero"), ["--feed", "csv"])):
        result = cli("load", str(path), *feed)
        assert result.exit_code == 3 and "not a regular file" in result.output


def test_a21d_a_23_digit_byte_count_is_a_rejected_line(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "access.log"
    log.write_text(
        '1.2.3.4 - - [09/Nov/2016:07:29:00 +0000] "GET / HTTP/1.1" 200 512\n'
        '1.2.3.4 - - [09/Nov/2016:07:29:01 +0000] "GET / HTTP/1.1" 200 99999999999999999999999\n'
    )
    report = tscorr.load_file(store, log)
    assert report.counts is not None and report.counts.rows_rejected == 1
    assert store.scalar("SELECT reason FROM rejects") == (
        "byte count '99999999999999999999999' is too large"
    )


def test_g_top_list_row_without_a_date_is_rejected(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    top = tmp_path / "top.csv"
    top.write_text("rank,article,views,date\n1,Main_Page,100,2016/11/09\n2,Brexit,50,\n")
    report = tscorr.load_file(store, top)
    assert report.counts is not None and report.counts.rows_rejected == 1
    assert store.scalar("SELECT reason FROM rejects") == "empty date"


def test_c12_a_runaway_event_filter_is_stopped(store, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from tscorr.errors import BadQuery
    from tscorr.store import reading as store_module

    monkeypatch.setattr(store_module, "FILTER_SECONDS", 1.0)
    with pytest.raises(BadQuery, match="ran longer than 1 s"):
        store.select_events("(SELECT max(md5(range::VARCHAR)) FROM range(10000000000)) IS NOT NULL")


def test_f7_duplicate_columns_and_late_nul_bytes_are_refused(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tscorr.errors import BadInput

    twice = tmp_path / "twice.csv"
    twice.write_text("ts,a,a\n2016-11-08,1,2\n")
    with pytest.raises(BadInput, match="names 'a' more than once"):
        tscorr.load_file(store, twice)
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"ts,series,value\n" + b"2016-11-08,x,1\n" * 400 + b"2016-11-09,nul2:\x00b,1\n")
    with pytest.raises(BadInput, match=r"nul.csv:402: a NUL byte"):
        tscorr.load_file(store, nul)
    assert store.scalar("SELECT count(*) FROM sources") == 0


def test_e_a_corrupt_database_file_is_one_line(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tscorr.cli import app

    db = tmp_path / "corrupt.duckdb"
    with tscorr.open(db) as store:
        tscorr.load_file(store, Path(__file__).parent.parent / "fixtures/feeds/csv/long_mixed.csv")
    data = bytearray(db.read_bytes())
    data[5000:5100] = b"\xff" * 100  # flip a block
    db.write_bytes(bytes(data))
    result = runner.invoke(app, ["--db", str(db), "ls", "series"])
    assert (
        result.exit_code == 3
        and result.output.startswith("Error:")
        and result.exception is not None
    )
    assert isinstance(result.exception, SystemExit)


def test_b4_a_disk_full_during_a_load_changes_nothing(
    store, fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Simulated ENOSPC in the middle of writing a file's points: one line, nothing stored."""
    from tscorr.errors import BadInput

    tscorr.load_file(store, fixtures / "feeds/csv/long_mixed.csv")
    before = {t: store.scalar(f"SELECT count(*) FROM {t}") for t in ("sources", "series", "points")}
    real_exec = store._exec

    def full(sql: str, params=None):  # type: ignore[no-untyped-def]
        if sql.startswith("INSERT INTO points"):
            raise duckdb.IOException("IO Error: No space left on device")
        return real_exec(sql, params)

    monkeypatch.setattr(store, "_exec", full)
    with pytest.raises(
        BadInput, match="the write failed .*No space left on device.*nothing was changed"
    ):
        tscorr.load_file(store, fixtures / SANDY)
    monkeypatch.undo()
    assert {t: store.scalar(f"SELECT count(*) FROM {t}") for t in before} == before


@pytest.mark.system
def test_b1_kill_9_mid_load_leaves_the_database_consistent(db_path: Path, tmp_path: Path) -> None:
    """A load killed with SIGKILL while writing: reopening finds the file as it was before
    that load, or with the whole load, never half of it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    big = tmp_path / "big.csv"
    with big.open("w") as fh:
        fh.write("ts,series,value\n")
        start = 946684800  # epoch seconds, one point a minute over 50 series
        fh.writelines(f"{start + t * 60},big:{t % 50},{t}\n" for t in range(2_000_000))
    tscorr.open(db_path).close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tscorr", "--db", str(db_path), "load", str(big), "--kind", "count"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    size = db_path.stat().st_size
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        wal = db_path.with_name(db_path.name + ".wal")
        if db_path.stat().st_size != size or wal.exists():
            break
        time.sleep(0.01)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with tscorr.open(db_path) as store:
        sources = store.scalar("SELECT count(*) FROM sources")
        points = store.scalar("SELECT count(*) FROM points")
    assert (sources, points) in {(0, 0), (1, 2_000_000)}


@pytest.mark.system
def test_b1_ctrl_c_mid_load_is_one_line_and_exit_130(db_path: Path, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    big = tmp_path / "big.csv"
    with big.open("w") as fh:
        fh.write("ts,series,value\n")
        fh.writelines(f"{946684800 + t * 60},big:{t % 50},{t}\n" for t in range(2_000_000))
    tscorr.open(db_path).close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tscorr", "--db", str(db_path), "load", str(big)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.0)  # well into reading or writing the 2M rows
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert "Traceback" not in stderr
    if proc.returncode != 0:  # interrupted (it may have finished first on a fast machine)
        assert proc.returncode == 130 and stderr.strip().startswith("Interrupted")
    with tscorr.open(db_path) as store:
        sources = store.scalar("SELECT count(*) FROM sources")
        points = store.scalar("SELECT count(*) FROM points")
    assert (sources, points) in {(0, 0), (1, 2_000_000)}


def test_g_truncated_gdelt_row_is_rejected_not_a_1970_mention(
    cli, db_path: Path, fixtures: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    row = (fixtures / "real/gdelt/gdelt1_events_sample_20160728.tsv").read_text().splitlines()[0]
    trunc = tmp_path / "trunc.tsv"
    trunc.write_text("\t".join(row.split("\t")[:16]) + "\n")
    result = cli("load", str(trunc), "--feed", "gdelt")
    assert result.exit_code == 7 and "every row was rejected" in result.output
    with tscorr.open(db_path, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM events") == 0
        assert "is not YYYYMMDDHHMMSS" in store.scalar("SELECT reason FROM rejects")


def test_a_series_name_too_long_refuses_the_file(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tscorr.errors import BadInput

    wide = tmp_path / "wide.csv"
    wide.write_text("ts," + "x" * 5000 + "\n2016-11-08,1\n")
    with pytest.raises(BadInput, match="a series name of 5,00\\d characters"):
        tscorr.load_file(store, wide)
    assert store.scalar("SELECT count(*) FROM sources") == 0


def test_standard_input_loads_as_dash(runner, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tscorr.cli import app

    data = "ts,series,value\n2016-11-08,x,1\n2016-11-09,x,2\n"
    result = runner.invoke(app, ["--db", str(db_path), "load", "-", "--feed", "csv"], input=data)
    assert result.exit_code == 0, result.output
    with tscorr.open(db_path, read_only=True) as store:
        assert store.query("SELECT path, points_loaded FROM sources").rows() == [("-", 2)]


def test_a19_a20_calendar_overflow_and_prometheus_shapes_are_one_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ics = tmp_path / "far.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:99991231T235959Z\r\nDTEND:99991231T235959Z\r\n"
        "SUMMARY:end of time\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART;TZID=Pacific/Kiritimati:"
        "99991231T235959\r\nSUMMARY:past the end\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    for path, feed in (
        (ics, "ical"),
        (tmp_path / "list.json", "prometheus"),
        (tmp_path / "num.json", "prometheus"),
        (tmp_path / "obj.json", "prometheus"),
    ):
        if feed == "prometheus":
            path.write_text(
                {"list.json": "[1, 2]", "num.json": "42", "obj.json": '{"data": {"result": {}}}'}[
                    path.name
                ]
            )
        result = cli("load", str(path), "--feed", feed)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        assert "Traceback" not in result.output


def test_c104_devices_are_never_written_or_replaced(analysed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A device (``/dev/full``, ``/dev/null``) or a pipe is refused even with --force: the
    write-then-rename that protects files would otherwise replace the device node."""
    import os
    import stat

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    targets = [fifo] + [Path(d) for d in ("/dev/full", "/dev/null") if Path(d).exists()]
    for target in targets:
        kind = stat.S_IFMT(target.stat().st_mode)
        result = analysed("export", "--out", str(target), "--force")
        assert result.exit_code == 3 and "not a regular file" in result.output
        assert stat.S_IFMT(target.stat().st_mode) == kind  # still a device or a pipe


def test_f7_load_checks_the_zone_first_and_constant_series_get_a_note(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ics = tmp_path / "day.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20161108\r\nSUMMARY:vote\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    result = cli("load", str(ics), "--tz", "Mars/Olympus")
    assert result.exit_code == 3 and "unknown time zone 'Mars/Olympus'" in result.output
    flat = tmp_path / "flat.csv"
    flat.write_text(
        "ts,series,value\n" + "".join(f"2016-11-{d:02d},flat,5\n" for d in range(1, 29))
    )
    (tmp_path / "e.csv").write_text("ts,kind,name\n2016-11-10,x,a\n")
    assert cli("load", str(flat), str(tmp_path / "e.csv")).exit_code == 0
    run = cli("xcorr", "--events", "true", "--bucket", "1d", "--max-lag", "2")
    assert "no correlation with flat (constant over the span" in run.output


def test_f5_a_huge_field_is_one_line_for_every_text_feed(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A 200 KB field (past the csv module's 128 KB limit) in a Trends export, a CSV and a
    top list: a one-line answer, never a traceback."""
    huge = "x" * 200_000
    files = {
        "google-trends": f'Category: All categories\n\nDay,"{huge}: (United States)"\n2016-11-08,5\n',
        "csv": f'ts,series,value\n2016-11-08,"{huge}",1\n',
        "wikimedia-pageviews": f'rank,article,views,date\n1,"{huge}",5,2016/11/08\n',
    }
    for feed, text in files.items():
        path = tmp_path / f"{feed}.csv"
        path.write_text(text)
        result = cli("load", str(path), "--feed", feed)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            feed,
            result.exception,
        )
        assert "Traceback" not in result.output


def test_export_into_a_folder_without_write_permission_is_one_line(
    analysed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import tempfile

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)  # root ignores folder modes: simulate
    result = analysed("export", "--out", str(tmp_path / "out.csv"))
    assert (
        result.exit_code == 3
        and "cannot write" in result.output
        and "Permission denied" in result.output
    )
