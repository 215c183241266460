"""What every analysis reads: series aligned on one grid, and event sets.

Shared by xcorr, respond, scan and explain, so that all of them align the same way
(see :mod:`tscorr.align` for the gap policy) and record the same library versions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np
import polars as pl

from tscorr import align
from tscorr.errors import NoData, UnknownName
from tscorr.store import Store
from tscorr.transforms import apply_transforms
from tscorr.units import Duration, buckets_in, parse_duration

BY = ("kind", "name")


@dataclass
class Aligned:
    """Series on the analysis grid, ready for any kernel."""

    grid: align.Grid
    names: list[str]
    y: np.ndarray  # (m, n) after transforms
    raw: np.ndarray  # (m, n) before transforms
    censored: np.ndarray  # (m, n) upper bound where a bucket is censored, else NaN
    aggs: list[str] = field(default_factory=list)  # each row's agg (sum, mean, last, max)
    notes: list[str] = field(default_factory=list)


def versions() -> dict[str, str]:
    out = {}
    for pkg in ("tscorr", "duckdb", "polars", "numpy", "scipy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def load_aligned(
    store: Store, glob: str, bucket: Duration, tz: str, transform: str, season: str | None
) -> Aligned:
    """Read the series matching ``glob``, bucket them on one grid, apply ``transform``."""
    meta = store.series_matching(glob)
    if meta.height == 0:
        raise NoData(f"no series matches '{glob}'; 'tscorr ls series' lists them")
    points = store.read_points(meta["series_id"].to_list())
    if points.height == 0:
        raise NoData(f"the series matching '{glob}' have no points")
    grid = align.make_grid(points["ts"].min(), points["ts"].max(), bucket, tz)
    names = meta["name"].to_list()
    ids = meta["series_id"].to_list()
    censored_series = [bool(json.loads(a or "{}").get("censored")) for a in meta["attrs"].to_list()]
    steps = _native_steps(points, meta)
    coarse = [step is not None and step > bucket.seconds for step in steps]
    fill_zero = [
        agg == "sum" and not cens and not too_coarse
        for agg, cens, too_coarse in zip(
            meta["agg"].to_list(), censored_series, coarse, strict=True
        )
    ]
    raw = align.series_matrix(points, ids, meta["agg"].to_list(), grid, fill_zero)
    censored = align.censored_matrix(store.read_censored(ids), ids, grid)
    season_buckets = (
        buckets_in(parse_duration(season, "--season"), bucket, "--season") if season else None
    )
    y = apply_transforms(raw, transform, season_buckets)
    notes = []
    coarse_counts = [
        c and a == "sum" and not cens
        for c, a, cens in zip(coarse, meta["agg"].to_list(), censored_series, strict=True)
    ]
    if any(coarse_counts):
        count = sum(coarse_counts)
        notes.append(
            f"{count} count series are coarser than --bucket {bucket}: their empty buckets are "
            "left missing, not 0; choose a --bucket at least as large as their step"
        )
    if any(censored_series):
        notes.append("censored series (top lists): days below the cut-off are missing, not 0")
    return Aligned(grid, names, y, raw, censored, meta["agg"].to_list(), notes)


def _native_steps(points: pl.DataFrame, meta: pl.DataFrame) -> list[float | None]:
    """Each series' own step in seconds, where it has one.

    Declared by its feed (``attrs.bucket``, e.g. an access log counted per 15m), or read off a
    regular series: when at least 90% of the gaps between its points are the smallest gap.
    Irregular series (counts written only on days with something to count) have none, so
    their empty buckets still read as 0.
    """
    # points come sorted by (series_id, ts): one pass of numpy segment reductions
    regular: dict[int, float] = {}
    if points.height > 1:
        sid = points["series_id"].to_numpy()
        us = points["ts"].dt.epoch("us").to_numpy()
        same = sid[1:] == sid[:-1]
        gap = np.where(same & (np.diff(us) > 0), np.diff(us) / 1e6, np.inf)
        starts = (
            np.flatnonzero(np.r_[True, sid[1:-1] != sid[:-2]]) if len(gap) > 1 else np.array([0])
        )
        smallest = np.minimum.reduceat(gap, starts)
        seg = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(gap)]))
        valid = np.isfinite(gap)
        hits = np.add.reduceat((gap == smallest[seg]) & valid, starts)
        count = np.add.reduceat(valid, starts)
        for k, start in enumerate(starts):
            if count[k] and hits[k] >= 0.9 * count[k]:
                regular[int(sid[start])] = float(smallest[k])
    steps: list[float | None] = []
    for sid, attrs in zip(meta["series_id"].to_list(), meta["attrs"].to_list(), strict=True):
        declared = json.loads(attrs or "{}").get("bucket")
        steps.append(float(parse_duration(declared).seconds) if declared else regular.get(sid))
    return steps


def event_sets(store: Store, where: str, by: str | None) -> dict[str, pl.DataFrame]:
    events = store.select_events(where)
    if events.height == 0:
        raise NoData(f"no event matches --events \"{where}\"; 'tscorr ls events' lists kinds")
    if by is None:
        return {where: events}
    if by not in BY:
        raise UnknownName("--by value", by, BY)
    return {f"{by} = {key}": part for (key,), part in events.group_by(by, maintain_order=True)}
