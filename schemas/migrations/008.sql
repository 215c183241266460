-- Version 7 -> 8: the default xcorr test gives per-lag p-values from a derived null on
-- rank-normal scores, Sidak over the lags (issue 25). Each pair also gets q_set (Benjamini-
-- Hochberg within its event set), the exact all-shift check of p_peak and whether the two
-- disagree. Older runs keep NULL there. The view is made again by store.sql.
ALTER TABLE xcorr ADD COLUMN q_set DOUBLE;
ALTER TABLE xcorr ADD COLUMN p_peak_exact DOUBLE;
ALTER TABLE xcorr ADD COLUMN p_check BOOLEAN;
