-- Where a job's backup was sent and whether it is binary, recorded when the
-- storage task is dispatched, so the StoredBackup row keeps the location it
-- was written to even if the device moves to another location meanwhile.
ALTER TABLE backup_jobs ADD COLUMN location_id BIGINT REFERENCES backup_locations(id) ON DELETE SET NULL;
ALTER TABLE backup_jobs ADD COLUMN is_binary BIGINT NOT NULL DEFAULT 0;
