//! The audit trail end to end (issue 16): what the API and the web UI
//! change, every sign-in, every read of a configuration — with the actor,
//! the address and the fields (never a secret's value) — listed and
//! filtered for administrators only, chained so an alteration is found.

mod common;

use devicevault_core::Role;
use common::browser::Browser;
use common::{Engine, Harness};
use devicevault_client::HttpClient;
use devicevault_pipeline::app::auth;
use devicevault_sim::SimConfig;
use serde_json::{Value, json};

/// Secrets that appear nowhere else, so their absence means something.
fn ios() -> SimConfig {
    SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        password: "pw-7f3a9c-device".into(),
        enable_secret: "en-51d2e8-device".into(),
        ..SimConfig::default()
    }
}

/// The rows of `GET /api/audit/?<query>`, newest first.
async fn audit(h: &mut Harness, query: &str) -> Vec<Value> {
    h.list(&format!("/api/audit/?{query}")).await
}

fn find<'a>(rows: &'a [Value], action: &str) -> Vec<&'a Value> {
    rows.iter().filter(|r| r["action"] == action).collect()
}

async fn changes_sign_ins_and_reads_are_recorded_with_who_and_what(engine: Engine) {
    let mut h = Harness::start(engine, ios()).await;
    let (admin, password) = h.server().first_admin.clone().unwrap();
    let (_, ids) = h.inventory().await;
    let device = ids[0];
    let ti = h.backup_now(device).await;
    let job = h.wait_job(&ti).await;
    assert_eq!(job["state"], "stored", "{job}");
    let stored = h
        .list(&format!("/api/stored-backups/?device={device}"))
        .await;
    let version = stored[0]["id"].as_i64().unwrap();
    let r = h
        .call(
            "GET",
            &format!("/api/stored-backups/{version}/download/"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);

    // A wrong password, and a reader refused a change.
    let bad = HttpClient::new(h.server().addr)
        .post(
            "/api/auth/login/",
            &json!({"username": admin, "password": "not the password"}),
        )
        .await
        .unwrap();
    assert_eq!(bad.status, 401);
    let db = h.server().db.clone();
    let hash = auth::hash_password("reader password 1").unwrap();
    let reader = db.create_user("rita", &hash, Role::Reader).await.unwrap();
    let token = auth::issue_token(
        &db,
        reader.id,
        devicevault_db::TokenKind::Named,
        Some("laptop"),
        None,
    )
    .await
    .unwrap()
    .1;
    let mut rita = HttpClient::new(h.server().addr);
    rita.token = Some(token);
    let refused = rita
        .request(
            "PATCH",
            &format!("/api/devices/{device}/"),
            Some(&json!({"port": 2222})),
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 403);
    let not_hers = rita.request("GET", "/api/audit/", None).await.unwrap();
    assert_eq!(not_hers.status, 403, "the audit log is for administrators");

    // Through the web UI: a change and a read.
    let mut b = Browser::new(h.server().addr);
    b.login(&admin, &password).await;
    let csrf = b.get("/devices").await.csrf();
    let r = b
        .post(
            &format!("/devices/{device}/enabled"),
            &[("csrf", &csrf), ("enabled", "no")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(b.get(&format!("/backups/{version}")).await.status, 200);

    let rows = audit(&mut h, "").await;
    let text = serde_json::to_string(&rows).unwrap();
    let d0 = h.sim.devices()[0].clone();
    assert!(
        !text.contains(d0.password()) && !text.contains(d0.enable_secret()),
        "no secret's value is recorded"
    );
    let one = |action: &str| {
        let found = find(&rows, action);
        assert_eq!(found.len(), 1, "{action}: {text}");
        found[0].clone()
    };
    let sign_in = &find(&rows, "login.success")[..];
    assert!(
        sign_in
            .iter()
            .any(|r| r["actor"] == admin.as_str() && r["via"] == "api"),
        "{text}"
    );
    assert!(sign_in.iter().any(|r| r["via"] == "web"), "{text}");
    let cred = one("credentials.create");
    assert_eq!(cred["fields"]["password"], "(secret)");
    assert_eq!(cred["fields"]["username"], d0.username());
    assert_eq!(cred["outcome"], "ok");
    assert_eq!(cred["address"], "127.0.0.1");
    assert!(cred["via"].as_str().unwrap().starts_with("api"), "{cred}");
    let created = one("devices.create");
    assert_eq!(
        created["object_id"],
        device.to_string(),
        "the new id, from the answer"
    );
    assert_eq!(created["fields"]["name"], d0.name());
    assert_eq!(one("devices.backup")["object_id"], device.to_string());
    let download = one("stored-backups.download");
    assert_eq!(download["object_id"], version.to_string());
    assert_eq!(download["actor"], admin.as_str());
    let failure = one("login.failure");
    assert_eq!(
        (failure["actor"].as_str(), failure["outcome"].as_str()),
        (Some(admin.as_str()), Some("failure"))
    );
    let denied = one("devices.update");
    assert_eq!(denied["actor"], "rita");
    assert_eq!(denied["via"], "api token laptop");
    assert_eq!(denied["outcome"], "denied");
    let web = one("devices.enabled");
    assert_eq!(
        (web["via"].as_str(), web["fields"]["enabled"].as_str()),
        (Some("web"), Some("no"))
    );
    assert!(web["fields"]["csrf"] == "(secret)", "{web}");
    assert_eq!(one("stored-backups.view")["object_id"], version.to_string());

    // Filters, and a bad one.
    let by_rita = audit(&mut h, "actor=rita").await;
    assert!(!by_rita.is_empty() && by_rita.iter().all(|r| r["actor"] == "rita"));
    let devices = audit(&mut h, "action=devices.").await;
    assert!(
        devices
            .iter()
            .all(|r| r["action"].as_str().unwrap().starts_with("devices."))
    );
    assert_eq!(devices.len(), 4, "create, backup, refused update, enabled");
    let of_device = audit(&mut h, &format!("object_type=devices&object_id={device}")).await;
    assert_eq!(of_device.len(), 4);
    assert!(audit(&mut h, "since=2999-01-01").await.is_empty());
    let r = h.call("GET", "/api/audit/?since=soon", None).await;
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("since"));

    // The web page, for administrators only.
    let page = b.get("/admin/audit?action=devices.").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("devices.enabled") && !page.body.contains("login.failure"));
    assert!(page.body.contains("Audit log"));
    let mut rb = Browser::new(h.server().addr);
    rb.login("rita", "reader password 1").await;
    assert_eq!(rb.get("/admin/audit").await.status, 403);

    // The chain holds; an altered row is named.
    let v = db.audit_verify().await.unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    assert!(v.rows as usize >= rows.len());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_sign_ins_and_reads_are_recorded_on_sqlite() {
    changes_sign_ins_and_reads_are_recorded_with_who_and_what(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_sign_ins_and_reads_are_recorded_on_postgres() {
    changes_sign_ins_and_reads_are_recorded_with_who_and_what(Engine::Postgres).await;
}
