"""Databases for the hardening tests of issue 29: one real tscorr file built once per session
(the Sandy 311 calls, three news events, one xcorr run), copied for each test and then
crafted with plain DuckDB the way a file from someone else could be."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

import tscorr

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SANDY = "real/sandy-311-calls--sandy-311-calls-by-day.csv"
XCORR = ["--series", "311:total", "--bucket", "1d", "--max-lag", "2"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def craft(db: Path, *sql: str) -> None:
    """Change ``db`` with plain DuckDB, as another tool (or someone else) could."""
    con = duckdb.connect(str(db))
    try:
        for statement in sql:
            con.execute(statement)
    finally:
        con.close()


@pytest.fixture(scope="session")
def base_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from typer.testing import CliRunner

    from tscorr.cli import app

    db = tmp_path_factory.mktemp("crafted") / "base.duckdb"
    with tscorr.open(db) as store:
        tscorr.load_file(
            store, FIXTURES / SANDY, options=tscorr.LoadOptions(prefix="311:", series_kind="count")
        )
        tscorr.load_file(store, FIXTURES / "events/news2012-2016.csv")
    run = CliRunner().invoke(app, ["--db", str(db), "xcorr", "--events", "true", *XCORR])
    assert run.exit_code == 0, run.output
    return db


@pytest.fixture
def copy_db(base_db: Path, tmp_path: Path) -> Callable[[str], Path]:
    """A fresh copy of the session's base database, named ``name``.duckdb."""

    def make(name: str) -> Path:
        target = tmp_path / f"{name}.duckdb"
        shutil.copy(base_db, target)
        return target

    return make
