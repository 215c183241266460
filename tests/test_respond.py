"""Event studies: planted effects recovered, honest intervals and placebo p-values, real data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy.stats import kstest

import tscorr
from tscorr.analysis.kernels import eventstudy as es
from tscorr.analysis.kernels.study import placebo_test, study
from tscorr.analysis.respond import RespondParams, run_respond
from tscorr.errors import BadInput, UnknownName
from tscorr.ingest.source import LoadOptions
from tscorr.results.answers import answers
from tscorr.results.runview import load_run
from tscorr.store import Store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

HOUR = 3600


def hourly(rng: np.random.Generator, days: int, noise: float = 0.05) -> np.ndarray:
    hour = np.arange(days * 24) % 24
    return (100 + 50 * np.sin(2 * np.pi * hour / 24)) * rng.lognormal(0, noise, days * 24)


def test_prev_days_baseline_is_the_same_hour_on_previous_days() -> None:
    y = np.arange(24 * 5, dtype=float)[None, :]
    pos = np.array([24 * 4 + 3])  # day 4, 03:00
    res = es.responses(y, pos, 0, 1, es.Baseline("prev-days", 2), HOUR)
    # lag 0 at 03:00: baseline = mean(value at 03:00 on days 3 and 2)
    assert res.baseline[0, 0, 0] == np.mean([24 * 3 + 3, 24 * 2 + 3])
    assert res.baseline[0, 0, 1] == np.mean([24 * 3 + 4, 24 * 2 + 4])
    week = es.Baseline("same-weekday", 1)
    daily = np.arange(30, dtype=float)[None, :]
    assert es.responses(daily, np.array([20]), 0, 0, week, 86400).baseline[0, 0, 0] == 13.0
    pre = es.Baseline("pre", 3)  # pre:3h in hour buckets
    got = es.responses(y, pos, 1, 2, pre, HOUR).baseline[0, 0]
    assert np.all(got == np.mean([pos[0] - 2, pos[0] - 3, pos[0] - 4]))  # before the window opens


def test_other_events_windows_stay_out_of_baselines() -> None:
    y = np.ones((1, 24 * 6))
    y[0, 24 * 4 + 3] = 50.0  # an earlier event's spike, at the same hour the day before
    pos = np.array([24 * 4 + 3, 24 * 5 + 3])
    res = es.responses(y, pos, 0, 0, es.Baseline("prev-days", 2), HOUR)
    assert res.baseline[0, 1, 0] == 1.0  # day 4's spike is the first event's window, not "usual"


def test_unknown_baseline_is_a_clear_error() -> None:
    with pytest.raises(BadInput, match="use prev-days:N, same-weekday:K or pre:DURATION"):
        RespondParams(events="true", baseline="yesterday")


def test_planted_tenfold_spike_reads_ten_with_peak_and_decay() -> None:
    rng = np.random.default_rng(0)
    y = hourly(rng, 120)
    pos = np.sort(rng.choice(np.arange(10, 110), 15, replace=False)) * 24 + 3
    for p in pos:  # 10x one hour after, then the excess halves every hour: 10, 5.5, 3.25
        y[p + 1] *= 10
        y[p + 2] *= 5.5
        y[p + 3] *= 3.25
    s = study(y[None, :], pos, 2, 6, es.Baseline("prev-days", 7), HOUR)
    res, pooled = s.res, s.pooled
    assert res.lags[pooled.peak[0]] == 1
    assert pooled.mean_ratio[0, pooled.peak[0]] == pytest.approx(10, rel=0.05)
    assert pooled.half_life[0] == pytest.approx(1.0, abs=0.25)


def test_bootstrap_interval_is_still_offered() -> None:
    rng = np.random.default_rng(1)
    y = hourly(rng, 60, noise=0.2)
    pos = np.sort(rng.choice(np.arange(8, 55), 12, replace=False)) * 24 + 5
    y[pos] *= 3.0
    s = study(y[None, :], pos, 0, 0, es.Baseline("prev-days", 7), HOUR)
    t_low = s.pooled.ci_low.copy()
    es.bootstrap_into(s.pooled, s.res, 400, 0)
    assert s.pooled.ci_low[0, 0] < s.pooled.mean_ratio[0, 0] < s.pooled.ci_high[0, 0]
    assert s.pooled.ci_low[0, 0] != t_low[0, 0]  # replaced by the bootstrap's
    with pytest.raises(UnknownName, match="--interval 'jackknife'"):
        RespondParams(events="true", interval="jackknife")


@pytest.mark.parametrize("events", [1, 3, 10])
def test_placebo_pvalues_are_uniform_on_null_data(events: int) -> None:
    """Under the null the placebo p is uniform: P(p <= a) <= a at every attainable level,
    within a binomial band, for 1, 3 and 10 events (lognormal levels with a daily cycle)."""
    rng = np.random.default_rng(2 + events)
    pvalues = []
    base = es.Baseline("prev-days", 7)
    for _ in range(150):
        y = hourly(rng, 60, noise=0.2)
        pos = np.sort(rng.choice(np.arange(8, 55), events, replace=False)) * 24 + 5
        s = study(y[None, :], pos, 0, 3, base, HOUR)
        pvalues.append(placebo_test(s, 99, int(rng.integers(1 << 31))).p[0])
    p = np.array(pvalues)
    assert np.isfinite(p).all()
    for a in (0.05, 0.1, 0.25, 0.5):
        assert (p <= a).mean() <= a + 3 * np.sqrt(a * (1 - a) / len(p)), a
    assert kstest(p, "uniform").pvalue > 0.001


def test_placebo_dates_are_distinct_and_outside_real_windows() -> None:
    """One event at 07:00 on day 3, --before 1d --after 1d. On 12 days a pseudo-event's
    window [24d - 17, 24d + 31] must fit in [0, 287] and miss the real [55, 103]: days 6 to
    10, each used once. On 6 days no date qualifies: no p (never p = 1 for an untestable
    case), and the count of usable placebos says why."""
    from tscorr.analysis.kernels.placebo import candidate_days, local_clock, placebo_sets

    pos = np.array([3 * 24 + 7])
    n = 12 * 24
    days, _ = candidate_days(n, pos, 24, 24, 24, local_clock(0, n, None), HOUR)
    assert days.tolist() == [6, 7, 8, 9, 10]
    sets = placebo_sets(days, 1, 199, np.random.default_rng(0))
    assert sorted(int(x[0]) for x in sets) == [6, 7, 8, 9, 10]
    three = placebo_sets(np.arange(40), 3, 50, np.random.default_rng(0))
    assert three.shape == (50, 3) and all(len(set(x.tolist())) == 3 for x in three)  # distinct
    # which event goes to which date is random: the first event's date is not always the
    # earliest of its set (with 2 events on 3 days every set is drawn, in both orders)
    pairs = placebo_sets(np.arange(3), 2, 199, np.random.default_rng(1))
    assert pairs.shape == (3, 2) and len({tuple(p) for p in pairs}) == 3
    n = 6 * 24
    y = np.ones((1, n))
    y[0, pos[0]] = 50
    s = study(y, pos, 24, 24, es.Baseline("prev-days", 2), HOUR)
    res = placebo_test(s, 199, 0)
    assert np.isnan(res.p[0]) and res.used[0] == 0 and res.dates == 0


@pytest.fixture
def sandy(store: Store, fixtures: Path, tmp_path: Path) -> Store:
    tscorr.load_file(
        store,
        fixtures / "real/sandy-311-calls--sandy-311-calls-by-day.csv",
        options=LoadOptions(prefix="311:", tz="America/New_York"),
    )
    landfall = tmp_path / "landfall.csv"
    landfall.write_text("ts,kind,name\n2012-10-29T20:00:00-04:00,hurricane,Sandy landfall\n")
    tscorr.load_file(store, landfall)
    return store


def test_sandy_landfall_response_peak_and_decay(sandy: Store) -> None:
    run = run_respond(
        sandy,
        RespondParams(
            events="kind = 'hurricane'",
            series="311:total",
            bucket="1d",
            before="2d",
            after="14d",
            baseline="pre:7d",
            placebos=99,
            tz="America/New_York",
        ),
    )
    peak = run.peaks.row(0, named=True)
    # read off the raw file: 8,054 calls on 10/29/12 (landfall day, New York time)
    assert peak["lag"] == 0 and peak["n_events"] == 1
    value = sandy.scalar("SELECT value FROM responses WHERE lag = 0")
    assert value == 8054
    assert peak["mean_ratio"] > 100 and peak["half_life"] < 1  # 3,050 calls the next day
    assert peak["p_placebo"] <= 0.05
    params = json.loads(sandy.scalar("SELECT params FROM runs"))
    assert params["buckets"] == {"before": 2, "after": 14}
    assert sandy.scalar("SELECT count(*) FROM response_summary") == 17


def test_respond_cli_and_export(cli, fixtures: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli(
        "load",
        str(fixtures / "real/sandy-311-calls--sandy-311-calls-by-day.csv"),
        "--prefix",
        "311:",
    )
    landfall = tmp_path / "landfall.csv"
    landfall.write_text("ts,kind,name\n2012-10-30T00:00:00Z,hurricane,Sandy\n")
    cli("load", str(landfall))
    result = cli(
        "respond",
        "--events",
        "true",
        "--series",
        "311:total",
        "--bucket",
        "1d",
        "--after",
        "7d",
        "--baseline",
        "pre:7d",
        "--placebos",
        "19",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["series"] == "311:total"
    out = tmp_path / "responses.csv"
    exported = cli("export", "--table", "responses", "--format", "csv", "--out", str(out))
    assert exported.exit_code == 0, exported.stderr
    assert out.read_text().splitlines()[0].startswith("run_id,event_id,event_set,series,lag")


@pytest.fixture
def top_lists(store: Store, fixtures: Path, tmp_path: Path) -> Store:
    for name in ("top100_2016-06-22_to_2016-06-24.csv", "top100_2016-11-05_to_2016-11-10.csv"):
        tscorr.load_file(store, fixtures / "real/wikipedia" / name)
    events = tmp_path / "calls.csv"
    events.write_text(
        "ts,kind,name\n2016-11-09T07:29:00Z,race-call,AP calls the race\n"
        "2016-06-24T04:40:00Z,referendum-result,BBC forecasts Leave\n"
    )
    tscorr.load_file(store, events)
    return store


def test_election_jump_in_the_top_list(top_lists: Store) -> None:
    run = run_respond(
        top_lists,
        RespondParams(
            events="kind = 'race-call'",
            series="pageviews:*",
            bucket="1d",
            before="1d",
            after="1d",
            baseline="pre:3d",
            placebos=0,
            bootstrap=0,
        ),
    )
    trump = run.peaks.filter(pl.col("series") == "pageviews:en.wikipedia/Donald_Trump").row(
        0, named=True
    )
    # by hand from the file: 6,125,896 on 9 Nov against 150,577, 200,110 and 272,393 on 5-7 Nov
    assert trump["lag"] == 0
    assert trump["mean_ratio"] == pytest.approx(6125896 / np.mean([150577, 200110, 272393]))
    ranked = run.peaks.sort("mean_ratio", descending=True, nulls_last=True)["series"].to_list()
    assert ranked[0] == "pageviews:en.wikipedia/Donald_Trump"


def test_referendum_jump_and_censoring_respected(top_lists: Store) -> None:
    run = run_respond(
        top_lists,
        RespondParams(
            events="kind = 'referendum-result'",
            series="pageviews:*",
            bucket="1d",
            after="0s",
            baseline="pre:2d",
            placebos=0,
            bootstrap=0,
        ),
    )
    eu = run.peaks.filter(pl.col("series") == "pageviews:en.wikipedia/European_Union").row(
        0, named=True
    )
    assert eu["mean_ratio"] == pytest.approx(1214896 / np.mean([55938, 100392]))
    flags = dict(
        top_lists.query(
            "SELECT series, flag FROM responses WHERE run_id = ? AND lag = 0", [run.run_id]
        ).rows()
    )
    # Brexit was in the list on the 24th only: its baseline days are below the cut-off, not 0
    assert flags["pageviews:en.wikipedia/Brexit"] == "no-baseline,baseline-censored,bound"
    brexit = run.summary.filter(
        (pl.col("series") == "pageviews:en.wikipedia/Brexit") & (pl.col("lag") == 0)
    )
    assert brexit["mean_ratio"][0] is None  # no made-up ratio against zeros
    # ... but a lower bound: each baseline day was at most that day's cut-off, the list's
    # smallest count (by hand from the file: 35,446 on the 22nd and 29,706 on the 23rd)
    top = pl.read_csv(FIXTURES / "real/wikipedia/top100_2016-06-22_to_2016-06-24.csv")
    cut = top.group_by("date").agg(pl.col("views").min()).sort("date")["views"].to_list()
    views = top.filter(pl.col("article") == "Brexit")["views"][0]
    assert brexit["ratio_low_bound"][0] == pytest.approx(views / np.mean(cut[:2]))
    said = answers(load_run(top_lists, run.run_id))
    line = said.filter(pl.col("series") == "pageviews:en.wikipedia/Brexit")["answer"][0]
    assert f"at least {views / np.mean(cut[:2]):.3g} times" in line
    # an article on the list before but not on the 24th is censored there, not a drop to 0
    censored = [s for s, f in flags.items() if f == "censored"]
    assert censored and all(
        top_lists.scalar(
            "SELECT count(*) FROM points p JOIN series s USING (series_id) WHERE s.name = ? AND p.ts = '2016-06-24'",
            [s],
        )
        == 0
        for s in censored
    )


def test_outage_is_flagged_not_read_as_a_low_value() -> None:
    rng = np.random.default_rng(3)
    y = np.vstack([hourly(rng, 30), hourly(rng, 30)])
    pos = np.array([24 * 20 + 2])
    y[0, pos[0] + 1] *= 8  # searches spike
    y[1, pos[0] + 1] = 0.0  # the site is down at the same hour
    res = es.responses(y, pos, 0, 2, es.Baseline("prev-days", 7), HOUR)
    from tscorr.analysis.respond import _flags

    flags = _flags(res, np.full(y.shape, np.nan), pos)
    assert flags[1, 0, 1] == "outage" and flags[0, 0, 1] is None


def test_no_response_means_no_placebo_p_value() -> None:
    y = np.full((1, 24 * 30), np.nan)  # a series with no value at all: nothing to compare
    pos = np.array([24 * 20 + 2])
    s = study(y, pos, 0, 3, es.Baseline("prev-days", 7), HOUR)
    res = placebo_test(s, 19, 0)
    assert np.isnan(res.p[0]) and res.used[0] == 0


def test_placebo_dates_keep_the_local_time_across_dst() -> None:
    """New York, 25 Oct - 14 Nov 2016 hourly (DST ends 6 Nov): an event at 07:00 local on
    12 Nov; every placebo date is 07:00 local too, 11:00 UTC before the change and 12:00
    after it (computed here with zoneinfo, not with tscorr's offsets)."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from tscorr.analysis.kernels.placebo import candidate_days, from_local, local_clock

    ny = ZoneInfo("America/New_York")
    start = datetime(2016, 10, 25, 4, tzinfo=UTC)  # 00:00 local (EDT)
    n = 21 * 24
    stamps = [start + timedelta(hours=h) for h in range(n)]
    offsets = np.array([int(t.astimezone(ny).utcoffset().total_seconds()) for t in stamps])
    clock = local_clock(int(start.timestamp()), n, offsets)
    event = stamps.index(datetime(2016, 11, 12, 12, tzinfo=UTC))  # 07:00 EST
    days, phase = candidate_days(n, np.array([event]), 0, 6, 24, clock, HOUR)
    assert len(days) >= 15
    for d in days:
        at = int(from_local(np.array([d * 24 + phase[0]]), clock, HOUR)[0])
        assert stamps[at].astimezone(ny).hour == 7, stamps[at]
