//! The backup index: jobs, collection results and stored backups, all
//! idempotent on `task_identifier`.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use devicevault_core::{Status, StorageBackendKind, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::history::Outcome;
use crate::inventory::check_page;
use crate::notifications;
use crate::{BackupJob, Db, DbError, DeviceBackupResult, Listed, Page, Scope, StoredBackup};

/// Where a backup job stands. States only move forward:
/// `queued → collecting → collected → stored`, or `failed` from any
/// non-final state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    Queued,
    Collecting,
    Collected,
    Stored,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Collecting => "collecting",
            Self::Collected => "collected",
            Self::Stored => "stored",
            Self::Failed => "failed",
        }
    }

    fn rank(self) -> i64 {
        match self {
            Self::Queued => 0,
            Self::Collecting => 1,
            Self::Collected => 2,
            Self::Stored | Self::Failed => 3,
        }
    }

    /// Stored or failed: nothing more will happen to the job.
    pub fn is_final(self) -> bool {
        self.rank() == 3
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = DbError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "queued" => Self::Queued,
            "collecting" => Self::Collecting,
            "collected" => Self::Collected,
            "stored" => Self::Stored,
            "failed" => Self::Failed,
            other => return Err(DbError::Invalid(format!("unknown job state {other:?}"))),
        })
    }
}

/// A collection outcome to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeviceResult {
    pub task_id: String,
    pub task_identifier: String,
    pub device_id: i64,
    pub status: Status,
    pub timestamp: Timestamp,
    pub log: String,
    pub collection_duration_ms: i64,
    /// Who last changed the configuration, as the device says.
    pub author: Option<String>,
    /// What decides whether the collection is a new version, for a driver
    /// with `ignore_for_change` rules (`DeviceResult::change_key`); copied
    /// onto the stored backup that stores it.
    pub change_key: Option<String>,
}

/// A storage outcome to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStoredBackup {
    pub task_id: String,
    pub task_identifier: String,
    pub device_id: i64,
    pub storage_backend: StorageBackendKind,
    pub storage_ref: String,
    pub status: Status,
    pub timestamp: Timestamp,
    pub log: String,
    pub location_id: Option<i64>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub changed: Option<bool>,
    pub is_binary: bool,
}

fn parse_status(s: &str) -> Result<Status, DbError> {
    s.parse().map_err(DbError::Invalid)
}

fn job(row: &AnyRow) -> Result<BackupJob, DbError> {
    let state: String = row.try_get("state")?;
    Ok(BackupJob {
        id: row.try_get("id")?,
        task_id: row.try_get("task_id")?,
        task_identifier: row.try_get("task_identifier")?,
        device_id: row.try_get("device_id")?,
        state: state.parse()?,
        reason: row.try_get("reason")?,
        queued_on: row.try_get("queued_on")?,
        updated_at: row.try_get("updated_at")?,
        deadline: row.try_get("deadline")?,
        attempts: row.try_get("attempts")?,
    })
}

fn device_result(row: &AnyRow) -> Result<DeviceBackupResult, DbError> {
    let status: String = row.try_get("status")?;
    Ok(DeviceBackupResult {
        id: row.try_get("id")?,
        task_id: row.try_get("task_id")?,
        task_identifier: row.try_get("task_identifier")?,
        device_id: row.try_get("device_id")?,
        status: parse_status(&status)?,
        timestamp: row.try_get("timestamp")?,
        log: row.try_get("log")?,
        collection_duration_ms: row.try_get("collection_duration_ms")?,
    })
}

pub(crate) fn stored_backup(row: &AnyRow) -> Result<StoredBackup, DbError> {
    let status: String = row.try_get("status")?;
    let backend: String = row.try_get("storage_backend")?;
    Ok(StoredBackup {
        id: row.try_get("id")?,
        task_id: row.try_get("task_id")?,
        task_identifier: row.try_get("task_identifier")?,
        device_id: row.try_get("device_id")?,
        storage_backend: backend
            .parse()
            .map_err(|e: devicevault_core::UnknownBackend| DbError::Invalid(e.to_string()))?,
        storage_ref: row.try_get("storage_ref")?,
        status: parse_status(&status)?,
        timestamp: row.try_get("timestamp")?,
        log: row.try_get("log")?,
        location_id: row.try_get("location_id")?,
        size: row.try_get("size")?,
        sha256: row.try_get("sha256")?,
        changed: row.try_get::<Option<i64>, _>("changed")?.map(|v| v != 0),
        is_binary: crate::inventory::flag(row, "is_binary")?,
        author: row.try_get("author")?,
    })
}

type AnyQuery<'a> = sqlx::query::Query<'a, sqlx::Any, sqlx::any::AnyArguments>;

/// The outcome of a new result, from what is known of its task: a failed
/// collection, storage or job is `failed`, a stored backup `stored`, else
/// `pending` (the usual case: the result comes first, and the store or the
/// job's failure update it — [`settle_outcome`]). `$2` is the task
/// identifier, `$4` the collection's status.
const NEW_OUTCOME: &str = "CASE WHEN $4 = 'failure' THEN 'failed' \
     WHEN EXISTS (SELECT 1 FROM stored_backups s WHERE s.task_identifier = $2 AND s.status = 'failure') THEN 'failed' \
     WHEN EXISTS (SELECT 1 FROM backup_jobs j WHERE j.task_identifier = $2 AND j.state = 'failed') THEN 'failed' \
     WHEN EXISTS (SELECT 1 FROM stored_backups s WHERE s.task_identifier = $2 AND s.status = 'success') THEN 'stored' \
     ELSE 'pending' END";

/// The idempotent insert of a collection outcome.
pub(crate) fn insert_device_result(r: &NewDeviceResult) -> AnyQuery<'_> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "INSERT INTO device_backup_results (task_id, task_identifier, device_id, status, timestamp, log, \
             collection_duration_ms, author, change_key, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, {NEW_OUTCOME}) \
             ON CONFLICT (task_identifier) DO NOTHING"
        )
    });
    sqlx::query(AssertSqlSafe(SQL.as_str()))
        .bind(&r.task_id)
        .bind(&r.task_identifier)
        .bind(r.device_id)
        .bind(r.status.as_str())
        .bind(r.timestamp.to_string())
        .bind(&r.log)
        .bind(r.collection_duration_ms)
        .bind(r.author.clone())
        .bind(r.change_key.clone())
}

/// Moves a job forward in `tx`; `false` if it was there or beyond. A
/// job's final failure is an event, in the same transaction: the move
/// happens once (the state only moves forward), so the event does too.
pub(crate) async fn advance_job_in(
    tx: &mut notifications::Tx<'_>,
    task_identifier: &str,
    state: JobState,
    reason: Option<&str>,
    now: Timestamp,
) -> Result<bool, DbError> {
    let moved = sqlx::query(
        "UPDATE backup_jobs SET state = $1, state_rank = $2, reason = COALESCE($3, reason), updated_at = $4 \
         WHERE task_identifier = $5 AND state_rank < $2 RETURNING device_id, reason",
    )
    .bind(state.as_str())
    .bind(state.rank())
    .bind(reason)
    .bind(now.to_string())
    .bind(task_identifier)
    .fetch_optional(&mut **tx)
    .await?;
    if state == JobState::Failed
        && let Some(row) = &moved
    {
        settle_outcome(tx, task_identifier, Outcome::Failed).await?;
        let device_id: i64 = row.try_get("device_id")?;
        let reason: Option<String> = row.try_get("reason")?;
        crate::staleness::mark_failing(tx, device_id, now).await?;
        notifications::insert_event(
            tx,
            notifications::BACKUP_FAILED,
            &format!("{}:{task_identifier}", notifications::BACKUP_FAILED),
            device_id,
            now,
            None,
            reason.as_deref(),
        )
        .await?;
    }
    Ok(moved.is_some())
}

/// Settles what became of the collection of `task_identifier`, if its
/// result is recorded: `failed` stays failed (a failure anywhere decides).
async fn settle_outcome(
    tx: &mut notifications::Tx<'_>,
    task_identifier: &str,
    outcome: Outcome,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE device_backup_results SET outcome = $1 \
         WHERE task_identifier = $2 AND outcome <> 'failed' AND outcome <> $1",
    )
    .bind(outcome.as_str())
    .bind(task_identifier)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records a storage outcome in `tx`; `false` if it was recorded before.
/// A successful store of changed content records a `config_changed` event
/// in the same transaction, naming the device's previous successful version
/// (none for its first version: nothing changed that anyone saw).
pub(crate) async fn record_stored_backup_in(
    tx: &mut notifications::Tx<'_>,
    s: &NewStoredBackup,
) -> Result<bool, DbError> {
    let inserted = sqlx::query(
        "INSERT INTO stored_backups (task_id, task_identifier, device_id, storage_backend, storage_ref, \
         status, timestamp, log, location_id, size, sha256, changed, is_binary, author, change_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
         (SELECT author FROM device_backup_results WHERE task_identifier = $2), \
         (SELECT change_key FROM device_backup_results WHERE task_identifier = $2)) \
         ON CONFLICT (task_identifier) DO NOTHING RETURNING id",
    )
    .bind(&s.task_id)
    .bind(&s.task_identifier)
    .bind(s.device_id)
    .bind(s.storage_backend.as_str())
    .bind(&s.storage_ref)
    .bind(s.status.as_str())
    .bind(s.timestamp.to_string())
    .bind(&s.log)
    .bind(s.location_id)
    .bind(s.size)
    .bind(s.sha256.as_deref())
    .bind(s.changed.map(i64::from))
    .bind(i64::from(s.is_binary))
    .fetch_optional(&mut **tx)
    .await?;
    if inserted.is_some() {
        let outcome = match s.status {
            Status::Success => Outcome::Stored,
            Status::Failure => Outcome::Failed,
        };
        settle_outcome(tx, &s.task_identifier, outcome).await?;
    }
    if let Some(row) = &inserted
        && s.status == Status::Success
    {
        let id: i64 = row.try_get("id")?;
        let changed = s.changed == Some(true);
        crate::staleness::record_success(
            tx,
            s.device_id,
            s.timestamp,
            changed,
            &s.task_identifier,
            id,
        )
        .await?;
    }
    if let Some(row) = &inserted
        && s.status == Status::Success
        && s.changed == Some(true)
    {
        let id: i64 = row.try_get("id")?;
        let previous = sqlx::query(
            "SELECT id FROM stored_backups WHERE device_id = $1 AND status = $2 AND id <> $3 \
             AND (timestamp < $4 OR (timestamp = $4 AND id < $3)) \
             ORDER BY timestamp DESC, id DESC LIMIT 1",
        )
        .bind(s.device_id)
        .bind(Status::Success.as_str())
        .bind(id)
        .bind(s.timestamp.to_string())
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(previous) = previous {
            let previous: i64 = previous.try_get("id")?;
            notifications::insert_event(
                tx,
                notifications::CONFIG_CHANGED,
                &format!("{}:{}", notifications::CONFIG_CHANGED, s.task_identifier),
                s.device_id,
                s.timestamp,
                Some((id, Some(previous))),
                None,
            )
            .await?;
        }
    }
    Ok(inserted.is_some())
}

/// Inserts `rows` — `(task_id, task_identifier, device_id)` — as queued
/// jobs, skipping those that conflict (a job open for the device, or the
/// identifier taken); returns the devices whose job was inserted.
async fn insert_queued(
    tx: &mut notifications::Tx<'_>,
    rows: &[(String, String, i64)],
    queued: &str,
    deadline: &str,
) -> Result<std::collections::HashSet<i64>, DbError> {
    let values: Vec<String> = (0..rows.len())
        .map(|i| {
            let p = i * 7;
            format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5,
                p + 6,
                p + 6,
                p + 7
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO backup_jobs (task_id, task_identifier, device_id, state, state_rank, \
         queued_on, updated_at, deadline) VALUES {} ON CONFLICT DO NOTHING RETURNING device_id",
        values.join(", ")
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for (task_id, task_identifier, device_id) in rows {
        q = q
            .bind(task_id.as_str())
            .bind(task_identifier.as_str())
            .bind(*device_id)
            .bind(JobState::Queued.as_str())
            .bind(JobState::Queued.rank())
            .bind(queued)
            .bind(deadline);
    }
    Ok(q.fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| r.try_get("device_id"))
        .collect::<Result<_, _>>()?)
}

const JOB_COLUMNS: &str = "id, task_id, task_identifier, device_id, state, reason, queued_on, updated_at, deadline, attempts";
const RESULT_COLUMNS: &str =
    "id, task_id, task_identifier, device_id, status, timestamp, log, collection_duration_ms";
pub(crate) const STORED_COLUMNS: &str = "id, task_id, task_identifier, device_id, storage_backend, storage_ref, \
     status, timestamp, log, location_id, size, sha256, changed, is_binary, author";

impl Db {
    /// Records a requested backup as `queued`. Returns `false` (and changes
    /// nothing) when a job with this identifier exists already, or when the
    /// device has a job queued or collecting (single-flight: at most one
    /// open job per device; see [`Db::open_job`]).
    pub async fn create_job(
        &self,
        task_id: &str,
        task_identifier: &str,
        device_id: i64,
        queued_on: Timestamp,
        deadline: Timestamp,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "INSERT INTO backup_jobs (task_id, task_identifier, device_id, state, state_rank, queued_on, \
             updated_at, deadline) VALUES ($1, $2, $3, $4, $5, $6, $6, $7) \
             ON CONFLICT DO NOTHING",
        )
        .bind(task_id)
        .bind(task_identifier)
        .bind(device_id)
        .bind(JobState::Queued.as_str())
        .bind(JobState::Queued.rank())
        .bind(queued_on.to_string())
        .bind(deadline.to_string());
        let _gate = self.write_gate_for(crate::WritePriority::Request).await;
        let done = done.execute(self.pool()).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records many requested backups as `queued` in one transaction (a
    /// bulk "backup now"): each of `jobs` — `(task_id, task_identifier,
    /// device_id)`, one per device — is either created or, when its device
    /// has a job queued or collecting, joins that one (single-flight, as
    /// [`Db::create_job`]). Answers, in the order of `jobs`, `None` for a
    /// job created and the open job joined otherwise.
    pub async fn create_jobs(
        &self,
        jobs: &[(String, String, i64)],
        queued_on: Timestamp,
        deadline: Timestamp,
    ) -> Result<Vec<Option<BackupJob>>, DbError> {
        let queued = queued_on.to_string();
        let deadline = deadline.to_string();
        let _gate = self.write_gate_for(crate::WritePriority::Request).await;
        let mut tx = self.pool().begin().await?;
        let mut out = Vec::with_capacity(jobs.len());
        // 250 rows of 7 parameters stay far under every engine's limit.
        for chunk in jobs.chunks(250) {
            let created = insert_queued(&mut tx, chunk, &queued, &deadline).await?;
            let joined: Vec<i64> = chunk
                .iter()
                .map(|j| j.2)
                .filter(|d| !created.contains(d))
                .collect();
            let mut open = std::collections::HashMap::new();
            if !joined.is_empty() {
                let rows = sqlx::query(AssertSqlSafe(format!(
                    "SELECT {JOB_COLUMNS} FROM backup_jobs WHERE state_rank < 2 AND device_id IN ({})",
                    crate::scope::id_list(&joined)
                )))
                .fetch_all(&mut *tx)
                .await?;
                for r in &rows {
                    let j = job(r)?;
                    open.insert(j.device_id, j);
                }
            }
            for row in chunk {
                let (_, task_identifier, device_id) = row;
                if created.contains(device_id) {
                    out.push(None);
                } else if let Some(j) = open.remove(device_id) {
                    out.push(Some(j));
                } else {
                    // The open job it met finished before this read (another
                    // transaction, on PostgreSQL): nothing runs now, so this
                    // request gets its own. Refused only if the identifier
                    // exists already (a replay) or the device came twice.
                    let again =
                        insert_queued(&mut tx, std::slice::from_ref(row), &queued, &deadline)
                            .await?;
                    if again.is_empty() {
                        return Err(DbError::Conflict(format!(
                            "job {task_identifier} of device {device_id} exists already"
                        )));
                    }
                    out.push(None);
                }
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Moves a job forward to `state` (with a reason for `failed`). A move
    /// backwards or out of a final state changes nothing and returns `false`,
    /// so replays and late duplicates are harmless.
    pub async fn advance_job(
        &self,
        task_identifier: &str,
        state: JobState,
        reason: Option<&str>,
    ) -> Result<bool, DbError> {
        let _gate = self.write_gate().await;
        let mut tx = self.pool().begin().await?;
        let moved =
            advance_job_in(&mut tx, task_identifier, state, reason, Timestamp::now()).await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// The job of `device_id` that is queued or collecting, if any.
    pub async fn open_job(&self, device_id: i64) -> Result<Option<BackupJob>, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM backup_jobs WHERE device_id = $1 AND state_rank < 2"
        )))
        .bind(device_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(job).transpose()
    }

    pub async fn job(&self, task_identifier: &str) -> Result<BackupJob, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM backup_jobs WHERE task_identifier = $1"
        )))
        .bind(task_identifier)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| DbError::NotFound {
            what: format!("job {task_identifier}"),
        })?;
        job(&row)
    }

    /// Jobs not yet final whose deadline has passed, oldest first.
    pub async fn overdue_jobs(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<BackupJob>, DbError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM backup_jobs WHERE state_rank < 3 AND deadline < $1 \
             ORDER BY deadline LIMIT $2"
        )))
        .bind(now.to_string())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(job).collect()
    }

    /// Moves an overdue job's deadline to `deadline` without counting a
    /// dispatch (its device allows a longer collection than the
    /// pipeline's deadline), unless it moved meanwhile.
    pub async fn extend_job(
        &self,
        task_identifier: &str,
        expected_deadline: &str,
        deadline: Timestamp,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE backup_jobs SET deadline = $1 \
             WHERE task_identifier = $2 AND deadline = $3 AND state_rank < 3",
        )
        .bind(deadline.to_string())
        .bind(task_identifier)
        .bind(expected_deadline)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives an overdue job a new deadline and counts the attempt, unless it
    /// moved meanwhile. Returns whether the caller now owns the re-dispatch.
    pub async fn renew_job(
        &self,
        task_identifier: &str,
        expected_deadline: &str,
        deadline: Timestamp,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE backup_jobs SET deadline = $1, attempts = attempts + 1, updated_at = $2 \
             WHERE task_identifier = $3 AND deadline = $4 AND state_rank < 3",
        )
        .bind(deadline.to_string())
        .bind(Timestamp::now().to_string())
        .bind(task_identifier)
        .bind(expected_deadline)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a collection outcome once; `false` if it was recorded before.
    pub async fn record_device_result(&self, r: &NewDeviceResult) -> Result<bool, DbError> {
        let _gate = self.write_gate().await;
        let done = insert_device_result(r).execute(self.pool()).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Collection outcomes, newest first: of one device, or of all devices
    /// when `device` is `None`.
    pub async fn device_results(
        &self,
        device: Option<i64>,
        scope: &Scope,
        page: Page,
    ) -> Result<Listed<DeviceBackupResult>, DbError> {
        self.newest_first(
            "device_backup_results",
            RESULT_COLUMNS,
            device,
            scope,
            page,
            device_result,
        )
        .await
    }

    /// Records a storage outcome once; `false` if it was recorded before.
    ///
    /// A successful store of changed content records a `config_changed`
    /// event in the same transaction, naming the device's previous
    /// successful version (none for its first version: nothing changed
    /// that anyone saw).
    pub async fn record_stored_backup(&self, s: &NewStoredBackup) -> Result<bool, DbError> {
        let _gate = self.write_gate().await;
        let mut tx = self.pool().begin().await?;
        let inserted = record_stored_backup_in(&mut tx, s).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    pub async fn stored_backup(&self, id: i64) -> Result<StoredBackup, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {STORED_COLUMNS} FROM stored_backups WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| DbError::NotFound {
            what: format!("stored backup {id}"),
        })?;
        stored_backup(&row)
    }

    /// The newest successful stored backup of `device_id` at location
    /// `location_id`: where that location holds the device's previous
    /// version. Walks the `(device_id, timestamp, id)` index.
    pub async fn latest_stored_backup(
        &self,
        device_id: i64,
        location_id: i64,
    ) -> Result<Option<StoredBackup>, DbError> {
        Ok(self
            .latest_stored_with_change_key(device_id, location_id)
            .await?
            .map(|(stored, _)| stored))
    }

    /// The latest successful stored backup of `device_id` at `location_id`
    /// (as [`Db::latest_stored_backup`]) with its `change_key`, the key of
    /// the collection it stored (`None` when its driver ignores nothing for
    /// change, or when it was stored before keys existed).
    pub async fn latest_stored_with_change_key(
        &self,
        device_id: i64,
        location_id: i64,
    ) -> Result<Option<(StoredBackup, Option<String>)>, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {STORED_COLUMNS}, change_key FROM stored_backups \
             WHERE device_id = $1 AND location_id = $2 AND status = $3 \
             ORDER BY timestamp DESC, id DESC LIMIT 1"
        )))
        .bind(device_id)
        .bind(location_id)
        .bind(Status::Success.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref()
            .map(|r| Ok((stored_backup(r)?, r.try_get("change_key")?)))
            .transpose()
    }

    /// The jobs among `task_identifiers` that exist, by task identifier:
    /// one query per 500 (a stream read's lookups, read together).
    pub async fn jobs_by_identifiers(
        &self,
        task_identifiers: &[&str],
    ) -> Result<HashMap<String, BackupJob>, DbError> {
        let mut out = HashMap::with_capacity(task_identifiers.len());
        for chunk in task_identifiers.chunks(500) {
            let params = crate::scope::placeholders(chunk.len());
            let sql = format!(
                "SELECT {JOB_COLUMNS} FROM backup_jobs WHERE task_identifier IN ({params})"
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for ti in chunk {
                query = query.bind(*ti);
            }
            for row in query.fetch_all(self.pool()).await? {
                let j = job(&row)?;
                out.insert(j.task_identifier.clone(), j);
            }
        }
        Ok(out)
    }

    /// For each `(device_id, location_id)` of `pairs`, what
    /// [`Db::latest_stored_with_change_key`] answers, read in one query
    /// per 500 pairs (each pair walks the `(device_id, timestamp, id)`
    /// index once); pairs with no successful stored backup are absent.
    pub async fn latest_stored_at(
        &self,
        pairs: &[(i64, i64)],
    ) -> Result<HashMap<(i64, i64), (StoredBackup, Option<String>)>, DbError> {
        let mut out = HashMap::with_capacity(pairs.len());
        for chunk in pairs.chunks(500) {
            // Ids only (i64), so they are written into the statement.
            let values = chunk
                .iter()
                .map(|(d, l)| format!("({d}, {l})"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT {STORED_COLUMNS}, change_key FROM stored_backups WHERE id IN (\
                 SELECT (SELECT s.id FROM stored_backups s \
                 WHERE s.device_id = p.column1 AND s.location_id = p.column2 AND s.status = $1 \
                 ORDER BY s.timestamp DESC, s.id DESC LIMIT 1) FROM (VALUES {values}) AS p)"
            );
            let rows = sqlx::query(AssertSqlSafe(sql))
                .bind(Status::Success.as_str())
                .fetch_all(self.pool())
                .await?;
            for r in &rows {
                let stored = stored_backup(r)?;
                let key = stored.location_id.map(|l| (stored.device_id, l));
                if let Some(key) = key {
                    out.insert(key, (stored, r.try_get("change_key")?));
                }
            }
        }
        Ok(out)
    }

    /// The task identifiers of the jobs of `device_ids` that are not final
    /// (see [`Db::has_other_unfinished_job`]), by device, in one query per
    /// 500 devices.
    pub async fn unfinished_jobs(
        &self,
        device_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<String>>, DbError> {
        let mut out: HashMap<i64, Vec<String>> = HashMap::new();
        for chunk in device_ids.chunks(500) {
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT device_id, task_identifier FROM backup_jobs \
                 WHERE device_id IN ({}) AND state_rank < $1",
                crate::scope::id_list(chunk)
            )))
            .bind(JobState::Stored.rank())
            .fetch_all(self.pool())
            .await?;
            for r in &rows {
                out.entry(r.try_get("device_id")?)
                    .or_default()
                    .push(r.try_get("task_identifier")?);
            }
        }
        Ok(out)
    }

    /// Whether `device_id` has a job other than `task_identifier` that is
    /// not final (queued, collecting, or collected with its store on the
    /// way): its outcome may yet become the device's latest version.
    pub async fn has_other_unfinished_job(
        &self,
        device_id: i64,
        task_identifier: &str,
    ) -> Result<bool, DbError> {
        let row = sqlx::query(
            "SELECT id FROM backup_jobs WHERE device_id = $1 AND state_rank < $2 \
             AND task_identifier <> $3 LIMIT 1",
        )
        .bind(device_id)
        .bind(JobState::Stored.rank())
        .bind(task_identifier)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Stored backups, newest first: of one device, or of all devices when
    /// `device` is `None`.
    pub async fn stored_backups(
        &self,
        device: Option<i64>,
        scope: &Scope,
        page: Page,
    ) -> Result<Listed<StoredBackup>, DbError> {
        self.newest_first(
            "stored_backups",
            STORED_COLUMNS,
            device,
            scope,
            page,
            stored_backup,
        )
        .await
    }

    /// One page of a result table, newest first, and its row count. Both
    /// queries walk an index: `(device_id, timestamp, id)` for one device,
    /// `(timestamp, id)` for all, so a page costs about the same at a million
    /// rows (deep offsets aside). The count is a separate `COUNT(*)` rather
    /// than a window over the page query, which would read every match.
    async fn newest_first<T>(
        &self,
        table: &'static str,
        columns: &'static str,
        device: Option<i64>,
        scope: &Scope,
        page: Page,
        map: fn(&AnyRow) -> Result<T, DbError>,
    ) -> Result<Listed<T>, DbError> {
        check_page(page)?;
        // SQLite numbers `$n` by first use, so the filter comes first. The
        // scope's condition has no parameters.
        let in_scope = scope.on_device("device_id");
        let (where_, limit, offset) = match device {
            Some(_) => (format!("WHERE device_id = $1 AND {in_scope}"), "$2", "$3"),
            None => (format!("WHERE {in_scope}"), "$1", "$2"),
        };
        let mut rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {columns} FROM {table} {where_} \
             ORDER BY timestamp DESC, id DESC LIMIT {limit} OFFSET {offset}"
        )));
        let mut count = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM {table} {where_}"
        )));
        if let Some(d) = device {
            rows = rows.bind(d);
            count = count.bind(d);
        }
        let rows = rows
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(self.pool())
            .await?;
        let total = count.fetch_one(self.pool()).await?.try_get("n")?;
        Ok(Listed {
            rows: rows.iter().map(map).collect::<Result<_, _>>()?,
            total,
        })
    }
}
