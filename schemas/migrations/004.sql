-- Version 3 -> 4: censored observations (e.g. an article below a top list's cut-off).
CREATE TABLE IF NOT EXISTS censored (
    series_id BIGINT NOT NULL,
    ts        TIMESTAMPTZ NOT NULL,
    below     DOUBLE,
    source_id BIGINT
);
