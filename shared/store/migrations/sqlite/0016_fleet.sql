-- Operators watch each queue's depth over time: the scheduler records every queue's waiting and
-- running jobs once per sampling interval (`at` is the interval's start, so two schedulers
-- write one row), and drops samples past the retention.
CREATE TABLE queue_samples (
    at      TEXT        NOT NULL,
    queue   TEXT        NOT NULL,
    queued  INTEGER     NOT NULL,
    running INTEGER     NOT NULL,
    PRIMARY KEY (at, queue)
);

-- Operators list failed jobs to retry them: only failed rows are in this index, so it costs
-- nothing to the queue's hot path (claims and finishes of succeeding jobs never touch it).
CREATE INDEX jobs_failed ON jobs (id) WHERE status = 'failed';
