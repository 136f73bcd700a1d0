//! A location's retention as the front ends see it: its one validator,
//! the dry run (what a pass would remove now) and "run now".
//!
//! The dry run and the real pass share their query
//! ([`devicevault_db::Db::retention_candidates`] is the list
//! [`devicevault_db::Db::apply_retention`] deletes), so
//! a dry run followed by a run at the same instant names the same versions.

use std::collections::BTreeMap;

use devicevault_core::Timestamp;
use devicevault_db::retention::MAX_DAYS;
use devicevault_db::{DbError, HistoryPruned, PrunedVersion, Retention};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::App;
use super::inventory::FieldErrors;
use crate::retention::{history_cutoffs, prune_location};

/// The most versions a location may be told to keep per device.
pub const MAX_KEEP_LAST: i64 = 1_000_000;

/// A location's retention as submitted: `null` (or absent) is no limit of
/// that kind; both `null` keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionInput {
    /// Keep this many newest successful versions of each device.
    #[schema(minimum = 1, maximum = 1_000_000)]
    #[serde(default)]
    pub keep_last: Option<i64>,
    /// Keep versions younger than this many days. With `keep_last` too, a
    /// version goes only when both allow it.
    #[schema(minimum = 1, maximum = 36_500)]
    #[serde(default)]
    pub keep_days: Option<i64>,
}

impl RetentionInput {
    /// Each limit, when set, is at least 1 (the newest version is always
    /// kept anyway) and at most [`MAX_KEEP_LAST`] / [`MAX_DAYS`].
    pub fn validate(&self) -> Result<Retention, FieldErrors> {
        let mut e = FieldErrors::default();
        if let Some(n) = self.keep_last
            && !(1..=MAX_KEEP_LAST).contains(&n)
        {
            e.add(
                "keep_last",
                format!("must be between 1 and {MAX_KEEP_LAST}, or empty to keep every version"),
            );
        }
        if let Some(d) = self.keep_days
            && !(1..=MAX_DAYS).contains(&d)
        {
            e.add(
                "keep_days",
                format!("must be between 1 and {MAX_DAYS} days, or empty for no age limit"),
            );
        }
        e.or(Retention {
            keep_last: self.keep_last,
            keep_days: self.keep_days,
        })
    }
}

/// The retention form of the web UI: the same checks on text fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionForm {
    pub keep_last: String,
    pub keep_days: String,
}

impl RetentionForm {
    /// The form of stored settings.
    pub fn of(r: Retention) -> Self {
        let s = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        Self {
            keep_last: s(r.keep_last),
            keep_days: s(r.keep_days),
        }
    }

    /// Parses the fields into a [`RetentionInput`] and validates it.
    pub fn validate(&self) -> Result<Retention, FieldErrors> {
        let mut e = FieldErrors::default();
        let mut number = |field: &'static str, v: &str| match v.trim() {
            "" => None,
            t => match t.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    e.add(field, "a whole number of at least 1, or empty");
                    None
                }
            },
        };
        let input = RetentionInput {
            keep_last: number("keep_last", &self.keep_last),
            keep_days: number("keep_days", &self.keep_days),
        };
        match input.validate() {
            Ok(r) if e.is_empty() => Ok(r),
            Ok(_) => Err(e),
            Err(more) => {
                e.0.extend(more.0);
                Err(e)
            }
        }
    }
}

/// One device's versions that go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DevicePrune {
    pub device_id: i64,
    pub device_name: String,
    /// How many versions.
    pub count: i64,
    /// Their size in bytes.
    pub bytes: i64,
    /// The stored backups, oldest first.
    pub stored_backup_ids: Vec<i64>,
}

/// What a pass removes (or removed) at one location, and the failed results
/// and finished jobs it deletes everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RetentionReport {
    pub location_id: i64,
    /// The location's settings.
    pub keep_last: Option<i64>,
    pub keep_days: Option<i64>,
    /// `true`: nothing was removed (a dry run).
    pub dry_run: bool,
    /// The instant the report is computed at.
    pub at: String,
    /// Versions in all, and their bytes.
    pub versions: i64,
    pub bytes: i64,
    pub devices: Vec<DevicePrune>,
    /// Failed collection results past `retention.failed_results_days`.
    pub failed_results: i64,
    /// Failed storage outcomes past `retention.failed_results_days`.
    pub failed_stored: i64,
    /// Finished jobs past `retention.finished_jobs_days`.
    pub finished_jobs: i64,
}

async fn report(
    app: &App,
    location_id: i64,
    retention: Retention,
    dry_run: bool,
    now: Timestamp,
    gone: &[PrunedVersion],
    history: HistoryPruned,
) -> Result<RetentionReport, DbError> {
    let mut by_device: BTreeMap<i64, DevicePrune> = BTreeMap::new();
    for v in gone {
        let d = by_device.entry(v.device_id).or_insert_with(|| DevicePrune {
            device_id: v.device_id,
            device_name: String::new(),
            count: 0,
            bytes: 0,
            stored_backup_ids: Vec::new(),
        });
        d.count += 1;
        d.bytes += v.size.unwrap_or(0);
        d.stored_backup_ids.push(v.id);
    }
    for d in by_device.values_mut() {
        d.device_name = match app.db.device(d.device_id).await {
            Ok(device) => device.fields.name,
            Err(DbError::NotFound { .. }) => format!("device {}", d.device_id),
            Err(e) => return Err(e),
        };
    }
    let devices: Vec<DevicePrune> = by_device.into_values().collect();
    Ok(RetentionReport {
        location_id,
        keep_last: retention.keep_last,
        keep_days: retention.keep_days,
        dry_run,
        at: now.to_string(),
        versions: devices.iter().map(|d| d.count).sum(),
        bytes: devices.iter().map(|d| d.bytes).sum(),
        devices,
        failed_results: history.failed_results,
        failed_stored: history.failed_stored,
        finished_jobs: history.finished_jobs,
    })
}

/// Sets a location's retention.
pub async fn set(
    app: &App,
    location_id: i64,
    input: &RetentionInput,
) -> Result<Result<Retention, FieldErrors>, DbError> {
    let r = match input.validate() {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    app.db.set_location_retention(location_id, r).await.map(Ok)
}

/// The dry run at `now`: what a pass would remove, nothing removed.
pub async fn dry_run(
    app: &App,
    location_id: i64,
    now: Timestamp,
) -> Result<RetentionReport, DbError> {
    let retention = app.db.location_retention(location_id).await?;
    let gone = app.db.retention_candidates(location_id, now).await?;
    let (failed, jobs) = history_cutoffs(&app.retention, now);
    let history = app.db.prune_history(failed, jobs, true).await?;
    report(app, location_id, retention, true, now, &gone, history).await
}

/// Runs the location's pruning now (and the failed results' and finished
/// jobs'), as the scheduler's pass would; its fs files are removed by the
/// scheduler's next pass after the grace.
pub async fn run_now(
    app: &App,
    location_id: i64,
    now: Timestamp,
) -> Result<RetentionReport, DbError> {
    let retention = app.db.location_retention(location_id).await?;
    let gone = prune_location(&app.db, location_id, now, app.retention.grace).await?;
    let (failed, jobs) = history_cutoffs(&app.retention, now);
    let history = app.db.prune_history(failed, jobs, false).await?;
    report(app, location_id, retention, false, now, &gone, history).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_below_one_or_past_the_maximum_are_refused_by_field() {
        let bad = RetentionInput {
            keep_last: Some(0),
            keep_days: Some(MAX_DAYS + 1),
        };
        let e = bad.validate().unwrap_err();
        assert_eq!(e.of("keep_last").count(), 1);
        assert_eq!(e.of("keep_days").count(), 1);
        let ok = RetentionInput {
            keep_last: Some(3),
            keep_days: None,
        };
        assert_eq!(
            ok.validate().unwrap(),
            Retention {
                keep_last: Some(3),
                keep_days: None
            }
        );
    }

    #[test]
    fn the_form_names_a_field_that_is_not_a_number() {
        let f = RetentionForm {
            keep_last: "three".into(),
            keep_days: " ".into(),
        };
        let e = f.validate().unwrap_err();
        assert_eq!(e.of("keep_last").count(), 1);
        assert_eq!(e.of("keep_days").count(), 0);
        assert_eq!(
            RetentionForm::of(Retention {
                keep_last: None,
                keep_days: Some(30)
            })
            .validate()
            .unwrap(),
            Retention {
                keep_last: None,
                keep_days: Some(30)
            }
        );
    }
}
