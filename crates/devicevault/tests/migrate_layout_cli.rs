//! `devicevault storage migrate-layout` from the shell (issue 21): a flat
//! git location moves to fanout, its setting switches, its history follows
//! the files, every old ref reads, and a second run or an fs location is
//! refused.

use std::path::Path;
use std::process::{Command, Output};

use devicevault_core::layout::shard_of;
use devicevault_core::{RelPath, StorageBackendKind, StorageLayout};
use devicevault_db::Db;
use devicevault_storage::Backend;
use devicevault_storage::git::{GitBackend, GitConfig};

const BIN: &str = env!("CARGO_BIN_EXE_devicevault");

fn run(data: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("DEVICEVAULT_DATA_DIR", data)
        .env("DEVICEVAULT_DATABASE_URL", url)
        .output()
        .unwrap()
}

fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_layout_moves_a_flat_location_to_fanout_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let url = format!("sqlite:{}", dir.path().join("dv.db").display());
    let repo = dir.path().join("backups.git");
    let db = Db::connect(&url).await.unwrap();
    // A location saved before layouts existed: no `layout` key.
    let config = serde_json::json!({"repo_path": repo, "branch": "main"});
    let config = config.as_object().unwrap();
    let loc = db
        .create_location("flat", StorageBackendKind::Git, config)
        .await
        .unwrap();
    let fs_loc = db
        .create_location(
            "files",
            StorageBackendKind::Fs,
            serde_json::json!({"base_path": dir.path().join("fs")})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    let backend = GitBackend::new(GitConfig::from_json(config).unwrap());
    let mut refs = Vec::new();
    for round in 0..2 {
        for id in [1_i64, 12, 18, 300, 1234] {
            let content = format!("hostname r{id}\nround {round}\n");
            let rel = RelPath::parse(&format!("{id}/r{id}.cfg")).unwrap();
            refs.push((backend.store(content.as_bytes(), &rel).unwrap(), content));
        }
    }
    assert!(
        refs[0]
            .0
            .storage_ref
            .to_string()
            .starts_with("main:1/r1.cfg@")
    );

    let o = run(
        &data,
        &url,
        &[
            "storage",
            "migrate-layout",
            "--location",
            &loc.id.to_string(),
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("shard d2/: 1 device moved in commit "),
        "{out}"
    );
    assert!(out.contains("done: 5 devices moved in 5 commits"), "{out}");
    let tree: Vec<String> = git(&repo, &["ls-tree", "-r", "--name-only", "main"])
        .lines()
        .map(str::to_owned)
        .collect();
    let mut expected: Vec<String> = [1_i64, 12, 18, 300, 1234]
        .iter()
        .map(|id| format!("{}/{id}/r{id}.cfg", shard_of(*id)))
        .collect();
    expected.sort();
    assert_eq!(tree, expected);
    // The setting switched, and nothing else of the config changed.
    let after = db.location(loc.id).await.unwrap();
    assert_eq!(
        StorageLayout::of_config(&after.config),
        Ok(StorageLayout::Fanout)
    );
    assert_eq!(after.config.get("repo_path"), config.get("repo_path"));
    // History follows the move; the repository is sound.
    let follow = git(
        &repo,
        &[
            "log",
            "--follow",
            "--format=%H",
            "main",
            "--",
            "d2/04/1234/r1234.cfg",
        ],
    );
    assert_eq!(
        follow.lines().count(),
        3,
        "two versions and the move: {follow}"
    );
    git(&repo, &["fsck", "--strict", "--no-dangling"]);
    // Every ref handed out before still reads, through the CLI too.
    for (stored, content) in &refs {
        assert_eq!(
            backend.read(&stored.storage_ref).unwrap(),
            content.as_bytes()
        );
    }
    let o = run(
        &data,
        &url,
        &[
            "storage",
            "read",
            "--backend",
            "git",
            "--config",
            &serde_json::Value::Object(config.clone()).to_string(),
            "--ref",
            &refs[0].0.storage_ref.to_string(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout), refs[0].1);
    // A store with the config as it was (a task queued before) lands in
    // fanout.
    let stored = backend
        .store(
            b"hostname r1\nround 2\n",
            &RelPath::parse("1/r1.cfg").unwrap(),
        )
        .unwrap();
    assert!(
        stored
            .storage_ref
            .to_string()
            .starts_with("main:01/00/1/r1.cfg@"),
        "{}",
        stored.storage_ref
    );

    // Twice: refused, nothing changes.
    let tip = git(&repo, &["rev-parse", "main"]);
    let o = run(
        &data,
        &url,
        &[
            "storage",
            "migrate-layout",
            "--location",
            &loc.id.to_string(),
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("fanout layout already"), "{err}");
    assert_eq!(git(&repo, &["rev-parse", "main"]), tip);

    // Not a git location: refused.
    let o = run(
        &data,
        &url,
        &[
            "storage",
            "migrate-layout",
            "--location",
            &fs_loc.id.to_string(),
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("only git locations have a layout"), "{err}");
}
