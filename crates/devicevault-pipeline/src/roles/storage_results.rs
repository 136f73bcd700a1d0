//! The storage-results consumer: records each storage outcome as a
//! `StoredBackup` row (the authoritative index for retrieval) and finishes
//! the job. A read batch of results is recorded in one transaction; should
//! it fail, each entry is recorded again on its own.

use devicevault_core::bus::StreamEntry;
use std::collections::HashMap;

use devicevault_core::{Operation, Status, StorageResult, Timestamp};
use devicevault_db::{Db, DbError, IndexBatch, JobState, JobTarget, NewStoredBackup};

use super::HandleError;
use super::device_results::failure_reason;
use crate::metrics::{IndexStream, Metrics};

/// What the consumer needs.
#[derive(Debug, Clone)]
pub struct StorageResults {
    pub db: Db,
    /// The search cache of this process, told of each new version
    /// (embedded mode; a distributed API process polls the database).
    pub search: Option<std::sync::Arc<crate::app::search::SearchIndex>>,
    pub metrics: std::sync::Arc<Metrics>,
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
    super::consume_stream_batches(stream, shutdown, move |entries| {
        let c = c.clone();
        async move { c.handle_batch(entries).await }
    })
    .await;
}

/// What one entry needs written, and its outcome.
struct Planned {
    writes: IndexBatch,
    /// The stored backup's write in `writes`, to log whether it was new.
    insert: Option<(usize, StorageResult)>,
    /// When the job was queued, for its duration.
    queued: Option<(String, Timestamp)>,
    outcome: Result<(), HandleError>,
}

impl StorageResults {
    /// Handles one stream entry; idempotent, so a replay changes nothing.
    pub async fn handle(&self, entry: StreamEntry) -> Result<(), HandleError> {
        self.handle_batch(vec![entry])
            .await
            .pop()
            .expect("one outcome per entry")
    }

    /// Handles a batch of stream entries, their writes in one transaction.
    /// One outcome per entry, in order; idempotent, so a replayed batch (or
    /// part of one) changes nothing.
    pub async fn handle_batch(&self, entries: Vec<StreamEntry>) -> Vec<Result<(), HandleError>> {
        let parsed: Vec<Result<StorageResult, String>> = entries
            .iter()
            .map(|e| StorageResult::from_fields(&e.fields).map_err(|e| e.to_string()))
            .collect();
        // The jobs' targets for all the batch's stores, in one query.
        let tis: Vec<&str> = parsed
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .filter(|r| r.operation != Operation::Read)
            .map(|r| r.task_identifier.as_str())
            .collect();
        let targets = self
            .db
            .job_targets_and_queued_on(&tis)
            .await
            .map_err(HandleError::from_class);
        let mut planned = Vec::with_capacity(entries.len());
        for (entry, result) in entries.iter().zip(parsed) {
            planned.push(self.plan(entry, result, &targets).await);
        }
        let mut all = IndexBatch::new();
        let mut offsets = Vec::with_capacity(planned.len());
        for p in &planned {
            offsets.push(all.append(p.writes.clone()));
        }
        let queued: HashMap<String, Timestamp> =
            planned.iter().filter_map(|p| p.queued.clone()).collect();
        let started = std::time::Instant::now();
        let applied = self.db.apply(&all).await;
        self.metrics
            .index_took(IndexStream::StorageResults, started.elapsed());
        if let Ok(changed) = &applied {
            self.metrics.count_job_moves_since(&all, changed, &queued);
        }
        let inserted: Vec<Option<bool>> = match applied {
            Ok(changed) => planned
                .iter()
                .zip(&offsets)
                .map(|(p, offset)| p.insert.as_ref().map(|(i, _)| changed[offset + i]))
                .collect(),
            Err(e) if planned.len() > 1 => {
                tracing::warn!(entries = planned.len(), error = %e, "recording a batch of storage results failed; recording them one by one");
                let mut inserted = Vec::with_capacity(planned.len());
                for p in &mut planned {
                    match self.db.apply(&p.writes).await {
                        Ok(changed) => {
                            self.metrics
                                .count_job_moves_since(&p.writes, &changed, &queued);
                            inserted.push(p.insert.as_ref().map(|(i, _)| changed[*i]));
                        }
                        Err(e) => {
                            p.outcome = Err(HandleError::from_class(e));
                            inserted.push(None);
                        }
                    }
                }
                inserted
            }
            Err(e) => {
                let e = HandleError::from_class(e);
                for p in &mut planned {
                    p.outcome = Err(e.clone());
                }
                vec![None; planned.len()]
            }
        };
        for (p, inserted) in planned.iter().zip(inserted) {
            if let (Some((_, r)), Some(true)) = (&p.insert, inserted) {
                if r.status == Status::Success
                    && let Some(search) = &self.search
                {
                    search.version_stored();
                }
                tracing::info!(
                    storage_backend = r.storage_backend.as_str(),
                    device_id = r.device_id,
                    task_identifier = r.task_identifier.as_str(),
                    status = r.status.as_str(),
                    "Persisted storage result"
                );
            }
        }
        planned.into_iter().map(|p| p.outcome).collect()
    }

    /// Decides what `entry` (parsed as `result`) writes, given the jobs'
    /// `targets` read for the batch.
    async fn plan(
        &self,
        entry: &StreamEntry,
        result: Result<StorageResult, String>,
        targets: &Result<HashMap<String, (JobTarget, Option<Timestamp>)>, HandleError>,
    ) -> Planned {
        let mut writes = IndexBatch::new();
        let done = |writes, outcome| Planned {
            writes,
            insert: None,
            queued: None,
            outcome,
        };
        let r = match result {
            Ok(r) => r,
            Err(e) => {
                let reason = format!("malformed storage result: {e}");
                if let Some(ti) = entry.fields.get("task_identifier") {
                    writes.advance_job(ti, JobState::Failed, Some(&reason));
                }
                return done(writes, Err(HandleError::permanent(reason)));
            }
        };
        if r.operation == Operation::Read {
            // Reads change nothing that the index records.
            return done(writes, Ok(()));
        }
        let ti = r.task_identifier.as_str();
        let (target, queued_on) = match targets {
            Ok(targets) => match targets.get(ti) {
                Some((t, queued_on)) => (Some(*t), *queued_on),
                None => (None, None),
            },
            // Nothing is written: the entry is handled again later.
            Err(e) => return done(IndexBatch::new(), Err(e.clone())),
        };
        let location_id = match target.and_then(|t| t.location_id) {
            Some(id) => Some(id),
            // A store we did not dispatch (a Celery client's): the device's
            // location is the best knowledge there is.
            None => match self.db.device(r.device_id).await {
                Ok(d) => d.fields.backup_location,
                Err(DbError::NotFound { .. }) => None,
                Err(e) => return done(writes, Err(HandleError::from_class(e))),
            },
        };
        let log = serde_json::to_string(&r.log).expect("log entries serialize");
        let insert = writes.record_stored_backup(NewStoredBackup {
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
        });
        let (state, reason) = match r.status {
            Status::Success => (JobState::Stored, None),
            Status::Failure => (JobState::Failed, Some(failure_reason(&r.log))),
        };
        writes.advance_job(ti, state, reason.as_deref());
        Planned {
            writes,
            queued: queued_on.map(|at| (r.task_identifier.clone(), at)),
            insert: Some((insert, r)),
            outcome: Ok(()),
        }
    }
}
