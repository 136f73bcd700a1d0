//! Pages of the backup lists at a million stored backups (SQLite). Ignored
//! by default: filling the table takes a while. Run with
//! `cargo nextest run -p devicevault-db --run-ignored only large_lists`.

use std::time::{Duration, Instant};

use devicevault_core::{StorageBackendKind, Timestamp};
use devicevault_db::{Db, DeviceFields, Page};

const ROWS: i64 = 1_000_000;
const DEVICES: i64 = 1_000;

/// The slowest of a few runs, so one warm-up does not hide a slow plan.
async fn slowest<F, Fut>(mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    f().await; // warm the page cache
    let mut worst = Duration::ZERO;
    for _ in 0..5 {
        let start = Instant::now();
        f().await;
        worst = worst.max(start.elapsed());
    }
    worst
}

#[tokio::test]
#[ignore = "fills a million rows"]
async fn a_page_of_a_million_stored_backups_takes_milliseconds_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("big.db").display());
    let db = Db::connect(&url).await.unwrap();
    let location = db
        .create_location("git", StorageBackendKind::Git, &serde_json::Map::new())
        .await
        .unwrap();
    for i in 0..DEVICES {
        db.create_device(&DeviceFields {
            name: format!("d{i:04}"),
            address: "192.0.2.1".into(),
            port: 22,
            driver: "cisco_ios".into(),
            credential: None,
            backup_location: Some(location.id),
            collection_group: None,
            device_group: None,
            device_type: None,
            enabled: true,
        })
        .await
        .unwrap();
    }
    // One statement on a raw connection: rows spread over the devices and
    // over time, as a year of nightly backups of a thousand devices would be.
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let start = Timestamp::parse("2025-01-01T00:00:00.000Z")
        .unwrap()
        .unix_millis() as i64
        / 1000;
    sqlx::Executor::execute(
        &mut conn,
        sqlx::AssertSqlSafe(format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {ROWS}) \
             INSERT INTO stored_backups (task_id, task_identifier, device_id, storage_backend, \
             storage_ref, status, timestamp, log, location_id, size, is_binary) \
             SELECT 't' || i, 'job-' || i, 1 + i % {DEVICES}, 'git', 'main:x@' || i, 'success', \
             strftime('%Y-%m-%dT%H:%M:%S.000Z', {start} + i * 30, 'unixepoch'), '[]', {loc}, 800, 0 \
             FROM n",
            loc = location.id
        )),
    )
    .await
    .unwrap();

    let page = Page {
        limit: 50,
        offset: 0,
    };
    let one = slowest(|| async {
        let l = db.stored_backups(Some(500), page).await.unwrap();
        assert_eq!((l.rows.len(), l.total), (50, ROWS / DEVICES));
    })
    .await;
    let all = slowest(|| async {
        let l = db.stored_backups(None, page).await.unwrap();
        assert_eq!((l.rows.len(), l.total), (50, ROWS));
    })
    .await;
    eprintln!("one device's page: {one:?}, all devices' page (with COUNT(*)): {all:?}");
    assert!(
        one < Duration::from_millis(20),
        "one device's page took {one:?}"
    );
    assert!(
        all < Duration::from_millis(500),
        "the unfiltered page took {all:?}"
    );
}
