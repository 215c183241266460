"""The fast way through a clean block (tscorr.ingest.feeds.fastshape) loads exactly what the
slow way loads: every file here is loaded twice, into two real DuckDB files, once as usual
and once with ``TSCORR_SLOW_LOAD=1``, and the two files are compared table by table (points,
the series catalogue with ids and native steps, rejects with reasons, the source's
provenance and counts), as are the reports. Where the fast way must decline a block (a
daylight-saving question, an offset, a bad row, a repeated point), the test also checks that
it did, and where it must take one, that it did: a comparison of two slow loads would prove
nothing.

Every file is SYNTHETIC, written by the test.
"""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tscorr
from tscorr.errors import TscorrError
from tscorr.frames import FeedFrames
from tscorr.ingest import blocks
from tscorr.ingest.feeds import fastshape, tabular
from tscorr.ingest.load import MAX_NAME
from tscorr.store import staging

Dump = dict[str, list[tuple[Any, ...]]]


def _dump(db: Path) -> Dump:
    with tscorr.open(db, read_only=True) as store:
        return {
            name: store.query(sql).rows()
            for name, sql in {
                "points": "SELECT series_id, ts, value, flag, source_id FROM points ORDER BY ALL",
                "series": "SELECT * FROM series ORDER BY series_id",
                "censored": "SELECT * FROM censored ORDER BY ALL",
                "events": "SELECT * FROM events ORDER BY ALL",
                "rejects": "SELECT * FROM rejects ORDER BY source_id, line, raw, reason",
                "sources": "SELECT * EXCLUDE (loaded_at) FROM sources ORDER BY source_id",
            }.items()
        }


class Taken:
    """How many blocks the fast way took and declined."""

    def __init__(self) -> None:
        self.fast = self.slow = 0


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> Iterator[Taken]:
    seen = Taken()
    original = fastshape.coded_part

    def spy(*args: Any, **kwargs: Any) -> Any:
        part = original(*args, **kwargs)
        if fastshape.enabled():
            if part is None:
                seen.slow += 1
            else:
                seen.fast += 1
        return part

    monkeypatch.setattr(tabular, "coded_part", spy)
    yield seen


def _load(
    db: Path, files: list[Path], slow: bool, monkeypatch: pytest.MonkeyPatch, **opts: Any
) -> tuple[list[dict[str, object]], str | None]:
    """Load ``files`` one after the other into ``db``: the reports, and the first error."""
    monkeypatch.setenv("TSCORR_SLOW_LOAD", "1" if slow else "0")
    strict = bool(opts.pop("strict", False))
    force = bool(opts.pop("force", False))
    options = tscorr.LoadOptions(**opts)
    rows: list[dict[str, object]] = []
    error = None
    with tscorr.open(db) as store:
        for file in files:
            try:
                rows.append(
                    tscorr.load_file(store, file, options=options, strict=strict, force=force).row()
                )
            except TscorrError as exc:
                error = error or str(exc)
    monkeypatch.delenv("TSCORR_SLOW_LOAD")
    return rows, error


def same_both_ways(
    tmp_path: Path,
    files: Path | list[Path],
    monkeypatch: pytest.MonkeyPatch,
    block: int | None = 400,
    **opts: Any,
) -> tuple[Dump, str | None]:
    """Load ``files`` the fast way and the slow way into two databases; assert that the two
    hold the same rows and that the loads reported (or failed) the same; return one."""
    files = files if isinstance(files, list) else [files]
    if block is not None:  # small blocks: a file of a few hundred rows is many parts
        monkeypatch.setattr(blocks, "BLOCK_BYTES", block)
        monkeypatch.setattr(tabular, "PARQUET_ROWS", max(block // 40, 2))
    fast_db, slow_db = tmp_path / "fast.duckdb", tmp_path / "slow.duckdb"
    for db in (fast_db, slow_db):
        db.unlink(missing_ok=True)
    fast = _load(fast_db, files, False, monkeypatch, **dict(opts))
    slow = _load(slow_db, files, True, monkeypatch, **dict(opts))
    assert fast == slow
    got = _dump(fast_db)
    assert got == _dump(slow_db)
    return got, fast[1]


def _long_csv(
    path: Path, rows: list[tuple[str, str, str]], header: str = "ts,series,value"
) -> Path:
    path.write_text(header + "\n" + "".join(f"{t},{s},{v}\n" for t, s, v in rows))
    return path


def _minutes(start: datetime, n: int, fmt: str = "%Y-%m-%dT%H:%M:%SZ", step: int = 60) -> list[str]:
    return [(start + timedelta(seconds=step * i)).strftime(fmt) for i in range(n)]


def _grid(
    names: list[str], stamps: list[str], by_series: bool = True
) -> list[tuple[str, str, str]]:
    if by_series:
        return [
            (t, s, f"{i * 1.5 + j:.3f}") for j, s in enumerate(names) for i, t in enumerate(stamps)
        ]
    return [(t, s, f"{i * 1.5 + j:.3f}") for i, t in enumerate(stamps) for j, s in enumerate(names)]


# --- clean files: the fast way takes them --------------------------------------------------


@pytest.mark.parametrize("by_series", [True, False], ids=["series-by-series", "time-by-time"])
def test_clean_long_csv_is_coded_and_the_same(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    taken: Taken,
    by_series: bool,
    parts_go: str,
) -> None:
    stamps = _minutes(datetime(2016, 11, 8, 22), 120)
    path = _long_csv(tmp_path / "m.csv", _grid(["m:a", "m:b", "m:c"], stamps, by_series))
    got, error = same_both_ways(tmp_path, path, monkeypatch)
    assert error is None and taken.fast > 5 and taken.slow == 0
    assert len(got["points"]) == 360
    assert [row[1] for row in got["series"]] == ["m:a", "m:b", "m:c"]  # first seen, first id
    assert {row[8] for row in got["series"]} == {"1m"}


def test_series_across_many_blocks_get_their_native_step_from_every_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    """Hourly points whose gaps only show across blocks; a series seen in one block only."""
    stamps = _minutes(datetime(2020, 1, 1), 60, step=3600)
    rows = _grid(["h:x", "h:y"], stamps) + [("2020-03-01T00:00:00Z", "once", "1")]
    got, _ = same_both_ways(tmp_path, _long_csv(tmp_path / "h.csv", rows), monkeypatch, block=256)
    assert taken.fast > 5
    assert [(row[1], row[8]) for row in got["series"]] == [
        ("h:x", "1h"),
        ("h:y", "1h"),
        ("once", None),
    ]


def test_a_series_split_across_blocks_is_stepped_from_its_runs_or_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken, parts_go: str
) -> None:
    """Series that run over many blocks (a big file's usual case): those whose blocks make
    one run at one gap get their step from the blocks' runs, without their points being
    read back; a series with a point off its step, one at midnight (days: the calendar) and
    a time given again across blocks are read again. Either way the database is the slow
    way's."""
    read_again: list[int] = []
    original = staging.SourceWriter.step_batches

    def spy(self: staging.SourceWriter, max_rows: int) -> Iterator[pl.DataFrame]:
        for batch in original(self, max_rows):
            if fastshape.enabled():
                read_again.extend(batch["series"].unique().to_list())
            yield batch

    monkeypatch.setattr(staging.SourceWriter, "step_batches", spy)
    start = datetime(2020, 1, 1, 0, 0, 30)
    minutes = _minutes(start, 80, step=60)
    moved = _minutes(start, 80, step=3600)
    moved[41] = (datetime.fromisoformat(moved[41][:-1]) + timedelta(minutes=20)).isoformat() + "Z"
    days = _minutes(datetime(2020, 1, 1), 80, step=86400)
    again = _minutes(start, 80, step=900)
    rows = (
        _grid(["m:regular"], minutes)
        + _grid(["m:moved"], moved)
        + _grid(["m:days"], days)
        + _grid(["m:again"], again)
        + [(again[3], "m:again", "7")]  # an earlier time of the series, blocks later
    )
    got, _ = same_both_ways(tmp_path, _long_csv(tmp_path / "s.csv", rows), monkeypatch, block=300)
    assert taken.fast > 10
    steps = {row[1]: row[8] for row in got["series"]}
    assert steps == {"m:regular": "1m", "m:moved": "1h", "m:days": "1d", "m:again": "15m"}
    codes = {name: i for i, name in enumerate(steps)}  # codes in order of first appearance
    assert sorted(read_again) == sorted(codes[n] for n in ("m:moved", "m:days", "m:again"))


@pytest.mark.parametrize(
    "fmt",
    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S.%fZ"],
)
def test_each_exact_iso_form_is_read_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken, fmt: str
) -> None:
    step = 86400 if fmt == "%Y-%m-%d" else 90
    stamps = _minutes(datetime(2016, 6, 1, 3, 0, 0, 250000), 50, fmt, step)
    got, _ = same_both_ways(
        tmp_path, _long_csv(tmp_path / "f.csv", _grid(["a", "b"], stamps)), monkeypatch
    )
    assert taken.fast and not taken.slow and len(got["points"]) == 100


def test_wall_times_in_a_zone_away_from_daylight_saving_are_coded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    stamps = _minutes(datetime(2016, 7, 1), 100, "%Y-%m-%d %H:%M:%S", 600)
    got, _ = same_both_ways(
        tmp_path,
        _long_csv(tmp_path / "z.csv", _grid(["a", "b"], stamps)),
        monkeypatch,
        tz="America/New_York",
    )
    assert taken.fast and not taken.slow
    assert got["points"][0][1] == datetime(2016, 7, 1, 4, tzinfo=UTC)  # EDT is UTC-4
    assert got["sources"][0][-3] == "America/New_York"


def test_names_with_spaces_and_a_prefix_are_one_series_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    stamps = _minutes(datetime(2016, 1, 1), 30)
    rows = [(t, " a", "1") for t in stamps[:15]] + [(t, "a ", "2") for t in stamps[15:]]
    rows += [(t, '"b, c"', "3") for t in stamps]
    got, _ = same_both_ways(tmp_path, _long_csv(tmp_path / "s.csv", rows), monkeypatch, prefix="p:")
    assert taken.fast
    assert [row[1] for row in got["series"]] == ["p:a", "p:b, c"]
    assert got["series"][0][8] == "1m"


def test_parquet_with_text_or_typed_times_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    stamps = _minutes(datetime(2016, 3, 1), 80)
    frame = pl.DataFrame(
        _grid(["q:a", "q:b"], stamps), schema=["ts", "series", "value"], orient="row"
    )
    text = tmp_path / "text.parquet"
    frame.with_columns(pl.col("value").cast(pl.Float64)).write_parquet(text)
    typed = tmp_path / "typed.parquet"
    frame.with_columns(
        pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC"),
        pl.col("value").cast(pl.Float64),
    ).write_parquet(typed)
    got, _ = same_both_ways(tmp_path, text, monkeypatch)
    assert taken.fast and not taken.slow and len(got["points"]) == 160
    same_both_ways(tmp_path, typed, monkeypatch)  # typed times: the slow way (either is right)


# --- what the fast way must decline, block by block ------------------------------------------


def test_daylight_saving_repeats_and_gaps_go_the_slow_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    """New York, 2016: 01:00-01:59 happens twice on Nov 6 (a series logging every 20 minutes
    in wall time repeats them: the repeat is the later instant); 02:30 on Mar 13 does not
    exist (rejected)."""
    fall = _minutes(datetime(2016, 11, 6, 0, 0), 6, "%Y-%m-%d %H:%M:%S", 1200)  # 00:00-01:40
    fall += _minutes(datetime(2016, 11, 6, 1, 0), 9, "%Y-%m-%d %H:%M:%S", 1200)  # 01:00 again
    spring = ["2016-03-13 01:30:00", "2016-03-13 02:30:00", "2016-03-13 03:30:00"]
    calm = _minutes(datetime(2016, 7, 1), 40, "%Y-%m-%d %H:%M:%S", 3600)
    rows = [(t, "fall", "1") for t in fall] + [(t, "spring", "2") for t in spring]
    rows += [(t, "calm", "3") for t in calm]
    got, _ = same_both_ways(
        tmp_path, _long_csv(tmp_path / "dst.csv", rows), monkeypatch, tz="America/New_York"
    )
    assert taken.slow and taken.fast  # the calm summer block is still coded
    assert [r[3] for r in got["rejects"]] == [
        "time 2016-03-13 02:30:00 does not exist in America/New_York (daylight-saving gap)"
    ]
    assert "repeated wall times" in str(got["sources"][0][-1])


def test_an_ambiguous_wall_time_seen_once_goes_the_slow_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    stamps = _minutes(datetime(2016, 11, 1, 1, 30), 10, "%Y-%m-%d %H:%M:%S", 86400)
    got, _ = same_both_ways(
        tmp_path,
        _long_csv(tmp_path / "d.csv", _grid(["daily"], stamps)),
        monkeypatch,
        block=None,
        tz="America/New_York",
    )
    assert taken.slow == 1 and taken.fast == 0
    assert len(got["points"]) == 10


_OTHER_STAMPS = {
    "offset": [
        "2016-11-09T07:30:00+01:00",
        "2016-11-09T08:30:00+01:00",
        "2016-11-09T09:30:00+01:00",
    ],
    "mixed-offsets": [
        "2016-11-09T07:30:00+01:00",
        "2016-11-09T06:40:00Z",
        "2016-11-09 09:30:00-0500",
    ],
    "us-dates": ["11/9/2016 07:30", "11/9/2016 08:30", "11/10/2016 09:30"],
    "epoch": ["1478649600", "1478653200", "1478656800"],
    "leap-second": ["2016-11-09T07:30:00Z", "2016-11-09T07:31:00Z", "9999-12-31T23:59:60Z"],
    "year-0": ["0000-01-01T00:00:00Z", "2016-11-09T07:31:00Z", "2016-11-09T07:32:00Z"],
    "bad-date": ["2016-02-30T00:00:00Z", "2016-11-09T07:31:00Z", ""],
}


def test_other_forms_and_bad_times_go_the_slow_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    files = [
        _long_csv(tmp_path / f"{case}.csv", [(t, "s", str(i)) for i, t in enumerate(stamps)])
        for case, stamps in _OTHER_STAMPS.items()
    ]
    got, _ = same_both_ways(tmp_path, files, monkeypatch, block=None, force=True)
    assert taken.slow == len(files) and taken.fast == 0
    assert len(got["rejects"]) >= 3  # the leap second, year 0, the bad date and the empty one


_ODD_VALUES = ["", "NaN", "inf", "-Infinity", "1e400", "n/a", "1,234", " 7 ", "0x10", "1_000"]


def test_values_that_are_not_plain_numbers_are_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    """Each odd value in a block of its own (blocks of about ten rows)."""
    stamps = _minutes(datetime(2016, 1, 1), 30 * len(_ODD_VALUES))
    odd = {30 * k + 15: bad for k, bad in enumerate(_ODD_VALUES)}
    rows = [
        (t, "v", (f'"{odd[i]}"' if "," in odd[i] else odd[i]) if i in odd else str(i))
        for i, t in enumerate(stamps)
    ]
    got, _ = same_both_ways(tmp_path, _long_csv(tmp_path / "v.csv", rows), monkeypatch)
    # the blocks of the odd values go the slow way, but for the numbers to_number reads
    assert taken.slow == len(_ODD_VALUES) - 2 and taken.fast > 10
    assert len(got["rejects"]) == len(_ODD_VALUES) - 2


def test_rejected_rows_keep_their_lines_and_reasons_in_a_mixed_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    stamps = _minutes(datetime(2016, 1, 1), 200)
    rows = _grid(["a", "b"], stamps)
    rows[50] = (rows[50][0], "", "1")  # empty name
    rows[120] = ("", "a", "2")  # empty timestamp
    rows[300] = (rows[300][0], rows[300][1], "")  # empty value
    rows[333] = ("yesterday", "b", "4")
    got, _ = same_both_ways(tmp_path, _long_csv(tmp_path / "r.csv", rows), monkeypatch)
    assert taken.fast and taken.slow
    assert [r[1] for r in got["rejects"]] == [52, 122, 302, 335]
    assert got["sources"][0][5:8] == (400, 396, 4)  # read, loaded, rejected


def test_a_first_block_of_rejected_rows_then_clean_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    """A part with no point at all before parts with points (found by the generated files:
    polars typed the codes of a part with no name as text, and the load failed with a
    polars SchemaError, the slow way too, before this change)."""
    stamps = _minutes(datetime(2016, 1, 1), 70)
    rows = [(t, "", "1") for t in stamps[:30]] + [(t, "a", "2") for t in stamps[30:]]
    got, error = same_both_ways(tmp_path, _long_csv(tmp_path / "f.csv", rows), monkeypatch)
    assert error is None and taken.fast and taken.slow
    assert len(got["points"]) == 40 and len(got["rejects"]) == 30


def test_under_strict_a_bad_row_refuses_the_file_either_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    rows = _grid(["a"], _minutes(datetime(2016, 1, 1), 200))
    rows[150] = (rows[150][0], "a", "oops")
    got, error = same_both_ways(
        tmp_path, _long_csv(tmp_path / "x.csv", rows), monkeypatch, strict=True
    )
    assert error is not None and "--strict refuses the file" in error
    assert all(not rows for rows in got.values())  # nothing written, not even the good blocks


def test_repeated_points_within_and_across_blocks_count_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken, parts_go: str
) -> None:
    # staged or direct, a later part's repeat deletes the row written before
    stamps = _minutes(datetime(2016, 1, 1), 100)
    rows = _grid(["a", "b"], stamps)
    rows.insert(10, (stamps[5], "a", "99"))  # within a block: the later line wins
    rows.append((stamps[3], "a", "77"))  # far across blocks: the later line wins
    got, _ = same_both_ways(tmp_path, _long_csv(tmp_path / "d.csv", rows), monkeypatch)
    assert taken.fast and taken.slow
    assert got["sources"][0][10] == 2  # duplicates
    values = {(r[0], r[1]): r[2] for r in got["points"]}
    assert values[(1, datetime(2016, 1, 1, 0, 5, tzinfo=UTC))] == 99.0
    assert values[(1, datetime(2016, 1, 1, 0, 3, tzinfo=UTC))] == 77.0


def test_a_name_over_the_limit_fails_the_same_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    stamps = _minutes(datetime(2016, 1, 1), 20)
    ok = "n" * MAX_NAME
    rows = [(t, ok, "1") for t in stamps] + [(t, "x" * (MAX_NAME + 1), "2") for t in stamps]
    got, error = same_both_ways(
        tmp_path, _long_csv(tmp_path / "n.csv", rows), monkeypatch, block=8000
    )
    assert error is not None and f"names are at most {MAX_NAME:,}" in error
    assert all(not rows for rows in got.values())
    rows = [(t, ok, "1") for t in stamps]
    got, error = same_both_ways(
        tmp_path, _long_csv(tmp_path / "n.csv", rows), monkeypatch, block=8000
    )
    assert error is None and got["series"][0][1] == ok and taken.fast


def test_gzip_and_tsv_are_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    rows = _grid(["a", "b"], _minutes(datetime(2016, 1, 1), 50))
    text = "ts,series,value\n" + "".join(f"{t},{s},{v}\n" for t, s, v in rows)
    gz = tmp_path / "g.csv.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    same_both_ways(tmp_path, gz, monkeypatch)
    tsv = tmp_path / "t.tsv"
    tsv.write_text(text.replace(",", "\t"))
    same_both_ways(tmp_path, tsv, monkeypatch)
    assert taken.fast and not taken.slow


def test_a_second_file_and_a_forced_reload_replace_the_same_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    stamps = _minutes(datetime(2016, 1, 1), 60)
    first = _long_csv(tmp_path / "one.csv", _grid(["a", "b"], stamps))
    second = _long_csv(
        tmp_path / "two.csv", _grid(["b", "c"], stamps[30:] + _minutes(datetime(2016, 1, 2), 10))
    )
    got, _ = same_both_ways(tmp_path, [first, second, first], monkeypatch, force=True)
    assert taken.fast and [r[0] for r in got["sources"]] == [2, 3]
    assert got["sources"][0][11] == 30  # replaced: the points of b the first file had


def _wide_csv(path: Path, stamps: list[str], columns: list[str], cell: Any = None) -> Path:
    cell = cell or (lambda i, j: f"{i * 0.5 + j}")
    lines = [",".join(["ts", *columns])]
    lines += [
        ",".join([t, *(cell(i, j) for j in range(len(columns)))]) for i, t in enumerate(stamps)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_clean_wide_csv_is_coded_and_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    stamps = _minutes(datetime(2016, 1, 1), 90, step=900)
    path = _wide_csv(tmp_path / "w.csv", stamps, ["a", "b", "c d"])
    got, _ = same_both_ways(tmp_path, path, monkeypatch)
    assert taken.fast > 3 and not taken.slow
    assert [(r[1], r[8]) for r in got["series"]] == [
        ("w:a", "15m"),
        ("w:b", "15m"),
        ("w:c d", "15m"),
    ]
    one = _wide_csv(tmp_path / "one.csv", stamps, ["v"])
    got, _ = same_both_ways(tmp_path, one, monkeypatch, series_name="solo", prefix="x:")
    assert [r[1] for r in got["series"]] == ["solo"]


@pytest.mark.parametrize(
    "cell",
    [
        lambda i, j: "" if (i, j) == (40, 1) else str(i),  # a blank cell: skipped, not rejected
        lambda i, j: "n/a" if (i, j) == (40, 1) else str(i),  # a bad cell: its row rejected
        lambda i, j: f"label{i}" if j == 2 else str(i),  # a text column: ignored, with a note
        lambda i, j: "inf" if j == 0 and i > 50 else str(i),
    ],
    ids=["blank-cell", "bad-cell", "text-column", "inf"],
)
def test_wide_blocks_with_odd_cells_go_the_slow_way(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    taken: Taken,
    cell: Any,
    request: pytest.FixtureRequest,
) -> None:
    stamps = _minutes(datetime(2016, 1, 1), 90)
    same_both_ways(
        tmp_path, _wide_csv(tmp_path / "w.csv", stamps, ["a", "b", "c"], cell), monkeypatch
    )
    # the blocks with the odd cell go the slow way; a text column is in every block
    assert taken.slow and bool(taken.fast) == (request.node.callspec.id != "text-column")


def test_a_wide_time_given_twice_goes_the_slow_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    stamps = _minutes(datetime(2016, 1, 1), 30)
    stamps[20] = stamps[19]
    got, _ = same_both_ways(
        tmp_path, _wide_csv(tmp_path / "w.csv", stamps, ["a", "b"]), monkeypatch
    )
    assert taken.slow and got["sources"][0][10] == 2  # one duplicate per series


def test_event_files_are_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    stamps = _minutes(datetime(2016, 1, 1), 40)
    events = tmp_path / "e.csv"
    events.write_text("ts,kind,name\n" + "".join(f"{t},call,n{i}\n" for i, t in enumerate(stamps)))
    got, _ = same_both_ways(tmp_path, events, monkeypatch)
    assert taken.fast == 0 and len(got["events"]) == 40


# --- generated files ---------------------------------------------------------------------------

_CELLS: dict[str, list[str]] = {
    "ts": [
        "2016-11-06T05:30:00Z",
        "2016-11-06 01:30:00",
        "2016-11-06 06:30:00",
        "2016-03-13 02:30:00",
        "2016-11-06T01:30:00+01:00",
        "",
        "bad",
    ],
    "series": ["a", "b", " a", "", "c"],
    "value": ["1", "2.5", "-3e2", "", "nan", "x", "1e400"],
}


@pytest.mark.slow
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 200),
            st.sampled_from(["a", "b", "c"]),
            st.integers(0, 9),
            st.one_of(st.none(), st.sampled_from(sorted(_CELLS)), st.none()),
            st.integers(0, 6),
        ),
        min_size=1,
        max_size=80,
    ),
    block=st.sampled_from([64, 200, 10_000]),
    tz=st.sampled_from(["UTC", "America/New_York"]),
    naive=st.booleans(),
)
def test_generated_files_load_the_same_both_ways(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rows: list[tuple[int, str, int, str | None, int]],
    block: int,
    tz: str,
    naive: bool,
) -> None:
    """Files of mostly clean rows (hourly times from the night DST ended in New York, so
    some wall times are ambiguous) with odd cells from a small catalogue mixed in."""
    start = datetime(2016, 11, 5, 20)
    out = []
    for hour, name, value, odd, pick in rows:
        t = start + timedelta(hours=hour % 12, minutes=hour // 12)
        cells = {
            "ts": t.strftime("%Y-%m-%d %H:%M:%S" if naive else "%Y-%m-%dT%H:%M:%SZ"),
            "series": name,
            "value": str(value),
        }
        if odd is not None:
            choices = _CELLS[odd]
            cells[odd] = choices[pick % len(choices)]
        out.append((cells["ts"], cells["series"], cells["value"]))
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    same_both_ways(folder, _long_csv(folder / "gen.csv", out), monkeypatch, block=block, tz=tz)


def test_a_reader_of_parts_that_wants_frames_gets_the_same_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: Taken
) -> None:
    """``load._parts`` without ``coded`` (as a load into Parquet partitions reads a file)
    gives frames only, the same as the slow way's, block by block."""
    from tscorr.ingest import feeds
    from tscorr.ingest.load import _parts
    from tscorr.ingest.source import SourceFile

    stamps = _minutes(datetime(2016, 1, 1), 40)
    path = _long_csv(tmp_path / "p.csv", _grid(["a", " b"], stamps))
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 400)
    feed, options = feeds.get_feed("csv"), tscorr.LoadOptions(prefix="x:")

    def parts(slow: str) -> list[tuple[Any, ...]]:
        monkeypatch.setenv("TSCORR_SLOW_LOAD", slow)
        got = list(_parts(feed, SourceFile(path), options))
        assert all(isinstance(p, FeedFrames) for p in got)
        return [(p.rows_read, p.points, p.series, p.rejects, p.notes, p.through) for p in got]

    fast, slow = parts("0"), parts("1")
    assert taken.fast > 1 and len(fast) == len(slow)
    for mine, theirs in zip(fast, slow, strict=True):
        assert mine[0] == theirs[0] and mine[4:] == theirs[4:]
        for a, b in zip(mine[1:4], theirs[1:4], strict=True):
            assert a.equals(b)
