-- Honest optimization. Every trial of a session's search is kept (the whole study, not only its
-- winner); every promoted version carries a sealed certificate, chained per tool; and momentum
-- becomes scale-free (family version 2): tools made under version 1 keep their raw-return rule
-- as the family momentum_return.

UPDATE tools SET family = 'momentum_return' WHERE family = 'momentum';

CREATE TABLE optimization_trials (
    record_id  BLOB NOT NULL REFERENCES optimization_records (id),
    trial      INTEGER NOT NULL,
    params     TEXT NOT NULL,
    score      REAL,
    num_trades REAL NOT NULL,
    sharpe     REAL,
    information_ratio REAL,
    metrics    TEXT NOT NULL,
    PRIMARY KEY (record_id, trial)
);

CREATE TABLE certificates (
    tool_id       BLOB NOT NULL REFERENCES tools (id),
    version       INTEGER NOT NULL,
    record_id     BLOB NOT NULL REFERENCES optimization_records (id),
    -- The canonical JSON text exactly as sealed (never re-encoded), and its SHA-256.
    body          TEXT NOT NULL,
    hash          TEXT NOT NULL,
    previous_hash TEXT,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (tool_id, version)
);
CREATE UNIQUE INDEX certificates_hash ON certificates (hash);

-- A certificate names its data by content hash only.
CREATE INDEX datasets_content ON datasets (content_hash);
