//! The `devicevault` binary: every role and operator tool as a subcommand.

mod audit_cmd;
mod config_cmd;
mod device_cmd;
mod import_cmd;
mod netbox;
mod retention_cmd;
mod roles_cmd;
mod search_cmd;
mod server_cmd;
mod storage_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "devicevault",
    version,
    about = "Back up the configuration of network devices"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Store or read one backup with a storage backend, as a storage worker would.
    #[command(subcommand)]
    Storage(storage_cmd::StorageCommand),
    /// Run simulated network devices over SSH (for tests, demos and benchmarks).
    Sim(device_cmd::SimArgs),
    /// Log in to one device and print its configuration.
    Collect(device_cmd::CollectArgs),
    /// List the built-in and user drivers (inputs, secret masking, the
    /// source of their facts), or check a directory of user drivers.
    Drivers(device_cmd::DriversCmd),
    /// Run the REST API and every role in one process (embedded mode).
    Serve(server_cmd::ServeArgs),
    /// Start simulated devices and DeviceVault, back them all up, and keep serving.
    Demo(server_cmd::DemoArgs),
    /// Distributed mode: run one role of the pipeline as this process.
    #[command(flatten)]
    Role(roles_cmd::Role),
    /// Manage the users who can log in.
    #[command(subcommand)]
    User(server_cmd::UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(server_cmd::TokenCommand),
    /// Show the effective configuration, or print a commented default file.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// The audit log: check its chain.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCommand),
    /// Retention: prune what the locations no longer keep (or show it).
    #[command(subcommand)]
    Retention(retention_cmd::RetentionCommand),
    /// Search the configurations of the fleet through the API (exits 1 when nothing is found).
    Search(search_cmd::SearchArgs),
    /// Import devices from Oxidized, RANCID, CSV or NetBox (a dry run unless --apply; exits 1
    /// when a line has an error).
    Import(import_cmd::ImportArgs),
    /// Write the inventory as CSV to standard output (no secrets).
    Export(import_cmd::ExportArgs),
}

fn main() -> ExitCode {
    // What DeviceVault writes (the database, secret.key, repositories, fs
    // backups, known_hosts) holds device configurations and keys: its
    // user's alone, whatever umask it was started with — a login shell's
    // 022 or a systemd unit without UMask= would leave it world-readable.
    rustix::process::umask(rustix::fs::Mode::RWXG | rustix::fs::Mode::RWXO);
    let cli = Cli::parse();
    init_logging(match cli.command {
        // A server's log is its record of the pipeline's steps.
        Command::Serve(_) | Command::Role(_) => "info,sqlx=warn",
        _ => "warn",
    });
    let mut exit_one = false;
    let result = match cli.command {
        Command::Storage(cmd) => storage_cmd::run(cmd),
        Command::Sim(args) => device_cmd::sim(args),
        Command::Collect(args) => device_cmd::collect(args),
        Command::Drivers(args) => device_cmd::drivers(args),
        Command::Serve(args) => server_cmd::serve(args),
        Command::Demo(args) => server_cmd::demo(args),
        Command::Role(role) => roles_cmd::run(role),
        Command::User(cmd) => server_cmd::user(cmd),
        Command::Token(cmd) => server_cmd::token(cmd),
        Command::Config(cmd) => config_cmd::run(cmd),
        Command::Search(args) => search_cmd::run(args).map(|found| exit_one = !found),
        Command::Audit(cmd) => audit_cmd::run(cmd).map(|ok| exit_one = !ok),
        Command::Retention(cmd) => retention_cmd::run(cmd),
        Command::Import(args) => import_cmd::import(args).map(|ok| exit_one = !ok),
        Command::Export(args) => import_cmd::export(args),
    };
    match result {
        Ok(()) if exit_one => ExitCode::from(1),
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, naming the problem and its causes.
            let message = format!("{e:#}").replace('\n', " ");
            eprintln!("devicevault: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// JSON log lines on stderr; `RUST_LOG` filters (default: `default_level`).
fn init_logging(default_level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_current_span(false)
        .init();
}
