-- The state of a destination that has failed lately or that an operator paused (store::destinations),
-- as SQLite's 0012_destination_pauses.sql: shared by the delivery workers of every instance and kept
-- across restarts. A destination with no row sends normally.
CREATE TABLE destination_pauses (
    destination      TEXT PRIMARY KEY,
    failures_in_row  BIGINT NOT NULL DEFAULT 0,
    paused_until     BIGINT,
    pause_seconds    BIGINT NOT NULL DEFAULT 0,
    probe_until      BIGINT,
    held_at          BIGINT,
    held_by          TEXT,
    held_by_name     TEXT,
    CHECK ((held_at IS NULL) = (held_by IS NULL))
);
