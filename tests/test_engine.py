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
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import tscorr
from tscorr.analysis.correlate import XcorrParams, run_xcorr
from tscorr.analysis.engine import Engine
from tscorr.errors import BadInput, UnknownName
from tscorr.store import Store

HOURS = 24 * 120
MEMORY = "80MB"  # batches of 36 or 37 series of 2,880 hours
PAIR = ["event_set", "series", "lag"]


def make_db(folder: Path, m: int = 90, seed: int = 5) -> Path:
    rng = np.random.default_rng(seed)
    y = np.zeros((m, HOURS))
    shocks = rng.normal(size=(m, HOURS))
    for t in range(1, HOURS):
        y[:, t] = 0.6 * y[:, t - 1] + shocks[:, t]
    y += 2 * np.sin(np.arange(HOURS) * 2 * np.pi / 24) + 50
    a = np.sort(rng.choice(HOURS - 10, 15, replace=False))
    b = np.sort(rng.choice(HOURS - 10, 15, replace=False))
    y[:8, a[:, None] + 2] += 6.0
    y[30, rng.random(HOURS) < 0.1] = np.nan  # gaps: the conditional per-lag test
    y[m - 10 :, : HOURS // 3] = np.nan  # a shorter span: a second alignment group
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
    pl.DataFrame(rows, schema=["ts", "kind", "name"], orient="row").write_csv(
        folder / "events.csv"
    )
    db = folder / "engine.duckdb"
    with tscorr.open(db, memory_limit=MEMORY) as store:
        tscorr.load_file(store, folder / "points.parquet")
        tscorr.load_file(store, folder / "events.csv")
    return db


@pytest.fixture(scope="module")
def engine_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_db(tmp_path_factory.mktemp("engine"))


def run(
    store: Store, engine: Engine | None, keep: str = "auto", series: str = "*"
) -> tuple[pl.DataFrame, dict]:
    got = run_xcorr(
        store,
        XcorrParams(events="true", by="kind", max_lag=12, keep=keep, series=series),
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
