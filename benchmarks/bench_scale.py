"""Benchmark: many series x many event sets through the CLI, against a statsmodels loop.

    python benchmarks/bench_scale.py                  # 2,000 hourly series x 1 year x 10 event sets
    python benchmarks/bench_scale.py --series 200 --sets 5
    python benchmarks/bench_scale.py --full           # 10,000 x 100 (hours, and more memory)
    python benchmarks/bench_scale.py --missing 0.01   # 1% of the points missing (real data has gaps)
    python benchmarks/bench_scale.py --engine local --workers 2   # the process engine
    python benchmarks/bench_scale.py --engine dask --workers 2    # a Dask LocalCluster

SYNTHETIC workload: AR(1) noise with a daily cycle, one year of hours (8,760 buckets); each
event set is 30 random events; a tenth of the series respond 3 hours after the first set.
``--missing F`` drops a share F of the points at random from every series but the first ten
(those are compared with statsmodels): rows with gaps take the conditional per-lag test.

* tscorr: ``tscorr load`` of the points (Parquet), then ``tscorr xcorr --by kind --max-lag
  168`` in a child process, in this process only (``--workers 1``) and on the engine asked
  for (``--engine``, ``--workers``), each ``--reps`` times; wall time and CPU seconds (the
  child's and its workers', from ``RUSAGE_CHILDREN``), pairs/s, the child's peak memory, and
  the engine's phases as the run recorded them (start, write of the files, the workers'
  read, align and kernel seconds, the driver's BH and tables; the database write is the
  rest) and the largest worker's peak memory.
* check: the engine's run against the in-process run of the same data: pairs whose p_peak
  or q_peak differ (must be 0), peak lags that differ, the largest |r| difference.
* peer: statsmodels ``ccf`` at every lag (both signs) plus the same for 999 circular shifts
  of the events (a 999-shift null for the peak: less than tscorr's every-shift null), timed
  on a few pairs and extrapolated to all pairs; timed INTERLEAVED with tscorr's runs (one
  after each), medians compared, in CPU seconds as well as wall time.
* agreement: r from the database (a ``--keep all`` run on ten series: a big run stores each
  pair's peak row and every lag of the discoveries) equals statsmodels' at every lag.
* memory: each child's own peak (max RSS), the load's and the analysis' apart.
* what the run found: the planted responders and the other pairs at ``q_peak <= 0.05``.

Prints one table of figures; nothing is asserted (the tests hold the claims).
"""

from __future__ import annotations

import argparse
import json
import resource
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


def child(args: list[str]) -> tuple[float, float, float]:
    """Run ``tscorr ARGS``; (wall seconds, CPU seconds of the child and everything it waited
    for, i.e. its workers; this child's peak MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        t = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _WRAP, rss.name, *args], capture_output=True, text=True
        )
        seconds = time.perf_counter() - t
        if done.returncode != 0:
            raise SystemExit(f"tscorr {' '.join(args[:3])} failed: {done.stderr[-800:]}")
        peak = int(Path(rss.name).read_text() or 0) / 1024
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, peak


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


def peer(
    y: np.ndarray, sets: np.ndarray, shifts: np.ndarray, pairs: int
) -> tuple[float, float, list[np.ndarray]]:
    """The statsmodels loop on ``pairs`` pairs: (wall s, CPU s) per pair and each pair's r."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = []
    for i in range(pairs):
        e = np.zeros(HOURS)
        e[sets[0]] = 1.0
        out.append(statsmodels_pair(y[i], e, shifts))
    return (time.perf_counter() - wall) / pairs, (time.process_time() - cpu) / pairs, out


def xcorr_args(db: str, extra: list[str]) -> list[str]:
    return [
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
        *extra,
    ]


def compare(store: tscorr.Store, one: int, other: int) -> dict[str, float]:
    """Pairs of run ``other`` whose p_peak or q_peak differ from run ``one``'s (null-safe),
    whose peak lag differs, and the largest |r| difference."""
    got = store.query(
        "SELECT count(*) AS pairs, "
        "count(*) FILTER (WHERE a.p_peak IS DISTINCT FROM b.p_peak "
        "OR a.q_peak IS DISTINCT FROM b.q_peak) AS p_or_q, "
        "count(*) FILTER (WHERE a.lag IS DISTINCT FROM b.lag) AS lags, "
        "coalesce(max(abs(a.r - b.r)), 0) AS r_diff "
        "FROM xcorr_peaks a FULL JOIN xcorr_peaks b "
        "ON a.event_set = b.event_set AND a.series = b.series AND b.run_id = ? "
        "WHERE a.run_id = ?",
        [other, one],
    )
    return got.row(0, named=True)


def engine_costs(store: tscorr.Store, run: int) -> dict[str, float]:
    params = json.loads(store.scalar("SELECT params FROM runs WHERE run_id = ?", [run]))
    return dict(params["method"]["engine"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--sets", type=int, default=10)
    parser.add_argument("--full", action="store_true", help="10,000 series x 100 event sets")
    parser.add_argument("--peer-pairs", type=int, default=4)
    parser.add_argument("--engine", choices=["local", "dask"], default="local")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3, help="runs of each, interleaved")
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
    engine = ["--engine", a.engine, "--workers", str(a.workers)]
    runs: dict[str, list[tuple[float, float, float]]] = {"one": [], "engine": []}
    peers: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        points, events = make(n_series, n_sets, folder, missing=a.missing)
        n_points = int(pl.scan_parquet(points).select(pl.len()).collect().item())
        db = str(folder / "scale.duckdb")
        load_s, _, load_mb = child(["--db", db, "load", str(points), "--series-col", "series"])
        child(["--db", db, "load", str(events)])
        part_s = 0.0
        if a.engine == "dask":  # the Parquet files of whole series the Dask workers read
            part_s, _, _ = child(["--db", db, "partition", str(folder / "parts")])
        y, sets = np.load(folder / "y.npy"), np.load(folder / "sets.npy")
        shifts = np.random.default_rng(1).choice(np.arange(1, HOURS), SHIFTS, replace=False)
        # interleaved: in-process, the peer, the engine, the peer, ... (run ids 1, 2, 3, ...)
        for _ in range(a.reps):
            runs["one"].append(child(xcorr_args(db, ["--workers", "1"])))
            peers.append(peer(y, sets, shifts, a.peer_pairs)[:2])
            runs["engine"].append(child(xcorr_args(db, engine)))
            peers.append(peer(y, sets, shifts, a.peer_pairs)[:2])
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
        keep_all = 2 * a.reps + 1
        *_, r_peer = peer(y, sets, shifts, a.peer_pairs)
        store = tscorr.open(db, read_only=True)
        stored = store.scalar("SELECT count(*) FROM xcorr WHERE run_id = 1")
        checks = [compare(store, 1, 2 * k + 2) for k in range(a.reps)]
        costs = [engine_costs(store, 2 * k + 2) for k in range(a.reps)]
        found = store.query(
            "SELECT event_set = 'kind = set000' AND CAST(split_part(series, ':', 2) AS INT) < ? "
            "AS planted, count(*) FILTER (WHERE q_peak <= 0.05) AS found, count(*) AS pairs "
            "FROM xcorr_peaks WHERE run_id = 1 GROUP BY 1",
            [n_series // 10],
        )
        hits = {row["planted"]: (row["found"], row["pairs"]) for row in found.iter_rows(named=True)}
        worst = 0.0
        for i in range(a.peer_pairs):
            ours = store.query(
                "SELECT lag, r FROM xcorr WHERE run_id = ? AND series = ? "
                "AND event_set = 'kind = set000' ORDER BY lag",
                [keep_all, f"metric:{i:05d}"],
            )["r"].to_numpy()
            worst = max(worst, float(np.max(np.abs(ours - r_peer[i]))))
        store.close()
    med = {k: [float(np.median([r[j] for r in v])) for j in range(3)] for k, v in runs.items()}
    peer_wall = float(np.median([p[0] for p in peers])) * pairs
    peer_cpu = float(np.median([p[1] for p in peers])) * pairs
    print(
        f"workload: {n_series:,} hourly series x 1 year x {n_sets} event sets = {pairs:,} pairs, lags +-{LAG}"
        + (f"; {a.missing:.1%} of the points missing" if a.missing else "")
    )
    print(
        f"load (Parquet, {n_points:,} points): {load_s:.1f} s, {n_points / load_s / 1e6:.1f} M points/s, peak {load_mb:,.0f} MB"
    )
    if part_s:
        print(f"tscorr partition (Parquet files of whole series, once): {part_s:.1f} s")
    print(f"medians of {a.reps} interleaved runs (wall s / CPU s incl. workers / driver peak MB):")
    for key, name in (
        ("one", "in this process (--workers 1)"),
        ("engine", f"--engine {a.engine} --workers {a.workers}"),
    ):
        wall, cpu, mb = med[key]
        print(
            f"  xcorr {name}: {wall:.1f} s wall, {cpu:.1f} CPU-s, {pairs / wall:,.0f} pairs/s, peak {mb:,.0f} MB"
        )
    print(f"  ({stored:,} rows stored, --keep auto)")
    last = costs[-1]
    if last.get("kind") == "in-process":
        print("engine: the run stayed in one process (too few series for the engine)")
    else:
        phase = {
            k: float(np.median([c.get(k, 0.0) for c in costs]))
            for k in (
                "start_s",
                "write_s",
                "read_s",
                "align_s",
                "kernel_s",
                "cpu_s",
                "driver_after_s",
                "engine_s",
                "worker_peak_mib",
                "tasks",
            )
        }
        wall = med["engine"][0]
        print(
            f"engine phases (median s): start {phase['start_s']:.2f}, write files {phase['write_s']:.2f} "
            f"(driver), read {phase['read_s']:.2f}, align {phase['align_s']:.2f}, kernel {phase['kernel_s']:.2f} "
            f"(summed over workers; workers' CPU {phase['cpu_s']:.1f} s), BH+tables {phase['driver_after_s']:.2f}, "
            f"engine {phase['engine_s']:.2f}; the rest of the {wall:.1f} s (CLI start, plan, DB write) "
            f"{wall - phase['engine_s'] - phase['driver_after_s']:.2f}"
        )
        files_per_worker_s = phase["tasks"] / (
            phase["read_s"] + phase["align_s"] + phase["kernel_s"]
        )
        print(
            f"workers: {int(phase['tasks'])} files, {files_per_worker_s:.2f} files/s per busy worker, "
            f"largest worker peak {phase['worker_peak_mib']:,.0f} MiB"
        )
    bad = max(c["p_or_q"] for c in checks)
    print(
        f"check against the in-process run: pairs whose p or q differ: {bad}; peak lags that "
        f"differ: {max(c['lags'] for c in checks)}; largest |r| difference "
        f"{max(c['r_diff'] for c in checks):.1e} (over {checks[0]['pairs']:,} pairs)"
    )
    planted, null = hits.get(True, (0, 0)), hits.get(False, (0, 0))
    print(
        f"found at q_peak <= 0.05: {planted[0]:,} of the {planted[1]:,} planted responders, "
        f"{null[0]:,} of the {null[1]:,} other pairs"
    )
    print(
        f"statsmodels loop (r at every lag + {SHIFTS}-shift null, median of {len(peers)} timings "
        f"interleaved with tscorr's): {peer_wall / pairs:.2f} s wall, {peer_cpu / pairs:.2f} CPU-s per pair; "
        f"{peer_wall:,.0f} s, {peer_cpu:,.0f} CPU-s for all"
    )
    print(
        f"ratio (statsmodels / tscorr): in this process {peer_cpu / med['one'][1]:,.0f}x in CPU seconds "
        f"({peer_wall / med['one'][0]:,.0f}x wall); engine {peer_cpu / med['engine'][1]:,.0f}x CPU "
        f"({peer_wall / med['engine'][0]:,.0f}x wall); largest |r| difference from statsmodels: {worst:.1e}"
    )


if __name__ == "__main__":
    main()
