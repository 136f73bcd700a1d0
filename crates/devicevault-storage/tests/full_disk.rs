//! A full disk: a store fails with an error that says so and that a retry
//! can cure, nothing already stored is damaged, and stores work again once
//! there is room. The store lives on a small tmpfs mounted for the test
//! (root only: `scripts/test` runs as root in CI).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{fsck, object};
use devicevault_core::{RelPath, Retry, RetryClass};
use devicevault_storage::fs::{FsBackend, FsConfig};
use devicevault_storage::git::{GitBackend, GitConfig};
use devicevault_storage::{Backend, StorageError};
use serde_json::json;

/// A tmpfs of `size` mounted on a temporary directory, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        assert!(
            is_root(),
            "the full-disk tests mount a tmpfs and need root (scripts/test runs as root)"
        );
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "mount a {size} tmpfs");
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills what is left with one file, to be removed to make room.
    fn fill(&self) -> PathBuf {
        let filler = self.path().join("filler");
        let chunk = vec![0u8; 4096];
        let mut f = std::fs::File::create(&filler).unwrap();
        use std::io::Write;
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn path(s: &str) -> RelPath {
    RelPath::parse(s).unwrap()
}

fn assert_full_disk_error(e: &StorageError) {
    let text = e.to_string();
    assert!(
        text.contains("No space left on device"),
        "the error names the cause: {text}"
    );
    assert_eq!(e.retry(), Retry::Transient, "room can be made: {text}");
}

#[test]
fn git_a_full_disk_fails_the_store_with_the_cause_and_damages_nothing() {
    let disk = SmallDisk::mount("2m");
    let repo = disk.path().join("r.git");
    let b = GitBackend::new(GitConfig::from_json(&object(json!({ "repo_path": repo }))).unwrap());
    let first = b.store(b"hostname r1\n", &path("1/r1.cfg")).unwrap();
    let filler = disk.fill();
    // Incompressible, so that zlib cannot squeeze it into what is left.
    let mut big = Vec::with_capacity(256 * 1024);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while big.len() < 256 * 1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        big.extend_from_slice(&x.to_le_bytes());
    }
    let e = b.store(&big, &path("2/r2.cfg")).unwrap_err();
    assert_full_disk_error(&e);
    // What was stored before reads back; the branch did not move.
    assert_eq!(b.read(&first.storage_ref).unwrap(), b"hostname r1\n");
    std::fs::remove_file(filler).unwrap();
    fsck(&repo);
    let second = b.store(&big, &path("2/r2.cfg")).unwrap();
    assert_eq!(b.read(&second.storage_ref).unwrap(), big);
    fsck(&repo);
}

#[test]
fn fs_a_full_disk_fails_the_store_with_the_cause_and_leaves_no_partial_file() {
    let disk = SmallDisk::mount("1m");
    let base = disk.path().join("backups");
    let b = FsBackend::new(FsConfig::from_json(&object(json!({ "base_path": base }))).unwrap());
    let first = b.store(b"hostname r1\n", &path("1/a.txt")).unwrap();
    let filler = disk.fill();
    let big = vec![b'x'; 256 * 1024];
    let e = b.store(&big, &path("2/b.txt")).unwrap_err();
    assert_full_disk_error(&e);
    assert!(
        !base.join("2/b.txt").exists(),
        "no partial backup under its final name"
    );
    assert_eq!(b.read(&first.storage_ref).unwrap(), b"hostname r1\n");
    std::fs::remove_file(filler).unwrap();
    let second = b.store(&big, &path("2/b.txt")).unwrap();
    assert_eq!(b.read(&second.storage_ref).unwrap(), big);
}
