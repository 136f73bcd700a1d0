//! [`StorageRef`]: the opaque handle a storage backend returns for a stored
//! backup, and later reads back from.

use std::fmt;

use crate::{
    BranchName, BranchNameError, CommitId, CommitIdError, RelPath, RelPathError, StorageBackendKind,
};

/// Why a string is not a valid `storage_ref` for its backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageRefError {
    #[error("malformed storage_ref {storage_ref:?}: {reason}")]
    Malformed {
        storage_ref: String,
        reason: &'static str,
    },
    #[error("storage_ref has an unsafe path: {0}")]
    Path(#[from] RelPathError),
    #[error("storage_ref has an invalid branch: {0}")]
    Branch(#[from] BranchNameError),
    #[error("storage_ref has an invalid commit: {0}")]
    Commit(#[from] CommitIdError),
}

/// Where a stored backup lives.
///
/// The text forms are part of the wire contract:
/// - git: `<branch>:<rel_path>@<commit sha>`, e.g. `main:123/r1.cfg@4b825dc6…`;
/// - fs: `<rel_path>`.
///
/// Git branch names cannot contain `:`, so the first `:` ends the branch;
/// the last `@` starts the commit, so a path may itself contain `@` or `:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StorageRef {
    Git {
        branch: BranchName,
        path: RelPath,
        commit: CommitId,
    },
    Fs {
        path: RelPath,
    },
}

impl StorageRef {
    /// Parses the text form of a ref produced by `backend`.
    pub fn parse(backend: StorageBackendKind, s: &str) -> Result<Self, StorageRefError> {
        let malformed = |reason| StorageRefError::Malformed {
            storage_ref: s.to_owned(),
            reason,
        };
        if s.starts_with('-') {
            return Err(malformed("it starts with '-'"));
        }
        match backend {
            StorageBackendKind::Fs => Ok(Self::Fs {
                path: RelPath::parse(s)?,
            }),
            StorageBackendKind::Git => {
                let (branch, rest) = s
                    .split_once(':')
                    .ok_or_else(|| malformed("expected <branch>:<path>@<commit>"))?;
                let (path, commit) = rest
                    .rsplit_once('@')
                    .ok_or_else(|| malformed("expected <branch>:<path>@<commit>"))?;
                Ok(Self::Git {
                    branch: BranchName::parse(branch)?,
                    path: RelPath::parse(path)?,
                    commit: CommitId::parse(commit)?,
                })
            }
        }
    }

    /// The backend this ref belongs to.
    pub fn backend(&self) -> StorageBackendKind {
        match self {
            Self::Git { .. } => StorageBackendKind::Git,
            Self::Fs { .. } => StorageBackendKind::Fs,
        }
    }

    /// The path of the stored file inside its store.
    pub fn path(&self) -> &RelPath {
        match self {
            Self::Git { path, .. } | Self::Fs { path } => path,
        }
    }
}

impl fmt::Display for StorageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Git {
                branch,
                path,
                commit,
            } => write!(f, "{branch}:{path}@{commit}"),
            Self::Fs { path } => write!(f, "{path}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_example_git_ref() {
        let s = "main:123/backup_now-123-2026-01-12T12-34-56Z.txt@abc123";
        let r = StorageRef::parse(StorageBackendKind::Git, s).unwrap();
        match &r {
            StorageRef::Git {
                branch,
                path,
                commit,
            } => {
                assert_eq!(branch.as_str(), "main");
                assert_eq!(path.as_str(), "123/backup_now-123-2026-01-12T12-34-56Z.txt");
                assert_eq!(commit.as_str(), "abc123");
            }
            StorageRef::Fs { .. } => panic!("parsed as fs"),
        }
        assert_eq!(r.to_string(), s);
    }

    #[test]
    fn a_path_may_contain_at_and_colon() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let s = format!("main:1/a@b:c.cfg@{sha}");
        let r = StorageRef::parse(StorageBackendKind::Git, &s).unwrap();
        assert_eq!(r.path().as_str(), "1/a@b:c.cfg");
        assert_eq!(r.to_string(), s);
    }
}
