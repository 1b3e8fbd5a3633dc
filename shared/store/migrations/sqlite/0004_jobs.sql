-- Jobs: the truth about every job users see (the queue only carries ids), and the registry of
-- worker processes kept by their heartbeats. Ids are UUID v7, so `id` order is creation order.

CREATE TABLE jobs (
    id               BLOB PRIMARY KEY NOT NULL,
    kind             TEXT NOT NULL,
    owner_id         BLOB NOT NULL REFERENCES accounts (id),
    status           TEXT NOT NULL
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
    progress         REAL NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    message          TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     INTEGER NOT NULL CHECK (max_attempts > 0),
    priority         INTEGER NOT NULL DEFAULT 0,
    worker_id        TEXT,
    payload          TEXT NOT NULL,
    result           TEXT,
    error            TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    run_after        TEXT NOT NULL,
    lease_until      TEXT,
    delivered_at     TEXT,
    created_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT,
    updated_at       TEXT NOT NULL
);
-- An owner's listing, newest first.
CREATE INDEX jobs_owner ON jobs (owner_id, id);
-- Claiming: the due queued job of a kind with the highest priority, then the oldest.
CREATE INDEX jobs_claim ON jobs (kind, status, priority DESC, id);
-- Recovery: running jobs whose lease expired; queued jobs not delivered lately.
CREATE INDEX jobs_lease ON jobs (status, lease_until);
CREATE INDEX jobs_delivered ON jobs (status, delivered_at);

CREATE TABLE workers (
    id           TEXT PRIMARY KEY NOT NULL,
    host         TEXT NOT NULL,
    queues       TEXT NOT NULL,
    concurrency  INTEGER NOT NULL,
    in_flight    INTEGER NOT NULL,
    started_at   TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    stopped_at   TEXT
);
