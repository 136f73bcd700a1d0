-- Compliance rules (issue 17), PostgreSQL: a saved search with an expectation, applied
-- to device groups, and each device's state under each rule.
--
-- compliance_rules.device_groups: a JSON array of group ids; empty: every
-- device. A deleted group stays named and matches nothing, so a rule never
-- widens to the whole fleet by itself.
-- version: moved by every edit; a state evaluated under an older version
-- is evaluated again.
CREATE TABLE compliance_rules (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    pattern       TEXT    NOT NULL,
    regex         BIGINT  NOT NULL DEFAULT 0,
    ignore_case   BIGINT  NOT NULL DEFAULT 0,
    expectation   TEXT    NOT NULL CHECK (expectation IN ('must_contain', 'must_not_contain')),
    block         TEXT,
    device_groups TEXT    NOT NULL,
    enabled       BIGINT  NOT NULL DEFAULT 1,
    version       BIGINT  NOT NULL DEFAULT 1,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);

-- One row per rule and device it applies to. stored_backup_id and
-- rule_version: what was evaluated (NULL: the device had no successful
-- backup); a row is due again when the device's latest successful stored
-- backup or the rule's version differs, or at retry_at (a version that
-- could not be read). Each write is a compare-and-swap on what was
-- evaluated, with its compliance_changed event in the same transaction.
CREATE TABLE device_compliance (
    rule_id          BIGINT  NOT NULL REFERENCES compliance_rules(id) ON DELETE CASCADE,
    device_id        BIGINT  NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    state            TEXT    NOT NULL CHECK (state IN ('compliant', 'non_compliant', 'unknown')),
    stored_backup_id BIGINT,
    rule_version     BIGINT  NOT NULL,
    detail           TEXT    NOT NULL DEFAULT '',
    evaluated_at     TEXT    NOT NULL,
    changed_at       TEXT    NOT NULL,
    retry_at         TEXT,
    PRIMARY KEY (rule_id, device_id)
);
CREATE INDEX device_compliance_state ON device_compliance (rule_id, state);
CREATE INDEX device_compliance_device ON device_compliance (device_id);
