-- Witness cosignatures of the log's checkpoints (C2SP tlog-cosignature):
-- one line per witness and size, as the witness returned it. Each verifies
-- on its own under the witness's key, so they carry no tag; and since a
-- store put back from an older copy loses them, the witness itself, not
-- this table, is asked whether the log was rolled back.
CREATE TABLE audit_cosignatures (
    witness    TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    line       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (witness, size)
);
