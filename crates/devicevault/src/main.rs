//! The `devicevault` binary: every role and operator tool as a subcommand.

mod bench;
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
    /// Measure DeviceVault against reference tools and print the figures.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Storage(cmd) => storage_cmd::run(cmd),
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
