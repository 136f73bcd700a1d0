//! Every input that could escape or confuse a store is refused with a typed
//! error, by both backends, before anything touches the disk.

mod common;

use common::object;
use devicevault_core::{Retry, RetryClass, StorageBackendKind};
use devicevault_storage::{StorageError, read_backup, store_backup};
use serde_json::json;

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// Relative paths no backend may write to or read from.
fn hostile_rel_paths() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "/",
        "/etc/passwd",
        "//server/share/x",
        "..",
        "../x",
        "../../../../etc/shadow",
        "a/../../x",
        "a/..",
        "a/../b",
        "a..b/c",
        "...",
        ".",
        "./a",
        "a/./b",
        "a//b",
        "a/",
        "a\\b",
        "..\\..\\x",
        "a\0b",
        "a\nb",
        "a\rb",
        "a\tb",
        "\x1b[31mred",
        "a\x7fb",
        "a\u{85}b",
        ".git",
        ".git/config",
        "a/.git/hooks/pre-commit",
        ".GIT/config",
        ".Git/HEAD",
        ".git./x",
        ".git /x",
        "git~1/config",
        "C:/Windows/x",
        "c:\\x",
        ".devicevault-tmp-1-1",
        "a/.devicevault-init-3-0/HEAD",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("a/".repeat(600)); // over-long path
    v.push(format!("{}/x", "s".repeat(256))); // over-long segment
    v
}

/// `storage_ref`s no backend may follow.
fn hostile_refs(kind: StorageBackendKind) -> Vec<String> {
    let mut v: Vec<String> = match kind {
        StorageBackendKind::Git => vec![
            format!("-main:1/a.cfg@{SHA}"),
            format!("--upload-pack=touch /tmp/pwned:a@{SHA}"),
            format!("main:../x@{SHA}"),
            format!("main:/etc/passwd@{SHA}"),
            format!("main:1/.git/config@{SHA}"),
            format!("main:a\0b@{SHA}"),
            format!("ma..in:1/a.cfg@{SHA}"),
            format!("ma in:1/a.cfg@{SHA}"),
            format!("main.lock:1/a.cfg@{SHA}"),
            format!("refs/heads/main:1/a.cfg@{SHA}"),
            format!("HEAD:1/a.cfg@{SHA}"),
            format!("main@{{1}}:1/a.cfg@{SHA}"),
            format!(":1/a.cfg@{SHA}"),
            "main:1/a.cfg".into(),
            "main:1/a.cfg@".into(),
            "main:1/a.cfg@xyz".into(),
            "main:1/a.cfg@abc".into(),
            format!("main:1/a.cfg@{}", SHA.to_uppercase()),
            format!("main:1/a.cfg@{SHA}0000000000000000000000000"),
            format!("1/a.cfg@{SHA}"),
            String::new(),
        ],
        StorageBackendKind::Fs => vec![
            "-rf".into(),
            "../x".into(),
            "/etc/passwd".into(),
            ".git/config".into(),
            "a//b".into(),
            "a\\b".into(),
            String::new(),
        ],
    };
    v.extend(hostile_rel_paths().into_iter().map(|p| match kind {
        StorageBackendKind::Git => format!("main:{p}@{SHA}"),
        StorageBackendKind::Fs => p,
    }));
    v
}

fn config_for(
    kind: StorageBackendKind,
    root: &std::path::Path,
) -> serde_json::Map<String, serde_json::Value> {
    match kind {
        StorageBackendKind::Git => object(json!({ "repo_path": root })),
        StorageBackendKind::Fs => object(json!({ "base_path": root })),
    }
}

#[test]
fn hostile_rel_paths_are_refused_without_touching_the_disk() {
    let paths = hostile_rel_paths();
    assert!(paths.len() >= 30);
    for kind in StorageBackendKind::ALL {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let config = config_for(kind, &root);
        for p in &paths {
            let err = store_backup(kind, b"x", p, &config).unwrap_err();
            assert!(
                matches!(err, StorageError::InvalidPath(_)),
                "{kind} {p:?}: {err:?}"
            );
            assert_eq!(err.retry(), Retry::Permanent);
            assert!(!err.to_string().is_empty());
            assert!(!root.exists(), "{kind} {p:?} touched the disk");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

#[test]
fn hostile_refs_are_refused_without_touching_the_disk() {
    for kind in StorageBackendKind::ALL {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let config = config_for(kind, &root);
        let refs = hostile_refs(kind);
        assert!(refs.len() >= 30);
        for r in &refs {
            let err = read_backup(kind, r, &config).unwrap_err();
            assert!(
                matches!(err, StorageError::InvalidRef(_)),
                "{kind} {r:?}: {err:?}"
            );
            assert_eq!(err.retry(), Retry::Permanent);
            assert!(!root.exists(), "{kind} {r:?} touched the disk");
        }
    }
}

#[test]
fn hostile_branches_are_refused_without_touching_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    for branch in [
        "",
        "-main",
        "--orphan",
        "a..b",
        "a b",
        "a:b",
        "a~1",
        "a^",
        "a?",
        "a*",
        "a[b",
        "a\\b",
        "/a",
        "a/",
        "a.",
        "a.lock",
        ".hidden",
        "a/.b",
        "a//b",
        "@",
        "HEAD",
        "a@{1}",
        "refs/heads/x",
        "a\nb",
        "a\0b",
    ] {
        let config = object(json!({ "repo_path": root, "branch": branch }));
        let err = store_backup(StorageBackendKind::Git, b"x", "1/a.cfg", &config).unwrap_err();
        assert!(
            matches!(err, StorageError::InvalidConfig { .. }),
            "{branch:?}: {err:?}"
        );
        assert!(!root.exists(), "{branch:?} touched the disk");
    }
}

#[test]
fn unknown_config_keys_are_refused_by_both_backends() {
    for kind in StorageBackendKind::ALL {
        let config = object(json!({ "repo_path": "/tmp/x", "base_path": "/tmp/x", "extra": 1 }));
        let err = store_backup(kind, b"x", "1/a.cfg", &config).unwrap_err();
        assert!(
            matches!(err, StorageError::InvalidConfig { .. }),
            "{kind}: {err:?}"
        );
    }
}

#[test]
fn the_fs_backend_accepts_path_as_the_original_did() {
    let dir = tempfile::tempdir().unwrap();
    let config = object(json!({ "path": dir.path() }));
    let stored = store_backup(StorageBackendKind::Fs, b"x\n", "1/a.txt", &config).unwrap();
    assert_eq!(stored.storage_ref.to_string(), "1/a.txt");
    assert_eq!(std::fs::read(dir.path().join("1/a.txt")).unwrap(), b"x\n");
}

#[test]
fn the_fs_backend_never_replaces_a_stored_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = object(json!({ "base_path": dir.path() }));
    store_backup(StorageBackendKind::Fs, b"first\n", "1/a.txt", &config).unwrap();
    let same = store_backup(StorageBackendKind::Fs, b"first\n", "1/a.txt", &config).unwrap();
    assert!(!same.changed);
    let err = store_backup(StorageBackendKind::Fs, b"second\n", "1/a.txt", &config).unwrap_err();
    assert!(matches!(err, StorageError::Conflict { .. }), "{err:?}");
    assert_eq!(err.retry(), Retry::Permanent);
    assert_eq!(
        std::fs::read(dir.path().join("1/a.txt")).unwrap(),
        b"first\n"
    );
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("1"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["a.txt"]);
}
