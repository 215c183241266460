"""One event study of a block of series, end to end on arrays (numpy and scipy only).

:func:`study` reads the responses around each event, fits each series' model on its own
reference (:mod:`.eventmodel`) and pools over the events (:mod:`.pooling`);
:func:`model_test` tests the pre-declared response; :func:`placebo` runs the placebo test
(:mod:`.placebo`) with the statistic that picked the peak. ``y`` is (m series, n buckets),
NaN where a bucket has no value; positions are bucket indices; lag k > 0 is k buckets after
the event's bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tscorr.analysis.kernels import eventfit, eventmodel, eventstudy, placebo, pooling
from tscorr.analysis.kernels.baseline import Baseline
from tscorr.analysis.kernels.eventstudy import Responses


@dataclass
class Study:
    y: np.ndarray
    censored: np.ndarray  # the cut-off where a bucket is censored, else NaN
    positions: np.ndarray
    before: int
    after: int
    baseline: Baseline
    step: int  # bucket length in seconds
    offsets: np.ndarray | None  # the zone's UTC offset at each position (None: no DST)
    kinds: list[str]
    per: int  # buckets in a day (1 when the bucket does not divide a day)
    clock: np.ndarray  # see placebo.local_index
    phase: np.ndarray  # each position's local time of day, in buckets
    blocked: np.ndarray  # buckets inside any event window
    model: eventmodel.Model
    g: np.ndarray  # y on each row's model scale
    res: Responses
    pooled: pooling.Pooled

    def responses_at(self, positions: np.ndarray) -> Responses:
        """Responses of pseudo-events at ``positions``: their own windows kept out of their
        baselines, as the real events' are (a pseudo-event's baseline must never hold
        another pseudo-event's response), and the real windows too."""
        own = eventstudy.window_mask(len(self.blocked), positions, self.before, self.after)
        return eventstudy.responses(
            self.y,
            positions,
            self.before,
            self.after,
            self.baseline,
            self.step,
            self.blocked | own,
            self.censored,
            self.offsets,
            self.g,
        )


def study(
    y: np.ndarray,
    positions: np.ndarray,
    before: int,
    after: int,
    baseline: Baseline,
    step: int,
    kinds: list[str] | None = None,
    censored: np.ndarray | None = None,
    offsets: np.ndarray | None = None,
    start_seconds: int = 0,
) -> Study:
    """Study each row of ``y`` around ``positions`` (``before``/``after``: buckets).

    ``kinds``: each series' kind (count, level, censored; default level: the model is then
    picked from the values); ``start_seconds``: the grid's first bucket in seconds since
    1970 (UTC), so that days are local days."""
    m, n = y.shape
    kinds = kinds if kinds is not None else ["level"] * m
    censored = censored if censored is not None else np.full(y.shape, np.nan)
    per = 86400 // step if 86400 % step == 0 else 1
    clock = placebo.local_clock(start_seconds, n, offsets)
    phase = placebo.local_index(np.arange(n), clock, step) % per
    blocked = eventstudy.window_mask(n, positions, before, after)
    outside = outside_reference(y, positions, before, after, per)
    model = eventfit.fit(y, outside, blocked, 1, baseline, step, kinds, offsets)
    g = model.g(y)
    res = eventstudy.responses(
        y, positions, before, after, baseline, step, None, censored, offsets, g
    )
    pooled = pooling.pool(res, model)
    return Study(
        y, censored, positions, before, after, baseline, step, offsets, kinds, per, clock,
        phase, blocked, model, g, res, pooled,
    )


def outside_reference(
    y: np.ndarray, positions: np.ndarray, before: int, after: int, per: int
) -> np.ndarray:
    """Buckets kept out of the models' reference (True: left out).

    The reference is what came before: the buckets before the last event's window, outside
    every event window and its aftermath (as many buckets again as the window has after the
    event), as an event study's estimation window precedes its event window (MacKinlay
    1997): a response that lasts weeks is not the series' usual noise. Where fewer than
    :data:`MIN_REFERENCE` days of sub-day buckets (or 8 buckets) came before, the buckets
    after the events enter too, outside the windows and aftermaths."""
    n = y.shape[1]
    out = eventstudy.window_mask(n, positions, before, 2 * after + 1)
    last = int(positions.max()) - before if len(positions) else n
    earlier = out.copy()
    earlier[max(last, 0) :] = True
    need = max(8, MIN_REFERENCE * per) if per > 1 else 8
    if (np.isfinite(y[:, ~earlier]).sum(axis=1) >= need).all():
        return earlier
    return out


MIN_REFERENCE = 3  # days of sub-day buckets the reference before the events must hold


def model_test(s: Study, width: int = 1) -> eventmodel.Test:
    """The model test of the pre-declared response: the sum of ``width`` buckets from each
    event's bucket, against the same sums at the positions of lag 0's baseline (censored
    values at their cut-off, which makes the test conservative)."""
    model = s.model
    if width > 1:
        outside = outside_reference(s.y, s.positions, s.before, s.after, s.per)
        model = eventfit.fit(
            s.y, outside, s.blocked, width, s.baseline, s.step, s.kinds, s.offsets
        )
    sums = eventmodel.window_sums(s.y, width)
    upper = np.where(np.isnan(s.y) & ~np.isnan(s.censored), s.censored, s.y)
    base_sums = eventmodel.window_sums(upper, width)
    base_sums[:, eventmodel.spread_mask(s.blocked, width)] = np.nan
    assert s.res.where is not None
    where = s.res.where[:, int(np.flatnonzero(s.res.lags == 0)[0]), :]  # (J, K)
    base = np.where(where[None] >= 0, base_sums[:, np.clip(where, 0, None)], np.nan)
    return eventmodel.test_response(model, sums[:, s.positions], base)


def peak_statistic(res: Responses, model: eventmodel.Model) -> np.ndarray:
    """The largest pooled standardized excess at lag >= 0, per row (NaN: none computable)."""
    z = pooling.pooled_z(*pooling.excess(res, model))[:, res.lags >= 0]
    with eventstudy.quiet():
        return np.asarray(np.nanmax(z, axis=1))


def peak_statistics(s: Study, fakes: np.ndarray) -> np.ndarray:
    """:func:`peak_statistic` of placebo sets ``fakes`` (S, J) studied together: (m, S).

    Each set keeps its own windows (and the real ones) out of its baselines, exactly as if
    studied alone: the mask is given per event."""
    sets, per_set = fakes.shape
    n = len(s.blocked)
    own = eventstudy.window_masks(n, fakes, s.before, s.after)
    blocked = np.repeat(own | s.blocked[None, :], per_set, axis=0)  # (S * J, n)
    res = eventstudy.responses(
        s.y,
        fakes.ravel(),
        s.before,
        s.after,
        s.baseline,
        s.step,
        blocked,
        s.censored,
        s.offsets,
        s.g,
        spread=False,
    )
    num, var = pooling.excess(res, s.model)  # (m, S * J, W)
    m, _, width = num.shape
    num = num.reshape(m, sets, per_set, width)
    var = var.reshape(m, sets, per_set, width)
    ok = np.isfinite(num) & np.isfinite(var)
    top = np.where(ok, num, 0.0).sum(axis=2)
    bottom = np.sqrt(np.where(ok, var, 0.0).sum(axis=2))
    with np.errstate(invalid="ignore", divide="ignore"), eventstudy.quiet():
        z = np.where(ok.any(axis=2), top / bottom, np.nan)[:, :, res.lags >= 0]
        return np.asarray(np.nanmax(z, axis=2))


CHUNK_VALUES = 4_000_000  # (rows x events x lags x baseline values) studied at once


def placebo_test(s: Study, wanted: int, seed: int) -> placebo.Placebo:
    """The placebo test of the peak statistic (see :mod:`.placebo`), its sets studied in
    chunks that keep the arrays under :data:`CHUNK_VALUES` values."""
    m = s.y.shape[0]
    if not wanted:
        return placebo.Placebo(np.full(m, np.nan), np.zeros(m, dtype=np.int64), 0)
    observed = peak_statistic(s.res, s.model)
    width = s.before + s.after + 1
    k = s.baseline.count * (3 if s.baseline.kind != "pre" else 1)
    chunk = max(1, CHUNK_VALUES // max(m * len(s.positions) * width * k, 1))
    return placebo.placebo_test(
        lambda fakes: peak_statistics(s, fakes),
        observed,
        s.y.shape[1],
        s.positions,
        s.before,
        s.after,
        s.per,
        s.clock,
        s.step,
        wanted,
        seed,
        chunk,
    )
