"""Benchmark: `tscorr load` of an access log against DuckDB regexp_extract, in the same run.

    python benchmarks/bench_access_log.py                  # 10,000,000 lines (about 1 GB)
    python benchmarks/bench_access_log.py --lines 1000000

Writes a synthetic Combined Log Format file (lines drawn from the real Elastic sample's
shape: 10 paths, a few statuses, one hour per 360,000 lines), then, each in a fresh process:

* peer: DuckDB reads the lines (``read_csv`` with one VARCHAR column), extracts time, status
  and bytes with ``regexp_extract`` and writes requests/4xx/5xx/bytes per minute;
* tscorr: ``tscorr.load_file`` with the access-log feed (1-minute buckets).

Prints lines per second for each, the ratio, and each process's peak memory: tscorr reads
in chunks, so its peak should not grow with the number of lines.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import run_child  # noqa: E402

PEER = r"""
import json, sys, time, duckdb
start = time.perf_counter()
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
print(json.dumps({"inner_s": time.perf_counter() - start}))
"""

TSCORR = """
import json, sys, time
import pyarrow, tscorr, tscorr.ingest.feeds
from tscorr.ingest.source import LoadOptions
tscorr.ingest.feeds.ensure_loaded()
start = time.perf_counter()
store = tscorr.open(sys.argv[2])
report = tscorr.load_file(store, sys.argv[1], feed="access-log", options=LoadOptions(extra={"bucket": "1m"}))
store.close()
print(json.dumps({"inner_s": time.perf_counter() - start, "rows": report.counts.rows_read}))
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "access.log"
        make_log(log, args.lines)
        size = log.stat().st_size / 2**20
        peer = run_child(PEER, str(log), str(Path(tmp) / "peer.duckdb"))
        ours = run_child(TSCORR, str(log), str(Path(tmp) / "tscorr.duckdb"))
    print(f"log: {args.lines:,} lines, {size:.0f} MiB")
    print(
        f"duckdb regexp_extract : {args.lines / peer['inner_s']:12,.0f} lines/s  ({peer['inner_s']:.1f} s, peak {peer['peak_mib']:.0f} MiB)"
    )
    print(
        f"tscorr load           : {args.lines / ours['inner_s']:12,.0f} lines/s  ({ours['inner_s']:.1f} s, peak {ours['peak_mib']:.0f} MiB)"
    )
    print(f"ratio tscorr/duckdb   : {ours['inner_s'] / peer['inner_s']:.2f}x time")


if __name__ == "__main__":
    main()
