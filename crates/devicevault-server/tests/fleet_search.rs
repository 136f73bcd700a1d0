//! Fleet search through the REST API (`GET /api/search/`, issue 17), on
//! both engines, over configurations backed up from simulated devices:
//! literal, regex and negative searches; a new version replaces the
//! searched one (the cache follows the database); `as_of` picks older
//! versions; a reader finds nothing outside their device groups and cannot
//! find a masked secret; an invalid regex is a 400 naming the problem.

mod common;

use devicevault_core::Role;
use common::{Engine, Harness};
use devicevault_client::HttpClient;
use devicevault_pipeline::app::auth;
use devicevault_sim::SimConfig;
use serde_json::Value;

/// A client with an API token of a new reader without `view_secrets`,
/// restricted to `groups` (`None`: every device).
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

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `GET /api/search/?q=<q>&<rest>`: status and body.
async fn search(c: &mut HttpClient, q: &str, rest: &str) -> (u16, Value) {
    let path = format!("/api/search/?q={}&{rest}", enc(q));
    let r = c.request("GET", &path, None).await.unwrap();
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

/// The names of the devices a search selected (status 200 expected).
async fn names(c: &mut HttpClient, q: &str, rest: &str) -> Vec<String> {
    let (status, v) = search(c, q, rest).await;
    assert_eq!(status, 200, "{q} {rest}: {v}");
    let names: Vec<String> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["device_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(v["count"], names.len() as i64, "{v}");
    names
}

async fn fleet_search(engine: Engine) {
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
    let sim_names: Vec<String> = h
        .sim
        .devices()
        .iter()
        .map(|d| d.name().to_owned())
        .collect();
    for id in &ids {
        let ti = h.backup_now(*id).await;
        assert_eq!(h.wait_job(&ti).await["state"], "stored");
    }
    let first_round = h.list("/api/stored-backups/").await[0]["timestamp"]
        .as_str()
        .unwrap()
        .to_owned();

    // Literal: every device has revision 0's descriptions.
    let all = names(&mut h.api, "description link-0 rev0", "").await;
    assert_eq!(all, sim_names, "ordered by name");
    let (_, v) = search(&mut h.api, "description link-0 rev0", "context=1").await;
    let d = &v["results"][0];
    assert_eq!(d["device"], ids[0]);
    assert!(d["stored_backup"].is_i64(), "{d}");
    let m = &d["matches"][0];
    assert_eq!(m["line"], " description link-0 rev0", "{m}");
    assert!(m["line_number"].as_u64().unwrap() > 1, "{m}");
    assert_eq!(m["context_before"].as_array().unwrap().len(), 1, "{m}");
    assert_eq!(v["secrets_masked"], false);

    // A new version of device 0 is what is searched from now on.
    h.sim.devices()[0].change_config();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let ti = h.backup_now(ids[0]).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    assert_eq!(
        names(&mut h.api, "link-0 rev1", "").await,
        [sim_names[0].as_str()]
    );
    assert_eq!(
        names(&mut h.api, "link-0 rev0", "").await,
        [sim_names[1].as_str(), sim_names[2].as_str()]
    );
    // Regular expressions and case.
    assert_eq!(
        names(
            &mut h.api,
            r"^ description link-\d+ REV1$",
            "regex=true&ignore_case=true"
        )
        .await,
        [sim_names[0].as_str()]
    );
    assert!(names(&mut h.api, "link-0 REV1", "").await.is_empty());
    // Negative: the devices without the line, no matches listed.
    let (_, v) = search(&mut h.api, "link-0 rev1", "negate=true").await;
    assert_eq!(v["count"], 2, "{v}");
    assert!(v["results"][0]["matches"].as_array().unwrap().is_empty());
    // As of the first round: every device at revision 0.
    let as_of = format!("as_of={}", enc(&first_round));
    assert_eq!(names(&mut h.api, "link-0 rev0", &as_of).await, sim_names);
    assert!(names(&mut h.api, "link-0 rev1", &as_of).await.is_empty());
    // Filters.
    assert_eq!(
        names(&mut h.api, "link-0", &format!("device_group={edge}")).await,
        [sim_names[1].as_str()]
    );
    assert_eq!(
        names(&mut h.api, "link-0", "driver=cisco_ios").await.len(),
        3
    );
    assert!(names(&mut h.api, "link-0", "driver=junos").await.is_empty());
    // Paginated like every list.
    let (_, v) = search(&mut h.api, "link-0", "page_size=2").await;
    assert_eq!(
        (v["count"].as_i64(), v["results"].as_array().unwrap().len()),
        (Some(3), 2)
    );
    assert!(v["next"].as_str().unwrap().contains("page=2"), "{v}");
    let (_, v) = search(&mut h.api, "link-0", "page_size=2&page=2").await;
    assert_eq!(v["results"][0]["device_name"], sim_names[2].as_str());
    assert!(v["next"].is_null() && v["previous"].is_string(), "{v}");

    // Invalid input: 400 naming the problem and the field.
    let (status, v) = search(&mut h.api, "interface (Gi", "regex=true").await;
    assert_eq!(status, 400, "{v}");
    let detail = v["detail"]["q"][0].as_str().unwrap();
    assert!(detail.contains("unclosed group"), "{detail}");
    let (status, v) = search(&mut h.api, "x", "context=99").await;
    assert_eq!(status, 400, "{v}");
    assert!(v["detail"]["context"].is_array(), "{v}");
    let (status, v) = search(&mut h.api, "x", "as_of=friday").await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["detail"]["as_of"][0]
            .as_str()
            .unwrap()
            .contains("RFC 3339"),
        "{v}"
    );
    let (status, _) = search(&mut h.api, "", "").await;
    assert_eq!(status, 400);

    // Secrets: the administrator finds the community string; a reader
    // without view_secrets can neither find it nor see it.
    let secret = h.sim.devices()[0].secret_token();
    assert!(!names(&mut h.api, &secret, "").await.is_empty());
    let mut everyone = reader(&h, "everyone", None).await;
    for (q, rest) in [
        (secret.as_str(), ""),
        (secret.as_str(), "ignore_case=true"),
        (&secret[1..secret.len() - 1], ""),
        ("snmp-server community .*[A-Za-z0-9]{6}", "regex=true"),
    ] {
        let (status, v) = search(&mut everyone, q, rest).await;
        assert_eq!(status, 200, "{v}");
        assert!(
            !v.to_string().contains(&secret),
            "a reader sees no secret: {v}"
        );
        if q.contains(&secret[1..secret.len() - 1]) {
            assert_eq!(v["count"], 0, "a reader cannot probe a secret: {v}");
        }
    }
    let (_, v) = search(&mut everyone, "snmp-server community", "").await;
    assert_eq!(v["count"], 3, "the masked line is found: {v}");
    assert_eq!(v["secrets_masked"], true);
    // Negating a secret does not reveal it either: every device "lacks" it.
    let (_, v) = search(&mut everyone, &secret, "negate=true").await;
    assert_eq!(v["count"], 3, "{v}");

    // Scope: a reader of core finds only core's device, one of edge
    // nothing of core's, one of no group nothing at all.
    let mut core_ops = reader(&h, "core-ops", Some(&[core])).await;
    assert_eq!(
        names(&mut core_ops, "link-0", "").await,
        [sim_names[0].as_str()]
    );
    let mut edge_ops = reader(&h, "edge-ops", Some(&[edge])).await;
    assert!(names(&mut edge_ops, "link-0 rev1", "").await.is_empty());
    assert!(
        names(&mut edge_ops, "link-0", &format!("device_group={core}"))
            .await
            .is_empty()
    );
    let (_, v) = search(&mut edge_ops, "link-0 rev1", "negate=true").await;
    assert_eq!(v["count"], 1, "negating stays in scope: {v}");
    let mut nobody = reader(&h, "nobody", Some(&[])).await;
    assert!(names(&mut nobody, "link", "").await.is_empty());
    assert!(names(&mut nobody, "link", "negate=true").await.is_empty());

    // Without a token: 401.
    let mut anon = HttpClient::new(h.server().addr);
    assert_eq!(anon.get("/api/search/?q=x").await.unwrap().status, 401);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_search_finds_what_each_user_may_see_on_sqlite() {
    fleet_search(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_search_finds_what_each_user_may_see_on_postgres() {
    fleet_search(Engine::Postgres).await;
}
