-- A release notice that names another municipality moves the citizen's release deadlines there
-- (deadlines::transfer): it finds the citizen's cases in the other municipalities by the keyed
-- hash of the CPR number, which the unique (municipality, subject_hash) index cannot look up alone.
CREATE INDEX cases_by_subject ON cases (subject_hash);

-- The team whose deadlines were closed that way is told, by an alert of the purpose `transfer`.
-- The table is rebuilt as in 0004 (SQLite cannot change a CHECK in place); the row ids stay.
CREATE TABLE deliveries_new (
    id              INTEGER PRIMARY KEY,
    delivery_id     TEXT NOT NULL UNIQUE,   -- stable: the CloudEvent id, webhook-id and Message-ID
    message         INTEGER REFERENCES messages (id),   -- NULL for a digest
    case_id         INTEGER REFERENCES cases (id),      -- NULL for a digest
    destination     TEXT NOT NULL,          -- a destination id, mail:<team> or lead:<team>
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
    dead_reason     TEXT,
    purpose         TEXT NOT NULL DEFAULT 'message'
                    CHECK (purpose IN ('message', 'reminder', 'escalation', 'transfer', 'digest')),
    deadline        INTEGER REFERENCES deadlines (id),
    payload         TEXT,                   -- JSON, for a digest
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
