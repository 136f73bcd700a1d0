-- Backup schedules: a 5-field cron expression evaluated in an IANA time zone,
-- and what it backs up (devices directly, and device groups). next_run is the
-- slot the scheduler will run next (RFC 3339 UTC text, NULL until the
-- scheduler first computes it); the scheduler moves it forward with a
-- compare-and-swap, so only one scheduler runs a slot.

CREATE TABLE backup_schedules (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    cron       TEXT    NOT NULL,
    timezone   TEXT    NOT NULL DEFAULT 'UTC',
    enabled    INTEGER NOT NULL DEFAULT 1,
    next_run   TEXT,
    created_at TEXT    NOT NULL
);
CREATE INDEX backup_schedules_due ON backup_schedules (enabled, next_run);

CREATE TABLE backup_schedule_devices (
    schedule_id INTEGER NOT NULL REFERENCES backup_schedules(id) ON DELETE CASCADE,
    device_id   INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    PRIMARY KEY (schedule_id, device_id)
);
CREATE INDEX backup_schedule_devices_device ON backup_schedule_devices (device_id);

CREATE TABLE backup_schedule_device_groups (
    schedule_id     INTEGER NOT NULL REFERENCES backup_schedules(id) ON DELETE CASCADE,
    device_group_id INTEGER NOT NULL REFERENCES device_groups(id) ON DELETE CASCADE,
    PRIMARY KEY (schedule_id, device_group_id)
);
CREATE INDEX backup_schedule_device_groups_group ON backup_schedule_device_groups (device_group_id);
