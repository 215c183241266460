"""``tscorr plot`` and ``tscorr report``: pictures of stored runs written to files safely
(refusing an existing file without ``force``, never the database; see ``outputs``)."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from pathlib import Path

from tscorr.errors import BadInput, NoData
from tscorr.results import charts
from tscorr.results.outputs import write_file
from tscorr.results.report import write_report
from tscorr.results.runview import RunView, load_run
from tscorr.store import Store

KINDS = ("auto", "series", "correlogram", "response", "impact", "overview")
FORMATS = ("png", "svg", "html")


def pick_pair(view: RunView, series: str, event_set: str | None) -> tuple[str, str]:
    """The first pair (by q) whose series matches the glob and event set the text."""
    for e, s in view.peaks.select("event_set", "series").iter_rows():
        if fnmatchcase(s, series) and (
            event_set is None or event_set in (e, e.split(" = ", 1)[-1])
        ):
            return e, s
    known = ", ".join(sorted(set(view.peaks["series"].head(5).to_list())))
    raise NoData(
        f"run {view.run_id} has no pair of series '{series}'"
        + (f" and event set '{event_set}'" if event_set else "")
        + f"; its first series: {known}"
    )


def plot(
    store: Store,
    run: int | None,
    out: Path,
    series: str = "*",
    event_set: str | None = None,
    kind: str = "auto",
    force: bool = False,
) -> tuple[Path, str]:
    """Draw one chart (png, svg) or every matching pair's charts (html); returns the path
    written and what was drawn."""
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise BadInput(f"--out {out}: name a .png, .svg or .html file")
    if kind not in KINDS:
        raise BadInput(f"--kind {kind}: one of {', '.join(KINDS)}")
    view = load_run(store, run)
    if fmt == "html":
        path = write_file(
            out, lambda tmp: write_report(store, [view.run_id], tmp), force, store.files()
        )
        return path, f"the report of run {view.run_id}"
    e, s = pick_pair(view, series, event_set)
    if kind == "auto":  # an event study's picture is observed against expected (#26)
        kind = "correlogram" if view.command == "xcorr" else "impact"
    if kind == "correlogram" and view.command != "xcorr":
        raise BadInput(f"run {view.run_id} is an event study; --kind response or series")
    if kind in ("response", "impact") and view.command != "respond":
        raise BadInput(f"run {view.run_id} is a cross-correlation; --kind correlogram or series")

    def draw(tmp: Path) -> None:
        if kind == "series":
            figure = charts.series_chart(store, view, e, s)
        elif kind == "correlogram":
            figure = charts.correlogram(view, e, s)
        elif kind == "response":
            figure = charts.response_curve(view, e, s)
        elif kind == "impact":
            figure = charts.impact(store, view, e, s)
        else:
            figure = charts.overview(view, {})
        charts.save(figure, tmp, fmt)

    path = write_file(out, draw, force, store.files())
    return path, f"{kind} of {s} and {e} (run {view.run_id})"


def report(
    store: Store, runs: Sequence[int], out: Path, force: bool = False, title: str | None = None
) -> Path:
    """The HTML report of ``runs`` (the latest run when empty)."""
    if out.suffix.lower() not in (".html", ".htm"):
        raise BadInput(f"--out {out}: the report is an .html file")
    chosen: list[int | None] = list(runs) or [None]
    return write_file(
        out, lambda tmp: write_report(store, chosen, tmp, title), force, store.files()
    )
