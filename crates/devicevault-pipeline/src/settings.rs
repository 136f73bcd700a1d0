//! Tunables shared by the roles, with the seed's defaults, read from the
//! environment. A variable that is set but malformed is an error naming
//! the variable and the value — never a silent fall back to the default.

use std::path::PathBuf;
use std::time::Duration;

/// Certificate chain and key files (PEM), as `DEVICEVAULT_TLS_CERT` and
/// `DEVICEVAULT_TLS_KEY` name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why the settings could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}={value:?}: {reason}")]
pub struct SettingsError {
    pub key: String,
    pub value: String,
    pub reason: String,
}

/// Stream names, deadlines and limits of the pipeline and the API.
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
            connect_timeout: Duration::from_secs(10),
            collect_retry: devicevault_collect::RetryPolicy::default(),
            max_config_bytes: 16 << 20,
            login_concurrency: crate::app::login::LoginGuard::default_concurrency(),
            login_token_ttl: Duration::from_secs(12 * 3600),
            public_url: None,
            tls: None,
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(30),
            storage_roots: None,
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

/// Reads settings from a variable lookup (the environment, or a map in
/// tests).
struct Vars<F>(F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    fn raw(&self, key: &str) -> Option<String> {
        (self.0)(key).filter(|v| !v.trim().is_empty())
    }

    fn err(key: &str, value: &str, reason: impl Into<String>) -> SettingsError {
        SettingsError {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: reason.into(),
        }
    }

    fn string(&self, key: &str, into: &mut String) {
        if let Some(v) = self.raw(key) {
            *into = v;
        }
    }

    fn number<T: std::str::FromStr + PartialOrd + Copy>(
        &self,
        key: &str,
        min: T,
        into: &mut T,
    ) -> Result<(), SettingsError> {
        if let Some(v) = self.raw(key) {
            match v.trim().parse::<T>() {
                Ok(n) if n >= min => *into = n,
                _ => return Err(Self::err(key, &v, "not a number in range")),
            }
        }
        Ok(())
    }

    fn duration(&self, key: &str, into: &mut Duration) -> Result<(), SettingsError> {
        if let Some(v) = self.raw(key) {
            match parse_duration(&v) {
                Ok(d) if !d.is_zero() => *into = d,
                Ok(_) => return Err(Self::err(key, &v, "must be more than zero")),
                Err(e) => return Err(Self::err(key, &v, e)),
            }
        }
        Ok(())
    }

    /// The older `…_S` variables took whole seconds.
    fn seconds(&self, key: &str, into: &mut Duration) -> Result<(), SettingsError> {
        let mut secs = 0u64;
        if self.raw(key).is_some() {
            self.number(key, 1, &mut secs)?;
            *into = Duration::from_secs(secs);
        }
        Ok(())
    }
}

impl Settings {
    /// Defaults overridden by the environment: `DEVICEVAULT_RESULTS_STREAM`,
    /// `DEVICEVAULT_STORAGE_RESULTS_STREAM`, `DEVICEVAULT_JOB_DEADLINE_S`,
    /// `DEVICEVAULT_CONNECT_TIMEOUT`,
    /// `DEVICEVAULT_SWEEP_INTERVAL_S`, `DEVICEVAULT_RECLAIM_IDLE_S`,
    /// `DEVICEVAULT_RETRY_BASE_MS` (the first retry delay of collections
    /// and stores), `DEVICEVAULT_MAX_CONFIG_BYTES`,
    /// `DEVICEVAULT_LOGIN_CONCURRENCY`, `DEVICEVAULT_LOGIN_TOKEN_TTL`,
    /// `DEVICEVAULT_PUBLIC_URL`, `DEVICEVAULT_TLS_CERT` with
    /// `DEVICEVAULT_TLS_KEY`, `DEVICEVAULT_MAX_CONNECTIONS` and
    /// `DEVICEVAULT_HEADER_READ_TIMEOUT`.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// [`Settings::from_env`] over any lookup.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let v = Vars(lookup);
        let mut s = Self::default();
        v.string("DEVICEVAULT_RESULTS_STREAM", &mut s.results_stream);
        v.string(
            "DEVICEVAULT_STORAGE_RESULTS_STREAM",
            &mut s.storage_results_stream,
        );
        v.seconds("DEVICEVAULT_JOB_DEADLINE_S", &mut s.job_deadline)?;
        v.seconds("DEVICEVAULT_SWEEP_INTERVAL_S", &mut s.sweep_interval)?;
        v.seconds("DEVICEVAULT_RECLAIM_IDLE_S", &mut s.reclaim_idle)?;
        let mut ms = s.storage_retry_base.as_millis() as u64;
        v.number("DEVICEVAULT_RETRY_BASE_MS", 0, &mut ms)?;
        s.storage_retry_base = Duration::from_millis(ms);
        s.collect_retry.base_delay = s.storage_retry_base;
        v.duration("DEVICEVAULT_CONNECT_TIMEOUT", &mut s.connect_timeout)?;
        v.number(
            "DEVICEVAULT_MAX_CONFIG_BYTES",
            1024,
            &mut s.max_config_bytes,
        )?;
        v.number("DEVICEVAULT_LOGIN_CONCURRENCY", 1, &mut s.login_concurrency)?;
        v.duration("DEVICEVAULT_LOGIN_TOKEN_TTL", &mut s.login_token_ttl)?;
        v.number("DEVICEVAULT_MAX_CONNECTIONS", 1, &mut s.max_connections)?;
        v.duration(
            "DEVICEVAULT_HEADER_READ_TIMEOUT",
            &mut s.header_read_timeout,
        )?;
        if let Some(url) = v.raw("DEVICEVAULT_PUBLIC_URL") {
            let lower = url.to_ascii_lowercase();
            if !(lower.starts_with("http://") || lower.starts_with("https://"))
                || url.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(Vars::<fn(&str) -> Option<String>>::err(
                    "DEVICEVAULT_PUBLIC_URL",
                    &url,
                    "an http:// or https:// URL, e.g. https://devicevault.example.net",
                ));
            }
            s.public_url = Some(url.trim_end_matches('/').to_owned());
        }
        match (v.raw("DEVICEVAULT_TLS_CERT"), v.raw("DEVICEVAULT_TLS_KEY")) {
            (None, None) => {}
            (Some(cert), Some(key)) => {
                s.tls = Some(TlsFiles {
                    cert: PathBuf::from(cert),
                    key: PathBuf::from(key),
                });
            }
            (Some(cert), None) => {
                return Err(Vars::<fn(&str) -> Option<String>>::err(
                    "DEVICEVAULT_TLS_KEY",
                    "",
                    format!("must be set with DEVICEVAULT_TLS_CERT ({cert})"),
                ));
            }
            (None, Some(key)) => {
                return Err(Vars::<fn(&str) -> Option<String>>::err(
                    "DEVICEVAULT_TLS_CERT",
                    "",
                    format!("must be set with DEVICEVAULT_TLS_KEY ({key})"),
                ));
            }
        }
        Ok(s)
    }

    /// Cookies are `Secure` when TLS is on or clients come through https.
    pub fn secure_cookies(&self) -> bool {
        self.tls.is_some()
            || self
                .public_url
                .as_deref()
                .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_vars(|k| m.get(k).cloned())
    }

    #[test]
    fn settings_come_from_the_environment_with_units() {
        let s = from(&[
            ("DEVICEVAULT_LOGIN_TOKEN_TTL", "2h"),
            ("DEVICEVAULT_MAX_CONFIG_BYTES", "1048576"),
            ("DEVICEVAULT_JOB_DEADLINE_S", "60"),
            ("DEVICEVAULT_PUBLIC_URL", "https://dv.example.net/"),
        ])
        .unwrap();
        assert_eq!(s.login_token_ttl, Duration::from_secs(7200));
        assert_eq!(s.max_config_bytes, 1 << 20);
        assert_eq!(s.job_deadline, Duration::from_secs(60));
        assert_eq!(s.public_url.as_deref(), Some("https://dv.example.net"));
        assert!(s.secure_cookies());
        assert!(!from(&[]).unwrap().secure_cookies());
    }

    #[test]
    fn a_malformed_value_is_an_error_naming_the_variable_and_the_value() {
        let e = from(&[("DEVICEVAULT_MAX_CONFIG_BYTES", "16MB")]).unwrap_err();
        assert_eq!(e.key, "DEVICEVAULT_MAX_CONFIG_BYTES");
        assert_eq!(e.value, "16MB");
        assert!(from(&[("DEVICEVAULT_LOGIN_TOKEN_TTL", "12 hours")]).is_err());
        assert!(from(&[("DEVICEVAULT_JOB_DEADLINE_S", "-1")]).is_err());
        assert!(from(&[("DEVICEVAULT_PUBLIC_URL", "dv.example.net")]).is_err());
        let e = from(&[("DEVICEVAULT_TLS_CERT", "/etc/dv/cert.pem")]).unwrap_err();
        assert_eq!(e.key, "DEVICEVAULT_TLS_KEY");
    }
}
