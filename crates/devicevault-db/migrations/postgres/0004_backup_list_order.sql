-- Newest-first lists over all devices walk these instead of sorting the
-- whole table; the per-device lists use the (device_id, timestamp) indexes.
CREATE INDEX device_backup_results_timestamp ON device_backup_results (timestamp, id);
CREATE INDEX stored_backups_timestamp ON stored_backups (timestamp, id);
