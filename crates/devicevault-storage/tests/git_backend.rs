//! Behaviour specific to the Git backend: history, metadata, existing
//! repositories and locking.

mod common;

use common::{fsck, git, object};
use devicevault_core::{RelPath, Retry, RetryClass};
use devicevault_storage::git::{GitBackend, GitConfig};
use devicevault_storage::{Backend, Maintenance, StorageError, StoreItem};
use serde_json::json;

fn path(s: &str) -> RelPath {
    RelPath::parse(s).unwrap()
}

fn backend(config: serde_json::Value) -> GitBackend {
    GitBackend::new(GitConfig::from_json(&object(config)).unwrap())
}

#[test]
fn a_missing_repository_is_created_bare_with_head_on_the_branch() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("deep/nested/backups.git");
    let b = backend(json!({ "repo_path": repo, "branch": "backups/site-a" }));
    b.store(b"hostname r1\n", &path("1/r1.cfg")).unwrap();
    assert_eq!(
        git(&repo, &["rev-parse", "--is-bare-repository"]).trim(),
        "true"
    );
    assert_eq!(
        git(&repo, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/backups/site-a"
    );
    // `git log` with no arguments shows the backups.
    assert_eq!(git(&repo, &["log", "--oneline"]).lines().count(), 1);
    // No temporary directories are left next to it.
    let siblings: Vec<_> = std::fs::read_dir(repo.parent().unwrap()).unwrap().collect();
    assert_eq!(siblings.len(), 1);
    fsck(&repo);
}

#[test]
fn an_empty_directory_becomes_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(json!({ "repo_path": dir.path() }));
    b.store(b"x\n", &path("1/a.cfg")).unwrap();
    assert_eq!(
        git(dir.path(), &["rev-parse", "--is-bare-repository"]).trim(),
        "true"
    );
    fsck(dir.path());
}

#[test]
fn each_change_is_one_commit_with_the_configured_message_and_author() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let b = backend(json!({
        "repo_path": repo,
        "commit_message": "Config of {rel_path} changed",
        "author_name": "Net Ops",
        "author_email": "netops@example.net",
    }));
    let rel = path("42/edge-1.cfg");
    for content in ["v1\n", "v1\n", "v2\n", "v2\n", "v2\n", "v3\n"] {
        b.store(content.as_bytes(), &rel).unwrap();
    }
    let log = git(&repo, &["log", "--format=%an <%ae>|%cn <%ce>|%s", "main"]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    for line in lines {
        assert_eq!(
            line,
            "Net Ops <netops@example.net>|Net Ops <netops@example.net>|Config of 42/edge-1.cfg changed"
        );
    }
    // `git log -- <device file>` is that device's history.
    let other = path("43/edge-2.cfg");
    b.store(b"other\n", &other).unwrap();
    assert_eq!(
        git(&repo, &["log", "--oneline", "main", "--", "42/edge-1.cfg"])
            .lines()
            .count(),
        3
    );
    assert_eq!(
        git(&repo, &["log", "--oneline", "main", "--", "43/edge-2.cfg"])
            .lines()
            .count(),
        1
    );
    assert_eq!(git(&repo, &["show", "main:42/edge-1.cfg"]), "v3\n");
    fsck(&repo);
}

#[test]
fn a_ref_keeps_reading_the_version_it_names_after_later_commits() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(json!({ "repo_path": dir.path().join("r.git") }));
    let rel = path("1/r1.cfg");
    let versions: Vec<Vec<u8>> = (0..10)
        .map(|i| format!("version {i}\r\n").into_bytes())
        .collect();
    let refs: Vec<_> = versions
        .iter()
        .map(|v| b.store(v, &rel).unwrap().storage_ref)
        .collect();
    b.store(b"unrelated", &path("2/other.cfg")).unwrap();
    for (r, v) in refs.iter().zip(&versions) {
        assert_eq!(&b.read(r).unwrap(), v);
    }
}

#[test]
fn unchanged_content_returns_the_tip_even_after_other_devices_committed() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(json!({ "repo_path": dir.path().join("r.git") }));
    b.store(b"a\n", &path("1/a.cfg")).unwrap();
    b.store(b"b\n", &path("2/b.cfg")).unwrap();
    let again = b.store(b"a\n", &path("1/a.cfg")).unwrap();
    assert!(!again.changed);
    let tip = git(&dir.path().join("r.git"), &["rev-parse", "main"]);
    assert!(again.storage_ref.to_string().ends_with(tip.trim()));
    assert_eq!(b.read(&again.storage_ref).unwrap(), b"a\n");
}

#[test]
fn an_existing_git_init_repository_is_used_and_its_work_tree_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("work");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(repo.join("README"), "hand-written notes\n").unwrap();
    git(&repo, &["add", "README"]);
    git(&repo, &["commit", "--quiet", "-m", "notes"]);
    let before = git(&repo, &["rev-parse", "HEAD"]);
    let listing = |p: &std::path::Path| {
        let mut v: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    let files_before = listing(&repo);

    let b = backend(json!({ "repo_path": repo, "branch": "main" }));
    let stored = b.store(b"hostname r1\n", &path("1/r1.cfg")).unwrap();

    assert_eq!(
        listing(&repo),
        files_before,
        "the work tree must not change"
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("README")).unwrap(),
        "hand-written notes\n"
    );
    assert_eq!(
        git(&repo, &["rev-parse", "HEAD~1"]),
        before,
        "commits on top of the history"
    );
    assert_eq!(git(&repo, &["show", "HEAD:README"]), "hand-written notes\n");
    assert_eq!(b.read(&stored.storage_ref).unwrap(), b"hostname r1\n");
    fsck(&repo);
}

#[test]
fn a_held_lock_times_out_as_a_transient_error() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let b = backend(json!({ "repo_path": repo, "lock_timeout_ms": 200 }));
    b.store(b"first\n", &path("1/a.cfg")).unwrap();
    let holder = std::fs::File::create(repo.join("devicevault.lock")).unwrap();
    holder.lock().unwrap();
    let err = b.store(b"second\n", &path("1/a.cfg")).unwrap_err();
    assert!(matches!(err, StorageError::LockTimeout { .. }), "{err:?}");
    assert_eq!(err.retry(), Retry::Transient);
    holder.unlock().unwrap();
    assert!(b.store(b"second\n", &path("1/a.cfg")).unwrap().changed);
}

#[test]
fn a_repo_path_that_is_a_file_or_not_a_repository_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let err = backend(json!({ "repo_path": file }))
        .store(b"x", &path("a"))
        .unwrap_err();
    assert!(matches!(err, StorageError::Unsafe { .. }), "{err:?}");

    let not_repo = dir.path().join("dir");
    std::fs::create_dir_all(not_repo.join("stuff")).unwrap();
    let err = backend(json!({ "repo_path": not_repo }))
        .store(b"x", &path("a"))
        .unwrap_err();
    assert!(matches!(err, StorageError::Unsafe { .. }), "{err:?}");
    assert_eq!(err.retry(), Retry::Permanent);
}

#[test]
fn an_abbreviated_commit_in_a_ref_is_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let b = backend(json!({ "repo_path": dir.path().join("r.git") }));
    let stored = b.store(b"abbrev\n", &path("1/a.cfg")).unwrap();
    let full = stored.storage_ref.to_string();
    let short = &full[..full.len() - 33];
    assert_eq!(b.read_str(short).unwrap(), b"abbrev\n");
}

#[test]
fn config_typos_are_errors_not_defaults() {
    for bad in [
        json!({ "repo_path": "/tmp/x", "brnach": "main" }),
        json!({ "branch": "main" }),
        json!({ "repo_path": "" }),
        json!({ "repo_path": "/tmp/x", "branch": "-main" }),
        json!({ "repo_path": "/tmp/x", "author_name": "a <b>" }),
        json!({ "repo_path": 5 }),
    ] {
        let err = GitConfig::from_json(&object(bad.clone())).unwrap_err();
        assert!(
            matches!(err, StorageError::InvalidConfig { .. }),
            "{bad}: {err:?}"
        );
    }
}

#[test]
fn a_group_commit_makes_one_commit_per_change_and_moves_the_branch_once() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let b = backend(json!({ "repo_path": repo }));
    b.store(b"v0\n", &path("1/a.cfg")).unwrap();
    let a = path("1/a.cfg");
    let c = path("2/c.cfg");
    let items = [
        StoreItem {
            content: b"v1\n",
            rel_path: &a,
            message: None,
            previous_rel_path: None,
        },
        StoreItem {
            content: b"v1\n",
            rel_path: &a,
            message: None,
            previous_rel_path: None,
        },
        StoreItem {
            content: b"c\n",
            rel_path: &c,
            message: Some("device c"),
            previous_rel_path: None,
        },
        StoreItem {
            content: b"v2\n",
            rel_path: &a,
            message: None,
            previous_rel_path: None,
        },
    ];
    let results: Vec<_> = b
        .store_many(&items)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        results.iter().map(|s| s.changed).collect::<Vec<_>>(),
        [true, false, true, true]
    );
    // The unchanged item names the commit of the version it matched.
    assert_eq!(results[0].storage_ref, results[1].storage_ref);
    for (s, item) in results.iter().zip(&items) {
        assert_eq!(b.read(&s.storage_ref).unwrap(), item.content);
    }
    let log = git(&repo, &["log", "--format=%s", "main"]);
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            "Backup 1/a.cfg",
            "device c",
            "Backup 1/a.cfg",
            "Backup 1/a.cfg"
        ]
    );
    // History is linear: each commit's parent is the previous one.
    assert_eq!(
        git(&repo, &["rev-list", "--merges", "--count", "main"]).trim(),
        "0"
    );
    assert!(
        results[3]
            .storage_ref
            .to_string()
            .ends_with(git(&repo, &["rev-parse", "main"]).trim())
    );
    fsck(&repo);
}

#[test]
fn a_group_commit_of_only_unchanged_items_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let b = backend(json!({ "repo_path": repo }));
    let a = path("1/a.cfg");
    b.store(b"same\n", &a).unwrap();
    let before = git(&repo, &["rev-parse", "main"]);
    let items = [StoreItem {
        content: b"same\n",
        rel_path: &a,
        message: None,
        previous_rel_path: None,
    }; 3];
    for r in b.store_many(&items).unwrap() {
        assert!(!r.unwrap().changed);
    }
    assert_eq!(git(&repo, &["rev-parse", "main"]), before);
}

// ---- renames ----

/// Stores `content` at `rel_path`, moving the file from `previous`.
fn store_moving(
    b: &GitBackend,
    content: &[u8],
    rel_path: &RelPath,
    previous: &RelPath,
) -> Result<devicevault_storage::Stored, StorageError> {
    let item = StoreItem {
        content,
        rel_path,
        message: None,
        previous_rel_path: Some(previous),
    };
    b.store_many(std::slice::from_ref(&item))?.pop().unwrap()
}

/// A configuration of `lines` lines whose line `changed_line` says `tag`:
/// long enough for git's rename detection to see two versions as similar.
fn config(lines: usize, changed_line: usize, tag: &str) -> Vec<u8> {
    (0..lines)
        .map(|i| {
            if i == changed_line {
                format!("description {tag}\n")
            } else {
                format!("interface Ethernet{i}\n no shutdown\n")
            }
        })
        .collect::<String>()
        .into_bytes()
}

fn tree_paths(repo: &std::path::Path) -> Vec<String> {
    git(repo, &["ls-tree", "-r", "--name-only", "main"])
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_rename_moves_the_file_in_one_commit_and_git_log_follow_shows_every_version() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let b = backend(json!({ "repo_path": repo }));
    let (old, new) = (path("7/core-old.cfg"), path("7/core-new.cfg"));
    let v1 = config(40, 3, "one");
    let v2 = config(40, 3, "two");
    let mut refs = vec![
        b.store(&v1, &old).unwrap().storage_ref,
        b.store(&v2, &old).unwrap().storage_ref,
    ];
    b.store(b"other device\n", &path("8/edge.cfg")).unwrap();

    // Renamed, configuration unchanged: one commit moves the file.
    let moved = store_moving(&b, &v2, &new, &old).unwrap();
    assert!(!moved.changed, "same configuration as before the rename");
    assert_eq!(moved.moved_from.as_ref(), Some(&old));
    assert_eq!(moved.storage_ref.path(), &new);
    assert_eq!(git(&repo, &["rev-list", "--count", "main"]).trim(), "4");
    assert!(
        moved
            .storage_ref
            .to_string()
            .ends_with(git(&repo, &["rev-parse", "main"]).trim()),
        "the ref names the commit that moved the file"
    );
    assert_eq!(tree_paths(&repo), ["7/core-new.cfg", "8/edge.cfg"]);
    assert_eq!(
        git(
            &repo,
            &["diff-tree", "-r", "-M", "--name-status", "main~1", "main"]
        )
        .trim(),
        "R100\t7/core-old.cfg\t7/core-new.cfg"
    );
    let message = git(&repo, &["log", "-1", "--format=%B", "main"]);
    assert!(message.contains("Renamed from 7/core-old.cfg"), "{message}");
    refs.push(moved.storage_ref);

    // Renamed again with a changed configuration: still one commit.
    let newer = path("7/core-newer.cfg");
    let v3 = config(40, 3, "three");
    let changed = store_moving(&b, &v3, &newer, &new).unwrap();
    assert!(changed.changed);
    assert_eq!(tree_paths(&repo), ["7/core-newer.cfg", "8/edge.cfg"]);
    refs.push(changed.storage_ref);

    let follow = git(
        &repo,
        &[
            "log",
            "--follow",
            "--format=%H",
            "main",
            "--",
            "7/core-newer.cfg",
        ],
    );
    assert_eq!(follow.lines().count(), 4, "every version: {follow}");
    // Every ref ever handed out still reads its version.
    for (r, content) in refs.iter().zip([&v1, &v2, &v2, &v3]) {
        assert_eq!(&b.read(r).unwrap(), content, "{r}");
    }
    fsck(&repo);
}

#[test]
fn replaying_a_rename_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let b = backend(json!({ "repo_path": repo }));
    let (old, new) = (path("7/a.cfg"), path("7/b.cfg"));
    b.store(b"hostname a\n", &old).unwrap();
    let first = store_moving(&b, b"hostname a\n", &new, &old).unwrap();
    let again = store_moving(&b, b"hostname a\n", &new, &old).unwrap();
    assert!(!again.changed);
    assert_eq!(again.moved_from, None);
    assert_eq!(again.storage_ref, first.storage_ref);
    assert_eq!(git(&repo, &["rev-list", "--count", "main"]).trim(), "2");
    // In one batch too: the second item sees the first one's move.
    let (c, d) = (path("9/c.cfg"), path("9/d.cfg"));
    b.store(b"c\n", &c).unwrap();
    let item = StoreItem {
        content: b"c\n",
        rel_path: &d,
        message: None,
        previous_rel_path: Some(&c),
    };
    let results = b.store_many(&[item, item]).unwrap();
    let results: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(results[0].moved_from.as_ref(), Some(&c));
    assert_eq!(results[1].moved_from, None);
    assert_eq!(results[0].storage_ref, results[1].storage_ref);
    assert_eq!(git(&repo, &["rev-list", "--count", "main"]).trim(), "4");
    fsck(&repo);
}

#[test]
fn a_previous_path_with_no_file_is_a_plain_store() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let b = backend(json!({ "repo_path": repo }));
    // Into an empty repository, and into one without that path.
    let first = store_moving(&b, b"x\n", &path("7/new.cfg"), &path("7/gone.cfg")).unwrap();
    assert!(first.changed);
    assert_eq!(first.moved_from, None);
    let again = store_moving(&b, b"x\n", &path("7/new.cfg"), &path("7/gone.cfg")).unwrap();
    assert!(!again.changed);
    // A directory where the previous file was is left alone.
    b.store(b"y\n", &path("7/dir.cfg/inner")).unwrap();
    let third = store_moving(&b, b"z\n", &path("7/new.cfg"), &path("7/dir.cfg")).unwrap();
    assert!(third.changed);
    assert_eq!(third.moved_from, None);
    assert_eq!(tree_paths(&repo), ["7/dir.cfg/inner", "7/new.cfg"]);
    assert_eq!(git(&repo, &["rev-list", "--count", "main"]).trim(), "3");
    fsck(&repo);
}

#[test]
fn a_previous_path_in_another_directory_is_refused_and_nothing_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let b = backend(json!({ "repo_path": repo }));
    b.store(b"other\n", &path("8/edge.cfg")).unwrap();
    let before = git(&repo, &["rev-parse", "main"]);
    for previous in ["8/edge.cfg", "7/sub/core.cfg", "core.cfg"] {
        let err = store_moving(&b, b"mine\n", &path("7/core.cfg"), &path(previous)).unwrap_err();
        assert!(
            matches!(err, StorageError::Unsafe { .. }) && err.retry() == Retry::Permanent,
            "{previous}: {err:?}"
        );
    }
    assert_eq!(git(&repo, &["rev-parse", "main"]), before);
    assert_eq!(tree_paths(&repo), ["8/edge.cfg"]);
}

// ---- packing (maintenance) ----

/// Stores `n` devices' configurations in batches of 25, returning each
/// store's ref and content.
fn fill(b: &GitBackend, n: usize, round: usize) -> Vec<(devicevault_core::StorageRef, Vec<u8>)> {
    fill_in(b, n, round, 25)
}

/// [`fill`] in batches of `batch`.
fn fill_in(
    b: &GitBackend,
    n: usize,
    round: usize,
    batch: usize,
) -> Vec<(devicevault_core::StorageRef, Vec<u8>)> {
    let items: Vec<(RelPath, Vec<u8>)> = (0..n)
        .map(|i| {
            (
                path(&format!("{i}/r{i}.cfg")),
                format!("hostname r{i}\n! round {round}\n").into_bytes(),
            )
        })
        .collect();
    store_in(b, &items, batch)
}

/// Stores `items` in batches of `batch` (one group commit each); returns
/// each one's ref and content.
fn store_in(
    b: &GitBackend,
    items: &[(RelPath, Vec<u8>)],
    batch: usize,
) -> Vec<(devicevault_core::StorageRef, Vec<u8>)> {
    let mut out = Vec::new();
    for chunk in items.chunks(batch) {
        let batch: Vec<StoreItem<'_>> = chunk
            .iter()
            .map(|(rel_path, content)| StoreItem {
                content,
                rel_path,
                message: None,
                previous_rel_path: None,
            })
            .collect();
        for (stored, (_, content)) in b.store_many(&batch).unwrap().into_iter().zip(chunk) {
            out.push((stored.unwrap().storage_ref, content.clone()));
        }
    }
    out
}

fn count_objects(repo: &std::path::Path) -> std::collections::HashMap<String, u64> {
    git(repo, &["count-objects", "-v"])
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter_map(|(k, v)| Some((k.to_owned(), v.trim().parse().ok()?)))
        .collect()
}

#[test]
fn a_group_commit_writes_one_pack_and_no_loose_object() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let b = backend(json!({ "repo_path": repo, "fsync": true }));
    // Two batches (25 and 15 stores): two packs, nothing loose.
    let stored = fill(&b, 40, 0);
    let counts = count_objects(&repo);
    assert_eq!(counts["count"], 0, "{counts:?}");
    assert_eq!(counts["packs"], 2, "{counts:?}");
    assert_eq!(counts["garbage"], 0, "no temporary file left: {counts:?}");
    // git reads the packs and their indexes as its own: every object of
    // each pack is listed whole, 4 per store (blob, device tree, root
    // tree, commit).
    let mut objects = 0;
    for entry in std::fs::read_dir(repo.join("objects/pack")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "idx") {
            let listing = git(&repo, &["verify-pack", "-v", p.to_str().unwrap()]);
            objects += listing
                .lines()
                .filter(|l| {
                    [" blob ", " tree ", " commit "]
                        .iter()
                        .any(|k| l.contains(k))
                })
                .count();
        }
    }
    assert_eq!(objects, 160);
    fsck(&repo);
    assert_eq!(git(&repo, &["rev-list", "--count", "main"]).trim(), "40");
    // This handle (its cached repository) and another one read every
    // version, and git shows the content.
    let fresh = backend(json!({ "repo_path": repo }));
    for (r, content) in &stored {
        assert_eq!(&b.read(r).unwrap(), content, "{r}");
        assert_eq!(&fresh.read(r).unwrap(), content, "{r}");
    }
    assert_eq!(
        git(&repo, &["show", "main:7/r7.cfg"]),
        "hostname r7\n! round 0\n"
    );
    // An unchanged batch writes no pack.
    fill(&b, 40, 0);
    assert_eq!(count_objects(&repo)["packs"], 2);
}

#[test]
fn single_stores_and_batches_past_128_packs_write_loose_objects() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let b = backend(json!({ "repo_path": repo, "fsync": false, "pack_loose_objects": 1_000_000 }));
    b.store(b"one\n", &path("1/r1.cfg")).unwrap();
    assert_eq!(count_objects(&repo)["packs"], 0);
    assert_eq!(count_objects(&repo)["count"], 4);
    // Maintenance never ran: at 128 packs, batches stop adding packs.
    let mut stored = fill_in(&b, 128 * 2, 0, 2);
    assert_eq!(count_objects(&repo)["packs"], 128);
    stored.extend(fill_in(&b, 50, 1, 2));
    let counts = count_objects(&repo);
    assert_eq!(counts["packs"], 128, "{counts:?}");
    assert_eq!(counts["count"], 4 + 200, "{counts:?}");
    let fresh = backend(json!({ "repo_path": repo }));
    for (r, content) in stored.iter().step_by(37) {
        assert_eq!(&fresh.read(r).unwrap(), content, "{r}");
    }
    fsck(&repo);
}

#[test]
fn eight_packs_are_rolled_into_one_and_rolled_packs_merge_geometrically() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let b = backend(json!({ "repo_path": repo, "fsync": false, "pack_loose_objects": 400 }));
    assert_eq!(
        b.maintain().unwrap(),
        Maintenance::NotNeeded,
        "no repository yet"
    );
    // Seven batches: seven packs, not yet a roll.
    let mut stored = fill_in(&b, 14, 0, 2);
    assert_eq!(count_objects(&repo)["packs"], 7);
    assert_eq!(b.maintain().unwrap(), Maintenance::NotNeeded);
    stored.extend(fill_in(&b, 2, 1, 2));
    match b.maintain().unwrap() {
        Maintenance::Packed {
            packs_before,
            packs_after,
            ..
        } => assert_eq!((packs_before, packs_after), (8, 1)),
        other => panic!("expected a roll, got {other:?}"),
    }
    let counts = count_objects(&repo);
    assert_eq!((counts["packs"], counts["count"]), (1, 0), "{counts:?}");
    assert_eq!(b.maintain().unwrap(), Maintenance::NotNeeded, "all rolled");
    // Round after round, the rolled packs are merged: a repository keeps a
    // few packs, not one per roll.
    for round in 2..14 {
        stored.extend(fill_in(&b, 16, round, 2));
        assert!(matches!(b.maintain().unwrap(), Maintenance::Packed { .. }));
    }
    let counts = count_objects(&repo);
    assert!(counts["packs"] <= 4, "{counts:?}");
    assert_eq!(counts["count"], 0, "{counts:?}");
    for (r, content) in &stored {
        assert_eq!(&b.read(r).unwrap(), content, "{r}");
    }
    let (r, content) = &stored[17];
    let fresh = backend(json!({ "repo_path": repo }));
    assert_eq!(&fresh.read(r).unwrap(), content);
    assert_eq!(
        git(&repo, &["rev-list", "--count", "main"]).trim(),
        (16 + 12 * 16).to_string()
    );
    fsck(&repo);
    // Stores go on after the repack.
    b.store(b"after\n", &path("1/r1.cfg")).unwrap();
    fsck(&repo);
}

/// A group commit writes each object whole; the roll is where deltas are
/// found, between the objects of one group commit as much as of different
/// ones. (Merging packs, git does not try two objects of one pack against
/// each other: here each batch is a family of similar configurations unlike
/// the other batches', so without the roll's search no delta is found.)
#[test]
fn a_roll_stores_similar_configurations_as_deltas() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let b = backend(json!({ "repo_path": repo, "fsync": false, "pack_loose_objects": 400 }));
    // Family f: 100 + 30 f lines of its own; its members differ in one line.
    let config = |f: u64, member: u64| {
        let i = f * 4 + member;
        let mut text: String = (0..100 + 30 * f)
            .map(|l| {
                let x = (l + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    ^ (f + 1).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
                format!("set value {x:016x} {:016x}\n", x.rotate_left(17))
            })
            .collect();
        text.push_str(&format!("hostname r{i}\n"));
        (path(&format!("{i}/r{i}.cfg")), text.into_bytes())
    };
    // One family per batch: eight packs.
    let items: Vec<(RelPath, Vec<u8>)> = (0..8)
        .flat_map(|f| (0..4).map(move |m| (f, m)))
        .map(|(f, m)| config(f, m))
        .collect();
    let stored = store_in(&b, &items, 4);
    let before = count_objects(&repo);
    assert_eq!(before["packs"], 8, "{before:?}");
    assert!(matches!(b.maintain().unwrap(), Maintenance::Packed { .. }));
    let after = count_objects(&repo);
    assert_eq!(after["packs"], 1, "{after:?}");
    let pack_dir = repo.join("objects/pack");
    let index = std::fs::read_dir(&pack_dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "idx"))
        .unwrap();
    // `verify-pack -v`: "<id> <type> <size> <size in pack> <offset>", and
    // "<depth> <base>" after those for a delta.
    let listing = git(&repo, &["verify-pack", "-v", index.to_str().unwrap()]);
    let blobs: Vec<Vec<&str>> = listing
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.get(1) == Some(&"blob"))
        .collect();
    assert_eq!(blobs.len(), 32);
    let deltas = blobs.iter().filter(|f| f.len() == 7).count();
    assert!(deltas >= 20, "{deltas} of 32 blobs are deltas:\n{listing}");
    assert!(
        after["size-pack"] * 2 < before["size-pack"],
        "{before:?} → {after:?}"
    );
    let fresh = backend(json!({ "repo_path": repo }));
    for (r, content) in &stored {
        assert_eq!(&fresh.read(r).unwrap(), content, "{r}");
    }
    fsck(&repo);
}

#[test]
fn loose_objects_written_by_others_are_packed_past_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let b = backend(json!({ "repo_path": repo, "fsync": false, "pack_loose_objects": 400 }));
    let stored = fill(&b, 10, 0);
    // A person (or an older DeviceVault) commits loose objects on another
    // branch: 1,000 files in one tree.
    let other = gix::open(&repo).unwrap();
    let entries = (0..1000)
        .map(|i| gix::objs::tree::Entry {
            mode: gix::objs::tree::EntryKind::Blob.into(),
            filename: format!("f{i:04}").into(),
            oid: other.write_blob(format!("blob {i}\n")).unwrap().detach(),
        })
        .collect();
    let tree = other
        .write_object(gix::objs::Tree { entries })
        .unwrap()
        .to_string();
    let commit = git(&repo, &["commit-tree", &tree, "-m", "by hand"]);
    git(&repo, &["update-ref", "refs/heads/other", commit.trim()]);
    assert!(count_objects(&repo)["count"] >= 1000);
    match b.maintain().unwrap() {
        Maintenance::Packed {
            loose_before,
            loose_after,
            ..
        } => {
            assert!(loose_before >= 400, "estimated {loose_before}");
            assert!(loose_after < 400, "estimated {loose_after} after");
        }
        other => panic!("expected a repack, got {other:?}"),
    }
    for (r, content) in &stored {
        assert_eq!(&b.read(r).unwrap(), content, "{r}");
    }
    fsck(&repo);
}

#[test]
fn packing_is_off_at_zero_and_skipped_while_another_process_packs() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let off = backend(json!({ "repo_path": repo, "fsync": false, "pack_loose_objects": 0 }));
    // Unmaintained: loose objects, as git writes them.
    fill(&off, 100, 0);
    assert_eq!(count_objects(&repo)["packs"], 0);
    assert!(count_objects(&repo)["count"] >= 400);
    assert_eq!(off.maintain().unwrap(), Maintenance::NotNeeded);
    let on = backend(json!({ "repo_path": repo, "fsync": false, "pack_loose_objects": 50 }));
    let held = std::fs::File::create(repo.join("devicevault-maintenance.lock")).unwrap();
    held.lock().unwrap();
    assert_eq!(on.maintain().unwrap(), Maintenance::Busy);
    drop(held);
    assert!(matches!(on.maintain().unwrap(), Maintenance::Packed { .. }));
}

#[test]
fn stores_and_reads_go_on_while_the_repository_is_packed() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("r.git");
    let config = json!({ "repo_path": repo, "fsync": false, "pack_loose_objects": 100 });
    let b = std::sync::Arc::new(backend(config.clone()));
    let mut stored = fill(&b, 300, 0);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|t| {
            let b = b.clone();
            let stop = stop.clone();
            let stored = stored.clone();
            std::thread::spawn(move || {
                let mut reads = 0;
                let mut i = t;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || reads < stored.len() {
                    let (r, content) = &stored[i % stored.len()];
                    assert_eq!(&b.read(r).unwrap(), content, "{r}");
                    reads += 1;
                    i += 7;
                }
                reads
            })
        })
        .collect();
    let writer = {
        let b = b.clone();
        // Batches of 5: 60 more packs, past the rollup limit.
        std::thread::spawn(move || fill_in(&b, 300, 1, 5))
    };
    // A second worker process's handle packs, concurrently with both.
    let packer = backend(config);
    let mut packed = 0;
    while !writer.is_finished() {
        if matches!(packer.maintain().unwrap(), Maintenance::Packed { .. }) {
            packed += 1;
        }
    }
    stored.extend(writer.join().unwrap());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() >= 300);
    }
    if matches!(packer.maintain().unwrap(), Maintenance::Packed { .. }) {
        packed += 1;
    }
    assert!(packed >= 1, "the repository was never packed");
    for (r, content) in &stored {
        assert_eq!(&b.read(r).unwrap(), content, "{r}");
    }
    assert_eq!(git(&repo, &["rev-list", "--count", "main"]).trim(), "600");
    fsck(&repo);
}
