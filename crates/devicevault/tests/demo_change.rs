//! `devicevault demo` shows change: a device drifts, the scheduled backup
//! stores a new version, and the demo's webhook receiver hears of it.

use std::path::Path;
use std::process::Command;

use devicevault_db::{Db, Page, Scope, StoredBackup};

const BIN: &str = env!("CARGO_BIN_EXE_devicevault");

async fn stored_backups(data: &Path) -> Vec<StoredBackup> {
    let db = Db::connect(&format!(
        "sqlite:{}",
        data.join("devicevault.sqlite3").display()
    ))
    .await
    .unwrap();
    let rows = db
        .stored_backups(
            None,
            &Scope::All,
            Page {
                limit: 1000,
                offset: 0,
            },
        )
        .await
        .unwrap()
        .rows;
    db.close().await;
    rows
}

#[test]
fn a_drifted_device_is_stored_as_a_changed_version_and_its_notification_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    // A change every second; the schedule runs each minute, so this takes
    // up to a minute and a few seconds.
    let out = Command::new(BIN)
        .args([
            "demo",
            "--exit-after-change",
            "--drift-every",
            "1",
            "--devices",
            "2",
            "--http-addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&demo)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 backups stored, 0 failed"), "{stdout}");
    assert!(
        stdout.contains("change on the device r0001: revision 1 by "),
        "the drift is printed: {stdout}"
    );
    assert!(
        stdout.contains("notifications.log"),
        "the demo says where to look: {stdout}"
    );

    // The receiver printed the notification and logged it.
    let notified = stdout
        .lines()
        .find(|l| l.starts_with("notification: "))
        .unwrap_or_else(|| panic!("no notification printed: {stdout}"));
    let log = std::fs::read_to_string(demo.join("notifications.log")).unwrap();
    assert!(log.contains(notified), "{log}");
    let (device, compare) = notified
        .strip_prefix("notification: ")
        .and_then(|l| l.split_once(" changed, compare: "))
        .unwrap_or_else(|| panic!("not a change notification: {notified}"));
    assert!(["r0001", "r0002"].contains(&device), "{notified}");
    let id_after = |key: &str| -> i64 {
        compare
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {compare}"))
    };
    let (old, new) = (id_after("a="), id_after("b="));

    // The version it compares is a new one, stored as a change.
    let rows = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(stored_backups(&demo));
    let new_row = rows.iter().find(|r| r.id == new).expect("the new version");
    let old_row = rows.iter().find(|r| r.id == old).expect("the old version");
    assert_eq!(new_row.changed, Some(true), "{new_row:?}");
    assert_eq!(new_row.device_id, old_row.device_id);
    assert_ne!(new_row.sha256, old_row.sha256);
    assert!(
        compare.contains(&format!("/devices/{}/compare?", new_row.device_id)),
        "{compare}"
    );
}
