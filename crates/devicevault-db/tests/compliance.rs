//! Compliance states, on SQLite and PostgreSQL: what is due, and each
//! state recorded by compare-and-swap on what was evaluated before, so two
//! evaluators racing on one device make one state and at most one event.

use devicevault_core::{Status, StorageBackendKind, Timestamp};
use devicevault_db::compliance::state;
use devicevault_db::{
    ComplianceRule, ComplianceRuleFields, Db, DeviceFields, NewCompliance, NewStoredBackup, Page,
    Recorded,
};
use devicevault_testkit::both_engines;
use devicevault_testkit::db::{TestDb, device_fields};

const ALL: Page = Page {
    limit: 1000,
    offset: 0,
};

async fn device(db: &Db, name: &str, group: Option<i64>) -> i64 {
    db.create_device(&DeviceFields {
        device_group: group,
        ..device_fields(name)
    })
    .await
    .unwrap()
    .id
}

async fn store(db: &Db, ti: &str, device_id: i64, at: &str) -> i64 {
    db.record_stored_backup(&NewStoredBackup {
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
        changed: Some(true),
        is_binary: false,
    })
    .await
    .unwrap();
    db.stored_backup_at(device_id, None)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn rule(db: &Db, groups: Vec<i64>) -> ComplianceRule {
    db.create_compliance_rule(&ComplianceRuleFields {
        name: "no public community".into(),
        pattern: "snmp-server community public".into(),
        regex: false,
        ignore_case: false,
        expectation: "must_not_contain".into(),
        block: None,
        device_groups: groups,
        enabled: true,
    })
    .await
    .unwrap()
}

fn new(st: &str, stored: Option<i64>, version: i64) -> NewCompliance {
    NewCompliance {
        state: st.into(),
        stored_backup_id: stored,
        rule_version: version,
        detail: String::new(),
        retry_at: None,
    }
}

async fn compliance_events(db: &Db) -> usize {
    db.outbox_events(ALL)
        .await
        .unwrap()
        .rows
        .iter()
        .filter(|e| e.kind == "compliance_changed")
        .count()
}

async fn two_evaluators_make_one_state_and_one_event(t: TestDb) {
    let db = &t.db;
    let d = device(db, "r1", None).await;
    let s1 = store(db, "t1", d, "2026-03-01T10:00:00Z").await;
    let r = rule(db, vec![]).await;
    let now = Timestamp::now();
    let due = db.due_compliance(&r, now, 100).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].latest.as_ref().unwrap().id, s1);
    assert!(due[0].previous.is_none());
    db.record_compliance(&r, d, None, &new(state::COMPLIANT, Some(s1), 1), now)
        .await
        .unwrap();
    assert!(db.due_compliance(&r, now, 100).await.unwrap().is_empty());
    assert_eq!(
        compliance_events(db).await,
        0,
        "a first compliance is no news"
    );

    // A new version; two evaluators read the same previous state.
    let s2 = store(db, "t2", d, "2026-03-01T11:00:00Z").await;
    let due = db.due_compliance(&r, now, 100).await.unwrap();
    assert_eq!(due.len(), 1);
    let prev = due[0].previous.clone().unwrap();
    let bad = new(state::NON_COMPLIANT, Some(s2), 1);
    let later = Timestamp::now();
    let (a, b) = tokio::join!(
        db.record_compliance(&r, d, Some(&prev), &bad, later),
        db.record_compliance(&r, d, Some(&prev), &bad, later),
    );
    let mut outcomes = [a.unwrap(), b.unwrap()];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(
        outcomes,
        [Recorded::Changed { notified: true }, Recorded::Lost]
    );
    assert_eq!(compliance_events(db).await, 1);
    let listed = db
        .list_compliance(&devicevault_db::Scope::Admin, &Default::default(), ALL)
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(listed.rows[0].state, state::NON_COMPLIANT);
    assert_eq!(listed.rows[0].stored_backup_id, Some(s2));

    // An edit moves the version: due again.
    let edited = db.update_compliance_rule(r.id, &r.fields).await.unwrap();
    assert_eq!(edited.version, 2);
    assert_eq!(db.due_compliance(&edited, now, 100).await.unwrap().len(), 1);
}

async fn a_rule_applies_to_its_groups_and_forgets_devices_that_leave(t: TestDb) {
    let db = &t.db;
    let core = db.create_device_group("core").await.unwrap().id;
    let a = device(db, "a", Some(core)).await;
    let b = device(db, "b", None).await;
    let r = rule(db, vec![core]).await;
    let now = Timestamp::now();
    let due = db.due_compliance(&r, now, 100).await.unwrap();
    assert_eq!(due.iter().map(|d| d.device_id).collect::<Vec<_>>(), [a]);
    assert!(due[0].latest.is_none(), "no backup yet");
    db.record_compliance(&r, a, None, &new(state::UNKNOWN, None, 1), now)
        .await
        .unwrap();
    // Disabled: its states go.
    let mut off = r.fields.clone();
    off.enabled = false;
    let off = db.update_compliance_rule(r.id, &off).await.unwrap();
    assert_eq!(db.prune_compliance(&off).await.unwrap(), 1);
    let _ = b;
}

both_engines!(
    two_evaluators_make_one_state_and_one_event,
    a_rule_applies_to_its_groups_and_forgets_devices_that_leave,
);
