//! Embedded mode: the API and every role in one process, on the in-process
//! bus, with SQLite (or PostgreSQL) as the database. The job rows are the
//! durable record: after a crash, every job that was accepted but not
//! finished is dispatched again at start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use devicevault_bus::{LocalBus, LocalLog};
use devicevault_core::{StorageBackendKind, Timestamp};
use devicevault_db::{Db, DbError, Page};
use devicevault_pipeline::app::search::SearchIndex;
use devicevault_pipeline::metrics::Metrics;
use devicevault_pipeline::roles::collector::{Collector, run_collector};
use devicevault_pipeline::roles::device_results;
use devicevault_pipeline::roles::dispatcher::{DEFAULT_GROUP_QUEUE_ID, run_sweeper};
use devicevault_pipeline::roles::notifier::run_notifier;
use devicevault_pipeline::roles::storage_results;
use devicevault_pipeline::roles::storage_worker::run_storage_worker;
use devicevault_pipeline::{Settings, keyfile};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::assembly::{self, AssemblyError};
use crate::config::{self, Config};

/// How to run.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Holds the SQLite database, the key file and the SSH host-key pins.
    pub data_dir: PathBuf,
    /// `sqlite:` or `postgres:` URL; the data dir's SQLite file when `None`.
    pub database_url: Option<String>,
    pub http_addr: SocketAddr,
    /// A listener of `/metrics` of its own, besides the API's.
    pub metrics_addr: Option<SocketAddr>,
    pub settings: Settings,
    /// User drivers added to the built-in ones.
    pub driver_dir: Option<PathBuf>,
    /// The sealing key; `secret.key` in the data dir when `None`.
    pub secret_key_file: Option<PathBuf>,
}

impl From<&Config> for ServeConfig {
    fn from(c: &Config) -> Self {
        Self {
            data_dir: c.data_dir.clone(),
            database_url: c.database_url.clone(),
            http_addr: c.http_addr,
            metrics_addr: c.metrics_addr,
            settings: c.settings.clone(),
            driver_dir: c.drivers_dir.clone(),
            secret_key_file: c.secret_key_file.clone(),
        }
    }
}

impl ServeConfig {
    pub fn new(data_dir: PathBuf, http_addr: SocketAddr) -> Self {
        Self {
            data_dir,
            database_url: None,
            http_addr,
            metrics_addr: None,
            settings: Settings::default(),
            driver_dir: None,
            secret_key_file: None,
        }
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        config::database_url_or_sqlite(self.database_url.as_deref(), &self.data_dir)
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database {url}: {source}")]
    Database { url: String, source: DbError },
    #[error(transparent)]
    Key(#[from] keyfile::KeyFileError),
    #[error(transparent)]
    Assembly(#[from] AssemblyError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] devicevault_http::http_server::TlsError),
    #[error("cannot start the API's threads: {0}")]
    ApiRuntime(std::io::Error),
}

/// A running embedded server.
#[derive(Debug)]
pub struct Embedded {
    /// Where the API listens (useful with port 0).
    pub addr: SocketAddr,
    /// Where the metrics' own listener is, when one was asked for.
    pub metrics_addr: Option<SocketAddr>,
    pub db: Db,
    /// Username and one-time password of the admin created at first start.
    pub first_admin: Option<(String, String)>,
    pub bus: LocalBus,
    pub log: LocalLog,
    /// The API's search cache (its counters are the bench's figures).
    pub search: Arc<SearchIndex>,
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
    /// The API's own threads (see [`api_runtime`]).
    api: Option<tokio::runtime::Runtime>,
}

const CONSUMER: &str = "embedded";

impl Embedded {
    /// Opens the database, starts every role and the API.
    pub async fn start(cfg: ServeConfig) -> Result<Self, ServeError> {
        std::fs::create_dir_all(&cfg.data_dir).map_err(|source| ServeError::DataDir {
            path: cfg.data_dir.display().to_string(),
            source,
        })?;
        let url = cfg.database_url();
        let db_err = |source| ServeError::Database {
            url: devicevault_db::redact_url(&url),
            source,
        };
        let db = Db::connect(&url).await.map_err(db_err)?;
        let no_secrets = db
            .list_credentials(Page {
                limit: 1,
                offset: 0,
            })
            .await
            .map_err(db_err)?
            .total
            == 0;
        let key = keyfile::load_or_create(
            &config::secret_key_path(cfg.secret_key_file.as_deref(), &cfg.data_dir),
            no_secrets,
        )?;
        let drivers = assembly::drivers(cfg.driver_dir.as_deref())?;
        let first_admin = assembly::create_first_admin(&db).await?;
        db.ensure_collection_group(
            "Default",
            &devicevault_core::QueueId::parse(DEFAULT_GROUP_QUEUE_ID).expect("a valid queue id"),
        )
        .await
        .map_err(db_err)?;

        let settings = Arc::new(cfg.settings.clone());
        let bus = LocalBus::new();
        let log = LocalLog::new();
        let shutdown = CancellationToken::new();
        let mut tasks = JoinSet::new();
        // The API's search cache, told of each version stored here and
        // handed its content.
        let search = Arc::new(SearchIndex::new(settings.search_cache_bytes()));
        // One registry for every role of the process.
        let metrics = Arc::new(Metrics::new());

        // Storage workers.
        let worker =
            assembly::storage_worker(log.clone(), Some(search.clone()), &settings, &metrics);
        metrics.watch_repositories(worker.clone());
        metrics.watch_stream(Arc::new(log.clone()), &settings.results_stream);
        metrics.watch_stream(Arc::new(log.clone()), &settings.storage_results_stream);
        for kind in StorageBackendKind::ALL {
            metrics.watch_queue(Arc::new(bus.clone()), kind.queue());
            tasks.spawn(run_storage_worker(
                bus.clone(),
                worker.clone(),
                kind,
                shutdown.clone(),
            ));
        }

        // Result consumers.
        tasks.spawn({
            let c = assembly::device_results(db.clone(), bus.clone(), &settings, &metrics);
            let (log, stop) = (log.clone(), shutdown.clone());
            async move { device_results::run(c, log, CONSUMER, stop).await }
        });
        tasks.spawn({
            let c = assembly::storage_results(db.clone(), Some(search.clone()), &metrics);
            let (log, stop, settings) = (log.clone(), shutdown.clone(), settings.clone());
            async move { storage_results::run(c, log, &settings, CONSUMER, stop).await }
        });

        // Collectors: one consumer per collection group, new groups picked up
        // as they are created.
        let collector = assembly::collector(
            log.clone(),
            key.clone(),
            drivers.clone(),
            &cfg.data_dir,
            &settings,
            &metrics,
        )?;
        tasks.spawn(watch_groups(
            db.clone(),
            bus.clone(),
            collector,
            metrics.clone(),
            shutdown.clone(),
        ));

        // Dispatcher: jobs a previous run accepted but did not finish are
        // dispatched again now (the in-process queues start empty), then
        // overdue jobs are swept periodically.
        let dispatcher = assembly::dispatcher(db.clone(), bus.clone(), &settings, &metrics);
        let far = Timestamp::from_datetime(
            Timestamp::now().as_datetime() + time::Duration::days(365 * 100),
        );
        match dispatcher.sweep(far).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                jobs = n,
                "dispatched again the unfinished jobs of the previous run"
            ),
            Err(e) => tracing::error!(error = %e, "re-dispatching unfinished jobs failed"),
        }
        tasks.spawn(run_sweeper(dispatcher.clone(), shutdown.clone()));
        tasks.spawn(devicevault_pipeline::scheduler::run_scheduler(
            db.clone(),
            Arc::new(dispatcher),
            settings.scheduler_tick,
            settings.stale_after,
            shutdown.clone().cancelled_owned(),
        ));
        tasks.spawn(devicevault_pipeline::retention::run_retention(
            db.clone(),
            assembly::remover(bus.clone(), &settings),
            settings.retention.clone(),
            shutdown.clone().cancelled_owned(),
        ));

        // The API and the web UI.
        let app = assembly::app(
            db.clone(),
            bus.clone(),
            key,
            drivers,
            &settings,
            search.clone(),
            &metrics,
        )?;
        assembly::check_identity(&app).await?;

        // The notifier: delivers the outbox beside the pipeline, never on
        // its path.
        tasks.spawn(run_notifier(app.clone(), shutdown.clone()));

        // Compliance: evaluated beside the scheduler, soon after each
        // stored version (the search cache wakes it).
        tasks.spawn(devicevault_pipeline::app::compliance::keep_evaluating(
            devicevault_pipeline::app::compliance::Evaluator::of(&app),
            settings.scheduler_tick,
            shutdown.clone(),
        ));

        let metrics_addr = match cfg.metrics_addr {
            Some(addr) => Some(
                assembly::metrics_listener(
                    addr,
                    metrics.clone(),
                    Some(db.clone()),
                    &settings,
                    shutdown.clone(),
                )
                .await?,
            ),
            None => None,
        };
        let state = assembly::http_state(app, &settings);
        let http = devicevault_http::http_options(&settings)?;
        let listener = tokio::net::TcpListener::bind(cfg.http_addr)
            .await
            .map_err(|source| ServeError::Listen {
                addr: cfg.http_addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServeError::Listen {
            addr: cfg.http_addr,
            source,
        })?;
        // The API answers on threads of its own: on the pipeline's runtime a
        // request waits behind every SSH session and consumer task ready to
        // run, and its socket's readiness behind that runtime's busy workers
        // (see docs/BENCHMARKS.md, issue 22).
        let api = api_runtime().map_err(ServeError::ApiRuntime)?;
        let listener = listener
            .into_std()
            .map_err(|source| ServeError::Listen { addr, source })?;
        let serving = {
            let stop = shutdown.clone();
            async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => devicevault_http::serve(state, listener, http, stop).await,
                    Err(e) => tracing::error!(error = %e, "the API cannot take its listener"),
                }
            }
        };
        let served = api.spawn(serving);
        tasks.spawn(async move {
            let _ = served.await;
        });
        tracing::info!(%addr, database = %devicevault_db::redact_url(&url), "DeviceVault is serving");
        Ok(Self {
            addr,
            metrics_addr,
            db,
            first_admin,
            bus,
            log,
            search,
            shutdown,
            tasks,
            api: Some(api),
        })
    }

    /// A token that stops the server when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops accepting work, lets work in flight finish (at most `grace`),
    /// and closes the database.
    pub async fn stop(mut self, grace: Duration) {
        self.shutdown.cancel();
        let drained = tokio::time::timeout(grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("work still running after the grace period; stopping it");
            self.tasks.abort_all();
        }
        if let Some(api) = self.api.take() {
            api.shutdown_background();
        }
        self.db.close().await;
    }
}

impl Drop for Embedded {
    /// A runtime cannot be dropped where blocking is not allowed (an async
    /// test that never called [`Embedded::stop`]): its threads are told to
    /// stop instead.
    fn drop(&mut self) {
        if let Some(api) = self.api.take() {
            api.shutdown_background();
        }
    }
}

/// The API's runtime: two worker threads of its own, so that the operating
/// system, not the pipeline's task queue, shares the cores between a
/// person's request and the pipeline's work.
fn api_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("devicevault-api")
        .enable_all()
        .build()
}

/// Starts a collector for every collection group's queue, and for groups
/// created later within seconds.
async fn watch_groups(
    db: Db,
    bus: LocalBus,
    collector: Arc<Collector<LocalLog>>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let mut started = std::collections::HashSet::new();
    let mut running = JoinSet::new();
    loop {
        match db.list_collection_groups().await {
            Ok(groups) => {
                let queues = groups
                    .iter()
                    .map(|g| g.queue())
                    .chain([format!("collector.group.{DEFAULT_GROUP_QUEUE_ID}")]);
                for queue in queues {
                    if started.insert(queue.clone()) {
                        tracing::info!(queue = %queue, "collector consuming");
                        metrics.watch_queue(Arc::new(bus.clone()), &queue);
                        running.spawn(run_collector(
                            bus.clone(),
                            collector.clone(),
                            queue,
                            shutdown.clone(),
                        ));
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "listing collection groups failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
    while running.join_next().await.is_some() {}
}
