//! What a fleet search reads from the database: for each device a user
//! may see and asked for, the stored backup to search (its latest
//! successful one, or the one it had at a given time). The content itself
//! comes from storage or the API's cache; the database is the authority on
//! which version is the one to search.

use sqlx::{AssertSqlSafe, Row as _};

use crate::backups::{STORED_COLUMNS, stored_backup};
use crate::{Db, DbError, Scope, StoredBackup};

/// Which devices a search covers, besides the user's scope. Archived
/// devices are never searched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilter {
    pub device_group: Option<i64>,
    pub device_type: Option<i64>,
    /// The driver's name.
    pub driver: Option<String>,
    /// The device's backup location.
    pub location: Option<i64>,
    /// Each device's version at this time (RFC 3339 text as stored)
    /// instead of its latest.
    pub as_of: Option<String>,
}

/// A device to search and the version of it to search (`stored.log` is
/// left out: `"[]"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTarget {
    pub device_id: i64,
    pub device_name: String,
    pub driver: String,
    pub stored: StoredBackup,
}

impl Db {
    /// The devices in `scope` matching `filter` that have a successful
    /// stored backup (at `filter.as_of`, when given), each with that
    /// backup, ordered by device id. One query; each device's version is
    /// found through the `(device_id, timestamp, id)` index.
    pub async fn search_targets(
        &self,
        scope: &Scope,
        filter: &SearchFilter,
    ) -> Result<Vec<SearchTarget>, DbError> {
        // SQLite numbers `$n` by first use: parameters in text order.
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        let as_of = filter
            .as_of
            .as_ref()
            .map(|_| format!("AND v.timestamp <= {}", next()));
        let mut conditions = vec![
            "d.archived_at IS NULL".to_owned(),
            scope.on_group("d.device_group_id"),
        ];
        if filter.device_group.is_some() {
            conditions.push(format!("d.device_group_id = {}", next()));
        }
        if filter.device_type.is_some() {
            conditions.push(format!("d.device_type_id = {}", next()));
        }
        if filter.driver.is_some() {
            conditions.push(format!("d.driver = {}", next()));
        }
        if filter.location.is_some() {
            conditions.push(format!("d.backup_location_id = {}", next()));
        }
        // Every column of the version but its log, which no search reads:
        // a refresh lists every device's latest version, and at 100,000
        // devices their logs were some 200 MB a refresh (issue 21).
        let columns: Vec<String> = STORED_COLUMNS
            .split(',')
            .map(|c| match c.trim() {
                "log" => "'[]' AS log".to_owned(),
                c => format!("s.{c}"),
            })
            .collect();
        let sql = format!(
            "SELECT d.id AS dv_id, d.name AS dv_name, d.driver AS dv_driver, {columns} \
             FROM devices d JOIN stored_backups s ON s.id = ( \
                 SELECT v.id FROM stored_backups v \
                 WHERE v.device_id = d.id AND v.status = 'success' {as_of} \
                 ORDER BY v.timestamp DESC, v.id DESC LIMIT 1) \
             WHERE {conditions} ORDER BY d.id",
            columns = columns.join(", "),
            as_of = as_of.unwrap_or_default(),
            conditions = conditions.join(" AND "),
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(t) = &filter.as_of {
            q = q.bind(t.clone());
        }
        for id in [filter.device_group, filter.device_type]
            .into_iter()
            .flatten()
        {
            q = q.bind(id);
        }
        if let Some(d) = &filter.driver {
            q = q.bind(d.clone());
        }
        if let Some(l) = filter.location {
            q = q.bind(l);
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(SearchTarget {
                    device_id: r.try_get("dv_id")?,
                    device_name: r.try_get("dv_name")?,
                    driver: r.try_get("dv_driver")?,
                    stored: stored_backup(r)?,
                })
            })
            .collect()
    }
}

impl Db {
    /// The successful stored backup of `device_id` that was its latest at
    /// `at` (RFC 3339 text as stored; `None`: now), if any.
    pub async fn stored_backup_at(
        &self,
        device_id: i64,
        at: Option<&str>,
    ) -> Result<Option<StoredBackup>, DbError> {
        let until = if at.is_some() {
            "AND timestamp <= $2"
        } else {
            ""
        };
        let mut q = sqlx::query(AssertSqlSafe(format!(
            "SELECT {STORED_COLUMNS} FROM stored_backups \
             WHERE device_id = $1 AND status = 'success' {until} \
             ORDER BY timestamp DESC, id DESC LIMIT 1"
        )))
        .bind(device_id);
        if let Some(at) = at {
            q = q.bind(at.to_owned());
        }
        let row = q.fetch_optional(self.pool()).await?;
        row.as_ref().map(stored_backup).transpose()
    }
}
