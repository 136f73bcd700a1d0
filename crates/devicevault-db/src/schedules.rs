//! Backup schedules and what they target.
//!
//! The database stores a schedule's cron expression and time zone as text;
//! parsing them and computing slots is the scheduler's job (it lives with
//! the server). What lives here is the part that must be atomic: a
//! schedule and its assignments change together, and `next_run` moves only
//! by compare-and-swap, so two schedulers never both run one slot.

use std::collections::HashMap;

use devicevault_core::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::inventory::{DEVICE_COLUMNS, flag, not_found};
use crate::{Db, DbError, Device, Listed, Page, Schedule, ScheduleFields};

const SCHEDULE_COLUMNS: &str = "id, name, cron, timezone, enabled, next_run, created_at";

/// A schedule row, without its assignments.
fn schedule(row: &AnyRow) -> Result<Schedule, sqlx::Error> {
    Ok(Schedule {
        id: row.try_get("id")?,
        fields: ScheduleFields {
            name: row.try_get("name")?,
            cron: row.try_get("cron")?,
            timezone: row.try_get("timezone")?,
            enabled: flag(row, "enabled")?,
            devices: Vec::new(),
            device_groups: Vec::new(),
        },
        next_run: row.try_get("next_run")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The fields as stored: assignments sorted, without duplicates.
fn normalise(f: &ScheduleFields) -> Result<ScheduleFields, DbError> {
    for (what, value) in [
        ("schedule name", &f.name),
        ("cron expression", &f.cron),
        ("time zone", &f.timezone),
    ] {
        if value.trim().is_empty() {
            return Err(DbError::Invalid(format!("{what} is empty")));
        }
    }
    let mut f = f.clone();
    f.devices.sort_unstable();
    f.devices.dedup();
    f.device_groups.sort_unstable();
    f.device_groups.dedup();
    Ok(f)
}

type Tx<'c> = sqlx::Transaction<'c, sqlx::Any>;

/// Inserts the assignments of schedule `id`; a missing device or group is a
/// `Conflict` naming it.
async fn insert_assignments(tx: &mut Tx<'_>, id: i64, f: &ScheduleFields) -> Result<(), DbError> {
    let tables = [
        ("backup_schedule_devices", "device_id", "device", &f.devices),
        (
            "backup_schedule_device_groups",
            "device_group_id",
            "device group",
            &f.device_groups,
        ),
    ];
    for (table, column, what, ids) in tables {
        for &target in ids {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO {table} (schedule_id, {column}) VALUES ($1, $2)"
            )))
            .bind(id)
            .bind(target)
            .execute(&mut **tx)
            .await
            .map_err(|e| match DbError::from(e) {
                DbError::Conflict(_) => {
                    DbError::Conflict(format!("{what} {target} does not exist"))
                }
                other => other,
            })?;
        }
    }
    Ok(())
}

impl Db {
    /// Creates a schedule and its assignments in one transaction.
    /// `Conflict` when the name is taken or a target does not exist.
    pub async fn create_schedule(
        &self,
        fields: &ScheduleFields,
        next_run: Option<Timestamp>,
    ) -> Result<Schedule, DbError> {
        let fields = normalise(fields)?;
        let next_run = next_run.map(|t| t.to_string());
        let created_at = Timestamp::now().to_string();
        let mut tx = self.pool().begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO backup_schedules (name, cron, timezone, enabled, next_run, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&fields.name)
        .bind(&fields.cron)
        .bind(&fields.timezone)
        .bind(i64::from(fields.enabled))
        .bind(next_run.as_deref())
        .bind(&created_at)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        insert_assignments(&mut tx, id, &fields).await?;
        tx.commit().await?;
        Ok(Schedule {
            id,
            fields,
            next_run,
            created_at,
        })
    }

    /// Replaces a schedule's fields, assignments and `next_run` in one
    /// transaction.
    pub async fn update_schedule(
        &self,
        id: i64,
        fields: &ScheduleFields,
        next_run: Option<Timestamp>,
    ) -> Result<Schedule, DbError> {
        let fields = normalise(fields)?;
        let next_run = next_run.map(|t| t.to_string());
        let mut tx = self.pool().begin().await?;
        let created_at: String = sqlx::query(
            "UPDATE backup_schedules SET name = $1, cron = $2, timezone = $3, enabled = $4, \
             next_run = $5 WHERE id = $6 RETURNING created_at",
        )
        .bind(&fields.name)
        .bind(&fields.cron)
        .bind(&fields.timezone)
        .bind(i64::from(fields.enabled))
        .bind(next_run.as_deref())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| not_found(format!("schedule {id}")))?
        .try_get("created_at")?;
        for table in ["backup_schedule_devices", "backup_schedule_device_groups"] {
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE schedule_id = $1"
            )))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        insert_assignments(&mut tx, id, &fields).await?;
        tx.commit().await?;
        Ok(Schedule {
            id,
            fields,
            next_run,
            created_at,
        })
    }

    /// Deletes a schedule and its assignments (jobs it queued stay).
    pub async fn delete_schedule(&self, id: i64) -> Result<(), DbError> {
        self.delete_by_id("backup_schedules", id, "schedule").await
    }

    pub async fn schedule(&self, id: i64) -> Result<Schedule, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SCHEDULE_COLUMNS} FROM backup_schedules WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("schedule {id}")))?;
        let mut one = self.with_assignments(vec![schedule(&row)?]).await?;
        Ok(one.remove(0))
    }

    /// Schedules by id.
    pub async fn list_schedules(&self, page: Page) -> Result<Listed<Schedule>, DbError> {
        let listed = self
            .list_table("backup_schedules", SCHEDULE_COLUMNS, page, |r| {
                Ok(schedule(r)?)
            })
            .await?;
        Ok(Listed {
            rows: self.with_assignments(listed.rows).await?,
            total: listed.total,
        })
    }

    /// Enabled schedules whose `next_run` is at or before `now`, most
    /// overdue first.
    pub async fn due_schedules(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<Schedule>, DbError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SCHEDULE_COLUMNS} FROM backup_schedules \
             WHERE enabled = 1 AND next_run <= $1 ORDER BY next_run, id LIMIT $2"
        )))
        .bind(now.to_string())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let due = rows.iter().map(schedule).collect::<Result<_, _>>()?;
        self.with_assignments(due).await
    }

    /// Enabled schedules that have no `next_run` yet (new, or updated
    /// without one), by id.
    pub async fn schedules_without_next_run(&self, limit: i64) -> Result<Vec<Schedule>, DbError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SCHEDULE_COLUMNS} FROM backup_schedules \
             WHERE enabled = 1 AND next_run IS NULL ORDER BY id LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let rows = rows.iter().map(schedule).collect::<Result<_, _>>()?;
        self.with_assignments(rows).await
    }

    /// Sets `next_run` of a schedule that has none. Returns `false` when it
    /// has one already (set meanwhile by someone else) or does not exist.
    pub async fn init_schedule_next_run(
        &self,
        id: i64,
        next_run: Timestamp,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE backup_schedules SET next_run = $1 WHERE id = $2 AND next_run IS NULL",
        )
        .bind(next_run.to_string())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves `next_run` from `expected_next_run` to `new_next_run`. Returns
    /// `false`, changing nothing, when it is no longer `expected_next_run`
    /// (another scheduler advanced it, or the schedule was edited or
    /// deleted).
    pub async fn advance_schedule(
        &self,
        id: i64,
        expected_next_run: &str,
        new_next_run: Timestamp,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE backup_schedules SET next_run = $1 WHERE id = $2 AND next_run = $3",
        )
        .bind(new_next_run.to_string())
        .bind(id)
        .bind(expected_next_run)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The enabled devices a schedule backs up, assigned directly or
    /// through one of its device groups, each once, by id.
    pub async fn schedule_targets(&self, schedule_id: i64) -> Result<Vec<Device>, DbError> {
        let exists = sqlx::query("SELECT 1 AS one FROM backup_schedules WHERE id = $1")
            .bind(schedule_id)
            .fetch_optional(self.pool())
            .await?;
        if exists.is_none() {
            return Err(not_found(format!("schedule {schedule_id}")));
        }
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE enabled = 1 AND archived_at IS NULL AND ( \
               id IN (SELECT device_id FROM backup_schedule_devices WHERE schedule_id = $1) \
               OR device_group_id IN (SELECT device_group_id FROM backup_schedule_device_groups \
                                      WHERE schedule_id = $1)) \
             ORDER BY id"
        )))
        .bind(schedule_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(crate::inventory::device)
            .collect::<Result<_, _>>()?)
    }

    /// The next slot of an enabled schedule that backs up device `id`
    /// (directly or through its group); `None` when none does, or the
    /// device is disabled or archived.
    pub async fn next_scheduled_run(&self, device_id: i64) -> Result<Option<String>, DbError> {
        let row = sqlx::query(
            "SELECT MIN(s.next_run) AS next FROM backup_schedules s, devices d \
             WHERE d.id = $1 AND d.enabled = 1 AND d.archived_at IS NULL \
             AND s.enabled = 1 AND s.next_run IS NOT NULL AND ( \
               s.id IN (SELECT schedule_id FROM backup_schedule_devices WHERE device_id = $1) \
               OR s.id IN (SELECT schedule_id FROM backup_schedule_device_groups \
                           WHERE device_group_id = d.device_group_id))",
        )
        .bind(device_id)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("next")?)
    }

    /// Fills in the assignments of `schedules` with one query per table.
    async fn with_assignments(
        &self,
        mut schedules: Vec<Schedule>,
    ) -> Result<Vec<Schedule>, DbError> {
        if schedules.is_empty() {
            return Ok(schedules);
        }
        let index: HashMap<i64, usize> = schedules
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id, i))
            .collect();
        let params = crate::scope::placeholders(schedules.len());
        for (table, column) in [
            ("backup_schedule_devices", "device_id"),
            ("backup_schedule_device_groups", "device_group_id"),
        ] {
            let mut q = sqlx::query(AssertSqlSafe(format!(
                "SELECT schedule_id, {column} AS target FROM {table} \
                 WHERE schedule_id IN ({params}) ORDER BY schedule_id, {column}"
            )));
            for s in &schedules {
                q = q.bind(s.id);
            }
            for row in q.fetch_all(self.pool()).await? {
                let schedule_id: i64 = row.try_get("schedule_id")?;
                let target: i64 = row.try_get("target")?;
                let fields = &mut schedules[index[&schedule_id]].fields;
                match column {
                    "device_id" => fields.devices.push(target),
                    _ => fields.device_groups.push(target),
                }
            }
        }
        Ok(schedules)
    }
}
