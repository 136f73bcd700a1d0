//! The import and export through the whole server (issue 15): the API's
//! dry run, apply and idempotent second run of a simulator fleet's
//! router.db, the imported devices backed up, export → import unchanged,
//! the size limits answered with 413; on SQLite and PostgreSQL.

mod common;

use common::browser::Browser;
use common::{Engine, Harness};
use devicevault_sim::SimConfig;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn sim() -> SimConfig {
    SimConfig {
        devices: 2,
        platforms: vec!["cisco_ios".into(), "arista_eos".into()],
        ..SimConfig::default()
    }
}

async fn import_through_the_api(engine: Engine) {
    let mut h = Harness::start(engine, sim()).await;
    let repo = h.repo_path();
    h.create(
        "/api/backup-locations/",
        json!({"name": "git", "location_type": "git", "config": {"repo_path": repo, "branch": "main"}}),
    )
    .await;
    let devices: Vec<_> = h.sim.devices().to_vec();
    let d0 = devices[0].clone();
    h.create(
        "/api/credentials/",
        json!({"name": "lab", "username": d0.username(), "password": d0.password(), "enable_secret": d0.enable_secret()}),
    )
    .await;
    // An Oxidized router.db with the address in a column of its own
    // (source.csv's map).
    let mut router_db = String::from("# the simulated fleet\n");
    let model = |p: &str| if p == "cisco_ios" { "ios" } else { "eos" };
    for d in &devices {
        router_db.push_str(&format!("{}|{}|127.0.0.1\n", d.name(), model(d.platform())));
    }
    let body = |apply: bool, content: &str| {
        json!({
            "format": "oxidized", "content": content, "apply": apply,
            "defaults": {"backup_location": "git", "credential": "lab"},
            "oxidized": {"delimiter": "|", "map": {"name": 0, "model": 1, "ip": 2}}
        })
    };
    let r = h
        .call(
            "POST",
            "/api/devices/import/",
            Some(body(false, &router_db)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let dry = r.json();
    assert_eq!(dry["applied"], false);
    assert_eq!(dry["counts"]["create"], 2, "{dry}");
    assert_eq!(dry["lines"][0]["line"], 2);
    assert!(h.list("/api/devices/").await.is_empty());

    let r = h
        .call("POST", "/api/devices/import/", Some(body(true, &router_db)))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["applied"], true);
    let listed = h.list("/api/devices/").await;
    assert_eq!(listed.len(), 2);
    let again = h
        .call("POST", "/api/devices/import/", Some(body(true, &router_db)))
        .await
        .json();
    assert_eq!(again["counts"]["unchanged"], 2, "{again}");

    // The devices only need a port: one PATCH each, then they back up,
    // and `queued_on` is the queue.
    for row in &listed {
        let id = row["id"].as_i64().unwrap();
        let name = row["name"].as_str().unwrap();
        let port = devices.iter().find(|d| d.name() == name).unwrap().port();
        let r = h
            .call(
                "PATCH",
                &format!("/api/devices/{id}/"),
                Some(json!({"port": port})),
            )
            .await;
        assert_eq!(r.status, 200);
        let r = h
            .call("POST", &format!("/api/devices/{id}/backup_now/"), None)
            .await;
        assert_eq!(r.status, 202);
        let a = r.json();
        assert_eq!(a["queued_on"], "collector.group.default", "{a}");
        assert!(a["queued_at"].as_str().unwrap().ends_with('Z'));
        let ti = a["task_identifier"].as_str().unwrap().to_owned();
        assert_eq!(h.wait_job(&ti).await["state"], "stored");
    }

    // Export, and import the export: unchanged.
    let r = h.call("GET", "/api/devices/export/", None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("text/csv")
    );
    let csv = String::from_utf8(r.body).unwrap();
    assert!(csv.starts_with("name,address,port,driver,credential,"));
    assert!(!csv.contains(devices[0].password()), "no secret");
    let back = h
        .call(
            "POST",
            "/api/devices/import/",
            Some(json!({"format": "csv", "content": csv, "apply": true})),
        )
        .await
        .json();
    assert_eq!(back["counts"]["unchanged"], 2, "{back}");

    // NetBox is the command line's; a bad CSV header is the request's.
    let r = h
        .call(
            "POST",
            "/api/devices/import/",
            Some(json!({"format": "netbox", "content": ""})),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = h
        .call(
            "POST",
            "/api/devices/import/",
            Some(json!({"format": "csv", "content": "colour\nred\n"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["detail"].as_str().unwrap().contains("colour"));

    // Content over 20 MiB in a body under the body's limit: 413.
    let big = "x".repeat(20 * 1024 * 1024 + 1);
    let r = h
        .call(
            "POST",
            "/api/devices/import/",
            Some(json!({"format": "oxidized", "content": big})),
        )
        .await;
    assert_eq!(r.status, 413);

    // A body announced at 100 MB: 413 before it is sent.
    let addr = h.server().addr;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/devices/import/ HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Token {}\r\n\
         Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{{\"format\":",
        h.token
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 64];
    let n = s.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn import_through_the_api_sqlite() {
    import_through_the_api(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn import_through_the_api_postgres() {
    import_through_the_api(Engine::Postgres).await;
}

/// The import page over plain HTTP: paste, dry run, apply, export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_page_runs_a_dry_run_then_applies_it() {
    let mut h = Harness::start(Engine::Sqlite, sim()).await;
    h.create(
        "/api/backup-locations/",
        json!({"name": "files", "location_type": "fs", "config": {"base_path": h.dir.path().join("fs")}}),
    )
    .await;
    let (user, password) = h.server().first_admin.clone().unwrap();
    let mut b = Browser::new(h.server().addr);
    b.login(&user, &password).await;
    let page = b.get("/admin/import").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Import devices"));
    let csrf = page.csrf();
    let content = "# RANCID\nsw1;cisco;up\nsw2;juniper;down\nsw3;acme;up\n";
    let form = |apply: bool| {
        let mut f = vec![
            ("csrf", csrf.clone()),
            ("format", "rancid".to_owned()),
            ("content", content.to_owned()),
            ("defaults", "backup_location=files".to_owned()),
        ];
        if apply {
            f.push(("apply", "on".to_owned()));
        }
        f
    };
    let dry = form(false);
    let dry: Vec<(&str, &str)> = dry.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post("/admin/import", &dry).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("Dry run: nothing changed yet"),
        "{}",
        r.body
    );
    assert!(r.body.contains("unknown model"));
    assert!(r.body.contains("Apply these changes"));
    assert!(h.list("/api/devices/").await.is_empty());
    let apply = form(true);
    let apply: Vec<(&str, &str)> = apply.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post("/admin/import", &apply).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Applied"), "{}", r.body);
    let names: Vec<String> = h
        .list("/api/devices/")
        .await
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["sw1"]);
    let csv = b.get("/admin/import/export.csv").await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").starts_with("text/csv"));
    assert!(
        csv.body.contains("sw1,sw1,22,cisco_ios,,files,"),
        "{}",
        csv.body
    );
    h.stop().await;
}
