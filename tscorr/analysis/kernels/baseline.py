"""What a baseline is, typed: ``prev-days:N`` (the same clock time on the N days before),
``same-weekday:K`` (on the K weeks before) or ``pre:DURATION`` (the buckets just before the
window opens). The request reads the text once (:mod:`tscorr.analysis.request`); its
:class:`~tscorr.analysis.scale.Scale` counts a ``pre`` span in each block's buckets; the
kernels (:mod:`.eventstudy`) only read ``kind`` and ``count``.

No numpy here: the CLI's requests read it at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from tscorr.errors import BadInput
from tscorr.units import Duration


@dataclass(frozen=True)
class Baseline:
    """``kind`` prev-days | same-weekday | pre; ``count`` days (prev-days), weeks
    (same-weekday) or, for ``pre``, buckets of the scale it was resolved in (0 before that);
    ``span``: the ``pre`` window as written."""

    kind: str
    count: int
    span: Duration | None = None

    def per_period(self, bucket_seconds: int) -> int:
        """Buckets in a day (prev-days) or a week (same-weekday); the bucket must divide it."""
        period = 86400 if self.kind == "prev-days" else 7 * 86400
        if period % bucket_seconds:
            raise BadInput(
                f"--baseline {self.kind}:{self.count} needs a bucket that divides a "
                f"{'day' if period == 86400 else 'week'}"
            )
        return period // bucket_seconds

    def __str__(self) -> str:
        return f"pre:{self.span}" if self.kind == "pre" else f"{self.kind}:{self.count}"
