//! Tunables shared by the roles, with the seed's defaults. They are read
//! (file, environment, flags) by the one configuration loader,
//! `devicevault_server::config`.

use std::path::PathBuf;
use std::time::Duration;

/// Certificate chain and key files (PEM), as `DEVICEVAULT_TLS_CERT` and
/// `DEVICEVAULT_TLS_KEY` name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

use devicevault_notify::{Secret, SmtpSecurity};
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
    /// `DEVICEVAULT_SEARCH_CACHE_MB`: the memory the API process's search
    /// cache may hold (each device's latest configuration, masked); past
    /// it a search reads what the cache does not hold. 0: no cache.
    pub search_cache_mb: usize,
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
    /// A device without a successful backup for longer than this is stale
    /// (unless its device group says otherwise).
    pub stale_after: Duration,
    /// Days the audit log keeps a row.
    pub audit_retention_days: u32,
    /// `[retention]`: how stored versions, failed results and finished
    /// jobs are pruned.
    pub retention: RetentionSettings,
    /// `DEVICEVAULT_CONNECT_TIMEOUT`: TCP connect, SSH handshake and login
    /// of a collection.
    pub connect_timeout: Duration,
    /// Retries of a transient collection failure; its first delay is
    /// `DEVICEVAULT_RETRY_BASE_MS`, like the stores'.
    pub collect_retry: devicevault_collect::RetryPolicy,
    /// `DEVICEVAULT_MAX_CONFIG_BYTES`: the largest configuration a device
    /// may send unless its device type or driver says otherwise.
    pub max_config_bytes: u64,
    /// `DEVICEVAULT_LOGIN_CONCURRENCY`: password verifications at once.
    pub login_concurrency: usize,
    /// `DEVICEVAULT_LOGIN_TOKEN_TTL`: a login token unused this long dies.
    pub login_token_ttl: Duration,
    /// `DEVICEVAULT_PUBLIC_URL`: how clients reach the server (absolute
    /// links, and `Secure` cookies when it is https).
    pub public_url: Option<String>,
    /// `DEVICEVAULT_TLS_CERT` and `DEVICEVAULT_TLS_KEY`: serve HTTPS.
    pub tls: Option<TlsFiles>,
    /// `DEVICEVAULT_METRICS_TOKEN`: `/metrics` requires this bearer token;
    /// `None`: it is open.
    pub metrics_token: Option<Secret>,
    /// `DEVICEVAULT_MAX_CONNECTIONS`: HTTP connections served at once.
    pub max_connections: usize,
    /// `DEVICEVAULT_HEADER_READ_TIMEOUT`: a request's headers must arrive
    /// within this.
    pub header_read_timeout: Duration,
    /// `DEVICEVAULT_STORAGE_ROOTS` (read by the binary, which refuses a
    /// malformed list at start): the directories every location must
    /// resolve under, for the storage worker's stores and reads and the
    /// API's location checks. `None`: any path an admin configures.
    pub storage_roots: Option<StorageRoots>,
    /// `[smtp]`: the server e-mail channels send through.
    pub smtp: SmtpSettings,
    /// `[notify]`: how the notifier delivers.
    pub notify: NotifySettings,
    /// `DEVICEVAULT_IMPORT_MAPPING_FILE`: the user's table of models to
    /// drivers for imports (unset: `import-mapping.toml` in the data
    /// directory when there is one).
    pub import_mapping_file: Option<std::path::PathBuf>,
    /// The import's table of models to drivers: the built-in one and the
    /// mapping file's, read by the configuration loader.
    pub import_mapping: std::sync::Arc<crate::app::import::DriverMap>,
    /// `DEVICEVAULT_NETBOX_TOKEN`: the API token `devicevault import
    /// --format netbox` sends to NetBox.
    pub netbox_token: Option<Secret>,
    /// `[ldap]`, `[[oidc]]` and `[[group_mapping]]`: who signs in through a
    /// directory or a single sign-on provider, with which rights.
    pub identity: crate::app::directory::IdentitySettings,
}

/// The SMTP server of every e-mail channel (a channel names only its
/// recipients).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// `None`: no server; e-mail deliveries are dead at once, saying so.
    pub host: Option<String>,
    /// `None`: 587, 465 or 25 after `security`.
    pub port: Option<u16>,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    /// Redacted in `Debug`.
    pub password: Option<Secret>,
    /// The sender, e.g. `DeviceVault <devicevault@example.com>`.
    pub from: String,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: None,
            port: None,
            security: SmtpSecurity::Starttls,
            username: None,
            password: None,
            from: "DeviceVault <devicevault@localhost>".into(),
        }
    }
}

/// Retention (see [`crate::retention`]); what each location keeps is the
/// location's own setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionSettings {
    /// How often the scheduler runs a retention pass.
    pub interval: Duration,
    /// How long a pruned fs version's file outlives its index row: longer
    /// than any read (`read_timeout`), so a download or compare that found
    /// the row before it went still reads the file.
    pub grace: Duration,
    /// Failed results older than this many days are deleted; `None`: kept.
    pub failed_results_days: Option<u32>,
    /// Finished (stored or failed) jobs older than this many days are
    /// deleted; `None`: kept.
    pub finished_jobs_days: Option<u32>,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(3600),
            grace: Duration::from_secs(600),
            failed_results_days: None,
            finished_jobs_days: None,
        }
    }
}

/// How notifications are delivered from the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifySettings {
    /// Attempts of one delivery before it is dead.
    pub max_attempts: u32,
    /// The wait after the first failed attempt; doubled after each next one.
    pub retry_base: Duration,
    /// The longest wait between two attempts.
    pub retry_max: Duration,
    /// One delivery to a receiver (SMTP or HTTP), whatever it does.
    pub delivery_timeout: Duration,
    /// How long a notifier holds a claimed delivery; past it, another
    /// notifier takes it (the holder stopped).
    pub lease: Duration,
    /// How often the outbox is looked at when there was nothing to do.
    pub poll_interval: Duration,
    /// Deliveries in flight at once in one notifier.
    pub concurrency: usize,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(3600),
            delivery_timeout: Duration::from_secs(30),
            lease: Duration::from_secs(180),
            poll_interval: Duration::from_secs(1),
            concurrency: 8,
        }
    }
}

impl Settings {
    /// The search cache's budget in bytes.
    pub fn search_cache_bytes(&self) -> usize {
        self.search_cache_mb.saturating_mul(1 << 20)
    }
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
            search_cache_mb: devicevault_search::DEFAULT_MEMORY_BUDGET >> 20,
            read_timeout: Duration::from_secs(60),
            reclaim_idle: Duration::from_secs(60),
            max_deliveries: 5,
            storage_retries: 3,
            storage_retry_base: Duration::from_secs(1),
            scheduler_tick: Duration::from_secs(5),
            stale_after: Duration::from_secs(25 * 3600),
            audit_retention_days: crate::app::audit::DEFAULT_RETENTION_DAYS,
            retention: RetentionSettings::default(),
            connect_timeout: Duration::from_secs(10),
            collect_retry: devicevault_collect::RetryPolicy::default(),
            max_config_bytes: 16 << 20,
            login_concurrency: crate::app::login::LoginGuard::default_concurrency(),
            login_token_ttl: Duration::from_secs(12 * 3600),
            public_url: None,
            tls: None,
            metrics_token: None,
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(30),
            storage_roots: None,
            smtp: SmtpSettings::default(),
            notify: NotifySettings::default(),
            import_mapping_file: None,
            import_mapping: std::sync::Arc::default(),
            netbox_token: None,
            identity: Default::default(),
        }
    }
}

/// A duration: seconds, or a number with `ms`, `s`, `m`, `h` or `d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| "a number of seconds, or with a unit: 500ms, 30s, 15m, 12h, 7d".to_owned())?;
    let d = match unit.trim() {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        "d" => Duration::from_secs(n * 86_400),
        other => return Err(format!("unknown unit {other:?}: use ms, s, m, h or d")),
    };
    Ok(d)
}

impl Settings {
    /// Cookies are `Secure` when TLS is on or clients come through https.
    pub fn secure_cookies(&self) -> bool {
        self.tls.is_some()
            || self
                .public_url
                .as_deref()
                .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"))
    }
}
