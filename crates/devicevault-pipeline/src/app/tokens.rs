//! Named API tokens: the rules every front end (API, web UI, CLI) applies.
//! A named token has a name a person recognises and an expiry — 90 days
//! unless asked otherwise, never only when asked; its secret is shown
//! once and only its digest is stored.

use devicevault_core::Timestamp;
use devicevault_db::{DbError, TokenInfo, TokenKind};

use super::App;
use super::auth;
use super::inventory::FieldErrors;

/// Lifetime of a named token when the request does not say.
pub const DEFAULT_TOKEN_DAYS: i64 = 90;
/// The longest lifetime a named token may ask for (ten years).
pub const MAX_TOKEN_DAYS: i64 = 3650;

/// The expiry of a named token asked to live `days` (`None`: never).
pub fn expiry_in_days(days: Option<i64>) -> Result<Option<Timestamp>, String> {
    match days {
        None => Ok(None),
        Some(d) if (1..=MAX_TOKEN_DAYS).contains(&d) => Ok(Some(Timestamp::from_datetime(
            Timestamp::now().as_datetime() + time::Duration::days(d),
        ))),
        Some(_) => Err(format!(
            "must be between 1 and {MAX_TOKEN_DAYS} days, or null for a token that never expires"
        )),
    }
}

/// A token name: what a person will recognise in a list.
pub fn check_token_name(name: &str) -> Result<String, String> {
    devicevault_core::Name::parse(name)
        .map(|n| n.into_string())
        .map_err(|e| e.to_string())
}

/// A named token as submitted: its name, and how many days it lives
/// (`None`: until revoked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInput {
    pub name: String,
    pub expires_in_days: Option<i64>,
}

impl TokenInput {
    /// The name and the expiry, or what is wrong with them (`name`,
    /// `expires_in_days`).
    pub fn validate(&self) -> Result<(String, Option<Timestamp>), FieldErrors> {
        let mut e = FieldErrors::default();
        let name = check_token_name(&self.name).unwrap_or_else(|m| {
            e.add("name", m);
            String::new()
        });
        let expires = expiry_in_days(self.expires_in_days).unwrap_or_else(|m| {
            e.add("expires_in_days", m);
            None
        });
        e.or((name, expires))
    }
}

/// Makes a named token for `user_id`; returns it and its secret.
pub async fn make_named_token(
    app: &App,
    user_id: i64,
    name: &str,
    expires_at: Option<Timestamp>,
) -> Result<(TokenInfo, String), DbError> {
    auth::issue_token(&app.db, user_id, TokenKind::Named, Some(name), expires_at).await
}
