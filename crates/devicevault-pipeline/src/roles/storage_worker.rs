//! The storage worker: consumes `storage.store`, `storage.read` and (for
//! retention) `storage.remove` on `storage.git` or `storage.fs`. Stores to
//! one repository are group committed: while one batch is being written and
//! flushed, the next one gathers, so a busy worker makes one branch move and
//! one flush per batch instead of per backup.
//!
//! In embedded mode the worker also hands each new version's content to
//! the search cache of the process ([`StorageWorker::with_search`]), so
//! the cache does not read it back (see [`crate::app::search`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use devicevault_core::bus::{Delivery, ResultLog, Task, TaskBus};
use devicevault_core::{
    LogEntry, Operation, RelPath, RelPathError, Retry, Severity, Status, StorageBackendKind,
    StorageResult, StoreTask, Timestamp,
};
use devicevault_storage::{Backend, Maintenance, StoreItem, Stored, open_backend};
use serde_json::{Map, Value, json};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::HandleError;
use super::device_results::STORE_TASK;
use crate::Settings;
use crate::app::search::SearchIndex;
use crate::metrics::{Metrics, Stage};

/// The task name of a read.
pub const READ_TASK: &str = "storage.read";

/// The task name of a retention removal: the file of a pruned fs version
/// (an rpc call like a read; see `devicevault_db::retention`).
pub const REMOVE_TASK: &str = "storage.remove";

const SOURCE: &str = "storage";

type Config = Map<String, Value>;

/// A storage worker's state: open backends and one group-commit writer per
/// store.
#[derive(Debug)]
pub struct StorageWorker<L> {
    log: L,
    settings: Arc<Settings>,
    slots: Arc<Semaphore>,
    backends: Mutex<HashMap<String, Arc<dyn Backend>>>,
    writers: Mutex<HashMap<String, mpsc::Sender<WriteRequest>>>,
    metrics: Arc<Metrics>,
    /// The search cache of the same process (embedded mode), handed each
    /// new version's content.
    search: Option<Arc<SearchIndex>>,
}

struct WriteRequest {
    content: Vec<u8>,
    rel_path: RelPath,
    previous_rel_path: Option<RelPath>,
    reply: oneshot::Sender<Result<Stored, HandleError>>,
}

fn store_key(kind: StorageBackendKind, config: &Config) -> String {
    format!("{}:{}", kind.as_str(), Value::Object(config.clone()))
}

impl<L: ResultLog> StorageWorker<L> {
    pub fn new(log: L, settings: Arc<Settings>) -> Self {
        let slots = Arc::new(Semaphore::new(settings.storage_concurrency.max(1)));
        Self {
            log,
            settings,
            slots,
            backends: Mutex::default(),
            writers: Mutex::default(),
            metrics: Arc::default(),
            search: None,
        }
    }

    /// Hands the content of each new version it stores to `search`, the
    /// search cache of the same process (embedded mode only: another
    /// process's cache reads versions back), before the result is
    /// published.
    pub fn with_search(mut self, search: Arc<SearchIndex>) -> Self {
        self.search = Some(search);
        self
    }

    /// Counts into `metrics` (the process's) rather than a registry of its own.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The location's backend, once its path is checked against the
    /// storage roots. The check runs for every task, not once per cached
    /// backend: a symlink on the way may have changed since. It is a few
    /// `stat`s of directories, cheap beside the store it guards.
    fn backend(
        &self,
        kind: StorageBackendKind,
        config: &Config,
    ) -> Result<Arc<dyn Backend>, HandleError> {
        if let Some(roots) = &self.settings.storage_roots {
            roots
                .check_location(kind, config)
                .map_err(HandleError::from_class)?;
        }
        let key = store_key(kind, config);
        if let Some(b) = lock(&self.backends).get(&key) {
            return Ok(b.clone());
        }
        let backend: Arc<dyn Backend> =
            Arc::from(open_backend(kind, config).map_err(HandleError::from_class)?);
        lock(&self.backends).insert(key, backend.clone());
        Ok(backend)
    }

    /// Writes through the store's group-commit writer.
    async fn write(
        &self,
        kind: StorageBackendKind,
        config: &Config,
        content: Vec<u8>,
        rel_path: RelPath,
        previous_rel_path: Option<RelPath>,
    ) -> Result<Stored, HandleError> {
        let backend = self.backend(kind, config)?;
        let key = store_key(kind, config);
        let sender = {
            let mut writers = lock(&self.writers);
            writers
                .entry(key)
                .or_insert_with(|| {
                    let (tx, rx) = mpsc::channel(self.settings.storage_batch.max(1) * 4);
                    tokio::spawn(write_batches(
                        backend,
                        rx,
                        self.settings.storage_batch.max(1),
                    ));
                    tx
                })
                .clone()
        };
        let (reply, answer) = oneshot::channel();
        sender
            .send(WriteRequest {
                content,
                rel_path,
                previous_rel_path,
                reply,
            })
            .await
            .map_err(|_| HandleError::transient("the store's writer stopped"))?;
        answer
            .await
            .map_err(|_| HandleError::transient("the store's writer stopped"))?
    }

    /// Reads a stored backup (the `storage.read` task's work).
    pub async fn read(
        &self,
        kind: StorageBackendKind,
        config: &Config,
        storage_ref: &str,
    ) -> Result<Vec<u8>, HandleError> {
        let backend = self.backend(kind, config)?;
        let storage_ref = storage_ref.to_owned();
        tokio::task::spawn_blocking(move || backend.read_str(&storage_ref))
            .await
            .map_err(|e| HandleError::transient(format!("the read panicked: {e}")))?
            .map_err(HandleError::from_class)
    }
}

/// The repositories this worker has opened, counted on a blocking thread
/// (a directory listing per fan-out directory).
impl<L: ResultLog> crate::metrics::Repositories for StorageWorker<L> {
    fn repository_objects(
        &self,
    ) -> devicevault_core::bus::BoxFuture<'_, Vec<devicevault_storage::ObjectCounts>> {
        let backends: Vec<Arc<dyn Backend>> = lock(&self.backends).values().cloned().collect();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                backends
                    .iter()
                    .filter_map(|b| match b.object_counts() {
                        Ok(counts) => counts,
                        Err(e) => {
                            tracing::warn!(error = %e, "counting a repository's objects failed");
                            None
                        }
                    })
                    .collect()
            })
            .await
            .unwrap_or_default()
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts the store's housekeeping ([`Backend::maintain`]: packing a git
/// repository's loose objects) on a blocking thread unless it is already
/// running. Stores and reads go on meanwhile; a failure is logged and
/// retried after a later batch, it never fails a store.
fn maintain_in_background(backend: &Arc<dyn Backend>, running: &Arc<AtomicBool>) {
    if running.swap(true, Ordering::AcqRel) {
        return;
    }
    let backend = backend.clone();
    let running = running.clone();
    tokio::task::spawn_blocking(move || {
        let outcome = backend.maintain();
        running.store(false, Ordering::Release);
        let storage_backend = backend.kind().as_str();
        match outcome {
            Ok(Maintenance::Packed {
                loose_before,
                loose_after,
                packs_before,
                packs_after,
                took,
            }) => tracing::info!(
                storage_backend,
                loose_before,
                loose_after,
                packs_before,
                packs_after,
                took_ms = took.as_millis() as u64,
                "Packed the repository"
            ),
            Ok(Maintenance::Busy) => {
                tracing::debug!(storage_backend, "another worker is packing the repository")
            }
            Ok(Maintenance::NotNeeded) => {}
            Err(e) => tracing::warn!(
                storage_backend,
                error = %e,
                "Repository maintenance failed; stores go on, the repository stays larger until it succeeds"
            ),
        }
    });
}

async fn write_batches(
    backend: Arc<dyn Backend>,
    mut rx: mpsc::Receiver<WriteRequest>,
    max_batch: usize,
) {
    let maintaining = Arc::new(AtomicBool::new(false));
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let writer = backend.clone();
        let (items, replies): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .map(|r| ((r.content, r.rel_path, r.previous_rel_path), r.reply))
            .unzip();
        let outcome = tokio::task::spawn_blocking(move || {
            let store_items: Vec<StoreItem<'_>> = items
                .iter()
                .map(|(content, rel_path, previous)| StoreItem {
                    content,
                    rel_path,
                    message: None,
                    previous_rel_path: previous.as_ref(),
                })
                .collect();
            writer.store_many(&store_items).map(|results| {
                results
                    .into_iter()
                    .map(|r| r.map_err(HandleError::from_class))
                    .collect::<Vec<_>>()
            })
        })
        .await;
        let results: Vec<Result<Stored, HandleError>> = match outcome {
            Ok(Ok(results)) => {
                // The check is a few directory listings; the work, when
                // there is some, runs beside the next batches.
                maintain_in_background(&backend, &maintaining);
                results
            }
            Ok(Err(e)) => {
                let e = HandleError::from_class(e);
                replies.iter().map(|_| Err(e.clone())).collect()
            }
            Err(e) => {
                let e = HandleError::transient(format!("the store panicked: {e}"));
                replies.iter().map(|_| Err(e.clone())).collect()
            }
        };
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }
}

/// The default place of a backup whose task names none: one file per backup.
fn default_rel_path(device_id: i64, task_identifier: &str) -> Result<RelPath, RelPathError> {
    RelPath::parse(&format!(
        "{device_id}/{}.txt",
        RelPath::sanitize_segment(task_identifier)
    ))
}

/// Consumes `storage.<kind>` until `shutdown`; work in flight finishes first.
pub async fn run_storage_worker<B: TaskBus, L: ResultLog>(
    bus: B,
    worker: Arc<StorageWorker<L>>,
    kind: StorageBackendKind,
    shutdown: CancellationToken,
) {
    let slots = worker.slots.clone();
    super::consume_queue(
        bus,
        kind.queue().to_owned(),
        slots,
        shutdown,
        move |delivery| {
            let w = worker.clone();
            async move { w.handle(kind, delivery).await }
        },
    )
    .await;
}

impl<L: ResultLog> StorageWorker<L> {
    async fn handle(&self, kind: StorageBackendKind, delivery: Delivery) {
        match delivery.task.name.as_str() {
            STORE_TASK => self.handle_store(kind, delivery).await,
            READ_TASK => self.handle_read(kind, delivery).await,
            REMOVE_TASK => self.handle_remove(kind, delivery).await,
            other => {
                let reason = format!(
                    "{} carries {STORE_TASK}, {READ_TASK} and {REMOVE_TASK} tasks, not {other:?}",
                    delivery.queue
                );
                tracing::error!(queue = %delivery.queue, task_id = %delivery.task.id, reason = %reason, "task moved to the dead-letter queue");
                super::settled(
                    "dead-letter",
                    &delivery.queue,
                    &delivery.task.id,
                    delivery.settle.dead_letter(reason),
                )
                .await;
            }
        }
    }

    async fn handle_store(&self, kind: StorageBackendKind, delivery: Delivery) {
        let Delivery {
            task,
            queue,
            settle,
        } = delivery;
        let arg = task.args.first().cloned().unwrap_or_default();
        let st = match StoreTask::from_json(arg.clone()) {
            Ok(st) => st,
            Err(e) => {
                let reason = format!("malformed {STORE_TASK} task: {e}");
                match malformed_result(&task, &arg, kind, &reason) {
                    Some(result) if self.publish(&result).await.is_ok() => {
                        tracing::error!(queue = %queue, task_identifier = %result.task_identifier, reason = %reason, "malformed task recorded as a failed store");
                        super::settled("ack", &queue, &task.id, settle.ack()).await;
                    }
                    _ => {
                        tracing::error!(queue = %queue, task_id = %task.id, reason = %reason, "task moved to the dead-letter queue");
                        super::settled("dead-letter", &queue, &task.id, settle.dead_letter(reason))
                            .await;
                    }
                }
                return;
            }
        };
        let ti = st.task_identifier.as_str();
        tracing::info!(storage_backend = kind.as_str(), device_id = st.device_id, task_identifier = ti, queue = %queue, "storage_store_start");
        let started = Instant::now();
        let outcome = if st.storage_backend != kind {
            Err(HandleError::permanent(format!(
                "a {} backup arrived on {queue}; it belongs on {}",
                st.storage_backend,
                st.storage_backend.queue()
            )))
        } else {
            self.store(&st).await
        };
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let result = match outcome {
            Ok(stored) => {
                let mut log = vec![LogEntry::new(
                    SOURCE,
                    Severity::Info,
                    format!("stored to {}:{}", kind, stored.storage_ref),
                )];
                if let Some(from) = &stored.moved_from {
                    log.push(LogEntry::new(
                        SOURCE,
                        Severity::Info,
                        format!("moved from {from} in the same commit (the device was renamed)"),
                    ));
                }
                if !stored.changed {
                    log.push(LogEntry::new(
                        SOURCE,
                        Severity::Info,
                        "unchanged since the previous backup; nothing new written",
                    ));
                }
                StorageResult {
                    task_id: task.id.clone(),
                    task_identifier: st.task_identifier.clone(),
                    device_id: st.device_id,
                    storage_backend: kind,
                    storage_ref: stored.storage_ref.to_string(),
                    status: Status::Success,
                    timestamp: Timestamp::now(),
                    log,
                    operation: Operation::Store,
                    storage_duration_ms: duration_ms,
                    changed: Some(stored.changed),
                    sha256: Some(stored.sha256),
                    size: Some(stored.size),
                }
            }
            Err(e)
                if e.retry == Retry::Transient && task.retries < self.settings.storage_retries =>
            {
                let delay = self.settings.storage_retry_base * 2u32.saturating_pow(task.retries);
                tracing::warn!(storage_backend = kind.as_str(), device_id = st.device_id, task_identifier = ti, queue = %queue, reason = %e.reason, retry = task.retries + 1, "store failed; retrying later");
                super::settled("retry", &queue, &task.id, settle.retry_later(delay)).await;
                return;
            }
            Err(e) => {
                let message = if e.retry == Retry::Transient {
                    format!("store failed after {} retries: {}", task.retries, e.reason)
                } else {
                    format!("store failed: {}", e.reason)
                };
                failure(
                    &task,
                    st.task_identifier.clone(),
                    st.device_id,
                    kind,
                    message,
                    duration_ms,
                )
            }
        };
        let status = result.status;
        match self.publish(&result).await {
            Ok(()) => {
                self.metrics
                    .stage_took(Stage::Store, Duration::from_millis(duration_ms));
                tracing::info!(storage_backend = kind.as_str(), device_id = st.device_id, task_identifier = ti, queue = %queue, status = status.as_str(), duration_ms, "storage_store_done");
                super::settled("ack", &queue, &task.id, settle.ack()).await;
            }
            Err(e) => {
                tracing::warn!(storage_backend = kind.as_str(), device_id = st.device_id, task_identifier = ti, queue = %queue, error = %e, "publishing the result failed; the store will run again");
                super::settled(
                    "retry",
                    &queue,
                    &task.id,
                    settle.retry_later(Duration::from_secs(2)),
                )
                .await;
            }
        }
    }

    async fn store(&self, st: &StoreTask) -> Result<Stored, HandleError> {
        let content = st.content().map_err(HandleError::permanent)?;
        let rel_path = match &st.storage_rel_path {
            Some(p) => p.clone(),
            None => default_rel_path(st.device_id, &st.task_identifier)
                .map_err(HandleError::permanent)?,
        };
        // A copy for the search cache: a few microseconds beside the
        // read-back it saves.
        let handed = self.search.as_ref().map(|_| content.clone());
        let stored = self
            .write(
                st.storage_backend,
                &st.storage_config,
                content,
                rel_path,
                st.storage_previous_rel_path.clone(),
            )
            .await?;
        // An unchanged version is relabeled by the cache, not read: only a
        // new one is handed off.
        if let (Some(search), Some(content)) = (&self.search, handed)
            && stored.changed
        {
            search.stored_content(
                st.device_id,
                &st.task_identifier,
                &stored.storage_ref.to_string(),
                &stored.sha256,
                content,
            );
        }
        Ok(stored)
    }

    async fn publish(&self, result: &StorageResult) -> Result<(), devicevault_core::bus::BusError> {
        self.log
            .append(&self.settings.storage_results_stream, result.to_fields())
            .await
            .map(|_| ())
    }

    async fn handle_read(&self, kind: StorageBackendKind, delivery: Delivery) {
        let Delivery { task, settle, .. } = delivery;
        let reply = self.read_reply(kind, &task).await;
        if let Err(reason) = &reply {
            tracing::warn!(storage_backend = kind.as_str(), task_id = %task.id, reason = %reason, "storage_read_failed");
        }
        if let Err(e) = settle.reply(reply).await {
            tracing::warn!(task_id = %task.id, error = %e, "replying to storage.read failed");
        }
    }

    async fn handle_remove(&self, kind: StorageBackendKind, delivery: Delivery) {
        let Delivery { task, settle, .. } = delivery;
        let reply = self.remove_reply(kind, &task).await;
        if let Err(reason) = &reply {
            tracing::warn!(storage_backend = kind.as_str(), task_id = %task.id, reason = %reason, "storage_remove_failed");
        }
        if let Err(e) = settle.reply(reply).await {
            tracing::warn!(task_id = %task.id, error = %e, "replying to storage.remove failed");
        }
    }

    /// Removes a pruned version (the `storage.remove` task's work): the
    /// location is checked against the storage roots like any other task.
    async fn remove_reply(&self, kind: StorageBackendKind, task: &Task) -> Result<Value, String> {
        let k = &task.kwargs;
        let storage_ref = k
            .get("storage_ref")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{REMOVE_TASK}: missing or non-string \"storage_ref\""))?
            .to_owned();
        let config = k
            .get("storage_config")
            .and_then(Value::as_object)
            .cloned()
            .ok_or_else(|| format!("{REMOVE_TASK}: missing or non-object \"storage_config\""))?;
        let backend = self.backend(kind, &config).map_err(|e| e.reason)?;
        let target = storage_ref.clone();
        let removed = tokio::task::spawn_blocking(move || backend.remove_str(&target))
            .await
            .map_err(|e| format!("the removal panicked: {e}"))?
            .map_err(|e| e.to_string())?;
        tracing::info!(storage_backend = kind.as_str(), storage_ref = %storage_ref, removed, "retention removed a version");
        Ok(json!({ "storage_ref": storage_ref, "removed": removed }))
    }

    async fn read_reply(&self, kind: StorageBackendKind, task: &Task) -> Result<Value, String> {
        let k = &task.kwargs;
        let text = |name: &str| -> Result<String, String> {
            k.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("{READ_TASK}: missing or non-string {name:?}"))
        };
        let backend: StorageBackendKind = text("storage_backend")?
            .parse()
            .map_err(|e: devicevault_core::UnknownBackend| format!("{READ_TASK}: {e}"))?;
        if backend != kind {
            return Err(format!("a {backend} read arrived on {}", kind.queue()));
        }
        let storage_ref = text("storage_ref")?;
        let task_identifier = k
            .get("task_identifier")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let config = k
            .get("storage_config")
            .and_then(Value::as_object)
            .cloned()
            .ok_or_else(|| format!("{READ_TASK}: missing or non-object \"storage_config\""))?;
        let want_binary = k.get("is_binary").and_then(Value::as_bool).unwrap_or(false);
        let started = Instant::now();
        let content = self
            .read(kind, &config, &storage_ref)
            .await
            .map_err(|e| e.reason)?;
        let (content, is_binary) = match (want_binary, String::from_utf8(content)) {
            (false, Ok(text)) => (text, false),
            (true, Ok(text)) => (
                base64::engine::general_purpose::STANDARD.encode(text.as_bytes()),
                true,
            ),
            (_, Err(e)) => (
                base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
                true,
            ),
        };
        Ok(json!({
            "task_id": task.id,
            "task_identifier": task_identifier,
            "status": "success",
            "timestamp": Timestamp::now().to_string(),
            "log": [LogEntry::new(SOURCE, Severity::Info, format!("read {kind}:{storage_ref}"))],
            "storage_backend": kind.as_str(),
            "storage_ref": storage_ref,
            "operation": "read",
            "storage_duration_ms": started.elapsed().as_millis() as u64,
            "is_binary": is_binary,
            "content": content,
        }))
    }
}

fn failure(
    task: &Task,
    task_identifier: String,
    device_id: i64,
    kind: StorageBackendKind,
    message: String,
    duration_ms: u64,
) -> StorageResult {
    StorageResult {
        task_id: task.id.clone(),
        task_identifier,
        device_id,
        storage_backend: kind,
        storage_ref: String::new(),
        status: Status::Failure,
        timestamp: Timestamp::now(),
        log: vec![LogEntry::new(SOURCE, Severity::Error, message)],
        operation: Operation::Store,
        storage_duration_ms: duration_ms,
        changed: None,
        sha256: None,
        size: None,
    }
}

/// A failure result for a store task whose body is malformed but names its job.
fn malformed_result(
    task: &Task,
    arg: &Value,
    kind: StorageBackendKind,
    reason: &str,
) -> Option<StorageResult> {
    let ti = arg.get("task_identifier")?.as_str()?.to_owned();
    let device_id = arg.get("device_id")?.as_i64()?;
    Some(failure(task, ti, device_id, kind, reason.to_owned(), 0))
}
