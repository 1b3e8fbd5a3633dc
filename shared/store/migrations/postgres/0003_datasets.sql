-- Datasets: a summary row per dataset (listings read only this) and the bars apart, in the
-- columnar encoding of `shared::dataset::codec`. One dataset per owner and content.

CREATE TABLE datasets (
    id               UUID PRIMARY KEY NOT NULL,
    owner_id         UUID NOT NULL REFERENCES accounts (id),
    name             TEXT NOT NULL,
    row_count        BIGINT NOT NULL CHECK (row_count > 0),
    start_at         TIMESTAMPTZ NOT NULL,
    end_at           TIMESTAMPTZ NOT NULL,
    frequency        TEXT NOT NULL,
    periods_per_year DOUBLE PRECISION NOT NULL,
    content_hash     TEXT NOT NULL,
    source           TEXT NOT NULL CHECK (source IN ('upload', 'generator')),
    generator        JSONB,
    stats            JSONB NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX datasets_owner_content ON datasets (owner_id, content_hash);
CREATE INDEX datasets_owner ON datasets (owner_id, id);

-- Bars are written once and read whole: keep them out of line, uncompressed (the encoding is
-- already compact, and compressing 40 MB on every read would cost more than it saves).
CREATE TABLE dataset_data (
    dataset_id UUID PRIMARY KEY NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    bars       BYTEA NOT NULL
);
ALTER TABLE dataset_data ALTER COLUMN bars SET STORAGE EXTERNAL;
