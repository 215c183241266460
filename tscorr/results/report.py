"""The HTML report: one self-contained file (inline SVG, no JavaScript, no network at view
time) that prints cleanly.

For each run: the one-sentence answers, an overview of every pair ranked by q (each dot links
to its pair), then per pair its sentence, the series with its events and the correlogram (xcorr)
or response curve (respond), then the run's parameters, seed and versions, and its table.
Lag k > 0: the series moves k buckets after the events.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from tscorr.results import charts
from tscorr.results.answers import answers, sentences
from tscorr.results.compare import comparisons
from tscorr.results.html import CSS, table_html
from tscorr.results.runview import RunView, load_run
from tscorr.results.wording import display_name
from tscorr.store import Store

MAX_PAIRS = 12  # pairs drawn in full per run; the overview and the table hold them all
MAX_ROWS = 500  # table rows per run


def build_report(
    store: Store,
    run_ids: Sequence[int | None],
    title: str | None = None,
    pairs: int = MAX_PAIRS,
    intro: Sequence[str] = (),
) -> str:
    """The report of ``run_ids`` (None: the latest run) as one HTML document: ``intro``
    (the question, a comparison) first, a table of contents, then each run's answers (each
    said once), its charts, parameters and table."""
    views = [load_run(store, run) for run in run_ids or [None]]
    head = title or "tscorr report: " + ", ".join(f"run {v.run_id}" for v in views)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(head)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(head)}</h1>",
        f'<p class="meta">{_e(_reading(views))}</p>',
    ]
    if intro:
        parts.append('<section class="question">')
        parts += [f"<p>{_e(text)}</p>" for text in intro]
        parts.append("</section>")
    parts += _contents(views, pairs)
    for view in views:
        parts += _run_section(store, view, pairs)
    versions = views[0].versions if views else {}
    parts.append(
        '<footer class="meta">Made by '
        + _e(", ".join(f"{k} {v}" for k, v in versions.items()))
        + ".</footer></body></html>"
    )
    return "\n".join(parts)


def _reading(views: Sequence[RunView]) -> str:
    """How to read the report's numbers, for the kinds of run it holds."""
    commands = {v.command for v in views}
    text = "Lag k > 0: the series moves k buckets after the events."
    if "xcorr" in commands:
        text += (
            " p_peak: did this series move with these events at all (every lag looked at); "
            "q: the same, adjusted over every pair of the run (Benjamini-Hochberg)."
        )
    if "respond" in commands:
        text += (
            " Event studies: each series as a multiple of its usual level (the baseline); the "
            "verdict joins a test of the event's own bucket against the series' history and a "
            "placebo test at other dates, adjusted over every pair of the run."
        )
    return text


def write_report(
    store: Store,
    run_ids: Sequence[int | None],
    path: Path,
    title: str | None = None,
    pairs: int = MAX_PAIRS,
    intro: Sequence[str] = (),
) -> None:
    """Write the report of ``run_ids``, drawing the first ``pairs`` pairs of each in full."""
    path.write_text(build_report(store, run_ids, title, pairs, intro), encoding="utf-8")


def _run_name(view: RunView) -> str:
    kind = "cross-correlation" if view.command == "xcorr" else "event study"
    names = view.events["name"].unique(maintain_order=True).to_list()
    events = f"“{names[0]}”" if len(names) == 1 else f"{len(names)} events ({view.options.get('events', '')})"
    return f"Run {view.run_id}: {kind} of {events}" + (f" ({view.label})" if view.label else "")


def _set_name(view: RunView, event_set: str) -> str:
    names = view.events_of(event_set)["name"].to_list()
    return f"“{names[0]}”" if len(names) == 1 else event_set


def _contents(views: Sequence[RunView], pairs: int) -> list[str]:
    """A table of contents: each run, and each pair drawn in full."""
    out = ['<nav class="contents"><h2>Contents</h2><ol>']
    for view in views:
        out.append(f'<li><a href="#run{view.run_id}">{_e(_run_name(view))}</a><ol>')
        for i, (e, s) in enumerate(
            view.peaks.select("event_set", "series").head(pairs).iter_rows()
        ):
            out.append(
                f'<li><a href="#run{view.run_id}-pair{i}">{_e(display_name(s))} around {_e(_set_name(view, e))}</a></li>'
            )
        out.append("</ol></li>")
    out.append("</ol></nav>")
    return out


def _run_section(store: Store, view: RunView, pairs: int) -> list[str]:
    frame = answers(view).head(pairs)
    texts, shared = sentences(frame)
    said = frame.select("event_set", "series").with_columns(pl.Series("text", texts))
    anchors = {  # the pairs drawn in full; the overview links each to its section
        (e, s): f"run{view.run_id}-pair{i}"
        for i, (e, s) in enumerate(view.peaks.select("event_set", "series").head(pairs).iter_rows())
    }
    out = [
        f'<section class="run" id="run{view.run_id}">',
        f"<h2>{_e(_run_name(view))}</h2>",
        "<h3>Answers</h3><ol>",
    ]
    for e, s, text in said.iter_rows():
        out.append(f'<li>{_e(text)} <a href="#{anchors[(e, s)]}">charts</a></li>')
    out.append("</ol>")
    if shared:
        out.append(f'<p class="caveats">Caveats for every answer above: {_e("; ".join(shared))}.</p>')
    out += [f'<p class="compare">{_e(text)}</p>' for text in comparisons(frame)]
    if view.command == "respond":  # several series around one event, on one time axis
        for event_set in view.peaks["event_set"].unique(maintain_order=True).to_list()[:3]:
            figure = charts.moved(view, event_set)
            if figure is not None:
                out.append(f'<figure class="moved">{charts.svg(figure)}</figure>')
    if view.peaks.height > 1:
        out.append(f"<figure>{charts.svg(charts.overview(view, anchors))}</figure>")
    for e, s, _text in said.iter_rows():
        second = (
            charts.correlogram(view, e, s)
            if view.command == "xcorr"
            else charts.response_curve(view, e, s)
        )
        out += [
            f'<section class="pair" id="{anchors[(e, s)]}">',
            f"<h3>{_e(display_name(s))} around {_e(_set_name(view, e))}</h3>",
            f'<p class="meta">{_e(s)}: the answer is number '
            f'{list(anchors).index((e, s)) + 1} above.</p>',
            "<figure>"
            + charts.svg(
                charts.impact(store, view, e, s)
                if view.command == "respond"
                else charts.series_chart(store, view, e, s)
            )
            + "</figure>",
            f"<figure>{charts.svg(second)}</figure>",
            "</section>",
        ]
    out += _parameters(view)
    table = view.peaks.drop("run_id", strict=False).head(MAX_ROWS)
    out += [f"<h3>Table: {'xcorr peaks' if view.command == 'xcorr' else 'peak responses'}</h3>"]
    out += [f'<div class="wide">{table_html(table)}</div>', "</section>"]
    return out


def _parameters(view: RunView) -> list[str]:
    options = view.options
    rows = [(k, v) for k, v in options.items() if v is not None]
    rows += [(f"buckets.{k}", v) for k, v in view.params.get("buckets", {}).items()]
    method = {k: v for k, v in view.params.get("method", {}).items() if k != "nulls"}
    rows += [(f"method.{k}", v) for k, v in method.items()]
    body = "".join(
        f"<tr><th>{_e(k)}</th><td>{_e(v if isinstance(v, str) else json.dumps(v))}</td></tr>"
        for k, v in rows
    )
    notes = "".join(f"<li>{_e(n)}</li>" for n in view.params.get("notes", [])[:20])
    return [
        "<h3>Parameters</h3>",
        f"<table>{body}</table>",
        f'<p class="meta">Seed {options.get("seed", 0)}; every option above is stored in '
        f"runs.params of run {view.run_id}.</p>",
        f'<ul class="meta">{notes}</ul>' if notes else "",
    ]


def _e(value: Any) -> str:
    return html.escape(str(value))
