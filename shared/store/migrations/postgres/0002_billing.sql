-- Dunning: a renewal that could not be charged puts the subscription past due until
-- `grace_until`, retried at `next_retry_at` (the `retry_count`-th retry is next).
ALTER TABLE subscriptions ADD COLUMN grace_until TIMESTAMPTZ;
ALTER TABLE subscriptions ADD COLUMN next_retry_at TIMESTAMPTZ;
ALTER TABLE subscriptions ADD COLUMN retry_count INTEGER NOT NULL DEFAULT 0;
CREATE INDEX subscriptions_retry ON subscriptions (status, next_retry_at);
CREATE INDEX ledger_transactions_subscription ON ledger_transactions (subscription_id, created_at);
