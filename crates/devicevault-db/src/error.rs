use devicevault_core::{Retry, RetryClass};

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("migrating the database failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Sqlx(sqlx::Error),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                Self::Conflict(format!("already exists: {}", d.message()))
            }
            sqlx::Error::Database(d)
                if d.is_foreign_key_violation() || is_sqlite_restrict(&**d) =>
            {
                Self::Conflict(format!(
                    "still referenced or refers to a missing object: {}",
                    d.message()
                ))
            }
            sqlx::Error::Database(d) if d.is_check_violation() => {
                Self::Invalid(format!("invalid value: {}", d.message()))
            }
            _ => Self::Sqlx(e),
        }
    }
}

/// SQLite reports an `ON DELETE RESTRICT` violation as
/// `SQLITE_CONSTRAINT_TRIGGER` (1811), not `SQLITE_CONSTRAINT_FOREIGNKEY`
/// (787), so sqlx does not see a foreign key violation in it.
fn is_sqlite_restrict(d: &dyn sqlx::error::DatabaseError) -> bool {
    d.code().as_deref() == Some("1811") && d.message().contains("FOREIGN KEY")
}

impl RetryClass for DbError {
    fn retry(&self) -> Retry {
        match self {
            Self::Sqlx(
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Tls(_),
            ) => Retry::Transient,
            // Busy/locked SQLite and serialization failures in PostgreSQL.
            Self::Sqlx(sqlx::Error::Database(d))
                if matches!(
                    d.code().as_deref(),
                    Some("5" | "6" | "40001" | "40P01" | "57P01" | "57P03")
                ) =>
            {
                Retry::Transient
            }
            _ => Retry::Permanent,
        }
    }
}
