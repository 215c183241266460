"""scan ranks what moved; explain finds spikes (also at the very end) and what came before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import tscorr
from tscorr.analysis.explain import ExplainParams, run_explain
from tscorr.analysis.kernels.spikes import find_spikes
from tscorr.analysis.scan import ScanParams, run_scan
from tscorr.frames import FeedFrames
from tscorr.ingest.source import LoadOptions
from tscorr.store import SourceMeta, Store

START = datetime(2016, 10, 1, tzinfo=UTC)


def hourly(rng: np.random.Generator, hours: int) -> np.ndarray:
    phase = np.arange(hours) % 24
    return (100 + 40 * np.sin(2 * np.pi * phase / 24)) * rng.lognormal(0, 0.05, hours)


def put(
    store: Store, series: dict[str, np.ndarray], events: list[tuple[datetime, str, str]]
) -> None:
    """Write synthetic series and events through the store, as a feed reader would."""
    n = len(next(iter(series.values())))
    ts = [START + timedelta(hours=h) for h in range(n)]
    points = pl.DataFrame(
        {
            "series": np.repeat(list(series), n),
            "ts": ts * len(series),
            "value": np.concatenate(list(series.values())),
            "flag": None,
        },
        schema_overrides={"flag": pl.String, "ts": pl.Datetime("us", "UTC")},
    )
    meta = pl.DataFrame(
        {"series": list(series), "unit": None, "agg": "mean", "attrs": "{}"},
        schema_overrides={"unit": pl.String},
    )
    ev = pl.DataFrame(
        {
            "ts": [e[0] for e in events],
            "ts_end": None,
            "kind": [e[1] for e in events],
            "name": [e[2] for e in events],
            "weight": 1.0,
            "attrs": [f'{{"i": {i}}}' for i in range(len(events))],
        },
        schema_overrides={"ts": pl.Datetime("us", "UTC"), "ts_end": pl.Datetime("us", "UTC")},
    )
    store.ingest(
        SourceMeta("synthetic", "test", "x", 0, "UTC", {}),
        FeedFrames(rows_read=points.height, points=points, series=meta, events=ev),
    )


def test_spike_at_the_last_bucket_is_found() -> None:
    rng = np.random.default_rng(0)
    y = hourly(rng, 24 * 20)
    y[-1] *= 6
    spikes = find_spikes(y, threshold=5, season=24)
    assert spikes and spikes[-1].peak == len(y) - 1
    assert spikes[-1].value / spikes[-1].baseline == pytest.approx(6, rel=0.1)


def test_no_spikes_in_plain_seasonal_noise() -> None:
    y = hourly(np.random.default_rng(1), 24 * 30)
    assert find_spikes(y, threshold=6, season=24) == []


def test_explain_lists_preceding_events_nearest_first(store: Store) -> None:
    rng = np.random.default_rng(2)
    y = hourly(rng, 24 * 20)
    call = 24 * 19 + 7  # a spike two hours after the call, then another at the last hour
    y[call + 2] *= 8
    y[-1] *= 6
    put(
        store,
        {"access:5xx": y},
        [
            (START + timedelta(hours=call), "race-call", "AP calls the race"),
            (START + timedelta(hours=call - 5), "debate", "a debate five hours earlier"),
            (START + timedelta(hours=24 * 10), "debate", "an old debate"),
        ],
    )
    run = run_explain(store, ExplainParams(series="access:5xx", bucket="1h", window="12h"))
    peaks = run.spikes["ts"].to_list()
    assert START + timedelta(hours=call + 2) in peaks
    assert START + timedelta(hours=len(y) - 1) in peaks
    first = run.explanations.filter(pl.col("spike_ts") == START + timedelta(hours=call + 2)).sort(
        "rank"
    )
    assert first["name"].to_list() == ["AP calls the race", "a debate five hours earlier"]
    assert first["lead_seconds"].to_list() == [7200.0, 7 * 3600.0]
    stored = store.scalar("SELECT count(*) FROM spikes WHERE run_id = ?", [run.run_id])
    assert stored == run.spikes.height


def test_scan_ranks_the_series_that_moved_first(store: Store) -> None:
    # 10 phase-locked calls on series ruled by their daily cycle: the shift null of each lag
    # is the cycle's few lumps, which the default per-lag normal tail reads as Gaussian of
    # the same variance (conservative: p_peak about 0.03 for the responders, q_peak 0.17 over
    # 12 pairs). The two responders still rank first, by p_peak; the max-|r| Monte Carlo
    # test (--surrogates 900), whose null is those lumps themselves, gives q_peak 0.067. The
    # scan ranks by the stronger of its two q-values: the event study's finds them
    rng = np.random.default_rng(3)
    hours = 24 * 40
    calls = [24 * d + 3 for d in range(10, 38, 3)]
    series = {}
    for i in range(12):
        y = hourly(rng, hours)
        if i in (4, 9):
            for c in calls:
                y[c + 1] *= 5
        series[f"trends:term{i:02d}"] = y
    put(store, series, [(START + timedelta(hours=c), "race-call", f"call {c}") for c in calls])
    result = run_scan(
        store,
        ScanParams(  # the response is declared as the first two hours (lags 0 and 1)
            events="true", bucket="1h", after="2h", window="2h", surrogates=999, bootstrap=199,
            placebos=49,
        ),  # type: ignore[arg-type]
    )
    top = result.table["series"].to_list()[:2]
    assert sorted(top) == ["trends:term04", "trends:term09"]
    row = result.table.row(0, named=True)
    assert (
        row["xcorr_lag"] == 1
        and row["ratio_lag"] == 1
        and row["peak_ratio"] == pytest.approx(5, rel=0.1)
    )
    # ranked by the stronger of the two tests' q: the event study's verdict on the declared
    # two hours finds both (q <= 0.05 where the correlation's conservative tail gives 0.17;
    # on the event's own hour alone, where nothing moved, it gave 0.19), and they hold the
    # two smallest p_peak of the run
    two = result.table.head(2)
    assert row["q_peak"] < 0.25 and (two["q_verdict"] <= 0.05).all()
    assert sorted(two["p_peak"].to_list()) == sorted(result.table["p_peak"].to_list())[:2]
    assert store.scalar("SELECT count(*) FROM runs") == 2
    sampled = run_scan(
        store,
        ScanParams(
            events="true", bucket="1h", after="2h", surrogates=900, bootstrap=199, placebos=49
        ),
    )
    assert sorted(sampled.table["series"].to_list()[:2]) == ["trends:term04", "trends:term09"]
    assert sampled.table.row(0, named=True)["q_peak"] < 0.1


def test_scan_and_explain_commands(cli, fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    cli("load", str(fixtures / "real/wikipedia/top100_2016-11-05_to_2016-11-10.csv"))
    cli("load", str(fixtures / "feeds/ical/election2016.ics"))
    scanned = cli(
        "scan",
        "--events",
        "kind = 'race-call'",
        "--series",
        "pageviews:*",
        "--bucket",
        "1d",
        "--before",
        "1d",
        "--after",
        "1d",
        "--baseline",
        "pre:3d",
        "--placebos",
        "19",
        "--json",
    )
    assert scanned.exit_code == 0, scanned.stderr
    import json

    rows = json.loads(scanned.stdout)
    assert "pageviews:en.wikipedia/Donald_Trump" in [r["series"] for r in rows[:3]]
    best = max((r for r in rows if r["peak_ratio"] is not None), key=lambda r: r["peak_ratio"])
    assert best["series"] == "pageviews:en.wikipedia/Donald_Trump"
    explained = cli(
        "explain",
        "--series",
        "pageviews:en.wikipedia/Donald_Trump",
        "--bucket",
        "1d",
        "--season",
        "none",
        "--window",
        "2d",
        "--threshold",
        "3",
        "--json",
    )
    assert explained.exit_code == 0, explained.stderr


def test_explain_finds_sandy_and_names_the_landfall(store: Store, fixtures: Path) -> None:
    tscorr.load_file(
        store,
        fixtures / "real/sandy-311-calls--sandy-311-calls-by-day.csv",
        options=LoadOptions(prefix="311:", tz="America/New_York"),
    )
    tscorr.load_file(store, fixtures / "events/news2012-2016.csv")
    run = run_explain(
        store,
        ExplainParams(
            series="311:total", bucket="1d", season=None, window="3d", tz="America/New_York"
        ),
    )
    first = run.spikes.sort("z", descending=True).row(0, named=True)
    # 8,054 calls on 10/29/12 (New York day), read off the raw file
    assert (first["ts"], first["value"]) == (datetime(2012, 10, 29, 4, tzinfo=UTC), 8054.0)
    why = run.explanations.filter(pl.col("spike_ts") == first["ts"]).row(0, named=True)
    assert (why["rank"], why["kind"], why["lead_seconds"]) == (1, "hurricane", 0.0)


def test_scan_by_kind_keeps_event_sets_apart(store: Store) -> None:
    rng = np.random.default_rng(5)
    hours = 24 * 30
    calls = [24 * d + 3 for d in range(8, 28, 4)]
    debates = [24 * d + 15 for d in range(9, 28, 4)]
    y = hourly(rng, hours)
    for c in calls:
        y[c + 1] *= 6  # only the calls move it
    put(
        store,
        {"trends:x": y, "trends:y": hourly(rng, hours)},
        [(START + timedelta(hours=c), "race-call", f"c{c}") for c in calls]
        + [(START + timedelta(hours=d), "debate", f"d{d}") for d in debates],
    )
    result = run_scan(
        store,
        ScanParams(
            events="true",
            by="kind",
            bucket="1h",
            after="2h",
            surrogates=99,
            bootstrap=99,
            placebos=19,
        ),
    )
    assert result.table.height == 4  # 2 event sets x 2 series, one row each
    x = {
        r["event_set"]: r
        for r in result.table.filter(pl.col("series") == "trends:x").iter_rows(named=True)
    }
    assert x["kind = race-call"]["peak_ratio"] == pytest.approx(6, rel=0.1)
    assert x["kind = race-call"]["xcorr_lag"] == 1
    assert x["kind = debate"]["peak_ratio"] < 1.5
