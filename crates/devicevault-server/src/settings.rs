//! Tunables shared by the roles, with the seed's defaults.

use std::time::Duration;

use devicevault_storage::StorageRoots;

/// Stream names, deadlines and limits of the pipeline.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `DEVICEVAULT_RESULTS_STREAM`: collection results.
    pub results_stream: String,
    /// `DEVICEVAULT_STORAGE_RESULTS_STREAM`: storage results.
    pub storage_results_stream: String,
    /// How long a job may stay unfinished before it is dispatched again.
    pub job_deadline: Duration,
    /// Dispatches of one job (the first included) before it fails for good.
    pub max_dispatches: i64,
    /// How often the dispatcher looks for overdue jobs.
    pub sweep_interval: Duration,
    /// Collections running at once in one collector.
    pub collector_concurrency: usize,
    /// Stores and reads running at once in one storage worker.
    pub storage_concurrency: usize,
    /// Most items written in one group commit.
    pub storage_batch: usize,
    /// `storage.read` request/reply timeout (the seed's 60 seconds).
    pub read_timeout: Duration,
    /// Stream entries left pending this long by a consumer are taken over.
    pub reclaim_idle: Duration,
    /// Deliveries of one stream entry before it goes to `<stream>:dead`.
    pub max_deliveries: u64,
    /// Retries of a transient storage failure (the seed's 3).
    pub storage_retries: u32,
    /// Delay before the first storage retry; doubled for each next one.
    pub storage_retry_base: Duration,
    /// How often the scheduler looks for due schedules.
    pub scheduler_tick: Duration,
    /// `DEVICEVAULT_STORAGE_ROOTS` (read by the binary, which refuses a
    /// malformed list at start): the directories every location must
    /// resolve under, for the storage worker's stores and reads and the
    /// API's location checks. `None`: any path an admin configures.
    pub storage_roots: Option<StorageRoots>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            results_stream: "device:results".into(),
            storage_results_stream: "storage:results".into(),
            job_deadline: Duration::from_secs(900),
            max_dispatches: 3,
            sweep_interval: Duration::from_secs(30),
            collector_concurrency: 256,
            storage_concurrency: 64,
            storage_batch: 64,
            read_timeout: Duration::from_secs(60),
            reclaim_idle: Duration::from_secs(60),
            max_deliveries: 5,
            storage_retries: 3,
            storage_retry_base: Duration::from_secs(1),
            scheduler_tick: Duration::from_secs(5),
            storage_roots: None,
        }
    }
}

impl Settings {
    /// Defaults overridden by `DEVICEVAULT_RESULTS_STREAM`,
    /// `DEVICEVAULT_STORAGE_RESULTS_STREAM`, `DEVICEVAULT_JOB_DEADLINE_S`,
    /// `DEVICEVAULT_SWEEP_INTERVAL_S`, `DEVICEVAULT_RECLAIM_IDLE_S` and
    /// `DEVICEVAULT_RETRY_BASE_MS` (the
    /// first retry delay of collections and stores).
    pub fn from_env() -> Self {
        let mut s = Self::default();
        if let Ok(v) = std::env::var("DEVICEVAULT_RESULTS_STREAM")
            && !v.is_empty()
        {
            s.results_stream = v;
        }
        if let Ok(v) = std::env::var("DEVICEVAULT_STORAGE_RESULTS_STREAM")
            && !v.is_empty()
        {
            s.storage_results_stream = v;
        }
        let secs = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|&v| v > 0)
                .map(Duration::from_secs)
        };
        if let Some(d) = secs("DEVICEVAULT_JOB_DEADLINE_S") {
            s.job_deadline = d;
        }
        if let Some(d) = secs("DEVICEVAULT_SWEEP_INTERVAL_S") {
            s.sweep_interval = d;
        }
        if let Some(d) = secs("DEVICEVAULT_RECLAIM_IDLE_S") {
            s.reclaim_idle = d;
        }
        if let Some(ms) = std::env::var("DEVICEVAULT_RETRY_BASE_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            s.storage_retry_base = Duration::from_millis(ms);
        }
        s
    }
}
