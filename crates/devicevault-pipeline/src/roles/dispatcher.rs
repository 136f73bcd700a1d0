//! The dispatcher: a requested backup becomes a job row (the durable record
//! that it was accepted) and a `device.collect` task on the device's
//! collection-group queue. Jobs that pass their deadline are dispatched
//! again, so a lost message or a dead process never loses an accepted job.
//!
//! A "backup now" request writes one row: the job, `queued`. Its move to
//! `collecting` once the task is published is written afterwards, for many
//! jobs at a time and off the request's path ([`CollectingMarks`]): the
//! state only moves forward, so a mark that lands after the result (or
//! never, if the process dies first) changes nothing that matters.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use devicevault_core::Timestamp;
use devicevault_core::bus::{BoxFuture, Task, TaskBus};
use devicevault_db::{BackupJob, Db, DbError, Device, DeviceType, IndexBatch, JobState};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::Settings;
use crate::collect_job::{CollectJob, JumpJob, SealedCredential};
use crate::metrics::Metrics;

/// The queue of devices without a collection group.
pub const DEFAULT_GROUP_QUEUE_ID: &str = "default";

/// The task name of a collection.
pub const COLLECT_TASK: &str = "device.collect";

/// A job's time limit when neither its device nor its type sets one.
pub const DEFAULT_JOB_TIMEOUT_SECS: u64 = 300;

/// Why a backup could not be dispatched.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The device cannot be backed up as configured (no credential, no
    /// location, disabled); retrying cannot help until someone changes it.
    #[error("{0}")]
    NotReady(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A job the dispatcher accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub task_id: String,
    pub task_identifier: String,
    /// The queue its collection task goes to:
    /// `collector.group.<rabbitmq_queue_id>` (what the API answers as
    /// `queued_on`, as the original DeviceVault did).
    pub queue: String,
    /// When the job was queued.
    pub queued_at: Timestamp,
    /// False when a job with this identifier existed already (nothing new
    /// was published).
    pub created: bool,
}

/// Creates and publishes backup jobs.
#[derive(Debug, Clone)]
pub struct Dispatcher<B> {
    db: Db,
    bus: B,
    settings: Arc<Settings>,
    marks: Arc<CollectingMarks>,
    metrics: Arc<Metrics>,
}

/// Collection tasks of a bulk "backup now" waiting for the broker's
/// confirm at once.
const PUBLISH_CONCURRENCY: usize = 64;

/// Most jobs marked `collecting` in one transaction.
const MARK_BATCH: usize = 256;

/// Jobs published and not yet marked `collecting`. A task started on the
/// first mark writes them, as many as have gathered in one transaction,
/// and ends when the dispatcher (every clone of it) is gone.
#[derive(Debug, Default)]
struct CollectingMarks {
    tx: OnceLock<mpsc::UnboundedSender<String>>,
}

impl CollectingMarks {
    fn mark(&self, db: &Db, metrics: &Arc<Metrics>, task_identifier: &str) {
        let tx = self.tx.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(write_marks(db.clone(), metrics.clone(), rx));
            tx
        });
        if tx.send(task_identifier.to_owned()).is_err() {
            tracing::warn!(
                task_identifier,
                "the job stays queued until its result: the collecting marks' writer stopped"
            );
        }
    }
}

async fn write_marks(db: Db, metrics: Arc<Metrics>, mut rx: mpsc::UnboundedReceiver<String>) {
    while let Some(first) = rx.recv().await {
        let mut batch = IndexBatch::new();
        batch.advance_job(&first, JobState::Collecting, None);
        while batch.len() < MARK_BATCH {
            match rx.try_recv() {
                Ok(ti) => batch.advance_job(&ti, JobState::Collecting, None),
                Err(_) => break,
            };
        }
        match db.apply(&batch).await {
            Ok(changed) => metrics.count_job_moves(&batch, &changed),
            Err(e) => {
                tracing::warn!(jobs = batch.len(), error = %e, "marking jobs collecting failed; they stay queued until their results")
            }
        }
    }
}

/// What building a collection task reads besides the device — its
/// collection group, credentials and device type —, kept for one request:
/// a bulk "backup now" reads each of them once, not once per device.
#[derive(Default)]
struct Lookups {
    groups: HashMap<i64, (String, Option<u32>)>,
    credentials: HashMap<i64, SealedCredential>,
    types: HashMap<i64, Option<DeviceType>>,
}

impl Lookups {
    /// The queue and the session limit of collection group `id`.
    async fn group(&mut self, db: &Db, id: i64) -> Result<(String, Option<u32>), DbError> {
        if let Some(g) = self.groups.get(&id) {
            return Ok(g.clone());
        }
        let g = db.collection_group(id).await?;
        let g = (g.queue(), u32::try_from(g.max_sessions).ok());
        self.groups.insert(id, g.clone());
        Ok(g)
    }

    async fn credential(&mut self, db: &Db, id: i64) -> Result<SealedCredential, DbError> {
        if let Some(c) = self.credentials.get(&id) {
            return Ok(c.clone());
        }
        let c = SealedCredential::of(&db.credential(id).await?);
        self.credentials.insert(id, c.clone());
        Ok(c)
    }

    /// Device type `id`; `None` for a type deleted since.
    async fn device_type(&mut self, db: &Db, id: i64) -> Result<Option<DeviceType>, DbError> {
        if let Some(t) = self.types.get(&id) {
            return Ok(t.clone());
        }
        let t = match db.device_type(id).await {
            Ok(t) => Some(t),
            Err(DbError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        self.types.insert(id, t.clone());
        Ok(t)
    }
}

/// The task identifier of a "backup now" request.
pub fn backup_now_identifier(device_id: i64, at: Timestamp) -> String {
    format!("backup_now:{device_id}:{at}")
}

impl<B: TaskBus> Dispatcher<B> {
    pub fn new(db: Db, bus: B, settings: Arc<Settings>) -> Self {
        Self {
            db,
            bus,
            settings,
            marks: Arc::default(),
            metrics: Arc::default(),
        }
    }

    /// Counts into `metrics` (the process's) rather than a registry of its own.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Moves a job to `failed` through the database, counting the move.
    async fn fail_job(&self, task_identifier: &str, reason: &str) -> Result<bool, DbError> {
        let moved = self
            .db
            .advance_job(task_identifier, JobState::Failed, Some(reason))
            .await?;
        if moved {
            self.metrics.job_moved(JobState::Failed);
        }
        Ok(moved)
    }

    /// Checks that `device` can be backed up at all.
    pub async fn check_ready(&self, device: &Device) -> Result<(), DispatchError> {
        let f = &device.fields;
        if !f.enabled {
            return Err(DispatchError::NotReady(format!(
                "device {} is disabled; enable it to back it up",
                device.id
            )));
        }
        if f.credential.is_none() {
            return Err(DispatchError::NotReady(format!(
                "device {} has no credential",
                device.id
            )));
        }
        if f.backup_location.is_none() {
            return Err(DispatchError::NotReady(format!(
                "device {} has no backup location",
                device.id
            )));
        }
        Ok(())
    }

    /// "Backup now": a new job for `device`, published at once.
    pub async fn backup_now(&self, device: &Device) -> Result<Accepted, DispatchError> {
        self.check_ready(device).await?;
        let now = Timestamp::now();
        self.enqueue_at(device, &backup_now_identifier(device.id, now), now)
            .await
    }

    /// A bulk "backup now": the jobs of every device of `devices` that can
    /// be backed up are created in one transaction — each joining its
    /// device's open job, as [`Dispatcher::backup_now`] does — and then
    /// published. Answers per device, in order: accepted, or why not.
    pub async fn backup_now_many(
        &self,
        devices: &[Device],
    ) -> Result<Vec<Result<Accepted, DispatchError>>, DbError> {
        let now = Timestamp::now();
        let mut out: Vec<Result<Accepted, DispatchError>> = Vec::with_capacity(devices.len());
        let mut ready = Vec::new();
        for (i, device) in devices.iter().enumerate() {
            match self.check_ready(device).await {
                Ok(()) => {
                    ready.push(i);
                    // Replaced below once the job exists.
                    out.push(Err(DispatchError::NotReady(String::new())));
                }
                Err(DispatchError::Db(e)) => return Err(e),
                Err(e) => out.push(Err(e)),
            }
        }
        let jobs: Vec<(String, String, i64)> = ready
            .iter()
            .map(|&i| {
                let id = devices[i].id;
                (super::new_task_id(), backup_now_identifier(id, now), id)
            })
            .collect();
        let joined = self.db.create_jobs(&jobs, now, self.deadline(now)).await?;
        let mut lookups = Lookups::default();
        let mut tasks = Vec::new();
        for ((&i, (task_id, task_identifier, _)), open) in ready.iter().zip(&jobs).zip(joined) {
            let device = &devices[i];
            let queue = self.queue_of(device, &mut lookups).await?;
            out[i] = Ok(match open {
                Some(job) => Accepted {
                    task_id: job.task_id,
                    task_identifier: job.task_identifier,
                    queue,
                    queued_at: Timestamp::parse(&job.queued_on).unwrap_or(now),
                    created: false,
                },
                None => {
                    self.metrics.job_moved(JobState::Queued);
                    match self
                        .collect_task(device, task_id, task_identifier, now, &mut lookups)
                        .await
                    {
                        Ok((queue, task)) => {
                            tasks.push((device.id, task_identifier.clone(), queue, task));
                        }
                        Err(e) => self.cannot_dispatch(device.id, task_identifier, e).await,
                    }
                    Accepted {
                        task_id: task_id.clone(),
                        task_identifier: task_identifier.clone(),
                        queue,
                        queued_at: now,
                        created: true,
                    }
                }
            });
        }
        self.send_all(tasks).await;
        Ok(out)
    }

    /// Publishes collection tasks, [`PUBLISH_CONCURRENCY`] at a time: each
    /// publish waits for the broker's confirm, so one after the other a
    /// bulk request of 1,000 devices took 1.5 s on RabbitMQ (issue 21).
    async fn send_all(&self, tasks: Vec<(i64, String, String, Task)>) {
        let mut tasks = tasks.into_iter();
        let mut running = tokio::task::JoinSet::new();
        loop {
            while running.len() < PUBLISH_CONCURRENCY {
                let Some((device_id, task_identifier, queue, task)) = tasks.next() else {
                    break;
                };
                let me = self.clone();
                running.spawn(async move {
                    me.send_collect(device_id, &task_identifier, &queue, task)
                        .await;
                });
            }
            if running.join_next().await.is_none() {
                break;
            }
        }
    }

    /// Creates the job `task_identifier` for `device` and publishes it,
    /// unless it exists already (then nothing is published).
    pub async fn enqueue_at(
        &self,
        device: &Device,
        task_identifier: &str,
        now: Timestamp,
    ) -> Result<Accepted, DispatchError> {
        let task_id = super::new_task_id();
        let created = self
            .db
            .create_job(
                &task_id,
                task_identifier,
                device.id,
                now,
                self.deadline(now),
            )
            .await?;
        if !created {
            // Either this identifier exists already (a replay), or the
            // device has a job queued or collecting: single-flight joins it.
            let job = match self.db.job(task_identifier).await {
                Ok(job) => job,
                Err(DbError::NotFound { .. }) => match self.db.open_job(device.id).await? {
                    Some(job) => job,
                    // The open job finished in between: nothing runs now,
                    // so this request deserves its own.
                    None => return Box::pin(self.enqueue_at(device, task_identifier, now)).await,
                },
                Err(e) => return Err(e.into()),
            };
            return Ok(Accepted {
                task_id: job.task_id,
                task_identifier: job.task_identifier,
                queue: self.queue_of(device, &mut Lookups::default()).await?,
                queued_at: Timestamp::parse(&job.queued_on).unwrap_or(now),
                created: false,
            });
        }
        self.metrics.job_moved(JobState::Queued);
        let mut lookups = Lookups::default();
        if let Err(e) = self.check_ready(device).await {
            self.fail_job(task_identifier, &e.to_string()).await?;
        } else {
            self.publish(device, &task_id, task_identifier, now, &mut lookups)
                .await;
        }
        Ok(Accepted {
            task_id,
            task_identifier: task_identifier.to_owned(),
            queue: self.queue_of(device, &mut lookups).await?,
            queued_at: now,
            created: true,
        })
    }

    /// The queue a collection of `device` goes to: its collection group's,
    /// or the default group's.
    async fn queue_of(&self, device: &Device, lookups: &mut Lookups) -> Result<String, DbError> {
        Ok(match device.fields.collection_group {
            Some(id) => lookups.group(&self.db, id).await?.0,
            None => format!("collector.group.{DEFAULT_GROUP_QUEUE_ID}"),
        })
    }

    fn deadline(&self, from: Timestamp) -> Timestamp {
        let d = time::Duration::try_from(self.settings.job_deadline)
            .unwrap_or(time::Duration::MINUTE * 15);
        Timestamp::from_datetime(from.as_datetime() + d)
    }

    /// Publishes the collection of a queued job. A failure to publish is
    /// logged and left to the deadline sweep: the job row is the record.
    async fn publish(
        &self,
        device: &Device,
        task_id: &str,
        task_identifier: &str,
        initiated_at: Timestamp,
        lookups: &mut Lookups,
    ) {
        match self
            .collect_task(device, task_id, task_identifier, initiated_at, lookups)
            .await
        {
            Ok((queue, task)) => {
                self.send_collect(device.id, task_identifier, &queue, task)
                    .await;
            }
            Err(e) => self.cannot_dispatch(device.id, task_identifier, e).await,
        }
    }

    /// Publishes a queued job's collection task; once the broker has it,
    /// the job is marked `collecting` (in a batch). A failure is logged and
    /// left to the deadline sweep.
    async fn send_collect(&self, device_id: i64, task_identifier: &str, queue: &str, task: Task) {
        match self.bus.publish(queue, task).await {
            Ok(()) => {
                tracing::info!(device_id, task_identifier, queue = %queue, "Collection task queued on {queue}");
                self.marks.mark(&self.db, &self.metrics, task_identifier);
            }
            Err(e) => {
                tracing::warn!(device_id, task_identifier, queue = %queue, error = %e, "publishing the collection failed; the deadline sweep will dispatch it again");
            }
        }
    }

    /// Fails a job whose collection task cannot be made.
    async fn cannot_dispatch(&self, device_id: i64, task_identifier: &str, e: DispatchError) {
        let reason = e.to_string();
        tracing::warn!(device_id, task_identifier, reason = %reason, "the job cannot be dispatched");
        if let Err(e) = self.fail_job(task_identifier, &reason).await {
            tracing::warn!(task_identifier, error = %e, "failing the job failed");
        }
    }

    async fn collect_task(
        &self,
        device: &Device,
        task_id: &str,
        task_identifier: &str,
        initiated_at: Timestamp,
        lookups: &mut Lookups,
    ) -> Result<(String, Task), DispatchError> {
        let f = &device.fields;
        let (queue, max_sessions) = match f.collection_group {
            Some(id) => lookups.group(&self.db, id).await?,
            None => (format!("collector.group.{DEFAULT_GROUP_QUEUE_ID}"), None),
        };
        let credential = match f.credential {
            Some(id) => Some(lookups.credential(&self.db, id).await?),
            None => None,
        };
        // A type deleted since: no limit or profile of its own.
        let device_type = match f.device_type {
            Some(id) => lookups.device_type(&self.db, id).await?,
            None => None,
        };
        let max_config_bytes = device_type
            .as_ref()
            .and_then(|t| t.max_config_bytes)
            .and_then(|n| u64::try_from(n).ok());
        // The device's own choices, else its type's, else the collector's.
        let p = &f.profile;
        let timeouts = match &device_type {
            Some(t) => p.timeouts.or(t.timeouts),
            None => p.timeouts,
        };
        let secs = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok());
        let jump = match &p.jump {
            Some(j) => Some(JumpJob {
                address: j.host.clone(),
                port: j.port,
                credential: match j.credential {
                    Some(id) => Some(lookups.credential(&self.db, id).await?),
                    None => None,
                },
            }),
            None => None,
        };
        let job = CollectJob {
            task_id: task_id.to_owned(),
            task_identifier: task_identifier.to_owned(),
            device_id: device.id,
            address: f.address.clone(),
            port: f.port,
            driver: f.driver.clone(),
            credential,
            timeout: secs(timeouts.job).unwrap_or(DEFAULT_JOB_TIMEOUT_SECS),
            initiated_at,
            max_config_bytes,
            transport: p.transport,
            legacy_algorithms: p
                .legacy_algorithms
                .unwrap_or_else(|| device_type.as_ref().is_some_and(|t| t.legacy_algorithms)),
            connect_timeout: secs(timeouts.connect),
            command_timeout: secs(timeouts.command),
            jump,
            max_sessions,
        };
        let arg = serde_json::to_value(&job).expect("a collect job serializes");
        Ok((queue, Task::with_arg(task_id.to_owned(), COLLECT_TASK, arg)))
    }

    /// Dispatches again every unfinished job whose deadline passed before
    /// `cutoff`, or fails it once it used up its dispatches. Returns how many
    /// jobs it dispatched or failed.
    pub async fn sweep(&self, cutoff: Timestamp) -> Result<usize, DispatchError> {
        // Each job at most once per sweep: a renewed deadline can still lie
        // before `cutoff` (at start the cutoff is far in the future).
        let mut seen = std::collections::HashSet::new();
        let mut handled = 0;
        loop {
            let jobs = self.db.overdue_jobs(cutoff, 200).await?;
            let fresh: Vec<_> = jobs
                .into_iter()
                .filter(|j| seen.insert(j.task_identifier.clone()))
                .collect();
            if fresh.is_empty() {
                return Ok(handled);
            }
            for job in fresh {
                if self.redispatch(&job).await? {
                    handled += 1;
                }
            }
        }
    }

    async fn redispatch(&self, job: &BackupJob) -> Result<bool, DispatchError> {
        let ti = job.task_identifier.as_str();
        if let Some(until) = self.still_allowed(job).await? {
            // Its collection may still be running: not overdue yet.
            return Ok(self.db.extend_job(ti, &job.deadline, until).await?);
        }
        if job.attempts >= self.settings.max_dispatches {
            let reason = format!(
                "no result after {} dispatches (each allowed {} s); giving up",
                job.attempts,
                self.settings.job_deadline.as_secs()
            );
            tracing::error!(device_id = job.device_id, task_identifier = ti, reason = %reason, "backup job failed");
            return Ok(self.fail_job(ti, &reason).await?);
        }
        let now = Timestamp::now();
        if !self
            .db
            .renew_job(ti, &job.deadline, self.deadline(now))
            .await?
        {
            return Ok(false);
        }
        let device = match self.db.device(job.device_id).await {
            Ok(d) => d,
            Err(DbError::NotFound { .. }) => return Ok(true),
            Err(e) => return Err(e.into()),
        };
        tracing::warn!(
            device_id = job.device_id,
            task_identifier = ti,
            attempt = job.attempts + 1,
            "job passed its deadline; dispatching it again"
        );
        let initiated = Timestamp::parse(&job.queued_on).unwrap_or(now);
        self.publish(
            &device,
            &job.task_id,
            ti,
            initiated,
            &mut Lookups::default(),
        )
        .await;
        Ok(true)
    }
}

impl<B: TaskBus> Dispatcher<B> {
    /// When an overdue job's device allows a collection longer than the
    /// pipeline's deadline (its own or its type's `job_timeout`, every
    /// retry and delay included, and a minute for the result to arrive):
    /// the time its last dispatch may run until, if that is still ahead.
    /// `updated_at` is the dispatch (or the collecting mark just after it)
    /// while the job is queued or collecting.
    async fn still_allowed(&self, job: &BackupJob) -> Result<Option<Timestamp>, DbError> {
        if !matches!(job.state, JobState::Queued | JobState::Collecting) {
            return Ok(None);
        }
        let device = match self.db.device(job.device_id).await {
            Ok(d) => d,
            Err(DbError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let own = device.fields.profile.timeouts.job;
        let typed = match (own, device.fields.device_type) {
            (None, Some(t)) => match self.db.device_type(t).await {
                Ok(t) => t.timeouts.job,
                Err(DbError::NotFound { .. }) => None,
                Err(e) => return Err(e),
            },
            _ => None,
        };
        let Some(secs) = own.or(typed).and_then(|s| u64::try_from(s).ok()) else {
            return Ok(None);
        };
        let needed = self
            .settings
            .collect_retry
            .worst_case(std::time::Duration::from_secs(secs))
            + std::time::Duration::from_secs(60);
        if needed <= self.settings.job_deadline {
            return Ok(None);
        }
        let Ok(dispatched) = Timestamp::parse(&job.updated_at) else {
            return Ok(None);
        };
        let until = Timestamp::from_datetime(
            dispatched.as_datetime()
                + time::Duration::try_from(needed).unwrap_or(time::Duration::DAY),
        );
        Ok((until > Timestamp::now()).then_some(until))
    }
}

/// The scheduler's view of the dispatcher.
impl<B: TaskBus> crate::scheduler::Enqueue for Dispatcher<B> {
    fn enqueue<'a>(
        &'a self,
        device: &'a Device,
        task_identifier: &'a str,
    ) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            self.enqueue_at(device, task_identifier, Timestamp::now())
                .await
                .map(|a| a.created)
                .map_err(|e| e.to_string())
        })
    }
}

/// Sweeps overdue jobs every `settings.sweep_interval` until `shutdown`.
pub async fn run_sweeper<B: TaskBus>(dispatcher: Dispatcher<B>, shutdown: CancellationToken) {
    let every = dispatcher.settings.sweep_interval;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        if let Err(e) = dispatcher.sweep(Timestamp::now()).await {
            tracing::warn!(error = %e, "sweeping overdue jobs failed");
        }
    }
}
