-- ignore_for_change (issue 19): what decides whether a collection is a new
-- version when its driver stores lines that must not count as a change
-- (FortiOS re-encrypts its ENC secrets on every `show`). Carried by the
-- collection result, copied onto the stored backup that stores it like
-- `author`; a collection whose key equals the one of the device's latest
-- stored version at its location is recorded as an unchanged confirmation
-- of that version. NULL for every other driver and for older rows.
ALTER TABLE device_backup_results ADD COLUMN change_key TEXT;
ALTER TABLE stored_backups ADD COLUMN change_key TEXT;
