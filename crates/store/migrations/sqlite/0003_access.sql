-- Server users, their sessions, service tokens, and login throttling.
-- Secrets are stored only as hashes (passwords: Argon2id; session and
-- service tokens: SHA-256 of 256-bit random values) or wrapped by the key
-- provider (TOTP secrets).
CREATE TABLE users (
    id             BLOB    PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    role           TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    totp_wrapped   BLOB,
    totp_last_step INTEGER NOT NULL DEFAULT 0,
    protected      INTEGER NOT NULL DEFAULT 0,
    disabled       INTEGER NOT NULL DEFAULT 0,
    failures       INTEGER NOT NULL DEFAULT 0,
    locked_until   INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    user_id    BLOB    NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE service_tokens (
    id         BLOB    PRIMARY KEY,
    token_hash BLOB    NOT NULL UNIQUE,
    role       TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE login_throttle (
    client       TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until INTEGER NOT NULL
) WITHOUT ROWID;
