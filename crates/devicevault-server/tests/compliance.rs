//! Compliance rules (issue 17) through the REST API and the web UI, on
//! both engines, over configurations backed up from simulated devices: a
//! device's state moves unknown → compliant → non-compliant → compliant as
//! new versions are stored, with exactly one `compliance_changed` event per
//! change that is reported and none when a re-evaluation finds the same
//! state; editing a rule evaluates again; a reader restricted to a group
//! sees only its devices; an invalid regex is a 400 naming `pattern`.

mod common;

use devicevault_core::Role;
use std::sync::Arc;

use common::browser::Browser;
use common::{Engine, Harness};
use devicevault_client::HttpClient;
use devicevault_pipeline::Settings;
use devicevault_pipeline::app::auth;
use devicevault_pipeline::app::compliance::{Evaluator, evaluate_due};
use devicevault_pipeline::metrics::Metrics;
use devicevault_server::assembly;
use devicevault_sim::SimConfig;
use serde_json::{Value, json};

/// Evaluates until nothing is due (the server's own evaluator runs too:
/// whichever records a pair first, the other loses its compare-and-swap).
async fn settle(ev: &Evaluator) {
    for _ in 0..50 {
        let p = evaluate_due(ev, devicevault_core::Timestamp::now())
            .await
            .unwrap();
        if p.evaluated == 0 && p.lost == 0 && !p.more {
            return;
        }
    }
    panic!("compliance never settled");
}

/// The `compliance_changed` events of the outbox, as (device, reason).
async fn events(h: &Harness) -> Vec<(i64, String)> {
    let all = h
        .server()
        .db
        .outbox_events(devicevault_db::Page {
            limit: 10_000,
            offset: 0,
        })
        .await
        .unwrap()
        .rows;
    let mut out: Vec<(i64, String)> = all
        .into_iter()
        .filter(|e| e.kind == "compliance_changed")
        .map(|e| (e.device_id, e.reason.unwrap_or_default()))
        .collect();
    out.sort();
    out
}

/// Each device's state under `rule`, as the API lists it for `c`.
async fn states(c: &mut HttpClient, query: &str) -> Vec<(i64, String, String)> {
    let r = c
        .request("GET", &format!("/api/compliance/?{query}"), None)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v: Value = r.json();
    let rows = v["results"].as_array().unwrap();
    assert_eq!(v["count"], rows.len() as i64, "{v}");
    let mut out: Vec<(i64, String, String)> = rows
        .iter()
        .map(|s| {
            (
                s["device"].as_i64().unwrap(),
                s["state"].as_str().unwrap().to_owned(),
                s["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn just_states(s: &[(i64, String, String)]) -> Vec<(i64, &str)> {
    s.iter().map(|(d, st, _)| (*d, st.as_str())).collect()
}

async fn reader(h: &Harness, name: &str, groups: Option<&[i64]>) -> (HttpClient, String) {
    let db = &h.server().db;
    let password = "reader password 1";
    let hash = auth::hash_password(password).unwrap();
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
    (c, password.to_owned())
}

async fn backup(h: &mut Harness, id: i64) {
    let ti = h.backup_now(id).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
}

async fn compliance(engine: Engine) {
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
    let (ids, core, edge) = h.core_and_edge().await;
    let server = h.server();
    let mut ev = assembly::compliance_evaluator(
        server.db.clone(),
        server.bus.clone(),
        &Arc::new(Settings::default()),
        &Arc::new(Metrics::new()),
    );
    ev.search = Some(server.search.clone());

    // Validation through the search crate's: the field is named.
    let r = h
        .call(
            "POST",
            "/api/compliance-rules/",
            Some(json!({"name": "bad", "pattern": "rev(", "regex": true, "expectation": "must_contain"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    let v: Value = r.json();
    assert!(
        v["detail"]["pattern"][0]
            .as_str()
            .unwrap()
            .contains("invalid regular expression"),
        "{v}"
    );
    let r = h
        .call(
            "POST",
            "/api/compliance-rules/",
            Some(json!({"name": "bad", "pattern": "x", "block": "interface (", "expectation": "must_contain"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["detail"]["block"].is_array());

    // A notification rule picks the compliance events (its deliveries go
    // nowhere: only their planning is checked).
    let channel = h
        .create(
            "/api/notification-channels/",
            json!({"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "a signing secret of 32 chars....."}),
        )
        .await;
    h.create(
        "/api/notification-rules/",
        json!({"name": "compliance", "channel": channel["id"], "events": ["compliance_changed"]}),
    )
    .await;

    // Rev 1's description must not be there.
    let rule = h
        .create(
            "/api/compliance-rules/",
            json!({"name": "no rev1", "pattern": "link-0 rev1", "expectation": "must_not_contain"}),
        )
        .await;
    let rule_id = rule["id"].as_i64().unwrap();
    assert_eq!(rule["version"], 1);
    assert_eq!(rule["device_groups"], json!([]));
    let q = format!("rule={rule_id}");

    // No backup yet: unknown, and nothing to report.
    settle(&ev).await;
    let s = states(&mut h.api, &q).await;
    assert_eq!(
        just_states(&s),
        ids.iter().map(|&d| (d, "unknown")).collect::<Vec<_>>()
    );
    assert!(s[0].2.contains("no successful backup"), "{s:?}");
    assert!(events(&h).await.is_empty());

    // First versions: compliant (first known compliance is not news).
    for &id in &ids {
        backup(&mut h, id).await;
    }
    settle(&ev).await;
    let s = states(&mut h.api, &q).await;
    assert_eq!(
        just_states(&s),
        ids.iter().map(|&d| (d, "compliant")).collect::<Vec<_>>()
    );
    assert!(events(&h).await.is_empty(), "{:?}", events(&h).await);

    // Device 0 moves to rev 1: non-compliant, one event.
    h.sim.devices()[0].change_config();
    backup(&mut h, ids[0]).await;
    settle(&ev).await;
    let s = states(&mut h.api, &format!("{q}&state=non_compliant")).await;
    assert_eq!(just_states(&s), [(ids[0], "non_compliant")]);
    assert!(s[0].2.starts_with("1 matching line: "), "{s:?}");
    assert!(!s[0].2.contains("rev1"), "line numbers only: {s:?}");
    let ev1 = events(&h).await;
    assert_eq!(ev1.len(), 1, "{ev1:?}");
    assert_eq!(ev1[0].0, ids[0]);
    assert!(
        ev1[0].1.contains("\"no rev1\"") && ev1[0].1.contains("compliant → non_compliant"),
        "{ev1:?}"
    );

    // The notifier makes a delivery of it for the rule.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let n = h.list("/api/notifications/").await;
        if n.iter()
            .any(|d| d["kind"] == "compliance_changed" && d["device"] == ids[0])
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no delivery: {n:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // The same configuration again (devices 0 and 1): the same states, no
    // event.
    backup(&mut h, ids[0]).await;
    backup(&mut h, ids[1]).await;
    settle(&ev).await;
    assert_eq!(events(&h).await.len(), 1);
    assert_eq!(
        just_states(&states(&mut h.api, &q).await),
        [
            (ids[0], "non_compliant"),
            (ids[1], "compliant"),
            (ids[2], "compliant")
        ]
    );

    // Rev 2: compliant again, one more event.
    h.sim.devices()[0].change_config();
    backup(&mut h, ids[0]).await;
    settle(&ev).await;
    let ev2 = events(&h).await;
    assert_eq!(ev2.len(), 2, "{ev2:?}");
    assert!(
        ev2.iter()
            .any(|e| e.1.contains("non_compliant → compliant")),
        "{ev2:?}"
    );

    // Editing the rule evaluates every device again under it.
    let r = h
        .call(
            "PATCH",
            &format!("/api/compliance-rules/{rule_id}/"),
            Some(json!({"pattern": "link-0 rev2"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["version"], 2);
    settle(&ev).await;
    assert_eq!(
        just_states(&states(&mut h.api, &q).await),
        [
            (ids[0], "non_compliant"),
            (ids[1], "compliant"),
            (ids[2], "compliant")
        ]
    );
    assert_eq!(events(&h).await.len(), 3);

    // A rule for the core group only; a must-contain within blocks.
    let scoped = h
        .create(
            "/api/compliance-rules/",
            json!({"name": "described interfaces", "pattern": "description", "expectation": "must_contain",
                   "block": "interface .*", "device_groups": [core]}),
        )
        .await;
    settle(&ev).await;
    let s = states(&mut h.api, &format!("rule={}", scoped["id"])).await;
    assert_eq!(s.len(), 1, "only core's device: {s:?}");
    assert_eq!(s[0].0, ids[0]);

    // Scope: a reader of core sees core's devices only; filters validated.
    let (mut core_reader, password) = reader(&h, "corereader", Some(&[core])).await;
    let s = states(&mut core_reader, "").await;
    assert!(s.iter().all(|(d, ..)| *d == ids[0]), "{s:?}");
    assert_eq!(s.len(), 2, "{s:?}");
    assert!(
        states(&mut core_reader, &format!("device_group={edge}"))
            .await
            .is_empty()
    );
    let r = core_reader
        .request("GET", "/api/compliance/?state=bad", None)
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(r.json()["detail"]["state"].is_array());
    // Readers do not write rules.
    let r = core_reader
        .request(
            "POST",
            "/api/compliance-rules/",
            Some(&json!({"name": "x", "pattern": "x", "expectation": "must_contain"})),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(h.list("/api/compliance-rules/").await.len(), 2);

    // The web page: the reader sees core's non-compliant device only.
    let mut b = Browser::new(h.server().addr);
    b.login("corereader", &password).await;
    let page = b.get("/compliance").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let names: Vec<String> = h
        .sim
        .devices()
        .iter()
        .map(|d| d.name().to_owned())
        .collect();
    assert!(page.body.contains("no rev1"), "{}", page.body);
    assert!(
        page.body.contains(&format!("/devices/{}", ids[0])),
        "{}",
        page.body
    );
    assert!(!page.body.contains(&names[1]), "{}", page.body);
    let device_page = b.get(&format!("/devices/{}", ids[0])).await;
    assert_eq!(device_page.status, 200);
    assert!(
        device_page.body.contains("not compliant"),
        "{}",
        device_page.body
    );
    let page = b.get("/compliance?state=nonsense").await;
    assert_eq!(page.status, 400);

    // The administration: the rules listed, one added through the form
    // (the same validator: an invalid regex is refused on its field).
    let (admin, admin_password) = h.server().first_admin.clone().unwrap();
    let mut a = Browser::new(h.server().addr);
    a.login(&admin, &admin_password).await;
    let list = a.get("/admin/compliance-rules").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("no rev1"), "{}", list.body);
    let csrf = list.csrf();
    let refused = a
        .post(
            "/admin/compliance-rules",
            &[
                ("csrf", csrf.as_str()),
                ("name", "web rule"),
                ("pattern", "rev("),
                ("regex", "on"),
                ("expectation", "must_contain"),
                ("device_groups", "core"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("nvalid regular expression"),
        "{}",
        refused.body
    );
    let added = a
        .post(
            "/admin/compliance-rules",
            &[
                ("csrf", csrf.as_str()),
                ("name", "web rule"),
                ("pattern", "hostname"),
                ("expectation", "must_contain"),
                ("device_groups", "core"),
            ],
        )
        .await;
    assert!(matches!(added.status, 200 | 303), "{}", added.body);
    let rules = h.list("/api/compliance-rules/").await;
    let web = rules.iter().find(|r| r["name"] == "web rule").unwrap();
    assert_eq!(web["device_groups"], json!([core]));
    assert_eq!(web["expectation"], "must_contain");

    // Deleting a rule removes its states.
    let r = h
        .call("DELETE", &format!("/api/compliance-rules/{rule_id}/"), None)
        .await;
    assert_eq!(r.status, 204);
    assert!(states(&mut h.api, &q).await.is_empty());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_states_move_with_new_versions_on_sqlite() {
    compliance(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_states_move_with_new_versions_on_postgres() {
    compliance(Engine::Postgres).await;
}
