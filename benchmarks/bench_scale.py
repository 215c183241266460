"""Benchmark: many series x many event sets through the CLI, against a statsmodels loop.

    python benchmarks/bench_scale.py                  # 2,000 hourly series x 1 year x 10 event sets
    python benchmarks/bench_scale.py --series 200 --sets 5
    python benchmarks/bench_scale.py --full           # 10,000 x 100 (hours, and more memory)
    python benchmarks/bench_scale.py --missing 0.01   # 1% of the points missing (real data has gaps)

SYNTHETIC workload: AR(1) noise with a daily cycle, one year of hours (8,760 buckets); each
event set is 30 random events; a tenth of the series respond 3 hours after the first set.
``--missing F`` drops a share F of the points at random from every series but the first ten
(those are compared with statsmodels): rows with gaps take the conditional per-lag test.

* tscorr: ``tscorr load`` of the points (Parquet), then ``tscorr xcorr --by kind --max-lag
  168`` in a child process; wall time, pairs/s and the child's peak memory (max RSS).
* peer: statsmodels ``ccf`` at every lag (both signs) plus the same for 999 circular shifts
  of the events (a 999-shift null for the peak: less than tscorr's every-shift null), timed
  on a few pairs and extrapolated to all pairs.
* agreement: r from the database (a ``--keep all`` run on ten series: a big run stores each
  pair's peak row and every lag of the discoveries) equals statsmodels' at every lag.
* memory: each child's own peak (max RSS), the load's and the analysis' apart.
* what the run found: the planted responders and the other pairs at ``q_peak <= 0.05``.

Prints one table of figures; nothing is asserted (the tests hold the claims).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from statsmodels.tsa.stattools import ccf

import tscorr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PEAK_KIB  # noqa: E402

HOURS = 8760
LAG = 168
SHIFTS = 999
PEER_ROWS = 10  # --peer-pairs is at most this


def make(
    n_series: int, n_sets: int, folder: Path, seed: int = 0, missing: float = 0.0
) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    y = np.zeros((n_series, HOURS), dtype=np.float64)
    shocks = rng.normal(size=(n_series, HOURS))
    for t in range(1, HOURS):
        y[:, t] = 0.7 * y[:, t - 1] + shocks[:, t]
    y += 3 * np.sin(2 * np.pi * np.arange(HOURS) / 24) + 100
    sets = [np.sort(rng.choice(HOURS - 10, 30, replace=False)) for _ in range(n_sets)]
    y[: n_series // 10, sets[0][:, None] + 3] += 4.0
    start = np.datetime64("2016-01-01T00:00:00", "us")
    ts = start + np.arange(HOURS) * np.timedelta64(3600, "s")
    names = [f"metric:{i:05d}" for i in range(n_series)]
    points = folder / "points.parquet"
    kept = rng.random(n_series * HOURS) >= missing
    kept[: PEER_ROWS * HOURS] = True  # the series compared with statsmodels stay whole
    pl.DataFrame(
        {
            "ts": pl.Series(np.tile(ts, n_series)).dt.replace_time_zone("UTC"),
            "series": np.repeat(names, HOURS),
            "value": y.ravel(),
        }
    ).filter(pl.Series(kept)).write_parquet(points)
    events = folder / "events.csv"
    rows = [
        (str(ts[t]) + "Z", f"set{k:03d}", f"event {k}.{i}")
        for k, when in enumerate(sets)
        for i, t in enumerate(when)
    ]
    pl.DataFrame(rows, schema=["ts", "kind", "name"], orient="row").write_csv(events)
    np.save(folder / "y.npy", y[:PEER_ROWS])  # the rows the peer may be timed on
    np.save(folder / "sets.npy", np.array(sets))
    return points, events


# runs tscorr in the child and writes the child's own peak memory (max RSS, KiB) to a file
_WRAP = (
    "import atexit, sys\n"
    "out = sys.argv.pop(1)\n"
    f"atexit.register(lambda: open(out, 'w').write(str({PEAK_KIB})))\n"
    "from tscorr._entry import main\n"
    "sys.argv[0] = 'tscorr'\n"
    "main()\n"
)


def child(args: list[str]) -> tuple[float, float]:
    """Run ``tscorr ARGS``; (seconds, this child's peak MB)."""
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        t = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _WRAP, rss.name, *args], capture_output=True, text=True
        )
        seconds = time.perf_counter() - t
        if done.returncode != 0:
            raise SystemExit(f"tscorr {' '.join(args[:3])} failed: {done.stderr[-500:]}")
        peak = int(Path(rss.name).read_text() or 0) / 1024
    return seconds, peak


def statsmodels_pair(y: np.ndarray, e: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """r at lags -L..L as statsmodels gives it, and the same for each shifted event series."""

    def both(ev: np.ndarray) -> np.ndarray:
        after = ccf(y, ev, adjusted=False, nlags=LAG + 1)  # r(k) = corr(e[t], y[t+k]), k >= 0
        before = ccf(ev, y, adjusted=False, nlags=LAG + 1)  # k < 0
        return np.concatenate([before[1:][::-1], after])

    r = both(e)
    for s in shifts:
        both(np.roll(e, s))
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--sets", type=int, default=10)
    parser.add_argument("--full", action="store_true", help="10,000 series x 100 event sets")
    parser.add_argument("--peer-pairs", type=int, default=4)
    parser.add_argument(
        "--missing", type=float, default=0.0, help="share of points dropped at random (0-1)"
    )
    a = parser.parse_args()
    if not 1 <= a.peer_pairs <= PEER_ROWS:
        parser.error(f"--peer-pairs must be 1 to {PEER_ROWS}")
    if not 0 <= a.missing < 1:
        parser.error("--missing must be at least 0 and below 1")
    n_series, n_sets = (10_000, 100) if a.full else (a.series, a.sets)
    pairs = n_series * n_sets
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        points, events = make(n_series, n_sets, folder, missing=a.missing)
        n_points = int(pl.scan_parquet(points).select(pl.len()).collect().item())
        db = str(folder / "scale.duckdb")
        load_s, load_mb = child(["--db", db, "load", str(points), "--series-col", "series"])
        child(["--db", db, "load", str(events)])
        run_s, run_mb = child(
            [
                "--db",
                db,
                "xcorr",
                "--events",
                "true",
                "--by",
                "kind",
                "--max-lag",
                str(LAG),
                "--top",
                "1",
                "--csv",
            ]
        )
        # every lag of a few pairs (a big run stores the peak rows and the discoveries'
        # lags): the same code computes r in both
        child(
            [
                "--db",
                db,
                "xcorr",
                "--events",
                "kind = 'set000'",
                "--by",
                "kind",
                "--series",
                "metric:0000?",
                "--max-lag",
                str(LAG),
                "--keep",
                "all",
                "--csv",
            ]
        )
        # the peer, on a few pairs, extrapolated
        y, sets = np.load(folder / "y.npy"), np.load(folder / "sets.npy")
        rng = np.random.default_rng(1)
        shifts = rng.choice(np.arange(1, HOURS), SHIFTS, replace=False)
        store = tscorr.open(db, read_only=True)
        stored = store.scalar("SELECT count(*) FROM xcorr WHERE run_id = 1")
        # what the run found: the planted responders (the first tenth of the series, to the
        # first set) and any other pair at q_peak <= 0.05
        found = store.query(
            "SELECT event_set = 'kind = set000' AND CAST(split_part(series, ':', 2) AS INT) < ? "
            "AS planted, count(*) FILTER (WHERE q_peak <= 0.05) AS found, count(*) AS pairs "
            "FROM xcorr_peaks WHERE run_id = 1 GROUP BY 1",
            [n_series // 10],
        )
        hits = {row["planted"]: (row["found"], row["pairs"]) for row in found.iter_rows(named=True)}
        worst, t0 = 0.0, time.perf_counter()
        for i in range(a.peer_pairs):
            e = np.zeros(HOURS)
            e[sets[0]] = 1.0
            r_sm = statsmodels_pair(y[i], e, shifts)
            ours = store.query(
                "SELECT lag, r FROM xcorr WHERE run_id = 2 AND series = ? "
                "AND event_set = 'kind = set000' ORDER BY lag",
                [f"metric:{i:05d}"],
            )["r"].to_numpy()
            worst = max(worst, float(np.max(np.abs(ours - r_sm))))
        peer_per_pair = (time.perf_counter() - t0) / a.peer_pairs
        store.close()
    peer_total = peer_per_pair * pairs
    print(
        f"workload: {n_series:,} hourly series x 1 year x {n_sets} event sets = {pairs:,} pairs, lags +-{LAG}"
        + (f"; {a.missing:.1%} of the points missing" if a.missing else "")
    )
    print(
        f"load (Parquet, {n_points:,} points): {load_s:.1f} s, {n_points / load_s / 1e6:.1f} M points/s, peak {load_mb:,.0f} MB"
    )
    print(
        f"xcorr through the CLI: {run_s:.1f} s, {pairs / run_s:,.0f} pairs/s, peak {run_mb:,.0f} MB "
        f"({stored:,} rows stored, --keep auto)"
    )
    planted, null = hits.get(True, (0, 0)), hits.get(False, (0, 0))
    print(
        f"found at q_peak <= 0.05: {planted[0]:,} of the {planted[1]:,} planted responders, "
        f"{null[0]:,} of the {null[1]:,} other pairs"
    )
    print(
        f"statsmodels loop (r at every lag + {SHIFTS}-shift null): {peer_per_pair:.2f} s per pair, {peer_total:,.0f} s for all"
    )
    print(
        f"ratio: {peer_total / run_s:,.0f}x; largest |r| difference from statsmodels: {worst:.1e}"
    )


if __name__ == "__main__":
    main()
