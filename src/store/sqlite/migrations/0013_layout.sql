-- Fewer B-tree entries per filed message (issue 18; the measurements are in docs/benchmarks.md).
--
-- A case was found by (municipality, subject_hash) through the table's UNIQUE constraint, and a
-- citizen's cases in other municipalities (a transfer) by subject_hash through cases_by_subject.
-- Both keys start with a keyed hash, so every new case put an entry on a random page of each
-- index, and each of those pages went to the WAL. One index with the hash first serves both:
-- the lookup on both columns and the one on the hash alone.
CREATE TABLE cases_new (
    id            INTEGER PRIMARY KEY,
    case_ref      TEXT NOT NULL,
    municipality  TEXT NOT NULL,
    subject_kind  TEXT NOT NULL CHECK (subject_kind IN ('citizen', 'vacant_dwelling')),
    subject_hash  BLOB NOT NULL,          -- keyed hash (HMAC-SHA256, 128 bits) of the CPR number or offer
    cpr_sealed    BLOB,                   -- XChaCha20-Poly1305
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CONSTRAINT cases_subject_unique UNIQUE (subject_hash, municipality)
);
INSERT INTO cases_new (id, case_ref, municipality, subject_kind, subject_hash, cpr_sealed, created_at, updated_at)
SELECT id, case_ref, municipality, subject_kind, subject_hash, cpr_sealed, created_at, updated_at FROM cases;
DROP TABLE cases;
ALTER TABLE cases_new RENAME TO cases;
CREATE INDEX cases_by_municipality ON cases (municipality, subject_kind);

-- SQLite checks a constant list of more than two values (`state IN ('open', 'met', …)`) through a
-- temporary B-tree that it builds for every INSERT: six per release notice (four deadlines, the
-- outbox row's state and purpose). The same checks as comparisons cost a few instructions each;
-- the two tables are rebuilt with them.
CREATE TABLE deadlines_new (
    id              INTEGER PRIMARY KEY,
    case_id         INTEGER NOT NULL REFERENCES cases (id),
    message         INTEGER NOT NULL REFERENCES messages (id),  -- the message that created or last moved it
    policy          TEXT NOT NULL,
    scope           TEXT NOT NULL,          -- '' (one per case), message:<receipt> or offer:<offer id>
    title           TEXT NOT NULL,
    team            TEXT,
    state           TEXT NOT NULL CHECK (state = 'open' OR state = 'met' OR state = 'missed' OR state = 'cancelled'),
    due_at          INTEGER NOT NULL,
    reminders       TEXT NOT NULL,          -- JSON array of instants, ascending
    reminders_done  INTEGER NOT NULL DEFAULT 0,  -- how many of them are behind us (sent or skipped)
    remind_to       TEXT,                   -- destination keys: mail:<team>, lead:<team>
    escalate_to     TEXT,
    next_alert_at   INTEGER,                -- the next reminder or the breach; NULL when nothing is ahead
    created_at      INTEGER NOT NULL,
    created_by      TEXT NOT NULL,          -- receipt:<id> of the message that created it
    resolved_at     INTEGER,
    resolved_by     TEXT,
    outcome         TEXT
);
INSERT INTO deadlines_new (id, case_id, message, policy, scope, title, team, state, due_at, reminders, reminders_done, remind_to, escalate_to, next_alert_at, created_at, created_by, resolved_at, resolved_by, outcome)
SELECT id, case_id, message, policy, scope, title, team, state, due_at, reminders, reminders_done, remind_to, escalate_to, next_alert_at, created_at, created_by, resolved_at, resolved_by, outcome FROM deadlines;
DROP TABLE deadlines;
ALTER TABLE deadlines_new RENAME TO deadlines;
CREATE INDEX deadlines_alerts ON deadlines (next_alert_at) WHERE next_alert_at IS NOT NULL;
CREATE INDEX deadlines_by_case ON deadlines (case_id, policy, scope);
CREATE INDEX deadlines_missed ON deadlines (team, due_at) WHERE state = 'missed';

CREATE TABLE deliveries_new (
    id              INTEGER PRIMARY KEY,
    delivery_id     TEXT NOT NULL UNIQUE,   -- stable: the CloudEvent id, webhook-id and Message-ID
    message         INTEGER REFERENCES messages (id),   -- NULL for a digest
    case_id         INTEGER REFERENCES cases (id),      -- NULL for a digest
    destination     TEXT NOT NULL,          -- a destination id, mail:<team> or lead:<team>
    routes          TEXT NOT NULL,          -- JSON array of the route names that chose it
    state           TEXT NOT NULL CHECK (state = 'pending' OR state = 'retrying' OR state = 'delivered' OR state = 'dead'),
    attempts        INTEGER NOT NULL DEFAULT 0,  -- every attempt, ever
    failures        INTEGER NOT NULL DEFAULT 0,  -- failed attempts since creation or the last replay
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER,                -- a worker is sending it; after this time it may be sent again
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER,                -- delivered or dead
    last_status     INTEGER,
    last_error      TEXT,
    dead_reason     TEXT,
    purpose         TEXT NOT NULL DEFAULT 'message'
                    CHECK (purpose = 'message' OR purpose = 'reminder' OR purpose = 'escalation' OR purpose = 'transfer'
                           OR purpose = 'digest' OR purpose = 'housing-answer'),
    deadline        INTEGER REFERENCES deadlines (id),
    payload         TEXT,                   -- JSON: for a digest its list; for a housing answer its sealed data
    alone           INTEGER NOT NULL DEFAULT 0,  -- 1: never collected with other alerts again
    CHECK ((purpose = 'digest') = (message IS NULL)),
    CHECK ((message IS NULL) = (case_id IS NULL))
);
INSERT INTO deliveries_new (id, delivery_id, message, case_id, destination, routes, state, attempts, failures,
    next_attempt_at, claimed_until, created_at, finished_at, last_status, last_error, dead_reason, purpose, deadline,
    payload, alone)
SELECT id, delivery_id, message, case_id, destination, routes, state, attempts, failures,
    next_attempt_at, claimed_until, created_at, finished_at, last_status, last_error, dead_reason, purpose, deadline,
    payload, alone
FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state IN ('pending', 'retrying');
CREATE INDEX deliveries_open_by_case ON deliveries (case_id, destination, id) WHERE state IN ('pending', 'retrying');
CREATE INDEX deliveries_open_by_destination ON deliveries (destination, id) WHERE state IN ('pending', 'retrying');
CREATE INDEX deliveries_by_message ON deliveries (message);
CREATE INDEX deliveries_dead ON deliveries (destination, finished_at) WHERE state = 'dead';
