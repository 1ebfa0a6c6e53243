-- A batch's sealed file in chunks of at most 1 MiB (issue 20), so that no
-- step holds a whole file: the server writes chunks as age seals them and
-- streams them back out one at a time. Chunks are written before their
-- batch row (each in its own short transaction, so a long batch never
-- holds the write lock); the transaction that inserts the batch checks
-- that they add up to its sealed size and SHA-256 is checked on the way
-- out. Chunks of a batch that never got its row (a crash mid-batch) are
-- swept once a day old. A closed batch's chunks go with its file.
CREATE TABLE batch_chunks (
    batch_id   TEXT    NOT NULL,
    seq        BIGINT NOT NULL,
    bytes      BYTEA    NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (batch_id, seq)
);

-- Files stored whole before this migration become one chunk each.
INSERT INTO batch_chunks (batch_id, seq, bytes, created_at)
    SELECT id, 0, sealed, created_at FROM batches WHERE sealed IS NOT NULL;
UPDATE batches SET sealed = NULL WHERE sealed IS NOT NULL;
