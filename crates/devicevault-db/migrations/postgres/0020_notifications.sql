-- Notifications (issue 16), PostgreSQL: an outbox of events written in the same
-- transaction as the state that caused them, the channels and rules that
-- say who hears of them, and one delivery row per event and channel.

-- dedup_key names the cause (`config_changed:<task_identifier>`,
-- `backup_failed:<task_identifier>`): the same cause cannot make two events.
-- planned: 0 until a notifier has made its deliveries.
CREATE TABLE notification_events (
    id                        BIGSERIAL PRIMARY KEY,
    kind                      TEXT    NOT NULL,
    dedup_key                 TEXT    NOT NULL UNIQUE,
    device_id                 BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    occurred_at               TEXT    NOT NULL,
    stored_backup_id          BIGINT,
    previous_stored_backup_id BIGINT,
    reason                    TEXT,
    planned                   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX notification_events_unplanned ON notification_events (planned, id);

-- settings: the channel's JSON without its secret (recipients, URL);
-- secret_sealed: the webhook signing secret, or the Slack/Teams URL, sealed
-- with the key of device passwords.
CREATE TABLE notification_channels (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    kind          TEXT    NOT NULL CHECK (kind IN ('email', 'webhook', 'slack', 'teams')),
    settings      TEXT    NOT NULL,
    secret_sealed BYTEA,
    created_at    TEXT    NOT NULL
);

-- events, device_groups, devices: JSON arrays; empty lists mean every device.
CREATE TABLE notification_rules (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    channel_id    BIGINT NOT NULL REFERENCES notification_channels(id) ON DELETE RESTRICT,
    events        TEXT    NOT NULL,
    device_groups TEXT    NOT NULL,
    devices       TEXT    NOT NULL,
    enabled       BIGINT NOT NULL DEFAULT 1,
    created_at    TEXT    NOT NULL
);

-- state: pending → delivering (claimed until lease_until) → delivered, or
-- back to pending with next_attempt_at, or dead with last_error.
CREATE TABLE notification_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    event_id        BIGINT NOT NULL REFERENCES notification_events(id) ON DELETE CASCADE,
    channel_id      BIGINT NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
    rule_id         BIGINT REFERENCES notification_rules(id) ON DELETE SET NULL,
    state           TEXT    NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    lease_until     TEXT,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    delivered_at    TEXT,
    UNIQUE (event_id, channel_id)
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (state, next_attempt_at);
CREATE INDEX notification_deliveries_rule ON notification_deliveries (rule_id, id);
