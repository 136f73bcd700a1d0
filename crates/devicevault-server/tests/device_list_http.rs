//! The device list ordered and filtered by what its devices' newest jobs
//! say (issue 21: the summary columns of migration 0035), through the API
//! (`ordering`, `last_status`, and each device's `last_status` and
//! `last_backup_at`) and the web list, on SQLite and PostgreSQL. Every time
//! is written out: nothing depends on today's date.

mod common;

use common::browser::Browser;
use common::{Engine, Harness};
use devicevault_core::Timestamp;
use devicevault_db::JobState;
use devicevault_sim::SimConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_list_orders_and_filters_by_last_status_in_sqlite() {
    device_list(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_list_orders_and_filters_by_last_status_in_postgres() {
    device_list(Engine::Postgres).await;
}

async fn device_list(engine: Engine) {
    let mut h = Harness::start(
        engine,
        SimConfig {
            devices: 4,
            platforms: vec!["cisco_ios".into()],
            ..SimConfig::default()
        },
    )
    .await;
    let (_, ids) = h.inventory().await;
    let db = h.server().db.clone();
    // ids[0]: stored at 08:00; ids[1]: failed at 09:00; ids[2]: running
    // since 07:00; ids[3]: never backed up.
    let plan = [
        (ids[0], "2026-03-01T08:00:00Z", Some(JobState::Stored)),
        (ids[1], "2026-03-01T09:00:00Z", Some(JobState::Failed)),
        (ids[2], "2026-03-01T07:00:00Z", None),
    ];
    for (i, (device, queued, state)) in plan.into_iter().enumerate() {
        let ti = format!("list-{i}");
        let at = Timestamp::parse(queued).unwrap();
        assert!(db.create_job(&ti, &ti, device, at, at).await.unwrap());
        if let Some(state) = state {
            assert!(db.advance_job(&ti, state, Some("x")).await.unwrap());
        }
    }
    let order = |rows: Vec<serde_json::Value>| -> Vec<i64> {
        rows.iter().map(|d| d["id"].as_i64().unwrap()).collect()
    };

    let rows = h.list("/api/devices/?ordering=status").await;
    assert_eq!(order(rows.clone()), [ids[1], ids[2], ids[0], ids[3]]);
    let by_id = |id: i64| rows.iter().find(|d| d["id"] == id).unwrap().clone();
    assert_eq!(by_id(ids[1])["last_status"], "failed");
    assert_eq!(by_id(ids[2])["last_status"], "running");
    assert_eq!(by_id(ids[0])["last_status"], "stored");
    assert_eq!(by_id(ids[0])["last_backup_at"], "2026-03-01T08:00:00.000Z");
    assert_eq!(by_id(ids[3])["last_status"], "never");
    assert!(by_id(ids[3])["last_backup_at"].is_null());
    assert_eq!(
        order(h.list("/api/devices/?ordering=-status").await),
        [ids[3], ids[0], ids[2], ids[1]]
    );
    // By last backup, newest first, the device never backed up last.
    assert_eq!(
        order(h.list("/api/devices/?ordering=-last_backup").await),
        [ids[1], ids[0], ids[2], ids[3]]
    );
    assert_eq!(
        order(h.list("/api/devices/?ordering=last_backup").await),
        [ids[2], ids[0], ids[1], ids[3]]
    );
    for (status, id) in [
        ("failed", ids[1]),
        ("running", ids[2]),
        ("stored", ids[0]),
        ("never", ids[3]),
    ] {
        let path = format!("/api/devices/?last_status={status}");
        assert_eq!(order(h.list(&path).await), [id], "{path}");
    }
    // A newer job takes over the device's status.
    let at = Timestamp::parse("2026-03-02T08:00:00Z").unwrap();
    assert!(
        db.create_job("list-9", "list-9", ids[0], at, at)
            .await
            .unwrap()
    );
    assert!(
        db.advance_job("list-9", JobState::Failed, Some("x"))
            .await
            .unwrap()
    );
    assert_eq!(
        order(
            h.list("/api/devices/?last_status=failed&ordering=-last_backup")
                .await
        ),
        [ids[0], ids[1]]
    );
    for bad in ["ordering=colour", "ordering=--name", "last_status=broken"] {
        let r = h.call("GET", &format!("/api/devices/?{bad}"), None).await;
        assert_eq!(r.status, 400, "{bad}: {}", String::from_utf8_lossy(&r.body));
        let field = bad.split('=').next().unwrap();
        assert!(
            String::from_utf8_lossy(&r.body).contains(field),
            "{bad}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }

    // The web list in the same order.
    let names: Vec<String> = h
        .list("/api/devices/?ordering=status")
        .await
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect();
    let (user, password) = h.server().first_admin.clone().unwrap();
    let mut b = Browser::new(h.server().addr);
    b.login(&user, &password).await;
    let page = b.get("/devices?sort=status").await;
    assert_eq!(page.status, 200);
    let positions: Vec<usize> = names
        .iter()
        .map(|n| {
            page.body
                .find(&format!(">{n}<"))
                .unwrap_or_else(|| panic!("{n}"))
        })
        .collect();
    assert!(positions.is_sorted(), "{names:?} at {positions:?}");
}
