//! `devicevault retention run [--dry-run]` from the shell: the dry run
//! changes nothing, a run prunes the index at once and an fs location's
//! files once their grace has passed.

use std::process::{Command, Output};

use devicevault_core::{Status, StorageBackendKind, Timestamp};
use devicevault_db::{Db, DeviceFields, NewStoredBackup, Page, Retention, Scope};

const BIN: &str = env!("CARGO_BIN_EXE_devicevault");

fn run(data: &std::path::Path, url: &str, args: &[&str]) -> Output {
    let o = Command::new(BIN)
        .args(args)
        .env("DEVICEVAULT_DATA_DIR", data)
        .env("DEVICEVAULT_DATABASE_URL", url)
        .env("DEVICEVAULT_RETENTION_GRACE", "1ms")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_run_prunes_what_its_dry_run_showed_and_later_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let url = format!("sqlite:{}", dir.path().join("dv.db").display());
    let store = dir.path().join("fs");
    let db = Db::connect(&url).await.unwrap();
    let config = serde_json::json!({"base_path": store});
    let loc = db
        .create_location("files", StorageBackendKind::Fs, config.as_object().unwrap())
        .await
        .unwrap()
        .id;
    let d = db
        .create_device(&DeviceFields {
            name: "r1".into(),
            address: "192.0.2.1".into(),
            port: 22,
            driver: "cisco_ios".into(),
            credential: None,
            backup_location: Some(loc),
            collection_group: None,
            device_group: None,
            device_type: None,
            enabled: true,
            profile: Default::default(),
        })
        .await
        .unwrap()
        .id;
    std::fs::create_dir_all(store.join(d.to_string())).unwrap();
    for n in 1..=3 {
        let rel = format!("{d}/v{n}.txt");
        std::fs::write(store.join(&rel), format!("version {n}\n")).unwrap();
        db.record_stored_backup(&NewStoredBackup {
            task_id: format!("t{n}"),
            task_identifier: format!("ti-{n}"),
            device_id: d,
            storage_backend: StorageBackendKind::Fs,
            storage_ref: rel,
            status: Status::Success,
            timestamp: Timestamp::parse(&format!("2026-02-0{n}T10:00:00Z")).unwrap(),
            log: "[]".into(),
            location_id: Some(loc),
            size: Some(10),
            sha256: None,
            changed: Some(false),
            is_binary: false,
        })
        .await
        .unwrap();
    }
    db.set_location_retention(
        loc,
        Retention {
            keep_last: Some(1),
            keep_days: None,
        },
    )
    .await
    .unwrap();
    let count = |db: Db| async move {
        db.stored_backups(Some(d), &Scope::Admin, Page::default())
            .await
            .unwrap()
            .total
    };

    let o = run(&data, &url, &["retention", "run", "--dry-run"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("device {d}: 2 versions, 20 bytes")),
        "{out}"
    );
    assert_eq!(count(db.clone()).await, 3, "a dry run changes nothing");

    let o = run(&data, &url, &["retention", "run"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(&format!("device {d}: 2 versions")), "{out}");
    assert_eq!(count(db.clone()).await, 1);
    // The files outlive their rows by the grace...
    assert!(store.join(format!("{d}/v1.txt")).exists());
    // ...and go with the next pass after it.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let o = run(&data, &url, &["retention", "run"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("removed 2 files"), "{out}");
    assert!(!store.join(format!("{d}/v1.txt")).exists());
    assert!(!store.join(format!("{d}/v2.txt")).exists());
    assert!(store.join(format!("{d}/v3.txt")).exists());
}
