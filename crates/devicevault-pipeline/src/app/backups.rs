//! "Backup now" for a person: the one place that decides whether a device
//! may be backed up by this user and answers why not.

use devicevault_db::{DbError, Scope};

use super::App;
use crate::roles::dispatcher::{Accepted, DispatchError};

/// Why "backup now" was refused.
#[derive(Debug, thiserror::Error)]
pub enum BackupNowError {
    /// No such device, or not one this user may see (the two look alike).
    #[error("device {0} not found")]
    NotFound(i64),
    /// Archived devices are not backed up until restored.
    #[error("device {0} is archived; restore it to back it up")]
    Archived(i64),
    /// The device cannot be backed up as configured (disabled, no
    /// credential, no location).
    #[error("{0}")]
    NotReady(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Accepts a backup of `device_id` for a user of `scope`: a new job, or the
/// one already queued or collecting for the device (single-flight).
pub async fn backup_now(
    app: &App,
    scope: &Scope,
    device_id: i64,
) -> Result<Accepted, BackupNowError> {
    if !app.db.device_in_scope(scope, device_id).await? {
        return Err(BackupNowError::NotFound(device_id));
    }
    let device = match app.db.device(device_id).await {
        Ok(d) => d,
        Err(DbError::NotFound { .. }) => return Err(BackupNowError::NotFound(device_id)),
        Err(e) => return Err(e.into()),
    };
    if device.archived_at.is_some() {
        return Err(BackupNowError::Archived(device_id));
    }
    match app.pipeline.backup_now(&device).await {
        Ok(a) => Ok(a),
        Err(DispatchError::NotReady(reason)) => Err(BackupNowError::NotReady(reason)),
        Err(DispatchError::Db(e)) => Err(e.into()),
    }
}

/// The filter parameters of the backup results (`GET /api/backup-results/`
/// and the web page `/results`).
pub const RESULT_PARAMS: &[&str] = &["device", "outcome", "since", "until"];

/// The backup results' filter from request parameters (blank values are
/// absent), or the errors by field: one validator for the API and the web.
pub fn result_filter(
    get: impl Fn(&str) -> Option<String>,
) -> Result<devicevault_db::ResultFilter, super::inventory::FieldErrors> {
    let mut errors = super::inventory::FieldErrors::default();
    let text = |name: &str| {
        get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let device = text("device").and_then(|v| match v.parse::<i64>() {
        Ok(id) => Some(id),
        Err(_) => {
            errors.add("device", format!("{v:?} is not a device id"));
            None
        }
    });
    let outcome = text("outcome").and_then(|v| match v.parse() {
        Ok(o) => Some(o),
        Err(e) => {
            errors.add("outcome", e);
            None
        }
    });
    let (since, until) = super::time_range::since_until(&get, &mut errors);
    errors.or(devicevault_db::ResultFilter {
        device,
        outcome,
        since,
        until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_results_filter_names_each_bad_field() {
        let f = result_filter(params(&[
            ("device", " 7 "),
            ("outcome", "failed"),
            ("since", "2026-03-01T22:00"),
            ("until", "2026-03-02"),
        ]))
        .unwrap();
        assert_eq!(f.device, Some(7));
        assert_eq!(f.outcome, Some(devicevault_db::Outcome::Failed));
        assert_eq!(f.since.unwrap().to_string(), "2026-03-01T22:00:00.000Z");
        assert_eq!(f.until.unwrap().to_string(), "2026-03-03T00:00:00.000Z");
        let e = result_filter(params(&[
            ("device", "r1"),
            ("outcome", "broken"),
            ("since", "2026-03-02"),
            ("until", "2026-03-01"),
        ]))
        .unwrap_err();
        assert_eq!(e.of("device").count(), 1);
        assert_eq!(e.of("outcome").count(), 1);
        assert_eq!(e.of("until").next(), Some("must be after since"));
        assert_eq!(
            result_filter(params(&[("outcome", "")])).unwrap(),
            devicevault_db::ResultFilter::default()
        );
    }
}
