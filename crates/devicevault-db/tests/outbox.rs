//! The notification outbox, on SQLite and PostgreSQL: events are written
//! with the state that causes them, once per cause however often (or
//! however concurrently) that state is recorded; deliveries are claimed by
//! one notifier at a time and taken over when a lease runs out.

use std::time::Duration;

use devicevault_core::{Status, StorageBackendKind, Timestamp};
use devicevault_db::{
    ChannelFields, Db, DeliveryFilter, DeliveryOutcome, JobState, NewStoredBackup, Page, RuleFields,
};
use devicevault_testkit::both_engines;
use devicevault_testkit::db::{TestDb, device_fields};

const ALL: Page = Page {
    limit: 1000,
    offset: 0,
};

async fn device(db: &Db, name: &str) -> i64 {
    db.create_device(&device_fields(name)).await.unwrap().id
}

fn stored(ti: &str, device_id: i64, changed: bool, at: &str) -> NewStoredBackup {
    NewStoredBackup {
        task_id: format!("task-{ti}"),
        task_identifier: ti.into(),
        device_id,
        storage_backend: StorageBackendKind::Git,
        storage_ref: format!("main:{device_id}/r.cfg@{:040}", 1),
        status: Status::Success,
        timestamp: Timestamp::parse(at).unwrap(),
        log: "[]".into(),
        location_id: None,
        size: Some(10),
        sha256: None,
        changed: Some(changed),
        is_binary: false,
    }
}

fn after(d: Duration) -> Timestamp {
    Timestamp::from_datetime(Timestamp::now().as_datetime() + d)
}

async fn a_changed_version_makes_one_event_naming_the_previous_one(t: TestDb) {
    let db = &t.db;
    let d = device(db, "r1").await;
    // The first version: nothing changed that anyone saw.
    assert!(
        db.record_stored_backup(&stored("t1", d, true, "2026-03-01T10:00:00Z"))
            .await
            .unwrap()
    );
    // An unchanged one: nothing.
    assert!(
        db.record_stored_backup(&stored("t2", d, false, "2026-03-01T11:00:00Z"))
            .await
            .unwrap()
    );
    assert!(db.outbox_events(ALL).await.unwrap().rows.is_empty());
    // A change, recorded by two consumers at once and replayed.
    let change = stored("t3", d, true, "2026-03-01T12:00:00Z");
    let (a, b) = tokio::join!(
        db.record_stored_backup(&change),
        db.record_stored_backup(&change)
    );
    assert_eq!(u8::from(a.unwrap()) + u8::from(b.unwrap()), 1);
    assert!(!db.record_stored_backup(&change).await.unwrap());
    let events = db.outbox_events(ALL).await.unwrap().rows;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(
        (e.kind.as_str(), e.device_id, e.device_name.as_str()),
        ("config_changed", d, "r1")
    );
    let listed = db
        .stored_backups(Some(d), &devicevault_db::Scope::Admin, ALL)
        .await
        .unwrap()
        .rows;
    // Newest first: t3, t2, t1. The previous version is t2 (the latest
    // before it, unchanged or not).
    assert_eq!(e.stored_backup_id, Some(listed[0].id));
    assert_eq!(e.previous_stored_backup_id, Some(listed[1].id));
}

async fn a_final_failure_makes_one_event_with_its_reason(t: TestDb) {
    let db = &t.db;
    let d = device(db, "r2").await;
    let now = Timestamp::now();
    assert!(
        db.create_job("t", "job-1", d, now, after(Duration::from_secs(60)))
            .await
            .unwrap()
    );
    assert!(
        db.advance_job("job-1", JobState::Collecting, None)
            .await
            .unwrap()
    );
    assert!(db.outbox_events(ALL).await.unwrap().rows.is_empty());
    let (a, b) = tokio::join!(
        db.advance_job("job-1", JobState::Failed, Some("authentication failed")),
        db.advance_job("job-1", JobState::Failed, Some("authentication failed")),
    );
    assert_eq!(u8::from(a.unwrap()) + u8::from(b.unwrap()), 1);
    assert!(
        !db.advance_job("job-1", JobState::Failed, Some("again"))
            .await
            .unwrap()
    );
    let events = db.outbox_events(ALL).await.unwrap().rows;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, "backup_failed");
    assert_eq!(events[0].reason.as_deref(), Some("authentication failed"));
}

async fn deliveries_are_claimed_once_and_taken_over_after_the_lease(t: TestDb) {
    let db = &t.db;
    let d = device(db, "r3").await;
    db.record_stored_backup(&stored("a", d, true, "2026-03-01T10:00:00Z"))
        .await
        .unwrap();
    db.record_stored_backup(&stored("b", d, true, "2026-03-01T11:00:00Z"))
        .await
        .unwrap();
    let channel = db
        .create_channel(&ChannelFields {
            name: "hook".into(),
            kind: "webhook".into(),
            settings: r#"{"url":"http://127.0.0.1:9/"}"#.into(),
            secret_sealed: Some(vec![1, 2, 3]),
        })
        .await
        .unwrap();
    let rule = db
        .create_rule(&RuleFields {
            name: "all".into(),
            channel_id: channel,
            events: vec!["config_changed".into()],
            device_groups: vec![],
            devices: vec![],
            enabled: true,
        })
        .await
        .unwrap();
    let event = db.unplanned_events(10).await.unwrap();
    assert_eq!(event.len(), 1);
    // Planned twice (two notifiers): one delivery.
    db.plan_event(event[0].id, &[(channel, rule)])
        .await
        .unwrap();
    db.plan_event(event[0].id, &[(channel, rule)])
        .await
        .unwrap();
    assert!(db.unplanned_events(10).await.unwrap().is_empty());

    let lease = after(Duration::from_millis(300));
    let (a, b) = tokio::join!(
        db.claim_deliveries(Timestamp::now(), lease, 10),
        db.claim_deliveries(Timestamp::now(), lease, 10),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 1, "claimed by one: {a:?} {b:?}");
    let first = a.into_iter().chain(b).next().unwrap();
    assert_eq!((first.attempt, first.lease_expired), (1, false));
    assert!(
        db.claim_deliveries(Timestamp::now(), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // The holder dies; after its lease another notifier takes it.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = db
        .claim_deliveries(Timestamp::now(), after(Duration::from_secs(60)), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].attempt, again[0].lease_expired), (2, true));
    // The first holder's late answer is ignored; the new one's counts.
    assert!(
        !db.finish_delivery(first.id, 1, &DeliveryOutcome::Delivered)
            .await
            .unwrap()
    );
    let retry = DeliveryOutcome::RetryAt {
        at: after(Duration::from_secs(3600)),
        error: "HTTP 503 (transient)".into(),
    };
    assert!(db.finish_delivery(first.id, 2, &retry).await.unwrap());
    let shown = db.delivery(first.id).await.unwrap();
    assert_eq!((shown.state.as_str(), shown.attempts), ("pending", 2));
    assert_eq!(shown.last_error.as_deref(), Some("HTTP 503 (transient)"));
    assert_eq!(shown.rule_name.as_deref(), Some("all"));
    // Not due yet.
    assert!(
        db.claim_deliveries(Timestamp::now(), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let by_rule = DeliveryFilter {
        rule: Some(rule),
        state: Some("pending".into()),
        ..DeliveryFilter::default()
    };
    assert_eq!(db.deliveries(&by_rule, ALL).await.unwrap().total, 1);
    // A rule in use keeps its channel.
    assert!(db.delete_channel(channel).await.is_err());
}

fn hours(h: u64) -> Duration {
    Duration::from_secs(h * 3600)
}

/// Staleness: a live, enabled device without a successful backup for
/// longer than its group's threshold (else the default) goes stale once,
/// with one `device_stale` event however often or concurrently the scan
/// runs; its next success (or a failing device's) makes one
/// `device_recovered`; the list filter and the dashboard count follow.
async fn devices_go_stale_once_and_recover_with_their_next_success(t: TestDb) {
    let db = &t.db;
    let default = hours(25);
    let quick = db.save_device_group(None, "quick", Some(1)).await.unwrap();
    assert_eq!(quick.stale_after_hours, Some(1));
    let r1 = device(db, "r1").await;
    let r2 = device(db, "r2").await;
    let mut f = db.device(r2).await.unwrap().fields;
    f.device_group = Some(quick.id);
    db.update_device(r2, &f).await.unwrap();
    let off = device(db, "off").await;
    let mut f = db.device(off).await.unwrap().fields;
    f.enabled = false;
    db.update_device(off, &f).await.unwrap();
    let gone = device(db, "gone").await;
    db.archive_device(gone).await.unwrap();
    let stale_kinds = |events: &[devicevault_db::OutboxEvent], kind: &str| -> Vec<i64> {
        events
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.device_id)
            .collect()
    };

    // Within every threshold: nothing.
    assert!(
        db.mark_stale(Timestamp::now(), default)
            .await
            .unwrap()
            .is_empty()
    );
    // Two hours on: the group's 1 h threshold has passed, the default not.
    // Two schedulers scanning at once mark it once.
    let at = after(hours(2));
    let (a, b) = tokio::join!(db.mark_stale(at, default), db.mark_stale(at, default));
    let went: Vec<i64> = a
        .unwrap()
        .into_iter()
        .chain(b.unwrap())
        .map(|w| w.device_id)
        .collect();
    assert_eq!(went, [r2]);
    assert!(
        db.mark_stale(after(hours(3)), default)
            .await
            .unwrap()
            .is_empty()
    );
    // A day and more: the default threshold too; never the disabled or the
    // archived device.
    let went = db.mark_stale(after(hours(26)), default).await.unwrap();
    assert_eq!(went.iter().map(|w| w.device_id).collect::<Vec<_>>(), [r1]);
    assert_eq!(went[0].last_success_at, None);
    let events = db.outbox_events(ALL).await.unwrap().rows;
    let mut stale = stale_kinds(&events, "device_stale");
    stale.sort_unstable();
    assert_eq!(stale, [r1, r2], "{events:?}");
    let r1_event = events.iter().find(|e| e.device_id == r1).unwrap();
    assert!(
        r1_event
            .reason
            .as_deref()
            .unwrap()
            .contains("never backed up"),
        "{r1_event:?}"
    );
    assert!(db.device(r1).await.unwrap().health.stale_since.is_some());
    let stale_only = devicevault_db::DeviceFilter {
        stale: Some(true),
        ..Default::default()
    };
    let listed = db
        .list_devices(&stale_only, &devicevault_db::Scope::All, ALL)
        .await
        .unwrap();
    assert_eq!(listed.total, 2);
    let stats = db
        .dashboard_stats(Timestamp::now(), &devicevault_db::Scope::All)
        .await
        .unwrap();
    assert_eq!(stats.stale, 2);

    // r1's next success: recovered, once, naming the stored backup.
    let ok = stored("ok-1", r1, true, &after(hours(27)).to_string());
    assert!(db.record_stored_backup(&ok).await.unwrap());
    assert!(!db.record_stored_backup(&ok).await.unwrap());
    let health = db.device(r1).await.unwrap().health;
    assert_eq!(health.stale_since, None);
    assert_eq!(health.last_success_at, Some(ok.timestamp.to_string()));
    assert_eq!(health.last_change_at, Some(ok.timestamp.to_string()));
    let events = db.outbox_events(ALL).await.unwrap().rows;
    assert_eq!(stale_kinds(&events, "device_recovered"), [r1]);
    let rec = events
        .iter()
        .find(|e| e.kind == "device_recovered")
        .unwrap();
    assert!(rec.stored_backup_id.is_some());
    assert!(rec.reason.as_deref().unwrap().contains("stale"), "{rec:?}");
    let listed = db
        .list_devices(&stale_only, &devicevault_db::Scope::All, ALL)
        .await
        .unwrap();
    assert_eq!(listed.rows.iter().map(|d| d.id).collect::<Vec<_>>(), [r2]);
    // A fresh success keeps it from going stale until the threshold passes
    // again, counted from that success.
    assert!(
        db.mark_stale(after(hours(28)), default)
            .await
            .unwrap()
            .is_empty()
    );

    // A final failure, then a success: recovered from failing.
    let now = Timestamp::now();
    db.create_job("t", "fail-1", r1, now, after(Duration::from_secs(60)))
        .await
        .unwrap();
    db.advance_job("fail-1", JobState::Failed, Some("timed out"))
        .await
        .unwrap();
    assert!(db.device(r1).await.unwrap().health.failing_since.is_some());
    // An unchanged success recovers too (no config_changed, one recovery).
    db.record_stored_backup(&stored("ok-2", r1, false, &after(hours(29)).to_string()))
        .await
        .unwrap();
    let health = db.device(r1).await.unwrap().health;
    assert_eq!(health.failing_since, None);
    // Unchanged: the last success moves, the last change stays.
    assert_eq!(health.last_change_at, Some(ok.timestamp.to_string()));
    assert_ne!(health.last_success_at, health.last_change_at);
    let events = db.outbox_events(ALL).await.unwrap().rows;
    assert_eq!(stale_kinds(&events, "device_recovered"), [r1, r1]);
    let rec = events
        .iter()
        .filter(|e| e.kind == "device_recovered")
        .max_by_key(|e| e.id)
        .unwrap();
    assert!(
        rec.reason.as_deref().unwrap().contains("failing since"),
        "{rec:?}"
    );
    // Successes of a healthy device make no event.
    db.record_stored_backup(&stored("ok-3", r1, false, &after(hours(30)).to_string()))
        .await
        .unwrap();
    let n = db.outbox_events(ALL).await.unwrap().rows.len();
    assert_eq!(n, events.len());
}

both_engines!(
    devices_go_stale_once_and_recover_with_their_next_success,
    a_changed_version_makes_one_event_naming_the_previous_one,
    a_final_failure_makes_one_event_with_its_reason,
    deliveries_are_claimed_once_and_taken_over_after_the_lease,
);
