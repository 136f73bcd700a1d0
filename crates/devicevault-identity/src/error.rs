//! The one error type of the crate, with its retry class.

use devicevault_core::{Retry, RetryClass};

/// Why a sign-in, an account check or a provider discovery failed.
///
/// No message carries a password, a client secret, a code or a token; a
/// username may appear (it is not a secret, and logs need it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The configuration cannot work (bad URL or filter, unreadable CA
    /// file, …). Found when the configuration is loaded.
    #[error("identity configuration: {0}")]
    Config(String),

    /// An `ldap://` URL without StartTLS, or an `http://` issuer, while
    /// plaintext is not explicitly allowed.
    #[error(
        "{url} would send passwords in plaintext: use {fix}, or set allow_plaintext = true \
         (only on a network you trust)"
    )]
    PlaintextRefused {
        /// The refused URL.
        url: String,
        /// What to use instead.
        fix: &'static str,
    },

    /// The server could not be reached or dropped the connection.
    #[error("cannot reach {server}: {reason}")]
    Unreachable {
        /// The LDAP URL or the provider's issuer.
        server: String,
        /// The cause, as the network layer tells it.
        reason: String,
    },

    /// The server did not answer in time.
    #[error("{server} did not answer within {seconds} s")]
    Timeout {
        /// The LDAP URL or the provider's issuer.
        server: String,
        /// The configured limit.
        seconds: u64,
    },

    /// The TLS handshake failed (untrusted certificate, wrong name, no
    /// common protocol): a configuration matter on one side or the other.
    #[error("TLS with {server} failed: {reason}")]
    Tls {
        /// The LDAP URL.
        server: String,
        /// The handshake error.
        reason: String,
    },

    /// Unknown user or wrong password: deliberately one answer for both.
    #[error("invalid username or password")]
    InvalidCredentials,

    /// An empty password. Refused before it reaches the directory: an LDAP
    /// simple bind with a DN and no password is an *unauthenticated* bind,
    /// which many servers answer with success.
    #[error("an empty password is refused")]
    EmptyPassword,

    /// The directory marks the account as disabled or locked.
    #[error("the directory account is disabled")]
    AccountDisabled,

    /// The user filter matched more than one entry: the filter is too wide.
    #[error("the user filter matches more than one directory entry for {username}")]
    AmbiguousUser {
        /// The username as typed.
        username: String,
    },

    /// The directory answered an operation with an error result.
    #[error("the directory refused to {operation}: {message} (LDAP result {code})")]
    Directory {
        /// What was asked (`bind as the service account`, `search users`, …).
        operation: &'static str,
        /// The LDAP result code (RFC 4511, appendix A).
        code: u32,
        /// The server's diagnostic text, or the code's name.
        message: String,
    },

    /// The OpenID provider answered with something unusable or with an error
    /// status (discovery, keys, token or user-info endpoint).
    #[error("OpenID provider {issuer}: {reason}")]
    Provider {
        /// The provider's issuer.
        issuer: String,
        /// What was wrong.
        reason: String,
        /// Whether the provider signalled a passing condition (HTTP 5xx).
        transient: bool,
    },

    /// The provider sent the user back with an error (`access_denied`, …).
    #[error("the OpenID provider refused the sign-in: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Denied {
        /// The OAuth error code.
        error: String,
        /// The provider's description, if any.
        description: Option<String>,
    },

    /// The callback does not belong to the pending login it is presented
    /// with (state, issuer, provider), or the pending login is too old.
    #[error("the sign-in callback does not match the pending login: {0}")]
    CallbackMismatch(&'static str),

    /// The ID token failed validation.
    #[error("ID token rejected ({kind}): {detail}")]
    IdTokenRejected {
        /// Which check failed.
        kind: IdTokenCheck,
        /// The validator's explanation (never the token).
        detail: String,
    },

    /// A claim DeviceVault needs is missing or of the wrong type.
    #[error("the provider's claims lack a usable {0}")]
    MissingClaim(String),
}

/// The ID-token check that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenCheck {
    /// Signature (or signing algorithm, or key).
    Signature,
    /// `iss`.
    Issuer,
    /// `aud`.
    Audience,
    /// `exp`.
    Expiry,
    /// `nonce`.
    Nonce,
    /// `at_hash` (the access token was swapped).
    AccessTokenHash,
    /// Anything else (malformed, unsupported).
    Other,
}

impl std::fmt::Display for IdTokenCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IdTokenCheck::Signature => "signature",
            IdTokenCheck::Issuer => "issuer",
            IdTokenCheck::Audience => "audience",
            IdTokenCheck::Expiry => "expiry",
            IdTokenCheck::Nonce => "nonce",
            IdTokenCheck::AccessTokenHash => "access token hash",
            IdTokenCheck::Other => "format",
        })
    }
}

/// LDAP result codes after which trying again later may succeed (RFC 4511:
/// busy, unavailable, adminLimitExceeded, timeLimitExceeded, other
/// transient server states).
const TRANSIENT_LDAP_CODES: [u32; 4] = [3, 11, 51, 52];

impl RetryClass for IdentityError {
    fn retry(&self) -> Retry {
        match self {
            IdentityError::Unreachable { .. } | IdentityError::Timeout { .. } => Retry::Transient,
            IdentityError::Directory { code, .. } if TRANSIENT_LDAP_CODES.contains(code) => {
                Retry::Transient
            }
            IdentityError::Provider {
                transient: true, ..
            } => Retry::Transient,
            _ => Retry::Permanent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_network_and_busy_servers_are_worth_a_retry() {
        let unreachable = IdentityError::Unreachable {
            server: "ldaps://dc1".into(),
            reason: "connection refused".into(),
        };
        assert!(unreachable.is_transient());
        assert!(
            IdentityError::Timeout {
                server: "ldaps://dc1".into(),
                seconds: 5
            }
            .is_transient()
        );
        let busy = IdentityError::Directory {
            operation: "search users",
            code: 51,
            message: "busy".into(),
        };
        assert!(busy.is_transient());
        assert!(!IdentityError::InvalidCredentials.is_transient());
        assert!(!IdentityError::AccountDisabled.is_transient());
        assert!(!IdentityError::EmptyPassword.is_transient());
        let refused = IdentityError::Directory {
            operation: "bind as the service account",
            code: 49,
            message: "invalid credentials".into(),
        };
        assert!(!refused.is_transient());
    }
}
