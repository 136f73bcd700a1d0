-- Who last changed a configuration on the device (issue 16), as the device
-- says (a driver's `author` rule): carried by the collection result, and
-- copied onto the stored backup that stores that result.
ALTER TABLE device_backup_results ADD COLUMN author TEXT;
ALTER TABLE stored_backups ADD COLUMN author TEXT;
