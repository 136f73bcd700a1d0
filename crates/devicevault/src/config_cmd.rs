//! The command-line side of the configuration: `--config` and the flags
//! that override settings, `devicevault config show|default`, and waiting
//! for what a distributed role needs.
//!
//! Flags are handed to the one loader (`devicevault_server::config`) as
//! text, so a malformed flag is refused like a malformed file or variable:
//! naming the setting, the flag and the value.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use devicevault_core::RetryClass;
use devicevault_server::config::{self, Config, Loaded};
use tokio_util::sync::CancellationToken;

/// The configuration file and the flags every server command takes.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// A devicevault.toml to read (also DEVICEVAULT_CONFIG); its settings
    /// are overridden by the environment and by flags.
    #[arg(long = "config", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Holds the SQLite database, the key file and SSH host-key pins
    /// [data_dir].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<String>,
    /// `sqlite:<path>` or `postgres://…` [database_url].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// The address of the API.
#[derive(Debug, Clone, Default, Args)]
pub struct HttpFlags {
    /// Address of the REST API and the web UI [http.addr].
    #[arg(long, value_name = "ADDR")]
    pub http_addr: Option<String>,
}

/// User drivers.
#[derive(Debug, Clone, Default, Args)]
pub struct DriverFlags {
    /// Directory of user drivers (`<name>.toml`) [drivers_dir].
    #[arg(long = "drivers-dir", value_name = "DIR")]
    pub drivers_dir: Option<String>,
}

/// Where backups may be stored.
#[derive(Debug, Clone, Default, Args)]
pub struct RootsFlags {
    /// Directories every backup location must be under, `:`-separated
    /// [storage_roots].
    #[arg(long = "storage-roots", value_name = "DIR[:DIR...]")]
    pub storage_roots: Option<String>,
}

/// The shared services of distributed mode.
#[derive(Debug, Clone, Default, Args)]
pub struct ServiceFlags {
    /// RabbitMQ [broker_url].
    #[arg(long, value_name = "URL")]
    pub broker_url: Option<String>,
    /// Redis, the result streams [redis_url].
    #[arg(long, value_name = "URL")]
    pub redis_url: Option<String>,
    /// This process's name in the streams' consumer groups
    /// [pipeline.consumer_name].
    #[arg(long, value_name = "NAME")]
    pub consumer_name: Option<String>,
    /// Unacknowledged tasks a worker holds at once [pipeline.prefetch].
    #[arg(long, value_name = "N")]
    pub prefetch: Option<String>,
}

/// `(setting, flag, value)` of each flag given.
type Flags = Vec<(&'static str, String, String)>;

fn push(out: &mut Flags, key: &'static str, flag: &str, value: &Option<String>) {
    if let Some(v) = value {
        out.push((key, format!("--{flag}"), v.clone()));
    }
}

impl ConfigArgs {
    /// Loads the configuration with these flags and `more`.
    pub fn load(&self, more: &[&dyn FlagGroup]) -> anyhow::Result<Config> {
        Ok(self.load_with_sources(more)?.config)
    }

    /// The flags given, these and `more`.
    fn flag_list(&self, more: &[&dyn FlagGroup]) -> Flags {
        let mut flags = Flags::new();
        push(&mut flags, "data_dir", "data-dir", &self.data_dir);
        push(
            &mut flags,
            "database_url",
            "database-url",
            &self.database_url,
        );
        for group in more {
            group.flags(&mut flags);
        }
        flags
    }

    fn load_with_sources(&self, more: &[&dyn FlagGroup]) -> anyhow::Result<Loaded> {
        let loaded = config::load_from_env(self.file.as_deref(), &self.flag_list(more))?;
        for var in &loaded.unknown_env {
            tracing::warn!(
                variable = %var,
                "ignoring the environment variable {var}: it names no setting \
                 (`devicevault config default` lists them)"
            );
        }
        Ok(loaded)
    }
}

/// A group of flags that override settings.
pub trait FlagGroup {
    fn flags(&self, out: &mut Flags);
}

impl FlagGroup for HttpFlags {
    fn flags(&self, out: &mut Flags) {
        push(out, "http.addr", "http-addr", &self.http_addr);
    }
}

impl FlagGroup for DriverFlags {
    fn flags(&self, out: &mut Flags) {
        push(out, "drivers_dir", "drivers-dir", &self.drivers_dir);
    }
}

impl FlagGroup for RootsFlags {
    fn flags(&self, out: &mut Flags) {
        push(out, "storage_roots", "storage-roots", &self.storage_roots);
    }
}

impl FlagGroup for ServiceFlags {
    fn flags(&self, out: &mut Flags) {
        push(out, "broker_url", "broker-url", &self.broker_url);
        push(out, "redis_url", "redis-url", &self.redis_url);
        push(
            out,
            "pipeline.consumer_name",
            "consumer-name",
            &self.consumer_name,
        );
        push(out, "pipeline.prefetch", "prefetch", &self.prefetch);
    }
}

/// Every flag that overrides a setting, for `config show` and `config default`.
#[derive(Debug, Clone, Args)]
pub struct AllFlags {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub http: HttpFlags,
    #[command(flatten)]
    pub drivers: DriverFlags,
    #[command(flatten)]
    pub roots: RootsFlags,
    #[command(flatten)]
    pub services: ServiceFlags,
}

impl AllFlags {
    fn groups(&self) -> [&dyn FlagGroup; 4] {
        [&self.http, &self.drivers, &self.roots, &self.services]
    }
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the configuration a process would use (defaults, the file, the
    /// environment and these flags), each value with where it came from;
    /// passwords in URLs are hidden.
    Show(AllFlags),
    /// Print a commented devicevault.toml with every setting at its default;
    /// settings given as flags are written as settings.
    Default(AllFlags),
}

pub fn run(cmd: ConfigCommand) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Show(f) => {
            print!(
                "{}",
                config::show(&f.config.load_with_sources(&f.groups())?)
            );
        }
        ConfigCommand::Default(f) => {
            // Only the flags: the file and the environment of the machine
            // it is printed on are not defaults.
            let loaded = config::load(None, &|_| None, &f.config.flag_list(&f.groups()))?;
            print!("{}", config::default_file(&loaded));
        }
    }
    Ok(())
}

/// Tries `attempt` until it succeeds, a permanent error, or `stop`. While
/// the service is away, says so once, naming what is awaited and where.
pub async fn wait_for<T, E, F>(
    what: &str,
    at: &str,
    stop: &CancellationToken,
    mut attempt: impl FnMut() -> F,
) -> anyhow::Result<T>
where
    E: RetryClass + std::error::Error + Send + Sync + 'static,
    F: Future<Output = Result<T, E>>,
{
    let mut delay = Duration::from_millis(250);
    let mut waited = false;
    loop {
        match attempt().await {
            Ok(v) => {
                if waited {
                    tracing::info!(what, at, "{what} is up");
                }
                return Ok(v);
            }
            Err(e) if e.is_transient() => {
                if !waited {
                    tracing::warn!(
                        what,
                        at,
                        error = %e,
                        "waiting for {what} at {at} ({e}); trying again until it answers"
                    );
                    waited = true;
                }
            }
            Err(e) => return Err(e).with_context(|| format!("{what} at {at}")),
        }
        tokio::select! {
            () = stop.cancelled() => anyhow::bail!("stopped while waiting for {what} at {at}"),
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}
