//! The device-results consumer: records each collection outcome
//! (`DeviceBackupResult`) and, for a success, sends `storage.store` to the
//! queue of the device's backup location (`storage.git` / `storage.fs`).

use std::sync::Arc;

use devicevault_core::bus::{StreamEntry, Task, TaskBus};
use devicevault_core::{DeviceResult, RelPath, Status, StorageBackendKind, StorageRef, StoreTask};
use devicevault_db::{Db, DbError, Device, JobState, JobTarget, NewDeviceResult};

use super::{HandleError, new_task_id};
use crate::Settings;

/// The task name of a store.
pub const STORE_TASK: &str = "storage.store";

/// What the consumer needs.
#[derive(Debug, Clone)]
pub struct DeviceResults<B> {
    pub db: Db,
    pub bus: B,
    pub settings: Arc<Settings>,
}

/// Where a backup of `device` goes in a location of `kind`: git keeps one
/// file per device (its history is the device's history), fs one file per
/// backup.
pub fn rel_path_for(
    kind: StorageBackendKind,
    device: &Device,
    task_identifier: &str,
) -> Result<RelPath, String> {
    let file = match kind {
        StorageBackendKind::Git => {
            format!("{}.cfg", RelPath::sanitize_segment(&device.fields.name))
        }
        StorageBackendKind::Fs => format!("{}.txt", RelPath::sanitize_segment(task_identifier)),
    };
    RelPath::parse(&format!("{}/{file}", device.id)).map_err(|e| e.to_string())
}

fn db_error(e: DbError) -> HandleError {
    HandleError::from_class(e)
}

/// The last error message of a log, the reason a person reads first.
pub fn failure_reason(log: &[devicevault_core::LogEntry]) -> String {
    log.iter()
        .rev()
        .find(|e| e.severity == devicevault_core::Severity::Error)
        .or(log.last())
        .map(|e| e.message.clone())
        .unwrap_or_else(|| "failed without a log".into())
}

/// Consumes the results stream as `consumer` until `shutdown`.
pub async fn run<B: TaskBus, L: devicevault_core::bus::ResultLog>(
    c: DeviceResults<B>,
    log: L,
    consumer: &str,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let stream = super::StreamConsumer::new(log, &c.settings.results_stream, consumer, &c.settings);
    super::consume_stream(stream, shutdown, move |entry| {
        let c = c.clone();
        async move { c.handle(entry).await }
    })
    .await;
}

impl<B: TaskBus> DeviceResults<B> {
    /// Handles one stream entry; idempotent, so a replay changes nothing.
    pub async fn handle(&self, entry: StreamEntry) -> Result<(), HandleError> {
        let result = match DeviceResult::from_fields(&entry.fields) {
            Ok(r) => r,
            Err(e) => {
                let reason = format!("malformed collection result: {e}");
                if let Some(ti) = entry.fields.get("task_identifier") {
                    self.db
                        .advance_job(ti, JobState::Failed, Some(&reason))
                        .await
                        .map_err(db_error)?;
                }
                return Err(HandleError::permanent(reason));
            }
        };
        let ti = result.task_identifier.as_str();
        let log = serde_json::to_string(&result.log).expect("log entries serialize");
        self.db
            .record_device_result(&NewDeviceResult {
                task_id: result.task_id.clone(),
                task_identifier: result.task_identifier.clone(),
                device_id: result.device_id,
                status: result.status,
                timestamp: result.timestamp,
                log,
                collection_duration_ms: i64::try_from(result.collection_duration_ms)
                    .unwrap_or(i64::MAX),
            })
            .await
            .map_err(db_error)?;
        if result.status == Status::Failure {
            let reason = failure_reason(&result.log);
            self.db
                .advance_job(ti, JobState::Failed, Some(&reason))
                .await
                .map_err(db_error)?;
            tracing::info!(device_id = result.device_id, task_identifier = ti, reason = %reason, "Collection failed; no storage task");
            return Ok(());
        }
        match self.db.job(ti).await {
            Ok(job) if job.state.is_final() => return Ok(()),
            Ok(_) | Err(DbError::NotFound { .. }) => {}
            Err(e) => return Err(db_error(e)),
        }
        self.db
            .advance_job(ti, JobState::Collected, None)
            .await
            .map_err(db_error)?;
        match self.dispatch_store(&result).await {
            Ok(()) => Ok(()),
            Err(e) if e.retry == devicevault_core::Retry::Permanent => {
                self.db
                    .advance_job(ti, JobState::Failed, Some(&e.reason))
                    .await
                    .map_err(db_error)?;
                tracing::error!(device_id = result.device_id, task_identifier = ti, reason = %e.reason, "cannot store the backup");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Where the location holds the device's previous version, when that is
    /// not `rel_path` (the device was renamed since): the path of its newest
    /// successful stored backup there. Only git keeps one file per device;
    /// an fs backup is a file of its own, so nothing ever moves there.
    async fn previous_rel_path(
        &self,
        device: &Device,
        location_id: i64,
        kind: StorageBackendKind,
        rel_path: &RelPath,
    ) -> Result<Option<RelPath>, HandleError> {
        if kind != StorageBackendKind::Git {
            return Ok(None);
        }
        let Some(latest) = self
            .db
            .latest_stored_backup(device.id, location_id)
            .await
            .map_err(db_error)?
        else {
            return Ok(None);
        };
        if latest.storage_backend != kind {
            return Ok(None);
        }
        let previous = match StorageRef::parse(kind, &latest.storage_ref) {
            Ok(r) => r.path().clone(),
            Err(e) => {
                tracing::warn!(device_id = device.id, stored_backup = latest.id, error = %e, "the latest stored backup's ref does not parse; storing without a move");
                return Ok(None);
            }
        };
        // A file outside the device's directory (stored by another
        // producer) is never the device's to move.
        Ok(
            (&previous != rel_path && previous.is_under(&device.id.to_string()))
                .then_some(previous),
        )
    }

    async fn dispatch_store(&self, result: &DeviceResult) -> Result<(), HandleError> {
        let ti = result.task_identifier.as_str();
        let device = self.db.device(result.device_id).await.map_err(db_error)?;
        let location_id = device.fields.backup_location.ok_or_else(|| {
            HandleError::permanent(format!(
                "device {} has no backup location; nothing stored",
                device.id
            ))
        })?;
        let location = self.db.location(location_id).await.map_err(db_error)?;
        let kind = location.location_type;
        let rel_path = rel_path_for(kind, &device, ti).map_err(HandleError::permanent)?;
        let previous = self
            .previous_rel_path(&device, location.id, kind, &rel_path)
            .await?;
        let content = result.content().map_err(HandleError::permanent)?;
        self.db
            .set_job_target(
                ti,
                JobTarget {
                    location_id: Some(location.id),
                    is_binary: result.is_binary,
                },
            )
            .await
            .map_err(db_error)?;
        let task_id = new_task_id();
        let mut task = StoreTask::new(
            task_id.clone(),
            result.task_identifier.clone(),
            device.id,
            kind,
            location.config.clone(),
            Some(rel_path),
            &content,
            result.is_binary,
        )
        .map_err(HandleError::permanent)?;
        if let Some(previous) = previous {
            tracing::info!(
                device_id = device.id,
                task_identifier = ti,
                from = %previous,
                "the device's file moved (renamed); the store moves it in the same commit"
            );
            task.storage_previous_rel_path = Some(previous);
        }
        let body = serde_json::to_value(&task).expect("a store task serializes");
        let queue = kind.queue();
        self.bus
            .publish(queue, Task::with_arg(task_id, STORE_TASK, body))
            .await
            .map_err(HandleError::from_class)?;
        tracing::info!(
            storage_backend = kind.as_str(),
            device_id = device.id,
            task_identifier = ti,
            queue,
            "Storage task queued on {queue}"
        );
        Ok(())
    }
}
