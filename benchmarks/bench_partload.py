"""Benchmark: `tscorr load --partitions` (many files of one feed into a Parquet dataset, read
on worker processes) against a normal load of the same files into the points table.

    python benchmarks/bench_partload.py                      # 48 hourly dumps x 20,000 lines
    python benchmarks/bench_partload.py --files 24 --rows 5000 --workers 1 2

Generates SYNTHETIC hourly pageview dumps (``en Article_N VIEWS 0`` lines, one file per hour,
named pageviews-YYYYMMDD-HH0000 as the feed needs), in a temporary folder deleted at the end.
Then, each in a fresh database (and a fresh folder) in this process: the normal load (one
transaction per file), and the load into partitions on N local worker processes for each
``--workers`` N (the workers' start counted). Prints wall seconds, files per second, files
per second per worker, and the read and merge phases' wall and summed worker seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

import tscorr
from tscorr.analysis.engine import Engine
from tscorr.analysis.engine.pool import Pool
from tscorr.ingest.load import load_files
from tscorr.ingest.partload import load_partitioned
from tscorr.ingest.request import LoadParams


def write_dumps(folder: Path, files: int, rows: int) -> None:
    rng = np.random.default_rng(0)
    start = datetime(2016, 11, 1)
    names = [f"Article_{i}" for i in range(rows)]
    for h in range(files):
        views = rng.integers(1, 10_000, rows)
        text = "".join(f"en {n} {v} 0\n" for n, v in zip(names, views, strict=True))
        (folder / (start + timedelta(hours=h)).strftime("pageviews-%Y%m%d-%H0000")).write_text(text)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=48)
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tscorr-bench-") as tmp:
        root = Path(tmp)
        dumps = root / "dumps"
        dumps.mkdir()
        write_dumps(dumps, args.files, args.rows)
        params = LoadParams([str(dumps / "pageviews-*")], feed="wikimedia-pageviews")
        print(f"{args.files} files x {args.rows:,} lines ({args.files * args.rows:,} points)")
        t = time.perf_counter()
        with tscorr.open(root / "normal.duckdb") as store:
            load_files(store, params)
        wall = time.perf_counter() - t
        print(f"normal load (points table):   {wall:6.2f} s  {args.files / wall:6.1f} files/s")
        for n in args.workers:
            t = time.perf_counter()
            with tscorr.open(root / f"parts{n}.duckdb") as store, Pool(Engine("local", n)) as pool:
                done = load_partitioned(store, params, root / f"parts{n}", pool)
            wall = time.perf_counter() - t
            s = done.stats
            print(
                f"--partitions, {n} worker(s):   {wall:6.2f} s  {args.files / wall:6.1f} files/s"
                f"  {args.files / wall / n:6.1f} files/s/worker  (read {s['read_s']:.2f} s wall,"
                f" {s['read_cpu_s']:.2f} s in workers; merge {s['merge_s']:.2f} s wall,"
                f" {s['merge_cpu_s']:.2f} s in workers; {done.files} files)"
            )


if __name__ == "__main__":
    sys.exit(main())
