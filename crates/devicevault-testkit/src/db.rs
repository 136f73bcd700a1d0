//! A fresh SQLite or PostgreSQL database per test, and [`both_engines!`],
//! which runs each case on both.

use devicevault_db::Db;

use crate::{pg_admin_url, pg_url, unique};

/// A fresh, migrated database that is removed when dropped.
#[derive(Debug)]
pub struct TestDb {
    pub db: Db,
    /// What `db` connected to, for a raw connection beside it.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

/// Creates an empty PostgreSQL database named `<prefix>_…` (a server
/// under test migrates it) and returns its name and URL.
pub async fn create_pg_database(prefix: &str) -> (String, String) {
    let name = unique(prefix);
    admin_exec(format!("CREATE DATABASE {name}")).await;
    let url = pg_url(&name);
    (name, url)
}

/// Drops a database made by [`create_pg_database`], ending its connections.
pub async fn drop_pg_database(name: &str) {
    admin_exec(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
}

async fn admin_exec(sql: String) {
    exec(&pg_admin_url(), sql).await;
}

/// Runs `sql` on the database at `url` behind the application's back (a
/// test tampering with a table, say).
pub async fn exec(url: &str, sql: String) {
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
        .await
        .expect("the database must be reachable (scripts/test starts PostgreSQL)");
    sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(sql))
        .await
        .unwrap();
    let _ = sqlx::Connection::close(conn).await;
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("devicevault.db").display());
        Self {
            db: Db::connect(&url).await.unwrap(),
            url,
            _dir: Some(dir),
            pg_name: None,
        }
    }

    pub async fn postgres() -> Self {
        let (name, url) = create_pg_database("dv_test").await;
        Self {
            db: Db::connect(&url).await.unwrap(),
            url,
            _dir: None,
            pg_name: Some(name),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // The test's runtime is blocked here, so its pool cannot be
            // closed politely; FORCE ends its connections server-side.
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(drop_pg_database(&name));
            })
            .join()
            .unwrap();
        }
    }
}

/// `both_engines!(case_a, case_b)`: each `async fn case(db: TestDb)` in
/// scope becomes a test on SQLite (`sqlite::case`) and one on PostgreSQL
/// (`postgres::case`).
#[macro_export]
macro_rules! both_engines {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $case() {
                super::$case($crate::db::TestDb::sqlite().await).await
            } )*
        }
        mod postgres {
            $( #[tokio::test] async fn $case() {
                super::$case($crate::db::TestDb::postgres().await).await
            } )*
        }
    };
}

/// A live, enabled `cisco_ios` device named `name` at 192.0.2.10:22, with
/// nothing else set: what the database's tests make devices of.
pub fn device_fields(name: &str) -> devicevault_db::DeviceFields {
    devicevault_db::DeviceFields {
        name: name.into(),
        address: "192.0.2.10".into(),
        port: 22,
        driver: "cisco_ios".into(),
        credential: None,
        backup_location: None,
        collection_group: None,
        device_group: None,
        device_type: None,
        enabled: true,
        profile: Default::default(),
    }
}
