"""CLI habits from the ecosystem (sqlite-utils, the duckdb CLI): -h, --version, --db after
the command, JSON that other tools read, export format from the file name, - for stdout."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import polars as pl
import pytest

from tscorr.cli import app


def test_version_and_short_help(runner) -> None:  # type: ignore[no-untyped-def]
    from tscorr import __version__

    assert runner.invoke(app, ["--version"]).stdout.strip() == f"tscorr {__version__}"
    short = runner.invoke(app, ["load", "-h"])
    assert short.exit_code == 0 and "Usage:" in short.stdout and " load " in short.stdout


def test_db_after_the_command(runner, tmp_path: Path, fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "after.duckdb"
    csv = str(fixtures / "feeds/csv/long_mixed.csv")
    assert runner.invoke(app, ["load", csv, "--db", str(db)]).exit_code == 0
    listed = runner.invoke(app, ["ls", "sources", f"--db={db}", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout)[0]["path"] == csv


@pytest.fixture
def ran(cli, fixtures: Path):  # type: ignore[no-untyped-def]
    """Sandy's 311 calls, the landfall, and one xcorr run over the 24 series."""
    sandy = fixtures / "real/sandy-311-calls--sandy-311-calls-by-day.csv"
    cli("load", str(sandy), "--prefix", "311:")
    cli("load", str(fixtures / "events/news2012-2016.csv"))
    run = [
        "--events",
        "kind = 'hurricane'",
        "--series",
        "311:*",
        "--bucket",
        "1d",
        "--max-lag",
        "2",
    ]
    cli("xcorr", *run)
    return cli


def test_json_has_rfc3339_times_and_params_as_objects(ran) -> None:  # type: ignore[no-untyped-def]
    runs = json.loads(ran("ls", "runs", "--json").stdout)
    assert runs[0]["params"]["options"]["bucket"] == "1d"  # an object, not a string holding JSON
    stamp = runs[0]["created_at"]
    assert "T" in stamp and stamp.endswith("+00:00")  # RFC 3339


def test_export_format_from_the_name_and_dash_for_stdout(ran, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "peaks.parquet"
    assert ran("export", "--out", str(target)).exit_code == 0
    assert pl.read_parquet(target).height == 24  # Parquet, not CSV text in a .parquet file
    printed = ran("export", "--out", "-", "--format", "csv")
    assert printed.exit_code == 0
    assert pl.read_csv(io.StringIO(printed.stdout)).height == 24


def test_html_report_is_titled_by_the_file_named_and_says_what_marks_mean(
    ran, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "sandy.html"
    assert ran("export", "--table", "xcorr", "--out", str(out)).exit_code == 0
    page = out.read_text()
    assert "<title>tscorr: sandy</title>" in page and ".tmp" not in page
    # the legend says what the band and the lines are: the run's own null, not a white band
    assert "95% of r under the surrogate null (any one lag)" in page
    assert "level a peak must pass (every lag looked at)" in page


@pytest.mark.parametrize(
    "command", ["load", "ls", "rm", "sql", "xcorr", "respond", "scan", "explain", "export", "demo"]
)
def test_help_names_what_to_write_not_python_types(runner, command: str) -> None:  # type: ignore[no-untyped-def]
    text = runner.invoke(app, [command, "--help"]).stdout
    options = [line for line in text.splitlines() if line.strip().startswith("--")]
    assert options and not [o for o in options if re.search(r"<(str|int|float|list\[)", o)]
    assert "Example: tscorr" in text


def test_memory_limit_reaches_duckdb_and_the_blocks(runner, tmp_path: Path, fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    from tscorr.analysis.kernels.significance import ROWS_PER_BLOCK, chunk_rows_for
    from tscorr.units import parse_size

    db = tmp_path / "m.duckdb"
    csv = str(fixtures / "feeds/csv/long_mixed.csv")
    assert (
        runner.invoke(app, ["load", csv, "--db", str(db), "--memory-limit", "300MB"]).exit_code == 0
    )
    shown = runner.invoke(
        app,
        [
            "sql",
            "SELECT current_setting('memory_limit') AS m",
            "--db",
            str(db),
            "--memory-limit",
            "300MB",
            "--json",
        ],
    )
    assert json.loads(shown.stdout)[0]["m"] in ("286.0 MiB", "286.1 MiB", "286 MiB")
    bad = runner.invoke(app, ["ls", "--db", str(db), "--memory-limit", "lots"])
    assert bad.exit_code == 3 and "'lots' is not a size" in bad.stderr
    # the blocks: a small limit means small chunks of rows, a large one the usual
    assert chunk_rows_for(parse_size("100MB"), 8760) < ROWS_PER_BLOCK
    assert chunk_rows_for(parse_size("16GB"), 8760) == ROWS_PER_BLOCK


@pytest.mark.parametrize("preset", [None, "1"])
def test_the_command_turns_numpy_huge_pages_off_unless_asked(preset: str | None) -> None:
    """The console script imports numpy with huge pages off (the kernel's compaction made an
    analysis 15-40% slower); a value the caller set is kept. Checked in a fresh process,
    where numpy reads the setting when it is first imported."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if preset is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = preset
    probe = (
        "import sys; sys.argv = ['tscorr', '--version']\n"
        "from tscorr._entry import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "import numpy\n"
        "print(numpy._core.multiarray._get_madvise_hugepage())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == ("True" if preset == "1" else "False")
