//! Retention's removal (issue 17): an fs version's file goes, once, never
//! through a symlink; a Git version stays (history is kept whole).

use devicevault_core::{RelPath, StorageBackendKind};
use devicevault_storage::{Backend, StorageError, open_backend};
use serde_json::json;

fn backend(kind: StorageBackendKind, dir: &std::path::Path) -> Box<dyn Backend> {
    let config = match kind {
        StorageBackendKind::Fs => json!({"base_path": dir.join("fs"), "fsync": false}),
        StorageBackendKind::Git => json!({"repo_path": dir.join("repo.git")}),
    };
    open_backend(kind, config.as_object().unwrap()).unwrap()
}

#[test]
fn an_fs_version_is_removed_once_and_its_neighbours_stay() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(StorageBackendKind::Fs, dir.path());
    let old = b
        .store(b"v1\n", &RelPath::parse("4/a.txt").unwrap())
        .unwrap();
    let new = b
        .store(b"v2\n", &RelPath::parse("4/b.txt").unwrap())
        .unwrap();
    assert!(b.remove(&old.storage_ref).unwrap());
    assert!(!b.remove(&old.storage_ref).unwrap(), "gone already");
    assert!(matches!(
        b.read(&old.storage_ref),
        Err(StorageError::NotFound { .. })
    ));
    assert_eq!(b.read(&new.storage_ref).unwrap(), b"v2\n");
    // A ref in a directory that never existed is simply not there.
    assert!(!b.remove_str("9/none.txt").unwrap());
}

#[cfg(unix)]
#[test]
fn an_fs_removal_never_follows_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(StorageBackendKind::Fs, dir.path());
    b.store(b"v1\n", &RelPath::parse("4/a.txt").unwrap())
        .unwrap();
    let outside = dir.path().join("outside.txt");
    std::fs::write(&outside, b"keep me").unwrap();
    std::os::unix::fs::symlink(&outside, dir.path().join("fs/4/link.txt")).unwrap();
    assert!(matches!(
        b.remove_str("4/link.txt"),
        Err(StorageError::Unsafe { .. })
    ));
    assert_eq!(std::fs::read(&outside).unwrap(), b"keep me");
    std::os::unix::fs::symlink(dir.path(), dir.path().join("fs/5")).unwrap();
    assert!(b.remove_str("5/outside.txt").is_err());
    assert!(outside.exists());
}

#[test]
fn a_git_version_is_never_removed() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(StorageBackendKind::Git, dir.path());
    let rel = RelPath::parse("4/running.txt").unwrap();
    let old = b.store(b"v1\n", &rel).unwrap();
    b.store(b"v2\n", &rel).unwrap();
    assert!(!b.remove(&old.storage_ref).unwrap());
    assert_eq!(b.read(&old.storage_ref).unwrap(), b"v1\n");
}
