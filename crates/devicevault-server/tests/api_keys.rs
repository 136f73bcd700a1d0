//! A credential's API key (issue 19): set through the API and the web form,
//! never shown, carried sealed to the collector, sent by the FortiOS REST
//! API driver as `{api_key}`; a device whose credential has none fails
//! permanently with a message naming the credential.

mod common;

use common::browser::Browser;
use common::{Engine, Harness};
use devicevault_sim::SimConfig;
use serde_json::{Value, json};

/// FortiOS's REST API token (the simulator's token is its password).
const TOKEN: &str = "q8Gx3kd7Nf1wHc5tZj0m2bRy4sVp9L";

fn fortigate() -> SimConfig {
    SimConfig {
        devices: 1,
        platforms: vec!["fortinet_fortios_api".into()],
        password: TOKEN.into(),
        ..SimConfig::default()
    }
}

/// A git location and the simulated FortiGate with `credential`; the
/// device's id.
async fn device_with(h: &mut Harness, credential: &Value) -> i64 {
    let repo = h.repo_path();
    let loc = h
        .create(
            "/api/backup-locations/",
            json!({"name": "git", "location_type": "git", "config": {"repo_path": repo, "branch": "main"}}),
        )
        .await;
    let d = h.sim.devices()[0].clone();
    let dev = h
        .create(
            "/api/devices/",
            json!({"name": d.name(), "address": "127.0.0.1", "port": d.port(), "driver": d.platform(),
                   "credential": credential["id"], "backup_location": loc["id"]}),
        )
        .await;
    dev["id"].as_i64().unwrap()
}

fn text(r: &devicevault_client::HttpResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_is_write_only_and_the_fortios_driver_sends_it() {
    let mut h = Harness::start(Engine::Sqlite, fortigate()).await;
    let username = h.sim.devices()[0].username().to_owned();
    let mut bodies = String::new();

    // A credential for the API alone: no password.
    let r = h
        .call(
            "POST",
            "/api/credentials/",
            Some(json!({"name": "fortigate-api", "username": username, "api_key": TOKEN})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", text(&r));
    bodies.push_str(&text(&r));
    let cred = r.json();
    assert_eq!(cred["has_api_key"], true, "{cred}");
    assert_eq!(cred["kind"], "api_key", "{cred}");
    assert!(cred.get("api_key").is_none(), "write-only: {cred}");
    let cid = cred["id"].as_i64().unwrap();
    let id = device_with(&mut h, &cred).await;
    let ti = h.backup_now(id).await;
    let job = h.wait_job(&ti).await;
    assert_eq!(job["state"], "stored", "{job}");
    for path in [
        "/api/credentials/".to_owned(),
        format!("/api/credentials/{cid}/"),
    ] {
        let r = h.call("GET", &path, None).await;
        assert_eq!(r.status, 200);
        bodies.push_str(&text(&r));
    }
    let one = h
        .call("GET", &format!("/api/credentials/{cid}/"), None)
        .await
        .json();
    assert_eq!(one["has_api_key"], true, "{one}");

    // Its only secret cannot be removed.
    let r = h
        .call(
            "PATCH",
            &format!("/api/credentials/{cid}/"),
            Some(json!({"api_key": null})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(r.json()["detail"]["api_key"].is_array(), "{}", text(&r));
    // Replaced: the answer does not show it either.
    let r = h
        .call(
            "PATCH",
            &format!("/api/credentials/{cid}/"),
            Some(json!({"api_key": TOKEN, "password": "pw-only-for-the-cli"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.json()["kind"], "password");
    bodies.push_str(&text(&r));
    assert!(!bodies.contains(TOKEN), "an API response shows the API key");

    // The audit log records that it changed, never its value.
    let audit = h.call("GET", "/api/audit/?page_size=1000", None).await;
    assert_eq!(audit.status, 200, "{}", text(&audit));
    assert!(text(&audit).contains("api_key"), "the change is recorded");
    assert!(!text(&audit).contains(TOKEN), "the audit log shows it");

    // Without an API key: a permanent failure naming the credential.
    let r = h
        .call(
            "PATCH",
            &format!("/api/credentials/{cid}/"),
            Some(json!({"api_key": null})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.json()["has_api_key"], false);
    let ti = h.backup_now(id).await;
    let job = h.wait_job(&ti).await;
    assert_eq!(job["state"], "failed", "{job}");
    let reason = job["reason"].as_str().unwrap();
    assert!(
        reason.contains("credential `fortigate-api` has no API key"),
        "{reason}"
    );
    assert!(reason.contains("{api_key}"), "{reason}");
    let results = h.list(&format!("/api/backup-results/?device={id}")).await;
    assert_eq!(results[0]["status"], "failure");
    let log = results[0]["log"].to_string();
    assert!(!log.contains("retrying"), "permanent, not retried: {log}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_form_saves_an_api_key_shows_only_that_it_is_set_and_removes_it() {
    let mut h = Harness::start(Engine::Sqlite, fortigate()).await;
    let (user, password) = h.server().first_admin.clone().unwrap();
    let mut b = Browser::new(h.server().addr);
    b.login(&user, &password).await;
    let page = b.get("/admin/credentials").await;
    assert!(page.body.contains(r#"name="api_key""#), "{}", page.body);
    let csrf = page.csrf();
    let r = b
        .post(
            "/admin/credentials",
            &[
                ("csrf", &csrf),
                ("name", "fortigate-api"),
                ("username", "api"),
                ("password", ""),
                ("private_key", ""),
                ("passphrase", ""),
                ("enable_secret", ""),
                ("api_key", TOKEN),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let list = b.get("/admin/credentials").await;
    assert!(list.body.contains("none (API key only)"), "{}", list.body);
    assert!(list.body.contains("set (hidden)"), "{}", list.body);
    assert!(!list.body.contains(TOKEN));
    let creds = h.list("/api/credentials/").await;
    assert_eq!(creds[0]["has_api_key"], true, "{}", creds[0]);
    let cid = creds[0]["id"].as_i64().unwrap();

    // The edit form never shows it and offers to remove it; removing the
    // only secret is refused next to its field.
    let edit = b.get(&format!("/admin/credentials/{cid}")).await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    assert!(
        edit.body.contains(r#"name="clear_api_key""#),
        "{}",
        edit.body
    );
    assert!(!edit.body.contains(TOKEN));
    let r = b
        .post(
            &format!("/admin/credentials/{cid}"),
            &[
                ("csrf", &csrf),
                ("name", "fortigate-api"),
                ("username", "api"),
                ("password", ""),
                ("private_key", ""),
                ("passphrase", ""),
                ("enable_secret", ""),
                ("api_key", ""),
                ("clear_api_key", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains(r#"id="f-api_key-err""#), "{}", r.body);
    // With a password instead, it goes.
    let r = b
        .post(
            &format!("/admin/credentials/{cid}"),
            &[
                ("csrf", &csrf),
                ("name", "fortigate-api"),
                ("username", "api"),
                ("password", "a-password"),
                ("private_key", ""),
                ("passphrase", ""),
                ("enable_secret", ""),
                ("api_key", ""),
                ("clear_api_key", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let creds = h.list("/api/credentials/").await;
    assert_eq!(creds[0]["has_api_key"], false, "{}", creds[0]);
    assert_eq!(creds[0]["kind"], "password");
    h.stop().await;
}
