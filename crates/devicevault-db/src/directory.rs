//! Accounts whose rights come from a directory or a single sign-on
//! provider (issue 20): `users.source` is `ldap` or `oidc:<provider>`.
//!
//! Every change to such an account is one transaction: a sign-in or a
//! periodic check writes the role, the device groups, `view_secrets`, the
//! source and `directory_checked_at` together, so a request never sees a
//! user half refreshed; a disabled or gone account gets `disabled_at` and
//! loses every token and session in the same transaction, so no credential
//! outlives the directory's answer.

use devicevault_core::{Role, Timestamp};
use sqlx::{AssertSqlSafe, Row as _};

use crate::inventory::{USER_COLUMNS_U, user};
use crate::{Db, DbError, User};

/// What a directory grants an account, by device group *name*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryGrant<'a> {
    pub role: Role,
    /// `None`: every device; `Some`: these device groups (names).
    pub device_groups: Option<&'a [String]>,
    pub view_secrets: bool,
    /// The mapping rows that applied (their `group`), to show why.
    pub granted_by: &'a [String],
    /// The directory groups the account was in.
    pub groups: &'a [String],
}

/// Why a directory account has its rights, as of its last sign-in or check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// The `group` of each mapping row that applied.
    pub granted_by: Vec<String>,
    /// The directory groups the account was in.
    pub groups: Vec<String>,
    pub updated_at: String,
}

/// What [`Db::provision_directory_user`] did.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub user: User,
    /// The account did not exist before this sign-in.
    pub created: bool,
    /// Device groups the grant names that do not exist here (skipped).
    pub missing_groups: Vec<String>,
}

/// A directory account's `source` value, for the LDAP directory.
pub const SOURCE_LDAP: &str = "ldap";

/// The `source` of an account of OpenID provider `name`.
pub fn oidc_source(name: &str) -> String {
    format!("oidc:{name}")
}

impl Db {
    /// Creates the account `username` of `source` on its first sign-in, or
    /// refreshes it, with `grant` — in one transaction: role, device
    /// groups (names resolved here; unknown ones skipped and returned),
    /// `view_secrets`, `directory_checked_at = now`, and `disabled_at`
    /// cleared (the directory has just vouched for the account).
    ///
    /// An existing account of another source (a local account above all)
    /// is never taken over: that is [`DbError::Conflict`].
    pub async fn provision_directory_user(
        &self,
        username: &str,
        source: &str,
        grant: &DirectoryGrant<'_>,
        unusable_password_hash: &str,
        now: Timestamp,
    ) -> Result<Provisioned, DbError> {
        if username.trim().is_empty() {
            return Err(DbError::Invalid("username is empty".into()));
        }
        if source == "local" {
            return Err(DbError::Invalid(
                "a directory account cannot have the source `local`".into(),
            ));
        }
        let mut tx = self.pool().begin().await?;
        let existing = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS_U} FROM users u WHERE u.username = $1"
        )))
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(user)
        .transpose()?;
        let (id, created) = match existing {
            Some(u) if u.source != source => {
                return Err(DbError::Conflict(format!(
                    "the user {username:?} already exists as a {} account; a {source} sign-in \
                     cannot take it over (rename or delete one of them)",
                    if u.source == "local" {
                        "local".to_owned()
                    } else {
                        u.source.clone()
                    }
                )));
            }
            Some(u) => {
                sqlx::query(
                    "UPDATE users SET role = $1, restricted = $2, view_secrets = $3, \
                     directory_checked_at = $4, disabled_at = NULL WHERE id = $5",
                )
                .bind(grant.role.as_str())
                .bind(i64::from(grant.device_groups.is_some()))
                .bind(i64::from(grant.view_secrets))
                .bind(now.to_string())
                .bind(u.id)
                .execute(&mut *tx)
                .await?;
                (u.id, false)
            }
            None => {
                let row = sqlx::query(
                    "INSERT INTO users (username, password_hash, role, restricted, view_secrets, \
                     created_at, source, directory_checked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $6) RETURNING id",
                )
                .bind(username)
                .bind(unusable_password_hash)
                .bind(grant.role.as_str())
                .bind(i64::from(grant.device_groups.is_some()))
                .bind(i64::from(grant.view_secrets))
                .bind(now.to_string())
                .bind(source)
                .fetch_one(&mut *tx)
                .await?;
                (row.try_get::<i64, _>("id")?, true)
            }
        };
        sqlx::query("DELETE FROM user_device_groups WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let mut missing_groups = Vec::new();
        for name in grant.device_groups.unwrap_or_default() {
            let group = sqlx::query("SELECT id FROM device_groups WHERE name = $1")
                .bind(name.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let Some(group) = group else {
                missing_groups.push(name.clone());
                continue;
            };
            sqlx::query(
                "INSERT INTO user_device_groups (user_id, device_group_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(group.try_get::<i64, _>("id")?)
            .execute(&mut *tx)
            .await?;
        }
        let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO directory_grants (user_id, granted_by, groups, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET \
             granted_by = excluded.granted_by, groups = excluded.groups, \
             updated_at = excluded.updated_at",
        )
        .bind(id)
        .bind(json(grant.granted_by))
        .bind(json(grant.groups))
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS_U} FROM users u WHERE u.id = $1"
        )))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let user = user(&row)?;
        tx.commit().await?;
        Ok(Provisioned {
            user,
            created,
            missing_groups,
        })
    }

    /// Marks directory account `user_id` disabled at `now` and revokes every
    /// token and session it has, in one transaction. Returns how many
    /// tokens and sessions went. A local account is refused
    /// ([`DbError::Invalid`]): the directory has no say over it.
    pub async fn disable_directory_user(
        &self,
        user_id: i64,
        now: Timestamp,
    ) -> Result<u64, DbError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE users SET disabled_at = COALESCE(disabled_at, $1), directory_checked_at = $1 \
             WHERE id = $2 AND source <> 'local'",
        )
        .bind(now.to_string())
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::Invalid(format!(
                "user {user_id} is not a directory account"
            )));
        }
        let revoked = sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(revoked)
    }

    /// Why directory account `user_id` has its rights (`None` for a local
    /// account, or one that never signed in since the record existed).
    pub async fn directory_grant(&self, user_id: i64) -> Result<Option<GrantRecord>, DbError> {
        let row = sqlx::query(
            "SELECT granted_by, groups, updated_at FROM directory_grants WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let list = |col: &str| -> Result<Vec<String>, DbError> {
            let text: String = row.try_get(col)?;
            serde_json::from_str(&text).map_err(|e| DbError::Invalid(format!("{col}: {e}")))
        };
        Ok(Some(GrantRecord {
            granted_by: list("granted_by")?,
            groups: list("groups")?,
            updated_at: row.try_get("updated_at")?,
        }))
    }

    /// The enabled accounts of `source` the directory last confirmed before
    /// `checked_before` (or never), oldest check first: those a periodic
    /// check asks the directory about.
    pub async fn directory_users_due(
        &self,
        source: &str,
        checked_before: Timestamp,
    ) -> Result<Vec<User>, DbError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS_U} FROM users u WHERE u.source = $1 AND u.disabled_at IS NULL \
             AND (u.directory_checked_at IS NULL OR u.directory_checked_at < $2) \
             ORDER BY u.directory_checked_at, u.id"
        )))
        .bind(source)
        .bind(checked_before.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok(user(r)?)).collect()
    }
}
