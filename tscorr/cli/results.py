"""The export command: a run's result table as a file (csv, tsv, parquet, json, ndjson, md,
html). Values are written as stored; CSV and TSV cells are made safe for spreadsheets unless
``--raw``. Lag k > 0 means the series moves k buckets after the events."""

from __future__ import annotations

import sys
import tempfile
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeAlias

import typer

from tscorr.choices import EXPORT_FORMATS, RESULT_TABLES
from tscorr.cli.app import app, on_interrupt, open_store, say, state
from tscorr.cli.options import choice, pick


def _file_truth(path: Path, before: tuple[int, int] | None) -> str:
    """Whether an interrupted export replaced ``path`` (written whole, or not at all)."""
    now = _stamp(path)
    if now is None or now == before:
        return f"{path} was not written" + (" (the old file is as it was)." if now else ".")
    return f"{path} was written whole before the interrupt."


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)


if TYPE_CHECKING:  # to mypy they are enums; to typer, enums of the library's names
    ExportFormat: TypeAlias = Enum
    ResultTable: TypeAlias = Enum
else:
    ExportFormat = choice("ExportFormat", EXPORT_FORMATS)
    ResultTable = choice("ResultTable", RESULT_TABLES)
# file name endings read as a format: the formats themselves and these
SUFFIXES = {"jsonl": "ndjson", "markdown": "md", "htm": "html"}


@app.command()
def export(
    run: Annotated[
        int | None,
        typer.Argument(
            metavar="[RUN]", help="Run id; the latest run when omitted.", show_default=False
        ),
    ] = None,
    table: Annotated[ResultTable, typer.Option(help="Result table to write.")] = pick(
        RESULT_TABLES, "peaks"
    ),
    fmt: Annotated[
        ExportFormat | None,
        typer.Option("--format", help="File format; default: from --out's extension, else csv."),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(
            metavar="TEXT",
            help="File to write; - for standard output. Default: tscorr-export.FORMAT.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a run's result table to a file (csv, tsv, parquet, json, ndjson, md, html).

    html is the run's self-contained report, as tscorr report writes it: one sentence per
    result, charts with titled axes, the parameters and the table. In csv and tsv a text cell
    beginning with =, +, -, @, tab or CR gets a leading ' so spreadsheets do not run it as a
    formula (--raw: as stored); json, ndjson and parquet keep every value as it is.

    Example: tscorr export 3 --table xcorr --out xcorr.parquet
    """
    from tscorr.results import export as exporting

    suffix = Path(out).suffix.lower().lstrip(".") if out and out != "-" else ""
    by_suffix = SUFFIXES.get(suffix, suffix)
    chosen = fmt.value if fmt else (by_suffix if by_suffix in EXPORT_FORMATS else "csv")
    name = ResultTable(table).value
    with open_store(read_only=True) as store:
        if out == "-":  # standard output: written through a private file, then printed
            with tempfile.TemporaryDirectory() as spool:
                path, rows = exporting.export_result(
                    store, run, name, chosen, Path(spool) / f"out.{chosen}", True, state.raw
                )
                sys.stdout.buffer.write(path.read_bytes())
            return
        target = Path(out) if out else Path(f"tscorr-export.{chosen}")
        before = _stamp(target)
        on_interrupt(lambda _: _file_truth(target, before))
        path, rows = exporting.export_result(store, run, name, chosen, target, force, state.raw)
    say(f"wrote {rows} rows to {path}")
