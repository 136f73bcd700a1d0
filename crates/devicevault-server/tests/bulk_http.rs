//! Bulk operations on devices (issue 15) through the whole server: by id
//! and "all matching" a filter, each change in one transaction, "backup
//! now" for many devices by a reader within their scope, refusals; the API
//! and the web device list's form; on SQLite and PostgreSQL.

mod common;

use devicevault_core::Role;
use common::browser::Browser;
use common::{Engine, Harness};
use devicevault_client::HttpClient;
use devicevault_pipeline::app::auth;
use devicevault_sim::SimConfig;
use serde_json::{Value, json};

fn sim() -> SimConfig {
    SimConfig {
        devices: 3,
        platforms: vec!["cisco_ios".into()],
        ..SimConfig::default()
    }
}

async fn bulk(h: &mut Harness, body: Value) -> (u16, Value) {
    let r = h.call("POST", "/api/devices/bulk/", Some(body)).await;
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

async fn device(h: &mut Harness, id: i64) -> Value {
    let r = h.call("GET", &format!("/api/devices/{id}/"), None).await;
    assert_eq!(r.status, 200);
    r.json()
}

async fn bulk_through_the_api(engine: Engine) {
    let mut h = Harness::start(engine, sim()).await;
    // ids[0] in core, ids[1] in edge, ids[2] in no group.
    let (ids, core, edge) = h.core_and_edge().await;

    // By id: two devices into edge, in one request.
    let (status, v) = bulk(
        &mut h,
        json!({"action": "set_device_group", "devices": [ids[0], ids[2], ids[2]], "value": edge}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["matched"].as_i64(), v["changed"].as_i64()),
        (Some(2), Some(2)),
        "{v}"
    );
    for id in &ids {
        assert_eq!(device(&mut h, *id).await["device_group"], edge);
    }
    // All matching a filter: disable every device of edge whose name has
    // the first device's name in it.
    let name = device(&mut h, ids[0]).await["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, v) = bulk(
        &mut h,
        json!({"action": "disable", "all_matching": {"device_group": edge, "name": name}}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["matched"], 1, "{v}");
    assert_eq!(device(&mut h, ids[0]).await["enabled"], false);
    assert_eq!(device(&mut h, ids[1]).await["enabled"], true);
    let (_, v) = bulk(&mut h, json!({"action": "enable", "all_matching": {}})).await;
    assert_eq!(v["matched"], 3, "{v}");
    // Back up the whole group at once: one job per device, all stored.
    let (status, v) = bulk(
        &mut h,
        json!({"action": "backup_now", "all_matching": {"device_group": edge}}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["matched"].as_i64(), v["changed"].as_i64()),
        (Some(3), Some(3)),
        "{v}"
    );
    assert_eq!(v["refused"], json!([]));
    for id in &ids {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while h
            .list(&format!("/api/stored-backups/?device={id}"))
            .await
            .is_empty()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "device {id} was not backed up"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    // A device that cannot be backed up is refused with its reason; the
    // others' jobs are created together.
    let (_, v) = bulk(&mut h, json!({"action": "disable", "devices": [ids[2]]})).await;
    assert_eq!(v["changed"], 1, "{v}");
    let (status, v) = bulk(&mut h, json!({"action": "backup_now", "devices": ids})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["changed"], 2, "{v}");
    assert_eq!(v["refused"][0]["device"], ids[2], "{v}");
    assert!(
        v["refused"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("disabled"),
        "{v}"
    );
    // Refusals: a value of the wrong kind's id, no selection, both
    // selections, a value for an action that takes none.
    for (body, field) in [
        (
            json!({"action": "set_device_group", "devices": [ids[0]], "value": 999_999}),
            "value",
        ),
        (json!({"action": "enable", "devices": []}), "devices"),
        (
            json!({"action": "enable", "devices": [ids[0]], "all_matching": {}}),
            "devices",
        ),
        (
            json!({"action": "archive", "devices": [ids[0]], "value": core}),
            "value",
        ),
    ] {
        let (status, v) = bulk(&mut h, body.clone()).await;
        assert_eq!(status, 400, "{body}: {v}");
        assert!(v.to_string().contains(field), "{body}: {v}");
    }
    let (status, _) = bulk(&mut h, json!({"action": "explode", "devices": [ids[0]]})).await;
    assert_eq!(status, 400);

    // A reader restricted to core may back up in bulk, only what they see,
    // and change nothing.
    let db = h.server().db.clone();
    let hash = auth::hash_password("reader password 1").unwrap();
    let u = db.create_user("rita", &hash, Role::Reader).await.unwrap();
    db.set_user_scope(u.id, Some(&[core])).await.unwrap();
    let token = auth::issue_token(&db, u.id, devicevault_db::TokenKind::Named, Some("t"), None)
        .await
        .unwrap()
        .1;
    let mut rita = HttpClient::new(h.server().addr);
    rita.token = Some(token);
    let r = rita
        .request(
            "POST",
            "/api/devices/bulk/",
            Some(&json!({"action": "archive", "devices": [ids[0]]})),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    let r = rita
        .request(
            "POST",
            "/api/devices/bulk/",
            Some(&json!({"action": "backup_now", "devices": ids})),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["matched"], 0, "every device is in edge now: {v}");

    // Archive two: out of the list, their history kept; archiving again
    // changes nothing.
    let (_, v) = bulk(
        &mut h,
        json!({"action": "archive", "devices": [ids[0], ids[1]]}),
    )
    .await;
    assert_eq!(v["changed"], 2, "{v}");
    assert_eq!(h.list("/api/devices/").await.len(), 1);
    let (_, v) = bulk(
        &mut h,
        json!({"action": "archive", "devices": [ids[0], ids[1]]}),
    )
    .await;
    assert_eq!(
        (v["matched"].as_i64(), v["changed"].as_i64()),
        (Some(0), Some(0)),
        "{v}"
    );
    h.stop().await;
}

async fn bulk_from_the_device_list(engine: Engine) {
    let mut h = Harness::start(engine, sim()).await;
    let (ids, _core, edge) = h.core_and_edge().await;
    let (user, password) = h.server().first_admin.clone().unwrap();
    let mut b = Browser::new(h.server().addr);
    b.login(&user, &password).await;
    let list = b.get("/devices").await;
    assert!(list.body.contains(r#"form="bulk""#), "{}", list.body);
    let csrf = list.csrf();
    let (a, c) = (ids[0].to_string(), ids[2].to_string());
    let value = format!("device_group:{edge}");
    let page = b
        .post(
            "/devices/bulk",
            &[
                ("csrf", &csrf),
                ("action", "set_device_group"),
                ("value", &value),
                ("device", &a),
                ("device", &c),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("<strong>2</strong> of 2 selected devices changed"),
        "{}",
        page.body
    );
    for id in [ids[0], ids[2]] {
        assert_eq!(device(&mut h, id).await["device_group"], edge);
    }
    // "All matching" follows the list's filter.
    let group = edge.to_string();
    let page = b
        .post(
            "/devices/bulk",
            &[
                ("csrf", &csrf),
                ("action", "disable"),
                ("all_matching", "yes"),
                ("filter_group", &group),
            ],
        )
        .await;
    assert!(
        page.body.contains("<strong>3</strong> of 3"),
        "{}",
        page.body
    );
    assert_eq!(device(&mut h, ids[1]).await["enabled"], false);
    // A "set" without its value is explained, and changes nothing.
    let page = b
        .post(
            "/devices/bulk",
            &[
                ("csrf", &csrf),
                ("action", "set_credential"),
                ("device", &a),
            ],
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(
        page.body.contains("Choose the credential to set"),
        "{}",
        page.body
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_devices_change_in_one_request_through_the_api_sqlite() {
    bulk_through_the_api(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_devices_change_in_one_request_through_the_api_postgres() {
    bulk_through_the_api(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_list_selects_and_changes_many_devices_sqlite() {
    bulk_from_the_device_list(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_list_selects_and_changes_many_devices_postgres() {
    bulk_from_the_device_list(Engine::Postgres).await;
}
