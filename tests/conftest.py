from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

import tscorr
from tscorr.store import Store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# CI replays the same examples every run; locally hypothesis explores new ones each time.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "test.duckdb"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """A real DuckDB file in a temporary folder."""
    s = tscorr.open(db_path)
    yield s
    s.close()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(runner: CliRunner, db_path: Path):  # type: ignore[no-untyped-def]
    """Invoke the CLI against the test database; returns the click Result."""
    from tscorr.cli import app

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["--db", str(db_path), *args])

    return invoke


# a real tscorr database built once per session, copied per test (the issue-29 hardening tests)
from crafted import base_db, copy_db  # noqa: E402, F401
