//! `devicevault-bench`: the figures of `docs/BENCHMARKS.md`.
//!
//! Benchmarks measure and print; they never assert. Each prints the target
//! beside the figure so a reader sees at once where we stand. Those that
//! run DeviceVault in child processes (the simulator, `serve`, the roles)
//! start the `devicevault` binary built beside this one.

mod collect;
mod distributed;
mod import;
mod login;
mod pipeline;
mod proc_stats;
mod search;
mod storage;
mod util;
mod web;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "devicevault-bench",
    version,
    about = "Measure DeviceVault against reference tools and print the figures"
)]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Store the same versions with our git backend, our fs backend and
    /// `git fast-import`; then time reads of random versions.
    Storage {
        /// Number of versions stored (spread evenly over the devices).
        #[arg(long, default_value_t = 2000)]
        versions: usize,
        /// Number of devices.
        #[arg(long, default_value_t = 100)]
        devices: usize,
        /// Approximate size of one configuration, in bytes.
        #[arg(long, default_value_t = 36_000)]
        size: usize,
        /// Number of random reads timed per backend.
        #[arg(long, default_value_t = 2000)]
        reads: usize,
        /// Directory for the repositories (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Collect every device of a simulated fleet (a `devicevault sim` child
    /// process, so its CPU and memory are not counted as the collector's)
    /// with the real collector at bounded concurrency; time OpenSSH fetching
    /// one device's configuration for reference.
    Collect(collect::CollectBench),
    /// Back up a simulated fleet end to end with the server in embedded mode
    /// (SQLite, a git location, everything in this process), then time
    /// downloads and per-device lists of stored backups through the API.
    Pipeline(pipeline::PipelineBench),
    /// Server time of the web UI's heaviest pages: the comparison of two
    /// 20,000-line configurations and the device list with 10,000 devices.
    Web(web::WebBench),
    /// Back up a simulated fleet with every role its own process (RabbitMQ,
    /// Redis, PostgreSQL, in a vhost, database and streams of its own), time
    /// downloads, and compare a Python Celery client's `storage.read`
    /// against our worker and GitPython Celery workers.
    Distributed(distributed::DistributedBench),
    /// Wrong logins from many addresses at once against `serve` (a child
    /// process): its peak memory, and a correct login during the flood.
    Login(login::LoginBench),
    /// The fleet search through the API over 10,000 generated ~36 KB
    /// configurations: literal, regex and negative queries, the cache's
    /// fill and memory.
    Search(search::SearchBench),
    /// Import an Oxidized router.db of 10,000 lines: the dry run, the
    /// apply and the second run (every line unchanged), in process.
    Import(import::ImportBench),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        BenchCommand::Storage {
            versions,
            devices,
            size,
            reads,
            dir,
        } => storage::run(versions, devices, size, reads, dir),
        BenchCommand::Collect(args) => collect::run(args),
        BenchCommand::Pipeline(args) => pipeline::run(args),
        BenchCommand::Web(args) => web::run(args),
        BenchCommand::Distributed(args) => distributed::run(args),
        BenchCommand::Login(args) => login::run(args),
        BenchCommand::Search(args) => search::run(args),
        BenchCommand::Import(args) => import::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "devicevault-bench: error: {}",
                format!("{e:#}").replace('\n', " ")
            );
            ExitCode::FAILURE
        }
    }
}
