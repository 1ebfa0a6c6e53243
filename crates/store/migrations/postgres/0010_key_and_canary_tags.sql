-- Row tags for key metadata and canaries (issue 15). A wrapped key swapped
-- in from another row already fails to unwrap (its AEAD binds purpose, name
-- and version), but a row's version or time could be changed, and a canary's
-- nonce moved from one recipient to another would blame the wrong
-- recipient for a leak. Rows written before this migration are tagged once,
-- in one audited write (integrity.enrol naming these tables).
ALTER TABLE wrapped_keys ADD COLUMN mac BYTEA;
ALTER TABLE canaries ADD COLUMN mac BYTEA;
