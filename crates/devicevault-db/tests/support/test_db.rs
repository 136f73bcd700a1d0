//! A fresh SQLite or PostgreSQL database per test, and `both_engines!`,
//! which runs each case on both. Shared by the test suites of
//! devicevault-db and devicevault-server (`#[path]`-included).

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use devicevault_db::Db;

/// A fresh, migrated database that is removed when dropped.
pub struct TestDb {
    pub db: Db,
    /// What `db` connected to, for a raw connection beside it.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

fn admin_url() -> String {
    std::env::var("DEVICEVAULT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn unique_name() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "dv_test_{}_{}_{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn admin_exec(sql: String) {
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url())
        .await
        .expect("PostgreSQL must be running (scripts/test starts it)");
    sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(sql))
        .await
        .unwrap();
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
        let name = unique_name();
        admin_exec(format!("CREATE DATABASE {name}")).await;
        let base = admin_url();
        let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
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
                rt.block_on(admin_exec(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )));
            })
            .join()
            .unwrap();
        }
    }
}

#[macro_export]
macro_rules! both_engines {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $case() { super::$case(super::TestDb::sqlite().await).await } )*
        }
        mod postgres {
            $( #[tokio::test] async fn $case() { super::$case(super::TestDb::postgres().await).await } )*
        }
    };
}
