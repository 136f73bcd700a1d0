//! The filesystem backend: one file per backup under `base_path`.
//!
//! A store writes a temporary file next to the target, fsyncs it, then
//! hard-links it into place — which, unlike `rename`, fails when the target
//! exists — and fsyncs the directory. So a file is either absent or complete,
//! and a `rel_path` once written is never silently replaced: storing it again
//! with the same bytes is a no-op, with different bytes a [`Conflict`].
//!
//! The base directory itself may be a symlink (an operator's mount choice),
//! but nothing inside it is followed: a symlink found on the way to a file is
//! refused as [`Unsafe`].
//!
//! [`Conflict`]: StorageError::Conflict
//! [`Unsafe`]: StorageError::Unsafe

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use devicevault_core::{RelPath, StorageBackendKind, StorageRef};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{Backend, StorageError, Stored, sha256_hex};

/// Configuration of a filesystem location.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FsConfig {
    /// Directory that holds the backups (`path` is accepted too, as the
    /// original implementation named it).
    #[serde(alias = "path")]
    pub base_path: PathBuf,
    /// Flush each file and its directory to disk before reporting success.
    #[serde(default = "yes")]
    pub fsync: bool,
}

fn yes() -> bool {
    true
}

impl FsConfig {
    /// Parses a location's JSON config.
    pub fn from_json(config: &Map<String, Value>) -> Result<Self, StorageError> {
        let cfg: Self = crate::parse_config(StorageBackendKind::Fs, config)?;
        if cfg.base_path.as_os_str().is_empty() {
            return Err(StorageError::InvalidConfig {
                backend: StorageBackendKind::Fs,
                reason: "base_path is empty".into(),
            });
        }
        Ok(cfg)
    }
}

/// The seed's `storage.fs.store_backup`.
pub fn store_backup(
    content: &[u8],
    rel_path: &str,
    config: &Map<String, Value>,
) -> Result<Stored, StorageError> {
    let rel_path = RelPath::parse(rel_path)?;
    FsBackend::new(FsConfig::from_json(config)?).store(content, &rel_path)
}

/// The seed's `storage.fs.read_backup`.
pub fn read_backup(
    storage_ref: &str,
    config: &Map<String, Value>,
) -> Result<Vec<u8>, StorageError> {
    let r = StorageRef::parse(StorageBackendKind::Fs, storage_ref)?;
    FsBackend::new(FsConfig::from_json(config)?).read(&r)
}

/// A filesystem location.
#[derive(Debug, Clone)]
pub struct FsBackend {
    config: FsConfig,
}

impl FsBackend {
    pub fn new(config: FsConfig) -> Self {
        Self { config }
    }

    /// Walks `rel_path`'s parent directories below the base, refusing
    /// symlinks and non-directories, creating what is missing when `create`.
    /// Returns the directory that holds the file.
    fn parent_dir(&self, rel_path: &RelPath, create: bool) -> Result<PathBuf, StorageError> {
        let base = &self.config.base_path;
        if create {
            fs::create_dir_all(base).map_err(StorageError::io(format!(
                "create base directory {}",
                base.display()
            )))?;
        }
        let mut dir = base.clone();
        let segments: Vec<&str> = rel_path.segments().collect();
        for segment in &segments[..segments.len() - 1] {
            let parent = dir.clone();
            dir.push(segment);
            match fs::symlink_metadata(&dir) {
                Ok(m) if m.file_type().is_symlink() => return Err(unsafe_symlink(&dir)),
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(StorageError::Conflict {
                        rel_path: rel_path.to_string(),
                        reason: format!("{} is a file, not a directory", dir.display()),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                    match fs::create_dir(&dir) {
                        Ok(()) => {
                            if self.config.fsync {
                                sync_dir(&parent)?;
                            }
                        }
                        // Another writer made it between our look and our mkdir.
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                            if fs::symlink_metadata(&dir)
                                .map(|m| m.file_type().is_symlink())
                                .unwrap_or(false)
                            {
                                return Err(unsafe_symlink(&dir));
                            }
                        }
                        Err(e) => {
                            return Err(StorageError::io(format!(
                                "create directory {}",
                                dir.display()
                            ))(e));
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(StorageError::NotFound {
                        what: format!("backup {rel_path} in {}", base.display()),
                    });
                }
                Err(e) => return Err(StorageError::io(format!("inspect {}", dir.display()))(e)),
            }
        }
        Ok(dir)
    }

    fn write_temp(&self, dir: &Path, content: &[u8]) -> Result<PathBuf, StorageError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".devicevault-tmp-{}-{n}", std::process::id()));
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(StorageError::io(format!("create {}", tmp.display())))?;
        let written = f.write_all(content).and_then(|()| {
            if self.config.fsync {
                f.sync_all()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(StorageError::io(format!("write {}", tmp.display()))(e));
        }
        Ok(tmp)
    }
}

impl Backend for FsBackend {
    fn kind(&self) -> StorageBackendKind {
        StorageBackendKind::Fs
    }

    fn store(&self, content: &[u8], rel_path: &RelPath) -> Result<Stored, StorageError> {
        let dir = self.parent_dir(rel_path, true)?;
        let target = dir.join(rel_path.file_name());
        let stored = |changed| Stored {
            storage_ref: StorageRef::Fs {
                path: rel_path.clone(),
            },
            changed,
            sha256: sha256_hex(content),
            size: content.len() as u64,
            moved_from: None,
        };
        // An existing file is compared first, so a replayed task never
        // writes a temporary file.
        if let Some(existing) = read_regular_file(&target)? {
            return same_or_conflict(&existing, content, rel_path).map(|()| stored(false));
        }
        let tmp = self.write_temp(&dir, content)?;
        let linked = fs::hard_link(&tmp, &target);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                if self.config.fsync {
                    sync_dir(&dir)?;
                }
                Ok(stored(true))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // Lost a race with a writer of the same path.
                let existing =
                    read_regular_file(&target)?.ok_or_else(|| StorageError::Conflict {
                        rel_path: rel_path.to_string(),
                        reason: format!("{} exists and is not a regular file", target.display()),
                    })?;
                same_or_conflict(&existing, content, rel_path).map(|()| stored(false))
            }
            Err(e) => Err(StorageError::io(format!("link {}", target.display()))(e)),
        }
    }

    fn read(&self, storage_ref: &StorageRef) -> Result<Vec<u8>, StorageError> {
        let StorageRef::Fs { path } = storage_ref else {
            return Err(StorageError::InvalidConfig {
                backend: StorageBackendKind::Fs,
                reason: format!(
                    "cannot read a {} ref with the fs backend",
                    storage_ref.backend()
                ),
            });
        };
        let dir = self.parent_dir(path, false)?;
        read_regular_file(&dir.join(path.file_name()))?.ok_or_else(|| StorageError::NotFound {
            what: format!("backup {path} in {}", self.config.base_path.display()),
        })
    }

    fn remove(&self, storage_ref: &StorageRef) -> Result<bool, StorageError> {
        let StorageRef::Fs { path } = storage_ref else {
            return Err(StorageError::InvalidConfig {
                backend: StorageBackendKind::Fs,
                reason: format!(
                    "cannot remove a {} ref with the fs backend",
                    storage_ref.backend()
                ),
            });
        };
        self.remove_file(path)
    }
}

impl FsBackend {
    /// Deletes a pruned version's file (never through a symlink); `false`
    /// when it is gone already. The device's directory stays.
    fn remove_file(&self, path: &RelPath) -> Result<bool, StorageError> {
        let dir = match self.parent_dir(path, false) {
            Ok(dir) => dir,
            Err(StorageError::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        let target = dir.join(path.file_name());
        match fs::symlink_metadata(&target) {
            Ok(m) if m.file_type().is_symlink() => return Err(unsafe_symlink(&target)),
            Ok(m) if !m.is_file() => {
                return Err(StorageError::Unsafe {
                    path: target,
                    reason: "not a regular file".into(),
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(StorageError::io(format!("inspect {}", target.display()))(e)),
        }
        match fs::remove_file(&target) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(StorageError::io(format!("remove {}", target.display()))(e)),
        }
        if self.config.fsync {
            sync_dir(&dir)?;
        }
        Ok(true)
    }
}

fn same_or_conflict(
    existing: &[u8],
    content: &[u8],
    rel_path: &RelPath,
) -> Result<(), StorageError> {
    if existing == content {
        Ok(())
    } else {
        Err(StorageError::Conflict {
            rel_path: rel_path.to_string(),
            reason: "a different backup is already stored at this path".into(),
        })
    }
}

/// Reads a regular file without following a symlink; `None` if absent.
fn read_regular_file(path: &Path) -> Result<Option<Vec<u8>>, StorageError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => return Err(unsafe_symlink(path)),
        Ok(m) if !m.is_file() => {
            return Err(StorageError::Unsafe {
                path: path.to_owned(),
                reason: "not a regular file".into(),
            });
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StorageError::io(format!("inspect {}", path.display()))(e)),
    }
    let mut buf = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(StorageError::io(format!("read {}", path.display())))?;
    Ok(Some(buf))
}

fn unsafe_symlink(path: &Path) -> StorageError {
    StorageError::Unsafe {
        path: path.to_owned(),
        reason: "symlinks inside the store are not followed".into(),
    }
}

fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StorageError::io(format!(
            "fsync directory {}",
            dir.display()
        )))
}
