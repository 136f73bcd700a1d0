-- The results' outcomes per UTC hour (issue 21, item 2), so that the
-- dashboard's counts, average and week chart read a few hundred rows
-- instead of every result of the last 24 hours and 7 days — 240,000 and
-- 1,680,000 rows at a collection every 360 ms.
--
-- hour: a timestamp's first 13 characters (`YYYY-MM-DDTHH`). kind: a
-- result's outcome (`stored`, `failed`, `pending`), with the sum of their
-- collection durations; or `failed_job`: a failed job no collection result
-- exists for, counted at the hour of its last move (`updated_at`), as the
-- results list counts it among the failures.
--
-- Kept by the triggers below in the statement, and so the transaction, that
-- writes a result or a job: the counts equal those of the rows at every
-- commit. What a restricted user sees is still counted from the rows of
-- its devices.
CREATE TABLE outcome_hours (
    hour        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    n           INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, kind)
);

INSERT INTO outcome_hours (hour, kind, n, duration_ms)
SELECT SUBSTR(timestamp, 1, 13), outcome, COUNT(*), COALESCE(SUM(collection_duration_ms), 0)
FROM device_backup_results GROUP BY SUBSTR(timestamp, 1, 13), outcome;

INSERT INTO outcome_hours (hour, kind, n, duration_ms)
SELECT SUBSTR(j.updated_at, 1, 13), 'failed_job', COUNT(*), 0 FROM backup_jobs j
WHERE j.state = 'failed'
  AND NOT EXISTS (SELECT 1 FROM device_backup_results x WHERE x.task_identifier = j.task_identifier)
GROUP BY SUBSTR(j.updated_at, 1, 13);

CREATE TRIGGER outcome_hours_result_insert AFTER INSERT ON device_backup_results
BEGIN
    INSERT OR IGNORE INTO outcome_hours (hour, kind) VALUES (SUBSTR(NEW.timestamp, 1, 13), NEW.outcome);
    UPDATE outcome_hours SET n = n + 1, duration_ms = duration_ms + NEW.collection_duration_ms
    WHERE hour = SUBSTR(NEW.timestamp, 1, 13) AND kind = NEW.outcome;
    -- A failed job counted alone now has its result.
    UPDATE outcome_hours SET n = n - 1
    WHERE kind = 'failed_job' AND hour = (
        SELECT SUBSTR(j.updated_at, 1, 13) FROM backup_jobs j
        WHERE j.task_identifier = NEW.task_identifier AND j.state = 'failed'
    );
END;

CREATE TRIGGER outcome_hours_result_outcome AFTER UPDATE OF outcome ON device_backup_results
WHEN NEW.outcome IS NOT OLD.outcome
BEGIN
    UPDATE outcome_hours SET n = n - 1, duration_ms = duration_ms - OLD.collection_duration_ms
    WHERE hour = SUBSTR(OLD.timestamp, 1, 13) AND kind = OLD.outcome;
    INSERT OR IGNORE INTO outcome_hours (hour, kind) VALUES (SUBSTR(NEW.timestamp, 1, 13), NEW.outcome);
    UPDATE outcome_hours SET n = n + 1, duration_ms = duration_ms + NEW.collection_duration_ms
    WHERE hour = SUBSTR(NEW.timestamp, 1, 13) AND kind = NEW.outcome;
END;

CREATE TRIGGER outcome_hours_result_delete AFTER DELETE ON device_backup_results
BEGIN
    UPDATE outcome_hours SET n = n - 1, duration_ms = duration_ms - OLD.collection_duration_ms
    WHERE hour = SUBSTR(OLD.timestamp, 1, 13) AND kind = OLD.outcome;
    -- Its job, if it failed, is counted alone again.
    INSERT OR IGNORE INTO outcome_hours (hour, kind)
    SELECT SUBSTR(j.updated_at, 1, 13), 'failed_job' FROM backup_jobs j
    WHERE j.task_identifier = OLD.task_identifier AND j.state = 'failed';
    UPDATE outcome_hours SET n = n + 1
    WHERE kind = 'failed_job' AND hour = (
        SELECT SUBSTR(j.updated_at, 1, 13) FROM backup_jobs j
        WHERE j.task_identifier = OLD.task_identifier AND j.state = 'failed'
    );
END;

-- A job counts alone while it is failed without a result. Its failure and
-- its `updated_at` are written by the same statement, and a final job does
-- not move again.
CREATE TRIGGER outcome_hours_job_insert AFTER INSERT ON backup_jobs
WHEN NEW.state = 'failed' AND NOT EXISTS (
    SELECT 1 FROM device_backup_results x WHERE x.task_identifier = NEW.task_identifier)
BEGIN
    INSERT OR IGNORE INTO outcome_hours (hour, kind) VALUES (SUBSTR(NEW.updated_at, 1, 13), 'failed_job');
    UPDATE outcome_hours SET n = n + 1
    WHERE hour = SUBSTR(NEW.updated_at, 1, 13) AND kind = 'failed_job';
END;

CREATE TRIGGER outcome_hours_job_update AFTER UPDATE OF state, updated_at ON backup_jobs
WHEN (OLD.state = 'failed' OR NEW.state = 'failed') AND NOT EXISTS (
    SELECT 1 FROM device_backup_results x WHERE x.task_identifier = NEW.task_identifier)
BEGIN
    UPDATE outcome_hours SET n = n - 1
    WHERE OLD.state = 'failed' AND hour = SUBSTR(OLD.updated_at, 1, 13) AND kind = 'failed_job';
    INSERT OR IGNORE INTO outcome_hours (hour, kind)
    SELECT SUBSTR(NEW.updated_at, 1, 13), 'failed_job' WHERE NEW.state = 'failed';
    UPDATE outcome_hours SET n = n + 1
    WHERE NEW.state = 'failed' AND hour = SUBSTR(NEW.updated_at, 1, 13) AND kind = 'failed_job';
END;

CREATE TRIGGER outcome_hours_job_delete AFTER DELETE ON backup_jobs
WHEN OLD.state = 'failed' AND NOT EXISTS (
    SELECT 1 FROM device_backup_results x WHERE x.task_identifier = OLD.task_identifier)
BEGIN
    UPDATE outcome_hours SET n = n - 1
    WHERE hour = SUBSTR(OLD.updated_at, 1, 13) AND kind = 'failed_job';
END;
