-- The delivery outbox: one row per message and destination, written in the transaction that
-- files the message. The row id is the acceptance order the worker keeps per case and
-- destination.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    delivery_id     TEXT NOT NULL UNIQUE,   -- stable: the CloudEvent id, webhook-id and Message-ID
    message         INTEGER NOT NULL REFERENCES messages (id),
    case_id         INTEGER NOT NULL REFERENCES cases (id),
    destination     TEXT NOT NULL,          -- a destination id, or mail:<team>
    routes          TEXT NOT NULL,          -- JSON array of the route names that chose it
    state           TEXT NOT NULL CHECK (state IN ('pending', 'retrying', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,  -- every attempt, ever
    failures        INTEGER NOT NULL DEFAULT 0,  -- failed attempts since creation or the last replay
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER,                -- a worker is sending it; after this time it may be sent again
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER,                -- delivered or dead
    last_status     INTEGER,
    last_error      TEXT,
    dead_reason     TEXT
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state IN ('pending', 'retrying');
CREATE INDEX deliveries_open_by_case ON deliveries (case_id, destination, id) WHERE state IN ('pending', 'retrying');
CREATE INDEX deliveries_by_message ON deliveries (message);
CREATE INDEX deliveries_dead ON deliveries (destination, finished_at) WHERE state = 'dead';

-- Every attempt, with what came of it.
CREATE TABLE delivery_attempts (
    id          INTEGER PRIMARY KEY,
    delivery    INTEGER NOT NULL REFERENCES deliveries (id),
    number      INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    latency_us  INTEGER NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead')),
    status      INTEGER,                -- HTTP status or SMTP reply code
    error       TEXT
);
CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery, number);

-- Operators read dead letters and the delivery status, and replay.
CREATE TABLE tokens_new (
    id            TEXT PRIMARY KEY,
    hash          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('sender', 'caseworker', 'operator')),
    sender_id     TEXT,
    kinds         TEXT NOT NULL DEFAULT '',
    municipality  TEXT,
    team          TEXT,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);
INSERT INTO tokens_new SELECT id, hash, role, sender_id, kinds, municipality, team, created_at, revoked_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;
