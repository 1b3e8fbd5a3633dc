-- The billing pass claims renewals and retries by walking these in order and stopping after a
-- batch (see `renew_batch`): only rows that can be due are in them, so a batch reads about as
-- many index entries as it claims, whatever the backlog.
CREATE INDEX subscriptions_renewal_due ON subscriptions (paid_through, id)
    WHERE status = 'active' AND auto_renew AND NOT cancel_at_period_end;
CREATE INDEX subscriptions_retry_due ON subscriptions (next_retry_at, id)
    WHERE status = 'past_due' AND NOT cancel_at_period_end;
