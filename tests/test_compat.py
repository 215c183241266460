"""A tscorr file opens in older DuckDB: every table and view, read by duckdb 1.1 installed in
a folder of its own (``.ci/run`` makes it; another folder can be given in
``TSCORR_OLD_DUCKDB``), put first on the path of a separate Python process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tscorr
from tscorr.analysis.correlate import run_xcorr
from tscorr.analysis.request import RespondParams, XcorrParams
from tscorr.analysis.respond import run_respond

ROOT = Path(__file__).resolve().parent.parent
OLD = Path(os.environ.get("TSCORR_OLD_DUCKDB", ROOT / ".ci" / "old-duckdb-lib"))

READER = """
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
names = [r[0] for r in con.execute(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()]
counts = {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
print(json.dumps({"version": duckdb.__version__, "counts": counts}))
"""


@pytest.mark.skipif(
    not (OLD / "duckdb").exists(), reason="no older duckdb (.ci/run installs duckdb 1.1)"
)
def test_duckdb_1_1_reads_every_table_and_view(
    tmp_path: Path, fixtures: Path, parts_go: str
) -> None:
    """Whichever way a load writes (held, staged, or into ``points`` as it comes)."""
    db = tmp_path / "shared.duckdb"
    store = tscorr.open(db)
    sandy = fixtures / "real/sandy-311-calls--sandy-311-calls-by-day.csv"
    tscorr.load_file(store, sandy, options=tscorr.LoadOptions(prefix="311:"))
    tscorr.load_file(store, fixtures / "events/news2012-2016.csv")
    hurricane = "kind = 'hurricane'"
    run_xcorr(store, XcorrParams(events=hurricane, series="311:total", bucket="1d", max_lag=3))
    run_respond(store, RespondParams(events=hurricane, series="311:total", bucket="1d"))
    expected = {
        str(name): int(n)
        for name, n in store.query(
            "SELECT table_name, 0 FROM information_schema.tables WHERE table_schema = 'main'"
        ).iter_rows()
    }
    for name in expected:
        expected[name] = int(store.scalar(f'SELECT count(*) FROM "{name}"'))
    store.close()
    env = {**os.environ, "PYTHONPATH": str(OLD)}  # the old duckdb before the installed one
    done = subprocess.run(
        [sys.executable, "-c", READER, str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout)
    assert seen["version"].startswith("1.1")
    assert seen["counts"] == expected  # every table and view, same rows
    assert {"observations", "xcorr_peaks", "points", "xcorr", "responses"} <= set(seen["counts"])
    assert seen["counts"]["xcorr"] > 0 and seen["counts"]["points"] > 0
