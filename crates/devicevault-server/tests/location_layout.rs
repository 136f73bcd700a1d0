//! A git location's layout (issue 21) through the API: a new location is
//! fanout unless it says flat, a saved location keeps its layout (only
//! `migrate-layout` changes it), and a fanout location stores each device at
//! `<shard>/<device id>/…` end to end, the download included.

mod common;

use common::{Engine, Harness, git};
use devicevault_core::StorageBackendKind;
use devicevault_core::layout::shard_of;
use devicevault_sim::SimConfig;
use serde_json::{Value, json};

fn sim() -> SimConfig {
    SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        ..SimConfig::default()
    }
}

async fn location(h: &mut Harness, name: &str, config: Value) -> Value {
    h.create(
        "/api/backup-locations/",
        json!({"name": name, "location_type": "git", "config": config}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_location_is_fanout_and_a_saved_one_keeps_its_layout() {
    let mut h = Harness::start(Engine::Sqlite, sim()).await;
    let dir = h.dir.path().to_owned();
    let new = location(&mut h, "new", json!({"repo_path": dir.join("new.git")})).await;
    assert_eq!(new["config"]["layout"], "fanout", "{new}");
    let flat = location(
        &mut h,
        "flat",
        json!({"repo_path": dir.join("flat.git"), "layout": "flat"}),
    )
    .await;
    assert_eq!(flat["config"]["layout"], "flat");
    // A location saved before layouts: no key, flat.
    let db = h.server().db.clone();
    let old = db
        .create_location(
            "old",
            StorageBackendKind::Git,
            json!({"repo_path": dir.join("old.git")})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();

    // Saving without a layout keeps the stored one, on PUT and PATCH.
    for (id, layout) in [(&flat["id"], Some("flat")), (&json!(old.id), None)] {
        let path = format!("/api/backup-locations/{id}/");
        let r = h
            .call(
                "PATCH",
                &path,
                Some(json!({"config": {"repo_path": dir.join(format!("{id}.git"))}})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let r = h
            .call(
                "PUT",
                &path,
                Some(
                    json!({"name": format!("renamed {id}"), "location_type": "git",
                            "config": {"repo_path": dir.join(format!("{id}.git"))}}),
                ),
            )
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(
            r.json()["config"]["layout"].as_str(),
            layout,
            "{}",
            r.json()
        );
    }
    // Naming another layout is refused, pointing at migrate-layout.
    for (id, to) in [
        (&flat["id"], "fanout"),
        (&json!(old.id), "fanout"),
        (&new["id"], "flat"),
    ] {
        let r = h
            .call(
                "PATCH",
                &format!("/api/backup-locations/{id}/"),
                Some(json!({"config": {"repo_path": dir.join("z.git"), "layout": to}})),
            )
            .await;
        assert_eq!(r.status, 400, "{id} → {to}");
        let errors = r.json()["detail"]["config"].clone();
        assert_eq!(errors.as_array().unwrap().len(), 1, "{errors}");
        assert!(
            errors[0].as_str().unwrap().contains("migrate-layout"),
            "{errors}"
        );
    }
    // The same layout, said again, is no change.
    let r = h
        .call(
            "PATCH",
            &format!("/api/backup-locations/{}/", new["id"]),
            Some(json!({"config": {"repo_path": dir.join("new.git"), "layout": "fanout"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // Not a layout; an fs location has none.
    let r = h
        .call(
            "POST",
            "/api/backup-locations/",
            Some(json!({"name": "x", "location_type": "git",
                        "config": {"repo_path": dir.join("x.git"), "layout": "sideways"}})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["detail"]["config"][0]
            .as_str()
            .unwrap()
            .contains("layout")
    );
    let r = h
        .call(
            "POST",
            "/api/backup-locations/",
            Some(json!({"name": "y", "location_type": "fs",
                        "config": {"base_path": dir.join("fs"), "layout": "fanout"}})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.json());
    // The form offers the layout.
    let mut b = common::browser::Browser::new(h.server().addr);
    let (user, password) = h.server().first_admin.clone().unwrap();
    b.login(&user, &password).await;
    let form = b.get(&format!("/admin/locations/{}", old.id)).await;
    assert!(form.body.contains(r#"name="layout""#), "{}", form.body);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fanout_location_stores_under_the_shard_and_the_download_works() {
    let mut h = Harness::start(Engine::Sqlite, sim()).await;
    let (_, ids) = h.inventory().await;
    let id = ids[0];
    let ti = h.backup_now(id).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    let stored = h.list(&format!("/api/stored-backups/?device={id}")).await;
    let sref = stored[0]["storage_ref"].as_str().unwrap();
    let prefix = format!("main:{}/{id}/", shard_of(id));
    assert!(sref.starts_with(&prefix), "{sref}");
    let path = sref.trim_start_matches("main:").split('@').next().unwrap();
    let repo = h.repo_path();
    assert_eq!(
        git(&repo, &["ls-tree", "-r", "--name-only", "main"]).trim(),
        path
    );
    assert_eq!(
        git(&repo, &["ls-tree", "--name-only", "main"]).trim(),
        &shard_of(id)[..2],
        "the root holds the shard only"
    );
    let sid = stored[0]["id"].as_i64().unwrap();
    let dl = h
        .call("GET", &format!("/api/stored-backups/{sid}/download/"), None)
        .await;
    assert_eq!(dl.status, 200, "{}", String::from_utf8_lossy(&dl.body));
    assert_eq!(
        dl.body,
        git(&repo, &["show", &format!("main:{path}")]).into_bytes()
    );
    git(&repo, &["fsck", "--strict"]);
    h.stop().await;
}

/// The layout is a key of the location's JSON config: PostgreSQL keeps it
/// as SQLite does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_the_layout_of_a_location() {
    let mut h = Harness::start(Engine::Postgres, sim()).await;
    let dir = h.dir.path().to_owned();
    let new = location(&mut h, "new", json!({"repo_path": dir.join("new.git")})).await;
    assert_eq!(new["config"]["layout"], "fanout");
    let r = h
        .call(
            "PATCH",
            &format!("/api/backup-locations/{}/", new["id"]),
            Some(json!({"name": "renamed"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let stored = h
        .server()
        .db
        .location(new["id"].as_i64().unwrap())
        .await
        .unwrap();
    assert_eq!(stored.config["layout"], "fanout");
    h.stop().await;
}
