"""One resolved scale per block: a request's durations are counted in buckets once
(:class:`Scale`), and nothing below the request converts a duration or reads a baseline's
text again (the AST check below holds it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tscorr.analysis.kernels.baseline import Baseline
from tscorr.analysis.request import ExplainParams, RespondParams, XcorrParams
from tscorr.analysis.scale import Scale
from tscorr.errors import BadInput
from tscorr.units import Duration

ANALYSIS = Path(__file__).resolve().parent.parent / "tscorr" / "analysis"
# where text becomes durations and durations become buckets: the request layer
REQUEST_LAYER = {"request.py", "scale.py"}
CONVERTERS = {
    "parse_duration",
    "parse_span",
    "buckets_in",
    "rescale",
    "baseline_spec",
    "parse_baseline",
}
# a series' native step as the catalogue stores it ("1d"): metadata, not a request's option
ALLOWED = {("inputs.py", "plan_alignment", "parse_duration")}

HOUR, DAY = Duration(1, "h"), Duration(1, "d")


def conversions(path: Path) -> list[tuple[str, str, str, int]]:
    """(file, function, name, line) of every call of a converter in ``path``."""
    found = []
    tree = ast.parse(path.read_text())
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if name in CONVERTERS:
                found.append((path.name, fn.name, name, node.lineno))
    return found


def test_no_duration_or_baseline_is_parsed_below_the_request() -> None:
    below = [p for p in sorted(ANALYSIS.rglob("*.py")) if p.name not in REQUEST_LAYER]
    wrong = [
        f"{where}:{line} {fn}() calls {name}"
        for path in below
        for where, fn, name, line in conversions(path)
        if (where, fn, name) not in ALLOWED
    ]
    assert not wrong, "resolve it once in Scale and pass the counts down: " + "; ".join(wrong)


def test_the_check_sees_a_conversion(tmp_path: Path) -> None:
    bad = tmp_path / "run.py"
    bad.write_text(
        "from tscorr import units\n"
        "def run(params, block):\n"
        "    return units.rescale(units.buckets_in(params.after, params.bucket, 'x'), 1, 2)\n"
    )
    assert {name for *_, name, _ in conversions(bad)} == {"rescale", "buckets_in"}


def test_a_request_is_counted_in_its_bucket_and_refused_where_not_whole() -> None:
    assert XcorrParams(events="true", max_lag="2d", season="1w").scale() == Scale(
        HOUR, max_lag=48, season=168
    )
    assert XcorrParams(events="true", max_lag=5).scale().max_lag == 5  # buckets already
    r = RespondParams(events="true", before="6h", after="12h", window="3h", baseline="pre:6h")
    assert r.scale() == Scale(
        HOUR, before=6, after=12, response=3, baseline=Baseline("pre", 6, Duration(6, "h"))
    )
    assert ExplainParams(series="s", window="12h").scale() == Scale(HOUR, window=12, season=24)
    with pytest.raises(BadInput, match="--max-lag 90m is not a whole number of 1h buckets"):
        XcorrParams(events="true", max_lag="90m")
    with pytest.raises(BadInput, match="--season 90m is not a whole number"):
        XcorrParams(events="true", season="90m")
    with pytest.raises(BadInput, match="--baseline pre:90m is not a whole number of buckets"):
        RespondParams(events="true", baseline="pre:90m")
    with pytest.raises(BadInput, match="at most"):
        RespondParams(events="true", baseline="pre:400d")


def test_a_block_counts_the_same_spans_in_its_own_buckets_rounded_up() -> None:
    asked = RespondParams(events="true", before="6h", after="36h", baseline="pre:48h").scale()
    daily = asked.on(DAY)
    assert (daily.bucket, daily.before, daily.after, daily.response) == (DAY, 1, 2, 1)
    assert daily.baseline == Baseline("pre", 2, Duration(48, "h"))  # whole days
    assert asked.on(HOUR) is asked
    # a pre window shorter than (or not whole in) the block's bucket: its buckets rounded up
    short = RespondParams(events="true", baseline="pre:6h").scale().on(DAY)
    assert short.baseline == Baseline("pre", 1, Duration(6, "h"))
    odd = RespondParams(events="true", baseline="pre:36h").scale().on(DAY)
    assert odd.baseline is not None and odd.baseline.count == 2
    x = XcorrParams(events="true", max_lag="2d", season="1w").scale().on(DAY)
    assert (x.max_lag, x.season) == (2, 7)


def test_a_moving_baseline_needs_a_bucket_that_divides_its_period() -> None:
    weekly = RespondParams(events="true", after="1w").scale().on(Duration(1, "w"))
    with pytest.raises(BadInput, match="prev-days:7 needs a bucket that divides a day"):
        weekly.periods()
    RespondParams(events="true", baseline="same-weekday:2").scale().on(DAY).periods()


def test_a_baseline_is_typed_and_recorded_as_written() -> None:
    r = RespondParams(events="true", baseline="same-weekday:4")
    assert r.baseline == Baseline("same-weekday", 4)
    assert r.record()["baseline"] == "same-weekday:4"
    assert RespondParams(events="true", baseline="pre:3d").record()["baseline"] == "pre:3d"
    assert RespondParams(events="true", baseline=Baseline("prev-days", 2)).baseline.count == 2
    with pytest.raises(BadInput, match="--baseline 'yesterday' is not understood"):
        RespondParams(events="true", baseline="yesterday")
