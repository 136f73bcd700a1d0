//! Replays, lost messages, malformed input: the pipeline changes nothing
//! twice, loses nothing, and keeps running.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Engine, Harness, git};
use devicevault_bus::LocalBus;
use devicevault_core::bus::{ResultLog, StreamEntry, Task, TaskBus};
use devicevault_pipeline::Settings;
use devicevault_pipeline::roles::device_results::DeviceResults;
use devicevault_pipeline::roles::dispatcher::Dispatcher;
use devicevault_pipeline::roles::storage_results::StorageResults;
use devicevault_sim::SimConfig;
use serde_json::json;

fn sim() -> SimConfig {
    SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        ..SimConfig::default()
    }
}

fn fields(e: &StreamEntry) -> Vec<(&'static str, String)> {
    e.fields
        .iter()
        .map(|(k, v)| (&*Box::leak(k.clone().into_boxed_str()), v.clone()))
        .collect()
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_stream_records_and_store_tasks_changes_nothing() {
    let mut h = Harness::start(Engine::Sqlite, sim()).await;
    let (_, ids) = h.inventory().await;
    let ti = h.backup_now(ids[0]).await;
    let job = h.wait_job(&ti).await;
    assert_eq!(job["state"], "stored");
    let log = h.server().log.clone();
    let device_entries = log.entries("device:results");
    let storage_entries = log.entries("storage:results");
    assert_eq!((device_entries.len(), storage_entries.len()), (1, 1));

    // Every record delivered again, twice.
    for _ in 0..2 {
        log.append("device:results", fields(&device_entries[0]))
            .await
            .unwrap();
        log.append("storage:results", fields(&storage_entries[0]))
            .await
            .unwrap();
    }
    // And the store task itself again, as a redelivery would.
    let r = &device_entries[0].fields;
    let store = json!({
        "task_id": "replayed", "task_identifier": ti, "device_id": ids[0], "storage_backend": "git",
        "storage_config": {"repo_path": h.repo_path(), "branch": "main"},
        "device_config": r["device_config"],
        "storage_rel_path": format!("{}/{}.cfg", ids[0], h.sim.devices()[0].name()),
    });
    h.server()
        .bus
        .publish(
            "storage.git",
            Task::with_arg("replayed".into(), "storage.store", store),
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while log.entries("storage:results").len() < 4 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    settle().await;
    assert_eq!(h.list("/api/backup-results/").await.len(), 1);
    assert_eq!(h.list("/api/stored-backups/").await.len(), 1);
    assert_eq!(
        git(&h.repo_path(), &["rev-list", "--count", "main"]).trim(),
        "1"
    );
    assert_eq!(h.wait_job(&ti).await, job, "the job did not move");
    assert!(log.entries("device:results:dead").is_empty());
    assert!(log.entries("storage:results:dead").is_empty());
    h.stop().await;
}

/// The result consumers write a read batch in one transaction. A batch
/// holding the same record twice, or replayed whole, records it once; an
/// entry whose write fails does not cost the others of its batch theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_batch_records_once_and_a_failing_entry_spares_the_rest() {
    let mut h = Harness::start(Engine::Sqlite, sim()).await;
    let (_, ids) = h.inventory().await;
    let ti = h.backup_now(ids[0]).await;
    let job = h.wait_job(&ti).await;
    assert_eq!(job["state"], "stored");
    let log = h.server().log.clone();
    let collected = log.entries("device:results")[0].clone();
    let stored = log.entries("storage:results")[0].clone();
    let again = |e: &StreamEntry, id: &str| StreamEntry {
        id: id.into(),
        fields: e.fields.clone(),
        deliveries: 1,
    };
    let db = h.server().db.clone();

    let device_results = DeviceResults {
        db: db.clone(),
        bus: h.server().bus.clone(),
        settings: Arc::new(Settings::default()),
        metrics: Arc::default(),
    };
    let batch = vec![again(&collected, "a"), again(&collected, "b")];
    for _ in 0..2 {
        let outcomes = device_results.handle_batch(batch.clone()).await;
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    }

    // A new store of the same device (recorded), a store of a device that
    // does not exist (its insert fails: the foreign key), and a replay.
    let mut extra = stored.fields.clone();
    extra.insert("task_identifier".into(), "extra".into());
    extra.insert("task_id".into(), "extra".into());
    let mut orphan = stored.fields.clone();
    orphan.insert("task_identifier".into(), "orphan".into());
    orphan.insert("device_id".into(), "999999".into());
    let storage_results = StorageResults {
        db: db.clone(),
        search: None,
        metrics: Arc::default(),
    };
    let outcomes = storage_results
        .handle_batch(vec![
            StreamEntry {
                id: "c".into(),
                fields: extra,
                deliveries: 1,
            },
            StreamEntry {
                id: "d".into(),
                fields: orphan,
                deliveries: 1,
            },
            again(&stored, "e"),
        ])
        .await;
    assert!(outcomes[0].is_ok(), "{outcomes:?}");
    assert!(
        outcomes[1].is_err(),
        "the orphan's write fails: {outcomes:?}"
    );
    assert!(outcomes[2].is_ok(), "{outcomes:?}");

    settle().await;
    assert_eq!(h.list("/api/backup-results/").await.len(), 1);
    let rows = h.list("/api/stored-backups/").await;
    let mut tis: Vec<&str> = rows
        .iter()
        .map(|r| r["task_identifier"].as_str().unwrap())
        .collect();
    tis.sort_unstable();
    let mut want = vec!["extra", ti.as_str()];
    want.sort_unstable();
    assert_eq!(tis, want);
    assert_eq!(
        git(&h.repo_path(), &["rev-list", "--count", "main"]).trim(),
        "1",
        "a replayed result of a finished job stores nothing"
    );
    assert_eq!(h.wait_job(&ti).await, job, "the job did not move");
    h.stop().await;
}

/// Issue 19: a FortiOS collection that differs from the latest version
/// only in its re-encrypted `ENC` secrets is confirmed by the device-results
/// consumer without a store task; replaying its record changes nothing; and
/// while another job of the device is unfinished the result is stored as
/// usual, since that job's store could become the latest version first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ignored_change_is_confirmed_once_and_stored_while_another_job_is_open() {
    let mut h = Harness::start(
        Engine::Sqlite,
        SimConfig {
            platforms: vec!["fortinet_fortios".into()],
            ..sim()
        },
    )
    .await;
    h.sim.devices()[0].set_reencrypt_secrets(true);
    let (_, ids) = h.inventory().await;
    for _ in 0..2 {
        let ti = h.backup_now(ids[0]).await;
        assert_eq!(h.wait_job(&ti).await["state"], "stored");
    }
    let log = h.server().log.clone();
    let collected = log.entries("device:results");
    assert_eq!(collected.len(), 2);
    assert_ne!(
        collected[0].fields["device_config"], collected[1].fields["device_config"],
        "the device re-encrypted its secret"
    );
    assert_eq!(
        collected[0].fields["change_key"],
        collected[1].fields["change_key"]
    );
    assert_eq!(
        log.entries("storage:results").len(),
        1,
        "no store task for the confirmation"
    );
    let rows = h.list("/api/stored-backups/").await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["changed"], false, "{}", rows[0]);

    let db = h.server().db.clone();
    let device_results = DeviceResults {
        db: db.clone(),
        bus: h.server().bus.clone(),
        settings: Arc::new(Settings::default()),
        metrics: Arc::default(),
    };
    let again = |id: &str, ti: Option<&str>| {
        let mut fields = collected[1].fields.clone();
        if let Some(ti) = ti {
            fields.insert("task_identifier".into(), ti.into());
            fields.insert("task_id".into(), format!("{ti}-task"));
        }
        StreamEntry {
            id: id.into(),
            fields,
            deliveries: 1,
        }
    };
    for _ in 0..2 {
        let outcomes = device_results
            .handle_batch(vec![again("a", None), again("b", None)])
            .await;
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    }
    assert_eq!(h.list("/api/stored-backups/").await.len(), 2);
    assert_eq!(log.entries("storage:results").len(), 1);

    // Another job of the device is queued: the same content is stored.
    let far = devicevault_core::Timestamp::parse("2999-01-01T00:00:00Z").unwrap();
    let now = devicevault_core::Timestamp::now();
    assert!(
        db.create_job("open", "open-job", ids[0], now, far)
            .await
            .unwrap()
    );
    let outcomes = device_results
        .handle_batch(vec![again("c", Some("while-open"))])
        .await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while log.entries("storage:results").len() < 2 {
        assert!(Instant::now() < deadline, "the store task was sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    settle().await;
    let rows = h.list("/api/stored-backups/").await;
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["task_identifier"], "while-open");
    assert_eq!(rows[0]["changed"], true, "the worker compared the content");
    assert_eq!(
        git(&h.repo_path(), &["rev-list", "--count", "main"]).trim(),
        "2"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_collection_task_is_dispatched_again_after_its_deadline() {
    let mut h = Harness::start_with(Engine::Sqlite, sim(), |cfg| {
        cfg.settings.job_deadline = Duration::from_secs(1);
        cfg.settings.sweep_interval = Duration::from_millis(100);
    })
    .await;
    let (_, ids) = h.inventory().await;
    // A dispatcher whose bus nobody consumes: its message is lost.
    let lost = Dispatcher::new(
        h.server().db.clone(),
        LocalBus::new(),
        Arc::new(Settings {
            job_deadline: Duration::from_secs(1),
            ..Settings::default()
        }),
    );
    let device = h.server().db.device(ids[0]).await.unwrap();
    let accepted = lost.backup_now(&device).await.unwrap();
    let job = h.wait_job(&accepted.task_identifier).await;
    assert_eq!(job["state"], "stored", "{job}");
    assert_eq!(job["attempts"], 2, "{job}");
    h.stop().await;
}

/// A device allowed a longer job than the pipeline's deadline (its own
/// `job_timeout`) is not dispatched again while its collection may still
/// run: its deadline moves, no dispatch is counted, and the job finishes
/// once, from its first dispatch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_allowed_a_longer_job_is_not_dispatched_again_while_it_may_run() {
    let mut h = Harness::start_with(Engine::Sqlite, sim(), |cfg| {
        cfg.settings.job_deadline = Duration::from_millis(300);
        cfg.settings.sweep_interval = Duration::from_millis(100);
    })
    .await;
    let (_, ids) = h.inventory().await;
    let db = h.server().db.clone();
    let mut device = db.device(ids[0]).await.unwrap();
    device.fields.profile.timeouts.job = Some(600);
    db.update_device(ids[0], &device.fields).await.unwrap();
    // Its task goes where nobody consumes it, as if a collector held it.
    let held = Dispatcher::new(
        db.clone(),
        LocalBus::new(),
        Arc::new(Settings {
            job_deadline: Duration::from_millis(300),
            ..Settings::default()
        }),
    );
    let accepted = held.backup_now(&device).await.unwrap();
    let first = db.job(&accepted.task_identifier).await.unwrap();
    // Past its 300 ms deadline the sweep (every 100 ms) meets it: wait for
    // that, then a few more sweeps.
    let waited = Instant::now() + Duration::from_secs(20);
    while db.job(&accepted.task_identifier).await.unwrap().deadline == first.deadline {
        assert!(Instant::now() < waited, "the sweep never met the job");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let job = db.job(&accepted.task_identifier).await.unwrap();
    assert_eq!(job.attempts, first.attempts, "dispatched again: {job:?}");
    assert!(
        job.deadline > first.deadline,
        "the deadline was not moved: {job:?}"
    );
    // At least one attempt's 600 s and the minute for its result.
    let until = devicevault_core::Timestamp::parse(&job.deadline).unwrap();
    let queued = devicevault_core::Timestamp::parse(&first.queued_on).unwrap();
    assert!(
        until.unix_millis() - queued.unix_millis() >= 660_000,
        "{job:?}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_never_finishes_fails_with_a_reason() {
    let mut h = Harness::start_with(Engine::Sqlite, sim(), |cfg| {
        cfg.settings.job_deadline = Duration::from_millis(300);
        cfg.settings.sweep_interval = Duration::from_millis(100);
        cfg.settings.max_dispatches = 1;
    })
    .await;
    let (_, ids) = h.inventory().await;
    let lost = Dispatcher::new(
        h.server().db.clone(),
        LocalBus::new(),
        Arc::new(Settings {
            job_deadline: Duration::from_millis(300),
            ..Settings::default()
        }),
    );
    let device = h.server().db.device(ids[0]).await.unwrap();
    let accepted = lost.backup_now(&device).await.unwrap();
    let job = h.wait_job(&accepted.task_identifier).await;
    assert_eq!(job["state"], "failed");
    assert!(
        job["reason"]
            .as_str()
            .unwrap()
            .contains("no result after 1 dispatches"),
        "{job}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_records_and_tasks_are_dead_lettered_and_work_goes_on() {
    let mut h = Harness::start_with(Engine::Sqlite, sim(), |cfg| {
        cfg.settings.reclaim_idle = Duration::from_millis(200);
    })
    .await;
    let (_, ids) = h.inventory().await;
    let log = h.server().log.clone();
    let bus = h.server().bus.clone();
    log.append("device:results", vec![("garbage", "{".into())])
        .await
        .unwrap();
    log.append(
        "storage:results",
        vec![
            ("task_identifier", "x".into()),
            ("device_id", "not a number".into()),
        ],
    )
    .await
    .unwrap();
    bus.publish(
        "storage.git",
        Task::with_arg("t1".into(), "storage.store", json!("not an object")),
    )
    .await
    .unwrap();
    bus.publish(
        "storage.fs",
        Task::with_arg("t2".into(), "no.such.task", json!({})),
    )
    .await
    .unwrap();
    bus.publish(
        "collector.group.default",
        Task::with_arg("t3".into(), "device.collect", json!([1, 2])),
    )
    .await
    .unwrap();
    // A store task that names its job but is otherwise wrong: a visible
    // failure record, not only a dead letter.
    bus.publish(
        "storage.git",
        Task::with_arg(
            "t4".into(),
            "storage.store",
            json!({"task_identifier": "half", "device_id": ids[0], "storage_backend": "git"}),
        ),
    )
    .await
    .unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let dead = (
            log.entries("device:results:dead").len(),
            log.entries("storage:results:dead").len(),
            bus.dead_letters("storage.git").len(),
            bus.dead_letters("storage.fs").len(),
            bus.dead_letters("collector.group.default").len(),
        );
        if dead == (1, 1, 1, 1, 1) {
            break;
        }
        assert!(Instant::now() < deadline, "dead letters so far: {dead:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let reason = &log.entries("device:results:dead")[0].fields["dead_reason"];
    assert!(reason.contains("malformed collection result"), "{reason}");
    let (_, reason) = &bus.dead_letters("storage.git")[0];
    assert!(reason.contains("malformed storage.store"), "{reason}");
    let (_, reason) = &bus.dead_letters("storage.fs")[0];
    assert!(reason.contains("no.such.task"), "{reason}");
    // The half-formed store became a failure record with its reason.
    let failed = log
        .entries("storage:results")
        .into_iter()
        .find(|e| e.fields.get("task_identifier").map(String::as_str) == Some("half"))
        .expect("a failure result for the half-formed task");
    assert_eq!(failed.fields["status"], "failure");
    assert!(failed.fields["log"].contains("malformed storage.store"));

    // Everything keeps working.
    let ti = h.backup_now(ids[0]).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    h.stop().await;
}

/// A git location's `pack_loose_objects`: the storage worker packs the
/// repository in the background once that many loose objects have
/// accumulated, and every stored version still downloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_storage_worker_packs_a_repository_past_its_threshold() {
    let mut h = Harness::start(
        Engine::Sqlite,
        SimConfig {
            devices: 60,
            platforms: vec!["cisco_ios".into()],
            ..SimConfig::default()
        },
    )
    .await;
    let (loc, ids) = h.inventory().await;
    let repo = h.repo_path();
    let r = h
        .call(
            "PATCH",
            &format!("/api/backup-locations/{loc}/"),
            Some(
                json!({"config": {"repo_path": repo, "branch": "main", "pack_loose_objects": 20}}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let mut jobs = Vec::new();
    for id in &ids {
        jobs.push(h.backup_now(*id).await);
    }
    for ti in &jobs {
        assert_eq!(h.wait_job(ti).await["state"], "stored");
    }
    // Four objects per commit, 240 in all: a batch of several stores is
    // written as a pack, a single store as loose objects, which the worker
    // packs after a batch once it estimates more than 20 (from a sample of
    // the fan-out directories). Either way a pack appears.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let counts = git(&repo, &["count-objects", "-v"]);
        if counts
            .lines()
            .any(|l| l.starts_with("packs: ") && l != "packs: 0")
        {
            break;
        }
        assert!(Instant::now() < deadline, "never packed: {counts}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for s in h.list("/api/stored-backups/").await {
        let r = h
            .call(
                "GET",
                &format!("/api/stored-backups/{}/download/", s["id"]),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert!(!r.body.is_empty());
    }
    git(&repo, &["fsck", "--strict"]);
    assert_eq!(git(&repo, &["rev-list", "--count", "main"]).trim(), "60");
    h.stop().await;
}
