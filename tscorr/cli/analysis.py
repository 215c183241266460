"""Analysis commands: xcorr, respond, scan, explain, demo.

Options, defaults and choices come from the library's requests (:mod:`tscorr.analysis.request`)
and :mod:`tscorr.choices`; each command builds its request from its arguments and calls one
run. The runs (numpy; scipy only where a test needs it) are imported when a command runs, so
``--help`` stays fast.

Lag convention everywhere: lag k > 0 means the series moves k buckets after the events.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tscorr.analysis.request import ExplainParams, RespondParams, ScanParams, XcorrParams
from tscorr.choices import (
    DISCOVERY_Q,
    ENCODINGS,
    ENGINES,
    KEEP_ALL_ROWS,
    TRANSFORMS,
    listed,
)
from tscorr.cli.app import (
    TABLE_ROWS,
    app,
    on_interrupt,
    open_store,
    output,
    progress_bar,
    say_notes,
    show,
)
from tscorr.cli.options import (
    AfterOpt,
    BaselineOpt,
    BeforeOpt,
    BootstrapOpt,
    BucketOpt,
    ByOpt,
    CsvOpt,
    EngineOpt,
    Estimator,
    EventsOpt,
    IntervalOpt,
    JsonOpt,
    Keep,
    LabelOpt,
    NlOpt,
    PlacebosOpt,
    ResponseWindowOpt,
    SchedulerOpt,
    SeedOpt,
    SeriesOpt,
    SurrogatesOpt,
    TableOpt,
    Test,
    TopOpt,
    TzOpt,
    WorkersOpt,
    default,
    pick,
    request_from,
)

if TYPE_CHECKING:
    from tscorr.analysis.engine import Engine
    from tscorr.store import Store


@contextmanager
def analysing() -> Iterator[Store]:
    """The store of an analysis; Ctrl-C then says whether its run was saved."""
    with open_store() as store:
        before = int(store.scalar("SELECT coalesce(max(run_id), 0) FROM runs"))
        on_interrupt(lambda after: _run_truth(after, before))
        yield store


def _run_truth(store: Store, before: int) -> str:
    runs = store.query("SELECT run_id FROM runs WHERE run_id > ? ORDER BY 1", [before])
    if runs.height == 0:
        return "no run was saved (the database is as it was)."
    shown = ", ".join(str(r) for r in runs["run_id"])
    return f"run {shown} was saved before the interrupt ('tscorr ls runs')."


LAG_HELP = "Lag k > 0: the series moves k buckets AFTER the events; r(k) = corr(e[t], y[t+k])."
PEAK_COLUMNS = ("event_set", "series", "lag", "r", "n", "p_peak", "q_peak", "p_method")
X, R, S, E = XcorrParams, RespondParams, ScanParams, ExplainParams


@app.command()
def xcorr(
    events: EventsOpt,
    series: SeriesOpt = default(X, "series"),
    bucket: BucketOpt = default(X, "bucket"),
    max_lag: Annotated[
        str, typer.Option(metavar="TEXT", help="Largest lag: buckets (24) or a duration (7d).")
    ] = default(X, "max_lag"),
    by: ByOpt = None,
    encode: Annotated[str, typer.Option(metavar="TEXT", help=f"{listed(ENCODINGS)}.")] = default(
        X, "encode"
    ),
    transform: Annotated[
        str, typer.Option(metavar="TEXT", help=f"{listed(TRANSFORMS)}; chain with commas.")
    ] = default(X, "transform"),
    season: Annotated[
        str | None,
        typer.Option(metavar="TEXT", help="Season for seasonal-diff, e.g. 1w (none: no season)."),
    ] = default(X, "season"),
    estimator: Annotated[Estimator, typer.Option(help="How r is computed.")] = default(
        X, "estimator"
    ),
    test: Annotated[
        Test, typer.Option(help="surrogate: circular shifts of the events (exact).")
    ] = default(X, "test"),
    surrogates: SurrogatesOpt = default(X, "surrogates"),
    keep: Annotated[
        Keep,
        typer.Option(
            help="Rows stored: all (every lag of every pair), peaks (each pair's peak lag, "
            f"and every lag of pairs with q_peak <= {DISCOVERY_Q}), or auto (all up to "
            f"{KEEP_ALL_ROWS:,} rows, else peaks)."
        ),
    ] = default(X, "keep"),
    seed: SeedOpt = default(X, "seed"),
    tz: TzOpt = default(X, "tz"),
    label: LabelOpt = None,
    workers: WorkersOpt = None,
    engine: EngineOpt = pick(ENGINES, "local"),
    scheduler: SchedulerOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    as_nl: NlOpt = False,
    as_table: TableOpt = False,
    top: TopOpt = None,
) -> None:
    """Lagged cross-correlation of event sets with series, with p and q values.

    Lag k > 0 means the series moves k buckets AFTER the events: r(k) = corr(e[t], y[t+k]).
    Both signs of lag come from one run. Results are stored in the xcorr table (and the
    xcorr_peaks view); the terminal shows each pair's peak, sorted by q_peak (Benjamini-Hochberg
    over the pairs: the number to filter by) then |r|.

    The pairs are spread over --workers processes of this machine, or over a Dask cluster
    with --engine dask (after 'tscorr partition DIR'); the numbers are the same.

    Example: tscorr xcorr --events "kind = 'race-call'" --series 'pageviews:*' --bucket 1h --max-lag 48

    Example: tscorr xcorr --events "kind = 'race-call'" --by kind --max-lag 7d --workers 8

    Example: tscorr xcorr --events "kind = 'race-call'" --engine dask --scheduler tcp://10.0.0.5:8786
    """
    shown = output(as_json, as_csv, as_nl, as_table, top)
    params = request_from(XcorrParams, locals())
    runner = _engine(engine, workers, scheduler)
    from tscorr.analysis.correlate import run_xcorr

    with analysing() as store, progress_bar("correlating") as step:
        run = run_xcorr(store, params, step, engine=runner)
        total = None
        if shown.mode == "table" or shown.top is not None:  # the rows shown, not a million
            peaks, total = run.first_peaks(TABLE_ROWS if shown.top is None else shown.top)
        else:
            peaks = run.peaks
        answered = _answers(store, run.run_id, shown, peaks.head(_answered(shown)))
        frame, said = _shown(peaks.select(PEAK_COLUMNS), answered, shown)
    say_notes(run.notes)
    title = f"run {run.run_id}: peaks ({LAG_HELP})"
    show(frame, title, shown, run.run_id, table="xcorr", rows=total)
    _say(said)


ANSWERS_SHOWN = 5  # sentences printed under a table (all of them: tscorr report)
# machine output carries the verdict and answer of its first rows, up to this many; the
# rest stay null (tscorr.answers and the report make every one)
ANSWERS_MACHINE = 1000


def _answered(shown: Any) -> int:
    """How many of the first rows get their answer: a few under a table, the rows printed
    up to ANSWERS_MACHINE in machine output (a sentence costs about a millisecond)."""
    if shown.mode == "table":
        return min(ANSWERS_SHOWN, shown.top or ANSWERS_SHOWN)
    return min(shown.top or ANSWERS_MACHINE, ANSWERS_MACHINE)


def _answers(store: Any, run_id: int | None, shown: Any, pairs: Any = None) -> Any:
    """The run's answers frame (one row per pair: fields, and the sentence in ``answer``)
    of its first pairs (:func:`_answered`), in the order of ``pairs`` when given: then only
    these pairs' rows are read back."""
    from tscorr.results.answers import answers
    from tscorr.results.runview import load_run

    if run_id is None:
        return None
    return answers(load_run(store, run_id, pairs), _answered(shown), pairs)


def _shown(frame: Any, answered: Any, shown: Any) -> tuple[Any, tuple[list[str], list[str]]]:
    """A result table with each pair's verdict and answer joined (machine output), or the
    table as it is and the first answers as sentences (a terminal table)."""
    if answered is None:
        return frame, ([], [])
    if shown.mode != "table":
        keys = ["event_set", "series"]
        extra = answered.select(*keys, "verdict", "answer")
        return frame.join(extra, on=keys, how="left", maintain_order="left"), ([], [])
    from tscorr.results.answers import sentences

    limit = min(ANSWERS_SHOWN, shown.top or ANSWERS_SHOWN)
    return frame, sentences(answered.head(limit))


def _say(said: tuple[list[str], list[str]]) -> None:
    """The answers, numbered, then the caveats they all share (said once)."""
    answers, shared = said
    for number, sentence in enumerate(answers, start=1):
        typer.echo(f"\n{number}. {sentence}")
    if shared:
        typer.echo("\nCaveats for every answer above: " + "; ".join(shared) + ".")


RESPOND_COLUMNS = (
    "event_set",
    "series",
    "lag",
    "n_events",
    "mean_value",
    "mean_baseline",
    "mean_ratio",
    "ci_low",
    "ci_high",
    "p_model",
    "p_placebo",
    "q_verdict",
)


@app.command()
def respond(
    events: EventsOpt,
    series: SeriesOpt = default(R, "series"),
    bucket: BucketOpt = default(R, "bucket"),
    before: BeforeOpt = default(R, "before"),
    after: AfterOpt = default(R, "after"),
    baseline: BaselineOpt = default(R, "baseline"),
    by: ByOpt = None,
    bootstrap: BootstrapOpt = default(R, "bootstrap"),
    interval: IntervalOpt = default(R, "interval"),
    window: ResponseWindowOpt = None,
    placebos: PlacebosOpt = default(R, "placebos"),
    seed: SeedOpt = default(R, "seed"),
    tz: TzOpt = default(R, "tz"),
    label: LabelOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    as_nl: NlOpt = False,
    as_table: TableOpt = False,
    top: TopOpt = None,
) -> None:
    """Event study: each series around each event as a multiple of its usual level.

    Per event and lag (buckets after the event; negative before): value, baseline, ratio,
    difference, standardized excess (z) and a flag saying why a value or baseline is missing.
    Pooled over events: the ratio of means with a 95% interval (never below 0; widened at the
    peak lag), the peak lag (the largest standardized excess: a zero baseline never turns a
    burst into a fall), the half-life of the excess, a model test of the pre-declared
    response (the event's own bucket, or --window; negative binomial for counts, log-normal
    for levels; p shown down to 1e-4) and a placebo test at other dates with the same time
    of day (no p when fewer than 19 dates qualify). A sentence per answer follows the table.
    Writes the responses and response_summary tables.

    Example: tscorr respond --events "kind = 'race-call'" --series 'trends:*' --bucket 1h --after 12h --baseline prev-days:7
    """
    shown = output(as_json, as_csv, as_nl, as_table, top)
    params = request_from(RespondParams, locals())
    from tscorr.analysis.respond import run_respond

    with analysing() as store:
        run = run_respond(store, params)
        frame, said = _shown(run.peaks.select(RESPOND_COLUMNS), _answers(store, run.run_id, shown), shown)
    say_notes(run.notes)
    title = f"run {run.run_id}: peak response (ratio to baseline)"
    show(frame, title, shown, run.run_id, table="respond")
    _say(said)


@app.command()
def scan(
    events: EventsOpt,
    series: SeriesOpt = default(S, "series"),
    bucket: BucketOpt = default(S, "bucket"),
    before: BeforeOpt = default(S, "before"),
    after: Annotated[
        str, typer.Option(metavar="TEXT", help="Window (and largest lag) after the event.")
    ] = default(S, "after"),
    baseline: BaselineOpt = default(S, "baseline"),
    by: ByOpt = None,
    surrogates: SurrogatesOpt = default(S, "surrogates"),
    bootstrap: BootstrapOpt = default(S, "bootstrap"),
    interval: IntervalOpt = default(S, "interval"),
    window: ResponseWindowOpt = None,
    placebos: PlacebosOpt = default(S, "placebos"),
    seed: SeedOpt = default(S, "seed"),
    tz: TzOpt = default(S, "tz"),
    label: LabelOpt = None,
    workers: WorkersOpt = None,
    engine: EngineOpt = pick(ENGINES, "local"),
    scheduler: SchedulerOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    as_nl: NlOpt = False,
    as_table: TableOpt = False,
    top: TopOpt = None,
) -> None:
    """Rank every series by its reaction to an event set: pick an event, see what moved.

    Runs xcorr (lags -after..+after; lag k > 0: the series moves k buckets after the events)
    and respond on the same series, and ranks them by the stronger of their q-values (the
    correlation peak's; the event study's verdict), then by the standardized excess. Both
    runs are stored; the answers of the first pairs follow the table.

    Example: tscorr scan --events "kind = 'race-call'" --series 'pageviews:*' --bucket 1d --after 2d --baseline pre:3d
    """
    shown = output(as_json, as_csv, as_nl, as_table, top)
    params = request_from(ScanParams, locals())
    runner = _engine(engine, workers, scheduler)
    from tscorr.analysis.scan import run_scan

    with analysing() as store:
        result = run_scan(store, params, runner)
        answered = _answers(store, result.respond_run, shown, result.table)  # scan's order
        frame, said = _shown(result.table, answered, shown)
    say_notes(result.notes)
    title = f"xcorr run {result.xcorr_run}, respond run {result.respond_run}: what moved"
    show(frame, title, shown, result.respond_run, table="scan")
    _say(said)


def _engine(kind: Enum, workers: int | None, scheduler: str | None) -> Engine:
    from tscorr.analysis.engine import Engine

    return Engine(kind.value, workers, scheduler)


@app.command()
def explain(
    series: Annotated[
        str, typer.Option("--series", metavar="NAME", help="The series name (exact).")
    ],
    bucket: BucketOpt = default(E, "bucket"),
    window: Annotated[
        str,
        typer.Option(
            metavar="TEXT", help="How far before a spike to look for events (0: its bucket)."
        ),
    ] = default(E, "window"),
    threshold: Annotated[
        float, typer.Option(metavar="X", help="Robust z a spike must reach.")
    ] = default(E, "threshold"),
    season: Annotated[
        str, typer.Option(metavar="TEXT", help="Seasonal period of the baseline, or none.")
    ] = default(E, "season"),
    history: Annotated[
        int, typer.Option(metavar="N", help="Seasons (or buckets, without one) in the baseline.")
    ] = default(E, "history"),
    events: Annotated[
        str, typer.Option(metavar="TEXT", help="SQL condition: which events may explain.")
    ] = default(E, "events"),
    tz: TzOpt = default(E, "tz"),
    label: LabelOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    as_nl: NlOpt = False,
    as_table: TableOpt = False,
    top: TopOpt = None,
) -> None:
    """Find spikes in a series and list the events that preceded each one.

    Spikes: robust z against the median of the same hour (or phase) over the previous 7
    seasons, using only the past, so the last bucket counts too. Events within --window before
    each spike are ranked by nearness, then by how their kind correlates with the series.

    Example: tscorr explain --series access:5xx --bucket 15m --window 2h --season 1d
    """
    shown = output(as_json, as_csv, as_nl, as_table, top)
    params = request_from(ExplainParams, locals())
    import polars as pl

    from tscorr.analysis.explain import run_explain

    with analysing() as store:
        run = run_explain(store, params)
    say_notes(run.notes)
    best = run.explanations.filter(pl.col("rank") <= 3)
    table = run.spikes.join(
        best, left_on=["series", "ts"], right_on=["series", "spike_ts"], how="left"
    ).select("ts", "value", "baseline", "z", "rank", "kind", "name", "lead_seconds", "kind_r")
    title = f"run {run.run_id}: spikes in {series} and the events before them"
    show(table, title, shown, run.run_id, table="explain")


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option(metavar="FILE", help="Database file the demo builds.")
    ] = Path("tscorr-demo.duckdb"),
    report: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE", help="HTML report the demo writes; default: --out with .html."
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(help="Replace --out and --report even if an earlier demo did not make them."),
    ] = False,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    as_nl: NlOpt = False,
    as_table: TableOpt = False,
) -> None:
    """Answer the question this tool exists for, on bundled real data, end to end.

    When the US election was called (9 Nov 2016, 07:29 UTC), did congratulation tweets and
    the candidates' Wikipedia pages spike, how fast and by how much; and how does the Brexit
    result day compare? Loads the bundled files, runs three event studies, prints one
    sentence per answer and writes an HTML report with the charts.

    Example: tscorr demo --out demo.duckdb --report demo.html
    """
    shown = output(as_json, as_csv, as_nl, as_table, None)
    from tscorr.demo import QUESTION, headline, run_demo

    result = run_demo(out, force, report or out.with_suffix(".html"))
    if shown.mode != "table":
        show(headline(result), None, shown)
        return
    typer.echo(f"Question: {QUESTION}\n")
    for number, sentence in enumerate(result.answers, start=1):
        typer.echo(f"{number}. {sentence}\n")
    typer.echo(f"Report: {result.report} (charts, parameters, tables)")
    typer.echo(f"Database: {result.db} (query it with: tscorr --db {result.db} sql ...)")
