-- Promotion re-checks a creator runs on a renter's record are limited per record: each one
-- runs the creator's current parameters on the renter's data. `rechecks` counts them;
-- `last_recheck_job` is the job counted last, so a retried attempt of one job counts once.
ALTER TABLE optimization_records ADD COLUMN rechecks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE optimization_records ADD COLUMN last_recheck_job UUID;
