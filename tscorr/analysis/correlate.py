"""The xcorr run: store -> align -> transform -> kernels -> significance -> results tables.

Lag convention: lag k > 0 means the series moves k buckets after the events,
``r(k) = corr(e[t], y[t+k])``; ``lag_seconds = k * bucket``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from tscorr.analysis import align
from tscorr.analysis.inputs import Aligned, event_sets, load_aligned
from tscorr.analysis.kernels.significance import (
    Significance,
    assess,
    bh_qvalues,
    chunk_rows_for,
)
from tscorr.analysis.kernels.xcorr import Prepared, lags
from tscorr.analysis.request import XcorrParams, save_run
from tscorr.errors import NoData
from tscorr.store import Store
from tscorr.tables import result
from tscorr.units import Duration

Step = Callable[[str, int, int], None]  # (what, done, total)


@dataclass
class XcorrRun:
    run_id: int
    table: pl.DataFrame  # the run's xcorr rows
    peaks: pl.DataFrame  # one row per (event_set, series), sorted by q_peak then |r|
    notes: list[str]


def run_xcorr(
    store: Store,
    params: XcorrParams,
    step: Step | None = None,
    sets: dict[str, pl.DataFrame] | None = None,
    data: Aligned | None = None,
) -> XcorrRun:
    """Correlate each event set with each series at lags -L..L and store the run.

    ``sets`` and ``data`` (already selected events, already aligned and transformed series)
    spare a caller that has them a second read; they must match ``params``.
    """
    bucket = params.bucket
    max_lag = params.max_lag_buckets()
    sets = sets if sets is not None else event_sets(store, params.events, params.by)
    data = data or load_aligned(
        store, params.series, bucket, params.tz, params.transform, params.season
    )
    notes = list(data.notes)
    parts = []
    nulls: list[dict[str, object]] = []
    bands: list[dict[str, object]] = []
    peaks_p: list[tuple[np.ndarray, int]] = []  # each part's p_peak per pair, and its lags
    total = len(sets) * sum(len(b.names) for b in data.blocks)  # pairs
    done = 0
    for block in data.blocks:
        lag = block.span(max_lag)
        observed = (~np.isnan(block.y)).sum(axis=1)
        usable = observed >= lag + 3
        _note_skipped(notes, np.array(block.names)[~usable], lag + 3, block.bucket)
        if not usable.any() or lag >= block.grid.n - 2:
            done += len(sets) * len(block.names)
            continue
        names = [n for n, ok in zip(block.names, usable, strict=True) if ok]
        y = block.y[usable]
        # the series' FFTs and window sums, made once for every event set of the block
        prep = Prepared.build(y, lag, params.estimator) if params.test != "prewhiten" else None
        for label, events in sets.items():
            if step:
                step("pairs", done, total)
            done += len(block.names)
            try:
                e, dropped = align.encode_events(
                    events, block.grid, params.encode.name, params.encode.half_life
                )
            except NoData:
                notes.append(f"event set '{label}': no event inside the span of {_few(names)}")
                continue
            if dropped:
                notes.append(
                    f"event set '{label}': {dropped} events outside the span of {_few(names)}"
                )
            sig = assess(
                e,
                y,
                lag,
                params.estimator,
                params.test,
                params.surrogates,
                params.seed,
                prep=prep,
                chunk_rows=chunk_rows_for(store.memory_limit or 2**33, block.grid.n),
            )
            if sig.info:
                nulls.append({"event_set": label, "series": _few(names), **sig.info})
                if sig.info.get("p_min") is None:
                    notes.append(
                        f"event set '{label}', {_few(names)}: no p-value, the surrogate test "
                        f"needs at least {sig.info['minimum_buckets']} {block.bucket} buckets "
                        f"at --max-lag {lag} (has {block.grid.n})"
                    )
            flat = np.isnan(sig.r).all(axis=1)
            if flat.any():
                notes.append(
                    f"event set '{label}': no correlation with {_few(list(np.array(names)[flat]))}"
                    " (constant over the span, or no events where it has values)"
                )
            parts.append(_frame(label, names, sig, lag, block.bucket))
            peaks_p.append((sig.p_peak, sig.r.shape[1]))
            if sig.band is not None:
                bands += [
                    {"event_set": label, "series": name, "lag_level": one, "peak_level": top}
                    for name, (one, top) in zip(names, sig.band.tolist(), strict=True)
                ]
    if step:
        step("pairs", total, total)
    if not parts:
        raise NoData(
            "no series has both enough buckets for this --max-lag and events inside its span"
        )
    # q_peak: Benjamini-Hochberg over every pair, spread over each pair's lags (the parts
    # hold their pairs in order, each pair once)
    q = bh_qvalues(np.concatenate([p for p, _ in peaks_p]))
    spread = np.concatenate(
        [
            np.repeat(part_q, width)
            for part_q, (_, width) in zip(
                np.split(q, np.cumsum([len(p) for p, _ in peaks_p])[:-1]), peaks_p, strict=True
            )
        ]
    )
    table = pl.concat(parts).with_columns(pl.Series("q_peak", spread, nan_to_null=True))
    method = {
        "discovery": "p_peak per pair; q_peak = Benjamini-Hochberg over the pairs of the run",
        "localisation": "p_value per lag; q_value = adjusted within the pair (max-|r|)",
        "nulls": nulls,
        "bands": "per pair in the xcorr_bands table",
    }
    run_id = save_run(
        store,
        "xcorr",
        params,
        data.record(),
        {"max_lag": max_lag, "season": params.season_buckets()},
        method,
        notes,
        {"xcorr": table, "xcorr_bands": result("xcorr_bands", bands)},
    )
    table = table.with_columns(pl.lit(run_id, pl.Int64).alias("run_id"))
    return XcorrRun(run_id, table, peaks_of(table), notes)


def _few(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _note_skipped(notes: list[str], skipped: np.ndarray, need: int, bucket: Duration) -> None:
    if len(skipped):
        notes.append(
            f"{len(skipped)} series skipped, fewer than {need} observed {bucket} buckets: "
            f"{_few([str(s) for s in skipped])}"
        )


def _frame(
    label: str, names: list[str], sig: Significance, max_lag: int, bucket: Duration
) -> pl.DataFrame:
    m, width = sig.r.shape
    lag = np.tile(lags(max_lag), m)
    row = pl.Series(np.repeat(np.arange(m, dtype=np.uint32), width))
    # text columns gathered from the pairs' few values: no Python string per row
    return pl.DataFrame(
        {
            "event_set": pl.Series([label], dtype=pl.String).gather(np.zeros(m * width, np.uint32)),
            "series": pl.Series(names, dtype=pl.String).gather(row),
            "lag": lag.astype(np.int32),
            "lag_seconds": (lag * bucket.seconds).astype(float),
            "r": sig.r.ravel(),
            "n": sig.n.ravel().astype(np.int64),
            "p_value": sig.p.ravel(),
            "q_value": sig.q.ravel(),
            "p_peak": np.repeat(sig.p_peak, width),
            "p_method": pl.Series(sig.method, dtype=pl.String).gather(row),
        },
        nan_to_null=True,
    )


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


def peaks_of(table: pl.DataFrame) -> pl.DataFrame:
    """The lag with the largest |r| per (event_set, series), sorted by q_peak then |r|."""
    return (
        table.filter(pl.col("r").is_not_null())
        .sort(
            [pl.col("r").abs(), pl.col("lag").abs(), "lag"],
            descending=[True, False, False],
        )
        .group_by("event_set", "series", maintain_order=True)
        .first()
        .sort([pl.col("q_peak"), pl.col("r").abs()], descending=[False, True], nulls_last=True)
    )
