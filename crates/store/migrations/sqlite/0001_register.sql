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
    version    INTEGER NOT NULL,
    wrapped    BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (purpose, name, version)
);

-- WITHOUT ROWID: rows live in their primary-key B-tree, one insert each
-- instead of two; rotation scans `sealed` rather than keeping an index on
-- key versions that every insert would pay for.
CREATE TABLE people (
    id            BLOB    PRIMARY KEY,
    status        TEXT    NOT NULL CHECK (status IN ('active', 'erased')),
    protected     INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    row_version   INTEGER NOT NULL,
    sn_index      BLOB,
    surname_index BLOB,
    email_index   BLOB
) WITHOUT ROWID;
CREATE UNIQUE INDEX people_sn_index ON people (sn_index);
CREATE INDEX people_surname_index ON people (surname_index);
CREATE INDEX people_email_index ON people (email_index);

CREATE TABLE sealed (
    person_id   BLOB    NOT NULL REFERENCES people (id),
    compartment TEXT    NOT NULL,
    ck_version  INTEGER NOT NULL,
    key_version INTEGER NOT NULL,
    wrapped_key BLOB    NOT NULL,
    fields      BLOB    NOT NULL,
    PRIMARY KEY (person_id, compartment)
) WITHOUT ROWID;

-- Audit events, in append order. The Merkle tree over them is derived.
CREATE TABLE audit_log (
    idx       INTEGER PRIMARY KEY,
    event     BLOB    NOT NULL,
    leaf_hash BLOB    NOT NULL
);

-- Perfect-subtree hashes of the Merkle tree over audit_log (level >= 1;
-- level 0 is audit_log.leaf_hash), so proofs cost O(log n) reads.
CREATE TABLE audit_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
