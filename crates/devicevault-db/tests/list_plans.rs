//! The backup lists stay fast at millions of rows because each page walks
//! an index in the list's order instead of sorting the table. This checks
//! the plans each engine chooses for the lists' queries (the same SQL as
//! `Db::stored_backups` / `Db::backup_results`), so that a migration that
//! drops or reorders an index fails here rather than in production. The
//! time a page takes at a million rows is a benchmark figure
//! (`devicevault bench pipeline`), not a test.

use devicevault_testkit::db::TestDb;
use sqlx::{AnyConnection, Connection as _, Executor as _, Row as _};

const TABLES: [&str; 2] = ["stored_backups", "device_backup_results"];

/// The page queries as `Db::newest_first` writes them, with and without the
/// device filter.
fn page_queries(table: &str) -> [String; 2] {
    [
        format!(
            "SELECT * FROM {table} WHERE device_id = 7 \
             ORDER BY timestamp DESC, id DESC LIMIT 50 OFFSET 0"
        ),
        format!("SELECT * FROM {table} ORDER BY timestamp DESC, id DESC LIMIT 50 OFFSET 0"),
    ]
}

async fn plan_lines(conn: &mut AnyConnection, explain: &str, sql: &str) -> Vec<String> {
    let rows = conn
        .fetch_all(sqlx::AssertSqlSafe(format!("{explain} {sql}")))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            // SQLite: (id, parent, notused, detail); PostgreSQL: one text column.
            let last = r.len() - 1;
            r.try_get::<String, _>(last).unwrap()
        })
        .collect()
}

/// An empty table is cheapest to scan and sort; with scans and sorts
/// priced out, a Sort left in a PostgreSQL plan means no index gives the
/// order.
async fn price_out_scans_and_sorts(conn: &mut AnyConnection) {
    for off in ["enable_seqscan", "enable_bitmapscan", "enable_sort"] {
        conn.execute(sqlx::AssertSqlSafe(format!("SET {off} = off")))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn sqlite_pages_walk_an_index_in_list_order() {
    let t = TestDb::sqlite().await;
    let mut conn = AnyConnection::connect(&t.url).await.unwrap();
    for table in TABLES {
        for sql in page_queries(table) {
            let plan = plan_lines(&mut conn, "EXPLAIN QUERY PLAN", &sql).await;
            let text = plan.join(" | ");
            assert!(
                plan.iter()
                    .any(|l| l.contains(" USING INDEX ") || l.contains(" USING COVERING INDEX ")),
                "{sql}: no index in the plan: {text}"
            );
            assert!(
                !text.contains("TEMP B-TREE"),
                "{sql}: sorts instead of walking an index: {text}"
            );
        }
        let count = format!("SELECT COUNT(*) FROM {table} WHERE device_id = 7");
        let text = plan_lines(&mut conn, "EXPLAIN QUERY PLAN", &count)
            .await
            .join(" | ");
        assert!(text.contains("INDEX"), "{count}: {text}");
    }
}

#[tokio::test]
async fn postgres_pages_walk_an_index_in_list_order() {
    let t = TestDb::postgres().await;
    let mut conn = AnyConnection::connect(&t.url).await.unwrap();
    price_out_scans_and_sorts(&mut conn).await;
    for table in TABLES {
        for sql in page_queries(table) {
            let plan = plan_lines(&mut conn, "EXPLAIN", &sql).await;
            let text = plan.join(" | ");
            assert!(
                text.contains("Index Scan Backward") || text.contains("Index Only Scan Backward"),
                "{sql}: not an index walk newest first: {text}"
            );
            assert!(
                !text.contains("Sort"),
                "{sql}: sorts instead of walking an index: {text}"
            );
        }
    }
}

/// A device's distinct versions (`Db::device_versions`): the page of
/// version starts and their count, as it writes them. Both read the
/// `(device_id, timestamp, id, status, changed)` index alone, newest first
/// for the page, so a device with 10,000 backups is not read row by row.
const FIRST: &str = "(SELECT f.id FROM stored_backups f WHERE f.device_id = 7 AND f.status = 'success' \
     ORDER BY f.timestamp, f.id LIMIT 1)";

fn version_queries() -> [String; 2] {
    let starts = format!(
        "device_id = 7 AND status = 'success' AND (changed IS NULL OR changed <> 0 OR id = {FIRST})"
    );
    [
        format!(
            "SELECT id, timestamp FROM stored_backups WHERE {starts} \
             ORDER BY timestamp DESC, id DESC LIMIT 50 OFFSET 0"
        ),
        format!("SELECT COUNT(*) FROM stored_backups WHERE {starts}"),
    ]
}

#[tokio::test]
async fn sqlite_versions_read_the_versions_index_alone() {
    let t = TestDb::sqlite().await;
    let mut conn = AnyConnection::connect(&t.url).await.unwrap();
    for sql in version_queries() {
        let text = plan_lines(&mut conn, "EXPLAIN QUERY PLAN", &sql)
            .await
            .join(" | ");
        assert!(
            text.contains("USING COVERING INDEX stored_backups_device_versions"),
            "{sql}: {text}"
        );
        assert!(!text.contains("TEMP B-TREE"), "{sql}: sorts: {text}");
    }
}

#[tokio::test]
async fn postgres_versions_walk_the_versions_index() {
    let t = TestDb::postgres().await;
    let mut conn = AnyConnection::connect(&t.url).await.unwrap();
    price_out_scans_and_sorts(&mut conn).await;
    let [page, count] = version_queries();
    let text = plan_lines(&mut conn, "EXPLAIN", &page).await.join(" | ");
    assert!(
        text.contains("Backward using stored_backups_device_versions"),
        "{page}: {text}"
    );
    assert!(!text.contains("Sort"), "{page}: sorts: {text}");
    let text = plan_lines(&mut conn, "EXPLAIN", &count).await.join(" | ");
    assert!(
        text.contains("stored_backups_device_versions"),
        "{count}: {text}"
    );
}

/// The results page's count of one outcome in a time range
/// (`Db::count_backup_results`, as it writes it for an administrator): one
/// range of the `(outcome, timestamp, id)` index of migration 0030, the
/// result rows themselves never read, no stored backup or job joined.
const OUTCOME_COUNT: &str = "SELECT COUNT(*) FROM device_backup_results r WHERE 1 = 1 \
     AND r.timestamp >= '2026-03-01T22:00:00.000Z' AND r.timestamp < '2026-03-02T10:00:00.000Z' \
     AND r.outcome = 'failed'";

#[tokio::test]
async fn sqlite_counts_an_outcome_from_the_outcome_index_alone() {
    let t = TestDb::sqlite().await;
    let mut conn = AnyConnection::connect(&t.url).await.unwrap();
    let text = plan_lines(&mut conn, "EXPLAIN QUERY PLAN", OUTCOME_COUNT)
        .await
        .join(" | ");
    assert!(
        text.contains("USING COVERING INDEX device_backup_results_outcome"),
        "{text}"
    );
}

#[tokio::test]
async fn postgres_counts_an_outcome_from_the_outcome_index() {
    let t = TestDb::postgres().await;
    let mut conn = AnyConnection::connect(&t.url).await.unwrap();
    price_out_scans_and_sorts(&mut conn).await;
    let text = plan_lines(&mut conn, "EXPLAIN", OUTCOME_COUNT)
        .await
        .join(" | ");
    assert!(text.contains("device_backup_results_outcome"), "{text}");
}

/// The device list's page queries (`DeviceQuery::sql`, as `Db::device_rows`
/// runs them) by name, last status, last backup, last success and last
/// change in both directions, and filtered by each last status: each walks
/// a partial index of the live devices (migration 0035) in the list's
/// order, so a page at 100,000 devices does not sort them all.
fn device_page_queries() -> Vec<String> {
    use devicevault_db::Scope;
    use devicevault_db::dashboard::{DeviceQuery, DeviceSort, LastStatus};
    let mut queries = Vec::new();
    let sorts = [
        DeviceSort::Name,
        DeviceSort::LastStatus,
        DeviceSort::LastBackup,
        DeviceSort::LastSuccess,
        DeviceSort::LastChange,
    ];
    let mut add = |q: DeviceQuery| {
        // No filter takes a parameter here: $1 is the limit, $2 the offset.
        let sql = q.sql(&Scope::Admin).page_ids;
        queries.push(sql.replace("$1", "50").replace("$2", "5000"));
    };
    for sort in sorts {
        for descending in [false, true] {
            add(DeviceQuery {
                sort,
                descending,
                ..Default::default()
            });
        }
    }
    for status in LastStatus::ALL {
        add(DeviceQuery {
            last_status: Some(status),
            ..Default::default()
        });
    }
    queries
}

#[tokio::test]
async fn sqlite_device_pages_walk_a_live_devices_index() {
    let t = TestDb::sqlite().await;
    let mut conn = AnyConnection::connect(&t.url).await.unwrap();
    for sql in device_page_queries() {
        let text = plan_lines(&mut conn, "EXPLAIN QUERY PLAN", &sql)
            .await
            .join(" | ");
        assert!(text.contains("INDEX devices_live_"), "{sql}: {text}");
        assert!(!text.contains("TEMP B-TREE"), "{sql}: sorts: {text}");
    }
}

#[tokio::test]
async fn postgres_device_pages_walk_a_live_devices_index() {
    let t = TestDb::postgres().await;
    let mut conn = AnyConnection::connect(&t.url).await.unwrap();
    price_out_scans_and_sorts(&mut conn).await;
    for sql in device_page_queries() {
        let text = plan_lines(&mut conn, "EXPLAIN", &sql).await.join(" | ");
        assert!(text.contains("devices_live_"), "{sql}: {text}");
        assert!(!text.contains("Sort"), "{sql}: sorts: {text}");
    }
}
