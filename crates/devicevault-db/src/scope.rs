//! Which devices a user may see and back up (DESIGN §6: device groups scope
//! what a user sees and may do).
//!
//! Administrators see every device, archived ones and their history
//! included. Unrestricted users see every device that is not archived. A
//! restricted user sees the live devices of their device groups only — none
//! when they have no group, never every device by accident — and with them
//! only those devices' jobs, collection results and stored backups. Lists
//! filter in SQL; single objects outside the scope are "not found", so
//! their existence does not leak either. There is no default scope: every
//! request states whose it is.

use sqlx::{AssertSqlSafe, Row as _};

use crate::{Db, DbError, User};

/// The devices a request may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every device, archived ones included (administrators).
    Admin,
    /// Every device that is not archived.
    All,
    /// The live devices of these device groups (none if empty).
    Groups(Vec<i64>),
}

impl Scope {
    /// Whether a device of `device_group`, archived or not, is in scope.
    pub fn allows(&self, device_group: Option<i64>, archived: bool) -> bool {
        match self {
            Self::Admin => true,
            Self::All => !archived,
            Self::Groups(groups) => !archived && device_group.is_some_and(|g| groups.contains(&g)),
        }
    }

    /// Whether archived devices are visible at all.
    pub fn sees_archived(&self) -> bool {
        matches!(self, Self::Admin)
    }

    /// An SQL condition on a device's group column (`devices.device_group_id`).
    /// Lists of devices state separately whether they show archived ones.
    /// The ids are integers from the database, written inline.
    pub(crate) fn on_group(&self, column: &str) -> String {
        match self {
            Self::Admin | Self::All => "1 = 1".into(),
            Self::Groups(groups) if groups.is_empty() => "1 = 0".into(),
            Self::Groups(groups) => format!("{column} IN ({})", id_list(groups)),
        }
    }

    /// An SQL condition on a device id column of another table (jobs,
    /// results, stored backups): the history of archived devices is for
    /// administrators only.
    pub(crate) fn on_device(&self, column: &str) -> String {
        match self {
            Self::Admin => "1 = 1".into(),
            Self::All => {
                format!("{column} NOT IN (SELECT id FROM devices WHERE archived_at IS NOT NULL)")
            }
            Self::Groups(groups) if groups.is_empty() => "1 = 0".into(),
            Self::Groups(groups) => format!(
                "{column} IN (SELECT id FROM devices WHERE device_group_id IN ({}) AND archived_at IS NULL)",
                id_list(groups)
            ),
        }
    }
}

/// `$1, $2, …, $n`: the placeholders of `n` bound values.
pub(crate) fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Db {
    /// The scope of `user`'s requests.
    pub async fn scope_of(&self, user: &User) -> Result<Scope, DbError> {
        if user.is_admin() {
            return Ok(Scope::Admin);
        }
        if !user.restricted {
            return Ok(Scope::All);
        }
        Ok(Scope::Groups(self.user_device_groups(user.id).await?))
    }

    /// The device groups a user is restricted to, by id.
    pub async fn user_device_groups(&self, user_id: i64) -> Result<Vec<i64>, DbError> {
        let rows = sqlx::query(
            "SELECT device_group_id FROM user_device_groups WHERE user_id = $1 \
             ORDER BY device_group_id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get("device_group_id")?))
            .collect()
    }

    /// Restricts a user to `groups` (`Some`, possibly empty) or lets them
    /// see every device (`None`). Unknown group ids are an error.
    pub async fn set_user_scope(
        &self,
        user_id: i64,
        groups: Option<&[i64]>,
    ) -> Result<(), DbError> {
        let mut tx = self.pool().begin().await?;
        set_scope_in(&mut tx, user_id, groups).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A new user with its role, its scope (as [`Db::set_user_scope`]) and
    /// its `view_secrets`, in one transaction: never a moment when a
    /// restricted user could see every device.
    pub async fn create_user_with(
        &self,
        username: &str,
        password_hash: &str,
        role: devicevault_core::Role,
        groups: Option<&[i64]>,
        view_secrets: bool,
    ) -> Result<User, DbError> {
        if username.trim().is_empty() {
            return Err(DbError::Invalid("username is empty".into()));
        }
        let mut tx = self.pool().begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO users (username, password_hash, role, view_secrets, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(username)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(i64::from(view_secrets))
        .bind(devicevault_core::Timestamp::now().to_string())
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        set_scope_in(&mut tx, id, groups).await?;
        tx.commit().await?;
        self.user(id).await
    }
}

impl Db {
    /// Whether device `device_id` is in `scope` (no query for
    /// [`Scope::Admin`]). A device that does not exist is not.
    pub async fn device_in_scope(&self, scope: &Scope, device_id: i64) -> Result<bool, DbError> {
        if *scope == Scope::Admin {
            return Ok(true);
        }
        match self.device(device_id).await {
            Ok(d) => Ok(scope.allows(d.fields.device_group, d.archived_at.is_some())),
            Err(DbError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Those of `ids` that are in `scope`, in the order given.
    pub async fn devices_in_scope(&self, scope: &Scope, ids: &[i64]) -> Result<Vec<i64>, DbError> {
        if ids.is_empty() || *scope == Scope::Admin {
            return Ok(ids.to_vec());
        }
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT id FROM devices WHERE id IN ({}) AND {} AND archived_at IS NULL",
            id_list(ids),
            scope.on_group("device_group_id")
        )))
        .fetch_all(self.pool())
        .await?;
        let visible: std::collections::HashSet<i64> = rows
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?;
        Ok(ids
            .iter()
            .copied()
            .filter(|i| visible.contains(i))
            .collect())
    }

    /// Where the devices `ids` are: `(id, device group, archived)` of each
    /// that exists, by id (what a change reaches, for `app::rights`).
    pub async fn device_placements(
        &self,
        ids: &[i64],
    ) -> Result<Vec<(i64, Option<i64>, bool)>, DbError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT id, device_group_id, archived_at FROM devices WHERE id IN ({}) ORDER BY id",
            id_list(ids)
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let archived: Option<String> = r.try_get("archived_at")?;
                Ok((
                    r.try_get("id")?,
                    r.try_get("device_group_id")?,
                    archived.is_some(),
                ))
            })
            .collect()
    }
}

/// [`Db::set_user_scope`] inside a transaction.
pub(crate) async fn set_scope_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: i64,
    groups: Option<&[i64]>,
) -> Result<(), DbError> {
    let done = sqlx::query("UPDATE users SET restricted = $1 WHERE id = $2")
        .bind(i64::from(groups.is_some()))
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(crate::inventory::not_found(format!("user {user_id}")));
    }
    sqlx::query("DELETE FROM user_device_groups WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for g in groups.unwrap_or_default() {
        let known = sqlx::query(AssertSqlSafe(
            "SELECT COUNT(*) AS n FROM device_groups WHERE id = $1".to_owned(),
        ))
        .bind(*g)
        .fetch_one(&mut **tx)
        .await?
        .try_get::<i64, _>("n")?;
        if known == 0 {
            return Err(DbError::Invalid(format!("device group {g} does not exist")));
        }
        sqlx::query(
            "INSERT INTO user_device_groups (user_id, device_group_id) VALUES ($1, $2) \
         ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(*g)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
