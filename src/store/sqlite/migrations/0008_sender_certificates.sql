-- Client certificates that identify senders (mutual TLS, server.tls.client_ca), registered with
-- `indgang sender add`: by the certificate's SHA-256 fingerprint (--certificate or --fingerprint)
-- or by the serial number in its subject (--subject-serial), which a renewed certificate keeps.
-- A sender may have several at once (rollover). `sender remove` sets revoked_at; the row stays.
CREATE TABLE sender_certificates (
    id              TEXT NOT NULL,          -- crt_<12 hex of the fingerprint> or crs_<12 hex>
    sender_id       TEXT NOT NULL,
    kinds           TEXT NOT NULL,          -- comma-separated kinds it may submit
    fingerprint     TEXT,                   -- SHA-256 of the certificate's DER, lower-case hex
    subject_serial  TEXT,                   -- the subject's serialNumber (2.5.4.5)
    not_after       INTEGER,                -- when the registered certificate expires, if known
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    CHECK ((fingerprint IS NULL) <> (subject_serial IS NULL))
);

-- One live registration per id, per fingerprint and per subject serial number.
CREATE UNIQUE INDEX sender_certificates_live_id ON sender_certificates (id) WHERE revoked_at IS NULL;
CREATE UNIQUE INDEX sender_certificates_live_fingerprint ON sender_certificates (fingerprint)
    WHERE revoked_at IS NULL AND fingerprint IS NOT NULL;
CREATE UNIQUE INDEX sender_certificates_live_serial ON sender_certificates (subject_serial)
    WHERE revoked_at IS NULL AND subject_serial IS NOT NULL;
