//! `AmqpBus` against the real Python Celery 5 (client, `rpc://` result
//! backend and worker) from `.venv-peers`, which `scripts/test` installs. The
//! Python side is `tests/python/celery_peer.py`.
//!
//! Without Celery these tests say so loudly and pass, except under CI
//! (`CI` set), where a missing peer is a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{BusUnderTest, amqp_url};
use devicevault_core::bus::{BusError, Task, TaskBus, TaskConsumer};
use serde_json::{Value, json};

fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python")
}

fn venv_bin(tool: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.venv-peers/bin")
        .join(tool)
}

/// The venv's python when it has Celery; `None` (after saying so) otherwise.
fn celery_python() -> Option<PathBuf> {
    let python = venv_bin("python");
    let ok = Command::new(&python)
        .args(["-c", "import celery"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    let msg = format!(
        "Python Celery is not installed in {} (scripts/test installs it: \
         `source scripts/services.sh && ensure_python_peers celery`)",
        python.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("\n!!!!!!!! SKIPPED: {msg} !!!!!!!!\n");
    None
}

/// Runs `celery_peer.py` as a client and returns its stdout's first line.
async fn python_client(python: &Path, args: &[&str]) -> String {
    let out = tokio::process::Command::new(python)
        .arg("celery_peer.py")
        .args(args)
        .current_dir(python_dir())
        .env("DEVICEVAULT_TEST_AMQP_URL", amqp_url())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(90), out)
        .await
        .expect("the Python client finishes")
        .unwrap();
    assert!(
        out.status.success(),
        "celery_peer.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A Python Celery worker on one queue, killed when dropped.
struct Worker {
    child: Child,
    dir: tempfile::TempDir,
}

impl Worker {
    fn start(queue: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("worker.log")).unwrap();
        // Spawned directly (no shell in between), so the pid is the worker's.
        let child = Command::new(venv_bin("celery"))
            .args([
                "-A",
                "celery_peer",
                "worker",
                "-Q",
                queue,
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
                "--hostname",
            ])
            .arg(format!("{}@%h", queue.replace('.', "-")))
            .current_dir(python_dir())
            .env("DEVICEVAULT_TEST_AMQP_URL", amqp_url())
            .env("CELERY_PEER_DIR", dir.path())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start the Celery worker");
        Self { child, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("worker.log")).unwrap_or_default()
    }

    /// What the worker's `storage.store` wrote for task `id`.
    async fn stored(&self, id: &str) -> Value {
        let path = self.dir.path().join(format!("{id}.json"));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(text) = std::fs::read_to_string(&path) {
                return serde_json::from_str(&text).unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "the worker did not run {id} in 60 s; its log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn store_payload(tag: &str) -> Value {
    json!({
        "task_id": format!("job-{tag}"),
        "task_identifier": format!("backup-{tag}"),
        "device_id": 7,
        "storage_backend": "git",
        "storage_config": { "repo_path": "/var/lib/devicevault/git" },
        "device_config": "hostname r1\ninterface Gi0/1\n description ünïcode\n",
        "is_binary": false,
    })
}

#[tokio::test]
async fn a_task_sent_by_python_celery_reaches_our_consumer() {
    let Some(python) = celery_python() else {
        return;
    };
    let t = BusUnderTest::amqp().await;
    let (bus, q) = (&t.bus, t.queue("send"));
    let mut c = bus.consume(&q).await.unwrap();
    let payload = store_payload("py-send");
    let id = python_client(&python, &["send", &q, &payload.to_string()]).await;
    let d = tokio::time::timeout(Duration::from_secs(30), c.next())
        .await
        .expect("the task arrives")
        .unwrap();
    assert_eq!(d.task.name, "storage.store");
    assert_eq!(d.task.id, id);
    assert_eq!(d.task.args, vec![payload]);
    assert!(d.task.kwargs.is_empty());
    assert_eq!(d.task.retries, 0);
    d.settle.ack().await.unwrap();
}

#[tokio::test]
async fn a_python_countdown_is_honoured() {
    let Some(python) = celery_python() else {
        return;
    };
    let t = BusUnderTest::amqp().await;
    let (bus, q) = (&t.bus, t.queue("countdown"));
    let mut c = bus.consume(&q).await.unwrap();
    let sent = Instant::now();
    let id = python_client(
        &python,
        &["send", &q, &store_payload("eta").to_string(), "3"],
    )
    .await;
    let d = tokio::time::timeout(Duration::from_secs(30), c.next())
        .await
        .expect("the task arrives")
        .unwrap();
    assert_eq!(d.task.id, id);
    // The Python process starts in well under 3 s; the eta was set when it
    // sent, so at least 3 s minus its start-up have passed.
    assert!(
        sent.elapsed() >= Duration::from_secs(3),
        "delivered {:?} after launching the client, before the 3 s countdown",
        sent.elapsed()
    );
    d.settle.ack().await.unwrap();
}

#[tokio::test]
async fn a_python_rpc_call_gets_our_reply_or_our_failure() {
    let Some(python) = celery_python() else {
        return;
    };
    let t = BusUnderTest::amqp().await;
    let (bus, q) = (&t.bus, t.queue("rpc"));
    let mut c = bus.consume(&q).await.unwrap();
    let server = tokio::spawn(async move {
        for _ in 0..2 {
            let d = c.next().await.unwrap();
            assert_eq!(d.task.name, "storage.read");
            let reference = d.task.kwargs["storage_ref"].as_str().unwrap().to_owned();
            let answer = if reference == "missing" {
                Err("storage_ref not found: missing".to_owned())
            } else {
                Ok(json!({
                    "task_id": d.task.id,
                    "status": "success",
                    "operation": "read",
                    "storage_ref": reference,
                    "content": "hostname r1\n",
                }))
            };
            d.settle.reply(answer).await.unwrap();
        }
    });
    let kwargs = json!({
        "storage_backend": "git",
        "storage_ref": "main:7/r1.txt@0123abcd",
        "storage_config": {},
        "task_identifier": "read-1",
        "is_binary": false,
    });
    let line = python_client(&python, &["call", &q, &kwargs.to_string()]).await;
    let out: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(out["result"]["content"], "hostname r1\n", "{out}");
    assert_eq!(out["result"]["storage_ref"], "main:7/r1.txt@0123abcd");
    assert_eq!(out["result"]["task_id"], out["id"]);

    let missing = json!({ "storage_backend": "git", "storage_ref": "missing" });
    let line = python_client(&python, &["call", &q, &missing.to_string()]).await;
    let out: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(out["error"], "RuntimeError", "{out}");
    assert_eq!(out["message"], "storage_ref not found: missing");
    server.await.unwrap();
}

#[tokio::test]
async fn a_python_celery_worker_runs_what_we_publish_and_answers_our_calls() {
    let Some(_python) = celery_python() else {
        return;
    };
    let t = BusUnderTest::amqp().await;
    let (bus, q) = (&t.bus, t.queue("worker"));
    // Declared by us first: the worker's own declaration must agree with it.
    bus.publish(
        &q,
        Task::with_arg("dv-1".into(), "storage.store", store_payload("dv-1")),
    )
    .await
    .unwrap();
    let worker = Worker::start(&q);
    let seen = worker.stored("dv-1").await;
    assert_eq!(seen["args"], json!([store_payload("dv-1")]));
    assert_eq!(seen["retries"], 0);

    let mut read = Task::with_arg("dv-2".into(), "storage.read", Value::Null);
    read.args.clear();
    read.kwargs
        .insert("storage_ref".into(), json!("fs:7/r1.txt"));
    let v = bus.call(&q, read, Duration::from_secs(60)).await;
    let v = v.unwrap_or_else(|e| panic!("{e}; worker log:\n{}", worker.log()));
    assert_eq!(v["content"], "read by python");
    assert_eq!(v["kwargs"]["storage_ref"], "fs:7/r1.txt");

    let mut failing = Task::with_arg("dv-3".into(), "storage.read", Value::Null);
    failing.args.clear();
    failing.kwargs.insert("fail".into(), json!("no such ref"));
    let e = bus
        .call(&q, failing, Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(e, BusError::Remote("ValueError: no such ref".into()));
}
