//! One assembly of DeviceVault's parts, generic over the bus traits, used
//! by embedded `serve` (in-process bus) and by every distributed role
//! (RabbitMQ and Redis) alike: the same settings build the same collector,
//! storage worker, consumers, dispatcher and application, so the two
//! deployments cannot drift apart.

use devicevault_core::Role;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use devicevault_collect::{CollectOptions, DriverSet, KnownHosts};
use devicevault_core::SealingKey;
use devicevault_core::bus::{ResultLog, TaskBus};
use devicevault_db::TokenPolicy;
use devicevault_db::{Db, DbError};
use devicevault_http::{AppState, Shared};
use devicevault_notify::{Notifier, NotifierConfig};
use devicevault_pipeline::Settings;
use devicevault_pipeline::app::App;
use devicevault_pipeline::app::auth;
use devicevault_pipeline::app::compliance::Evaluator;
use devicevault_pipeline::app::directory::Identity;
use devicevault_pipeline::app::login::LoginGuard;
use devicevault_pipeline::app::notifications::Sender;
use devicevault_pipeline::app::search::SearchIndex;
use devicevault_pipeline::metrics::Metrics;
use devicevault_pipeline::requests::BusPipeline;
use devicevault_pipeline::roles::collector::Collector;
use devicevault_pipeline::roles::device_results::DeviceResults;
use devicevault_pipeline::roles::dispatcher::Dispatcher;
use devicevault_pipeline::roles::storage_results::StorageResults;
use devicevault_pipeline::roles::storage_worker::StorageWorker;

/// Why a part could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum AssemblyError {
    #[error("drivers: {0}")]
    Drivers(String),
    #[error("SSH host-key pins: {0}")]
    KnownHosts(String),
    #[error("creating the first admin failed: {0}")]
    FirstAdmin(String),
    #[error("notifications: {0}")]
    Notify(String),
    #[error("sign-in through a directory or provider: {0}")]
    Identity(#[from] devicevault_pipeline::app::directory::DirectoryError),
    #[error("cannot listen for the metrics on {addr}: {source}")]
    MetricsListen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// Serves this process's `/metrics` on `addr` (`DEVICEVAULT_METRICS_ADDR`)
/// until `stop`; `db` adds the fleet's figures (the API's processes).
/// Returns the address it listens on (useful with port 0).
pub async fn metrics_listener(
    addr: std::net::SocketAddr,
    metrics: Arc<Metrics>,
    db: Option<Db>,
    settings: &Settings,
    stop: tokio_util::sync::CancellationToken,
) -> Result<std::net::SocketAddr, AssemblyError> {
    let err = |source| AssemblyError::MetricsListen { addr, source };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(err)?;
    let local = listener.local_addr().map_err(err)?;
    let exposition = devicevault_http::metrics::Exposition {
        metrics,
        db,
        token: settings.metrics_token.clone(),
    };
    tokio::spawn(devicevault_http::metrics::serve_metrics(
        listener, exposition, stop,
    ));
    tracing::info!(addr = %local, "metrics served at /metrics");
    Ok(local)
}

/// The built-in drivers plus those of `dir`: every process that names
/// drivers (collectors, the API that validates devices) reads the same.
pub fn drivers(dir: Option<&Path>) -> Result<Arc<DriverSet>, AssemblyError> {
    let set = match dir {
        Some(dir) => {
            DriverSet::with_user_dir(dir).map_err(|e| AssemblyError::Drivers(e.to_string()))?
        }
        None => DriverSet::builtin(),
    };
    Ok(Arc::new(set))
}

/// A collector: pins in `<data dir>/known_hosts`, the settings' timeouts,
/// retries and concurrency.
pub fn collector<L: ResultLog>(
    log: L,
    key: SealingKey,
    drivers: Arc<DriverSet>,
    data_dir: &Path,
    settings: &Arc<Settings>,
    metrics: &Arc<Metrics>,
) -> Result<Arc<Collector<L>>, AssemblyError> {
    let known_hosts = KnownHosts::open(&data_dir.join("known_hosts"))
        .map_err(|e| AssemblyError::KnownHosts(e.to_string()))?;
    let mut options = CollectOptions::new(Arc::new(known_hosts));
    options.connect_timeout = settings.connect_timeout;
    options.max_config_bytes = usize::try_from(settings.max_config_bytes).unwrap_or(usize::MAX);
    Ok(Arc::new(Collector {
        log,
        key,
        drivers,
        options,
        retry: settings.collect_retry,
        slots: Arc::new(tokio::sync::Semaphore::new(
            settings.collector_concurrency.max(1),
        )),
        devices: Default::default(),
        settings: settings.clone(),
        metrics: metrics.clone(),
    }))
}

/// A storage worker writing results to `log`; `search` is the search
/// cache of the same process (embedded mode), handed each new version's
/// content so it does not read it back.
pub fn storage_worker<L: ResultLog>(
    log: L,
    search: Option<Arc<SearchIndex>>,
    settings: &Arc<Settings>,
    metrics: &Arc<Metrics>,
) -> Arc<StorageWorker<L>> {
    let worker = StorageWorker::new(log, settings.clone()).with_metrics(metrics.clone());
    Arc::new(match search {
        Some(search) => worker.with_search(search),
        None => worker,
    })
}

/// The consumer of collection results.
pub fn device_results<B: TaskBus>(
    db: Db,
    bus: B,
    settings: &Arc<Settings>,
    metrics: &Arc<Metrics>,
) -> DeviceResults<B> {
    DeviceResults {
        db,
        bus,
        settings: settings.clone(),
        metrics: metrics.clone(),
    }
}

/// The consumer of storage results; `search` is the search cache of the
/// same process (embedded mode), told of each new version.
pub fn storage_results(
    db: Db,
    search: Option<Arc<SearchIndex>>,
    metrics: &Arc<Metrics>,
) -> StorageResults {
    StorageResults {
        db,
        search,
        metrics: metrics.clone(),
    }
}

/// The dispatcher of backup jobs.
pub fn dispatcher<B: TaskBus>(
    db: Db,
    bus: B,
    settings: &Arc<Settings>,
    metrics: &Arc<Metrics>,
) -> Dispatcher<B> {
    Dispatcher::new(db, bus, settings.clone()).with_metrics(metrics.clone())
}

/// The application layer over `bus`, with the search cache `search` (the
/// one the storage-results consumer of the same process tells, if any).
pub fn app<B: TaskBus>(
    db: Db,
    bus: B,
    key: SealingKey,
    drivers: Arc<DriverSet>,
    settings: &Arc<Settings>,
    search: Arc<SearchIndex>,
    metrics: &Arc<Metrics>,
) -> Result<Arc<App>, AssemblyError> {
    // Loads the system's root certificates once per process.
    let transport = Notifier::new(NotifierConfig {
        connect_timeout: settings
            .notify
            .delivery_timeout
            .min(Duration::from_secs(10)),
        delivery_timeout: settings.notify.delivery_timeout,
        extra_root_certificates: None,
    })
    .map_err(|e| AssemblyError::Notify(e.to_string()))?;
    let sender = Sender::new(
        Arc::new(transport),
        settings.smtp.clone(),
        settings.notify.clone(),
        settings.public_url.as_deref(),
    );
    let identity = Arc::new(Identity::new(&settings.identity)?);
    Ok(Arc::new(App {
        pipeline: Arc::new(BusPipeline {
            dispatcher: dispatcher(db.clone(), bus.clone(), settings, metrics),
            bus,
            settings: settings.clone(),
        }),
        db,
        key,
        drivers,
        login: LoginGuard::new(settings.login_concurrency).with_identity(identity.clone()),
        tokens: TokenPolicy {
            login_idle: settings.login_token_ttl,
            ..TokenPolicy::default()
        },
        storage_roots: settings.storage_roots.clone(),
        sender: Arc::new(sender),
        search,
        audit_retention: std::time::Duration::from_secs(
            u64::from(settings.audit_retention_days) * 86_400,
        ),
        retention: settings.retention.clone(),
        metrics: metrics.clone(),
        import_mapping: settings.import_mapping.clone(),
        identity,
    }))
}

/// Discovers the configured OpenID providers before the API serves: a
/// configuration a provider refuses stops the start (an unreachable
/// provider is tried again at its first sign-in).
pub async fn check_identity(app: &App) -> Result<(), AssemblyError> {
    Ok(app.identity.discover_all().await?)
}

/// The compliance evaluator of a process without an [`App`] (the
/// `scheduler` role): it reads versions through the storage workers over
/// `bus`. Embedded `serve` uses `Evaluator::of(&app)`, which also sees the
/// search cache.
pub fn compliance_evaluator<B: TaskBus>(
    db: Db,
    bus: B,
    settings: &Arc<Settings>,
    metrics: &Arc<Metrics>,
) -> Evaluator {
    Evaluator {
        pipeline: Arc::new(BusPipeline {
            dispatcher: dispatcher(db.clone(), bus.clone(), settings, metrics),
            bus,
            settings: settings.clone(),
        }),
        db,
        search: None,
    }
}

/// Removes pruned fs files through the storage workers (the retention
/// pass of the scheduler role, in both deployments).
pub fn remover<B: TaskBus>(
    bus: B,
    settings: &Settings,
) -> Arc<dyn devicevault_pipeline::retention::Remove> {
    Arc::new(devicevault_pipeline::retention::BusRemover {
        bus,
        timeout: settings.read_timeout,
    })
}

/// What the HTTP front ends hold.
pub fn http_state(app: Arc<App>, settings: &Settings) -> Shared {
    Arc::new(AppState {
        app,
        public_url: settings.public_url.clone(),
        secure_cookies: settings.secure_cookies(),
        metrics_token: settings.metrics_token.clone(),
    })
}

/// Creates the user `admin` with a random password when no user exists;
/// returns the credentials to show once.
pub async fn create_first_admin(db: &Db) -> Result<Option<(String, String)>, AssemblyError> {
    let users = db
        .count_users()
        .await
        .map_err(|e| AssemblyError::FirstAdmin(e.to_string()))?;
    if users > 0 {
        return Ok(None);
    }
    let password = auth::new_password();
    let hash =
        auth::hash_password(&password).map_err(|e| AssemblyError::FirstAdmin(e.to_string()))?;
    match db.create_user("admin", &hash, Role::Admin).await {
        Ok(_) => Ok(Some(("admin".into(), password))),
        // Another process created it first.
        Err(DbError::Conflict(_)) => Ok(None),
        Err(e) => Err(AssemblyError::FirstAdmin(e.to_string())),
    }
}
