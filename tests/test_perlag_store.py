"""The per-lag null's columns in the DuckDB file (schema 8), a version-7 file upgraded on
open, the run's record of its methods, and p-values shown down to 1e-12."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np

import tscorr
from tscorr.analysis.correlate import XcorrParams, run_xcorr
from tscorr.cli.cells import cell_text as _cell
from tscorr.results.answers import pvalue
from tscorr.store import SCHEMA_VERSION

V7_VIEW = """
CREATE OR REPLACE VIEW xcorr_peaks AS
SELECT run_id, event_set, series, lag, lag_seconds, r, n, p_value, q_value, p_peak, q_peak,
       p_method
FROM (SELECT x.*, row_number() OVER (PARTITION BY run_id, event_set, series
      ORDER BY abs(r) DESC NULLS LAST, abs(lag), lag) AS rank_in_pair FROM xcorr x)
WHERE rank_in_pair = 1
"""


def _write(tmp_path: Path, strong: float) -> tuple[Path, Path]:
    rng = np.random.default_rng(2)
    n = 24 * 60
    hits = np.sort(rng.choice(n - 10, 30, replace=False))
    start = np.datetime64("2016-01-01T00:00")
    rows = ["ts,series,value"]
    for i, size in enumerate([0.0, strong]):
        y = rng.lognormal(size=n)
        y[hits + 3] += size
        rows += [f"{start + np.timedelta64(t, 'h')}Z,s{i},{y[t]:.9g}" for t in range(n)]
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "e.csv").write_text(
        "ts,kind,name\n" + "".join(f"{start + np.timedelta64(int(t), 'h')}Z,x,e{t}\n" for t in hits)
    )
    return tmp_path / "m.csv", tmp_path / "e.csv"


def test_a_run_stores_its_methods_checks_and_set_q(tmp_path: Path) -> None:
    metric, events = _write(tmp_path, 50.0)
    with tscorr.open(tmp_path / "db.duckdb") as store:
        tscorr.load_file(store, metric)
        tscorr.load_file(store, events)
        run = run_xcorr(store, XcorrParams(events="true", max_lag=24))
        peaks = store.query("SELECT * FROM xcorr_peaks ORDER BY series")
        assert peaks["p_method"].to_list() == ["rank-normal", "rank-normal"]
        # one event set: q_set is q_peak; the responder is checked, the null pair is not
        assert peaks["q_set"].to_list() == peaks["q_peak"].to_list()
        strong = peaks.row(1, named=True)
        assert strong["p_peak"] < 1e-12 and strong["p_peak"] > 0  # the number is stored
        assert strong["p_peak_exact"] is not None and strong["p_check"] is False
        if peaks.row(0, named=True)["p_peak"] > 0.05:
            assert peaks.row(0, named=True)["p_peak_exact"] is None
            assert peaks.row(0, named=True)["p_check"] is None
        params = json.loads(store.scalar("SELECT params FROM runs"))
        assert params["method"]["p_method"] == {
            "pairs": {"rank-normal": 2},
            "checked": int(peaks["p_peak_exact"].is_not_null().sum()),
            "check_disagrees": 0,
        }
        assert any(note.startswith("p_peak by method (pairs): rank-normal 2") for note in run.notes)


V9_SUMMARY = (
    "z", "mean_value", "mean_baseline", "ratio_low_bound", "placebos_used", "p_model", "q_model",
    "model", "dispersion", "base_max", "model_buckets", "model_value", "model_baseline",
    "model_events", "model_reference", "p_verdict", "q_verdict",
)


def test_a_version_7_file_opens_and_keeps_its_runs(tmp_path: Path) -> None:
    metric, events = _write(tmp_path, 0.0)
    db = tmp_path / "old.duckdb"
    with tscorr.open(db) as store:
        tscorr.load_file(store, metric)
        tscorr.load_file(store, events)
        run_xcorr(store, XcorrParams(events="true", max_lag=6))
    con = duckdb.connect(str(db))  # made back into a version-7 file
    con.execute("DROP VIEW xcorr_peaks")
    for column in ("q_set", "p_peak_exact", "p_check"):
        con.execute(f"ALTER TABLE xcorr DROP COLUMN {column}")
    con.execute(V7_VIEW)
    for table, column in (  # and without version 9's event-study columns
        *((("responses", "baseline_bound"),)),
        *(("response_summary", c) for c in V9_SUMMARY),
    ):
        con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    con.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    con.close()
    with tscorr.open(db, read_only=True) as store:
        assert store.schema_version() == SCHEMA_VERSION == 11
        old = store.query("SELECT p_peak, q_set, p_peak_exact, p_check FROM xcorr_peaks")
        assert old.height == 2 and old["p_peak"].is_not_null().all()
        assert old["q_set"].is_null().all() and old["p_check"].is_null().all()


def test_p_values_below_1e_12_are_shown_as_such_and_stored_whole() -> None:
    assert _cell(3e-40, "p_peak") == "< 1e-12" and _cell(3e-40, "q_set") == "< 1e-12"
    assert _cell(3e-40, "r") == "3e-40" and _cell(2e-12, "p_peak") == "2e-12"
    assert pvalue(3e-40) == "< 1e-12" and pvalue(0.0123) == "0.0123"


def test_q_set_is_benjamini_hochberg_within_each_event_set(tmp_path: Path) -> None:
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(4)
    n = 24 * 30
    start = np.datetime64("2016-01-01T00:00")
    rows = ["ts,series,value"]
    for i in range(6):
        y = rng.lognormal(size=n)
        rows += [f"{start + np.timedelta64(t, 'h')}Z,s{i},{y[t]:.9g}" for t in range(n)]
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    lines = ["ts,kind,name"]
    for kind in ("a", "b"):
        for t in rng.choice(n - 5, 12, replace=False):
            lines.append(f"{start + np.timedelta64(int(t), 'h')}Z,{kind},{kind}{t}")
    (tmp_path / "e.csv").write_text("\n".join(lines) + "\n")
    with tscorr.open(tmp_path / "db.duckdb") as store:
        tscorr.load_file(store, tmp_path / "m.csv")
        tscorr.load_file(store, tmp_path / "e.csv")
        run_xcorr(store, XcorrParams(events="true", by="kind", max_lag=6))
        peaks = store.query("SELECT event_set, p_peak, q_peak, q_set FROM xcorr_peaks")
    assert peaks.height == 12
    np.testing.assert_allclose(
        peaks["q_peak"].to_numpy(), multipletests(peaks["p_peak"].to_numpy(), method="fdr_bh")[1]
    )
    for name in ("kind = a", "kind = b"):
        one = peaks.filter(peaks["event_set"] == name)
        want = multipletests(one["p_peak"].to_numpy(), method="fdr_bh")[1]
        np.testing.assert_allclose(one["q_set"].to_numpy(), want)
