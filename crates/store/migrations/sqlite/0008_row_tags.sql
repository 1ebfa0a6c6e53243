-- Row tags (issue 15): an HMAC-SHA256 under the row-integrity key, over
-- every column that decides who may do what. Rows written before this
-- migration are tagged once, in one audited write (integrity.enrol), the
-- first time a register opens with its keys; from then on a row without
-- a valid tag is refused.
ALTER TABLE users ADD COLUMN mac BLOB;
ALTER TABLE sessions ADD COLUMN mac BLOB;
ALTER TABLE service_tokens ADD COLUMN mac BLOB;
ALTER TABLE suppliers ADD COLUMN mac BLOB;
ALTER TABLE cards ADD COLUMN mac BLOB;
ALTER TABLE zones ADD COLUMN mac BLOB;
ALTER TABLE permits ADD COLUMN mac BLOB;
ALTER TABLE batches ADD COLUMN mac BLOB;
