-- Accounts, API keys, tools and versions, subscriptions, the double-entry ledger, idempotency.
-- Native UUID, TIMESTAMPTZ and JSONB; money BIGINT cents.

CREATE TABLE accounts (
    id            UUID PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('user', 'platform', 'external')),
    balance_cents BIGINT NOT NULL DEFAULT 0,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_keys (
    id         UUID PRIMARY KEY NOT NULL,
    account_id UUID NOT NULL REFERENCES accounts (id),
    key_hash   TEXT NOT NULL UNIQUE,
    prefix     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX api_keys_account ON api_keys (account_id);

CREATE TABLE tools (
    id              UUID PRIMARY KEY NOT NULL,
    creator_id      UUID NOT NULL REFERENCES accounts (id),
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    category        TEXT NOT NULL,
    family          TEXT NOT NULL,
    price_cents     BIGINT NOT NULL CHECK (price_cents >= 0),
    tier            TEXT NOT NULL CHECK (tier IN ('free', 'basic', 'pro', 'enterprise')),
    metadata        JSONB NOT NULL,
    current_version INTEGER NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    deleted_at      TIMESTAMPTZ
);
CREATE INDEX tools_listing ON tools (deleted_at, id);
CREATE INDEX tools_creator ON tools (creator_id, id);

CREATE TABLE tool_versions (
    tool_id    UUID NOT NULL REFERENCES tools (id),
    version    INTEGER NOT NULL,
    parameters JSONB NOT NULL,
    source     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tool_id, version)
);

CREATE TABLE subscriptions (
    id                   UUID PRIMARY KEY NOT NULL,
    tool_id              UUID NOT NULL REFERENCES tools (id),
    subscriber_id        UUID NOT NULL REFERENCES accounts (id),
    tier                 TEXT NOT NULL CHECK (tier IN ('free', 'basic', 'pro', 'enterprise')),
    status               TEXT NOT NULL CHECK (status IN ('active', 'past_due', 'canceled', 'expired')),
    price_cents          BIGINT NOT NULL CHECK (price_cents >= 0),
    anchor_at            TIMESTAMPTZ NOT NULL,
    periods_paid         INTEGER NOT NULL CHECK (periods_paid >= 1),
    paid_through         TIMESTAMPTZ NOT NULL,
    auto_renew           BOOLEAN NOT NULL,
    cancel_at_period_end BOOLEAN NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    ended_at             TIMESTAMPTZ
);
-- One live subscription per renter and tool.
CREATE UNIQUE INDEX subscriptions_one_live ON subscriptions (tool_id, subscriber_id)
    WHERE status IN ('active', 'past_due');
CREATE INDEX subscriptions_subscriber ON subscriptions (subscriber_id, id);
CREATE INDEX subscriptions_due ON subscriptions (status, paid_through);

CREATE TABLE ledger_transactions (
    id              UUID PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('top_up', 'subscription_charge', 'refund')),
    subscription_id UUID REFERENCES subscriptions (id),
    period_start    TIMESTAMPTZ,
    period_end      TIMESTAMPTZ,
    refund_of       UUID REFERENCES ledger_transactions (id),
    reference       TEXT,
    memo            TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
-- Exactly once: one charge per subscription period, one refund per charge.
CREATE UNIQUE INDEX ledger_one_charge_per_period ON ledger_transactions (subscription_id, period_start)
    WHERE kind = 'subscription_charge';
CREATE UNIQUE INDEX ledger_one_refund_per_charge ON ledger_transactions (refund_of)
    WHERE kind = 'refund';

CREATE TABLE ledger_entries (
    id             UUID PRIMARY KEY NOT NULL,
    transaction_id UUID NOT NULL REFERENCES ledger_transactions (id),
    account_id     UUID NOT NULL REFERENCES accounts (id),
    amount_cents   BIGINT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, id);
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);

CREATE TABLE idempotency_keys (
    account_id    UUID NOT NULL REFERENCES accounts (id),
    scope         TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    response_code INTEGER NOT NULL,
    response_body JSONB NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, scope, key)
);
