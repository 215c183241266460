"""Benchmark: `tscorr load` through the command line against DuckDB's own readers of the same
file, interleaved in the same run: a long CSV, a wide CSV (a spreadsheet: one column per
series) and the long table as Parquet.

    python benchmarks/bench_load.py                 # 6,000,000 points
    python benchmarks/bench_load.py --rows 6e7      # 60,000,000 (about 2.4 GB of CSV on disk)
    python benchmarks/bench_load.py --rows 2e5 --repeat 3 --formats csv
    python benchmarks/bench_load.py --formats gzip --big   # also 1 GiB of CSV in gzip (memory)
    python benchmarks/bench_load.py --before        # also tscorr without its fast way
                                                    # (TSCORR_SLOW_LOAD=1), in the same run
    python benchmarks/bench_load.py --rows 6e7 --staged  # also a big file's points staged
                                                    # and then copied (as before they were
                                                    # written as they come), in the same run

Generates SYNTHETIC points (200 series of minutes; ISO timestamps with Z; the long table
sorted by series and time), written block by block so the generator's memory stays small,
into a temporary folder that is deleted at the end. Then, for each file, ``--repeat`` times
(default 3), alternating which side goes first, each in a fresh process and a fresh database
file:

* the peer: ``python -c`` importing duckdb and running ``CREATE TABLE t AS SELECT * FROM
  read_csv(FILE)`` (or ``read_parquet``);
* tscorr: ``python -m tscorr load FILE --db DB`` (start-up, feed detection, per-value
  timestamp parsing, series ids, rejects, native steps, provenance, one transaction).

Prints the medians of wall and CPU seconds (user + system, every thread) of each side, the
ratios tscorr / DuckDB, tscorr's peak memory and the load average when the file was done.
Goal (issue 27): within 1.5x of DuckDB's reader, CSV and Parquet, at 6 M and 60 M rows.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HEADER, cli_step, comparison_line, interleaved, python_step  # noqa: E402

PEER = """
import json, sys, duckdb
con = duckdb.connect(sys.argv[2])
reader = "read_parquet" if sys.argv[1].endswith(".parquet") else "read_csv"
con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}(?)", [sys.argv[1]]).complete()
print(json.dumps({"rows": con.execute("SELECT count(*) FROM t").fetchone()[0]}))
con.close()
"""

N_SERIES = 200
BLOCK = 2_000_000  # points generated at a time


def long_blocks(rows: int, n_series: int = N_SERIES) -> Iterator[pl.DataFrame]:
    """The long table (ts, series, value) in blocks of whole series, sorted by series, time."""
    rng = np.random.default_rng(0)
    per = rows // n_series
    ts = pl.datetime_range(
        pl.datetime(2016, 1, 1),
        pl.datetime(2016, 1, 1) + pl.duration(minutes=per - 1),
        "1m",
        eager=True,
    ).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    step = max(1, BLOCK // per)
    for lo in range(0, n_series, step):
        names = [f"metric:{i:03d}" for i in range(lo, min(lo + step, n_series))]
        yield pl.DataFrame(
            {
                "ts": pl.concat([ts] * len(names)),
                "series": np.repeat(names, per),
                "value": rng.gamma(2.0, 50.0, per * len(names)).round(3),
            }
        )


def write_files(rows: int, folder: Path, formats: list[str]) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    if "csv" in formats or "parquet" in formats:
        csv, parquet = folder / "long.csv", folder / "long.parquet"
        writer = None
        with csv.open("wb") as fh:
            for i, block in enumerate(long_blocks(rows)):
                if "csv" in formats:
                    block.write_csv(fh, include_header=i == 0)
                if "parquet" in formats:
                    table = block.to_arrow()
                    writer = writer or pq.ParquetWriter(parquet, table.schema)
                    writer.write_table(table)
        if writer is not None:
            writer.close()
            paths["parquet"] = parquet
        if "csv" in formats:
            paths["csv"] = csv
        else:
            csv.unlink()
    if "gzip" in formats:  # the long CSV again, gzipped (read as a stream)
        gz = folder / "long.csv.gz"
        with gz.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as fh:
            for i, block in enumerate(long_blocks(rows)):
                block.write_csv(fh, include_header=i == 0)
        paths["gzip"] = gz
    if "wide" in formats:  # the same points as a spreadsheet: a time column, one per series
        wide = folder / "wide.csv"
        per = rows // N_SERIES
        rng = np.random.default_rng(1)
        ts = pl.datetime_range(
            pl.datetime(2016, 1, 1),
            pl.datetime(2016, 1, 1) + pl.duration(minutes=per - 1),
            "1m",
            eager=True,
        ).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        with wide.open("wb") as fh:
            for i, lo in enumerate(range(0, per, BLOCK // N_SERIES)):
                hi = min(per, lo + BLOCK // N_SERIES)
                values = rng.gamma(2.0, 50.0, (hi - lo, N_SERIES)).round(3)
                frame = pl.DataFrame(values, schema=[f"metric:{j:03d}" for j in range(N_SERIES)])
                frame.insert_column(0, ts[lo:hi].alias("ts"))
                frame.write_csv(fh, include_header=i == 0)
        paths["wide"] = wide
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=6e6, help="points (6e6, 6e7)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side, interleaved")
    parser.add_argument(
        "--formats", default="csv,wide,parquet", help="comma-separated: csv, wide, parquet, gzip"
    )
    parser.add_argument(
        "--big", action="store_true", help="also a gzip holding 1 GiB of CSV (tscorr's memory)"
    )
    parser.add_argument(
        "--before",
        action="store_true",
        help="also tscorr with TSCORR_SLOW_LOAD=1 (every block the slow way), interleaved",
    )
    parser.add_argument(
        "--staged",
        action="store_true",
        help="also tscorr with a big file's points staged, then copied (staging.DIRECT off)",
    )
    args = parser.parse_args()
    rows = int(args.rows)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = write_files(rows, folder, formats)
        sizes = ", ".join(f"{k} {p.stat().st_size / 2**20:,.0f} MiB" for k, p in paths.items())
        print(f"{rows:,} points: {sizes}")
        print(HEADER)
        for kind in formats:
            path = paths[kind]

            def databases() -> None:
                for db in folder.glob("*.duckdb*"):
                    db.unlink()

            sides: dict[str, Callable[[int], list[str]]] = {
                "duckdb": lambda i, p=path: python_step(
                    PEER, str(p), str(folder / f"peer{i}.duckdb")
                ),
                "tscorr": lambda i, p=path: cli_step(
                    "load", str(p), "--db", str(folder / f"tscorr{i}.duckdb"), "--json"
                ),
            }
            if args.before:
                sides["slow"] = lambda i, p=path: [
                    "env",
                    "TSCORR_SLOW_LOAD=1",
                    *cli_step("load", str(p), "--db", str(folder / f"slow{i}.duckdb"), "--json"),
                ]
            if args.staged:
                sides["staged"] = lambda i, p=path: cli_step(
                    "load",
                    str(p),
                    "--db",
                    str(folder / f"staged{i}.duckdb"),
                    "--json",
                    prelude="from tscorr.store import staging\nstaging.DIRECT = False\n",
                )
            samples = interleaved(sides, args.repeat, after_each=databases)
            print(comparison_line(kind, samples, "tscorr", "duckdb"), flush=True)
            if args.before:
                print(comparison_line(f"{kind} (slow)", samples, "slow", "duckdb"), flush=True)
            if args.staged:
                print(comparison_line(f"{kind} (staged)", samples, "staged", "duckdb"), flush=True)
            path.unlink()  # disk: a 60 M-row CSV is 2.4 GB
        if args.big:
            big = folder / "big.csv.gz"
            with (
                big.open("wb") as raw,
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1) as fh,
            ):
                fh.write(b"ts,series,value\n")
                written, year = 0, 2016
                while written < 2**30:  # the same minutes, a year later each round: all distinct
                    for block in long_blocks(2_000_000, n_series=20_000):
                        data = block.write_csv(include_header=False).encode()
                        data = data.replace(b"2016-", f"{year}-".encode())
                        fh.write(data)
                        written += len(data)
                    year += 1
            samples = interleaved(
                {
                    "duckdb": lambda i: python_step(
                        PEER, str(big), str(folder / f"peer{i}.duckdb")
                    ),
                    "tscorr": lambda i: cli_step(
                        "load", str(big), "--db", str(folder / f"tscorr{i}.duckdb"), "--json"
                    ),
                },
                1,
            )
            print(comparison_line("big.csv.gz", samples, "tscorr", "duckdb"), flush=True)
    print(
        "goals: tscorr within 1.5x of DuckDB's reader (wall), CSV and Parquet, 6 M and 60 M; "
        "peak < 2,048 MiB on the 1 GiB gzip"
    )


if __name__ == "__main__":
    main()
