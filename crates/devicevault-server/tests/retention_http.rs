//! Retention through the whole server (issue 17): the API's dry run,
//! settings and "run now" with their refusals, and the location's web page,
//! on SQLite and PostgreSQL.

mod common;

use common::browser::Browser;
use common::{Engine, Harness};
use devicevault_sim::SimConfig;
use serde_json::json;

fn sim() -> SimConfig {
    SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        ..SimConfig::default()
    }
}

async fn retention_through_the_api_and_the_web_page(engine: Engine) {
    let mut h = Harness::start(engine, sim()).await;
    let (loc, devices) = h.inventory().await;
    let d = devices[0];
    for _ in 0..3 {
        let ti = h.backup_now(d).await;
        assert_eq!(h.wait_job(&ti).await["state"], "stored");
    }
    let base = format!("/api/backup-locations/{loc}/retention/");
    // Keeps everything by default: the dry run names nothing.
    let r = h.call("GET", &base, None).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(
        (v["keep_last"].clone(), v["versions"].clone()),
        (json!(null), json!(0))
    );
    // Refusals name their field.
    let r = h.call("PUT", &base, Some(json!({"keep_last": 0}))).await;
    assert_eq!(r.status, 400);
    assert!(r.json()["detail"]["keep_last"].is_array(), "{}", r.json());
    let r = h
        .call("PUT", &base, Some(json!({"keep_days": 99_999})))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["detail"]["keep_days"].is_array(), "{}", r.json());
    let r = h.call("PUT", &base, Some(json!({"keep": 1}))).await;
    assert_eq!(r.status, 400);
    let r = h
        .call("GET", "/api/backup-locations/999999/retention/", None)
        .await;
    assert_eq!(r.status, 404);
    // Keep the last one: the dry run names the two older versions...
    let r = h.call("PUT", &base, Some(json!({"keep_last": 1}))).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let dry = r.json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["versions"], 2, "{dry}");
    let named = dry["devices"][0]["stored_backup_ids"].clone();
    assert_eq!(
        h.list(&format!("/api/stored-backups/?device={d}"))
            .await
            .len(),
        3
    );
    // ...and running it removes exactly those.
    let r = h.call("POST", &format!("{base}run/"), None).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let run = r.json();
    assert_eq!(run["dry_run"], false);
    assert_eq!(run["devices"][0]["stored_backup_ids"], named);
    let left = h.list(&format!("/api/stored-backups/?device={d}")).await;
    assert_eq!(left.len(), 1);
    // The newest version still downloads.
    let id = left[0]["id"].as_i64().unwrap();
    let r = h
        .call("GET", &format!("/api/stored-backups/{id}/download/"), None)
        .await;
    assert_eq!(r.status, 200);
    // A pruned one is gone for new requests.
    let gone = named[0].as_i64().unwrap();
    let r = h
        .call(
            "GET",
            &format!("/api/stored-backups/{gone}/download/"),
            None,
        )
        .await;
    assert_eq!(r.status, 404);

    // The web page: settings, dry run, refusals next to the field.
    let (user, password) = h.server().first_admin.clone().unwrap();
    let mut b = Browser::new(h.server().addr);
    b.login(&user, &password).await;
    let list = b.get("/admin/locations").await;
    assert!(
        list.body
            .contains(&format!("/admin/locations/{loc}/retention")),
        "{}",
        list.body
    );
    let page_path = format!("/admin/locations/{loc}/retention");
    let p = b.get(&page_path).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Retention of git") && p.body.contains("history is kept whole"));
    let csrf = p.csrf();
    let r = b
        .post(
            &page_path,
            &[("csrf", &csrf), ("keep_last", "1"), ("keep_days", "abc")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("f-keep_days-err"), "{}", r.body);
    let r = b
        .post(
            &page_path,
            &[("csrf", &csrf), ("keep_last", "2"), ("keep_days", "")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let v = h.call("GET", &base, None).await.json();
    assert_eq!(
        (v["keep_last"].clone(), v["keep_days"].clone()),
        (json!(2), json!(null))
    );
    let r = b
        .post(&format!("{page_path}/run"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    // Without the CSRF token nothing runs.
    let r = b.post(&format!("{page_path}/run"), &[]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_through_the_api_and_the_web_page_on_sqlite() {
    retention_through_the_api_and_the_web_page(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_through_the_api_and_the_web_page_on_postgres() {
    retention_through_the_api_and_the_web_page(Engine::Postgres).await;
}
