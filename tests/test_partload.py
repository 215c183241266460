"""Loading many files into a Parquet dataset of whole series (``tscorr load --partitions``).

SYNTHETIC hourly pageview dumps (24 files x 50 articles, seeded): some articles absent in
some hours, a broken line and a repeated line every six hours, and one hour given twice (a
second file of the same hour, loaded after them, with other values for some articles), and
the repository's real dump fixture (four lines of 2016-11-09 07:00 and a broken one). The oracle
is a normal load of the same files (one transaction per file into the points table): the
partitioned load must record the same sources, series, rejected rows, hold the same points
in its files, and give the same xcorr numbers.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import tscorr
from tscorr.analysis.engine import Engine
from tscorr.analysis.engine.pool import Pool
from tscorr.cli import app
from tscorr.errors import BadInput
from tscorr.ingest.load import load_files
from tscorr.ingest.partload import load_partitioned
from tscorr.ingest.request import LoadParams

START = datetime(2016, 11, 8, 12)
ARTICLES = [f"Article_{i:02d}" for i in range(50)]
EVENTS = "ts,kind,name\n2016-11-08T16:00:00Z,news,a\n2016-11-08T20:00:00Z,news,b\n" + (
    "2016-11-09T03:00:00Z,news,c\n"
)


def write_dumps(folder: Path) -> list[str]:
    """The files, as a load is given them: 24 hours, a second file of hour 17, and the
    repository's real dump lines of 2016-11-09 07:00 (four lines and a broken one)."""
    rng = random.Random(11)
    hours = folder / "dumps"
    hours.mkdir(parents=True)
    for h in range(24):
        lines = []
        for i, article in enumerate(ARTICLES):
            if rng.random() < 0.1:
                continue  # no views that hour
            views = rng.randint(1, 500) * (20 if h in (4, 8, 15) and i < 10 else 1)  # the news
            lines.append(f"{'en' if i % 3 else 'de'} {article} {views} 0")
        if h % 6 == 0:
            lines += ["this line is broken", f"en {ARTICLES[1]} 5 0"]  # summed by the reader
        name = (START + timedelta(hours=h)).strftime("pageviews-%Y%m%d-%H0000")
        (hours / name).write_text("\n".join(lines) + "\n")
    again = folder / "again"
    again.mkdir()
    name = (START + timedelta(hours=17)).strftime("pageviews-%Y%m%d-%H0000")
    lines = [f"{'en' if i % 3 else 'de'} {ARTICLES[i]} 999 0" for i in range(1, 30, 2)]
    (again / name).write_text("\n".join(lines) + "\n")
    (folder / "events.csv").write_text(EVENTS)
    real = Path(__file__).resolve().parent.parent / "fixtures/feeds/wikimedia"
    return [str(hours / "*"), str(again / name), str(real / "pageviews-20161109-070000")]


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("dumps")
    return folder, write_dumps(folder)


@pytest.fixture(scope="module")
def normal(dumps: tuple[Path, list[str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder, files = dumps
    db = tmp_path_factory.mktemp("normal") / "normal.duckdb"
    with tscorr.open(db) as store:
        assert load_files(store, LoadParams(files)).failure is None
        load_files(store, LoadParams([str(folder / "events.csv")]))
    return db


@pytest.fixture(scope="module")
def parted(dumps: tuple[Path, list[str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same files loaded into partitions by two local worker processes."""
    folder, files = dumps
    here = tmp_path_factory.mktemp("parted")
    with tscorr.open(here / "parted.duckdb") as store, Pool(Engine("local", 2)) as pool:
        done = load_partitioned(store, LoadParams(files), here / "parts", pool, 16)
        load_files(store, LoadParams([str(folder / "events.csv")]))
    assert done.series == 54 and done.files == len(list((here / "parts").glob("*.parquet")))
    assert done.files > 1  # 54 series at about 16 a file
    return here / "parted.duckdb"


SOURCES = (
    "SELECT feed, path, sha256, bytes, rows_read, rows_loaded, rows_rejected, points_loaded, "
    "events_loaded, duplicates, replaced, tz, options, notes FROM sources "
    "WHERE feed <> 'csv' ORDER BY source_id"
)
SERIES = (
    "SELECT s.name, s.feed, s.unit, s.agg, s.attrs, s.kind, s.step, s.tz, o.path "
    "FROM series s JOIN sources o USING (source_id) ORDER BY s.name"
)
REJECTS = (
    "SELECT o.path, r.line, r.raw, r.reason FROM rejects r JOIN sources o USING (source_id) "
    "ORDER BY ALL"
)


def test_the_catalogue_and_rejects_are_those_of_a_normal_load(normal: Path, parted: Path) -> None:
    with tscorr.open(normal) as a, tscorr.open(parted) as b:
        for sql in (SOURCES, SERIES, REJECTS):
            assert a.query(sql).equals(b.query(sql)), sql
        sources = b.query(SOURCES)
        rejects = b.query(REJECTS)
        assert b.scalar("SELECT count(*) FROM points") == 0  # the points live in the files
    # the fixture's own facts, so the comparison above compares something
    assert sources.height == 26 and rejects.height == 5
    assert sources["duplicates"].sum() > 0 and sources["replaced"].sum() > 10
    assert rejects["reason"].unique().to_list() == ["not a 'domain article views bytes' dump line"]


def test_the_files_hold_the_points_of_a_normal_load_whole_and_sorted(
    normal: Path, parted: Path
) -> None:
    with tscorr.open(normal) as a:
        stored = a.query("SELECT series, ts, value FROM observations ORDER BY series, ts")
    with tscorr.open(parted) as b:
        root = Path(b.scalar("SELECT path FROM partition_sets"))
        files = b.query(
            "SELECT s.name AS series, f.file, f.first_ts, f.last_ts, f.points "
            "FROM partition_files f JOIN series s USING (series_id) ORDER BY s.series_id"
        )
    parts = {p.name: pl.read_parquet(p) for p in sorted(root.glob("*.parquet"))}
    for name, frame in parts.items():
        assert frame.columns == ["series", "ts", "value"]
        assert frame.equals(frame.sort("series", "ts")), name
        assert set(frame["series"]) == set(files.filter(pl.col("file") == name)["series"])
    held = pl.concat(parts.values()).sort("series", "ts")
    assert held.equals(stored.cast(held.schema))  # the later file's value of hour 17 too
    spans = held.group_by("series").agg(
        pl.col("ts").min().alias("first_ts"), pl.col("ts").max().alias("last_ts"), pl.len()
    )
    check = files.join(spans, on="series")
    assert check.height == 54
    assert (check["first_ts"] == check["first_ts_right"]).all()
    assert (check["last_ts"] == check["last_ts_right"]).all()
    assert (check["points"] == check["len"]).all()
    # ids follow the dataset's order (file, then name): a batch of ids reads one file
    assert files["file"].to_list() == sorted(files["file"].to_list())


def peaks(store: tscorr.Store, engine: Engine | None) -> pl.DataFrame:
    params = tscorr.XcorrParams(events="kind = 'news'", bucket="1h", max_lag="3h")
    run = tscorr.run_xcorr(store, params, engine=engine)
    return run.peaks.select("series", "lag", "r", "n", "p_peak", "q_peak").sort("series")


def test_xcorr_on_the_dataset_gives_the_numbers_of_a_normal_load(
    normal: Path, parted: Path
) -> None:
    with tscorr.open(normal) as a:
        want = peaks(a, None)
    with tscorr.open(parted) as b:
        here = peaks(b, None)
        spread = peaks(b, Engine("local", workers=2))
    assert want.height == 50 and want["p_peak"].min() < 0.05  # the hours of many views show
    for got in (here, spread):
        assert got.select("series", "lag", "n").equals(want.select("series", "lag", "n"))
        assert (got["r"] - want["r"]).abs().max() < 1e-12  # type: ignore[operator]
        assert got["p_peak"].equals(want["p_peak"]) and got["q_peak"].equals(want["q_peak"])


@pytest.mark.slow
def test_xcorr_on_dask_gives_the_numbers_of_a_normal_load(
    dumps: tuple[Path, list[str]], normal: Path, tmp_path: Path
) -> None:
    """Loaded by a Dask LocalCluster, analysed by one: the numbers of one process."""
    pytest.importorskip("distributed")
    folder, files = dumps
    db = tmp_path / "dask.duckdb"
    with tscorr.open(db) as store, Pool(Engine("dask", 2)) as pool:
        load_partitioned(store, LoadParams(files), tmp_path / "parts", pool, 16)
        load_files(store, LoadParams([str(folder / "events.csv")]))
    with tscorr.open(normal) as a:
        want = peaks(a, None)
    with tscorr.open(db) as b:
        assert b.query(SERIES).equals(tscorr.open(normal).query(SERIES))
        got = peaks(b, Engine("dask", workers=2))
    assert got.select("series", "lag", "n").equals(want.select("series", "lag", "n"))
    assert got["p_peak"].equals(want["p_peak"]) and got["q_peak"].equals(want["q_peak"])


def nothing_left(db: Path, parent: Path) -> None:
    with tscorr.open(db) as store:
        for table in ("sources", "series", "rejects", "partition_sets", "partition_files"):
            assert store.scalar(f"SELECT count(*) FROM {table}") == 0, table
    assert sorted(p.name for p in parent.iterdir()) == ["db.duckdb"]  # no folder, no temp


def test_strict_and_a_broken_line_names_file_and_line_and_leaves_nothing(
    dumps: tuple[Path, list[str]], tmp_path: Path
) -> None:
    folder, files = dumps
    first = folder / "dumps" / "pageviews-20161108-120000"
    line = first.read_text().splitlines().index("this line is broken") + 1
    db = tmp_path / "db.duckdb"
    got = CliRunner().invoke(
        app,
        ["--db", str(db), "load", *files, "--strict", "--partitions", str(tmp_path / "p"),
         "--workers", "2"],
    )  # fmt: skip
    assert got.exit_code == 7, got.output
    message = got.output.strip().replace("\n", " ")
    assert "pageviews-20161108-120000:" in message
    assert f"120000:{line}: not a 'domain article views bytes' dump line" in message
    assert "--strict refuses the load, nothing loaded" in message
    nothing_left(db, tmp_path)


def test_a_file_that_cannot_be_read_leaves_nothing(
    dumps: tuple[Path, list[str]], tmp_path: Path
) -> None:
    folder, files = dumps
    bad = tmp_path / "hour.txt"  # a dump without its name cannot tell its hour
    bad.write_text("en Article_00 3 0\n")
    db = tmp_path / "db.duckdb"
    with tscorr.open(db) as store, pytest.raises(BadInput, match=r"hour\.txt: an hourly"):
        params = LoadParams([*files, str(bad)], feed="wikimedia-pageviews")
        load_partitioned(store, params, tmp_path / "p")
    bad.unlink()
    nothing_left(db, tmp_path)


def test_a_series_already_loaded_is_refused_in_the_transaction(
    dumps: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """The last step fails (the database refuses): the renamed folder goes too."""
    folder, files = dumps
    db = tmp_path / "db.duckdb"
    with tscorr.open(db) as store:
        load_files(store, LoadParams([files[1]]))
        before = store.query(SOURCES)
        with pytest.raises(BadInput, match="series pageviews:en.wikipedia/Article_01 is in"):
            load_partitioned(store, LoadParams([files[0]]), tmp_path / "p")
        assert store.query(SOURCES).equals(before)
        assert not (tmp_path / "p").exists()
        # an empty folder the user made for it is left as it was, empty
        (tmp_path / "q").mkdir()
        with pytest.raises(BadInput, match="series pageviews:en.wikipedia/Article_01 is in"):
            load_partitioned(store, LoadParams([files[0]]), tmp_path / "q")
        assert (tmp_path / "q").is_dir() and not any((tmp_path / "q").iterdir())
        assert store.scalar("SELECT count(*) FROM partition_sets") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.duckdb", "q"]


def test_each_series_lives_in_one_file_and_the_split_guard_still_holds(
    parted: Path, tmp_path: Path
) -> None:
    from tscorr.analysis.engine.partitions import register_dataset

    with tscorr.open(parted) as store:
        root = Path(store.scalar("SELECT path FROM partition_sets"))
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in root.glob("*.parquet"):
        (copy / p.name).write_bytes(p.read_bytes())
    split = tmp_path / "db.duckdb"
    split.write_bytes(parted.read_bytes())
    with tscorr.open(split) as store:
        info = register_dataset(store, copy)  # the independent check: no series split
        assert info.series == 54
        first = sorted(copy.glob("*.parquet"))[0]
        pl.read_parquet(first).head(1).write_parquet(copy / "extra.parquet")
        with pytest.raises(BadInput, match="is split across"):
            register_dataset(store, copy)


def test_removing_another_source_keeps_the_series_of_the_dataset(
    parted: Path, tmp_path: Path
) -> None:
    db = tmp_path / "db.duckdb"
    db.write_bytes(parted.read_bytes())
    with tscorr.open(db) as store:
        events = store.resolve_sources(str(store.scalar("SELECT max(source_id) FROM sources")))
        store.remove_sources(events)
        assert store.scalar("SELECT count(*) FROM series") == 54


def test_the_options_of_a_partitioned_load_need_partitions(tmp_path: Path) -> None:
    got = CliRunner().invoke(
        app, ["--db", str(tmp_path / "db.duckdb"), "load", "x.csv", "--workers", "2"]
    )
    assert got.exit_code == 3
    assert "--workers applies to a load with --partitions DIR" in got.output


def test_a_folder_that_holds_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "x").write_text("")
    with tscorr.open(tmp_path / "db.duckdb") as store, pytest.raises(BadInput, match="not an empty"):
        load_partitioned(store, LoadParams(["x"]), tmp_path / "p")
    with tscorr.open(tmp_path / "db.duckdb") as store, pytest.raises(BadInput, match="--force"):
        load_partitioned(store, LoadParams(["x"], force=True), tmp_path / "q")


def test_a_normal_load_into_a_series_of_the_dataset_is_refused(
    dumps: tuple[Path, list[str]], parted: Path, tmp_path: Path
) -> None:
    """Its points would live in two places: in the files and in the points table."""
    _, files = dumps
    db = tmp_path / "db.duckdb"
    db.write_bytes(parted.read_bytes())
    with tscorr.open(db) as store:
        before = store.query(SOURCES)
        failure = load_files(store, LoadParams([files[1]], force=True)).failure
        assert isinstance(failure, BadInput) and "lives in the Parquet dataset at" in str(failure)
        assert store.query(SOURCES).equals(before)
        assert store.scalar("SELECT count(*) FROM points") == 0


def test_ls_series_shows_the_points_of_the_dataset(normal: Path, parted: Path) -> None:
    columns = ["name", "kind", "step", "points", "first", "last", "mean_step_s"]
    with tscorr.open(normal) as a, tscorr.open(parted) as b:
        assert a.list_series().select(columns).equals(b.list_series().select(columns))


def test_partition_leaves_the_series_of_the_dataset_out(parted: Path, tmp_path: Path) -> None:
    """Written from the points table, their files would hold nothing: they keep their own."""
    from tscorr.analysis.engine.partitions import write_dataset
    from tscorr.errors import NoData

    db = tmp_path / "db.duckdb"
    db.write_bytes(parted.read_bytes())
    with tscorr.open(db) as store, pytest.raises(NoData, match="every series lives in a Parquet"):
        write_dataset(store, tmp_path / "again")


def test_a_series_of_the_dataset_is_observed_from_its_file(normal: Path, parted: Path) -> None:
    """What the charts draw: the series' points as a normal load stores them."""
    name = "pageviews:en.wikipedia/Article_01"
    with tscorr.open(normal) as a, tscorr.open(parted) as b:
        assert a.observed(name).height > 20  # most of the 24 hours
        assert b.observed(name).equals(a.observed(name))


@pytest.mark.slow
def test_dask_reads_each_series_from_its_own_kind_of_dataset(
    dumps: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """Series of the points table in a dataset of ``tscorr partition``, then a load into
    partitions (a newer dataset): a Dask run reads the first from the written dataset, not
    from the newest one (where they are not), with the numbers of one process."""
    pytest.importorskip("distributed")
    from tscorr.analysis.engine.partitions import write_dataset

    folder, files = dumps
    rng = random.Random(5)
    rows = [
        f"{(START + timedelta(hours=h)).isoformat()}Z,n{k},{rng.randint(1, 99)}"
        for k in range(3)
        for h in range(24)
    ]
    normal = tmp_path / "normal.csv"
    normal.write_text("ts,series,value\n" + "\n".join(rows) + "\n")
    with tscorr.open(tmp_path / "mix.duckdb") as store:
        load_files(store, LoadParams([str(normal), str(folder / "events.csv")]))
        write_dataset(store, tmp_path / "written")
        with Pool(Engine("local", 1)) as pool:
            load_partitioned(store, LoadParams(files), tmp_path / "loaded", pool, 16)
        want = peaks(store, None)
        got = peaks(store, Engine("dask", workers=2))
    assert want.height == 53  # the 50 articles and n0..n2
    assert got.select("series", "lag", "n").equals(want.select("series", "lag", "n"))
    assert got["p_peak"].equals(want["p_peak"]) and got["q_peak"].equals(want["q_peak"])
