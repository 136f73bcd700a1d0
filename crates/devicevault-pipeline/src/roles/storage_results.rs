//! The storage-results consumer: records each storage outcome as a
//! `StoredBackup` row (the authoritative index for retrieval) and finishes
//! the job.

use devicevault_core::bus::StreamEntry;
use devicevault_core::{Operation, Status, StorageResult};
use devicevault_db::{Db, DbError, JobState, NewStoredBackup};

use super::HandleError;
use super::device_results::failure_reason;

/// What the consumer needs.
#[derive(Debug, Clone)]
pub struct StorageResults {
    pub db: Db,
    /// The search cache of this process, told of each new version
    /// (embedded mode; a distributed API process polls the database).
    pub search: Option<std::sync::Arc<crate::app::search::SearchIndex>>,
}

/// Consumes the storage results stream as `consumer` until `shutdown`.
pub async fn run<L: devicevault_core::bus::ResultLog>(
    c: StorageResults,
    log: L,
    settings: &crate::Settings,
    consumer: &str,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let stream =
        super::StreamConsumer::new(log, &settings.storage_results_stream, consumer, settings);
    super::consume_stream(stream, shutdown, move |entry| {
        let c = c.clone();
        async move { c.handle(entry).await }
    })
    .await;
}

impl StorageResults {
    /// Handles one stream entry; idempotent, so a replay changes nothing.
    pub async fn handle(&self, entry: StreamEntry) -> Result<(), HandleError> {
        let r = match StorageResult::from_fields(&entry.fields) {
            Ok(r) => r,
            Err(e) => {
                let reason = format!("malformed storage result: {e}");
                if let Some(ti) = entry.fields.get("task_identifier") {
                    self.db
                        .advance_job(ti, JobState::Failed, Some(&reason))
                        .await
                        .map_err(HandleError::from_class)?;
                }
                return Err(HandleError::permanent(reason));
            }
        };
        if r.operation == Operation::Read {
            // Reads change nothing that the index records.
            return Ok(());
        }
        let ti = r.task_identifier.as_str();
        let target = self
            .db
            .job_target(ti)
            .await
            .map_err(HandleError::from_class)?;
        let location_id = match target.and_then(|t| t.location_id) {
            Some(id) => Some(id),
            // A store we did not dispatch (a Celery client's): the device's
            // location is the best knowledge there is.
            None => match self.db.device(r.device_id).await {
                Ok(d) => d.fields.backup_location,
                Err(DbError::NotFound { .. }) => None,
                Err(e) => return Err(HandleError::from_class(e)),
            },
        };
        let log = serde_json::to_string(&r.log).expect("log entries serialize");
        let inserted = self
            .db
            .record_stored_backup(&NewStoredBackup {
                task_id: r.task_id.clone(),
                task_identifier: r.task_identifier.clone(),
                device_id: r.device_id,
                storage_backend: r.storage_backend,
                storage_ref: r.storage_ref.clone(),
                status: r.status,
                timestamp: r.timestamp,
                log,
                location_id,
                size: r.size.and_then(|s| i64::try_from(s).ok()),
                sha256: r.sha256.clone(),
                changed: r.changed,
                is_binary: target.is_some_and(|t| t.is_binary),
            })
            .await
            .map_err(HandleError::from_class)?;
        let (state, reason) = match r.status {
            Status::Success => (JobState::Stored, None),
            Status::Failure => (JobState::Failed, Some(failure_reason(&r.log))),
        };
        self.db
            .advance_job(ti, state, reason.as_deref())
            .await
            .map_err(HandleError::from_class)?;
        if inserted
            && r.status == Status::Success
            && let Some(search) = &self.search
        {
            search.version_stored();
        }
        if inserted {
            tracing::info!(
                storage_backend = r.storage_backend.as_str(),
                device_id = r.device_id,
                task_identifier = ti,
                status = r.status.as_str(),
                "Persisted storage result"
            );
        }
        Ok(())
    }
}
