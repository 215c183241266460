"""The local process engine: the same run on worker processes as in this one.

SYNTHETIC data: 90 hourly series over 120 days (AR(1) with a daily cycle), two event kinds
of 15 events, the first 8 series responding 2 hours after the first kind; one series with
gaps, ten series over a shorter span (a second alignment group). Loaded into a real DuckDB
file; the engine runs 20 series a task on 2 spawned workers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import tscorr
from tscorr.analysis.correlate import XcorrParams, run_xcorr
from tscorr.engine import Engine
from tscorr.errors import BadInput, UnknownName
from tscorr.store import Store

HOURS = 24 * 120
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
    with tscorr.open(db) as store:
        tscorr.load_file(store, folder / "points.parquet")
        tscorr.load_file(store, folder / "events.csv")
    return db


@pytest.fixture(scope="module")
def engine_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_db(tmp_path_factory.mktemp("engine"))


def run(store: Store, engine: Engine | None, keep: str = "auto") -> tuple[pl.DataFrame, dict]:
    got = run_xcorr(
        store,
        XcorrParams(events="true", by="kind", max_lag=12, keep=keep),
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


LOCAL = Engine("local", workers=2, series_per_file=20)


@pytest.mark.parametrize("keep", ["all", "peaks"])
def test_the_process_engine_gives_the_in_process_numbers(engine_db: Path, keep: str) -> None:
    with tscorr.open(engine_db) as store:
        one, one_params = run(store, None, keep)
        many, params = run(store, LOCAL, keep)
    assert_same(one, many)
    # every pair's peak: the same lag whichever process found it
    assert one.filter(pl.col("q_peak") <= 0.05)["series"].n_unique() >= 8
    engine = params["method"]["engine"]
    assert engine["kind"] == "local" and engine["workers"] == 2
    assert engine["tasks"] == 5  # 80 series of the long span in 4 files, 10 of the short in 1
    assert one_params["method"]["engine"] == {"kind": "in-process", "workers": 1}
    assert params["alignment"] == one_params["alignment"]


def test_small_runs_stay_in_process(engine_db: Path) -> None:
    """One file's worth of series or one worker: no process is started."""
    with tscorr.open(engine_db) as store:
        _, params = run(store, Engine("local", workers=1, series_per_file=20))
        assert params["method"]["engine"]["kind"] == "in-process"
        _, params = run(store, Engine("local", workers=2, series_per_file=500))
        assert params["method"]["engine"]["kind"] == "in-process"


def test_engine_options_are_checked() -> None:
    with pytest.raises(BadInput, match="--workers must be at least 1"):
        Engine(workers=0)
    with pytest.raises(BadInput, match="--scheduler needs --engine dask"):
        Engine(scheduler="tcp://localhost:8786")
    with pytest.raises(UnknownName):
        Engine("spark")
