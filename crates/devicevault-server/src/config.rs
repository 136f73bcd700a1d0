//! The one configuration loader: built-in defaults, overridden by
//! `devicevault.toml` (`--config`, `DEVICEVAULT_CONFIG`), overridden by the
//! environment, overridden by command-line flags.
//!
//! Every setting is one row of [`keys`]: its name in the file (`section.name`),
//! its environment variable, its help text and how it is read and shown.
//! Loading, `devicevault config show` and `devicevault config default` all
//! walk that table, so a setting added there is read from every source,
//! shown, documented and refused when malformed, in one place.
//!
//! A key the file does not know, or a value that does not parse, is an
//! error naming the key, where it came from and the value; nothing falls
//! back to a default silently.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

mod identity;

use devicevault_notify::SmtpSecurity;
use devicevault_pipeline::settings::{Settings, TlsFiles};

/// The effective configuration of a process.
#[derive(Debug, Clone)]
pub struct Config {
    /// Holds the SQLite database, the key file and SSH host-key pins.
    pub data_dir: PathBuf,
    /// `sqlite:<path>` or `postgres://…`; `None`: SQLite in the data dir.
    pub database_url: Option<String>,
    pub broker_url: String,
    pub redis_url: String,
    /// The sealing key of device secrets; `None`: `secret.key` in the data
    /// directory (created by the first server when no secret needs an
    /// older key).
    pub secret_key_file: Option<PathBuf>,
    /// User drivers (`<name>.toml`) added to the built-in ones.
    pub drivers_dir: Option<PathBuf>,
    pub http_addr: SocketAddr,
    /// A listener of this process's own `/metrics` (every role).
    pub metrics_addr: Option<SocketAddr>,
    /// This process's name in the streams' consumer groups.
    pub consumer_name: Option<String>,
    /// Unacknowledged tasks a worker holds at once.
    pub prefetch: u16,
    /// The pipeline's and the API's tunables.
    pub settings: Settings,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    /// `[ldap]`, `[[oidc]]` and `[[group_mapping]]` as `config show` prints
    /// them: secrets hidden, with where they came from.
    identity_shown: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("devicevault-data"),
            database_url: None,
            broker_url: "amqp://guest:guest@localhost:5672/%2f".into(),
            redis_url: "redis://localhost:6379/1".into(),
            secret_key_file: None,
            drivers_dir: None,
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            metrics_addr: None,
            consumer_name: None,
            prefetch: 64,
            settings: Settings::default(),
            tls_cert: None,
            tls_key: None,
            identity_shown: None,
        }
    }
}

impl Config {
    /// The key file: the configured one, or `secret.key` in the data dir.
    pub fn secret_key_path(&self) -> PathBuf {
        secret_key_path(self.secret_key_file.as_deref(), &self.data_dir)
    }

    /// The database URL: the configured one, or SQLite in the data dir.
    pub fn database_url_or_sqlite(&self) -> String {
        database_url_or_sqlite(self.database_url.as_deref(), &self.data_dir)
    }
}

/// `file`, or `secret.key` in `data_dir`.
pub fn secret_key_path(file: Option<&Path>, data_dir: &Path) -> PathBuf {
    file.map_or_else(|| data_dir.join("secret.key"), Path::to_path_buf)
}

/// `url`, or the SQLite file in `data_dir`.
pub fn database_url_or_sqlite(url: Option<&str>, data_dir: &Path) -> String {
    url.map_or_else(
        || format!("sqlite:{}", data_dir.join("devicevault.sqlite3").display()),
        str::to_owned,
    )
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(&'static str),
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::File(p) => write!(f, "{}", p.display()),
            Self::Env(v) => write!(f, "environment {v}"),
            Self::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// Why the configuration could not be loaded. None of these is helped by
/// retrying: the file or the environment must change.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error(
        "unknown setting `{key}` in {path}{hint}; `devicevault config default` lists every setting"
    )]
    UnknownKey {
        key: String,
        path: PathBuf,
        hint: String,
    },
    #[error("{key} = {value:?} (from {origin}): {reason}")]
    Invalid {
        key: String,
        value: String,
        origin: Source,
        reason: String,
    },
}

/// How a value is written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A quoted string.
    Text,
    /// A bare number.
    Number,
    /// A list of strings (written from a `:`-separated value).
    List,
}

type Getter = Box<dyn Fn(&Config) -> Option<String> + Send + Sync>;
type Setter = Box<dyn Fn(&mut Config, &str) -> Result<(), String> + Send + Sync>;

/// One setting.
pub struct Key {
    /// `section.name`, or `name` at the top of the file.
    pub name: &'static str,
    pub env: &'static str,
    /// For the older `…_S` and `…_MS` variables: the unit a bare number
    /// in the environment is in.
    env_unit: Option<&'static str>,
    pub help: &'static str,
    /// Passwords in it are hidden by `config show`.
    secret: bool,
    shape: Shape,
    get: Getter,
    set: Setter,
}

impl Key {
    fn new<T: 'static>(
        name: &'static str,
        env: &'static str,
        help: &'static str,
        field: fn(&mut Config) -> &mut T,
        show: impl Fn(&T) -> Option<String> + Send + Sync + 'static,
        parse: impl Fn(&str) -> Result<T, String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            name,
            env,
            env_unit: None,
            help,
            secret: false,
            shape: Shape::Text,
            get: Box::new(move |c| show(field(&mut c.clone()))),
            set: Box::new(move |c, v| {
                *field(c) = parse(v)?;
                Ok(())
            }),
        }
    }

    fn text(
        name: &'static str,
        env: &'static str,
        help: &'static str,
        field: fn(&mut Config) -> &mut String,
    ) -> Self {
        Self::new(
            name,
            env,
            help,
            field,
            |v| Some(v.clone()),
            |s| Ok(s.to_owned()),
        )
    }

    fn optional<T: FromStr + fmt::Display + 'static>(
        name: &'static str,
        env: &'static str,
        help: &'static str,
        field: fn(&mut Config) -> &mut Option<T>,
    ) -> Self
    where
        T::Err: fmt::Display,
    {
        Self::new(
            name,
            env,
            help,
            field,
            |v| v.as_ref().map(ToString::to_string),
            |s| s.parse::<T>().map(Some).map_err(|e| e.to_string()),
        )
    }

    fn path(
        name: &'static str,
        env: &'static str,
        help: &'static str,
        field: fn(&mut Config) -> &mut Option<PathBuf>,
    ) -> Self {
        Self::new(
            name,
            env,
            help,
            field,
            |v| v.as_ref().map(|p| p.display().to_string()),
            |s| Ok(Some(PathBuf::from(s))),
        )
    }

    /// A whole number, at least `min`.
    fn number<T>(
        name: &'static str,
        env: &'static str,
        help: &'static str,
        min: u32,
        field: fn(&mut Config) -> &mut T,
    ) -> Self
    where
        T: FromStr + fmt::Display + TryFrom<u32> + PartialOrd + 'static,
    {
        let mut k = Self::new(
            name,
            env,
            help,
            field,
            |v| Some(v.to_string()),
            move |s| match (s.trim().parse::<T>(), T::try_from(min)) {
                (Ok(n), Ok(least)) if n >= least => Ok(n),
                _ => Err(format!("a whole number, at least {min}")),
            },
        );
        k.shape = Shape::Number;
        k
    }

    /// An optional whole number of days, 1 to 36,500.
    fn days(
        name: &'static str,
        env: &'static str,
        help: &'static str,
        field: fn(&mut Config) -> &mut Option<u32>,
    ) -> Self {
        let mut k = Self::new(
            name,
            env,
            help,
            field,
            |v| v.map(|d| d.to_string()),
            |s| match s.trim().parse::<u32>() {
                Ok(n) if (1..=36_500).contains(&n) => Ok(Some(n)),
                _ => Err("a whole number of days, 1 to 36500".into()),
            },
        );
        k.shape = Shape::Number;
        k
    }

    fn duration(
        name: &'static str,
        env: &'static str,
        help: &'static str,
        field: fn(&mut Config) -> &mut Duration,
    ) -> Self {
        Self::new(
            name,
            env,
            help,
            field,
            |d| Some(format_duration(*d)),
            |s| match devicevault_pipeline::settings::parse_duration(s) {
                Ok(d) if d.is_zero() => Err("must be more than zero".into()),
                other => other,
            },
        )
    }

    fn env_unit(mut self, unit: &'static str) -> Self {
        self.env_unit = Some(unit);
        self
    }

    fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    fn list(mut self) -> Self {
        self.shape = Shape::List;
        self
    }

    /// The section of the file it is in (`""` for the top).
    fn section(&self) -> &'static str {
        self.name.rsplit_once('.').map_or("", |(s, _)| s)
    }

    fn leaf(&self) -> &'static str {
        self.name.rsplit_once('.').map_or(self.name, |(_, l)| l)
    }

    /// The value as the file would hold it (`None`: unset), passwords
    /// hidden when `redact`.
    fn render(&self, c: &Config, redact: bool) -> Option<String> {
        let v = (self.get)(c)?;
        let v = if redact && self.secret {
            if v.contains("://") {
                devicevault_db::redact_url(&v)
            } else {
                "********".to_owned()
            }
        } else {
            v
        };
        Some(match self.shape {
            Shape::Number => v,
            Shape::Text => toml_string(&v),
            Shape::List => format!(
                "[{}]",
                v.split(':').map(toml_string).collect::<Vec<_>>().join(", ")
            ),
        })
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("name", &self.name)
            .field("env", &self.env)
            .finish_non_exhaustive()
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// `90s` → `"90s"`, 900 s → `"15m"`: the largest unit that divides it.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms > 0 && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

fn public_url(s: &str) -> Result<Option<String>, String> {
    let lower = s.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://"))
        || s.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("an http:// or https:// URL, e.g. https://devicevault.example.net".into());
    }
    Ok(Some(s.trim_end_matches('/').to_owned()))
}

/// Every setting, in the order `config default` documents them.
pub fn keys() -> &'static [Key] {
    static KEYS: OnceLock<Vec<Key>> = OnceLock::new();
    KEYS.get_or_init(|| {
        vec![
            Key::new(
                "data_dir",
                "DEVICEVAULT_DATA_DIR",
                "Holds the SQLite database, the key file (secret.key) and SSH host-key pins.",
                |c| &mut c.data_dir,
                |p| Some(p.display().to_string()),
                |s| Ok(PathBuf::from(s)),
            ),
            Key::optional(
                "database_url",
                "DEVICEVAULT_DATABASE_URL",
                "`sqlite:<path>` or `postgres://user:password@host/db` (the shared database of \
                 distributed mode). Unset: SQLite in the data directory.",
                |c| &mut c.database_url,
            )
            .secret(),
            Key::text(
                "broker_url",
                "DEVICEVAULT_BROKER_URL",
                "RabbitMQ, for the distributed roles.",
                |c| &mut c.broker_url,
            )
            .secret(),
            Key::text(
                "redis_url",
                "DEVICEVAULT_REDIS_URL",
                "Redis (the result streams), for the distributed roles.",
                |c| &mut c.redis_url,
            )
            .secret(),
            Key::path(
                "secret_key_file",
                "DEVICEVAULT_SECRET_KEY_FILE",
                "The key that seals device passwords (64 hex digits, mode 0600), e.g. a mounted \
                 secret. Unset: secret.key in the data directory, created on first start. Back \
                 it up: without it the stored credentials cannot be opened.",
                |c| &mut c.secret_key_file,
            ),
            Key::path(
                "drivers_dir",
                "DEVICEVAULT_DRIVERS_DIR",
                "Directory of user drivers (<name>.toml) added to the built-in ones.",
                |c| &mut c.drivers_dir,
            ),
            Key::path(
                "import.mapping_file",
                "DEVICEVAULT_IMPORT_MAPPING_FILE",
                "A TOML file whose [drivers] table maps more Oxidized models, RANCID types and \
                 NetBox platform slugs to drivers for `devicevault import` and the import page \
                 (e.g. \"cisco-catalyst\" = \"cisco_ios\"). Unset: import-mapping.toml in the \
                 data directory, when there is one.",
                |c| &mut c.settings.import_mapping_file,
            ),
            Key::new(
                "import.netbox_token",
                "DEVICEVAULT_NETBOX_TOKEN",
                "The NetBox API token `devicevault import --format netbox` sends.",
                |c| &mut c.settings.netbox_token,
                |v| v.as_ref().map(|p| p.expose().to_owned()),
                |s| {
                    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                        return Err("a token without spaces".into());
                    }
                    Ok(Some(devicevault_notify::Secret::new(s)))
                },
            )
            .secret(),
            Key::optional(
                "storage_roots",
                "DEVICEVAULT_STORAGE_ROOTS",
                "Directories every backup location must be under (in the environment: \
                 `:`-separated). Unset: any path an administrator configures.",
                |c| &mut c.settings.storage_roots,
            )
            .list(),
            Key::new(
                "http.addr",
                "DEVICEVAULT_HTTP_ADDR",
                "Address of the REST API and the web UI.",
                |c| &mut c.http_addr,
                |a| Some(a.to_string()),
                |s| {
                    s.parse()
                        .map_err(|_| "an address and port, e.g. 127.0.0.1:8000".into())
                },
            ),
            Key::new(
                "http.public_url",
                "DEVICEVAULT_PUBLIC_URL",
                "How clients reach the server (absolute links; Secure cookies when https).",
                |c| &mut c.settings.public_url,
                Clone::clone,
                public_url,
            ),
            Key::new(
                "metrics.addr",
                "DEVICEVAULT_METRICS_ADDR",
                "Serve this process's Prometheus metrics at /metrics on this address (each \
                 distributed role its own). `serve` and `api` also answer /metrics on http.addr. \
                 Unset: no listener of its own.",
                |c| &mut c.metrics_addr,
                |a| a.map(|a| a.to_string()),
                |s| {
                    s.parse()
                        .map(Some)
                        .map_err(|_| "an address and port, e.g. 127.0.0.1:9100".into())
                },
            ),
            Key::new(
                "metrics.token",
                "DEVICEVAULT_METRICS_TOKEN",
                "When set, /metrics answers only requests with `Authorization: Bearer <token>` \
                 (Prometheus' `authorization` setting), on http.addr and metrics.addr alike. \
                 Unset: /metrics is open to whoever reaches the address.",
                |c| &mut c.settings.metrics_token,
                |v| v.as_ref().map(|p| p.expose().to_owned()),
                |s| {
                    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                        return Err("a token without spaces".into());
                    }
                    Ok(Some(devicevault_notify::Secret::new(s)))
                },
            )
            .secret(),
            Key::path(
                "http.tls_cert",
                "DEVICEVAULT_TLS_CERT",
                "Serve HTTPS with this certificate chain (PEM); needs http.tls_key.",
                |c| &mut c.tls_cert,
            ),
            Key::path(
                "http.tls_key",
                "DEVICEVAULT_TLS_KEY",
                "The private key (PEM) of http.tls_cert.",
                |c| &mut c.tls_key,
            ),
            Key::number(
                "http.max_connections",
                "DEVICEVAULT_MAX_CONNECTIONS",
                "HTTP connections served at once.",
                1,
                |c| &mut c.settings.max_connections,
            ),
            Key::duration(
                "http.header_read_timeout",
                "DEVICEVAULT_HEADER_READ_TIMEOUT",
                "A request's headers must arrive within this.",
                |c| &mut c.settings.header_read_timeout,
            ),
            Key::number(
                "audit.retention_days",
                "DEVICEVAULT_AUDIT_RETENTION_DAYS",
                "Days the audit log keeps a row; older rows are pruned every hour, behind a \
                 checkpoint signed with the sealing key.",
                1,
                |c| &mut c.settings.audit_retention_days,
            ),
            Key::duration(
                "retention.interval",
                "DEVICEVAULT_RETENTION_INTERVAL",
                "How often the scheduler prunes what the locations no longer keep (each \
                 location's keep_last / keep_days) and removes pruned fs files.",
                |c| &mut c.settings.retention.interval,
            ),
            Key::duration(
                "retention.grace",
                "DEVICEVAULT_RETENTION_GRACE",
                "How long a pruned fs version's file outlives its index row; keep it longer \
                 than pipeline.read_timeout, so a download that found the row still reads it.",
                |c| &mut c.settings.retention.grace,
            ),
            Key::days(
                "retention.failed_results_days",
                "DEVICEVAULT_RETENTION_FAILED_RESULTS_DAYS",
                "Failed results older than this many days are deleted. Unset: kept.",
                |c| &mut c.settings.retention.failed_results_days,
            ),
            Key::days(
                "retention.finished_jobs_days",
                "DEVICEVAULT_RETENTION_FINISHED_JOBS_DAYS",
                "Finished (stored or failed) jobs older than this many days are deleted. \
                 Unset: kept.",
                |c| &mut c.settings.retention.finished_jobs_days,
            ),
            Key::number(
                "login.concurrency",
                "DEVICEVAULT_LOGIN_CONCURRENCY",
                "Password verifications at once (each takes tens of MB and milliseconds).",
                1,
                |c| &mut c.settings.login_concurrency,
            ),
            Key::duration(
                "login.token_ttl",
                "DEVICEVAULT_LOGIN_TOKEN_TTL",
                "A login token unused this long expires.",
                |c| &mut c.settings.login_token_ttl,
            ),
            Key::duration(
                "collect.connect_timeout",
                "DEVICEVAULT_CONNECT_TIMEOUT",
                "TCP connect, SSH handshake and login of one collection.",
                |c| &mut c.settings.connect_timeout,
            ),
            Key::number(
                "collect.max_config_bytes",
                "DEVICEVAULT_MAX_CONFIG_BYTES",
                "The largest configuration a device may send, unless its device type or \
                 driver says otherwise.",
                1024,
                |c| &mut c.settings.max_config_bytes,
            ),
            Key::number(
                "collect.concurrency",
                "DEVICEVAULT_COLLECTOR_CONCURRENCY",
                "Collections running at once in one collector.",
                1,
                |c| &mut c.settings.collector_concurrency,
            ),
            Key::number(
                "collect.retries",
                "DEVICEVAULT_COLLECT_RETRIES",
                "Retries of a collection that failed for a reason a retry can help.",
                0,
                |c| &mut c.settings.collect_retry.max_retries,
            ),
            Key::text(
                "pipeline.results_stream",
                "DEVICEVAULT_RESULTS_STREAM",
                "The Redis stream of collection results.",
                |c| &mut c.settings.results_stream,
            ),
            Key::text(
                "pipeline.storage_results_stream",
                "DEVICEVAULT_STORAGE_RESULTS_STREAM",
                "The Redis stream of storage results.",
                |c| &mut c.settings.storage_results_stream,
            ),
            Key::duration(
                "pipeline.job_deadline",
                "DEVICEVAULT_JOB_DEADLINE_S",
                "How long a backup job may stay unfinished before it is dispatched again.",
                |c| &mut c.settings.job_deadline,
            )
            .env_unit("s"),
            Key::number(
                "pipeline.max_dispatches",
                "DEVICEVAULT_MAX_DISPATCHES",
                "Dispatches of one job, the first included, before it fails for good.",
                1,
                |c| &mut c.settings.max_dispatches,
            ),
            Key::duration(
                "pipeline.sweep_interval",
                "DEVICEVAULT_SWEEP_INTERVAL_S",
                "How often overdue jobs are looked for.",
                |c| &mut c.settings.sweep_interval,
            )
            .env_unit("s"),
            Key::duration(
                "pipeline.reclaim_idle",
                "DEVICEVAULT_RECLAIM_IDLE_S",
                "A stream entry left pending this long by a consumer is taken over.",
                |c| &mut c.settings.reclaim_idle,
            )
            .env_unit("s"),
            Key::number(
                "pipeline.max_deliveries",
                "DEVICEVAULT_MAX_DELIVERIES",
                "Deliveries of one stream entry before it goes to <stream>:dead.",
                1,
                |c| &mut c.settings.max_deliveries,
            ),
            Key::duration(
                "pipeline.retry_base",
                "DEVICEVAULT_RETRY_BASE_MS",
                "Delay before the first retry of a collection or a store; doubled for each \
                 next one.",
                |c| &mut c.settings.storage_retry_base,
            )
            .env_unit("ms"),
            Key::number(
                "pipeline.storage_retries",
                "DEVICEVAULT_STORAGE_RETRIES",
                "Retries of a store that failed for a reason a retry can help.",
                0,
                |c| &mut c.settings.storage_retries,
            ),
            Key::number(
                "pipeline.storage_concurrency",
                "DEVICEVAULT_STORAGE_CONCURRENCY",
                "Stores and reads running at once in one storage worker.",
                1,
                |c| &mut c.settings.storage_concurrency,
            ),
            Key::number(
                "pipeline.storage_batch",
                "DEVICEVAULT_STORAGE_BATCH",
                "Most backups written in one group commit.",
                1,
                |c| &mut c.settings.storage_batch,
            ),
            Key::number(
                "search.cache_mb",
                "DEVICEVAULT_SEARCH_CACHE_MB",
                "Memory (MiB) the API's search cache may hold: each device's latest configuration; \
                 past it a search reads the rest. 0: no cache.",
                0,
                |c| &mut c.settings.search_cache_mb,
            ),
            Key::duration(
                "pipeline.read_timeout",
                "DEVICEVAULT_READ_TIMEOUT",
                "How long the API waits for a storage worker to read a stored backup.",
                |c| &mut c.settings.read_timeout,
            ),
            Key::duration(
                "pipeline.scheduler_tick",
                "DEVICEVAULT_SCHEDULER_TICK",
                "How often the scheduler looks for due schedules.",
                |c| &mut c.settings.scheduler_tick,
            ),
            Key::duration(
                "pipeline.stale_after",
                "DEVICEVAULT_STALE_AFTER",
                "A device without a successful backup for longer than this is stale (a \
                 device_stale event, the dashboard); a device group may set its own.",
                |c| &mut c.settings.stale_after,
            ),
            Key::optional(
                "pipeline.consumer_name",
                "DEVICEVAULT_CONSUMER_NAME",
                "This process's name in the streams' consumer groups; keep it stable across \
                 restarts. Unset: <hostname>-<role>.",
                |c| &mut c.consumer_name,
            ),
            Key::optional(
                "smtp.host",
                "DEVICEVAULT_SMTP_HOST",
                "The SMTP server of e-mail notification channels (also the name its \
                 certificate must carry). Unset: e-mail notifications are dead at once, saying so.",
                |c| &mut c.settings.smtp.host,
            ),
            Key::optional(
                "smtp.port",
                "DEVICEVAULT_SMTP_PORT",
                "Its port. Unset: 587 (starttls), 465 (tls) or 25 (none).",
                |c| &mut c.settings.smtp.port,
            ),
            Key::new(
                "smtp.tls",
                "DEVICEVAULT_SMTP_TLS",
                "starttls (required), tls (from the first byte) or none (a relay on this host \
                 or segment; no password is sent over it).",
                |c| &mut c.settings.smtp.security,
                |v| {
                    Some(
                        match v {
                            SmtpSecurity::Starttls => "starttls",
                            SmtpSecurity::Tls => "tls",
                            SmtpSecurity::None => "none",
                        }
                        .to_owned(),
                    )
                },
                |s| match s.trim() {
                    "starttls" => Ok(SmtpSecurity::Starttls),
                    "tls" => Ok(SmtpSecurity::Tls),
                    "none" => Ok(SmtpSecurity::None),
                    _ => Err("starttls, tls or none".into()),
                },
            ),
            Key::optional(
                "smtp.username",
                "DEVICEVAULT_SMTP_USERNAME",
                "Sign in to the SMTP server as this user (with smtp.password).",
                |c| &mut c.settings.smtp.username,
            ),
            Key::new(
                "smtp.password",
                "DEVICEVAULT_SMTP_PASSWORD",
                "The SMTP user's password (never sent unencrypted).",
                |c| &mut c.settings.smtp.password,
                |v| v.as_ref().map(|p| p.expose().to_owned()),
                |s| Ok(Some(devicevault_notify::Secret::new(s))),
            )
            .secret(),
            Key::text(
                "smtp.from",
                "DEVICEVAULT_SMTP_FROM",
                "The sender of notification mail, e.g. `DeviceVault <devicevault@example.com>`.",
                |c| &mut c.settings.smtp.from,
            ),
            Key::number(
                "notify.max_attempts",
                "DEVICEVAULT_NOTIFY_MAX_ATTEMPTS",
                "Attempts of one notification before it is dead (with its last error).",
                1,
                |c| &mut c.settings.notify.max_attempts,
            ),
            Key::duration(
                "notify.retry_base",
                "DEVICEVAULT_NOTIFY_RETRY_BASE",
                "The wait after a notification's first failed attempt; doubled after each next one.",
                |c| &mut c.settings.notify.retry_base,
            ),
            Key::duration(
                "notify.retry_max",
                "DEVICEVAULT_NOTIFY_RETRY_MAX",
                "The longest wait between two attempts of a notification.",
                |c| &mut c.settings.notify.retry_max,
            ),
            Key::duration(
                "notify.delivery_timeout",
                "DEVICEVAULT_NOTIFY_DELIVERY_TIMEOUT",
                "One delivery to a mail server or webhook receiver, whatever it does.",
                |c| &mut c.settings.notify.delivery_timeout,
            ),
            Key::duration(
                "notify.lease",
                "DEVICEVAULT_NOTIFY_LEASE",
                "How long a notifier holds a claimed notification; past it, another notifier \
                 sends it (the holder stopped). Longer than a delivery and a read of two versions.",
                |c| &mut c.settings.notify.lease,
            ),
            Key::duration(
                "notify.poll_interval",
                "DEVICEVAULT_NOTIFY_POLL_INTERVAL",
                "How often an idle notifier looks at the outbox.",
                |c| &mut c.settings.notify.poll_interval,
            ),
            Key::number(
                "notify.concurrency",
                "DEVICEVAULT_NOTIFY_CONCURRENCY",
                "Notifications sent at once by one notifier.",
                1,
                |c| &mut c.settings.notify.concurrency,
            ),
            Key::number(
                "pipeline.prefetch",
                "DEVICEVAULT_PREFETCH",
                "Unacknowledged tasks a worker holds at once.",
                1,
                |c| &mut c.prefetch,
            ),
        ]
    })
}

fn key(name: &str) -> Option<&'static Key> {
    keys().iter().find(|k| k.name == name)
}

/// A loaded configuration and where each value came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub sources: HashMap<&'static str, Source>,
    /// `DEVICEVAULT_*` variables that name no setting (typos, usually).
    pub unknown_env: Vec<String>,
}

/// Reads the configuration: defaults < the file (`file`, or the one
/// `DEVICEVAULT_CONFIG` names) < the environment (`env`) < `flags`
/// (`(key, flag, value)`).
pub fn load(
    file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    flags: &[(&str, String, String)],
) -> Result<Loaded, ConfigError> {
    let mut config = Config::default();
    let mut sources = HashMap::new();
    let file = file
        .map(Path::to_path_buf)
        .or_else(|| non_empty(env("DEVICEVAULT_CONFIG")).map(PathBuf::from));
    let mut identity = toml::Table::new();
    if let Some(path) = &file {
        let (settings, sections) = read_file(path)?;
        identity = sections;
        for (name, value) in settings {
            let k = key(&name).ok_or_else(|| ConfigError::UnknownKey {
                hint: suggest(&name),
                key: name.clone(),
                path: path.clone(),
            })?;
            apply(
                k,
                &mut config,
                &value,
                Source::File(path.clone()),
                &mut sources,
            )?;
        }
    }
    for k in keys() {
        if let Some(mut value) = non_empty(env(k.env)) {
            if let Some(unit) = k.env_unit
                && value.trim().bytes().all(|b| b.is_ascii_digit())
            {
                value = format!("{}{unit}", value.trim());
            }
            apply(k, &mut config, &value, Source::Env(k.env), &mut sources)?;
        }
    }
    for (name, flag, value) in flags {
        let k = key(name).unwrap_or_else(|| panic!("flag {flag} names no setting {name}"));
        apply(
            k,
            &mut config,
            value,
            Source::Flag(flag.clone()),
            &mut sources,
        )?;
    }
    if let Some(path) = &file {
        identity::load(&mut config, identity, path, env)?;
    }
    finish(&mut config, &sources)?;
    Ok(Loaded {
        config,
        sources,
        unknown_env: Vec::new(),
    })
}

/// [`load`] from the process environment, noting unknown `DEVICEVAULT_*`
/// variables.
pub fn load_from_env(
    file: Option<&Path>,
    flags: &[(&str, String, String)],
) -> Result<Loaded, ConfigError> {
    let mut loaded = load(file, &|k| std::env::var(k).ok(), flags)?;
    loaded.unknown_env = std::env::vars()
        .map(|(k, _)| k)
        .filter(|k| {
            k.starts_with("DEVICEVAULT_")
                && k != "DEVICEVAULT_CONFIG"
                && !identity::is_secret_variable(k)
                && !keys().iter().any(|key| key.env == k)
        })
        .collect();
    Ok(loaded)
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|v| !v.trim().is_empty())
}

fn apply(
    k: &'static Key,
    config: &mut Config,
    value: &str,
    source: Source,
    sources: &mut HashMap<&'static str, Source>,
) -> Result<(), ConfigError> {
    (k.set)(config, value.trim()).map_err(|reason| ConfigError::Invalid {
        key: k.name.to_owned(),
        value: if k.secret {
            devicevault_db::redact_url(value)
        } else {
            value.to_owned()
        },
        origin: source.clone(),
        reason,
    })?;
    sources.insert(k.name, source);
    Ok(())
}

/// The rules that span settings.
fn finish(c: &mut Config, sources: &HashMap<&'static str, Source>) -> Result<(), ConfigError> {
    c.settings.collect_retry.base_delay = c.settings.storage_retry_base;
    let mapping = c.settings.import_mapping_file.clone().or_else(|| {
        let p = c.data_dir.join("import-mapping.toml");
        p.is_file().then_some(p)
    });
    if let Some(path) = mapping {
        let invalid = |reason: String| ConfigError::Invalid {
            key: "import.mapping_file".into(),
            value: path.display().to_string(),
            origin: sources
                .get("import.mapping_file")
                .cloned()
                .unwrap_or(Source::Default),
            reason,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| invalid(e.to_string()))?;
        let map =
            devicevault_pipeline::app::import::DriverMap::with_file_text(&text).map_err(|e| {
                invalid(format!(
                    "not a mapping file ([drivers] model = \"driver\"): {e}"
                ))
            })?;
        c.settings.import_mapping = std::sync::Arc::new(map);
    }
    c.settings.tls = match (c.tls_cert.clone(), c.tls_key.clone()) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (Some(cert), None) => {
            return Err(ConfigError::Invalid {
                key: "http.tls_key".into(),
                value: String::new(),
                origin: sources["http.tls_cert"].clone(),
                reason: format!("must be set with http.tls_cert ({})", cert.display()),
            });
        }
        (None, Some(key)) => {
            return Err(ConfigError::Invalid {
                key: "http.tls_cert".into(),
                value: String::new(),
                origin: sources["http.tls_key"].clone(),
                reason: format!("must be set with http.tls_key ({})", key.display()),
            });
        }
    };
    Ok(())
}

/// The file's settings as `(section.name, value)`; values as the
/// environment would give them (a list joined with `:`). The sections of
/// [`identity::SECTIONS`] are structured (nested tables, arrays of
/// tables): they come back apart, as they are.
fn read_file(path: &Path) -> Result<(Vec<(String, String)>, toml::Table), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mut table: toml::Table =
        text.parse()
            .map_err(|e: toml::de::Error| ConfigError::Syntax {
                path: path.to_owned(),
                message: e.message().to_owned(),
            })?;
    let mut identity = toml::Table::new();
    for section in identity::SECTIONS {
        if let Some(v) = table.remove(section) {
            identity.insert(section.to_owned(), v);
        }
    }
    let mut out = Vec::new();
    let scalar = |name: &str, v: &toml::Value| -> Result<String, ConfigError> {
        let invalid = |reason: &str| ConfigError::Invalid {
            key: name.to_owned(),
            value: v.to_string(),
            origin: Source::File(path.to_owned()),
            reason: reason.to_owned(),
        };
        match v {
            toml::Value::String(s) => Ok(s.clone()),
            toml::Value::Integer(n) => Ok(n.to_string()),
            toml::Value::Boolean(b) => Ok(b.to_string()),
            toml::Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(|v| v.join(":"))
                .ok_or_else(|| invalid("a list of strings")),
            _ => Err(invalid("a string or a number")),
        }
    };
    for (name, value) in &table {
        match value {
            toml::Value::Table(section) => {
                for (leaf, v) in section {
                    let full = format!("{name}.{leaf}");
                    if matches!(v, toml::Value::Table(_)) {
                        return Err(ConfigError::UnknownKey {
                            hint: String::new(),
                            key: full,
                            path: path.to_owned(),
                        });
                    }
                    out.push((full.clone(), scalar(&full, v)?));
                }
            }
            v => out.push((name.clone(), scalar(name, v)?)),
        }
    }
    Ok((out, identity))
}

/// ", did you mean `x`?" for a key a letter or two away from a known one.
fn suggest(name: &str) -> String {
    let distance = |a: &str, b: &str| {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    };
    let leaf = name.rsplit_once('.').map_or(name, |(_, l)| l);
    keys()
        .iter()
        .map(|k| {
            (
                distance(name, k.name).min(distance(leaf, k.leaf()) + 1),
                k.name,
            )
        })
        // A typo, not another word: up to two thirds of the name's letters.
        .filter(|(d, _)| *d <= (leaf.chars().count() * 2 / 3).max(2))
        .min()
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

/// The effective configuration as a file, secrets hidden, each value
/// followed by where it came from (`devicevault config show`).
pub fn show(loaded: &Loaded) -> String {
    let mut out = by_section(|out, k| {
        let source = loaded.sources.get(k.name).unwrap_or(&Source::Default);
        match k.render(&loaded.config, true) {
            Some(v) => writeln!(out, "{} = {v}  # {source}", k.leaf()),
            None => writeln!(out, "#{} =  # unset", k.leaf()),
        }
    });
    if let Some(identity) = &loaded.config.identity_shown {
        out.push('\n');
        out.push_str(identity);
    }
    out
}

/// A commented file of every setting at its default, except those given
/// in `set`, written as settings (`devicevault config default`).
pub fn default_file(set: &Loaded) -> String {
    let mut out = String::from(
        "# DeviceVault configuration (devicevault.toml).\n\
         #\n\
         # Read from --config <file> or DEVICEVAULT_CONFIG. Each setting can also\n\
         # come from its environment variable, and some from a command-line flag:\n\
         # built-in defaults < this file < the environment < flags.\n\
         # `devicevault config show` prints what a process will use.\n\
         # Settings are shown at their defaults, commented out.\n",
    );
    out.push_str(&by_section(|out, k| {
        out.push('\n');
        for line in wrap(k.help, 76) {
            writeln!(out, "# {line}")?;
        }
        writeln!(out, "# Environment: {}.", k.env)?;
        let hash = if set.sources.contains_key(k.name) {
            ""
        } else {
            "#"
        };
        match k.render(&set.config, false) {
            Some(v) => writeln!(out, "{hash}{} = {v}", k.leaf()),
            None => writeln!(out, "#{} =", k.leaf()),
        }
    }));
    out.push_str(identity::EXAMPLE);
    out
}

/// `text` in lines of at most `width` characters, broken at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().expect("one line at least");
        if !last.is_empty() && last.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_owned());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

/// Every key, grouped by section, written by `line`.
fn by_section(line: impl Fn(&mut String, &Key) -> fmt::Result) -> String {
    let mut sections: BTreeMap<&str, Vec<&Key>> = BTreeMap::new();
    for k in keys() {
        sections.entry(k.section()).or_default().push(k);
    }
    let mut out = String::new();
    for (section, ks) in sections {
        if !section.is_empty() {
            let _ = writeln!(out, "\n[{section}]");
        }
        for k in ks {
            let _ = line(&mut out, k);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| m.get(k).cloned()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    /// The search cache's budget: 1,024 MiB unless set, in the file or
    /// the environment; 0 turns the cache off.
    #[test]
    fn the_search_cache_budget_is_a_setting() {
        let l = load(None, &env(&[]), &[]).unwrap();
        assert_eq!(l.config.settings.search_cache_bytes(), 1 << 30);
        let f = file("[search]\ncache_mb = 128\n");
        let l = load(Some(f.path()), &env(&[]), &[]).unwrap();
        assert_eq!(l.config.settings.search_cache_bytes(), 128 << 20);
        let l = load(
            Some(f.path()),
            &env(&[("DEVICEVAULT_SEARCH_CACHE_MB", "0")]),
            &[],
        )
        .unwrap();
        assert_eq!(l.config.settings.search_cache_mb, 0);
    }

    #[test]
    fn defaults_then_file_then_environment_then_flags() {
        let f = file(
            "data_dir = \"/srv/dv\"\n\
             [http]\naddr = \"0.0.0.0:9000\"\n\
             [collect]\nconnect_timeout = \"20s\"\n\
             [pipeline]\njob_deadline = \"30m\"\nprefetch = 8\n",
        );
        let l = load(
            Some(f.path()),
            &env(&[
                ("DEVICEVAULT_CONNECT_TIMEOUT", "5s"),
                ("DEVICEVAULT_HTTP_ADDR", "127.0.0.1:9001"),
            ]),
            &[("http.addr", "--http-addr".into(), "127.0.0.1:9002".into())],
        )
        .unwrap();
        let c = &l.config;
        assert_eq!(c.data_dir, PathBuf::from("/srv/dv"));
        assert_eq!(c.settings.job_deadline, Duration::from_secs(1800));
        assert_eq!(c.prefetch, 8);
        assert_eq!(c.settings.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.http_addr.to_string(), "127.0.0.1:9002");
        assert_eq!(c.settings.reclaim_idle, Settings::default().reclaim_idle);
        assert_eq!(l.sources["data_dir"], Source::File(f.path().to_owned()));
        assert_eq!(
            l.sources["collect.connect_timeout"],
            Source::Env("DEVICEVAULT_CONNECT_TIMEOUT")
        );
        assert_eq!(l.sources["http.addr"], Source::Flag("--http-addr".into()));
    }

    #[test]
    fn the_seeds_variables_keep_their_names_and_units() {
        let c = load(
            None,
            &env(&[
                ("DEVICEVAULT_REDIS_URL", "redis://r:6379/2"),
                ("DEVICEVAULT_RESULTS_STREAM", "dr"),
                ("DEVICEVAULT_STORAGE_RESULTS_STREAM", "sr"),
                ("DEVICEVAULT_JOB_DEADLINE_S", "60"),
                ("DEVICEVAULT_RETRY_BASE_MS", "250"),
                ("DEVICEVAULT_STORAGE_ROOTS", "/srv/a:/srv/b"),
            ]),
            &[],
        )
        .unwrap()
        .config;
        assert_eq!(c.redis_url, "redis://r:6379/2");
        assert_eq!(c.settings.results_stream, "dr");
        assert_eq!(c.settings.storage_results_stream, "sr");
        assert_eq!(c.settings.job_deadline, Duration::from_secs(60));
        assert_eq!(c.settings.storage_retry_base, Duration::from_millis(250));
        assert_eq!(
            c.settings.collect_retry.base_delay,
            Duration::from_millis(250)
        );
        assert_eq!(
            c.settings.storage_roots.unwrap().to_string(),
            "/srv/a:/srv/b"
        );
        let d = load(None, &env(&[]), &[]).unwrap().config;
        assert_eq!(d.redis_url, "redis://localhost:6379/1");
        assert_eq!(d.settings.results_stream, "device:results");
        assert_eq!(d.settings.storage_results_stream, "storage:results");
    }

    #[test]
    fn malformed_values_are_refused_naming_key_source_and_value() {
        let e = load(None, &env(&[("DEVICEVAULT_MAX_CONFIG_BYTES", "16MB")]), &[]).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("collect.max_config_bytes"), "{msg}");
        assert!(msg.contains("DEVICEVAULT_MAX_CONFIG_BYTES"), "{msg}");
        assert!(msg.contains("\"16MB\""), "{msg}");
        for (var, value) in [
            ("DEVICEVAULT_LOGIN_TOKEN_TTL", "12 hours"),
            ("DEVICEVAULT_JOB_DEADLINE_S", "-1"),
            ("DEVICEVAULT_PUBLIC_URL", "dv.example.net"),
            ("DEVICEVAULT_HTTP_ADDR", "localhost"),
            ("DEVICEVAULT_PREFETCH", "0"),
            ("DEVICEVAULT_PREFETCH", "70000"),
            ("DEVICEVAULT_STORAGE_ROOTS", "relative/dir"),
            ("DEVICEVAULT_CONNECT_TIMEOUT", "0s"),
        ] {
            assert!(
                load(None, &env(&[(var, value)]), &[]).is_err(),
                "{var}={value}"
            );
        }
        let f = file("[pipeline]\nprefetch = \"many\"\n");
        let msg = load(Some(f.path()), &env(&[]), &[])
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("pipeline.prefetch") && msg.contains("many"),
            "{msg}"
        );
        assert!(msg.contains(&f.path().display().to_string()), "{msg}");
        let e = load(
            None,
            &env(&[("DEVICEVAULT_TLS_CERT", "/etc/dv/cert.pem")]),
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("http.tls_key"), "{e}");
    }

    #[test]
    fn the_smtp_section_is_read_checked_and_its_password_never_shown() {
        let f = file(
            "[smtp]\nhost = \"mail.example.com\"\nport = 2525\ntls = \"tls\"\n\
             username = \"dv\"\npassword = \"smtp-pass-123\"\nfrom = \"DV <dv@example.com>\"\n",
        );
        let loaded = load(Some(f.path()), &env(&[]), &[]).unwrap();
        let smtp = &loaded.config.settings.smtp;
        assert_eq!(smtp.host.as_deref(), Some("mail.example.com"));
        assert_eq!(smtp.port, Some(2525));
        assert_eq!(smtp.security, SmtpSecurity::Tls);
        assert_eq!(smtp.password.as_ref().unwrap().expose(), "smtp-pass-123");
        let shown = show(&loaded);
        assert!(!shown.contains("smtp-pass-123"), "{shown}");
        assert!(!format!("{:?}", loaded.config).contains("smtp-pass-123"));
        let f = file("[smtp]\ntls = \"ssl\"\n");
        let msg = load(Some(f.path()), &env(&[]), &[])
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("smtp.tls") && msg.contains("starttls, tls or none"),
            "{msg}"
        );
        let loaded = load(None, &env(&[("DEVICEVAULT_NOTIFY_MAX_ATTEMPTS", "3")]), &[]).unwrap();
        assert_eq!(loaded.config.settings.notify.max_attempts, 3);
    }

    #[test]
    fn the_retention_section_is_read_and_its_periods_checked() {
        let d = load(None, &env(&[]), &[])
            .unwrap()
            .config
            .settings
            .retention;
        assert_eq!(d.failed_results_days, None);
        assert_eq!(d.finished_jobs_days, None);
        assert_eq!(d.grace, Duration::from_secs(600));
        let f = file(
            "[retention]\ninterval = \"15m\"\ngrace = \"2m\"\n\
             failed_results_days = 30\nfinished_jobs_days = 90\n",
        );
        let loaded = load(Some(f.path()), &env(&[]), &[]).unwrap();
        let r = &loaded.config.settings.retention;
        assert_eq!(r.interval, Duration::from_secs(900));
        assert_eq!(r.grace, Duration::from_secs(120));
        assert_eq!(
            (r.failed_results_days, r.finished_jobs_days),
            (Some(30), Some(90))
        );
        let shown = show(&loaded);
        assert!(shown.contains("failed_results_days = 30"), "{shown}");
        for (var, value) in [
            ("DEVICEVAULT_RETENTION_FAILED_RESULTS_DAYS", "0"),
            ("DEVICEVAULT_RETENTION_FINISHED_JOBS_DAYS", "36501"),
            ("DEVICEVAULT_RETENTION_FINISHED_JOBS_DAYS", "a week"),
            ("DEVICEVAULT_RETENTION_GRACE", "0s"),
        ] {
            let msg = load(None, &env(&[(var, value)]), &[])
                .unwrap_err()
                .to_string();
            assert!(msg.contains(var), "{var}={value}: {msg}");
        }
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused_with_a_suggestion() {
        let f = file("[http]\nadress = \"0.0.0.0:80\"\n");
        let msg = load(Some(f.path()), &env(&[]), &[])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("unknown setting `http.adress`"), "{msg}");
        assert!(msg.contains("did you mean `http.addr`"), "{msg}");
        let f = file("[frobnicate]\nhost = \"mail\"\n");
        assert!(load(Some(f.path()), &env(&[]), &[]).is_err());
        let f = file("data_dir = [1, 2]\n");
        assert!(load(Some(f.path()), &env(&[]), &[]).is_err());
        let f = file("data_dir = \n");
        let msg = load(Some(f.path()), &env(&[]), &[])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("not valid TOML"), "{msg}");
        let msg = load(Some(Path::new("/nonexistent/dv.toml")), &env(&[]), &[])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("/nonexistent/dv.toml"), "{msg}");
    }

    #[test]
    fn the_file_can_be_named_by_the_environment() {
        let f = file("[login]\ntoken_ttl = \"2h\"\n");
        let p = f.path().display().to_string();
        let c = load(None, &env(&[("DEVICEVAULT_CONFIG", &p)]), &[])
            .unwrap()
            .config;
        assert_eq!(c.settings.login_token_ttl, Duration::from_secs(7200));
    }

    #[test]
    fn the_import_mapping_file_extends_the_table_and_a_bad_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().display().to_string();
        std::fs::write(
            dir.path().join("import-mapping.toml"),
            "[drivers]\n\"Cisco-Catalyst\" = \"cisco_ios\"\n",
        )
        .unwrap();
        let c = load(None, &env(&[("DEVICEVAULT_DATA_DIR", &data)]), &[])
            .unwrap()
            .config;
        let drivers = devicevault_collect::DriverSet::builtin();
        let map = &c.settings.import_mapping;
        assert_eq!(map.driver("cisco-catalyst", &drivers).unwrap(), "cisco_ios");
        assert_eq!(map.driver("junos", &drivers).unwrap(), "juniper_junos");
        let bad = file("[drivers]\nios = 1\n");
        let p = bad.path().display().to_string();
        let e = load(
            None,
            &env(&[
                ("DEVICEVAULT_IMPORT_MAPPING_FILE", &p),
                ("DEVICEVAULT_DATA_DIR", &data),
            ]),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("import.mapping_file"), "{e}");
    }

    #[test]
    fn show_hides_passwords_and_reads_back_as_the_same_configuration() {
        let l = load(
            None,
            &env(&[
                ("DEVICEVAULT_DATABASE_URL", "postgres://dv:hunter2@db/dv"),
                ("DEVICEVAULT_BROKER_URL", "amqp://dv:rabbitpw@mq:5672/%2f"),
                ("DEVICEVAULT_STORAGE_ROOTS", "/srv/a:/srv/b"),
                ("DEVICEVAULT_JOB_DEADLINE_S", "90"),
            ]),
            &[],
        )
        .unwrap();
        let shown = show(&l);
        assert!(
            !shown.contains("hunter2") && !shown.contains("rabbitpw"),
            "{shown}"
        );
        assert!(shown.contains("postgres://dv:***@db/dv"), "{shown}");
        assert!(
            shown.contains("job_deadline = \"90s\"  # environment DEVICEVAULT_JOB_DEADLINE_S"),
            "{shown}"
        );
        // Without its secrets, what is shown is a file that loads as the
        // same configuration.
        let f = file(&shown.replace("***", "pw"));
        let again = load(Some(f.path()), &env(&[]), &[]).unwrap().config;
        assert_eq!(again.settings.job_deadline, Duration::from_secs(90));
        assert_eq!(
            again.settings.storage_roots.unwrap().to_string(),
            "/srv/a:/srv/b"
        );
        assert_eq!(
            again.database_url.as_deref(),
            Some("postgres://dv:pw@db/dv")
        );
    }

    #[test]
    fn the_default_file_documents_every_key_and_loads_as_the_defaults() {
        let none = load(None, &env(&[]), &[]).unwrap();
        let text = default_file(&none);
        for k in keys() {
            assert!(text.contains(k.env), "{} undocumented", k.name);
            assert!(text.contains(&format!("#{} =", k.leaf())), "{}", k.name);
        }
        let f = file(&text);
        let c = load(Some(f.path()), &env(&[]), &[]).unwrap().config;
        assert_eq!(c.http_addr, Config::default().http_addr);
        // With the data directory chosen, it is written as a setting.
        let set = load(
            None,
            &env(&[]),
            &[(
                "data_dir",
                "--data-dir".into(),
                "/var/lib/devicevault".into(),
            )],
        )
        .unwrap();
        let text = default_file(&set);
        assert!(
            text.contains("\ndata_dir = \"/var/lib/devicevault\"\n"),
            "{text}"
        );
        let f = file(&text);
        let c = load(Some(f.path()), &env(&[]), &[]).unwrap().config;
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/devicevault"));
    }

    #[test]
    fn durations_are_shown_in_their_largest_whole_unit() {
        assert_eq!(format_duration(Duration::from_secs(900)), "15m");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_secs(86_400)), "1d");
    }
}
