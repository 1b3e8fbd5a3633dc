-- Reviews and ratings (issue 19). One review per account and tool; hidden reviews are kept but
-- count nowhere. Each tool keeps its visible reviews added up (count, sum of stars, and the
-- Bayesian average in millionths of a star, see domain::review), written in the same
-- transaction as the review, so the listing sorts by rating through an index.

CREATE TABLE reviews (
    id            UUID PRIMARY KEY NOT NULL,
    tool_id       UUID NOT NULL REFERENCES tools (id),
    author_id     UUID NOT NULL REFERENCES accounts (id),
    rating        SMALLINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    reply         TEXT,
    replied_at    TIMESTAMPTZ,
    hidden_at     TIMESTAMPTZ,
    hidden_reason TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT reviews_one_per_author UNIQUE (tool_id, author_id)
);
CREATE INDEX reviews_listing ON reviews (tool_id, id);

ALTER TABLE tools
    ADD COLUMN rating_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN rating_sum   BIGINT NOT NULL DEFAULT 0,
    -- 3 stars: the prior of a tool without reviews.
    ADD COLUMN rating_score BIGINT NOT NULL DEFAULT 3000000;
CREATE INDEX tools_by_rating ON tools (rating_score, id) WHERE deleted_at IS NULL;
