"""One block of aligned series against every event set: each pair's peak row.

The unit of work of an xcorr run, the same in one process and in many
(:mod:`tscorr.analysis.engine`): it sees arrays and frames, never files or the store.

Lag convention: lag k > 0 means the series moves k buckets after the events,
``r(k) = corr(e[t], y[t+k])``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from tscorr.analysis import align
from tscorr.analysis.inputs import Block
from tscorr.analysis.kernels.discovery import Assessed, assess_pairs, from_significance
from tscorr.analysis.kernels.significance import assess, chunk_rows_for
from tscorr.analysis.kernels.xcorr import Prepared
from tscorr.analysis.request import XcorrParams
from tscorr.errors import NoData
from tscorr.units import Duration


@dataclass
class Part:
    """One event set against one batch of series: every pair's peak row, and every lag of
    the pairs stored whole (``whole``: their indices, ascending)."""

    label: str
    names: list[str]
    bucket: Duration
    max_lag: int
    column: np.ndarray  # (m,) the peak row's column
    r_at: np.ndarray
    n_at: np.ndarray
    p_at: np.ndarray
    q_at: np.ndarray
    p_peak: np.ndarray
    method: list[str]
    p_exact: np.ndarray  # (m,) the exact all-shift check of p_peak (NaN: not made)
    check: np.ndarray  # (m,) bool: the check disagrees with p_peak
    whole: np.ndarray  # indices of the pairs whose every lag is held below
    r: np.ndarray  # (len(whole), 2L+1)
    n: np.ndarray
    p: np.ndarray
    q: np.ndarray
    band: np.ndarray  # (len(whole), 2), NaN for tests without a band

    @classmethod
    def of(cls, label: str, names: list[str], bucket: Duration, lag: int, got: Assessed) -> Part:
        m = len(names)
        at = np.arange(m), got.column
        whole = np.flatnonzero(got.detailed)
        band = got.band[whole] if got.band is not None else np.full((whole.size, 2), np.nan)
        return cls(
            label,
            names,
            bucket,
            lag,
            got.column,
            got.r[at],
            got.n[at],
            got.p_at,
            got.q_at,
            got.p_peak,
            list(got.method),
            got.p_exact,
            got.check,
            whole,
            got.r[whole],
            got.n[whole],
            got.p[whole],
            got.q[whole],
            band,
        )

    def add(self, index: np.ndarray, got: Assessed) -> None:
        """Every lag of pairs ``index`` (tested again lag by lag: the same numbers as the
        first pass's, and every lag's own p-value)."""
        self.whole = np.concatenate([self.whole, index])
        order = np.argsort(self.whole, kind="stable")
        self.whole = self.whole[order]
        band = got.band if got.band is not None else np.full((len(index), 2), np.nan)
        for name in ("r", "n", "p", "q"):
            setattr(self, name, np.vstack([getattr(self, name), getattr(got, name)])[order])
        self.band = np.vstack([self.band, band])[order]
        # p_peak and the method stay the first pass's (q_peak was computed from them); the
        # per-lag test gives the same numbers (to rounding, where a tail was fitted)
        self.p_at[index], self.q_at[index] = got.p_at, got.q_at


def checked_only() -> pl.Expr:
    """``p_check`` where an exact check was made (``p_peak_exact`` set), else null: a pair
    never checked has no verdict, not "agrees"."""
    return (
        pl.when(pl.col("p_peak_exact").is_null())
        .then(None)
        .otherwise(pl.col("p_check"))
        .alias("p_check")
    )


@dataclass(frozen=True)
class PeakFile:
    """A task's pairs written to Parquet instead of handed back (:mod:`tscorr.analysis.peakfiles`):
    every pair's peak row, and every lag of the pairs already tested lag by lag whose
    ``p_peak`` could make them discoveries (None: no such pair)."""

    peaks: str
    lags: str | None
    pairs: int


@dataclass
class BlockResult:
    """What one block gave: a :class:`Part` per event set (or, from a task that wrote its
    pairs to files, the files), the nulls' records and notes."""

    parts: list[Part] = field(default_factory=list)
    nulls: list[dict[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[PeakFile] = field(default_factory=list)


def correlate_block(
    block: Block,
    sets: dict[str, pl.DataFrame],
    params: XcorrParams,
    keep_all: bool,
    chunk_memory: int,
    overwrite: bool = True,
    tick: Callable[[int], None] | None = None,
) -> BlockResult:
    """Every event set of ``sets`` against every series of ``block`` (lags -L..L, L the
    run's ``--max-lag`` in the block's buckets): each pair's peak row, and every lag of the
    pairs stored whole (all of them when ``keep_all``).

    ``chunk_memory``: bytes the kernels' chunks of rows may use. ``overwrite``: the block's
    ``y`` may be centred in place (a caller's own data must not). ``tick(pairs)`` is called
    before each event set with the pairs it is about to test (progress)."""
    out = BlockResult()
    notes = out.notes
    lag = params.scale().on(block.bucket).max_lag
    observed = (~np.isnan(block.y)).sum(axis=1)
    usable = observed >= lag + 3
    _note_skipped(notes, np.array(block.names)[~usable], lag + 3, block.bucket)
    if not usable.any() or lag >= block.grid.n - 2:
        if tick:
            tick(len(sets) * len(block.names))
        return out
    names = [n for n, ok in zip(block.names, usable, strict=True) if ok]
    y = block.y if usable.all() else block.y[usable]  # (a mask would copy every row)
    # the series' FFTs and window sums, made once for every event set of the block
    prep = (
        Prepared.build(y, lag, params.estimator, overwrite=overwrite)
        if params.test != "prewhiten"
        else None
    )
    chunk_rows = chunk_rows_for(chunk_memory, block.grid.n)
    for label, events in sets.items():
        if tick:
            tick(len(block.names))
        try:
            e, dropped = align.encode_events(
                events, block.grid, params.encode.name, params.encode.half_life
            )
        except NoData:
            notes.append(f"event set '{label}': no event inside the span of {few(names)}")
            continue
        if dropped:
            notes.append(f"event set '{label}': {dropped} events outside the span of {few(names)}")
        if prep is None:  # prewhitening filters each series on its own
            sig = assess(e, y, lag, params.estimator, params.test)
            got = from_significance(sig, lag)
        else:
            got = assess_pairs(
                prep,
                e,
                params.test,
                params.surrogates,
                params.seed,
                chunk_rows,
                detail="all" if keep_all else "peaks",
            )
        if got.info:
            out.nulls.append({"event_set": label, "series": few(names), **got.info})
            if got.info.get("p_min") is None:
                notes.append(
                    f"event set '{label}', {few(names)}: no p-value, the surrogate test "
                    f"needs at least {got.info['minimum_buckets']} {block.bucket} buckets "
                    f"at --max-lag {lag} (has {block.grid.n})"
                )
        flat = np.isnan(got.r).all(axis=1)
        if flat.any():
            notes.append(
                f"event set '{label}': no correlation with {few(list(np.array(names)[flat]))}"
                " (constant over the span, or no events where it has values)"
            )
        out.parts.append(Part.of(label, names, block.bucket, lag, got))
    return out


def few(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _note_skipped(notes: list[str], skipped: np.ndarray, need: int, bucket: Duration) -> None:
    if len(skipped):
        notes.append(
            f"{len(skipped)} series skipped, fewer than {need} observed {bucket} buckets: "
            f"{few([str(s) for s in skipped])}"
        )
