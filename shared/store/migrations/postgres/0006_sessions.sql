-- Sessions: a renter's workspace on one of their datasets, the tools inserted into it with their
-- session-local (active) parameters, and the optimization records that produced them. Tools gain
-- the creator's promotion settings; versions gain their lineage (why and from what they exist).

ALTER TABLE tools ADD COLUMN standards JSONB;
ALTER TABLE tools ADD COLUMN auto_promote BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tools ADD COLUMN reference_dataset_id UUID;
ALTER TABLE tool_versions ADD COLUMN lineage JSONB;

CREATE TABLE sessions (
    id                 UUID PRIMARY KEY NOT NULL,
    owner_id           UUID NOT NULL REFERENCES accounts (id),
    dataset_id         UUID NOT NULL,
    config             JSONB NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    promote_successful BOOLEAN,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    ended_at           TIMESTAMPTZ
);
CREATE INDEX sessions_owner ON sessions (owner_id, id);
-- A dataset in use by an active session cannot be deleted.
CREATE INDEX sessions_dataset ON sessions (dataset_id, status);

CREATE TABLE session_tools (
    session_id       UUID NOT NULL REFERENCES sessions (id),
    tool_id          UUID NOT NULL REFERENCES tools (id),
    base_version     INTEGER NOT NULL,
    parameters       JSONB NOT NULL,
    active_record_id UUID,
    last_job_id      UUID,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (session_id, tool_id)
);

CREATE TABLE optimization_records (
    id               UUID PRIMARY KEY NOT NULL,
    session_id       UUID NOT NULL REFERENCES sessions (id),
    tool_id          UUID NOT NULL REFERENCES tools (id),
    owner_id         UUID NOT NULL REFERENCES accounts (id),
    job_id           UUID NOT NULL,
    base_version     INTEGER NOT NULL,
    method           TEXT NOT NULL,
    config           JSONB NOT NULL,
    seed             BIGINT NOT NULL,
    trials_run       BIGINT NOT NULL,
    params_before    JSONB NOT NULL,
    params_after     JSONB NOT NULL,
    metrics_before   JSONB NOT NULL,
    metrics_after    JSONB NOT NULL,
    improvement      DOUBLE PRECISION,
    standards_report JSONB NOT NULL,
    passed           BOOLEAN NOT NULL,
    status           TEXT NOT NULL
                     CHECK (status IN ('applied', 'promotable', 'rejected', 'promoted', 'superseded')),
    dataset_hash     TEXT NOT NULL,
    search           JSONB NOT NULL,
    promoted_version INTEGER,
    last_check       JSONB,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
-- A job writes its record once, whatever happens to the worker that ran it.
CREATE UNIQUE INDEX optimization_records_job ON optimization_records (job_id);
CREATE INDEX optimization_records_session ON optimization_records (session_id, id);
CREATE INDEX optimization_records_tool ON optimization_records (tool_id, status, id);
