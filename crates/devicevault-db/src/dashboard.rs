//! Queries of the web UI: the device list with each device's last job
//! (filtered and sorted by it, paginated in SQL), the dashboard's
//! aggregates and one job's records.
//!
//! The aggregates read the result tables through their `(timestamp, id)`
//! indexes, so the dashboard costs the same however long the history is.
//! A device's last job is found through the `(device_id, queued_on)` index
//! of `backup_jobs`: one probe per device, and only for the page's devices
//! unless the list is filtered or sorted by it.

use devicevault_core::{Status, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::inventory::{DEVICE_COLUMNS, check_page, device, not_found};
use crate::{Db, DbError, Device, DeviceBackupResult, DeviceFilter, JobState, Listed, Page, Scope};

/// A device with the names of its type and group and its last job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    pub device: Device,
    pub device_type: Option<String>,
    pub device_group: Option<String>,
    pub last_job: Option<LastJob>,
}

/// The newest job of a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastJob {
    pub task_identifier: String,
    pub state: JobState,
    pub reason: Option<String>,
    pub queued_on: String,
    pub updated_at: String,
}

/// Devices by the state of their last job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LastStatus {
    /// No job yet.
    #[default]
    Never,
    /// Queued, collecting or collected.
    Running,
    Stored,
    Failed,
}

impl LastStatus {
    pub const ALL: [LastStatus; 4] = [Self::Failed, Self::Running, Self::Stored, Self::Never];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Never => "never",
            Self::Running => "running",
            Self::Stored => "stored",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// `devices.last_status_rank` (migration 0035), which orders the list:
    /// failed 0, running 1, stored 2, never 3.
    pub(crate) fn rank(self) -> i64 {
        match self {
            Self::Failed => 0,
            Self::Running => 1,
            Self::Stored => 2,
            Self::Never => 3,
        }
    }

    pub(crate) fn from_rank(rank: i64) -> Self {
        match rank {
            0 => Self::Failed,
            1 => Self::Running,
            2 => Self::Stored,
            _ => Self::Never,
        }
    }

    /// The status of a device whose last job is `job`.
    pub fn of(job: Option<&LastJob>) -> Self {
        match job.map(|j| j.state) {
            None => Self::Never,
            Some(JobState::Stored) => Self::Stored,
            Some(JobState::Failed) => Self::Failed,
            Some(_) => Self::Running,
        }
    }
}

/// The column a device list is sorted by (then by name and id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceSort {
    #[default]
    Name,
    Address,
    Driver,
    DeviceType,
    DeviceGroup,
    Enabled,
    /// Failed first, then running, stored, never backed up.
    LastStatus,
    /// When the last job was queued; devices never backed up last.
    LastBackup,
    /// The newest successful backup; devices never backed up last.
    LastSuccess,
    /// The newest backup that stored a new configuration; devices that
    /// never changed (or were never backed up) last.
    LastChange,
}

impl DeviceSort {
    pub const ALL: [DeviceSort; 10] = [
        Self::Name,
        Self::Address,
        Self::Driver,
        Self::DeviceType,
        Self::DeviceGroup,
        Self::Enabled,
        Self::LastStatus,
        Self::LastBackup,
        Self::LastSuccess,
        Self::LastChange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Address => "address",
            Self::Driver => "driver",
            Self::DeviceType => "type",
            Self::DeviceGroup => "group",
            Self::Enabled => "enabled",
            Self::LastStatus => "status",
            Self::LastBackup => "last_backup",
            Self::LastSuccess => "last_success",
            Self::LastChange => "last_change",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether choosing a page in this order needs the type and group
    /// names.
    fn needs_joins(self) -> bool {
        matches!(self, Self::DeviceType | Self::DeviceGroup)
    }

    /// The ORDER BY expression, NULLs last in both directions and engines,
    /// ties by name. The last status, last backup, last success and last
    /// change orders are those of migration 0035's indexes, expression for
    /// expression, so that a page walks an index instead of sorting every
    /// device.
    fn order(self, desc: bool) -> String {
        let dir = if desc { "DESC" } else { "ASC" };
        let nulls_last = |col: &str| format!("({col} IS NULL), {col} {dir}");
        let key = match self {
            Self::Name => return format!("d.name {dir}, d.id {dir}"),
            Self::Address => format!("d.address {dir}"),
            Self::Driver => format!("d.driver {dir}"),
            Self::DeviceType => nulls_last("t.name"),
            Self::DeviceGroup => nulls_last("g.name"),
            Self::Enabled => format!("d.enabled {dir}"),
            Self::LastStatus => format!("d.last_status_rank {dir}"),
            Self::LastBackup => nulls_last("d.last_queued_on"),
            Self::LastSuccess => nulls_last("d.last_success_at"),
            Self::LastChange => nulls_last("d.last_change_at"),
        };
        format!("{key}, d.name ASC, d.id ASC")
    }
}

/// The newest job of device `d`, kept on the device by migration 0035's
/// triggers (one primary-key probe).
const LAST_JOB_JOIN: &str = "LEFT JOIN backup_jobs j ON j.id = d.last_job_id";

/// Which devices a web list shows, and in which order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceQuery {
    pub filter: DeviceFilter,
    pub last_status: Option<LastStatus>,
    pub sort: DeviceSort,
    pub descending: bool,
}

impl DeviceQuery {
    /// The SQL of [`Db::device_rows`] for this query in `scope`. The
    /// parameters are numbered in the order the filter's conditions are
    /// added — name, device group, device type, enabled — then the page's
    /// limit and offset (the count has no limit nor offset).
    pub fn sql(&self, scope: &Scope) -> DeviceListSql {
        let q = self;
        // The scope's and the archive's conditions have no parameters.
        let mut conditions = vec![
            scope.on_group("d.device_group_id"),
            q.filter.on_archived(scope, "d."),
        ];
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        let f = &q.filter;
        if f.name.is_some() {
            conditions.push(format!("LOWER(d.name) LIKE {}", next()));
        }
        if f.device_group.is_some() {
            conditions.push(format!("d.device_group_id = {}", next()));
        }
        if f.device_type.is_some() {
            conditions.push(format!("d.device_type_id = {}", next()));
        }
        if f.enabled.is_some() {
            conditions.push(format!("d.enabled = {}", next()));
        }
        conditions.extend(f.on_stale("d."));
        if let Some(s) = q.last_status {
            conditions.push(format!("d.last_status_rank = {}", s.rank()));
        }
        let limit = next();
        let offset = next();
        let where_ = format!("WHERE {}", conditions.join(" AND "));
        let joins = "LEFT JOIN device_types t ON t.id = d.device_type_id \
                 LEFT JOIN device_groups g ON g.id = d.device_group_id";
        let columns = DEVICE_COLUMNS
            .split(", ")
            .map(|c| format!("d.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let order = q.sort.order(q.descending);
        // The page's ids first, from the devices (and an index in the
        // list's order) alone; then the rows of those 50 with their type,
        // group and last job. Only the type and group sorts need the
        // joins to choose the page.
        let page_joins = if q.sort.needs_joins() { joins } else { "" };
        let page_ids = format!(
            "SELECT d.id FROM devices d {page_joins} {where_} \
         ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        );
        DeviceListSql {
            rows: format!(
                "SELECT {columns}, t.name AS type_name, g.name AS group_name, {LAST_JOB_COLUMNS} \
             FROM ({page_ids}) p JOIN devices d ON d.id = p.id {joins} {LAST_JOB_JOIN} \
             ORDER BY {order}"
            ),
            count: format!("SELECT COUNT(*) AS n FROM devices d {where_}"),
            page_ids,
        }
    }
}

/// The statements of one page of the device list.
#[derive(Debug, Clone)]
pub struct DeviceListSql {
    /// The ids of the page's devices, in the list's order: from the
    /// devices alone (and an index in that order) unless the order is by
    /// type or group.
    pub page_ids: String,
    /// The page's rows with their type, group and last job.
    pub rows: String,
    /// How many devices match.
    pub count: String,
}

/// Counts and rates for the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardStats {
    pub devices: i64,
    pub enabled_devices: i64,
    /// Enabled devices without a successful backup for longer than their
    /// threshold.
    pub stale: i64,
    /// Device type name (`None`: no type) and how many devices have it,
    /// most numerous first.
    pub by_type: Vec<(Option<String>, i64)>,
    /// Collections since the cut-off whose backup was stored (the count of
    /// the results list with `outcome=stored` and `since`).
    pub succeeded: i64,
    /// Collections since the cut-off that failed, in collection, storage or
    /// their job (the count of the results list with `outcome=failed`).
    pub failed: i64,
    /// Average collection duration of the collections since the cut-off.
    pub avg_duration_ms: Option<f64>,
    /// Jobs not yet stored or failed.
    pub running: i64,
}

/// Successes and failures of one UTC day (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayOutcomes {
    pub day: String,
    pub succeeded: i64,
    pub failed: i64,
}

/// One collection outcome with what happened to its storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub task_identifier: String,
    pub device_id: i64,
    pub device_name: String,
    pub timestamp: String,
    pub collection: Status,
    /// How long the collection took; none for a job that failed before one.
    pub duration_ms: Option<i64>,
    /// The stored backup, once the storage worker reported.
    pub stored_id: Option<i64>,
    pub stored: Option<Status>,
    pub changed: Option<bool>,
    /// The job's failure reason, when it failed.
    pub reason: Option<String>,
}

fn status(s: &str) -> Result<Status, DbError> {
    s.parse().map_err(DbError::Invalid)
}

fn last_job(row: &AnyRow) -> Result<Option<LastJob>, DbError> {
    let Some(ti) = row.try_get::<Option<String>, _>("j_task_identifier")? else {
        return Ok(None);
    };
    let state: String = row.try_get("j_state")?;
    Ok(Some(LastJob {
        task_identifier: ti,
        state: state.parse()?,
        reason: row.try_get("j_reason")?,
        queued_on: row.try_get("j_queued_on")?,
        updated_at: row.try_get("j_updated_at")?,
    }))
}

const LAST_JOB_COLUMNS: &str = "j.task_identifier AS j_task_identifier, j.state AS j_state, \
     j.reason AS j_reason, j.queued_on AS j_queued_on, j.updated_at AS j_updated_at";

fn device_row(row: &AnyRow) -> Result<DeviceRow, DbError> {
    Ok(DeviceRow {
        device: device(row)?,
        device_type: row.try_get("type_name")?,
        device_group: row.try_get("group_name")?,
        last_job: last_job(row)?,
    })
}

impl Db {
    /// One page of devices with their type, group and last job.
    ///
    /// The page is chosen from `devices` alone — the last status and last
    /// backup are the summary columns of migration 0035, and each list order
    /// but address, driver, type, group and enabled walks a partial index of
    /// the live devices — then only its rows are joined to their type,
    /// group and last job.
    pub async fn device_rows(
        &self,
        q: &DeviceQuery,
        scope: &Scope,
        page: Page,
    ) -> Result<Listed<DeviceRow>, DbError> {
        check_page(page)?;
        let f = &q.filter;
        let DeviceListSql {
            rows: sql,
            count: count_sql,
            ..
        } = q.sql(scope);
        let mut rows = sqlx::query(AssertSqlSafe(sql));
        let mut count = sqlx::query(AssertSqlSafe(count_sql));
        if let Some(name) = &f.name {
            let pattern = format!("%{}%", name.to_lowercase());
            rows = rows.bind(pattern.clone());
            count = count.bind(pattern);
        }
        if let Some(g) = f.device_group {
            rows = rows.bind(g);
            count = count.bind(g);
        }
        if let Some(t) = f.device_type {
            rows = rows.bind(t);
            count = count.bind(t);
        }
        if let Some(e) = f.enabled {
            rows = rows.bind(i64::from(e));
            count = count.bind(i64::from(e));
        }
        let rows = rows
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(self.pool())
            .await?;
        let total = count.fetch_one(self.pool()).await?.try_get("n")?;
        Ok(Listed {
            rows: rows.iter().map(device_row).collect::<Result<_, _>>()?,
            total,
        })
    }

    /// One device with its type, group and last job.
    pub async fn device_row(&self, id: i64) -> Result<DeviceRow, DbError> {
        let columns = DEVICE_COLUMNS
            .split(", ")
            .map(|c| format!("d.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {columns}, t.name AS type_name, g.name AS group_name, {LAST_JOB_COLUMNS} \
             FROM devices d LEFT JOIN device_types t ON t.id = d.device_type_id \
             LEFT JOIN device_groups g ON g.id = d.device_group_id {LAST_JOB_JOIN} WHERE d.id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("device {id}")))?;
        device_row(&row)
    }

    /// Counts for the dashboard since `since` (RFC 3339 UTC).
    pub async fn dashboard_stats(
        &self,
        since: Timestamp,
        scope: &Scope,
    ) -> Result<DashboardStats, DbError> {
        let cut_off = since;
        let devices_in_scope = scope.on_group("device_group_id");
        let in_scope = scope.on_device("device_id");
        let counts = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(enabled), 0) AS BIGINT) AS enabled, \
             CAST(COALESCE(SUM(CASE WHEN stale_since IS NOT NULL AND enabled = 1 THEN 1 ELSE 0 END), 0) \
             AS BIGINT) AS stale FROM devices \
             WHERE {devices_in_scope} AND archived_at IS NULL"
        )))
        .fetch_one(self.pool())
        .await?;
        let by_type = sqlx::query(AssertSqlSafe(format!(
            "SELECT t.name AS name, COUNT(*) AS n FROM devices d \
             LEFT JOIN device_types t ON t.id = d.device_type_id \
             WHERE {} AND d.archived_at IS NULL GROUP BY t.name ORDER BY COUNT(*) DESC, t.name",
            scope.on_group("d.device_group_id")
        )))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("n")?)))
        .collect::<Result<Vec<_>, DbError>>()?;
        let running = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM backup_jobs WHERE state_rank < 3 AND {in_scope}"
        )))
        .fetch_one(self.pool())
        .await?
        .try_get("n")?;
        // The cards' counts are the row counts of the results lists they
        // open (`outcome_totals` counts as those lists do).
        let totals = self.outcome_totals(cut_off, scope).await?;
        Ok(DashboardStats {
            devices: counts.try_get("n")?,
            enabled_devices: counts.try_get("enabled")?,
            stale: counts.try_get("stale")?,
            by_type,
            succeeded: totals.stored,
            failed: totals.failed,
            avg_duration_ms: (totals.collections > 0)
                .then(|| totals.duration_ms as f64 / totals.collections as f64),
            running,
        })
    }

    /// The collection outcome of a job, if recorded.
    pub async fn device_result_by_task(
        &self,
        task_identifier: &str,
    ) -> Result<Option<DeviceBackupResult>, DbError> {
        let row = sqlx::query(
            "SELECT id, task_id, task_identifier, device_id, status, timestamp, log, \
             collection_duration_ms FROM device_backup_results WHERE task_identifier = $1",
        )
        .bind(task_identifier)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            let s: String = r.try_get("status")?;
            Ok(DeviceBackupResult {
                id: r.try_get("id")?,
                task_id: r.try_get("task_id")?,
                task_identifier: r.try_get("task_identifier")?,
                device_id: r.try_get("device_id")?,
                status: status(&s)?,
                timestamp: r.try_get("timestamp")?,
                log: r.try_get("log")?,
                collection_duration_ms: r.try_get("collection_duration_ms")?,
            })
        })
        .transpose()
    }

    /// The id of the stored backup of a job, if recorded.
    pub async fn stored_backup_id_by_task(
        &self,
        task_identifier: &str,
    ) -> Result<Option<i64>, DbError> {
        let row = sqlx::query("SELECT id FROM stored_backups WHERE task_identifier = $1")
            .bind(task_identifier)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    /// The stored version of the same device just before `backup` (by
    /// time, then id), skipping failed stores.
    pub async fn previous_stored_backup(
        &self,
        device_id: i64,
        timestamp: &str,
        id: i64,
    ) -> Result<Option<i64>, DbError> {
        let row = sqlx::query(
            "SELECT id FROM stored_backups WHERE device_id = $1 AND status = 'success' \
             AND (timestamp < $2 OR (timestamp = $2 AND id < $3)) \
             ORDER BY timestamp DESC, id DESC LIMIT 1",
        )
        .bind(device_id)
        .bind(timestamp)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    /// Sets a user's role.
    pub async fn set_user_role(
        &self,
        id: i64,
        role: devicevault_core::Role,
    ) -> Result<(), DbError> {
        let done = sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(not_found(format!("user {id}")));
        }
        Ok(())
    }
}
