//! `devicevault audit verify`: checks the audit log's chain, and what the
//! command line changes is recorded in it (`record`).

use anyhow::Context as _;
use clap::Subcommand;
use devicevault_db::{Db, NewAudit};
use devicevault_pipeline::app::audit;
use devicevault_pipeline::keyfile;

use crate::config_cmd::ConfigArgs;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that no row of the audit log was altered or deleted: every
    /// row's hash, every link to the row before, the last row written, and
    /// the signature of the pruning checkpoint (with the sealing key, when
    /// this machine has it). Exits 1 naming each broken row.
    Verify {
        #[command(flatten)]
        db: ConfigArgs,
    },
}

/// Whoever runs the command line: `cli:<login name>`.
fn cli_actor() -> String {
    let name = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| format!("uid {}", rustix::process::getuid().as_raw()));
    format!("cli:{name}")
}

/// Records a change made from the command line.
pub async fn record(
    db: &Db,
    action: &str,
    object_type: &str,
    object_id: Option<i64>,
    fields: serde_json::Value,
) {
    audit::record(
        db,
        NewAudit {
            actor: cli_actor(),
            via: "cli".into(),
            address: None,
            action: action.into(),
            object_type: Some(object_type.into()),
            object_id: object_id.map(|id| id.to_string()),
            fields: audit::fields_of_json(&fields),
            outcome: "ok".into(),
        },
    )
    .await;
}

/// Runs `audit verify`; `Ok(false)` when the chain is broken.
pub fn run(cmd: AuditCommand) -> anyhow::Result<bool> {
    let AuditCommand::Verify { db: args } = cmd;
    let config = args.load(&[])?;
    let key_path = config.secret_key_path();
    let key = if key_path.exists() {
        Some(keyfile::load_or_create(&key_path, false).context("read the sealing key")?)
    } else {
        None
    };
    crate::server_cmd::runtime()?.block_on(async {
        let db = crate::server_cmd::connect(&args).await?;
        let v = audit::verify(&db, key.as_ref()).await?;
        match (&v.chain.checkpoint, v.checkpoint_signed) {
            (None, _) => {}
            (Some(c), Some(true)) => println!(
                "checkpoint: rows up to {} were pruned on {} (signature verified)",
                c.through_id, c.at
            ),
            (Some(c), Some(false)) => println!(
                "checkpoint: rows up to {} were pruned on {}: its signature is NOT the sealing key's \
                 (forged, or another installation's key)",
                c.through_id, c.at
            ),
            (Some(c), None) => println!(
                "checkpoint: rows up to {} were pruned on {} (signature not checked: no sealing key at {})",
                c.through_id,
                c.at,
                key_path.display()
            ),
        }
        for p in &v.chain.problems {
            println!("row {}: {}", p.id, p.what);
        }
        if v.ok() {
            println!("audit log verified: {} rows, chain intact", v.chain.rows);
        } else {
            println!(
                "audit log BROKEN: {} problem(s) in {} rows",
                v.chain.problems.len() + usize::from(v.checkpoint_signed == Some(false)),
                v.chain.rows
            );
        }
        Ok(v.ok())
    })
}
