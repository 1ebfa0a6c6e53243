-- Signed checkpoints of the audit log (C2SP signed notes), one per size.
CREATE TABLE audit_checkpoints (
    size       BIGINT  PRIMARY KEY,
    note       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
