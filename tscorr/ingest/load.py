"""Loading files: feed reader -> canonical frames -> store, and the list of feeds.

Data flows one way: feed reader -> canonical frames -> store. Each function here composes
those stages and returns plain data; nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from contextlib import AbstractContextManager, ExitStack, closing, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from tscorr.errors import BadInput, NotFound, RowsRejected, TscorrError, UnknownName
from tscorr.frames import CodedPart, FeedFrames, PartRuns
from tscorr.ingest import feeds, observe
from tscorr.ingest.request import LoadParams, is_pattern
from tscorr.ingest.source import LoadOptions, SourceFile
from tscorr.store import IngestCounts, SourceMeta, Store
from tscorr.store.staging import SourceWriter
from tscorr.units import check_zone

# (stage, share of the file read): "reading", "writing", "done"
Step = Callable[[str, float], None]
# a file larger than this gets a progress display in the CLI
PROGRESS_BYTES = 4 << 20
MAX_NAME = 1000  # characters in a series name
# native steps are detected from at most this many stored points at a time (a batch of whole
# series), each taking about STEP_ROW_BYTES of memory while it is worked on
STEP_ROWS = 2_000_000
STEP_ROW_BYTES = 120


@dataclass
class LoadReport:
    """What happened to one file."""

    path: str
    feed: str
    status: str  # "loaded", "skipped", or "rejected" (every row; the rejects are kept)
    counts: IngestCounts | None = None
    notes: list[str] = field(default_factory=list)

    def row(self) -> dict[str, object]:
        c = self.counts
        return {
            "path": self.path,
            "feed": self.feed,
            "status": self.status,
            "rows_read": c.rows_read if c else 0,
            "loaded": c.rows_loaded if c else 0,
            "rejected": c.rows_rejected if c else 0,
            "duplicates": c.duplicates if c else 0,
            "replaced": c.replaced if c else 0,
            "series": c.series if c else 0,
            "points": c.points if c else 0,
            "events": c.events if c else 0,
            "notes": "; ".join(self.notes),
        }


# the progress of a load of several files: (path, its position from 1, how many) -> a context
# giving the step of that file (None: no display)
Progress = Callable[[str, int, int], AbstractContextManager[Step | None]]


@dataclass
class LoadResult:
    """What a load of several files did: a report per file loaded (or skipped, or wholly
    rejected), and the first failure of a file that could not be loaded at all."""

    reports: list[LoadReport]
    failure: TscorrError | None = None


def load_files(
    store: Store,
    params: LoadParams,
    progress: Progress | None = None,
    failed: Callable[[str, TscorrError], None] | None = None,
    names: Mapping[str, str] | None = None,
) -> LoadResult:
    """Load every file of ``params`` (glob patterns expanded, in name order).

    Each file loads in its own transaction: a file that fails is left out whole and the
    others still load (``failed`` hears of each, the result keeps the first). With
    ``params.together`` the files are staged one by one and committed in one transaction at
    the end: all of them or, when one fails, none. ``progress`` gives each file's step;
    ``names`` shows a file under another name (standard input spooled to a file is ``-``)."""
    if params.together:
        return _load_together(store, params, progress, failed, names)
    options = params.options()
    files = params.files()
    reports: list[LoadReport] = []
    failure: TscorrError | None = None
    for i, file in enumerate(files, start=1):
        try:
            if is_pattern(file):
                raise NotFound(f"{file}: no file matches this pattern; check the path")
            shown = (names or {}).get(file)
            with progress(file, i, len(files)) if progress else nullcontext(None) as step:
                reports.append(
                    load_file(
                        store, file, params.feed, options, params.strict, params.force, step, shown
                    )
                )
        except TscorrError as exc:
            failure = failure or exc
            if failed is not None:
                failed(file, exc)
    return LoadResult(reports, failure)


def _load_together(
    store: Store,
    params: LoadParams,
    progress: Progress | None,
    failed: Callable[[str, TscorrError], None] | None,
    names: Mapping[str, str] | None,
) -> LoadResult:
    """Every file staged on disk (so memory holds a part at a time), then one transaction
    moves them all into the tables, in order; on any failure nothing is kept."""
    options = params.options()
    files = params.files()
    skipped: list[LoadReport] = []
    staged: list[tuple[_Plan, SourceWriter, dict[str, object] | None]] = []
    content: dict[str, str] = {}  # sha256 -> the file of this load that holds it
    with ExitStack() as stages:
        for i, file in enumerate(files, start=1):
            try:
                if is_pattern(file):
                    raise NotFound(f"{file}: no file matches this pattern; check the path")
                plan = _plan(
                    store, file, params.feed, options, params.force, (names or {}).get(file)
                )
                if isinstance(plan, LoadReport):
                    skipped.append(plan)
                    continue
                earlier = content.setdefault(plan.meta.sha256, plan.shown)
                if earlier != plan.shown and not params.force:
                    plan.notes.append(f"the same content as {earlier}, loaded with it")
                    skipped.append(
                        LoadReport(plan.shown, plan.feed.name, "skipped", None, plan.notes)
                    )
                    continue
                writer = stages.enter_context(
                    store.loading(plan.meta, plan.replace, hold_rows=0, tag=f"_{i}", alone=False)
                )
                with progress(file, i, len(files)) if progress else nullcontext(None) as step:
                    say = step or (lambda _stage, _share: None)
                    staged.append(
                        (plan, writer, _write(store, writer, plan, options, params.strict, say))
                    )
            except TscorrError as exc:
                if failed is not None:
                    failed(file, exc)
                return LoadResult([], exc)
        reports = []
        with store.transaction():
            for plan, writer, first_reject in staged:
                reports.append(
                    plan.report(writer.finish(plan.notes, transaction=False), first_reject)
                )
    order = {f: n for n, f in enumerate((names or {}).get(f, f) for f in files)}
    done = sorted(reports + skipped, key=lambda r: order.get(r.path, len(order)))
    return LoadResult(done)


def load_file(
    store: Store,
    path: str | Path,
    feed: str | None = None,
    options: LoadOptions | None = None,
    strict: bool = False,
    force: bool = False,
    step: Step | None = None,
    name: str | None = None,
) -> LoadReport:
    """Load one file into ``store`` in one transaction.

    The feed is detected when ``feed`` is None. A file whose sha256 was loaded before is
    skipped unless ``force``, which replaces every earlier source of the same content or path
    wholly: its points, events, rejects and the metadata (kind, agg) of its series. With
    ``strict`` any rejected row refuses the whole file. Rows that cannot be read are kept in ``rejects`` with their line and reason.
    """
    options = options or LoadOptions()
    plan = _plan(store, path, feed, options, force, name)
    if isinstance(plan, LoadReport):
        return plan
    say = step or (lambda _stage, _share: None)
    with store.loading(plan.meta, plan.replace) as writer:
        first_reject = _write(store, writer, plan, options, strict, say)
        counts = writer.finish(plan.notes)
    say("done", 1.0)
    return plan.report(counts, first_reject)


@dataclass
class _Plan:
    """A file about to be loaded: what it is, what it replaces, what was noted so far."""

    source: SourceFile
    shown: str
    feed: feeds.Feed
    meta: SourceMeta
    replace: list[int]
    notes: list[str]

    def report(self, counts: IngestCounts, first_reject: dict[str, object] | None) -> LoadReport:
        notes = self.notes
        if counts.rows_rejected and not counts.rows_loaded and first_reject is not None:
            notes.append(
                f"every row was rejected; the first, line {first_reject['line']}: "
                f"{first_reject['reason']}"
            )
            return LoadReport(self.shown, self.feed.name, "rejected", counts, notes)
        return LoadReport(self.shown, self.feed.name, "loaded", counts, notes)


def _plan(
    store: Store,
    path: str | Path,
    feed: str | None,
    options: LoadOptions,
    force: bool,
    name: str | None,
) -> _Plan | LoadReport:
    """Check a file and its options before any reading: the plan of its load, or the report
    of a file skipped (loaded before)."""
    check_zone(options.tz)  # every feed, before any reading (an .ics file too)
    source = SourceFile(path, name)
    shown = name or str(path)  # what the report and the sources table call the file
    chosen = feeds.get_feed(feed) if feed else feeds.detect(source)
    notes = [] if feed else [f"detected feed {chosen.name}"]
    ignored = sorted(set(options.extra) - set(chosen.spec.accepts))
    if ignored:
        flags = ", ".join(f"--{k}" for k in ignored)
        readers = ", ".join(
            f.name for f in feeds.all_feeds() if set(ignored) <= set(f.spec.accepts)
        )
        raise BadInput(
            f"{shown}: {flags} apply to {readers or 'no'} files, and this one is read as "
            f"{chosen.name}; drop {flags} or pass --feed"
        )
    if options.series_kind is not None and options.series_kind not in observe.KINDS:
        raise UnknownName("series kind", options.series_kind, observe.KINDS)
    replace: list[int] = []
    if force:
        replace = store.sources_like(source.sha256, str(path))
    else:
        seen = store.find_source(source.sha256)
        if seen is not None and not seen["rows_loaded"]:
            # every row of the earlier load was rejected: a retry (other options) replaces it
            replace = [int(seen["source_id"])]
            notes.append(
                f"source {seen['source_id']} (the same file) loaded no rows, every one "
                "rejected; this load replaces it"
            )
        elif seen is not None:
            notes.append(
                f"already loaded as source {seen['source_id']} ({seen['path']}); "
                "pass --force to load it again"
            )
            return LoadReport(shown, chosen.name, "skipped", notes=notes)
    meta = SourceMeta(
        feed=chosen.name,
        path=shown,
        sha256=source.sha256,
        bytes=source.size,
        tz=options.tz,
        options={k: v for k, v in asdict(options).items() if v not in (None, {}, "auto")},
    )
    if replace and force:
        notes.append(
            "--force: replaces source "
            + ", ".join(str(i) for i in replace)
            + " wholly (its points, events, rejects and series metadata)"
        )
    return _Plan(source, shown, chosen, meta, replace, notes)


def _write(
    store: Store,
    writer: SourceWriter,
    plan: _Plan,
    options: LoadOptions,
    strict: bool,
    say: Step,
) -> dict[str, object] | None:
    """Read the file part by part into ``writer`` and detect the native steps the parts
    could not tell; the first rejected row (None: none)."""
    chosen, source = plan.feed, plan.source
    say("reading", 0.0)
    first_reject: dict[str, object] | None = None
    with closing(_any_parts(chosen, source, options)) as parts:
        for frames in parts:  # closed on any failure: a reader reading ahead stops at once
            frames.series = observe.declare(
                frames.series, chosen.spec.series.kind, options.series_kind
            )
            _check_names(frames, source)
            if isinstance(frames, CodedPart):  # a part with nothing to reject or note
                writer.add_coded(frames, *_coded_steps(frames, options.tz))
                say("reading", frames.through)
                continue
            if frames.rejects.height and first_reject is None:
                first_reject = frames.rejects.row(0, named=True)
                if strict:
                    raise RowsRejected(
                        f"{source.display_name}:{first_reject['line']}: {first_reject['reason']} "
                        f"({frames.rejects.height} rows rejected; --strict refuses the file, "
                        "nothing loaded)"
                    )
            writer.add(frames, _part_steps(frames, options.tz))
            plan.notes.extend(n for n in frames.notes if n not in plan.notes)
            say("reading", frames.through)
    say("writing", 1.0)
    # native steps of the series met in more than one part: from their parts' runs when
    # these make one run, else from what the file wrote, a bounded batch of series at a
    # time (the others' came with their part)
    for code, runs in writer.split_runs().items():
        known, step = observe.merged_step(runs)
        if known:
            writer.settle(code, step)
    batch_rows = min(STEP_ROWS, max(store.memory_limit // STEP_ROW_BYTES // 4, 10_000))
    for times in writer.step_batches(batch_rows):
        writer.set_steps(observe.native_steps(times, options.tz))
    return first_reject


def _parts(
    feed: feeds.Feed, source: SourceFile, options: LoadOptions
) -> Generator[FeedFrames, None, None]:
    """:func:`_any_parts` with each coded part as its frames (for a reader of parts that
    wants names, such as a load into Parquet partitions)."""
    with closing(_any_parts(feed, source, options)) as parts:
        for part in parts:
            yield part.frames() if isinstance(part, CodedPart) else part


def _any_parts(
    feed: feeds.Feed, source: SourceFile, options: LoadOptions
) -> Generator[FeedFrames | CodedPart, None, None]:
    """The reader's frames, one part (a reader of big files yields a part per block; a
    clean one may come as a :class:`CodedPart`), with any failure of a reader as one line
    naming the file, never a traceback."""
    try:
        result = feed.read(feed.spec, source, options)
        if isinstance(result, FeedFrames):
            yield result
        else:
            yield from result
    except (TscorrError, MemoryError):
        raise
    except RecursionError as exc:
        raise BadInput(
            f"{source.display_name}: nested too deeply for the {feed.name} feed; "
            "check that it is the right file"
        ) from exc
    except Exception as exc:  # a reader met a shape it does not know: say which, never a traceback
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise BadInput(
            f"{source.display_name}: cannot be read as {feed.name} "
            f"({type(exc).__name__}: {detail}); check the file or pass the right --feed"
        ) from exc


def _part_steps(frames: FeedFrames, tz: str) -> dict[str, str | None]:
    """Native steps of a part's series whose step the reader did not give, from that part's
    points (and censored times); final for a series no other part holds."""
    wanted = frames.series.filter(pl.col("step").is_null())["series"]
    if wanted.len() == 0:
        return {}
    seen = frames.points.select("series", "ts")
    if frames.censored.height:
        seen = pl.concat([seen, frames.censored.select("series", "ts")])
    if wanted.len() < frames.series.height:  # (most files: every series wants its step)
        seen = seen.filter(pl.col("series").is_in(wanted.implode()))
    return observe.native_steps(seen, tz)


def _coded_steps(
    part: CodedPart, tz: str
) -> tuple[dict[int, str | None], PartRuns | None]:
    """:func:`_part_steps` of a coded part, by code, and the series' runs when the part
    has them (see :func:`tscorr.ingest.observe.native_steps_and_runs`)."""
    wanted = part.series.with_row_index("code").filter(pl.col("step").is_null())["code"]
    if wanted.len() == 0:
        return {}, None
    seen = part.points.select(pl.col("code").alias("series"), "ts")
    if part.shared_times:  # one series' times are every series' times: one step for all
        first = int(wanted[0])
        steps, runs = observe.native_steps_and_runs(
            seen.filter(pl.col("series") == first), tz
        )
        codes = [int(code) for code in wanted]
        if runs is not None:  # the first series' run is every series' run
            k = len(codes)
            runs = PartRuns(
                codes, *(np.repeat(a[:1], k) for a in (runs.first, runs.last, runs.n, runs.gap))
            )
        return {code: steps.get(first) for code in codes}, runs
    if wanted.len() < part.series.height:
        seen = seen.filter(pl.col("series").is_in(wanted.cast(pl.Int64).implode()))
    return observe.native_steps_and_runs(seen, tz)


def _check_names(frames: FeedFrames | CodedPart, source: SourceFile) -> None:
    # a part's few names, in Python: polars' threads may be busy parsing the next blocks
    too_long = [n for n in frames.series["series"].to_list() if n and len(n) > MAX_NAME]
    if too_long:
        raise BadInput(
            f"{source.display_name}: a series name of {len(too_long[0]):,} "
            f"characters ('{too_long[0][:40]}...'); names are at most {MAX_NAME:,}"
        )


def describe_feeds() -> list[dict[str, str]]:
    """One row per registered feed: name, what it produces, how it is detected."""
    return [
        {
            "feed": f.name,
            "produces": ", ".join(f.spec.produces),
            "detected by": f.spec.detect.describe or "--feed only",
            "description": f.spec.description,
        }
        for f in feeds.all_feeds()
    ]
