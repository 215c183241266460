-- Version 6 -> 7: the surrogate null band of each xcorr pair, in a table of its own.
-- The surrogate null of each xcorr pair, for pictures and SQL: at any one lag |r| stays below
-- lag_level in 95% of the circular shifts (the same at every lag: a circular shift is a
-- shift); peak_level is the 95% quantile of the largest |r| over 2L+1 neighbouring shifts, the
-- level a peak must pass once every lag has been looked at.
CREATE TABLE IF NOT EXISTS xcorr_bands (
    run_id      BIGINT NOT NULL,
    event_set   VARCHAR NOT NULL,
    series      VARCHAR NOT NULL,
    lag_level   DOUBLE,
    peak_level  DOUBLE
);
