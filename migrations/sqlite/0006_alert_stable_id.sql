-- The pipeline's stable alert id (issue 9): the same input gives the same id, so a second run over
-- the same logs, or a watch resumed after a crash, finds the alert already stored instead of
-- storing it twice. NULL for alerts recorded by hand or through the API without one.

ALTER TABLE alerts ADD COLUMN stable_id TEXT;
CREATE UNIQUE INDEX alerts_by_stable_id ON alerts (stable_id) WHERE stable_id IS NOT NULL;
