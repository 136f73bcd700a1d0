//! `serve`, `user`, `token` and `demo`: running DeviceVault in embedded mode
//! and managing access from the shell.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use devicevault_client::HttpClient;
use devicevault_core::Role;
use devicevault_db::{Db, DbError};
use devicevault_pipeline::app::auth;
use devicevault_pipeline::app::users::{NewPassword, UserInput};
use devicevault_server::embedded::{Embedded, ServeConfig};
use serde_json::{Value, json};

use crate::config_cmd::{ConfigArgs, DriverFlags, HttpFlags, RootsFlags};
use crate::device_cmd::shutdown_signal;

/// `serve`: the configuration file and the flags that override it.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub http: HttpFlags,
    #[command(flatten)]
    pub drivers: DriverFlags,
    #[command(flatten)]
    pub roots: RootsFlags,
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")
}

fn announce_first_admin(server: &Embedded) {
    if let Some((user, password)) = &server.first_admin {
        println!(
            "Created the first user {user:?} with password {password} — shown only this once; \
             change it with `devicevault user password --username {user} --password-env VAR`."
        );
    }
}

/// `devicevault serve`: the API and every role in one process.
pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    devicevault_server::limits::raise_nofile_limit(4096)?;
    let config = args
        .config
        .load(&[&args.http, &args.drivers, &args.roots])?;
    let data_dir = config.data_dir.clone();
    runtime()?.block_on(async {
        let cfg = ServeConfig::from(&config);
        let scheme = if cfg.settings.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let server = Embedded::start(cfg).await?;
        announce_first_admin(&server);
        println!(
            "DeviceVault is serving on {scheme}://{}/ (data in {})",
            server.addr,
            data_dir.display()
        );
        shutdown_signal().await;
        println!("Stopping: finishing work in flight…");
        server.stop(Duration::from_secs(30)).await;
        Ok(())
    })
}

/// The database of the configuration, for the shell commands.
pub(crate) async fn connect(args: &ConfigArgs) -> anyhow::Result<Db> {
    let config = args.load(&[])?;
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("create {}", config.data_dir.display()))?;
    }
    let url = config.database_url_or_sqlite();
    Db::connect(&url)
        .await
        .with_context(|| format!("open the database {}", devicevault_db::redact_url(&url)))
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user who can log in to the API and the web UI.
    Create {
        #[arg(long)]
        username: String,
        /// Name of the environment variable that holds the password.
        #[arg(long)]
        password_env: String,
        /// What the user may do: `admin` (everything), `operator` (change
        /// the devices of its device groups, their schedules and
        /// notification rules, import) or `reader` (read and "backup now").
        #[arg(long, value_name = "ROLE", default_value = "reader", value_parser = parse_role)]
        role: Role,
        /// The same as `--role admin`.
        #[arg(long, conflicts_with = "role")]
        admin: bool,
        /// Restrict an operator or a reader to the devices of this device
        /// group (by name; repeat for several). Without it, they reach
        /// every device.
        #[arg(long = "device-group", value_name = "NAME", conflicts_with = "admin")]
        device_groups: Vec<String>,
        #[command(flatten)]
        db: ConfigArgs,
    },
    /// Set a user's password.
    Password {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password_env: String,
        #[command(flatten)]
        db: ConfigArgs,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse().map_err(|e: devicevault_core::UnknownRole| e.to_string())
}

/// The password in the environment variable `var`, checked by the
/// application's rule for new passwords.
fn password_from(var: &str) -> anyhow::Result<String> {
    let p = std::env::var(var).with_context(|| format!("environment variable {var} is not set"))?;
    NewPassword {
        password: p,
        confirm: None,
    }
    .validate()
    .map_err(|e| anyhow::anyhow!("the password in {var}: {e}"))
}

pub fn user(cmd: UserCommand) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        match cmd {
            UserCommand::Create {
                username,
                password_env,
                role,
                admin,
                device_groups,
                db,
            } => {
                let role = if admin { Role::Admin } else { role };
                if role == Role::Admin && !device_groups.is_empty() {
                    bail!("an administrator reaches every device: --device-group is for operators and readers");
                }
                let password = password_from(&password_env)?;
                let (username, password) = UserInput {
                    username,
                    password: NewPassword {
                        password,
                        confirm: None,
                    },
                    role,
                }
                .validate()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
                let hash = auth::hash_password(&password)?;
                let db = connect(&db).await?;
                // Resolved before the user exists: a typo must not leave a
                // user who sees every device.
                let mut group_ids = Vec::new();
                if !device_groups.is_empty() {
                    let known = db
                        .list_device_groups(devicevault_db::Page {
                            limit: 1_000_000,
                            offset: 0,
                        })
                        .await?
                        .rows;
                    for name in &device_groups {
                        match known.iter().find(|g| &g.name == name) {
                            Some(g) => group_ids.push(g.id),
                            None => bail!(
                                "no device group {name:?} (there are: {})",
                                known
                                    .iter()
                                    .map(|g| g.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        }
                    }
                }
                let u = match db.create_user(&username, &hash, role).await {
                    Ok(u) => u,
                    Err(DbError::Conflict(_)) => bail!("user {username:?} exists already"),
                    Err(e) => return Err(e.into()),
                };
                if !group_ids.is_empty()
                    && let Err(e) = db.set_user_scope(u.id, Some(&group_ids)).await
                {
                    // Never leave behind a user who would see every device.
                    let _ = db.delete_user(u.id).await;
                    return Err(anyhow::Error::from(e).context("restrict the new user"));
                }
                crate::audit_cmd::record(
                    &db,
                    "users.create",
                    "users",
                    Some(u.id),
                    json!({"username": u.username, "role": role.as_str(),
                           "device_groups": device_groups, "password": "set"}),
                )
                .await;
                println!(
                    "created user {} (id {}, role: {}{})",
                    u.username,
                    u.id,
                    u.role,
                    if group_ids.is_empty() {
                        String::new()
                    } else {
                        format!(", devices of: {}", device_groups.join(", "))
                    }
                );
            }
            UserCommand::Password {
                username,
                password_env,
                db,
            } => {
                let password = password_from(&password_env)?;
                let db = connect(&db).await?;
                let u = db
                    .user_by_name(&username)
                    .await?
                    .with_context(|| format!("no user {username:?}"))?;
                let revoked = db
                    .change_password(u.id, &auth::hash_password(&password)?, None)
                    .await?;
                crate::audit_cmd::record(
                    &db,
                    "users.password",
                    "users",
                    Some(u.id),
                    json!({"password": "set"}),
                )
                .await;
                println!(
                    "password of {username} changed; {revoked} token(s) and session(s) of theirs revoked"
                );
            }
        }
        Ok(())
    })
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a named API token for a user and print it (shown only once).
    Create {
        #[arg(long)]
        username: String,
        /// What the token is for, e.g. "nightly export" (default: "cli").
        #[arg(long, default_value = "cli")]
        name: String,
        /// Days until it expires, or `never` (default 90).
        #[arg(long, default_value = "90")]
        expires_in_days: String,
        #[command(flatten)]
        db: ConfigArgs,
    },
}

pub fn token(cmd: TokenCommand) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let TokenCommand::Create {
            username,
            name,
            expires_in_days,
            db,
        } = cmd;
        let name = devicevault_core::Name::parse(&name)
            .map_err(|e| anyhow::anyhow!("--name {name:?}: {e}"))?;
        let days = match expires_in_days.as_str() {
            "never" => None,
            d => Some(d.parse::<i64>().map_err(|_| {
                anyhow::anyhow!("--expires-in-days {d:?}: a number of days, or never")
            })?),
        };
        let expires = devicevault_pipeline::app::tokens::expiry_in_days(days)
            .map_err(|e| anyhow::anyhow!("--expires-in-days {expires_in_days}: {e}"))?;
        let db = connect(&db).await?;
        let u = db.user_by_name(&username).await?.with_context(|| {
            format!("no user {username:?}; create it with `devicevault user create`")
        })?;
        let (info, token) = auth::issue_token(
            &db,
            u.id,
            devicevault_db::TokenKind::Named,
            Some(name.as_str()),
            expires,
        )
        .await?;
        crate::audit_cmd::record(
            &db,
            "tokens.create",
            "tokens",
            Some(info.id),
            json!({"user": u.username, "name": name.as_str(), "expires_in_days": expires_in_days}),
        )
        .await;
        println!("{token}");
        Ok(())
    })
}

/// `devicevault demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address of the REST API and the web UI.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub http_addr: SocketAddr,
    /// Demo data (recreated on every run; refuses a directory it did not make).
    #[arg(long, default_value = "devicevault-demo")]
    pub data_dir: PathBuf,
    /// Simulated devices.
    #[arg(long, default_value_t = 20)]
    pub devices: usize,
    /// Back up, print the summary and exit instead of serving.
    #[arg(long)]
    pub exit: bool,
    /// While serving, a device's configuration changes every this many
    /// seconds (the devices in turn, from the first), as an engineer's edit
    /// would; a schedule backs every device up each minute and a webhook
    /// receiver prints each change notification. 0: no changes.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub drift_every: u64,
    /// Serve until the first change notification has arrived, then exit
    /// (a script's or a test's way to watch a change go through).
    #[arg(long, conflicts_with = "exit")]
    pub exit_after_change: bool,
}

/// How long `--exit-after-change` waits for the notification: a drift,
/// the next minute's scheduled backup and the delivery.
const FIRST_CHANGE_WITHIN: Duration = Duration::from_secs(300);

const DEMO_MARKER: &str = ".devicevault-demo";
const DEMO_PLATFORMS: &[&str] = &[
    "cisco_ios",
    "arista_eos",
    "juniper_junos",
    "cisco_nxos",
    "mikrotik_routeros",
];

fn fresh_demo_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        let non_empty = std::fs::read_dir(dir)
            .with_context(|| format!("read {}", dir.display()))?
            .next()
            .is_some();
        if non_empty && !dir.join(DEMO_MARKER).exists() {
            bail!(
                "{} exists and was not made by the demo; pass another --data-dir",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("remove {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    std::fs::write(
        dir.join(DEMO_MARKER),
        "made by `devicevault demo`; deleted by its next run\n",
    )?;
    Ok(())
}

pub fn demo(args: DemoArgs) -> anyhow::Result<()> {
    if args.devices == 0 {
        bail!("--devices must be at least 1");
    }
    devicevault_server::limits::raise_nofile_limit(args.devices as u64 + 4096)?;
    fresh_demo_dir(&args.data_dir)?;
    let data_dir = std::path::absolute(&args.data_dir)?;
    let known = devicevault_sim::platforms();
    let platforms: Vec<String> = DEMO_PLATFORMS
        .iter()
        .filter(|p| known.contains(p))
        .map(|p| (*p).to_owned())
        .collect();
    runtime()?.block_on(async {
        let sim = devicevault_sim::Simulator::start(devicevault_sim::SimConfig {
            devices: args.devices,
            platforms,
            password: auth::new_password(),
            enable_secret: auth::new_password(),
            config_lines: 300,
            ..devicevault_sim::SimConfig::default()
        })
        .await
        .context("start the simulated devices")?;
        let server = Embedded::start(ServeConfig::new(data_dir.clone(), args.http_addr)).await?;
        let (admin, password) = server
            .first_admin
            .clone()
            .context("the demo's database already had users")?;
        let user = server.db.user_by_name(&admin).await?.context("admin user")?;
        let token = auth::issue_token(
            &server.db,
            user.id,
            devicevault_db::TokenKind::Named,
            Some("demo"),
            None,
        )
        .await?
    .1;
        let repo = data_dir.join("backups.git");

        let mut api = HttpClient::new(server.addr);
        api.token = Some(token.clone());
        let created = |r: devicevault_client::HttpResponse, what: &str| -> anyhow::Result<Value> {
            if r.status != 201 {
                bail!("creating {what}: HTTP {} {}", r.status, String::from_utf8_lossy(&r.body));
            }
            Ok(r.json())
        };
        let location = created(
            api.post(
                "/api/backup-locations/",
                &json!({"name": "Demo Git", "location_type": "git",
                        "config": {"repo_path": repo, "branch": "main"}}),
            )
            .await?,
            "the location",
        )?;
        let d0 = &sim.devices()[0];
        let credential = created(
            api.post(
                "/api/credentials/",
                &json!({"name": "Lab devices", "username": d0.username(),
                        "password": d0.password(), "enable_secret": d0.enable_secret()}),
            )
            .await?,
            "the credential",
        )?;
        // FortiOS's REST API takes an API key (the simulator's token is its
        // password): a credential of its own when the fleet has one.
        const API_DRIVER: &str = "fortinet_fortios_api";
        let api_credential = if sim.devices().iter().any(|d| d.platform() == API_DRIVER) {
            created(
                api.post(
                    "/api/credentials/",
                    &json!({"name": "Lab API", "username": d0.username(), "api_key": d0.password()}),
                )
                .await?,
                "the API credential",
            )?
        } else {
            Value::Null
        };
        let mut ids = Vec::new();
        for d in sim.devices() {
            let credential = if d.platform() == API_DRIVER {
                &api_credential
            } else {
                &credential
            };
            let device = created(
                api.post(
                    "/api/devices/",
                    &json!({"name": d.name(), "address": d.addr().ip().to_string(), "port": d.port(),
                            "driver": d.platform(), "credential": credential["id"],
                            "backup_location": location["id"]}),
                )
                .await?,
                "a device",
            )?;
            ids.push(device["id"].as_i64().context("device id")?);
        }
        println!("Backing up {} simulated devices…", ids.len());
        let started = Instant::now();
        let mut jobs = Vec::new();
        for id in &ids {
            jobs.push(api.backup_now(*id).await?);
        }
        let (mut stored, mut failed) = (0, Vec::new());
        for ti in &jobs {
            let left = Duration::from_secs(300).saturating_sub(started.elapsed());
            let j = api.finished_job(ti, left).await?;
            if j["state"] == "stored" {
                stored += 1;
            } else {
                failed.push(format!("{ti}: {}", j["reason"]));
            }
        }
        println!(
            "{stored} backups stored, {} failed, in {:.1} s.",
            failed.len(),
            started.elapsed().as_secs_f64()
        );
        for f in &failed {
            println!("  failed: {f}");
        }
        let url = format!("http://{}", server.addr);
        println!();
        println!("DeviceVault demo is running at {url}/");
        println!("  log in:      {admin} / {password}");
        println!("  API token:   {token}");
        println!("  Git history: git -C {} log --oneline", repo.display());
        println!("  try:         curl -s -H 'Authorization: Token {token}' '{url}/api/stored-backups/?device={}'", ids[0]);
        println!("               curl -s -H 'Authorization: Token {token}' {url}/api/stored-backups/1/download/");
        if args.exit {
            server.stop(Duration::from_secs(10)).await;
            drop(sim);
            if !failed.is_empty() {
                bail!("{} backups failed", failed.len());
            }
            return Ok(());
        }

        // Change: devices drift, a schedule backs them up, a webhook tells.
        let log = data_dir.join("notifications.log");
        let receiver = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .await
            .context("start the notification receiver")?;
        let hook = format!("http://{}/hook", receiver.local_addr()?);
        let (heard, mut first_change) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(receive_notifications(receiver, url.clone(), log.clone(), heard));
        let channel = created(
            api.post(
                "/api/notification-channels/",
                &json!({"name": "Demo receiver", "kind": "webhook", "url": hook,
                        "secret": auth::new_password()}),
            )
            .await?,
            "the webhook channel",
        )?;
        created(
            api.post(
                "/api/notification-rules/",
                &json!({"name": "Every configuration change", "events": ["config_changed"],
                        "channel": channel["id"]}),
            )
            .await?,
            "the notification rule",
        )?;
        created(
            api.post(
                "/api/backup-schedules/",
                &json!({"name": "Every minute", "cron": "* * * * *", "timezone": "UTC",
                        "devices": &ids}),
            )
            .await?,
            "the schedule",
        )?;
        println!("  schedule:    every device is backed up again each minute");
        if args.drift_every > 0 {
            sim.drift_every(
                Duration::from_secs(args.drift_every),
                std::sync::Arc::new(|d: &devicevault_sim::SimDevice, change: &devicevault_sim::Change| {
                    println!("change on the device {}: {change}", d.name());
                }),
            );
            println!(
                "  changes:     a device's configuration changes every {} s, {} first; watch its history at {url}/devices/{}",
                args.drift_every,
                sim.devices()[0].name(),
                ids[0]
            );
        }
        println!("  notified:    each change is printed here and appended to {}", log.display());
        if args.exit_after_change {
            let heard = tokio::time::timeout(FIRST_CHANGE_WITHIN, first_change.recv()).await;
            server.stop(Duration::from_secs(10)).await;
            drop(sim);
            return match heard {
                Ok(Some(())) => Ok(()),
                _ => bail!("no change notification within {} s", FIRST_CHANGE_WITHIN.as_secs()),
            };
        }
        println!("Press Ctrl-C to stop.");
        shutdown_signal().await;
        server.stop(Duration::from_secs(10)).await;
        drop(sim);
        Ok(())
    })
}

/// The demo's webhook receiver: prints each notification and appends it
/// to `log`; a `config_changed` one is also sent on `heard`. The payload's
/// diff is not printed: it is configuration text.
async fn receive_notifications(
    listener: tokio::net::TcpListener,
    url: String,
    log: PathBuf,
    heard: tokio::sync::mpsc::UnboundedSender<()>,
) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let body =
            match tokio::time::timeout(Duration::from_secs(10), read_request(&mut stream)).await {
                Ok(Ok(body)) => body,
                _ => continue,
            };
        let status = match serde_json::from_slice::<Value>(&body) {
            Ok(event) => {
                let line = notification_line(&event, &url);
                println!("{line}");
                let appended = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)
                    .and_then(|mut f| {
                        use std::io::Write;
                        let at = event["occurred_at"].as_str().unwrap_or("-");
                        writeln!(f, "{at} {line}")
                    });
                if let Err(e) = appended {
                    eprintln!("cannot append to {}: {e}", log.display());
                }
                if event["kind"] == "config_changed" {
                    let _ = heard.send(());
                }
                "204 No Content"
            }
            Err(_) => "400 Bad Request",
        };
        let answer = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        let _ = tokio::io::AsyncWriteExt::write_all(&mut stream, answer.as_bytes()).await;
        let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
    }
}

/// `notification: r0001 changed, compare: <url>` for a change; the
/// event's summary otherwise.
fn notification_line(event: &Value, url: &str) -> String {
    let device = event["device_name"].as_str().unwrap_or("a device");
    if event["kind"] != "config_changed" {
        let summary = event["summary"].as_str().unwrap_or("an event");
        return format!("notification: {summary}");
    }
    // The payload links to the server's public URL when it has one.
    let compare = match event["links"]["compare"].as_str() {
        Some(link) => link.to_owned(),
        None => format!(
            "{url}/devices/{}/compare?a={}&b={}",
            event["device_id"], event["previous_stored_backup_id"], event["stored_backup_id"]
        ),
    };
    format!("notification: {device} changed, compare: {compare}")
}

/// Reads one HTTP/1.1 request with a `content-length` body; returns the body.
async fn read_request(stream: &mut tokio::net::TcpStream) -> anyhow::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    const MAX: usize = 4 << 20;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        anyhow::ensure!(buf.len() < MAX, "request head too large");
        let n = stream.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "connection closed before the request ended");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .context("no content-length")?;
    anyhow::ensure!(length <= MAX, "body too large");
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "connection closed before the body ended");
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(buf[head_end..head_end + length].to_vec())
}
