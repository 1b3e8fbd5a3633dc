-- Sessions: a renter's workspace on one of their datasets, the tools inserted into it with their
-- session-local (active) parameters, and the optimization records that produced them. Tools gain
-- the creator's promotion settings; versions gain their lineage (why and from what they exist).

ALTER TABLE tools ADD COLUMN standards TEXT;
ALTER TABLE tools ADD COLUMN auto_promote INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tools ADD COLUMN reference_dataset_id BLOB;
ALTER TABLE tool_versions ADD COLUMN lineage TEXT;

CREATE TABLE sessions (
    id                 BLOB PRIMARY KEY NOT NULL,
    owner_id           BLOB NOT NULL REFERENCES accounts (id),
    dataset_id         BLOB NOT NULL,
    config             TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    promote_successful INTEGER,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    ended_at           TEXT
);
CREATE INDEX sessions_owner ON sessions (owner_id, id);
-- A dataset in use by an active session cannot be deleted.
CREATE INDEX sessions_dataset ON sessions (dataset_id, status);

CREATE TABLE session_tools (
    session_id       BLOB NOT NULL REFERENCES sessions (id),
    tool_id          BLOB NOT NULL REFERENCES tools (id),
    base_version     INTEGER NOT NULL,
    parameters       TEXT NOT NULL,
    active_record_id BLOB,
    last_job_id      BLOB,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (session_id, tool_id)
);

CREATE TABLE optimization_records (
    id               BLOB PRIMARY KEY NOT NULL,
    session_id       BLOB NOT NULL REFERENCES sessions (id),
    tool_id          BLOB NOT NULL REFERENCES tools (id),
    owner_id         BLOB NOT NULL REFERENCES accounts (id),
    job_id           BLOB NOT NULL,
    base_version     INTEGER NOT NULL,
    method           TEXT NOT NULL,
    config           TEXT NOT NULL,
    seed             INTEGER NOT NULL,
    trials_run       INTEGER NOT NULL,
    params_before    TEXT NOT NULL,
    params_after     TEXT NOT NULL,
    metrics_before   TEXT NOT NULL,
    metrics_after    TEXT NOT NULL,
    improvement      REAL,
    standards_report TEXT NOT NULL,
    passed           INTEGER NOT NULL,
    status           TEXT NOT NULL
                     CHECK (status IN ('applied', 'promotable', 'rejected', 'promoted', 'superseded')),
    dataset_hash     TEXT NOT NULL,
    search           TEXT NOT NULL,
    promoted_version INTEGER,
    last_check       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
-- A job writes its record once, whatever happens to the worker that ran it.
CREATE UNIQUE INDEX optimization_records_job ON optimization_records (job_id);
CREATE INDEX optimization_records_session ON optimization_records (session_id, id);
CREATE INDEX optimization_records_tool ON optimization_records (tool_id, status, id);
