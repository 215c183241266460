-- Version 5 -> 6: the observation model. Each series has a kind (count: an empty bucket inside
-- its coverage is 0; level: an empty bucket is missing; censored: a top list, absent = below
-- the cut-off) and a native step detected at load time in the zone it was read in. Points
-- remember the source that wrote them, so a source can be removed or replaced wholly.
ALTER TABLE series ADD COLUMN kind VARCHAR;
ALTER TABLE series ADD COLUMN step VARCHAR;
ALTER TABLE series ADD COLUMN tz VARCHAR;
UPDATE series SET kind = CASE
    WHEN json_extract_string(attrs, '$.censored') = 'true' THEN 'censored'
    WHEN agg = 'sum' AND feed = 'access-log' THEN 'count'
    ELSE 'level' END;
ALTER TABLE points ADD COLUMN source_id BIGINT;
UPDATE points SET source_id = (SELECT s.source_id FROM series s WHERE s.series_id = points.series_id);
-- Inference: per-pair discovery apart from per-lag localisation; event-study multiplicity.
ALTER TABLE xcorr ADD COLUMN q_peak DOUBLE;
ALTER TABLE xcorr ADD COLUMN p_method VARCHAR;
ALTER TABLE response_summary ADD COLUMN q_placebo DOUBLE;
ALTER TABLE response_summary ADD COLUMN ci_adjusted BOOLEAN;
