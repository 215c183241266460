"""Benjamini-Hochberg in DuckDB (the out-of-core ranking of a spread run's peak rows)
against :func:`bh_qvalues`, the in-memory definition every other run uses: bit for bit, on
random p-values with ties, NaN, NULL, infinities and 1.0, over the run and within each
event set."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from tscorr.analysis.kernels.adjust import bh_qvalues
from tscorr.store import Store

# a few values often (ties), any value in [0, 1] sometimes, and the awkward ones
P = st.one_of(
    st.sampled_from([0.0, 1e-300, 0.01, 0.05, 0.5, 1.0, float("nan")]),
    st.floats(0, 1),
    st.just(float("inf")),
)


def ranked(store: Store, p: np.ndarray, sets: np.ndarray, nulls: bool = False) -> pl.DataFrame:
    """q_peak and q_set of ``p`` (NaN staged as NULL when ``nulls``), in ``p``'s order."""
    store.start_peak_stage()
    store.stage_peaks(
        pl.DataFrame(
            {
                "event_set": [f"s{k}" for k in sets],
                "series": [str(i) for i in range(len(p))],
                "p_peak": p,
            },
            nan_to_null=nulls,
        )
    )
    store.rank_staged_peaks()
    got = store.staged_q().with_columns(pl.col("series").cast(pl.Int64)).sort("series")
    store.drop_peak_stage()
    return got


def same_bits(got: pl.Series, want: np.ndarray) -> None:
    """NULL (or NaN) exactly where ``want`` is NaN, the same 64 bits elsewhere."""
    q = got.fill_null(np.nan).to_numpy()
    ok = ~np.isnan(want)
    assert np.array_equal(np.isnan(q), ~ok)
    assert np.array_equal(q[ok].view(np.int64), want[ok].view(np.int64))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(P, st.integers(0, 2)), min_size=1, max_size=60),
    st.booleans(),
)
def test_sql_bh_is_bh_qvalues_bit_for_bit(rows: list[tuple[float, int]], nulls: bool) -> None:
    p = np.array([r[0] for r in rows], dtype=float)
    sets = np.array([r[1] for r in rows])
    with Store.open(":memory:") as store:
        got = ranked(store, p, sets, nulls)
    same_bits(got["q_peak"], bh_qvalues(p))
    want_set = np.full(p.shape, np.nan)
    for k in np.unique(sets):
        want_set[sets == k] = bh_qvalues(p[sets == k])
    same_bits(got["q_set"], want_set)


def test_a_large_run_with_many_ties_is_bh_qvalues() -> None:
    """50,000 pairs over 7 sets, p on a coarse grid (ties everywhere) and some NaN."""
    rng = np.random.default_rng(3)
    p = np.round(rng.uniform(size=50_000) ** 3, 3)
    p[rng.random(p.size) < 0.02] = np.nan
    sets = rng.integers(0, 7, size=p.size)
    with Store.open(":memory:") as store:
        got = ranked(store, p, sets)
    same_bits(got["q_peak"], bh_qvalues(p))
    # the parts' q_set as the in-memory run computes it
    want = np.full(p.shape, np.nan)
    for k in range(7):
        want[sets == k] = bh_qvalues(p[sets == k])
    same_bits(got["q_set"], want)
