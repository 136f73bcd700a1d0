//! One conformance suite, run against every storage backend.

mod common;

use common::{Store, tricky_contents};
use devicevault_core::{RelPath, Retry, RetryClass, StorageBackendKind, StorageRef};
use devicevault_storage::{StorageError, StoreItem};

fn path(s: &str) -> RelPath {
    RelPath::parse(s).unwrap()
}

fn stored_bytes_read_back_exactly(store: Store) {
    for (i, (name, content)) in tricky_contents().into_iter().enumerate() {
        let rel = path(&format!("{i}/device-{i}.cfg"));
        let stored = store.backend.store(&content, &rel).unwrap();
        assert!(stored.changed, "{name}: first store must write");
        assert_eq!(stored.size, content.len() as u64);
        assert_eq!(stored.storage_ref.path(), &rel);
        assert_eq!(
            store.backend.read(&stored.storage_ref).unwrap(),
            content,
            "{name}"
        );
        // And through the text form, as the database keeps it.
        let text = stored.storage_ref.to_string();
        assert_eq!(store.backend.read_str(&text).unwrap(), content, "{name}");
    }
}

fn the_ref_text_has_the_contract_format(store: Store) {
    let stored = store
        .backend
        .store(b"hostname r1\n", &path("123/r1.cfg"))
        .unwrap();
    let text = stored.storage_ref.to_string();
    if store.is_git {
        let (branch, rest) = text.split_once(':').unwrap();
        let (p, sha) = rest.rsplit_once('@').unwrap();
        assert_eq!(branch, "main");
        assert_eq!(p, "123/r1.cfg");
        assert_eq!(sha.len(), 40);
        assert_eq!(common::git(&store.root, &["rev-parse", "main"]).trim(), sha);
    } else {
        assert_eq!(text, "123/r1.cfg");
        assert!(store.root.join("123/r1.cfg").is_file());
    }
    assert_eq!(
        StorageRef::parse(store.backend.kind(), &text).unwrap(),
        stored.storage_ref
    );
}

fn storing_the_same_content_again_changes_nothing(store: Store) {
    let rel = path("7/core-sw.cfg");
    let first = store.backend.store(b"vlan 10\n", &rel).unwrap();
    let second = store.backend.store(b"vlan 10\n", &rel).unwrap();
    assert!(first.changed);
    assert!(
        !second.changed,
        "identical content must not be written again"
    );
    assert_eq!(first.storage_ref, second.storage_ref);
    assert_eq!(first.sha256, second.sha256);
}

fn the_sha256_is_of_the_content(store: Store) {
    let stored = store.backend.store(b"abc", &path("1/a.cfg")).unwrap();
    assert_eq!(
        stored.sha256,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

fn a_missing_backup_is_not_found_and_permanent(store: Store) {
    store.backend.store(b"x", &path("1/exists.cfg")).unwrap();
    let missing = match store.backend.kind() {
        StorageBackendKind::Git => {
            let head = common::git(&store.root, &["rev-parse", "main"]);
            vec![
                format!("main:1/missing.cfg@{}", head.trim()),
                format!("main:1/exists.cfg@{}", "0".repeat(40)),
                format!("main:1/exists.cfg@{}", "f".repeat(40)),
            ]
        }
        StorageBackendKind::Fs => vec!["1/missing.cfg".into(), "2/missing.cfg".into()],
    };
    for r in missing {
        let err = store.backend.read_str(&r).unwrap_err();
        assert!(matches!(err, StorageError::NotFound { .. }), "{r}: {err:?}");
        assert_eq!(err.retry(), Retry::Permanent, "{r}");
    }
}

fn a_store_that_does_not_exist_yet_reads_as_not_found(store: Store) {
    let r = match store.backend.kind() {
        StorageBackendKind::Git => format!("main:1/a.cfg@{}", "a".repeat(40)),
        StorageBackendKind::Fs => "1/a.cfg".into(),
    };
    let err = store.backend.read_str(&r).unwrap_err();
    assert!(matches!(err, StorageError::NotFound { .. }), "{err:?}");
    assert!(!store.root.exists(), "a read must not create the store");
}

fn many_threads_storing_at_once_lose_nothing(store: Store) {
    let backend = &store.backend;
    let refs: Vec<(StorageRef, Vec<u8>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                s.spawn(move || {
                    (0..25)
                        .map(|i| {
                            let content = format!("thread {t} store {i}\n").into_bytes();
                            let rel = path(&format!("{t}/dev-{i}.cfg"));
                            (backend.store(&content, &rel).unwrap().storage_ref, content)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(refs.len(), 200);
    for (r, content) in &refs {
        assert_eq!(&backend.read(r).unwrap(), content);
    }
    if store.is_git {
        let count = common::git(&store.root, &["rev-list", "--count", "main"]);
        assert_eq!(count.trim(), "200", "one commit per store");
    }
}

fn a_symlink_inside_the_store_is_never_followed(store: Store) {
    if store.is_git {
        // Git trees can hold symlinks too: a repository made by someone else.
        let repo = &store.root;
        std::fs::create_dir_all(repo).unwrap();
        common::git(repo, &["init", "--quiet", "--initial-branch=main"]);
        std::os::unix::fs::symlink("/etc/passwd", repo.join("link.cfg")).unwrap();
        common::git(repo, &["add", "link.cfg"]);
        common::git(repo, &["commit", "--quiet", "-m", "a symlink"]);
        let head = common::git(repo, &["rev-parse", "HEAD"]);
        let err = store
            .backend
            .read_str(&format!("main:link.cfg@{}", head.trim()))
            .unwrap_err();
        assert!(matches!(err, StorageError::Unsafe { .. }), "{err:?}");
        // Storing over it is refused rather than silently replacing it.
        let err = store.backend.store(b"x", &path("link.cfg")).unwrap_err();
        assert!(matches!(err, StorageError::Conflict { .. }), "{err:?}");
    } else {
        let outside = store.dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.cfg"), b"secret").unwrap();
        std::fs::create_dir_all(&store.root).unwrap();
        std::os::unix::fs::symlink(&outside, store.root.join("1")).unwrap();
        std::fs::create_dir_all(store.root.join("2")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret.cfg"), store.root.join("2/r.cfg")).unwrap();

        for rel in ["1/secret.cfg", "1/new.cfg"] {
            let err = store.backend.store(b"x", &path(rel)).unwrap_err();
            assert!(matches!(err, StorageError::Unsafe { .. }), "{rel}: {err:?}");
            let err = store.backend.read_str(rel).unwrap_err();
            assert!(matches!(err, StorageError::Unsafe { .. }), "{rel}: {err:?}");
        }
        let err = store.backend.read_str("2/r.cfg").unwrap_err();
        assert!(matches!(err, StorageError::Unsafe { .. }), "{err:?}");
        let err = store.backend.store(b"x", &path("2/r.cfg")).unwrap_err();
        assert!(matches!(err, StorageError::Unsafe { .. }), "{err:?}");
        assert!(!outside.join("new.cfg").exists());
        assert_eq!(
            std::fs::read(outside.join("secret.cfg")).unwrap(),
            b"secret"
        );
    }
}

fn a_file_where_a_directory_is_needed_is_a_conflict(store: Store) {
    store.backend.store(b"x", &path("a")).unwrap();
    let err = store.backend.store(b"y", &path("a/b.cfg")).unwrap_err();
    assert!(matches!(err, StorageError::Conflict { .. }), "{err:?}");
    store.backend.store(b"x", &path("d/e.cfg")).unwrap();
    let err = store.backend.store(b"y", &path("d")).unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::Conflict { .. } | StorageError::Unsafe { .. }
        ),
        "{err:?}"
    );
}

fn a_ref_of_the_other_backend_is_refused(store: Store) {
    let other = match store.backend.kind() {
        StorageBackendKind::Git => StorageRef::parse(StorageBackendKind::Fs, "1/a.cfg").unwrap(),
        StorageBackendKind::Fs => StorageRef::parse(
            StorageBackendKind::Git,
            &format!("main:1/a.cfg@{}", "a".repeat(40)),
        )
        .unwrap(),
    };
    let err = store.backend.read(&other).unwrap_err();
    assert_eq!(err.retry(), Retry::Permanent, "{err:?}");
}

fn a_batch_stores_each_item_as_its_own_backup(store: Store) {
    store.backend.store(b"a\n", &path("1/taken.cfg")).unwrap();
    let paths: Vec<RelPath> = (0..5).map(|i| path(&format!("2/dev-{i}.cfg"))).collect();
    let contents: Vec<Vec<u8>> = (0..5)
        .map(|i| format!("version {i}\n").into_bytes())
        .collect();
    let taken = path("1/taken.cfg");
    let mut items: Vec<StoreItem<'_>> = paths
        .iter()
        .zip(&contents)
        .map(|(rel_path, content)| StoreItem {
            content,
            rel_path,
            message: None,
            previous_rel_path: None,
        })
        .collect();
    // Same path, different content: a new version in git, a conflict in fs.
    items.push(StoreItem {
        content: b"b\n",
        rel_path: &taken,
        message: Some("replaced"),
        previous_rel_path: None,
    });
    let results = store.backend.store_many(&items).unwrap();
    assert_eq!(results.len(), 6);
    for (result, content) in results.iter().zip(&contents) {
        let stored = result.as_ref().unwrap();
        assert!(stored.changed);
        assert_eq!(&store.backend.read(&stored.storage_ref).unwrap(), content);
    }
    match (&results[5], store.is_git) {
        (Ok(s), true) => assert_eq!(store.backend.read(&s.storage_ref).unwrap(), b"b\n"),
        (Err(StorageError::Conflict { .. }), false) => {}
        (other, _) => panic!("unexpected {other:?}"),
    }
    if store.is_git {
        let count = common::git(&store.root, &["rev-list", "--count", "main"]);
        assert_eq!(count.trim(), "7", "one commit per item");
        let last = common::git(&store.root, &["log", "-1", "--format=%s", "main"]);
        assert_eq!(last.trim(), "replaced");
    }
}

fn a_renamed_file_reads_at_its_new_path_and_old_refs_still_read(store: Store) {
    let (old, new) = (path("7/core-old.cfg"), path("7/core-new.cfg"));
    let before = store.backend.store(b"hostname core\n", &old).unwrap();
    let item = StoreItem {
        content: b"hostname core\n",
        rel_path: &new,
        message: None,
        previous_rel_path: Some(&old),
    };
    let after = store
        .backend
        .store_many(std::slice::from_ref(&item))
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    assert_eq!(after.storage_ref.path(), &new);
    for r in [&before.storage_ref, &after.storage_ref] {
        assert_eq!(store.backend.read(r).unwrap(), b"hostname core\n");
    }
    if store.is_git {
        // One file per device: it moved, and the content did not change.
        assert!(!after.changed);
        assert_eq!(after.moved_from.as_ref(), Some(&old));
    } else {
        // One file per backup: a new file, the old one kept.
        assert!(after.changed);
        assert_eq!(after.moved_from, None);
        assert!(store.root.join("7/core-old.cfg").is_file());
        assert!(store.root.join("7/core-new.cfg").is_file());
    }
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod git {
            $( #[test] fn $case() { super::$case(super::Store::git()) } )*
        }
        mod fs {
            $( #[test] fn $case() { super::$case(super::Store::fs()) } )*
        }
    };
}

conformance!(
    stored_bytes_read_back_exactly,
    the_ref_text_has_the_contract_format,
    storing_the_same_content_again_changes_nothing,
    the_sha256_is_of_the_content,
    a_missing_backup_is_not_found_and_permanent,
    a_store_that_does_not_exist_yet_reads_as_not_found,
    many_threads_storing_at_once_lose_nothing,
    a_symlink_inside_the_store_is_never_followed,
    a_file_where_a_directory_is_needed_is_a_conflict,
    a_ref_of_the_other_backend_is_refused,
    a_batch_stores_each_item_as_its_own_backup,
    a_renamed_file_reads_at_its_new_path_and_old_refs_still_read,
);
