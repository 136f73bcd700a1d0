//! A device's distinct versions and the backup results by time range,
//! through the API and the web pages of a whole server (issue 18): the
//! history groups unchanged backups, "compare with previous" never opens
//! two identical versions, and the dashboard's cards count the results
//! they open.

mod common;

use common::browser::Browser;
use common::{Engine, Harness};
use devicevault_core::{Status, StorageBackendKind, Timestamp};
use devicevault_db::{Db, JobState, NewDeviceResult, NewStoredBackup};
use devicevault_sim::SimConfig;

fn sim() -> SimConfig {
    SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        ..SimConfig::default()
    }
}

async fn admin(h: &Harness) -> Browser {
    let (user, password) = h.server().first_admin.clone().unwrap();
    let mut b = Browser::new(h.server().addr);
    b.login(&user, &password).await;
    b
}

/// A whole backup at `at`: its job, its collection and — unless the
/// collection failed — its stored backup. Returns the stored backup's id.
async fn backup(
    db: &Db,
    device: i64,
    n: u32,
    at: Timestamp,
    collected: Status,
    changed: bool,
) -> Option<i64> {
    let ti = format!("hist-{n}");
    db.create_job(&ti, &ti, device, at, at).await.unwrap();
    db.record_device_result(&NewDeviceResult {
        task_id: ti.clone(),
        task_identifier: ti.clone(),
        device_id: device,
        status: collected,
        timestamp: at,
        log: "[]".into(),
        collection_duration_ms: 700,
        author: None,
        change_key: None,
    })
    .await
    .unwrap();
    if collected == Status::Failure {
        db.advance_job(&ti, JobState::Failed, Some("authentication failed"))
            .await
            .unwrap();
        return None;
    }
    db.record_stored_backup(&NewStoredBackup {
        task_id: ti.clone(),
        task_identifier: ti.clone(),
        device_id: device,
        storage_backend: StorageBackendKind::Git,
        storage_ref: format!("main:{device}/r.cfg@{n:040}"),
        status: Status::Success,
        timestamp: at,
        log: "[]".into(),
        location_id: None,
        size: Some(10),
        sha256: None,
        changed: Some(changed),
        is_binary: false,
    })
    .await
    .unwrap();
    db.advance_job(&ti, JobState::Stored, None).await.unwrap();
    db.stored_backup_id_by_task(&ti).await.unwrap()
}

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_shows_distinct_versions_and_results_filter_by_time_range_in_sqlite() {
    history_and_results(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_shows_distinct_versions_and_results_filter_by_time_range_in_postgres() {
    history_and_results(Engine::Postgres).await;
}

async fn history_and_results(engine: Engine) {
    let mut h = Harness::start(engine, sim()).await;
    let (_, ids) = h.inventory().await;
    let device = ids[0];
    let db = h.server().db.clone();
    // Hourly backups on the night of 2026-03-01: a version, two unchanged
    // backups and a failure, then a change confirmed once.
    let v1 = backup(
        &db,
        device,
        1,
        at("2026-03-01T20:00:00Z"),
        Status::Success,
        true,
    )
    .await
    .unwrap();
    backup(
        &db,
        device,
        2,
        at("2026-03-01T21:00:00Z"),
        Status::Success,
        false,
    )
    .await;
    backup(
        &db,
        device,
        3,
        at("2026-03-01T22:00:00Z"),
        Status::Failure,
        false,
    )
    .await;
    backup(
        &db,
        device,
        4,
        at("2026-03-01T23:00:00Z"),
        Status::Success,
        false,
    )
    .await;
    let v2 = backup(
        &db,
        device,
        5,
        at("2026-03-02T00:00:00Z"),
        Status::Success,
        true,
    )
    .await
    .unwrap();
    // (The version page reads the stored file, which these rows lack; its
    // "compare with previous" is `Db::previous_version`, tested in the
    // database's suite.)
    backup(
        &db,
        device,
        6,
        at("2026-03-02T01:00:00Z"),
        Status::Success,
        false,
    )
    .await;

    // The API: two versions, newest first, with their spans.
    let r = h
        .call("GET", &format!("/api/devices/{device}/versions/"), None)
        .await;
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["count"], 2, "{body}");
    let newest = &body["results"][0];
    assert_eq!(newest["stored_backup"], v2);
    assert_eq!(newest["first_seen"], "2026-03-02T00:00:00.000Z");
    assert_eq!(newest["last_confirmed"], "2026-03-02T01:00:00.000Z");
    assert_eq!(newest["confirmations"], 2);
    assert_eq!(newest["previous_version"], v1);
    let oldest = &body["results"][1];
    assert_eq!(oldest["confirmations"], 3, "the failure confirms nothing");
    assert_eq!(oldest["last_confirmed"], "2026-03-01T23:00:00.000Z");
    assert!(oldest["previous_version"].is_null());
    let r = h
        .call(
            "GET",
            &format!("/api/devices/{device}/versions/?page_size=1&page=2"),
            None,
        )
        .await;
    let body = r.json();
    assert_eq!(
        (
            body["count"].as_i64(),
            body["results"][0]["stored_backup"].as_i64()
        ),
        (Some(2), Some(v1))
    );
    assert_eq!(
        h.call("GET", "/api/devices/999999/versions/", None)
            .await
            .status,
        404
    );
    assert_eq!(
        h.call("GET", "/api/devices/abc/versions/", None)
            .await
            .status,
        404
    );

    // The API's results: what failed last night, and bad filters named.
    let r = h
        .call(
            "GET",
            "/api/backup-results/?outcome=failed&since=2026-03-01T18:00&until=2026-03-02T06:00:00Z",
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["count"], 1, "{body}");
    assert_eq!(body["results"][0]["outcome"], "failed");
    assert_eq!(body["results"][0]["reason"], "authentication failed");
    assert_eq!(body["results"][0]["timestamp"], "2026-03-01T22:00:00.000Z");
    let r = h
        .call(
            "GET",
            "/api/backup-results/?since=2026-03-02&outcome=stored",
            None,
        )
        .await;
    assert_eq!(r.json()["count"], 2);
    let r = h
        .call(
            "GET",
            "/api/backup-results/?since=last+night&outcome=broken",
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    let body = r.json();
    assert!(
        body.to_string().contains("since") && body.to_string().contains("outcome"),
        "{body}"
    );

    // The web: the device page shows the versions, and every backup on demand.
    let mut b = admin(&h).await;
    let page = b.get(&format!("/devices/{device}")).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.body.matches("data-version=").count(),
        2,
        "{}",
        page.body
    );
    assert!(page.body.contains("First seen") && page.body.contains("Last confirmed"));
    assert!(
        page.body.contains(&format!(r#"name="b" value="{v2}" aria-label="New version (B): 2026-03-02T00:00:00.000Z" checked"#)),
        "the newest change is B"
    );
    assert!(
        page.body.contains(&format!(r#"name="a" value="{v1}" aria-label="Old version (A): 2026-03-01T20:00:00.000Z" checked"#)),
        "the version before it is A"
    );
    assert!(
        page.body
            .contains(&format!("/devices/{device}/compare?a={v1}&amp;b={v2}"))
    );
    let all = b.get(&format!("/devices/{device}?all=1")).await;
    assert_eq!(all.status, 200);
    assert!(all.body.contains("Every backup"));
    assert_eq!(
        all.body.matches("New version (B):").count(),
        5,
        "every stored backup, unchanged ones included"
    );
    // The results page: the same filter, as a form that needs no script.
    let results = b
        .get("/results?outcome=failed&since=2026-03-01T18%3A00&until=2026-03-02T06%3A00")
        .await;
    assert_eq!(results.status, 200);
    assert_eq!(
        results.body.matches("data-result=").count(),
        1,
        "{}",
        results.body
    );
    assert!(results.body.contains("authentication failed"));
    assert!(
        results
            .body
            .contains(r#"<form method="get" action="/results""#)
    );
    let bad = b.get("/results?since=yesterday").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains(r#"id="f-since-err""#), "{}", bad.body);
    let mine = b.get(&format!("/results?device={device}")).await;
    assert_eq!(mine.body.matches("data-result=").count(), 6);

    // The dashboard's cards open lists of exactly as many rows.
    let now = Timestamp::now().as_datetime();
    let hours_ago =
        |n: u64| Timestamp::from_datetime(now - std::time::Duration::from_secs(n * 3600));
    backup(&db, device, 7, hours_ago(3), Status::Failure, false).await;
    backup(&db, device, 8, hours_ago(2), Status::Success, true).await;
    backup(&db, device, 9, hours_ago(1), Status::Failure, false).await;
    let dash = b.get("/").await;
    for label in ["Stored, last 24 h", "Failed, last 24 h"] {
        let card = dash
            .body
            .split(r#"<a class="card"#)
            .find(|c| c.contains(label))
            .unwrap_or_else(|| panic!("{label}: {}", dash.body));
        let href = card
            .split(r#"href=""#)
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&");
        assert!(href.starts_with("/results?outcome="), "{href}");
        let count: i64 = card
            .split(r#"<span class="card-value">"#)
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let list = b.get(&href).await;
        assert_eq!(list.status, 200);
        assert_eq!(
            list.body.matches("data-result=").count() as i64,
            count,
            "{label}: {href}"
        );
        assert_eq!(count, if label.starts_with("Stored") { 1 } else { 2 });
    }
    h.stop().await;
}
