"""The xcorr run: store -> align -> transform -> kernels -> significance -> results tables.

Lag convention: lag k > 0 means the series moves k buckets after the events,
``r(k) = corr(e[t], y[t+k])``; ``lag_seconds = k * bucket``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import polars as pl

from tscorr.analysis import align
from tscorr.analysis.engine import Engine
from tscorr.analysis.inputs import (
    Aligned,
    Block,
    Group,
    Plan,
    batches,
    event_sets,
    iter_blocks,
    plan_alignment,
)
from tscorr.analysis.kernels.adjust import bh_qvalues
from tscorr.analysis.kernels.discovery import Assessed, assess_pairs
from tscorr.analysis.kernels.tails import import_ahead
from tscorr.analysis.kernels.xcorr import Prepared
from tscorr.analysis.pairs import BlockResult, Part, checked_only, correlate_block
from tscorr.analysis.request import XcorrParams, save_run
from tscorr.analysis.xcorr_notes import NO_PAIR, method_counts, method_note, unreachable_note
from tscorr.choices import DISCOVERY_Q, KEEP_ALL_ROWS
from tscorr.errors import NoData
from tscorr.store import Store
from tscorr.tables import result
from tscorr.units import Duration

Step = Callable[[str, int, int], None]  # (what, done, total)

# from about this many pairs a run fits some tail (a few pairs in a hundred come near the
# null's reach): scipy's special functions are imported while its data is read
TAIL_LIKELY = 500


class XcorrRun:
    """A stored run: its id, its notes, its xcorr rows (``table``) and each pair's peak row
    (``peaks``, sorted by q_peak then |r|). A run ranked out of core
    (:mod:`tscorr.analysis.peakfiles`) leaves its rows in the store: they are read from it
    (while it is open) when first asked for, ties in q_peak and |r| by event set and series."""

    def __init__(
        self,
        run_id: int,
        table: pl.DataFrame | None,
        peaks: pl.DataFrame | None,
        notes: list[str],
        store: Store | None = None,
    ) -> None:
        self.run_id = run_id
        self.notes = notes
        self._table = table
        self._peaks = peaks
        self._store = store

    @property
    def table(self) -> pl.DataFrame:
        """The run's stored xcorr rows (run_id last)."""
        if self._table is None:
            assert self._store is not None
            got = self._store.read_result("xcorr", self.run_id)
            self._table = got.select(pl.exclude("run_id"), "run_id")
        return self._table

    @property
    def peaks(self) -> pl.DataFrame:
        """One row per (event_set, series) with an r, sorted by q_peak then |r|."""
        if self._peaks is None:
            assert self._store is not None
            got = self._store.read_result("xcorr_peaks", self.run_id)
            self._peaks = ranked(got.select(pl.exclude("run_id"), "run_id"))
        return self._peaks

    def first_peaks(self, n: int) -> tuple[pl.DataFrame, int]:
        """The first ``n`` rows of :attr:`peaks` and how many it has, without reading the
        others when they are in the store (a run ranked out of core: a terminal table of a
        million pairs shows a few)."""
        if self._peaks is not None:
            return self._peaks.head(n), self._peaks.height
        assert self._store is not None
        first, total = self._store.first_peaks(self.run_id, n)
        return first.select(pl.exclude("run_id"), "run_id"), total


def run_xcorr(
    store: Store,
    params: XcorrParams,
    step: Step | None = None,
    sets: dict[str, pl.DataFrame] | None = None,
    data: Aligned | None = None,
    engine: Engine | None = None,
) -> XcorrRun:
    """Correlate each event set with each series at lags -L..L and store the run.

    Series are read and aligned in batches (bounded by the store's memory limit). Every
    pair's ``p_peak`` comes from the per-lag null on rank-normal scores (``--test
    surrogate``, :mod:`tscorr.analysis.kernels.ranknormal`); every lag's ``p_value`` and
    ``q_value`` are kept for the pairs whose every lag is stored (``--keep``). ``sets``
    and ``data`` (already selected events, already aligned and transformed series) spare a
    caller that has them a second read; they must match ``params``.

    ``engine`` (default: this process) runs the blocks in worker processes or on a Dask
    cluster (:mod:`tscorr.analysis.engine`); it changes where the numbers are computed, never them.
    The workers read their series themselves, so ``data`` spares them nothing: the run
    then plans its alignment again (the same grids ``data`` was aligned on).
    """
    bucket = params.bucket
    scale = params.scale()  # the lags and the season in buckets of the requested bucket
    max_lag = scale.max_lag
    sets = sets if sets is not None else event_sets(store, params.events, params.by)
    blocks: Iterable[Block]
    plan: Plan | None = None
    if data is not None:
        blocks = data.blocks
        record, notes, n_series = data.record(), list(data.notes), len(data.names)
    else:
        plan = plan_alignment(
            store, params.series, bucket, params.tz, params.transform, scale.season
        )
        blocks = iter_blocks(store, plan)
        record, notes, n_series = plan.record(), list(plan.notes), plan.series
    total = len(sets) * n_series  # pairs
    if total >= TAIL_LIKELY and params.test == "surrogate":
        import_ahead()  # a few pairs in a hundred fit a tail: scipy loads while data is read
    keep_all = params.keep == "all" or (
        params.keep == "auto" and total * (2 * max_lag + 1) <= KEEP_ALL_ROWS
    )
    if not keep_all:
        notes.append(
            f"--keep {params.keep}: each pair's peak lag is stored, and every lag of the pairs "
            f"with q_peak <= {DISCOVERY_Q}"
            + (f" ({total:,} pairs x {2 * max_lag + 1} lags)" if params.keep == "auto" else "")
            + "; --keep all stores every lag"
        )
    chunk_memory = store.memory_limit or 2**33
    done = 0

    def tick(pairs: int) -> None:
        nonlocal done
        if step:
            step("pairs", done, total)
        done += pairs

    results: Iterable[BlockResult]
    costs: dict[str, Any] = {}
    tasks: list[Group] = []
    if engine is not None and (engine.count > 1 or engine.kind != "local"):
        # the workers read their series themselves: the batches of the plan (``data`` was
        # aligned on the same grids)
        mine = plan or plan_alignment(
            store, params.series, bucket, params.tz, params.transform, scale.season
        )
        tasks = batches(mine, chunk_memory)
    spread = engine is not None and engine.spreads(len(tasks))
    if spread and not keep_all:  # the pairs' peak rows on disk, ranked in DuckDB
        from tscorr.analysis.peakfiles import Spread, run_out_of_core

        assert engine is not None
        return run_out_of_core(
            Spread(store, params, sets, mine, tasks, engine, data, plan, record, notes),
            tick,
            costs,
            step,
            total,
        )
    if spread:
        from tscorr.analysis.engine.run import map_blocks

        assert engine is not None
        results = map_blocks(store, mine, tasks, sets, params, keep_all, engine, tick, costs)
    else:
        results = (
            correlate_block(b, sets, params, keep_all, chunk_memory, data is None, tick)
            for b in blocks
        )
    parts: list[Part] = []
    nulls: list[dict[str, object]] = []
    for got in results:
        parts += got.parts
        nulls += got.nulls
        notes += got.notes
    if step:
        step("pairs", total, total)
    if not parts:
        raise NoData(NO_PAIR)
    # q_peak: Benjamini-Hochberg over every pair of the run; q_set: within each event set
    bh_started = time.perf_counter()
    p_peak = np.concatenate([part.p_peak for part in parts])
    q_peak = bh_qvalues(p_peak)
    q_set = set_qvalues(parts, p_peak)
    notes.append(method_note(*_methods(parts)))
    # the widest window a pair was tested over (a coarsened block counts its own buckets)
    widest = max(2 * part.max_lag + 1 for part in parts)
    out_of_reach = unreachable_note(p_peak, q_peak, widest)
    if out_of_reach:
        notes.append(out_of_reach)
    if not keep_all:  # every lag of the discoveries, from their series read again
        _discoveries(store, params, sets, parts, q_peak, data, plan if data is None else None)
    table, bands, peaks = _tables(parts, q_peak, q_set, keep_all)
    if costs:  # what the engine's phases cost, seconds (provenance: the numbers are the same)
        costs["driver_after_s"] = round(time.perf_counter() - bh_started, 3)
    method = xcorr_method(
        method_counts(*_methods(parts)),
        nulls,
        (engine or Engine()).record(spread) | costs,
        keep_all,
    )
    run_id = save_run(
        store,
        "xcorr",
        params,
        record,
        {"max_lag": max_lag, "season": scale.season},
        method,
        notes,
        {"xcorr": table, "xcorr_bands": bands},
    )
    table = table.with_columns(pl.lit(run_id, pl.Int64).alias("run_id"))
    peaks = peaks.with_columns(pl.lit(run_id, pl.Int64).alias("run_id"))
    return XcorrRun(run_id, table, ranked(peaks), notes)


def xcorr_method(
    counts: dict[str, object],
    nulls: list[dict[str, object]],
    engine: dict[str, Any],
    keep_all: bool,
) -> dict[str, Any]:
    """``runs.params.method`` of an xcorr run: ``counts`` as :func:`method_counts` gives
    them, the nulls' records, and the engine's record (provenance: no number depends on it)."""
    method: dict[str, Any] = {
        "discovery": (
            "p_peak per pair; q_peak = Benjamini-Hochberg over the pairs of the run; q_set = "
            "Benjamini-Hochberg within the pair's event set (a union of per-set lists does "
            "not keep the run's false discovery rate)"
        ),
        "localisation": (
            "p_value per lag; q_value = adjusted within the pair (Sidak over the window's "
            "lags for the default test, max-|r| for --surrogates N)"
        ),
        "p_method": counts,
        "nulls": nulls,
        "bands": "per pair in the xcorr_bands table",
        # where the numbers were computed (provenance only: no number depends on it)
        "engine": engine,
    }
    if not keep_all:
        method["kept"] = (
            f"every lag of the pairs with q_peak <= {DISCOVERY_Q}; the peak lag of the others"
        )
    return method


def _discoveries(
    store: Store,
    params: XcorrParams,
    sets: dict[str, pl.DataFrame],
    parts: list[Part],
    q_peak: np.ndarray,
    data: Aligned | None,
    plan: Plan | None,
) -> None:
    """Test every lag of the pairs with q_peak <= DISCOVERY_Q that the first pass gave only
    their peak numbers: their series are read (or taken from ``data``) again, aligned as
    before (a series' grid is its own), and tested lag by lag."""
    wanted: dict[tuple[str, str], tuple[Part, int]] = {}
    offset = 0
    for part in parts:
        q = q_peak[offset : offset + len(part.names)]
        offset += len(part.names)
        held = np.zeros(len(part.names), dtype=bool)
        held[part.whole] = True
        for i in np.flatnonzero((np.nan_to_num(q, nan=1.0) <= DISCOVERY_Q) & ~held).tolist():
            wanted[(part.label, part.names[i])] = (part, i)
    if not wanted:
        return
    for label, names, _, _, got in retest(store, params, sets, set(wanted), data, plan):
        # the series of one block read again may come from several parts (batches of the
        # first pass): each part gets its own rows
        rows: dict[int, tuple[Part, list[int], list[int]]] = {}
        for j, name in enumerate(names):
            part, i = wanted[(label, name)]
            _, mine, index = rows.setdefault(id(part), (part, [], []))
            mine.append(j)
            index.append(i)
        for part, mine, index in rows.values():
            part.add(np.array(index), got.rows(np.array(mine)))


def retest(
    store: Store,
    params: XcorrParams,
    sets: dict[str, pl.DataFrame],
    wanted: set[tuple[str, str]],
    data: Aligned | None,
    plan: Plan | None,
) -> Iterator[tuple[str, list[str], Duration, int, Assessed]]:
    """Every lag of the pairs ``wanted`` (event set, series), tested again: their series read
    (from the store by ``plan``, or taken from ``data``) and aligned as before (a series'
    grid is its own). Yields (event set, series, bucket, max_lag in it, every lag's numbers)."""
    names = {name for _, name in wanted}
    blocks: Iterable[Block]
    if plan is not None:
        blocks = iter_blocks(store, plan.only(names))
    else:
        assert data is not None
        blocks = (b.only(names) for b in data.blocks)
    scale = params.scale()
    for block in blocks:
        if not block.names:
            continue
        lag = scale.on(block.bucket).max_lag
        prep = Prepared.build(block.y, lag, params.estimator)
        for label, events in sets.items():
            rows = [i for i, name in enumerate(block.names) if (label, name) in wanted]
            if not rows:
                continue
            e, _ = align.encode_events(
                events, block.grid, params.encode.name, params.encode.half_life
            )
            got = assess_pairs(
                prep.subset(np.array(rows)),
                e,
                params.test,
                params.surrogates,
                params.seed,
                detail="all",
            )
            yield label, [block.names[i] for i in rows], block.bucket, lag, got


def set_qvalues(parts: list[Part], p_peak: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg of ``p_peak`` (the parts' pairs, in order) within each event set."""
    labels = np.concatenate([np.full(len(part.names), i) for i, part in enumerate(parts)])
    names = np.array([part.label for part in parts])[labels]
    q_set = np.full(p_peak.shape, np.nan)
    for label in dict.fromkeys(part.label for part in parts):
        mine = names == label
        q_set[mine] = bh_qvalues(p_peak[mine])
    return q_set


def _methods(parts: list[Part]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every pair's p_method, exact check and its verdict, in the parts' order."""
    method = [name for part in parts for name in part.method]
    p_exact = np.concatenate([part.p_exact for part in parts])
    return method, p_exact, np.concatenate([part.check for part in parts])


def _tables(
    parts: list[Part], q_peak: np.ndarray, q_set_all: np.ndarray, keep_all: bool
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The xcorr rows (every lag of the kept pairs, the peak row of the others, pair after
    pair as the parts hold them), the bands of the pairs stored whole, and each pair's peak
    row (the ``xcorr_peaks`` view's, gathered where the rows put it: no sort over them all)."""
    frames, peak_rows, bands = [], [], []
    offset = 0
    for part in parts:
        m = len(part.names)
        q = q_peak[offset : offset + m]
        q_set = q_set_all[offset : offset + m]
        offset += m
        width = 2 * part.max_lag + 1
        whole = part.whole
        if not keep_all:  # the others keep their peak row, without a per-lag p-value
            whole = whole[np.nan_to_num(q[whole], nan=1.0) <= DISCOVERY_Q]
            part.p_at[:] = np.nan
        held = np.searchsorted(part.whole, whole)  # their rows in the part's full arrays
        pair = np.full(m, -1)
        pair[whole] = held
        # per pair: every lag (width rows) or the peak row (1 row)
        counts = np.where(pair >= 0, width, 1)
        first = np.cumsum(counts) - counts
        peak_rows.append(first + np.where(pair >= 0, part.column, 0))
        row_pair = np.repeat(np.arange(m), counts)
        within = np.arange(row_pair.size) - np.repeat(np.cumsum(counts) - counts, counts)
        is_whole = pair[row_pair] >= 0
        column = np.where(is_whole, within, part.column[row_pair])
        source = pair[row_pair]
        r = part.r_at[row_pair].copy()
        n = part.n_at[row_pair].copy()
        p = part.p_at[row_pair].copy()
        qv = part.q_at[row_pair].copy()
        if whole.size:
            sel = np.flatnonzero(is_whole)
            r[sel] = part.r[source[sel], column[sel]]
            n[sel] = part.n[source[sel], column[sel]]
            p[sel] = part.p[source[sel], column[sel]]
            qv[sel] = part.q[source[sel], column[sel]]
        lag = column - part.max_lag
        rows = pl.Series(row_pair.astype(np.uint32))
        frames.append(
            pl.DataFrame(
                {
                    "event_set": pl.Series([part.label], dtype=pl.String).gather(
                        np.zeros(row_pair.size, np.uint32)
                    ),
                    "series": pl.Series(part.names, dtype=pl.String).gather(rows),
                    "lag": lag.astype(np.int32),
                    "lag_seconds": (lag * part.bucket.seconds).astype(float),
                    "r": r,
                    "n": n.astype(np.int64),
                    "p_value": p,
                    "q_value": qv,
                    "p_peak": part.p_peak[row_pair],
                    "p_method": pl.Series(part.method, dtype=pl.String).gather(rows),
                    "q_peak": q[row_pair],
                    "q_set": q_set[row_pair],
                    "p_peak_exact": part.p_exact[row_pair],
                    "p_check": part.check[row_pair],
                },
                nan_to_null=True,
            ).with_columns(checked_only())
        )
        if whole.size and not np.isnan(part.band[held]).all():
            band = part.band[held]
            bands += [
                {
                    "event_set": part.label,
                    "series": part.names[i],
                    "lag_level": lo,
                    "peak_level": hi,
                }
                for i, (lo, hi) in zip(whole.tolist(), band.tolist(), strict=True)
            ]
    table = pl.concat(frames)
    starts = np.cumsum([0] + [f.height for f in frames[:-1]])
    at = np.concatenate([rows + start for rows, start in zip(peak_rows, starts, strict=True)])
    return table, result("xcorr_bands", bands), table[at]


def pair_qvalues(table: pl.DataFrame, column: str) -> pl.Series:
    """Benjamini-Hochberg over the pairs (event_set, series) of ``column`` (one value per
    pair), spread back to each pair's rows in ``table``'s order; null where p is null."""
    pairs = table.select("event_set", "series", column).unique(
        subset=["event_set", "series"], keep="first", maintain_order=True
    )
    q = bh_qvalues(pairs[column].fill_null(np.nan).to_numpy().astype(float))
    keyed = pairs.select("event_set", "series").with_columns(pl.Series("_q", q))
    joined = table.select("event_set", "series").join(
        keyed, on=["event_set", "series"], how="left", maintain_order="left"
    )
    return joined["_q"].fill_nan(None)


def ranked(peaks: pl.DataFrame) -> pl.DataFrame:
    """Peak rows with an r, by q_peak (the number to filter by) then |r|, largest first."""
    return peaks.filter(pl.col("r").is_not_null()).sort(
        [pl.col("q_peak"), pl.col("r").abs()],
        descending=[False, True],
        nulls_last=True,
        maintain_order=True,
    )
