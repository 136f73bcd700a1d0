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
    n           BIGINT  NOT NULL DEFAULT 0,
    duration_ms BIGINT  NOT NULL DEFAULT 0,
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

-- Adds `dn` results (or failed jobs) of `dms` milliseconds to an hour.
CREATE FUNCTION outcome_hours_add(h TEXT, k TEXT, dn BIGINT, dms BIGINT) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO outcome_hours (hour, kind, n, duration_ms) VALUES (SUBSTR(h, 1, 13), k, dn, dms)
    ON CONFLICT (hour, kind) DO UPDATE
    SET n = outcome_hours.n + EXCLUDED.n, duration_ms = outcome_hours.duration_ms + EXCLUDED.duration_ms;
$$;

CREATE FUNCTION outcome_hours_result() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ti TEXT;
    job_hour TEXT;
BEGIN
    -- OLD is null on an insert and NEW on a delete: each is read only in
    -- the branches where it is set.
    IF TG_OP <> 'INSERT' THEN
        PERFORM outcome_hours_add(OLD.timestamp, OLD.outcome, -1, -OLD.collection_duration_ms);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM outcome_hours_add(NEW.timestamp, NEW.outcome, 1, NEW.collection_duration_ms);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        ti := NEW.task_identifier;
    ELSE
        ti := OLD.task_identifier;
    END IF;
    -- A failed job is counted alone while it has no result.
    SELECT j.updated_at INTO job_hour FROM backup_jobs j
    WHERE j.task_identifier = ti AND j.state = 'failed';
    IF job_hour IS NOT NULL THEN
        PERFORM outcome_hours_add(job_hour, 'failed_job',
            CASE TG_OP WHEN 'INSERT' THEN -1 ELSE 1 END, 0);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER outcome_hours_result_insert AFTER INSERT ON device_backup_results
    FOR EACH ROW EXECUTE FUNCTION outcome_hours_result();
CREATE TRIGGER outcome_hours_result_outcome AFTER UPDATE OF outcome ON device_backup_results
    FOR EACH ROW WHEN (NEW.outcome IS DISTINCT FROM OLD.outcome)
    EXECUTE FUNCTION outcome_hours_result();
CREATE TRIGGER outcome_hours_result_delete AFTER DELETE ON device_backup_results
    FOR EACH ROW EXECUTE FUNCTION outcome_hours_result();

-- A job counts alone while it is failed without a result. Its failure and
-- its `updated_at` are written by the same statement, and a final job does
-- not move again.
CREATE FUNCTION outcome_hours_job() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ti TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        ti := OLD.task_identifier;
    ELSE
        ti := NEW.task_identifier;
    END IF;
    IF EXISTS (SELECT 1 FROM device_backup_results x WHERE x.task_identifier = ti) THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        IF OLD.state = 'failed' THEN
            PERFORM outcome_hours_add(OLD.updated_at, 'failed_job', -1, 0);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.state = 'failed' THEN
            PERFORM outcome_hours_add(NEW.updated_at, 'failed_job', 1, 0);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER outcome_hours_job_insert AFTER INSERT ON backup_jobs
    FOR EACH ROW WHEN (NEW.state = 'failed') EXECUTE FUNCTION outcome_hours_job();
CREATE TRIGGER outcome_hours_job_update AFTER UPDATE OF state, updated_at ON backup_jobs
    FOR EACH ROW WHEN (OLD.state = 'failed' OR NEW.state = 'failed')
    EXECUTE FUNCTION outcome_hours_job();
CREATE TRIGGER outcome_hours_job_delete AFTER DELETE ON backup_jobs
    FOR EACH ROW WHEN (OLD.state = 'failed') EXECUTE FUNCTION outcome_hours_job();
