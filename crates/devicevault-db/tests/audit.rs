//! The audit log on SQLite and PostgreSQL: appended in one chain even by
//! concurrent writers, listed with filters, and every alteration or
//! deletion named by its row when the chain is verified; pruning leaves a
//! signed checkpoint and refuses to hide a broken part.

use devicevault_core::Timestamp;
use devicevault_db::{AuditFilter, Db, NewAudit, Page};
use devicevault_testkit::both_engines;
use devicevault_testkit::db::TestDb;
use sqlx::{AnyConnection, Connection as _, Executor as _};

const ALL: Page = Page {
    limit: 1000,
    offset: 0,
};

fn entry(actor: &str, action: &str, object_id: i64) -> NewAudit {
    NewAudit {
        actor: actor.into(),
        via: "web".into(),
        address: Some("192.0.2.7".into()),
        action: action.into(),
        object_type: Some("devices".into()),
        object_id: Some(object_id.to_string()),
        fields: r#"{"name":"r1"}"#.into(),
        outcome: "ok".into(),
    }
}

async fn raw(t: &TestDb, sql: &'static str) {
    let mut conn = AnyConnection::connect(&t.url).await.unwrap();
    conn.execute(sql).await.unwrap();
    conn.close().await.unwrap();
}

async fn append_concurrently(db: &Db, writers: i64, each: i64) {
    let mut tasks = Vec::new();
    for w in 0..writers {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..each {
                db.audit(&entry(&format!("user{w}"), "devices.update", i))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

async fn concurrent_appends_make_one_chain_that_verifies(t: TestDb) {
    let db = &t.db;
    let v = db.audit_verify().await.unwrap();
    assert_eq!((v.rows, v.problems.len()), (0, 0), "an empty log verifies");
    append_concurrently(db, 4, 25).await;
    let v = db.audit_verify().await.unwrap();
    assert_eq!(v.rows, 100);
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    let all = db.audit_list(&AuditFilter::default(), ALL).await.unwrap();
    assert_eq!(all.total, 100);
    let ids: Vec<i64> = all.rows.iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        (1..=100).rev().collect::<Vec<_>>(),
        "newest first, no gap"
    );
}

async fn the_log_is_filtered_by_actor_action_object_and_time(t: TestDb) {
    let db = &t.db;
    db.audit(&entry("alice", "devices.create", 1))
        .await
        .unwrap();
    db.audit(&entry("bob", "devices.update", 1)).await.unwrap();
    db.audit(&entry("alice", "devices.update", 2))
        .await
        .unwrap();
    db.audit(&NewAudit {
        object_type: Some("users".into()),
        ..entry("alice", "users.create", 3)
    })
    .await
    .unwrap();
    let list = |f: AuditFilter| async move {
        let l = db.audit_list(&f, ALL).await.unwrap();
        let ids: Vec<i64> = l.rows.iter().map(|r| r.id).collect();
        assert_eq!(l.total as usize, ids.len());
        ids
    };
    let by_actor = AuditFilter {
        actor: Some("alice".into()),
        ..AuditFilter::default()
    };
    assert_eq!(list(by_actor).await, [4, 3, 1]);
    let prefix = AuditFilter {
        action: Some("devices.".into()),
        ..AuditFilter::default()
    };
    assert_eq!(list(prefix).await, [3, 2, 1]);
    let exact = AuditFilter {
        action: Some("devices.update".into()),
        ..AuditFilter::default()
    };
    assert_eq!(list(exact).await, [3, 2]);
    let object = AuditFilter {
        object_type: Some("devices".into()),
        object_id: Some("1".into()),
        ..AuditFilter::default()
    };
    assert_eq!(list(object).await, [2, 1]);
    let future = AuditFilter {
        since: Some(Timestamp::parse("2999-01-01T00:00:00Z").unwrap()),
        ..AuditFilter::default()
    };
    assert!(list(future).await.is_empty());
    let past = AuditFilter {
        until: Some(Timestamp::parse("2999-01-01T00:00:00Z").unwrap()),
        ..AuditFilter::default()
    };
    assert_eq!(list(past).await.len(), 4);
}

async fn an_altered_or_deleted_row_is_named_by_verify(t: TestDb) {
    let db = &t.db;
    for i in 1..=6 {
        db.audit(&entry("alice", "devices.update", i))
            .await
            .unwrap();
    }
    raw(&t, "UPDATE audit_log SET actor = 'mallory' WHERE id = 2").await;
    let v = db.audit_verify().await.unwrap();
    let ids: Vec<i64> = v.problems.iter().map(|p| p.id).collect();
    assert_eq!(ids, [2], "{:?}", v.problems);
    assert!(v.problems[0].what.contains("altered"), "{:?}", v.problems);

    raw(&t, "DELETE FROM audit_log WHERE id = 4").await;
    let v = db.audit_verify().await.unwrap();
    let ids: Vec<i64> = v.problems.iter().map(|p| p.id).collect();
    assert_eq!(ids, [2, 5], "{:?}", v.problems);
    assert!(v.problems[1].what.contains("4..=4"), "{:?}", v.problems);

    raw(&t, "DELETE FROM audit_log WHERE id = 6").await;
    let v = db.audit_verify().await.unwrap();
    assert!(
        v.problems
            .iter()
            .any(|p| p.id == 6 && p.what.contains("missing")),
        "a deleted tail is noticed: {:?}",
        v.problems
    );

    // A row rewritten with a recomputed hash still breaks the next link.
    let t2 = TestDb::sqlite().await;
    for i in 1..=3 {
        t2.db
            .audit(&entry("alice", "devices.update", i))
            .await
            .unwrap();
    }
    raw(
        &t2,
        "UPDATE audit_log SET hash = 'ff' || substr(hash, 3) WHERE id = 2",
    )
    .await;
    let ids: Vec<i64> = t2
        .db
        .audit_verify()
        .await
        .unwrap()
        .problems
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, [2, 3]);
}

async fn pruning_leaves_a_signed_checkpoint_and_the_rest_verifies(t: TestDb) {
    let db = &t.db;
    for i in 1..=5 {
        db.audit(&entry("alice", "devices.update", i))
            .await
            .unwrap();
        // Times are kept to the millisecond: one row per millisecond at most.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let sign = |text: &str| format!("signed:{}", text.len());
    let removed = db
        .audit_prune(Timestamp::parse("2000-01-01T00:00:00Z").unwrap(), &sign)
        .await
        .unwrap();
    assert_eq!(removed, 0, "nothing is older than 2000");
    assert_eq!(db.audit_checkpoint().await.unwrap(), None);

    let row4 = db
        .audit_list(&AuditFilter::default(), ALL)
        .await
        .unwrap()
        .rows
        .into_iter()
        .find(|r| r.id == 4)
        .unwrap();
    let removed = db
        .audit_prune(Timestamp::parse(&row4.at).unwrap(), &sign)
        .await
        .unwrap();
    assert_eq!(removed, 3, "the rows written before row 4");
    let cp = db.audit_checkpoint().await.unwrap().unwrap();
    assert_eq!(cp.through_id, 3);
    assert_eq!(cp.through_hash, row4.prev_hash);
    assert!(cp.signature.starts_with("signed:"));
    let v = db.audit_verify().await.unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    assert_eq!(v.rows, 2);
    assert_eq!(v.checkpoint, Some(cp));
    db.audit(&entry("bob", "devices.update", 9)).await.unwrap();
    assert!(
        db.audit_verify().await.unwrap().problems.is_empty(),
        "the chain goes on"
    );

    // Pruning never hides an alteration: it refuses, naming the row.
    raw(&t, "UPDATE audit_log SET actor = 'mallory' WHERE id = 5").await;
    let refused = db
        .audit_prune(Timestamp::parse("2999-01-01T00:00:00Z").unwrap(), &sign)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("row 5"), "{refused}");
    assert_eq!(
        db.audit_verify().await.unwrap().rows,
        3,
        "nothing was removed"
    );
}

/// Appends that arrive while a group is written wait and are written
/// together, in one transaction: the rows of a group share its time. One
/// transaction each, 64 appends at once would have 64 times.
async fn appends_arriving_together_are_written_in_groups(t: TestDb) {
    let db = &t.db;
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(64));
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (db, start) = (db.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            (i, db.audit(&entry("alice", "devices.backup_now", i)).await)
        }));
    }
    let mut answered = std::collections::BTreeMap::new();
    for t in tasks {
        let (i, id) = t.await.unwrap();
        answered.insert(id.unwrap(), i.to_string());
    }
    let v = db.audit_verify().await.unwrap();
    assert_eq!(v.rows, 64);
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    let all = db.audit_list(&AuditFilter::default(), ALL).await.unwrap();
    let written: std::collections::BTreeMap<i64, String> = all
        .rows
        .iter()
        .map(|r| (r.id, r.entry.object_id.clone().unwrap()))
        .collect();
    assert_eq!(
        written, answered,
        "each append answered with its own row's id"
    );
    let times: std::collections::BTreeSet<&str> = all.rows.iter().map(|r| r.at.as_str()).collect();
    assert!(
        times.len() < 64,
        "64 appends at once were written one transaction each"
    );
}

both_engines!(
    appends_arriving_together_are_written_in_groups,
    concurrent_appends_make_one_chain_that_verifies,
    the_log_is_filtered_by_actor_action_object_and_time,
    an_altered_or_deleted_row_is_named_by_verify,
    pruning_leaves_a_signed_checkpoint_and_the_rest_verifies,
);
