-- The recovery sweep asks whether any job of a kind started lately (a busy queue is not a
-- stalled one) before it pushes messages again.
CREATE INDEX jobs_kind_started ON jobs (kind, started_at);
