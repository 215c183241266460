"""What a load keeps of each series' times across the parts of one file, as arrays indexed
by the load's series code (so a file of a million series costs a few arrays, never a Python
object per series and part).

* ``latest``: the latest time of each series so far, so that a part whose series all start
  after it repeats nothing (most files), and only the others are checked row by row.
* the **run** of each series: when every part of it came as one run in time order at one
  gap (see :func:`tscorr.ingest.observe.native_steps_and_runs`), the parts folded into one
  ``(first, last, points, gap)``; a series with a part that was not one run, or whose parts
  do not join at that gap, is *broken*, and its native step is found from its points.

Times are epoch microseconds (UTC).
"""

from __future__ import annotations

import numpy as np

NONE = np.iinfo(np.int64).min  # no time yet
_EMPTY, _RUN, _BROKEN = 0, 1, 2  # a series' run: none yet, one run so far, broken
Run = tuple[int, int, int, int]  # (first, last, points, gap); gap 0 for one point
Spans = tuple[np.ndarray, np.ndarray, np.ndarray]  # a part's codes, first and last times


class SeriesRuns:
    """The latest time and the folded run of each series of one file, by code."""

    def __init__(self) -> None:
        self.latest = np.empty(0, dtype=np.int64)
        self.first = np.empty(0, dtype=np.int64)
        self.last = np.empty(0, dtype=np.int64)
        self.n = np.empty(0, dtype=np.int64)
        self.gap = np.empty(0, dtype=np.int64)
        self.state = np.empty(0, dtype=np.int8)

    def _grow(self, codes: np.ndarray) -> None:
        size = int(codes.max()) + 1 if codes.size else 0
        if size <= self.state.size:
            return
        size = max(size, 2 * self.state.size)
        extra = size - self.state.size
        self.latest = np.concatenate([self.latest, np.full(extra, NONE, dtype=np.int64)])
        for name in ("first", "last", "n", "gap"):
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros(extra, np.int64)]))
        self.state = np.concatenate([self.state, np.full(extra, _EMPTY, dtype=np.int8)])

    # --- the latest time -----------------------------------------------------------------

    def behind(self, codes: np.ndarray, first: np.ndarray) -> np.ndarray:
        """Which of ``codes`` (each once) start at or before their latest time so far."""
        self._grow(codes)
        latest = self.latest[codes]
        return np.asarray((latest != NONE) & (first <= latest), dtype=bool)

    def latest_of(self, codes: np.ndarray) -> np.ndarray:
        """The latest time so far of ``codes`` (NONE: none yet)."""
        return np.asarray(self.latest[codes], dtype=np.int64)

    def advance(self, codes: np.ndarray, last: np.ndarray) -> None:
        """``codes`` (each once) have times up to ``last``."""
        self._grow(codes)
        self.latest[codes] = np.maximum(self.latest[codes], last)

    # --- runs ----------------------------------------------------------------------------

    def fold(
        self,
        codes: np.ndarray,
        first: np.ndarray,
        last: np.ndarray,
        n: np.ndarray,
        gap: np.ndarray,
    ) -> None:
        """The next part's run of each of ``codes`` (each once; ``gap`` 0 for one point),
        joined to the runs before it: one run while it starts after the last, and the gap
        between them and within it is the series' one gap."""
        self._grow(codes)
        state = self.state[codes]
        new = state == _EMPTY
        self.first[codes[new]] = first[new]
        self.last[codes[new]] = last[new]
        self.n[codes[new]] = n[new]
        self.gap[codes[new]] = gap[new]
        self.state[codes[new]] = _RUN
        on = state == _RUN
        if not on.any():
            return
        c = codes[on]
        between = first[on] - self.last[c]
        had = self.gap[c]
        joined = np.where(had == 0, between, had)  # a first run of one point: the join's gap
        inner = gap[on]
        ok = (between > 0) & (between == joined) & ((inner == 0) | (inner == joined))
        self.last[c] = last[on]
        self.n[c] += n[on]
        self.gap[c] = joined
        self.state[c] = np.where(ok, _RUN, _BROKEN).astype(np.int8)

    def breaks(self, codes: np.ndarray) -> None:
        """``codes`` had a part that was not one run: their steps need their points."""
        self._grow(codes)
        self.state[codes] = _BROKEN

    def joined(self, codes: list[int]) -> dict[int, Run]:
        """The folded run of each of ``codes`` that is still one run."""
        if not codes:
            return {}
        at = np.asarray(codes, dtype=np.int64)
        self._grow(at)
        keep = at[self.state[at] == _RUN]
        return {
            int(c): (int(f), int(la), int(k), int(g))
            for c, f, la, k, g in zip(
                keep, self.first[keep], self.last[keep], self.n[keep], self.gap[keep], strict=True
            )
        }
