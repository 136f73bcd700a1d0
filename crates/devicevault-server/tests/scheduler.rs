//! The scheduler against real databases (SQLite and PostgreSQL), with an
//! `Enqueue` that creates the job rows as the dispatcher does and records
//! every call.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use devicevault_core::Timestamp;
use devicevault_core::bus::BoxFuture;
use devicevault_db::{Db, Device, DeviceFields, Schedule, ScheduleFields};
use devicevault_pipeline::scheduler::{
    Enqueue, ScheduleError, init_next_runs, next_slot, run_due, run_scheduler, task_identifier,
    validate,
};

// ---- a fresh database per test (devicevault-db's helper) ----

use devicevault_testkit::both_engines;

use devicevault_testkit::db::TestDb;

// ---- the test Enqueue -------------------------------------------------------

/// One `enqueue`: device, task identifier, outcome.
type Call = (i64, String, Result<bool, String>);

/// Creates the job row (so identifiers are deduplicated by the database, as
/// with the real dispatcher) and records each call; fails for `failing`.
struct Recorder {
    db: Db,
    calls: Mutex<Vec<Call>>,
    failing: Mutex<Option<i64>>,
    called: tokio::sync::Notify,
}

impl Recorder {
    fn new(db: &Db) -> Arc<Self> {
        Arc::new(Self {
            db: db.clone(),
            calls: Mutex::new(Vec::new()),
            failing: Mutex::new(None),
            called: tokio::sync::Notify::new(),
        })
    }

    fn fail_for(&self, device: Option<i64>) {
        *self.failing.lock().unwrap() = device;
    }

    /// Takes the calls so far: (device, task identifier, outcome).
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl Enqueue for Recorder {
    fn enqueue<'a>(
        &'a self,
        device: &'a Device,
        task_identifier: &'a str,
    ) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let outcome = if *self.failing.lock().unwrap() == Some(device.id) {
                Err("bus unavailable".to_owned())
            } else {
                let now = Timestamp::now();
                self.db
                    .create_job(
                        &format!("task-{task_identifier}"),
                        task_identifier,
                        device.id,
                        now,
                        now,
                    )
                    .await
                    .map_err(|e| e.to_string())
            };
            self.calls.lock().unwrap().push((
                device.id,
                task_identifier.to_owned(),
                outcome.clone(),
            ));
            self.called.notify_one();
            outcome
        })
    }
}

// ---- fixtures ----------------------------------------------------------------

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn device_fields(name: &str, group: Option<i64>, enabled: bool) -> DeviceFields {
    DeviceFields {
        device_group: group,
        enabled,
        ..devicevault_testkit::db::device_fields(name)
    }
}

/// A schedule `0 2 * * *` (UTC) over: `a` directly and through the group,
/// `b` through the group, `c` directly but disabled, `d` in the group but
/// disabled, `e` directly. Its targets are therefore a, b and e.
struct Fleet {
    schedule: Schedule,
    targets: Vec<i64>,
}

async fn fleet(db: &Db, next_run: &str) -> Fleet {
    let group = db.create_device_group("core").await.unwrap();
    let a = db
        .create_device(&device_fields("a", Some(group.id), true))
        .await
        .unwrap();
    let b = db
        .create_device(&device_fields("b", Some(group.id), true))
        .await
        .unwrap();
    let c = db
        .create_device(&device_fields("c", None, false))
        .await
        .unwrap();
    db.create_device(&device_fields("d", Some(group.id), false))
        .await
        .unwrap();
    let e = db
        .create_device(&device_fields("e", None, true))
        .await
        .unwrap();
    let schedule = db
        .create_schedule(
            &ScheduleFields {
                name: "nightly".into(),
                cron: "0 2 * * *".into(),
                timezone: "UTC".into(),
                enabled: true,
                devices: vec![a.id, c.id, e.id],
                device_groups: vec![group.id],
            },
            Some(ts(next_run)),
        )
        .await
        .unwrap();
    Fleet {
        schedule,
        targets: vec![a.id, b.id, e.id],
    }
}

async fn next_run(db: &Db, id: i64) -> Option<String> {
    db.schedule(id).await.unwrap().next_run
}

// ---- cases on both engines ---------------------------------------------------

async fn a_due_slot_enqueues_every_enabled_target_once(t: TestDb) {
    let db = &t.db;
    let f = fleet(db, "2026-01-10T02:00:00Z").await;
    let rec = Recorder::new(db);
    let slot = ts("2026-01-10T02:00:00Z");

    // Not yet due.
    let early = ts("2026-01-10T01:59:59Z");
    assert_eq!(run_due(db, &*rec, early).await.unwrap(), 0);
    assert!(rec.take().is_empty());

    let now = ts("2026-01-10T02:00:30Z");
    assert_eq!(run_due(db, &*rec, now).await.unwrap(), 3);
    let calls = rec.take();
    let expected: Vec<_> = f
        .targets
        .iter()
        .map(|&d| {
            (
                d,
                format!("schedule:{}:{d}:2026-01-10T02:00:00.000Z", f.schedule.id),
                Ok(true),
            )
        })
        .collect();
    assert_eq!(calls, expected);
    for &d in &f.targets {
        let job = db
            .job(&task_identifier(f.schedule.id, d, slot))
            .await
            .unwrap();
        assert_eq!(job.device_id, d);
    }
    assert_eq!(
        next_run(db, f.schedule.id).await.as_deref(),
        Some("2026-01-11T02:00:00.000Z"),
        "next_run moves to the next slot"
    );
}

async fn running_twice_for_the_same_now_enqueues_nothing_the_second_time(t: TestDb) {
    let db = &t.db;
    let f = fleet(db, "2026-01-10T02:00:00Z").await;
    let rec = Recorder::new(db);
    let now = ts("2026-01-10T02:00:30Z");
    assert_eq!(run_due(db, &*rec, now).await.unwrap(), 3);
    rec.take();
    assert_eq!(run_due(db, &*rec, now).await.unwrap(), 0);
    assert!(rec.take().is_empty(), "the slot is no longer due");
    assert_eq!(
        next_run(db, f.schedule.id).await.as_deref(),
        Some("2026-01-11T02:00:00.000Z")
    );
}

async fn a_crash_between_enqueue_and_advance_doubles_nothing(t: TestDb) {
    let db = &t.db;
    let f = fleet(db, "2026-01-10T02:00:00Z").await;
    let rec = Recorder::new(db);
    let now = ts("2026-01-10T02:00:30Z");
    assert_eq!(run_due(db, &*rec, now).await.unwrap(), 3);
    rec.take();
    // The crash: the jobs exist, but next_run is still the slot.
    let s = db.schedule(f.schedule.id).await.unwrap();
    db.update_schedule(s.id, &s.fields, Some(ts("2026-01-10T02:00:00Z")))
        .await
        .unwrap();

    assert_eq!(run_due(db, &*rec, now).await.unwrap(), 0, "no new job");
    let calls = rec.take();
    assert_eq!(calls.len(), 3, "the slot is re-run…");
    assert!(
        calls.iter().all(|(_, _, outcome)| *outcome == Ok(false)),
        "…with the same identifiers, so nothing is published again: {calls:?}"
    );
    assert_eq!(
        next_run(db, f.schedule.id).await.as_deref(),
        Some("2026-01-11T02:00:00.000Z")
    );
}

async fn slots_missed_while_down_coalesce_into_one_run(t: TestDb) {
    let db = &t.db;
    let f = fleet(db, "2026-01-05T02:00:00Z").await;
    let rec = Recorder::new(db);
    // Down for five days; back at noon.
    let now = ts("2026-01-10T12:00:00Z");
    assert_eq!(run_due(db, &*rec, now).await.unwrap(), 3);
    let calls = rec.take();
    assert!(
        calls
            .iter()
            .all(|(_, ti, _)| ti.ends_with(":2026-01-05T02:00:00.000Z")),
        "one run, for the overdue slot: {calls:?}"
    );
    assert_eq!(
        next_run(db, f.schedule.id).await.as_deref(),
        Some("2026-01-11T02:00:00.000Z"),
        "the next slot after now, not the next after the missed one"
    );
    assert_eq!(run_due(db, &*rec, now).await.unwrap(), 0);
}

async fn an_enqueue_failure_leaves_next_run_for_a_retry(t: TestDb) {
    let db = &t.db;
    let f = fleet(db, "2026-01-10T02:00:00Z").await;
    let rec = Recorder::new(db);
    let now = ts("2026-01-10T02:00:30Z");
    let broken = f.targets[1];
    rec.fail_for(Some(broken));
    assert_eq!(
        run_due(db, &*rec, now).await.unwrap(),
        2,
        "the other devices still go"
    );
    assert_eq!(rec.take().len(), 3);
    assert_eq!(
        next_run(db, f.schedule.id).await.as_deref(),
        Some("2026-01-10T02:00:00.000Z"),
        "not advanced"
    );

    rec.fail_for(None);
    let later = ts("2026-01-10T02:01:30Z");
    assert_eq!(
        run_due(db, &*rec, later).await.unwrap(),
        1,
        "the retry enqueues only the device that failed"
    );
    let created: Vec<_> = rec
        .take()
        .into_iter()
        .filter(|(_, _, outcome)| *outcome == Ok(true))
        .map(|(d, ti, _)| (d, ti))
        .collect();
    assert_eq!(
        created,
        vec![(
            broken,
            task_identifier(f.schedule.id, broken, ts("2026-01-10T02:00:00Z"))
        )]
    );
    assert_eq!(
        next_run(db, f.schedule.id).await.as_deref(),
        Some("2026-01-11T02:00:00.000Z")
    );
}

async fn two_schedulers_on_one_slot_enqueue_each_device_once(t: TestDb) {
    let db = &t.db;
    let f = fleet(db, "2026-01-10T02:00:00Z").await;
    let rec = Recorder::new(db);
    let now = ts("2026-01-10T02:00:30Z");
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let (db, rec) = (db.clone(), rec.clone());
            tokio::spawn(async move { run_due(&db, &*rec, now).await.unwrap() })
        })
        .collect();
    let mut total = 0;
    for r in runs {
        total += r.await.unwrap();
    }
    assert_eq!(total, 3);
    assert_eq!(
        next_run(db, f.schedule.id).await.as_deref(),
        Some("2026-01-11T02:00:00.000Z")
    );
}

async fn disabled_and_broken_schedules_do_not_run(t: TestDb) {
    let db = &t.db;
    let f = fleet(db, "2026-01-10T02:00:00Z").await;
    let rec = Recorder::new(db);
    let now = ts("2026-01-10T02:00:30Z");
    let mut fields = f.schedule.fields.clone();
    fields.enabled = false;
    db.update_schedule(f.schedule.id, &fields, Some(ts("2026-01-10T02:00:00Z")))
        .await
        .unwrap();
    assert_eq!(run_due(db, &*rec, now).await.unwrap(), 0);

    // An expression that no longer parses (written around the API) is
    // logged and skipped, not run on every tick.
    fields.enabled = true;
    fields.cron = "0 2 * *".into();
    db.update_schedule(f.schedule.id, &fields, Some(ts("2026-01-10T02:00:00Z")))
        .await
        .unwrap();
    assert_eq!(run_due(db, &*rec, now).await.unwrap(), 0);
    assert!(rec.take().is_empty());
}

async fn the_loop_initialises_new_schedules_and_runs_due_ones_until_shutdown(t: TestDb) {
    let db = &t.db;
    let f = fleet(db, "2026-01-10T02:00:00Z").await;
    let fresh = db
        .create_schedule(
            &ScheduleFields {
                name: "fresh".into(),
                cron: "*/5 * * * *".into(),
                timezone: "Europe/Paris".into(),
                enabled: true,
                devices: f.targets.clone(),
                device_groups: vec![],
            },
            None,
        )
        .await
        .unwrap();
    let rec = Recorder::new(db);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let enqueue: Arc<dyn Enqueue> = rec.clone();
    let task = tokio::spawn(run_scheduler(
        db.clone(),
        enqueue,
        Duration::from_millis(20),
        Duration::from_secs(25 * 3600),
        async move {
            let _ = stopped.await;
        },
    ));
    tokio::time::timeout(Duration::from_secs(10), async {
        while rec.calls.lock().unwrap().len() < 3 {
            rec.called.notified().await;
        }
    })
    .await
    .expect("the due schedule ran");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the loop stops on shutdown")
        .unwrap();

    let next = next_run(db, f.schedule.id).await.unwrap();
    assert!(next.as_str() > "2026-01-11", "advanced past now: {next}");
    let fresh_next = ts(&next_run(db, fresh.id).await.expect("initialised"));
    let ahead = fresh_next.unix_millis() - Timestamp::now().unix_millis();
    assert!(
        // A 5-minute boundary may pass between the loop's `now` and ours.
        (-60_000..=5 * 60 * 1000).contains(&ahead),
        "the first slot after now: {fresh_next}"
    );
    assert_eq!(init_next_runs(db, Timestamp::now()).await.unwrap(), 0);
}

both_engines!(
    a_due_slot_enqueues_every_enabled_target_once,
    running_twice_for_the_same_now_enqueues_nothing_the_second_time,
    a_crash_between_enqueue_and_advance_doubles_nothing,
    slots_missed_while_down_coalesce_into_one_run,
    an_enqueue_failure_leaves_next_run_for_a_retry,
    two_schedulers_on_one_slot_enqueue_each_device_once,
    disabled_and_broken_schedules_do_not_run,
    the_loop_initialises_new_schedules_and_runs_due_ones_until_shutdown,
);

// ---- slots (no database) -----------------------------------------------------

#[test]
fn slots_are_strictly_after_and_in_utc() {
    let utc = |after| {
        next_slot("0 2 * * *", "UTC", ts(after))
            .unwrap()
            .to_string()
    };
    assert_eq!(utc("2026-01-10T01:59:59.999Z"), "2026-01-10T02:00:00.000Z");
    assert_eq!(utc("2026-01-10T02:00:00.000Z"), "2026-01-11T02:00:00.000Z");
    assert_eq!(utc("2026-01-10T02:00:00.500Z"), "2026-01-11T02:00:00.000Z");
    assert_eq!(
        next_slot("*/15 * * * 1-5", "UTC", ts("2026-01-09T23:50:00Z"))
            .unwrap()
            .to_string(),
        "2026-01-12T00:00:00.000Z",
        "Friday night to Monday"
    );
}

#[test]
fn the_time_zone_is_respected_in_winter_and_summer() {
    let paris = |after| {
        next_slot("0 2 * * *", "Europe/Paris", ts(after))
            .unwrap()
            .to_string()
    };
    assert_eq!(paris("2026-01-14T12:00:00Z"), "2026-01-15T01:00:00.000Z");
    assert_eq!(paris("2026-07-14T12:00:00Z"), "2026-07-15T00:00:00.000Z");
}

#[test]
fn a_dst_gap_runs_right_after_it_and_a_repeated_hour_runs_once() {
    let paris = |after| {
        next_slot("30 2 * * *", "Europe/Paris", ts(after))
            .unwrap()
            .to_string()
    };
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z); 02:30 never exists.
    assert_eq!(paris("2026-03-28T12:00:00Z"), "2026-03-29T01:00:00.000Z");
    assert_eq!(paris("2026-03-29T01:00:00Z"), "2026-03-30T00:30:00.000Z");
    // 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice.
    assert_eq!(paris("2026-10-24T12:00:00Z"), "2026-10-25T00:30:00.000Z");
    assert_eq!(
        paris("2026-10-25T00:30:00Z"),
        "2026-10-26T01:30:00.000Z",
        "not again at the second 02:30"
    );
}

#[test]
fn invalid_expressions_and_time_zones_are_rejected_with_clear_messages() {
    let err = |cron: &str, tz: &str| validate(cron, tz).unwrap_err();
    assert!(validate("0 2 * * *", "UTC").is_ok());
    assert!(validate("@daily", "America/New_York").is_ok());
    assert!(validate("*/5 8-18 * * MON-FRI", "Europe/Paris").is_ok());

    let e = err("x", "UTC");
    assert!(matches!(e, ScheduleError::Cron { .. }));
    assert!(e.to_string().starts_with("invalid cron \"x\": "), "{e}");
    for six_or_seven in ["0 0 2 * * *", "0 0 2 * * * 2026"] {
        let e = err(six_or_seven, "UTC");
        assert!(e.to_string().contains("expected 5 fields"), "{e}");
    }
    assert!(matches!(
        err("61 * * * *", "UTC"),
        ScheduleError::Cron { .. }
    ));
    assert!(matches!(err("", "UTC"), ScheduleError::Cron { .. }));
    assert_eq!(
        err("0 0 31 2 *", "UTC").to_string(),
        "cron \"0 0 31 2 *\" never matches"
    );

    let e = err("0 2 * * *", "Mars/Base");
    assert_eq!(e.to_string(), "unknown time zone \"Mars/Base\"");
    for cron_error in [err("x", "UTC"), err("0 0 31 2 *", "UTC")] {
        assert!(!cron_error.to_string().contains("time zone"));
    }
}
