//! The storage worker on its own, fed tasks on the in-process bus as a
//! device-results consumer or a Python Celery producer would send them:
//! what it refuses, and the failure record it leaves.

use std::sync::Arc;
use std::time::{Duration, Instant};

use devicevault_bus::{LocalBus, LocalLog};
use devicevault_core::bus::{BusError, StreamEntry, Task, TaskBus};
use devicevault_core::{StorageBackendKind, StorageResult};
use devicevault_pipeline::Settings;
use devicevault_pipeline::roles::storage_worker::{StorageWorker, run_storage_worker};
use devicevault_storage::StorageRoots;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// A storage worker for both backends on an in-process bus.
struct Worker {
    bus: LocalBus,
    log: LocalLog,
    stop: CancellationToken,
    dir: tempfile::TempDir,
}

impl Worker {
    fn start(settings: Settings) -> Self {
        let (bus, log, stop) = (LocalBus::new(), LocalLog::new(), CancellationToken::new());
        let worker = Arc::new(StorageWorker::new(log.clone(), Arc::new(settings)));
        for kind in StorageBackendKind::ALL {
            tokio::spawn(run_storage_worker(
                bus.clone(),
                worker.clone(),
                kind,
                stop.clone(),
            ));
        }
        Self {
            bus,
            log,
            stop,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Sends `storage.store` with `payload` and returns its result record.
    async fn store(&self, payload: Value) -> StorageResult {
        let ti = payload["task_identifier"].as_str().unwrap().to_owned();
        let queue = format!("storage.{}", payload["storage_backend"].as_str().unwrap());
        self.bus
            .publish(&queue, Task::with_arg(ti.clone(), "storage.store", payload))
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = self
                .log
                .entries("storage:results")
                .iter()
                .map(|e: &StreamEntry| StorageResult::from_fields(&e.fields).unwrap())
                .find(|r| r.task_identifier == ti);
            if let Some(r) = found {
                return r;
            }
            assert!(Instant::now() < deadline, "no result for {ti}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn git(repo: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn store_task(ti: &str, device_id: i64, config: Value, rel_path: &str) -> Value {
    let backend = if config.get("repo_path").is_some() {
        "git"
    } else {
        "fs"
    };
    json!({
        "task_id": ti, "task_identifier": ti, "device_id": device_id,
        "storage_backend": backend, "storage_config": config,
        "device_config": format!("hostname device-{device_id}\n"),
        "storage_rel_path": rel_path,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_cannot_move_another_devices_file() {
    let w = Worker::start(Settings::default());
    let repo = w.dir.path().join("repo.git");
    let config = json!({"repo_path": repo});
    let theirs = w
        .store(store_task("t8", 8, config.clone(), "8/edge.cfg"))
        .await;
    assert_eq!(theirs.status.as_str(), "success");
    let before = git(&repo, &["rev-parse", "main"]);

    let mut hostile = store_task("t7", 7, config.clone(), "7/core.cfg");
    hostile["storage_previous_rel_path"] = json!("8/edge.cfg");
    let r = w.store(hostile).await;
    assert_eq!(r.status.as_str(), "failure");
    let log = serde_json::to_string(&r.log).unwrap();
    assert!(
        log.contains("storage_previous_rel_path") && log.contains("7/"),
        "the failure says why: {log}"
    );
    assert_eq!(
        git(&repo, &["rev-parse", "main"]),
        before,
        "nothing committed"
    );
    assert_eq!(
        git(&repo, &["ls-tree", "-r", "--name-only", "main"]).trim(),
        "8/edge.cfg"
    );

    // Its own file it may move.
    w.store(store_task("t7a", 7, config.clone(), "7/old.cfg"))
        .await;
    let mut rename = store_task("t7b", 7, config, "7/new.cfg");
    rename["storage_previous_rel_path"] = json!("7/old.cfg");
    let r = w.store(rename).await;
    assert_eq!(r.status.as_str(), "success", "{:?}", r.log);
    assert_eq!(r.changed, Some(false));
    assert!(
        serde_json::to_string(&r.log)
            .unwrap()
            .contains("moved from 7/old.cfg")
    );
    assert_eq!(
        git(&repo, &["ls-tree", "-r", "--name-only", "main"]),
        "7/new.cfg\n8/edge.cfg\n"
    );
}

/// A worker whose storage roots are `<dir>/roots`, and that directory.
fn rooted_worker() -> (Worker, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("roots");
    std::fs::create_dir(&root).unwrap();
    let mut w = Worker::start(Settings {
        storage_roots: Some(StorageRoots::parse(&root.display().to_string()).unwrap()),
        ..Settings::default()
    });
    w.dir = dir;
    (w, root)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outside_the_storage_roots_fails_for_good_and_writes_nothing() {
    let (w, root) = rooted_worker();
    let outside = w.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
    let cases = [
        ("git", json!({"repo_path": outside.join("repo.git")})),
        ("fs", json!({"base_path": outside.join("fs")})),
        (
            "dotdot",
            json!({"repo_path": root.join("../outside/dotdot.git")}),
        ),
        ("symlink", json!({"base_path": root.join("link/fs")})),
    ];
    for (i, (name, config)) in cases.into_iter().enumerate() {
        let path = config
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned();
        let r = w
            .store(store_task(&format!("out-{i}"), 7, config, "7/r.cfg"))
            .await;
        assert_eq!(r.status.as_str(), "failure", "{name}");
        assert_eq!(r.storage_ref, "");
        let log = serde_json::to_string(&r.log).unwrap();
        assert!(
            log.contains(&format!("store failed: refusing {path}"))
                && log.contains(&format!("outside the storage roots {}", root.display())),
            "{name}: the log names the path and the roots: {log}"
        );
    }
    // Permanent: one record each, no retry.
    assert_eq!(w.log.entries("storage:results").len(), 4);
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written outside the roots"
    );

    // Inside the roots, stores work as ever.
    let inside = w
        .store(store_task(
            "in",
            7,
            json!({"repo_path": root.join("site/repo.git")}),
            "7/r.cfg",
        ))
        .await;
    assert_eq!(inside.status.as_str(), "success", "{:?}", inside.log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_outside_the_storage_roots_answers_a_failure_with_the_reason() {
    let (w, root) = rooted_worker();
    // A repository outside the roots that holds a backup.
    let outside = w.dir.path().join("outside.git");
    let stored = devicevault_storage::store_backup(
        StorageBackendKind::Git,
        b"secret config\n",
        "7/r.cfg",
        json!({"repo_path": outside}).as_object().unwrap(),
    )
    .unwrap();
    let mut kwargs = serde_json::Map::new();
    kwargs.insert("storage_backend".into(), "git".into());
    kwargs.insert("storage_ref".into(), stored.storage_ref.to_string().into());
    kwargs.insert("storage_config".into(), json!({"repo_path": outside}));
    let task = Task {
        id: "read-1".into(),
        name: "storage.read".into(),
        args: Vec::new(),
        kwargs,
        retries: 0,
    };
    let err = w
        .bus
        .call("storage.git", task, Duration::from_secs(20))
        .await
        .unwrap_err();
    let BusError::Remote(reason) = err else {
        panic!("expected a failure reply, got {err:?}");
    };
    assert!(
        reason.contains(&outside.display().to_string())
            && reason.contains(&root.display().to_string()),
        "{reason}"
    );
}
