//! Distributed mode: each role of the pipeline as its own process, over
//! RabbitMQ (Celery protocol v2), Redis Streams and PostgreSQL. The concrete
//! bus and log are chosen here, in one place.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Subcommand, ValueEnum};
use devicevault_bus::amqp::AmqpBus;
use devicevault_bus::redis::RedisLog;
use devicevault_core::{QueueId, SealingKey, StorageBackendKind};
use devicevault_db::{Db, redact_url};
use devicevault_pipeline::keyfile::{self, KeyFileError};
use devicevault_pipeline::metrics::Metrics;
use devicevault_pipeline::roles::collector::run_collector;
use devicevault_pipeline::roles::device_results;
use devicevault_pipeline::roles::dispatcher::run_sweeper;
use devicevault_pipeline::roles::notifier::run_notifier;
use devicevault_pipeline::roles::storage_results;
use devicevault_pipeline::roles::storage_worker::run_storage_worker;
use devicevault_pipeline::{Settings, scheduler};
use devicevault_server::assembly;
use devicevault_server::config::Config;
use tokio_util::sync::CancellationToken;

use crate::config_cmd::{ConfigArgs, DriverFlags, HttpFlags, RootsFlags, ServiceFlags, wait_for};
use crate::device_cmd::shutdown_signal;

/// The shared services of a role, from its configuration. Each is waited
/// for while it is away (one line says what and where), so the roles can
/// start in any order.
struct Services {
    config: Config,
    stop: CancellationToken,
    /// This process's metrics, served on `metrics_addr` when it is set.
    metrics: Arc<Metrics>,
}

impl Services {
    /// Serves `/metrics` on `metrics_addr`, if set; `db` adds the fleet's
    /// figures (the API only, so each is shown once).
    async fn serve_metrics(&self, db: Option<Db>) -> anyhow::Result<()> {
        if let Some(addr) = self.config.metrics_addr {
            let at = assembly::metrics_listener(
                addr,
                self.metrics.clone(),
                db,
                &self.config.settings,
                self.stop.clone(),
            )
            .await?;
            println!("Metrics at http://{at}/metrics");
        }
        Ok(())
    }

    async fn bus(&self) -> anyhow::Result<AmqpBus> {
        let url = &self.config.broker_url;
        wait_for("RabbitMQ", &redact_url(url), &self.stop, || {
            AmqpBus::connect(url, self.config.prefetch)
        })
        .await
    }

    async fn log(&self) -> anyhow::Result<RedisLog> {
        let url = &self.config.redis_url;
        wait_for("Redis", &redact_url(url), &self.stop, || {
            RedisLog::connect(url)
        })
        .await
    }

    async fn db(&self) -> anyhow::Result<Db> {
        let url = self.config.database_url.as_deref().context(
            "the distributed roles share a PostgreSQL database: set database_url \
             (DEVICEVAULT_DATABASE_URL or --database-url)",
        )?;
        wait_for("PostgreSQL", &redact_url(url), &self.stop, || {
            Db::connect(url)
        })
        .await
    }

    /// The sealing key. The API creates it when no sealed secret needs an
    /// older one; every other role waits until it is there.
    async fn key(&self, may_create: bool) -> anyhow::Result<SealingKey> {
        let path = self.config.secret_key_path();
        let shown = path.display().to_string();
        let mut waited = false;
        loop {
            match keyfile::load_or_create(&path, may_create) {
                Ok(key) => return Ok(key),
                Err(KeyFileError::Missing { .. }) if !may_create => {
                    if !waited {
                        tracing::warn!(
                            what = "the sealing key",
                            at = %shown,
                            "waiting for the sealing key at {shown}: `devicevault api` creates it \
                             on its first start; copy it here (mode 0600) or point \
                             secret_key_file (DEVICEVAULT_SECRET_KEY_FILE) at it"
                        );
                        waited = true;
                    }
                }
                Err(e) => return Err(e.into()),
            }
            tokio::select! {
                () = self.stop.cancelled() => bail!("stopped while waiting for the sealing key at {shown}"),
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    fn consumer(&self, role: &str) -> String {
        self.config.consumer_name.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "host".into());
            format!("{host}-{role}")
        })
    }
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
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        http: HttpFlags,
        #[command(flatten)]
        drivers: DriverFlags,
        #[command(flatten)]
        roots: RootsFlags,
        #[command(flatten)]
        services: ServiceFlags,
    },
    /// A collector: consumes `collector.group.<id>` for each --group.
    Collector {
        /// `rabbitmq_queue_id` of a collection group (repeat for several).
        #[arg(long = "group", required = true, value_parser = parse_group)]
        groups: Vec<QueueId>,
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        drivers: DriverFlags,
        #[command(flatten)]
        services: ServiceFlags,
    },
    /// A storage worker for one backend (`storage.git` or `storage.fs`).
    StorageWorker {
        #[arg(long, value_enum)]
        backend: Backend,
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        roots: RootsFlags,
        #[command(flatten)]
        services: ServiceFlags,
    },
    /// A result consumer.
    Consume {
        #[arg(value_enum)]
        stream: Stream,
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        services: ServiceFlags,
    },
    /// The notifier: delivers the notification outbox (any number may run;
    /// none sends a delivery another holds).
    Notifier {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        drivers: DriverFlags,
        #[command(flatten)]
        services: ServiceFlags,
    },
    /// The scheduler (cron schedules) and the sweep of overdue jobs.
    Scheduler {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        services: ServiceFlags,
    },
}

fn parse_group(s: &str) -> Result<QueueId, String> {
    QueueId::parse(s).map_err(|e| e.to_string())
}

impl Role {
    /// The role's configuration: the file, the environment and its flags.
    fn config(&self) -> anyhow::Result<Config> {
        match self {
            Self::Api {
                config,
                http,
                drivers,
                roots,
                services,
            } => config.load(&[http, drivers, roots, services]),
            Self::Collector {
                config,
                drivers,
                services,
                ..
            } => config.load(&[drivers, services]),
            Self::StorageWorker {
                config,
                roots,
                services,
                ..
            } => config.load(&[roots, services]),
            Self::Notifier {
                config,
                drivers,
                services,
            } => config.load(&[drivers, services]),
            Self::Consume {
                config, services, ..
            }
            | Self::Scheduler { config, services } => config.load(&[services]),
        }
    }
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
    devicevault_server::limits::raise_nofile_limit(4096)?;
    let config = role.config()?;
    let settings = Arc::new(config.settings.clone());
    runtime()?.block_on(async move {
        let services = Services {
            config,
            stop: stop_on_signal(),
            metrics: Arc::new(Metrics::new()),
        };
        let stop = services.stop.clone();
        let metrics = services.metrics.clone();
        match role {
            Role::Api { .. } => api(&services, settings).await,
            Role::Collector { groups, .. } => collector(&services, settings, groups).await,
            Role::StorageWorker { backend, .. } => {
                let kind = match backend {
                    Backend::Git => StorageBackendKind::Git,
                    Backend::Fs => StorageBackendKind::Fs,
                };
                let bus = services.bus().await?;
                let log = services.log().await?;
                let worker = assembly::storage_worker(log, None, &settings, &metrics);
                metrics.watch_repositories(worker.clone());
                metrics.watch_queue(Arc::new(bus.clone()), kind.queue());
                services.serve_metrics(None).await?;
                tracing::info!(queue = kind.queue(), "storage worker consuming");
                run_storage_worker(bus, worker, kind, stop).await;
                Ok(())
            }
            Role::Consume { stream, .. } => {
                let db = services.db().await?;
                let log = services.log().await?;
                let watched = match stream {
                    Stream::DeviceResults => &settings.results_stream,
                    Stream::StorageResults => &settings.storage_results_stream,
                };
                metrics.watch_stream(Arc::new(log.clone()), watched);
                services.serve_metrics(None).await?;
                match stream {
                    Stream::DeviceResults => {
                        let bus = services.bus().await?;
                        let c = assembly::device_results(db, bus, &settings, &metrics);
                        device_results::run(c, log, &services.consumer("device-results"), stop)
                            .await;
                    }
                    Stream::StorageResults => {
                        let c = assembly::storage_results(db, None, &metrics);
                        let name = services.consumer("storage-results");
                        storage_results::run(c, log, &settings, &name, stop).await;
                    }
                }
                Ok(())
            }
            Role::Notifier { .. } => notifier(&services, settings).await,
            Role::Scheduler { .. } => {
                let db = services.db().await?;
                let bus = services.bus().await?;
                let remover = assembly::remover(bus.clone(), &settings);
                let dispatcher = assembly::dispatcher(db.clone(), bus.clone(), &settings, &metrics);
                let evaluator =
                    assembly::compliance_evaluator(db.clone(), bus, &settings, &metrics);
                services.serve_metrics(None).await?;
                let sweeper = tokio::spawn(run_sweeper(dispatcher.clone(), stop.clone()));
                let compliance =
                    tokio::spawn(devicevault_pipeline::app::compliance::keep_evaluating(
                        evaluator,
                        settings.scheduler_tick,
                        stop.clone(),
                    ));
                let retention = tokio::spawn(devicevault_pipeline::retention::run_retention(
                    db.clone(),
                    remover,
                    settings.retention.clone(),
                    stop.clone().cancelled_owned(),
                ));
                scheduler::run_scheduler(
                    db,
                    Arc::new(dispatcher),
                    settings.scheduler_tick,
                    settings.stale_after,
                    stop.cancelled_owned(),
                )
                .await;
                let _ = sweeper.await;
                let _ = compliance.await;
                let _ = retention.await;
                Ok(())
            }
        }
    })
}

async fn api(services: &Services, settings: Arc<Settings>) -> anyhow::Result<()> {
    let db = services.db().await?;
    let no_secrets = db
        .list_credentials(devicevault_db::Page {
            limit: 1,
            offset: 0,
        })
        .await?
        .total
        == 0;
    let key = services.key(no_secrets).await?;
    if let Some((user, password)) = assembly::create_first_admin(&db).await? {
        println!(
            "Created the first user {user:?} with password {password} — shown only this once."
        );
    }
    let bus = services.bus().await?;
    let http = devicevault_http::http_options(&settings)?;
    let scheme = if http.tls.is_some() { "https" } else { "http" };
    let drivers = assembly::drivers(services.config.drivers_dir.as_deref())?;
    // Another process stores versions: the API's search cache polls the
    // database (`app::search::keep_current`).
    let search = Arc::new(devicevault_pipeline::app::search::SearchIndex::new(
        settings.search_cache_bytes(),
    ));
    let app = assembly::app(
        db.clone(),
        bus,
        key,
        drivers,
        &settings,
        search,
        &services.metrics,
    )?;
    assembly::check_identity(&app).await?;
    services.serve_metrics(Some(db)).await?;
    let state = assembly::http_state(app, &settings);
    let http_addr = services.config.http_addr;
    let listener = tokio::net::TcpListener::bind(http_addr)
        .await
        .with_context(|| format!("listen on {http_addr}"))?;
    println!(
        "DeviceVault API is serving on {scheme}://{}/",
        listener.local_addr()?
    );
    devicevault_http::serve(state, listener, http, services.stop.clone()).await;
    Ok(())
}

/// The notifier reads stored versions for diffs (storage.read on the bus),
/// opens channel secrets (the key) and masks with the drivers.
async fn notifier(services: &Services, settings: Arc<Settings>) -> anyhow::Result<()> {
    let db = services.db().await?;
    let key = services.key(false).await?;
    let bus = services.bus().await?;
    let drivers = assembly::drivers(services.config.drivers_dir.as_deref())?;
    // The notifier searches nothing: its search cache stays empty.
    let app = assembly::app(
        db,
        bus,
        key,
        drivers,
        &settings,
        Arc::default(),
        &services.metrics,
    )?;
    services.serve_metrics(None).await?;
    tracing::info!("notifier delivering the outbox");
    run_notifier(app, services.stop.clone()).await;
    Ok(())
}

async fn collector(
    services: &Services,
    settings: Arc<Settings>,
    groups: Vec<QueueId>,
) -> anyhow::Result<()> {
    let drivers = assembly::drivers(services.config.drivers_dir.as_deref())?;
    let key = services.key(false).await?;
    let bus = services.bus().await?;
    let log = services.log().await?;
    let collector = assembly::collector(
        log,
        key,
        drivers,
        &services.config.data_dir,
        &settings,
        &services.metrics,
    )?;
    services.serve_metrics(None).await?;
    let mut running = tokio::task::JoinSet::new();
    for g in groups {
        let queue = g.queue();
        tracing::info!(queue = %queue, "collector consuming");
        services.metrics.watch_queue(Arc::new(bus.clone()), &queue);
        running.spawn(run_collector(
            bus.clone(),
            collector.clone(),
            queue,
            services.stop.clone(),
        ));
    }
    while running.join_next().await.is_some() {}
    // Give in-flight settles a moment to reach the broker.
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(())
}
