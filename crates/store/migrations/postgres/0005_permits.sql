-- Zones and the permits that open them (issue 5). A zone names the minimum
-- vetting levels it accepts, one per ladder; a permit gives one person one
-- zone for a time window. No vetting level is stored here: permits are
-- granted only after the register decided, without revealing it, that the
-- person's vetting meets the zone.
CREATE TABLE zones (
    code       TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    accepts    TEXT    NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE permits (
    id          UUID    PRIMARY KEY,
    person_id   UUID    NOT NULL REFERENCES people (id),
    zone        TEXT    NOT NULL REFERENCES zones (code),
    valid_from  BIGINT NOT NULL,
    valid_to    BIGINT NOT NULL,
    granted_by  TEXT    NOT NULL,
    revoked_at  BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX permits_person ON permits (person_id);
