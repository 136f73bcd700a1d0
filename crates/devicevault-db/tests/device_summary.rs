//! The device's summary of its newest job (migration 0035: last_job_id,
//! last_queued_on, last_status_rank), kept by triggers in the statement
//! that writes the job, on SQLite and PostgreSQL; and the device list that
//! reads it, sorted and filtered, against the same list computed here from
//! the jobs themselves. Every time is written out: nothing depends on
//! today's date.

use devicevault_core::Timestamp;
use devicevault_db::dashboard::{DeviceQuery, DeviceSort, LastStatus};
use devicevault_db::{Db, JobState, Page, Scope};
use devicevault_testkit::both_engines;
use devicevault_testkit::db::{TestDb, device_fields};

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

async fn status_of(db: &Db, id: i64) -> (LastStatus, Option<String>) {
    let d = db.device(id).await.unwrap();
    (d.health.last_status, d.health.last_backup_at)
}

async fn job(db: &Db, device: i64, name: &str, queued: &str) {
    assert!(
        db.create_job(name, name, device, ts(queued), ts("2026-02-01T00:00:00Z"))
            .await
            .unwrap()
    );
}

async fn summary_follows_the_newest_job(t: TestDb) {
    let db = &t.db;
    let d = db.create_device(&device_fields("r1")).await.unwrap().id;
    assert_eq!(status_of(db, d).await, (LastStatus::Never, None));

    job(db, d, "j1", "2026-01-10T10:00:00Z").await;
    let (status, at) = status_of(db, d).await;
    assert_eq!(status, LastStatus::Running);
    assert!(at.as_deref().unwrap().starts_with("2026-01-10T10:00:00"));
    for state in [JobState::Collecting, JobState::Collected] {
        assert!(db.advance_job("j1", state, None).await.unwrap());
        assert_eq!(status_of(db, d).await.0, LastStatus::Running);
    }
    assert!(db.advance_job("j1", JobState::Stored, None).await.unwrap());
    assert_eq!(status_of(db, d).await.0, LastStatus::Stored);

    // A newer job takes over; the older one moving does not change it.
    job(db, d, "j2", "2026-01-11T10:00:00Z").await;
    assert!(
        db.advance_job("j2", JobState::Failed, Some("timeout"))
            .await
            .unwrap()
    );
    assert_eq!(status_of(db, d).await.0, LastStatus::Failed);
    // A job queued earlier than the newest (e.g. replayed from a broker)
    // is not the device's last.
    job(db, d, "j0", "2026-01-09T10:00:00Z").await;
    let (status, at) = status_of(db, d).await;
    assert_eq!(status, LastStatus::Failed);
    assert!(at.as_deref().unwrap().starts_with("2026-01-11T10:00:00"));
    assert!(db.advance_job("j0", JobState::Stored, None).await.unwrap());
    assert_eq!(status_of(db, d).await.0, LastStatus::Failed);

    // Pruning the newest job hands the summary to the next newest; pruning
    // them all leaves a device never backed up, as the jobs say.
    let pruned = db
        .prune_history(None, Some(ts("2100-01-01T00:00:00Z")), false)
        .await
        .unwrap();
    assert_eq!(pruned.finished_jobs, 3);
    assert_eq!(status_of(db, d).await, (LastStatus::Never, None));
    // Two jobs queued in the same instant: the later id is the newest.
    job(db, d, "j3", "2026-01-12T10:00:00Z").await;
    assert!(
        db.advance_job("j3", JobState::Failed, Some("x"))
            .await
            .unwrap()
    );
    job(db, d, "j4", "2026-01-12T10:00:00Z").await;
    assert_eq!(status_of(db, d).await.0, LastStatus::Running);
    assert!(db.advance_job("j4", JobState::Stored, None).await.unwrap());
    assert_eq!(status_of(db, d).await.0, LastStatus::Stored);
}

fn status_of_rank(rank: i64) -> LastStatus {
    match rank {
        0 => LastStatus::Failed,
        1 => LastStatus::Running,
        2 => LastStatus::Stored,
        _ => LastStatus::Never,
    }
}

/// Devices in every status with last backups, successes and changes,
/// listed by each order the list offers in both directions, and filtered
/// by each status: the ids match the order computed here from the rows.
async fn device_list_orders_and_filters_by_the_summary(t: TestDb) {
    let db = &t.db;
    let mut expected = Vec::new(); // (name, id, rank, queued)
    for (i, plan) in [
        None,
        Some(("2026-01-10T08:00:00Z", Some(JobState::Stored))),
        Some(("2026-01-10T09:00:00Z", Some(JobState::Failed))),
        Some(("2026-01-10T07:00:00Z", None)),
        Some(("2026-01-10T09:00:00Z", Some(JobState::Stored))),
        None,
        Some(("2026-01-10T06:00:00Z", Some(JobState::Failed))),
    ]
    .into_iter()
    .enumerate()
    {
        // Names out of id order, so that a tie broken by id shows.
        let name = format!("sw-{}", (i * 5) % 7);
        let id = db.create_device(&device_fields(&name)).await.unwrap().id;
        let (rank, queued) = match plan {
            None => (3, None),
            Some((queued, state)) => {
                let ti = format!("job-{i}");
                job(db, id, &ti, queued).await;
                let rank = match state {
                    Some(s) => {
                        assert!(db.advance_job(&ti, s, Some("x")).await.unwrap());
                        if s == JobState::Failed { 0 } else { 2 }
                    }
                    None => 1,
                };
                (rank, Some(queued.to_owned()))
            }
        };
        expected.push((name, id, rank, queued));
    }
    let all = Page {
        limit: 100,
        offset: 0,
    };
    let list = |sort, descending, last_status| {
        let q = DeviceQuery {
            sort,
            descending,
            last_status,
            ..Default::default()
        };
        async move {
            let listed = db.device_rows(&q, &Scope::Admin, all).await.unwrap();
            let ids: Vec<i64> = listed.rows.iter().map(|r| r.device.id).collect();
            assert_eq!(listed.total as usize, ids.len());
            ids
        }
    };
    let by_name = |rows: &mut Vec<&(String, i64, i64, Option<String>)>| {
        rows.sort_by(|a, b| a.0.cmp(&b.0));
    };
    for descending in [false, true] {
        // Status: the rank in the asked direction, names ascending.
        let mut rows: Vec<_> = expected.iter().collect();
        by_name(&mut rows);
        rows.sort_by_key(|r| if descending { -r.2 } else { r.2 });
        let want: Vec<i64> = rows.iter().map(|r| r.1).collect();
        assert_eq!(list(DeviceSort::LastStatus, descending, None).await, want);
        // Last backup: devices never backed up last in both directions.
        let mut rows: Vec<_> = expected.iter().collect();
        by_name(&mut rows);
        rows.sort_by(|a, b| match (&a.3, &b.3) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (Some(x), Some(y)) if descending => y.cmp(x),
            (Some(x), Some(y)) => x.cmp(y),
        });
        let want: Vec<i64> = rows.iter().map(|r| r.1).collect();
        assert_eq!(list(DeviceSort::LastBackup, descending, None).await, want);
        // Name.
        let mut rows: Vec<_> = expected.iter().collect();
        by_name(&mut rows);
        if descending {
            rows.reverse();
        }
        let want: Vec<i64> = rows.iter().map(|r| r.1).collect();
        assert_eq!(list(DeviceSort::Name, descending, None).await, want);
    }
    for status in LastStatus::ALL {
        let mut rows: Vec<_> = expected
            .iter()
            .filter(|r| status_of_rank(r.2) == status)
            .collect();
        by_name(&mut rows);
        let want: Vec<i64> = rows.iter().map(|r| r.1).collect();
        assert!(!want.is_empty(), "{status:?}");
        assert_eq!(list(DeviceSort::Name, false, Some(status)).await, want);
    }
}

both_engines!(
    summary_follows_the_newest_job,
    device_list_orders_and_filters_by_the_summary
);
