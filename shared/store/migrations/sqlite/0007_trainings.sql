-- Creator training: runs of a training method on one of the creator's datasets, and the learned
-- artifacts (network weights, Q-tables) they produce. A tool version may use one artifact; the
-- engine loads it whenever the version is evaluated.

CREATE TABLE artifacts (
    id          BLOB PRIMARY KEY NOT NULL,
    tool_id     BLOB NOT NULL REFERENCES tools (id),
    training_id BLOB NOT NULL,
    kind        TEXT NOT NULL,
    meta        TEXT NOT NULL,
    bytes       BLOB NOT NULL,
    size_bytes  INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX artifacts_training ON artifacts (training_id);

ALTER TABLE tool_versions ADD COLUMN artifact_id BLOB REFERENCES artifacts (id);

CREATE TABLE trainings (
    id              BLOB PRIMARY KEY NOT NULL,
    tool_id         BLOB NOT NULL REFERENCES tools (id),
    creator_id      BLOB NOT NULL REFERENCES accounts (id),
    dataset_id      BLOB NOT NULL,
    method          TEXT NOT NULL,
    config          TEXT NOT NULL,
    base_version    INTEGER NOT NULL,
    parent_id       BLOB REFERENCES trainings (id),
    job_id          BLOB,
    result          TEXT,
    artifact_id     BLOB REFERENCES artifacts (id),
    applied_version INTEGER,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX trainings_job ON trainings (job_id);
CREATE INDEX trainings_tool ON trainings (tool_id, id);
CREATE INDEX trainings_parent ON trainings (parent_id);
