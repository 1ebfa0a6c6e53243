-- Sealed audit notes (issue 15): the free-text part of a purpose is sealed
-- into its audit event under a key of its own; that key, wrapped by the
-- audit-notes key, is kept here, linked to every person the event names.
-- Erasing any of them deletes the key, which crypto-shreds the note while
-- its ciphertext stays in the append-only log.
CREATE TABLE audit_notes (
    id         TEXT    PRIMARY KEY,
    wrapped    BYTEA   NOT NULL,
    created_at BIGINT  NOT NULL
);

CREATE TABLE audit_note_people (
    person_id UUID NOT NULL,
    note_id   TEXT NOT NULL REFERENCES audit_notes (id) ON DELETE CASCADE,
    PRIMARY KEY (person_id, note_id)
);
