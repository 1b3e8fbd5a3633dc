-- Accounts, API keys, tools and versions, subscriptions, the double-entry ledger, idempotency.
-- UUIDs are 16-byte BLOBs, times RFC 3339 TEXT (UTC), money INTEGER cents, JSON TEXT.

CREATE TABLE accounts (
    id            BLOB PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('user', 'platform', 'external')),
    balance_cents INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);

CREATE TABLE api_keys (
    id         BLOB PRIMARY KEY NOT NULL,
    account_id BLOB NOT NULL REFERENCES accounts (id),
    key_hash   TEXT NOT NULL UNIQUE,
    prefix     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX api_keys_account ON api_keys (account_id);

CREATE TABLE tools (
    id              BLOB PRIMARY KEY NOT NULL,
    creator_id      BLOB NOT NULL REFERENCES accounts (id),
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    category        TEXT NOT NULL,
    family          TEXT NOT NULL,
    price_cents     INTEGER NOT NULL CHECK (price_cents >= 0),
    tier            TEXT NOT NULL CHECK (tier IN ('free', 'basic', 'pro', 'enterprise')),
    metadata        TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    deleted_at      TEXT
);
CREATE INDEX tools_listing ON tools (deleted_at, id);
CREATE INDEX tools_creator ON tools (creator_id, id);

CREATE TABLE tool_versions (
    tool_id    BLOB NOT NULL REFERENCES tools (id),
    version    INTEGER NOT NULL,
    parameters TEXT NOT NULL,
    source     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tool_id, version)
);

CREATE TABLE subscriptions (
    id                   BLOB PRIMARY KEY NOT NULL,
    tool_id              BLOB NOT NULL REFERENCES tools (id),
    subscriber_id        BLOB NOT NULL REFERENCES accounts (id),
    tier                 TEXT NOT NULL CHECK (tier IN ('free', 'basic', 'pro', 'enterprise')),
    status               TEXT NOT NULL CHECK (status IN ('active', 'past_due', 'canceled', 'expired')),
    price_cents          INTEGER NOT NULL CHECK (price_cents >= 0),
    anchor_at            TEXT NOT NULL,
    periods_paid         INTEGER NOT NULL CHECK (periods_paid >= 1),
    paid_through         TEXT NOT NULL,
    auto_renew           INTEGER NOT NULL,
    cancel_at_period_end INTEGER NOT NULL,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    ended_at             TEXT
);
-- One live subscription per renter and tool.
CREATE UNIQUE INDEX subscriptions_one_live ON subscriptions (tool_id, subscriber_id)
    WHERE status IN ('active', 'past_due');
CREATE INDEX subscriptions_subscriber ON subscriptions (subscriber_id, id);
CREATE INDEX subscriptions_due ON subscriptions (status, paid_through);

CREATE TABLE ledger_transactions (
    id              BLOB PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('top_up', 'subscription_charge', 'refund')),
    subscription_id BLOB REFERENCES subscriptions (id),
    period_start    TEXT,
    period_end      TEXT,
    refund_of       BLOB REFERENCES ledger_transactions (id),
    reference       TEXT,
    memo            TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
-- Exactly once: one charge per subscription period, one refund per charge.
CREATE UNIQUE INDEX ledger_one_charge_per_period ON ledger_transactions (subscription_id, period_start)
    WHERE kind = 'subscription_charge';
CREATE UNIQUE INDEX ledger_one_refund_per_charge ON ledger_transactions (refund_of)
    WHERE kind = 'refund';

CREATE TABLE ledger_entries (
    id             BLOB PRIMARY KEY NOT NULL,
    transaction_id BLOB NOT NULL REFERENCES ledger_transactions (id),
    account_id     BLOB NOT NULL REFERENCES accounts (id),
    amount_cents   INTEGER NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, id);
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);

CREATE TABLE idempotency_keys (
    account_id    BLOB NOT NULL REFERENCES accounts (id),
    scope         TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    response_code INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (account_id, scope, key)
);
