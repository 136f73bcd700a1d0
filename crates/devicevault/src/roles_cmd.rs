//! Distributed mode: each role of the pipeline as its own process, over
//! RabbitMQ (Celery protocol v2), Redis Streams and PostgreSQL. The concrete
//! bus and log are chosen here, in one place.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use devicevault_bus::amqp::AmqpBus;
use devicevault_bus::redis::RedisLog;
use devicevault_core::{SealingKey, StorageBackendKind};
use devicevault_db::Db;
use devicevault_pipeline::roles::collector::run_collector;
use devicevault_pipeline::roles::device_results;
use devicevault_pipeline::roles::dispatcher::run_sweeper;
use devicevault_pipeline::roles::storage_results;
use devicevault_pipeline::roles::storage_worker::run_storage_worker;
use devicevault_pipeline::{Settings, keyfile, scheduler};
use devicevault_server::assembly;
use devicevault_storage::StorageRoots;
use tokio_util::sync::CancellationToken;

use crate::device_cmd::shutdown_signal;

/// Where the shared services are.
#[derive(Debug, Clone, Args)]
pub struct Services {
    /// RabbitMQ.
    #[arg(
        long,
        env = "DEVICEVAULT_BROKER_URL",
        default_value = "amqp://guest:guest@localhost:5672/%2f"
    )]
    pub broker_url: String,
    /// Redis (the result streams).
    #[arg(
        long,
        env = "DEVICEVAULT_REDIS_URL",
        default_value = "redis://localhost:6379/1"
    )]
    pub redis_url: String,
    /// PostgreSQL (roles that touch the database).
    #[arg(long, env = "DEVICEVAULT_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Holds the key file (`secret.key`) and SSH host-key pins.
    #[arg(long, env = "DEVICEVAULT_DATA_DIR", default_value = "devicevault-data")]
    pub data_dir: PathBuf,
    /// Name of this process in the streams' consumer group; stable across
    /// restarts so a restarted consumer finishes its own pending entries.
    #[arg(long, env = "DEVICEVAULT_CONSUMER_NAME")]
    pub consumer_name: Option<String>,
    /// Unacknowledged tasks a worker holds at once.
    #[arg(long, env = "DEVICEVAULT_PREFETCH", default_value_t = 64)]
    pub prefetch: u16,
}

impl Services {
    async fn bus(&self) -> anyhow::Result<AmqpBus> {
        AmqpBus::connect(&self.broker_url, self.prefetch)
            .await
            .context("connect to RabbitMQ (DEVICEVAULT_BROKER_URL)")
    }

    async fn log(&self) -> anyhow::Result<RedisLog> {
        RedisLog::connect(&self.redis_url)
            .await
            .context("connect to Redis (DEVICEVAULT_REDIS_URL)")
    }

    async fn db(&self) -> anyhow::Result<Db> {
        let url = self
            .database_url
            .as_deref()
            .context("DEVICEVAULT_DATABASE_URL must name the shared PostgreSQL database")?;
        Db::connect(url)
            .await
            .with_context(|| format!("open the database {}", devicevault_db::redact_url(url)))
    }

    fn key(&self, may_create: bool) -> anyhow::Result<SealingKey> {
        Ok(keyfile::load_or_create(
            &self.data_dir.join("secret.key"),
            may_create,
        )?)
    }

    fn consumer(&self, role: &str) -> String {
        self.consumer_name.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "host".into());
            format!("{host}-{role}")
        })
    }
}

/// `DEVICEVAULT_STORAGE_ROOTS`, for the processes that store, read or
/// accept backup locations.
#[derive(Debug, Clone, Args)]
pub struct StorageRootsArg {
    /// Directories every backup location must be under, `:`-separated like
    /// PATH (stores, reads and new locations elsewhere are refused). Unset:
    /// any path an admin configures.
    #[arg(
        long = "storage-roots",
        env = "DEVICEVAULT_STORAGE_ROOTS",
        value_name = "DIR[:DIR...]"
    )]
    pub storage_roots: Option<StorageRoots>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Stream {
    /// `device:results` → DeviceBackupResult, then `storage.store`.
    DeviceResults,
    /// `storage:results` → StoredBackup.
    StorageResults,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    Git,
    Fs,
}

#[derive(Debug, Subcommand)]
pub enum Role {
    /// The REST API (enqueues collections, downloads through storage.read).
    Api {
        #[arg(long, env = "DEVICEVAULT_HTTP_ADDR", default_value = "127.0.0.1:8000")]
        http_addr: SocketAddr,
        /// User drivers (the API validates devices' drivers against them).
        #[arg(long = "drivers-dir", env = "DEVICEVAULT_DRIVERS_DIR")]
        drivers_dir: Option<PathBuf>,
        #[command(flatten)]
        roots: StorageRootsArg,
        #[command(flatten)]
        services: Services,
    },
    /// A collector: consumes `collector.group.<id>` for each --group.
    Collector {
        /// `rabbitmq_queue_id` of a collection group (repeat for several).
        #[arg(long = "group", required = true)]
        groups: Vec<String>,
        #[arg(long = "drivers-dir", env = "DEVICEVAULT_DRIVERS_DIR")]
        drivers_dir: Option<PathBuf>,
        #[command(flatten)]
        services: Services,
    },
    /// A storage worker for one backend (`storage.git` or `storage.fs`).
    StorageWorker {
        #[arg(long, value_enum)]
        backend: Backend,
        #[command(flatten)]
        roots: StorageRootsArg,
        #[command(flatten)]
        services: Services,
    },
    /// A result consumer.
    Consume {
        #[arg(value_enum)]
        stream: Stream,
        #[command(flatten)]
        services: Services,
    },
    /// The scheduler (cron schedules) and the sweep of overdue jobs.
    Scheduler {
        #[command(flatten)]
        services: Services,
    },
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")
}

/// Cancels the token on SIGTERM or Ctrl-C.
fn stop_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("stopping: finishing work in flight");
        t.cancel();
    });
    token
}

pub fn run(role: Role) -> anyhow::Result<()> {
    crate::limits::raise_nofile_limit(4096)?;
    let mut settings = Settings::from_env()?;
    if let Role::Api { roots, .. } | Role::StorageWorker { roots, .. } = &role {
        settings.storage_roots = roots.storage_roots.clone();
    }
    let settings = Arc::new(settings);
    runtime()?.block_on(async move {
        let stop = stop_on_signal();
        match role {
            Role::Api {
                http_addr,
                drivers_dir,
                services,
                ..
            } => api(services, settings, http_addr, drivers_dir, stop).await,
            Role::Collector {
                groups,
                drivers_dir,
                services,
            } => collector(services, settings, groups, drivers_dir, stop).await,
            Role::StorageWorker {
                backend, services, ..
            } => {
                let kind = match backend {
                    Backend::Git => StorageBackendKind::Git,
                    Backend::Fs => StorageBackendKind::Fs,
                };
                let bus = services.bus().await?;
                let log = services.log().await?;
                let worker = assembly::storage_worker(log, &settings);
                tracing::info!(queue = kind.queue(), "storage worker consuming");
                run_storage_worker(bus, worker, kind, stop).await;
                Ok(())
            }
            Role::Consume { stream, services } => {
                let db = services.db().await?;
                let log = services.log().await?;
                match stream {
                    Stream::DeviceResults => {
                        let bus = services.bus().await?;
                        let c = assembly::device_results(db, bus, &settings);
                        device_results::run(c, log, &services.consumer("device-results"), stop)
                            .await;
                    }
                    Stream::StorageResults => {
                        let c = assembly::storage_results(db);
                        let name = services.consumer("storage-results");
                        storage_results::run(c, log, &settings, &name, stop).await;
                    }
                }
                Ok(())
            }
            Role::Scheduler { services } => {
                let db = services.db().await?;
                let bus = services.bus().await?;
                let dispatcher = assembly::dispatcher(db.clone(), bus, &settings);
                let sweeper = tokio::spawn(run_sweeper(dispatcher.clone(), stop.clone()));
                scheduler::run_scheduler(
                    db,
                    Arc::new(dispatcher),
                    settings.scheduler_tick,
                    stop.cancelled_owned(),
                )
                .await;
                let _ = sweeper.await;
                Ok(())
            }
        }
    })
}

async fn api(
    services: Services,
    settings: Arc<Settings>,
    http_addr: SocketAddr,
    drivers_dir: Option<PathBuf>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let db = services.db().await?;
    let no_secrets = db
        .list_credentials(devicevault_db::Page {
            limit: 1,
            offset: 0,
        })
        .await?
        .total
        == 0;
    let key = services.key(no_secrets)?;
    if let Some((user, password)) = assembly::create_first_admin(&db).await? {
        println!(
            "Created the first user {user:?} with password {password} — shown only this once."
        );
    }
    let bus = services.bus().await?;
    let http = devicevault_http::http_options(&settings)?;
    let scheme = if http.tls.is_some() { "https" } else { "http" };
    let drivers = assembly::drivers(drivers_dir.as_deref())?;
    let app = assembly::app(db, bus, key, drivers, &settings);
    let state = assembly::http_state(app, &settings);
    let listener = tokio::net::TcpListener::bind(http_addr)
        .await
        .with_context(|| format!("listen on {http_addr}"))?;
    println!(
        "DeviceVault API is serving on {scheme}://{}/",
        listener.local_addr()?
    );
    devicevault_http::serve(state, listener, http, stop).await;
    Ok(())
}

async fn collector(
    services: Services,
    settings: Arc<Settings>,
    groups: Vec<String>,
    drivers_dir: Option<PathBuf>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    if let Some(bad) = groups.iter().find(|g| {
        g.is_empty()
            || !g
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    }) {
        bail!("--group {bad:?}: a rabbitmq_queue_id is letters, digits, '-', '_' and '.'");
    }
    let drivers = assembly::drivers(drivers_dir.as_deref())?;
    let bus = services.bus().await?;
    let log = services.log().await?;
    let collector = assembly::collector(
        log,
        services.key(false)?,
        drivers,
        &services.data_dir,
        &settings,
    )?;
    let mut running = tokio::task::JoinSet::new();
    for g in groups {
        let queue = format!("collector.group.{g}");
        tracing::info!(queue = %queue, "collector consuming");
        running.spawn(run_collector(
            bus.clone(),
            collector.clone(),
            queue,
            stop.clone(),
        ));
    }
    while running.join_next().await.is_some() {}
    // Give in-flight settles a moment to reach the broker.
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(())
}
