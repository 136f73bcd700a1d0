-- Hardening (issue 13).

-- Tokens have a kind (a login token from /api/auth/login/, a named API
-- token, or a web session), a name, the time of their last use and an
-- expiry. Sessions were told apart by a "session:" prefix on the digest.
ALTER TABLE api_tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'login';
ALTER TABLE api_tokens ADD COLUMN name TEXT;
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
UPDATE api_tokens SET kind = 'session', token_sha256 = substr(token_sha256, 9)
 WHERE token_sha256 LIKE 'session:%';
UPDATE api_tokens SET last_used_at = created_at;
CREATE INDEX api_tokens_user ON api_tokens (user_id, kind);

-- Who may see device secrets in configurations (admins always may).
ALTER TABLE users ADD COLUMN view_secrets INTEGER NOT NULL DEFAULT 0;

-- Consecutive failed logins per username (known or not, so that the answer
-- never tells which usernames exist), and until when it is locked.
CREATE TABLE login_throttle (
    username     TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until TEXT,
    updated_at   TEXT    NOT NULL
);

-- Deleting a device archives it: its history stays; purging is separate.
ALTER TABLE devices ADD COLUMN archived_at TEXT;
CREATE INDEX devices_archived ON devices (archived_at);

-- The largest configuration a device type may send (NULL: the default).
ALTER TABLE device_types ADD COLUMN max_config_bytes INTEGER;

-- At most one job per device is queued or collecting: "backup now" and the
-- scheduler join the open job instead of starting another session. Older
-- duplicates of an upgraded database are superseded first.
UPDATE backup_jobs SET state = 'failed', state_rank = 3,
       reason = 'superseded by a newer job of the same device (single-flight upgrade)'
 WHERE state_rank < 2
   AND id NOT IN (SELECT MAX(id) FROM backup_jobs WHERE state_rank < 2 GROUP BY device_id);
CREATE UNIQUE INDEX backup_jobs_one_open ON backup_jobs (device_id) WHERE state_rank < 2;
