-- Deadlines that follow from messages, and what happened to them. Their creation is the row
-- itself (created_at, created_by); every later change is an event.
CREATE TABLE deadlines (
    id              INTEGER PRIMARY KEY,
    case_id         INTEGER NOT NULL REFERENCES cases (id),
    message         INTEGER NOT NULL REFERENCES messages (id),  -- the message that created or last moved it
    policy          TEXT NOT NULL,
    scope           TEXT NOT NULL,          -- '' (one per case), message:<receipt> or offer:<offer id>
    title           TEXT NOT NULL,
    team            TEXT,
    state           TEXT NOT NULL CHECK (state IN ('open', 'met', 'missed', 'cancelled')),
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
-- The scheduler's tick reads only what is due: its cost follows the due, not the stored.
CREATE INDEX deadlines_alerts ON deadlines (next_alert_at) WHERE next_alert_at IS NOT NULL;
CREATE INDEX deadlines_by_case ON deadlines (case_id, policy, scope);
CREATE INDEX deadlines_by_due ON deadlines (due_at);

CREATE TABLE deadline_events (
    id          INTEGER PRIMARY KEY,
    deadline    INTEGER NOT NULL REFERENCES deadlines (id),
    at          INTEGER NOT NULL,
    event       TEXT NOT NULL,      -- created, moved, cancelled, reminded, missed, met, reopened
    actor       TEXT NOT NULL,      -- a token id, receipt:<id> of a message, or scheduler
    details     TEXT NOT NULL       -- JSON
);
CREATE INDEX deadline_events_by_deadline ON deadline_events (deadline, id);

-- Deliveries also carry reminders and escalations.
ALTER TABLE deliveries ADD COLUMN purpose TEXT NOT NULL DEFAULT 'message'
    CHECK (purpose IN ('message', 'reminder', 'escalation'));
ALTER TABLE deliveries ADD COLUMN deadline INTEGER REFERENCES deadlines (id);
