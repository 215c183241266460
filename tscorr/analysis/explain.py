"""The explain run: find spikes in one series and list the events that preceded each.

Events in the window before a spike (``--window``, up to the spike's peak bucket) are ranked
by nearness (the nearest first) and, among equally near ones, by ``kind_r``: the largest
cross-correlation of that event kind (as impulses) with the series at lags 0..window
(lag k > 0: the series moves k buckets after the events).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from tscorr.analysis import align
from tscorr.analysis.inputs import load_aligned
from tscorr.analysis.kernels.spikes import Spike, find_spikes
from tscorr.analysis.kernels.xcorr import xcorr
from tscorr.analysis.request import ExplainParams, save_run
from tscorr.errors import BadInput, NoData
from tscorr.store import Store
from tscorr.tables import result


@dataclass
class ExplainRun:
    run_id: int
    spikes: pl.DataFrame
    explanations: pl.DataFrame
    notes: list[str]


def run_explain(store: Store, params: ExplainParams) -> ExplainRun:
    asked = params.scale()
    params, named = _one_series(store, params)
    exact = "".join(f"[{c}]" if c in "*?[" else c for c in params.series)  # a glob of one name
    data = load_aligned(store, exact, params.bucket, params.tz, "none", None)
    if data.names != [params.series]:
        raise NoData(f"no series is named '{params.series}'; 'tscorr ls series' lists them")
    block = data.blocks[0]
    y = block.raw[0]
    grid = block.grid
    scale = asked.on(block.bucket)  # the window and the season in the series' own buckets
    window, season = scale.window, scale.season
    found = find_spikes(
        y, params.threshold, season, params.history, counts=block.kinds[0] == "count"
    )
    events = store.select_events(params.events)
    positions = align.bucket_positions(events["ts"], grid) if events.height else np.zeros(0, int)
    kind_r = _kind_correlations(events, positions, y, window)
    spikes = result("spikes", [_spike_row(params.series, sp, grid.starts) for sp in found])
    why = result(
        "explanations",
        [
            row
            for sp in found
            for row in _explanations(params.series, sp, events, positions, kind_r, window, grid)
        ],
    )
    notes = [*named, *data.notes]
    if not found:
        notes.append(f"no bucket of {params.series} reaches z >= {params.threshold}")
    method = {
        "spikes": f"robust z >= {params.threshold} against the median of the same phase over "
        f"the previous {params.history} seasons (or buckets), past values only",
        "ranking": "events before each spike by nearness, then by kind_r",
    }
    run_id = save_run(
        store,
        "explain",
        params,
        data.record(),
        {"window": window, "season": season},
        method,
        notes,
        {"spikes": spikes, "explanations": why},
    )
    return ExplainRun(run_id, spikes, why, notes)


def _kind_correlations(
    events: pl.DataFrame, positions: np.ndarray, y: np.ndarray, window: int
) -> dict[str, float]:
    """Largest r of each event kind's impulses with ``y`` at lags 0..window."""
    out: dict[str, float] = {}
    lag_cap = max(0, min(window, len(y) - 3))
    for kind in events["kind"].unique().to_list():
        pos = positions[(events["kind"] == kind).to_numpy() & (positions >= 0)]
        if pos.size == 0:
            continue
        e = np.zeros(len(y))
        e[pos] = 1.0
        r, _ = xcorr(e, y, lag_cap)
        tail = r[0, lag_cap:]
        if np.isfinite(tail).any():
            out[kind] = float(np.nanmax(tail))
    return out


MATCHES_SHOWN = 10  # names listed when --series is a glob of several


def _one_series(store: Store, params: ExplainParams) -> tuple[ExplainParams, list[str]]:
    """``params`` naming one series: a glob (``pageviews:*``) that matches one name is that
    name, with a note; one that matches several is refused with the matches listed."""
    glob = params.series
    if not any(c in glob for c in "*?["):
        return params, []
    names = store.series_matching(glob)["name"].to_list()
    if not names:
        raise NoData(f"no series matches '{glob}'; 'tscorr ls series' lists them")
    if glob in names:
        return params, []  # a name holding a '*'
    if len(names) == 1:
        return replace(params, series=names[0]), [f"--series '{glob}' matches {names[0]}"]
    shown = ", ".join(names[:MATCHES_SHOWN])
    more = f" and {len(names) - MATCHES_SHOWN} more" if len(names) > MATCHES_SHOWN else ""
    raise BadInput(
        f"explain takes one series, and --series '{glob}' matches {len(names)}: {shown}{more}; "
        "pass one of them (tscorr ls series --series GLOB lists them all)"
    )


def _spike_row(series: str, sp: Spike, starts: pl.Series) -> dict[str, object]:
    return {
        "series": series,
        "ts": starts[sp.peak],
        "start_ts": starts[sp.start],
        "value": sp.value,
        "baseline": sp.baseline,
        "z": sp.z,
    }


def _explanations(
    series: str,
    sp: Spike,
    events: pl.DataFrame,
    positions: np.ndarray,
    kind_r: dict[str, float],
    window: int,
    grid: align.Grid,
) -> list[dict[str, object]]:
    """The events from ``window`` buckets before the spike's start to its peak, nearest first,
    then by their kind's correlation with the series."""
    near = (positions >= 0) & (positions <= sp.peak) & (positions >= sp.start - window)
    cand = (
        events.filter(pl.Series(near))
        .with_columns(
            pl.Series("lead_buckets", sp.peak - positions[near]),
            pl.col("kind")
            .replace_strict(kind_r, default=None, return_dtype=pl.Float64)
            .alias("kind_r"),
        )
        .sort(["lead_buckets", "kind_r"], descending=[False, True], nulls_last=True)
    )
    return [
        {
            "series": series,
            "spike_ts": grid.starts[sp.peak],
            "rank": rank,
            "event_id": ev["event_id"],
            "kind": ev["kind"],
            "name": ev["name"],
            "event_ts": ev["ts"],
            "lead_seconds": float(ev["lead_buckets"] * grid.bucket.seconds),
            "kind_r": ev["kind_r"],
        }
        for rank, ev in enumerate(cand.iter_rows(named=True), start=1)
    ]
