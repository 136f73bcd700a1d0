-- Retention (issue 17): per location, how many versions of each device to
-- keep and for how long. NULL: no limit of that kind; both NULL: keep
-- everything. With both, a version goes only when both allow it (it is
-- older than keep_days days and not among the keep_last newest). The
-- newest successful version of a device at a location is always kept.
ALTER TABLE backup_locations ADD COLUMN retention_keep_last BIGINT;
ALTER TABLE backup_locations ADD COLUMN retention_keep_days BIGINT;

-- Files of pruned fs versions, removed by a later pass once remove_after
-- has passed: a download or compare that found its stored_backups row
-- before the row went still finds the file (the grace outlasts any read).
-- Git locations keep their history whole, so nothing of theirs is queued.
CREATE TABLE retention_removals (
    id               BIGSERIAL PRIMARY KEY,
    location_id      BIGINT  NOT NULL REFERENCES backup_locations(id) ON DELETE CASCADE,
    storage_backend  TEXT    NOT NULL,
    storage_ref      TEXT    NOT NULL,
    stored_backup_id BIGINT  NOT NULL,
    device_id        BIGINT  NOT NULL,
    pruned_at        TEXT    NOT NULL,
    remove_after     TEXT    NOT NULL
);
CREATE INDEX retention_removals_due ON retention_removals (remove_after, id);
-- Finished jobs by age, for their pruning.
CREATE INDEX backup_jobs_finished ON backup_jobs (state_rank, updated_at);
