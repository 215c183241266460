"""Benchmark: `tscorr load` of an access log against DuckDB regexp_extract, in the same run.

    python benchmarks/bench_access_log.py                  # 10,000,000 lines (about 1 GB)
    python benchmarks/bench_access_log.py --lines 1000000

Writes a synthetic Combined Log Format file (lines drawn from the real Elastic sample's
shape: 10 paths, a few statuses, one hour per 360,000 lines), then, each in a fresh process
and a fresh database, ``--repeat`` times (default 3) alternating which side goes first:

* peer: DuckDB reads the lines (``read_csv`` with one VARCHAR column), extracts time, status
  and bytes with ``regexp_extract`` and writes requests/4xx/5xx/bytes per minute;
* tscorr: ``tscorr load LOG --feed access-log --bucket 1m`` through the command line.

Prints the medians of wall and CPU seconds (user + system, every thread) of each side, the
ratios, lines per second and tscorr's peak memory: tscorr reads in chunks, so its peak
should not grow with the number of lines.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HEADER, cli_step, comparison_line, interleaved, medians, python_step  # noqa: E402

PEER = r"""
import sys, duckdb
con = duckdb.connect(sys.argv[2])
con.execute(r'''
CREATE TABLE per_minute AS
WITH lines AS (
  SELECT line FROM read_csv(?, columns = {'line': 'VARCHAR'}, delim = e'\x01', quote = '',
                            escape = '', header = false)
), parsed AS (
  SELECT strptime(regexp_extract(line, '\[([^\]]+)\]', 1), '%d/%b/%Y:%H:%M:%S %z') AS ts,
         TRY_CAST(regexp_extract(line, '" (\d{3}) ', 1) AS INTEGER) AS status,
         TRY_CAST(regexp_extract(line, '" \d{3} (\d+)', 1) AS BIGINT) AS bytes
  FROM lines
)
SELECT date_trunc('minute', ts) AS bucket, count(*) AS requests,
       count(*) FILTER (status BETWEEN 400 AND 499) AS c4xx,
       count(*) FILTER (status BETWEEN 500 AND 599) AS c5xx, sum(bytes) AS bytes
FROM parsed WHERE ts IS NOT NULL GROUP BY ALL
''', [sys.argv[1]]).complete()
con.close()
"""

PATHS = [
    "/",
    "/blog/",
    "/images/a.png",
    "/presentations/x.html",
    "/robots.txt",
    "/files/logstash.tar.gz",
    "/favicon.ico",
    "/style2.css",
    "/reset.css",
    "/projects/",
]


def make_log(path: Path, lines: int) -> None:
    rng = np.random.default_rng(0)
    block = 500_000
    with path.open("w") as fh:
        for lo in range(0, lines, block):
            n = min(block, lines - lo)
            second = np.arange(lo, lo + n) // 100  # 100 requests per second
            paths = rng.integers(0, len(PATHS), n)
            status = rng.choice([200, 200, 200, 304, 404, 503], n)
            size = rng.integers(100, 200_000, n)
            out = []
            for s, p, st, b in zip(second, paths, status, size, strict=True):
                day, rest = divmod(int(s), 86400)
                h, rest = divmod(rest, 3600)
                m, sec = divmod(rest, 60)
                out.append(
                    f"10.0.0.{p} - - [{17 + day:02d}/May/2015:{h:02d}:{m:02d}:{sec:02d} +0000] "
                    f'"GET {PATHS[p]} HTTP/1.1" {st} {b} "-" "bench"\n'
                )
            fh.writelines(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side, interleaved")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        log = folder / "access.log"
        make_log(log, args.lines)
        size = log.stat().st_size / 2**20

        def databases() -> None:
            for db in folder.glob("*.duckdb*"):
                db.unlink()

        samples = interleaved(
            {
                "duckdb": lambda i: python_step(PEER, str(log), str(folder / f"peer{i}.duckdb")),
                "tscorr": lambda i: cli_step(
                    "load", str(log), "--feed", "access-log", "--bucket", "1m",
                    "--db", str(folder / f"tscorr{i}.duckdb"), "--json",
                ),
            },
            args.repeat,
            after_each=databases,
        )  # fmt: skip
    print(f"log: {args.lines:,} lines, {size:.0f} MiB")
    print(HEADER)
    print(comparison_line("access-log", samples, "tscorr", "duckdb"))
    for side in ("duckdb", "tscorr"):
        wall, _cpu = medians(samples[side])
        print(f"{side:<14} {args.lines / wall:>12,.0f} lines/s (wall)")


if __name__ == "__main__":
    main()
