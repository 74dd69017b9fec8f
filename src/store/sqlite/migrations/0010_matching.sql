-- What a home must offer a citizen (store::matching): one row per case that has needs recorded.
-- Flags, numbers and postcodes in clear; the caseworker's note sealed like a message body.
CREATE TABLE housing_needs (
    case_id              INTEGER PRIMARY KEY REFERENCES cases (id),
    dog                  INTEGER NOT NULL,
    cat                  INTEGER NOT NULL,
    step_free            INTEGER NOT NULL,
    min_rooms            INTEGER,
    max_rent_dkk         INTEGER,
    preferred_postcodes  TEXT NOT NULL,      -- JSON array of four-digit postcodes
    avoided_postcodes    TEXT NOT NULL,
    note_sealed          BLOB,               -- XChaCha20-Poly1305
    recorded_at          INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    updated_by           TEXT NOT NULL
);

-- The citizens seeking housing are read per municipality.
CREATE INDEX cases_by_municipality ON cases (municipality, subject_kind);
