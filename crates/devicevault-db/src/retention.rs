//! Retention (issue 17): which stored versions of a location go, and the
//! pruning of failed results and finished jobs after their own periods.
//!
//! A location keeps the `keep_last` newest successful versions of each
//! device and/or those younger than `keep_days` days; with both, a version
//! goes only when both allow it. Never removed, whatever the settings:
//!
//! - the newest successful version of a device at the location;
//! - a version an outbox event still needs: an event not yet planned, or
//!   one with a delivery pending or being delivered (its diff reads both
//!   versions it names).
//!
//! Pruning is two-phase so that a read never loses its file: a pass
//! deletes the index rows in transactions (from then on lists, reads
//! and compares no longer find them) and, for fs locations, queues each
//! file in `retention_removals` with a `remove_after` past a grace period
//! longer than any read; a later pass removes the due files. A download
//! that resolved its row before the pass therefore still reads its file.
//! Git locations keep their history whole: only the index is pruned (the
//! commits stay reachable from the branch, so nothing needs removing).
//!
//! The dry run ([`Db::retention_candidates`]) is the very query the real
//! pass deletes from, so it shows exactly what would go.

use std::collections::HashSet;
use std::time::Duration;

use devicevault_core::{Status, StorageBackendKind, Timestamp};
use serde_json::{Map, Value};
use sqlx::Row;

use crate::notifications::delivery_state::{DELIVERING, PENDING};
use crate::{Db, DbError};

/// Versions deleted per transaction by [`Db::apply_retention`].
pub const PRUNE_BATCH: usize = 500;

/// A location's retention settings: `None` is no limit of that kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep this many newest successful versions of each device (≥ 1).
    pub keep_last: Option<i64>,
    /// Keep versions younger than this many days (≥ 1).
    pub keep_days: Option<i64>,
}

impl Retention {
    /// Neither limit set: nothing is ever pruned.
    pub fn keeps_everything(&self) -> bool {
        self.keep_last.is_none() && self.keep_days.is_none()
    }
}

/// A stored version that retention removes (or would remove).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunedVersion {
    pub id: i64,
    pub device_id: i64,
    pub timestamp: String,
    pub size: Option<i64>,
    pub storage_backend: StorageBackendKind,
    pub storage_ref: String,
    pub task_identifier: String,
}

/// Failed results and finished jobs pruned (or that would be).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryPruned {
    /// Failed collection results (`device_backup_results`).
    pub failed_results: i64,
    /// Failed storage outcomes (`stored_backups` with status failure).
    pub failed_stored: i64,
    /// Stored or failed jobs (`backup_jobs`).
    pub finished_jobs: i64,
}

/// A pruned fs version's file, due for removal.
#[derive(Debug, Clone, PartialEq)]
pub struct DueRemoval {
    pub id: i64,
    pub location_id: i64,
    pub device_id: i64,
    pub storage_backend: StorageBackendKind,
    pub storage_ref: String,
    pub config: Map<String, Value>,
}

/// The longest period anything is kept for, in days (about 100 years):
/// longer periods are refused where they are set, so the arithmetic on
/// them cannot overflow.
pub const MAX_DAYS: i64 = 36_500;

/// `now` minus `d` (at most [`MAX_DAYS`]).
pub fn before(now: Timestamp, d: Duration) -> Timestamp {
    let d = d.min(Duration::from_secs(MAX_DAYS as u64 * 86_400));
    Timestamp::from_datetime(now.as_datetime() - d)
}

/// The versions of `location_id` that `r` lets go at `now`, oldest first
/// per device, minus those an unsettled event names.
async fn candidates(
    conn: &mut sqlx::AnyConnection,
    location_id: i64,
    r: Retention,
    now: Timestamp,
) -> Result<Vec<PrunedVersion>, DbError> {
    if r.keeps_everything() {
        return Ok(Vec::new());
    }
    // The newest version (rank 1) is never a candidate.
    let keep = r.keep_last.unwrap_or(1).max(1);
    let cutoff = r.keep_days.map(|d| {
        before(
            now,
            Duration::from_secs(d.clamp(1, MAX_DAYS) as u64 * 86_400),
        )
        .to_string()
    });
    let age = if cutoff.is_some() {
        "AND v.timestamp < $4"
    } else {
        ""
    };
    let sql = format!(
        "SELECT v.id, v.device_id, v.timestamp, v.size, v.storage_backend, v.storage_ref, v.task_identifier \
         FROM (SELECT id, device_id, timestamp, size, storage_backend, storage_ref, task_identifier, \
               ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY timestamp DESC, id DESC) AS rn \
               FROM stored_backups WHERE location_id = $1 AND status = $2) v \
         WHERE v.rn > $3 {age} ORDER BY v.device_id, v.timestamp, v.id"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(location_id)
        .bind(Status::Success.as_str())
        .bind(keep);
    if let Some(c) = &cutoff {
        q = q.bind(c.clone());
    }
    let rows = q.fetch_all(&mut *conn).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let protected = referenced_by_unsettled_events(conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        if protected.contains(&id) {
            continue;
        }
        let backend: String = row.try_get("storage_backend")?;
        out.push(PrunedVersion {
            id,
            device_id: row.try_get("device_id")?,
            timestamp: row.try_get("timestamp")?,
            size: row.try_get("size")?,
            storage_backend: backend
                .parse()
                .map_err(|e: devicevault_core::UnknownBackend| DbError::Invalid(e.to_string()))?,
            storage_ref: row.try_get("storage_ref")?,
            task_identifier: row.try_get("task_identifier")?,
        });
    }
    Ok(out)
}

/// The stored backups that an event not yet planned, or one with a
/// delivery still to make, names: the notifier will read them.
async fn referenced_by_unsettled_events(
    conn: &mut sqlx::AnyConnection,
) -> Result<HashSet<i64>, DbError> {
    let rows = sqlx::query(
        "SELECT e.stored_backup_id AS a, e.previous_stored_backup_id AS b \
         FROM notification_events e WHERE e.planned = 0 \
         UNION \
         SELECT e.stored_backup_id AS a, e.previous_stored_backup_id AS b \
         FROM notification_deliveries d JOIN notification_events e ON e.id = d.event_id \
         WHERE d.state IN ($1, $2)",
    )
    .bind(PENDING)
    .bind(DELIVERING)
    .fetch_all(&mut *conn)
    .await?;
    let mut ids = HashSet::new();
    for row in &rows {
        for col in ["a", "b"] {
            if let Some(id) = row.try_get::<Option<i64>, _>(col)? {
                ids.insert(id);
            }
        }
    }
    Ok(ids)
}

impl Db {
    /// A location's retention settings.
    pub async fn location_retention(&self, location_id: i64) -> Result<Retention, DbError> {
        let row = sqlx::query(
            "SELECT retention_keep_last, retention_keep_days FROM backup_locations WHERE id = $1",
        )
        .bind(location_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| DbError::NotFound {
            what: format!("backup location {location_id}"),
        })?;
        Ok(Retention {
            keep_last: row.try_get("retention_keep_last")?,
            keep_days: row.try_get("retention_keep_days")?,
        })
    }

    /// Sets a location's retention (validated by the caller: each ≥ 1).
    pub async fn set_location_retention(
        &self,
        location_id: i64,
        r: Retention,
    ) -> Result<Retention, DbError> {
        let done = sqlx::query(
            "UPDATE backup_locations SET retention_keep_last = $1, retention_keep_days = $2 \
             WHERE id = $3",
        )
        .bind(r.keep_last)
        .bind(r.keep_days)
        .bind(location_id)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::NotFound {
                what: format!("backup location {location_id}"),
            });
        }
        Ok(r)
    }

    /// The locations that limit what they keep.
    pub async fn locations_with_retention(&self) -> Result<Vec<i64>, DbError> {
        let rows = sqlx::query(
            "SELECT id FROM backup_locations \
             WHERE retention_keep_last IS NOT NULL OR retention_keep_days IS NOT NULL ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| r.try_get("id").map_err(DbError::from))
            .collect()
    }

    /// The dry run: the versions of `location_id` a pass at `now` would
    /// remove, oldest first per device.
    pub async fn retention_candidates(
        &self,
        location_id: i64,
        now: Timestamp,
    ) -> Result<Vec<PrunedVersion>, DbError> {
        let r = self.location_retention(location_id).await?;
        let mut conn = self.pool().acquire().await?;
        candidates(&mut conn, location_id, r, now).await
    }

    /// Prunes `location_id` at `now`: deletes the rows of the versions
    /// [`Db::retention_candidates`] names (and the successful collection
    /// results they stored), and queues each fs version's file for removal
    /// after `remove_after`. Returns what went.
    ///
    /// The candidates are read once, then deleted [`PRUNE_BATCH`] at a time,
    /// each batch one transaction, so a large first pruning never holds
    /// SQLite's writer for long. A candidate stays one meanwhile: a new
    /// version only pushes older ones further down, and a new event names
    /// a version and the newest before it, never a candidate. A row another
    /// pass deleted first is skipped (its file queued once).
    pub async fn apply_retention(
        &self,
        location_id: i64,
        now: Timestamp,
        remove_after: Timestamp,
    ) -> Result<Vec<PrunedVersion>, DbError> {
        let candidates = self.retention_candidates(location_id, now).await?;
        let mut gone = Vec::with_capacity(candidates.len());
        for batch in candidates.chunks(PRUNE_BATCH) {
            let _gate = self.write_gate_for(crate::WritePriority::Background).await;
            let mut tx = self.pool().begin().await?;
            for v in batch {
                let deleted = sqlx::query(
                    "DELETE FROM stored_backups WHERE id = $1 AND status = $2 RETURNING id",
                )
                .bind(v.id)
                .bind(Status::Success.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                if deleted.is_none() {
                    continue;
                }
                if v.storage_backend == StorageBackendKind::Fs {
                    sqlx::query(
                        "INSERT INTO retention_removals (location_id, storage_backend, storage_ref, \
                         stored_backup_id, device_id, pruned_at, remove_after) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(location_id)
                    .bind(v.storage_backend.as_str())
                    .bind(&v.storage_ref)
                    .bind(v.id)
                    .bind(v.device_id)
                    .bind(now.to_string())
                    .bind(remove_after.to_string())
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query(
                    "DELETE FROM device_backup_results WHERE task_identifier = $1 AND status = $2",
                )
                .bind(&v.task_identifier)
                .bind(Status::Success.as_str())
                .execute(&mut *tx)
                .await?;
                gone.push(v.clone());
            }
            tx.commit().await?;
        }
        Ok(gone)
    }

    /// Failed results (collection and storage) older than `failed_before`
    /// and finished jobs last moved before `jobs_before`: counted when
    /// `dry_run`, deleted otherwise. `None` prunes nothing of that kind.
    pub async fn prune_history(
        &self,
        failed_before: Option<Timestamp>,
        jobs_before: Option<Timestamp>,
        dry_run: bool,
    ) -> Result<HistoryPruned, DbError> {
        let failure = Status::Failure.as_str();
        let parts: [(&str, &str, Option<Timestamp>, &str); 3] = [
            (
                "device_backup_results",
                "status = $1 AND timestamp < $2",
                failed_before,
                failure,
            ),
            (
                "stored_backups",
                "status = $1 AND timestamp < $2",
                failed_before,
                failure,
            ),
            (
                "backup_jobs",
                "state_rank = $1 AND updated_at < $2",
                jobs_before,
                "",
            ),
        ];
        let mut counts = [0_i64; 3];
        let _gate = if dry_run {
            None
        } else {
            self.write_gate_for(crate::WritePriority::Background).await
        };
        for (i, (table, cond, cutoff, status)) in parts.into_iter().enumerate() {
            let Some(cutoff) = cutoff else { continue };
            let verb = if dry_run {
                "SELECT COUNT(*) AS n FROM"
            } else {
                "DELETE FROM"
            };
            let q = sqlx::query(sqlx::AssertSqlSafe(format!("{verb} {table} WHERE {cond}")));
            // Finished jobs have rank 3 (stored or failed).
            let q = if table == "backup_jobs" {
                q.bind(3_i64)
            } else {
                q.bind(status)
            };
            let q = q.bind(cutoff.to_string());
            counts[i] = if dry_run {
                q.fetch_one(self.pool()).await?.try_get("n")?
            } else {
                i64::try_from(q.execute(self.pool()).await?.rows_affected()).unwrap_or(i64::MAX)
            };
        }
        Ok(HistoryPruned {
            failed_results: counts[0],
            failed_stored: counts[1],
            finished_jobs: counts[2],
        })
    }

    /// Files of pruned versions whose grace has passed at `now`.
    pub async fn due_removals(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<DueRemoval>, DbError> {
        let rows = sqlx::query(
            "SELECT r.id, r.location_id, r.device_id, r.storage_backend, r.storage_ref, l.config \
             FROM retention_removals r JOIN backup_locations l ON l.id = r.location_id \
             WHERE r.remove_after <= $1 ORDER BY r.remove_after, r.id LIMIT $2",
        )
        .bind(now.to_string())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let backend: String = row.try_get("storage_backend")?;
                let config: String = row.try_get("config")?;
                Ok(DueRemoval {
                    id: row.try_get("id")?,
                    location_id: row.try_get("location_id")?,
                    device_id: row.try_get("device_id")?,
                    storage_backend: backend.parse().map_err(
                        |e: devicevault_core::UnknownBackend| DbError::Invalid(e.to_string()),
                    )?,
                    storage_ref: row.try_get("storage_ref")?,
                    config: serde_json::from_str(&config).map_err(|e| {
                        DbError::Invalid(format!(
                            "stored location config is not a JSON object: {e}"
                        ))
                    })?,
                })
            })
            .collect()
    }

    /// Whether a stored backup of the removal's device at its location
    /// still names its file (the same file can back several rows): then
    /// the file stays.
    pub async fn removal_still_referenced(&self, r: &DueRemoval) -> Result<bool, DbError> {
        let row = sqlx::query(
            "SELECT id FROM stored_backups WHERE device_id = $1 AND location_id = $2 \
             AND storage_ref = $3 LIMIT 1",
        )
        .bind(r.device_id)
        .bind(r.location_id)
        .bind(&r.storage_ref)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Forgets a removal once its file is gone (or must stay).
    pub async fn finish_removal(&self, id: i64) -> Result<(), DbError> {
        let _gate = self.write_gate_for(crate::WritePriority::Background).await;
        sqlx::query("DELETE FROM retention_removals WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// How many files wait for their grace to pass.
    pub async fn pending_removals(&self) -> Result<i64, DbError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM retention_removals")
            .fetch_one(self.pool())
            .await?
            .try_get("n")?)
    }
}
