-- The backup results list the jobs that failed before any collection (an
-- archived device, a job never picked up after its last dispatch) beside
-- the collections: that side walks the failed jobs of a time range newest
-- first, without reading the stored and queued ones.
CREATE INDEX backup_jobs_failed ON backup_jobs (updated_at, id) WHERE state = 'failed';
