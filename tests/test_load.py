"""Safe loading: one transaction per file, rejects kept, no duplicates, skip or force."""

from __future__ import annotations

from pathlib import Path

import pytest

import tscorr
from tscorr.errors import RowsRejected
from tscorr.store import Store, commit
from tscorr.store.staging import SourceWriter

TABLES = ("sources", "series", "points", "events", "rejects")


def counts(store: Store) -> dict[str, int]:
    return {t: store.scalar(f"SELECT count(*) FROM {t}") for t in TABLES}


def test_same_file_is_skipped_unless_forced(store: Store, fixtures: Path) -> None:
    path = fixtures / "feeds/csv/long_mixed.csv"
    first = tscorr.load_file(store, path)
    before = counts(store)
    again = tscorr.load_file(store, path)
    assert again.status == "skipped"
    assert any("already loaded as source 1" in n for n in again.notes)
    assert counts(store) == before
    forced = tscorr.load_file(store, path, force=True)
    assert forced.status == "loaded" and forced.counts is not None
    assert forced.counts.points == first.counts.points  # type: ignore[union-attr]
    assert any("replaces source 1 wholly" in n for n in forced.notes)
    after = counts(store)
    assert after == before  # the source replaced wholly: nothing duplicated, nothing left over


def test_overlapping_points_never_duplicate(store: Store, tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("ts,series,value\n2016-11-08,x,1\n2016-11-09,x,2\n")
    b = tmp_path / "b.csv"
    b.write_text("ts,series,value\n2016-11-09,x,20\n2016-11-10,x,30\n2016-11-10,x,31\n")
    tscorr.load_file(store, a)
    report = tscorr.load_file(store, b)
    assert report.counts is not None
    assert report.counts.replaced == 1  # 2016-11-09 was stored already
    assert report.counts.duplicates == 1  # 2016-11-10 twice in the file: the last one wins
    rows = store.query("SELECT value FROM observations ORDER BY ts").to_series().to_list()
    assert rows == [1.0, 20.0, 31.0]
    dupes = store.scalar(
        "SELECT count(*) FROM (SELECT series_id, ts FROM points GROUP BY ALL HAVING count(*) > 1)"
    )
    assert dupes == 0


def test_identical_events_from_two_files_are_stored_once(store: Store, tmp_path: Path) -> None:
    text = "ts,kind,name\n2016-11-09T07:29:00Z,race-call,AP\n"
    (tmp_path / "a.csv").write_text(text)
    (tmp_path / "b.csv").write_text(text + "2016-06-24T04:40:00Z,referendum,BBC\n")
    tscorr.load_file(store, tmp_path / "a.csv")
    report = tscorr.load_file(store, tmp_path / "b.csv")
    assert report.counts is not None and (report.counts.events, report.counts.duplicates) == (1, 1)
    assert store.scalar("SELECT count(*) FROM events") == 2


def test_sources_record_provenance(store: Store, fixtures: Path) -> None:
    path = fixtures / "feeds/csv/long_mixed.csv"
    tscorr.load_file(store, path)
    src = store.query("SELECT * FROM sources").row(0, named=True)
    assert src["feed"] == "csv" and src["path"] == str(path)
    assert src["bytes"] == path.stat().st_size and len(src["sha256"]) == 64
    assert (src["rows_read"], src["rows_loaded"], src["rows_rejected"]) == (10, 7, 3)


def test_strict_refuses_a_file_with_rejects_and_changes_nothing(
    store: Store, fixtures: Path
) -> None:
    with pytest.raises(
        RowsRejected,
        match=r"long_mixed.csv:8: unrecognised timestamp 'not a time'.*3 rows rejected",
    ):
        tscorr.load_file(store, fixtures / "feeds/csv/long_mixed.csv", strict=True)
    assert counts(store) == dict.fromkeys(TABLES, 0)


def test_a_load_that_fails_midway_leaves_no_trace(
    store: Store, fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tscorr.load_file(store, fixtures / "feeds/tsv/wide.tsv")
    before = counts(store)
    snapshot = store.query("SELECT * FROM points ORDER BY ALL")

    def broken(writer: SourceWriter, source_id: int) -> tuple[int, int]:
        # by now the source row, the series and the points of this file are written
        assert writer.store.scalar("SELECT count(*) FROM points") > before["points"]
        raise OSError("disk full")

    monkeypatch.setattr(commit, "_events", broken)
    overlapping = tmp_path / "more.tsv"
    overlapping.write_text("day\tcic.gc.ca:requests\n2016-11-09\t1\n2016-11-11\t2\n")
    with pytest.raises(OSError, match="disk full"):
        tscorr.load_file(store, overlapping)
    assert counts(store) == before
    assert store.query("SELECT * FROM points ORDER BY ALL").equals(snapshot)
