-- Audit events whose stored bytes were redacted (issue 15: purposes typed
-- as free text before purposes had codes, sealed into notes). The leaf
-- hash stays the original's, so the tree and every checkpoint stand; each
-- row says which stored bytes stand in for the event (SHA-256 of them) and
-- is tagged under the row-integrity key, so no one without the key can
-- have a changed event accepted. The logged migration event commits to
-- the whole set.
CREATE TABLE audit_redactions (
    idx    INTEGER PRIMARY KEY,
    digest BLOB NOT NULL,
    mac    BLOB
);
