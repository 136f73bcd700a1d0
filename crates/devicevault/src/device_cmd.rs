//! `devicevault sim`, `collect` and `drivers`: devices from the shell.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use devicevault_collect::{
    CollectOptions, DeviceTarget, DriverSet, KnownHosts, RetryPolicy, Secret, Transport,
    collect_with_retry,
};
use devicevault_sim::SimConfig;

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Number of simulated devices.
    #[arg(long, default_value_t = 1)]
    devices: usize,
    /// Port of the first device; device i listens on base-port + i. With
    /// --address-block, the one port every device listens on.
    #[arg(long)]
    base_port: u16,
    /// Serve the whole fleet from one listener, device i at the i-th
    /// loopback address from FIRST (default 127.1.0.1; .0 and .255 are
    /// skipped), every device on --base-port (and --telnet-base-port). A
    /// fleet too large for one listener per device within the open-files
    /// limit, or for the ports above --base-port, gets this mode anyway.
    #[arg(long, value_name = "FIRST", num_args = 0..=1,
          default_missing_value = "127.1.0.1")]
    address_block: Option<std::net::Ipv4Addr>,
    /// Platforms, comma-separated, assigned in turn (default: every platform).
    #[arg(long, value_delimiter = ',')]
    platform: Vec<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// Login every device accepts.
    #[arg(long, default_value = "admin")]
    username: String,
    /// Password every device accepts.
    #[arg(long, default_value = "admin")]
    password: String,
    /// Enable secret of platforms that have an enable step.
    #[arg(long, default_value = "enable")]
    enable_secret: String,
    /// Lines of running configuration per device (50 to 50,000).
    #[arg(long, default_value_t = 200)]
    config_lines: usize,
    /// Vary sizes over the fleet: each device gets a fixed size between
    /// --config-lines and this.
    #[arg(long)]
    config_lines_max: Option<usize>,
    /// Also serve Telnet, device i on telnet-base-port + i.
    #[arg(long)]
    telnet_base_port: Option<u16>,
    /// Send configurations at most this many bytes per second (slow devices).
    #[arg(long)]
    throttle_bytes_per_sec: Option<u32>,
    /// Never stop sending configuration lines (a runaway device).
    #[arg(long)]
    endless_output: bool,
    /// Put one line of this many bytes in every configuration.
    #[arg(long)]
    single_line_bytes: Option<usize>,
    /// Date the configurations' volatile lines at this RFC 3339 instant
    /// (e.g. 2027-01-01T00:00:00Z) instead of the system's time.
    #[arg(long, value_name = "RFC3339")]
    clock: Option<String>,
    /// Every this many seconds, one device's configuration changes as an
    /// engineer's edit would (a new interface description, management ACL
    /// entry or local user, a few lines), the devices in turn from the
    /// first; each change is printed. Without it, configurations change
    /// only on demand (--control-addr).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    drift_every: Option<u64>,
    /// Serve the control endpoint here: `POST /devices/<name>/change`
    /// (optionally `?author=<user>`, named in the lines that show the last
    /// change's author) changes that device now and answers 200 with what
    /// changed as JSON, 404 for an unknown device, 405 for another method.
    /// A port alone listens on 127.0.0.1. No authentication: keep it on
    /// loopback.
    #[arg(long, value_name = "[IP:]PORT", value_parser = control_addr)]
    control_addr: Option<std::net::SocketAddr>,
}

/// `PORT` (on loopback) or `IP:PORT`.
fn control_addr(s: &str) -> Result<std::net::SocketAddr, String> {
    match s.parse::<u16>() {
        Ok(port) => Ok((std::net::Ipv4Addr::LOCALHOST, port).into()),
        Err(_) => s
            .parse()
            .map_err(|_| format!("{s:?} is neither a port nor an IP:PORT address")),
    }
}

/// Prints a device's change as it happens: which device, what changed.
fn print_change() -> devicevault_sim::OnChange {
    Arc::new(
        |d: &devicevault_sim::SimDevice, change: &devicevault_sim::Change| {
            use std::io::Write;
            println!("change: {} ({}) {change}", d.name(), d.platform());
            let _ = std::io::stdout().flush();
        },
    )
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Device address.
    #[arg(long)]
    host: String,
    /// TCP port (default: 22 for SSH, 23 for Telnet).
    #[arg(long)]
    port: Option<u16>,
    /// How to reach the device: ssh or telnet.
    #[arg(long, default_value = "ssh")]
    transport: Transport,
    /// Same as --transport telnet.
    #[arg(long, conflicts_with = "transport")]
    telnet: bool,
    /// Driver (platform) name; see `devicevault drivers`.
    #[arg(long)]
    driver: String,
    /// Login name.
    #[arg(long)]
    username: String,
    /// Environment variable holding the password (never a flag: flags show in `ps`).
    #[arg(long)]
    password_env: Option<String>,
    /// Environment variable holding the enable secret.
    #[arg(long)]
    enable_env: Option<String>,
    /// Environment variable holding the API key an HTTPS driver sends as
    /// `{api_key}` (FortiOS's REST API token, a PAN-OS key); with it,
    /// --password-env may be left out.
    #[arg(long)]
    api_key_env: Option<String>,
    /// Mask secrets (community strings, password hashes, keys) in the output.
    #[arg(long)]
    remove_secrets: bool,
    /// Offer legacy key exchange, ciphers and MACs for old devices.
    #[arg(long)]
    legacy: bool,
    /// Host-key pins (default: <data dir>/known_hosts).
    #[arg(long)]
    known_hosts: Option<PathBuf>,
    /// Seconds allowed for connecting and logging in.
    #[arg(long, default_value_t = 10)]
    connect_timeout: u64,
    /// Seconds allowed for each command's output.
    #[arg(long, default_value_t = 60)]
    command_timeout: u64,
    /// Seconds allowed for the whole job.
    #[arg(long, default_value_t = 300)]
    job_timeout: u64,
    /// Do not retry transient failures.
    #[arg(long)]
    no_retry: bool,
    #[command(flatten)]
    drivers: DriversArgs,
}

#[derive(Debug, Args)]
pub struct DriversArgs {
    /// Directory of user drivers (*.toml) that add or override built-in ones.
    #[arg(long, env = "DEVICEVAULT_DRIVERS_DIR")]
    drivers_dir: Option<PathBuf>,
}

impl DriversArgs {
    fn load(&self) -> anyhow::Result<DriverSet> {
        match &self.drivers_dir {
            Some(dir) => DriverSet::with_user_dir(dir)
                .with_context(|| format!("load user drivers from {}", dir.display())),
            None => Ok(DriverSet::builtin()),
        }
    }
}

pub fn data_dir() -> PathBuf {
    std::env::var_os("DEVICEVAULT_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("devicevault-data"))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")
}

pub fn sim(args: SimArgs) -> anyhow::Result<()> {
    if args.devices == 0 {
        bail!("--devices must be at least 1");
    }
    let known = devicevault_sim::platforms();
    if let Some(bad) = args.platform.iter().find(|p| !known.contains(&p.as_str())) {
        bail!("unknown platform {bad:?}; known: {}", known.join(", "));
    }
    if let Some(max) = args.config_lines_max
        && max < args.config_lines
    {
        bail!("--config-lines-max must be at least --config-lines");
    }
    // The sessions' descriptors beside the listeners.
    let reserve = 64;
    let open_files = devicevault_server::limits::raise_nofile_limit(reserve)?;
    let clock = match &args.clock {
        Some(at) => devicevault_sim::SimClock::at(at).with_context(|| format!("--clock {at}"))?,
        None => devicevault_sim::SimClock::system(),
    };
    let mut cfg = SimConfig {
        devices: args.devices,
        bind: args.bind,
        base_port: args.base_port,
        address_block: args.address_block,
        platforms: args.platform,
        username: args.username,
        password: args.password,
        enable_secret: args.enable_secret,
        config_lines: args.config_lines,
        config_lines_max: args.config_lines_max,
        telnet_base_port: args.telnet_base_port,
        faults: devicevault_sim::Faults {
            throttle_bytes_per_sec: args.throttle_bytes_per_sec,
            endless_output: args.endless_output,
            single_line_bytes: args.single_line_bytes,
            ..devicevault_sim::Faults::default()
        },
        clock,
    };
    if cfg.spread_if_needed(open_files, reserve) {
        eprintln!(
            "{} devices do not fit one listener each (open-files limit {open_files}, or ports \
             past 65535): serving them from one listener, each at its own loopback address",
            args.devices
        );
    }
    devicevault_server::limits::raise_nofile_limit(cfg.listening_sockets() + reserve)?;
    if let Some(addr) = args.control_addr
        && !addr.ip().is_loopback()
    {
        eprintln!(
            "warning: the control endpoint on {addr} lets anyone who reaches it change the devices"
        );
    }
    runtime()?.block_on(async {
        use std::io::Write;
        let sim = devicevault_sim::Simulator::start(cfg)
            .await
            .context("start the simulator")?;
        println!("{}", sim.summary());
        if let Some(addr) = args.control_addr {
            let bound = sim
                .serve_control(addr, print_change())
                .await
                .context("start the control endpoint")?;
            println!("control endpoint: POST http://{bound}/devices/<name>/change");
        }
        if let Some(secs) = args.drift_every {
            sim.drift_every(Duration::from_secs(secs), print_change());
            println!("a device changes every {secs} s");
        }
        let _ = std::io::stdout().flush();
        shutdown_signal().await;
        sim.stop();
        Ok(())
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("install the SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}

fn secret_from_env(var: &Option<String>, what: &str) -> anyhow::Result<Option<Secret>> {
    match var {
        None => Ok(None),
        Some(name) => std::env::var(name)
            .map(|v| Some(Secret::new(v)))
            .with_context(|| format!("{what} environment variable {name} is not set")),
    }
}

pub fn collect(args: CollectArgs) -> anyhow::Result<()> {
    let drivers = args.drivers.load()?;
    drivers.get(&args.driver)?;
    let api_key = secret_from_env(&args.api_key_env, "API key")?;
    let password = match secret_from_env(&args.password_env, "password")? {
        Some(p) => p,
        // An API key alone: a driver that needs a password says so.
        None if api_key.is_some() => Secret::new(""),
        None => bail!(
            "--password-env is required (the variable holding the device password), \
             or --api-key-env for an API driver"
        ),
    };
    let transport = if args.telnet {
        Transport::Telnet
    } else {
        args.transport
    };
    let port = args.port.unwrap_or(transport.default_port());
    let mut target = DeviceTarget::password(args.host, port, args.username, password, args.driver);
    target.transport = transport;
    target.enable_secret = secret_from_env(&args.enable_env, "enable secret")?;
    target.api_key = api_key;
    target.remove_secrets = args.remove_secrets;
    target.legacy_algorithms = args.legacy;
    let known_hosts_path = args
        .known_hosts
        .unwrap_or_else(|| data_dir().join("known_hosts"));
    if let Some(parent) = known_hosts_path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
    }
    let known_hosts = KnownHosts::open(&known_hosts_path)?;
    let mut opts = CollectOptions::new(Arc::new(known_hosts));
    opts.connect_timeout = Duration::from_secs(args.connect_timeout);
    opts.command_timeout = Duration::from_secs(args.command_timeout);
    opts.job_timeout = Duration::from_secs(args.job_timeout);
    let policy = if args.no_retry {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    } else {
        RetryPolicy::default()
    };
    let collected = runtime()?.block_on(collect_with_retry(&target, &drivers, &opts, &policy))?;
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(&collected.config)
        .context("write to stdout")?;
    out.flush().context("write to stdout")?;
    Ok(())
}

/// `devicevault drivers [check DIR]`.
#[derive(Debug, Args)]
pub struct DriversCmd {
    #[command(subcommand)]
    action: Option<DriversAction>,
    #[command(flatten)]
    drivers: DriversArgs,
}

#[derive(Debug, clap::Subcommand)]
enum DriversAction {
    /// Check every *.toml of a user driver directory as the collector
    /// would load it; print each problem as FILE:LINE: MESSAGE and exit
    /// non-zero if there is any.
    Check {
        /// The directory of user drivers.
        dir: PathBuf,
    },
}

/// A driver's inputs: the SSH and Telnet CLI dialogue, SSH exec channels
/// (with the CLI dialogue over Telnet), or files over SSH (`sftp`, `scp`).
fn inputs(d: &devicevault_collect::Driver) -> &'static str {
    match &d.input {
        devicevault_collect::Input::Cli if d.exec => "ssh-exec,telnet",
        devicevault_collect::Input::Cli => "ssh,telnet",
        other => other.name(),
    }
}

pub fn drivers(cmd: DriversCmd) -> anyhow::Result<()> {
    if let Some(DriversAction::Check { dir }) = cmd.action {
        return drivers_check(&dir);
    }
    let set = cmd.drivers.load()?;
    let mut rows: Vec<_> = set.iter().collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    println!(
        "{:<22} {:<16} {:<8} {:<50} ORIGIN",
        "NAME", "INPUTS", "SECRETS", "DESCRIPTION"
    );
    for d in rows {
        let origin = match &d.source {
            devicevault_collect::DriverSource::BuiltIn => "built-in".to_owned(),
            devicevault_collect::DriverSource::User(p) => format!("user: {}", p.display()),
        };
        // Masked only when a device asks, and only by the driver's rules;
        // a binary configuration is never masked (nor shown to readers).
        let secrets = if d.binary {
            "binary".to_owned()
        } else if d.secrets.is_empty() {
            "none".to_owned()
        } else {
            format!("masks:{}", d.secrets.len())
        };
        println!(
            "{:<22} {:<16} {:<8} {:<50} {origin}",
            d.name,
            inputs(d),
            secrets,
            d.description
        );
        println!(
            "{:<22} source: {}",
            "",
            d.facts_source.as_deref().unwrap_or("(not given)")
        );
    }
    Ok(())
}

fn drivers_check(dir: &std::path::Path) -> anyhow::Result<()> {
    let reports = devicevault_collect::check_driver_dir(dir)
        .with_context(|| format!("check the drivers of {}", dir.display()))?;
    let mut bad = 0usize;
    for r in &reports {
        for p in &r.problems {
            bad += 1;
            let at = match p.line {
                Some(l) => format!("{}:{l}", r.path.display()),
                None => r.path.display().to_string(),
            };
            // The regex crate's messages span lines: keep them under theirs.
            let message = p.message.replace('\n', "\n    ");
            println!("{at}: {message}");
        }
        if r.problems.is_empty() {
            println!("{}: ok", r.path.display());
        }
    }
    if reports.is_empty() {
        bail!("no *.toml driver file in {}", dir.display());
    }
    if bad > 0 {
        bail!(
            "{bad} problem(s) in {} of {} driver file(s)",
            reports.iter().filter(|r| !r.problems.is_empty()).count(),
            reports.len()
        );
    }
    Ok(())
}
