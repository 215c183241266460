"""Null calibration, power and monotonicity of xcorr's p_peak on SYNTHETIC families (issue 25).

    python benchmarks/null_families.py                      # 20,000 null pairs per family
    python benchmarks/null_families.py --pairs 2000 --power --monotone
    PYTHONPATH=/other/checkout python benchmarks/null_families.py   # another version

Null families (``tests/simulate.py``): lognormal, t3, pageviews-like, AR(0.9) with a daily
cycle, overdispersed counts, sparse counts, clustered events, trends and random walks, and
series with three gaps of 1-7 days; 60 days of hours, +-24 lags, 30 random events (6
bursts of 5 for ``clustered``). For each: the share of pairs with p_peak at or below 0.05,
1e-3 and 1e-4, and the 99.9% Poisson bound the share below 0.05 and 1e-3 must stay under
(twice nominal for 1e-4). ``--power``: 2x responders (values doubled 3 hours after each of
30 events) on pageviews-like series, complete and with the three gaps. ``--monotone``:
median p_peak by effect size for 1 to 100 events. Uses only ``assess_pairs`` (in every
version), so two checkouts can be compared. Prints; asserts nothing (the tests do).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import poisson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from simulate import FAMILIES, family_events, family_series, three_gaps  # noqa: E402

from tscorr.analysis.kernels.discovery import assess_pairs  # noqa: E402
from tscorr.analysis.kernels.xcorr import Prepared  # noqa: E402

N, LAG, SETS = 60 * 24, 24, 5  # --hours and --max-lag change N and LAG
LEVELS = (0.05, 1e-3, 1e-4)


def null_shares(kind: str, pairs: int, seed: int) -> tuple[np.ndarray, dict[str, int], float]:
    rng = np.random.default_rng(seed)
    series = max(1, pairs // SETS)
    y = family_series(rng, kind, series, N)
    prep = Prepared.build(y, LAG)
    out, methods = [], {}
    t = time.perf_counter()
    for _ in range(SETS):
        got = assess_pairs(prep, family_events(rng, kind, N), detail="peaks")
        out.append(got.p_peak)
        for name in got.method:
            methods[name] = methods.get(name, 0) + 1
        check = getattr(got, "check", None)  # the exact check (versions that have it)
        if check is not None:
            methods["p_check"] = methods.get("p_check", 0) + int(np.count_nonzero(check))
    return np.concatenate(out), methods, time.perf_counter() - t


def bound(level: float, pairs: int) -> int:
    mean = level * pairs * (2 if level < 1e-3 else 1)
    return int(poisson.ppf(0.999, mean))


def power(seed: int, series: int = 200, sets: int = 20) -> None:
    """2x responders on pageviews-like series, complete and with three gaps of 1-7 days cut
    out of the same rows (the same events): common random numbers, so the difference is
    the gaps'."""
    rng = np.random.default_rng(seed)
    complete, gappy = [], []
    for _ in range(sets):
        y = family_series(rng, "pageviews", series, N)
        e = family_events(rng, "pageviews", N)
        at = np.flatnonzero(e) + 3
        y[:, at[at < N]] *= 2.0
        complete.append(assess_pairs(Prepared.build(y, LAG), e, detail="peaks").p_peak)
        y[three_gaps(rng, series, N)] = np.nan
        gappy.append(assess_pairs(Prepared.build(y, LAG), e, detail="peaks").p_peak)
    print(
        f"2x responders, 30 events, +-24 lags ({sets} event sets x {series} series): share "
        "found at p_peak <= 0.05 / 1e-4 / 1e-8"
    )
    for label, p in (("complete", complete), ("three gaps of 1-7 days", gappy)):
        shares = [float(np.mean(np.concatenate(p) <= a)) for a in (0.05, 1e-4, 1e-8)]
        print(f"  {label:24s} " + " / ".join(f"{s:.3f}" for s in shares))


def monotone(seed: int, reps: int = 40) -> None:
    """Median p_peak (and median |r| at the peak) of Student-t(3) AR(0.3) series with a
    response of size b x sd at lag +3; the same noise and events at every size."""
    sizes = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    print("median p_peak [median peak |r|] by response (sd units) and events (+-24 lags)")
    print("  events " + "".join(f"{b:>17.2f}" for b in sizes))
    for events in (1, 3, 10, 30, 100):
        rng = np.random.default_rng(seed + events)
        noise = family_series(rng, "t3", reps, N)
        hits = [rng.choice(N - 10, events, replace=False) for _ in range(reps)]
        cells = []
        for b in sizes:
            p, r = [], []
            for i in range(reps):
                e = np.zeros(N)
                e[hits[i]] = 1.0
                y = noise[i].copy()
                y[hits[i] + 3] += b * np.std(noise[i])
                got = assess_pairs(Prepared.build(y[None, :], LAG), e)
                p.append(got.p_peak[0])
                r.append(abs(got.r[0, got.column[0]]))
            cells.append(f"{np.median(p):9.2g} [{np.median(r):.2f}]")
        print(f"  {events:6d} " + "".join(f"{c:>17s}" for c in cells))


def main() -> None:
    global N, LAG
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20_000, help="null pairs per family")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--power", action="store_true")
    parser.add_argument("--monotone", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hours", type=int, default=N, help="series length (buckets)")
    parser.add_argument("--max-lag", type=int, default=LAG)
    a = parser.parse_args()
    N, LAG = a.hours, a.max_lag
    if a.pairs:
        print(f"null pairs per family: {a.pairs:,} ({N:,} hours, +-{LAG} lags)")
        print(
            "family       p<=0.05 count<=bound  p<=1e-3 ...          p<=1e-4 ...          methods, s"
        )
        for i, kind in enumerate(a.families.split(",")):
            p, methods, seconds = null_shares(kind, a.pairs, a.seed + i)
            ok = np.isfinite(p)
            cells = []
            for level in LEVELS:
                count = int(np.count_nonzero(p[ok] <= level))
                cells.append(
                    f"{count / ok.sum():.5f} {count:>4d}<={bound(level, int(ok.sum())):<4d}"
                )
            shown = ", ".join(f"{k} {v}" for k, v in sorted(methods.items()))
            print(f"{kind:12s} " + "  ".join(cells) + f"  {shown}  {seconds:.1f}")
    if a.power:
        power(a.seed)
    if a.monotone:
        monotone(a.seed)


if __name__ == "__main__":
    main()
