-- A deadline's case and message are no longer foreign keys that SQLite checks (issue 18; the
-- measurements are in docs/benchmarks.md, "The deadline rows' parts").
--
-- Each check looked the parent row up by its id on every INSERT (and on every UPDATE of
-- `message`): two B-tree searches per deadline, eight per release notice, about a quarter of the
-- work of writing a deadline row beyond its two index entries. They guarded nothing the writer
-- does not already guarantee: only the writer thread inserts and updates deadlines
-- (src/store/sqlite/deadlines.rs), always with the case and message the same transaction has just
-- filed or read; and cases and messages are never deleted. `indgang migrate-store` copies the rows
-- into PostgreSQL, whose schema keeps both foreign keys, so a row pointing at nothing would still
-- be refused there. The other foreign keys (deliveries and deadline events pointing at a deadline)
-- stay as they are.
CREATE TABLE deadlines_new (
    id              INTEGER PRIMARY KEY,
    case_id         INTEGER NOT NULL,       -- cases (id); not checked by SQLite, see above
    message         INTEGER NOT NULL,       -- messages (id): the message that created or last moved it
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
