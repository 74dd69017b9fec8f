-- Deliveries without a message: the daily digest of a team is about many cases, not one. The
-- table is rebuilt (SQLite cannot relax NOT NULL in place) with `message` and `case_id`
-- optional, the purpose `digest`, and `payload`, what a digest lists as it stood when it was
-- made. Foreign keys are off while migrations run; the row ids stay, so attempts and deadlines
-- keep pointing at their deliveries.
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
                    CHECK (purpose IN ('message', 'reminder', 'escalation', 'digest')),
    deadline        INTEGER REFERENCES deadlines (id),
    payload         TEXT,                   -- JSON, for a digest
    alone           INTEGER NOT NULL DEFAULT 0,  -- 1: never collected with other alerts again
    CHECK ((purpose = 'digest') = (message IS NULL)),
    CHECK ((message IS NULL) = (case_id IS NULL))
);
INSERT INTO deliveries_new (id, delivery_id, message, case_id, destination, routes, state, attempts, failures,
    next_attempt_at, claimed_until, created_at, finished_at, last_status, last_error, dead_reason, purpose, deadline)
SELECT id, delivery_id, message, case_id, destination, routes, state, attempts, failures,
    next_attempt_at, claimed_until, created_at, finished_at, last_status, last_error, dead_reason, purpose, deadline
FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state IN ('pending', 'retrying');
CREATE INDEX deliveries_open_by_case ON deliveries (case_id, destination, id) WHERE state IN ('pending', 'retrying');
-- Grouping alerts to one recipient reads a destination's open deliveries.
CREATE INDEX deliveries_open_by_destination ON deliveries (destination, id) WHERE state IN ('pending', 'retrying');
CREATE INDEX deliveries_by_message ON deliveries (message);
CREATE INDEX deliveries_dead ON deliveries (destination, finished_at) WHERE state = 'dead';

-- One digest per team and working day: made once, even across restarts. `delivery` is NULL when
-- there was nothing to list.
CREATE TABLE digests (
    team        TEXT NOT NULL,
    day         TEXT NOT NULL,          -- YYYY-MM-DD, Copenhagen
    created_at  INTEGER NOT NULL,
    delivery    INTEGER REFERENCES deliveries (id),
    PRIMARY KEY (team, day)
) WITHOUT ROWID;

-- The digest lists the missed deadlines nobody has resolved yet.
CREATE INDEX deadlines_missed ON deadlines (team, due_at) WHERE state = 'missed';
