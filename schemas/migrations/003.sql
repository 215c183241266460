-- Version 2 -> 3: decay of the pooled event response.
ALTER TABLE response_summary ADD COLUMN IF NOT EXISTS half_life DOUBLE;
