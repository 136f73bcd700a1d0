use std::io;
use std::path::PathBuf;

use devicevault_core::{
    BranchNameError, RelPathError, Retry, RetryClass, StorageBackendKind, StorageRefError,
};

/// Everything that can go wrong storing or reading a backup.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("invalid {backend} storage config: {reason}")]
    InvalidConfig {
        backend: StorageBackendKind,
        reason: String,
    },
    #[error(transparent)]
    InvalidPath(#[from] RelPathError),
    #[error(transparent)]
    InvalidRef(#[from] StorageRefError),
    #[error(transparent)]
    InvalidBranch(#[from] BranchNameError),
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("cannot store {rel_path}: {reason}")]
    Conflict { rel_path: String, reason: String },
    #[error("refusing unsafe store at {}: {reason}", path.display())]
    Unsafe { path: PathBuf, reason: String },
    #[error(
        "refusing {}: it is outside the storage roots {roots} (it resolves to {})",
        path.display(),
        resolved.display()
    )]
    OutsideRoots {
        path: PathBuf,
        resolved: PathBuf,
        roots: String,
    },
    #[error("timed out after {waited_ms} ms waiting for the lock on {}", path.display())]
    LockTimeout { path: PathBuf, waited_ms: u64 },
    #[error("branch {branch} kept moving under us: gave up after {attempts} attempts")]
    RefContention { branch: String, attempts: u32 },
    #[error(
        "the layout migration of {} did not finish: run `devicevault storage migrate-layout` again; stores wait until it has",
        repository.display()
    )]
    LayoutMigrationUnfinished { repository: PathBuf },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("git {context}: {message}")]
    Git { context: String, message: String },
}

impl StorageError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    /// A gix error, with its causes: gix's own message says what it was
    /// doing ("Could not write loose object header"), the innermost cause
    /// why ("No space left on device").
    pub(crate) fn git<E: std::error::Error>(context: impl Into<String>) -> impl FnOnce(E) -> Self {
        let context = context.into();
        move |e| Self::Git {
            context,
            message: with_causes(&e),
        }
    }
}

/// `error: cause: cause…`, each cause once (some errors repeat their
/// source's text in their own).
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

impl RetryClass for StorageError {
    fn retry(&self) -> Retry {
        match self {
            Self::LockTimeout { .. }
            | Self::RefContention { .. }
            | Self::Git { .. }
            | Self::LayoutMigrationUnfinished { .. } => Retry::Transient,
            Self::Io { source, .. } => match source.kind() {
                io::ErrorKind::PermissionDenied
                | io::ErrorKind::ReadOnlyFilesystem
                | io::ErrorKind::NotFound
                | io::ErrorKind::InvalidInput
                | io::ErrorKind::InvalidData
                | io::ErrorKind::IsADirectory
                | io::ErrorKind::NotADirectory => Retry::Permanent,
                _ => Retry::Transient,
            },
            Self::InvalidConfig { .. }
            | Self::InvalidPath(_)
            | Self::InvalidRef(_)
            | Self::InvalidBranch(_)
            | Self::NotFound { .. }
            | Self::Conflict { .. }
            | Self::Unsafe { .. }
            | Self::OutsideRoots { .. } => Retry::Permanent,
        }
    }
}
