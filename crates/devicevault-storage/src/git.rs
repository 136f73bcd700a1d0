//! The Git backend: every store is a commit on one branch of a repository.
//!
//! Objects are written and the branch ref is moved directly through gix; no
//! work tree, index or `git` process is involved, so the repository can be
//! bare (as DeviceVault creates it) or an existing `git init` repository
//! whose work tree is left untouched.
//!
//! Concurrency: a store takes an exclusive `flock` on
//! `<git dir>/devicevault.lock` for the read-tip / write-tree / commit / move-ref
//! sequence, so writers on one host (threads or processes) are serialised.
//! The ref is then moved with compare-and-swap against the tip the commit was
//! built on; if something that does not take our lock (a person running
//! `git commit`) moved it meanwhile, the commit is rebuilt on the new tip.
//! Either way no commit is lost and the ref is never corrupt.
//!
//! A store commits only when the blob at `rel_path` differs from the tip's;
//! unchanged content returns a ref to the tip with `changed = false`, so a
//! device's history in `git log -- <path>` has one commit per real change.
//!
//! Renames: a store may name the `previous_rel_path` of the file (a device
//! renamed since its last backup). When the tip holds that path, the one
//! commit removes it and writes `rel_path`, so git sees a rename and
//! `git log --follow -- <new path>` shows every version; `changed` then
//! compares with the blob at the previous path, so an unchanged
//! configuration is `changed = false` even though a commit moved it.
//!
//! Durability: with `fsync` (the default) a store calls `syncfs` on the
//! repository's filesystem after moving the ref, so the objects and the ref
//! are on disk before the ref is handed back.
//!
//! Group commit: [`Backend::store_many`] makes one commit per changed item,
//! chained on the tip, then moves the branch and syncs once for the batch.
//! Besides the flush, this saves the ref update per commit — and on ext4 a
//! ref update is expensive beyond its own cost, because replacing the ref
//! file frees an inode that every later file creation scans past for a while
//! (`ext4_create → recently_deleted`, see docs/BENCHMARKS.md).

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use devicevault_core::{
    BranchName, CommitId, RelPath, StorageBackendKind, StorageLayout, StorageRef,
};
use gix::ObjectId;
use gix::objs::tree::{EntryKind, EntryMode};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::lock::FileLock;

mod maintain;
mod migrate;
use crate::{Backend, Maintenance, ObjectCounts, StorageError, StoreItem, Stored, sha256_hex};
use maintain::loose_objects_in;
pub use migrate::{LayoutMigration, ShardMove};

const LOCK_FILE: &str = "devicevault.lock";
/// The layout the repository's files are in (`flat` or `fanout`), one
/// word, written under [`LOCK_FILE`] by the first store and by
/// `migrate-layout`.
const LAYOUT_FILE: &str = "devicevault-layout";
/// At this many packs, group commits write loose objects again until
/// maintenance has rolled the packs up (it failed, or another process holds
/// its lock): readers search every pack's index, and the object database
/// has a fixed number of index slots ([`INDEX_SLOTS`]).
const PACK_WRITE_LIMIT: usize = 128;
/// The index slots of an open repository: room for [`PACK_WRITE_LIMIT`]
/// packs and those a repack writes beside them, more if the repository
/// already has more packs when it is opened.
const INDEX_SLOTS: usize = 512;
/// The decoded objects a group commit keeps at hand. Each store reads the
/// same root and shard trees of the tip to find its device's entry: without
/// a cache every one of them was found and inflated again, a loose tree's
/// file opened, mapped and unmapped each time (issue 22's profile).
const OBJECT_CACHE_BYTES: usize = 8 << 20;
const MAX_CAS_ATTEMPTS: u32 = 8;

/// Configuration of a Git location (the keys of the seed, plus optional
/// commit metadata).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitConfig {
    /// The repository: created bare when missing or empty.
    pub repo_path: PathBuf,
    /// Branch that receives the commits.
    #[serde(default)]
    pub branch: BranchName,
    /// Commit message; `{rel_path}` is replaced by the stored path.
    #[serde(default)]
    pub commit_message: Option<String>,
    #[serde(default = "default_author_name")]
    pub author_name: String,
    #[serde(default = "default_author_email")]
    pub author_email: String,
    /// Flush objects and the ref to disk before reporting success.
    #[serde(default = "yes")]
    pub fsync: bool,
    /// How long a store waits for another writer of the same repository.
    #[serde(default = "default_lock_timeout_ms")]
    pub lock_timeout_ms: u64,
    /// Pack the repository's loose objects (`git repack`) once about this
    /// many have accumulated; 0 never does. Every commit writes its root
    /// tree again (one entry per device), so an unpacked repository of a
    /// large fleet grows by megabytes a minute; packed, git stores those
    /// trees as deltas. The default is git's own `gc.auto`.
    #[serde(default = "default_pack_loose_objects")]
    pub pack_loose_objects: u64,
    /// Where a device's files go (issue 21): `flat` (`<id>/…`, what a
    /// config without the key has) or `fanout` (`<shard>/<id>/…`). The
    /// repository records the layout it was written in (see
    /// [`GitBackend::repository_layout`]), and that record wins: this
    /// setting only chooses the layout of a repository's first commit.
    #[serde(default)]
    pub layout: StorageLayout,
}

fn default_author_name() -> String {
    "DeviceVault".into()
}
fn default_author_email() -> String {
    "devicevault@localhost".into()
}
fn yes() -> bool {
    true
}
fn default_lock_timeout_ms() -> u64 {
    30_000
}
fn default_pack_loose_objects() -> u64 {
    6_700
}

impl GitConfig {
    /// Parses a location's JSON config.
    pub fn from_json(config: &Map<String, Value>) -> Result<Self, StorageError> {
        let cfg: Self = crate::parse_config(StorageBackendKind::Git, config)?;
        let invalid = |reason: &str| StorageError::InvalidConfig {
            backend: StorageBackendKind::Git,
            reason: reason.into(),
        };
        if cfg.repo_path.as_os_str().is_empty() {
            return Err(invalid("repo_path is empty"));
        }
        let bad_ident = |s: &str| s.is_empty() || s.contains(['<', '>', '\n', '\0']);
        if bad_ident(&cfg.author_name) || bad_ident(&cfg.author_email) {
            return Err(invalid(
                "author_name and author_email must be non-empty, without '<', '>' or newlines",
            ));
        }
        Ok(cfg)
    }

    /// A minimal config: `repo_path` on branch `main`.
    pub fn new(repo_path: impl Into<PathBuf>) -> Self {
        Self {
            repo_path: repo_path.into(),
            branch: BranchName::default(),
            commit_message: None,
            author_name: default_author_name(),
            author_email: default_author_email(),
            fsync: true,
            lock_timeout_ms: default_lock_timeout_ms(),
            pack_loose_objects: default_pack_loose_objects(),
            layout: StorageLayout::Flat,
        }
    }

    fn message_for(&self, rel_path: &RelPath) -> String {
        match &self.commit_message {
            Some(template) => template.replace("{rel_path}", rel_path.as_str()),
            None => format!("Backup {rel_path}"),
        }
    }
}

/// The seed's `storage.git.store_backup`.
pub fn store_backup(
    content: &[u8],
    rel_path: &str,
    config: &Map<String, Value>,
) -> Result<Stored, StorageError> {
    let rel_path = RelPath::parse(rel_path)?;
    GitBackend::new(GitConfig::from_json(config)?).store(content, &rel_path)
}

/// The seed's `storage.git.read_backup`.
pub fn read_backup(
    storage_ref: &str,
    config: &Map<String, Value>,
) -> Result<Vec<u8>, StorageError> {
    let r = StorageRef::parse(StorageBackendKind::Git, storage_ref)?;
    GitBackend::new(GitConfig::from_json(config)?).read(&r)
}

/// A Git location.
#[derive(Debug, Clone)]
pub struct GitBackend {
    config: GitConfig,
}

/// What [`GitBackend::write_commit`] did with one item.
struct Written {
    /// The new commit, or the parent when nothing was committed.
    commit: ObjectId,
    committed: bool,
    /// The content differs from the device's previous version.
    changed: bool,
    /// The path the commit removed (a move).
    moved_from: Option<RelPath>,
}

impl GitBackend {
    pub fn new(config: GitConfig) -> Self {
        Self { config }
    }

    /// Stores `content` with an explicit commit message instead of the
    /// configured one.
    pub fn store_with_message(
        &self,
        content: &[u8],
        rel_path: &RelPath,
        message: &str,
    ) -> Result<Stored, StorageError> {
        let item = StoreItem {
            content,
            rel_path,
            message: Some(message),
            previous_rel_path: None,
        };
        self.store_many(std::slice::from_ref(&item))?
            .pop()
            .expect("one result per item")
    }

    /// Writes the blob, trees and commit of one item on top of `parent`
    /// (the branch tip, or the previous commit of the batch), without moving
    /// the branch. With a `previous_rel_path` that the parent holds, the
    /// same commit removes it: the file moves, and `changed` compares with
    /// the version there. No commit (the parent itself) when the tree would
    /// stay the same.
    fn write_commit(
        &self,
        repo: &gix::Repository,
        parent: Option<ObjectId>,
        item: &StoreItem<'_>,
    ) -> Result<Written, StorageError> {
        let cfg = &self.config;
        let StoreItem {
            content, rel_path, ..
        } = *item;
        let previous = moving_from(item)?;
        let blob_id = gix::objs::compute_hash(repo.object_hash(), gix::objs::Kind::Blob, content)
            .map_err(StorageError::git("hash content"))?;
        let (base_tree, current, moved) = match parent {
            Some(parent) => {
                let tree = commit_tree(repo, parent)?;
                let current = path_entry(repo, tree, rel_path)?;
                let moved = match previous {
                    Some(previous) => {
                        previous_entry(repo, tree, previous)?.map(|blob| (previous, blob))
                    }
                    None => None,
                };
                if moved.is_none() && current == Some(blob_id) {
                    return Ok(Written {
                        commit: parent,
                        committed: false,
                        changed: false,
                        moved_from: None,
                    });
                }
                (tree, current, moved)
            }
            None => (ObjectId::empty_tree(repo.object_hash()), None, None),
        };
        // The device's previous version: where it was before a move.
        let changed = moved.map(|(_, blob)| blob).or(current) != Some(blob_id);
        write_retrying("write blob", || repo.write_blob(content))?;
        let mut editor = repo
            .edit_tree(base_tree)
            .map_err(StorageError::git("read tree"))?;
        editor
            .upsert(rel_path.as_str(), EntryKind::Blob, blob_id)
            .map_err(StorageError::git(format!("place {rel_path} in tree")))?;
        if let Some((previous, _)) = moved {
            editor
                .remove(previous.as_str())
                .map_err(StorageError::git(format!("remove {previous} from tree")))?;
        }
        // The checked editor stats every entry of every tree it writes (one
        // per device in a large repository) to prove the objects exist; ours
        // do: the blob was written above, the subtrees are written by the
        // editor itself, and the rest comes from the parent commit. The path
        // was validated when it became a `RelPath`.
        let tree = editor.detach().write(|tree| {
            write_retrying("write tree", || repo.write_object(tree)).map(gix::Id::detach)
        })?;
        let signature = gix::actor::Signature {
            name: cfg.author_name.as_str().into(),
            email: cfg.author_email.as_str().into(),
            time: gix::date::Time::now_utc(),
        };
        let mut message = match item.message {
            Some(m) => m.to_owned(),
            None => cfg.message_for(rel_path),
        };
        if let Some((previous, _)) = moved {
            message = format!("{}\n\nRenamed from {previous}\n", message.trim_end());
        }
        let commit = gix::objs::Commit {
            tree,
            parents: parent.into_iter().collect(),
            author: signature.clone(),
            committer: signature,
            encoding: None,
            message: message.into(),
            extra_headers: Vec::new(),
        };
        let id = write_retrying("write commit", || repo.write_object(&commit))?;
        Ok(Written {
            commit: id.detach(),
            committed: true,
            changed,
            moved_from: moved.map(|(previous, _)| previous.clone()),
        })
    }

    /// Moves the branch from `from` to `to`, failing if it is not at `from`.
    fn move_branch(
        &self,
        repo: &gix::Repository,
        from: Option<ObjectId>,
        to: ObjectId,
        commits: usize,
    ) -> Result<(), StorageError> {
        use gix::refs::Target;
        use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
        let full_ref = self.config.branch.full_ref();
        let edit = RefEdit {
            change: Change::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: false,
                    message: format!("devicevault: {commits} backup(s)").into(),
                },
                expected: match from {
                    Some(tip) => PreviousValue::MustExistAndMatch(Target::Object(tip)),
                    None => PreviousValue::MustNotExist,
                },
                new: Target::Object(to),
            },
            name: full_ref
                .as_str()
                .try_into()
                .map_err(StorageError::git(format!("name {full_ref}")))?,
            deref: false,
        };
        let signature = gix::actor::Signature {
            name: self.config.author_name.as_str().into(),
            email: self.config.author_email.as_str().into(),
            time: gix::date::Time::now_utc(),
        };
        let mut time_buf = gix::date::parse::TimeBuf::default();
        repo.edit_references_as(Some(edit), Some(signature.to_ref(&mut time_buf)))
            .map(|_| ())
            .map_err(StorageError::git(format!("move {full_ref}")))
    }

    fn stored(&self, item: &StoreItem<'_>, written: Written) -> Stored {
        Stored {
            storage_ref: StorageRef::Git {
                branch: self.config.branch.clone(),
                path: item.rel_path.clone(),
                commit: CommitId::parse(&written.commit.to_hex().to_string())
                    .expect("gix produces lowercase hex ids"),
            },
            changed: written.changed,
            sha256: sha256_hex(item.content),
            size: item.content.len() as u64,
            moved_from: written.moved_from,
        }
    }
}

impl Backend for GitBackend {
    fn kind(&self) -> StorageBackendKind {
        StorageBackendKind::Git
    }

    fn store(&self, content: &[u8], rel_path: &RelPath) -> Result<Stored, StorageError> {
        self.store_with_message(content, rel_path, &self.config.message_for(rel_path))
    }

    /// Takes the repository lock once, writes one commit per changed item
    /// as a chain on the branch tip, then moves the branch once (compare-and-
    /// swap) and syncs once: group commit. Each store is still its own
    /// commit in `git log`; the batch only shares the ref update and the
    /// flush, which dominate the cost of a small commit.
    fn store_many(
        &self,
        items: &[StoreItem<'_>],
    ) -> Result<Vec<Result<Stored, StorageError>>, StorageError> {
        let cfg = &self.config;
        let mut repo = open_or_create(&cfg.repo_path, &cfg.branch)?;
        repo.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
        // A batch's objects are kept in memory, then written as one pack
        // (see `pack.rs`) before the branch moves: when the repository is
        // maintained (the packs are rolled up), for more than one store, and
        // while the packs are few enough for maintenance to be keeping up.
        // Otherwise each object is a loose file, as git writes them.
        let objects_dir = repo.common_dir().join("objects");
        let packed = cfg.pack_loose_objects > 0
            && items.len() > 1
            && count_packs(&objects_dir)? < PACK_WRITE_LIMIT;
        let repo = if packed {
            repo.with_object_memory()
        } else {
            repo
        };
        let _lock = FileLock::acquire(
            &repo.git_dir().join(LOCK_FILE),
            Duration::from_millis(cfg.lock_timeout_ms),
        )?;
        let full_ref = cfg.branch.full_ref();
        // The layout is read under the lock: a store queued before a
        // migration, with the flat layout in its config, still lands where
        // the repository's files are now.
        let layout = settle_layout(
            repo.git_dir(),
            branch_tip(&repo, &full_ref)?.is_some(),
            cfg.layout,
            cfg.fsync,
        )?;
        let placed: Vec<Result<(RelPath, Option<RelPath>), devicevault_core::RelPathError>> = items
            .iter()
            .map(|item| {
                Ok((
                    layout.place(item.rel_path)?,
                    item.previous_rel_path
                        .map(|p| layout.place(p))
                        .transpose()?,
                ))
            })
            .collect();
        let items: Vec<Result<StoreItem<'_>, (&RelPath, String)>> = items
            .iter()
            .zip(&placed)
            .map(|(item, placed)| match placed {
                Ok((rel_path, previous)) => Ok(StoreItem {
                    rel_path,
                    previous_rel_path: previous.as_ref(),
                    ..*item
                }),
                Err(e) => Err((item.rel_path, e.to_string())),
            })
            .collect();
        for _ in 0..MAX_CAS_ATTEMPTS {
            let start = branch_tip(&repo, &full_ref)?;
            let mut tip = start;
            let mut commits = 0;
            let results: Vec<_> = items
                .iter()
                .map(|item| {
                    let item = match item {
                        Ok(item) => item,
                        Err((rel_path, e)) => {
                            return Err(StorageError::Conflict {
                                rel_path: rel_path.to_string(),
                                reason: format!("it has no place in the {layout} layout: {e}"),
                            });
                        }
                    };
                    let written = self.write_commit(&repo, tip, item)?;
                    if written.committed {
                        tip = Some(written.commit);
                        commits += 1;
                    }
                    Ok(self.stored(item, written))
                })
                .collect();
            let written = repo.objects.reset_object_memory().unwrap_or_default();
            if let Some(new_tip) = tip.filter(|_| tip != start) {
                crate::pack::write_pack(
                    &objects_dir.join("pack"),
                    written
                        .iter()
                        .map(|(id, (kind, data))| (id, *kind, data.as_slice())),
                    cfg.fsync,
                )?;
                if let Err(e) = self.move_branch(&repo, start, new_tip, commits) {
                    // Something that does not take our lock (a person running
                    // `git commit`) moved the branch: rebuild on its tip.
                    if branch_tip(&repo, &full_ref)? != start {
                        continue;
                    }
                    return Err(e);
                }
                if cfg.fsync {
                    sync_filesystem(repo.git_dir())?;
                }
            }
            return Ok(results);
        }
        Err(StorageError::RefContention {
            branch: cfg.branch.to_string(),
            attempts: MAX_CAS_ATTEMPTS,
        })
    }

    fn maintain(&self) -> Result<Maintenance, StorageError> {
        self.repack()
    }

    /// Every loose object (all 256 fan-out directories) and every pack.
    fn object_counts(&self) -> Result<Option<ObjectCounts>, StorageError> {
        let repo = match open_existing(&self.config.repo_path) {
            Ok(repo) => repo,
            Err(StorageError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let objects = repo.common_dir().join("objects");
        Ok(Some(ObjectCounts {
            repository: self.config.repo_path.display().to_string(),
            loose: loose_objects_in(&objects, 0..256)?,
            packs: count_packs(&objects)? as u64,
        }))
    }

    fn read(&self, storage_ref: &StorageRef) -> Result<Vec<u8>, StorageError> {
        let StorageRef::Git { path, commit, .. } = storage_ref else {
            return Err(StorageError::InvalidConfig {
                backend: StorageBackendKind::Git,
                reason: format!(
                    "cannot read a {} ref with the git backend",
                    storage_ref.backend()
                ),
            });
        };
        let repo = open_existing(&self.config.repo_path)?;
        let commit_id = resolve_commit(&repo, commit)?;
        let tree = commit_tree(&repo, commit_id)?;
        let tree = repo
            .find_tree(tree)
            .map_err(StorageError::git("read tree"))?;
        let entry = tree
            .lookup_entry(path.segments())
            .map_err(StorageError::git(format!("look up {path}")))?
            .ok_or_else(|| StorageError::NotFound {
                what: format!("{path} in commit {commit}"),
            })?;
        check_blob_mode(entry.mode(), path)?;
        let blob = repo
            .find_blob(entry.object_id())
            .map_err(StorageError::git(format!("read blob of {path}")))?;
        Ok(blob.data.clone())
    }
}

/// Runs `write` (of one object) up to three times. A loose object write can
/// lose a race with a concurrent `git repack`, whose prune-packed removes a
/// fan-out directory the moment it is empty: between gix creating the
/// directory and moving the object into it. Writing an object again is
/// harmless, its name is its content; an error that is not that race (a
/// full disk) fails the same way three times.
fn write_retrying<T, E: std::error::Error>(
    what: &str,
    mut write: impl FnMut() -> Result<T, E>,
) -> Result<T, StorageError> {
    let mut attempt = 1;
    loop {
        match write() {
            Ok(v) => return Ok(v),
            Err(_) if attempt < 3 => attempt += 1,
            Err(e) => return Err(StorageError::git(what)(e)),
        }
    }
}

fn count_packs(objects: &Path) -> Result<usize, StorageError> {
    let path = objects.join("pack");
    match fs::read_dir(&path) {
        Ok(entries) => Ok(entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".pack"))
            .count()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(StorageError::io(format!("list {}", path.display()))(e)),
    }
}

fn check_blob_mode(mode: EntryMode, path: &RelPath) -> Result<(), StorageError> {
    match mode.kind() {
        EntryKind::Blob | EntryKind::BlobExecutable => Ok(()),
        EntryKind::Link => Err(StorageError::Unsafe {
            path: PathBuf::from(path.as_str()),
            reason: "it is a symlink in the repository; symlinks are not followed".into(),
        }),
        EntryKind::Tree | EntryKind::Commit => Err(StorageError::NotFound {
            what: format!("a file at {path} (it is a directory or submodule)"),
        }),
    }
}

fn branch_tip(repo: &gix::Repository, full_ref: &str) -> Result<Option<ObjectId>, StorageError> {
    let reference = repo
        .try_find_reference(full_ref)
        .map_err(StorageError::git(format!("read {full_ref}")))?;
    match reference {
        None => Ok(None),
        Some(mut r) => r
            .peel_to_id()
            .map(|id| Some(id.detach()))
            .map_err(StorageError::git(format!("resolve {full_ref}"))),
    }
}

fn commit_tree(repo: &gix::Repository, commit: ObjectId) -> Result<ObjectId, StorageError> {
    let commit = repo
        .find_commit(commit)
        .map_err(StorageError::git(format!("read commit {commit}")))?;
    commit
        .tree_id()
        .map(|id| id.detach())
        .map_err(StorageError::git("read commit tree"))
}

/// The blob id at `rel_path` in `tree`, `None` if nothing is there. A file
/// where a directory is needed (or the reverse) is a conflict: upserting
/// would silently drop other backups from the tip tree.
fn path_entry(
    repo: &gix::Repository,
    tree: ObjectId,
    rel_path: &RelPath,
) -> Result<Option<ObjectId>, StorageError> {
    let tree = repo
        .find_tree(tree)
        .map_err(StorageError::git("read tree"))?;
    let segments: Vec<&str> = rel_path.segments().collect();
    let conflict = |reason: String| StorageError::Conflict {
        rel_path: rel_path.to_string(),
        reason,
    };
    for depth in 1..segments.len() {
        let prefix = &segments[..depth];
        match tree
            .lookup_entry(prefix.iter().copied())
            .map_err(StorageError::git("look up path"))?
        {
            None => return Ok(None),
            Some(e) if e.mode().is_tree() => {}
            Some(_) => {
                return Err(conflict(format!(
                    "{} is a file in the repository",
                    prefix.join("/")
                )));
            }
        }
    }
    match tree
        .lookup_entry(segments.iter().copied())
        .map_err(StorageError::git("look up path"))?
    {
        None => Ok(None),
        Some(e) if e.mode().is_blob() => Ok(Some(e.object_id())),
        Some(_) => Err(conflict(
            "it is a directory, symlink or submodule in the repository".into(),
        )),
    }
}

/// The item's previous path when it names another file of the same
/// directory; a move never crosses directories, so a store cannot remove a
/// file of another device.
fn moving_from<'a>(item: &StoreItem<'a>) -> Result<Option<&'a RelPath>, StorageError> {
    match item.previous_rel_path {
        Some(previous) if previous == item.rel_path => Ok(None),
        Some(previous) if previous.parent() == item.rel_path.parent() => Ok(Some(previous)),
        Some(previous) => Err(StorageError::Unsafe {
            path: PathBuf::from(previous.as_str()),
            reason: format!(
                "it is not in the directory of {}; a rename moves a file within its directory",
                item.rel_path
            ),
        }),
        None => Ok(None),
    }
}

/// The blob at a previous path, `None` when there is no file there: a
/// previous path that is missing (or is not a file) is not moved, and the
/// store is a plain add.
fn previous_entry(
    repo: &gix::Repository,
    tree: ObjectId,
    previous: &RelPath,
) -> Result<Option<ObjectId>, StorageError> {
    match path_entry(repo, tree, previous) {
        Err(StorageError::Conflict { .. }) => Ok(None),
        other => other,
    }
}

fn resolve_commit(repo: &gix::Repository, commit: &CommitId) -> Result<ObjectId, StorageError> {
    let not_found = || StorageError::NotFound {
        what: format!("commit {commit} in {}", repo.git_dir().display()),
    };
    let id = if commit.is_full() {
        ObjectId::from_hex(commit.as_str().as_bytes()).map_err(|_| not_found())?
    } else {
        let prefix = gix::hash::Prefix::from_hex(commit.as_str())
            .map_err(StorageError::git(format!("parse {commit}")))?;
        match repo
            .objects
            .lookup_prefix(prefix, None)
            .map_err(StorageError::git(format!("look up {commit}")))?
        {
            None => return Err(not_found()),
            Some(Err(())) => {
                return Err(StorageError::NotFound {
                    what: format!(
                        "a unique commit for the abbreviation {commit} (it is ambiguous)"
                    ),
                });
            }
            Some(Ok(id)) => id,
        }
    };
    match repo
        .try_find_header(id)
        .map_err(StorageError::git(format!("look up {commit}")))?
    {
        Some(h) if h.kind() == gix::objs::Kind::Commit => Ok(id),
        _ => Err(not_found()),
    }
}

/// Open repositories, one per path, shared by every thread of the process.
fn cache() -> &'static Mutex<HashMap<PathBuf, gix::ThreadSafeRepository>> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, gix::ThreadSafeRepository>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn cached(path: &Path) -> Option<gix::Repository> {
    let cache = cache().lock().unwrap_or_else(|p| p.into_inner());
    cache.get(path).map(|r| r.to_thread_local())
}

fn remember(path: &Path, repo: gix::ThreadSafeRepository) -> gix::Repository {
    let local = repo.to_thread_local();
    let mut cache = cache().lock().unwrap_or_else(|p| p.into_inner());
    cache.insert(path.to_owned(), repo);
    local
}

fn open_options() -> gix::open::Options {
    // Isolated: the repository's behaviour must not depend on the
    // environment or the global git configuration of whoever runs us.
    gix::open::Options::isolated().object_store_slots(
        gix::odb::store::init::Slots::AsNeededByDiskState {
            multiplier: 1.1,
            minimum: INDEX_SLOTS,
        },
    )
}

fn open_existing(path: &Path) -> Result<gix::Repository, StorageError> {
    if let Some(repo) = cached(path) {
        return Ok(repo);
    }
    match fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(StorageError::NotFound {
                what: format!("git repository {}", path.display()),
            });
        }
        Err(e) => return Err(StorageError::io(format!("inspect {}", path.display()))(e)),
        Ok(_) => {}
    }
    let repo = gix::ThreadSafeRepository::open_opts(path, open_options()).map_err(|e| {
        StorageError::Unsafe {
            path: path.to_owned(),
            reason: format!("not a git repository: {e}"),
        }
    })?;
    Ok(remember(path, repo))
}

/// Opens the repository, creating it bare (with HEAD on `branch`) when the
/// path is missing or an empty directory. Creation happens in a temporary
/// sibling that is renamed into place, so concurrent creators cannot leave a
/// half-made repository: one rename wins, the others open the winner's.
fn open_or_create(path: &Path, branch: &BranchName) -> Result<gix::Repository, StorageError> {
    if let Some(repo) = cached(path) {
        return Ok(repo);
    }
    let needs_creation = match fs::read_dir(path) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => true,
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
            return Err(StorageError::Unsafe {
                path: path.to_owned(),
                reason: "repo_path exists and is not a directory".into(),
            });
        }
        Err(e) => return Err(StorageError::io(format!("inspect {}", path.display()))(e)),
    };
    if needs_creation {
        create_bare(path, branch)?;
    }
    open_existing(path)
}

fn create_bare(path: &Path, branch: &BranchName) -> Result<(), StorageError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(StorageError::io(format!(
        "create directory {}",
        parent.display()
    )))?;
    let tmp = parent.join(format!(
        ".devicevault-init-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        gix::ThreadSafeRepository::init_opts(
            &tmp,
            gix::create::Kind::Bare,
            gix::create::Options::default(),
            open_options(),
        )
        .map_err(StorageError::git(format!(
            "create repository {}",
            path.display()
        )))?;
        fs::write(tmp.join("HEAD"), format!("ref: {}\n", branch.full_ref()))
            .map_err(StorageError::io("write HEAD"))?;
        match fs::rename(&tmp, path) {
            Ok(()) => Ok(()),
            // Someone else created it first (the target is no longer empty).
            Err(e) if path.join("HEAD").exists() || path.join(".git").exists() => {
                let _ = e;
                Ok(())
            }
            Err(e) => Err(StorageError::io(format!(
                "create repository {}",
                path.display()
            ))(e)),
        }
    })();
    if tmp.exists() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

fn sync_filesystem(dir: &Path) -> Result<(), StorageError> {
    let f = fs::File::open(dir).map_err(StorageError::io(format!("open {}", dir.display())))?;
    rustix::fs::syncfs(&f)
        .map_err(|e| StorageError::io(format!("syncfs {}", dir.display()))(e.into()))
}

/// What a repository's [`LAYOUT_FILE`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// Its files are in this layout.
    Layout(StorageLayout),
    /// A migration to fanout started from this commit and has not finished
    /// (it was interrupted, or it is running: it holds the lock then).
    Migrating(String),
}

const MIGRATING: &str = "migrating-to-fanout-from";

/// What the repository in `git_dir` records ([`LAYOUT_FILE`]), `None` when
/// it records nothing (written before layouts existed, or never stored
/// to).
pub(crate) fn recorded_layout(git_dir: &Path) -> Result<Option<Recorded>, StorageError> {
    let path = git_dir.join(LAYOUT_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StorageError::io(format!("read {}", path.display()))(e)),
    };
    let text = text.trim();
    if let Some(commit) = text.strip_prefix(MIGRATING) {
        return Ok(Some(Recorded::Migrating(commit.trim().to_owned())));
    }
    text.parse()
        .map(|l| Some(Recorded::Layout(l)))
        .map_err(|e: devicevault_core::UnknownLayout| StorageError::Unsafe {
            path,
            reason: e.to_string(),
        })
}

/// Records `what` in `git_dir` (a temporary file renamed into place, so a
/// reader sees the old word or the new one). Called under [`LOCK_FILE`].
pub(crate) fn record_layout(
    git_dir: &Path,
    what: &Recorded,
    fsync: bool,
) -> Result<(), StorageError> {
    let path = git_dir.join(LAYOUT_FILE);
    let tmp = git_dir.join(format!("{LAYOUT_FILE}.tmp"));
    let text = match what {
        Recorded::Layout(l) => format!("{l}\n"),
        Recorded::Migrating(commit) => format!("{MIGRATING} {commit}\n"),
    };
    let write = || -> io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        io::Write::write_all(&mut f, text.as_bytes())?;
        if fsync {
            f.sync_all()?;
        }
        fs::rename(&tmp, &path)?;
        if fsync {
            fs::File::open(git_dir)?.sync_all()?;
        }
        Ok(())
    };
    write().map_err(StorageError::io(format!("write {}", path.display())))
}

/// The layout a store writes in, under [`LOCK_FILE`]: the one the
/// repository records; for a repository that records none, the configured
/// one when nothing is stored yet, else flat (its files were written before
/// layouts existed, so they are flat whatever the config now says: a
/// location changes layout only through `migrate-layout`). A repository
/// without a record gets one. During an interrupted migration nothing is
/// stored (a transient error) until it is run again: the branch holds
/// either layout then, and a store in the wrong one would mix them.
fn settle_layout(
    git_dir: &Path,
    has_commits: bool,
    configured: StorageLayout,
    fsync: bool,
) -> Result<StorageLayout, StorageError> {
    match recorded_layout(git_dir)? {
        Some(Recorded::Layout(layout)) => Ok(layout),
        Some(Recorded::Migrating(_)) => Err(StorageError::LayoutMigrationUnfinished {
            repository: git_dir.to_owned(),
        }),
        None => {
            let layout = if has_commits {
                StorageLayout::Flat
            } else {
                configured
            };
            record_layout(git_dir, &Recorded::Layout(layout), fsync)?;
            Ok(layout)
        }
    }
}
