-- Version 10 -> 11: Parquet datasets written by a load (tscorr load --partitions, how =
-- 'loaded'), whose points live in the files only: each series' first and last time and its
-- points, kept beside its file, so that an analysis plans the series' grid without reading it.
ALTER TABLE partition_files ADD COLUMN IF NOT EXISTS first_ts TIMESTAMPTZ;
ALTER TABLE partition_files ADD COLUMN IF NOT EXISTS last_ts TIMESTAMPTZ;
ALTER TABLE partition_files ADD COLUMN IF NOT EXISTS points BIGINT;
