-- Server users, their sessions, service tokens, and login throttling.
-- Secrets are stored only as hashes (passwords: Argon2id; session and
-- service tokens: SHA-256 of 256-bit random values) or wrapped by the key
-- provider (TOTP secrets).
CREATE TABLE users (
    id             UUID    PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    role           TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    totp_wrapped   BYTEA,
    totp_last_step BIGINT  NOT NULL DEFAULT 0,
    protected      BOOLEAN NOT NULL DEFAULT FALSE,
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    failures       BIGINT  NOT NULL DEFAULT 0,
    locked_until   BIGINT  NOT NULL DEFAULT 0,
    created_at     BIGINT  NOT NULL
);

CREATE TABLE sessions (
    token_hash BYTEA   PRIMARY KEY,
    user_id    UUID    NOT NULL REFERENCES users (id),
    created_at BIGINT  NOT NULL,
    last_seen  BIGINT  NOT NULL
);

CREATE TABLE service_tokens (
    id         UUID    PRIMARY KEY,
    token_hash BYTEA   NOT NULL UNIQUE,
    role       TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE login_throttle (
    client       TEXT    PRIMARY KEY,
    failures     BIGINT  NOT NULL,
    locked_until BIGINT  NOT NULL
);
