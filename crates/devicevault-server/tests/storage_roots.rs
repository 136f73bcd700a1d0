//! `DEVICEVAULT_STORAGE_ROOTS` in embedded mode: a location outside the
//! roots is refused when it is saved, and a backup stored there before is
//! not read back.

mod common;

use common::{Engine, Harness};
use devicevault_core::{Status, StorageBackendKind, Timestamp};
use devicevault_sim::SimConfig;
use devicevault_storage::StorageRoots;
use serde_json::json;

fn sim() -> SimConfig {
    SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        ..SimConfig::default()
    }
}

/// A server whose storage root is its own temporary directory (where the
/// harness's repository lives); returns it with a directory outside.
async fn rooted() -> (Harness, tempfile::TempDir) {
    let h = Harness::start_with(Engine::Sqlite, sim(), |cfg| {
        let root = cfg.data_dir.parent().unwrap().display().to_string();
        cfg.settings.storage_roots = Some(StorageRoots::parse(&root).unwrap());
    })
    .await;
    (h, tempfile::tempdir().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_location_outside_the_storage_roots_is_a_400_naming_the_roots() {
    let (mut h, outside) = rooted().await;
    let root = h.dir.path().display().to_string();
    let inside = h.dir.path().join("site-a/repo.git");
    for config in [
        json!({"repo_path": outside.path().join("repo.git")}),
        json!({"repo_path": h.dir.path().join("../escape.git")}),
    ] {
        let r = h
            .call(
                "POST",
                "/api/backup-locations/",
                Some(json!({"name": "out", "location_type": "git", "config": config})),
            )
            .await;
        assert_eq!(r.status, 400, "{config}");
        let v = r.json();
        let message = v["detail"]["config"][0].as_str().unwrap();
        assert!(
            message.contains(&format!("outside the storage roots {root}")),
            "{v}"
        );
    }
    let loc = h
        .create(
            "/api/backup-locations/",
            json!({"name": "in", "location_type": "git", "config": {"repo_path": inside}}),
        )
        .await;
    let id = loc["id"].as_i64().unwrap();
    // Nor can a saved location be moved out.
    let fs_out =
        json!({"name": "in", "location_type": "fs", "config": {"base_path": outside.path()}});
    for method in ["PUT", "PATCH"] {
        let r = h
            .call(
                method,
                &format!("/api/backup-locations/{id}/"),
                Some(fs_out.clone()),
            )
            .await;
        assert_eq!(r.status, 400, "{method}: {}", r.json());
    }
    assert_eq!(
        h.call("GET", &format!("/api/backup-locations/{id}/"), None)
            .await
            .json()["config"]["repo_path"],
        inside.display().to_string()
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_inside_the_roots_work_and_one_stored_outside_is_a_500_with_the_reason() {
    let (mut h, outside) = rooted().await;
    let (_, ids) = h.inventory().await;
    let ti = h.backup_now(ids[0]).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    let stored = h
        .list(&format!("/api/stored-backups/?device={}", ids[0]))
        .await;
    let sid = stored[0]["id"].as_i64().unwrap();
    let dl = h
        .call("GET", &format!("/api/stored-backups/{sid}/download/"), None)
        .await;
    assert_eq!(dl.status, 200);

    // A location saved before the roots were set, holding a backup.
    let repo = outside.path().join("old.git");
    let config = json!({"repo_path": repo});
    let config = config.as_object().unwrap();
    let db = h.server().db.clone();
    let loc = db
        .create_location("before the roots", StorageBackendKind::Git, config)
        .await
        .unwrap();
    let kept = devicevault_storage::store_backup(
        StorageBackendKind::Git,
        b"hostname old\n",
        &format!("{}/old.cfg", ids[0]),
        config,
    )
    .unwrap();
    db.record_stored_backup(&devicevault_db::NewStoredBackup {
        task_id: "t-old".into(),
        task_identifier: "old".into(),
        device_id: ids[0],
        storage_backend: StorageBackendKind::Git,
        storage_ref: kept.storage_ref.to_string(),
        status: Status::Success,
        timestamp: Timestamp::now(),
        log: "[]".into(),
        location_id: Some(loc.id),
        size: Some(13),
        sha256: None,
        changed: Some(true),
        is_binary: false,
    })
    .await
    .unwrap();
    let old = h
        .list(&format!("/api/stored-backups/?device={}", ids[0]))
        .await
        .into_iter()
        .find(|s| s["task_identifier"] == "old")
        .unwrap();
    let r = h
        .call(
            "GET",
            &format!("/api/stored-backups/{}/download/", old["id"]),
            None,
        )
        .await;
    assert_eq!(r.status, 500);
    let v = r.json();
    assert_eq!(v["error"], "retrieval_failed", "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains(&repo.display().to_string())
            && detail.contains(&format!(
                "outside the storage roots {}",
                h.dir.path().display()
            )),
        "{v}"
    );
    h.stop().await;
}
