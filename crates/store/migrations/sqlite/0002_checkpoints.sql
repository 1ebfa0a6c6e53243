-- Signed checkpoints of the audit log (C2SP signed notes), one per size.
CREATE TABLE audit_checkpoints (
    size       INTEGER PRIMARY KEY,
    note       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
