//! Several OS processes storing into one repository at once lose no commit
//! and leave a repository that `git fsck --strict` accepts.
//!
//! The test re-runs its own test binary as the worker processes: the child
//! entry point below does the work only when `DEVICEVAULT_MP_WORKER` is set.

mod common;

use std::collections::HashMap;
use std::process::{Command, Stdio};

use devicevault_core::{RelPath, StorageBackendKind};
use devicevault_storage::{StoreItem, open_backend};
use serde_json::json;

const PROCESSES: usize = 4;
const STORES_PER_PROCESS: usize = 200;
const WORKER_ENV: &str = "DEVICEVAULT_MP_WORKER";

fn content(worker: usize, i: usize) -> String {
    format!("hostname sw-{worker}\n! store {i} of worker {worker}\nend\n")
}

fn rel_path(worker: usize, i: usize) -> String {
    // Every other store goes to a file all workers share, so the workers
    // contend on the same path as well as on the branch.
    if i.is_multiple_of(2) {
        "shared/all.cfg".into()
    } else {
        format!("{worker}/dev-{}.cfg", i % 7)
    }
}

/// The worker: stores its versions and prints `i <TAB> storage_ref` lines.
#[test]
fn worker_process_entry_point() {
    let Ok(spec) = std::env::var(WORKER_ENV) else {
        return;
    };
    let (repo, worker) = spec.split_once('|').expect("repo|worker");
    let worker: usize = worker.parse().unwrap();
    let config = common::object(json!({ "repo_path": repo }));
    let backend = open_backend(StorageBackendKind::Git, &config).unwrap();
    // Even workers store one at a time; odd ones in group commits of 10.
    let batch = if worker.is_multiple_of(2) { 1 } else { 10 };
    let indices: Vec<usize> = (0..STORES_PER_PROCESS).collect();
    for chunk in indices.chunks(batch) {
        let paths: Vec<RelPath> = chunk
            .iter()
            .map(|&i| RelPath::parse(&rel_path(worker, i)).unwrap())
            .collect();
        let contents: Vec<String> = chunk.iter().map(|&i| content(worker, i)).collect();
        let items: Vec<StoreItem<'_>> = paths
            .iter()
            .zip(&contents)
            .map(|(rel_path, c)| StoreItem {
                content: c.as_bytes(),
                rel_path,
                message: None,
                previous_rel_path: None,
            })
            .collect();
        for (&i, result) in chunk.iter().zip(backend.store_many(&items).unwrap()) {
            let stored = result.unwrap();
            assert!(stored.changed);
            println!("DVREF\t{i}\t{}", stored.storage_ref);
        }
    }
}

#[test]
fn four_processes_storing_200_each_into_one_repository_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("shared.git");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..PROCESSES)
        .map(|w| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "worker_process_entry_point",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(WORKER_ENV, format!("{}|{w}", repo.display()))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();

    let config = common::object(json!({ "repo_path": repo }));
    let backend = open_backend(StorageBackendKind::Git, &config).unwrap();
    let mut refs: HashMap<(usize, usize), String> = HashMap::new();
    for (w, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "worker {w} failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // libtest may print its own text on the same line as ours.
        for line in stdout.lines().filter_map(|l| l.split_once("DVREF\t")) {
            let mut parts = line.1.splitn(2, '\t');
            let i: usize = parts.next().unwrap().parse().unwrap();
            refs.insert((w, i), parts.next().unwrap().to_owned());
        }
    }
    assert_eq!(refs.len(), PROCESSES * STORES_PER_PROCESS);

    // Every store is one commit on the branch: none lost, none doubled.
    let reachable: std::collections::HashSet<String> = common::git(&repo, &["rev-list", "main"])
        .lines()
        .map(str::to_owned)
        .collect();
    let lost: Vec<_> = refs
        .iter()
        .filter(|(_, r)| !reachable.contains(r.rsplit_once('@').unwrap().1))
        .collect();
    assert!(lost.is_empty(), "commits not on the branch: {lost:?}");
    assert_eq!(reachable.len(), PROCESSES * STORES_PER_PROCESS);
    let commits: std::collections::HashSet<_> = refs
        .values()
        .map(|r| r.rsplit_once('@').unwrap().1.to_owned())
        .collect();
    assert_eq!(commits.len(), refs.len(), "each store has its own commit");
    // Every ref reads back the exact bytes its worker stored.
    for ((w, i), r) in &refs {
        assert_eq!(
            backend.read_str(r).unwrap(),
            content(*w, *i).as_bytes(),
            "{r}"
        );
    }
    common::fsck(&repo);
}
