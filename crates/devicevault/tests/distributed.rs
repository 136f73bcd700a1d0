//! Distributed mode only: the seed's verification steps as written, and a
//! 1,000-device run through kill -9 of every role, a broker restart and a
//! Redis restart.

mod suite;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use devicevault_sim::{Faults, SimConfig};
use serde_json::json;
use suite::harness::{Harness, Mode, git};

/// The entries of `redis-cli XRANGE` output: an id line, then field and
/// value lines.
fn stream_entries(xrange: &str) -> Vec<std::collections::HashMap<String, String>> {
    let is_id = |l: &str| {
        l.split_once('-').is_some_and(|(a, b)| {
            !a.is_empty() && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
        })
    };
    let mut entries = Vec::new();
    let mut lines = xrange.lines().peekable();
    while let Some(line) = lines.next() {
        if !is_id(line) {
            continue;
        }
        let mut fields = std::collections::HashMap::new();
        while let Some(field) = lines.next_if(|l| !is_id(l)) {
            let value = lines.next().unwrap_or_default();
            fields.insert(field.to_owned(), value.to_owned());
        }
        entries.push(fields);
    }
    entries
}

fn redis_cli(args: &[&str]) -> String {
    let out = Command::new("redis-cli").args(args).output().unwrap();
    assert!(out.status.success(), "redis-cli {args:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_verification_steps_pass_as_written() {
    let mut h = Harness::start(
        Mode::Distributed,
        SimConfig {
            devices: 1,
            platforms: vec!["cisco_ios".into()],
            ..SimConfig::default()
        },
    )
    .await;
    let (_, ids) = h.inventory().await;
    let ti = h.backup_now(ids[0]).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    let name = h.processes().name.clone();

    // 4. Observe the pipeline: both streams carry the seed's fields.
    let device = redis_cli(&[
        "-n",
        "1",
        "XREAD",
        "COUNT",
        "10",
        "STREAMS",
        &format!("{name}:device:results"),
        "0",
    ]);
    for field in [
        "task_id",
        "task_identifier",
        "device_id",
        "status",
        "success",
        "timestamp",
        "log",
        "device_config",
        "collection_duration_ms",
        "initiated_at",
    ] {
        assert!(
            device.lines().any(|l| l == field),
            "device:results lacks {field}"
        );
    }
    assert!(device.contains(&ti));
    let storage = redis_cli(&[
        "-n",
        "1",
        "XREAD",
        "COUNT",
        "10",
        "STREAMS",
        &format!("{name}:storage:results"),
        "0",
    ]);
    for field in [
        "task_id",
        "task_identifier",
        "device_id",
        "storage_backend",
        "storage_ref",
        "status",
        "timestamp",
        "log",
        "operation",
        "store",
        "git",
    ] {
        assert!(
            storage.lines().any(|l| l == field),
            "storage:results lacks {field}"
        );
    }
    // 5. The database rows.
    let results =
        h.db.device_results(
            Some(ids[0]),
            &devicevault_db::Scope::All,
            devicevault_db::Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(results.rows.len(), 1);
    let stored =
        h.db.stored_backups(
            Some(ids[0]),
            &devicevault_db::Scope::All,
            devicevault_db::Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(stored.rows.len(), 1);
    assert!(storage.contains(&stored.rows[0].storage_ref));
    // 6. Retrieval through storage.read over RabbitMQ.
    let r = h
        .call(
            "GET",
            &format!("/api/stored-backups/{}/download/", stored.rows[0].id),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len() as i64, stored.rows[0].size.unwrap());
    // 7. The repository.
    let log = git(&h.repo_path(), &["log", "--oneline"]);
    assert_eq!(log.lines().count(), 1, "{log}");
    h.stop().await;
}

/// Each distributed role serves its own `/metrics` on
/// `DEVICEVAULT_METRICS_ADDR` and promtool accepts it: a second instance of
/// every role (any number may run) is started with a listener beside the
/// deployment after a backup went through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_serves_metrics_that_promtool_accepts() {
    let mut h = Harness::start(
        Mode::Distributed,
        SimConfig {
            devices: 1,
            platforms: vec!["cisco_ios".into()],
            ..SimConfig::default()
        },
    )
    .await;
    let (_, ids) = h.inventory().await;
    let ti = h.backup_now(ids[0]).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    let roles: [&[&str]; 8] = [
        &["api", "--http-addr", "127.0.0.1:0"],
        &["scheduler"],
        &["consume", "device-results"],
        &["consume", "storage-results"],
        &["storage-worker", "--backend", "git"],
        &["storage-worker", "--backend", "fs"],
        &["collector", "--group", "default"],
        &["notifier"],
    ];
    for role in roles {
        let addr = h.processes().spawn_with_metrics(role).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let text = loop {
            let mut c = devicevault_client::HttpClient::new(addr);
            match c.get("/metrics").await {
                Ok(r) if r.status == 200 => break String::from_utf8(r.body).unwrap(),
                other => {
                    assert!(
                        Instant::now() < deadline,
                        "{role:?}: no metrics at {addr}: {other:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        devicevault_testkit::promtool::assert_accepts(&text);
        assert!(text.contains("devicevault_jobs_total"), "{role:?}: {text}");
        // What the role consumes, asked of RabbitMQ and Redis at the scrape.
        let s = devicevault_testkit::promtool::samples(&text);
        let name = h.processes().name.clone();
        let expected = match role[0] {
            "collector" => {
                Some(r#"devicevault_queue_consumers{queue="collector.group.default"}"#.to_owned())
            }
            "storage-worker" => Some(format!(
                r#"devicevault_queue_consumers{{queue="storage.{}"}}"#,
                role[2]
            )),
            "consume" => {
                let stream = if role[1] == "device-results" {
                    "device"
                } else {
                    "storage"
                };
                Some(format!(
                    r#"devicevault_stream_pending_entries{{group="devicevault",stream="{name}:{stream}:results"}}"#
                ))
            }
            _ => None,
        };
        if let Some(series) = expected {
            let v = s
                .get(&series)
                .unwrap_or_else(|| panic!("{role:?}: no {series} in {text}"));
            if series.contains("consumers") {
                // The deployment's role and this one.
                assert!(*v >= 1.0, "{role:?}: {series} = {v}");
            } else {
                assert_eq!(*v, 0.0, "{role:?}: {series}");
            }
        }
        // The fleet's figures come from the API only, so each is shown once.
        assert_eq!(
            text.contains("devicevault_devices_stale"),
            role[0] == "api",
            "{role:?}: {text}"
        );
    }
    h.stop().await;
}

/// A private Redis with an append-only file, restartable on its port.
struct PrivateRedis {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PrivateRedis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = Self {
            port,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        r.spawn();
        r
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
            ])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn restart(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGTERM: Redis flushes its append-only file and exits.
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
        self.spawn();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// How the broker is restarted in the middle of the fault run.
#[derive(Clone, Copy)]
enum BrokerRestart {
    /// The deployment's own vhost (connections closed, queues recovered
    /// from disk): runs beside the other tests.
    Vhost,
    /// The whole RabbitMQ node (`stop_app`, `start_app`): disturbs every
    /// other user of the broker, so it runs alone.
    Node,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_job_ends_stored_once_through_kill_9_and_broker_and_redis_restarts() {
    fault_run(BrokerRestart::Vhost).await;
}

/// The same run through a restart of the whole RabbitMQ node. `scripts/test`
/// runs the ignored tests after the parallel suite has finished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts the shared RabbitMQ node; scripts/test runs it alone"]
async fn every_job_ends_stored_once_through_kill_9_and_a_rabbitmq_node_restart() {
    fault_run(BrokerRestart::Node).await;
}

async fn fault_run(broker: BrokerRestart) {
    const DEVICES: usize = 1000;
    let mut redis = PrivateRedis::start();
    let env = vec![
        (
            "DEVICEVAULT_REDIS_URL".to_owned(),
            format!("redis://127.0.0.1:{}/0", redis.port),
        ),
        ("DEVICEVAULT_JOB_DEADLINE_S".to_owned(), "30".to_owned()),
        ("DEVICEVAULT_SWEEP_INTERVAL_S".to_owned(), "2".to_owned()),
        ("DEVICEVAULT_RECLAIM_IDLE_S".to_owned(), "4".to_owned()),
    ];
    let mut h = Harness::start_with(
        Mode::Distributed,
        SimConfig {
            devices: DEVICES,
            platforms: vec!["cisco_ios".into(), "arista_eos".into()],
            config_lines: 50,
            faults: Faults {
                throttle_bytes_per_sec: Some(1_000),
                ..Faults::default()
            },
            ..SimConfig::default()
        },
        env,
    )
    .await;
    // Two storage workers on the one repository, which they pack (git
    // repack beside the stores) every ~500 loose objects: several times in
    // the run, through the kills.
    h.processes()
        .spawn(&["storage-worker", "--backend", "git"])
        .unwrap();
    let (loc, ids) = h.inventory().await;
    let repo = h.repo_path();
    let r = h
        .call(
            "PATCH",
            &format!("/api/backup-locations/{loc}/"),
            Some(
                json!({"config": {"repo_path": repo, "branch": "main", "pack_loose_objects": 500}}),
            ),
        )
        .await;
    assert_eq!(r.status, 200);
    // Faults while the run is in flight: a role killed (-9) and restarted
    // after every fifth of the submissions.
    let faults: [(&str, &[&str]); 4] = [
        (
            "collector",
            &["collector", "--group", "default", "--group", "dmz"],
        ),
        ("storage-worker", &["storage-worker", "--backend", "git"]),
        ("consume device-results", &["consume", "device-results"]),
        ("consume storage-results", &["consume", "storage-results"]),
    ];
    let mut jobs = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        jobs.push(h.backup_now(*id).await);
        if i % (DEVICES / 5) == DEVICES / 5 - 1
            && let Some((role, args)) = faults.get(i / (DEVICES / 5))
        {
            assert!(h.processes().kill(role), "no role {role}");
            tokio::time::sleep(Duration::from_millis(200)).await;
            h.processes().spawn(args).unwrap();
        }
    }
    let done_before =
        h.db.stored_backups(
            None,
            &devicevault_db::Scope::All,
            devicevault_db::Page {
                limit: 1,
                offset: 0,
            },
        )
        .await
        .unwrap()
        .total;
    tokio::task::block_in_place(|| match broker {
        BrokerRestart::Vhost => h.processes().restart_broker().unwrap(),
        BrokerRestart::Node => h.processes().restart_broker_node().unwrap(),
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::task::block_in_place(|| redis.restart());
    assert!(
        done_before < DEVICES as i64,
        "the faults must land mid-run ({done_before} of {DEVICES} already stored)"
    );

    let deadline = Instant::now() + Duration::from_secs(240);
    let mut stored = 0;
    for ti in &jobs {
        loop {
            let j = h
                .call("GET", &format!("/api/jobs/{ti}/"), None)
                .await
                .json();
            match j["state"].as_str() {
                Some("stored") => {
                    stored += 1;
                    break;
                }
                Some("failed") => {
                    assert!(
                        j["reason"].as_str().is_some_and(|r| !r.is_empty()),
                        "a failure says why: {j}"
                    );
                    break;
                }
                _ => {
                    assert!(Instant::now() < deadline, "job never finished: {j}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    let rows =
        h.db.stored_backups(
            None,
            &devicevault_db::Scope::All,
            devicevault_db::Page {
                limit: 5000,
                offset: 0,
            },
        )
        .await
        .unwrap();
    let success: Vec<_> = rows
        .rows
        .iter()
        .filter(|r| r.status == devicevault_core::Status::Success)
        .collect();
    assert_eq!(
        success.len(),
        stored,
        "exactly one StoredBackup per stored job"
    );
    let mut tis: Vec<&str> = rows
        .rows
        .iter()
        .map(|r| r.task_identifier.as_str())
        .collect();
    tis.sort_unstable();
    tis.dedup();
    assert_eq!(tis.len(), rows.rows.len());
    assert!(
        stored >= DEVICES * 9 / 10,
        "only {stored} of {DEVICES} stored"
    );
    git(&h.repo_path(), &["fsck", "--strict"]);
    let packs = git(&h.repo_path(), &["count-objects", "-v"]);
    assert!(
        !packs.contains("\npacks: 0\n"),
        "the workers packed the repository: {packs}"
    );
    let commits: usize = git(&h.repo_path(), &["rev-list", "--count", "main"])
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        commits, stored,
        "one commit per device, none lost, none doubled"
    );
    let r = h.call("GET", "/api/health/", None).await;
    assert_eq!(r.status, 200, "{}", json!(r.json()));
    h.stop().await;
}

fn python() -> std::path::PathBuf {
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv-peers/bin/python");
    let p = std::path::PathBuf::from(venv);
    assert!(
        p.exists(),
        "{venv} is missing: scripts/test installs the Python peers (celery)"
    );
    p
}

const CELERY_PEER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../devicevault-bus/tests/python/celery_peer.py"
);

fn celery_client(h: &mut Harness, args: &[&str]) -> String {
    let url = format!("amqp://guest:guest@127.0.0.1:5672/{}", h.processes().name);
    let out = Command::new(python())
        .arg(CELERY_PEER)
        .args(args)
        .env("DEVICEVAULT_TEST_AMQP_URL", url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "celery_peer {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A Python Celery 5 client stores through our storage worker (the result
/// lands on storage:results) and reads back with `.get(timeout=60)`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_celery_clients_store_and_read_through_our_storage_worker() {
    let mut h = Harness::start(Mode::Distributed, SimConfig::default()).await;
    let repo = h.repo_path();
    let name = h.processes().name.clone();
    let payload = json!({
        "task_id": "py-1", "task_identifier": "python:7:1", "device_id": 7, "storage_backend": "git",
        "storage_config": {"repo_path": repo, "branch": "main"},
        "device_config": "hostname from-python\n",
    });
    let h2 = &mut h;
    tokio::task::block_in_place(|| {
        celery_client(h2, &["send", "storage.git", &payload.to_string()])
    });
    let stream = format!("{name}:storage:results");
    let deadline = Instant::now() + Duration::from_secs(30);
    let entry = loop {
        let out = redis_cli(&["-n", "1", "XRANGE", &stream, "-", "+"]);
        if out.contains("python:7:1") {
            break out;
        }
        assert!(
            Instant::now() < deadline,
            "no storage result for the Python task"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(entry.lines().any(|l| l == "success"), "{entry}");
    let storage_ref = entry
        .lines()
        .find(|l| l.starts_with("main:7/"))
        .expect("a git storage_ref")
        .to_owned();
    assert_eq!(
        git(
            &repo,
            &[
                "show",
                &format!(
                    "main:{}",
                    storage_ref
                        .split('@')
                        .next()
                        .unwrap()
                        .trim_start_matches("main:")
                )
            ]
        ),
        "hostname from-python\n"
    );

    let kwargs = json!({"storage_backend": "git", "storage_ref": storage_ref,
                        "storage_config": {"repo_path": repo}, "task_identifier": "python:7:1"});
    let h2 = &mut h;
    let out = tokio::task::block_in_place(|| {
        celery_client(h2, &["call", "storage.git", &kwargs.to_string()])
    });
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["result"]["content"], "hostname from-python\n", "{v}");
    assert_eq!(v["result"]["operation"], "read");
    // A read of a ref that does not exist raises in Python with our reason.
    let bad = json!({"storage_backend": "git", "storage_ref": format!("main:7/x.cfg@{}", "ab".repeat(20)),
                     "storage_config": {"repo_path": repo}});
    let h2 = &mut h;
    let out = tokio::task::block_in_place(|| {
        celery_client(h2, &["call", "storage.git", &bad.to_string()])
    });
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["error"].is_string(), "{v}");
    assert!(v["message"].as_str().unwrap().contains("abab"), "{v}");
    h.stop().await;
}

/// With `DEVICEVAULT_STORAGE_ROOTS` set, a `storage.store` that names a
/// repository outside the roots (sent straight to the broker, as any Celery
/// producer could) leaves a failure record that says which path and which
/// roots, and nothing is written there; the API refuses such a location.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outside_the_storage_roots_fails_with_the_reason_and_writes_nothing() {
    use devicevault_core::bus::{Task, TaskBus as _};

    let roots = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = roots.path().display().to_string();
    let mut h = Harness::start_with(
        Mode::Distributed,
        SimConfig {
            devices: 1,
            platforms: vec!["cisco_ios".into()],
            ..SimConfig::default()
        },
        vec![("DEVICEVAULT_STORAGE_ROOTS".to_owned(), root.clone())],
    )
    .await;
    let r = h
        .call(
            "POST",
            "/api/backup-locations/",
            Some(json!({"name": "out", "location_type": "git",
                        "config": {"repo_path": outside.path().join("repo.git")}})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["detail"]["config"][0]
            .as_str()
            .unwrap()
            .contains(&format!("outside the storage roots {root}")),
        "{}",
        r.json()
    );

    let broker_url = h
        .processes()
        .env
        .iter()
        .find(|(k, _)| k == "DEVICEVAULT_BROKER_URL")
        .unwrap()
        .1
        .clone();
    let bus = devicevault_bus::AmqpBus::connect(&broker_url, 1)
        .await
        .unwrap();
    let out_repo = outside.path().join("repo.git");
    let in_repo = roots.path().join("repo.git");
    for (ti, repo) in [("roots:7:out", &out_repo), ("roots:7:in", &in_repo)] {
        let payload = json!({
            "task_id": ti, "task_identifier": ti, "device_id": 7, "storage_backend": "git",
            "storage_config": {"repo_path": repo},
            "device_config": "hostname r7\n",
        });
        bus.publish(
            "storage.git",
            Task::with_arg(ti.to_owned(), "storage.store", payload),
        )
        .await
        .unwrap();
    }
    let name = h.processes().name.clone();
    let stream = format!("{name}:storage:results");
    let deadline = Instant::now() + Duration::from_secs(30);
    let entries = loop {
        let out = redis_cli(&["-n", "1", "XRANGE", &stream, "-", "+"]);
        if out.contains("roots:7:out") && out.contains("roots:7:in") {
            break out;
        }
        assert!(Instant::now() < deadline, "no storage results: {out}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let record = |ti: &str| {
        stream_entries(&entries)
            .into_iter()
            .find(|e| e.get("task_identifier").map(String::as_str) == Some(ti))
            .unwrap_or_else(|| panic!("no record of {ti}: {entries}"))
    };
    let failed = record("roots:7:out");
    assert_eq!(failed["status"], "failure", "{failed:?}");
    assert!(
        failed["log"].contains(&format!(
            "store failed: refusing {}: it is outside the storage roots {root}",
            out_repo.display()
        )),
        "the log says which path and which roots: {failed:?}"
    );
    assert_eq!(record("roots:7:in")["status"], "success");
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "nothing written outside the roots"
    );
    git(&in_repo, &["fsck", "--strict"]);
    h.stop().await;
}

/// Malformed task bodies and stream entries go to dead letters with a
/// reason, and every role keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_tasks_and_entries_are_dead_lettered_and_roles_keep_running() {
    let mut h = Harness::start(
        Mode::Distributed,
        SimConfig {
            devices: 1,
            platforms: vec!["cisco_ios".into()],
            ..SimConfig::default()
        },
    )
    .await;
    let (_, ids) = h.inventory().await;
    let name = h.processes().name.clone();
    let url = format!("amqp://guest:guest@127.0.0.1:5672/{name}");
    // Raw AMQP messages a Celery client could never have sent.
    let script = r#"
import sys, time, kombu
with kombu.Connection(sys.argv[1]) as conn:
    # The roles declare their exchanges as they start: wait for both (a
    # failed passive declare closes only its channel).
    for q in ["storage.git", "collector.group.default"]:
        for attempt in range(600):
            ch = conn.channel()
            try:
                ch.exchange_declare(q, "direct", passive=True)
                ch.close()
                break
            except Exception:
                time.sleep(0.1)
        else:
            sys.exit("exchange " + q + " never appeared")
    p = conn.Producer()
    for q in ["storage.git", "collector.group.default"]:
        p.publish(b"not json {", exchange=q, routing_key=q, content_type="application/json",
                  content_encoding="utf-8", headers={"task": "storage.store", "id": "bad-" + q})
        p.publish(b'{"wrong": "shape"}', exchange=q, routing_key=q, content_type="application/json",
                  content_encoding="utf-8", headers={"task": "device.collect", "id": "shape-" + q})
    # 100 MB, larger than a worker accepts.
    p.publish(b"[" + b"1," * (50 << 20) + b"1]", exchange="storage.git", routing_key="storage.git",
              content_type="application/json", content_encoding="utf-8",
              headers={"task": "storage.store", "id": "huge"})
"#;
    let out = Command::new(python())
        .args(["-c", script, &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Stream entries that are not results: garbage, wrong types, a 1 MB field.
    let stream = format!("{name}:device:results");
    redis_cli(&["-n", "1", "XADD", &stream, "*", "garbage", "{"]);
    redis_cli(&[
        "-n",
        "1",
        "XADD",
        &stream,
        "*",
        "task_identifier",
        "t",
        "device_id",
        "not-a-number",
        "status",
        "success",
    ]);
    // A 100 MB field, through stdin (`-x` makes it the last argument).
    let mut xadd = Command::new("redis-cli")
        .args([
            "-n",
            "1",
            "-x",
            "XADD",
            &stream,
            "*",
            "task_identifier",
            "big",
            "device_id",
            "1",
            "status",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = xadd.stdin.take().unwrap();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..100 {
            stdin.write_all(&chunk).unwrap();
        }
    }
    assert!(xadd.wait().unwrap().success());
    redis_cli(&[
        "-n",
        "1",
        "XADD",
        &format!("{name}:storage:results"),
        "*",
        "status",
        "maybe",
    ]);

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let dead_stream = redis_cli(&["-n", "1", "XLEN", &format!("{stream}:dead")])
            .trim()
            .parse::<u64>()
            .unwrap_or(0);
        let dead_storage = redis_cli(&["-n", "1", "XLEN", &format!("{name}:storage:results:dead")])
            .trim()
            .parse::<u64>()
            .unwrap_or(0);
        let queues = String::from_utf8_lossy(
            &Command::new("rabbitmqctl")
                .args([
                    "list_queues",
                    "-q",
                    "--no-table-headers",
                    "-p",
                    &name,
                    "name",
                    "messages",
                ])
                .output()
                .unwrap()
                .stdout,
        )
        .into_owned();
        let dead_in = |q: &str| {
            queues
                .lines()
                .find_map(|l| {
                    let mut f = l.split_whitespace();
                    (f.next() == Some(q))
                        .then(|| f.next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0))
                })
                .unwrap_or(0)
        };
        if dead_stream >= 3
            && dead_storage >= 1
            && dead_in("storage.git.dead") >= 3
            && dead_in("collector.group.default.dead") >= 1
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "dead letters: stream {dead_stream}, storage stream {dead_storage}, queues {queues}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let reasons = redis_cli(&["-n", "1", "XRANGE", &format!("{stream}:dead"), "-", "+"]);
    assert!(
        reasons.contains("dead_reason") && reasons.contains("malformed collection result"),
        "{}",
        &reasons[..reasons.len().min(2000)]
    );
    // Every role still works.
    let ti = h.backup_now(ids[0]).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    h.stop().await;
}

/// `devicevault.sh start | status | stop`: every role comes up against the
/// local services, serves, and stops on SIGTERM.
#[test]
fn the_launcher_starts_reports_and_stops_every_role() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("dvsh_{}", std::process::id());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../devicevault.sh");
    // A vhost of its own, so its roles never meet another test's tasks.
    for args in [
        vec!["add_vhost", name.as_str()],
        vec![
            "set_permissions",
            "-p",
            name.as_str(),
            "guest",
            ".*",
            ".*",
            ".*",
        ],
    ] {
        assert!(
            Command::new("rabbitmqctl")
                .args(&args)
                .output()
                .unwrap()
                .status
                .success()
        );
    }
    let run = |cmd: &str| {
        Command::new("bash")
            .arg(script)
            .arg(cmd)
            .env("DEVICEVAULT_BIN", env!("CARGO_BIN_EXE_devicevault"))
            .env("DEVICEVAULT_RUN_DIR", dir.path().join("run"))
            .env("DEVICEVAULT_DATA_DIR", dir.path().join("data"))
            .env(
                "DEVICEVAULT_DATABASE_URL",
                format!("postgres://postgres@127.0.0.1:5432/{name}"),
            )
            .env("DEVICEVAULT_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env(
                "DEVICEVAULT_BROKER_URL",
                format!("amqp://guest:guest@127.0.0.1:5672/{name}"),
            )
            .env(
                "DEVICEVAULT_RESULTS_STREAM",
                format!("{name}:device:results"),
            )
            .env(
                "DEVICEVAULT_STORAGE_RESULTS_STREAM",
                format!("{name}:storage:results"),
            )
            .output()
            .unwrap()
    };
    let started = run("start");
    let cleanup = || {
        let _ = Command::new("psql")
            .arg("postgres://postgres@127.0.0.1:5432/postgres")
            .args([
                "-qc",
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            ])
            .output();
        let _ = Command::new("rabbitmqctl")
            .args(["delete_vhost", &name])
            .output();
    };
    if !started.status.success() {
        run("stop");
        cleanup();
        panic!("start: {}", String::from_utf8_lossy(&started.stderr));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let healthy = loop {
        let ok = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        if ok || Instant::now() > deadline {
            break ok;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let status = run("status");
    let stopped = run("stop");
    let after = run("status");
    cleanup();
    assert!(healthy, "the api did not listen on {port}");
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{text}");
    for role in [
        "api",
        "scheduler",
        "notifier",
        "consume-device-results",
        "consume-storage-results",
        "storage-worker-git",
        "storage-worker-fs",
        "collector",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(role) && l.contains("running")),
            "{role}: {text}"
        );
    }
    assert!(stopped.status.success());
    assert!(
        !String::from_utf8_lossy(&stopped.stdout).contains("killed"),
        "every role stopped on SIGTERM"
    );
    assert_eq!(
        after.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&after.stdout)
    );
}

const PASSWORD: &str = "Zq9-distributed-password-41c7";
const ENABLE: &str = "Xk2-distributed-enable-93b0";

fn assert_sealed(what: &str, text: &str) {
    for secret in [PASSWORD, ENABLE] {
        assert!(!text.contains(secret), "{what} contains a device secret");
    }
}

/// A device credential's secrets appear in no role's log (at trace level),
/// no stream entry, no task on the broker, no API response and no database
/// row, with every role its own process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_secrets_stay_sealed_across_every_process_queue_and_stream() {
    use devicevault_core::bus::{TaskBus as _, TaskConsumer as _};

    let mut h = Harness::start_with(
        Mode::Distributed,
        SimConfig {
            devices: 2,
            platforms: vec!["cisco_ios".into()],
            password: PASSWORD.into(),
            enable_secret: ENABLE.into(),
            ..SimConfig::default()
        },
        vec![("RUST_LOG".to_owned(), "trace".to_owned())],
    )
    .await;
    let (_, ids) = h.inventory().await;
    for id in &ids {
        let ti = h.backup_now(*id).await;
        assert_eq!(h.wait_job(&ti).await["state"], "stored");
    }
    let mut bodies = String::new();
    for path in [
        "/api/credentials/".to_owned(),
        "/api/devices/".into(),
        format!("/api/devices/{}/", ids[0]),
        "/api/backup-results/".into(),
        "/api/stored-backups/".into(),
    ] {
        let r = h.call("GET", &path, None).await;
        assert_eq!(r.status, 200, "{path}");
        bodies.push_str(&String::from_utf8_lossy(&r.body));
    }
    assert_sealed("an API response", &bodies);

    let name = h.processes().name.clone();
    for stream in ["device:results", "storage:results"] {
        let entries = redis_cli(&["-n", "1", "XRANGE", &format!("{name}:{stream}"), "-", "+"]);
        assert!(entries.contains("task_identifier"), "{stream}: {entries}");
        assert_sealed(stream, &entries);
    }

    // A collection task left on the broker (no collector consumes this
    // group's queue) carries the credential sealed.
    let g = h
        .create(
            "/api/collection-groups/",
            json!({"name": "Vault", "rabbitmq_queue_id": "sealed-check"}),
        )
        .await;
    let r = h
        .call(
            "PATCH",
            &format!("/api/devices/{}/", ids[0]),
            Some(json!({"collection_group": g["id"]})),
        )
        .await;
    assert_eq!(r.status, 200);
    h.backup_now(ids[0]).await;
    let broker_url = h
        .processes()
        .env
        .iter()
        .find(|(k, _)| k == "DEVICEVAULT_BROKER_URL")
        .unwrap()
        .1
        .clone();
    let bus = devicevault_bus::AmqpBus::connect(&broker_url, 1)
        .await
        .unwrap();
    let mut queue = bus.consume("collector.group.sealed-check").await.unwrap();
    let task = tokio::time::timeout(Duration::from_secs(30), queue.next())
        .await
        .expect("the collection task reaches its group's queue")
        .unwrap();
    let body = serde_json::to_string(&(&task.task.args, &task.task.kwargs)).unwrap();
    assert!(body.contains("password_sealed"), "{body}");
    assert_sealed("the device.collect task on RabbitMQ", &body);
    drop(task);

    let rows = Command::new("psql")
        .arg(h.processes().database_url())
        .args(["-Atc", "SELECT * FROM credentials"])
        .output()
        .unwrap();
    assert!(rows.status.success());
    let rows = String::from_utf8_lossy(&rows.stdout);
    assert!(!rows.trim().is_empty());
    assert_sealed("the credentials table", &rows);

    let logs = h.processes().log_text();
    assert!(
        logs.contains("Persisted storage result") && logs.contains("TRACE"),
        "the roles' trace logs are captured"
    );
    assert_sealed("a role's log", &logs);
    h.stop().await;
}
