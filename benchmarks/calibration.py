"""Calibration and power of tscorr's inference, measured on seeded simulations.

    python3 benchmarks/calibration.py [--runs 20] [--series 200]

Prints, per null (lognormal, t3, pageviews-like, Gaussian AR(1)): in how many of --runs xcorr
runs (--series series against 30 random events) at least one pair is flagged at q < 0.05 (a
global null: BH at 0.05 should flag something in about 1 run in 20); the share of series
found at 1.5x/2x/3x responses; few-event recall (15 clustered events, 10 series with a lag +3
response); event-study interval coverage at 3/5/10/30 events; and how often the peak row's
interval excludes 1 when nothing happens.

The same script runs against an older checkout (PYTHONPATH=old/checkout) to compare: it uses
the kernel functions, adapting to the old signatures where they differ.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from simulate import NULLS, clustered_events, hourly_counts, null_series, random_events  # noqa: E402

from tscorr.analysis.kernels import eventstudy as es  # noqa: E402
from tscorr.analysis.kernels.adjust import bh_qvalues  # noqa: E402
from tscorr.analysis.kernels.significance import assess  # noqa: E402

NEW = (
    "q"
    in inspect.signature(
        type(assess(np.ones(50), np.ones((1, 50)), 1, test="none")).__init__
    ).parameters
)


def flagged_pairs(sig: object) -> np.ndarray:
    """Pairs flagged at 0.05: q_peak (BH over pairs) now; q_value over every lag before."""
    if NEW:
        return bh_qvalues(sig.p_peak) < 0.05  # type: ignore[attr-defined]
    return (bh_qvalues(sig.p) < 0.05).any(axis=1)  # type: ignore[attr-defined]


def null_runs(kind: str, runs: int, m: int, n: int, L: int) -> int:
    hits = 0
    for run in range(runs):
        rng = np.random.default_rng(1000 + run)
        y = null_series(rng, kind, m, n)
        e = random_events(rng, n, 30)
        hits += bool(flagged_pairs(assess(e, y, L, seed=run)).any())
    return hits


def power(multiple: float, m: int, n: int, L: int) -> float:
    rng = np.random.default_rng(7)
    y = null_series(rng, "lognormal", m, n)
    e = random_events(rng, n, 30, margin=L + 2)
    at = np.flatnonzero(e) + 1
    y[:, at] *= multiple
    return float(flagged_pairs(assess(e, np.log(y), L)).mean())


def few_event_recall(n: int, L: int) -> int:
    rng = np.random.default_rng(11)
    y = null_series(rng, "gaussian", 10, n)
    e = clustered_events(rng, n, 5, 3, 8, L + 5)
    y[:, np.flatnonzero(e) + 3] += 2.5
    sig = assess(e, y, L)
    lag_ok = np.argmax(np.abs(sig.r), axis=1) == L + 3  # type: ignore[attr-defined]
    return int((flagged_pairs(sig) & lag_ok).sum())


def _pool(y: np.ndarray, pos: np.ndarray, before: int, after: int, base: Any) -> Any:
    """The pooled study in whichever version of tscorr is checked out (to compare them)."""
    try:
        from tscorr.analysis.kernels.study import study
    except ImportError:  # before the model-based event study
        res = es.responses(y, pos, before, after, base, 3600)
        if "res" in inspect.signature(es.pool).parameters:  # type: ignore[attr-defined]
            return es.pool(res)  # type: ignore[attr-defined]
        return es.pool(res.ratio, res.lags, 999, 0)  # type: ignore[attr-defined]
    return study(y, pos, before, after, base, 3600).pooled


def coverage(events: int, sims: int, truth: float = 3.0) -> tuple[float, float]:
    """Interval coverage of a planted 3x at lag 0 and the pooled estimate's mean."""
    rng = np.random.default_rng(events)
    base = es.Baseline("prev-days", 7)
    covered, estimates = 0, []
    for _ in range(sims):
        days = 8 + events * 2 + 2
        lam = hourly_counts(rng, days, 3.0)
        pos = (8 + 2 * np.arange(events)) * 24 + rng.integers(0, 24, events)
        lam = lam.copy()
        lam[pos] *= truth
        y = rng.poisson(lam).astype(float)[None, :]
        pooled = _pool(y, pos, 0, 0, base)
        lo, hi = pooled.ci_low[0, 0], pooled.ci_high[0, 0]
        covered += bool(lo <= truth <= hi)
        estimates.append(pooled.mean_ratio[0, 0])
    return covered / sims, float(np.nanmean(estimates))


def null_peak_exclusion(sims: int) -> float:
    rng = np.random.default_rng(5)
    base = es.Baseline("prev-days", 7)
    excluded = 0
    for _ in range(sims):
        y = rng.poisson(hourly_counts(rng, 40, 20.0)).astype(float)[None, :]
        pos = (8 + 3 * np.arange(10)) * 24 + rng.integers(0, 18, 10)
        pooled = _pool(y, pos, 0, 6, base)
        i = pooled.peak[0]
        lo = getattr(pooled, "peak_low", pooled.ci_low[:, i])[0]
        hi = getattr(pooled, "peak_high", pooled.ci_high[:, i])[0]
        excluded += not (lo <= 1.0 <= hi)
    return excluded / sims


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--series", type=int, default=200)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--lag", type=int, default=24)
    args = ap.parse_args()
    start = time.perf_counter()
    print(f"inference: {'new (q_peak over pairs)' if NEW else 'old (q_value over every lag)'}")
    for kind in NULLS:
        hits = null_runs(kind, args.runs, args.series, args.n, args.lag)
        print(f"null {kind:10s}: runs with a false discovery {hits} / {args.runs}", flush=True)
    for mult in (1.5, 2.0, 3.0):
        print(f"power at {mult}x (lag +1, 30 events): {power(mult, 50, args.n, args.lag):.2f}")
    print(f"few-event recall (15 clustered events): {few_event_recall(args.n, args.lag)} / 10")
    for events in (3, 5, 10, 30):
        cov, mean = coverage(events, 300)
        print(f"coverage with {events:2d} events: {cov:.3f} (mean estimate {mean:.2f}, truth 3)")
    print(f"peak interval excludes 1 with no effect: {null_peak_exclusion(300):.3f}")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
