"""Terminal tables that keep names (#26): at 100 and 80 columns `ls series`, `respond` and
`scan` show every series name whole and readable, say which columns they left out, and
`ls runs` shows a summary of each run's options (``--json``: all of its params)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tscorr.cli import app
from tscorr.cli.fit import READABLE, Column, fit, wrap

PREFIX = "new-york-city-311-service-requests-by-agency:"  # 45 characters: real names are long
SERIES = f"{PREFIX}N*"  # 7 of the 24 agencies
EVENTS = "kind = 'hurricane'"
WINDOW = ["--bucket", "1d", "--after", "2d", "--baseline", "pre:3d"]


@pytest.fixture(scope="module")
def sandy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sandy's 311 calls per agency under a long prefix, and the landfall."""
    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    db = tmp_path_factory.mktemp("tables") / "sandy.duckdb"
    runner = CliRunner()
    calls = fixtures / "real/sandy-311-calls--sandy-311-calls-by-day.csv"
    for args in (
        ["load", str(calls), "--prefix", PREFIX],
        ["load", str(fixtures / "events/news2012-2016.csv")],
    ):
        assert runner.invoke(app, ["--db", str(db), *args]).exit_code == 0
    return db


def _header(out: str) -> list[str]:
    """The column names of the table printed in ``out`` (a header may wrap)."""
    heads = [line.strip()[1:-1].split("┃") for line in out.splitlines() if line.startswith("┃")]
    return ["".join(p.strip() for p in parts) for parts in zip(*heads, strict=True)]


def _names(out: str, column: str) -> list[list[str]]:
    """The pieces of ``column``'s cell in each row of the table printed in ``out``."""
    lines = out.splitlines()
    at = _header(out).index(column)
    rows: list[list[str]] = []
    for line in lines:
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.strip()[1:-1].split("│")]
        if len(cells) == 1 or any(c for i, c in enumerate(cells) if i != at) or not rows:
            rows.append([])  # a new row: a continuation line is blank but for wrapped text
        if cells[at]:
            rows[-1].append(cells[at])
    return rows


@pytest.mark.parametrize("width", ["100", "80"])
def test_narrow_terminals_keep_every_series_name_readable(sandy: Path, width: str) -> None:
    runner = CliRunner(env={"COLUMNS": width})
    with_db = ["--db", str(sandy)]
    listing = runner.invoke(app, [*with_db, "ls", "series", "--series", SERIES])
    respond = runner.invoke(
        app, [*with_db, "respond", "--events", EVENTS, "--series", SERIES, *WINDOW]
    )
    scan = runner.invoke(app, [*with_db, "scan", "--events", EVENTS, "--series", SERIES, *WINDOW])
    expected = {
        f"{PREFIX}{a}"
        for a in ("NYC-3-1-1", "NYCEM", "NYCHA", "NYCSERVICE", "NYPD", "NYSDOL", "NYSEMERGENCYMG")
    }
    for done, column in ((listing, "name"), (respond, "series"), (scan, "series")):
        assert done.exit_code == 0, done.output
        table = done.stdout.split("\n\n1. ")[0]  # the table, without the sentences after it
        assert max(len(line) for line in table.splitlines()) <= int(width)
        rows = _names(table, column)
        assert {"".join(pieces) for pieces in rows} == expected  # every name, whole
        # readable: a name is cut into lines of READABLE characters or more, never into
        # two-letter pieces
        assert all(len(p) >= READABLE - 4 for pieces in rows for p in pieces[:-1])
        said = " ".join(table.split())
        assert "columns not shown: " in said and "use --json or a wider terminal" in said
    # what went first is what the table declares as low value
    assert "columns not shown: series_id" in " ".join(listing.stdout.split())
    assert "in every row: kind level, agg mean, step 1d, tz UTC, feed csv" in " ".join(
        listing.stdout.split()
    )
    assert "in every row: event_set kind = 'hurricane'" in " ".join(respond.stdout.split())
    # the answer stays: the ratio and its verdict (respond), the discovery q and the verdict
    assert {"series", "mean_ratio", "q_verdict"} <= set(_header(respond.stdout))
    assert {"series", "q_peak", "peak_ratio", "q_verdict"} <= set(_header(scan.stdout))


def test_a_wide_terminal_shows_every_column(sandy: Path) -> None:
    done = CliRunner(env={"COLUMNS": "250"}).invoke(
        app, ["--db", str(sandy), "ls", "series", "--series", SERIES]
    )
    assert done.exit_code == 0
    assert "columns not shown" not in done.stdout and "mean_step_s" in done.stdout


def test_ls_runs_shows_a_summary_and_json_the_params(sandy: Path) -> None:
    with_db = ["--db", str(sandy)]
    labelled = [*with_db, "respond", "--events", EVENTS, "--series", SERIES, *WINDOW]
    assert CliRunner().invoke(app, [*labelled, "--label", "landfall"]).exit_code == 0
    table = CliRunner(env={"COLUMNS": "250"}).invoke(app, [*with_db, "ls", "runs"])
    assert table.exit_code == 0
    row = next(line for line in table.stdout.splitlines() if "landfall" in line)
    cells = [c.strip() for c in row.strip()[1:-1].split("│")]
    assert cells[1:3] == ["respond", "landfall"]
    assert cells[-1] == (
        f"--series '{SERIES}' --bucket 1d --events \"{EVENTS}\" --after 2d --baseline pre:3d"
    )  # the options given, as written; the defaults are not repeated
    narrow = CliRunner(env={"COLUMNS": "80"}).invoke(app, [*with_db, "ls", "runs"]).stdout
    assert "alignment" not in narrow and "{" not in narrow  # not the params JSON
    assert max(len(line) for line in narrow.splitlines()) <= 80
    runs = json.loads(CliRunner().invoke(app, [*with_db, "ls", "runs", "--json"]).stdout)
    assert runs[-1]["label"] == "landfall"
    assert runs[-1]["params"]["options"]["placebos"] == 199 and "alignment" in runs[-1]["params"]


def test_fit_drops_low_value_columns_first_then_wraps() -> None:
    names = ["pageviews:en.wikipedia/United_States_presidential_election,_2016", "tweets:x"]
    columns = [
        Column("series", names, "name"),
        Column("unit", ["views", "tweets"], "text"),
        Column("lag_seconds", ["3600", "7200"], "number"),
        Column("mean_ratio", ["12.5", "3.1"], "number"),
        Column("q_verdict", ["0.001", "0.2"], "number"),
    ]
    wide = fit(columns, 200, ("unit", "lag_seconds"))
    assert wide.shown == [0, 1, 2, 3, 4] and wide.widths is None and not wide.notes()
    narrow = fit(columns, 60, ("unit", "lag_seconds"))
    assert narrow.shown == [0, 3, 4] and narrow.dropped == ["unit", "lag_seconds"]
    assert narrow.widths is not None and narrow.widths[0] >= READABLE
    assert sum(narrow.widths) + 3 * 3 + 1 <= 60
    assert narrow.notes() == [
        "columns not shown: unit, lag_seconds; use --json or a wider terminal"
    ]
    lines = wrap(names[0], narrow.widths[0]).split("\n")
    assert "".join(lines) == names[0] and all(len(x) <= narrow.widths[0] for x in lines)
    # a column holding one value is said once, not dropped
    same = [Column("series", names, "name"), Column("tz", ["UTC", "UTC"], "text")]
    folded = fit(same, 40, ())
    assert folded.shown == [0] and folded.notes() == ["in every row: tz UTC"]


def test_a_long_table_prints_its_first_rows_and_says_how_to_get_the_rest(sandy: Path) -> None:
    """A terminal table of 1,783 rows (a series' days) prints the first TABLE_ROWS and says
    how many there are; --top N prints N, machine output every row."""
    from tscorr.cli.app import TABLE_ROWS

    runner = CliRunner()
    query = f"SELECT ts, value FROM observations WHERE series = '{PREFIX}NYPD' ORDER BY ts"
    total = 1783

    def run(*extra: str) -> str:
        done = runner.invoke(app, ["--db", str(sandy), "sql", query, *extra], env={"COLUMNS": "100"})
        assert done.exit_code == 0, done.output
        return done.output

    every = run("--csv").splitlines()
    assert len(every) == total + 1  # the header, then every row
    rows = [line for line in run().splitlines() if line.startswith("│")]
    assert len(rows) == TABLE_ROWS
    assert rows[0].split("│")[1].strip()[:10] == every[1][:10]  # the first rows, in order
    assert rows[-1].split("│")[1].strip()[:10] == every[TABLE_ROWS][:10]
    assert f"The first {TABLE_ROWS} of {total:,} rows: --top N prints N" in " ".join(run().split())
    # a line of its own, whole: the table is two narrow columns, its caption would wrap it
    note = f"The first {TABLE_ROWS} of {total:,} rows: --top N prints N, --csv or --json every row."
    assert note in [line.strip() for line in run().splitlines()]
    longer = run("--top", "80")
    assert len([line for line in longer.splitlines() if line.startswith("│")]) == 80
    assert "The first" not in longer
