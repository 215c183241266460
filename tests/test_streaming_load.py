"""Big files load block by block: the same database as a file read whole, in bounded memory.

Every file here is SYNTHETIC, written by the test. The block size is made tiny so that small
files cross many block boundaries (inside quoted fields, between a series' repeated times,
between dates that decide the day/month order late).
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import tscorr
from tscorr.cli import app
from tscorr.errors import BadInput, TscorrError
from tscorr.ingest import blocks, source
from tscorr.ingest.feeds import tabular
from tscorr.ingest.source import SourceFile
from tscorr.store import staging
from tscorr.store.base import _Base


def _db_rows(db: Path) -> dict[str, list[tuple[object, ...]]]:
    with tscorr.open(db, read_only=True) as store:
        return {
            "points": store.query(
                "SELECT s.name, p.ts, p.value FROM points p JOIN series s USING (series_id) "
                "ORDER BY 1, 2"
            ).rows(),
            "series": store.query("SELECT name, kind, agg, step FROM series ORDER BY name").rows(),
            "events": store.query(
                "SELECT ts, kind, name, weight, attrs FROM events ORDER BY ALL"
            ).rows(),
            "rejects": store.query("SELECT line, raw, reason FROM rejects ORDER BY line").rows(),
            "sources": store.query(
                "SELECT rows_read, rows_loaded, rows_rejected, points_loaded, events_loaded, "
                "duplicates, replaced FROM sources"
            ).rows(),
        }


def _load_both(
    tmp_path: Path, path: Path, monkeypatch: pytest.MonkeyPatch, block: int = 256, **opts: str
) -> tuple[dict[str, list[tuple[object, ...]]], dict[str, list[tuple[object, ...]]]]:
    """The database after loading ``path`` whole, and after loading it in tiny blocks."""
    options = tscorr.LoadOptions(**opts) if opts else None  # type: ignore[arg-type]
    whole, parts = tmp_path / "whole.duckdb", tmp_path / "parts.duckdb"
    with tscorr.open(whole) as store:
        tscorr.load_file(store, path, options=options)
    monkeypatch.setattr(blocks, "BLOCK_BYTES", block)
    monkeypatch.setattr(tabular, "PARQUET_ROWS", 7)
    with tscorr.open(parts) as store:
        tscorr.load_file(store, path, options=options)
    return _db_rows(whole), _db_rows(parts)


def test_blocks_end_at_record_ends_outside_quotes(tmp_path: Path) -> None:
    text = 'ts,name\n2016-11-09,"two\nlines"\n2016-11-10,"a ""quoted""\nword"\n' * 50
    path = tmp_path / "q.csv"
    path.write_text(text)
    got = list(blocks.record_blocks(SourceFile(path), size=40))
    assert len(got) > 10
    assert b"".join(b.data for b in got) == text.encode()
    for b in got:
        assert b.data.count(b'"') % 2 == 0 and b.data.endswith(b"\n")
    assert [b.line for b in got] == [
        1 + sum(x.data.count(b"\n") for x in got[:i]) for i in range(len(got))
    ]
    assert got[-1].last and not any(b.last for b in got[:-1])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["plain", "quoted", "lines", "accent"]), st.integers(0, 99)),
        min_size=1,
        max_size=60,
    ),
    st.integers(8, 200),
)
def test_blocks_hold_whole_records_whatever_mix_of_quotes_and_characters(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, int]], size: int
) -> None:
    """Blocks without any quote (cut at the last line end) next to blocks with quoted line
    breaks, and two-byte characters split between reads: the blocks are the file, each ends
    at a record's end, and each knows its first line."""
    cells = {"plain": "x{}", "quoted": '"a ""{}"" b"', "lines": '"one\ntwo {}"', "accent": "é{}"}
    text = "ts,name\n" + "".join(f"2016-11-09,{cells[kind].format(n)}\n" for kind, n in rows)
    path = tmp_path_factory.mktemp("blocks") / "mix.csv"
    path.write_bytes(text.encode())
    got = list(blocks.record_blocks(SourceFile(path), size=size))
    assert b"".join(b.data for b in got) == text.encode()
    for b in got:
        assert b.data.count(b'"') % 2 == 0 and b.data.endswith(b"\n")
        b.data.decode("utf-8")  # never cut inside a character
    assert [b.line for b in got] == [
        1 + sum(x.data.count(b"\n") for x in got[:i]) for i in range(len(got))
    ]


def test_a_bad_byte_after_a_character_split_between_reads_names_its_line(
    tmp_path: Path,
) -> None:
    head = "ts,name\n" + "2016-11-09,x\n" * 4
    good = head.encode() + "2016-11-10,é\n".encode() * 30
    path = tmp_path / "ok.csv"
    path.write_bytes(good)
    for size in (7, 8, 9, 16):  # reads of ``size`` bytes split the two bytes of é somewhere
        assert b"".join(b.data for b in blocks.record_blocks(SourceFile(path), size=size)) == good
    bad = good + b"2016-11-11,\xc3x\n"  # a first byte with no second: line 36
    path.write_bytes(bad)
    at = bad.index(b"\xc3x")
    for size in (16, at + 1, (at + 1) // 2 if at % 2 else at + 1):  # a read ends at the 0xc3
        with pytest.raises(TscorrError, match=r"ok.csv:36: not valid utf-8 \(byte 0xc3\)"):
            list(blocks.record_blocks(SourceFile(path), size=size))


def _numbers(
    made: list[int], closed: threading.Event, n: int, fail_at: int | None = None
) -> Iterator[int]:
    """0 to n - 1, each noted in ``made`` as it is made (``fail_at``: raise there instead);
    ``closed`` is set when the generator ends or is closed."""
    try:
        for i in range(n):
            if i == fail_at:
                raise BadInput(f"item {i} is bad")
            made.append(i)
            yield i
    finally:
        closed.set()


def test_read_ahead_keeps_order_raises_in_place_and_stops_when_closed() -> None:
    made: list[int] = []
    closed = threading.Event()

    def numbers(fail_at: int | None = None) -> Iterator[int]:
        return _numbers(made, closed, 1000, fail_at)

    assert list(blocks.read_ahead(numbers())) == list(range(1000))
    got: list[int] = []
    with pytest.raises(BadInput, match="item 7 is bad"):
        for i in blocks.read_ahead(numbers(fail_at=7)):
            got.append(i)
    assert got == list(range(7))  # every item before the failure, in order
    made.clear()
    closed.clear()
    ahead = blocks.read_ahead(numbers())
    assert [next(ahead) for _ in range(3)] == [0, 1, 2]
    ahead.close()  # the consumer stops (an exception, Ctrl-C): so does the reading
    assert closed.wait(5) and len(made) <= 5
    assert not any(t.name == "tscorr-read-ahead" for t in threading.enumerate())


def test_map_ahead_works_in_parallel_keeps_order_raises_in_place_and_stops() -> None:
    """The blocks of a CSV are parsed by two threads at once (``map_ahead``): the answers
    come in the items' order whatever order the work ends in, a failure of the work or of
    the items is raised in its place, a few items are in hand at a time, and closing stops
    the reading and leaves no thread behind."""
    import random
    import time

    made: list[int] = []
    closed = threading.Event()
    running, most = [0], [0]
    lock = threading.Lock()

    def numbers(fail_at: int | None = None) -> Iterator[int]:
        return _numbers(made, closed, 200, fail_at)

    def work(i: int, bad: int | None = None) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(random.Random(i).random() / 500)  # the work ends out of order
        with lock:
            running[0] -= 1
        if i == bad:
            raise ValueError(f"work {i} failed")
        return i * i

    assert list(blocks.map_ahead(numbers(), work, 2)) == [i * i for i in range(200)]
    assert most[0] == 2  # two at once, never more
    for failing, expected in (({"fail_at": 9}, "item 9 is bad"), ({}, "work 9 failed")):
        got: list[int] = []
        with pytest.raises((BadInput, ValueError), match=expected):
            for i in blocks.map_ahead(numbers(**failing), lambda i: work(i, bad=9), 2):
                got.append(i)
        assert got == [i * i for i in range(9)]  # every answer before the failure, in order
    made.clear()
    closed.clear()
    ahead = blocks.map_ahead(numbers(), work, 2)
    assert [next(ahead) for _ in range(3)] == [0, 1, 4]
    ahead.close()
    assert closed.wait(5) and len(made) <= 8  # a few in hand, not the 200
    names = [t.name for t in threading.enumerate()]
    assert not any(n.startswith(("tscorr-read-ahead", "tscorr-parse")) for n in names)


def test_a_refused_load_stops_its_reading_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--strict refuses the file at the first block with a reject: the thread reading the
    next blocks stops then, not when the exception is forgotten, and nothing is loaded."""
    path = tmp_path / "bad.csv"
    path.write_text(
        "ts,series,value\n2016-01-01,a,x\n"
        + "".join(f"2016-01-{d:02d},a,{d}\n" for d in range(2, 29)) * 40
    )
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 256)
    with tscorr.open(tmp_path / "db.duckdb") as store:
        with pytest.raises(TscorrError, match="--strict refuses the file") as refused:
            tscorr.load_file(store, path, strict=True)
        assert refused.value is not None  # the exception (and its frames) still held
        assert not any(t.name == "tscorr-read-ahead" for t in threading.enumerate())
        assert store.scalar("SELECT count(*) FROM points") == 0


def test_a_quote_that_never_closes_is_refused_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('ts,name\n2016-11-09,"open\n' + "2016-11-10,x\n" * 200)
    with pytest.raises(TscorrError, match=r"q.csv:2: a record runs past .*quote"):
        list(blocks.record_blocks(SourceFile(path), size=64))


def test_a_long_file_in_blocks_is_the_file_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts_go: str
) -> None:
    rows = ["ts,series,value,note"]
    for day in range(1, 29):
        for s in ("a", "b", "c"):
            rows.append(f'2016-02-{day:02d}T00:00:00Z,{s},{day},"n\n{s}"')
    rows.insert(40, "2016-02-05T00:00:00Z,a,99,late correction")  # a repeat, blocks later
    rows.insert(60, "not a time,a,1,bad")
    rows.insert(70, "2016-03-01T00:00:00Z,b,,empty")
    path = tmp_path / "long.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(rows) + "\n")
    whole, parts = _load_both(tmp_path, path, monkeypatch)
    assert parts == whole
    assert len(whole["rejects"]) == 2 and whole["rejects"][0][0] > 60  # physical lines
    assert whole["sources"][0][5] >= 1  # the repeat counted as a duplicate
    steps = {name: step for name, _kind, _agg, step in whole["series"]}
    assert steps == {"a": "1d", "b": "1d", "c": "1d"}


def test_day_month_order_decided_late_holds_for_every_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts_go: str
) -> None:
    # the first blocks hold only days up to the 12th; the 13th, far down, says dd/mm
    rows = ["date,series,value"]
    rows += [f"{d:02d}/03/2016,s{i},{d}" for d in range(1, 14) for i in range(20)]
    path = tmp_path / "dmy.csv"
    path.write_text("\n".join(rows) + "\n")
    whole, parts = _load_both(tmp_path, path, monkeypatch)
    assert parts == whole
    months = {ts.month for _n, ts, _v in whole["points"]}  # type: ignore[attr-defined]
    assert months == {3}  # 05/03/2016 is the 5th of March, in every block


def test_wide_events_ndjson_and_parquet_in_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts_go: str
) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text(
        "ts,x,y\n" + "".join(f"2016-01-01T{h:02d}:00:00Z,{h},{2 * h}\n" for h in range(24))
    )
    events = tmp_path / "ev.csv"
    events.write_text(
        "ts,kind,name,weight\n"
        + "".join(f"2016-01-{d:02d},rally,town {d % 4},{d}\n" for d in range(1, 29))
        + "2016-01-03,rally,town 3,3\n"  # the same event again: a duplicate
    )
    nd = tmp_path / "m.ndjson"
    nd.write_text(
        "".join(f'{{"ts": "2016-01-{d:02d}", "series": "n", "value": {d}}}\n' for d in range(1, 29))
        + "{broken\n"
    )
    pq = tmp_path / "m.parquet"
    pl.DataFrame(
        {
            "ts": [f"2016-01-{d:02d}" for d in range(1, 29)] * 2,
            "series": ["p"] * 28 + ["q"] * 28,
            "value": list(range(56)),
        }
    ).write_parquet(pq, row_group_size=10)
    for i, path in enumerate((wide, events, nd, pq)):
        folder = tmp_path / str(i)
        folder.mkdir()
        whole, parts = _load_both(folder, path, monkeypatch, block=64)
        assert parts == whole, path.name
        assert whole["points"] or whole["events"]


def test_interrupted_load_leaves_the_database_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts_go: str
) -> None:
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 1024)
    path = tmp_path / "big.csv"
    path.write_text(
        "ts,series,value\n"
        + "".join(f"2016-01-01T00:{m:02d}:00Z,x{i},{m}\n" for i in range(50) for m in range(60))
    )
    db = tmp_path / "i.duckdb"
    with tscorr.open(db) as store:
        tscorr.load_file(store, path)  # something to keep
    first = _db_rows(db)
    other = tmp_path / "other.csv"
    other.write_text(path.read_text().replace(",x", ",y"))
    calls = []

    def stop(stage: str, share: float) -> None:
        calls.append(share)
        if len(calls) == 4:  # blocks are in the database by now
            raise KeyboardInterrupt

    with tscorr.open(db) as store:
        with pytest.raises(KeyboardInterrupt):
            tscorr.load_file(store, other, step=stop)
    assert _db_rows(db) == first


def test_a_gzip_bomb_of_csv_loads_in_bounded_memory(tmp_path: Path) -> None:
    """200 MB of CSV in a 1 MB gzip: the load's peak memory stays far below the text."""
    bomb = tmp_path / "bomb.csv.gz"
    line = b"2016-11-08T00:00:00Z,x,1\n"
    with gzip.open(bomb, "wb", compresslevel=1) as fh:
        fh.write(b"ts,series,value\n")
        chunk = line * 400_000
        for _ in range(20):
            fh.write(chunk)  # 8 M rows, every one the same point
    script = textwrap.dedent(
        """
        import sys, tscorr
        from tscorr.ingest import blocks
        blocks.BLOCK_BYTES = 16 << 20
        with tscorr.open(sys.argv[2]) as store:
            report = tscorr.load_file(store, sys.argv[1])
        # VmHWM: ru_maxrss would start from the test runner's own peak (fork, then exec)
        peak = next(
            int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")
        ) / 1024
        print(report.counts.rows_read, report.counts.points, report.counts.duplicates, int(peak))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(bomb), str(tmp_path / "b.duckdb")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    rows, points, duplicates, peak_mb = map(int, out)
    assert rows == 8_000_000 and points == 1 and duplicates == rows - 1
    assert peak_mb < 900, peak_mb  # the text alone is 200 MB; read whole it took ~2 GB


def test_a_whole_file_feed_still_refuses_a_bomb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source, "MAX_BYTES", 1_000_000)
    bomb = tmp_path / "bomb.json.gz"
    with gzip.open(bomb, "wb") as fh:
        fh.write(b"[" + b'{"ts": "2016-11-08", "series": "x", "value": 1},' * 40_000 + b"{}]")
    with tscorr.open(tmp_path / "b.duckdb") as store:
        with pytest.raises(TscorrError, match="more than 1,000,000 bytes once decompressed"):
            tscorr.load_file(store, bomb)
        assert store.scalar("SELECT count(*) FROM points") == 0


@pytest.mark.system
@pytest.mark.parametrize("direct", [False, True], ids=["staged", "direct"])
def test_a_stage_left_by_a_killed_load_is_gone_at_the_next_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direct: bool
) -> None:
    """A process killed between its written parts and the final commit: nothing it staged
    (temporary tables, ended with its connection) or wrote into ``points`` (in a transaction
    never committed) is visible, nothing of it is left in the file, and the next load works.
    Staged, the file is checkpointed before the kill (a checkpoint cannot run inside the
    direct way's open transaction)."""
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 64)
    path = tmp_path / "k.csv"
    path.write_text("ts,series,value\n" + "".join(f"2016-01-{d:02d},k,{d}\n" for d in range(1, 29)))
    killer = textwrap.dedent(
        """
        import os, sys, tscorr
        from tscorr.ingest import blocks
        from tscorr.store import staging
        from tscorr.store.staging import SourceWriter
        blocks.BLOCK_BYTES = 64
        staging.HOLD_ROWS = 0  # every part written as it comes, as a big file's are
        staging.DIRECT = sys.argv[3] == "direct"
        added = []
        def killing(original):
            def add(self, part, *rest):
                original(self, part, *rest)
                added.append(1)
                if len(added) == 5:
                    assert self.begun == staging.DIRECT
                    if not self.begun:
                        self.store.con.execute("CHECKPOINT")
                    os._exit(9)  # killed: no finally, no rollback
            return add
        # a clean block takes the coded way (add_coded), another the frames' (add)
        SourceWriter.add = killing(SourceWriter.add)
        SourceWriter.add_coded = killing(SourceWriter.add_coded)
        tscorr.load_file(tscorr.open(sys.argv[2]), sys.argv[1])
        """
    )
    db = tmp_path / "k.duckdb"
    tscorr.open(db).close()
    way = "direct" if direct else "staged"
    done = subprocess.run([sys.executable, "-c", killer, str(path), str(db), way], check=False)
    assert done.returncode == 9
    with tscorr.open(db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM points") == 0
        assert store.scalar("SELECT count(*) FROM sources") == 0
        left = store.query("SELECT table_name FROM information_schema.tables")["table_name"]
        assert not any(name.startswith("_tscorr_stage") for name in left)
    with tscorr.open(db) as store:
        left = store.query("SELECT table_name FROM information_schema.tables")["table_name"]
        assert not any(name.startswith("_tscorr_stage") for name in left)
        report = tscorr.load_file(store, path)
        assert report.counts is not None and report.counts.points == 28


def test_stage_tables_an_older_load_left_in_the_file_are_dropped_at_the_next_open(
    tmp_path: Path,
) -> None:
    """Stages used to be tables of the database file (and a load of several files has one
    set per file): any left behind by a killed process are dropped when the file is next
    opened for writing, and nothing else is."""
    db = tmp_path / "old.duckdb"
    with tscorr.open(db) as store:
        for name in ("_tscorr_stage_points", "_tscorr_stage_rejects_3", "_tscorrXstage_kept"):
            store._exec(f"CREATE TABLE {name} (a INTEGER)")
    with tscorr.open(db, read_only=True) as store:
        left = set(store.query("SELECT table_name FROM information_schema.tables")["table_name"])
        assert {"_tscorr_stage_points", "_tscorr_stage_rejects_3"} <= left  # reading drops none
    with tscorr.open(db) as store:
        left = set(store.query("SELECT table_name FROM information_schema.tables")["table_name"])
    assert "_tscorr_stage_points" not in left and "_tscorr_stage_rejects_3" not in left
    assert "_tscorrXstage_kept" in left


def _ids(db: Path) -> list[tuple[object, ...]]:
    """Each series' id and name, and each point's series id, source and time."""
    with tscorr.open(db, read_only=True) as store:
        return store.query("SELECT series_id, name, source_id FROM series ORDER BY 1").rows() + (
            store.query("SELECT series_id, source_id, ts FROM points ORDER BY ALL").rows()
        )


def test_loads_written_as_they_come_store_what_a_held_load_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that repeats stored points (of another source and within itself, across
    parts), brings new series among stored ones, and is loaded again with ``--force``: held
    in memory, staged and copied, or written straight into ``points`` in its own transaction,
    the tables, the series' ids and the counts are the same after every load."""
    hours = [f"2016-01-{1 + h // 24:02d}T{h % 24:02d}:00:00Z" for h in range(96)]
    first = tmp_path / "first.csv"
    first.write_text(
        "ts,series,value\n"
        + "".join(f"{t},{s},{i}\n" for s in ("a", "b") for i, t in enumerate(hours[:60]))
    )
    second = tmp_path / "second.csv"  # b again (its last 30 hours stored), c and d new
    rows = [(t, s, 1000 + i) for s in ("c", "b", "d") for i, t in enumerate(hours[30:], 30)]
    rows += [(hours[40], "c", -1), (hours[31], "b", -2)]  # repeats, many parts later
    second.write_text("ts,series,value\n" + "".join(f"{t},{s},{v}\n" for t, s, v in rows))
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 300)
    seen: dict[str, list[object]] = {}
    for way in ("held", "staged", "direct"):
        monkeypatch.setattr(staging, "HOLD_ROWS", staging.HOLD_ROWS if way == "held" else 0)
        monkeypatch.setattr(staging, "DIRECT", way == "direct")
        begun: list[bool] = []
        original = staging.SourceWriter._stage

        def spy(
            self: staging.SourceWriter,
            part: dict[str, pl.DataFrame],
            begun: list[bool] = begun,
            original: Callable[..., None] = original,
        ) -> None:
            begun.append(self.begun)
            original(self, part)

        monkeypatch.setattr(staging.SourceWriter, "_stage", spy)
        db = tmp_path / f"{way}.duckdb"
        after = []
        with tscorr.open(db) as store:
            for path, force in ((first, False), (second, False), (first, True)):
                report = tscorr.load_file(store, path, force=force)
                assert report.status == "loaded" and report.counts is not None
                after.append(report.counts)
        monkeypatch.setattr(staging.SourceWriter, "_stage", original)
        assert (set(begun) == {True}) if way == "direct" else (way == "held" or begun)
        seen[way] = [after, _db_rows(db), _ids(db)]
    assert seen["staged"] == seen["held"]
    assert seen["direct"] == seen["held"]
    counts = seen["held"][0]
    assert (counts[1].replaced, counts[1].duplicates) == (30, 2)  # b's stored hours; c's, b's


def test_a_load_that_fails_after_its_writes_began_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts_go: str
) -> None:
    """A bad row near the end of a big file, after its first parts were written (into
    ``points`` itself, the direct way): the load fails with its line, the database is as
    it was, and the next load works."""
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 256)
    good = tmp_path / "good.csv"
    days = range(1, 29)
    good.write_text("ts,series,value\n" + "".join(f"2016-02-{d:02d},kept,{d}\n" for d in days))
    bad = tmp_path / "bad.csv"
    lines = [f"2016-01-{d:02d},k{d % 3},{d}\n" for d in range(1, 29)] * 3
    bad.write_text("ts,series,value\n" + "".join(lines) + "2016-01-05,k1,many\n")
    db = tmp_path / "f.duckdb"
    with tscorr.open(db) as store:
        tscorr.load_file(store, good)
    before = _db_rows(db), _ids(db)
    with tscorr.open(db) as store:
        with pytest.raises(TscorrError, match=r"bad\.csv:86"):
            tscorr.load_file(store, bad, strict=True)
    assert (_db_rows(db), _ids(db)) == before
    with tscorr.open(db) as store:
        report = tscorr.load_file(store, bad)
        assert report.counts is not None and report.counts.rows_rejected == 1
        assert report.counts.points == 28  # each day once (in k0, k1 or k2), each 3 times


_PEAK_OF_A_LOAD = textwrap.dedent(
    """
    import sys, tscorr
    from tscorr.ingest.feeds import tabular
    from tscorr.store import staging
    staging.HOLD_ROWS = 0  # every part written into points as it comes
    tabular.PARQUET_ROWS = 200_000  # parts of 200,000 rows, so both files have several
    with tscorr.open(sys.argv[2], memory_limit="4GB") as store:
        report = tscorr.load_file(store, sys.argv[1])
    peak = next(
        int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")
    ) / 1024
    print(report.counts.points, int(peak))
    """
)


@pytest.mark.slow
def test_a_big_load_written_as_it_comes_does_not_grow_with_the_file(tmp_path: Path) -> None:
    """The direct way's memory is about one part's, whatever the file's length: a file five
    times longer peaks within 60 MB of the shorter one (parts kept until the transaction
    ends, as registered frames were, took 2.5 GB at 60 M rows: about 140 MB more here)."""
    peaks = []
    for rows in (1_000_000, 5_000_000):
        path = tmp_path / f"{rows}.parquet"
        per = rows // 100
        pl.DataFrame(
            {
                "ts": pl.datetime_range(
                    pl.datetime(2016, 1, 1),
                    pl.datetime(2016, 1, 1) + pl.duration(minutes=per - 1),
                    "1m",
                    time_zone="UTC",
                    eager=True,
                ).to_list()
                * 100,
                "series": [f"s{i}" for i in range(100) for _ in range(per)],
                "value": pl.int_range(0, rows, eager=True).cast(pl.Float64),
            }
        ).write_parquet(path, row_group_size=100_000)
        out = subprocess.run(
            [sys.executable, "-c", _PEAK_OF_A_LOAD, str(path), str(tmp_path / f"{rows}.duckdb")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert int(out[0]) == rows
        peaks.append(int(out[1]))
    assert peaks[1] - peaks[0] < 60, peaks


@pytest.mark.parametrize("direct", [False, True], ids=["staged", "direct"])
def test_a_disk_full_while_a_big_file_is_written_is_one_line_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: CliRunner, direct: bool
) -> None:
    """Simulated ENOSPC on a later part's write, after the first parts went into the store
    (into ``points`` in the load's open transaction, the direct way): ``tscorr load`` says
    so in one line, as a failure in the final transaction does, and nothing is stored."""
    monkeypatch.setattr(staging, "HOLD_ROWS", 0)
    monkeypatch.setattr(staging, "DIRECT", direct)
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 256)
    good = tmp_path / "good.csv"
    good.write_text(
        "ts,series,value\n" + "".join(f"2016-02-{d:02d},kept,{d}\n" for d in range(1, 29))
    )
    big = _thrice(tmp_path / "big.csv")
    db = tmp_path / "full.duckdb"
    with tscorr.open(db) as store:
        tscorr.load_file(store, good)
    before = _db_rows(db), _ids(db)
    writes: list[str] = []
    real_insert, real_exec = _Base._insert_rows, _Base._exec

    def fill() -> None:
        writes.append("part")
        if len(writes) == 3:  # a later part: the first ones are written already
            raise duckdb.IOException("IO Error: No space left on device")

    def insert_rows(self: _Base, table: str, *rest: object) -> None:
        if table == "points":  # the direct way's parts
            fill()
        real_insert(self, table, *rest)  # type: ignore[arg-type]

    def exec_(self: _Base, sql: str, params: object = None) -> list[tuple[object, ...]]:
        if sql.startswith("INSERT INTO _tscorr_stage_points"):  # the staged way's parts
            fill()
        return real_exec(self, sql, params)  # type: ignore[arg-type]

    monkeypatch.setattr(_Base, "_insert_rows", insert_rows)
    monkeypatch.setattr(_Base, "_exec", exec_)
    got = runner.invoke(app, ["--db", str(db), "load", str(big)])
    monkeypatch.undo()
    assert got.exit_code != 0 and len(writes) >= 3
    assert got.output.strip().splitlines()[-1] == (
        f"Error: {db}: the write failed (IO Error: No space left on device); nothing was changed"
    ), got.output
    assert "Traceback" not in got.output
    assert (_db_rows(db), _ids(db)) == before
    with tscorr.open(db) as store:
        report = tscorr.load_file(store, big)
        assert report.counts is not None and report.counts.points == 28


def test_a_big_file_loads_on_a_connection_with_another_store_attached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts_go: str
) -> None:
    """A caller's own connection that has another tscorr database attached (its own
    ``points`` table among them): a file in parts loads all the same, whichever way its parts
    go, and the attached database is left alone."""
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 256)
    big = _thrice(tmp_path / "big.csv")
    other, db = tmp_path / "other.duckdb", tmp_path / "db.duckdb"
    for path in (other, db):
        tscorr.open(path).close()
    con = duckdb.connect(str(db))
    try:
        con.execute(f"ATTACH '{other}' AS other (READ_ONLY)")
        with tscorr.open(con) as store:
            report = tscorr.load_file(store, big)
        assert report.counts is not None and report.counts.points == 28
        assert con.execute("SELECT count(*) FROM other.points").fetchall() == [(0,)]
    finally:
        con.close()
    assert len(_db_rows(db)["points"]) == 28


def test_a_series_removed_by_another_connection_mid_load_leaves_no_point_without_series(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts_go: str
) -> None:
    """Two connections of one process on one file: while a big file loads on the first
    (the direct way: in a transaction opened with its first parts, the series' ids taken
    then), the second removes the source of a series the file brings again. Whichever way
    the parts go, no point is left naming a series that is not there: held or staged the
    load commits with the series made anew; direct, it is refused in one line and nothing
    of it is kept, and loading it again works."""
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 256)
    first = tmp_path / "first.csv"
    first.write_text(
        "ts,series,value\n" + "".join(f"2015-01-{d:02d},k0,{d}\n" for d in range(1, 5))
    )
    big = _thrice(tmp_path / "big.csv")
    db = tmp_path / "db.duckdb"
    tscorr.open(db).close()
    con = duckdb.connect(str(db))
    try:
        a, b = tscorr.open(con), tscorr.open(con.cursor())
        tscorr.load_file(a, first)
        steps: list[str] = []

        def meanwhile(stage: str, share: float) -> None:
            steps.append(stage)
            if len(steps) == 3:  # the first parts are written
                b.remove_sources(b.resolve_sources(str(first)))

        if parts_go == "direct":
            with pytest.raises(BadInput, match="series k0 was removed by another connection"):
                tscorr.load_file(a, big, step=meanwhile)
            assert con.execute("SELECT count(*) FROM points").fetchall() == [(0,)]
            assert con.execute("SELECT count(*) FROM sources").fetchall() == [(0,)]
            report = tscorr.load_file(a, big)
        else:
            report = tscorr.load_file(a, big, step=meanwhile)
        assert len(steps) >= 3
        assert report.counts is not None and report.counts.points == 28
        orphans = con.execute(
            "SELECT count(*) FROM points p ANTI JOIN series s USING (series_id)"
        ).fetchall()
        assert orphans == [(0,)]
        assert con.execute("SELECT count(*) FROM series").fetchall() == [(3,)]
    finally:
        con.close()


def _thrice(path: Path) -> Path:
    """A file of 28 days of three series (k0, k1, k2), written three times over: each
    series in many parts, its times repeated, so its step is read back from the store."""
    days = "".join(f"2016-01-{d:02d},k{d % 3},{d}\n" for d in range(1, 29))
    path.write_text("ts,series,value\n" + days * 3)
    return path


@pytest.mark.parametrize("direct", [False, True], ids=["staged", "direct"])
def test_a_failed_read_of_the_steps_is_one_line_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: CliRunner, direct: bool
) -> None:
    """A DuckDB failure while a big file's points are read back for their native steps
    (inside the direct way's open transaction): one line, as a failed write, and nothing
    stored."""
    monkeypatch.setattr(staging, "HOLD_ROWS", 0)
    monkeypatch.setattr(staging, "DIRECT", direct)
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 256)
    big = _thrice(tmp_path / "big.csv")
    db = tmp_path / "read.duckdb"
    tscorr.open(db).close()
    real_query = _Base.query
    asked: list[str] = []

    def query(self: _Base, sql: str, params: object = None) -> pl.DataFrame:
        if "_tscorr_wanted" in sql:  # the sizes of the series read back
            asked.append(sql)
            raise duckdb.IOException("IO Error: Input/output error")
        return real_query(self, sql, params)  # type: ignore[arg-type]

    monkeypatch.setattr(_Base, "query", query)
    got = runner.invoke(app, ["--db", str(db), "load", str(big)])
    monkeypatch.undo()
    assert asked and got.exit_code != 0
    assert got.output.strip().splitlines()[-1] == (
        f"Error: {db}: the write failed (IO Error: Input/output error); nothing was changed"
    ), got.output
    with tscorr.open(db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM points") == 0
        assert store.scalar("SELECT count(*) FROM sources") == 0
