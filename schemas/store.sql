-- tscorr DuckDB schema (current version; see tscorr/store.py SCHEMA_VERSION).
-- Public SQL interface: names here are a contract (../DESIGN.md). Every timestamp is a
-- TIMESTAMPTZ stored in UTC. Lags are counted in buckets; lag k > 0 means the series moves
-- k buckets AFTER the events: r(k) = corr(e[t], y[t+k]).

CREATE TABLE IF NOT EXISTS meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);

CREATE TABLE IF NOT EXISTS sources (
    source_id     BIGINT PRIMARY KEY,
    feed          VARCHAR NOT NULL,
    path          VARCHAR NOT NULL,
    sha256        VARCHAR NOT NULL,
    bytes         BIGINT,
    loaded_at     TIMESTAMPTZ NOT NULL,
    rows_read     BIGINT,
    rows_loaded   BIGINT,
    rows_rejected BIGINT,
    points_loaded BIGINT,   -- points written (a wide row gives several)
    events_loaded BIGINT,
    duplicates    BIGINT,   -- records dropped: same key earlier in the file, or event already stored
    replaced      BIGINT,   -- stored points overwritten by this file (same series and ts)
    tz            VARCHAR,  -- zone naive timestamps were read in
    options       JSON,     -- every load option
    notes         VARCHAR   -- what the loader had to decide or guess
);

CREATE TABLE IF NOT EXISTS series (
    series_id BIGINT PRIMARY KEY,
    name      VARCHAR NOT NULL UNIQUE,
    feed      VARCHAR,
    unit      VARCHAR,
    agg       VARCHAR NOT NULL,   -- sum | mean | last | max: how values combine into a bucket
    source_id BIGINT,             -- the first source that created the series
    attrs     JSON,               -- feed facts, e.g. {"relative_index": true}
    kind      VARCHAR,            -- count (empty bucket inside coverage = 0) | level (empty =
                                  -- missing) | censored (top list: absent = below the cut-off)
    step      VARCHAR,            -- native step detected at load ('1d', '15m', '1mo'); NULL: none
    tz        VARCHAR             -- zone the native step was read in (a daily series in a DST
                                  -- zone is daily there)
);

-- One row per (series_id, ts): the loader replaces a stored point rather than adding a second.
CREATE TABLE IF NOT EXISTS points (
    series_id BIGINT NOT NULL,
    ts        TIMESTAMPTZ NOT NULL,
    value     DOUBLE,
    flag      VARCHAR,              -- e.g. 'lt1' for a Google Trends "<1"; NULL for a plain value
    source_id BIGINT                -- the source that wrote the point (rm and --force use it)
);

-- A bucket where the series was not observed but is known to be below a bound: an article
-- absent from a day's top-100 list had fewer views than that day's 100th place. Analyses treat
-- it as missing (never as 0) and flag it; a real point for the same (series_id, ts) wins.
CREATE TABLE IF NOT EXISTS censored (
    series_id BIGINT NOT NULL,
    ts        TIMESTAMPTZ NOT NULL,
    below     DOUBLE,
    source_id BIGINT
);

CREATE TABLE IF NOT EXISTS events (
    event_id  BIGINT PRIMARY KEY,
    ts        TIMESTAMPTZ NOT NULL,
    ts_end    TIMESTAMPTZ,
    kind      VARCHAR NOT NULL,
    name      VARCHAR,
    weight    DOUBLE DEFAULT 1,
    source_id BIGINT,
    attrs     JSON
);

CREATE TABLE IF NOT EXISTS rejects (
    source_id BIGINT NOT NULL,
    line      BIGINT,       -- 1-based line (record number for JSON arrays and Parquet)
    raw       VARCHAR,
    reason    VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS runs (
    run_id     BIGINT PRIMARY KEY,
    command    VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    params     JSON,        -- every option, the seed and the alignment used
    versions   JSON,        -- tscorr, duckdb, polars, numpy
    label      VARCHAR
);

-- Lagged cross-correlation. lag: buckets; lag > 0: the series moves after the events.
CREATE TABLE IF NOT EXISTS xcorr (
    run_id      BIGINT NOT NULL,
    event_set   VARCHAR NOT NULL,
    series      VARCHAR NOT NULL,
    lag         INTEGER NOT NULL,
    lag_seconds DOUBLE,
    r           DOUBLE,
    n           BIGINT,
    p_value     DOUBLE,     -- localisation: this lag's own p-value (per lag); NULL on the peak
                            -- row of a pair stored by its peak alone (xcorr --keep peaks)
    q_value     DOUBLE,     -- localisation: this lag adjusted within its pair (Sidak over the
                            -- window's lags; --surrogates N: the max-|r| null)
    p_peak      DOUBLE,     -- discovery: p-value of the pair's peak over the window (Sidak of
                            -- the smallest per-lag p); stored as computed, however small
    q_peak      DOUBLE,     -- discovery: Benjamini-Hochberg of p_peak over every pair of the run
    p_method    VARCHAR,    -- how p_peak was obtained: rank-normal, block-conv (default test),
                            -- monte-carlo, gpd-tail (--surrogates N), analytic
    q_set       DOUBLE,     -- Benjamini-Hochberg of p_peak within the pair's event set (a union
                            -- of per-set lists does not keep the run's FDR: use q_peak for that)
    p_peak_exact DOUBLE,    -- the exact count of every circular shift's window peak reaching
                            -- this pair's (pairs with p_peak <= 0.05; NULL elsewhere)
    p_check     BOOLEAN     -- p_peak is below a third of p_peak_exact where at least 10 separate
                            -- runs of shifts reach it: the derived tail claims more than the
                            -- shifts support (NULL where no check was made)
);

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

CREATE TABLE IF NOT EXISTS responses (
    run_id      BIGINT NOT NULL,
    event_id    BIGINT NOT NULL,
    event_set   VARCHAR,
    series      VARCHAR NOT NULL,
    lag         INTEGER NOT NULL,  -- buckets after the event (negative: before)
    lag_seconds DOUBLE,
    ts          TIMESTAMPTZ,
    value       DOUBLE,
    baseline    DOUBLE,
    ratio       DOUBLE,
    diff        DOUBLE,
    z           DOUBLE,
    flag        VARCHAR,           -- 'censored', 'outage', 'missing' where the value is not a plain reading
    baseline_bound DOUBLE          -- upper bound of a baseline with censored values (then baseline is null)
);

CREATE TABLE IF NOT EXISTS response_summary (
    run_id      BIGINT NOT NULL,
    event_set   VARCHAR NOT NULL,
    series      VARCHAR NOT NULL,
    lag         INTEGER NOT NULL,
    lag_seconds DOUBLE,
    n_events    BIGINT,
    mean_ratio  DOUBLE,
    ci_low      DOUBLE,
    ci_high     DOUBLE,
    median_ratio DOUBLE,
    is_peak     BOOLEAN,    -- the lag >= 0 with the largest mean ratio
    p_placebo   DOUBLE,     -- pseudo-events at random days, same time of day, beat the peak
    half_life   DOUBLE,     -- buckets after the peak until the excess over baseline halves
    q_placebo   DOUBLE,     -- Benjamini-Hochberg of p_placebo over the pairs of the run
    ci_adjusted BOOLEAN,    -- the interval is widened for having picked the peak lag
    z           DOUBLE,     -- pooled standardized excess over the baseline; the peak is its largest at lag >= 0
    mean_value  DOUBLE,     -- the value's mean over the events (data units)
    mean_baseline DOUBLE,   -- the baseline's mean over the same events
    ratio_low_bound DOUBLE, -- the ratio is at least this, where baselines were below a top list's cut-off
    placebos_used BIGINT,   -- placebo sets whose statistic could be computed (p_placebo needs 19)
    p_model     DOUBLE,     -- model test of the pre-declared response (shown down to 1e-4)
    q_model     DOUBLE,     -- Benjamini-Hochberg of p_model over the pairs of the run
    model       VARCHAR,    -- negative-binomial | log-normal | normal
    dispersion  DOUBLE,     -- alpha (negative-binomial: var = mu + alpha mu^2) or sigma (log-normal, normal)
    base_max    DOUBLE,     -- the reference's largest statistic, which the dispersion makes unremarkable
    model_buckets BIGINT,   -- buckets the pre-declared response sums from the event's bucket
    model_value DOUBLE,     -- the pre-declared response summed over the events used
    model_baseline DOUBLE,  -- its baseline mean summed over the same events
    model_events BIGINT,    -- events the model test used
    model_reference BIGINT, -- comparisons of a value with its baseline the dispersion was fitted on
    p_verdict   DOUBLE,     -- min(1, 2 min(p_model, p_placebo)) where both exist, else the one that does
    q_verdict   DOUBLE      -- Benjamini-Hochberg of p_verdict over the pairs of the run: the verdict's q
);

-- 'tscorr explain': spikes found in a series (ts = the peak bucket, start_ts = where the
-- episode began, z = robust z against the seasonal baseline) ...
CREATE TABLE IF NOT EXISTS spikes (
    run_id   BIGINT NOT NULL,
    series   VARCHAR NOT NULL,
    ts       TIMESTAMPTZ NOT NULL,
    start_ts TIMESTAMPTZ,
    value    DOUBLE,
    baseline DOUBLE,
    z        DOUBLE
);

-- ... and the events in the window before each spike, ranked (1 = nearest, ties broken by
-- how the event's kind correlates with the series at lags 0..window: kind_r).
CREATE TABLE IF NOT EXISTS explanations (
    run_id       BIGINT NOT NULL,
    series       VARCHAR NOT NULL,
    spike_ts     TIMESTAMPTZ NOT NULL,
    rank         INTEGER,
    event_id     BIGINT,
    kind         VARCHAR,
    name         VARCHAR,
    event_ts     TIMESTAMPTZ,
    lead_seconds DOUBLE,     -- buckets from the event's bucket to the spike's, in seconds
    kind_r       DOUBLE
);

-- Parquet datasets of whole series for a cluster engine (tscorr partition): path (the folder
-- as given), how ('written' from this file, 'registered': a user's own files, or 'loaded': written
-- by tscorr load --partitions, the points living in the files only), counts.
CREATE TABLE IF NOT EXISTS partition_sets (
    dataset_id BIGINT PRIMARY KEY,
    path       VARCHAR NOT NULL,
    how        VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    files      BIGINT,
    series     BIGINT,
    points     BIGINT
);

-- The file (relative to the dataset's path) that holds each series: its stable bucket.
CREATE TABLE IF NOT EXISTS partition_files (
    dataset_id BIGINT NOT NULL,
    series_id  BIGINT NOT NULL,
    file       VARCHAR NOT NULL,
    first_ts   TIMESTAMPTZ,       -- the series' first and last time and its points in the file
    last_ts    TIMESTAMPTZ,       -- (kept for datasets of a load: analyses plan from them)
    points     BIGINT,
    PRIMARY KEY (dataset_id, series_id)
);

CREATE OR REPLACE VIEW observations AS
SELECT s.name AS series, p.ts, p.value
FROM points p JOIN series s USING (series_id);

CREATE OR REPLACE VIEW xcorr_peaks AS
SELECT run_id, event_set, series, lag, lag_seconds, r, n, p_value, q_value, p_peak, q_peak,
       p_method, q_set, p_peak_exact, p_check
FROM (
    SELECT x.*, row_number() OVER (
        PARTITION BY run_id, event_set, series
        ORDER BY abs(r) DESC NULLS LAST, abs(lag), lag
    ) AS rank_in_pair
    FROM xcorr x
)
WHERE rank_in_pair = 1;
