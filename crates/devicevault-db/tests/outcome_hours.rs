//! The hourly outcome counts of migration 0036 against the rows they count:
//! after results are recorded, stored, failed, settled late, and pruned, and
//! jobs fail with and without a result, an administrator's dashboard counts
//! (read from the hourly counts) equal those counted from the rows (what
//! any other scope reads), for times on and off an hour's start, on SQLite
//! and PostgreSQL. The scripted results carry written-out times; only the
//! failed jobs' own moves are dated by the clock, and no assertion depends
//! on which day it is.

use devicevault_core::{Status, StorageBackendKind, Timestamp};
use devicevault_db::{Db, JobState, NewDeviceResult, NewStoredBackup, Scope};
use devicevault_testkit::both_engines;
use devicevault_testkit::db::{TestDb, device_fields};

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

async fn result(db: &Db, device: i64, ti: &str, at: &str, ok: bool, ms: i64) {
    db.record_device_result(&NewDeviceResult {
        task_id: ti.into(),
        task_identifier: ti.into(),
        device_id: device,
        status: if ok { Status::Success } else { Status::Failure },
        timestamp: ts(at),
        log: "[]".into(),
        collection_duration_ms: ms,
        author: None,
        change_key: None,
    })
    .await
    .unwrap();
}

async fn store(db: &Db, device: i64, ti: &str, at: &str, ok: bool) {
    db.record_stored_backup(&NewStoredBackup {
        task_id: ti.into(),
        task_identifier: ti.into(),
        device_id: device,
        storage_backend: StorageBackendKind::Git,
        storage_ref: format!("main:{device}/r.cfg@{:040x}", ti.len()),
        status: if ok { Status::Success } else { Status::Failure },
        timestamp: ts(at),
        log: "[]".into(),
        location_id: None,
        size: Some(10),
        sha256: None,
        changed: Some(true),
        is_binary: false,
    })
    .await
    .unwrap();
}

async fn job(db: &Db, device: i64, ti: &str, at: &str) {
    assert!(
        db.create_job(ti, ti, device, ts(at), ts("2026-02-01T00:00:00Z"))
            .await
            .unwrap()
    );
}

async fn hourly_counts_equal_the_rows(t: TestDb) {
    let db = &t.db;
    // A device per job: a job left open (its store pending) would keep
    // the next job of its device from being queued.
    let mut devices = Vec::new();
    for i in 0..52 {
        let name = format!("d{i}");
        devices.push(db.create_device(&device_fields(&name)).await.unwrap().id);
    }
    let mut stored = 0;
    for i in 0..48_u32 {
        let device = devices[i as usize];
        let at = format!(
            "2026-01-12T{:02}:{:02}:{:02}.{:03}Z",
            8 + i / 8,
            (i * 7) % 60,
            i % 60,
            i * 37 % 1000
        );
        let ti = format!("job-{i}");
        job(db, device, &ti, &at).await;
        assert!(
            db.advance_job(&ti, JobState::Collecting, None)
                .await
                .unwrap()
        );
        let collected = i % 9 != 4;
        result(db, device, &ti, &at, collected, i64::from(i) * 10 + 3).await;
        if !collected {
            assert!(
                db.advance_job(&ti, JobState::Failed, Some("x"))
                    .await
                    .unwrap()
            );
            continue;
        }
        match i % 6 {
            // Left pending: no storage outcome yet.
            3 => {}
            // The store failed.
            5 => store(db, device, &ti, &at, false).await,
            // The job failed after its result (it timed out).
            1 if i % 4 == 1 => {
                assert!(
                    db.advance_job(&ti, JobState::Failed, Some("late"))
                        .await
                        .unwrap()
                );
            }
            _ => {
                store(db, device, &ti, &at, true).await;
                stored += 1;
            }
        }
    }
    // Jobs that fail with no result (counted alone), one of which gets its
    // result late (then counted by its result).
    for i in 0..3 {
        let ti = format!("lost-{i}");
        job(db, devices[48 + i], &ti, "2026-01-12T15:00:00Z").await;
        assert!(
            db.advance_job(&ti, JobState::Failed, Some("expired"))
                .await
                .unwrap()
        );
    }
    result(db, devices[49], "lost-1", "2026-01-12T15:00:01Z", true, 7).await;
    // Retention prunes the early failed results.
    let pruned = db
        .prune_history(Some(ts("2026-01-12T09:30:00Z")), None, false)
        .await
        .unwrap();
    assert!(pruned.failed_results > 0);

    for since in [
        "2000-01-01T00:00:00Z",
        "2026-01-12T08:00:00Z",
        "2026-01-12T09:17:31.500Z",
        "2026-01-12T10:00:00Z",
        "2026-01-12T11:59:59.999Z",
        "2026-01-12T15:00:00.500Z",
    ] {
        let since = ts(since);
        let hourly = db.outcome_totals(since, &Scope::Admin).await.unwrap();
        let rows = db.outcome_totals(since, &Scope::All).await.unwrap();
        assert_eq!(hourly, rows, "since {since}");
        let hourly = db.outcomes_per_day(since, &Scope::Admin).await.unwrap();
        let rows = db.outcomes_per_day(since, &Scope::All).await.unwrap();
        assert_eq!(hourly, rows, "since {since}");
        let hourly = db.dashboard_stats(since, &Scope::Admin).await.unwrap();
        let rows = db.dashboard_stats(since, &Scope::All).await.unwrap();
        assert_eq!(hourly, rows, "since {since}");
    }
    let all = db
        .outcome_totals(ts("2000-01-01T00:00:00Z"), &Scope::Admin)
        .await
        .unwrap();
    assert_eq!(all.stored, stored);
    // The job failures with no result: two of the three lost jobs.
    let failed_alone = db
        .count_backup_results(
            &devicevault_db::ResultFilter {
                outcome: Some(devicevault_db::Outcome::Failed),
                ..Default::default()
            },
            &Scope::Admin,
        )
        .await
        .unwrap();
    assert_eq!(all.failed, failed_alone);
    assert!(all.failed > 2);
}

both_engines!(hourly_counts_equal_the_rows);

/// Two sessions recording results of the same hour do not wait for each
/// other's commit on PostgreSQL (migration 0037): each adds to its own
/// slot of the hour, and the counts are their sum. Before, the second
/// insert waited for the first transaction's row lock on the hour — the
/// result consumers took turns (issue 22).
#[tokio::test]
async fn two_sessions_count_results_of_one_hour_without_waiting_for_each_other() {
    use sqlx::{Connection, Row};
    let (name, url) = devicevault_testkit::db::create_pg_database("dv_hour_slots").await;
    let db = Db::connect(&url).await.unwrap();
    let device = db.create_device(&device_fields("r1")).await.unwrap().id;
    async fn session(url: &str) -> (sqlx::PgConnection, i32) {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let pid: i32 = sqlx::query("SELECT pg_backend_pid() AS pid")
            .fetch_one(&mut c)
            .await
            .unwrap()
            .get("pid");
        (c, pid)
    }
    let (mut a, a_pid) = session(&url).await;
    // A second session in another slot (one in 64 shares the first's).
    let mut b = loop {
        let (c, pid) = session(&url).await;
        if pid % 64 != a_pid % 64 {
            break c;
        }
    };
    let insert = |ti: &'static str| {
        sqlx::query(
            "INSERT INTO device_backup_results (task_id, task_identifier, device_id, status, \
             timestamp, log, collection_duration_ms, outcome) \
             VALUES ($1, $1, $2, 'success', $3, '[]', 40, 'pending')",
        )
        .bind(ti)
        .bind(device)
        .bind(format!("2026-03-04T05:{}:00.000000Z", &ti[ti.len() - 2..]))
    };
    sqlx::query("BEGIN").execute(&mut a).await.unwrap();
    insert("slot-10").execute(&mut a).await.unwrap();
    sqlx::query("BEGIN").execute(&mut b).await.unwrap();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        insert("slot-20").execute(&mut b),
    )
    .await
    .expect("the second session waited for the first one's transaction")
    .unwrap();
    sqlx::query("COMMIT").execute(&mut b).await.unwrap();
    sqlx::query("COMMIT").execute(&mut a).await.unwrap();
    let counts = sqlx::query(
        "SELECT CAST(SUM(n) AS BIGINT) AS n, CAST(SUM(duration_ms) AS BIGINT) AS ms, \
         COUNT(*) AS slots FROM outcome_hours WHERE hour = '2026-03-04T05' AND kind = 'pending'",
    )
    .fetch_one(&mut a)
    .await
    .unwrap();
    assert_eq!(counts.get::<i64, _>("n"), 2);
    assert_eq!(counts.get::<i64, _>("ms"), 80);
    assert_eq!(counts.get::<i64, _>("slots"), 2, "one row per session");
    let _ = a.close().await;
    let _ = b.close().await;
    db.close().await;
    devicevault_testkit::db::drop_pg_database(&name).await;
}
