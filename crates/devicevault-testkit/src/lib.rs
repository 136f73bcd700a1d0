//! What DeviceVault's test suites and benchmarks share, written once:
//!
//! - [`db`]: a fresh, migrated SQLite or PostgreSQL database per test, and
//!   [`both_engines!`] to run a case on each;
//! - [`deployment`]: the distributed launcher — every role its own
//!   `devicevault` process in a RabbitMQ vhost, a PostgreSQL database and
//!   Redis streams of its own, removed afterwards;
//! - [`peers`]: receivers of notifications — aiosmtpd and a webhook
//!   receiver;
//! - [`identity`]: a real slapd and a real OpenID provider, with their
//!   test certificates (issue 20);
//! - [`promtool`]: `promtool check metrics` on an exposition, and its
//!   samples;
//! - [`configs`]: generated device configurations, the same on every run;
//! - [`unique`]: names that do not collide between parallel tests.
//!
//! The services are the real ones on loopback (`scripts/test` starts them);
//! nothing here mocks them.

pub mod configs;
pub mod db;
pub mod deployment;
pub mod identity;
pub mod peers;
pub mod promtool;

use std::sync::atomic::{AtomicU64, Ordering};

pub use deployment::{Deployment, LaunchError};

/// The PostgreSQL server tests create their databases in
/// (`DEVICEVAULT_TEST_POSTGRES_URL`, default the local `postgres` superuser).
pub fn pg_admin_url() -> String {
    std::env::var("DEVICEVAULT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The URL of database `name` on the server of [`pg_admin_url`].
pub fn pg_url(name: &str) -> String {
    let admin = pg_admin_url();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

/// `<prefix>_<pid>_<ns>_<n>`: unique across the processes and the threads
/// of a test run, and a valid SQL identifier, vhost and stream prefix.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{nanos}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
