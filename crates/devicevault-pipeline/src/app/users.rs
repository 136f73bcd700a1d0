//! Accounts: the rules of a new user and of a new password, for every front
//! end that makes or changes one (the web UI's forms, the CLI).

use devicevault_core::{RetryClass as _, Role};
use devicevault_db::{Db, DbError, User};

use super::auth;
use super::inventory::FieldErrors;

/// The longest username.
pub const MAX_USERNAME_CHARS: usize = 150;

/// A new password, with the confirmation a form asks for (`None` when the
/// front end has none).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewPassword {
    pub password: String,
    pub confirm: Option<String>,
}

impl NewPassword {
    /// Checks the password's length and that both copies agree; errors are
    /// on `password` and `password_confirm`.
    pub fn validate(&self) -> Result<String, FieldErrors> {
        let mut e = FieldErrors::default();
        self.check(&mut e);
        e.or(self.password.clone())
    }

    fn check(&self, e: &mut FieldErrors) {
        if let Err(m) = auth::check_new_password(&self.password) {
            e.add("password", m);
        } else if self.confirm.as_ref().is_some_and(|c| *c != self.password) {
            e.add("password_confirm", "the two passwords differ");
        }
    }
}

/// A user as submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInput {
    pub username: String,
    pub password: NewPassword,
    pub role: Role,
    /// The device groups (by id) an operator or a reader is restricted
    /// to; `None`: every device.
    pub device_groups: Option<Vec<i64>>,
    /// Sees the secrets in stored configurations (administrators always do).
    pub view_secrets: bool,
}

impl Default for UserInput {
    fn default() -> Self {
        Self {
            username: String::new(),
            password: NewPassword::default(),
            role: Role::Reader,
            device_groups: None,
            view_secrets: false,
        }
    }
}

/// Why a change of users is refused.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The fields are wrong (a taken username among them).
    #[error("{0}")]
    Invalid(FieldErrors),
    /// Demoting, disabling or deleting the last administrator.
    #[error("{0} is the last administrator: make another user an administrator first")]
    LastAdmin(String),
    #[error("hashing the password failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl UserError {
    /// Whether trying again unchanged can succeed (a database outage).
    pub fn retry_helps(&self) -> bool {
        matches!(self, Self::Db(e) if e.is_transient())
    }
}

/// Creates a local user — its role, device groups and `view_secrets` in
/// the same transaction — for every front end (the API, the web UI, the
/// command line). The password is hashed off the async threads.
pub async fn create(db: &Db, input: &UserInput) -> Result<User, UserError> {
    let (username, password) = input.validate().map_err(UserError::Invalid)?;
    let groups = input.device_groups.as_deref();
    if input.role == Role::Admin && groups.is_some() {
        let mut e = FieldErrors::default();
        e.add("device_groups", "an administrator reaches every device");
        return Err(UserError::Invalid(e));
    }
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| UserError::Hash(e.to_string()))?
        .map_err(|e| UserError::Hash(e.to_string()))?;
    match db
        .create_user_with(&username, &hash, input.role, groups, input.view_secrets)
        .await
    {
        Ok(u) => Ok(u),
        Err(DbError::Conflict(_)) => Err(UserError::Invalid(username_taken())),
        Err(DbError::Invalid(m)) => {
            let mut e = FieldErrors::default();
            e.add("device_groups", m);
            Err(UserError::Invalid(e))
        }
        Err(e) => Err(e.into()),
    }
}

/// A change of a user's rights; what is `None` stays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RightsChange {
    pub role: Option<Role>,
    /// `Some(None)`: every device; `Some(Some(ids))`: these device groups.
    pub device_groups: Option<Option<Vec<i64>>>,
    pub view_secrets: Option<bool>,
}

/// Changes a user's role, device groups or `view_secrets`; never leaves
/// the installation without an administrator.
pub async fn change_rights(db: &Db, id: i64, change: &RightsChange) -> Result<User, UserError> {
    let user = db.user(id).await?;
    if let Some(role) = change.role {
        if user.is_admin() && role != Role::Admin && db.count_admins().await? <= 1 {
            return Err(UserError::LastAdmin(user.username));
        }
        db.set_user_role(id, role).await?;
    }
    if let Some(groups) = &change.device_groups {
        match db.set_user_scope(id, groups.as_deref()).await {
            Err(DbError::Invalid(m)) => {
                let mut e = FieldErrors::default();
                e.add("device_groups", m);
                return Err(UserError::Invalid(e));
            }
            other => other?,
        }
    }
    if let Some(v) = change.view_secrets {
        db.set_user_view_secrets(id, v).await?;
    }
    Ok(db.user(id).await?)
}

/// Deletes a user; refuses the last administrator.
pub async fn delete(db: &Db, id: i64) -> Result<(), UserError> {
    let user = db.user(id).await?;
    if user.is_admin() && db.count_admins().await? <= 1 {
        return Err(UserError::LastAdmin(user.username));
    }
    Ok(db.delete_user(id).await?)
}

impl UserInput {
    /// Checks the username (1–150 characters, no spaces or control
    /// characters) and the password; returns both.
    pub fn validate(&self) -> Result<(String, String), FieldErrors> {
        let mut e = FieldErrors::default();
        let username = self.username.trim();
        if username.is_empty()
            || username.chars().count() > MAX_USERNAME_CHARS
            || username
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            e.add("username", "1–150 characters, without spaces");
        }
        self.password.check(&mut e);
        e.or((username.to_owned(), self.password.password.clone()))
    }
}

/// The field error of a username that is taken.
pub fn username_taken() -> FieldErrors {
    let mut e = FieldErrors::default();
    e.add("username", "this username is taken");
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_needs_a_plain_username_and_a_confirmed_password() {
        let ok = UserInput {
            username: " ann ".into(),
            password: NewPassword {
                password: "long enough".into(),
                confirm: Some("long enough".into()),
            },
            ..UserInput::default()
        };
        assert_eq!(
            ok.validate().unwrap(),
            ("ann".to_owned(), "long enough".to_owned())
        );
        let bad = UserInput {
            username: "a b".into(),
            password: NewPassword {
                password: "long enough".into(),
                confirm: Some("other".into()),
            },
            ..UserInput::default()
        };
        let e = bad.validate().unwrap_err();
        assert_eq!(e.of("username").count(), 1);
        assert_eq!(e.of("password_confirm").count(), 1);
        let short = NewPassword {
            password: "short".into(),
            confirm: None,
        };
        assert_eq!(short.validate().unwrap_err().of("password").count(), 1);
    }
}
