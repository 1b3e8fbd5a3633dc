-- Datasets: a summary row per dataset (listings read only this) and the bars apart, in the
-- columnar encoding of `shared::dataset::codec`. One dataset per owner and content.

CREATE TABLE datasets (
    id               BLOB PRIMARY KEY NOT NULL,
    owner_id         BLOB NOT NULL REFERENCES accounts (id),
    name             TEXT NOT NULL,
    row_count        INTEGER NOT NULL CHECK (row_count > 0),
    start_at         TEXT NOT NULL,
    end_at           TEXT NOT NULL,
    frequency        TEXT NOT NULL,
    periods_per_year REAL NOT NULL,
    content_hash     TEXT NOT NULL,
    source           TEXT NOT NULL CHECK (source IN ('upload', 'generator')),
    generator        TEXT,
    stats            TEXT NOT NULL,
    created_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX datasets_owner_content ON datasets (owner_id, content_hash);
CREATE INDEX datasets_owner ON datasets (owner_id, id);

CREATE TABLE dataset_data (
    dataset_id BLOB PRIMARY KEY NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    bars       BLOB NOT NULL
);
