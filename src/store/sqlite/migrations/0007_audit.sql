-- The audit log (store::audit): who read or changed what, append-only, each entry sealed with a
-- keyed hash over its fields and the seal before it.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,       -- 1, 2, 3 … with no gaps; a gap is a removed entry
    at          INTEGER NOT NULL,          -- microseconds since the epoch
    actor_kind  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    actor_name  TEXT,
    address     TEXT,
    action      TEXT NOT NULL,
    case_ref    TEXT,
    receipt_id  TEXT,
    target      TEXT,
    outcome     TEXT NOT NULL,
    prev        BLOB NOT NULL,
    seal        BLOB NOT NULL
);
CREATE INDEX audit_by_at ON audit_log (at);
CREATE INDEX audit_by_actor ON audit_log (actor, id);
CREATE INDEX audit_by_case ON audit_log (case_ref, id) WHERE case_ref IS NOT NULL;

-- One row each: the anchor (where the chain starts after pruning) and the head (the last entry,
-- sealed, so that entries cut off the end are found).
CREATE TABLE audit_chain (
    name        TEXT PRIMARY KEY CHECK (name IN ('anchor', 'head')),
    id          INTEGER NOT NULL,
    seal        BLOB NOT NULL,
    mac         BLOB
);

-- The auditor role: reads the audit log and nothing else (the table is rebuilt as in 0002 to
-- widen its CHECK).
CREATE TABLE tokens_new (
    id            TEXT PRIMARY KEY,
    hash          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('sender', 'caseworker', 'operator', 'auditor')),
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
