from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

import tscorr
from tscorr.store import Store, staging

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# CI replays the same examples every run; locally hypothesis explores new ones each time.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

# pytest-xdist's workers set COLUMNS=80 and LINES=24; a test run in one process has neither,
# and the tables' widths must not depend on how the run was split
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)


@pytest.fixture(params=["held", "staged", "direct"])
def parts_go(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A test of a file in parts runs three ways: parts held in memory (a file of up to
    HOLD_ROWS rows), staged on disk and then copied (the files of ``load --together``), and
    written straight into ``points`` in the load's own transaction (a big file alone)."""
    if request.param != "held":
        monkeypatch.setattr(staging, "HOLD_ROWS", 0)
    if request.param == "staged":
        monkeypatch.setattr(staging, "DIRECT", False)
    return str(request.param)


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


@dataclass(frozen=True)
class Demo:
    """``tscorr demo`` run once: the database and report it built, and what it printed."""

    db: Path
    report: Path
    stdout: str


@pytest.fixture(scope="session")
def demo_built(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo, built once per test run (about 4 s) with ``--force`` over a file an earlier
    demo did not make; a test that writes to its database takes ``demo_copy`` instead."""
    from tscorr.cli import app

    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    db.write_text("my thesis notes")  # not a demo's file: replaced only under --force (c113)
    result = CliRunner().invoke(app, ["demo", "--out", str(db), "--force"])
    assert result.exit_code == 0, result.output
    report = db.with_suffix(".html")  # next to the database, not in the working folder
    assert report.is_file()
    return Demo(db, report, result.stdout)


@pytest.fixture
def demo_copy(demo_built: Demo, tmp_path: Path) -> Path:
    """A copy of the session's demo database and report (as the demo left them) in the test's
    folder: ``demo.duckdb`` and ``demo.html``."""
    target = tmp_path / "demo.duckdb"
    shutil.copy(demo_built.db, target)
    shutil.copy(demo_built.report, target.with_suffix(".html"))
    return target


@pytest.fixture(scope="session")
def demo_rebuilt(demo_built: Demo, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    """``tscorr demo --json`` run once over a copy of an earlier demo's database and report
    (which it rebuilds, as its own): (exit code, stdout)."""
    from tscorr.cli import app

    db = tmp_path_factory.mktemp("demo-again") / "demo.duckdb"
    shutil.copy(demo_built.db, db)
    shutil.copy(demo_built.report, db.with_suffix(".html"))
    result = CliRunner().invoke(app, ["demo", "--out", str(db), "--json"])
    return result.exit_code, result.stdout


# a real tscorr database built once per session, copied per test (the issue-29 hardening tests)
from crafted import base_db, copy_db  # noqa: E402, F401
