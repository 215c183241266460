"""The local process engine: the same run on worker processes as in this one.

SYNTHETIC data: 90 hourly series over 120 days (AR(1) with a daily cycle), two event kinds
of 15 events, the first 8 series responding 2 hours after the first kind; one series with
gaps, ten series over a shorter span (a second alignment group). Loaded into a real DuckDB
file opened with a small memory limit, so that one process reads the series in batches of
36 (as it would read 256 a batch of a larger run): the engine's tasks are those batches, on
2 spawned workers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import tscorr
from tscorr.analysis.correlate import XcorrParams, ranked, run_xcorr
from tscorr.analysis.engine import Engine
from tscorr.analysis.engine.task import ONE_THREAD
from tscorr.errors import BadInput, UnknownName
from tscorr.store import Store

HOURS = 24 * 120
MEMORY = "80MB"  # batches of 36 or 37 series of 2,880 hours
PAIR = ["event_set", "series", "lag"]


def make_db(
    folder: Path, m: int = 90, seed: int = 5, flat: int = 0, late: int | None = None
) -> Path:
    """``flat``: that many series from the 41st on are constant (no r, no p_peak); ``late``:
    one more series that responds to the first kind (in a later batch than the first 8)."""
    rng = np.random.default_rng(seed)
    y = np.zeros((m, HOURS))
    shocks = rng.normal(size=(m, HOURS))
    for t in range(1, HOURS):
        y[:, t] = 0.6 * y[:, t - 1] + shocks[:, t]
    y += 2 * np.sin(np.arange(HOURS) * 2 * np.pi / 24) + 50
    a = np.sort(rng.choice(HOURS - 10, 15, replace=False))
    b = np.sort(rng.choice(HOURS - 10, 15, replace=False))
    y[:8, a[:, None] + 2] += 6.0
    if late is not None:
        y[late, a + 2] += 6.0
    y[30, rng.random(HOURS) < 0.1] = np.nan  # gaps: the conditional per-lag test
    y[m - 10 :, : HOURS // 3] = np.nan  # a shorter span: a second alignment group
    y[40 : 40 + flat] = 7.0
    start = np.datetime64("2021-01-01T00:00:00", "us")
    ts = start + np.arange(HOURS) * np.timedelta64(3600, "s")
    pl.DataFrame(
        {
            "ts": pl.Series(np.tile(ts, m)).dt.replace_time_zone("UTC"),
            "series": np.repeat([f"m:{i:03d}" for i in range(m)], HOURS),
            "value": y.ravel(),
        }
    ).filter(pl.col("value").is_not_nan()).write_parquet(folder / "points.parquet")
    rows = [(str(ts[t]) + "Z", "a", "event") for t in a] + [
        (str(ts[t]) + "Z", "b", "event") for t in b
    ]
    pl.DataFrame(rows, schema=["ts", "kind", "name"], orient="row").write_csv(folder / "events.csv")
    db = folder / "engine.duckdb"
    with tscorr.open(db, memory_limit=MEMORY) as store:
        tscorr.load_file(store, folder / "points.parquet")
        tscorr.load_file(store, folder / "events.csv")
    return db


@pytest.fixture(scope="module")
def engine_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_db(tmp_path_factory.mktemp("engine"))


def run(
    store: Store,
    engine: Engine | None,
    keep: str = "auto",
    series: str = "*",
    test: str = "surrogate",
    surrogates: int = 0,
) -> tuple[pl.DataFrame, dict]:
    got = run_xcorr(
        store,
        XcorrParams(
            events="true",
            by="kind",
            max_lag=12,
            keep=keep,
            series=series,
            test=test,
            surrogates=surrogates,
        ),
        engine=engine,
    )
    table = store.query(
        "SELECT * EXCLUDE (run_id) FROM xcorr WHERE run_id = ? ORDER BY ALL", [got.run_id]
    ).sort(PAIR)
    params = json.loads(store.scalar("SELECT params FROM runs WHERE run_id = ?", [got.run_id]))
    return table, params


def assert_same(one: pl.DataFrame, many: pl.DataFrame) -> None:
    """p and q exactly, the same lags, r (and every other float) to 1e-15."""
    assert one.height == many.height > 0
    exact = [*PAIR, "n", "p_peak", "q_peak", "q_set", "p_method", "p_value", "q_value"]
    assert_frame_equal(one.select(exact), many.select(exact), check_exact=True)
    np.testing.assert_allclose(many["r"].to_numpy(), one["r"].to_numpy(), rtol=0, atol=1e-15)


LOCAL = Engine("local", workers=2)


@pytest.mark.parametrize("keep", ["all", "peaks"])
def test_the_process_engine_gives_the_in_process_numbers(engine_db: Path, keep: str) -> None:
    with tscorr.open(engine_db, memory_limit=MEMORY) as store:
        one, one_params = run(store, None, keep)
        many, params = run(store, LOCAL, keep)
    assert_same(one, many)
    # every pair's peak: the same lag whichever process found it
    assert one.filter(pl.col("q_peak") <= 0.05)["series"].n_unique() >= 8
    engine = params["method"]["engine"]
    assert engine["kind"] == "local" and engine["workers"] == 2
    assert engine["tasks"] == 4  # 80 series of the long span in 3 batches, 10 of the short in 1
    assert one_params["method"]["engine"] == {"kind": "in-process", "workers": 1}
    assert params["alignment"] == one_params["alignment"]


def test_small_runs_stay_in_process(engine_db: Path) -> None:
    """One batch of series or one worker: no process is started."""
    with tscorr.open(engine_db, memory_limit=MEMORY) as store:
        _, params = run(store, Engine("local", workers=1))
        assert params["method"]["engine"]["kind"] == "in-process"
    with tscorr.open(engine_db, memory_limit=MEMORY) as store:  # 10 series: one batch
        _, params = run(store, Engine("local", workers=2), series="m:00*")
        assert params["method"]["engine"]["kind"] == "in-process"


def test_engine_options_are_checked() -> None:
    with pytest.raises(BadInput, match="--workers must be at least 1"):
        Engine(workers=0)
    with pytest.raises(UnknownName):
        Engine("spark")


def test_cli_workers_and_scan(engine_db: Path, tmp_path: Path) -> None:
    """``--workers 2`` through the CLI (xcorr and scan): the same peaks as ``--workers 1``,
    and the run records where it ran."""
    from typer.testing import CliRunner

    from tscorr.cli import app

    db = tmp_path / "cli.duckdb"
    db.write_bytes(engine_db.read_bytes())
    with tscorr.open(db, read_only=True) as store:  # the module's other tests ran some
        before = store.scalar("SELECT coalesce(max(run_id), 0) FROM runs")
    runner = CliRunner()
    for command in (
        ["xcorr", "--events", "true", "--by", "kind", "--max-lag", "12"],
        ["scan", "--events", "kind = 'a'", "--after", "6h", "--baseline", "pre:1d"],
    ):
        for workers in ("1", "2"):
            got = runner.invoke(app, ["--db", str(db), *command, "--workers", workers, "--csv"])
            assert got.exit_code == 0, got.output
    with tscorr.open(db, read_only=True) as store:
        runs = store.query(
            "SELECT run_id, params->'$.method.engine.kind' AS kind FROM runs "
            "WHERE command = 'xcorr' AND run_id > ? ORDER BY run_id",
            [before],
        )
        assert [json.loads(k) for k in runs["kind"]] == ["in-process", "local"] * 2
        ids = runs["run_id"].to_list()
        for one, two in ((ids[0], ids[1]), (ids[2], ids[3])):
            a, b = (
                store.query(
                    "SELECT * EXCLUDE (run_id) FROM xcorr_peaks WHERE run_id = ? ORDER BY ALL",
                    [run_id],
                ).sort("event_set", "series")
                for run_id in (one, two)
            )
            assert_same(a.sort(PAIR), b.sort(PAIR))
    bad = runner.invoke(app, ["--db", str(db), *command, "--workers", "0"])
    assert bad.exit_code == 3
    assert "--workers must be at least 1" in bad.output


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=0, max_size=40),
    st.lists(st.sampled_from(["a", "b", "c", "e"]), min_size=1, max_size=4, unique=True),
)
def test_by_row_is_the_definition(series: list[str], names: list[str]) -> None:
    """by_row (a name looked up once a run of rows) keeps the rows of ``names`` in order,
    each with its name's position, whatever the file's order (runs may repeat)."""
    from tscorr.analysis.inputs import by_row

    frame = pl.DataFrame(
        {"series": series, "ts_us": list(range(len(series))), "value": [0.5] * len(series)},
        schema={"series": pl.String, "ts_us": pl.Int64, "value": pl.Float64},
    )
    got = by_row(frame, names)
    want = [(names.index(s), t) for t, s in enumerate(series) if s in names]
    assert list(zip(got["row"].to_list(), got["ts_us"].to_list(), strict=True)) == want
    shifted = by_row(frame, names, [10 * i for i in range(len(names))])
    assert shifted["row"].to_list() == [10 * r for r, _ in want]


# --- a spread run of peaks: pairs written to Parquet by the tasks, ranked in DuckDB -------


@pytest.fixture(scope="module")
def flat_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The engine data with three constant series (pairs without an r or a p_peak) and a
    responder in the second batch (discoveries of one event set in two batches)."""
    return make_db(tmp_path_factory.mktemp("flat"), flat=3, late=60)


def leftovers(db: Path, store: Store) -> list[str]:
    """Files of a run's peaks next to the database, and temporary tables of the store."""
    files = [p.name for p in db.parent.iterdir() if p.name.startswith(".tscorr-peaks-")]
    tables = store.query("SELECT table_name FROM duckdb_tables() WHERE temporary")
    return files + tables["table_name"].to_list()


@pytest.mark.parametrize(
    ("test", "surrogates"), [("surrogate", 0), ("surrogate", 99), ("white", 0)]
)
def test_spread_peaks_are_ranked_in_duckdb_with_the_in_process_rows(
    flat_db: Path, test: str, surrogates: int
) -> None:
    """The default test (the workers keep only peak numbers: the discoveries are tested
    again), and a Monte Carlo test and the white-noise band (every lag is tested at once: the
    discoveries' lags and bands come from the tasks' files): every stored row as in one
    process, q_peak and q_set bit for bit, the pairs without a p_peak included, the same
    notes, bands and method record."""
    with tscorr.open(flat_db, memory_limit=MEMORY) as store:
        one, one_params = run(store, None, "peaks", test=test, surrogates=surrogates)
        many, params = run(store, LOCAL, "peaks", test=test, surrogates=surrogates)
        bands = [
            store.query(
                "SELECT * EXCLUDE (run_id) FROM xcorr_bands WHERE run_id = ? ORDER BY ALL",
                [run_id],
            )
            for run_id in (store.latest_run() - 1, store.latest_run())
        ]
        assert leftovers(flat_db, store) == []
    assert params["method"]["engine"]["ranked"] == "duckdb"
    assert "ranked" not in one_params["method"]["engine"]
    assert_same(one, many)
    exact = ["lag_seconds", "p_peak_exact", "p_check", "q_set"]
    assert_frame_equal(one.select(exact), many.select(exact), check_exact=True)
    # constant series: their pairs are stored, without an r or a p_peak (and no q)
    no_p = many.filter(pl.col("p_peak").is_null())
    assert no_p["series"].n_unique() == 3 and no_p["q_peak"].null_count() == no_p.height
    # every lag of each discovery, the peak row alone of the others
    rows = many.group_by("event_set", "series").agg(
        pl.len().alias("rows"), pl.col("q_peak").first()
    )
    found = rows.filter(pl.col("q_peak") <= 0.05)
    assert found.height >= 6 and (found["rows"] == 25).all()
    assert (rows.filter(~(pl.col("q_peak") <= 0.05))["rows"] == 1).all()
    assert many.filter(pl.col("q_peak") <= 0.05)["p_value"].null_count() == 0
    assert many.filter(~(pl.col("q_peak") <= 0.05))["p_value"].null_count() > 0
    for key in ("notes", "alignment", "buckets", "options"):
        assert params[key] == one_params[key], key
    assert params["method"]["p_method"] == one_params["method"]["p_method"]
    assert_frame_equal(bands[0], bands[1], check_exact=True)
    assert bands[0].height == (found.height if test == "surrogate" else 0)


def test_a_late_write_while_the_run_folder_is_removed_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Dask task runs on after the run failed and its future was cancelled: its file may
    come while the driver removes the run's folder. Here it comes at the worst moment, just
    before the folder's own removal: it must fail for want of the folder, and nothing may
    stay (written into the folder, it made the removal fail, and the folder stayed)."""
    from tscorr.analysis import peakfiles

    folder = tmp_path / ".tscorr-peaks-x"
    folder.mkdir()
    (folder / "peaks-1.parquet").write_bytes(b"a task's pairs")
    late: list[BaseException | None] = []
    real_rmdir = os.rmdir

    def rmdir(path: object, *args: object, **kwargs: object) -> None:
        try:  # the late task writes its file by the folder's name, as write_peaks does
            (folder / "peaks-late.parquet").write_bytes(b"late pairs")
            late.append(None)
        except FileNotFoundError as exc:
            late.append(exc)
        real_rmdir(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rmdir", rmdir)
    peakfiles.remove_folder(folder)
    monkeypatch.undo()
    assert late and all(isinstance(e, FileNotFoundError) for e in late)
    assert list(tmp_path.iterdir()) == []


def test_a_spread_run_that_fails_leaves_no_rows_and_no_files(
    flat_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task that raises (its folder is gone: the workers cannot write their pairs), and a
    driver stopped after the first task: no run, no row, no file, no temporary table."""
    from tscorr.analysis import peakfiles

    def gone(store: Store, engine: Engine) -> Path:
        return flat_db.parent / ".tscorr-peaks-gone"

    class Stop(Exception):
        pass

    def stop(what: str, done: int, total: int) -> None:
        if done:
            raise Stop

    params = XcorrParams(events="true", by="kind", max_lag=12, keep="peaks")
    with tscorr.open(flat_db, memory_limit=MEMORY) as store:
        before = (
            store.scalar("SELECT count(*) FROM runs"),
            store.scalar("SELECT count(*) FROM xcorr"),
        )
        with monkeypatch.context() as patch:
            patch.setattr(peakfiles, "peak_folder", gone)
            with pytest.raises(FileNotFoundError, match=".tscorr-peaks-gone"):
                run_xcorr(store, params, engine=LOCAL)
        assert leftovers(flat_db, store) == []
        settings = {k: os.environ.get(k) for k in ONE_THREAD}
        with pytest.raises(Stop):
            run_xcorr(store, params, stop, engine=LOCAL)
        assert leftovers(flat_db, store) == []
        # the workers' settings never stay in the driver (its own kernels would run on one
        # thread, and BLAS at one thread for the rest of the process)
        assert {k: os.environ.get(k) for k in ONE_THREAD} == settings
        after = (
            store.scalar("SELECT count(*) FROM runs"),
            store.scalar("SELECT count(*) FROM xcorr"),
        )
        assert after == before
        # and the store takes the next run
        got = run_xcorr(store, params, engine=LOCAL)
        assert got.peaks.height == 2 * 87  # the constant series have no r
        assert got.table.columns[-1] == "run_id"


def test_discoveries_in_two_batches_keep_every_lag_in_one_process(flat_db: Path) -> None:
    """One process reading its series in batches: the discoveries of one event set found in
    two batches each get every lag (they were given to the first batch's pairs, one was
    stored by its peak alone), and the rows equal a --keep all run's."""
    with tscorr.open(flat_db, memory_limit=MEMORY) as store:
        peaks, _ = run(store, None, "peaks")
        every, _ = run(store, None, "all")
    found = peaks.filter(pl.col("q_peak") <= 0.05)
    keys = found.select("event_set", "series").unique()
    assert found.height == 25 * keys.height
    assert (
        found.filter((pl.col("series") == "m:060") & (pl.col("event_set") == "kind = a")).height
        == 25
    )
    want = every.join(keys, on=["event_set", "series"], how="semi").sort(PAIR)
    exact = [*PAIR, "n", "p_value", "q_value", "p_peak", "p_method"]
    assert_frame_equal(found.sort(PAIR).select(exact), want.select(exact), check_exact=True)
    np.testing.assert_allclose(found.sort(PAIR)["r"], want["r"], rtol=0, atol=1e-15)


def test_a_pools_spawned_workers_start_with_one_thread() -> None:
    """Workers of a load's pool are spawned at a submit, and start with polars, BLAS and
    tscorr at one thread (polars sizes its pool as it starts: a later setting is too late)."""
    from tscorr.analysis.engine.dask import worker_settings
    from tscorr.analysis.engine.pool import Pool

    before = {k: os.environ.get(k) for k in ONE_THREAD}
    with Pool(Engine("local", workers=2)) as pool:
        got = pool.map(worker_settings, [0, 1, 2])
    for one in got:
        assert one["polars_threads"] == 1
        assert one["blas_threads"] == 1
    assert {k: os.environ.get(k) for k in ONE_THREAD} == before


def test_a_terminal_table_of_a_spread_run_reads_back_only_the_pairs_it_shows(
    flat_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run ranked out of core leaves its rows in the store: ``tscorr xcorr`` in a terminal
    prints the first TABLE_ROWS peaks (of 174 pairs with an r) and the first answers without reading
    the other pairs' rows back, and prints what the whole run read back gives: the same
    rows in the same order, the same sentences (each counting every pair of the run)."""
    from typer.testing import CliRunner

    from tscorr.cli import app
    from tscorr.cli.app import TABLE_ROWS
    from tscorr.results.answers import answers, sentences
    from tscorr.results.runview import load_run

    db = tmp_path / "table.duckdb"
    db.write_bytes(flat_db.read_bytes())
    reads: list[tuple[str, bool]] = []
    original = Store.read_result

    def spy(self: Store, table: str, run_id: int, pairs: pl.DataFrame | None = None) -> pl.DataFrame:
        reads.append((table, pairs is None))
        return original(self, table, run_id, pairs)

    monkeypatch.setattr(Store, "read_result", spy)
    command = ["xcorr", "--events", "true", "--by", "kind", "--max-lag", "12", "--keep", "peaks"]
    command += ["--workers", "2"]
    got = CliRunner().invoke(
        app, ["--db", str(db), "--memory-limit", MEMORY, *command], env={"COLUMNS": "250"}
    )
    assert got.exit_code == 0, got.output
    assert not [table for table, whole in reads if whole and table.startswith("xcorr")], reads
    monkeypatch.setattr(Store, "read_result", original)
    with tscorr.open(db, read_only=True) as store:
        run_id = store.latest_run()
        params = json.loads(store.scalar("SELECT params FROM runs WHERE run_id = ?", [run_id]))
        assert params["method"]["engine"]["ranked"] == "duckdb"
        whole = ranked(
            store.read_result("xcorr_peaks", run_id).select(pl.exclude("run_id"), "run_id")
        )
        said, _ = sentences(answers(load_run(store, run_id), 5, whole.head(5)))
    assert whole.height == 174 > TABLE_ROWS  # 90 series x 2 sets, less 3 constant ones (no r)
    printed = [line.split("│")[1:3] for line in got.output.splitlines() if line.startswith("│")]
    shown = [(a.strip(), b.strip()) for a, b in printed]
    assert shown == list(whole.head(TABLE_ROWS).select("event_set", "series").iter_rows())
    assert f"The first {TABLE_ROWS} of 174 rows" in " ".join(got.output.split())
    for number, sentence in enumerate(said, start=1):
        assert " ".join(f"{number}. {sentence}".split()) in " ".join(got.output.split())
