//! The Git layouts (issue 21): where a store places a device's file, and
//! `migrate_to_fanout`, checked with the `git` CLI.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{fsck, git, object};
use devicevault_core::layout::{device_path, shard_of};
use devicevault_core::{RelPath, Retry, RetryClass, StorageLayout, StorageRef};
use devicevault_storage::git::{GitBackend, GitConfig};
use devicevault_storage::{Backend, StorageError, StoreItem};
use serde_json::json;

fn path(s: &str) -> RelPath {
    RelPath::parse(s).unwrap()
}

fn backend(repo: &Path, layout: Option<&str>) -> GitBackend {
    let mut config = json!({ "repo_path": repo });
    if let Some(l) = layout {
        config["layout"] = json!(l);
    }
    GitBackend::new(GitConfig::from_json(&object(config)).unwrap())
}

fn tree_paths(repo: &Path, rev: &str) -> Vec<String> {
    git(repo, &["ls-tree", "-r", "--name-only", rev])
        .lines()
        .map(str::to_owned)
        .collect()
}

fn layout_file(repo: &Path) -> String {
    std::fs::read_to_string(repo.join("devicevault-layout")).unwrap()
}

#[test]
fn a_fanout_location_stores_each_device_under_its_shard() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let b = backend(&repo, Some("fanout"));
    let stored = b
        .store(b"hostname core-1\n", &path("1234/core-1.cfg"))
        .unwrap();
    assert_eq!(stored.storage_ref.path().as_str(), "d2/04/1234/core-1.cfg");
    assert_eq!(
        stored.storage_ref.to_string(),
        format!(
            "main:d2/04/1234/core-1.cfg@{}",
            git(&repo, &["rev-parse", "main"]).trim()
        ),
        "the storage_ref format is unchanged: branch:path@commit"
    );
    // A path already placed stays where it is: the same file.
    let again = b
        .store(b"hostname core-1\n", &path("d2/04/1234/core-1.cfg"))
        .unwrap();
    assert!(!again.changed);
    b.store(b"hostname edge-7\n", &path("7/edge-7.cfg"))
        .unwrap();
    assert_eq!(
        tree_paths(&repo, "main"),
        ["07/00/7/edge-7.cfg", "d2/04/1234/core-1.cfg"]
    );
    assert_eq!(b.read(&stored.storage_ref).unwrap(), b"hostname core-1\n");
    assert_eq!(layout_file(&repo).trim(), "fanout");
    assert_eq!(b.repository_layout().unwrap(), Some(StorageLayout::Fanout));
    fsck(&repo);
}

#[test]
fn a_config_without_a_layout_is_flat() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let b = backend(&repo, None);
    let stored = b.store(b"x\n", &path("1234/core-1.cfg")).unwrap();
    assert_eq!(stored.storage_ref.path().as_str(), "1234/core-1.cfg");
    assert_eq!(layout_file(&repo).trim(), "flat");
}

#[test]
fn a_repository_keeps_the_layout_it_was_written_in_whatever_the_config_says() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    backend(&repo, Some("flat"))
        .store(b"v1\n", &path("5/r5.cfg"))
        .unwrap();
    // A repository an older DeviceVault wrote records no layout: flat.
    std::fs::remove_file(repo.join("devicevault-layout")).unwrap();
    let fanout = backend(&repo, Some("fanout"));
    let stored = fanout.store(b"v2\n", &path("5/r5.cfg")).unwrap();
    assert_eq!(stored.storage_ref.path().as_str(), "5/r5.cfg");
    assert_eq!(tree_paths(&repo, "main"), ["5/r5.cfg"]);
    assert_eq!(layout_file(&repo).trim(), "flat");
}

#[test]
fn a_fanout_group_commit_writes_one_pack_and_moves_a_renamed_devices_file() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let b = backend(&repo, Some("fanout"));
    b.store(b"v1\n", &path("300/old-name.cfg")).unwrap();
    let packs_before = std::fs::read_dir(repo.join("objects/pack"))
        .map(|d| d.count())
        .unwrap_or(0);
    let contents: Vec<Vec<u8>> = (0..20)
        .map(|i| format!("device {i}\n").into_bytes())
        .collect();
    let paths: Vec<RelPath> = (0..20)
        .map(|i| path(&format!("{}/d{i}.cfg", 1000 + i)))
        .collect();
    let (new, old) = (path("300/new-name.cfg"), path("300/old-name.cfg"));
    let mut items: Vec<StoreItem<'_>> = contents
        .iter()
        .zip(&paths)
        .map(|(content, rel_path)| StoreItem {
            content,
            rel_path,
            message: None,
            previous_rel_path: None,
        })
        .collect();
    items.push(StoreItem {
        content: b"v1\n",
        rel_path: &new,
        message: None,
        // The previous version's ref, in the flat form of an older task.
        previous_rel_path: Some(&old),
    });
    let results = b.store_many(&items).unwrap();
    let moved = results.last().unwrap().as_ref().unwrap();
    assert_eq!(moved.storage_ref.path().as_str(), "2c/01/300/new-name.cfg");
    assert_eq!(
        moved.moved_from.as_ref().map(RelPath::as_str),
        Some("2c/01/300/old-name.cfg")
    );
    assert!(!moved.changed);
    for (r, i) in results.iter().zip(0..20) {
        let id = 1000 + i;
        assert_eq!(
            r.as_ref().unwrap().storage_ref.path().as_str(),
            format!("{}/{id}/d{i}.cfg", shard_of(id))
        );
    }
    let packs_after = std::fs::read_dir(repo.join("objects/pack"))
        .unwrap()
        .count();
    assert_eq!(packs_after, packs_before + 2, "one pack and its index");
    let follow = git(
        &repo,
        &[
            "log",
            "--follow",
            "--format=%H",
            "main",
            "--",
            "2c/01/300/new-name.cfg",
        ],
    );
    assert_eq!(follow.lines().count(), 2, "{follow}");
    fsck(&repo);
}

/// A flat repository of `devices` (each with two versions), device 500
/// (one version, then renamed), and a file that is no device's; the refs
/// handed out.
fn flat_repository(repo: &Path, devices: &[i64]) -> Vec<(StorageRef, Vec<u8>)> {
    let b = backend(repo, None);
    let mut refs = Vec::new();
    for round in 0..2 {
        let contents: Vec<(RelPath, Vec<u8>)> = devices
            .iter()
            .map(|&id| {
                (
                    path(&format!("{id}/dev-{id}.cfg")),
                    format!("hostname dev-{id}\nround {round}\n").into_bytes(),
                )
            })
            .collect();
        let items: Vec<StoreItem<'_>> = contents
            .iter()
            .map(|(p, c)| StoreItem {
                content: c,
                rel_path: p,
                message: None,
                previous_rel_path: None,
            })
            .collect();
        for (r, (_, c)) in b.store_many(&items).unwrap().into_iter().zip(&contents) {
            refs.push((r.unwrap().storage_ref, c.clone()));
        }
    }
    let (old, new) = (path("500/old.cfg"), path("500/dev-500.cfg"));
    let renamed = b.store(b"renamed device\n", &old).unwrap();
    refs.push((renamed.storage_ref, b"renamed device\n".to_vec()));
    let item = StoreItem {
        content: b"renamed device\n",
        rel_path: &new,
        message: None,
        previous_rel_path: Some(&old),
    };
    let moved = b.store_many(&[item]).unwrap().pop().unwrap().unwrap();
    refs.push((moved.storage_ref, b"renamed device\n".to_vec()));
    refs.push((
        b.store(b"not a device\n", &path("notes/README.txt"))
            .unwrap()
            .storage_ref,
        b"not a device\n".to_vec(),
    ));
    refs
}

#[test]
fn migrate_layout_moves_every_device_one_commit_per_shard_with_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    // 12 and 18 = 0x12: device 12's flat directory has the name of device
    // 18's shard, and moves first.
    let devices: Vec<i64> = (1..=40).chain([255, 256, 257, 1234, 99_999]).collect();
    let refs = flat_repository(&repo, &devices);
    let start = git(&repo, &["rev-parse", "main"]).trim().to_owned();
    let b = backend(&repo, None);

    let report = b.migrate_to_fanout(Duration::from_secs(5)).unwrap();
    assert!(!report.already_fanout);
    assert_eq!(report.devices(), devices.len() + 1);
    assert_eq!(report.left, 1, "notes/ stays where it is");
    let tops: std::collections::BTreeSet<String> = devices
        .iter()
        .chain(&[500])
        .map(|&id| shard_of(id)[..2].to_owned())
        .collect();
    assert_eq!(report.shards.len(), tops.len(), "one commit per shard");
    assert_eq!(
        git(&repo, &["rev-list", "--count", &format!("{start}..main")]).trim(),
        tops.len().to_string()
    );
    assert_eq!(
        report.tip.as_deref(),
        Some(git(&repo, &["rev-parse", "main"]).trim())
    );
    assert_eq!(layout_file(&repo).trim(), "fanout");

    // Every commit of the migration holds every file exactly once, each at
    // a device's place in one layout or the other.
    for commit in git(&repo, &["rev-list", &format!("{start}..main")]).lines() {
        let paths = tree_paths(&repo, commit);
        assert_eq!(paths.len(), devices.len() + 2, "{commit}: {paths:?}");
        for p in paths.iter().filter(|p| !p.starts_with("notes/")) {
            let (id, _) = device_path(&path(p)).unwrap_or_else(|| panic!("{commit}: {p}"));
            assert!(p.ends_with(&format!("{id}/dev-{id}.cfg")), "{commit}: {p}");
        }
    }
    let mut expected: Vec<String> = devices
        .iter()
        .chain(&[500])
        .map(|&id| format!("{}/{id}/dev-{id}.cfg", shard_of(id)))
        .chain(["notes/README.txt".to_owned()])
        .collect();
    expected.sort();
    assert_eq!(tree_paths(&repo, "main"), expected);
    assert!(tree_paths(&repo, "main").contains(&"0c/00/12/dev-12.cfg".to_owned()));
    assert!(tree_paths(&repo, "main").contains(&"12/00/18/dev-18.cfg".to_owned()));

    // git log --follow finds the history from before the move, the rename
    // of device 12 included.
    let follow = |p: &str| {
        git(&repo, &["log", "--follow", "--format=%H", "main", "--", p])
            .lines()
            .count()
    };
    assert_eq!(
        follow("d2/04/1234/dev-1234.cfg"),
        3,
        "two versions and the move"
    );
    assert_eq!(
        follow("f4/01/500/dev-500.cfg"),
        3,
        "old.cfg, the rename, the move"
    );
    // Every ref handed out before the migration still reads.
    for (r, content) in &refs {
        assert_eq!(&b.read(r).unwrap(), content, "{r}");
    }
    fsck(&repo);

    // A store whose task still names the flat path (a config from before
    // the migration) lands in fanout.
    let stored = b.store(b"round 2\n", &path("1234/dev-1234.cfg")).unwrap();
    assert_eq!(
        stored.storage_ref.path().as_str(),
        "d2/04/1234/dev-1234.cfg"
    );
    assert_eq!(follow("d2/04/1234/dev-1234.cfg"), 4);

    // Twice: nothing to do.
    let again = b.migrate_to_fanout(Duration::from_secs(5)).unwrap();
    assert!(again.already_fanout);
    assert!(again.shards.is_empty());
    fsck(&repo);
}

#[test]
fn migrate_layout_waits_for_the_lock_the_stores_take() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    flat_repository(&repo, &[1, 2]);
    let lock = std::fs::File::create(repo.join("devicevault.lock")).unwrap();
    lock.lock().unwrap();
    let err = backend(&repo, None)
        .migrate_to_fanout(Duration::from_millis(100))
        .unwrap_err();
    assert!(matches!(err, StorageError::LockTimeout { .. }), "{err}");
    assert_eq!(err.retry(), Retry::Transient);
    drop(lock);
    assert_eq!(
        backend(&repo, None)
            .migrate_to_fanout(Duration::from_secs(5))
            .unwrap()
            .devices(),
        3
    );
}

#[test]
fn an_interrupted_migration_stops_the_stores_and_a_rerun_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let refs = flat_repository(&repo, &[1, 2, 3]);
    let b = backend(&repo, None);
    let tip = git(&repo, &["rev-parse", "main"]).trim().to_owned();

    // Interrupted before the branch moved: the record names the tip.
    std::fs::write(
        repo.join("devicevault-layout"),
        format!("migrating-to-fanout-from {tip}\n"),
    )
    .unwrap();
    let err = b.store(b"new\n", &path("1/dev-1.cfg")).unwrap_err();
    assert!(
        matches!(err, StorageError::LayoutMigrationUnfinished { .. }),
        "{err}"
    );
    assert_eq!(err.retry(), Retry::Transient, "the worker retries: {err}");
    assert!(err.to_string().contains("migrate-layout"), "{err}");
    let report = b.migrate_to_fanout(Duration::from_secs(5)).unwrap();
    assert_eq!(report.devices(), 4);
    assert!(!report.finished_interrupted);
    assert_eq!(layout_file(&repo).trim(), "fanout");

    // Interrupted after the branch moved: a rerun only records fanout.
    std::fs::write(
        repo.join("devicevault-layout"),
        format!("migrating-to-fanout-from {tip}\n"),
    )
    .unwrap();
    let tip_after = git(&repo, &["rev-parse", "main"]).trim().to_owned();
    let report = b.migrate_to_fanout(Duration::from_secs(5)).unwrap();
    assert!(report.finished_interrupted);
    assert!(report.shards.is_empty());
    assert_eq!(git(&repo, &["rev-parse", "main"]).trim(), tip_after);
    assert_eq!(layout_file(&repo).trim(), "fanout");
    let stored = b.store(b"new\n", &path("1/dev-1.cfg")).unwrap();
    assert_eq!(stored.storage_ref.path().as_str(), "01/00/1/dev-1.cfg");
    for (r, content) in &refs {
        assert_eq!(&b.read(r).unwrap(), content, "{r}");
    }
    fsck(&repo);
}

#[test]
fn migrating_a_repository_with_nothing_stored_records_fanout() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let b = backend(&repo, None);
    // Not there at all: not found, nothing created.
    let err = b.migrate_to_fanout(Duration::from_secs(1)).unwrap_err();
    assert!(matches!(err, StorageError::NotFound { .. }), "{err}");
    assert!(!repo.exists());
    git(
        dir.path(),
        &["init", "-q", "--bare", repo.to_str().unwrap()],
    );
    let report = b.migrate_to_fanout(Duration::from_secs(1)).unwrap();
    assert_eq!(report.devices(), 0);
    assert_eq!(
        b.store(b"x\n", &path("3/r.cfg"))
            .unwrap()
            .storage_ref
            .path()
            .as_str(),
        "03/00/3/r.cfg"
    );
}
