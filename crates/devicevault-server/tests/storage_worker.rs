//! The storage worker on its own, fed tasks on the in-process bus as a
//! device-results consumer or a Python Celery producer would send them:
//! what it refuses, and the failure record it leaves.

use std::sync::Arc;
use std::time::{Duration, Instant};

use devicevault_bus::{LocalBus, LocalLog};
use devicevault_core::bus::{StreamEntry, Task, TaskBus};
use devicevault_core::{StorageBackendKind, StorageResult};
use devicevault_server::Settings;
use devicevault_server::roles::storage_worker::{StorageWorker, run_storage_worker};
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
