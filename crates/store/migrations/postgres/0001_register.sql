-- The encrypted register. Personal values appear only inside `sealed.fields`
-- (ciphertext) and as keyed HMACs in the *_index columns.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Keys wrapped by the key provider's root key: compartment keys, the
-- blind-index key and (later) signing keys.
CREATE TABLE wrapped_keys (
    purpose    TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    wrapped    BYTEA    NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (purpose, name, version)
);

CREATE TABLE people (
    id            UUID    PRIMARY KEY,
    status        TEXT    NOT NULL CHECK (status IN ('active', 'erased')),
    protected     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    row_version   BIGINT  NOT NULL,
    sn_index      BYTEA,
    surname_index BYTEA,
    email_index   BYTEA
);
CREATE UNIQUE INDEX people_sn_index ON people (sn_index);
CREATE INDEX people_surname_index ON people (surname_index);
CREATE INDEX people_email_index ON people (email_index);

CREATE TABLE sealed (
    person_id   UUID    NOT NULL REFERENCES people (id),
    compartment TEXT    NOT NULL,
    ck_version  BIGINT  NOT NULL,
    key_version BIGINT  NOT NULL,
    wrapped_key BYTEA    NOT NULL,
    fields      BYTEA    NOT NULL,
    PRIMARY KEY (person_id, compartment)
);

-- Audit events, in append order. The Merkle tree over them is derived.
CREATE TABLE audit_log (
    idx       BIGINT  PRIMARY KEY,
    event     BYTEA    NOT NULL,
    leaf_hash BYTEA    NOT NULL
);

CREATE TABLE audit_nodes (
    level INTEGER NOT NULL,
    idx   BIGINT  NOT NULL,
    hash  BYTEA   NOT NULL,
    PRIMARY KEY (level, idx)
);
