//! `devicevault retention run [--dry-run]`: a retention pass from the
//! command line (the scheduler runs one every `retention.interval`), on
//! the host that holds the fs locations' files.

use clap::Subcommand;
use devicevault_core::Timestamp;
use devicevault_db::PrunedVersion;
use devicevault_pipeline::retention::{DirectRemover, history_cutoffs, run_pass};

use crate::config_cmd::ConfigArgs;

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Prune what each location no longer keeps (its keep_last /
    /// keep_days), failed results and finished jobs past their periods, and
    /// the fs files whose grace has passed. With --dry-run, print what would
    /// go and change nothing.
    Run {
        #[command(flatten)]
        db: ConfigArgs,
        /// Print what would go; remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

fn print_versions(location: i64, versions: &[PrunedVersion]) {
    let mut devices: Vec<(i64, usize, i64)> = Vec::new();
    for v in versions {
        match devices.last_mut() {
            Some(d) if d.0 == v.device_id => {
                d.1 += 1;
                d.2 += v.size.unwrap_or(0);
            }
            _ => devices.push((v.device_id, 1, v.size.unwrap_or(0))),
        }
    }
    for (device, count, bytes) in devices {
        println!("location {location}: device {device}: {count} versions, {bytes} bytes");
    }
}

/// Runs `retention run`.
pub fn run(cmd: RetentionCommand) -> anyhow::Result<()> {
    let RetentionCommand::Run { db: args, dry_run } = cmd;
    let config = args.load(&[])?;
    let settings = config.settings.retention.clone();
    let roots = config.settings.storage_roots.clone();
    crate::server_cmd::runtime()?.block_on(async {
        let db = crate::server_cmd::connect(&args).await?;
        let now = Timestamp::now();
        if dry_run {
            for location in db.locations_with_retention().await? {
                print_versions(location, &db.retention_candidates(location, now).await?);
            }
            let (failed, jobs) = history_cutoffs(&settings, now);
            let h = db.prune_history(failed, jobs, true).await?;
            println!(
                "would delete {} failed results, {} failed stores, {} finished jobs; {} files wait for their grace",
                h.failed_results,
                h.failed_stored,
                h.finished_jobs,
                db.pending_removals().await?
            );
            return Ok(());
        }
        let report = run_pass(&db, &DirectRemover { roots }, &settings, now).await?;
        for (location, versions) in &report.versions {
            print_versions(*location, versions);
        }
        let h = report.history;
        println!(
            "deleted {} failed results, {} failed stores, {} finished jobs; removed {} files",
            h.failed_results, h.failed_stored, h.finished_jobs, report.files_removed
        );
        crate::audit_cmd::record(
            &db,
            "retention.run",
            "retention",
            None,
            serde_json::json!({
                "versions": report.versions.iter().map(|(_, v)| v.len()).sum::<usize>(),
                "files_removed": report.files_removed,
            }),
        )
        .await;
        Ok(())
    })
}
