-- The recovery sweep pushes again the jobs that have no message (a retry whose backoff ended,
-- a job recovered from a lost worker). It found them through (status, delivered_at), which at
-- a depth of 1,000,000 delivered jobs meant reading and sorting the backlog (5-18 s a sweep);
-- an index that holds only them is as small as they are few. Its order is the sweep's.
CREATE INDEX jobs_undelivered ON jobs (priority DESC, id)
    WHERE status = 'queued' AND delivered_at IS NULL;
DROP INDEX jobs_delivered;
-- A queue table churns: every job is inserted, claimed and finished, and claims walk the
-- waiting range of an index. Autovacuum's defaults wait for a fifth of the table to change;
-- visit it after a hundredth, so statistics follow a backlog as it grows and dead versions of
-- claimed rows do not pile up in front of the waiting ones.
ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.01);
