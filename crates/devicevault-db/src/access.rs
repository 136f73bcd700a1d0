//! Access: API tokens, web sessions and the failed-login throttle.
//!
//! Every credential a client holds is a row of `api_tokens` keeping only
//! the SHA-256 of the secret, with a [`TokenKind`]:
//! - a **login** token, minted by `POST /api/auth/login/`, dies after an
//!   idle period (it is renewed by use);
//! - a **named** token, made on purpose for a script, has a name and an
//!   expiry (or none, when asked);
//! - a **session** is a web sign-in, with a fixed lifetime.
//!
//! A token only works where its kind belongs ([`TokenUse`]): a session
//! cookie is never an API token nor the reverse. Deleting a user deletes
//! its tokens by cascade; a password change revokes them
//! ([`Db::revoke_user_tokens`]).
//!
//! The throttle counts consecutive failed logins per username — known or
//! not, so that its answers never tell which usernames exist — and holds
//! the time until which the name is locked.

use devicevault_core::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::inventory::{USER_COLUMNS_U, not_found, user};
use crate::{Db, DbError, User};

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// From `POST /api/auth/login/`; expires after an idle period.
    Login,
    /// Made on purpose, with a name and an expiry.
    Named,
    /// A web session cookie.
    Session,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Named => "named",
            Self::Session => "session",
        }
    }

    fn parse(s: &str) -> Result<Self, DbError> {
        match s {
            "login" => Ok(Self::Login),
            "named" => Ok(Self::Named),
            "session" => Ok(Self::Session),
            other => Err(DbError::Invalid(format!("unknown token kind {other:?}"))),
        }
    }
}

/// Where a presented token is being used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// `Authorization: Token …` on the API: login and named tokens.
    Api,
    /// The web UI's session cookie.
    Session,
}

/// A token as lists show it (never its secret, which is not stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    pub kind: TokenKind,
    pub name: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    /// `None`: never expires (named tokens made so) or expires when idle
    /// (login tokens; see [`TokenPolicy::login_idle`]).
    pub expires_at: Option<String>,
}

/// A token to record.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub user_id: i64,
    /// SHA-256 hex of the secret.
    pub digest: &'a str,
    pub kind: TokenKind,
    pub name: Option<&'a str>,
    pub expires_at: Option<Timestamp>,
}

/// How long tokens live without an expiry of their own.
#[derive(Debug, Clone, Copy)]
pub struct TokenPolicy {
    /// A login token unused this long is dead.
    pub login_idle: std::time::Duration,
    /// Use is recorded at most this often per token (a write per request
    /// would queue every API call behind the database's writer).
    pub touch_every: std::time::Duration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            login_idle: std::time::Duration::from_secs(12 * 3600),
            touch_every: std::time::Duration::from_secs(60),
        }
    }
}

fn minus(t: Timestamp, d: std::time::Duration) -> Timestamp {
    Timestamp::from_datetime(t.as_datetime() - d)
}

const TOKEN_COLUMNS: &str = "t.id AS t_id, t.user_id AS t_user_id, u.username AS t_username, \
     t.kind AS t_kind, t.name AS t_name, t.created_at AS t_created_at, \
     t.last_used_at AS t_last_used_at, t.expires_at AS t_expires_at";

fn token(row: &AnyRow) -> Result<TokenInfo, DbError> {
    Ok(TokenInfo {
        id: row.try_get("t_id")?,
        user_id: row.try_get("t_user_id")?,
        username: row.try_get("t_username")?,
        kind: TokenKind::parse(&row.try_get::<String, _>("t_kind")?)?,
        name: row.try_get("t_name")?,
        created_at: row.try_get("t_created_at")?,
        last_used_at: row.try_get("t_last_used_at")?,
        expires_at: row.try_get("t_expires_at")?,
    })
}

/// The failed-login record of a username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Consecutive failures since the last success.
    pub failures: i64,
    /// Logins of this username are refused until then.
    pub locked_until: Option<Timestamp>,
}

impl Db {
    // ---- tokens -------------------------------------------------------------

    /// Records a new token and returns it as lists show it.
    pub async fn add_token(&self, t: NewToken<'_>) -> Result<TokenInfo, DbError> {
        let now = Timestamp::now().to_string();
        let id: i64 = sqlx::query(
            "INSERT INTO api_tokens (user_id, token_sha256, kind, name, created_at, last_used_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING id",
        )
        .bind(t.user_id)
        .bind(t.digest)
        .bind(t.kind.as_str())
        .bind(t.name)
        .bind(&now)
        .bind(t.expires_at.map(|e| e.to_string()))
        .fetch_one(self.pool())
        .await?
        .try_get("id")?;
        self.token(id).await
    }

    /// One token, by id.
    pub async fn token(&self, id: i64) -> Result<TokenInfo, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("token {id}")))?;
        token(&row)
    }

    /// The user and token behind a presented secret (its SHA-256), if the
    /// token is alive and of a kind that `usage` accepts; records its use
    /// (at most every `policy.touch_every`).
    pub async fn authenticate(
        &self,
        digest: &str,
        usage: TokenUse,
        now: Timestamp,
        policy: &TokenPolicy,
    ) -> Result<Option<(User, TokenInfo)>, DbError> {
        let kinds = match usage {
            TokenUse::Api => "('login', 'named')",
            TokenUse::Session => "('session')",
        };
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS_U}, {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_sha256 = $1 AND t.kind IN {kinds} \
             AND (t.expires_at IS NULL OR t.expires_at > $2) \
             AND (t.kind <> 'login' OR t.last_used_at > $3) AND u.disabled_at IS NULL"
        )))
        .bind(digest)
        .bind(now.to_string())
        .bind(minus(now, policy.login_idle).to_string())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (u, t) = (user(&row)?, token(&row)?);
        let stale = t
            .last_used_at
            .as_deref()
            .is_none_or(|last| last < minus(now, policy.touch_every).to_string().as_str());
        if stale {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now.to_string())
                .bind(t.id)
                .execute(self.pool())
                .await?;
        }
        Ok(Some((u, t)))
    }

    /// Forgets a token (given as the SHA-256 of its secret). Returns whether
    /// it existed.
    pub async fn revoke_token(&self, digest: &str) -> Result<bool, DbError> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE token_sha256 = $1")
            .bind(digest)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Tokens and sessions, newest first: of one user, or of everyone.
    pub async fn list_tokens(&self, user_id: Option<i64>) -> Result<Vec<TokenInfo>, DbError> {
        let filter = if user_id.is_some() {
            "WHERE t.user_id = $1"
        } else {
            "WHERE $1 IS NULL"
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id {filter} \
             ORDER BY t.created_at DESC, t.id DESC"
        )))
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(token).collect()
    }

    /// Revokes token `id`; with `owner`, only if it belongs to that user
    /// (another user's token is "not found").
    pub async fn delete_token(&self, owner: Option<i64>, id: i64) -> Result<TokenInfo, DbError> {
        let t = self.token(id).await?;
        if owner.is_some_and(|o| o != t.user_id) {
            return Err(not_found(format!("token {id}")));
        }
        sqlx::query("DELETE FROM api_tokens WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(t)
    }

    /// Revokes every token and session of a user but `except` (the session
    /// the request came with). Returns how many went.
    pub async fn revoke_user_tokens(
        &self,
        user_id: i64,
        except: Option<i64>,
    ) -> Result<u64, DbError> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE user_id = $1 AND id <> $2")
            .bind(user_id)
            .bind(except.unwrap_or(-1))
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Sets a user's password hash and revokes every token and session of
    /// the user but `keep`, in one transaction: a changed password never
    /// leaves an old credential alive.
    pub async fn change_password(
        &self,
        user_id: i64,
        password_hash: &str,
        keep: Option<i64>,
    ) -> Result<u64, DbError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(not_found(format!("user {user_id}")));
        }
        let revoked = sqlx::query("DELETE FROM api_tokens WHERE user_id = $1 AND id <> $2")
            .bind(user_id)
            .bind(keep.unwrap_or(-1))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(revoked)
    }

    /// Deletes dead tokens: expired ones, login tokens idle longer than the
    /// policy allows. Returns how many went.
    pub async fn prune_tokens(&self, now: Timestamp, policy: &TokenPolicy) -> Result<u64, DbError> {
        let done = sqlx::query(
            "DELETE FROM api_tokens WHERE (expires_at IS NOT NULL AND expires_at <= $1) \
             OR (kind = 'login' AND last_used_at <= $2)",
        )
        .bind(now.to_string())
        .bind(minus(now, policy.login_idle).to_string())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    // ---- failed logins ---------------------------------------------------------

    /// The failed-login record of `username` (nothing after a success).
    pub async fn login_throttle(&self, username: &str) -> Result<Option<LoginThrottle>, DbError> {
        let row =
            sqlx::query("SELECT failures, locked_until FROM login_throttle WHERE username = $1")
                .bind(username)
                .fetch_optional(self.pool())
                .await?;
        row.map(|r| {
            Ok(LoginThrottle {
                failures: r.try_get("failures")?,
                locked_until: r
                    .try_get::<Option<String>, _>("locked_until")?
                    .and_then(|s| Timestamp::parse(&s).ok()),
            })
        })
        .transpose()
    }

    /// Counts a failed login of `username` and locks it until `lock(n)`
    /// after the n-th consecutive failure (`None`: not locked). Returns the
    /// new record.
    pub async fn record_login_failure(
        &self,
        username: &str,
        now: Timestamp,
        lock: impl Fn(i64) -> Option<Timestamp>,
    ) -> Result<LoginThrottle, DbError> {
        let failures: i64 = sqlx::query(
            "INSERT INTO login_throttle (username, failures, updated_at) VALUES ($1, 1, $2) \
             ON CONFLICT (username) DO UPDATE SET failures = login_throttle.failures + 1, updated_at = $2 \
             RETURNING failures",
        )
        .bind(username)
        .bind(now.to_string())
        .fetch_one(self.pool())
        .await?
        .try_get("failures")?;
        let locked_until = lock(failures);
        sqlx::query("UPDATE login_throttle SET locked_until = $1 WHERE username = $2")
            .bind(locked_until.map(|t| t.to_string()))
            .bind(username)
            .execute(self.pool())
            .await?;
        Ok(LoginThrottle {
            failures,
            locked_until,
        })
    }

    /// Forgets the failures of `username` (after a successful login).
    pub async fn clear_login_failures(&self, username: &str) -> Result<(), DbError> {
        sqlx::query("DELETE FROM login_throttle WHERE username = $1")
            .bind(username)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Forgets failure records not touched since `before` and not locked
    /// beyond it (names an attacker tried once, long ago).
    pub async fn prune_login_throttle(&self, before: Timestamp) -> Result<u64, DbError> {
        let done = sqlx::query(
            "DELETE FROM login_throttle WHERE updated_at < $1 \
             AND (locked_until IS NULL OR locked_until < $1)",
        )
        .bind(before.to_string())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    // ---- permissions --------------------------------------------------------------

    /// Grants or withdraws the `view_secrets` permission.
    pub async fn set_user_view_secrets(&self, id: i64, allowed: bool) -> Result<(), DbError> {
        let done = sqlx::query("UPDATE users SET view_secrets = $1 WHERE id = $2")
            .bind(i64::from(allowed))
            .bind(id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(not_found(format!("user {id}")));
        }
        Ok(())
    }
}
