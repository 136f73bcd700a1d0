//! The `devicevault` binary: every role and operator tool as a subcommand.

mod bench;
mod bench_collect;
mod device_cmd;
mod limits;
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
    /// List the built-in and user drivers.
    Drivers(device_cmd::DriversArgs),
    /// Measure DeviceVault against reference tools and print the figures.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Storage(cmd) => storage_cmd::run(cmd),
        Command::Sim(args) => device_cmd::sim(args),
        Command::Collect(args) => device_cmd::collect(args),
        Command::Drivers(args) => device_cmd::drivers(args),
        Command::Bench(cmd) => bench::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, naming the problem and its causes.
            let message = format!("{e:#}").replace('\n', " ");
            eprintln!("devicevault: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// JSON log lines on stderr; `RUST_LOG` filters (default: warnings).
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_current_span(false)
        .init();
}
