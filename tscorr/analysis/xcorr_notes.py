"""The notes an xcorr run writes about its inference: how its pairs got their p-values,
what the exact check found, and when a run is too big for its own evidence."""

from __future__ import annotations

import numpy as np

from tscorr.analysis.kernels.ranknormal import CHECK_BELOW
from tscorr.choices import DISCOVERY_Q


def method_counts(method: list[str], p_exact: np.ndarray, check: np.ndarray) -> dict[str, object]:
    """How the run's pairs got their p_peak (``method``, one per pair), and what the exact
    check found (``p_exact``: NaN where not made; ``check``: it disagrees)."""
    counts: dict[str, int] = {}
    for name in method:
        counts[name] = counts.get(name, 0) + 1
    checked = int(np.count_nonzero(np.isfinite(p_exact)))
    return {"pairs": counts, "checked": checked, "check_disagrees": int(np.count_nonzero(check))}


def method_note(method: list[str], p_exact: np.ndarray, check: np.ndarray) -> str:
    """One sentence: the pairs per p_method and the exact check's disagreements."""
    return counts_note(method_counts(method, p_exact, check))


def counts_note(found: dict[str, object]) -> str:
    """:func:`method_note` from what :func:`method_counts` found (or SQL counted)."""
    counts = found["pairs"]
    assert isinstance(counts, dict)
    by = ", ".join(f"{name} {count:,}" for name, count in sorted(counts.items()))
    text = f"p_peak by method (pairs): {by}"
    if found["checked"]:
        text += (
            f"; the exact all-shift count (p_peak_exact) was made for the {found['checked']:,} "
            f"pairs with p_peak <= {CHECK_BELOW:g}, and disagrees with p_peak (p_check) in "
            f"{found['check_disagrees']:,}"
        )
    return text


STRONG = 1e-3  # a pair this strong on its own is worth a word when the run hides it
# a run that tested no pair (one process, or ranked out of core) says why
NO_PAIR = "no series has both enough buckets for this --max-lag and events inside its span"


def unreachable_note(p_peak: np.ndarray, q_peak: np.ndarray, width: int) -> str | None:
    """A note for a run too big for its own evidence: some pairs have ``p_peak <= STRONG``
    but none reaches ``q_peak <= DISCOVERY_Q``. Benjamini-Hochberg over N pairs needs
    ``p_peak <= 0.05 k / N`` for k discoveries, and a peak over ``width`` lags pays for all
    of them (Sidak's factor; with ``--surrogates N`` also the shifts' resolution)."""
    p = p_peak[np.isfinite(p_peak)]
    q = q_peak[np.isfinite(q_peak)]
    return unreachable_text(
        int(np.count_nonzero(p <= STRONG)),
        float(p.min()) if p.size else None,
        float(q.min()) if q.size else None,
        p.size,
        width,
    )


def unreachable_text(
    strong: int, p_min: float | None, q_min: float | None, tested: int, width: int
) -> str | None:
    """:func:`unreachable_note` from its counts: the pairs with ``p_peak <= STRONG``, the
    smallest finite p_peak and q_peak, the pairs with a finite p_peak, the widest window."""
    if not strong or (q_min is not None and q_min <= DISCOVERY_Q):
        return None
    assert p_min is not None  # a strong pair has a p_peak
    return (
        f"{strong:,} pairs have p_peak <= {STRONG:g} (the smallest {p_min:.2g}), but "
        f"none reaches q_peak <= {DISCOVERY_Q} over the run's {tested:,} pairs, where k "
        f"discoveries need p_peak <= {DISCOVERY_Q / tested:.1g} x k; a peak over up to {width} "
        "lags pays for every lag: test fewer pairs (series or event sets) or use a narrower "
        "--max-lag"
    )
