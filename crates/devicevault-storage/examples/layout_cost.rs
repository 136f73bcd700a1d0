//! What a commit costs in each layout, by fleet size (issue 21): bytes
//! written to the object database per commit, and time per store.
//!
//! ```text
//! cargo run --release -p devicevault-storage --example layout_cost -- [DEVICES…]
//! ```
//!
//! For each fleet size (default 1000 10000) and each layout, a repository
//! holding one configuration per device is made in one commit with
//! `git fast-import` (filling it through DeviceVault would take one commit
//! per device), then 400 changed configurations of random devices are
//! stored through the Git backend in group commits of 20, as the storage
//! worker batches them, with fsync. Needs `git`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use devicevault_core::{RelPath, StorageLayout};
use devicevault_storage::git::{GitBackend, GitConfig};
use devicevault_storage::{Backend, StoreItem};

const STORES: usize = 400;
const BATCH: usize = 20;

fn config(id: usize, round: usize) -> Vec<u8> {
    let mut s = format!("hostname dev-{id}\n! round {round}\n");
    for i in 0..60 {
        s.push_str(&format!(
            "interface GigabitEthernet0/{i}\n description port {i} of device {id}\n!\n"
        ));
    }
    s.into_bytes()
}

fn rel_path(id: usize) -> RelPath {
    RelPath::parse(&format!("{id}/dev-{id}.cfg")).expect("safe path")
}

/// The repository with every device's configuration, in `layout`, made
/// in one commit by `git fast-import`.
fn fill(repo: &Path, devices: usize, layout: StorageLayout) {
    let status = Command::new("git")
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(repo)
        .status()
        .expect("git is installed");
    assert!(status.success());
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(repo)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import");
    let mut input = std::io::BufWriter::new(child.stdin.take().expect("stdin"));
    let message = "fleet";
    writeln!(
        input,
        "commit refs/heads/main\ncommitter B <b@example.net> 0 +0000\ndata {}\n{message}",
        message.len()
    )
    .unwrap();
    for id in 1..=devices {
        let content = config(id, 0);
        let path = layout.place(&rel_path(id)).expect("placed");
        writeln!(input, "M 100644 inline {path}\ndata {}", content.len()).unwrap();
        input.write_all(&content).unwrap();
        writeln!(input).unwrap();
    }
    drop(input);
    assert!(child.wait().unwrap().success());
    // The layout the repository was written in, as the backend records it.
    std::fs::write(repo.join("devicevault-layout"), format!("{layout}\n")).unwrap();
}

fn objects_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            objects_bytes(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number of devices"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000]
    } else {
        sizes
    };
    let tmp = tempfile::tempdir().unwrap();
    println!(
        "{:>8} {:>7} {:>14} {:>12} {:>12} {:>12}",
        "devices", "layout", "bytes/commit", "ms/store", "root entries", "fill s"
    );
    for &devices in &sizes {
        for layout in StorageLayout::ALL {
            let repo = tmp.path().join(format!("{devices}-{layout}.git"));
            let started = Instant::now();
            fill(&repo, devices, layout);
            let fill_s = started.elapsed().as_secs_f64();
            let mut cfg = GitConfig::new(&repo);
            cfg.layout = layout;
            let backend = GitBackend::new(cfg);
            let before = objects_bytes(&repo.join("objects"));
            // Random devices (xorshift), each changed once per store.
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            let picks: Vec<usize> = (0..STORES)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % devices as u64) as usize + 1
                })
                .collect();
            let contents: Vec<(RelPath, Vec<u8>)> = picks
                .iter()
                .enumerate()
                .map(|(round, &id)| (rel_path(id), config(id, round + 1)))
                .collect();
            let started = Instant::now();
            let mut commits = 0;
            for chunk in contents.chunks(BATCH) {
                let items: Vec<StoreItem<'_>> = chunk
                    .iter()
                    .map(|(p, c)| StoreItem {
                        content: c,
                        rel_path: p,
                        message: None,
                        previous_rel_path: None,
                    })
                    .collect();
                for r in backend.store_many(&items).expect("store") {
                    commits += usize::from(r.expect("store").changed);
                }
            }
            let took = started.elapsed();
            let written = objects_bytes(&repo.join("objects")) - before;
            let root = Command::new("git")
                .arg("--git-dir")
                .arg(&repo)
                .args(["ls-tree", "main"])
                .output()
                .unwrap()
                .stdout
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .count();
            println!(
                "{devices:>8} {layout:>7} {:>14} {:>12.2} {root:>12} {fill_s:>12.1}",
                written / commits as u64,
                took.as_secs_f64() * 1000.0 / STORES as f64,
            );
            std::fs::remove_dir_all(&repo).unwrap();
        }
    }
}
