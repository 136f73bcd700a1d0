//! Reading a stored configuration for a person: one path for the API and
//! the web UI (views, downloads, compares).
//!
//! The stored backup is complete and restorable; what a user is shown of
//! it depends on the user. Users without the `view_secrets` permission
//! (administrators have it) get the configuration with the device driver's
//! `[[secrets]]` rules applied — enable secrets, SNMP communities, keys —
//! and the answer says it was masked. A configuration that cannot be
//! masked (binary, or a device whose driver is gone) is refused to them
//! rather than shown whole. Changed-detection and commits never see the
//! masked form: they run in the pipeline on the full content.

use devicevault_collect::Driver;
use devicevault_core::Status;
use devicevault_db::{Db, StoredBackup, User};

use super::App;
use crate::requests::{Pipeline, ReadRequest};

/// Configurations larger than this are offered as a download instead of
/// being rendered in a page.
pub const DISPLAY_CAP: usize = 2 << 20;

/// Why a stored configuration cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum ReadFailure {
    #[error("backup {0} failed to store; there is nothing to read (see its log)")]
    NothingStored(i64),
    #[error("stored backup {0} does not record its location")]
    NoLocation(i64),
    #[error("backup location {id}: {reason}")]
    Location { id: i64, reason: String },
    #[error("the storage worker could not read it: {0}")]
    Storage(String),
    #[error("{0}")]
    CannotMask(String),
}

/// Content as a user may see it.
#[derive(Debug, Clone)]
pub struct Readable {
    pub content: Vec<u8>,
    /// Secrets were replaced by the driver's masks.
    pub masked: bool,
}

/// The full content of a stored backup, through its storage worker.
pub async fn read_stored(app: &App, s: &StoredBackup) -> Result<Vec<u8>, ReadFailure> {
    read_stored_with(&app.db, &*app.pipeline, s).await
}

/// [`read_stored`] for a process without an [`App`] (the scheduler role
/// evaluating compliance): the database and the pipeline are all it needs.
pub async fn read_stored_with(
    db: &Db,
    pipeline: &dyn Pipeline,
    s: &StoredBackup,
) -> Result<Vec<u8>, ReadFailure> {
    if s.status != Status::Success {
        return Err(ReadFailure::NothingStored(s.id));
    }
    let location_id = s.location_id.ok_or(ReadFailure::NoLocation(s.id))?;
    let location = db
        .location(location_id)
        .await
        .map_err(|e| ReadFailure::Location {
            id: location_id,
            reason: e.to_string(),
        })?;
    pipeline
        .read(ReadRequest {
            storage_backend: s.storage_backend,
            storage_config: location.config,
            storage_ref: s.storage_ref.clone(),
            task_identifier: s.task_identifier.clone(),
            is_binary: s.is_binary,
        })
        .await
        .map_err(|e| {
            tracing::warn!(stored_backup = s.id, storage_backend = s.storage_backend.as_str(), task_identifier = %s.task_identifier, error = %e, "retrieval failed");
            ReadFailure::Storage(e.to_string())
        })
}

/// `binary, N bytes, SHA-256 <hex>`: how a binary version is shown
/// wherever a text version would show its lines or its diff.
pub fn binary_summary(s: &StoredBackup) -> String {
    let size = s
        .size
        .map_or_else(|| "? bytes".to_owned(), |n| format!("{n} bytes"));
    format!(
        "binary, {size}, SHA-256 {}",
        s.sha256.as_deref().unwrap_or("unknown")
    )
}

/// The content of a stored backup as `user` may see it.
pub async fn read_for(app: &App, user: &User, s: &StoredBackup) -> Result<Readable, ReadFailure> {
    if user.sees_secrets() {
        return Ok(Readable {
            content: read_stored(app, s).await?,
            masked: false,
        });
    }
    let driver = masking_driver(app, s).await?;
    let content = read_stored(app, s).await?;
    let text = String::from_utf8(content).map_err(|_| {
        ReadFailure::CannotMask(format!(
            "backup {} is not text, so its secrets cannot be masked; an administrator can grant you view_secrets",
            s.id
        ))
    })?;
    Ok(Readable {
        content: mask(&driver, &text).into_bytes(),
        masked: true,
    })
}

/// The driver whose rules mask a backup of its device, or why there is
/// none (checked before anything is read).
async fn masking_driver(
    app: &App,
    s: &StoredBackup,
) -> Result<std::sync::Arc<Driver>, ReadFailure> {
    if s.is_binary {
        return Err(ReadFailure::CannotMask(format!(
            "backup {} is binary, so its secrets cannot be masked; an administrator can grant you view_secrets",
            s.id
        )));
    }
    let device = app
        .db
        .device(s.device_id)
        .await
        .map_err(|e| ReadFailure::CannotMask(format!("device {}: {e}", s.device_id)))?;
    app.drivers.get(&device.fields.driver).map_err(|_| {
        ReadFailure::CannotMask(format!(
            "the driver {:?} of device {} is not installed, so its secret rules are unknown",
            device.fields.driver, s.device_id
        ))
    })
}

/// `text` with the driver's secret rules applied to each line; line ends
/// and everything else are kept byte for byte.
pub fn mask(driver: &Driver, text: &str) -> String {
    if driver.secrets.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        out.push_str(&driver.secrets.apply(body));
        out.push_str(end);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use devicevault_collect::DriverSet;

    #[test]
    fn masking_replaces_secrets_and_keeps_every_other_byte() {
        let drivers = DriverSet::builtin();
        let ios = drivers.get("cisco_ios").unwrap();
        let text =
            "hostname r1\r\nenable secret 5 $1$abc$XYZ\nsnmp-server community S3cr3t RO\nend";
        let m = mask(&ios, text);
        assert!(!m.contains("S3cr3t") && !m.contains("XYZ"), "{m}");
        assert!(m.starts_with("hostname r1\r\n"), "{m}");
        assert!(m.ends_with("\nend"), "{m}");
        assert_eq!(m.lines().count(), 4);
    }
}
