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
//! - **Files are an input of their own** ([`driver::Input`]): a driver
//!   with `input = "sftp"` or `"scp"` reads its `files` over the same SSH
//!   connection (jump host, pins, login: `ssh::connect`) and the result
//!   goes through the same completeness check and filters as CLI output.
//! - **A configuration may be binary** (`binary = true`, or a file input's
//!   `archive = "tar"` of several files): a UCS archive, a tarball. Its
//!   bytes are [`Collected::config`] as they arrived, with
//!   [`Collected::binary`] set so the pipeline never takes them for text
//!   (a tar of text files is valid UTF-8): no filter, mask or author rule
//!   applies, the driver loader refuses them on a binary driver, and the
//!   bytes decide whether it is a new version.
//! - **A driver may read an HTTPS API instead of the CLI** (`input =
//!   "https"`, [`Input`]): a sequence of requests whose last answer is the
//!   configuration; the device's certificate is pinned on first use in the
//!   same [`KnownHosts`] store as host keys. Everything after the reading —
//!   completeness, filters, `change_key`, the size limit — is the same.
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
//! - **Nothing is stored that is not a whole configuration**: every driver
//!   says how its platform's configuration ends (`[complete]`), and the
//!   output is checked before it is filtered or returned. A refusal or a
//!   cut-off output is a permanent [`CollectError::Incomplete`] naming the
//!   rule and the last lines received, secrets masked.
//! - **Output is bounded**: more than `max_config_bytes` raw bytes stop the
//!   reading at once and fail permanently ([`CollectError::OutputTooLarge`]);
//!   the terminal replay is linear in what arrives, newlines or not.

pub mod driver;
mod driver_check;
mod error;
mod files;
mod https;
mod keys;
pub mod known_hosts;
mod retry;
mod session;
mod ssh;
mod target;
mod telnet;
pub mod terminal;

use std::sync::Arc;
use std::time::{Duration, Instant};

use devicevault_core::RetryClass;

pub use driver::{
    Archive, Completeness, DEFAULT_FILE_HEADER, Driver, DriverSet, DriverSource, FileInput,
    FileProtocol, Input, Substitutions,
};
pub use driver_check::{DriverProblem, FileReport, check_driver_dir, check_driver_text};
pub use error::CollectError;
pub use https::{ApiRequest, HttpsInput, Pick, cert_fingerprint};
pub use keys::{KeyError, key_fingerprint};
pub use known_hosts::{HostKeyCheck, KnownHosts};
pub use retry::{RetryPolicy, retry};
pub use session::OUTPUT_TAIL_LINES;
pub use target::{Credential, DeviceTarget, JumpTarget, Secret, Transport};

/// Timeouts, size limit and host-key policy of a collection.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// TCP connect, SSH handshake, authentication, shell opening and the
    /// wait for the first prompt (the Telnet login included): everything
    /// before the first command.
    pub connect_timeout: Duration,
    /// Waiting for the prompt after one command (including the whole output).
    pub command_timeout: Duration,
    /// The whole job, from connect to disconnect.
    pub job_timeout: Duration,
    /// Host-key pins.
    pub known_hosts: Arc<KnownHosts>,
    /// The most raw bytes one command may send (a driver's own
    /// `max_config_bytes` overrides it). Beyond it, reading stops at once
    /// and the collection fails permanently.
    pub max_config_bytes: usize,
}

/// The default `max_config_bytes`: 16 MiB, far above the largest real
/// configurations and small enough that a runaway device cannot exhaust a
/// collector.
pub const DEFAULT_MAX_CONFIG_BYTES: usize = 16 * 1024 * 1024;

impl CollectOptions {
    /// Default timeouts (10 s connect, 60 s per command, 300 s per job) and
    /// size limit ([`DEFAULT_MAX_CONFIG_BYTES`]) with the given pins.
    pub fn new(known_hosts: Arc<KnownHosts>) -> CollectOptions {
        CollectOptions {
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(60),
            job_timeout: Duration::from_secs(300),
            known_hosts,
            max_config_bytes: DEFAULT_MAX_CONFIG_BYTES,
        }
    }

    /// The size limit of `device` on `driver`: the device's own (its
    /// device type's), else the driver's, else this collection's.
    pub fn max_config_bytes_for(&self, device: &DeviceTarget, driver: &Driver) -> usize {
        device
            .max_config_bytes
            .or(driver.max_config_bytes)
            .unwrap_or(self.max_config_bytes)
    }
}

/// A collected configuration.
#[derive(Debug, Clone)]
pub struct Collected {
    /// The filtered configuration: the output of the driver's commands,
    /// volatile lines removed, secrets masked if the target asked; for a
    /// binary driver, the bytes as they arrived.
    pub config: Vec<u8>,
    /// The configuration is binary (the driver's `binary`): store it byte
    /// for byte, whether or not it happens to be valid UTF-8.
    pub binary: bool,
    /// The driver used.
    pub driver: String,
    /// Wall time of the collection.
    pub duration: Duration,
    /// Who last changed the configuration, where the driver can tell
    /// (its `author` rule).
    pub author: Option<String>,
    /// What decides whether `config` is a new version when the driver
    /// ignores some lines for change (`ignore_for_change`): see
    /// [`Driver::change_key`]. `None` for other drivers.
    pub change_key: Option<String>,
}

/// Logs in to `device`, runs its driver's backup commands and returns the
/// filtered configuration. One attempt: wrap it in [`retry`] (or use
/// [`collect_with_retry`]) to retry transient failures.
pub async fn collect(
    device: &DeviceTarget,
    drivers: &DriverSet,
    opts: &CollectOptions,
) -> Result<Collected, CollectError> {
    collect_once(device, drivers, opts)
        .await
        .map_err(|f| f.error)
}

/// A failed attempt to collect: why, and what the device said last.
#[derive(Debug)]
pub struct FailedAttempt {
    /// Why the attempt failed.
    pub error: CollectError,
    /// The last lines the device sent before the failure (at most
    /// [`OUTPUT_TAIL_LINES`], each cut to a line of a report), the driver's
    /// secret rules applied and the device's password and enable secret
    /// replaced, whatever the device echoed. Empty when nothing was read
    /// (the connection or the handshake failed).
    pub device_output: Vec<String>,
    /// When the attempt will be retried; `None` for the last one.
    pub retry_in: Option<Duration>,
}

/// Every attempt of a collection: the configuration if one succeeded, and
/// each failure before it (a job's log shows them all).
#[derive(Debug)]
pub struct Attempts {
    /// The configuration, when an attempt succeeded.
    pub collected: Option<Collected>,
    /// The failed attempts, in order; the last is the final error when
    /// nothing was collected.
    pub failures: Vec<FailedAttempt>,
}

impl Attempts {
    /// The configuration, or the last attempt's error.
    pub fn into_result(mut self) -> Result<Collected, CollectError> {
        match (self.collected, self.failures.pop()) {
            (Some(c), _) => Ok(c),
            (None, Some(f)) => Err(f.error),
            (None, None) => unreachable!("an attempt either collects or fails"),
        }
    }
}

/// Collects `device`, retrying transient failures per `policy` (backoff
/// with jitter, as [`retry`]), and reports every attempt.
pub async fn collect_attempts(
    device: &DeviceTarget,
    drivers: &DriverSet,
    opts: &CollectOptions,
    policy: &RetryPolicy,
) -> Attempts {
    let mut failures = Vec::new();
    let mut attempt = 0;
    loop {
        match collect_once(device, drivers, opts).await {
            Ok(c) => {
                return Attempts {
                    collected: Some(c),
                    failures,
                };
            }
            Err(mut f) if f.error.is_transient() && attempt < policy.max_retries => {
                let d = policy.delay(attempt);
                tracing::warn!(attempt, delay_ms = d.as_millis() as u64, error = %f.error, "transient failure, retrying");
                f.retry_in = Some(d);
                failures.push(f);
                tokio::time::sleep(d).await;
                attempt += 1;
            }
            Err(f) => {
                failures.push(f);
                return Attempts {
                    collected: None,
                    failures,
                };
            }
        }
    }
}

/// [`collect`] with transient failures retried per `policy`.
pub async fn collect_with_retry(
    device: &DeviceTarget,
    drivers: &DriverSet,
    opts: &CollectOptions,
    policy: &RetryPolicy,
) -> Result<Collected, CollectError> {
    collect_attempts(device, drivers, opts, policy)
        .await
        .into_result()
}

/// One attempt, with the device's last lines when it fails.
async fn collect_once(
    device: &DeviceTarget,
    drivers: &DriverSet,
    opts: &CollectOptions,
) -> Result<Collected, FailedAttempt> {
    let failed = |error| FailedAttempt {
        error,
        device_output: Vec::new(),
        retry_in: None,
    };
    let driver = drivers.get(&device.driver).map_err(failed)?;
    let started = Instant::now();
    let mut seen = session::OutputTail::default();
    let job = collect_inner(device, &driver, opts, &mut seen);
    let done = match tokio::time::timeout(opts.job_timeout, job).await {
        Ok(done) => done,
        Err(_) => Err(CollectError::Timeout {
            target: device.display(),
            stage: "for the whole backup job".into(),
            elapsed: opts.job_timeout,
        }),
    };
    match done {
        Ok(done) => Ok(Collected {
            config: done.config,
            binary: driver.binary,
            driver: driver.name.clone(),
            duration: started.elapsed(),
            author: done.author,
            change_key: done.change_key,
        }),
        Err(error) => Err(FailedAttempt {
            error,
            device_output: masked_output(device, &driver, &seen),
            retry_in: None,
        }),
    }
}

/// What the device said last, fit for a job's log: its own secrets
/// replaced wherever they appear (a device that echoes what it is sent),
/// then the driver's secret rules, then each line cut.
fn masked_output(
    device: &DeviceTarget,
    driver: &Driver,
    seen: &session::OutputTail,
) -> Vec<String> {
    let own: Vec<&str> = [
        match &device.credential {
            Credential::Password(p) => Some(p.expose()),
            Credential::Key { .. } => None,
        },
        device.enable_secret.as_ref().map(Secret::expose),
        device.api_key.as_ref().map(Secret::expose),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect();
    seen.lines()
        .map(|line| {
            let mut line = line.to_owned();
            for s in &own {
                line = line.replace(s, "********");
            }
            driver.mask_line(&line)
        })
        .collect()
}

async fn collect_inner(
    device: &DeviceTarget,
    driver: &Driver,
    opts: &CollectOptions,
    seen: &mut session::OutputTail,
) -> Result<Finished, CollectError> {
    let max_bytes = opts.max_config_bytes_for(device, driver);
    // One deadline for everything before the first command: connecting,
    // the handshake, authentication, the shell and the first prompt. A
    // prompt the driver does not recognise must not wait for the (longer)
    // command timeout.
    let started = tokio::time::Instant::now();
    if let driver::Input::Https(api) = &driver.input {
        let raw = https::fetch(device, driver, api, opts).await?;
        return finish_bytes(device, driver, raw);
    }
    // A credential with only an API key cannot log in to a CLI or a file
    // transfer: say so rather than offer the device an empty password.
    if let Credential::Password(p) = &device.credential
        && p.expose().is_empty()
    {
        return Err(CollectError::MissingSecret {
            target: device.display(),
            credential: device.credential_label(),
            secret: "password or private key".into(),
            needed_by: match device.transport {
                Transport::Ssh => "the SSH login".into(),
                Transport::Telnet => "the Telnet login".into(),
            },
        });
    }
    if let driver::Input::Files(files) = &driver.input {
        if device.transport != Transport::Ssh {
            return Err(CollectError::Unsupported {
                target: device.display(),
                reason: format!("`input = \"{}\"` over Telnet", files.protocol.name()),
            });
        }
        let raw = files::fetch(device, driver, files, opts).await?;
        return finish_bytes(device, driver, raw);
    }
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
        Transport::Telnet if device.jump.is_some() => {
            return Err(CollectError::Unsupported {
                target: device.display(),
                reason: "Telnet through a jump host".into(),
            });
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
    let login_left = opts.connect_timeout.saturating_sub(started.elapsed());
    let mut cli =
        match session::CliSession::login(link, driver, device, login_left, max_bytes, seen).await {
            Ok(cli) => cli,
            Err(CollectError::Timeout { target, stage, .. }) => {
                return Err(CollectError::Timeout {
                    target,
                    stage: format!("{stage} (connect timeout)"),
                    elapsed: opts.connect_timeout,
                });
            }
            Err(e) => return Err(e),
        };
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
        finish(device, driver, &out)
    }
    .await;
    // A device cut off at the size limit, or one that stalled, may still be
    // sending: no goodbye, the connection goes at once.
    let polite = !matches!(
        result,
        Err(CollectError::OutputTooLarge { .. } | CollectError::Timeout { .. })
    );
    cli.close(polite).await;
    result
}

/// A whole configuration, filtered, and who last changed it.
struct Finished {
    config: Vec<u8>,
    author: Option<String>,
    change_key: Option<String>,
}

/// [`finish`] for what a file or HTTPS input read: a binary driver's bytes
/// are checked for their size alone and kept as they are; a text driver's
/// are text (the inputs refuse what is not UTF-8) and finished as a CLI
/// output.
fn finish_bytes(
    device: &DeviceTarget,
    driver: &Driver,
    raw: Vec<u8>,
) -> Result<Finished, CollectError> {
    if !driver.binary {
        return finish(device, driver, &String::from_utf8_lossy(&raw));
    }
    if let Err(reason) = driver.check_complete_bytes(&raw) {
        return Err(CollectError::Incomplete {
            target: device.display(),
            command: driver.backup_steps(),
            reason,
            last_lines: format!("({} bytes of binary data)", raw.len()),
        });
    }
    Ok(Finished {
        config: raw,
        author: None,
        change_key: None,
    })
}

/// Checks that `out`, the raw output of the backup commands, is a whole
/// configuration, then filters it; the author is read before the filters
/// remove the line that names it.
///
/// The check runs before the filters on purpose: `remove_lines` may drop the
/// very header a rule looks for (NX-OS's `!Command:` line), and a filtered
/// text no longer shows what the device sent.
fn finish(device: &DeviceTarget, driver: &Driver, out: &str) -> Result<Finished, CollectError> {
    if let Err(reason) = driver.check_complete(out) {
        return Err(CollectError::Incomplete {
            target: device.display(),
            command: driver.backup_steps(),
            reason,
            last_lines: driver.masked_tail(out),
        });
    }
    let config = driver.filter(out, device.remove_secrets);
    Ok(Finished {
        change_key: driver.change_key(&config),
        config: config.into_bytes(),
        author: driver.author(out),
    })
}

/// Exec mode: one SSH exec channel per backup command, on one connection.
async fn collect_exec(
    device: &DeviceTarget,
    driver: &Driver,
    opts: &CollectOptions,
) -> Result<Finished, CollectError> {
    let target = device.display();
    let legacy = device.legacy_algorithms || driver.legacy_algorithms;
    let deadline = tokio::time::Instant::now() + opts.connect_timeout;
    let ssh::Connected { handle, jump } = ssh::connect(
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
            let r = tokio::time::timeout(
                opts.command_timeout,
                ssh::exec(
                    &handle,
                    &target,
                    cmd,
                    opts.max_config_bytes_for(device, driver),
                ),
            )
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
        finish(device, driver, &out)
    }
    .await;
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        handle.disconnect(russh::Disconnect::ByApplication, "backup done", "en"),
    )
    .await;
    drop(jump);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_device_said_is_masked_with_its_own_secrets_and_the_drivers_rules() {
        let mut seen = session::OutputTail::default();
        seen.remember(
            "Password: hunter2\nenable secret 5 $1$abcd$efghijklmnop\nsnmp-server community pub1ic RO\n",
            "R1>",
        );
        let mut t = DeviceTarget::password("10.0.0.1", 22, "admin", "hunter2", "cisco_ios");
        t.enable_secret = Some("s3cret-en".into());
        let driver = DriverSet::builtin().get("cisco_ios").expect("built in");
        let out = masked_output(&t, &driver, &seen);
        let all = out.join("\n");
        assert_eq!(out.len(), 4, "{all}");
        assert!(!all.contains("hunter2"), "{all}");
        assert!(!all.contains("$1$abcd"), "{all}");
        assert!(!all.contains("pub1ic"), "{all}");
        assert_eq!(out.last().map(String::as_str), Some("R1>"));
    }
}
