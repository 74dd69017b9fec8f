-- One B-tree entry fewer per outbox row (issue 18; the measurements are in docs/benchmarks.md).
--
-- `delivery_id TEXT NOT NULL UNIQUE` put a 36-character key into an index of its own for every
-- delivery written: about 4,100 of the writer's 215,000 instructions per release notice. The only
-- query that looks a delivery up by its id is the replay of one dead letter (`indgang replay`,
-- POST /v1/dead-letters/{id}/replay), and it asks for dead ones only; the ids are uuids v7 made by
-- the gateway itself (48 bits of time and 74 random ones), never chosen by a caller. The id is now
-- indexed only while its delivery is dead: an entry when a delivery dies, none when it is written.
-- (Measured as a 16-byte blob instead of text, the index cost the same instructions per entry.)
--
-- And, as 0014 did for `deadlines`, a delivery's message and case are no longer foreign keys that
-- SQLite checks: two B-tree searches per outbox row, about 2,500 instructions per release notice.
-- Only the writer thread inserts deliveries, with the message and case its transaction has just
-- filed or read; messages and cases are never deleted; PostgreSQL, which `indgang migrate-store`
-- copies into, keeps both foreign keys.
CREATE TABLE deliveries_new (
    id              INTEGER PRIMARY KEY,
    delivery_id     TEXT NOT NULL,          -- stable: the CloudEvent id, webhook-id and Message-ID
    message         INTEGER,                -- messages (id), not checked by SQLite (see above); NULL for a digest
    case_id         INTEGER,                -- cases (id), not checked by SQLite (see above); NULL for a digest
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
CREATE INDEX deliveries_dead_by_id ON deliveries (delivery_id) WHERE state = 'dead';
