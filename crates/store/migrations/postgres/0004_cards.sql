-- Cards and their lifecycle (DESIGN §5, §8). Only clear metadata lives here:
-- ids, states, times, the printed card number and the status list index.
-- What is printed (name, rank, service number) is read from the identity
-- compartment, through an audited read, each time a credential is signed.
CREATE TABLE cards (
    id           TEXT    PRIMARY KEY,
    person_id    UUID    NOT NULL REFERENCES people (id),
    card_type    TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    number       TEXT    NOT NULL UNIQUE,
    status_idx   BIGINT NOT NULL UNIQUE,
    requested_by TEXT    NOT NULL,
    approved_by  TEXT,
    supersedes   TEXT,
    key_version  BIGINT,
    issued_at    BIGINT,
    expires_at   BIGINT,
    reason       TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    row_version  BIGINT NOT NULL
);
CREATE INDEX cards_person ON cards (person_id);
CREATE INDEX cards_state ON cards (state);
