"""A request's spans counted in buckets, resolved once per request and once per block.

A request holds durations (``--max-lag 2d``, ``--after 12h``, ``--baseline pre:6h``).
:meth:`Scale.of` counts them in the requested bucket, checking that each is a whole number
of buckets (what ``runs.params.buckets`` records); :meth:`Scale.on` counts them again in one
alignment block's bucket (a daily series asked for at 1h: ``after`` 24 becomes 1, rounded
up). The runs and kernels read these counts: no duration or baseline text is read below the
request (tests/test_layers.py holds it).

Lag convention: lag k > 0 means the series moves k buckets after the events.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tscorr.analysis.kernels.baseline import Baseline
from tscorr.choices import MAX_BASELINE
from tscorr.errors import BadInput
from tscorr.units import Duration, buckets_in, finer, rescale


@dataclass(frozen=True)
class Scale:
    """Spans in whole buckets of ``bucket``; each command sets the ones it has."""

    bucket: Duration
    max_lag: int = 0  # xcorr: the largest lag
    before: int = 0  # respond: buckets studied before the event's bucket ...
    after: int = 0  # ... and after it (scan: also xcorr's largest lag)
    response: int = 1  # respond: buckets the pre-declared response sums (--window)
    window: int = 0  # explain: buckets before a spike searched for events (--window)
    season: int | None = None  # xcorr (seasonal-diff), explain (the spike baseline's phase)
    baseline: Baseline | None = None  # respond: a pre window counted in these buckets

    @classmethod
    def of(
        cls,
        bucket: Duration,
        *,
        max_lag: int | Duration = 0,
        before: Duration | None = None,
        after: Duration | None = None,
        baseline: Baseline | None = None,
        response: Duration | None = None,
        window: Duration | None = None,
        season: Duration | None = None,
    ) -> Scale:
        """The spans in buckets of ``bucket`` (the one requested); one that is not a whole
        number of them is refused, named as the CLI spells it (``--max-lag``)."""
        if not isinstance(max_lag, int):  # a duration; a number is counted in buckets already
            max_lag = buckets_in(max_lag, bucket, "--max-lag")
        return cls(
            bucket,
            max_lag=max_lag,
            before=buckets_in(before, bucket, "--before"),
            after=buckets_in(after, bucket, "--after"),
            baseline=None if baseline is None else _counted(baseline, bucket),
            response=1 if response is None else max(1, buckets_in(response, bucket, "--window")),
            window=buckets_in(window, bucket, "--window"),
            season=None if season is None else buckets_in(season, bucket, "--season"),
        )

    def on(self, bucket: Duration) -> Scale:
        """The same spans in buckets of ``bucket``, a block's (never finer than this one),
        rounded up."""
        if bucket == self.bucket:
            return self

        def up(buckets: int) -> int:
            return rescale(buckets, self.bucket, bucket)

        return Scale(
            bucket,
            max_lag=up(self.max_lag),
            before=up(self.before),
            after=up(self.after),
            response=up(self.response),
            window=up(self.window),
            season=None if self.season is None else up(self.season),
            baseline=self._baseline_on(bucket),
        )

    def periods(self) -> None:
        """Refuse a moving baseline whose day or week these buckets do not divide (a series
        analysed in weeks has no "previous day")."""
        if self.baseline is not None and self.baseline.kind != "pre":
            self.baseline.per_period(self.bucket.seconds)

    def _baseline_on(self, bucket: Duration) -> Baseline | None:
        """A ``pre`` window in a coarser block: its span in whole buckets where it is a
        multiple of them, else its buckets rounded up (never less than one)."""
        base = self.baseline
        if base is None or base.kind != "pre" or base.span is None:
            return base
        span = base.span
        if finer(span, bucket) or span.seconds % bucket.seconds:
            return replace(base, count=rescale(base.count, self.bucket, bucket))
        return replace(base, count=span.seconds // bucket.seconds)


def _counted(baseline: Baseline, bucket: Duration) -> Baseline:
    """A ``pre`` baseline's span in buckets of ``bucket`` (whole, at most MAX_BASELINE)."""
    if baseline.kind != "pre" or baseline.span is None:
        return baseline
    span = baseline.span
    if span.seconds % bucket.seconds:
        raise BadInput(f"--baseline pre:{span} is not a whole number of buckets")
    if span.seconds // bucket.seconds > MAX_BASELINE:
        raise BadInput(f"--baseline {baseline}: at most {MAX_BASELINE} buckets")
    return replace(baseline, count=span.seconds // bucket.seconds)
