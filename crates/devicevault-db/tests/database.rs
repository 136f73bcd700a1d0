//! One suite, run against SQLite and PostgreSQL.

use devicevault_core::Role;
use devicevault_core::{QueueId, Status, StorageBackendKind, Timestamp};
use devicevault_db::{
    DbError, DeviceFilter, IndexBatch, JobState, JobTarget, NewDeviceResult, NewStoredBackup,
    NewToken, Page, ScheduleFields, Scope, TokenKind, TokenPolicy, TokenUse,
};
use serde_json::json;

use devicevault_testkit::both_engines;

use devicevault_testkit::db::{TestDb, device_fields};

fn named(user_id: i64, digest: &str) -> NewToken<'_> {
    NewToken {
        user_id,
        digest,
        kind: TokenKind::Named,
        name: Some("t"),
        expires_at: None,
    }
}

/// The user an API token belongs to, now, with the default policy.
async fn api_user(db: &devicevault_db::Db, digest: &str) -> Option<devicevault_db::User> {
    db.authenticate(
        digest,
        TokenUse::Api,
        Timestamp::now(),
        &TokenPolicy::default(),
    )
    .await
    .unwrap()
    .map(|(u, _)| u)
}

async fn migrations_are_applied_once_and_reconnecting_is_harmless(t: TestDb) {
    assert_eq!(t.db.count_users().await.unwrap(), 0);
    t.db.ping().await.unwrap();
}

async fn users_are_unique_and_tokens_find_their_user(t: TestDb) {
    let db = &t.db;
    let alice = db
        .create_user("alice", "$argon2id$x", Role::Admin)
        .await
        .unwrap();
    assert!(matches!(
        db.create_user("alice", "h", Role::Reader).await,
        Err(DbError::Conflict(_))
    ));
    db.add_token(named(alice.id, &"ab".repeat(32)))
        .await
        .unwrap();
    assert_eq!(api_user(db, &"ab".repeat(32)).await.unwrap(), alice);
    assert!(api_user(db, &"cd".repeat(32)).await.is_none());
    assert_eq!(
        db.user_by_name("alice").await.unwrap().unwrap().id,
        alice.id
    );
    assert_eq!(db.count_users().await.unwrap(), 1);
}

async fn devices_are_validated_listed_filtered_and_paginated(t: TestDb) {
    let db = &t.db;
    let group = db.create_device_group("core").await.unwrap();
    for i in 0..25 {
        let mut f = device_fields(&format!("sw-{i:02}"));
        if i % 5 == 0 {
            f.device_group = Some(group.id);
            f.enabled = false;
        }
        db.create_device(&f).await.unwrap();
    }
    let all = db
        .list_devices(
            &DeviceFilter::default(),
            &Scope::All,
            Page {
                limit: 10,
                offset: 20,
            },
        )
        .await
        .unwrap();
    assert_eq!(all.total, 25);
    assert_eq!(all.rows.len(), 5);
    assert_eq!(all.rows[0].fields.name, "sw-20");
    let filtered = db
        .list_devices(
            &DeviceFilter {
                device_group: Some(group.id),
                enabled: Some(false),
                ..Default::default()
            },
            &Scope::All,
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(filtered.total, 5);
    let by_name = db
        .list_devices(
            &DeviceFilter {
                name: Some("SW-1".into()),
                ..Default::default()
            },
            &Scope::All,
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(by_name.total, 10);

    assert!(matches!(
        db.create_device(&device_fields("sw-00")).await,
        Err(DbError::Conflict(_))
    ));
    let mut bad = device_fields("x");
    bad.port = 0;
    assert!(matches!(
        db.create_device(&bad).await,
        Err(DbError::Invalid(_))
    ));
    let mut dangling = device_fields("y");
    dangling.credential = Some(9999);
    assert!(matches!(
        db.create_device(&dangling).await,
        Err(DbError::Conflict(_))
    ));

    let d = db.create_device(&device_fields("edge")).await.unwrap();
    let mut f = d.fields.clone();
    f.address = "198.51.100.7".into();
    f.port = 2222;
    assert_eq!(db.update_device(d.id, &f).await.unwrap().fields, f);
    db.purge_device(d.id).await.unwrap();
    assert!(matches!(
        db.device(d.id).await,
        Err(DbError::NotFound { .. })
    ));
}

async fn locations_credentials_and_groups_round_trip(t: TestDb) {
    let db = &t.db;
    let cfg = json!({ "repo_path": "/tmp/devicevault-git-repo", "branch": "main" });
    let loc = db
        .create_location(
            "Primary Git Repo",
            StorageBackendKind::Git,
            cfg.as_object().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(db.location(loc.id).await.unwrap(), loc);
    let sealed = vec![0u8, 1, 2, 255, 254];
    let cred = db
        .create_credential("lab", "admin", &sealed, None)
        .await
        .unwrap();
    let back = db.credential(cred.id).await.unwrap();
    assert_eq!(back.password_sealed, sealed);
    assert_eq!(back.enable_secret_sealed, None);
    assert!(!format!("{back:?}").contains("password_sealed"));
    let cg = db
        .create_collection_group("DMZ", &QueueId::parse("dmz-1").unwrap())
        .await
        .unwrap();
    assert_eq!(
        db.collection_group(cg.id).await.unwrap().queue(),
        "collector.group.dmz-1"
    );
    let m = db.create_manufacturer("Cisco").await.unwrap();
    db.create_device_type("Catalyst 9300", Some(m.id), None)
        .await
        .unwrap();
}

async fn jobs_only_move_forward_and_replays_change_nothing(t: TestDb) {
    let db = &t.db;
    let d = db.create_device(&device_fields("r1")).await.unwrap();
    let now = Timestamp::now();
    assert!(
        db.create_job("t1", "backup_now:1:x", d.id, now, now)
            .await
            .unwrap()
    );
    assert!(
        !db.create_job("t1", "backup_now:1:x", d.id, now, now)
            .await
            .unwrap()
    );
    assert!(
        db.advance_job("backup_now:1:x", JobState::Collecting, None)
            .await
            .unwrap()
    );
    assert!(
        !db.advance_job("backup_now:1:x", JobState::Queued, None)
            .await
            .unwrap()
    );
    assert!(
        db.advance_job("backup_now:1:x", JobState::Collected, None)
            .await
            .unwrap()
    );
    assert!(
        !db.advance_job("backup_now:1:x", JobState::Collected, None)
            .await
            .unwrap()
    );
    assert!(
        db.advance_job("backup_now:1:x", JobState::Stored, None)
            .await
            .unwrap()
    );
    assert!(
        !db.advance_job("backup_now:1:x", JobState::Failed, Some("late"))
            .await
            .unwrap()
    );
    let job = db.job("backup_now:1:x").await.unwrap();
    assert_eq!(job.state, JobState::Stored);
    assert_eq!(job.reason, None);

    assert!(db.create_job("t2", "job-2", d.id, now, now).await.unwrap());
    assert!(
        db.advance_job(
            "job-2",
            JobState::Failed,
            Some("authentication failed for admin@r1:22")
        )
        .await
        .unwrap()
    );
    let job = db.job("job-2").await.unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(
        job.reason.as_deref(),
        Some("authentication failed for admin@r1:22")
    );
}

async fn overdue_jobs_are_found_and_renewed_by_one_caller(t: TestDb) {
    let db = &t.db;
    let d = db.create_device(&device_fields("r1")).await.unwrap();
    let past = Timestamp::parse("2026-01-01T00:00:00.000Z").unwrap();
    let now = Timestamp::now();
    db.create_job("t1", "late", d.id, past, past).await.unwrap();
    db.create_job("t2", "done", d.id, past, past).await.unwrap();
    db.advance_job("done", JobState::Stored, None)
        .await
        .unwrap();
    let overdue = db.overdue_jobs(now, 10).await.unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].task_identifier, "late");
    let later = Timestamp::parse("2099-01-01T00:00:00.000Z").unwrap();
    assert!(
        db.renew_job("late", &overdue[0].deadline, later)
            .await
            .unwrap()
    );
    assert!(
        !db.renew_job("late", &overdue[0].deadline, later)
            .await
            .unwrap(),
        "second renewer loses"
    );
    assert!(db.overdue_jobs(now, 10).await.unwrap().is_empty());
    assert_eq!(db.job("late").await.unwrap().attempts, 2);
}

async fn results_and_stored_backups_are_recorded_once(t: TestDb) {
    let db = &t.db;
    let d = db.create_device(&device_fields("r1")).await.unwrap();
    let result = NewDeviceResult {
        task_id: "t1".into(),
        task_identifier: "job-1".into(),
        device_id: d.id,
        status: Status::Success,
        timestamp: Timestamp::now(),
        log: r#"[{"message":"collected"}]"#.into(),
        collection_duration_ms: 412,
        author: Some("jdoe".into()),
        change_key: None,
    };
    assert!(db.record_device_result(&result).await.unwrap());
    assert!(!db.record_device_result(&result).await.unwrap());
    let listed = db
        .device_results(Some(d.id), &Scope::All, Page::default())
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(listed.rows[0].collection_duration_ms, 412);

    for i in 0..30 {
        let s = NewStoredBackup {
            task_id: format!("t{i}"),
            task_identifier: format!("job-{i}"),
            device_id: d.id,
            storage_backend: StorageBackendKind::Git,
            storage_ref: format!("main:{}/r1.cfg@{:040x}", d.id, i),
            status: Status::Success,
            timestamp: Timestamp::parse(&format!("2026-01-12T12:34:{:02}.000Z", i)).unwrap(),
            log: "[]".into(),
            location_id: None,
            size: Some(812),
            sha256: Some("ab".repeat(32)),
            changed: Some(i % 2 == 0),
            is_binary: false,
        };
        assert!(db.record_stored_backup(&s).await.unwrap());
        assert!(
            !db.record_stored_backup(&s).await.unwrap(),
            "replay must change nothing"
        );
    }
    let page = db
        .stored_backups(
            Some(d.id),
            &Scope::All,
            Page {
                limit: 10,
                offset: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total, 30);
    assert_eq!(page.rows[0].task_identifier, "job-29", "newest first");
    let one = db.stored_backup(page.rows[0].id).await.unwrap();
    assert_eq!(one, page.rows[0]);
    assert_eq!(one.changed, Some(false));
    assert_eq!(one.author, None, "job-29 had no result naming an author");
    let all = db
        .stored_backups(
            Some(d.id),
            &Scope::All,
            Page {
                limit: 100,
                offset: 0,
            },
        )
        .await
        .unwrap();
    let first = all
        .rows
        .iter()
        .find(|s| s.task_identifier == "job-1")
        .unwrap();
    assert_eq!(
        first.author.as_deref(),
        Some("jdoe"),
        "a stored backup takes the author of the result it stores"
    );
    assert!(matches!(
        db.stored_backup(999_999).await,
        Err(DbError::NotFound { .. })
    ));
}

/// One job's whole life as the consumers write it, batched with others.
fn job_batch(batch: &mut IndexBatch, device_id: i64, i: u32) {
    let ti = format!("job-{device_id}-{i}");
    batch.record_device_result(result_of(device_id, i));
    batch.advance_job(&ti, JobState::Collected, None);
    batch.set_job_target(
        &ti,
        JobTarget {
            location_id: None,
            is_binary: true,
        },
    );
    batch.record_stored_backup(stored_backup_of(device_id, None, i));
    batch.advance_job(&ti, JobState::Stored, None);
}

async fn a_replayed_index_batch_changes_nothing(t: TestDb) {
    let db = &t.db;
    let now = Timestamp::now();
    let mut batch = IndexBatch::new();
    let mut jobs = Vec::new();
    for i in 0..10 {
        let d = db
            .create_device(&device_fields(&format!("r{i}")))
            .await
            .unwrap();
        let ti = format!("job-{}-0", d.id);
        assert!(db.create_job("t", &ti, d.id, now, now).await.unwrap());
        job_batch(&mut batch, d.id, 0);
        jobs.push(ti);
    }
    let first = db.apply(&batch).await.unwrap();
    assert_eq!(first.len(), batch.len());
    assert!(first.iter().all(|changed| *changed), "{first:?}");
    // The same batch again, as after a crash before the entries were acked.
    let again = db.apply(&batch).await.unwrap();
    assert_eq!(again.len(), batch.len());
    // Only the target (an unconditional update to the same value) reports
    // a row; nothing is inserted twice and no job moves.
    assert_eq!(again.iter().filter(|changed| **changed).count(), 10);
    let stored = db
        .stored_backups(None, &Scope::All, Page::default())
        .await
        .unwrap();
    assert_eq!(stored.total, 10, "each stored backup recorded once");
    let results = db
        .device_results(None, &Scope::All, Page::default())
        .await
        .unwrap();
    assert_eq!(results.total, 10, "each collection recorded once");
    for ti in &jobs {
        assert_eq!(db.job(ti).await.unwrap().state, JobState::Stored);
        assert_eq!(
            db.job_target(ti).await.unwrap().map(|t| t.is_binary),
            Some(true)
        );
    }
}

async fn an_index_batch_is_written_whole_or_not_at_all(t: TestDb) {
    let db = &t.db;
    let d = db.create_device(&device_fields("r1")).await.unwrap();
    let mut batch = IndexBatch::new();
    job_batch(&mut batch, d.id, 0);
    // A stored backup of a device that does not exist: the foreign key
    // refuses it, and with it the whole batch.
    batch.record_stored_backup(stored_backup_of(d.id + 1000, None, 1));
    assert!(db.apply(&batch).await.is_err());
    let stored = db
        .stored_backups(None, &Scope::All, Page::default())
        .await
        .unwrap();
    assert_eq!(stored.total, 0, "nothing of the failed batch was kept");
    let results = db
        .device_results(None, &Scope::All, Page::default())
        .await
        .unwrap();
    assert_eq!(results.total, 0, "nothing of the failed batch was kept");
    assert!(db.apply(&IndexBatch::new()).await.unwrap().is_empty());
}

fn stored_backup_of(device_id: i64, location_id: Option<i64>, i: u32) -> NewStoredBackup {
    NewStoredBackup {
        task_id: format!("t{device_id}-{i}"),
        task_identifier: format!("job-{device_id}-{i}"),
        device_id,
        storage_backend: StorageBackendKind::Git,
        storage_ref: format!("main:{device_id}/r.cfg@{i:040x}"),
        status: Status::Success,
        timestamp: Timestamp::parse(&format!("2026-01-12T12:{:02}:{:02}.000Z", i / 60, i % 60))
            .unwrap(),
        log: "[]".into(),
        location_id,
        size: Some(812),
        sha256: None,
        changed: None,
        is_binary: false,
    }
}

fn result_of(device_id: i64, i: u32) -> NewDeviceResult {
    NewDeviceResult {
        task_id: format!("t{device_id}-{i}"),
        task_identifier: format!("job-{device_id}-{i}"),
        device_id,
        status: Status::Success,
        timestamp: Timestamp::parse(&format!("2026-01-12T12:{:02}:{:02}.000Z", i / 60, i % 60))
            .unwrap(),
        log: "[]".into(),
        collection_duration_ms: 10,
        author: None,
        change_key: None,
    }
}

async fn backup_lists_filter_by_device_or_show_all_newest_first(t: TestDb) {
    let db = &t.db;
    let a = db.create_device(&device_fields("a")).await.unwrap();
    let b = db.create_device(&device_fields("b")).await.unwrap();
    // Interleaved in time: a at even seconds, b at odd ones.
    for i in 0..10 {
        let d = if i % 2 == 0 { a.id } else { b.id };
        db.record_stored_backup(&stored_backup_of(d, None, i))
            .await
            .unwrap();
        db.record_device_result(&result_of(d, i)).await.unwrap();
    }
    let page = Page {
        limit: 3,
        offset: 1,
    };

    let all = db.stored_backups(None, &Scope::All, page).await.unwrap();
    assert_eq!(all.total, 10);
    let times: Vec<_> = all.rows.iter().map(|r| r.timestamp.as_str()).collect();
    assert_eq!(
        times,
        [
            "2026-01-12T12:00:08.000Z",
            "2026-01-12T12:00:07.000Z",
            "2026-01-12T12:00:06.000Z"
        ]
    );
    let only_b = db
        .stored_backups(Some(b.id), &Scope::All, page)
        .await
        .unwrap();
    assert_eq!(only_b.total, 5);
    assert!(only_b.rows.iter().all(|r| r.device_id == b.id));
    assert_eq!(only_b.rows[0].timestamp, "2026-01-12T12:00:07.000Z");

    let all = db.device_results(None, &Scope::All, page).await.unwrap();
    assert_eq!(all.total, 10);
    assert_eq!(all.rows[0].task_identifier, format!("job-{}-8", a.id));
    let only_a = db
        .device_results(Some(a.id), &Scope::All, page)
        .await
        .unwrap();
    assert_eq!(only_a.total, 5);
    assert!(only_a.rows.iter().all(|r| r.device_id == a.id));
    assert_eq!(only_a.rows[0].task_identifier, format!("job-{}-6", a.id));

    // Past the end: no rows, the total still right.
    let far = Page {
        limit: 10,
        offset: 100,
    };
    let past = db
        .stored_backups(Some(a.id), &Scope::All, far)
        .await
        .unwrap();
    assert_eq!((past.rows.len(), past.total), (0, 5));
    let none = db
        .device_results(Some(999_999), &Scope::All, Page::default())
        .await
        .unwrap();
    assert_eq!((none.rows.len(), none.total), (0, 0));
    assert!(matches!(
        db.stored_backups(
            None,
            &Scope::All,
            Page {
                limit: 10,
                offset: -1
            }
        )
        .await,
        Err(DbError::Invalid(_))
    ));
}

async fn the_latest_stored_backup_is_the_newest_success_at_that_location(t: TestDb) {
    let db = &t.db;
    let cfg = json!({ "repo_path": "/srv/a" });
    let (here, there) = (
        db.create_location("here", StorageBackendKind::Git, cfg.as_object().unwrap())
            .await
            .unwrap(),
        db.create_location("there", StorageBackendKind::Git, cfg.as_object().unwrap())
            .await
            .unwrap(),
    );
    let a = db.create_device(&device_fields("a")).await.unwrap();
    let b = db.create_device(&device_fields("b")).await.unwrap();
    assert_eq!(db.latest_stored_backup(a.id, here.id).await.unwrap(), None);
    // a: 0 and 1 here, 2 there, 3 here but failed; b: 4 here.
    for (device, location, i, status) in [
        (a.id, here.id, 0, Status::Success),
        (a.id, here.id, 1, Status::Success),
        (a.id, there.id, 2, Status::Success),
        (a.id, here.id, 3, Status::Failure),
        (b.id, here.id, 4, Status::Success),
    ] {
        let mut s = stored_backup_of(device, Some(location), i);
        s.status = status;
        db.record_stored_backup(&s).await.unwrap();
    }
    let latest = |device, location| async move {
        db.latest_stored_backup(device, location)
            .await
            .unwrap()
            .map(|s| s.task_identifier)
    };
    assert_eq!(latest(a.id, here.id).await, Some(format!("job-{}-1", a.id)));
    assert_eq!(
        latest(a.id, there.id).await,
        Some(format!("job-{}-2", a.id))
    );
    assert_eq!(latest(b.id, there.id).await, None);
    // The batch read answers the same for every pair at once.
    let pairs = [
        (a.id, here.id),
        (a.id, there.id),
        (b.id, here.id),
        (b.id, there.id),
    ];
    let batch = db.latest_stored_at(&pairs).await.unwrap();
    for (device, location) in pairs {
        assert_eq!(
            batch.get(&(device, location)).map(|(s, _)| s.clone()),
            db.latest_stored_backup(device, location).await.unwrap(),
            "device {device} at location {location}"
        );
    }
    assert_eq!(batch.len(), 3);
    assert!(db.latest_stored_at(&[]).await.unwrap().is_empty());
}

/// Issue 19: the collection's `change_key` is kept on its result and copied
/// onto the stored backup that stores it, and the latest stored version at
/// a location answers with it; a job of the device still on its way is
/// seen by `has_other_unfinished_job`.
async fn the_change_key_follows_the_result_onto_its_stored_backup(t: TestDb) {
    let db = &t.db;
    let cfg = json!({ "repo_path": "/srv/a" });
    let here = db
        .create_location("here", StorageBackendKind::Git, cfg.as_object().unwrap())
        .await
        .unwrap();
    let d = db.create_device(&device_fields("fgt")).await.unwrap();
    assert_eq!(
        db.latest_stored_with_change_key(d.id, here.id)
            .await
            .unwrap(),
        None
    );
    let key = "ab".repeat(32);
    // 0: stored before keys existed; 1: a key; 2: a key, but failed.
    for (i, k, status) in [
        (0, None, Status::Success),
        (1, Some(key.clone()), Status::Success),
        (2, Some("cd".repeat(32)), Status::Failure),
    ] {
        let mut r = result_of(d.id, i);
        r.change_key = k;
        db.record_device_result(&r).await.unwrap();
        let mut s = stored_backup_of(d.id, Some(here.id), i);
        s.status = status;
        db.record_stored_backup(&s).await.unwrap();
        let (latest, latest_key) = db
            .latest_stored_with_change_key(d.id, here.id)
            .await
            .unwrap()
            .unwrap();
        let want = if i == 0 { None } else { Some(key.clone()) };
        assert_eq!(latest_key, want, "after {i}");
        assert_eq!(latest.task_identifier, format!("job-{}-{}", d.id, i.min(1)));
    }

    let batch = db.latest_stored_at(&[(d.id, here.id)]).await.unwrap();
    assert_eq!(
        batch.get(&(d.id, here.id)),
        db.latest_stored_with_change_key(d.id, here.id)
            .await
            .unwrap()
            .as_ref()
    );

    let now = Timestamp::now();
    assert!(db.create_job("t9", "job-9", d.id, now, now).await.unwrap());
    assert!(!db.has_other_unfinished_job(d.id, "job-9").await.unwrap());
    let unfinished = db.unfinished_jobs(&[d.id, d.id + 1000]).await.unwrap();
    assert_eq!(unfinished.get(&d.id), Some(&vec!["job-9".to_owned()]));
    assert_eq!(unfinished.len(), 1);
    // The jobs and their targets, read for a batch: absent ones left out.
    let jobs = db
        .jobs_by_identifiers(&["job-9", "job-none"])
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs["job-9"], db.job("job-9").await.unwrap());
    let target = devicevault_db::JobTarget {
        location_id: Some(here.id),
        is_binary: true,
    };
    db.set_job_target("job-9", target).await.unwrap();
    let targets = db
        .job_targets_and_queued_on(&["job-9", "job-none"])
        .await
        .unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(
        Some(targets["job-9"]),
        db.job_target_and_queued_on("job-9").await.unwrap()
    );
    assert_eq!(targets["job-9"].0, target);
    assert!(db.has_other_unfinished_job(d.id, "job-10").await.unwrap());
    db.advance_job("job-9", JobState::Collected, None)
        .await
        .unwrap();
    assert!(
        db.has_other_unfinished_job(d.id, "job-10").await.unwrap(),
        "a store on its way"
    );
    db.advance_job("job-9", JobState::Stored, None)
        .await
        .unwrap();
    assert!(!db.has_other_unfinished_job(d.id, "job-10").await.unwrap());
    assert!(db.unfinished_jobs(&[d.id]).await.unwrap().is_empty());
}

async fn locations_are_listed_updated_and_deleted_only_when_unused(t: TestDb) {
    let db = &t.db;
    let cfg = json!({ "repo_path": "/srv/a", "branch": "main" });
    let cfg = cfg.as_object().unwrap();
    let mut locs = Vec::new();
    for name in ["a", "b", "c"] {
        locs.push(
            db.create_location(name, StorageBackendKind::Git, cfg)
                .await
                .unwrap(),
        );
    }
    let page = db
        .list_locations(Page {
            limit: 2,
            offset: 1,
        })
        .await
        .unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.rows, locs[1..].to_vec());

    let fs_cfg = json!({ "base_path": "/srv/fs" });
    let updated = db
        .update_location(
            locs[0].id,
            "a2",
            StorageBackendKind::Fs,
            fs_cfg.as_object().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(updated.location_type, StorageBackendKind::Fs);
    assert_eq!(db.location(locs[0].id).await.unwrap(), updated);
    assert!(matches!(
        db.update_location(locs[0].id, "b", StorageBackendKind::Git, cfg)
            .await,
        Err(DbError::Conflict(_))
    ));
    assert!(matches!(
        db.update_location(999_999, "z", StorageBackendKind::Git, cfg)
            .await,
        Err(DbError::NotFound { .. })
    ));

    // Referenced by a device.
    let mut f = device_fields("r1");
    f.backup_location = Some(locs[1].id);
    db.create_device(&f).await.unwrap();
    assert!(matches!(
        db.delete_location(locs[1].id).await,
        Err(DbError::Conflict(_))
    ));
    // Referenced only by a stored backup (its device uses no location).
    let d = db.create_device(&device_fields("r2")).await.unwrap();
    db.record_stored_backup(&stored_backup_of(d.id, Some(locs[2].id), 0))
        .await
        .unwrap();
    assert!(matches!(
        db.delete_location(locs[2].id).await,
        Err(DbError::Conflict(_))
    ));
    assert_eq!(db.list_locations(Page::default()).await.unwrap().total, 3);

    db.delete_location(locs[0].id).await.unwrap();
    assert!(matches!(
        db.delete_location(locs[0].id).await,
        Err(DbError::NotFound { .. })
    ));
    assert!(matches!(
        db.list_locations(Page {
            limit: -1,
            offset: 0
        })
        .await,
        Err(DbError::Invalid(_))
    ));
}

async fn credentials_are_listed_updated_and_deleted_only_when_unused(t: TestDb) {
    let db = &t.db;
    let a = db
        .create_credential("a", "admin", b"sealed-a", Some(b"enable-a"))
        .await
        .unwrap();
    let b = db
        .create_credential("b", "oper", b"sealed-b", None)
        .await
        .unwrap();
    let listed = db.list_credentials(Page::default()).await.unwrap();
    assert_eq!(listed.total, 2);
    assert_eq!(listed.rows, vec![a.clone(), b.clone()]);

    let new = devicevault_db::Credential {
        id: 424_242, // ignored
        name: "a-renamed".into(),
        username: "root".into(),
        password_sealed: Vec::new(),
        enable_secret_sealed: None,
        private_key_sealed: Some(vec![9, 8, 7]),
        passphrase_sealed: Some(vec![6]),
        key_fingerprint: Some("SHA256:abc".into()),
        api_key_sealed: None,
    };
    let updated = db.update_credential(a.id, &new).await.unwrap();
    assert_eq!(updated.id, a.id);
    assert_eq!(updated.username, "root");
    assert!(updated.is_key() && updated.password_sealed.is_empty());
    assert_eq!(updated.private_key_sealed, Some(vec![9, 8, 7]));
    assert_eq!(updated.passphrase_sealed, Some(vec![6]));
    assert_eq!(updated.key_fingerprint.as_deref(), Some("SHA256:abc"));
    assert_eq!(updated.enable_secret_sealed, None);
    assert_eq!(db.credential(a.id).await.unwrap(), updated);
    let mut dup = new.clone();
    dup.name = "b".into();
    assert!(matches!(
        db.update_credential(a.id, &dup).await,
        Err(DbError::Conflict(_))
    ));
    assert!(matches!(
        db.update_credential(999_999, &new).await,
        Err(DbError::NotFound { .. })
    ));

    let mut f = device_fields("r1");
    f.credential = Some(b.id);
    let d = db.create_device(&f).await.unwrap();
    assert!(matches!(
        db.delete_credential(b.id).await,
        Err(DbError::Conflict(_))
    ));
    db.purge_device(d.id).await.unwrap();
    db.delete_credential(b.id).await.unwrap();
    assert!(matches!(
        db.delete_credential(b.id).await,
        Err(DbError::NotFound { .. })
    ));
}

/// An API key is stored sealed beside the other secrets, may be a
/// credential's only secret (its password then empty), and is removed by an
/// update without it.
async fn an_api_key_round_trips_and_may_be_a_credentials_only_secret(t: TestDb) {
    let db = &t.db;
    let only = devicevault_db::Credential {
        id: 0,
        name: "fortigate-api".into(),
        username: "api".into(),
        password_sealed: Vec::new(),
        enable_secret_sealed: None,
        private_key_sealed: None,
        passphrase_sealed: None,
        key_fingerprint: None,
        api_key_sealed: Some(vec![0xa9, 0, 0xff, 4]),
    };
    let c = db.insert_credential(&only).await.unwrap();
    assert_eq!(c.api_key_sealed, Some(vec![0xa9, 0, 0xff, 4]));
    assert!(!c.has_password() && !c.is_key());
    assert_eq!(db.credential(c.id).await.unwrap(), c);
    let listed = db.list_credentials(Page::default()).await.unwrap();
    assert_eq!(listed.rows, vec![c.clone()]);

    // A password credential gains a key, then loses it.
    let p = db
        .create_credential("panos", "admin", b"sealed-p", None)
        .await
        .unwrap();
    assert_eq!(p.api_key_sealed, None);
    assert!(p.has_password());
    let mut with = p.clone();
    with.api_key_sealed = Some(b"sealed-key".to_vec());
    let updated = db.update_credential(p.id, &with).await.unwrap();
    assert_eq!(updated.api_key_sealed.as_deref(), Some(&b"sealed-key"[..]));
    assert_eq!(updated.password_sealed, b"sealed-p");
    assert_eq!(db.credential(p.id).await.unwrap(), updated);
    let mut without = updated.clone();
    without.api_key_sealed = None;
    let cleared = db.update_credential(p.id, &without).await.unwrap();
    assert_eq!(cleared.api_key_sealed, None);
    // Debug never shows a secret.
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("api_key") && !dbg.contains("169"), "{dbg}");
}

async fn collection_groups_are_ensured_once_updated_and_deleted(t: TestDb) {
    let db = &t.db;
    let q = |s: &str| QueueId::parse(s).unwrap();
    let first = db.ensure_collection_group("DMZ", &q("dmz")).await.unwrap();
    let again = db
        .ensure_collection_group("other name", &q("dmz"))
        .await
        .unwrap();
    assert_eq!(again, first, "the existing group of the queue is returned");
    assert!(matches!(
        db.ensure_collection_group("DMZ", &q("dmz-2")).await,
        Err(DbError::Conflict(_))
    ));

    // Concurrent callers all get the one row.
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { db.ensure_collection_group("Core", &q("core")).await })
        })
        .collect();
    let mut groups = Vec::new();
    for r in racers {
        groups.push(r.await.unwrap().unwrap());
    }
    let core = groups[0].clone();
    assert!(groups.iter().all(|g| *g == core));
    let page = db
        .list_collection_groups_page(Page {
            limit: 1,
            offset: 1,
        })
        .await
        .unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.rows, vec![core.clone()]);

    let renamed = db
        .update_collection_group(core.id, "Core 2", &q("core-2"), 7)
        .await
        .unwrap();
    assert_eq!(renamed.queue(), "collector.group.core-2");
    assert_eq!(renamed.max_sessions, 7);
    assert_eq!(db.collection_group(core.id).await.unwrap(), renamed);
    assert!(matches!(
        db.update_collection_group(core.id, "x", &q("dmz"), 32)
            .await,
        Err(DbError::Conflict(_))
    ));
    assert!(matches!(
        db.update_collection_group(999_999, "x", &q("x"), 32).await,
        Err(DbError::NotFound { .. })
    ));

    let mut f = device_fields("r1");
    f.collection_group = Some(core.id);
    let d = db.create_device(&f).await.unwrap();
    db.delete_collection_group(core.id).await.unwrap();
    assert_eq!(db.device(d.id).await.unwrap().fields.collection_group, None);
    assert!(matches!(
        db.delete_collection_group(core.id).await,
        Err(DbError::NotFound { .. })
    ));
}

async fn device_groups_types_and_manufacturers_are_managed(t: TestDb) {
    let db = &t.db;
    let core = db.create_device_group("core").await.unwrap();
    let edge = db.create_device_group("edge").await.unwrap();
    assert_eq!(db.device_group(core.id).await.unwrap(), core);
    let listed = db.list_device_groups(Page::default()).await.unwrap();
    assert_eq!(
        (listed.total, listed.rows),
        (2, vec![core.clone(), edge.clone()])
    );
    let renamed = db.update_device_group(core.id, "backbone").await.unwrap();
    assert_eq!(renamed.name, "backbone");
    assert!(matches!(
        db.update_device_group(core.id, "edge").await,
        Err(DbError::Conflict(_))
    ));
    assert!(matches!(
        db.update_device_group(core.id, " ").await,
        Err(DbError::Invalid(_))
    ));
    assert!(matches!(
        db.device_group(999_999).await,
        Err(DbError::NotFound { .. })
    ));

    let cisco = db.create_manufacturer("Cisco").await.unwrap();
    let juniper = db.create_manufacturer("Juniper").await.unwrap();
    let listed = db
        .list_named(
            devicevault_db::NamedKind::Manufacturer,
            Page {
                limit: 1,
                offset: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!((listed.total, listed.rows), (2, vec![cisco.clone()]));
    let cat = db
        .create_device_type("Catalyst", Some(cisco.id), None)
        .await
        .unwrap();
    assert_eq!(db.device_type(cat.id).await.unwrap(), cat);
    let mx = db
        .update_device_type(cat.id, "MX", Some(juniper.id), None)
        .await
        .unwrap();
    assert_eq!(mx.manufacturer, Some(juniper.id));
    assert!(matches!(
        db.update_device_type(cat.id, "MX", Some(999_999), None)
            .await,
        Err(DbError::Conflict(_))
    ));
    assert!(matches!(
        db.update_device_type(999_999, "MX", None, None).await,
        Err(DbError::NotFound { .. })
    ));
    assert_eq!(
        db.list_device_types(Page::default()).await.unwrap().rows,
        vec![mx.clone()]
    );

    let mut f = device_fields("r1");
    f.device_group = Some(core.id);
    f.device_type = Some(mx.id);
    let d = db.create_device(&f).await.unwrap();
    db.delete_device_group(core.id).await.unwrap();
    db.delete_device_type(mx.id).await.unwrap();
    let d = db.device(d.id).await.unwrap();
    assert_eq!((d.fields.device_group, d.fields.device_type), (None, None));
    assert!(matches!(
        db.delete_device_group(core.id).await,
        Err(DbError::NotFound { .. })
    ));
    assert!(matches!(
        db.delete_device_type(mx.id).await,
        Err(DbError::NotFound { .. })
    ));
    assert!(matches!(
        db.device_type(mx.id).await,
        Err(DbError::NotFound { .. })
    ));
}

async fn users_are_listed_changed_and_deleted_and_tokens_revoked(t: TestDb) {
    let db = &t.db;
    let alice = db.create_user("alice", "h1", Role::Admin).await.unwrap();
    let bob = db.create_user("bob", "h2", Role::Reader).await.unwrap();
    assert_eq!(
        db.list_users().await.unwrap(),
        vec![alice.clone(), bob.clone()]
    );
    assert_eq!(db.user(bob.id).await.unwrap(), bob);
    assert_eq!(db.count_admins().await.unwrap(), 1);

    db.change_password(bob.id, "h3", None).await.unwrap();
    assert_eq!(db.user(bob.id).await.unwrap().password_hash, "h3");
    assert!(matches!(
        db.change_password(999_999, "x", None).await,
        Err(DbError::NotFound { .. })
    ));

    let token = "ef".repeat(32);
    db.add_token(named(bob.id, &token)).await.unwrap();
    assert!(db.revoke_token(&token).await.unwrap());
    assert!(!db.revoke_token(&token).await.unwrap());
    assert!(api_user(db, &token).await.is_none());

    db.add_token(named(bob.id, &token)).await.unwrap();
    db.delete_user(bob.id).await.unwrap();
    assert!(
        api_user(db, &token).await.is_none(),
        "tokens go with their user"
    );
    assert!(matches!(
        db.user(bob.id).await,
        Err(DbError::NotFound { .. })
    ));
    assert!(matches!(
        db.delete_user(bob.id).await,
        Err(DbError::NotFound { .. })
    ));
    assert_eq!(db.list_users().await.unwrap(), vec![alice]);
}

fn schedule_fields(name: &str, devices: Vec<i64>, device_groups: Vec<i64>) -> ScheduleFields {
    ScheduleFields {
        name: name.into(),
        cron: "0 2 * * *".into(),
        timezone: "Europe/Paris".into(),
        enabled: true,
        devices,
        device_groups,
    }
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

async fn schedules_are_created_updated_listed_and_deleted(t: TestDb) {
    let db = &t.db;
    let d1 = db.create_device(&device_fields("r1")).await.unwrap();
    let d2 = db.create_device(&device_fields("r2")).await.unwrap();
    let g = db.create_device_group("core").await.unwrap();

    let created = db
        .create_schedule(
            &schedule_fields("nightly", vec![d2.id, d1.id, d2.id], vec![g.id]),
            Some(ts("2026-03-01T01:00:00Z")),
        )
        .await
        .unwrap();
    assert_eq!(created.fields.devices, vec![d1.id, d2.id], "sorted, once");
    assert_eq!(created.fields.device_groups, vec![g.id]);
    assert_eq!(
        created.next_run.as_deref(),
        Some("2026-03-01T01:00:00.000Z")
    );
    assert_eq!(db.schedule(created.id).await.unwrap(), created);

    assert!(matches!(
        db.create_schedule(&schedule_fields("nightly", vec![], vec![]), None)
            .await,
        Err(DbError::Conflict(_))
    ));
    let mut empty_cron = schedule_fields("x", vec![], vec![]);
    empty_cron.cron = " ".into();
    assert!(matches!(
        db.create_schedule(&empty_cron, None).await,
        Err(DbError::Invalid(_))
    ));
    // A missing target fails the whole creation.
    let err = db
        .create_schedule(
            &schedule_fields("dangling", vec![d1.id, 999_999], vec![]),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DbError::Conflict(m) if m.contains("device 999999")),
        "{err}"
    );
    assert_eq!(db.list_schedules(Page::default()).await.unwrap().total, 1);

    let second = db
        .create_schedule(&schedule_fields("weekly", vec![d1.id], vec![]), None)
        .await
        .unwrap();
    assert_eq!(second.next_run, None);
    let page = db
        .list_schedules(Page {
            limit: 1,
            offset: 1,
        })
        .await
        .unwrap();
    assert_eq!((page.total, page.rows), (2, vec![second.clone()]));

    let mut f = schedule_fields("nightly-2", vec![d2.id], vec![]);
    f.cron = "30 3 * * 1-5".into();
    f.timezone = "UTC".into();
    f.enabled = false;
    let updated = db.update_schedule(created.id, &f, None).await.unwrap();
    assert_eq!(updated.fields, f);
    assert_eq!(updated.next_run, None);
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(db.schedule(created.id).await.unwrap(), updated);
    assert!(matches!(
        db.update_schedule(created.id, &schedule_fields("weekly", vec![], vec![]), None)
            .await,
        Err(DbError::Conflict(_))
    ));
    assert!(matches!(
        db.update_schedule(
            created.id,
            &schedule_fields("y", vec![], vec![999_999]),
            None
        )
        .await,
        Err(DbError::Conflict(_))
    ));
    assert_eq!(
        db.schedule(created.id).await.unwrap(),
        updated,
        "a failed update changes nothing"
    );
    assert!(matches!(
        db.update_schedule(999_999, &f, None).await,
        Err(DbError::NotFound { .. })
    ));

    // Deleting a target removes it from the schedules.
    let with_group = db
        .update_schedule(
            second.id,
            &schedule_fields("weekly", vec![d1.id, d2.id], vec![g.id]),
            None,
        )
        .await
        .unwrap();
    db.purge_device(d1.id).await.unwrap();
    db.delete_device_group(g.id).await.unwrap();
    let after = db.schedule(with_group.id).await.unwrap();
    assert_eq!(
        (after.fields.devices, after.fields.device_groups),
        (vec![d2.id], vec![])
    );

    db.delete_schedule(created.id).await.unwrap();
    assert!(matches!(
        db.delete_schedule(created.id).await,
        Err(DbError::NotFound { .. })
    ));
    assert!(matches!(
        db.schedule(created.id).await,
        Err(DbError::NotFound { .. })
    ));
    assert_eq!(db.list_schedules(Page::default()).await.unwrap().total, 1);
}

async fn due_schedules_are_found_and_advanced_by_one_caller(t: TestDb) {
    let db = &t.db;
    let now = ts("2026-03-01T12:00:00Z");
    let past = Some(ts("2026-03-01T01:00:00Z"));
    let due = db
        .create_schedule(&schedule_fields("due", vec![], vec![]), past)
        .await
        .unwrap();
    let exactly_now = db
        .create_schedule(&schedule_fields("now", vec![], vec![]), Some(now))
        .await
        .unwrap();
    db.create_schedule(
        &schedule_fields("later", vec![], vec![]),
        Some(ts("2026-03-02T01:00:00Z")),
    )
    .await
    .unwrap();
    let mut disabled = schedule_fields("disabled", vec![], vec![]);
    disabled.enabled = false;
    db.create_schedule(&disabled, past).await.unwrap();
    let unset = db
        .create_schedule(&schedule_fields("unset", vec![], vec![]), None)
        .await
        .unwrap();

    let found = db.due_schedules(now, 10).await.unwrap();
    assert_eq!(
        found.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![due.id, exactly_now.id],
        "most overdue first; disabled, future and unset skipped"
    );
    assert_eq!(db.due_schedules(now, 1).await.unwrap().len(), 1);

    let slot = found[0].next_run.clone().unwrap();
    let next = ts("2026-03-02T01:00:00Z");
    assert!(
        !db.advance_schedule(due.id, "2026-01-01T00:00:00.000Z", next)
            .await
            .unwrap(),
        "a stale expectation changes nothing"
    );
    assert!(db.advance_schedule(due.id, &slot, next).await.unwrap());
    assert!(
        !db.advance_schedule(due.id, &slot, next).await.unwrap(),
        "the second caller loses"
    );
    assert_eq!(
        db.schedule(due.id).await.unwrap().next_run.as_deref(),
        Some("2026-03-02T01:00:00.000Z")
    );
    assert!(
        !db.advance_schedule(999_999, &slot, next).await.unwrap(),
        "a missing schedule is not advanced"
    );
    assert_eq!(
        db.due_schedules(now, 10)
            .await
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect::<Vec<_>>(),
        vec![exactly_now.id]
    );

    let without = db.schedules_without_next_run(10).await.unwrap();
    assert_eq!(
        without.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![unset.id]
    );
    assert!(db.init_schedule_next_run(unset.id, next).await.unwrap());
    assert!(
        !db.init_schedule_next_run(unset.id, now).await.unwrap(),
        "only a missing next_run is initialised"
    );
    assert!(db.schedules_without_next_run(10).await.unwrap().is_empty());
    assert_eq!(
        db.schedule(unset.id).await.unwrap().next_run.as_deref(),
        Some("2026-03-02T01:00:00.000Z")
    );
}

async fn schedule_targets_are_enabled_devices_once_by_id(t: TestDb) {
    let db = &t.db;
    let core = db.create_device_group("core").await.unwrap();
    let other = db.create_device_group("other").await.unwrap();
    let mk = |name: &'static str, group: Option<i64>, enabled: bool| {
        let mut f = device_fields(name);
        f.device_group = group;
        f.enabled = enabled;
        f
    };
    let direct_and_grouped = db
        .create_device(&mk("a", Some(core.id), true))
        .await
        .unwrap();
    let grouped = db
        .create_device(&mk("b", Some(core.id), true))
        .await
        .unwrap();
    let disabled_direct = db.create_device(&mk("c", None, false)).await.unwrap();
    db.create_device(&mk("d", Some(core.id), false))
        .await
        .unwrap();
    db.create_device(&mk("e", Some(other.id), true))
        .await
        .unwrap();
    let direct = db.create_device(&mk("f", None, true)).await.unwrap();

    let s = db
        .create_schedule(
            &schedule_fields(
                "nightly",
                vec![direct.id, direct_and_grouped.id, disabled_direct.id],
                vec![core.id],
            ),
            None,
        )
        .await
        .unwrap();
    let targets = db.schedule_targets(s.id).await.unwrap();
    assert_eq!(
        targets.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![direct_and_grouped.id, grouped.id, direct.id]
    );
    assert_eq!(targets[0], db.device(direct_and_grouped.id).await.unwrap());

    let empty = db
        .create_schedule(&schedule_fields("empty", vec![], vec![]), None)
        .await
        .unwrap();
    assert!(db.schedule_targets(empty.id).await.unwrap().is_empty());
    assert!(matches!(
        db.schedule_targets(999_999).await,
        Err(DbError::NotFound { .. })
    ));
}

async fn a_users_scope_is_every_device_or_exactly_their_device_groups(t: TestDb) {
    let db = &t.db;
    let admin = db.create_user("admin", "h", Role::Admin).await.unwrap();
    let reader = db.create_user("reader", "h", Role::Reader).await.unwrap();
    assert!(!reader.restricted);
    assert_eq!(db.scope_of(&reader).await.unwrap(), Scope::All);
    let core = db.create_device_group("core").await.unwrap();
    let edge = db.create_device_group("edge").await.unwrap();
    db.set_user_scope(reader.id, Some(&[edge.id, core.id]))
        .await
        .unwrap();
    let reader = db.user(reader.id).await.unwrap();
    assert!(reader.restricted);
    let mut both = vec![core.id, edge.id];
    both.sort_unstable();
    assert_eq!(db.scope_of(&reader).await.unwrap(), Scope::Groups(both));
    // An unknown group is refused and changes nothing.
    let e = db
        .set_user_scope(reader.id, Some(&[core.id, 999_999]))
        .await
        .unwrap_err();
    assert!(matches!(e, DbError::Invalid(_)), "{e:?}");
    assert_eq!(db.user_device_groups(reader.id).await.unwrap().len(), 2);
    // Restricted to nothing stays restricted (never every device).
    db.set_user_scope(reader.id, Some(&[])).await.unwrap();
    let reader = db.user(reader.id).await.unwrap();
    assert_eq!(db.scope_of(&reader).await.unwrap(), Scope::Groups(vec![]));
    db.set_user_scope(reader.id, None).await.unwrap();
    let reader = db.user(reader.id).await.unwrap();
    assert_eq!(db.scope_of(&reader).await.unwrap(), Scope::All);
    // Administrators see every device whatever their groups.
    db.set_user_scope(admin.id, Some(&[core.id])).await.unwrap();
    let admin = db.user(admin.id).await.unwrap();
    assert_eq!(db.scope_of(&admin).await.unwrap(), Scope::Admin);
    assert!(matches!(
        db.set_user_scope(999_999, None).await.unwrap_err(),
        DbError::NotFound { .. }
    ));
    // A deleted group leaves its members' scope, not the users.
    db.set_user_scope(reader.id, Some(&[core.id]))
        .await
        .unwrap();
    db.delete_device_group(core.id).await.unwrap();
    assert!(db.user_device_groups(reader.id).await.unwrap().is_empty());
    assert!(db.user(reader.id).await.unwrap().restricted);
}

async fn tokens_work_where_their_kind_belongs_expire_and_go_with_a_password_change(t: TestDb) {
    let db = &t.db;
    let u = db.create_user("carol", "h", Role::Reader).await.unwrap();
    let policy = TokenPolicy::default();
    let add = |kind, digest: &'static str, expires: Option<Timestamp>| NewToken {
        user_id: u.id,
        digest,
        kind,
        name: (kind == TokenKind::Named).then_some("script"),
        expires_at: expires,
    };
    let login = db
        .add_token(add(TokenKind::Login, "login", None))
        .await
        .unwrap();
    let script = db
        .add_token(add(
            TokenKind::Named,
            "script",
            Some(ts("2099-01-01T00:00:00Z")),
        ))
        .await
        .unwrap();
    let old = db
        .add_token(add(
            TokenKind::Named,
            "old",
            Some(ts("2001-01-01T00:00:00Z")),
        ))
        .await
        .unwrap();
    let session = db
        .add_token(add(
            TokenKind::Session,
            "session",
            Some(ts("2099-01-01T00:00:00Z")),
        ))
        .await
        .unwrap();
    assert_eq!(script.name.as_deref(), Some("script"));
    let now = Timestamp::now();
    let auth = |digest: &'static str, usage| async move {
        db.authenticate(digest, usage, now, &policy)
            .await
            .unwrap()
            .map(|(_, t)| t.id)
    };
    // Each kind only where it belongs.
    assert_eq!(auth("login", TokenUse::Api).await, Some(login.id));
    assert_eq!(auth("script", TokenUse::Api).await, Some(script.id));
    assert_eq!(auth("session", TokenUse::Session).await, Some(session.id));
    assert_eq!(auth("session", TokenUse::Api).await, None);
    assert_eq!(auth("script", TokenUse::Session).await, None);
    // Expired.
    assert_eq!(auth("old", TokenUse::Api).await, None);
    // A login token idle longer than the policy is dead.
    let later = Timestamp::from_datetime(
        now.as_datetime() + policy.login_idle + std::time::Duration::from_secs(60),
    );
    assert!(
        db.authenticate("login", TokenUse::Api, later, &policy)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.authenticate("script", TokenUse::Api, later, &policy)
            .await
            .unwrap()
            .is_some()
    );
    // Pruning forgets the dead ones only.
    assert_eq!(db.prune_tokens(later, &policy).await.unwrap(), 2);
    assert!(matches!(
        db.token(old.id).await,
        Err(DbError::NotFound { .. })
    ));
    // Another user's token is not found for a non-admin revoke.
    let other = db.create_user("dave", "h", Role::Reader).await.unwrap();
    assert!(matches!(
        db.delete_token(Some(other.id), script.id).await,
        Err(DbError::NotFound { .. })
    ));
    // A password change revokes everything but the session kept.
    let revoked = db
        .change_password(u.id, "h2", Some(session.id))
        .await
        .unwrap();
    assert_eq!(revoked, 1, "the named token goes");
    assert_eq!(auth("script", TokenUse::Api).await, None);
    assert_eq!(auth("session", TokenUse::Session).await, Some(session.id));
    assert_eq!(db.revoke_user_tokens(u.id, None).await.unwrap(), 1);
    assert!(db.list_tokens(Some(u.id)).await.unwrap().is_empty());
}

async fn failed_logins_are_counted_per_username_locked_and_cleared(t: TestDb) {
    let db = &t.db;
    let now = ts("2030-01-01T00:00:00Z");
    assert!(db.login_throttle("nobody").await.unwrap().is_none());
    for n in 1..=3 {
        let r = db
            .record_login_failure("nobody", now, |n| {
                (n >= 3).then(|| ts("2030-01-01T00:00:01Z"))
            })
            .await
            .unwrap();
        assert_eq!(r.failures, n);
    }
    let r = db.login_throttle("nobody").await.unwrap().unwrap();
    assert_eq!(r.locked_until, Some(ts("2030-01-01T00:00:01Z")));
    assert!(
        db.login_throttle("Nobody").await.unwrap().is_none(),
        "per exact username"
    );
    db.clear_login_failures("nobody").await.unwrap();
    assert!(db.login_throttle("nobody").await.unwrap().is_none());
    db.record_login_failure("old", ts("2020-01-01T00:00:00Z"), |_| None)
        .await
        .unwrap();
    assert_eq!(
        db.prune_login_throttle(ts("2021-01-01T00:00:00Z"))
            .await
            .unwrap(),
        1
    );
}

async fn archived_devices_leave_lists_schedules_and_readers_and_come_back(t: TestDb) {
    let db = &t.db;
    let g = db.create_device_group("core").await.unwrap();
    let mut f = device_fields("r1");
    f.device_group = Some(g.id);
    let d = db.create_device(&f).await.unwrap();
    let keep = db.create_device(&device_fields("r2")).await.unwrap();
    let sched = db
        .create_schedule(
            &schedule_fields("nightly", vec![d.id, keep.id], vec![]),
            None,
        )
        .await
        .unwrap();
    // An open job fails when its device is archived.
    db.create_job("t1", "job-1", d.id, Timestamp::now(), Timestamp::now())
        .await
        .unwrap();
    let a = db.archive_device(d.id).await.unwrap();
    assert!(a.archived_at.is_some());
    let job = db.job("job-1").await.unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert!(job.reason.unwrap().contains("archived"));
    let live = db
        .list_devices(&DeviceFilter::default(), &Scope::Admin, Page::default())
        .await
        .unwrap();
    assert_eq!(
        live.rows.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![keep.id]
    );
    let archived = DeviceFilter {
        archived: true,
        ..DeviceFilter::default()
    };
    let listed = db
        .list_devices(&archived, &Scope::Admin, Page::default())
        .await
        .unwrap();
    assert_eq!(
        listed.rows.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![d.id]
    );
    // Readers never see archived devices, even when asking for them.
    assert_eq!(
        db.list_devices(&archived, &Scope::All, Page::default())
            .await
            .unwrap()
            .total,
        0
    );
    assert!(!db.device_in_scope(&Scope::All, d.id).await.unwrap());
    assert!(
        !db.device_in_scope(&Scope::Groups(vec![g.id]), d.id)
            .await
            .unwrap()
    );
    assert!(db.device_in_scope(&Scope::Admin, d.id).await.unwrap());
    assert_eq!(
        db.devices_in_scope(&Scope::All, &[d.id, keep.id])
            .await
            .unwrap(),
        vec![keep.id]
    );
    // Schedules skip it.
    let targets = db.schedule_targets(sched.id).await.unwrap();
    assert_eq!(
        targets.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![keep.id]
    );
    // The name stays taken while archived.
    assert!(matches!(
        db.create_device(&device_fields("r1")).await,
        Err(DbError::Conflict(_))
    ));
    // Restored, with everything it had.
    let r = db.restore_device(d.id).await.unwrap();
    assert!(r.archived_at.is_none());
    assert!(db.device_in_scope(&Scope::All, d.id).await.unwrap());
    assert_eq!(db.schedule_targets(sched.id).await.unwrap().len(), 2);
    assert_eq!(db.device_history_counts(d.id).await.unwrap().jobs, 1);
    let purged = db.purge_device(d.id).await.unwrap();
    assert_eq!(purged.jobs, 1);
    assert!(matches!(
        db.device(d.id).await,
        Err(DbError::NotFound { .. })
    ));
}

async fn a_device_has_at_most_one_job_queued_or_collecting(t: TestDb) {
    let db = &t.db;
    let d = db.create_device(&device_fields("r1")).await.unwrap();
    let now = Timestamp::now();
    assert!(db.create_job("t1", "a", d.id, now, now).await.unwrap());
    assert!(
        !db.create_job("t2", "b", d.id, now, now).await.unwrap(),
        "joins the open job"
    );
    assert_eq!(
        db.open_job(d.id).await.unwrap().unwrap().task_identifier,
        "a"
    );
    assert!(matches!(db.job("b").await, Err(DbError::NotFound { .. })));
    db.advance_job("a", JobState::Collecting, None)
        .await
        .unwrap();
    assert!(!db.create_job("t3", "c", d.id, now, now).await.unwrap());
    // Once collected, the next backup may start.
    db.advance_job("a", JobState::Collected, None)
        .await
        .unwrap();
    assert!(db.open_job(d.id).await.unwrap().is_none());
    assert!(db.create_job("t4", "d", d.id, now, now).await.unwrap());
    // Another device is independent.
    let e = db.create_device(&device_fields("r2")).await.unwrap();
    assert!(db.create_job("t5", "e", e.id, now, now).await.unwrap());
}

async fn many_jobs_are_created_in_one_transaction_joining_open_ones(t: TestDb) {
    let db = &t.db;
    let mut ids = Vec::new();
    for i in 0..600 {
        ids.push(
            db.create_device(&device_fields(&format!("bulk-{i}")))
                .await
                .unwrap()
                .id,
        );
    }
    let now = Timestamp::now();
    // Device 3 has a job collecting: the bulk request joins it.
    assert!(
        db.create_job("t-open", "open", ids[3], now, now)
            .await
            .unwrap()
    );
    db.advance_job("open", JobState::Collecting, None)
        .await
        .unwrap();
    let jobs: Vec<(String, String, i64)> = ids
        .iter()
        .map(|&d| (format!("t-{d}"), format!("bulk:{d}"), d))
        .collect();
    let out = db.create_jobs(&jobs, now, now).await.unwrap();
    assert_eq!(out.len(), 600, "more than two statements' worth");
    for (i, o) in out.iter().enumerate() {
        match o {
            Some(j) => {
                assert_eq!(i, 3);
                assert_eq!(j.task_identifier, "open");
                assert_eq!(j.state, JobState::Collecting);
            }
            None => assert_eq!(db.job(&jobs[i].1).await.unwrap().state, JobState::Queued),
        }
    }
    assert!(
        matches!(db.job(&jobs[3].1).await, Err(DbError::NotFound { .. })),
        "a joined device gets no second job"
    );
    // Again: every device has an open job now, so every one joins.
    let again: Vec<(String, String, i64)> = ids
        .iter()
        .map(|&d| (format!("u-{d}"), format!("again:{d}"), d))
        .collect();
    let out = db.create_jobs(&again, now, now).await.unwrap();
    assert!(out.iter().all(Option::is_some));
    // All or nothing: a replayed identifier on a device with no open job
    // refuses the request, and the fresh device in it gets no job.
    for &d in &ids[..2] {
        db.advance_job(&format!("bulk:{d}"), JobState::Failed, Some("test"))
            .await
            .unwrap();
    }
    let replay = vec![
        ("v-0".to_owned(), "fresh:0".to_owned(), ids[0]),
        ("v-1".to_owned(), format!("bulk:{}", ids[1]), ids[1]),
    ];
    assert!(matches!(
        db.create_jobs(&replay, now, now).await,
        Err(DbError::Conflict(_))
    ));
    assert!(matches!(
        db.job("fresh:0").await,
        Err(DbError::NotFound { .. })
    ));
    assert!(db.open_job(ids[0]).await.unwrap().is_none());
}

async fn names_are_stored_normalised_and_invisible_characters_refused(t: TestDb) {
    let db = &t.db;
    let d = db
        .create_device(&device_fields("  cafe\u{301} "))
        .await
        .unwrap();
    assert_eq!(d.fields.name, "caf\u{e9}");
    assert_eq!(db.device(d.id).await.unwrap().fields.name, "caf\u{e9}");
    assert!(matches!(
        db.create_device(&device_fields("r\u{200B}1")).await,
        Err(DbError::Invalid(_))
    ));
    assert!(matches!(
        db.create_device_group("g\u{202E}1").await,
        Err(DbError::Invalid(_))
    ));
    let t = db
        .create_device_type("big", None, Some(64 << 20))
        .await
        .unwrap();
    assert_eq!(
        db.device_type(t.id).await.unwrap().max_config_bytes,
        Some(64 << 20)
    );
    assert!(matches!(
        db.create_device_type("neg", None, Some(0)).await,
        Err(DbError::Invalid(_))
    ));
}

async fn connection_profiles_round_trip_on_devices_types_and_groups(t: TestDb) {
    use devicevault_db::{ConnectionProfile, DeviceTransport, DeviceType, JumpHost, Timeouts};
    let db = &t.db;
    // A device saved before the profile existed reads as SSH, no jump host.
    let plain = db.create_device(&device_fields("plain")).await.unwrap();
    let read = db.device(plain.id).await.unwrap();
    assert_eq!(read.fields.profile, ConnectionProfile::default());
    assert_eq!(read.fields.profile.transport, DeviceTransport::Ssh);

    let jump_cred = db
        .create_credential("bastion", "jump", b"sealed", None)
        .await
        .unwrap();
    let mut f = device_fields("behind");
    f.profile = ConnectionProfile {
        transport: DeviceTransport::Ssh,
        legacy_algorithms: Some(false),
        timeouts: Timeouts {
            connect: Some(5),
            command: None,
            job: Some(120),
        },
        jump: Some(JumpHost {
            host: "192.0.2.1".into(),
            port: 2222,
            credential: Some(jump_cred.id),
        }),
    };
    let d = db.create_device(&f).await.unwrap();
    assert_eq!(db.device(d.id).await.unwrap().fields, f);
    f.profile.transport = DeviceTransport::Telnet;
    f.profile.jump = None;
    f.profile.legacy_algorithms = None;
    f.port = 23;
    db.update_device(d.id, &f).await.unwrap();
    assert_eq!(db.device(d.id).await.unwrap().fields, f);
    // The listing reads the same columns.
    let listed = db
        .list_devices(&DeviceFilter::default(), &Scope::Admin, Page::default())
        .await
        .unwrap();
    assert!(listed.rows.iter().any(|x| x.fields == f));
    // A timeout below one second is refused by the store itself.
    let mut bad = device_fields("bad");
    bad.profile.timeouts.command = Some(0);
    assert!(matches!(
        db.create_device(&bad).await,
        Err(DbError::Invalid(_))
    ));

    // A credential a jump host uses cannot be deleted under it.
    let mut f2 = device_fields("behind-2");
    f2.profile.jump = Some(JumpHost {
        host: "192.0.2.1".into(),
        port: 22,
        credential: Some(jump_cred.id),
    });
    db.create_device(&f2).await.unwrap();
    assert!(matches!(
        db.delete_credential(jump_cred.id).await,
        Err(DbError::Conflict(_))
    ));

    let t = db
        .insert_device_type(&DeviceType {
            id: 0,
            name: "old-switch".into(),
            manufacturer: None,
            max_config_bytes: None,
            legacy_algorithms: true,
            timeouts: Timeouts {
                connect: Some(30),
                command: Some(90),
                job: None,
            },
        })
        .await
        .unwrap();
    assert!(t.legacy_algorithms);
    assert_eq!(db.device_type(t.id).await.unwrap(), t);
    // Renaming through the old method keeps the profile.
    let renamed = db
        .update_device_type(t.id, "old-switch-2", None, Some(4096))
        .await
        .unwrap();
    assert!(renamed.legacy_algorithms);
    assert_eq!(renamed.timeouts, t.timeouts);

    let q = QueueId::parse("lab").unwrap();
    let g = db.create_collection_group("lab", &q).await.unwrap();
    assert_eq!(g.max_sessions, 32, "the default");
    let g2 = db
        .create_collection_group_limited("lab-2", &QueueId::parse("lab-2").unwrap(), 2)
        .await
        .unwrap();
    assert_eq!(db.collection_group(g2.id).await.unwrap().max_sessions, 2);
    assert!(matches!(
        db.update_collection_group(g.id, "lab", &q, 0).await,
        Err(DbError::Invalid(_))
    ));
}

both_engines!(
    connection_profiles_round_trip_on_devices_types_and_groups,
    a_replayed_index_batch_changes_nothing,
    an_index_batch_is_written_whole_or_not_at_all,
    tokens_work_where_their_kind_belongs_expire_and_go_with_a_password_change,
    failed_logins_are_counted_per_username_locked_and_cleared,
    archived_devices_leave_lists_schedules_and_readers_and_come_back,
    a_device_has_at_most_one_job_queued_or_collecting,
    many_jobs_are_created_in_one_transaction_joining_open_ones,
    names_are_stored_normalised_and_invisible_characters_refused,
    a_users_scope_is_every_device_or_exactly_their_device_groups,
    migrations_are_applied_once_and_reconnecting_is_harmless,
    users_are_unique_and_tokens_find_their_user,
    devices_are_validated_listed_filtered_and_paginated,
    locations_credentials_and_groups_round_trip,
    jobs_only_move_forward_and_replays_change_nothing,
    overdue_jobs_are_found_and_renewed_by_one_caller,
    results_and_stored_backups_are_recorded_once,
    locations_are_listed_updated_and_deleted_only_when_unused,
    credentials_are_listed_updated_and_deleted_only_when_unused,
    an_api_key_round_trips_and_may_be_a_credentials_only_secret,
    collection_groups_are_ensured_once_updated_and_deleted,
    device_groups_types_and_manufacturers_are_managed,
    users_are_listed_changed_and_deleted_and_tokens_revoked,
    backup_lists_filter_by_device_or_show_all_newest_first,
    the_latest_stored_backup_is_the_newest_success_at_that_location,
    the_change_key_follows_the_result_onto_its_stored_backup,
    schedules_are_created_updated_listed_and_deleted,
    due_schedules_are_found_and_advanced_by_one_caller,
    schedule_targets_are_enabled_devices_once_by_id,
);

/// A PostgreSQL connection that died while idle in the pool (its server
/// restarted, an administrator ended the session) is found out by the ping
/// before its next use and replaced: the next statement succeeds. A
/// connection in constant use is not pinged (issue 22).
#[tokio::test]
async fn a_postgres_connection_that_died_idle_is_replaced_before_use() {
    let (name, url) = devicevault_testkit::db::create_pg_database("dv_idle_ping").await;
    let db = devicevault_db::Db::connect(&url).await.unwrap();
    db.ping().await.unwrap();
    devicevault_testkit::db::exec(
        &devicevault_testkit::pg_admin_url(),
        format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    db.ping().await.expect("a dead idle connection is replaced");
    assert!(db.list_locations(Page::default()).await.is_ok());
    db.close().await;
    devicevault_testkit::db::drop_pg_database(&name).await;
}

/// On SQLite a batch holds the one writer: a person's request waiting for
/// it (here a line of the audit log) is let in between two of the batch's
/// parts instead of waiting for the whole batch (issue 22). Without that,
/// the request could only write before the batch or after all of it, and
/// would never see a part of it committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waiting_for_sqlites_writer_is_let_in_between_a_batchs_parts() {
    const PARTS: u32 = 3000;
    let t = TestDb::sqlite().await;
    let db = t.db.clone();
    let d = db.create_device(&device_fields("r1")).await.unwrap();
    let mut batch = IndexBatch::new();
    for i in 0..PARTS {
        let mut part = IndexBatch::new();
        part.record_device_result(result_of(d.id, i));
        batch.append(part);
    }
    let applying = tokio::spawn({
        let db = db.clone();
        async move { db.apply(&batch).await }
    });
    let mut between = None;
    while !applying.is_finished() && between.is_none() {
        db.audit(&devicevault_db::NewAudit {
            actor: "alice".into(),
            via: "web".into(),
            action: "devices.backup_now".into(),
            fields: "{}".into(),
            outcome: "ok".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        let recorded = db
            .device_results(None, &Scope::All, Page::default())
            .await
            .unwrap()
            .total;
        if recorded > 0 && recorded < i64::from(PARTS) {
            between = Some(recorded);
        }
    }
    let changed = applying.await.unwrap().unwrap();
    assert_eq!(changed.len(), PARTS as usize);
    assert!(changed.iter().all(|c| *c), "every part written once");
    let recorded = db
        .device_results(None, &Scope::All, Page::default())
        .await
        .unwrap()
        .total;
    assert_eq!(recorded, i64::from(PARTS));
    assert!(
        between.is_some(),
        "the request only ever wrote before or after the whole batch"
    );
}
