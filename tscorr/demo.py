"""``tscorr demo``: the question this tool exists for, on bundled real data, end to end.

*When the US election was called on 9 November 2016 (AP, 07:29 UTC), did the reaction spike,
how fast and by how much - and how does the Brexit result day compare?* Data (all in
``fixtures/``, provenance in its README): hourly counts of tweets congratulating Trump
(one row per tweet), daily English Wikipedia views of the candidates (with their real gaps),
the daily top-100 Wikipedia articles around the Brexit result, and a hand-written timeline of
the events. Three event studies, their one-sentence answers, and a report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from tscorr.analysis.request import RespondParams
from tscorr.analysis.respond import run_respond
from tscorr.errors import BadInput
from tscorr.ingest.load import LoadReport, load_file
from tscorr.ingest.source import LoadOptions
from tscorr.resources import fixtures_dir
from tscorr.results.answers import answers
from tscorr.results.compare import compare
from tscorr.results.outputs import write_file
from tscorr.results.report import write_report
from tscorr.results.runview import load_run
from tscorr.store import Store

QUESTION = (
    "When the US election was called on 9 Nov 2016 (07:29 UTC), did the reaction spike, how "
    "fast and by how much, and how does the Brexit result day compare?"
)
REPORT_MARK = '<meta name="generator" content="tscorr demo">'

# (label, events, series, bucket, before, after, baseline): the three studies
STUDIES = (
    ("demo: tweets", "kind = 'race-call'", "tweets:*", "1h", "6h", "12h", "pre:5d"),
    ("demo: candidates", "kind = 'race-call'", "wiki:*", "1d", "0s", "2d", "pre:3d"),
    ("demo: brexit", "kind = 'referendum-result'", "pageviews:*", "1d", "0s", "1d", "prev-days:7"),
)
# the answers printed: the series each study asks about (the report has every answer)
SHOWN = {
    "demo: tweets": ("tweets:congratulations",),
    "demo: candidates": ("wiki:Donald_Trump",),
    "demo: brexit": (
        "pageviews:en.wikipedia/European_Union",
        "pageviews:en.wikipedia/Northern_Ireland",
    ),
}
# the comparison the question asks for: the first answer printed for each night's Wikipedia
# study (Donald Trump's views against the European Union's), so line 5 compares lines 2 and 3
COMPARED = ("demo: candidates", "the race call", "demo: brexit", "the Brexit result")


@dataclass
class DemoResult:
    db: str
    report: Path | None
    loads: list[LoadReport]
    runs: list[int]
    answers: list[str]  # the sentences printed, in order


def _is_earlier_demo(path: Path) -> bool:
    """True for a database this demo built: only demo runs, only bundled fixtures loaded."""
    try:
        with Store.open(path, read_only=True) as store:
            labels = store.query("SELECT DISTINCT label FROM runs")["label"].to_list()
            paths = store.query("SELECT DISTINCT path FROM sources")["path"].to_list()
    except Exception:  # not a DuckDB file, or not tscorr's: not ours to delete
        return False
    here = str(fixtures_dir().resolve())
    return (
        bool(labels)
        and all(str(label or "").startswith("demo:") for label in labels)
        and all(str(Path(p).resolve()).startswith(here) for p in paths)
    )


def _check_targets(path: Path, report: Path | None, force: bool) -> None:
    if path.is_dir():
        raise BadInput(f"cannot write {path}: it is a folder; name a file inside it")
    if path.exists() and not path.is_file():  # a device or a pipe: never deleted
        raise BadInput(f"cannot write {path}: it is not a regular file; name a file")
    if (path.exists() or path.is_symlink()) and not force and not _is_earlier_demo(path):
        raise BadInput(
            f"{path} exists and is not an earlier demo database; pass --force to replace it, "
            "or --out another file"
        )
    if report is not None and report.exists() and not force:
        head = report.read_text(errors="replace")[:2000] if report.is_file() else ""
        if REPORT_MARK not in head:
            raise BadInput(
                f"{report} exists and is not an earlier demo report; pass --force or --report "
                "another file"
            )


def _load(store: Store) -> list[LoadReport]:
    real, events = fixtures_dir() / "real", fixtures_dir() / "events"
    return [
        load_file(store, events / "news2012-2016.csv"),
        load_file(
            store,
            real / "twitter" / "upchuck_congrats_times_DERIVED.csv",
            options=LoadOptions(agg="count", series_name="tweets:congratulations"),
        ),
        load_file(
            store,
            real / "wikipedia-election2016" / "beckernick_enwiki_daily_views_2016-11-01_to_15.csv",
            options=LoadOptions(prefix="wiki:", unit="views per day"),
        ),
        load_file(store, real / "seed-claims" / "top100_brexit_selected_2016-06-16_to_2016-06-30.csv"),
        load_file(store, events / "euro2016_northern_ireland.csv"),
    ]


def _shown(frame: pl.DataFrame, label: str) -> dict[str, Any] | None:
    """The answer row of the first series printed for the study ``label`` (None if absent)."""
    rows = frame.filter(pl.col("series") == SHOWN[label][0])
    return rows.row(0, named=True) if rows.height else None


def run_demo(db: str | Path, force: bool = False, report: str | Path | None = None) -> DemoResult:
    """Rebuild ``db`` from the bundled fixtures, run the three studies, write ``report``.

    An existing ``db`` (or ``report``) is replaced only when an earlier demo made it, or with
    ``force``.
    """
    path = Path(db)
    report_path = Path(report) if report is not None else None
    _check_targets(path, report_path, force)
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    runs, said, frames = [], [], {}
    with Store.open(path) as store:
        loads = _load(store)
        for label, events, series, bucket, before, after, baseline in STUDIES:
            run = run_respond(
                store,
                RespondParams(
                    events=events,
                    series=series,
                    bucket=bucket,
                    before=before,
                    after=after,
                    baseline=baseline,
                    label=label,
                ),
            )
            runs.append(run.run_id)
            frames[label] = answers(load_run(store, run.run_id))
            for series in SHOWN[label]:
                said += frames[label].filter(pl.col("series") == series)["answer"].to_list()
        first, what_first, second, what_second = COMPARED
        a, b = _shown(frames[first], first), _shown(frames[second], second)
        compared = [compare(a, b, what_first, what_second)] if a and b else []
        said += compared
        if report_path is not None:
            title = "tscorr demo: election night 2016, and the Brexit result for contrast"

            def write(tmp: Path) -> None:
                write_report(store, runs, tmp, title, pairs=3, intro=[QUESTION, *compared])
                text = tmp.read_text(encoding="utf-8")
                tmp.write_text(text.replace("<head>", "<head>" + REPORT_MARK, 1), encoding="utf-8")

            write_file(report_path, write, force=True, protect=store.files())
    return DemoResult(str(path), report_path, loads, runs, said)


def headline(result: DemoResult) -> pl.DataFrame:
    """The printed answers as a frame (for --json and friends)."""
    return pl.DataFrame({"answer": result.answers})
