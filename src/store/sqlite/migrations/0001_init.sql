-- Instants are microseconds since the Unix epoch, UTC.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One case per citizen (or vacant dwelling) per municipality. The case reference carries the
-- id as its running number (K-2026-000123 is case 123), so it needs no index of its own.
CREATE TABLE cases (
    id            INTEGER PRIMARY KEY,
    case_ref      TEXT NOT NULL,
    municipality  TEXT NOT NULL,
    subject_kind  TEXT NOT NULL CHECK (subject_kind IN ('citizen', 'vacant_dwelling')),
    subject_hash  BLOB NOT NULL,          -- keyed hash (HMAC-SHA256, 128 bits) of the CPR number or offer
    cpr_sealed    BLOB,                   -- XChaCha20-Poly1305
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CONSTRAINT cases_subject_unique UNIQUE (municipality, subject_hash)
);

-- Every accepted message with its receipt. Rejected messages are never stored.
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    receipt_id    TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    sender_id     TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    content_hash  BLOB NOT NULL,          -- keyed hash of the canonical message (idempotency)
    offer_hash    BLOB,                   -- keyed hash of (sender, offer_id) for housing offers
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    received_at   INTEGER NOT NULL,
    body_sealed   BLOB NOT NULL,          -- the canonical message, LZ4 then XChaCha20-Poly1305
    summary       TEXT NOT NULL,          -- JSON, members without personal data
    warnings      TEXT NOT NULL,          -- JSON array
    CONSTRAINT messages_idempotency UNIQUE (sender_id, message_id)
);
CREATE INDEX messages_by_case ON messages (case_id, id);
CREATE INDEX messages_by_offer ON messages (offer_hash) WHERE offer_hash IS NOT NULL;

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
