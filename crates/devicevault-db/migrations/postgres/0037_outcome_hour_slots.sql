-- Each hour's counts spread over slots, one per database session (issue 22).
--
-- Every result written or settled adds to its hour's row of
-- `outcome_hours` (0036), in the writer's transaction. On PostgreSQL the two
-- result consumers' batch transactions both add to the current hour: one
-- waited on the other's row lock until that whole batch committed
-- (`Lock:transactionid` on the results' inserts and outcome updates, seen
-- in `pg_stat_activity` while the pipeline ran), so the consumers took
-- turns instead of writing side by side. Now a session adds to the row of
-- its own slot, the backend's process id modulo 64: two sessions meet on a
-- row once in 64, and a slot may go below zero where another session's
-- added to it — every reader sums an hour's slots.
--
-- SQLite has one writer at a time: its `outcome_hours` keeps one row per
-- hour and kind.
ALTER TABLE outcome_hours ADD COLUMN slot SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE outcome_hours DROP CONSTRAINT outcome_hours_pkey;
ALTER TABLE outcome_hours ADD PRIMARY KEY (hour, kind, slot);

CREATE OR REPLACE FUNCTION outcome_hours_add(h TEXT, k TEXT, dn BIGINT, dms BIGINT) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO outcome_hours (hour, kind, slot, n, duration_ms)
    VALUES (SUBSTR(h, 1, 13), k, pg_backend_pid() % 64, dn, dms)
    ON CONFLICT (hour, kind, slot) DO UPDATE
    SET n = outcome_hours.n + EXCLUDED.n, duration_ms = outcome_hours.duration_ms + EXCLUDED.duration_ms;
$$;
