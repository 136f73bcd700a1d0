//! What engineers ask of the backup index: a device's distinct versions
//! (its history as configurations, not as backups) and the backup results
//! of a time range, by outcome and device.
//!
//! A **distinct version** starts at a successful stored backup whose
//! content changed (`changed` true, or unknown), or at the device's first
//! successful one; the unchanged successful backups after it, up to the next
//! change, confirm it. Failed stores neither start nor end a version. Each
//! page is one query: the page of starts walks the
//! `(device_id, timestamp, id, status, changed)` index newest first, and
//! each start's confirmations are counted over its own span of that index,
//! so a page costs about the backups it spans, not the device's history.
//!
//! A **result** is a collection outcome with what became of it: `stored`
//! (its backup was stored), `failed` (collection, storage or the job
//! failed) or `pending` (collected, not stored yet). The dashboard counts
//! through [`Db::count_backup_results`], the very filter of the list it
//! links to, so a card's count is the list's row count.

use std::fmt;
use std::str::FromStr;

use devicevault_core::{Status, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};

use crate::inventory::check_page;
use crate::{Db, DbError, DeviceBackupResult, Listed, Page, Scope, StoredBackup};

/// One distinct configuration of a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The stored backup that first held this configuration; its timestamp
    /// is when the version was first seen.
    pub stored: StoredBackup,
    /// The newest successful backup that found this configuration (the
    /// first one's time when no later backup confirmed it).
    pub last_confirmed: String,
    /// How many successful backups found this configuration, the first
    /// one included (so at least 1).
    pub confirmations: i64,
    /// The first stored backup of the version before this one.
    pub previous: Option<i64>,
}

/// What became of a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Its backup was stored.
    Stored,
    /// The collection, its storage or its job failed.
    Failed,
    /// Collected, not stored (yet).
    Pending,
}

impl Outcome {
    pub const ALL: [Self; 3] = [Self::Stored, Self::Failed, Self::Pending];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Failed => "failed",
            Self::Pending => "pending",
        }
    }

    /// The SQL condition on `r` (result) that selects this outcome: the
    /// result's `outcome` column (migration 0030), kept by the
    /// transactions that record the result, its stored backup and its
    /// job's failure, so the three are disjoint and a count is one range
    /// of the `(outcome, timestamp, id)` index.
    fn condition(self) -> &'static str {
        match self {
            Self::Stored => "r.outcome = 'stored'",
            Self::Failed => "r.outcome = 'failed'",
            Self::Pending => "r.outcome = 'pending'",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Outcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not one of stored, failed, pending"))
    }
}

/// Which results to list. Times compare with the collection's timestamp.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultFilter {
    pub device: Option<i64>,
    pub outcome: Option<Outcome>,
    /// From this time on (inclusive).
    pub since: Option<Timestamp>,
    /// Before this time (exclusive).
    pub until: Option<Timestamp>,
}

/// A collection outcome with its device's name and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRow {
    pub result: DeviceBackupResult,
    pub device_name: String,
    pub outcome: Outcome,
    /// The stored backup, once the storage worker reported.
    pub stored_id: Option<i64>,
    pub changed: Option<bool>,
    /// The job's failure reason, when it failed.
    pub reason: Option<String>,
    /// Whether a collection happened: false for a job that failed before
    /// any (archived device, never picked up after its last dispatch);
    /// then `result` is the job's — its id, its failure time, an empty log.
    pub collected: bool,
}

/// The successful backups of the device of `v` from `v` on, before the
/// next version (`v.next_ts`, `v.next_key`: a bound past every backup when
/// there is none). Row values, so that each span is one range of the
/// index on both engines.
const SPAN: &str = "c.device_id = v.device_id \
     AND (c.timestamp, c.id) >= (v.timestamp, v.id) AND (c.timestamp, c.id) < (v.next_ts, v.next_key) \
     AND c.status = 'success'";

/// Whether the stored backup `alias` starts a version: a change (or an
/// unknown), or the device's first success (`first`, a scalar subquery).
fn starts(alias: &str, first: &str) -> String {
    format!(
        "{alias}.status = 'success' AND ({alias}.changed IS NULL OR {alias}.changed <> 0 OR {alias}.id = {first})"
    )
}

/// The device's first successful stored backup, for a device id `device`.
fn first_success(device: &str) -> String {
    format!(
        "(SELECT f.id FROM stored_backups f WHERE f.device_id = {device} AND f.status = 'success' \
         ORDER BY f.timestamp, f.id LIMIT 1)"
    )
}

/// The FROM and WHERE of the results matching `f`, and how many parameters
/// they take; with the device's name (`d`) for a page, without for a count.
/// The second part, when the filter can match a failure, is the FROM and
/// WHERE of the jobs that failed without any collection (`j`), on the same
/// parameters: they are results too, or "what failed last night" would
/// miss a device that was never reached.
fn results_from(f: &ResultFilter, scope: &Scope, names: bool) -> (String, Option<String>, usize) {
    let mut conditions = vec![scope.on_device("r.device_id")];
    let mut jobs = vec![
        "j.state = 'failed'".to_owned(),
        scope.on_device("j.device_id"),
        "NOT EXISTS (SELECT 1 FROM device_backup_results x WHERE x.task_identifier = j.task_identifier)"
            .to_owned(),
    ];
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    // SQLite numbers `$n` by first use: the conditions come in binding
    // order, and the jobs' reuse the same numbers.
    if f.device.is_some() {
        let p = next();
        conditions.push(format!("r.device_id = {p}"));
        jobs.push(format!("j.device_id = {p}"));
    }
    if f.since.is_some() {
        let p = next();
        conditions.push(format!("r.timestamp >= {p}"));
        jobs.push(format!("j.updated_at >= {p}"));
    }
    if f.until.is_some() {
        let p = next();
        conditions.push(format!("r.timestamp < {p}"));
        jobs.push(format!("j.updated_at < {p}"));
    }
    if let Some(o) = f.outcome {
        conditions.push(o.condition().into());
    }
    let device = |alias: &str| {
        if names {
            format!("JOIN devices d ON d.id = {alias}.device_id")
        } else {
            String::new()
        }
    };
    let failed_jobs = matches!(f.outcome, None | Some(Outcome::Failed)).then(|| {
        format!(
            "FROM backup_jobs j {} WHERE {}",
            device("j"),
            jobs.join(" AND ")
        )
    });
    // The stored backup and the job are needed to show a result (its
    // stored version, the job's reason), never to count or filter.
    let fates = if names {
        "LEFT JOIN stored_backups s ON s.task_identifier = r.task_identifier \
         LEFT JOIN backup_jobs jb ON jb.task_identifier = r.task_identifier"
    } else {
        ""
    };
    (
        format!(
            "FROM device_backup_results r {} {fates} WHERE {}",
            device("r"),
            conditions.join(" AND ")
        ),
        failed_jobs,
        n,
    )
}

fn bind_filter<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    f: &ResultFilter,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    if let Some(d) = f.device {
        q = q.bind(d);
    }
    if let Some(t) = f.since {
        q = q.bind(t.to_string());
    }
    if let Some(t) = f.until {
        q = q.bind(t.to_string());
    }
    q
}

fn result_row(r: &AnyRow) -> Result<ResultRow, DbError> {
    let parse = |s: &str| s.parse::<Status>().map_err(DbError::Invalid);
    let status: String = r.try_get("status")?;
    let collection = parse(&status)?;
    let outcome: String = r.try_get("outcome")?;
    let outcome = outcome.parse::<Outcome>().map_err(DbError::Invalid)?;
    Ok(ResultRow {
        result: DeviceBackupResult {
            id: r.try_get("id")?,
            task_id: r.try_get("task_id")?,
            task_identifier: r.try_get("task_identifier")?,
            device_id: r.try_get("device_id")?,
            status: collection,
            timestamp: r.try_get("timestamp")?,
            log: r.try_get("log")?,
            collection_duration_ms: r.try_get("collection_duration_ms")?,
        },
        device_name: r.try_get("device_name")?,
        outcome,
        stored_id: r.try_get("stored_id")?,
        changed: r.try_get::<Option<i64>, _>("changed")?.map(|v| v != 0),
        reason: r.try_get("reason")?,
        collected: r.try_get::<i64, _>("collected")? != 0,
    })
}

impl Db {
    /// A device's distinct versions, newest first, with the number of
    /// versions (see the module's documentation).
    pub async fn device_versions(
        &self,
        device_id: i64,
        scope: &Scope,
        page: Page,
    ) -> Result<Listed<Version>, DbError> {
        check_page(page)?;
        let in_scope = scope.on_device("device_id");
        let columns = crate::backups::STORED_COLUMNS;
        let first = first_success("$1");
        let is_start = starts("stored_backups", &first);
        // Each step is materialised: inlined, the next version's bound
        // would be looked up again for every backup each span counts.
        let sql = format!(
            "WITH page AS MATERIALIZED (\
               SELECT {columns}, {first} AS first_id FROM stored_backups \
               WHERE device_id = $1 AND {is_start} AND {in_scope} \
               ORDER BY timestamp DESC, id DESC LIMIT $2 OFFSET $3), \
             bounded AS MATERIALIZED (\
               SELECT s.*, (SELECT n.id FROM stored_backups n WHERE n.device_id = s.device_id \
                  AND n.status = 'success' AND (n.changed IS NULL OR n.changed <> 0) \
                  AND (n.timestamp, n.id) > (s.timestamp, s.id) \
                  ORDER BY n.timestamp, n.id LIMIT 1) AS next_id FROM page s), \
             spans AS MATERIALIZED (\
               SELECT b.*, COALESCE(nx.timestamp, '9999-12-31T23:59:59.999Z') AS next_ts, \
                 COALESCE(b.next_id, 0) AS next_key \
               FROM bounded b LEFT JOIN stored_backups nx ON nx.id = b.next_id) \
             SELECT v.*, \
               (SELECT COUNT(*) FROM stored_backups c WHERE {SPAN}) AS confirmations, \
               (SELECT MAX(c.timestamp) FROM stored_backups c WHERE {SPAN}) AS last_confirmed, \
               (SELECT p.id FROM stored_backups p WHERE p.device_id = v.device_id AND {prev_start} \
                  AND (p.timestamp, p.id) < (v.timestamp, v.id) \
                  ORDER BY p.timestamp DESC, p.id DESC LIMIT 1) AS previous_version \
             FROM spans v ORDER BY v.timestamp DESC, v.id DESC",
            prev_start = starts("p", "v.first_id"),
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(device_id)
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(self.pool())
            .await?;
        let total = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM stored_backups WHERE device_id = $1 AND {is_start} AND {in_scope}"
        )))
        .bind(device_id)
        .fetch_one(self.pool())
        .await?
        .try_get("n")?;
        let rows = rows
            .iter()
            .map(|r| {
                Ok(Version {
                    stored: crate::backups::stored_backup(r)?,
                    last_confirmed: r.try_get("last_confirmed")?,
                    confirmations: r.try_get("confirmations")?,
                    previous: r.try_get("previous_version")?,
                })
            })
            .collect::<Result<_, DbError>>()?;
        Ok(Listed { rows, total })
    }

    /// The first stored backup of the version before the one that holds
    /// stored backup `id` (of `device_id`, at `timestamp`): what "compare
    /// with previous" compares a backup with, so that an unchanged backup
    /// is not compared with its identical predecessor.
    pub async fn previous_version(
        &self,
        device_id: i64,
        timestamp: &str,
        id: i64,
    ) -> Result<Option<i64>, DbError> {
        let first = first_success("$1");
        // The version holding `id` starts at the newest start at or before
        // it; the previous version at the newest start before that.
        let holding = format!(
            "(SELECT h.id FROM stored_backups h WHERE h.device_id = $1 AND {} \
             AND (h.timestamp, h.id) <= ($2, $3) \
             ORDER BY h.timestamp DESC, h.id DESC LIMIT 1)",
            starts("h", &first)
        );
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT p.id FROM stored_backups p JOIN stored_backups v ON v.id = {holding} \
             WHERE p.device_id = $1 AND {} \
             AND (p.timestamp, p.id) < (v.timestamp, v.id) \
             ORDER BY p.timestamp DESC, p.id DESC LIMIT 1",
            starts("p", &first)
        )))
        .bind(device_id)
        .bind(timestamp)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    /// Collection outcomes matching `f`, newest first, with the number of
    /// them (counted by [`Db::count_backup_results`]).
    pub async fn backup_results(
        &self,
        f: &ResultFilter,
        scope: &Scope,
        page: Page,
    ) -> Result<Listed<ResultRow>, DbError> {
        let rows = self.result_rows(f, scope, page).await?;
        let total = self.count_backup_results(f, scope).await?;
        Ok(Listed { rows, total })
    }

    /// The rows of one page of [`Db::backup_results`] without their count:
    /// what a list that shows no total (the dashboard's newest results)
    /// reads, in time that does not grow with the results before it.
    pub async fn result_rows(
        &self,
        f: &ResultFilter,
        scope: &Scope,
        page: Page,
    ) -> Result<Vec<ResultRow>, DbError> {
        check_page(page)?;
        let (from, failed_jobs, n) = results_from(f, scope, true);
        // A compound ordered by the index order of both sides, so each
        // engine merges two index walks instead of sorting.
        let jobs = failed_jobs
            .map(|from| {
                format!(
                    " UNION ALL SELECT j.id AS id, j.task_id, j.task_identifier, j.device_id, \
                     'failure' AS status, j.updated_at AS timestamp, '[]' AS log, \
                     CAST(0 AS BIGINT) AS collection_duration_ms, d.name AS device_name, \
                     NULL AS stored_id, 'failed' AS outcome, NULL AS changed, \
                     j.reason, CAST(0 AS BIGINT) AS collected {from}"
                )
            })
            .unwrap_or_default();
        let sql = format!(
            "SELECT r.id AS id, r.task_id, r.task_identifier, r.device_id, r.status, r.timestamp AS timestamp, r.log, \
             r.collection_duration_ms, d.name AS device_name, s.id AS stored_id, r.outcome, \
             s.changed, jb.reason, CAST(1 AS BIGINT) AS collected \
             {from}{jobs} ORDER BY timestamp DESC, id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let rows = bind_filter(sqlx::query(AssertSqlSafe(sql)), f)
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(result_row).collect()
    }

    /// Stored and failed results per UTC day since `since`, oldest first
    /// (days without any are absent): the results list's outcomes, counted
    /// as [`Db::count_backup_results`] counts them, so a day's bar holds
    /// what the list of that day and outcome shows.
    ///
    /// An administrator's (every device's) days are read from the hourly
    /// counts of migration 0036, a few rows an hour, and only the part of
    /// `since`'s hour after it from the results themselves.
    pub async fn outcomes_per_day(
        &self,
        since: Timestamp,
        scope: &Scope,
    ) -> Result<Vec<crate::dashboard::DayOutcomes>, DbError> {
        let mut f = ResultFilter {
            since: Some(since),
            ..ResultFilter::default()
        };
        if !matches!(scope, Scope::Admin) {
            return self.outcomes_per_day_of_rows(&f, scope).await;
        }
        let whole = next_whole_hour(since);
        let mut days = std::collections::BTreeMap::<String, (i64, i64)>::new();
        if whole > since {
            f.until = Some(whole);
            for d in self.outcomes_per_day_of_rows(&f, scope).await? {
                days.insert(d.day, (d.succeeded, d.failed));
            }
        }
        let rows = sqlx::query(
            "SELECT SUBSTR(hour, 1, 10) AS day, \
             CAST(COALESCE(SUM(CASE WHEN kind = 'stored' THEN n END), 0) AS BIGINT) AS ok, \
             CAST(COALESCE(SUM(CASE WHEN kind IN ('failed', 'failed_job') THEN n END), 0) AS BIGINT) AS ko \
             FROM outcome_hours WHERE hour >= $1 GROUP BY SUBSTR(hour, 1, 10)",
        )
        .bind(hour_key(whole))
        .fetch_all(self.pool())
        .await?;
        for r in &rows {
            let day = days.entry(r.try_get("day")?).or_default();
            day.0 += r.try_get::<i64, _>("ok")?;
            day.1 += r.try_get::<i64, _>("ko")?;
        }
        Ok(days
            .into_iter()
            .filter(|(_, (ok, ko))| ok + ko > 0)
            .map(|(day, (succeeded, failed))| crate::dashboard::DayOutcomes {
                day,
                succeeded,
                failed,
            })
            .collect())
    }

    /// [`Db::outcomes_per_day`] counted from the result and job rows of
    /// `f`'s time range.
    async fn outcomes_per_day_of_rows(
        &self,
        f: &ResultFilter,
        scope: &Scope,
    ) -> Result<Vec<crate::dashboard::DayOutcomes>, DbError> {
        let (from, failed_jobs, _) = results_from(f, scope, false);
        let jobs = failed_jobs
            .map(|from| {
                format!(
                    " UNION ALL SELECT SUBSTR(j.updated_at, 1, 10) AS day, 0 AS ok, 1 AS ko {from}"
                )
            })
            .unwrap_or_default();
        let sql = format!(
            "SELECT day, CAST(SUM(ok) AS BIGINT) AS ok, CAST(SUM(ko) AS BIGINT) AS ko FROM (\
               SELECT SUBSTR(r.timestamp, 1, 10) AS day, \
                 CASE WHEN r.outcome = 'stored' THEN 1 ELSE 0 END AS ok, \
                 CASE WHEN r.outcome = 'failed' THEN 1 ELSE 0 END AS ko \
               {from}{jobs}\
             ) x GROUP BY day HAVING SUM(ok) + SUM(ko) > 0 ORDER BY day"
        );
        let rows = bind_filter(sqlx::query(AssertSqlSafe(sql)), f)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(crate::dashboard::DayOutcomes {
                    day: r.try_get("day")?,
                    succeeded: r.try_get("ok")?,
                    failed: r.try_get("ko")?,
                })
            })
            .collect()
    }

    /// How many collection outcomes match `f`: the row count of
    /// [`Db::backup_results`] with the same filter, and the dashboard's
    /// counts.
    pub async fn count_backup_results(
        &self,
        f: &ResultFilter,
        scope: &Scope,
    ) -> Result<i64, DbError> {
        let (from, failed_jobs, _) = results_from(f, scope, false);
        let jobs = failed_jobs
            .map(|from| format!(" + (SELECT COUNT(*) {from})"))
            .unwrap_or_default();
        let q = sqlx::query(AssertSqlSafe(format!(
            "SELECT (SELECT COUNT(*) {from}){jobs} AS n"
        )));
        Ok(bind_filter(q, f)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?)
    }

    /// What the dashboard's cards count since `since`: the results lists'
    /// counts of stored and failed outcomes (as [`Db::count_backup_results`]
    /// counts them), and the collections with their total duration.
    ///
    /// An administrator's (every device's) are read from the hourly counts
    /// of migration 0036, and only the part of `since`'s hour after it from
    /// the results themselves; anyone else's from the rows of their devices.
    pub async fn outcome_totals(
        &self,
        since: Timestamp,
        scope: &Scope,
    ) -> Result<OutcomeTotals, DbError> {
        if !matches!(scope, Scope::Admin) {
            return self.outcome_totals_of_rows(since, None, scope).await;
        }
        let whole = next_whole_hour(since);
        let mut totals = if whole > since {
            self.outcome_totals_of_rows(since, Some(whole), scope)
                .await?
        } else {
            OutcomeTotals::default()
        };
        let rows = sqlx::query(
            "SELECT kind, CAST(SUM(n) AS BIGINT) AS n, CAST(SUM(duration_ms) AS BIGINT) AS ms \
             FROM outcome_hours WHERE hour >= $1 GROUP BY kind",
        )
        .bind(hour_key(whole))
        .fetch_all(self.pool())
        .await?;
        for r in &rows {
            let kind: String = r.try_get("kind")?;
            let n: i64 = r.try_get("n")?;
            match kind.as_str() {
                "stored" => totals.stored += n,
                "failed" | "failed_job" => totals.failed += n,
                _ => {}
            }
            if kind != "failed_job" {
                totals.collections += n;
                totals.duration_ms += r.try_get::<i64, _>("ms")?;
            }
        }
        Ok(totals)
    }

    /// [`Db::outcome_totals`] counted from the result and job rows.
    async fn outcome_totals_of_rows(
        &self,
        since: Timestamp,
        until: Option<Timestamp>,
        scope: &Scope,
    ) -> Result<OutcomeTotals, DbError> {
        let f = |outcome| ResultFilter {
            outcome,
            since: Some(since),
            until,
            ..ResultFilter::default()
        };
        let (from, _, _) = results_from(&f(None), scope, false);
        let collections = bind_filter(
            sqlx::query(AssertSqlSafe(format!(
                "SELECT COUNT(*) AS n, \
                 CAST(COALESCE(SUM(r.collection_duration_ms), 0) AS BIGINT) AS ms {from}"
            ))),
            &f(None),
        )
        .fetch_one(self.pool())
        .await?;
        Ok(OutcomeTotals {
            stored: self
                .count_backup_results(&f(Some(Outcome::Stored)), scope)
                .await?,
            failed: self
                .count_backup_results(&f(Some(Outcome::Failed)), scope)
                .await?,
            collections: collections.try_get("n")?,
            duration_ms: collections.try_get("ms")?,
        })
    }
}

/// The dashboard's counts since a time ([`Db::outcome_totals`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeTotals {
    /// Results whose backup was stored.
    pub stored: i64,
    /// Results that failed, in collection, storage or their job, and failed
    /// jobs with no result.
    pub failed: i64,
    /// Collection results, whatever their outcome.
    pub collections: i64,
    /// Their collection durations, summed.
    pub duration_ms: i64,
}

/// The `outcome_hours` key of `t`'s hour: `YYYY-MM-DDTHH`.
fn hour_key(t: Timestamp) -> String {
    let mut key = t.to_string();
    key.truncate(13);
    key
}

/// `t` when it starts an hour, else the start of the next hour.
fn next_whole_hour(t: Timestamp) -> Timestamp {
    let d = t.as_datetime();
    let start = d
        - time::Duration::seconds(i64::from(d.minute()) * 60 + i64::from(d.second()))
        - time::Duration::nanoseconds(i64::from(d.nanosecond()));
    if start == d {
        t
    } else {
        Timestamp::from_datetime(start + time::Duration::hours(1))
    }
}
