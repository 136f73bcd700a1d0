//! Distributed mode only: the seed's verification steps as written, and a
//! 1,000-device run through kill -9 of every role, a broker restart and a
//! Redis restart.

mod suite;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use devicevault_sim::{Faults, SimConfig};
use serde_json::json;
use suite::harness::{Harness, Mode, git};

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
        h.db.device_results(Some(ids[0]), devicevault_db::Page::default())
            .await
            .unwrap();
    assert_eq!(results.rows.len(), 1);
    let stored =
        h.db.stored_backups(Some(ids[0]), devicevault_db::Page::default())
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_job_ends_stored_once_through_kill_9_and_broker_and_redis_restarts() {
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
    // Two storage workers on the one repository.
    h.processes().spawn(&["storage-worker", "--backend", "git"]);
    let (_, ids) = h.inventory().await;
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
            h.processes().kill(role);
            tokio::time::sleep(Duration::from_millis(200)).await;
            h.processes().spawn(args);
        }
    }
    let done_before =
        h.db.stored_backups(
            None,
            devicevault_db::Page {
                limit: 1,
                offset: 0,
            },
        )
        .await
        .unwrap()
        .total;
    tokio::task::block_in_place(|| h.processes().restart_broker());
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
