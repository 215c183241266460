"""The DuckDB file: schema creation and upgrade, read-only SQL, locking, open targets."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

import tscorr
from tscorr.errors import BadQuery, DatabaseBusy, NotFound
from tscorr.store import SCHEMA_VERSION, Store

DESIGN_COLUMNS = {
    "sources": [
        "source_id",
        "feed",
        "path",
        "sha256",
        "bytes",
        "loaded_at",
        "rows_read",
        "rows_loaded",
        "rows_rejected",
    ],
    "series": ["series_id", "name", "feed", "unit", "agg", "source_id"],
    "points": ["series_id", "ts", "value"],
    "events": ["event_id", "ts", "ts_end", "kind", "name", "weight", "source_id", "attrs"],
    "rejects": ["source_id", "line", "raw", "reason"],
    "runs": ["run_id", "command", "created_at", "params", "versions"],
    "xcorr": [
        "run_id",
        "event_set",
        "series",
        "lag",
        "lag_seconds",
        "r",
        "n",
        "p_value",
        "q_value",
    ],
    "xcorr_peaks": [
        "run_id",
        "event_set",
        "series",
        "lag",
        "lag_seconds",
        "r",
        "n",
        "p_value",
        "q_value",
    ],
    "responses": [
        "run_id",
        "event_id",
        "series",
        "lag",
        "lag_seconds",
        "value",
        "baseline",
        "ratio",
    ],
    "response_summary": [
        "run_id",
        "event_set",
        "series",
        "lag",
        "n_events",
        "mean_ratio",
        "ci_low",
        "ci_high",
    ],
    "observations": ["series", "ts", "value"],
}


def columns(store: Store) -> dict[str, list[str]]:
    frame = store.query(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
    )
    out: dict[str, list[str]] = {}
    for table, column in frame.rows():
        out.setdefault(table, []).append(column)
    return out


def test_every_design_table_and_column_exists(store: Store) -> None:
    have = columns(store)
    for table, cols in DESIGN_COLUMNS.items():
        assert set(cols) <= set(have[table]), table
    assert (
        store.query(
            "SELECT data_type FROM information_schema.columns WHERE column_name = 'ts' AND table_name = 'points'"
        ).item()
        == "TIMESTAMP WITH TIME ZONE"
    )


def test_opening_twice_is_idempotent(db_path: Path) -> None:
    tscorr.open(db_path).close()
    with tscorr.open(db_path) as again:
        assert again.schema_version() == SCHEMA_VERSION
        assert again.scalar("SELECT count(*) FROM meta") == 1


def test_version_1_file_is_upgraded_on_open(db_path: Path, fixtures: Path) -> None:
    con = duckdb.connect(str(db_path))
    con.execute((fixtures / "store/schema_v1.sql").read_text()).complete()
    con.close()
    with tscorr.open(db_path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        # the old data survived and the new columns and views are there
        assert store.query("SELECT series, value FROM observations").rows() == [
            ("legacy:metric", 42.0)
        ]
        fresh = columns(tscorr.open(":memory:"))
        assert {t: set(c) for t, c in columns(store).items()} == {
            t: set(c) for t, c in fresh.items()
        }


def test_open_accepts_memory_and_a_connection() -> None:
    with tscorr.open(":memory:") as mem:
        assert mem.schema_version() == SCHEMA_VERSION
    con = duckdb.connect()
    store = tscorr.open(con)
    store.close()  # not ours to close
    con.execute("SELECT count(*) FROM series")
    assert con.fetchall() == [(0,)]


def test_read_only_sql_refuses_writes(db_path: Path) -> None:
    tscorr.open(db_path).close()
    with tscorr.open(db_path, read_only=True) as ro:
        assert ro.user_sql("SELECT 1 AS one").item() == 1
        with pytest.raises(BadQuery, match="opened read-only.*pass --write"):
            ro.user_sql("DELETE FROM series")


def test_sql_errors_are_bad_queries(store: Store) -> None:
    with pytest.raises(
        BadQuery, match="SQL error: Catalog Error: Table with name nope does not exist"
    ):
        store.user_sql("SELECT * FROM nope")


def test_read_only_open_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist; load some files first"):
        tscorr.open(tmp_path / "none.duckdb", read_only=True)


def test_a_second_writer_gets_database_busy(db_path: Path) -> None:
    tscorr.open(db_path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(30)",
            str(db_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(
            DatabaseBusy,
            match=rf"database {db_path} is busy: another process \(process {holder.pid}\)",
        ):
            tscorr.open(db_path)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    time.sleep(0.1)
    tscorr.open(db_path).close()  # free again once the holder is gone


def test_read_only_open_of_an_old_file_upgrades_it_first(db_path: Path, fixtures: Path) -> None:
    con = duckdb.connect(str(db_path))
    con.execute((fixtures / "store/schema_v1.sql").read_text()).complete()
    con.close()
    with tscorr.open(db_path, read_only=True) as store:
        assert store.read_only and store.schema_version() == SCHEMA_VERSION
