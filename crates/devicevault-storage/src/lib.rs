//! DeviceVault's storage backends.
//!
//! Each backend persists one backup under a [`RelPath`] and hands back an
//! opaque [`StorageRef`] that reads exactly those bytes back later, as the
//! seed's interface `store_backup(content, rel_path, config) -> storage_ref`
//! and `read_backup(storage_ref, config) -> content` describes:
//!
//! - [`git`] writes blobs, trees and commits into a Git repository and moves
//!   the branch ref itself — no work tree, no index, no `git` process — so
//!   `git log -- <device file>` is that device's history;
//! - [`fs`] writes one file per backup under a base directory, atomically.
//!
//! This crate knows nothing of the database, the queues or the web layer: it
//! depends on `devicevault-core` only. Configuration arrives as the JSON
//! object stored on a backup location and is parsed strictly (unknown keys
//! are an error, so a typo never silently falls back to a default).
//!
//! Path safety is layered: a [`RelPath`] cannot hold `..`, an absolute path or
//! a `.git` component, so joining it to a store root is lexically safe; the
//! backends then refuse to follow a symlink found inside the store. All
//! validation happens before the first filesystem call. Where the store
//! itself may be is the caller's policy: [`StorageRoots`] checks that a
//! location resolves under configured directories.

mod error;
pub mod fs;
pub mod git;
mod lock;
mod pack;
mod roots;

use std::path::PathBuf;

use devicevault_core::{RelPath, StorageBackendKind, StorageRef};
use serde_json::{Map, Value};

pub use error::StorageError;
pub use roots::{StorageRoots, StorageRootsError};

/// The outcome of a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Where the content now lives; reads it back.
    pub storage_ref: StorageRef,
    /// False when the store already held exactly this content at this path
    /// (git: the branch tip; fs: the file), so nothing was written — or,
    /// in git, at the previous path the store moved it from (the commit
    /// that moves an unchanged file is not a change of the device).
    pub changed: bool,
    /// Lowercase hex SHA-256 of the content.
    pub sha256: String,
    /// Size of the content in bytes.
    pub size: u64,
    /// The previous path this store removed in the same commit (a renamed
    /// device's file moved), if any.
    pub moved_from: Option<RelPath>,
}

/// One backup of a [`Backend::store_many`] batch.
#[derive(Debug, Clone, Copy)]
pub struct StoreItem<'a> {
    pub content: &'a [u8],
    pub rel_path: &'a RelPath,
    /// Git commit message for this item; the configured one when `None`.
    /// Ignored by backends without messages.
    pub message: Option<&'a str>,
    /// Where the previous version of this file lives when its path changed
    /// (a renamed device): the Git backend removes it in the commit that
    /// writes `rel_path`, so `git log --follow` keeps the history, and
    /// `changed` compares with the version there. It must be in the same
    /// directory as `rel_path` once both are placed in the repository's
    /// layout (a flat `<id>/…` and a fanout `<shard>/<id>/…` path of one
    /// device are); a path with no file is no error (a plain store). Ignored by backends that keep one file per backup (fs).
    pub previous_rel_path: Option<&'a RelPath>,
}

/// A configured storage backend.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// Which backend this is.
    fn kind(&self) -> StorageBackendKind;

    /// Persists `content` at `rel_path` — the Git backend at its place in
    /// the repository's layout ([`devicevault_core::StorageLayout::place`])
    /// — and returns where it lives.
    fn store(&self, content: &[u8], rel_path: &RelPath) -> Result<Stored, StorageError>;

    /// Stores several backups, each exactly as [`Backend::store`] would, with
    /// a result per item. The outer error means the whole batch failed (the
    /// store could not be opened or made durable) and every item must be
    /// retried; retrying an item that was in fact written is harmless.
    fn store_many(
        &self,
        items: &[StoreItem<'_>],
    ) -> Result<Vec<Result<Stored, StorageError>>, StorageError> {
        Ok(items
            .iter()
            .map(|item| self.store(item.content, item.rel_path))
            .collect())
    }

    /// Reads back the exact bytes a previous store returned `storage_ref` for.
    fn read(&self, storage_ref: &StorageRef) -> Result<Vec<u8>, StorageError>;

    /// Housekeeping that keeps the store compact (the Git backend packs
    /// loose objects once enough have accumulated). Cheap when there is
    /// nothing to do, safe beside stores and reads in any process, and never
    /// needed for correctness: a failure only means the store stays larger.
    fn maintain(&self) -> Result<Maintenance, StorageError> {
        Ok(Maintenance::NotNeeded)
    }

    /// How many objects the store holds, loose and packed, for the
    /// metrics; `None` for a store without objects (fs) or not created
    /// yet.
    fn object_counts(&self) -> Result<Option<ObjectCounts>, StorageError> {
        Ok(None)
    }

    /// Removes the version `storage_ref` names, for retention; `false`
    /// when nothing was removed (already gone, or a backend that keeps its
    /// history whole: Git, whose pruned versions leave only the index).
    fn remove(&self, storage_ref: &StorageRef) -> Result<bool, StorageError> {
        let _ = storage_ref;
        Ok(false)
    }

    /// Parses the text form of a ref and removes it ([`Backend::remove`]).
    fn remove_str(&self, storage_ref: &str) -> Result<bool, StorageError> {
        let r = StorageRef::parse(self.kind(), storage_ref)?;
        self.remove(&r)
    }

    /// Parses the text form of a ref and reads it.
    fn read_str(&self, storage_ref: &str) -> Result<Vec<u8>, StorageError> {
        let r = StorageRef::parse(self.kind(), storage_ref)?;
        self.read(&r)
    }
}

/// A Git repository's objects ([`Backend::object_counts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCounts {
    /// The repository's path, as configured.
    pub repository: String,
    /// Loose objects (files under `objects/??/`).
    pub loose: u64,
    /// Pack files (`objects/pack/*.pack`).
    pub packs: u64,
}

/// What [`Backend::maintain`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Maintenance {
    /// Nothing to do.
    NotNeeded,
    /// Another process is maintaining the same store.
    Busy,
    /// The store was packed: about `loose_before` loose objects (an
    /// estimate from a sample of the object directories, as git makes it),
    /// and `packs_before` packs rolled or merged into fewer, in `took`.
    Packed {
        loose_before: u64,
        loose_after: u64,
        packs_before: u64,
        packs_after: u64,
        took: std::time::Duration,
    },
}

/// Builds the backend of `kind` from a location's JSON `config`. The one
/// place where the concrete backend is chosen.
pub fn open_backend(
    kind: StorageBackendKind,
    config: &Map<String, Value>,
) -> Result<Box<dyn Backend>, StorageError> {
    Ok(match kind {
        StorageBackendKind::Git => {
            Box::new(git::GitBackend::new(git::GitConfig::from_json(config)?))
        }
        StorageBackendKind::Fs => Box::new(fs::FsBackend::new(fs::FsConfig::from_json(config)?)),
    })
}

/// The directory a location's `config` names: the git `repo_path` or the fs
/// `base_path`, the config checked as [`open_backend`] checks it.
pub fn location_path(
    kind: StorageBackendKind,
    config: &Map<String, Value>,
) -> Result<PathBuf, StorageError> {
    Ok(match kind {
        StorageBackendKind::Git => git::GitConfig::from_json(config)?.repo_path,
        StorageBackendKind::Fs => fs::FsConfig::from_json(config)?.base_path,
    })
}

/// The seed's `store_backup(content, rel_path, config) -> storage_ref`, for
/// either backend.
pub fn store_backup(
    kind: StorageBackendKind,
    content: &[u8],
    rel_path: &str,
    config: &Map<String, Value>,
) -> Result<Stored, StorageError> {
    let rel_path = RelPath::parse(rel_path)?;
    open_backend(kind, config)?.store(content, &rel_path)
}

/// The seed's `read_backup(storage_ref, config) -> content`, for either
/// backend.
pub fn read_backup(
    kind: StorageBackendKind,
    storage_ref: &str,
    config: &Map<String, Value>,
) -> Result<Vec<u8>, StorageError> {
    let r = StorageRef::parse(kind, storage_ref)?;
    open_backend(kind, config)?.read(&r)
}

fn sha256_hex(content: &[u8]) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(content);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        s.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    s
}

/// Parses a location config object into a backend's typed config, refusing
/// unknown keys.
fn parse_config<T: serde::de::DeserializeOwned>(
    backend: StorageBackendKind,
    config: &Map<String, Value>,
) -> Result<T, StorageError> {
    serde_json::from_value(Value::Object(config.clone())).map_err(|e| StorageError::InvalidConfig {
        backend,
        reason: e.to_string(),
    })
}
