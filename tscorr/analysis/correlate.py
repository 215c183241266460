"""The xcorr run: store -> align -> transform -> kernels -> significance -> results tables.

Lag convention: lag k > 0 means the series moves k buckets after the events,
``r(k) = corr(e[t], y[t+k])``; ``lag_seconds = k * bucket``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from tscorr.analysis import align
from tscorr.analysis.inputs import Aligned, check_counts, event_sets, load_aligned, versions
from tscorr.analysis.kernels.significance import TESTS, Significance, assess, bh_qvalues
from tscorr.analysis.kernels.xcorr import ESTIMATORS, lags
from tscorr.errors import BadInput, NoData, UnknownName
from tscorr.store import Store
from tscorr.units import Duration, buckets_in, parse_duration

Step = Callable[[str, int, int], None]  # (what, done, total)


@dataclass(frozen=True)
class XcorrParams:
    """Every option of an xcorr run; stored as JSON in ``runs.params``."""

    events: str
    series: str = "*"
    bucket: str = "1h"
    max_lag: str | int = 24  # buckets, or a duration such as "7d"
    by: str | None = None
    encode: str = "impulse"
    transform: str = "none"
    season: str | None = None
    estimator: str = "ccf"
    test: str = "surrogate"
    surrogates: int = 0  # 0: every circular shift (exact); N >= 19: a seeded sample of N
    seed: int = 0
    tz: str | None = None  # None: each series' own zone (the one it was loaded in)
    label: str | None = None


@dataclass
class XcorrRun:
    run_id: int
    table: pl.DataFrame  # the run's xcorr rows
    peaks: pl.DataFrame  # one row per (event_set, series), sorted by q_peak then |r|
    notes: list[str]


def max_lag_buckets(value: str | int, bucket: Duration) -> int:
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    return buckets_in(parse_duration(str(value), "--max-lag"), bucket, "--max-lag")


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
    for name, value, known in (
        ("estimator", params.estimator, ESTIMATORS),
        ("test", params.test, TESTS),
    ):
        if value not in known:
            raise UnknownName(name, value, known)
    if params.test == "surrogate" and 0 < params.surrogates < 19 or params.surrogates < 0:
        raise BadInput(
            "--surrogates must be 0 (every circular shift) or at least 19 "
            "(p-values cannot go below 1/(N+1))"
        )
    check_counts(seed=params.seed, surrogates=params.surrogates)
    bucket = parse_duration(params.bucket, "--bucket")
    max_lag = max_lag_buckets(params.max_lag, bucket)
    if max_lag < 0:
        raise BadInput(f"--max-lag {params.max_lag} must not be negative")
    sets = sets if sets is not None else event_sets(store, params.events, params.by)
    data = data or load_aligned(
        store, params.series, bucket, params.tz, params.transform, params.season
    )
    notes = list(data.notes)
    parts = []
    nulls: list[dict[str, object]] = []
    total = len(sets) * len(data.blocks)
    done = 0
    for block in data.blocks:
        lag = block.span(max_lag)
        observed = (~np.isnan(block.y)).sum(axis=1)
        usable = observed >= lag + 3
        _note_skipped(notes, np.array(block.names)[~usable], lag + 3, block.bucket)
        if not usable.any() or lag >= block.grid.n - 2:
            done += len(sets)
            continue
        names = [n for n, ok in zip(block.names, usable, strict=True) if ok]
        y = block.y[usable]
        for label, events in sets.items():
            if step:
                step("pairs", done, total)
            done += 1
            try:
                e, dropped = align.encode_events(events, block.grid, params.encode)
            except NoData:
                notes.append(f"event set '{label}': no event inside the span of {_few(names)}")
                continue
            if dropped:
                notes.append(
                    f"event set '{label}': {dropped} events outside the span of {_few(names)}"
                )
            sig = assess(e, y, lag, params.estimator, params.test, params.surrogates, params.seed)
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
    if step:
        step("pairs", total, total)
    if not parts:
        raise NoData(
            "no series has both enough buckets for this --max-lag and events inside its span"
        )
    table = pl.concat(parts)
    table = table.with_columns(pair_qvalues(table, "p_peak").alias("q_peak"))
    record = asdict(params) | {
        "max_lag_buckets": max_lag,
        "alignment": data.record(),
        "inference": {
            "discovery": "p_peak per pair; q_peak = Benjamini-Hochberg over the pairs of the run",
            "localisation": "p_value per lag; q_value = adjusted within the pair (max-|r|)",
            "nulls": nulls,
        },
        "notes": notes,
    }
    run_id = store.save_run("xcorr", record, versions(), {"xcorr": table}, params.label)
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
    return pl.DataFrame(
        {
            "event_set": [label] * (m * width),
            "series": np.repeat(np.array(names, dtype=object), width).tolist(),
            "lag": lag.astype(np.int32),
            "lag_seconds": (lag * bucket.seconds).astype(float),
            "r": sig.r.ravel(),
            "n": sig.n.ravel().astype(np.int64),
            "p_value": sig.p.ravel(),
            "q_value": sig.q.ravel(),
            "p_peak": np.repeat(sig.p_peak, width),
            "p_method": np.repeat(np.array(sig.method, dtype=object), width).tolist(),
        },
        nan_to_null=True,
        schema_overrides={"p_method": pl.String},
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
