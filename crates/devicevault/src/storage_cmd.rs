//! `devicevault storage store|read`: the storage backends from the shell.

use std::io::{Read, Write};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use devicevault_core::StorageBackendKind;
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
