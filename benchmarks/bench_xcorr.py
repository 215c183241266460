"""Benchmark: `tscorr xcorr` scan against a statsmodels ccf loop, in the same run.

    python benchmarks/bench_xcorr.py                 # 500 series, 1 year hourly, 30 events
    python benchmarks/bench_xcorr.py --series 100

Workload: 500 hourly series over one year (8,760 buckets), one event set of 30 events, lags
-168..+168. Synthetic data (AR(1) noise with a daily cycle; a tenth of the series respond 3
hours after each event).

* tscorr: ``tscorr xcorr --events true --bucket 1h --max-lag 168`` through the command line,
  with its default test: every one of the 8,759 circular shifts, tails, Holm and BH (read
  from DuckDB, align, correlate, store), start-up included.
* peer: in its own process, for a few series, statsmodels ``ccf(y, e, adjusted=False)`` for
  lags >= 0 plus ``ccf(e, y, adjusted=False)`` for lags < 0, and the same for each of 999
  shifted event series (the per-lag and peak p-values of a 999-shift circular null: less
  work than tscorr's); its wall and CPU seconds per series are extrapolated to all.

The two sides run ``--repeat`` times (default 3), interleaved, alternating which goes first;
prints the medians of wall and CPU seconds (user + system, every thread) of each, the
ratios and the largest |r| difference between the two.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from statsmodels.tsa.stattools import ccf

import tscorr
from tscorr.frames import FeedFrames
from tscorr.store import SourceMeta

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HEADER, Sample, cli_step, comparison_line, interleaved, medians  # noqa: E402

HOURS = 8760
LAG = 168
SURROGATES = 999  # the peer's shifts; tscorr uses all 8,759


def make_data(n_series: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.zeros((n_series, HOURS))
    shocks = rng.normal(size=(n_series, HOURS))
    for t in range(1, HOURS):
        y[:, t] = 0.7 * y[:, t - 1] + shocks[:, t]
    y += 3 * np.sin(2 * np.pi * np.arange(HOURS) / 24)
    events = np.sort(rng.choice(HOURS - 10, 30, replace=False))
    y[: n_series // 10, events[:, None] + 3] += 4.0
    return y + 100, events


def build_db(path: Path, y: np.ndarray, events: np.ndarray) -> None:
    start = np.datetime64("2016-01-01T00:00:00", "us")
    ts = start + np.arange(HOURS) * np.timedelta64(3600, "s")
    names = [f"metric:{i:03d}" for i in range(y.shape[0])]
    points = pl.DataFrame(
        {
            "series": np.repeat(names, HOURS),
            "ts": pl.Series(np.tile(ts, y.shape[0])).dt.replace_time_zone("UTC"),
            "value": y.ravel(),
            "flag": None,
        },
        schema_overrides={"flag": pl.String},
    )
    series = pl.DataFrame(
        {"series": names, "unit": None, "agg": "mean", "attrs": "{}"},
        schema_overrides={"unit": pl.String},
    )
    ev = pl.DataFrame(
        {
            "ts": pl.Series(ts[events]).dt.replace_time_zone("UTC"),
            "ts_end": None,
            "kind": "news",
            "name": [f"event {i}" for i in range(len(events))],
            "weight": 1.0,
            "attrs": "{}",
        },
        schema_overrides={"ts_end": pl.Datetime("us", "UTC")},
    )
    with tscorr.open(path) as store:
        store.ingest(
            SourceMeta("synthetic", "bench", "x", 0, "UTC", {}),
            FeedFrames(rows_read=points.height, points=points, series=series, events=ev),
        )


def statsmodels_scan(
    y: np.ndarray, e: np.ndarray, shifts: np.ndarray
) -> tuple[np.ndarray, float, float]:
    """r at lags -L..L and the surrogate p-values, with statsmodels, for each row of y; wall
    and CPU seconds per row."""
    start, cpu = time.perf_counter(), time.process_time()
    out = []
    for row in y:

        def both(ev: np.ndarray, row: np.ndarray = row) -> np.ndarray:
            pos = ccf(row, ev, adjusted=False, fft=True, nlags=LAG + 1)
            neg = ccf(ev, row, adjusted=False, fft=True, nlags=LAG + 1)
            return np.concatenate([neg[1:][::-1], pos])

        r = both(e)
        null = np.array([both(np.roll(e, s)) for s in shifts])
        _p = (1 + (np.abs(null) >= np.abs(r)).sum(axis=0)) / (1 + len(shifts))
        _p_peak = (1 + (np.abs(null).max(axis=1) >= np.abs(r).max()).sum()) / (1 + len(shifts))
        out.append(r)
    return (
        np.array(out),
        (time.perf_counter() - start) / len(y),
        (time.process_time() - cpu) / len(y),
    )


def peer(n_series: int, peer_series: int) -> None:
    """The peer in its own process: statsmodels on ``peer_series`` rows, as JSON."""
    y, events = make_data(n_series)
    e = np.zeros(HOURS)
    e[events] = 1.0
    shifts = np.random.default_rng(0).integers(1, HOURS, size=SURROGATES)
    r, wall, cpu = statsmodels_scan(y[:peer_series], e, shifts)
    print(json.dumps({"wall_per_series": wall, "cpu_per_series": cpu, "r": r.tolist()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=500)
    parser.add_argument(
        "--peer-series", type=int, default=3, help="series the statsmodels loop runs"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side, interleaved")
    parser.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)  # the child
    args = parser.parse_args()
    if args.peer:
        peer(args.series, args.peer_series)
        return
    y, events = make_data(args.series)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        build_db(db, y, events)
        me = str(Path(__file__).resolve())
        samples = interleaved(
            {
                "statsmodels": lambda _i: [
                    sys.executable, me, "--peer", "--series", str(args.series),
                    "--peer-series", str(args.peer_series),
                ],
                "tscorr": lambda _i: cli_step(
                    "xcorr", "--events", "true", "--bucket", "1h", "--max-lag", str(LAG),
                    "--db", str(db), "--json",
                ),
            },
            args.repeat,
        )  # fmt: skip
        with tscorr.open(db, read_only=True) as store:
            table = store.query(
                "SELECT series, lag, r FROM xcorr WHERE run_id = (SELECT max(run_id) FROM runs) "
                "ORDER BY series, lag"
            )
    # the peer's figures are per series of its loop, extrapolated to every series
    samples["statsmodels"] = [
        Sample(s.out["wall_per_series"] * args.series, s.out["cpu_per_series"] * args.series, s.out)
        for s in samples["statsmodels"]
    ]
    r_sm = np.array(samples["statsmodels"][0].out["r"])
    r_ours = table["r"].to_numpy().reshape(args.series, 2 * LAG + 1)[: args.peer_series]
    print(
        f"workload: {args.series} series x {HOURS} hourly buckets, 30 events, lags +-{LAG}; "
        f"tscorr: every shift ({HOURS - 1}) through the CLI, statsmodels: {SURROGATES} shifts "
        f"(extrapolated from {args.peer_series} series)"
    )
    print(HEADER)
    print(comparison_line("xcorr", samples, "tscorr", "statsmodels"))
    (peer_wall, peer_cpu), (our_wall, our_cpu) = (
        medians(samples["statsmodels"]),
        medians(samples["tscorr"]),
    )
    print(f"speed-up: {peer_wall / our_wall:.1f}x wall, {peer_cpu / our_cpu:.1f}x CPU")
    print(f"max |r difference|: {np.abs(r_ours - r_sm).max():.2e}  (goal <= 1e-9)")


if __name__ == "__main__":
    main()
