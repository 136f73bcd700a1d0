//! A device's distinct versions and the backup results of a time range, on
//! SQLite and PostgreSQL. Every time here is written out: nothing depends
//! on today's date.

use devicevault_core::{Status, StorageBackendKind, Timestamp};
use devicevault_db::{
    Db, IndexBatch, JobState, NewDeviceResult, NewStoredBackup, Outcome, Page, ResultFilter, Scope,
};
use devicevault_testkit::both_engines;
use devicevault_testkit::db::{TestDb, device_fields};

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// The `i`th backup's time: one an hour from 2026-01-12T00:00Z.
fn hour(i: u32) -> String {
    format!("2026-01-12T{i:02}:00:00.000Z")
}

/// Records the `i`th stored backup of `device`; returns its id.
async fn store(db: &Db, device: i64, i: u32, status: Status, changed: Option<bool>) -> i64 {
    let ti = format!("job-{device}-{i}");
    db.record_stored_backup(&NewStoredBackup {
        task_id: format!("t-{device}-{i}"),
        task_identifier: ti.clone(),
        device_id: device,
        storage_backend: StorageBackendKind::Git,
        storage_ref: format!("main:{device}/r.cfg@{i:040x}"),
        status,
        timestamp: ts(&hour(i)),
        log: "[]".into(),
        location_id: None,
        size: Some(100),
        sha256: None,
        changed,
        is_binary: false,
    })
    .await
    .unwrap();
    db.stored_backup_id_by_task(&ti).await.unwrap().unwrap()
}

const OK: Status = Status::Success;
const KO: Status = Status::Failure;

/// (first stored backup, first seen, last confirmed, confirmations, previous)
type Summary = (i64, String, String, i64, Option<i64>);

async fn versions(db: &Db, device: i64, limit: i64, offset: i64) -> (Vec<Summary>, i64) {
    let listed = db
        .device_versions(device, &Scope::All, Page { limit, offset })
        .await
        .unwrap();
    let rows = listed
        .rows
        .into_iter()
        .map(|v| {
            (
                v.stored.id,
                v.stored.timestamp,
                v.last_confirmed,
                v.confirmations,
                v.previous,
            )
        })
        .collect();
    (rows, listed.total)
}

async fn distinct_versions_group_unchanged_backups_and_skip_failures(t: TestDb) {
    let db = &t.db;
    let a = db.create_device(&device_fields("a")).await.unwrap().id;
    let b = db.create_device(&device_fields("b")).await.unwrap().id;
    // a: v1 confirmed twice across a failure, v2 alone, v3 confirmed twice
    // across a failure; b's backups interleave and must not mix in.
    let plan = [
        (OK, Some(true)),
        (OK, Some(false)),
        (KO, None),
        (OK, Some(false)),
        (OK, Some(true)),
        (OK, None),
        (KO, None),
        (OK, Some(false)),
        (OK, Some(false)),
    ];
    let mut ids = Vec::new();
    for (i, (status, changed)) in plan.into_iter().enumerate() {
        let i = i as u32;
        ids.push(store(db, a, i, status, changed).await);
        store(db, b, i + 10, OK, Some(i.is_multiple_of(3))).await;
    }
    let (rows, total) = versions(db, a, 50, 0).await;
    assert_eq!(total, 3);
    assert_eq!(
        rows,
        [
            (ids[5], hour(5), hour(8), 3, Some(ids[4])),
            (ids[4], hour(4), hour(4), 1, Some(ids[0])),
            (ids[0], hour(0), hour(3), 3, None),
        ]
    );
    // A page in the middle still counts up to the next version, which is
    // on another page.
    let (rows, total) = versions(db, a, 1, 1).await;
    assert_eq!(
        (rows, total),
        (vec![(ids[4], hour(4), hour(4), 1, Some(ids[0]))], 3)
    );
    let (rows, total) = versions(db, a, 2, 2).await;
    assert_eq!(
        (rows, total),
        (vec![(ids[0], hour(0), hour(3), 3, None)], 3)
    );
    let (rows, _) = versions(db, a, 10, 5).await;
    assert!(rows.is_empty());

    // "Compare with previous" of any backup is the version before its own.
    for (backup, previous) in [
        (8, Some(4)),
        (7, Some(4)),
        (5, Some(4)),
        (4, Some(0)),
        (3, None),
        (0, None),
    ] {
        assert_eq!(
            db.previous_version(a, &hour(backup), ids[backup as usize])
                .await
                .unwrap(),
            previous.map(|p: usize| ids[p]),
            "backup {backup}"
        );
    }
}

async fn a_first_success_found_unchanged_still_starts_a_version(t: TestDb) {
    let db = &t.db;
    let c = db.create_device(&device_fields("c")).await.unwrap().id;
    // Its first store failed; the first success says "unchanged" (the
    // location held this file already).
    let _ = store(db, c, 0, KO, None).await;
    let first = store(db, c, 1, OK, Some(false)).await;
    store(db, c, 2, OK, Some(false)).await;
    let change = store(db, c, 3, OK, Some(true)).await;
    let (rows, total) = versions(db, c, 50, 0).await;
    assert_eq!(total, 2);
    assert_eq!(
        rows,
        [
            (change, hour(3), hour(3), 1, Some(first)),
            (first, hour(1), hour(2), 2, None),
        ]
    );
    assert_eq!(
        db.previous_version(c, &hour(3), change).await.unwrap(),
        Some(first)
    );
    let empty = db.create_device(&device_fields("empty")).await.unwrap().id;
    assert_eq!(versions(db, empty, 50, 0).await, (vec![], 0));
}

/// A collection at `at`; with what became of it.
async fn result(db: &Db, device: i64, n: u32, at: &str, fate: &str) -> String {
    let ti = format!("res-{device}-{n}");
    let at = ts(at);
    db.create_job(&format!("t{n}"), &ti, device, at, at)
        .await
        .unwrap();
    let collected = if fate == "collection failed" { KO } else { OK };
    db.record_device_result(&NewDeviceResult {
        task_id: format!("t{n}"),
        task_identifier: ti.clone(),
        device_id: device,
        status: collected,
        timestamp: at,
        log: "[]".into(),
        collection_duration_ms: 5,
        author: None,
        change_key: None,
    })
    .await
    .unwrap();
    let stored = |status| NewStoredBackup {
        task_id: format!("t{n}"),
        task_identifier: ti.clone(),
        device_id: device,
        storage_backend: StorageBackendKind::Fs,
        storage_ref: format!("{device}/{n}.cfg"),
        status,
        timestamp: at,
        log: "[]".into(),
        location_id: None,
        size: Some(1),
        sha256: None,
        changed: Some(true),
        is_binary: false,
    };
    match fate {
        "stored" => {
            db.record_stored_backup(&stored(OK)).await.unwrap();
            db.advance_job(&ti, JobState::Stored, None).await.unwrap();
        }
        "store failed" => {
            db.record_stored_backup(&stored(KO)).await.unwrap();
            db.advance_job(&ti, JobState::Failed, Some("disk full"))
                .await
                .unwrap();
        }
        "collection failed" => {
            db.advance_job(&ti, JobState::Failed, Some("auth failed"))
                .await
                .unwrap();
        }
        "job failed" => {
            db.advance_job(&ti, JobState::Failed, Some("storage timed out"))
                .await
                .unwrap();
        }
        "pending" => {}
        other => panic!("{other}"),
    }
    ti
}

async fn results_filter_by_time_range_outcome_and_device(t: TestDb) {
    let db = &t.db;
    let a = db.create_device(&device_fields("a")).await.unwrap().id;
    let b = db.create_device(&device_fields("b")).await.unwrap().id;
    let r = [
        result(db, a, 1, "2026-03-01T22:00:00.000Z", "stored").await,
        result(db, a, 2, "2026-03-01T23:59:59.999Z", "collection failed").await,
        result(db, b, 3, "2026-03-02T00:00:00.000Z", "store failed").await,
        result(db, a, 4, "2026-03-02T01:30:00.000Z", "job failed").await,
        result(db, b, 5, "2026-03-02T05:59:59.999Z", "stored").await,
        result(db, a, 6, "2026-03-02T06:00:00.000Z", "pending").await,
        result(db, b, 7, "2026-03-02T07:00:00.000Z", "collection failed").await,
    ];
    let list = |f: ResultFilter| async move {
        let listed = db
            .backup_results(&f, &Scope::All, Page::default())
            .await
            .unwrap();
        let count = db.count_backup_results(&f, &Scope::All).await.unwrap();
        assert_eq!(listed.total, count, "{f:?}");
        assert_eq!(listed.rows.len() as i64, count, "{f:?}");
        listed.rows
    };
    let tis = |rows: Vec<devicevault_db::ResultRow>| -> Vec<String> {
        rows.into_iter().map(|x| x.result.task_identifier).collect()
    };
    // "What failed last night": since is inclusive, until exclusive.
    let night = ResultFilter {
        since: Some(ts("2026-03-02T00:00:00Z")),
        until: Some(ts("2026-03-02T06:00:00Z")),
        ..Default::default()
    };
    let rows = list(ResultFilter {
        outcome: Some(Outcome::Failed),
        ..night.clone()
    })
    .await;
    assert_eq!(
        rows.iter().map(|x| x.reason.as_deref()).collect::<Vec<_>>(),
        [Some("storage timed out"), Some("disk full")]
    );
    assert!(rows.iter().all(|x| x.outcome == Outcome::Failed));
    assert_eq!(rows[1].device_name, "b");
    assert_eq!(
        tis(list(night.clone()).await),
        [r[4].clone(), r[3].clone(), r[2].clone()]
    );
    let rows = list(ResultFilter {
        outcome: Some(Outcome::Stored),
        ..Default::default()
    })
    .await;
    assert!(
        rows.iter()
            .all(|x| x.stored_id.is_some() && x.changed == Some(true))
    );
    assert_eq!(tis(rows), [r[4].clone(), r[0].clone()]);
    assert_eq!(
        tis(list(ResultFilter {
            outcome: Some(Outcome::Pending),
            ..Default::default()
        })
        .await),
        [r[5].clone()]
    );
    assert_eq!(
        tis(list(ResultFilter {
            device: Some(a),
            outcome: Some(Outcome::Failed),
            ..Default::default()
        })
        .await),
        [r[3].clone(), r[1].clone()]
    );
    assert_eq!(list(ResultFilter::default()).await.len(), 7);
    // The three outcomes split every result.
    let mut split = 0;
    for o in Outcome::ALL {
        split += list(ResultFilter {
            outcome: Some(o),
            ..Default::default()
        })
        .await
        .len();
    }
    assert_eq!(split, 7);

    // The dashboard's cards count what the list they open shows.
    let since = ts("2026-03-02T00:00:00Z");
    let stats = db.dashboard_stats(since, &Scope::All).await.unwrap();
    let of = |outcome| ResultFilter {
        outcome: Some(outcome),
        since: Some(since),
        ..Default::default()
    };
    assert_eq!(stats.failed, list(of(Outcome::Failed)).await.len() as i64);
    assert_eq!(stats.failed, 3);
    assert_eq!(
        stats.succeeded,
        list(of(Outcome::Stored)).await.len() as i64
    );
    assert_eq!(stats.succeeded, 1);
    // The chart's days count the same outcomes; the pending one is neither.
    let week = db
        .outcomes_per_day(ts("2026-03-01T00:00:00Z"), &Scope::All)
        .await
        .unwrap();
    assert_eq!(
        week.iter()
            .map(|d| (d.day.as_str(), d.succeeded, d.failed))
            .collect::<Vec<_>>(),
        [("2026-03-01", 1, 1), ("2026-03-02", 1, 3)]
    );

    // Scope: a user without groups sees none of it.
    let none = db
        .backup_results(
            &ResultFilter::default(),
            &Scope::Groups(vec![]),
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!((none.rows.len(), none.total), (0, 0));
}

/// A job that failed before any collection (never picked up, or its device
/// archived) is a failed result too: listed, counted, filtered like one.
async fn a_job_that_failed_before_any_collection_is_a_failed_result(t: TestDb) {
    use sqlx::Connection as _;
    let db = &t.db;
    let a = db.create_device(&device_fields("a")).await.unwrap().id;
    let b = db.create_device(&device_fields("b")).await.unwrap().id;
    let collected = result(db, a, 1, "2026-03-02T02:00:00.000Z", "collection failed").await;
    let stored = result(db, a, 2, "2026-03-02T04:00:00.000Z", "stored").await;
    let at = ts("2026-03-02T03:00:00Z");
    db.create_job("t3", "never-collected", a, at, at)
        .await
        .unwrap();
    db.advance_job(
        "never-collected",
        JobState::Failed,
        Some("not collected after 3 dispatches"),
    )
    .await
    .unwrap();
    // The failure's time is the job's last move: set it where the test
    // can see it, whatever today is.
    let mut conn = sqlx::AnyConnection::connect(&t.url).await.unwrap();
    sqlx::query("UPDATE backup_jobs SET updated_at = $1 WHERE task_identifier = $2")
        .bind(at.to_string())
        .bind("never-collected")
        .execute(&mut conn)
        .await
        .unwrap();
    let list = |f: ResultFilter, scope: Scope| async move {
        let listed = db
            .backup_results(&f, &scope, Page::default())
            .await
            .unwrap();
        assert_eq!(
            listed.total,
            db.count_backup_results(&f, &scope).await.unwrap(),
            "{f:?}"
        );
        assert_eq!(listed.rows.len() as i64, listed.total, "{f:?}");
        listed.rows
    };
    let night = ResultFilter {
        since: Some(ts("2026-03-02T00:00:00Z")),
        until: Some(ts("2026-03-02T06:00:00Z")),
        outcome: Some(Outcome::Failed),
        ..Default::default()
    };
    let rows = list(night.clone(), Scope::All).await;
    let tis: Vec<&str> = rows
        .iter()
        .map(|x| x.result.task_identifier.as_str())
        .collect();
    assert_eq!(tis, ["never-collected", collected.as_str()]);
    let job = &rows[0];
    assert!(!job.collected && rows[1].collected);
    assert_eq!(job.outcome, Outcome::Failed);
    assert_eq!(
        job.reason.as_deref(),
        Some("not collected after 3 dispatches")
    );
    assert_eq!((job.device_name.as_str(), job.result.device_id), ("a", a));
    assert_eq!(job.result.timestamp, at.to_string());
    // Outside the range, another device's, or out of scope: not listed.
    let before = ResultFilter {
        until: Some(ts("2026-03-02T03:00:00Z")),
        ..night.clone()
    };
    assert_eq!(list(before, Scope::All).await.len(), 1);
    let of_b = ResultFilter {
        device: Some(b),
        ..night.clone()
    };
    assert!(list(of_b, Scope::All).await.is_empty());
    assert!(list(night.clone(), Scope::Groups(vec![])).await.is_empty());
    // Every outcome together is every row, each once.
    let all = list(ResultFilter::default(), Scope::All).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].result.task_identifier, stored);
    let mut split = 0;
    for o in Outcome::ALL {
        let f = ResultFilter {
            outcome: Some(o),
            ..Default::default()
        };
        split += list(f, Scope::All).await.len();
    }
    assert_eq!(split, 3);
    let stats = db
        .dashboard_stats(ts("2026-03-02T00:00:00Z"), &Scope::All)
        .await
        .unwrap();
    assert_eq!(stats.failed, 2);
}

/// What became of a collection is decided whatever order the records
/// arrive in: a store or a job's failure recorded before the collection's
/// result (two streams, two consumers), a late store after a failure.
async fn an_outcome_is_the_same_whatever_order_its_records_arrive_in(t: TestDb) {
    let db = &t.db;
    let d = db.create_device(&device_fields("late")).await.unwrap().id;
    let at = ts("2026-03-02T01:00:00Z");
    let new_result = |ti: &str, status| NewDeviceResult {
        task_id: ti.to_owned(),
        task_identifier: ti.to_owned(),
        device_id: d,
        status,
        timestamp: at,
        log: "[]".into(),
        collection_duration_ms: 5,
        author: None,
        change_key: None,
    };
    let stored = |ti: &str, status| NewStoredBackup {
        task_id: ti.to_owned(),
        task_identifier: ti.to_owned(),
        device_id: d,
        storage_backend: StorageBackendKind::Fs,
        storage_ref: format!("{d}/{ti}.cfg"),
        status,
        timestamp: at,
        log: "[]".into(),
        location_id: None,
        size: Some(1),
        sha256: None,
        changed: Some(true),
        is_binary: false,
    };
    let outcome_of = |ti: &'static str| async move {
        let rows = db
            .backup_results(&ResultFilter::default(), &Scope::All, Page::default())
            .await
            .unwrap()
            .rows;
        rows.into_iter()
            .find(|r| r.result.task_identifier == ti)
            .unwrap()
            .outcome
    };
    // Stored before its result arrives.
    db.record_stored_backup(&stored("a", OK)).await.unwrap();
    db.record_device_result(&new_result("a", OK)).await.unwrap();
    assert_eq!(outcome_of("a").await, Outcome::Stored);
    // Its job failed (deadline) before a late result.
    db.create_job("b", "b", d, at, at).await.unwrap();
    db.advance_job("b", JobState::Failed, Some("deadline passed"))
        .await
        .unwrap();
    db.record_device_result(&new_result("b", OK)).await.unwrap();
    assert_eq!(outcome_of("b").await, Outcome::Failed);
    // A failure decides even when a store comes after it.
    db.create_job("c", "c", d, at, at).await.unwrap();
    db.record_device_result(&new_result("c", OK)).await.unwrap();
    assert_eq!(outcome_of("c").await, Outcome::Pending);
    db.advance_job("c", JobState::Failed, Some("deadline passed"))
        .await
        .unwrap();
    db.record_stored_backup(&stored("c", OK)).await.unwrap();
    assert_eq!(outcome_of("c").await, Outcome::Failed);
    // Through an index batch, the result and its store in one transaction.
    let mut batch = IndexBatch::new();
    batch.record_device_result(new_result("e", OK));
    batch.record_stored_backup(stored("e", OK));
    db.apply(&batch).await.unwrap();
    assert_eq!(outcome_of("e").await, Outcome::Stored);
    let count = |o| async move {
        db.count_backup_results(
            &ResultFilter {
                outcome: Some(o),
                ..Default::default()
            },
            &Scope::All,
        )
        .await
    };
    assert_eq!(count(Outcome::Stored).await.unwrap(), 2);
    assert_eq!(count(Outcome::Failed).await.unwrap(), 2);
    assert_eq!(count(Outcome::Pending).await.unwrap(), 0);
}

both_engines!(
    distinct_versions_group_unchanged_backups_and_skip_failures,
    a_first_success_found_unchanged_still_starts_a_version,
    results_filter_by_time_range_outcome_and_device,
    a_job_that_failed_before_any_collection_is_a_failed_result,
    an_outcome_is_the_same_whatever_order_its_records_arrive_in,
);
