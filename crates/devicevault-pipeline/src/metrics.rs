//! Every metric a DeviceVault process exposes, named and labelled here
//! only. A process builds one [`Metrics`] (its own registry, not the
//! crate's global one, so two servers in one test process keep their
//! counts apart) and the assembly hands it to each role; the roles count
//! where things happen, and what only the database knows (the fleet's
//! figures) is read when the metrics are scraped, by the processes that
//! are handed the database for it ([`Metrics::exposition`]): `serve` and the
//! `api` role, so each figure is shown once. At a scrape each process also
//! asks what it consumes and writes, where the bus can tell (optional
//! capabilities [`QueueStats`] and [`StreamStats`]): its queues' depth, its
//! streams' pending entries and lag, its Git repositories' object counts. The text is served by the HTTP
//! crates, so this crate stays free of HTTP.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use devicevault_core::Timestamp;
use devicevault_core::bus::{BoxFuture, QueueStats, StreamStats};
use devicevault_db::{Db, DbError, IndexBatch, JobState};
use devicevault_storage::ObjectCounts;
use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// What holds Git repositories and can count their objects at a scrape
/// (the storage worker: the repositories it has opened).
pub trait Repositories: Send + Sync + 'static {
    fn repository_objects(&self) -> BoxFuture<'_, Vec<ObjectCounts>>;
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), labels).expect("a valid metric")
}

/// Buckets of the pipeline's stages, in seconds: from a store of a few
/// milliseconds to a collection of minutes.
const STAGE_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Buckets of whole jobs, in seconds: up to past the default deadline
/// (15 min) and its re-dispatches.
const JOB_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
];

/// Buckets of HTTP requests, in seconds.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The stages whose durations are observed, one observation per job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A collection, login to result (the collector's `collection_duration_ms`).
    Collect,
    /// A store by the storage worker (its `storage_duration_ms`).
    Store,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Self::Collect => "collect",
            Self::Store => "store",
        }
    }
}

/// The result stream a consumer's index transaction wrote for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexStream {
    DeviceResults,
    StorageResults,
}

impl IndexStream {
    fn as_str(self) -> &'static str {
        match self {
            Self::DeviceResults => "device_results",
            Self::StorageResults => "storage_results",
        }
    }
}

/// Why the metrics could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("reading the database's figures: {0}")]
    Db(#[from] DbError),
    #[error("encoding the metrics: {0}")]
    Encode(#[from] prometheus::Error),
}

/// The metrics of one process, with typed handles.
pub struct Metrics {
    registry: Registry,
    /// The fleet's figures, read from the database at each scrape; shown
    /// only when they could be read (never a stale or made-up value).
    fleet: Registry,
    /// `devicevault_jobs_total{state}`: backup jobs that moved to a state
    /// here (`queued` by the dispatcher; `collecting`, `collected`; the
    /// outcomes `stored` and `failed`). Counted only when the row moved, so
    /// a replayed result counts nothing.
    jobs: IntCounterVec,
    /// `devicevault_stage_duration_seconds{stage}`.
    stages: HistogramVec,
    /// `devicevault_job_duration_seconds{outcome}`: queued to stored or
    /// failed, for the jobs whose outcome a result consumer recorded.
    job_seconds: HistogramVec,
    /// `devicevault_index_transaction_duration_seconds{stream}`: each
    /// write transaction of a result consumer (one per read batch).
    index: HistogramVec,
    /// `devicevault_collector_sessions_open`: collections in flight.
    sessions_open: IntGauge,
    /// `devicevault_devices_stale` (read at scrape).
    devices_stale: IntGauge,
    /// `devicevault_oldest_last_success_age_seconds` (read at scrape).
    oldest_success_age: IntGauge,
    /// `devicevault_notification_deliveries{state}` (read at scrape).
    deliveries: IntGaugeVec,
    /// `devicevault_http_requests_total{method,route,status}`.
    http_requests: IntCounterVec,
    /// `devicevault_http_request_duration_seconds{method,route}`.
    http_seconds: HistogramVec,
    /// What is asked at each scrape: the queues and streams this process
    /// consumes, the repositories it writes. Their gauges are emptied
    /// first, so a queue that cannot be asked shows nothing, not an old
    /// value.
    queues: Mutex<Vec<(Arc<dyn QueueStats>, String)>>,
    streams: Mutex<Vec<(Arc<dyn StreamStats>, String)>>,
    repositories: Mutex<Vec<Arc<dyn Repositories>>>,
    /// `devicevault_queue_messages_ready{queue}`.
    queue_ready: IntGaugeVec,
    /// `devicevault_queue_consumers{queue}`.
    queue_consumers: IntGaugeVec,
    /// `devicevault_stream_pending_entries{stream,group}`.
    stream_pending: IntGaugeVec,
    /// `devicevault_stream_lag_entries{stream,group}`.
    stream_lag: IntGaugeVec,
    /// `devicevault_repository_loose_objects{repository}`.
    repo_loose: IntGaugeVec,
    /// `devicevault_repository_packs{repository}`.
    repo_packs: IntGaugeVec,
    /// One scrape at a time: a scrape empties and refills the gauges.
    scraping: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The states a job's counter is shown with from the start (at zero).
const JOB_STATES: [JobState; 5] = [
    JobState::Queued,
    JobState::Collecting,
    JobState::Collected,
    JobState::Stored,
    JobState::Failed,
];

/// The delivery states always shown (at zero when none).
const DELIVERY_STATES: [&str; 4] = ["pending", "delivering", "delivered", "dead"];

impl Metrics {
    /// A fresh registry with every metric of DeviceVault registered.
    pub fn new() -> Self {
        let registry = Registry::new();
        let fleet = Registry::new();
        let jobs = IntCounterVec::new(
            Opts::new(
                "devicevault_jobs_total",
                "Backup jobs moved to each state by this process (stored and failed are the outcomes).",
            ),
            &["state"],
        )
        .expect("a valid metric");
        let stages = HistogramVec::new(
            HistogramOpts::new(
                "devicevault_stage_duration_seconds",
                "Duration of each job's pipeline stage (collect: by the collector; store: by the storage worker).",
            )
            .buckets(STAGE_BUCKETS.to_vec()),
            &["stage"],
        )
        .expect("a valid metric");
        let job_seconds = HistogramVec::new(
            HistogramOpts::new(
                "devicevault_job_duration_seconds",
                "Time from a job's queueing to its outcome, observed by the result consumer that recorded it.",
            )
            .buckets(JOB_BUCKETS.to_vec()),
            &["outcome"],
        )
        .expect("a valid metric");
        let index = HistogramVec::new(
            HistogramOpts::new(
                "devicevault_index_transaction_duration_seconds",
                "Duration of a result consumer's index write (one transaction per batch of stream entries).",
            )
            .buckets(STAGE_BUCKETS.to_vec()),
            &["stream"],
        )
        .expect("a valid metric");
        let sessions_open = IntGauge::new(
            "devicevault_collector_sessions_open",
            "Collections in flight in this collector.",
        )
        .expect("a valid metric");
        let devices_stale = IntGauge::new(
            "devicevault_devices_stale",
            "Live devices without a successful backup for longer than their threshold.",
        )
        .expect("a valid metric");
        let oldest_success_age = IntGauge::new(
            "devicevault_oldest_last_success_age_seconds",
            "Age of the oldest last successful backup among live, enabled devices (0 when none has one).",
        )
        .expect("a valid metric");
        let deliveries = IntGaugeVec::new(
            Opts::new(
                "devicevault_notification_deliveries",
                "Notification deliveries in the outbox, by state.",
            ),
            &["state"],
        )
        .expect("a valid metric");
        let http_requests = IntCounterVec::new(
            Opts::new(
                "devicevault_http_requests_total",
                "HTTP requests answered, by route template and status.",
            ),
            &["method", "route", "status"],
        )
        .expect("a valid metric");
        let http_seconds = HistogramVec::new(
            HistogramOpts::new(
                "devicevault_http_request_duration_seconds",
                "Time to answer an HTTP request (to its response's head), by route template.",
            )
            .buckets(HTTP_BUCKETS.to_vec()),
            &["method", "route"],
        )
        .expect("a valid metric");
        let queue_ready = gauge_vec(
            "devicevault_queue_messages_ready",
            "Messages waiting in a queue this process consumes (delivered, unacked ones not counted).",
            &["queue"],
        );
        let queue_consumers = gauge_vec(
            "devicevault_queue_consumers",
            "Consumers of a queue this process consumes, as the broker counts them.",
            &["queue"],
        );
        let stream_pending = gauge_vec(
            "devicevault_stream_pending_entries",
            "Stream entries delivered to a consumer group and not yet acknowledged.",
            &["stream", "group"],
        );
        let stream_lag = gauge_vec(
            "devicevault_stream_lag_entries",
            "Stream entries not yet delivered to a consumer group.",
            &["stream", "group"],
        );
        let repo_loose = gauge_vec(
            "devicevault_repository_loose_objects",
            "Loose objects of a Git repository this storage worker writes.",
            &["repository"],
        );
        let repo_packs = gauge_vec(
            "devicevault_repository_packs",
            "Pack files of a Git repository this storage worker writes.",
            &["repository"],
        );
        for c in [
            Box::new(jobs.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(queue_ready.clone()),
            Box::new(queue_consumers.clone()),
            Box::new(stream_pending.clone()),
            Box::new(stream_lag.clone()),
            Box::new(repo_loose.clone()),
            Box::new(repo_packs.clone()),
            Box::new(stages.clone()),
            Box::new(job_seconds.clone()),
            Box::new(index.clone()),
            Box::new(sessions_open.clone()),
            Box::new(http_requests.clone()),
            Box::new(http_seconds.clone()),
        ] {
            registry.register(c).expect("metric names are unique");
        }
        for c in [
            Box::new(devices_stale.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(oldest_success_age.clone()),
            Box::new(deliveries.clone()),
        ] {
            fleet.register(c).expect("metric names are unique");
        }
        for state in JOB_STATES {
            jobs.with_label_values(&[state.as_str()]);
        }
        for stage in [Stage::Collect, Stage::Store] {
            stages.with_label_values(&[stage.as_str()]);
        }
        for outcome in [JobState::Stored, JobState::Failed] {
            job_seconds.with_label_values(&[outcome.as_str()]);
        }
        Self {
            registry,
            fleet,
            jobs,
            stages,
            job_seconds,
            index,
            sessions_open,
            devices_stale,
            oldest_success_age,
            deliveries,
            http_requests,
            http_seconds,
            queues: Mutex::default(),
            streams: Mutex::default(),
            repositories: Mutex::default(),
            queue_ready,
            queue_consumers,
            stream_pending,
            stream_lag,
            repo_loose,
            repo_packs,
            scraping: tokio::sync::Mutex::new(()),
        }
    }

    /// Shows `queue`'s depth, asked of `stats` at each scrape (once per
    /// queue, however often it is named).
    pub fn watch_queue(&self, stats: Arc<dyn QueueStats>, queue: &str) {
        let mut queues = lock(&self.queues);
        if !queues.iter().any(|(_, q)| q == queue) {
            queues.push((stats, queue.to_owned()));
        }
    }

    /// Shows the backlog of `stream`'s consumer groups, asked of `stats`
    /// at each scrape.
    pub fn watch_stream(&self, stats: Arc<dyn StreamStats>, stream: &str) {
        let mut streams = lock(&self.streams);
        if !streams.iter().any(|(_, s)| s == stream) {
            streams.push((stats, stream.to_owned()));
        }
    }

    /// Shows the object counts of `source`'s repositories at each scrape.
    pub fn watch_repositories(&self, source: Arc<dyn Repositories>) {
        lock(&self.repositories).push(source);
    }

    /// Asks the queues, streams and repositories watched, refilling their
    /// gauges; what cannot be asked is left out with a warning.
    async fn probe(&self) {
        for g in [
            &self.queue_ready,
            &self.queue_consumers,
            &self.stream_pending,
            &self.stream_lag,
            &self.repo_loose,
            &self.repo_packs,
        ] {
            g.reset();
        }
        let queues = lock(&self.queues).clone();
        for (stats, queue) in queues {
            match stats.queue_depth(&queue).await {
                Ok(Some(d)) => {
                    self.queue_ready
                        .with_label_values(&[&queue])
                        .set(i64::try_from(d.ready).unwrap_or(i64::MAX));
                    if let Some(c) = d.consumers {
                        self.queue_consumers
                            .with_label_values(&[&queue])
                            .set(i64::try_from(c).unwrap_or(i64::MAX));
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(queue = %queue, error = %e, "the queue's depth is left out of this scrape")
                }
            }
        }
        let streams = lock(&self.streams).clone();
        for (stats, stream) in streams {
            match stats.stream_backlog(&stream).await {
                Ok(groups) => {
                    for g in groups {
                        let labels = [stream.as_str(), g.group.as_str()];
                        self.stream_pending
                            .with_label_values(&labels)
                            .set(i64::try_from(g.pending).unwrap_or(i64::MAX));
                        if let Some(lag) = g.lag {
                            self.stream_lag
                                .with_label_values(&labels)
                                .set(i64::try_from(lag).unwrap_or(i64::MAX));
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(stream = %stream, error = %e, "the stream's backlog is left out of this scrape")
                }
            }
        }
        let sources = lock(&self.repositories).clone();
        for source in sources {
            for r in source.repository_objects().await {
                self.repo_loose
                    .with_label_values(&[&r.repository])
                    .set(i64::try_from(r.loose).unwrap_or(i64::MAX));
                self.repo_packs
                    .with_label_values(&[&r.repository])
                    .set(i64::try_from(r.packs).unwrap_or(i64::MAX));
            }
        }
    }

    /// A job moved to `state`.
    pub fn job_moved(&self, state: JobState) {
        self.jobs.with_label_values(&[state.as_str()]).inc();
    }

    /// Counts the job moves of `batch` that `changed` (what
    /// [`Db::apply`] returned for it) says happened.
    pub fn count_job_moves(&self, batch: &IndexBatch, changed: &[bool]) {
        self.count_job_moves_since(batch, changed, &HashMap::new());
    }

    /// [`Metrics::count_job_moves`], and for each job that reached its
    /// outcome and whose queueing time `queued` knows, its duration.
    pub fn count_job_moves_since(
        &self,
        batch: &IndexBatch,
        changed: &[bool],
        queued: &HashMap<String, Timestamp>,
    ) {
        let now = Timestamp::now().as_datetime();
        for (i, task_identifier, state) in batch.job_moves() {
            if !changed.get(i).copied().unwrap_or(false) {
                continue;
            }
            self.job_moved(state);
            if matches!(state, JobState::Stored | JobState::Failed)
                && let Some(since) = queued.get(task_identifier)
            {
                let took = (now - since.as_datetime()).as_seconds_f64().max(0.0);
                self.job_seconds
                    .with_label_values(&[state.as_str()])
                    .observe(took);
            }
        }
    }

    /// One job's `stage` took `took`.
    pub fn stage_took(&self, stage: Stage, took: Duration) {
        self.stages
            .with_label_values(&[stage.as_str()])
            .observe(took.as_secs_f64());
    }

    /// An index transaction for `stream` took `took`.
    pub fn index_took(&self, stream: IndexStream, took: Duration) {
        self.index
            .with_label_values(&[stream.as_str()])
            .observe(took.as_secs_f64());
    }

    /// A collection started; the gauge goes down when the guard drops.
    pub fn session_opened(&self) -> SessionGuard {
        self.sessions_open.inc();
        SessionGuard(self.sessions_open.clone())
    }

    /// An HTTP request to the route template `route` (never the raw path:
    /// ids would make a series each) answered `status` after `took`.
    pub fn http_answered(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.http_requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.http_seconds
            .with_label_values(&[method, route])
            .observe(took.as_secs_f64());
    }

    /// Reads what only the database knows: stale devices, the oldest last
    /// success, the outbox by state. A few COUNT queries per scrape.
    async fn refresh_fleet(&self, db: &Db) -> Result<(), MetricsError> {
        let health = db.health_figures().await?;
        self.devices_stale.set(health.stale_devices);
        let age = health.oldest_last_success.map_or(0, |t| {
            (Timestamp::now().as_datetime() - t.as_datetime())
                .whole_seconds()
                .max(0)
        });
        self.oldest_success_age.set(age);
        let counts = db.delivery_counts().await?;
        self.deliveries.reset();
        for state in DELIVERY_STATES {
            self.deliveries.with_label_values(&[state]).set(0);
        }
        for (state, n) in counts {
            self.deliveries.with_label_values(&[&state]).set(n);
        }
        Ok(())
    }

    /// The text exposition format (version 0.0.4) of this process's
    /// metrics, and with `db` the fleet's figures read from it now (left
    /// out, with a warning, when the database cannot answer).
    pub async fn exposition(&self, db: Option<&Db>) -> Result<String, MetricsError> {
        let _one = self.scraping.lock().await;
        self.probe().await;
        let mut families = self.registry.gather();
        if let Some(db) = db {
            match self.refresh_fleet(db).await {
                Ok(()) => families.extend(self.fleet.gather()),
                Err(e) => {
                    tracing::warn!(error = %e, "the fleet's metrics are left out of this scrape")
                }
            }
        }
        let mut out = Vec::new();
        TextEncoder::new().encode(&families, &mut out)?;
        Ok(String::from_utf8(out).expect("the text format is UTF-8"))
    }
}

/// Holds one open collector session in the gauge.
#[derive(Debug)]
pub struct SessionGuard(IntGauge);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fresh_registry_shows_every_job_state_at_zero() {
        let m = Metrics::new();
        let text = m.exposition(None).await.unwrap();
        for state in JOB_STATES {
            assert!(
                text.contains(&format!(
                    "devicevault_jobs_total{{state=\"{}\"}} 0",
                    state.as_str()
                )),
                "{text}"
            );
        }
    }

    #[tokio::test]
    async fn only_the_moves_that_happened_are_counted() {
        let m = Metrics::new();
        let mut batch = IndexBatch::new();
        batch.advance_job("a", JobState::Stored, None);
        batch.advance_job("b", JobState::Stored, None);
        batch.advance_job("c", JobState::Failed, Some("x"));
        m.count_job_moves(&batch, &[true, false, true]);
        let text = m.exposition(None).await.unwrap();
        assert!(
            text.contains("devicevault_jobs_total{state=\"stored\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("devicevault_jobs_total{state=\"failed\"} 1"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_jobs_duration_is_observed_once_at_its_outcome() {
        let m = Metrics::new();
        let mut batch = IndexBatch::new();
        batch.advance_job("a", JobState::Collected, None);
        batch.advance_job("a", JobState::Stored, None);
        batch.advance_job("b", JobState::Failed, Some("x"));
        let earlier =
            Timestamp::from_datetime(Timestamp::now().as_datetime() - time::Duration::seconds(3));
        let queued = HashMap::from([("a".to_owned(), earlier), ("b".to_owned(), earlier)]);
        // b's move did not happen (a replay): it is neither counted nor timed.
        m.count_job_moves_since(&batch, &[true, true, false], &queued);
        let text = m.exposition(None).await.unwrap();
        for line in [
            r#"devicevault_job_duration_seconds_count{outcome="stored"} 1"#,
            r#"devicevault_job_duration_seconds_count{outcome="failed"} 0"#,
            r#"devicevault_job_duration_seconds_bucket{outcome="stored",le="2.5"} 0"#,
            r#"devicevault_job_duration_seconds_bucket{outcome="stored",le="5"} 1"#,
            r#"devicevault_jobs_total{state="collected"} 1"#,
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }

    #[test]
    fn the_sessions_gauge_follows_its_guards() {
        let m = Metrics::new();
        let a = m.session_opened();
        let b = m.session_opened();
        assert_eq!(m.sessions_open.get(), 2);
        drop(a);
        drop(b);
        assert_eq!(m.sessions_open.get(), 0);
    }
}
