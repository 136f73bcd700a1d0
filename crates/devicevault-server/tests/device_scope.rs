//! Device groups scope what a user sees and may do (DESIGN §6), through the
//! REST API: a reader restricted to some device groups lists, reads,
//! downloads and backs up only those groups' devices; everything else is
//! "not found". Both engines.

mod common;

use devicevault_core::Role;
use common::{Engine, Harness};
use devicevault_client::HttpClient;
use devicevault_pipeline::app::auth;
use devicevault_sim::SimConfig;
use serde_json::{Value, json};

/// A client with a fresh API token of a new reader, restricted to `groups`
/// (`None`: every device).
async fn reader(h: &Harness, name: &str, groups: Option<&[i64]>) -> HttpClient {
    let db = &h.server().db;
    let hash = auth::hash_password("reader password 1").unwrap();
    let u = db.create_user(name, &hash, Role::Reader).await.unwrap();
    if let Some(groups) = groups {
        db.set_user_scope(u.id, Some(groups)).await.unwrap();
    }
    let token = auth::issue_token(db, u.id, devicevault_db::TokenKind::Named, Some("t"), None)
        .await
        .unwrap()
        .1;
    let mut c = HttpClient::new(h.server().addr);
    c.token = Some(token);
    c
}

async fn get(c: &mut HttpClient, path: &str) -> (u16, Value) {
    let r = c.request("GET", path, None).await.unwrap();
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

async fn count(c: &mut HttpClient, path: &str) -> i64 {
    let (status, v) = get(c, path).await;
    assert_eq!(status, 200, "{path}: {v}");
    v["count"].as_i64().unwrap()
}

async fn scoped(engine: Engine) {
    let mut h = Harness::start(
        engine,
        SimConfig {
            devices: 3,
            platforms: vec!["cisco_ios".into()],
            ..SimConfig::default()
        },
    )
    .await;
    // ids[0] in core, ids[1] in edge, ids[2] in no group.
    let (ids, core, _edge) = h.core_and_edge().await;
    let mut jobs = Vec::new();
    for id in &ids {
        let ti = h.backup_now(*id).await;
        assert_eq!(h.wait_job(&ti).await["state"], "stored");
        jobs.push(ti);
    }
    let stored: Vec<i64> = {
        let mut by_device = Vec::new();
        for id in &ids {
            let rows = h.list(&format!("/api/stored-backups/?device={id}")).await;
            by_device.push(rows[0]["id"].as_i64().unwrap());
        }
        by_device
    };

    let mut ops = reader(&h, "core-ops", Some(&[core])).await;
    assert_eq!(count(&mut ops, "/api/devices/").await, 1);
    let (_, v) = get(&mut ops, "/api/devices/").await;
    assert_eq!(v["results"][0]["id"], ids[0]);
    assert_eq!(count(&mut ops, "/api/stored-backups/").await, 1);
    assert_eq!(count(&mut ops, "/api/backup-results/").await, 1);
    assert_eq!(
        count(&mut ops, &format!("/api/stored-backups/?device={}", ids[1])).await,
        0
    );
    assert_eq!(
        get(&mut ops, &format!("/api/devices/{}/", ids[0])).await.0,
        200
    );
    let own = format!("/api/stored-backups/{}/download/", stored[0]);
    assert_eq!(ops.request("GET", &own, None).await.unwrap().status, 200);
    assert_eq!(
        get(&mut ops, &format!("/api/jobs/{}/", jobs[0])).await.0,
        200
    );
    // Outside the scope: another group's device, and a device in no group.
    for i in [1, 2] {
        for path in [
            format!("/api/devices/{}/", ids[i]),
            format!("/api/stored-backups/{}/", stored[i]),
            format!("/api/stored-backups/{}/download/", stored[i]),
            format!("/api/jobs/{}/", jobs[i]),
        ] {
            let (status, v) = get(&mut ops, &path).await;
            assert_eq!(status, 404, "{path}: {v}");
            assert_eq!(v["error"], "not_found", "{path}");
        }
        let r = ops
            .request(
                "POST",
                &format!("/api/devices/{}/backup_now/", ids[i]),
                None,
            )
            .await
            .unwrap();
        assert_eq!(r.status, 404, "backup_now of device {}", ids[i]);
    }
    let r = ops
        .request(
            "POST",
            &format!("/api/devices/{}/backup_now/", ids[0]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));

    // Restricted to no group: nothing, not everything.
    let mut nobody = reader(&h, "nobody", Some(&[])).await;
    assert_eq!(count(&mut nobody, "/api/devices/").await, 0);
    assert_eq!(count(&mut nobody, "/api/stored-backups/").await, 0);
    let r = nobody
        .request(
            "POST",
            &format!("/api/devices/{}/backup_now/", ids[0]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    // An unrestricted reader and the admin see every device.
    let mut everyone = reader(&h, "everyone", None).await;
    assert_eq!(count(&mut everyone, "/api/devices/").await, 3);
    assert_eq!(count(&mut h.api, "/api/devices/").await, 3);

    // Deleting the user's only group leaves them restricted to nothing.
    for id in [ids[0]] {
        let r = h
            .call(
                "PATCH",
                &format!("/api/devices/{id}/"),
                Some(json!({ "device_group": null })),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let r = h
        .call("DELETE", &format!("/api/device-groups/{core}/"), None)
        .await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(count(&mut ops, "/api/devices/").await, 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_restricted_to_device_groups_sees_and_backs_up_only_their_devices_sqlite() {
    scoped(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_restricted_to_device_groups_sees_and_backs_up_only_their_devices_postgres() {
    scoped(Engine::Postgres).await;
}
