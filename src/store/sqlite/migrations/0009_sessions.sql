-- Sessions of people signed in with OpenID Connect (store::sessions): the cookie holds a random
-- id, the table its SHA-256. Nothing from the provider's token but the subject and the name.
CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    name        TEXT,
    roles       TEXT NOT NULL,             -- JSON: the roles mapped at sign-in
    csrf_token  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,          -- microseconds since the epoch
    last_seen   INTEGER NOT NULL
);
CREATE INDEX sessions_by_last_seen ON sessions (last_seen);

-- Sign-ins under way: taken (deleted) by the callback, so a state works once; older than ten
-- minutes they are gone.
CREATE TABLE logins (
    state_hash     TEXT PRIMARY KEY,
    nonce          TEXT NOT NULL,
    pkce_verifier  TEXT NOT NULL,
    return_to      TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
