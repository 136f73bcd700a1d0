-- Per-device summary of the newest job (issue 21, item 2), so that the
-- device list sorted or filtered by last status or last backup walks an
-- index of `devices` instead of looking up every device's newest job and
-- sorting them all, at 100,000 devices as at 10.
--
-- last_job_id / last_queued_on: the device's newest job, in the order the
-- lists have always used (queued_on, then id). last_status_rank: that
-- job's status as the lists rank it — failed 0, running 1 (any state
-- before stored or failed), stored 2, never backed up 3.
--
-- They are kept by the triggers below, in the statement (and so the
-- transaction) that inserts, moves or deletes a job: every writer of
-- backup_jobs, present or future, keeps them true without knowing of them.
ALTER TABLE devices ADD COLUMN last_job_id BIGINT;
ALTER TABLE devices ADD COLUMN last_queued_on TEXT;
ALTER TABLE devices ADD COLUMN last_status_rank BIGINT NOT NULL DEFAULT 3;

UPDATE devices SET last_job_id = (
    SELECT j.id FROM backup_jobs j WHERE j.device_id = devices.id
    ORDER BY j.queued_on DESC, j.id DESC LIMIT 1
);
UPDATE devices SET
    last_queued_on = (SELECT j.queued_on FROM backup_jobs j WHERE j.id = devices.last_job_id),
    last_status_rank = COALESCE((
        SELECT CASE j.state WHEN 'failed' THEN 0 WHEN 'stored' THEN 2 ELSE 1 END
        FROM backup_jobs j WHERE j.id = devices.last_job_id
    ), 3);

CREATE FUNCTION backup_jobs_summary() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    newest RECORD;
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE devices SET last_job_id = NEW.id, last_queued_on = NEW.queued_on,
            last_status_rank = CASE NEW.state WHEN 'failed' THEN 0 WHEN 'stored' THEN 2 ELSE 1 END
        WHERE id = NEW.device_id AND (last_job_id IS NULL OR last_queued_on < NEW.queued_on
            OR (last_queued_on = NEW.queued_on AND last_job_id < NEW.id));
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE devices
        SET last_status_rank = CASE NEW.state WHEN 'failed' THEN 0 WHEN 'stored' THEN 2 ELSE 1 END
        WHERE id = NEW.device_id AND last_job_id = NEW.id;
    ELSE
        -- Retention deletes finished jobs; should it take a device's
        -- newest, the next newest becomes the device's last (none: never
        -- backed up).
        SELECT j.id, j.queued_on, j.state INTO newest FROM backup_jobs j
        WHERE j.device_id = OLD.device_id ORDER BY j.queued_on DESC, j.id DESC LIMIT 1;
        UPDATE devices SET last_job_id = newest.id, last_queued_on = newest.queued_on,
            last_status_rank = CASE WHEN newest.id IS NULL THEN 3 WHEN newest.state = 'failed' THEN 0
                WHEN newest.state = 'stored' THEN 2 ELSE 1 END
        WHERE id = OLD.device_id AND last_job_id = OLD.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER backup_jobs_summary_insert AFTER INSERT ON backup_jobs
    FOR EACH ROW EXECUTE FUNCTION backup_jobs_summary();
CREATE TRIGGER backup_jobs_summary_state AFTER UPDATE OF state ON backup_jobs
    FOR EACH ROW WHEN (NEW.state IS DISTINCT FROM OLD.state) EXECUTE FUNCTION backup_jobs_summary();
CREATE TRIGGER backup_jobs_summary_delete AFTER DELETE ON backup_jobs
    FOR EACH ROW EXECUTE FUNCTION backup_jobs_summary();

-- The live devices in each order the lists offer, NULLs last in both
-- directions (the expressions are those of `DeviceSort::order`, which an
-- index must repeat to be used), each in both directions since the
-- tie-break by name stays ascending.
-- The archived devices alone: an index of every device's archived_at
-- would be taken for the live ones' `archived_at IS NULL` and leave the
-- order to a sort.
DROP INDEX devices_archived;
CREATE INDEX devices_archived ON devices (archived_at) WHERE archived_at IS NOT NULL;
CREATE INDEX devices_live_name ON devices (name, id) WHERE archived_at IS NULL;
CREATE INDEX devices_live_status ON devices (last_status_rank, name, id)
    WHERE archived_at IS NULL;
CREATE INDEX devices_live_status_desc ON devices (last_status_rank DESC, name, id)
    WHERE archived_at IS NULL;
CREATE INDEX devices_live_last_backup
    ON devices ((last_queued_on IS NULL), last_queued_on, name, id) WHERE archived_at IS NULL;
CREATE INDEX devices_live_last_backup_desc
    ON devices ((last_queued_on IS NULL), last_queued_on DESC, name, id) WHERE archived_at IS NULL;
CREATE INDEX devices_live_last_success
    ON devices ((last_success_at IS NULL), last_success_at, name, id) WHERE archived_at IS NULL;
CREATE INDEX devices_live_last_success_desc
    ON devices ((last_success_at IS NULL), last_success_at DESC, name, id) WHERE archived_at IS NULL;
CREATE INDEX devices_live_last_change
    ON devices ((last_change_at IS NULL), last_change_at, name, id) WHERE archived_at IS NULL;
CREATE INDEX devices_live_last_change_desc
    ON devices ((last_change_at IS NULL), last_change_at DESC, name, id) WHERE archived_at IS NULL;
