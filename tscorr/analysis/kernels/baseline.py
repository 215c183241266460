"""What a baseline option says, read once for the request and the event study alike:
``prev-days:N`` (the same clock time on the N days before), ``same-weekday:K`` (on the K
weeks before) or ``pre:DURATION`` (the buckets just before the window opens).

No numpy here: the CLI's requests read it at start-up.
"""

from __future__ import annotations

from tscorr.choices import BASELINES, MAX_BASELINE, listed
from tscorr.errors import BadInput
from tscorr.units import parse_duration


def baseline_spec(spec: str, bucket_seconds: int) -> tuple[str, int]:
    """(kind, count): days or weeks for the moving baselines, buckets of ``bucket_seconds``
    for ``pre``. A spec that is not understood, too long or not whole buckets is refused."""
    kind, _, arg = spec.strip().partition(":")
    if kind in ("prev-days", "same-weekday") and arg.isdigit() and int(arg) > 0:
        if int(arg) > MAX_BASELINE:
            raise BadInput(f"--baseline {spec}: at most {MAX_BASELINE} days or weeks")
        return kind, int(arg)
    if kind == "pre" and arg:
        span = parse_duration(arg, "--baseline pre")
        if span.seconds % bucket_seconds:
            raise BadInput(f"--baseline pre:{arg} is not a whole number of buckets")
        if span.seconds // bucket_seconds > MAX_BASELINE:
            raise BadInput(f"--baseline {spec}: at most {MAX_BASELINE} buckets")
        return "pre", span.seconds // bucket_seconds
    raise BadInput(f"--baseline '{spec}' is not understood; use {listed(BASELINES)}")
