"""Benchmark: `tscorr load` against DuckDB's own readers, in the same run: long CSV, the same
CSV gzipped, and the same rows as Parquet.

    python benchmarks/bench_load.py            # 2,000,000 rows
    python benchmarks/bench_load.py --rows 200000
    python benchmarks/bench_load.py --big      # also a gzip holding 1 GiB of CSV (memory)

Generates a SYNTHETIC long-form table (ts, series, value; ISO timestamps with Z), then times,
each in a fresh process and a fresh database file:

* the peer: ``CREATE TABLE t AS SELECT * FROM read_csv(file)`` (or ``read_parquet``) in
  DuckDB;
* tscorr: ``tscorr.load_file`` (per-value timestamp parsing, series ids, rejects, native
  steps, provenance), which reads big files block by block.

Each side runs ``--repeat`` times (default 3), alternating; the fastest run of each counts.
Prints seconds for each (the time inside the process, after the libraries are imported,
including opening the database and writing it), points/s, the ratio tscorr / DuckDB and each
process's peak memory.
"""

from __future__ import annotations

import argparse
import gzip
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
reader = "read_parquet" if sys.argv[1].endswith(".parquet") else "read_csv"
con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}(?)", [sys.argv[1]]).complete()
con.close()
print(json.dumps({"inner_s": time.perf_counter() - start}))
"""

TSCORR = """
import json, sys, time
import duckdb, pyarrow, tscorr, tscorr.ingest.feeds, tscorr.ingest.load, tscorr.store
tscorr.ingest.feeds.ensure_loaded()  # library imports stay outside the timer, as `import duckdb` does
start = time.perf_counter()
store = tscorr.open(sys.argv[2])
report = tscorr.load_file(store, sys.argv[1])
store.close()
print(json.dumps({"inner_s": time.perf_counter() - start, "points": report.counts.points}))
"""


def make_table(rows: int, n_series: int = 200) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    per = rows // n_series
    start = np.datetime64("2016-01-01T00:00:00")
    ts = (start + np.arange(per) * np.timedelta64(60, "s")).astype("datetime64[s]").astype(str)
    return pl.DataFrame(
        {
            "ts": np.char.add(np.tile(ts, n_series), "Z"),
            "series": np.repeat([f"metric:{i:03d}" for i in range(n_series)], per),
            "value": rng.gamma(2.0, 50.0, per * n_series).round(3),
        }
    )


def write_big_gzip(path: Path, gib: float = 1.0) -> int:
    """A gzip holding ``gib`` GiB of long CSV (distinct points: 20,000 series of minutes)."""
    block = make_table(2_000_000, n_series=20_000)
    text = block.write_csv(include_header=False).encode()
    rows = 0
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(b"ts,series,value\n")
        written, k = 0, 0
        while written < gib * 2**30:
            # the same minutes, a year later each round: every point distinct
            shifted = text.replace(b"2016-", f"{2016 + k}-".encode()) if k else text
            fh.write(shifted)
            written += len(shifted)
            rows += block.height
            k += 1
    return rows


def compare(kind: str, path: Path, folder: Path, repeat: int) -> None:
    peers, mine = [], []
    for i in range(repeat):
        peers.append(run_child(PEER, str(path), str(folder / f"peer-{kind}{i}.duckdb")))
        mine.append(run_child(TSCORR, str(path), str(folder / f"tscorr-{kind}{i}.duckdb")))
    peer = min(peers, key=lambda r: r["inner_s"])
    ours = min(mine, key=lambda r: r["inner_s"])
    points = int(ours["points"])
    print(
        f"{kind:<12} {peer['inner_s']:>9.2f} s {ours['inner_s']:>9.2f} s "
        f"{points / ours['inner_s'] / 1e6:>8.1f} M/s {ours['inner_s'] / peer['inner_s']:>7.2f}x "
        f"{peer['peak_mib']:>9,.0f} {ours['peak_mib']:>9,.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the fastest counts")
    parser.add_argument("--big", action="store_true", help="also a gzip of 1 GiB of CSV")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        table = make_table(args.rows)
        csv, gz, parquet = folder / "long.csv", folder / "long.csv.gz", folder / "long.parquet"
        table.write_csv(csv)
        with gzip.open(gz, "wb", compresslevel=6) as fh:
            fh.write(csv.read_bytes())
        table.write_parquet(parquet)
        print(
            f"{args.rows:,} rows: CSV {csv.stat().st_size / 2**20:.0f} MiB, gzip "
            f"{gz.stat().st_size / 2**20:.0f} MiB, Parquet {parquet.stat().st_size / 2**20:.0f} MiB"
        )
        print(
            f"{'file':<12} {'duckdb':>11} {'tscorr':>11} {'points/s':>10} {'ratio':>8} "
            f"{'peak MiB':>9} {'(tscorr)':>9}"
        )
        compare("csv", csv, folder, args.repeat)
        compare("csv.gz", gz, folder, args.repeat)
        compare("parquet", parquet, folder, args.repeat)
        if args.big:
            big = folder / "big.csv.gz"
            rows = write_big_gzip(big)
            print(
                f"big: {rows:,} rows, 1 GiB of CSV in {big.stat().st_size / 2**20:.0f} MiB of gzip"
            )
            compare("big.csv.gz", big, folder, 1)
    print("goals: CSV within 2x of DuckDB, Parquet >= 10 M points/s, tscorr peak < 2,048 MiB")


if __name__ == "__main__":
    main()
