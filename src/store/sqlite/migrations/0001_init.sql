-- Instants are microseconds since the Unix epoch, UTC.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Running case numbers, one series per year: K-2026-000001, K-2026-000002 …
CREATE TABLE case_counters (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
);

-- One case per citizen (or vacant dwelling) per municipality.
CREATE TABLE cases (
    id            INTEGER PRIMARY KEY,
    case_ref      TEXT NOT NULL UNIQUE,
    municipality  TEXT NOT NULL,
    subject_kind  TEXT NOT NULL CHECK (subject_kind IN ('citizen', 'vacant_dwelling')),
    subject_hash  TEXT NOT NULL,          -- keyed hash (HMAC-SHA256) of the CPR number or offer
    cpr_sealed    BLOB,                   -- XChaCha20-Poly1305
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CONSTRAINT cases_subject_unique UNIQUE (municipality, subject_hash)
);
CREATE INDEX cases_by_municipality ON cases (municipality, updated_at);

-- Every accepted message with its receipt. Rejected messages are never stored.
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    receipt_id    TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    sender_id     TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    received_at   INTEGER NOT NULL,
    body_sealed   BLOB NOT NULL,          -- the canonical message, XChaCha20-Poly1305
    summary       TEXT NOT NULL,          -- JSON, members without personal data
    warnings      TEXT NOT NULL,          -- JSON array
    CONSTRAINT messages_idempotency UNIQUE (sender_id, message_id)
);
CREATE INDEX messages_by_case ON messages (case_id, id);
CREATE INDEX messages_by_received ON messages (received_at);

CREATE TABLE tokens (
    id            TEXT PRIMARY KEY,
    hash          TEXT NOT NULL UNIQUE,   -- SHA-256 of the token; the token itself is never stored
    role          TEXT NOT NULL CHECK (role IN ('sender', 'caseworker')),
    sender_id     TEXT,
    kinds         TEXT NOT NULL DEFAULT '',
    municipality  TEXT,
    team          TEXT,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);
