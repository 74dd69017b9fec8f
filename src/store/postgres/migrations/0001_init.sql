-- The PostgreSQL schema: the tables of the SQLite migrations 0001 to 0010 as they stand after
-- them, with the same names, columns and meaning (see src/store/sqlite/migrations/ for the
-- history of each). The encodings are the SQLite store's, so both backends read and write the
-- same values: instants are BIGINT microseconds since the Unix epoch (UTC), JSON is TEXT, keyed
-- hashes and sealed data are BYTEA; flags are BOOLEAN.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Case numbers come from a sequence, not MAX(id)+1: several instances may open cases at once.
-- A number taken by a transaction that rolls back is not given again (a gap, never a clash).
CREATE SEQUENCE case_numbers AS BIGINT;

CREATE TABLE cases (
    id            BIGINT PRIMARY KEY,     -- from case_numbers; the running number of case_ref
    case_ref      TEXT NOT NULL,
    municipality  TEXT NOT NULL,
    subject_kind  TEXT NOT NULL CHECK (subject_kind IN ('citizen', 'vacant_dwelling')),
    subject_hash  BYTEA NOT NULL,
    cpr_sealed    BYTEA,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    CONSTRAINT cases_subject_unique UNIQUE (municipality, subject_hash)
);
CREATE INDEX cases_by_subject ON cases (subject_hash);
CREATE INDEX cases_by_municipality ON cases (municipality, subject_kind);

CREATE TABLE messages (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    receipt_id    TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    sender_id     TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    content_hash  BYTEA NOT NULL,
    offer_hash    BYTEA,
    case_id       BIGINT NOT NULL REFERENCES cases (id),
    received_at   BIGINT NOT NULL,
    body_sealed   BYTEA NOT NULL,
    summary       TEXT NOT NULL,
    warnings      TEXT NOT NULL,
    CONSTRAINT messages_idempotency UNIQUE (sender_id, message_id)
);
CREATE INDEX messages_by_case ON messages (case_id, id);
CREATE INDEX messages_by_offer ON messages (offer_hash) WHERE offer_hash IS NOT NULL;

CREATE TABLE tokens (
    id            TEXT PRIMARY KEY,
    hash          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('sender', 'caseworker', 'operator', 'auditor')),
    sender_id     TEXT,
    kinds         TEXT NOT NULL DEFAULT '',
    municipality  TEXT,
    team          TEXT,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);

CREATE TABLE deadlines (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id         BIGINT NOT NULL REFERENCES cases (id),
    message         BIGINT NOT NULL REFERENCES messages (id),
    policy          TEXT NOT NULL,
    scope           TEXT NOT NULL,
    title           TEXT NOT NULL,
    team            TEXT,
    state           TEXT NOT NULL CHECK (state IN ('open', 'met', 'missed', 'cancelled')),
    due_at          BIGINT NOT NULL,
    reminders       TEXT NOT NULL,
    reminders_done  BIGINT NOT NULL DEFAULT 0,
    remind_to       TEXT,
    escalate_to     TEXT,
    next_alert_at   BIGINT,
    created_at      BIGINT NOT NULL,
    created_by      TEXT NOT NULL,
    resolved_at     BIGINT,
    resolved_by     TEXT,
    outcome         TEXT
);
CREATE INDEX deadlines_alerts ON deadlines (next_alert_at) WHERE next_alert_at IS NOT NULL;
CREATE INDEX deadlines_by_case ON deadlines (case_id, policy, scope);
CREATE INDEX deadlines_missed ON deadlines (team, due_at) WHERE state = 'missed';

CREATE TABLE deadline_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deadline    BIGINT NOT NULL REFERENCES deadlines (id),
    at          BIGINT NOT NULL,
    event       TEXT NOT NULL,
    actor       TEXT NOT NULL,
    details     TEXT NOT NULL
);
CREATE INDEX deadline_events_by_deadline ON deadline_events (deadline, id);

CREATE TABLE deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id     TEXT NOT NULL UNIQUE,
    message         BIGINT REFERENCES messages (id),
    case_id         BIGINT REFERENCES cases (id),
    destination     TEXT NOT NULL,
    routes          TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'retrying', 'delivered', 'dead')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    failures        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT,
    created_at      BIGINT NOT NULL,
    finished_at     BIGINT,
    last_status     BIGINT,
    last_error      TEXT,
    dead_reason     TEXT,
    purpose         TEXT NOT NULL DEFAULT 'message'
                    CHECK (purpose IN ('message', 'reminder', 'escalation', 'transfer', 'digest')),
    deadline        BIGINT REFERENCES deadlines (id),
    payload         TEXT,
    alone           BOOLEAN NOT NULL DEFAULT false,
    CHECK ((purpose = 'digest') = (message IS NULL)),
    CHECK ((message IS NULL) = (case_id IS NULL))
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state IN ('pending', 'retrying');
CREATE INDEX deliveries_open_by_case ON deliveries (case_id, destination, id) WHERE state IN ('pending', 'retrying');
CREATE INDEX deliveries_open_by_destination ON deliveries (destination, id) WHERE state IN ('pending', 'retrying');
CREATE INDEX deliveries_by_message ON deliveries (message);
CREATE INDEX deliveries_by_deadline ON deliveries (deadline) WHERE deadline IS NOT NULL;
CREATE INDEX deliveries_dead ON deliveries (destination, finished_at) WHERE state = 'dead';

CREATE TABLE delivery_attempts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery    BIGINT NOT NULL REFERENCES deliveries (id),
    number      BIGINT NOT NULL,
    started_at  BIGINT NOT NULL,
    latency_us  BIGINT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead')),
    status      BIGINT,
    error       TEXT
);
CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery, number);

CREATE TABLE digests (
    team        TEXT NOT NULL,
    day         TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    delivery    BIGINT REFERENCES deliveries (id),
    PRIMARY KEY (team, day)
);

CREATE TABLE audit_log (
    id          BIGINT PRIMARY KEY,        -- 1, 2, 3 … with no gaps; a gap is a removed entry
    at          BIGINT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    actor_name  TEXT,
    address     TEXT,
    action      TEXT NOT NULL,
    case_ref    TEXT,
    receipt_id  TEXT,
    target      TEXT,
    outcome     TEXT NOT NULL,
    prev        BYTEA NOT NULL,
    seal        BYTEA NOT NULL
);
CREATE INDEX audit_by_at ON audit_log (at);
CREATE INDEX audit_by_actor ON audit_log (actor, id);
CREATE INDEX audit_by_case ON audit_log (case_ref, id) WHERE case_ref IS NOT NULL;

CREATE TABLE audit_chain (
    name        TEXT PRIMARY KEY CHECK (name IN ('anchor', 'head')),
    id          BIGINT NOT NULL,
    seal        BYTEA NOT NULL,
    mac         BYTEA
);

CREATE TABLE sender_certificates (
    id              TEXT NOT NULL,
    sender_id       TEXT NOT NULL,
    kinds           TEXT NOT NULL,
    fingerprint     TEXT,
    subject_serial  TEXT,
    not_after       BIGINT,
    created_at      BIGINT NOT NULL,
    revoked_at      BIGINT,
    CHECK ((fingerprint IS NULL) <> (subject_serial IS NULL))
);
CREATE UNIQUE INDEX sender_certificates_live_id ON sender_certificates (id) WHERE revoked_at IS NULL;
CREATE UNIQUE INDEX sender_certificates_live_fingerprint ON sender_certificates (fingerprint)
    WHERE revoked_at IS NULL AND fingerprint IS NOT NULL;
CREATE UNIQUE INDEX sender_certificates_live_serial ON sender_certificates (subject_serial)
    WHERE revoked_at IS NULL AND subject_serial IS NOT NULL;

CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    name        TEXT,
    roles       TEXT NOT NULL,
    csrf_token  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL
);
CREATE INDEX sessions_by_last_seen ON sessions (last_seen);

CREATE TABLE logins (
    state_hash     TEXT PRIMARY KEY,
    nonce          TEXT NOT NULL,
    pkce_verifier  TEXT NOT NULL,
    return_to      TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE TABLE housing_needs (
    case_id              BIGINT PRIMARY KEY REFERENCES cases (id),
    dog                  BOOLEAN NOT NULL,
    cat                  BOOLEAN NOT NULL,
    step_free            BOOLEAN NOT NULL,
    min_rooms            BIGINT,
    max_rent_dkk         BIGINT,
    preferred_postcodes  TEXT NOT NULL,
    avoided_postcodes    TEXT NOT NULL,
    note_sealed          BYTEA,
    recorded_at          BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    updated_by           TEXT NOT NULL
);
