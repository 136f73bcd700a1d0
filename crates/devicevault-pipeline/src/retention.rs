//! Retention passes (issue 17), run by the scheduler role in both
//! deployments.
//!
//! A pass does three things, each safe to repeat and to run beside the
//! pipeline and another pass:
//!
//! 1. for each location that limits what it keeps, deletes the index rows
//!    of the versions it no longer keeps and queues the files of fs
//!    versions ([`devicevault_db::retention`] says which versions go and
//!    which never do);
//! 2. deletes failed results and finished jobs past their own periods
//!    (`retention.failed_results_days`, `retention.finished_jobs_days`);
//! 3. removes the queued files whose grace has passed, through the
//!    storage worker of the location (`storage.remove` on `storage.fs`),
//!    which is the process that holds the files in a distributed
//!    deployment and checks the storage roots as for any task.
//!
//! Git locations keep their history whole: a pruned git version leaves the
//! index only (its commit stays reachable from the branch, so a download
//! that resolved the row still reads it). Squashing old history is not
//! done; see `docs/RETENTION.md`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use devicevault_core::Timestamp;
use devicevault_core::bus::{BoxFuture, Task, TaskBus};
use devicevault_db::retention::before;
use devicevault_db::{Db, DbError, DueRemoval, HistoryPruned, PrunedVersion};
use serde_json::{Map, Value};

use crate::roles::new_task_id;
use crate::roles::storage_worker::REMOVE_TASK;
use crate::settings::RetentionSettings;

/// Removes a pruned version's file where it is stored.
pub trait Remove: Send + Sync {
    /// `Ok(true)` when the file was removed, `Ok(false)` when it was gone
    /// already; `Err` (a reason) leaves it queued for the next pass.
    fn remove<'a>(&'a self, r: &'a DueRemoval) -> BoxFuture<'a, Result<bool, String>>;
}

/// [`Remove`] through the storage worker of the location's backend.
#[derive(Debug, Clone)]
pub struct BusRemover<B> {
    pub bus: B,
    /// The reply's timeout (`pipeline.read_timeout`).
    pub timeout: Duration,
}

impl<B: TaskBus> Remove for BusRemover<B> {
    fn remove<'a>(&'a self, r: &'a DueRemoval) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let mut kwargs = Map::new();
            kwargs.insert("storage_backend".into(), r.storage_backend.as_str().into());
            kwargs.insert("storage_ref".into(), r.storage_ref.clone().into());
            kwargs.insert("storage_config".into(), Value::Object(r.config.clone()));
            let task = Task {
                id: new_task_id(),
                name: REMOVE_TASK.into(),
                args: Vec::new(),
                kwargs,
                retries: 0,
            };
            let reply = self
                .bus
                .call(r.storage_backend.queue(), task, self.timeout)
                .await
                .map_err(|e| e.to_string())?;
            Ok(reply.get("removed").and_then(Value::as_bool) == Some(true))
        })
    }
}

/// [`Remove`] in this process, for `devicevault retention run` on the
/// host that holds the files: the location is checked against the storage
/// roots first, as the storage worker checks it.
#[derive(Debug, Clone, Default)]
pub struct DirectRemover {
    pub roots: Option<devicevault_storage::StorageRoots>,
}

impl Remove for DirectRemover {
    fn remove<'a>(&'a self, r: &'a DueRemoval) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            if let Some(roots) = &self.roots {
                roots
                    .check_location(r.storage_backend, &r.config)
                    .map_err(|e| e.to_string())?;
            }
            let backend = devicevault_storage::open_backend(r.storage_backend, &r.config)
                .map_err(|e| e.to_string())?;
            let storage_ref = r.storage_ref.clone();
            tokio::task::spawn_blocking(move || backend.remove_str(&storage_ref))
                .await
                .map_err(|e| format!("the removal panicked: {e}"))?
                .map_err(|e| e.to_string())
        })
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    /// The versions pruned, by location.
    pub versions: Vec<(i64, Vec<PrunedVersion>)>,
    /// Failed results and finished jobs deleted.
    pub history: HistoryPruned,
    /// Files removed after their grace.
    pub files_removed: usize,
}

/// The cut-offs of failed results and finished jobs at `now`.
pub fn history_cutoffs(
    s: &RetentionSettings,
    now: Timestamp,
) -> (Option<Timestamp>, Option<Timestamp>) {
    let days = |d: Option<u32>| d.map(|d| before(now, Duration::from_secs(u64::from(d) * 86_400)));
    (days(s.failed_results_days), days(s.finished_jobs_days))
}

/// Prunes one location at `now`: its rows go at once, its fs files after
/// `grace`.
pub async fn prune_location(
    db: &Db,
    location_id: i64,
    now: Timestamp,
    grace: Duration,
) -> Result<Vec<PrunedVersion>, DbError> {
    let remove_after = Timestamp::from_datetime(now.as_datetime() + grace);
    let gone = db.apply_retention(location_id, now, remove_after).await?;
    if !gone.is_empty() {
        tracing::info!(
            location_id,
            versions = gone.len(),
            bytes = gone.iter().filter_map(|v| v.size).sum::<i64>(),
            "retention pruned versions"
        );
    }
    Ok(gone)
}

/// Removes the files whose grace has passed at `now`; returns how many
/// were removed. A file another row still names stays; a failed removal
/// stays queued for the next pass.
pub async fn remove_due(db: &Db, remover: &dyn Remove, now: Timestamp) -> Result<usize, DbError> {
    let mut removed = 0;
    loop {
        let due = db.due_removals(now, 200).await?;
        if due.is_empty() {
            return Ok(removed);
        }
        let mut progressed = false;
        for r in &due {
            if db.removal_still_referenced(r).await? {
                db.finish_removal(r.id).await?;
                progressed = true;
                continue;
            }
            match remover.remove(r).await {
                Ok(gone) => {
                    removed += usize::from(gone);
                    db.finish_removal(r.id).await?;
                    progressed = true;
                }
                Err(error) => tracing::warn!(
                    location_id = r.location_id,
                    storage_ref = %r.storage_ref,
                    %error,
                    "removing a pruned version's file failed; it is tried again next pass"
                ),
            }
        }
        if !progressed {
            return Ok(removed);
        }
    }
}

/// One whole pass at `now` (see the module docs).
pub async fn run_pass(
    db: &Db,
    remover: &dyn Remove,
    settings: &RetentionSettings,
    now: Timestamp,
) -> Result<PassReport, DbError> {
    let mut report = PassReport::default();
    for location_id in db.locations_with_retention().await? {
        let gone = prune_location(db, location_id, now, settings.grace).await?;
        if !gone.is_empty() {
            report.versions.push((location_id, gone));
        }
    }
    let (failed, jobs) = history_cutoffs(settings, now);
    report.history = db.prune_history(failed, jobs, false).await?;
    if report.history != HistoryPruned::default() {
        tracing::info!(
            failed_results = report.history.failed_results,
            failed_stored = report.history.failed_stored,
            finished_jobs = report.history.finished_jobs,
            "retention pruned failed results and finished jobs"
        );
    }
    report.files_removed = remove_due(db, remover, now).await?;
    Ok(report)
}

/// Runs a pass every `settings.interval` (the first one a tick after the
/// start) until `shutdown` completes.
pub async fn run_retention(
    db: Db,
    remover: Arc<dyn Remove>,
    settings: RetentionSettings,
    shutdown: impl Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut ticks = tokio::time::interval(settings.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = ticks.tick() => {}
        }
        if let Err(e) = run_pass(&db, &*remover, &settings, Timestamp::now()).await {
            tracing::warn!(error = %e, "retention pass failed; it runs again next interval");
        }
    }
}
