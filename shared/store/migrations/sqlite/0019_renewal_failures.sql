-- Forecasts weigh renewals by how often a charge fails and how often a failed one is recovered:
-- the billing pass records the first failure of each period here (a retry that fails again only
-- counts an attempt). Recovery is a charge of the same period in the ledger.
CREATE TABLE renewal_failures (
    subscription_id BLOB    NOT NULL REFERENCES subscriptions (id),
    period_start    TEXT    NOT NULL,
    failed_at       TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (subscription_id, period_start)
);
