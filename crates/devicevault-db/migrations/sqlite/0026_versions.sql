-- A device's distinct versions (its history) read the status and the
-- `changed` flag of each of its backups in (timestamp, id) order: with both
-- in the index, counting and paging the versions of a device with 10,000
-- backups reads the index alone. It replaces (device_id, timestamp, id),
-- its prefix, which every other per-device query keeps using.
CREATE INDEX stored_backups_device_versions ON stored_backups (device_id, timestamp, id, status, changed);
DROP INDEX stored_backups_device;
