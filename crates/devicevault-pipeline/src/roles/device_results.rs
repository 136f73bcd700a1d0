//! The device-results consumer: records each collection outcome
//! (`DeviceBackupResult`) and, for a success, sends `storage.store` to the
//! queue of the device's backup location (`storage.git` / `storage.fs`).
//!
//! A collection whose driver ignores some lines for change (a result with a
//! `change_key`) and whose key equals the one of the device's latest stored
//! version at its location stores nothing new: no `storage.store` is sent,
//! and the stored backup is recorded here, in the same transaction as the
//! result, as an unchanged confirmation of that version (its `storage_ref`,
//! size and SHA-256, `changed` false), exactly the row an unchanged store
//! makes. Only when nothing else can become the latest version first: the
//! job has no store on the way and the device has no other unfinished job;
//! otherwise the store runs as for any result.
//!
//! A read batch of results is handled together: the lookups for all its
//! entries at once (a query per kind of row, [`Lookups`]), then every
//! entry's writes (result, job state, storage target) in one
//! transaction, then the store tasks, which are published only once the
//! job rows say where they go. Should the transaction fail, each entry is
//! handled again on its own, so one bad entry cannot hold up the others.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use devicevault_core::bus::{StreamEntry, Task, TaskBus};
use devicevault_core::{
    DeviceResult, LogEntry, RelPath, Severity, Status, StorageBackendKind, StorageRef, StoreTask,
    Timestamp,
};
use devicevault_db::{
    BackupJob, BackupLocation, Db, DbError, Device, IndexBatch, JobState, JobTarget,
    NewDeviceResult, NewStoredBackup, StoredBackup,
};

use super::{HandleError, new_task_id};
use crate::Settings;
use crate::metrics::{IndexStream, Metrics};

/// The task name of a store.
pub const STORE_TASK: &str = "storage.store";

/// The log source of what this consumer records itself.
const SOURCE: &str = "device-results";

/// What the consumer needs.
#[derive(Debug, Clone)]
pub struct DeviceResults<B> {
    pub db: Db,
    pub bus: B,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
}

/// Where a backup of `device` goes in a location of `kind`: git keeps one
/// file per device (its history is the device's history), fs one file per
/// backup. This is the contract's *suggested* path, `<device_id>/<file>`:
/// the Git backend places it in the repository's layout
/// ([`devicevault_core::StorageLayout::place`], the one place a layout is
/// applied), so a task queued before a `migrate-layout` still lands right.
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

/// The file name of a path directly in `device_id`'s directory of either
/// layout (`<id>/<file>`, `<shard>/<id>/<file>`), `None` for any other
/// path.
fn device_file(device_id: i64, path: &RelPath) -> Option<&str> {
    let parent = path.parent()?;
    devicevault_core::layout::device_dirs(device_id)
        .iter()
        .any(|d| d == parent)
        .then(|| path.file_name())
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
    super::consume_stream_batches(stream, shutdown, move |entries| {
        let c = c.clone();
        async move { c.handle_batch(entries).await }
    })
    .await;
}

/// What a successful collection becomes.
enum Storing {
    /// A store task for the location's queue.
    Task(StorageBackendKind, Task),
    /// Nothing to store: the stored backup that confirms the latest version.
    Unchanged(Box<NewStoredBackup>),
}

/// What one entry needs written, then published, and its outcome.
struct Planned {
    writes: IndexBatch,
    store: Option<(StorageBackendKind, Task, DeviceResult)>,
    outcome: Result<(), HandleError>,
}

impl Planned {
    fn done(writes: IndexBatch, outcome: Result<(), HandleError>) -> Self {
        Self {
            writes,
            store: None,
            outcome,
        }
    }
}

impl<B: TaskBus> DeviceResults<B> {
    /// Handles one stream entry; idempotent, so a replay changes nothing.
    pub async fn handle(&self, entry: StreamEntry) -> Result<(), HandleError> {
        self.handle_batch(vec![entry])
            .await
            .pop()
            .expect("one outcome per entry")
    }

    /// Handles a batch of stream entries: their writes in one transaction,
    /// then their store tasks. One outcome per entry, in order; idempotent,
    /// so a replayed batch (or part of one) changes nothing.
    pub async fn handle_batch(&self, entries: Vec<StreamEntry>) -> Vec<Result<(), HandleError>> {
        let parsed: Vec<Result<DeviceResult, String>> = entries
            .iter()
            .map(|e| DeviceResult::from_fields(&e.fields).map_err(|e| e.to_string()))
            .collect();
        let lookups = Lookups::read(&self.db, parsed.iter().filter_map(|r| r.as_ref().ok()))
            .await
            .map_err(db_error);
        let mut planned: Vec<Planned> = entries
            .iter()
            .zip(parsed)
            .map(|(entry, result)| plan(entry, result, &lookups))
            .collect();
        let mut all = IndexBatch::new();
        for p in &planned {
            all.append(p.writes.clone());
        }
        // When each job was initiated, for its duration should it end here.
        let queued: HashMap<String, Timestamp> = entries
            .iter()
            .filter_map(|e| {
                let at = Timestamp::parse(e.fields.get("initiated_at")?).ok()?;
                Some((e.fields.get("task_identifier")?.clone(), at))
            })
            .collect();
        let started = std::time::Instant::now();
        let applied = self.db.apply(&all).await;
        self.metrics
            .index_took(IndexStream::DeviceResults, started.elapsed());
        match applied {
            Ok(changed) => self.metrics.count_job_moves_since(&all, &changed, &queued),
            Err(e) => {
                let e = db_error(e);
                if planned.len() > 1 {
                    tracing::warn!(entries = planned.len(), error = %e, "recording a batch of collection results failed; recording them one by one");
                    for p in &mut planned {
                        match self.db.apply(&p.writes).await {
                            Ok(changed) => self
                                .metrics
                                .count_job_moves_since(&p.writes, &changed, &queued),
                            Err(e) => {
                                p.outcome = Err(db_error(e));
                                p.store = None;
                            }
                        }
                    }
                } else {
                    for p in &mut planned {
                        p.outcome = Err(e.clone());
                        p.store = None;
                    }
                }
            }
        }
        // The store tasks are published together, each waiting for the
        // broker's confirm: one after the other they made a batch of 64
        // wait for 64 round trips (issue 21). A device's own stores (two
        // of its jobs in one read) still go out in the order they came.
        let mut by_device: HashMap<i64, Vec<(usize, StorageBackendKind, Task, DeviceResult)>> =
            HashMap::new();
        let mut unanswered = std::collections::BTreeSet::new();
        for (i, p) in planned.iter_mut().enumerate() {
            let Some((kind, task, result)) = p.store.take() else {
                continue;
            };
            unanswered.insert(i);
            by_device
                .entry(result.device_id)
                .or_default()
                .push((i, kind, task, result));
        }
        let mut publishing = tokio::task::JoinSet::new();
        for stores in by_device.into_values() {
            let bus = self.bus.clone();
            publishing.spawn(async move {
                let mut out = Vec::with_capacity(stores.len());
                for (i, kind, task, result) in stores {
                    let published = bus.publish(kind.queue(), task).await;
                    out.push((i, kind, result, published));
                }
                out
            });
        }
        let mut failed = IndexBatch::new();
        while let Some(joined) = publishing.join_next().await {
            let Ok(published) = joined else {
                continue;
            };
            for (i, kind, result, published) in published {
                unanswered.remove(&i);
                let ti = result.task_identifier.as_str();
                let queue = kind.queue();
                match published {
                    Ok(()) => tracing::info!(
                        storage_backend = kind.as_str(),
                        device_id = result.device_id,
                        task_identifier = ti,
                        queue,
                        "Storage task queued on {queue}"
                    ),
                    Err(e) => {
                        let e = HandleError::from_class(e);
                        if e.retry == devicevault_core::Retry::Permanent {
                            tracing::error!(device_id = result.device_id, task_identifier = ti, reason = %e.reason, "cannot store the backup");
                            failed.advance_job(ti, JobState::Failed, Some(&e.reason));
                        } else {
                            planned[i].outcome = Err(e);
                        }
                    }
                }
            }
        }
        // A publish that panicked: its entry stays pending and is handled
        // again.
        for i in unanswered {
            planned[i].outcome = Err(HandleError::transient(
                "publishing the store task failed; it is sent again",
            ));
        }
        match self.db.apply(&failed).await {
            Ok(changed) => self
                .metrics
                .count_job_moves_since(&failed, &changed, &queued),
            Err(e) => {
                // Those entries stay pending: their replay fails the job again.
                let e = db_error(e);
                for p in &mut planned {
                    if p.outcome.is_ok() {
                        p.outcome = Err(e.clone());
                    }
                }
            }
        }
        planned.into_iter().map(|p| p.outcome).collect()
    }
}

/// What a batch's entries need read before their writes are decided, read
/// together: a query per kind of row instead of a few per entry. Read
/// before any of the batch's writes, as the entries' own lookups were.
struct Lookups {
    /// The jobs of the successful collections.
    jobs: HashMap<String, BackupJob>,
    devices: HashMap<i64, Device>,
    locations: HashMap<i64, BackupLocation>,
    /// Each device's latest successful stored backup at its location, with
    /// its change key.
    latest: HashMap<(i64, i64), (StoredBackup, Option<String>)>,
    /// The unfinished jobs of the devices whose result has a change key.
    unfinished: HashMap<i64, Vec<String>>,
}

impl Lookups {
    async fn read<'a>(
        db: &Db,
        results: impl Iterator<Item = &'a DeviceResult>,
    ) -> Result<Self, DbError> {
        let successes: Vec<&DeviceResult> =
            results.filter(|r| r.status == Status::Success).collect();
        let mut lookups = Self {
            jobs: HashMap::new(),
            devices: HashMap::new(),
            locations: HashMap::new(),
            latest: HashMap::new(),
            unfinished: HashMap::new(),
        };
        if successes.is_empty() {
            return Ok(lookups);
        }
        let tis: Vec<&str> = successes
            .iter()
            .map(|r| r.task_identifier.as_str())
            .collect();
        lookups.jobs = db.jobs_by_identifiers(&tis).await?;
        let mut ids: Vec<i64> = successes.iter().map(|r| r.device_id).collect();
        ids.sort_unstable();
        ids.dedup();
        lookups.devices = db
            .devices_by_ids(&ids)
            .await?
            .into_iter()
            .map(|d| (d.id, d))
            .collect();
        let mut pairs = Vec::new();
        for d in lookups.devices.values() {
            let Some(location_id) = d.fields.backup_location else {
                continue;
            };
            if let Entry::Vacant(slot) = lookups.locations.entry(location_id) {
                match db.location(location_id).await {
                    Ok(l) => {
                        slot.insert(l);
                    }
                    // Planning says so for each device of it.
                    Err(DbError::NotFound { .. }) => continue,
                    Err(e) => return Err(e),
                }
            }
            pairs.push((d.id, location_id));
        }
        lookups.latest = db.latest_stored_at(&pairs).await?;
        let mut keyed: Vec<i64> = successes
            .iter()
            .filter(|r| r.change_key.is_some())
            .map(|r| r.device_id)
            .collect();
        keyed.sort_unstable();
        keyed.dedup();
        if !keyed.is_empty() {
            lookups.unfinished = db.unfinished_jobs(&keyed).await?;
        }
        Ok(lookups)
    }

    fn device(&self, id: i64) -> Result<&Device, HandleError> {
        self.devices.get(&id).ok_or_else(|| {
            db_error(DbError::NotFound {
                what: format!("device {id}"),
            })
        })
    }

    fn location(&self, id: i64) -> Result<&BackupLocation, HandleError> {
        self.locations.get(&id).ok_or_else(|| {
            db_error(DbError::NotFound {
                what: format!("backup location {id}"),
            })
        })
    }

    /// Whether `device_id` has a job other than `task_identifier` that is
    /// not final: its outcome may yet become the device's latest version.
    fn has_other_unfinished_job(&self, device_id: i64, task_identifier: &str) -> bool {
        self.unfinished
            .get(&device_id)
            .is_some_and(|jobs| jobs.iter().any(|t| t != task_identifier))
    }
}

/// Decides what `entry` (parsed as `result`) writes, from `lookups` (a
/// malformed entry or a failed collection needs none; should they not have
/// been read, a success writes nothing and is handled again later).
fn plan(
    entry: &StreamEntry,
    result: Result<DeviceResult, String>,
    lookups: &Result<Lookups, HandleError>,
) -> Planned {
    let mut writes = IndexBatch::new();
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            let reason = format!("malformed collection result: {e}");
            if let Some(ti) = entry.fields.get("task_identifier") {
                writes.advance_job(ti, JobState::Failed, Some(&reason));
            }
            return Planned::done(writes, Err(HandleError::permanent(reason)));
        }
    };
    let ti = result.task_identifier.as_str();
    let log = serde_json::to_string(&result.log).expect("log entries serialize");
    writes.record_device_result(NewDeviceResult {
        task_id: result.task_id.clone(),
        task_identifier: result.task_identifier.clone(),
        device_id: result.device_id,
        status: result.status,
        timestamp: result.timestamp,
        log,
        collection_duration_ms: i64::try_from(result.collection_duration_ms).unwrap_or(i64::MAX),
        // Whatever sent the record (a collector of another version,
        // Celery's), only a user name is kept.
        author: result
            .author
            .clone()
            .filter(|a| devicevault_core::is_author_name(a)),
        change_key: result
            .change_key
            .clone()
            .filter(|k| devicevault_core::is_change_key(k)),
    });
    if result.status == Status::Failure {
        let reason = failure_reason(&result.log);
        writes.advance_job(ti, JobState::Failed, Some(&reason));
        tracing::info!(device_id = result.device_id, task_identifier = ti, reason = %reason, "Collection failed; no storage task");
        return Planned::done(writes, Ok(()));
    }
    let lookups = match lookups {
        Ok(l) => l,
        Err(e) => return Planned::done(IndexBatch::new(), Err(e.clone())),
    };
    // A job already `collected` had its store task published by an
    // earlier handling of this result (or of a dispatch again): that
    // store decides, so it is never confirmed here.
    let store_published = match lookups.jobs.get(ti) {
        Some(job) if job.state.is_final() => return Planned::done(writes, Ok(())),
        Some(job) => job.state == JobState::Collected,
        None => false,
    };
    writes.advance_job(ti, JobState::Collected, None);
    match store_task(&result, store_published, lookups) {
        Ok((target, Storing::Task(kind, task))) => {
            writes.set_job_target(ti, target);
            Planned {
                writes,
                store: Some((kind, task, result)),
                outcome: Ok(()),
            }
        }
        Ok((target, Storing::Unchanged(stored))) => {
            writes.set_job_target(ti, target);
            tracing::info!(
                storage_backend = stored.storage_backend.as_str(),
                device_id = result.device_id,
                task_identifier = ti,
                "unchanged apart from lines its driver ignores for change; no storage task"
            );
            writes.record_stored_backup(*stored);
            writes.advance_job(ti, JobState::Stored, None);
            Planned::done(writes, Ok(()))
        }
        Err(e) if e.retry == devicevault_core::Retry::Permanent => {
            writes.advance_job(ti, JobState::Failed, Some(&e.reason));
            tracing::error!(device_id = result.device_id, task_identifier = ti, reason = %e.reason, "cannot store the backup");
            Planned::done(writes, Ok(()))
        }
        Err(e) => Planned::done(writes, Err(e)),
    }
}

/// Where the location holds the device's previous version, when that is
/// not `rel_path` (the device was renamed since): the path of its newest
/// successful stored backup there. Only git keeps one file per device;
/// an fs backup is a file of its own, so nothing ever moves there.
fn previous_rel_path(
    device: &Device,
    latest: Option<&StoredBackup>,
    kind: StorageBackendKind,
    rel_path: &RelPath,
) -> Option<RelPath> {
    if kind != StorageBackendKind::Git {
        return None;
    }
    let latest = latest?;
    if latest.storage_backend != kind {
        return None;
    }
    let previous = match StorageRef::parse(kind, &latest.storage_ref) {
        Ok(r) => r.path().clone(),
        Err(e) => {
            tracing::warn!(device_id = device.id, stored_backup = latest.id, error = %e, "the latest stored backup's ref does not parse; storing without a move");
            return None;
        }
    };
    // A file outside the device's directory (stored by another producer)
    // is never the device's to move. In either layout the file name tells
    // the device's files apart; the backend places both paths in the
    // repository's layout.
    (device_file(device.id, &previous).is_some()
        && device_file(device.id, &previous) != device_file(device.id, rel_path))
    .then_some(previous)
}

/// The stored backup that confirms the latest version of `device` at
/// `location`, when `result` differs from it only in lines its driver
/// ignores for change (equal `change_key`s) and nothing else can become the
/// latest version first; `None` when the result must be stored.
fn unchanged_confirmation(
    result: &DeviceResult,
    device: &Device,
    location: &BackupLocation,
    rel_path: &RelPath,
    lookups: &Lookups,
) -> Option<NewStoredBackup> {
    let key = result
        .change_key
        .as_deref()
        .filter(|k| devicevault_core::is_change_key(k))?;
    if result.is_binary {
        return None;
    }
    let kind = location.location_type;
    let (latest, latest_key) = lookups.latest.get(&(device.id, location.id))?;
    if latest_key.as_deref() != Some(key) || latest.storage_backend != kind || latest.is_binary {
        return None;
    }
    // Git keeps the device's file at one path: a renamed device's store
    // moves it, which only the storage worker does.
    if kind == StorageBackendKind::Git {
        match StorageRef::parse(kind, &latest.storage_ref) {
            Ok(r)
                if device_file(device.id, r.path()).is_some()
                    && device_file(device.id, r.path()) == device_file(device.id, rel_path) => {}
            _ => return None,
        }
    }
    // Another job's store may be on the way and become the latest version
    // before this one: comparing with the version it replaces would
    // confirm the wrong one.
    if lookups.has_other_unfinished_job(device.id, &result.task_identifier) {
        return None;
    }
    let log = [LogEntry::new(
        SOURCE,
        Severity::Info,
        format!(
            "unchanged since the previous backup apart from lines the driver ignores for change; nothing new written, the previous version stands: {kind}:{}",
            latest.storage_ref
        ),
    )];
    Some(NewStoredBackup {
        task_id: new_task_id(),
        task_identifier: result.task_identifier.clone(),
        device_id: device.id,
        storage_backend: kind,
        storage_ref: latest.storage_ref.clone(),
        status: Status::Success,
        timestamp: Timestamp::now(),
        log: serde_json::to_string(&log).expect("log entries serialize"),
        location_id: Some(location.id),
        size: latest.size,
        sha256: latest.sha256.clone(),
        changed: Some(false),
        is_binary: false,
    })
}

/// What a collected configuration becomes — the store task for its queue,
/// or the confirmation of the unchanged latest version — and the target to
/// record on the job before a task is published. `store_published`: a
/// store task was published for this job already.
fn store_task(
    result: &DeviceResult,
    store_published: bool,
    lookups: &Lookups,
) -> Result<(JobTarget, Storing), HandleError> {
    let ti = result.task_identifier.as_str();
    let device = lookups.device(result.device_id)?;
    let location_id = device.fields.backup_location.ok_or_else(|| {
        HandleError::permanent(format!(
            "device {} has no backup location; nothing stored",
            device.id
        ))
    })?;
    let location = lookups.location(location_id)?;
    let kind = location.location_type;
    let rel_path = rel_path_for(kind, device, ti).map_err(HandleError::permanent)?;
    let target = JobTarget {
        location_id: Some(location.id),
        is_binary: result.is_binary,
    };
    if !store_published
        && let Some(stored) = unchanged_confirmation(result, device, location, &rel_path, lookups)
    {
        return Ok((target, Storing::Unchanged(Box::new(stored))));
    }
    let latest = lookups
        .latest
        .get(&(device.id, location.id))
        .map(|(stored, _)| stored);
    let previous = previous_rel_path(device, latest, kind, &rel_path);
    let content = result.content().map_err(HandleError::permanent)?;
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
    Ok((
        target,
        Storing::Task(kind, Task::with_arg(task_id, STORE_TASK, body)),
    ))
}
