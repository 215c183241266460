-- Version 4 -> 5: results of 'tscorr explain'.
CREATE TABLE IF NOT EXISTS spikes (
    run_id BIGINT NOT NULL, series VARCHAR NOT NULL, ts TIMESTAMPTZ NOT NULL,
    start_ts TIMESTAMPTZ, value DOUBLE, baseline DOUBLE, z DOUBLE
);
CREATE TABLE IF NOT EXISTS explanations (
    run_id BIGINT NOT NULL, series VARCHAR NOT NULL, spike_ts TIMESTAMPTZ NOT NULL,
    rank INTEGER, event_id BIGINT, kind VARCHAR, name VARCHAR, event_ts TIMESTAMPTZ,
    lead_seconds DOUBLE, kind_r DOUBLE
);
