-- Creator training: runs of a training method on one of the creator's datasets, and the learned
-- artifacts (network weights, Q-tables) they produce. A tool version may use one artifact; the
-- engine loads it whenever the version is evaluated.

CREATE TABLE artifacts (
    id          UUID PRIMARY KEY,
    tool_id     UUID NOT NULL REFERENCES tools (id),
    training_id UUID NOT NULL,
    kind        TEXT NOT NULL,
    meta        JSONB NOT NULL,
    bytes       BYTEA NOT NULL,
    size_bytes  BIGINT NOT NULL,
    sha256      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX artifacts_training ON artifacts (training_id);

ALTER TABLE tool_versions ADD COLUMN artifact_id UUID REFERENCES artifacts (id);

CREATE TABLE trainings (
    id              UUID PRIMARY KEY,
    tool_id         UUID NOT NULL REFERENCES tools (id),
    creator_id      UUID NOT NULL REFERENCES accounts (id),
    dataset_id      UUID NOT NULL,
    method          TEXT NOT NULL,
    config          JSONB NOT NULL,
    base_version    INTEGER NOT NULL,
    parent_id       UUID REFERENCES trainings (id),
    job_id          UUID,
    result          JSONB,
    artifact_id     UUID REFERENCES artifacts (id),
    applied_version INTEGER,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX trainings_job ON trainings (job_id);
CREATE INDEX trainings_tool ON trainings (tool_id, id);
CREATE INDEX trainings_parent ON trainings (parent_id);
