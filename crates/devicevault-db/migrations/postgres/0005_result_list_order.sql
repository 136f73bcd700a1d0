-- One device's results, newest first, ordered by (timestamp, id): the
-- index must end in id too, or PostgreSQL sorts every result of the device
-- for each page (found by tests/list_plans.rs). SQLite appends the rowid
-- to every index already; the same index keeps both engines alike.
DROP INDEX device_backup_results_device;
CREATE INDEX device_backup_results_device ON device_backup_results (device_id, timestamp, id);
