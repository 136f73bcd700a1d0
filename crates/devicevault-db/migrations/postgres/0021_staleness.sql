-- Staleness and recovery (issue 16): what a device's health is, kept where
-- the events that change it are written.
--
-- last_success_at: the newest successful backup's time (kept by the store
-- of a successful backup; filled here from the history); last_change_at:
-- the newest one that stored a new configuration.
-- failing_since: set by a job's final failure, cleared by a success.
-- stale_since: set (once, by compare-and-swap, with its device_stale event)
-- when the device has had no successful backup for longer than its
-- threshold; cleared, with a device_recovered event, by a success.
-- device_groups.stale_after_hours: the group's threshold (NULL: the
-- installation's, `schedule.stale_after`).
ALTER TABLE devices ADD COLUMN last_success_at TEXT;
ALTER TABLE devices ADD COLUMN last_change_at TEXT;
ALTER TABLE devices ADD COLUMN failing_since TEXT;
ALTER TABLE devices ADD COLUMN stale_since TEXT;
ALTER TABLE device_groups ADD COLUMN stale_after_hours BIGINT;

UPDATE devices SET last_success_at = (
    SELECT MAX(s.timestamp) FROM stored_backups s
    WHERE s.device_id = devices.id AND s.status = 'success'
), last_change_at = (
    SELECT MAX(s.timestamp) FROM stored_backups s
    WHERE s.device_id = devices.id AND s.status = 'success' AND s.changed = 1
);

CREATE INDEX devices_stale ON devices (stale_since);
CREATE INDEX devices_last_success ON devices (last_success_at);
