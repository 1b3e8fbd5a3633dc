-- Accounts report reviews to the operators (issue 19's moderation). One row per account and
-- review: open while resolved_at is NULL; hiding the review or dismissing its reports resolves
-- every open one, and the same account may report the review again later (the row reopens).
CREATE TABLE review_reports (
    review_id   UUID        NOT NULL REFERENCES reviews (id) ON DELETE CASCADE,
    reporter_id UUID        NOT NULL REFERENCES accounts (id),
    reason      TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ,
    PRIMARY KEY (review_id, reporter_id)
);
-- The operator's queue: reviews with open reports.
CREATE INDEX review_reports_open ON review_reports (review_id) WHERE resolved_at IS NULL;
