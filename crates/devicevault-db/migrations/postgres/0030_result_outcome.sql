-- What became of each collection, kept on its result in the transactions
-- that record the result, its stored backup and its job's failure: the
-- results page and the dashboard count an outcome over one index range
-- instead of joining every result of a range to its stored backup and job.
-- `failed` wins (the collection, its storage or its job failed), then
-- `stored`; `pending` until one of them is known.
ALTER TABLE device_backup_results ADD COLUMN outcome TEXT NOT NULL DEFAULT 'pending';

UPDATE device_backup_results SET outcome = CASE
    WHEN status = 'failure' THEN 'failed'
    WHEN EXISTS (SELECT 1 FROM stored_backups s
                 WHERE s.task_identifier = device_backup_results.task_identifier
                   AND s.status = 'failure') THEN 'failed'
    WHEN EXISTS (SELECT 1 FROM backup_jobs j
                 WHERE j.task_identifier = device_backup_results.task_identifier
                   AND j.state = 'failed') THEN 'failed'
    WHEN EXISTS (SELECT 1 FROM stored_backups s
                 WHERE s.task_identifier = device_backup_results.task_identifier
                   AND s.status = 'success') THEN 'stored'
    ELSE 'pending'
END;

CREATE INDEX device_backup_results_outcome ON device_backup_results (outcome, timestamp, id);
