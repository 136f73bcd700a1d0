//! Accounts: the rules of a new user and of a new password, for every front
//! end that makes or changes one (the web UI's forms, the CLI).

use devicevault_core::Role;

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
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserInput {
    pub username: String,
    pub password: NewPassword,
    pub role: Role,
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
            role: Role::Reader,
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
            role: Role::Reader,
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
