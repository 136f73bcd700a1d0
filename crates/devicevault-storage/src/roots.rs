//! [`StorageRoots`]: the directories a storage worker may store under.
//!
//! A location's path arrives in every task (`repo_path`, `base_path`), so in
//! distributed mode whoever can publish a task chooses where a worker
//! writes. With roots configured, a location must resolve inside one of
//! them. "Resolve" is what the kernel would do: the longest existing prefix
//! of the path is canonicalised (symlinks followed, `..` applied), and the
//! missing rest, which cannot hold a symlink yet, is applied lexically. So
//! neither `..` nor a symlink inside a root can lead out of it.

use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use devicevault_core::StorageBackendKind;
use serde_json::{Map, Value};

use crate::StorageError;

/// The directories locations must be under: `:`-separated absolute paths,
/// like `PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRoots(Vec<PathBuf>);

/// Why a list of storage roots is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageRootsError {
    #[error("the list of storage roots names no directory")]
    Empty,
    #[error("storage root {0:?} is not an absolute path")]
    Relative(String),
}

impl StorageRoots {
    /// Parses `/srv/a:/srv/b`. Empty entries are skipped; every other one
    /// must be absolute.
    pub fn parse(s: &str) -> Result<Self, StorageRootsError> {
        let roots: Vec<PathBuf> = s
            .split(':')
            .filter(|r| !r.is_empty())
            .map(|r| {
                let p = PathBuf::from(r);
                if p.is_absolute() {
                    Ok(p)
                } else {
                    Err(StorageRootsError::Relative(r.to_owned()))
                }
            })
            .collect::<Result<_, _>>()?;
        if roots.is_empty() {
            return Err(StorageRootsError::Empty);
        }
        Ok(Self(roots))
    }

    /// The roots, as configured.
    pub fn roots(&self) -> &[PathBuf] {
        &self.0
    }

    /// Succeeds when `path` resolves inside a root; otherwise an
    /// [`StorageError::OutsideRoots`] naming the path and the roots. A root
    /// is resolved the same way, so a root behind a symlink works.
    pub fn check(&self, path: &Path) -> Result<(), StorageError> {
        let resolved = resolve(path)?;
        for root in &self.0 {
            if resolved.starts_with(resolve(root)?) {
                return Ok(());
            }
        }
        Err(StorageError::OutsideRoots {
            path: path.to_owned(),
            resolved,
            roots: self.to_string(),
        })
    }

    /// [`StorageRoots::check`] of a location's path (`repo_path` or
    /// `base_path`).
    pub fn check_location(
        &self,
        kind: StorageBackendKind,
        config: &Map<String, Value>,
    ) -> Result<(), StorageError> {
        self.check(&crate::location_path(kind, config)?)
    }
}

impl fmt::Display for StorageRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, root) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{}", root.display())?;
        }
        Ok(())
    }
}

impl FromStr for StorageRoots {
    type Err = StorageRootsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Where `path` leads: its longest existing prefix canonicalised, the rest
/// (which does not exist, so holds no symlink) applied lexically.
fn resolve(path: &Path) -> Result<PathBuf, StorageError> {
    let absolute = std::path::absolute(path)
        .map_err(StorageError::io(format!("resolve {}", path.display())))?;
    let components: Vec<Component<'_>> = absolute.components().collect();
    for existing in (1..=components.len()).rev() {
        let prefix: PathBuf = components[..existing].iter().collect();
        match std::fs::canonicalize(&prefix) {
            Ok(mut real) => {
                for c in &components[existing..] {
                    match c {
                        Component::ParentDir => {
                            real.pop();
                        }
                        Component::Normal(name) => real.push(name),
                        Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
                    }
                }
                return Ok(real);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                // A symlink that leads nowhere could be made to lead
                // anywhere later: it is not resolved as if absent.
                if std::fs::symlink_metadata(&prefix).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(StorageError::Unsafe {
                        path: prefix,
                        reason: "a symlink that leads nowhere cannot be checked against the storage roots".into(),
                    });
                }
            }
            Err(e) => {
                return Err(StorageError::io(format!("resolve {}", prefix.display()))(e));
            }
        }
    }
    // The root directory always exists; only a path without one gets here.
    Ok(absolute)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_takes_absolute_paths_like_path_does() {
        let r = StorageRoots::parse("/srv/a::/srv/b:").unwrap();
        assert_eq!(
            r.roots(),
            [PathBuf::from("/srv/a"), PathBuf::from("/srv/b")]
        );
        assert_eq!(r.to_string(), "/srv/a:/srv/b");
        assert_eq!(StorageRoots::parse(""), Err(StorageRootsError::Empty));
        assert_eq!(StorageRoots::parse(":"), Err(StorageRootsError::Empty));
        assert_eq!(
            StorageRoots::parse("/srv/a:backups"),
            Err(StorageRootsError::Relative("backups".into()))
        );
    }

    #[test]
    fn a_missing_rest_is_applied_lexically() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap();
        assert_eq!(
            resolve(&dir.path().join("a/b/../c/./d")).unwrap(),
            real.join("a/c/d")
        );
        assert_eq!(
            resolve(&dir.path().join("a/../../x")).unwrap(),
            real.parent().unwrap().join("x")
        );
    }
}
