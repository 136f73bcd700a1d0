-- DeviceVault schema, SQLite. Booleans are integers 0/1 (one representation for
-- both engines through sqlx's Any driver). Timestamps are RFC 3339 UTC text with
-- milliseconds (2026-01-12T12:34:56.789Z), which sorts chronologically.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT    NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_sha256 TEXT    NOT NULL UNIQUE,
    created_at   TEXT    NOT NULL
);

CREATE TABLE manufacturers (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE device_types (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL UNIQUE,
    manufacturer_id INTEGER REFERENCES manufacturers(id) ON DELETE SET NULL
);

CREATE TABLE device_groups (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE collection_groups (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    name              TEXT NOT NULL UNIQUE,
    rabbitmq_queue_id TEXT NOT NULL UNIQUE
);

CREATE TABLE credentials (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    name                 TEXT NOT NULL UNIQUE,
    username             TEXT NOT NULL,
    password_sealed      BLOB NOT NULL,
    enable_secret_sealed BLOB
);

CREATE TABLE backup_locations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    location_type TEXT NOT NULL CHECK (location_type IN ('git', 'fs')),
    config        TEXT NOT NULL
);

CREATE TABLE devices (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    name                TEXT    NOT NULL UNIQUE,
    address             TEXT    NOT NULL,
    port                INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    driver              TEXT    NOT NULL,
    credential_id       INTEGER REFERENCES credentials(id) ON DELETE RESTRICT,
    backup_location_id  INTEGER REFERENCES backup_locations(id) ON DELETE RESTRICT,
    collection_group_id INTEGER REFERENCES collection_groups(id) ON DELETE SET NULL,
    device_group_id     INTEGER REFERENCES device_groups(id) ON DELETE SET NULL,
    device_type_id      INTEGER REFERENCES device_types(id) ON DELETE SET NULL,
    enabled             INTEGER NOT NULL DEFAULT 1,
    created_at          TEXT    NOT NULL
);

-- One row per requested backup. state_rank only ever grows:
-- queued 0 < collecting 1 < collected 2 < stored/failed 3.
CREATE TABLE backup_jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id         TEXT    NOT NULL,
    task_identifier TEXT    NOT NULL UNIQUE,
    device_id       INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    state           TEXT    NOT NULL,
    state_rank      INTEGER NOT NULL,
    reason          TEXT,
    queued_on       TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    deadline        TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX backup_jobs_open ON backup_jobs (state_rank, deadline);
CREATE INDEX backup_jobs_device ON backup_jobs (device_id, queued_on);

CREATE TABLE device_backup_results (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id                TEXT    NOT NULL,
    task_identifier        TEXT    NOT NULL UNIQUE,
    device_id              INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    status                 TEXT    NOT NULL CHECK (status IN ('success', 'failure')),
    timestamp              TEXT    NOT NULL,
    log                    TEXT    NOT NULL,
    collection_duration_ms INTEGER NOT NULL
);
CREATE INDEX device_backup_results_task_id ON device_backup_results (task_id);
CREATE INDEX device_backup_results_device ON device_backup_results (device_id, timestamp);

CREATE TABLE stored_backups (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id         TEXT    NOT NULL,
    task_identifier TEXT    NOT NULL UNIQUE,
    device_id       INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    storage_backend TEXT    NOT NULL CHECK (storage_backend IN ('git', 'fs')),
    storage_ref     TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('success', 'failure')),
    timestamp       TEXT    NOT NULL,
    log             TEXT    NOT NULL,
    location_id     INTEGER REFERENCES backup_locations(id) ON DELETE RESTRICT,
    size            INTEGER,
    sha256          TEXT,
    changed         INTEGER,
    is_binary       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX stored_backups_task_id ON stored_backups (task_id);
CREATE INDEX stored_backups_backend ON stored_backups (storage_backend);
CREATE INDEX stored_backups_device ON stored_backups (device_id, timestamp, id);
