-- Fewer B-tree entries per filed message (issue 18; the measurements are in docs/benchmarks.md).
--
-- A case was found by (municipality, subject_hash) through the table's UNIQUE constraint, and a
-- citizen's cases in other municipalities (a transfer) by subject_hash through cases_by_subject.
-- Both keys start with a keyed hash, so every new case put an entry on a random page of each
-- index, and each of those pages went to the WAL. One index with the hash first serves both:
-- the lookup on both columns and the one on the hash alone.
CREATE TABLE cases_new (
    id            INTEGER PRIMARY KEY,
    case_ref      TEXT NOT NULL,
    municipality  TEXT NOT NULL,
    subject_kind  TEXT NOT NULL CHECK (subject_kind IN ('citizen', 'vacant_dwelling')),
    subject_hash  BLOB NOT NULL,          -- keyed hash (HMAC-SHA256, 128 bits) of the CPR number or offer
    cpr_sealed    BLOB,                   -- XChaCha20-Poly1305
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CONSTRAINT cases_subject_unique UNIQUE (subject_hash, municipality)
);
INSERT INTO cases_new (id, case_ref, municipality, subject_kind, subject_hash, cpr_sealed, created_at, updated_at)
SELECT id, case_ref, municipality, subject_kind, subject_hash, cpr_sealed, created_at, updated_at FROM cases;
DROP TABLE cases;
ALTER TABLE cases_new RENAME TO cases;
CREATE INDEX cases_by_municipality ON cases (municipality, subject_kind);
