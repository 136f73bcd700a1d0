//! Retention (issue 17) on SQLite and PostgreSQL, each case on a git and
//! an fs location: versions stored for real by the backends, indexed with
//! explicit timestamps (never today's date), pruned by the scheduler's pass,
//! and read and removed through a storage worker on the in-process bus.

use std::sync::Arc;
use std::time::Duration;

use devicevault_bus::{LocalBus, LocalLog};
use devicevault_core::bus::{Task, TaskBus};
use devicevault_core::{RelPath, Status, StorageBackendKind, Timestamp};
use devicevault_db::{
    Db, DbError, DeviceFields, JobState, NewDeviceResult, NewStoredBackup, Page, Retention, Scope,
};
use devicevault_pipeline::Settings;
use devicevault_pipeline::requests::decode_read_reply;
use devicevault_pipeline::retention::{BusRemover, PassReport, run_pass};
use devicevault_pipeline::roles::storage_worker::{READ_TASK, StorageWorker, run_storage_worker};
use devicevault_pipeline::settings::RetentionSettings;
use devicevault_storage::{Backend, open_backend};
use devicevault_testkit::both_engines;
use devicevault_testkit::db::TestDb;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

const ALL: Page = Page {
    limit: 1000,
    offset: 0,
};

/// The instant every pass runs at: ten days after the first version.
const NOW: &str = "2026-03-11T00:00:00Z";

fn now() -> Timestamp {
    Timestamp::parse(NOW).unwrap()
}

fn plus(t: Timestamp, d: Duration) -> Timestamp {
    Timestamp::from_datetime(t.as_datetime() + d)
}

/// A database, a storage worker for both backends on an in-process bus,
/// and a location of `kind` in a temporary directory.
struct World {
    db: Db,
    bus: LocalBus,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
    kind: StorageBackendKind,
    config: Map<String, Value>,
    backend: Box<dyn Backend>,
    location: i64,
}

impl Drop for World {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl World {
    async fn start(db: &Db, kind: StorageBackendKind) -> Self {
        let (bus, log, stop) = (LocalBus::new(), LocalLog::new(), CancellationToken::new());
        let worker = Arc::new(StorageWorker::new(log, Arc::new(Settings::default())));
        for k in StorageBackendKind::ALL {
            tokio::spawn(run_storage_worker(
                bus.clone(),
                worker.clone(),
                k,
                stop.clone(),
            ));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let config = match kind {
            StorageBackendKind::Git => json!({"repo_path": path, "branch": "main"}),
            StorageBackendKind::Fs => json!({"base_path": path}),
        };
        let config = config.as_object().unwrap().clone();
        let backend = open_backend(kind, &config).unwrap();
        let location = db
            .create_location(&format!("loc-{kind}"), kind, &config)
            .await
            .unwrap()
            .id;
        Self {
            db: db.clone(),
            bus,
            stop,
            _dir: dir,
            kind,
            config,
            backend,
            location,
        }
    }

    fn db(&self) -> &Db {
        &self.db
    }

    async fn device(&self, name: &str) -> i64 {
        self.db()
            .create_device(&DeviceFields {
                name: format!("{name}-{}", self.kind),
                address: "192.0.2.10".into(),
                port: 22,
                driver: "cisco_ios".into(),
                credential: None,
                backup_location: Some(self.location),
                collection_group: None,
                device_group: None,
                device_type: None,
                enabled: true,
                profile: Default::default(),
            })
            .await
            .unwrap()
            .id
    }

    /// Stores version `n` of `device` for real and indexes it at `at`;
    /// returns its stored backup id. Its `config_changed` event is settled
    /// (planned, nobody to tell) unless `keep_event`.
    async fn version(&self, device: i64, n: u32, at: &str, keep_event: bool) -> i64 {
        let content = format!("hostname r{device}\n! version {n}\nend\n");
        // fs: a file per version; git: one file, a commit per version.
        let rel = match self.kind {
            StorageBackendKind::Fs => format!("{device}/v{n}.txt"),
            StorageBackendKind::Git => format!("{device}/running.txt"),
        };
        let stored = self
            .backend
            .store(content.as_bytes(), &RelPath::parse(&rel).unwrap())
            .unwrap();
        let ti = format!("v-{device}-{n}");
        let s = NewStoredBackup {
            task_id: format!("task-{ti}"),
            task_identifier: ti.clone(),
            device_id: device,
            storage_backend: self.kind,
            storage_ref: stored.storage_ref.to_string(),
            status: Status::Success,
            timestamp: Timestamp::parse(at).unwrap(),
            log: "[]".into(),
            location_id: Some(self.location),
            size: Some(content.len() as i64),
            sha256: Some(stored.sha256.clone()),
            changed: Some(stored.changed),
            is_binary: false,
        };
        self.db()
            .record_device_result(&NewDeviceResult {
                task_id: s.task_id.clone(),
                task_identifier: ti.clone(),
                device_id: device,
                status: Status::Success,
                timestamp: s.timestamp,
                log: "[]".into(),
                collection_duration_ms: 5,
                author: None,
                change_key: None,
            })
            .await
            .unwrap();
        assert!(self.db().record_stored_backup(&s).await.unwrap());
        if !keep_event {
            settle_events(self.db()).await;
        }
        self.versions(device)
            .await
            .into_iter()
            .find(|v| v.1 == ti)
            .unwrap()
            .0
    }

    /// `(id, task_identifier, storage_ref)` of the device's versions,
    /// newest first.
    async fn versions(&self, device: i64) -> Vec<(i64, String, String)> {
        self.db()
            .stored_backups(Some(device), &Scope::Admin, ALL)
            .await
            .unwrap()
            .rows
            .into_iter()
            .map(|s| (s.id, s.task_identifier, s.storage_ref))
            .collect()
    }

    async fn retain(&self, keep_last: Option<i64>, keep_days: Option<i64>) {
        self.db()
            .set_location_retention(
                self.location,
                Retention {
                    keep_last,
                    keep_days,
                },
            )
            .await
            .unwrap();
    }

    /// A `storage.read` through the storage worker, as a download does once
    /// it has resolved its row.
    async fn read(&self, storage_ref: &str) -> Result<Vec<u8>, String> {
        let mut kwargs = Map::new();
        kwargs.insert("storage_backend".into(), self.kind.as_str().into());
        kwargs.insert("storage_ref".into(), storage_ref.into());
        kwargs.insert("storage_config".into(), Value::Object(self.config.clone()));
        kwargs.insert("task_identifier".into(), "read".into());
        let task = Task {
            id: devicevault_pipeline::roles::new_task_id(),
            name: READ_TASK.into(),
            args: Vec::new(),
            kwargs,
            retries: 0,
        };
        let reply = self
            .bus
            .call(self.kind.queue(), task, Duration::from_secs(10))
            .await
            .map_err(|e| e.to_string())?;
        decode_read_reply(&reply).map_err(|e| e.to_string())
    }

    fn remover(&self) -> BusRemover<LocalBus> {
        BusRemover {
            bus: self.bus.clone(),
            timeout: Duration::from_secs(10),
        }
    }

    async fn pass(&self, at: Timestamp, grace: Duration) -> PassReport {
        let settings = RetentionSettings {
            grace,
            ..RetentionSettings::default()
        };
        run_pass(self.db(), &self.remover(), &settings, at)
            .await
            .unwrap()
    }
}

/// Marks every event planned with no delivery (no rule matched).
async fn settle_events(db: &Db) {
    for e in db.unplanned_events(1000).await.unwrap() {
        db.plan_event(e.id, &[]).await.unwrap();
    }
}

fn day(d: u32) -> String {
    format!("2026-03-{d:02}T12:00:00Z")
}

fn ids(report: &PassReport) -> Vec<i64> {
    let mut ids: Vec<i64> = report
        .versions
        .iter()
        .flat_map(|(_, v)| v.iter().map(|v| v.id))
        .collect();
    ids.sort_unstable();
    ids
}

async fn keep_last_keeps_the_newest_versions_and_removes_fs_files_after_the_grace(t: TestDb) {
    for kind in StorageBackendKind::ALL {
        let w = World::start(&t.db, kind).await;
        let d = w.device("r1").await;
        let mut v = Vec::new();
        for n in 1..=5 {
            v.push(w.version(d, n, &day(n), false).await);
        }
        let refs: Vec<String> = w.versions(d).await.into_iter().map(|v| v.2).collect();
        // Nothing is limited yet: a pass removes nothing.
        assert!(
            w.pass(now(), Duration::from_secs(600))
                .await
                .versions
                .is_empty()
        );
        w.retain(Some(2), None).await;
        let report = w.pass(now(), Duration::from_secs(600)).await;
        assert_eq!(ids(&report), vec![v[0], v[1], v[2]], "{kind}");
        let left: Vec<i64> = w.versions(d).await.into_iter().map(|v| v.0).collect();
        assert_eq!(left, vec![v[4], v[3]], "{kind}");
        // Their successful collection results went with them.
        let results = w
            .db()
            .device_results(Some(d), &Scope::Admin, ALL)
            .await
            .unwrap();
        assert_eq!(results.total, 2, "{kind}");
        // Within the grace every file still reads (refs[4] is the oldest).
        for r in &refs {
            w.read(r)
                .await
                .unwrap_or_else(|e| panic!("{kind} {r}: {e}"));
        }
        let queued = w.db().pending_removals().await.unwrap();
        match kind {
            StorageBackendKind::Fs => assert_eq!(queued, 3),
            // Git keeps its history whole: nothing to remove.
            StorageBackendKind::Git => assert_eq!(queued, 0),
        }
        // Past the grace the fs files go; git history stays readable.
        let later = w
            .pass(
                plus(now(), Duration::from_secs(601)),
                Duration::from_secs(600),
            )
            .await;
        assert!(later.versions.is_empty());
        assert_eq!(w.db().pending_removals().await.unwrap(), 0);
        for (i, r) in refs.iter().enumerate() {
            let read = w.read(r).await;
            let kept = i < 2;
            match kind {
                StorageBackendKind::Fs if !kept => {
                    assert!(read.is_err(), "{r} was removed");
                    assert_eq!(later.files_removed, 3);
                }
                _ => {
                    read.unwrap_or_else(|e| panic!("{kind} {r}: {e}"));
                }
            }
        }
    }
}

async fn keep_days_keeps_younger_versions_and_always_the_newest(t: TestDb) {
    for kind in StorageBackendKind::ALL {
        let w = World::start(&t.db, kind).await;
        let (a, b) = (w.device("recent").await, w.device("quiet").await);
        let mut va = Vec::new();
        for n in [1, 5, 8, 9] {
            va.push(w.version(a, n, &day(n), false).await);
        }
        // A device whose versions are all old keeps its newest.
        let mut vb = Vec::new();
        for n in [1, 2] {
            vb.push(w.version(b, n, &day(n), false).await);
        }
        // Now is the 11th at midnight: 3 days keep the 8th at noon on.
        w.retain(None, Some(3)).await;
        let dry = w
            .db()
            .retention_candidates(w.location, now())
            .await
            .unwrap();
        let report = w.pass(now(), Duration::from_secs(600)).await;
        let mut dry_ids: Vec<i64> = dry.iter().map(|v| v.id).collect();
        dry_ids.sort_unstable();
        assert_eq!(
            ids(&report),
            dry_ids,
            "the dry run names what the run removes"
        );
        let mut expect = vec![va[0], va[1], vb[0]];
        expect.sort_unstable();
        assert_eq!(ids(&report), expect, "{kind}");
        let left_b: Vec<i64> = w.versions(b).await.into_iter().map(|v| v.0).collect();
        assert_eq!(left_b, vec![vb[1]]);
        // Both limits: a version goes only when both allow it. keep_last 3
        // keeps the 5th of `a` although it is older than 3 days.
        let c = w.device("both").await;
        let mut vc = Vec::new();
        for n in [1, 2, 5, 9, 10] {
            vc.push(w.version(c, n, &day(n), false).await);
        }
        w.retain(Some(2), Some(7)).await;
        // 7 days keep the 5th on (the 4th at midnight is the cut-off), two
        // newest are the 9th and 10th: the 1st and 2nd go.
        let report = w.pass(now(), Duration::from_secs(600)).await;
        let mut expect = vec![vc[0], vc[1]];
        expect.sort_unstable();
        assert_eq!(ids(&report), expect, "{kind}");
    }
}

async fn failed_results_and_finished_jobs_go_after_their_own_periods(t: TestDb) {
    let db = &t.db;
    let w = World::start(db, StorageBackendKind::Fs).await;
    let d = w.device("flaky").await;
    let failure = |ti: &str, at: &str| NewDeviceResult {
        task_id: format!("task-{ti}"),
        task_identifier: ti.into(),
        device_id: d,
        status: Status::Failure,
        timestamp: Timestamp::parse(at).unwrap(),
        log: "[]".into(),
        collection_duration_ms: 5,
        author: None,
        change_key: None,
    };
    db.record_device_result(&failure("old", &day(1)))
        .await
        .unwrap();
    db.record_device_result(&failure("new", &day(10)))
        .await
        .unwrap();
    let kept = w.version(d, 1, &day(2), false).await;
    // Jobs: finished ones move now (the test's real clock), so their age
    // is measured from a `now` far ahead.
    let t0 = Timestamp::now();
    db.create_job("t", "job-done", d, t0, plus(t0, Duration::from_secs(60)))
        .await
        .unwrap();
    db.advance_job("job-done", JobState::Failed, Some("refused"))
        .await
        .unwrap();
    db.create_job("t", "job-open", d, t0, plus(t0, Duration::from_secs(60)))
        .await
        .unwrap();
    let results_only = RetentionSettings {
        failed_results_days: Some(5),
        ..RetentionSettings::default()
    };
    // The failed result of the 1st goes, the 10th's stays; jobs are kept.
    let report = run_pass(db, &w.remover(), &results_only, now())
        .await
        .unwrap();
    assert_eq!(report.history.failed_results, 1);
    assert_eq!(report.history.finished_jobs, 0);
    let results = db
        .device_results(Some(d), &Scope::Admin, ALL)
        .await
        .unwrap();
    let tis: Vec<&str> = results
        .rows
        .iter()
        .map(|r| r.task_identifier.as_str())
        .collect();
    assert!(tis.contains(&"new") && !tis.contains(&"old"), "{tis:?}");
    // Jobs move on the real clock, so their age is measured from it: four
    // days after the job finished it stays, six days after it goes; the
    // open one never does.
    let jobs_only = RetentionSettings {
        finished_jobs_days: Some(5),
        ..RetentionSettings::default()
    };
    let soon = plus(t0, Duration::from_secs(4 * 86_400));
    let report = run_pass(db, &w.remover(), &jobs_only, soon).await.unwrap();
    assert_eq!(report.history.finished_jobs, 0);
    let ahead = plus(t0, Duration::from_secs(6 * 86_400));
    let report = run_pass(db, &w.remover(), &jobs_only, ahead).await.unwrap();
    assert_eq!(report.history.finished_jobs, 1);
    assert_eq!(report.history.failed_results, 0);
    assert!(matches!(
        db.job("job-done").await,
        Err(DbError::NotFound { .. })
    ));
    db.job("job-open").await.unwrap();
    // Successful versions are the locations' business, not these periods.
    db.stored_backup(kept).await.unwrap();
}

async fn versions_an_unsettled_notification_names_are_kept(t: TestDb) {
    for kind in StorageBackendKind::ALL {
        let w = World::start(&t.db, kind).await;
        let d = w.device("watched").await;
        let v1 = w.version(d, 1, &day(1), false).await;
        let v2 = w.version(d, 2, &day(2), false).await;
        // v3's config_changed event (v3 against v2) is not planned yet.
        let v3 = w.version(d, 3, &day(3), true).await;
        let v4 = w.version(d, 4, &day(4), true).await;
        w.retain(Some(1), None).await;
        let report = w.pass(now(), Duration::from_secs(600)).await;
        assert_eq!(
            ids(&report),
            vec![v1],
            "{kind}: v2 and v3 are named by unplanned events"
        );
        // Planned with a delivery still pending: still kept.
        let channel = w
            .db()
            .create_channel(&devicevault_db::ChannelFields {
                name: format!("hook-{kind}"),
                kind: "webhook".into(),
                settings: json!({"url": "http://127.0.0.1:9/"}).to_string(),
                secret_sealed: None,
            })
            .await
            .unwrap();
        let rule = w
            .db()
            .create_rule(&devicevault_db::RuleFields {
                name: format!("all-{kind}"),
                channel_id: channel,
                events: vec!["config_changed".into()],
                device_groups: Vec::new(),
                devices: Vec::new(),
                enabled: true,
            })
            .await
            .unwrap();
        for e in w.db().unplanned_events(100).await.unwrap() {
            w.db().plan_event(e.id, &[(channel, rule)]).await.unwrap();
        }
        let report = w.pass(now(), Duration::from_secs(600)).await;
        assert!(ids(&report).is_empty(), "{kind}: deliveries pending");
        // Delivered: they go, the newest stays.
        let t0 = Timestamp::now();
        let claimed = w
            .db()
            .claim_deliveries(t0, plus(t0, Duration::from_secs(60)), 100)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 2, "{kind}");
        for c in claimed {
            assert!(
                w.db()
                    .finish_delivery(c.id, c.attempt, &devicevault_db::DeliveryOutcome::Delivered)
                    .await
                    .unwrap()
            );
        }
        let report = w.pass(now(), Duration::from_secs(600)).await;
        let mut expect = vec![v2, v3];
        expect.sort_unstable();
        assert_eq!(ids(&report), expect, "{kind}");
        assert_eq!(
            w.versions(d)
                .await
                .into_iter()
                .map(|v| v.0)
                .collect::<Vec<_>>(),
            vec![v4]
        );
        // Clean up the channel so the next backend's rule names are free.
        let _ = rule;
    }
}

async fn a_download_that_resolved_its_row_reads_it_while_the_pass_prunes(t: TestDb) {
    for kind in StorageBackendKind::ALL {
        let w = Arc::new(World::start(&t.db, kind).await);
        let d = w.device("busy").await;
        for n in 1..=8 {
            w.version(d, n, &day(n), false).await;
        }
        w.retain(Some(1), None).await;
        let resolved: Vec<(i64, String)> = {
            let mut out = Vec::new();
            for (id, _, _) in w.versions(d).await {
                // As a download does: the row first, then the read.
                let s = w.db().stored_backup(id).await.unwrap();
                out.push((s.id, s.storage_ref));
            }
            out
        };
        let readers = {
            let w = w.clone();
            let resolved = resolved.clone();
            tokio::spawn(async move {
                for _ in 0..5 {
                    for (id, r) in &resolved {
                        let got = w.read(r).await.unwrap_or_else(|e| panic!("{id}: {e}"));
                        assert!(!got.is_empty());
                    }
                }
            })
        };
        let report = w.pass(now(), Duration::from_secs(600)).await;
        readers.await.unwrap();
        assert_eq!(
            report.versions.iter().map(|(_, v)| v.len()).sum::<usize>(),
            7
        );
        // New downloads no longer find the pruned rows...
        for (id, _) in &resolved[1..] {
            assert!(matches!(
                w.db().stored_backup(*id).await,
                Err(DbError::NotFound { .. })
            ));
        }
        // ...and the ones that resolved them before still read them.
        for (id, r) in &resolved {
            w.read(r)
                .await
                .unwrap_or_else(|e| panic!("{kind} {id}: {e}"));
        }
    }
}

async fn a_large_pruning_goes_in_batches_and_misses_nothing(t: TestDb) {
    let db = &t.db;
    let w = World::start(db, StorageBackendKind::Fs).await;
    let d = w.device("chatty").await;
    let n = devicevault_db::retention::PRUNE_BATCH * 2 + 7;
    let base = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
    for i in 0..n {
        let ti = format!("bulk-{i}");
        db.record_stored_backup(&NewStoredBackup {
            task_id: format!("task-{ti}"),
            task_identifier: ti.clone(),
            device_id: d,
            storage_backend: StorageBackendKind::Fs,
            storage_ref: format!("{d}/{ti}.txt"),
            status: Status::Success,
            timestamp: plus(base, Duration::from_secs(60 * i as u64)),
            log: "[]".into(),
            location_id: Some(w.location),
            size: Some(10),
            sha256: None,
            changed: Some(false),
            is_binary: false,
        })
        .await
        .unwrap();
    }
    w.retain(Some(1), None).await;
    let dry = db.retention_candidates(w.location, now()).await.unwrap();
    assert_eq!(dry.len(), n - 1);
    let report = w.pass(now(), Duration::from_secs(600)).await;
    assert_eq!(ids(&report).len(), n - 1);
    let left = db
        .stored_backups(Some(d), &Scope::Admin, ALL)
        .await
        .unwrap();
    assert_eq!(left.total, 1);
    assert_eq!(left.rows[0].task_identifier, format!("bulk-{}", n - 1));
    assert_eq!(db.pending_removals().await.unwrap(), (n - 1) as i64);
}

both_engines!(
    keep_last_keeps_the_newest_versions_and_removes_fs_files_after_the_grace,
    keep_days_keeps_younger_versions_and_always_the_newest,
    failed_results_and_finished_jobs_go_after_their_own_periods,
    versions_an_unsettled_notification_names_are_kept,
    a_download_that_resolved_its_row_reads_it_while_the_pass_prunes,
    a_large_pruning_goes_in_batches_and_misses_nothing,
);
