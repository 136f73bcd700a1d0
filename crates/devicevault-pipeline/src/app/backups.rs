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
