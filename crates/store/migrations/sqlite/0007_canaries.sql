-- Canary records (DESIGN §7): one synthetic person per recipient, planted
-- in what that recipient is sent, so a leak names its source. Only the
-- nonce is kept: the record is generated from a keyed seed of it, so the
-- database does not say which exported rows are canaries. The template
-- holds the shape of the made-up values (a service-number pattern and a
-- mail domain), never a value.
CREATE TABLE canaries (
    recipient  TEXT    PRIMARY KEY,
    nonce      BLOB    NOT NULL,
    template   TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
