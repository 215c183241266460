"""One file's rows on their way into the store: held, or written as they come, made visible
at once.

A file of up to HOLD_ROWS rows (more when the memory limit allows; one part or several) is
held in memory and written straight from there in one transaction. A bigger one, loaded
alone, opens its load's transaction when the hold overflows and writes its points into
``points`` as they come (:mod:`tscorr.store.direct`), its censored rows, events and rejects
into temporary ``_tscorr_stage_*`` tables; :meth:`SourceWriter.finish` moves these into their
tables and commits (:mod:`tscorr.store.commit`). The files of a load committed together
(``load --together``) stage every part, points too (each append its own small commit; DuckDB
keeps temporary tables within its memory limit and spills the rest to its temporary
folder), and move them in their one transaction at the end.

Until that commit nothing of the file is visible; on any failure, or Ctrl-C, the transaction
is rolled back and the stage dropped; a killed process never committed, and its temporary
tables end with its connection (stage tables an older tscorr left in the database file are
dropped when it is next opened for writing).

Series are staged by a code local to the load (their names are few and stay in memory);
they get their ``series_id`` in the final transaction, or when a direct load's transaction
opens.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from tscorr.frames import (
    CENSORED,
    EVENTS,
    POINTS,
    REJECTS,
    CodedPart,
    FeedFrames,
    PartRuns,
    empty,
)
from tscorr.store.commit import commit, stage_name
from tscorr.store.direct import DirectWrites
from tscorr.store.runs import SeriesRuns, Spans

if TYPE_CHECKING:  # the store mixin that owns a load (for types only)
    from tscorr.store.ingest import _Loading


@dataclass(frozen=True)
class SourceMeta:
    feed: str
    path: str
    sha256: str
    bytes: int
    tz: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class IngestCounts:
    source_id: int
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    points: int
    events: int
    series: int
    duplicates: int
    replaced: int


STAGES = ("points", "censored", "events", "rejects")
# a single file's load that outgrows its hold writes its points straight into ``points`` in
# its own transaction (False: staged, then copied, as a load of several files together does)
DIRECT = True
# rows of a file held in memory before its parts are written as they come (or staged on
# disk): at least HOLD_ROWS, more when the store's memory limit allows (HELD_ROW_BYTES of it
# per row, up to HOLD_MAX rows). Staging writes every row twice (the stage, then the
# tables): 6 M rows held took 0.27 CPU-s less than staged; written as they come from the
# first part, a 6 M-row file was no faster (long CSV 2.33 s against 2.20 held, Parquet 1.55
# against 1.74: median of 4, interleaved). A bigger file is held until it passes the bound,
# so the bound is also what a big load holds at its peak: at 24 M a 30 M-row load peaked at
# 2.4 GiB, at 4 M (as before) at 1.0 GiB
HOLD_ROWS = 4_000_000
HOLD_MAX = 8_000_000
HELD_ROW_BYTES = 400  # a held point (about 40 bytes) and its copies while it is written
_STAGE_DDL = {
    "points": "code BIGINT, ts TIMESTAMPTZ, value DOUBLE, flag VARCHAR, seq BIGINT",
    "censored": "code BIGINT, ts TIMESTAMPTZ, below DOUBLE, seq BIGINT",
    "events": "ts TIMESTAMPTZ, ts_end TIMESTAMPTZ, kind VARCHAR, name VARCHAR, "
    "weight DOUBLE, attrs VARCHAR, seq BIGINT",
    "rejects": "line BIGINT, raw VARCHAR, reason VARCHAR",
}


def drop_stages(store: _Loading, tag: str | None = None) -> None:
    """Drop the stage tables of ``tag``, or (None) every stage table: a load that ended, or
    the stages a killed process left behind."""
    if tag is not None:
        for kind in STAGES:
            store._exec(f"DROP TABLE IF EXISTS {stage_name(kind, tag)}")
        return
    left = store._exec(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = "
        "current_schema() AND table_name LIKE '\\_tscorr\\_stage\\_%' ESCAPE '\\'"
    )
    for (name,) in left:
        store._exec(f'DROP TABLE IF EXISTS "{name}"')


class SourceWriter:
    """A file's rows going into the store, part by part (see the module's docstring).

    A (series, time) met again in a later part replaces the earlier one, as a later line does
    within a part, and counts as a duplicate; one loaded by another source is replaced in the
    final transaction and counted as such.
    """

    def __init__(
        self,
        store: _Loading,
        meta: SourceMeta,
        replace: Sequence[int],
        hold_rows: int | None = None,
        tag: str = "",
        alone: bool = True,
    ) -> None:
        self.store = store
        self.tag = tag  # of this file's stage tables
        # a file that commits alone writes its points as they come once its hold overflows
        self.direct_allowed = DIRECT and alone
        self.direct: DirectWrites | None = None  # ... in this transaction, once it opened
        self.begun = False  # the load's transaction is open
        self.meta = meta
        self.replace = list(replace)
        self.rows_read = self.rows_rejected = self.duplicates = 0
        self.codes: dict[str, int] = {}  # series name -> code of this load
        self.series_meta: list[pl.DataFrame] = []  # each series' metadata as first seen
        self.steps: dict[int, str | None] = {}  # detected native steps, by code
        self.met: set[int] = set()  # codes with rows in some part
        self.again: set[int] = set()  # ... and in more than one (their steps are redone)
        # each code's latest time so far and its parts' runs folded (see tscorr.store.runs)
        self.runs = SeriesRuns()
        self._empty: dict[str, pl.DataFrame] | None = None
        # parts are held in memory up to ``hold_rows`` rows (the usual file), then staged
        self.hold_rows = _hold_rows(store.memory_limit) if hold_rows is None else hold_rows
        self.held: list[dict[str, pl.DataFrame]] = []
        self.held_rows = 0
        self.staged = False
        self.seq = 0  # running row number: later rows win over earlier ones

    # --- parts ---------------------------------------------------------------------------

    def add(self, frames: FeedFrames, steps: Mapping[str, str | None] | None = None) -> None:
        """Take one part: held in memory while the file's rows fit in ``hold_rows``, else
        staged on disk with every part before it. ``steps``: the native steps detected from
        this part alone (by series name), kept for the series no other part holds."""
        self.rows_read += frames.rows_read
        self.rows_rejected += frames.rejects.height
        self.duplicates += frames.duplicates
        fresh = frames.series.filter(~pl.col("series").is_in(list(self.codes)))
        for name in fresh["series"]:
            self.codes[name] = len(self.codes)
        code = self._code(pl.col("series"))  # names -> this load's codes, so far
        if fresh.height:
            self.series_meta.append(fresh.with_columns(code))
        here = set(frames.points["series"].unique().to_list()) | set(
            frames.censored["series"].unique().to_list()
        )
        codes_here = {self.codes[name] for name in here}
        self.again |= codes_here & self.met
        self.met |= codes_here
        self.runs.breaks(np.fromiter(codes_here, dtype=np.int64, count=len(codes_here)))
        for name, step in (steps or {}).items():
            self.steps[self.codes[name]] = step
        # held or staged, a part keeps only the stage's columns (names are in ``codes``)
        part = {
            "points": self._numbered(frames.points.select(code, "ts", "value", "flag")),
            "censored": self._numbered(frames.censored.select(code, "ts", "below")),
            "events": self._numbered(frames.events),
            "rejects": frames.rejects,
        }
        self._take(part)

    def add_coded(
        self,
        coded: CodedPart,
        steps: Mapping[int, str | None],
        runs: PartRuns | None = None,
    ) -> None:
        """Take one coded part: what :meth:`add` does with the same rows as frames, without
        a name per point. ``steps``: native steps from this part alone, by the part's code;
        ``runs``: the part's runs by the part's code, when it has them."""
        self.rows_read += coded.rows_read
        # a part's few names in Python: polars' threads may be busy parsing the next blocks
        names = coded.series["series"].to_list()
        fresh = [i for i, name in enumerate(names) if name not in self.codes]
        for i in fresh:
            self.codes[names[i]] = len(self.codes)
        if fresh:
            rows = coded.series[fresh] if len(fresh) < len(names) else coded.series
            codes_of = pl.Series("code", [self.codes[names[i]] for i in fresh], pl.Int64)
            self.series_meta.append(rows.with_columns(codes_of))
        mine = [self.codes[name] for name in names]  # the part's code -> this load's
        self.again |= set(mine) & self.met
        self.met |= set(mine)
        for local, step in steps.items():
            self.steps[mine[local]] = step
        at = np.asarray(mine, dtype=np.int64)
        spans: Spans | None = None
        if runs is None:
            self.runs.breaks(at)
        else:
            codes = at[np.asarray(runs.keys, dtype=np.int64)]
            self.runs.fold(codes, runs.first, runs.last, runs.n, runs.gap)
            if codes.size < at.size:  # series whose step the reader gave: no run
                self.runs.breaks(np.setdiff1d(at, codes))
            else:
                spans = (codes, runs.first, runs.last)
        points = coded.points
        n = points.height
        point_codes = points["code"]
        if mine != list(range(len(mine))):  # (the first part's codes are the load's)
            point_codes = pl.Series("code", mine, dtype=pl.Int64).gather(point_codes)
        part = {
            "points": pl.DataFrame(
                [
                    point_codes.alias("code"),
                    points["ts"],
                    points["value"],
                    pl.repeat(None, n, dtype=pl.String, eager=True).alias("flag"),
                    pl.int_range(self.seq, self.seq + n, dtype=pl.Int64, eager=True).alias("seq"),
                ]
            ),
            **self._no_rows(),
        }
        self.seq += n
        self._take(part, spans)

    def _no_rows(self) -> dict[str, pl.DataFrame]:
        """A coded part's censored rows, events and rejects: none (made once)."""
        if self._empty is None:
            self._empty = {
                "censored": empty(CENSORED)
                .select(pl.lit(None, pl.Int64).alias("code"), "ts", "below")
                .with_columns(pl.lit(None, pl.Int64).alias("seq")),
                "events": empty(EVENTS).with_columns(pl.lit(None, pl.Int64).alias("seq")),
                "rejects": empty(REJECTS),
            }
        return self._empty

    def _take(self, part: dict[str, pl.DataFrame], spans: Spans | None = None) -> None:
        """Hold one part's stage columns, or write them (its points into ``points`` once the
        load's transaction is open, else staged; see :meth:`add`)."""
        with self.store._writing():
            self._drop_repeats(part["points"], spans)
            rows = sum(frame.height for frame in part.values())
            if not self.staged and self.held_rows + rows <= self.hold_rows:
                self.held.append(part)
                self.held_rows += rows
                return
            if not self.staged:
                self._start_stage()
            self._stage(part)

    def _code(self, names: pl.Expr) -> pl.Expr:
        if not self.codes:  # no name yet, so no row to code: polars would type this as text
            return pl.lit(None, pl.Int64).alias("code")
        keys = pl.Series(list(self.codes), dtype=pl.String)
        values = pl.Series(list(self.codes.values()), dtype=pl.Int64)
        return names.replace_strict(keys, values, return_dtype=pl.Int64).alias("code")

    def _numbered(self, frame: pl.DataFrame) -> pl.DataFrame:
        out = frame.with_columns(
            (pl.int_range(0, pl.len(), dtype=pl.Int64) + self.seq).alias("seq")
        )
        self.seq += frame.height
        return out

    def _drop_repeats(self, points: pl.DataFrame, spans: Spans | None = None) -> None:
        """Remove the earlier parts' points that ``points`` repeats (the later row wins).
        ``spans``: the part's codes (each once) with their first and last times (epoch
        microseconds) when its runs tell them (else they are counted here)."""
        if points.height == 0:
            return
        if spans is None:
            span = points.group_by("code").agg(
                pl.col("ts").min().dt.epoch("us").alias("first"),
                pl.col("ts").max().dt.epoch("us").alias("last"),
            )
            spans = (span["code"].to_numpy(), span["first"].to_numpy(), span["last"].to_numpy())
        codes, first, last = spans
        # only rows at or before their series' latest time so far can repeat a point, and
        # there are none when each series of the part starts after its latest (most files)
        back = self.runs.behind(codes, first)
        behind = back.any()
        if behind:
            limits = pl.DataFrame(
                {"code": codes[back], "latest": self.runs.latest_of(codes[back])},
                schema={"code": pl.Int64, "latest": pl.Int64},
            ).with_columns(pl.col("latest").cast(POINTS["ts"]))
            marked = (
                points.join(limits, on="code")
                .filter(pl.col("ts") <= pl.col("latest"))
                .select("code", "ts")
            )
            if marked.height and self.direct is not None:
                self.duplicates += self.direct.drop(marked, self.codes)
            elif marked.height and self.staged:
                with self.store._registered("_tscorr_again", marked):
                    gone = self.store._exec(
                        f"DELETE FROM {stage_name('points', self.tag)} s USING _tscorr_again a "
                        "WHERE s.code = a.code AND s.ts = a.ts"
                    )[0][0]
                self.duplicates += int(gone)
            elif marked.height:
                for part in self.held:
                    before = part["points"].height
                    part["points"] = part["points"].join(marked, on=["code", "ts"], how="anti")
                    self.duplicates += before - part["points"].height
        self.runs.advance(codes, last)

    def _start_stage(self) -> None:
        drop_stages(self.store, self.tag)
        for kind, columns in _STAGE_DDL.items():
            self.store._exec(f"CREATE TEMP TABLE {stage_name(kind, self.tag)} ({columns})")
        self.staged = True
        if self.direct_allowed:
            self.begun = True  # from here a failure rolls back (drop_stage)
            self.direct = DirectWrites(self.store, self.replace)
        held, self.held, self.held_rows = self.held, [], 0
        for part in held:
            self._stage(part)

    def _stage(self, part: dict[str, pl.DataFrame]) -> None:
        for kind, frame in part.items():
            if frame.height and kind == "points" and self.direct is not None:
                self.direct.write(frame, self.codes)
            elif frame.height:
                with self.store._registered("_tscorr_part", frame):
                    columns = ", ".join(c.split()[0] for c in _STAGE_DDL[kind].split(", "))
                    self.store._exec(
                        f"INSERT INTO {stage_name(kind, self.tag)} SELECT {columns} FROM _tscorr_part"
                    )

    # --- native steps ----------------------------------------------------------------------

    def step_batches(self, max_rows: int) -> Iterator[pl.DataFrame]:
        """(series, ts) of the file's points and censored rows, series by series in time
        order, for the series whose step the reader did not give and no single part could
        tell (they have rows in several parts, or came with no part's steps); about
        ``max_rows`` rows at a time (a series is never split). ``series`` is a code for
        :meth:`set_steps`."""
        meta = pl.concat(self.series_meta) if self.series_meta else None
        if meta is None:
            return
        told = [c for c in self.steps if c not in self.again]
        wanted = meta.filter(pl.col("step").is_null() & ~pl.col("code").is_in(told))["code"]
        if wanted.len() == 0:
            return
        if not self.staged:
            times = pl.concat(
                [p[k].select("code", "ts") for p in self.held for k in ("points", "censored")]
                or [pl.DataFrame(schema={"code": pl.Int64, "ts": POINTS["ts"]})]
            ).filter(pl.col("code").is_in(wanted.implode()))
            for batch in _batches(times.group_by("code").len().sort("code"), max_rows):
                yield (
                    times.filter(pl.col("code").is_in(batch.implode()))
                    .sort("code", "ts")
                    .rename({"code": "series"})
                )
            return
        with ExitStack() as stack:
            yield from self._staged_steps(wanted, max_rows, stack)

    def _staged_steps(
        self, wanted: pl.Series, max_rows: int, stack: ExitStack
    ) -> Iterator[pl.DataFrame]:
        """:meth:`step_batches` of a file written part by part (its points staged, or in
        ``points`` already when written directly)."""
        store = self.store
        points = f"(SELECT code, ts FROM {stage_name('points', self.tag)})"
        if self.direct is not None:
            codes = self.direct.assigned(self.codes).select("code", "series_id")
            stack.enter_context(store._registered("_tscorr_codes", codes))
            points = self.direct.times("_tscorr_codes")
        rows = (
            f"(SELECT code, ts FROM {points} UNION ALL "
            f"SELECT code, ts FROM {stage_name('censored', self.tag)})"
        )
        # a DuckDB failure reading them back is one line, as one writing them is
        with store._writing(), store._registered("_tscorr_wanted", wanted.to_frame()):
            sizes = store.query(
                f"SELECT code, count(*) AS len FROM {rows} SEMI JOIN _tscorr_wanted "
                "USING (code) GROUP BY code ORDER BY code"
            )
        for batch in _batches(sizes, max_rows):
            with store._writing(), store._registered("_tscorr_batch", batch.to_frame()):
                times = store.query(
                    f"SELECT code AS series, ts FROM {rows} SEMI JOIN _tscorr_batch "
                    "USING (code) ORDER BY code, ts"
                )
            yield times

    def split_runs(self) -> dict[int, tuple[int, int, int, int]]:
        """The folded run of each series met in more than one part whose parts make one
        run (see :mod:`tscorr.store.runs`) and whose step is not settled yet."""
        return self.runs.joined(sorted(self.again))

    def settle(self, code: int, step: str | None) -> None:
        """The native step of a series met in several parts, found without its points."""
        self.steps[code] = step
        self.again.discard(code)

    def set_steps(self, steps: Mapping[int, str | None]) -> None:
        """Native steps detected for series (by the codes of :meth:`step_batches`)."""
        self.steps.update(steps)

    # --- the end -----------------------------------------------------------------------

    def finish(self, notes: Sequence[str] = (), transaction: bool = True) -> IngestCounts:
        """Move the file into the store in one transaction (``transaction`` False: in the
        caller's, which commits the files of a load together); return what was written."""
        store = self.store
        with ExitStack() as stack:
            if not self.staged:  # the held parts, straight from memory under the stage names
                if not self.held:  # nothing came: one empty part gives every column
                    self.add(FeedFrames(rows_read=0))
                for kind in STAGES:
                    held = [p[kind] for p in self.held]  # not copied into one chunk
                    frame = pl.concat(held, how="vertical_relaxed", rechunk=False)
                    stack.enter_context(store._registered(stage_name(kind, self.tag), frame))
            if transaction or self.begun:
                begun, self.begun = self.begun, False  # ended here, committed or rolled back
                with store.transaction(begun=begun):
                    counts = commit(self, notes)
            else:
                counts = commit(self, notes)
        return IngestCounts(**counts)

    def drop_stage(self) -> None:
        """Roll back the load's transaction if it is still open (a failure) and drop the
        stage tables, if this load made them (after its end or its failure)."""
        if self.begun:
            self.begun = False
            self.store._rollback()
        if self.staged:
            self.staged = False
            drop_stages(self.store, self.tag)


def _hold_rows(memory_limit: int) -> int:
    """Rows of a file held in memory before its parts are staged (HOLD_ROWS 0: none)."""
    if HOLD_ROWS <= 0:
        return HOLD_ROWS
    return max(HOLD_ROWS, min(HOLD_MAX, memory_limit // HELD_ROW_BYTES))


def _batches(sizes: pl.DataFrame, max_rows: int) -> Iterator[pl.Series]:
    """Codes in order, grouped so each group's rows (``len``) add up to about ``max_rows``."""
    batch: list[int] = []
    rows = 0
    for code, n in sizes.select("code", "len").iter_rows():
        batch.append(code)
        rows += n
        if rows >= max_rows:
            yield pl.Series("code", batch, dtype=pl.Int64)
            batch, rows = [], 0
    if batch:
        yield pl.Series("code", batch, dtype=pl.Int64)
