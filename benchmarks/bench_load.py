"""Benchmark: `tscorr load` of a long CSV against DuckDB's own CSV reader, in the same run.

    python benchmarks/bench_load.py            # 2,000,000 rows
    python benchmarks/bench_load.py --rows 200000

Generates a long-form CSV (ts, series, value; ISO timestamps with Z), then times, each in a
fresh process and a fresh database file:

* the peer: ``CREATE TABLE t AS SELECT * FROM read_csv('file.csv')`` in DuckDB;
* tscorr: ``tscorr.load_file`` (per-value timestamp parsing, series ids, rejects, provenance).

Each side runs ``--repeat`` times (default 3), alternating; the fastest run of each counts.
Prints seconds for each (the time inside the process, after the libraries are imported,
including opening the database and writing it), the ratio tscorr / DuckDB and each
process's peak memory.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import run_child  # noqa: E402

PEER = """
import json, sys, time, duckdb
start = time.perf_counter()
con = duckdb.connect(sys.argv[2])
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [sys.argv[1]]).complete()
con.close()
print(json.dumps({"inner_s": time.perf_counter() - start}))
"""

TSCORR = """
import json, sys, time
import pyarrow, tscorr, tscorr.ingest.feeds
tscorr.ingest.feeds.ensure_loaded()  # library imports stay outside the timer, as `import duckdb` does
start = time.perf_counter()
store = tscorr.open(sys.argv[2])
report = tscorr.load_file(store, sys.argv[1])
store.close()
print(json.dumps({"inner_s": time.perf_counter() - start, "points": report.counts.points}))
"""


def make_csv(path: Path, rows: int, n_series: int = 200) -> None:
    rng = np.random.default_rng(0)
    per = rows // n_series
    start = np.datetime64("2016-01-01T00:00:00")
    ts = (start + np.arange(per) * np.timedelta64(60, "s")).astype("datetime64[s]").astype(str)
    frame = pl.DataFrame(
        {
            "ts": np.char.add(np.tile(ts, n_series), "Z"),
            "series": np.repeat([f"metric:{i:03d}" for i in range(n_series)], per),
            "value": rng.gamma(2.0, 50.0, per * n_series).round(3),
        }
    )
    frame.write_csv(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the fastest counts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "long.csv"
        make_csv(csv, args.rows)
        size = csv.stat().st_size / 2**20
        peers, mine = [], []
        for i in range(args.repeat):
            peers.append(run_child(PEER, str(csv), str(Path(tmp) / f"peer{i}.duckdb")))
            mine.append(run_child(TSCORR, str(csv), str(Path(tmp) / f"tscorr{i}.duckdb")))
        peer = min(peers, key=lambda r: r["inner_s"])
        ours = min(mine, key=lambda r: r["inner_s"])
    print(f"file: {args.rows:,} rows, {size:.0f} MiB")
    print(f"duckdb read_csv CTAS : {peer['inner_s']:.2f} s  (peak {peer['peak_mib']:.0f} MiB)")
    print(
        f"tscorr load          : {ours['inner_s']:.2f} s  (peak {ours['peak_mib']:.0f} MiB, "
        f"{int(ours['points']):,} points)"
    )
    print(
        f"ratio tscorr/duckdb  : {ours['inner_s'] / peer['inner_s']:.2f}x  (goal <= 1.5x, peak < 2048 MiB)"
    )


if __name__ == "__main__":
    main()
