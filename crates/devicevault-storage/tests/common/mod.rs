//! Helpers shared by the storage test suites.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use devicevault_storage::Backend;
use devicevault_storage::fs::{FsBackend, FsConfig};
use devicevault_storage::git::{GitBackend, GitConfig};
use serde_json::{Map, Value, json};

/// A backend under test, rooted in a temporary directory that it removes.
pub struct Store {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub backend: Box<dyn Backend>,
    pub config: Map<String, Value>,
    pub is_git: bool,
}

impl Store {
    pub fn git() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo.git");
        let config = object(json!({ "repo_path": root, "branch": "main" }));
        let backend = Box::new(GitBackend::new(GitConfig::from_json(&config).unwrap()));
        Self {
            dir,
            root,
            backend,
            config,
            is_git: true,
        }
    }

    pub fn fs() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("backups");
        let config = object(json!({ "base_path": root }));
        let backend = Box::new(FsBackend::new(FsConfig::from_json(&config).unwrap()));
        Self {
            dir,
            root,
            backend,
            config,
            is_git: false,
        }
    }

    /// Checks the store's integrity: `git fsck --strict` for git.
    pub fn check(&self) {
        if self.is_git && self.root.exists() {
            fsck(&self.root);
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.check();
        }
    }
}

pub fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// Runs git with a clean environment (no user or system config).
pub fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.net")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.net")
        .output()
        .expect("git is installed");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn fsck(repo: &Path) {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["fsck", "--strict", "--no-progress", "--no-dangling"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git is installed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim().is_empty(),
        "git fsck --strict on {} failed: {stdout}{stderr}",
        repo.display()
    );
}

/// Contents that must survive byte for byte.
pub fn tricky_contents() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("empty", Vec::new()),
        ("trailing newline", b"hostname r1\n!\nend\n".to_vec()),
        ("no trailing newline", b"hostname r1\n!\nend".to_vec()),
        ("two trailing newlines", b"end\n\n".to_vec()),
        ("CRLF", b"hostname r1\r\n!\r\nend\r\n".to_vec()),
        ("lone CR", b"a\rb\r".to_vec()),
        ("non-UTF-8 latin-1", b"description caf\xe9 \xfc\n".to_vec()),
        (
            "NUL and all bytes",
            (0..=255u8).cycle().take(4096).collect(),
        ),
        ("UTF-8 BOM", b"\xef\xbb\xbfhostname r1\n".to_vec()),
        (
            "1 MiB",
            (0..1 << 20).map(|i| b"abcdefgh\n"[i % 9]).collect(),
        ),
    ]
}
