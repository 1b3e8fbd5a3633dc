-- Fair use. A payment is credited at most once: a top-up's provider reference is unique, so a
-- receipt the provider answers twice (a retried collection of the same payment) cannot be
-- booked twice.
CREATE UNIQUE INDEX ledger_one_top_up_per_payment ON ledger_transactions (reference)
    WHERE kind = 'top_up';

-- The per-account job quota counts an account's queued and running jobs at every enqueue.
CREATE INDEX jobs_active_per_owner ON jobs (owner_id) WHERE status IN ('queued', 'running');
