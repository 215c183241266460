"""A load built from a request (LoadParams, tscorr.load), and many files of one feed at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tscorr
from tscorr.errors import BadInput, ExitCode, NotFound, UnknownName
from tscorr.ingest.request import LoadParams
from tscorr.store import Store


def _month(folder: Path, days: int = 3) -> list[Path]:
    """One hourly CSV per day of the same two series (a month of dumps, in small)."""
    folder.mkdir()
    files = []
    for d in range(1, days + 1):
        rows = "".join(
            f"2016-11-{d:02d}T{h:02d}:00:00Z,{name},{d * 100 + h}\n"
            for name in ("views:a", "views:b")
            for h in range(24)
        )
        path = folder / f"pageviews-201611{d:02d}.csv"
        path.write_text("ts,series,value\n" + rows)
        files.append(path)
    return files


def test_every_field_is_checked_on_construction_naming_the_option() -> None:
    with pytest.raises(BadInput, match="unknown time zone 'Mars/Olympus'"):
        LoadParams(paths=["x.csv"], tz="Mars/Olympus")
    with pytest.raises(UnknownName, match="form"):
        LoadParams(paths=["x.csv"], form="tall")
    with pytest.raises(UnknownName, match="aggregation"):
        LoadParams(paths=["x.csv"], agg="median")
    with pytest.raises(UnknownName, match="date order"):
        LoadParams(paths=["x.csv"], date_order="ymd")
    with pytest.raises(UnknownName, match="feed"):
        LoadParams(paths=["x.csv"], feed="jsn")
    with pytest.raises(BadInput, match="--ts-col takes text"):
        LoadParams(paths=["x.csv"], ts_col=3)  # type: ignore[arg-type]


def test_kind_is_a_series_kind_or_the_events_kind() -> None:
    assert LoadParams(kind="count").options().series_kind == "count"
    assert LoadParams(kind="count").options().kind is None
    assert LoadParams(kind="debate").options().kind == "debate"
    assert LoadParams(kind="debate").options().series_kind is None
    assert LoadParams(bucket="5m").options().extra == {"bucket": "5m"}


def test_a_pattern_loads_every_file_it_matches_each_with_its_rejects(
    store: Store, tmp_path: Path
) -> None:
    files = _month(tmp_path / "dumps")
    bad = files[1].read_text() + "2016-11-02T99:00:00Z,views:a,1\n"
    files[1].write_text(bad)
    result = tscorr.load(store, str(tmp_path / "dumps" / "*.csv"))
    assert result.failure is None
    assert [Path(r.path).name for r in result.reports] == [f.name for f in files]  # name order
    assert [r.status for r in result.reports] == ["loaded"] * 3
    assert store.scalar("SELECT count(*) FROM points") == 3 * 48
    assert store.scalar("SELECT count(*) FROM series") == 2
    rejects = store.query(
        "SELECT s.path, r.line, r.reason FROM rejects r JOIN sources s USING (source_id)"
    )
    assert rejects.height == 1
    assert Path(rejects["path"][0]).name == files[1].name  # kept with its own file
    assert rejects["line"][0] == 50


def test_a_file_that_fails_leaves_the_others_loaded(store: Store, tmp_path: Path) -> None:
    files = _month(tmp_path / "dumps")
    files[0].write_bytes(b"\x00\x01" * 50)  # not text: this file fails whole
    heard: list[str] = []
    from tscorr.ingest.load import load_files

    result = load_files(
        store,
        LoadParams(paths=[str(tmp_path / "dumps" / "pageviews-*.csv")]),
        failed=lambda path, exc: heard.append(Path(path).name),
    )
    assert isinstance(result.failure, BadInput)
    assert heard == [files[0].name]
    assert len(result.reports) == 2
    assert store.scalar("SELECT count(*) FROM sources") == 2


def test_a_pattern_that_matches_nothing_says_so(store: Store, tmp_path: Path) -> None:
    pattern = str(tmp_path / "none-*.csv")
    result = tscorr.load(store, [pattern])
    assert isinstance(result.failure, NotFound)
    assert str(result.failure) == f"{pattern}: no file matches this pattern; check the path"


def test_the_cli_loads_a_quoted_pattern(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _month(tmp_path / "dumps", days=4)
    result = cli("load", str(tmp_path / "dumps" / "*.csv"), "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["points"] for r in rows] == [48] * 4
    again = cli("load", str(tmp_path / "dumps" / "*.csv"), "--json")
    assert [r["status"] for r in json.loads(again.stdout)] == ["skipped"] * 4


def test_the_cli_says_which_file_of_many_failed(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _month(tmp_path / "dumps")
    pattern = str(tmp_path / "nothing-*.csv")
    result = cli("load", str(tmp_path / "dumps" / "*.csv"), pattern, "--json")
    assert result.exit_code == ExitCode.NOT_FOUND
    assert len(json.loads(result.stdout)) == 3
    message = f"{pattern}: no file matches this pattern; check the path"
    # wrapped on stderr (at spaces, or at a hyphen of a long path)
    assert "".join(f"failed: {message}".split()) in "".join(result.stderr.split())
    assert result.stderr.endswith(f"Error: {message}\n")


def test_together_commits_every_file_in_one_transaction(store: Store, tmp_path: Path) -> None:
    files = _month(tmp_path / "dumps")
    files[2].write_text(files[2].read_text() + "2016-11-03T00:00:00Z,views:a,oops\n")
    twin = tmp_path / "dumps" / "pageviews-20161104.csv"
    twin.write_bytes(files[0].read_bytes())  # the same content under another name
    result = tscorr.load(store, str(tmp_path / "dumps" / "*.csv"), together=True)
    assert result.failure is None
    assert [r.status for r in result.reports] == ["loaded", "loaded", "loaded", "skipped"]
    assert "the same content as" in result.reports[3].notes[-1]
    assert store.scalar("SELECT count(*) FROM sources") == 3
    assert store.scalar("SELECT count(*) FROM points") == 3 * 48
    ids = store.query("SELECT source_id, path FROM sources ORDER BY source_id")
    assert [Path(p).name for p in ids["path"]] == [f.name for f in files]
    reject = store.query("SELECT source_id, line, reason FROM rejects")
    assert reject.rows() == [(ids["source_id"][2], 50, "value 'oops' is not a number")]
    left = store.query("SELECT table_name FROM information_schema.tables")["table_name"]
    assert not any(name.startswith("_tscorr_stage") for name in left)


def test_together_keeps_nothing_when_one_file_fails(store: Store, tmp_path: Path) -> None:
    files = _month(tmp_path / "dumps")
    files[2].write_bytes(b"\x00\x01" * 50)  # the last file fails, after two were staged
    result = tscorr.load(store, str(tmp_path / "dumps" / "*.csv"), together=True)
    assert isinstance(result.failure, BadInput)
    assert result.reports == []
    assert store.scalar("SELECT count(*) FROM sources") == 0
    assert store.scalar("SELECT count(*) FROM points") == 0
    left = store.query("SELECT table_name FROM information_schema.tables")["table_name"]
    assert not any(name.startswith("_tscorr_stage") for name in left)
    again = tscorr.load(store, str(tmp_path / "dumps" / "pageviews-2016110[12].csv"))
    assert [r.status for r in again.reports] == ["loaded", "loaded"]  # nothing was kept


def test_the_cli_loads_files_together(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = _month(tmp_path / "dumps")
    files[1].write_bytes(b"\x00\x01" * 50)
    refused = cli("load", str(tmp_path / "dumps" / "*.csv"), "--together", "--json")
    assert refused.exit_code == ExitCode.BAD_INPUT
    assert refused.stdout == ""
    counted = cli("sql", "SELECT count(*) AS n FROM sources", "--json")
    assert json.loads(counted.stdout) == [{"n": 0}]
