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

// ---- storage roots ----

#[test]
fn a_location_outside_the_storage_roots_is_refused_however_it_is_spelled() {
    use devicevault_storage::StorageRoots;
    use std::os::unix::fs::symlink;

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("roots/backups");
    let outside = dir.path().join("elsewhere");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    // A symlink inside the root that leads out of it, and one to nowhere.
    symlink(&outside, root.join("escape")).unwrap();
    symlink(dir.path().join("nothing"), root.join("dangling")).unwrap();
    // A second root reached through a symlink.
    let real_second = dir.path().join("real-second");
    std::fs::create_dir_all(&real_second).unwrap();
    let second = dir.path().join("second");
    symlink(&real_second, &second).unwrap();
    let roots = StorageRoots::parse(&format!("{}:{}", root.display(), second.display())).unwrap();

    for ok in [
        root.clone(),
        root.join("site-a/repo.git"),
        root.join("new/../still-inside"),
        second.join("repo.git"),
        real_second.join("repo.git"),
    ] {
        roots
            .check(&ok)
            .unwrap_or_else(|e| panic!("{} refused: {e}", ok.display()));
    }
    for bad in [
        outside.join("repo.git"),
        root.join("../backups-evil/repo.git"),
        root.join("new/../../x"),
        dir.path().join("roots/backups2"),
        root.join("escape/repo.git"),
        root.join("escape"),
        std::path::PathBuf::from("/"),
        std::path::PathBuf::from("relative/repo.git"),
    ] {
        let err = roots.check(&bad).unwrap_err();
        assert!(
            matches!(err, StorageError::OutsideRoots { .. }) && err.retry() == Retry::Permanent,
            "{}: {err:?}",
            bad.display()
        );
        let message = err.to_string();
        assert!(
            message.contains(&bad.display().to_string()) && message.contains(&roots.to_string()),
            "the error names the path and the roots: {message}"
        );
    }
    let err = roots.check(&root.join("dangling/repo.git")).unwrap_err();
    assert_eq!(err.retry(), Retry::Permanent, "{err:?}");
    // Through a location's config, for either backend.
    for (kind, config) in [
        (
            StorageBackendKind::Git,
            json!({"repo_path": outside.join("r.git")}),
        ),
        (
            StorageBackendKind::Fs,
            json!({"base_path": outside.join("fs")}),
        ),
    ] {
        assert!(matches!(
            roots.check_location(kind, &object(config)),
            Err(StorageError::OutsideRoots { .. })
        ));
    }
    assert!(
        roots
            .check_location(
                StorageBackendKind::Fs,
                &object(json!({"path": root.join("fs")}))
            )
            .is_ok()
    );
    assert!(!outside.join("repo.git").exists(), "checking wrote nothing");
}
