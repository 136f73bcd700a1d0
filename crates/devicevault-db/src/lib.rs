//! DeviceVault's database: the inventory (devices, credentials, locations,
//! groups), access (users, tokens), and the backup index (jobs, collection
//! results, stored backups).
//!
//! One code path serves SQLite (the embedded default, WAL mode) and
//! PostgreSQL (distributed mode): queries go through sqlx's `Any` driver and
//! use only what both engines share (`$n` parameters, `RETURNING`,
//! `ON CONFLICT`), while each engine has its own migrations folder. Callers
//! never ask which engine they run on.
//!
//! Timestamps are stored as RFC 3339 UTC text with milliseconds
//! ([`devicevault_core::Timestamp`]), which sorts chronologically in both
//! engines.
//!
//! Idempotency lives here: `task_identifier` is UNIQUE in every table that
//! records a step of a backup, inserts of results are `ON CONFLICT DO
//! NOTHING`, and a job's state only moves forward. Replaying a message or a
//! stream record therefore changes nothing.

mod access;
pub mod audit;
pub use access::{LoginThrottle, NewToken, TokenInfo, TokenKind, TokenPolicy, TokenUse};
pub use audit::{AuditCheckpoint, AuditFilter, AuditRecord, AuditVerification, NewAudit};
mod backups;
mod batch;
pub mod compliance;
pub use batch::IndexBatch;
pub use compliance::{
    ComplianceFilter, ComplianceRule, ComplianceRuleFields, ComplianceState, ComplianceWatermark,
    DueCompliance, Evaluated, NewCompliance, Recorded, RuleSummary,
};
pub mod dashboard;
mod directory;
pub use directory::{DirectoryGrant, GrantRecord, Provisioned, SOURCE_LDAP, oidc_source};
mod error;
mod gate;
pub use gate::WritePriority;
pub mod history;
pub use history::{Outcome, OutcomeTotals, ResultFilter, ResultRow, Version};
mod inventory;
mod jobs;
pub use inventory::{BulkChange, DeviceFilter, InventoryChanges, NewCredential};
pub use jobs::JobTarget;
mod models;
pub mod notifications;
pub use notifications::{
    ChannelFields, ClaimedDelivery, DeliveryFilter, DeliveryOutcome, NotificationChannel,
    NotificationDelivery, NotificationRule, OutboxEvent, RuleFields,
};
pub mod retention;
pub use retention::{DueRemoval, HistoryPruned, PrunedVersion, Retention};
mod schedules;
mod scope;
pub use scope::Scope;
mod search;
mod staleness;
pub use search::{SearchFilter, SearchTarget};
pub use staleness::{HealthFigures, WentStale};

use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};

/// A pooled PostgreSQL connection idle this long is pinged before use.
const PING_IF_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(1);
use sqlx::{AnyPool, Connection as _, Executor};

pub use backups::{JobState, NewDeviceResult, NewStoredBackup};
pub use error::DbError;
pub use models::*;

/// Which engine a database runs on (for diagnostics only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A connection pool to a migrated DeviceVault database.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    engine: Engine,
    /// SQLite has one writer at a time. The frequent writes (jobs,
    /// results, stored backups, the audit log, the notifier's) take turns
    /// here, the most urgent first (see `gate`), instead of meeting in
    /// SQLite's busy handler. PostgreSQL writers run side by side: no
    /// gate.
    write_gate: Option<std::sync::Arc<gate::WriteGate>>,
    /// Audit appends waiting for the one being written (see `audit`).
    audit_queue: std::sync::Arc<audit::AuditQueue>,
}

/// A page of a list: `limit` rows after skipping `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: 50,
            offset: 0,
        }
    }
}

/// Rows of one page and the total count of the list.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<T> {
    pub rows: Vec<T>,
    pub total: i64,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Connects to `url` (`sqlite:<path>` or `postgres://…`), creating a
    /// SQLite file when missing, and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let engine = if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Engine::Postgres
        } else {
            return Err(DbError::Invalid(format!(
                "unsupported database URL {:?}: use sqlite:<path> or postgres://…",
                redact_url(url)
            )));
        };
        let url = match engine {
            Engine::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(DbError::from)?;
        if engine == Engine::Postgres {
            // One direct attempt first: a server that is down answers at
            // once, where the pool would keep trying for its whole acquire
            // timeout before saying so.
            let probe = sqlx::AnyConnection::connect_with(&options).await?;
            let _ = probe.close().await;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(match engine {
                Engine::Sqlite => 8,
                Engine::Postgres => 16,
            })
            // A SQLite connection is a file handle in this process: pinging
            // it before every checkout only adds a round trip to its worker
            // thread. A PostgreSQL connection can die with its server, so
            // one that sat idle for a second or more is pinged first; one
            // in constant use (the pipeline's, under load) is not, which
            // saves a round trip per statement (issue 22). A connection
            // that died since its last use fails its statement with a
            // transient error, retried like any other.
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if engine == Engine::Postgres && meta.idle_for >= PING_IF_IDLE_FOR {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let migrator = match engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&pool)
            .await
            .map_err(|e| DbError::Migration(e.to_string()))?;
        let write_gate =
            (engine == Engine::Sqlite).then(|| std::sync::Arc::new(gate::WriteGate::default()));
        Ok(Self {
            pool,
            engine,
            write_gate,
            audit_queue: Default::default(),
        })
    }

    /// The engine behind this pool.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Cheap liveness check, for `/api/health/`.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Held while the pipeline writes to the backup index (see
    /// `write_gate`).
    pub(crate) async fn write_gate(&self) -> Option<gate::GateGuard<'_>> {
        self.write_gate_for(WritePriority::Pipeline).await
    }

    /// Held while writing, with the writer's priority (see `gate`).
    pub(crate) async fn write_gate_for(
        &self,
        priority: WritePriority,
    ) -> Option<gate::GateGuard<'_>> {
        match &self.write_gate {
            Some(gate) => Some(gate.enter(priority).await),
            None => None,
        }
    }

    /// Whether a writer more urgent than `priority` waits at SQLite's gate
    /// (never on PostgreSQL, which has no gate).
    pub(crate) fn more_urgent_waiting(&self, priority: WritePriority) -> bool {
        self.write_gate
            .as_ref()
            .is_some_and(|gate| gate.more_urgent_waiting(priority))
    }
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
