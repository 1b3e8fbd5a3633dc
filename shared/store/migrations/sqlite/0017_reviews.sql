-- Reviews and ratings (issue 19). One review per account and tool; hidden reviews are kept but
-- count nowhere. Each tool keeps its visible reviews added up (count, sum of stars, and the
-- Bayesian average in millionths of a star, see domain::review), written in the same
-- transaction as the review, so the listing sorts by rating through an index.

CREATE TABLE reviews (
    id            BLOB PRIMARY KEY NOT NULL,
    tool_id       BLOB NOT NULL REFERENCES tools (id),
    author_id     BLOB NOT NULL REFERENCES accounts (id),
    rating        INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    reply         TEXT,
    replied_at    TEXT,
    hidden_at     TEXT,
    hidden_reason TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CONSTRAINT reviews_one_per_author UNIQUE (tool_id, author_id)
);
CREATE INDEX reviews_listing ON reviews (tool_id, id);

ALTER TABLE tools ADD COLUMN rating_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tools ADD COLUMN rating_sum INTEGER NOT NULL DEFAULT 0;
-- 3 stars: the prior of a tool without reviews.
ALTER TABLE tools ADD COLUMN rating_score INTEGER NOT NULL DEFAULT 3000000;
CREATE INDEX tools_by_rating ON tools (rating_score, id) WHERE deleted_at IS NULL;
