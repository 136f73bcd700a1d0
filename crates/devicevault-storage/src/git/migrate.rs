//! `devicevault storage migrate-layout`: a flat repository moved to the
//! fanout layout (issue 21).
//!
//! Under the repository lock the storage worker takes for every store
//! (stores wait, then go on in the new layout; none is lost), in order:
//!
//! 1. the repository records that a migration started from the tip;
//! 2. one commit per top-level shard (`d2/`, at most 256) moves every
//!    device directory of that shard, `<id>` → `<shard>/<id>`: the device's
//!    tree object itself, so every blob keeps its id and `git log --follow`
//!    sees exact renames. A flat directory whose name is a shard's (device
//!    `12`'s `12/`, where shard `12/` of device `18 = 0x12` goes) moves in
//!    the commit that needs the name, before it. The commits are written in
//!    memory and go to disk as one pack (`pack.rs`), like a group commit's;
//! 3. the branch moves once, compare-and-swap from the tip the commits were
//!    built on, the filesystem is synced, and the repository records
//!    `fanout`.
//!
//! Interrupted anywhere, a run either moved the branch or did not, and the
//! record says where it started: run again, and it finishes (the branch
//! moved: it records fanout) or starts over (it did not). Between the two
//! runs stores fail with a transient error rather than write in a layout
//! the branch may not have.
//!
//! Old `storage_ref`s name old paths at old commits, which still hold
//! them: every one still reads.

use std::collections::BTreeMap;
use std::time::Duration;

use gix::ObjectId;
use gix::objs::tree::EntryKind;

use super::{
    GitBackend, LOCK_FILE, Recorded, branch_tip, commit_tree, count_packs, open_existing,
    record_layout, recorded_layout, sync_filesystem, write_retrying,
};
use crate::StorageError;
use crate::lock::FileLock;
use devicevault_core::StorageLayout;
use devicevault_core::layout::{parse_device_id, shard_of};

/// What [`GitBackend::migrate_to_fanout`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutMigration {
    /// The repository recorded fanout and held no flat device directory:
    /// nothing was done.
    pub already_fanout: bool,
    /// One per commit: the top-level shard, how many devices moved, the
    /// commit.
    pub shards: Vec<ShardMove>,
    /// The branch had moved in an interrupted run: it only recorded
    /// fanout.
    pub finished_interrupted: bool,
    /// Top-level entries that are no device's directory, left in place.
    pub left: usize,
    /// The branch tip afterwards (`None`: nothing stored yet).
    pub tip: Option<String>,
    /// Packs in the repository afterwards.
    pub packs: usize,
}

impl LayoutMigration {
    /// Devices moved, in every shard.
    pub fn devices(&self) -> usize {
        self.shards.iter().map(|s| s.devices).sum()
    }
}

/// One commit of a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardMove {
    /// The top-level shard directory, two hex digits.
    pub shard: String,
    pub devices: usize,
    pub commit: String,
}

/// A flat device directory at the root.
struct FlatDevice {
    id: i64,
    tree: ObjectId,
}

impl GitBackend {
    /// The layout the repository records, `None` when it records none
    /// (made before layouts, or nothing stored yet) or does not exist.
    pub fn repository_layout(&self) -> Result<Option<StorageLayout>, StorageError> {
        match open_existing(&self.config.repo_path) {
            Ok(repo) => Ok(match recorded_layout(repo.git_dir())? {
                Some(Recorded::Layout(l)) => Some(l),
                // Stores wait for it; what it is becoming.
                Some(Recorded::Migrating(_)) => Some(StorageLayout::Fanout),
                None => None,
            }),
            Err(StorageError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Moves every device directory at the root (`<id>/`) to its fanout
    /// place (`<shard>/<id>/`), one commit per top-level shard, and records
    /// the fanout layout; see the module's documentation. Waits up to
    /// `lock_timeout` for the stores in progress.
    pub fn migrate_to_fanout(
        &self,
        lock_timeout: Duration,
    ) -> Result<LayoutMigration, StorageError> {
        let cfg = &self.config;
        let repo = open_existing(&cfg.repo_path)?;
        let git_dir = repo.git_dir().to_owned();
        let objects_dir = repo.common_dir().join("objects");
        let _lock = FileLock::acquire(&git_dir.join(LOCK_FILE), lock_timeout)?;
        let full_ref = cfg.branch.full_ref();
        let start = branch_tip(&repo, &full_ref)?;
        let recorded = recorded_layout(&git_dir)?;
        let mut report = LayoutMigration {
            already_fanout: false,
            shards: Vec::new(),
            finished_interrupted: false,
            left: 0,
            tip: start.map(|t| t.to_hex().to_string()),
            packs: count_packs(&objects_dir)?,
        };
        match &recorded {
            Some(Recorded::Layout(StorageLayout::Fanout)) => {
                report.already_fanout = true;
                return Ok(report);
            }
            // Stores were refused since, so only the interrupted run (or a
            // person's `git commit`, on top of it) moved the branch.
            Some(Recorded::Migrating(from)) if report.tip.as_ref() != Some(from) => {
                record_layout(
                    &git_dir,
                    &Recorded::Layout(StorageLayout::Fanout),
                    cfg.fsync,
                )?;
                report.finished_interrupted = true;
                return Ok(report);
            }
            _ => {}
        }
        let Some(start) = start else {
            // Nothing stored yet: the first store writes in fanout.
            record_layout(
                &git_dir,
                &Recorded::Layout(StorageLayout::Fanout),
                cfg.fsync,
            )?;
            return Ok(report);
        };
        let tip_tree = commit_tree(&repo, start)?;
        let (flat, others) = flat_devices(&repo, tip_tree)?;
        report.left = others.len();
        let mut remaining: BTreeMap<i64, ObjectId> = flat.iter().map(|d| (d.id, d.tree)).collect();
        // Each commit: the devices of one top-level shard, and before them
        // any flat directory that has the name of a shard it needs.
        let mut batches: Vec<(String, Vec<FlatDevice>)> = Vec::new();
        let tops: std::collections::BTreeSet<String> =
            remaining.keys().map(|&id| top_shard(id)).collect();
        for top in tops {
            let mut batch: Vec<FlatDevice> = Vec::new();
            let ids: Vec<i64> = remaining
                .keys()
                .copied()
                .filter(|&id| top_shard(id) == top)
                .collect();
            let mut needed = vec![top.clone()];
            for id in ids {
                if let Some(tree) = remaining.remove(&id) {
                    batch.push(FlatDevice { id, tree });
                }
            }
            while let Some(name) = needed.pop() {
                if others.contains(&name) {
                    return Err(StorageError::Conflict {
                        rel_path: name.clone(),
                        reason: format!(
                            "the repository's root holds {name}, which is no device's directory, where the fanout layout needs shard {name}/; move it away first"
                        ),
                    });
                }
                if let Some(id) = parse_device_id(&name)
                    && let Some(tree) = remaining.remove(&id)
                {
                    needed.push(top_shard(id));
                    batch.push(FlatDevice { id, tree });
                }
            }
            if !batch.is_empty() {
                batches.push((top, batch));
            }
        }
        if batches.is_empty() {
            record_layout(
                &git_dir,
                &Recorded::Layout(StorageLayout::Fanout),
                cfg.fsync,
            )?;
            return Ok(report);
        }
        record_layout(
            &git_dir,
            &Recorded::Migrating(start.to_hex().to_string()),
            cfg.fsync,
        )?;
        let repo = repo.with_object_memory();
        let mut tip = start;
        let mut tree = tip_tree;
        for (shard, devices) in &batches {
            let mut editor = repo
                .edit_tree(tree)
                .map_err(StorageError::git("read tree"))?;
            // Every flat directory first, then every new place: a place may
            // have the name of a directory this commit moves.
            for device in devices {
                editor
                    .remove(device.id.to_string().as_str())
                    .map_err(StorageError::git(format!("remove {}", device.id)))?;
            }
            for device in devices {
                let dest = format!("{}/{}", shard_of(device.id), device.id);
                editor
                    .upsert(dest.as_str(), EntryKind::Tree, device.tree)
                    .map_err(StorageError::git(format!("place {dest}")))?;
            }
            // As in a store: every entry exists (the moved trees come from
            // the tip), so the unchecked editor writes.
            tree = editor.detach().write(|t| {
                write_retrying("write tree", || repo.write_object(t)).map(gix::Id::detach)
            })?;
            let signature = gix::actor::Signature {
                name: cfg.author_name.as_str().into(),
                email: cfg.author_email.as_str().into(),
                time: gix::date::Time::now_utc(),
            };
            let message = format!(
                "Move {n} device{s} to the fanout layout: shard {shard}/\n\n\
                 devicevault storage migrate-layout: <id>/ becomes {shard}/<xx>/<id>/.\n",
                n = devices.len(),
                s = if devices.len() == 1 { "" } else { "s" },
            );
            let commit = gix::objs::Commit {
                tree,
                parents: vec![tip].into(),
                author: signature.clone(),
                committer: signature,
                encoding: None,
                message: message.into(),
                extra_headers: Vec::new(),
            };
            tip = write_retrying("write commit", || repo.write_object(&commit))?.detach();
            report.shards.push(ShardMove {
                shard: shard.clone(),
                devices: devices.len(),
                commit: tip.to_hex().to_string(),
            });
        }
        let written = repo.objects.reset_object_memory().unwrap_or_default();
        crate::pack::write_pack(
            &objects_dir.join("pack"),
            written
                .iter()
                .map(|(id, (kind, data))| (id, *kind, data.as_slice())),
            cfg.fsync,
        )?;
        self.move_branch(&repo, Some(start), tip, report.shards.len())?;
        if cfg.fsync {
            sync_filesystem(&git_dir)?;
        }
        record_layout(
            &git_dir,
            &Recorded::Layout(StorageLayout::Fanout),
            cfg.fsync,
        )?;
        report.tip = Some(tip.to_hex().to_string());
        report.packs = count_packs(&objects_dir)?;
        Ok(report)
    }
}

/// The top-level shard directory of a device.
fn top_shard(id: i64) -> String {
    let shard = shard_of(id);
    shard
        .split_once('/')
        .map_or(shard.clone(), |(t, _)| t.to_owned())
}

/// The root's device directories in the flat layout (`<id>`, a tree), and
/// the names of its other entries.
fn flat_devices(
    repo: &gix::Repository,
    tree: ObjectId,
) -> Result<(Vec<FlatDevice>, std::collections::BTreeSet<String>), StorageError> {
    let tree = repo
        .find_tree(tree)
        .map_err(StorageError::git("read tree"))?;
    let mut flat = Vec::new();
    let mut left = std::collections::BTreeSet::new();
    for entry in tree.iter() {
        let entry = entry.map_err(StorageError::git("read tree"))?;
        let name = entry.filename().to_string();
        match parse_device_id(&name) {
            Some(id) if entry.mode().is_tree() => flat.push(FlatDevice {
                id,
                tree: entry.oid().to_owned(),
            }),
            _ => {
                left.insert(name);
            }
        }
    }
    Ok((flat, left))
}
