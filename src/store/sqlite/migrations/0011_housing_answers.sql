-- The caseworker's answer to the allocation office on a vacant home (store::matching): one per
-- vacant home's case, naming the citizen's case chosen or none with a reason from a fixed list
-- (no free text, so no personal data). `delivery` is the outbound message to the allocation
-- office, written in the same transaction; NULL when `matching.answer_destination` is empty.
CREATE TABLE housing_answers (
    id               INTEGER PRIMARY KEY,
    home_case_id     INTEGER NOT NULL UNIQUE REFERENCES cases (id),
    message          INTEGER NOT NULL REFERENCES messages (id),   -- the offer answered
    offer_id         TEXT NOT NULL,
    answer           TEXT NOT NULL CHECK (answer IN ('candidate', 'none')),
    citizen_case_id  INTEGER REFERENCES cases (id),
    candidate_rank   INTEGER,                -- the citizen's rank when chosen
    reason           TEXT,
    answered_at      INTEGER NOT NULL,
    answered_by      TEXT NOT NULL,
    delivery         INTEGER REFERENCES deliveries (id),
    CHECK ((answer = 'candidate') = (citizen_case_id IS NOT NULL)),
    CHECK ((answer = 'none') = (reason IS NOT NULL))
);
CREATE INDEX housing_answers_by_citizen ON housing_answers (citizen_case_id);

-- The answer goes to the allocation office as a delivery of the purpose `housing-answer`, about the
-- offer it answers. The table is rebuilt as in 0006 (SQLite cannot change a CHECK in place); the
-- row ids stay.
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
                    CHECK (purpose IN ('message', 'reminder', 'escalation', 'transfer', 'digest', 'housing-answer')),
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
