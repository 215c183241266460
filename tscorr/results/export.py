"""Writing result tables to files: a registry of formats, like the feed registry.

Every writer takes a polars frame and a path. Timestamps are written in ISO 8601 UTC.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from tscorr.errors import UnknownName
from tscorr.results.outputs import write_file
from tscorr.store import Store

Writer = Callable[[pl.DataFrame, Path], None]
WRITERS: dict[str, Writer] = {}

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
    _html_titled(frame, path, f"tscorr: {path.stem}")


def _html_titled(frame: pl.DataFrame, path: Path, title: str) -> None:
    from tscorr.results.report import to_html

    path.write_text(to_html(frame, title=title), encoding="utf-8")


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
) -> Path:
    """Write ``frame`` as ``fmt``; an existing file only with ``force``, never a protected one
    (the database), see :mod:`tscorr.results.outputs`."""
    if fmt not in WRITERS:
        raise UnknownName("export format", fmt, WRITERS)
    writer = WRITERS[fmt]
    if fmt == "html":  # the page is titled by the file the user named, not the temporary one
        title = f"tscorr: {Path(path).stem}"
        return write_file(path, lambda tmp: _html_titled(frame, tmp, title), force, protect)
    return write_file(path, lambda tmp: writer(frame, tmp), force, protect)


def export_result(
    store: Store, run: int | None, table: str, fmt: str, out: str | Path, force: bool = False
) -> tuple[Path, int]:
    """Write ``table`` of ``run`` (latest when None) to ``out`` in ``fmt``; returns path, rows.

    An existing file is overwritten only with ``force``; the database itself never."""
    run_id = run if run is not None else store.latest_run()
    if table not in TABLES:
        raise UnknownName("result table", table, TABLES)
    frame = store.read_result(TABLES[table], run_id)
    written = write(frame, fmt, out, force, store.files())
    return written, frame.height
