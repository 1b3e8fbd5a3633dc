-- The recovery sweep pushes again the jobs that have no message (a retry whose backoff ended,
-- a job recovered from a lost worker). It found them through (status, delivered_at), which at
-- a large depth meant reading and sorting the backlog; an index that holds only them is as
-- small as they are few. Its order is the sweep's.
CREATE INDEX jobs_undelivered ON jobs (priority DESC, id)
    WHERE status = 'queued' AND delivered_at IS NULL;
DROP INDEX jobs_delivered;
