//! `devicevault storage store|read|migrate-layout`: the storage backends
//! from the shell.

use std::io::{Read, Write};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use devicevault_core::{StorageBackendKind, StorageLayout};
use devicevault_storage::git::{GitBackend, GitConfig};
use serde_json::{Map, Value};

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Store the content read from stdin and print its storage_ref.
    Store {
        #[command(flatten)]
        location: Location,
        /// Path of the backup inside the store, e.g. `123/r1.cfg`.
        #[arg(long, allow_hyphen_values = true)]
        rel_path: String,
        /// Accept any bytes; without it the content must be UTF-8 text.
        #[arg(long)]
        binary: bool,
    },
    /// Write the content a storage_ref names to stdout.
    Read {
        #[command(flatten)]
        location: Location,
        /// The storage_ref printed by `store`.
        #[arg(long = "ref", allow_hyphen_values = true)]
        storage_ref: String,
    },
    /// Move a flat Git location's files to the fanout layout
    /// (`<shard>/<device id>/…`), one commit per shard, and switch the
    /// location's `layout` setting. Run it on the host of the repository;
    /// stores wait for it (it holds the repository's lock) and go on in the
    /// new layout. Safe to interrupt: run it again to finish.
    MigrateLayout {
        #[command(flatten)]
        db: crate::config_cmd::ConfigArgs,
        /// The backup location's id.
        #[arg(long)]
        location: i64,
        /// How long to wait for the stores in progress, in seconds.
        #[arg(long, default_value_t = 120)]
        lock_timeout: u64,
    },
}

#[derive(Debug, Args)]
pub struct Location {
    /// Storage backend: `git` or `fs`.
    #[arg(long)]
    backend: String,
    /// The location's config as a JSON object, e.g. '{"repo_path": "/srv/backups"}'.
    #[arg(long)]
    config: String,
}

impl Location {
    fn parse(&self) -> anyhow::Result<(StorageBackendKind, Map<String, Value>)> {
        let kind: StorageBackendKind = self.backend.parse()?;
        let config: Value = serde_json::from_str(&self.config)
            .with_context(|| format!("--config is not valid JSON ({:?})", self.config))?;
        let Value::Object(config) = config else {
            bail!("--config must be a JSON object, got {}", self.config);
        };
        Ok((kind, config))
    }
}

pub fn run(cmd: StorageCommand) -> anyhow::Result<()> {
    match cmd {
        StorageCommand::MigrateLayout {
            db,
            location,
            lock_timeout,
        } => migrate_layout(&db, location, Duration::from_secs(lock_timeout)),
        StorageCommand::Store {
            location,
            rel_path,
            binary,
        } => {
            let (kind, config) = location.parse()?;
            let mut content = Vec::new();
            std::io::stdin()
                .read_to_end(&mut content)
                .context("read content from stdin")?;
            if !binary && std::str::from_utf8(&content).is_err() {
                bail!("content on stdin is not UTF-8 text; pass --binary to store it as bytes");
            }
            let stored = devicevault_storage::store_backup(kind, &content, &rel_path, &config)
                .with_context(|| format!("store {rel_path} with the {kind} backend"))?;
            tracing::info!(
                storage_backend = kind.as_str(),
                storage_ref = %stored.storage_ref,
                changed = stored.changed,
                size = stored.size,
                "stored backup"
            );
            println!("{}", stored.storage_ref);
            Ok(())
        }
        StorageCommand::Read {
            location,
            storage_ref,
        } => {
            let (kind, config) = location.parse()?;
            let content = devicevault_storage::read_backup(kind, &storage_ref, &config)
                .with_context(|| format!("read {storage_ref:?} with the {kind} backend"))?;
            let mut out = std::io::stdout().lock();
            out.write_all(&content).context("write content to stdout")?;
            out.flush().context("write content to stdout")?;
            Ok(())
        }
    }
}

/// `storage migrate-layout`: the repository first (under its lock), then
/// the location's setting, so an interrupted run leaves the setting flat
/// and a second run finishes both. Refuses a location that is not git, and
/// one already in fanout.
fn migrate_layout(
    args: &crate::config_cmd::ConfigArgs,
    location_id: i64,
    lock_timeout: Duration,
) -> anyhow::Result<()> {
    let config = args.load(&[])?;
    let roots = config.settings.storage_roots.clone();
    crate::server_cmd::runtime()?.block_on(async {
        let db = crate::server_cmd::connect(args).await?;
        let location = db
            .location(location_id)
            .await
            .with_context(|| format!("read backup location {location_id}"))?;
        if location.location_type != StorageBackendKind::Git {
            bail!(
                "backup location {location_id} ({}) is a {} location: only git locations have a layout",
                location.name,
                location.location_type
            );
        }
        let setting = StorageLayout::of_config(&location.config)
            .with_context(|| format!("the config of backup location {location_id}"))?;
        let git = GitConfig::from_json(&location.config)
            .with_context(|| format!("the config of backup location {location_id}"))?;
        if let Some(roots) = &roots {
            roots.check(&git.repo_path)?;
        }
        let repository = git.repo_path.display().to_string();
        let backend = GitBackend::new(git);
        if setting == StorageLayout::Fanout
            && backend.repository_layout()? == Some(StorageLayout::Fanout)
        {
            bail!(
                "backup location {location_id} ({}) is in the fanout layout already; nothing to do",
                location.name
            );
        }
        println!(
            "migrating backup location {location_id} ({}), repository {repository}, to the fanout layout",
            location.name
        );
        let report = tokio::task::spawn_blocking(move || backend.migrate_to_fanout(lock_timeout))
            .await
            .context("the migration panicked")?
            .with_context(|| format!("migrate {repository} to the fanout layout"))?;
        if report.already_fanout {
            println!("the repository was in the fanout layout already");
        } else if report.finished_interrupted {
            println!("an interrupted run had moved the files; the repository now records fanout");
        }
        for shard in &report.shards {
            println!(
                "shard {}/: {} device{} moved in commit {}",
                shard.shard,
                shard.devices,
                if shard.devices == 1 { "" } else { "s" },
                shard.commit
            );
        }
        if report.left > 0 {
            println!(
                "{} top-level entr{} that no device owns left in place",
                report.left,
                if report.left == 1 { "y" } else { "ies" }
            );
        }
        let mut new_config = location.config.clone();
        new_config.insert(
            StorageLayout::CONFIG_KEY.into(),
            StorageLayout::Fanout.as_str().into(),
        );
        db.update_location(
            location.id,
            &location.name,
            location.location_type,
            &new_config,
        )
        .await
        .with_context(|| format!("switch backup location {location_id} to the fanout layout"))?;
        crate::audit_cmd::record(
            &db,
            "backup-locations.migrate-layout",
            "backup-locations",
            Some(location.id),
            serde_json::json!({
                "layout": {"from": setting.as_str(), "to": "fanout"},
                "devices": report.devices(),
                "commits": report.shards.len(),
            }),
        )
        .await;
        println!(
            "done: {} devices moved in {} commits{}; the location's layout is now fanout (old storage_refs still read)",
            report.devices(),
            report.shards.len(),
            report
                .tip
                .as_deref()
                .map(|t| format!(", branch {} at {t}", location.config.get("branch").and_then(serde_json::Value::as_str).unwrap_or("main")))
                .unwrap_or_default()
        );
        Ok(())
    })
}
