-- Cards and their lifecycle (DESIGN §5, §8). Only clear metadata lives here:
-- ids, states, times, the printed card number and the status list index.
-- What is printed (name, rank, service number) is read from the identity
-- compartment, through an audited read, each time a credential is signed.
CREATE TABLE cards (
    id           TEXT    PRIMARY KEY,
    person_id    BLOB    NOT NULL REFERENCES people (id),
    card_type    TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    number       TEXT    NOT NULL UNIQUE,
    status_idx   INTEGER NOT NULL UNIQUE,
    requested_by TEXT    NOT NULL,
    approved_by  TEXT,
    supersedes   TEXT,
    key_version  INTEGER,
    issued_at    INTEGER,
    expires_at   INTEGER,
    reason       TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    row_version  INTEGER NOT NULL
);
CREATE INDEX cards_person ON cards (person_id);
CREATE INDEX cards_state ON cards (state);
