//! Scheduled backups end to end in embedded mode: the scheduler is driven
//! in-process to a chosen slot. (The pipeline suite that runs against both
//! deployments lives in the binary crate: `tests/pipeline_suite.rs`.)

mod common;

use std::sync::Arc;

use common::{Engine, Harness};
use devicevault_core::Timestamp;
use devicevault_sim::SimConfig;
use serde_json::json;

fn sim(devices: usize) -> SimConfig {
    SimConfig {
        devices,
        platforms: vec![
            "cisco_ios".into(),
            "arista_eos".into(),
            "juniper_junos".into(),
        ],
        password: "Pa55-unique-7f3e9c".into(),
        enable_secret: "En4ble-unique-a81d".into(),
        config_lines: 120,
        ..SimConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_back_up_their_devices_once_per_slot() {
    use devicevault_pipeline::roles::dispatcher::Dispatcher;
    let mut h = Harness::start(Engine::Sqlite, sim(3)).await;
    let (_, ids) = h.inventory().await;
    let group = h
        .create("/api/device-groups/", json!({"name": "core"}))
        .await;
    // Device 1 directly, 2 and 3 through the group; 3 is disabled.
    for id in &ids[1..] {
        h.call(
            "PATCH",
            &format!("/api/devices/{id}/"),
            Some(json!({"device_group": group["id"]})),
        )
        .await;
    }
    h.call(
        "PATCH",
        &format!("/api/devices/{}/", ids[2]),
        Some(json!({"enabled": false})),
    )
    .await;
    for (body, field) in [
        (json!({"name": "x", "cron": "not cron"}), "cron"),
        (json!({"name": "x", "cron": "0 2 * * * *"}), "cron"),
        (
            json!({"name": "x", "cron": "0 2 * * *", "timezone": "Mars/Base"}),
            "timezone",
        ),
        (
            json!({"name": "x", "cron": "0 2 * * *", "devices": [9999]}),
            "devices",
        ),
    ] {
        let r = h
            .call("POST", "/api/backup-schedules/", Some(body.clone()))
            .await;
        assert_eq!(r.status, 400, "{body}");
        assert!(r.json()["detail"][field].is_array(), "{body}: {}", r.json());
    }
    let s = h
        .create(
            "/api/backup-schedules/",
            json!({"name": "nightly", "cron": "0 2 * * *", "timezone": "Europe/Paris",
                   "devices": [ids[0]], "device_groups": [group["id"]]}),
        )
        .await;
    let next = s["next_run"].as_str().unwrap().to_owned();
    let slot = Timestamp::parse(&next).unwrap();
    assert!(slot.as_datetime() > Timestamp::now().as_datetime());
    assert!(
        next.contains("T00:00:00") || next.contains("T01:00:00"),
        "02:00 Paris is 00:00 or 01:00 UTC: {next}"
    );
    // Renaming keeps the slot; changing the time moves it.
    let r = h
        .call(
            "PATCH",
            &format!("/api/backup-schedules/{}/", s["id"]),
            Some(json!({"name": "nightly-2"})),
        )
        .await;
    assert_eq!(r.json()["next_run"], next.as_str());

    // The slot comes: every enabled target is backed up once.
    let server = h.server();
    let dispatcher = Dispatcher::new(
        server.db.clone(),
        server.bus.clone(),
        Arc::new(devicevault_pipeline::Settings::default()),
    );
    let after = Timestamp::from_datetime(slot.as_datetime() + time::Duration::seconds(1));
    let n = devicevault_pipeline::scheduler::run_due(&server.db, &dispatcher, after)
        .await
        .unwrap();
    assert_eq!(n, 2, "devices 1 and 2; 3 is disabled");
    let again = devicevault_pipeline::scheduler::run_due(&server.db, &dispatcher, after)
        .await
        .unwrap();
    assert_eq!(again, 0, "a slot runs once");
    for id in &ids[..2] {
        let ti = format!("schedule:{}:{id}:{next}", s["id"]);
        assert_eq!(h.wait_job(&ti).await["state"], "stored", "{ti}");
    }
    assert!(
        h.list(&format!("/api/stored-backups/?device={}", ids[2]))
            .await
            .is_empty()
    );
    let moved = h
        .call("GET", &format!("/api/backup-schedules/{}/", s["id"]), None)
        .await
        .json();
    assert_ne!(
        moved["next_run"],
        next.as_str(),
        "the next slot is recorded"
    );
    assert_eq!(
        h.call(
            "DELETE",
            &format!("/api/backup-schedules/{}/", s["id"]),
            None
        )
        .await
        .status,
        204
    );
    h.stop().await;
}

/// Manufacturers are managed like device groups; deleting one leaves its
/// device types in place, without a manufacturer.
async fn manufacturers_round_trip(engine: Engine) {
    let mut h = Harness::start(engine, sim(1)).await;
    let m = h
        .create("/api/manufacturers/", json!({"name": "Cisco"}))
        .await;
    let id = m["id"].as_i64().unwrap();
    let t = h
        .create(
            "/api/device-types/",
            json!({"name": "c8000", "manufacturer": id}),
        )
        .await;
    assert_eq!(t["manufacturer"], id);
    let r = h
        .call(
            "PATCH",
            &format!("/api/manufacturers/{id}/"),
            Some(json!({"name": "Cisco Systems"})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["name"], "Cisco Systems");
    let dup = h
        .call(
            "POST",
            "/api/manufacturers/",
            Some(json!({"name": "Cisco Systems"})),
        )
        .await;
    assert_eq!(dup.status, 409, "{}", String::from_utf8_lossy(&dup.body));
    let bad = h
        .call(
            "POST",
            "/api/manufacturers/",
            Some(json!({"name": " \u{202e}x"})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["detail"]["name"].is_array(), "{}", bad.json());
    let r = h
        .call("DELETE", &format!("/api/manufacturers/{id}/"), None)
        .await;
    assert_eq!(r.status, 204);
    let r = h
        .call("GET", &format!("/api/manufacturers/{id}/"), None)
        .await;
    assert_eq!(r.status, 404);
    let tid = t["id"].as_i64().unwrap();
    let r = h
        .call("GET", &format!("/api/device-types/{tid}/"), None)
        .await;
    assert_eq!(r.status, 200);
    assert!(r.json()["manufacturer"].is_null(), "{}", r.json());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manufacturers_round_trip_on_sqlite() {
    manufacturers_round_trip(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manufacturers_round_trip_on_postgres() {
    manufacturers_round_trip(Engine::Postgres).await;
}

/// A device group's staleness threshold: set, shown, kept by a PATCH of
/// the name, cleared with null; out of range refused on its field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_group_sets_its_own_staleness_threshold() {
    let mut h = Harness::start(Engine::Sqlite, sim(1)).await;
    let g = h
        .create(
            "/api/device-groups/",
            json!({"name": "edge", "stale_after_hours": 12}),
        )
        .await;
    assert_eq!(g["stale_after_hours"], 12, "{g}");
    let path = format!("/api/device-groups/{}/", g["id"]);
    let r = h
        .call("PATCH", &path, Some(json!({"name": "edge sites"})))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["stale_after_hours"], 12, "a rename keeps it");
    for bad in [json!(0), json!(8761), json!("12")] {
        let r = h
            .call("PATCH", &path, Some(json!({"stale_after_hours": bad})))
            .await;
        assert_eq!(r.status, 400, "{bad}");
        let body = r.json();
        assert!(
            body["detail"]["stale_after_hours"].is_array() || body["error"] == "invalid_json",
            "{bad}: {body}"
        );
    }
    let r = h
        .call("PATCH", &path, Some(json!({"stale_after_hours": null})))
        .await;
    assert_eq!(r.json()["stale_after_hours"], json!(null));
    let listed = h.list("/api/device-groups/").await;
    assert_eq!(listed[0]["name"], "edge sites");
    assert!(listed[0]["stale_after_hours"].is_null());
    h.stop().await;
}
