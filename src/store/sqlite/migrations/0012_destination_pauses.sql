-- The state of a destination that has failed lately or that an operator paused (store::destinations),
-- shared by every delivery worker on the database and kept across restarts. A destination with
-- no row sends normally. Instants are microseconds since the epoch, as elsewhere.
--   failures_in_row  retried failures since the last success
--   paused_until     the automatic pause after failures: nothing before it, then one probe
--   pause_seconds    the length of the current automatic pause (doubles after a failed probe)
--   probe_until      a probe is out, taken by one worker until then (a lease, as a claim)
--   held_at/_by      an operator's pause: nothing at all until an operator resumes it
CREATE TABLE destination_pauses (
    destination      TEXT PRIMARY KEY,
    failures_in_row  INTEGER NOT NULL DEFAULT 0,
    paused_until     INTEGER,
    pause_seconds    INTEGER NOT NULL DEFAULT 0,
    probe_until      INTEGER,
    held_at          INTEGER,
    held_by          TEXT,
    held_by_name     TEXT,
    CHECK ((held_at IS NULL) = (held_by IS NULL))
) WITHOUT ROWID;
