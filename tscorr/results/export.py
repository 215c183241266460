"""Writing result tables to files: a registry of formats, like the feed registry.

Every writer takes a polars frame and a path. Timestamps are written in ISO 8601 UTC.
CSV and TSV are opened in spreadsheets: their text cells that a spreadsheet would run as a
formula (beginning ``=``, ``+``, ``-``, ``@``, tab or CR: a series named from a CSV header, a
GDELT actor, a logged path) get a leading ``'`` unless ``raw``. JSON, NDJSON and Parquet keep
every value as it is (typed formats, not evaluated); Markdown and HTML escape markup.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from tscorr.errors import UnknownName
from tscorr.results.outputs import spreadsheet_safe, write_file
from tscorr.store import Store

Writer = Callable[[pl.DataFrame, Path], None]
WRITERS: dict[str, Writer] = {}
SPREADSHEET_FORMATS = frozenset({"csv", "tsv"})  # cells neutralised unless raw

# result tables users can export, and the SQL object each one reads
TABLES = {
    "xcorr": "xcorr",
    "peaks": "xcorr_peaks",
    "responses": "responses",
    "response_summary": "response_summary",
    "spikes": "spikes",
    "explanations": "explanations",
}


def register(name: str) -> Callable[[Writer], Writer]:
    def decorate(fn: Writer) -> Writer:
        WRITERS[name] = fn
        return fn

    return decorate


@register("csv")
def _csv(frame: pl.DataFrame, path: Path) -> None:
    frame.write_csv(path)


@register("tsv")
def _tsv(frame: pl.DataFrame, path: Path) -> None:
    frame.write_csv(path, separator="\t")


@register("parquet")
def _parquet(frame: pl.DataFrame, path: Path) -> None:
    frame.write_parquet(path)


@register("json")
def _json(frame: pl.DataFrame, path: Path) -> None:
    frame.write_json(path)


@register("ndjson")
def _ndjson(frame: pl.DataFrame, path: Path) -> None:
    frame.write_ndjson(path)


@register("md")
def _markdown(frame: pl.DataFrame, path: Path) -> None:
    path.write_text(to_markdown(frame), encoding="utf-8")


@register("html")
def _html(frame: pl.DataFrame, path: Path) -> None:
    """A page with the table alone; ``export_result`` writes a run's full report instead."""
    from tscorr.results.html import CSS, table_html

    title = html.escape(f"tscorr: {path.stem}")
    path.write_text(
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{CSS}</style></head><body><h1>{title}</h1>{table_html(frame)}</body></html>",
        encoding="utf-8",
    )


def to_markdown(frame: pl.DataFrame) -> str:
    """A GitHub-flavoured Markdown table; floats to 6 significant digits."""

    def cell(v: object) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.6g}"
        # Markdown renders inline HTML: escape it; a newline would end the table row
        text = html.escape(str(v), quote=False).replace("|", "\\|")
        return text.replace("\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>")

    lines = ["| " + " | ".join(cell(c) for c in frame.columns) + " |"]
    lines.append(
        "|"
        + "|".join("---:" if frame.schema[c].is_numeric() else "---" for c in frame.columns)
        + "|"
    )
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join(lines) + "\n"


def write(
    frame: pl.DataFrame,
    fmt: str,
    path: str | Path,
    force: bool = False,
    protect: Sequence[Path] = (),
    raw: bool = False,
) -> Path:
    """Write ``frame`` as ``fmt``; an existing file only with ``force``, never a protected one
    (the database), see :mod:`tscorr.results.outputs`. CSV and TSV cells that a spreadsheet
    would run as formulas get a leading ``'`` unless ``raw``."""
    if fmt not in WRITERS:
        raise UnknownName("export format", fmt, WRITERS)
    writer = WRITERS[fmt]
    if fmt in SPREADSHEET_FORMATS and not raw:
        frame = spreadsheet_safe(frame)
    return write_file(path, lambda tmp: writer(frame, tmp), force, protect)


def export_result(
    store: Store,
    run: int | None,
    table: str,
    fmt: str,
    out: str | Path,
    force: bool = False,
    raw: bool = False,
) -> tuple[Path, int]:
    """Write ``table`` of ``run`` (latest when None) to ``out`` in ``fmt``; returns path, rows.

    An existing file is overwritten only with ``force``; the database itself never. ``raw``:
    CSV and TSV cells are written as they are (see :func:`write`)."""
    run_id = run if run is not None else store.latest_run()
    if table not in TABLES:
        raise UnknownName("result table", table, TABLES)
    frame = store.read_result(TABLES[table], run_id)
    if fmt == "html" and store.scalar("SELECT command FROM runs WHERE run_id = ?", [run_id]) in (
        "xcorr",
        "respond",
    ):  # the run's report: answers, charts with axes, parameters and the table
        from tscorr.results.report import write_report

        title = f"tscorr: {Path(out).stem}"  # named by the file the user asked for
        written = write_file(
            out, lambda tmp: write_report(store, [run_id], tmp, title), force, store.files()
        )
        return written, frame.height
    written = write(frame, fmt, out, force, store.files(), raw)
    return written, frame.height
