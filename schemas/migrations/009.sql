-- Version 8 -> 9: event studies whose verdict follows the evidence. Each respond pair gets a
-- model test of its pre-declared response (p_model, q_model, the model and its dispersion), the
-- pooled standardized excess that picks its peak lag, the values in data units, a lower bound
-- of the ratio where baselines were censored, and the placebo sets it could use.
ALTER TABLE responses ADD COLUMN baseline_bound DOUBLE;
ALTER TABLE response_summary ADD COLUMN z DOUBLE;
ALTER TABLE response_summary ADD COLUMN mean_value DOUBLE;
ALTER TABLE response_summary ADD COLUMN mean_baseline DOUBLE;
ALTER TABLE response_summary ADD COLUMN ratio_low_bound DOUBLE;
ALTER TABLE response_summary ADD COLUMN placebos_used BIGINT;
ALTER TABLE response_summary ADD COLUMN p_model DOUBLE;
ALTER TABLE response_summary ADD COLUMN q_model DOUBLE;
ALTER TABLE response_summary ADD COLUMN model VARCHAR;
ALTER TABLE response_summary ADD COLUMN dispersion DOUBLE;
ALTER TABLE response_summary ADD COLUMN base_max DOUBLE;
ALTER TABLE response_summary ADD COLUMN model_buckets BIGINT;
ALTER TABLE response_summary ADD COLUMN model_value DOUBLE;
ALTER TABLE response_summary ADD COLUMN model_baseline DOUBLE;
ALTER TABLE response_summary ADD COLUMN model_events BIGINT;
ALTER TABLE response_summary ADD COLUMN model_reference BIGINT;
ALTER TABLE response_summary ADD COLUMN p_verdict DOUBLE;
ALTER TABLE response_summary ADD COLUMN q_verdict DOUBLE;
