-- Version 9 -> 10: Parquet datasets of whole series that a cluster engine reads (tscorr
-- partition): each dataset, and the file that holds each of its series (a series lives in
-- one file: its bucket, kept here so it stays the same while the dataset is used).
CREATE TABLE IF NOT EXISTS partition_sets (
    dataset_id BIGINT PRIMARY KEY,
    path       VARCHAR NOT NULL,
    how        VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    files      BIGINT,
    series     BIGINT,
    points     BIGINT
);
CREATE TABLE IF NOT EXISTS partition_files (
    dataset_id BIGINT NOT NULL,
    series_id  BIGINT NOT NULL,
    file       VARCHAR NOT NULL,
    PRIMARY KEY (dataset_id, series_id)
);
