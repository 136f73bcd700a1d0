//! Collection of network device configurations over SSH and Telnet.
//!
//! Design decisions:
//! - **Drivers are data** ([`driver`]): a platform is a TOML file, not code.
//!   The engine knows prompts, pagers, enable and filters in general; a
//!   driver fills in the platform's regexes and commands. Built-in drivers are
//!   embedded; a user directory adds or overrides them.
//! - **Interactive PTY shell** by default: most network OSes refuse exec
//!   channels, and a shell is what the platforms' CLIs are built for. A
//!   driver may ask for **exec channels** (`exec = true`, e.g. `linux`):
//!   one channel per command, no prompt guessing, the exit status decides.
//! - **Telnet is the same dialogue over another byte stream** ([`Transport`]):
//!   the session engine reads and writes a `Link`, SSH or Telnet; Telnet
//!   adds option negotiation and answers the device's login prompts.
//! - **The prompt is learned, then matched exactly**: the driver's regex finds
//!   the first prompt; afterwards a command ends only when that exact prompt
//!   line comes back after the command's echo, so a config line that looks
//!   like a prompt cannot cut a backup short.
//! - **Every error knows whether a retry can help** ([`CollectError`]
//!   implements [`devicevault_core::RetryClass`]); [`retry`] retries the
//!   transient ones with backoff and jitter. Messages name `user@host:port`
//!   and never include a secret or configuration text.
//! - **Host keys are pinned on first use** ([`KnownHosts`]); a changed key is
//!   a permanent failure that says which file holds the pin.

pub mod driver;
mod error;
pub mod known_hosts;
mod retry;
mod session;
mod ssh;
mod target;
mod telnet;
pub mod terminal;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use driver::{Driver, DriverSet, DriverSource};
pub use error::CollectError;
pub use known_hosts::{HostKeyCheck, KnownHosts};
pub use retry::{RetryPolicy, retry};
pub use target::{Credential, DeviceTarget, Secret, Transport};

/// Timeouts and host-key policy of a collection.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// TCP connect, SSH handshake, authentication and shell opening.
    pub connect_timeout: Duration,
    /// Waiting for the prompt after one command (including the whole output).
    pub command_timeout: Duration,
    /// The whole job, from connect to disconnect.
    pub job_timeout: Duration,
    /// Host-key pins.
    pub known_hosts: Arc<KnownHosts>,
}

impl CollectOptions {
    /// Default timeouts (10 s connect, 60 s per command, 300 s per job) with
    /// the given pins.
    pub fn new(known_hosts: Arc<KnownHosts>) -> CollectOptions {
        CollectOptions {
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(60),
            job_timeout: Duration::from_secs(300),
            known_hosts,
        }
    }
}

/// A collected configuration.
#[derive(Debug, Clone)]
pub struct Collected {
    /// The filtered configuration: the output of the driver's commands,
    /// volatile lines removed, secrets masked if the target asked.
    pub config: Vec<u8>,
    /// The driver used.
    pub driver: String,
    /// Wall time of the collection.
    pub duration: Duration,
}

/// Logs in to `device`, runs its driver's backup commands and returns the
/// filtered configuration. One attempt: wrap it in [`retry`] (or use
/// [`collect_with_retry`]) to retry transient failures.
pub async fn collect(
    device: &DeviceTarget,
    drivers: &DriverSet,
    opts: &CollectOptions,
) -> Result<Collected, CollectError> {
    let driver = drivers.get(&device.driver)?;
    let started = Instant::now();
    let job = collect_inner(device, &driver, opts);
    let config = tokio::time::timeout(opts.job_timeout, job)
        .await
        .map_err(|_| CollectError::Timeout {
            target: device.display(),
            stage: "for the whole backup job".into(),
            elapsed: opts.job_timeout,
        })??;
    Ok(Collected {
        config: config.into_bytes(),
        driver: driver.name.clone(),
        duration: started.elapsed(),
    })
}

/// [`collect`] with transient failures retried per `policy`.
pub async fn collect_with_retry(
    device: &DeviceTarget,
    drivers: &DriverSet,
    opts: &CollectOptions,
    policy: &RetryPolicy,
) -> Result<Collected, CollectError> {
    retry(policy, |_| collect(device, drivers, opts)).await
}

async fn collect_inner(
    device: &DeviceTarget,
    driver: &Driver,
    opts: &CollectOptions,
) -> Result<String, CollectError> {
    let link = match device.transport {
        Transport::Ssh if driver.exec => return collect_exec(device, driver, opts).await,
        Transport::Ssh => {
            let legacy = device.legacy_algorithms || driver.legacy_algorithms;
            session::Link::Ssh(
                ssh::open_shell(
                    device,
                    legacy,
                    opts.known_hosts.clone(),
                    opts.connect_timeout,
                )
                .await?,
            )
        }
        Transport::Telnet => session::Link::Telnet(Box::new(
            telnet::TelnetConn::connect(
                &device.host,
                device.port,
                &device.display(),
                opts.connect_timeout,
            )
            .await?,
        )),
    };
    let mut cli = session::CliSession::login(link, driver, device, opts.command_timeout).await?;
    let result = async {
        cli.enable(device, opts.command_timeout).await?;
        for cmd in &driver.pager_disable {
            // Not every release knows every pager command (fakenos and older
            // IOS reject `terminal width 0`); the pager answers cover for it.
            match cli.run(cmd, opts.command_timeout).await {
                Ok(_) => {}
                Err(CollectError::CommandRejected { .. }) => {
                    tracing::debug!(command = %cmd, driver = %driver.name, "pager command rejected; pager prompts will be answered");
                }
                Err(e) => return Err(e),
            }
        }
        let mut out = String::new();
        for cmd in &driver.commands {
            out.push_str(&cli.run(cmd, opts.command_timeout).await?);
        }
        Ok(driver.filter(&out, device.remove_secrets))
    }
    .await;
    cli.close().await;
    result
}

/// Exec mode: one SSH exec channel per backup command, on one connection.
async fn collect_exec(
    device: &DeviceTarget,
    driver: &Driver,
    opts: &CollectOptions,
) -> Result<String, CollectError> {
    let target = device.display();
    let legacy = device.legacy_algorithms || driver.legacy_algorithms;
    let deadline = tokio::time::Instant::now() + opts.connect_timeout;
    let handle = ssh::connect(
        device,
        legacy,
        opts.known_hosts.clone(),
        deadline,
        opts.connect_timeout,
    )
    .await?;
    let result = async {
        let mut out = String::new();
        for cmd in &driver.commands {
            let r = tokio::time::timeout(opts.command_timeout, ssh::exec(&handle, &target, cmd))
                .await
                .map_err(|_| CollectError::Timeout {
                    target: target.clone(),
                    stage: format!("waiting for the output of `{cmd}`"),
                    elapsed: opts.command_timeout,
                })??;
            let stderr = terminal::clean(&r.stderr);
            let first_error = stderr.lines().map(str::trim).find(|l| !l.is_empty());
            if r.status != Some(0) {
                let status = r.status.map_or_else(
                    || "no exit status".to_owned(),
                    |s| format!("exit status {s}"),
                );
                return Err(CollectError::CommandRejected {
                    target: target.clone(),
                    command: cmd.clone(),
                    reply: match first_error {
                        Some(line) => format!("{status}: {line}"),
                        None => status,
                    },
                });
            }
            let text = terminal::clean(&r.stdout);
            if let Some(line) = text
                .lines()
                .find(|l| driver.error_patterns.iter().any(|p| p.is_match(l)))
            {
                return Err(CollectError::CommandRejected {
                    target: target.clone(),
                    command: cmd.clone(),
                    reply: line.trim().to_owned(),
                });
            }
            out.push_str(&text);
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
        }
        Ok(driver.filter(&out, device.remove_secrets))
    }
    .await;
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        handle.disconnect(russh::Disconnect::ByApplication, "backup done", "en"),
    )
    .await;
    result
}
