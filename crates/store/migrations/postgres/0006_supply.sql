-- Print suppliers and their batches (issue 6, DESIGN §6). lanyard holds a
-- supplier's public age recipient, never its identity. A batch file is
-- sealed to that recipient, so nobody here can read it back; it is dropped
-- (sealed set to NULL) when the batch is confirmed, expires or is
-- destroyed. The rows stay, so the drill and the log can say what left,
-- for whom, and when.
CREATE TABLE suppliers (
    name        TEXT    PRIMARY KEY,
    recipient   TEXT    NOT NULL,
    disabled_at BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE batches (
    id            TEXT    PRIMARY KEY,
    supplier      TEXT    NOT NULL REFERENCES suppliers (name),
    state         TEXT    NOT NULL,
    recipient     TEXT    NOT NULL,
    card_count    BIGINT NOT NULL,
    sealed        BYTEA,
    sealed_size   BIGINT NOT NULL,
    sealed_sha256 BYTEA   NOT NULL,
    created_by    TEXT    NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    downloads     BIGINT NOT NULL,
    closed_at     BIGINT,
    row_version   BIGINT NOT NULL
);
CREATE INDEX batches_supplier ON batches (supplier, state);
CREATE INDEX batches_state ON batches (state, expires_at);

-- Which cards went into which batch, and which printed fields of each
-- (names of fields, never values): what the exposure drill counts.
CREATE TABLE batch_cards (
    batch_id  TEXT NOT NULL REFERENCES batches (id),
    card_id   TEXT NOT NULL REFERENCES cards (id),
    person_id UUID NOT NULL,
    fields    TEXT NOT NULL,
    outcome   TEXT,
    PRIMARY KEY (batch_id, card_id)
);
CREATE INDEX batch_cards_card ON batch_cards (card_id);
