-- Version 6 -> 7: the surrogate null band of each xcorr pair, in a table of its own.
-- The surrogate null of each xcorr pair, for pictures and SQL: 95% of r at any one lag falls
-- in [lo, hi] (the same at every lag: a circular shift is a shift); max_abs is the 95%
-- quantile of the largest |r| over 2L+1 neighbouring shifts, the level a peak must pass
-- once every lag has been looked at.
CREATE TABLE IF NOT EXISTS xcorr_bands (
    run_id      BIGINT NOT NULL,
    event_set   VARCHAR NOT NULL,
    series      VARCHAR NOT NULL,
    lo          DOUBLE,
    hi          DOUBLE,
    max_abs     DOUBLE
);
