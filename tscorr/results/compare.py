"""One sentence comparing two answers: which reaction was larger, with the uncertainty of
both, and which faded faster.

The sizes compare on the log scale: the ratio of the two multiples, with a 95% interval
whose standard error adds the two answers' own (each read off its interval as
``(log high - log low) / (2 x 1.96)``; the peak rows' intervals are already widened for
having picked the peak, so this errs wide). When that interval holds 1, the data cannot tell
which was larger. Speed compares the half-lives of the excess, in whole buckets.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from tscorr.results.wording import number, within

Z = 1.959964


def _log_se(row: dict[str, Any]) -> float | None:
    low, high = row.get("low"), row.get("high")
    if low is None or high is None or not (0 < low < high) or not math.isfinite(high):
        return None
    return (math.log(high) - math.log(low)) / (2 * Z)


def _size(row: dict[str, Any]) -> str:
    if row.get("multiple") is not None and math.isfinite(row["multiple"]):
        return f"{number(row['multiple'])} times its usual level"
    if row.get("at_least") is not None:
        return f"at least {number(row['at_least'])} times its usual level"
    return "a size that cannot be said"


def compare(a: dict[str, Any], b: dict[str, Any], what_a: str, what_b: str) -> str:
    """Compare answer rows ``a`` and ``b`` (rows of :func:`tscorr.results.answers.answers`),
    named ``what_a`` and ``what_b`` ('the race call', 'the Brexit result')."""
    text = (
        f"Compared: {what_a} moved {a['name']} to {_size(a)} ({a['verdict']}); {what_b} moved "
        f"{b['name']} to {_size(b)} ({b['verdict']})"
    )
    sa, sb = _log_se(a), _log_se(b)
    ma, mb = a.get("multiple"), b.get("multiple")
    if sa is not None and sb is not None and ma and mb and ma > 0 and mb > 0:
        d = math.log(ma / mb)
        half = Z * math.hypot(sa, sb)
        low, high = math.exp(d - half), math.exp(d + half)
        ratio = f"{number(math.exp(d))} times (95% interval {number(low)} to {number(high)})"
        if low <= 1 <= high:
            text += f". The data cannot tell which was larger: the first is {ratio} the second"
        elif d > 0:
            text += f". The first was the larger: {ratio} the second"
        else:
            text += f". The second was the larger: the first is {ratio} the second"
    else:
        text += _by_bounds(a, b)
    ha, hb = within(a.get("half_life"), a["unit"]), within(b.get("half_life"), b["unit"])
    # as in the answers: no decay is told of an excess that may be chance
    if ha and hb and "may be chance" not in (a["verdict"], b["verdict"]):
        text += (
            f"; both excesses halved {ha}" if ha == hb else f"; the excesses halved {ha} and {hb}"
        )
    return text + "."


def _surest(row: dict[str, Any]) -> float:
    """The multiple a row is sure of: its interval's lower end, or its lower bound."""
    for key in ("at_least", "low"):
        value = row.get(key)
        if value is not None and math.isfinite(value):
            return float(value)
    return 0.0


def _by_bounds(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Sizes known only as lower bounds on one side: larger only where a bound clears the
    other's upper end."""
    ha, hb = a.get("high"), b.get("high")
    la, lb = _surest(a), _surest(b)
    if lb and ha is not None and math.isfinite(ha) and lb > ha:
        return f". The second was the larger: at least {number(lb)} times, above the first's {number(ha)}"
    if la and hb is not None and math.isfinite(hb) and la > hb:
        return f". The first was the larger: at least {number(la)} times, above the second's {number(hb)}"
    return ". The data cannot tell which was larger (at least one size is only a lower bound)"


def comparisons(frame: pl.DataFrame, limit: int = 3) -> list[str]:
    """Within one run of several event sets: for the first ``limit`` series answered in two
    sets or more, a sentence comparing the first two sets."""
    out: list[str] = []
    for series, group in frame.group_by("series", maintain_order=True):
        if group.height < 2 or len(out) >= limit:
            continue
        a, b = group.row(0, named=True), group.row(1, named=True)
        out.append(compare(a, b, a["event_set"], b["event_set"]))
        del series
    return out
