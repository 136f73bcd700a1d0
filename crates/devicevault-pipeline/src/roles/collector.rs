//! The collector worker: consumes `device.collect` tasks of one collection
//! group's queue, logs in to each device and appends the outcome to the
//! results stream (`device:results`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use devicevault_collect::{
    CollectOptions, Credential, DeviceTarget, DriverSet, FailedAttempt, JumpTarget, RetryPolicy,
    Secret, Transport, collect_attempts,
};
use devicevault_core::bus::{Delivery, ResultLog, TaskBus};
use devicevault_core::{DeviceResult, LogEntry, SealingKey, Severity, Status, Timestamp};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::dispatcher::COLLECT_TASK;
use crate::Settings;
use crate::collect_job::{CollectJob, DeviceTransport, SealedCredential, decode_sealed};
use crate::metrics::{Metrics, Stage};

const SOURCE: &str = "collector";

/// What a collector needs besides the bus.
#[derive(Debug)]
pub struct Collector<L> {
    pub log: L,
    pub key: SealingKey,
    pub drivers: Arc<DriverSet>,
    pub options: CollectOptions,
    pub retry: RetryPolicy,
    pub settings: Arc<Settings>,
    /// Bounds collections in flight across every queue of this collector
    /// (each queue is bounded by its group's `max_sessions` besides).
    pub slots: Arc<Semaphore>,
    /// One session per device at a time: a second task for a device waits
    /// for the first to finish (devices lock out or drop parallel logins).
    pub devices: DeviceLocks,
    pub metrics: Arc<Metrics>,
}

/// Locks keyed by device id; an entry lives while someone holds or waits
/// for it.
#[derive(Debug, Default)]
pub struct DeviceLocks(std::sync::Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>);

/// Held while a device is being collected.
#[derive(Debug)]
pub struct DeviceGuard<'a> {
    locks: &'a DeviceLocks,
    id: i64,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl DeviceLocks {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<tokio::sync::Mutex<()>>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until no other collection of device `id` runs here.
    pub async fn lock(&self, id: i64) -> DeviceGuard<'_> {
        let m = self.map().entry(id).or_default().clone();
        let guard = m.lock_owned().await;
        DeviceGuard {
            locks: self,
            id,
            guard: Some(guard),
        }
    }

    /// Devices being collected or waited for.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for DeviceGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self.locks.map();
        // Only the map holds it now: nobody waits, forget the entry.
        if map.get(&self.id).is_some_and(|m| Arc::strong_count(m) == 1) {
            map.remove(&self.id);
        }
    }
}

/// How many of one queue's tasks a collector takes at once: its
/// collection group's `max_sessions`, learnt from the jobs themselves
/// (a collector has no database). It starts at one, so the first job sets
/// the size before a second task is taken. Each collector process has its
/// own: in distributed mode the group's limit holds per collector process.
#[derive(Debug)]
pub struct QueueGate {
    permits: Arc<Semaphore>,
    size: std::sync::Mutex<usize>,
}

impl Default for QueueGate {
    fn default() -> Self {
        Self {
            permits: Arc::new(Semaphore::new(1)),
            size: std::sync::Mutex::new(1),
        }
    }
}

impl QueueGate {
    /// Sets how many tasks may be in flight. Growing frees permits at
    /// once; shrinking takes back the free ones now and the others as
    /// the tasks holding them finish.
    pub fn resize(&self, want: usize) {
        let want = want.clamp(1, Semaphore::MAX_PERMITS);
        let mut size = self.size.lock().unwrap_or_else(|p| p.into_inner());
        if want > *size {
            self.permits.add_permits(want - *size);
        } else if want < *size {
            let debt = *size - want;
            let rest = debt - self.permits.forget_permits(debt);
            if rest > 0 {
                let permits = self.permits.clone();
                tokio::spawn(async move {
                    let n = u32::try_from(rest).unwrap_or(u32::MAX);
                    if let Ok(p) = permits.acquire_many_owned(n).await {
                        p.forget();
                    }
                });
            }
        }
        *size = want;
    }

    /// The size last set.
    pub fn size(&self) -> usize {
        *self.size.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Consumes `queue` until `shutdown`; collections in flight finish first.
/// At most the queue's collection group's `max_sessions` tasks are taken
/// at once ([`QueueGate`]), and at most `slots` collections run across
/// every queue of this collector.
pub async fn run_collector<B: TaskBus, L: ResultLog>(
    bus: B,
    collector: Arc<Collector<L>>,
    queue: String,
    shutdown: CancellationToken,
) {
    let gate = Arc::new(QueueGate::default());
    let permits = gate.permits.clone();
    super::consume_queue(bus, queue, permits, shutdown, move |delivery| {
        let c = collector.clone();
        let gate = gate.clone();
        async move { handle(&c, &gate, delivery).await }
    })
    .await;
}

async fn handle<L: ResultLog>(c: &Collector<L>, gate: &QueueGate, delivery: Delivery) {
    let Delivery {
        task,
        queue,
        settle,
    } = delivery;
    if task.name != COLLECT_TASK {
        let reason = format!("{queue} carries {COLLECT_TASK} tasks, not {:?}", task.name);
        tracing::error!(queue = %queue, task_id = %task.id, reason = %reason, "task moved to the dead-letter queue");
        super::settled("dead-letter", &queue, &task.id, settle.dead_letter(reason)).await;
        return;
    }
    let arg = task.args.first().cloned().unwrap_or_default();
    let job: CollectJob = match serde_json::from_value(arg.clone()) {
        Ok(job) => job,
        Err(e) => {
            let reason = format!("malformed {COLLECT_TASK} task: {e}");
            // If the task names its job, the job fails visibly; otherwise
            // only the dead-letter queue can keep it.
            match partial_result(&arg, &reason) {
                Some(result)
                    if c.log
                        .append(&c.settings.results_stream, result.to_fields())
                        .await
                        .is_ok() =>
                {
                    tracing::error!(queue = %queue, task_identifier = %result.task_identifier, device_id = result.device_id, reason = %reason, "malformed task recorded as a failed collection");
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
    // The group's limit as its dispatcher sent it; without one (the
    // default group, an older dispatcher) the collector's own bound.
    gate.resize(
        job.max_sessions
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(c.settings.collector_concurrency),
    );
    let Ok(_slot) = c.slots.clone().acquire_owned().await else {
        return;
    };
    tracing::info!(device_id = job.device_id, task_identifier = %job.task_identifier, queue = %queue, "device_collect_start");
    let result = collect_one(c, &job).await;
    let status = result.status;
    match c
        .log
        .append(&c.settings.results_stream, result.to_fields())
        .await
    {
        Ok(_) => {
            c.metrics.stage_took(
                Stage::Collect,
                Duration::from_millis(result.collection_duration_ms),
            );
            tracing::info!(device_id = job.device_id, task_identifier = %job.task_identifier, queue = %queue, status = status.as_str(), duration_ms = result.collection_duration_ms, "device_collect_done");
            super::settled("ack", &queue, &task.id, settle.ack()).await;
        }
        Err(e) => {
            tracing::warn!(device_id = job.device_id, task_identifier = %job.task_identifier, queue = %queue, error = %e, "publishing the result failed; the collection will run again");
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

/// A failure result for a task whose body is malformed but names its job.
fn partial_result(arg: &serde_json::Value, reason: &str) -> Option<DeviceResult> {
    let task_identifier = arg.get("task_identifier")?.as_str()?.to_owned();
    let device_id = arg.get("device_id")?.as_i64()?;
    let task_id = arg
        .get("task_id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let now = Timestamp::now();
    Some(DeviceResult {
        task_id,
        task_identifier,
        device_id,
        status: Status::Failure,
        timestamp: now,
        log: vec![LogEntry::new(SOURCE, Severity::Error, reason)],
        device_config: String::new(),
        collection_duration_ms: 0,
        initiated_at: now,
        is_binary: false,
        author: None,
        change_key: None,
    })
}

/// Opens a sealed secret of a job.
fn open_secret(key: &SealingKey, sealed: &str, what: &str) -> Result<Secret, String> {
    let bytes = key.open(&decode_sealed(sealed)?).map_err(|e| {
        format!("cannot open the {what}: {e} (is this collector's key file the server's?)")
    })?;
    String::from_utf8(bytes)
        .map(Secret::new)
        .map_err(|_| format!("the {what} is not UTF-8"))
}

/// The login of a sealed credential: its key when it has one, else its
/// password — empty for a credential with only an API key, which the
/// collection refuses, naming the credential, wherever a password is needed.
fn login(key: &SealingKey, cred: &SealedCredential) -> Result<Credential, String> {
    if cred.private_key_sealed.is_none() && cred.password_sealed.is_empty() {
        return Ok(Credential::Password(Secret::new("")));
    }
    match &cred.private_key_sealed {
        Some(pem) => Ok(Credential::Key {
            pem: open_secret(key, pem, "private key")?,
            passphrase: match &cred.passphrase_sealed {
                Some(p) => Some(open_secret(key, p, "key passphrase")?),
                None => None,
            },
        }),
        None => Ok(Credential::Password(open_secret(
            key,
            &cred.password_sealed,
            "password",
        )?)),
    }
}

fn target(c: &Collector<impl ResultLog>, job: &CollectJob) -> Result<DeviceTarget, String> {
    let cred = job
        .credential
        .as_ref()
        .ok_or_else(|| format!("device {} has no credential", job.device_id))?;
    let mut t = DeviceTarget::password(
        job.address.clone(),
        job.port,
        cred.username.clone(),
        "",
        job.driver.clone(),
    );
    t.credential = login(&c.key, cred)?;
    if let Some(s) = &cred.enable_secret_sealed {
        t.enable_secret = Some(open_secret(&c.key, s, "enable secret")?);
    }
    if let Some(k) = &cred.api_key_sealed {
        t.api_key = Some(open_secret(&c.key, k, "API key")?);
    }
    t.credential_name = cred.name.clone();
    t.transport = match job.transport {
        DeviceTransport::Ssh => Transport::Ssh,
        DeviceTransport::Telnet => Transport::Telnet,
    };
    t.legacy_algorithms = job.legacy_algorithms;
    t.max_config_bytes = job.max_config_bytes.and_then(|n| usize::try_from(n).ok());
    if let Some(j) = &job.jump {
        let jc = j.credential.as_ref().unwrap_or(cred);
        if jc.private_key_sealed.is_none() && jc.password_sealed.is_empty() {
            return Err(format!(
                "the jump host's credential{} has no password or private key (only an API key)",
                if jc.name.is_empty() {
                    String::new()
                } else {
                    format!(" `{}`", jc.name)
                }
            ));
        }
        t.jump = Some(JumpTarget {
            host: j.address.clone(),
            port: j.port,
            username: jc.username.clone(),
            credential: login(&c.key, jc)?,
        });
    }
    Ok(t)
}

/// The collector's options with the job's own timeouts.
fn options_for(c: &CollectOptions, job: &CollectJob) -> CollectOptions {
    let mut opts = c.clone();
    if job.timeout > 0 {
        opts.job_timeout = Duration::from_secs(job.timeout);
    }
    if let Some(s) = job.connect_timeout.filter(|s| *s > 0) {
        opts.connect_timeout = Duration::from_secs(s);
    }
    if let Some(s) = job.command_timeout.filter(|s| *s > 0) {
        opts.command_timeout = Duration::from_secs(s);
    }
    opts
}

async fn collect_one<L: ResultLog>(c: &Collector<L>, job: &CollectJob) -> DeviceResult {
    let started = Instant::now();
    let mut log = Vec::new();
    let outcome = match target(c, job) {
        Err(reason) => Err(reason),
        Ok(t) => {
            log.push(LogEntry::new(
                SOURCE,
                Severity::Info,
                format!("connecting to {} with driver {}", t.display(), job.driver),
            ));
            let opts = options_for(&c.options, job);
            let _one_session = c.devices.lock(job.device_id).await;
            let _open = c.metrics.session_opened();
            let attempts = collect_attempts(&t, &c.drivers, &opts, &c.retry).await;
            log_attempts(&mut log, &attempts.failures, c.retry.max_retries + 1);
            attempts.into_result().map_err(|e| e.to_string())
        }
    };
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (mut author, mut change_key) = (None, None);
    let (status, device_config, is_binary) = match outcome {
        Ok(collected) => {
            author = collected.author;
            change_key = collected.change_key;
            log.push(LogEntry::new(
                SOURCE,
                Severity::Info,
                format!(
                    "collected {} bytes in {} ms",
                    collected.config.len(),
                    collected.duration.as_millis()
                ),
            ));
            // A binary driver's bytes stay binary even when they happen to
            // be UTF-8 (a tar of text files is): stored byte for byte,
            // never read as text downstream.
            match String::from_utf8(collected.config) {
                Ok(text) if !collected.binary => (Status::Success, text, false),
                Ok(text) => (
                    Status::Success,
                    base64::engine::general_purpose::STANDARD.encode(text.into_bytes()),
                    true,
                ),
                Err(e) => (
                    Status::Success,
                    base64::engine::general_purpose::STANDARD.encode(e.into_bytes()),
                    true,
                ),
            }
        }
        Err(reason) => {
            log.push(LogEntry::new(SOURCE, Severity::Error, reason));
            (Status::Failure, String::new(), false)
        }
    };
    DeviceResult {
        task_id: job.task_id.clone(),
        task_identifier: job.task_identifier.clone(),
        device_id: job.device_id,
        status,
        timestamp: Timestamp::now(),
        log,
        device_config,
        collection_duration_ms: duration_ms,
        initiated_at: job.initiated_at,
        is_binary,
        author,
        change_key,
    }
}

/// Where a job's log shows what the device sent.
pub const DEVICE_OUTPUT_SOURCE: &str = "device";

/// Each failed attempt into the job's log: a retried one as a warning with
/// its delay, and the device's last lines (masked by the collection) as an
/// entry of their own, so a person sees every try and what the device said
/// before it failed. The final error itself is the log's last error entry
/// (the job's reason), written by the caller.
fn log_attempts(log: &mut Vec<LogEntry>, failures: &[FailedAttempt], max_attempts: u32) {
    for (n, f) in failures.iter().enumerate() {
        let n = n + 1;
        if let Some(delay) = f.retry_in {
            log.push(LogEntry::new(
                SOURCE,
                Severity::Warning,
                format!(
                    "attempt {n} of {max_attempts} failed: {}; retrying in {}",
                    f.error,
                    if delay < Duration::from_secs(1) {
                        format!("{} ms", delay.as_millis())
                    } else {
                        format!("{:.1} s", delay.as_secs_f64())
                    }
                ),
            ));
        } else if n > 1 {
            log.push(LogEntry::new(
                SOURCE,
                Severity::Info,
                format!("attempt {n} of {max_attempts} failed; giving up"),
            ));
        }
        if !f.device_output.is_empty() {
            log.push(LogEntry::new(
                DEVICE_OUTPUT_SOURCE,
                Severity::Info,
                format!(
                    "last {} lines received before attempt {n} failed (secrets masked):\n{}",
                    f.device_output.len(),
                    f.device_output.join("\n")
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failed_attempt_is_logged_with_its_delay_and_the_devices_last_lines() {
        let timeout = || devicevault_collect::CollectError::Timeout {
            target: "admin@r1:22".into(),
            stage: "waiting for the first prompt".into(),
            elapsed: Duration::from_secs(10),
        };
        let failures = [
            FailedAttempt {
                error: timeout(),
                device_output: vec!["banner".into(), "r1>".into()],
                retry_in: Some(Duration::from_millis(1200)),
            },
            FailedAttempt {
                error: timeout(),
                device_output: Vec::new(),
                retry_in: None,
            },
        ];
        let mut log = Vec::new();
        log_attempts(&mut log, &failures, 4);
        let text: Vec<(&str, Severity, &str)> = log
            .iter()
            .map(|e| (e.source.as_str(), e.severity, e.message.as_str()))
            .collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert_eq!(text[0].1, Severity::Warning);
        assert!(
            text[0]
                .2
                .starts_with("attempt 1 of 4 failed: timed out after 10s"),
            "{text:?}"
        );
        assert!(text[0].2.ends_with("retrying in 1.2 s"), "{text:?}");
        assert_eq!(text[1].0, DEVICE_OUTPUT_SOURCE);
        assert!(text[1].2.ends_with(":\nbanner\nr1>"), "{text:?}");
        assert_eq!(text[2].2, "attempt 2 of 4 failed; giving up");
        // The reason a person reads first stays the caller's final error.
        assert!(log.iter().all(|e| e.severity != Severity::Error));
    }

    #[tokio::test]
    async fn a_queue_gate_grows_at_once_and_shrinks_as_its_permits_come_back() {
        let gate = QueueGate::default();
        assert_eq!(gate.permits.available_permits(), 1, "one until a job says");
        gate.resize(4);
        assert_eq!(gate.permits.available_permits(), 4);
        let held = gate.permits.clone().acquire_many_owned(3).await.unwrap();
        gate.resize(2);
        assert_eq!(gate.size(), 2);
        assert_eq!(
            gate.permits.available_permits(),
            0,
            "the free one is taken back"
        );
        drop(held);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            gate.permits.available_permits(),
            2,
            "the rest of the debt is paid as the held permits return"
        );
    }

    #[tokio::test]
    async fn a_device_is_collected_by_one_task_at_a_time_and_its_lock_is_forgotten() {
        let locks = Arc::new(DeviceLocks::default());
        let first = locks.lock(7).await;
        let l = locks.clone();
        let waiter = tokio::spawn(async move {
            let _g = l.lock(7).await;
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "a second session of device 7 waits");
        let other = locks.lock(8).await;
        drop(other);
        drop(first);
        waiter.await.unwrap();
        assert!(locks.is_empty(), "no entry outlives its users");
    }
}
