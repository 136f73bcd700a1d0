//! Sign-in through a directory (LDAP, Active Directory) or a single sign-on
//! provider (OpenID Connect), and the mapping of their groups to
//! DeviceVault's rights (issue 20).
//!
//! The crate knows nothing of DeviceVault's database or HTTP server: the
//! server calls it with a username and password, or with the provider's
//! callback, and gets back a user with its directory groups; it resolves
//! those to rights with [`resolve_rights`] and records the user. Local
//! accounts (the break-glass administrator among them) stay the server's.
//!
//! # Design decisions
//!
//! - **Configuration is checked when it is loaded.** [`LdapDirectory::new`]
//!   and [`OidcProvider::discover`] refuse what cannot work (a plaintext
//!   URL, a filter without `{username}`, an empty service password, an
//!   issuer whose metadata names another issuer), so a mistake shows at
//!   start rather than at the first sign-in. Configuration types refuse
//!   unknown keys, and their secrets are [`Secret`]s whose `Debug` is
//!   redacted.
//! - **No plaintext unless asked for.** `ldap://` needs StartTLS or
//!   `allow_plaintext = true`; an OpenID issuer and all its endpoints need
//!   `https://` unless `allow_plaintext = true`. TLS is rustls with the
//!   *ring* provider; `ca_file` replaces the system roots (a private CA
//!   should not be diluted by the public ones).
//! - **The empty password never reaches the directory.** An LDAP simple
//!   bind with a DN and an empty password is an *unauthenticated* bind that
//!   many servers (Active Directory among them) answer with success.
//! - **Usernames are escaped, never trusted.** `{username}` and `{dn}` are
//!   escaped per RFC 4515 and filled in one pass, so `*` or `)(uid=*`
//!   cannot widen a search.
//! - **One answer for an unknown user and a wrong password**
//!   ([`IdentityError::InvalidCredentials`]). A disabled account is told
//!   apart ([`IdentityError::AccountDisabled`]) for logs; the UI may show
//!   the same message for both.
//! - **Accounts are checked again.** [`LdapDirectory::check_account`] says
//!   whether a signed-in user is still [`AccountState::Active`] (with its
//!   groups as of now), `Disabled` or `Gone`; the server calls it every
//!   `refresh_interval_secs` and ends the sessions and tokens of the
//!   others.
//! - **OpenID Connect through the `openidconnect` crate**, which implements
//!   the spec's ID-token checks step by step; this crate adds key rotation
//!   (keys fetched again on an unknown key id), asymmetric signatures only
//!   (no `HS256` with the client secret, no `none`), configurable claims
//!   (read from the verified token, else from the user-info endpoint),
//!   and a serialisable [`PendingLogin`] for the server to keep between the
//!   redirect and the callback.
//! - **Errors say whether a retry can help** ([`devicevault_core::RetryClass`]):
//!   an unreachable or silent server is transient; credentials, disabled
//!   accounts, TLS and token failures are permanent. No message carries a
//!   password, secret, code or token.
//! - **Groups map to rights in one pure function**, [`resolve_rights`]: the
//!   highest role wins, device groups add up, nothing is granted to a user
//!   in no mapped group (the precedence: [`mapping`]).
//!
//! # Configuring LDAP
//!
//! ```toml
//! [ldap]
//! url = "ldaps://ldap.example.org"          # or ldap://… with starttls = true
//! ca_file = "/etc/devicevault/ldap-ca.pem"  # else the system's roots
//! bind_dn = "cn=devicevault,ou=services,dc=example,dc=org"
//! bind_password = "…"
//! user_base = "ou=people,dc=example,dc=org"
//! user_filter = "(&(objectClass=person)(uid={username}))"
//! group_base = "ou=groups,dc=example,dc=org"
//! group_filter = "(&(objectClass=groupOfNames)(member={dn}))"
//! disabled = { kind = "attribute", attribute = "pwdAccountLockedTime", value = "000001010000Z" }
//! refresh_interval_secs = 300
//! ```
//!
//! For Active Directory: `user_filter =
//! "(&(objectClass=user)(sAMAccountName={username}))"`, `username_attribute =
//! "sAMAccountName"`, `display_name_attribute = "displayName"`,
//! `member_of_attribute = "memberOf"` (or a `group_filter` with
//! `(member:1.2.840.113556.1.4.1941:={dn})` for nested groups), and
//! `disabled = { kind = "active_directory" }` (bit 2 of
//! `userAccountControl`). Other directories: `disabled = { kind = "filter",
//! filter = "(nsAccountLock=TRUE)" }`.
//!
//! # Configuring an OpenID provider
//!
//! ```toml
//! [[oidc]]
//! name = "corp-sso"
//! issuer_url = "https://login.example.org/realms/network"
//! client_id = "devicevault"
//! client_secret = "…"
//! redirect_url = "https://devicevault.example.org/login/oidc/corp-sso/callback"
//! scopes = ["profile", "email", "groups"]   # openid is always asked for
//! groups_claim = "groups"                   # or a path: "realm_access.roles"
//! username_claim = "preferred_username"     # email when it is missing
//! ```
//!
//! Register `redirect_url` (and the page to return to after logout) with
//! the provider, as a confidential client using the authorization code
//! flow; PKCE (S256) is always sent.
//!
//! # Mapping groups to rights
//!
//! ```toml
//! [[group_mapping]]
//! group = "netops"                 # a group name, or its full DN
//! role = "operator"                # admin | operator | reader
//! device_groups = ["core", "edge"] # "*" for all
//! view_secrets = false
//! ```

mod error;
pub mod ldap;
pub mod mapping;
pub mod oidc;
mod secret;
mod tls;

pub use error::{IdTokenCheck, IdentityError};
pub use ldap::{
    AccountState, DirectoryUser, DisabledCheck, LdapConfig, LdapDirectory, escape_filter_value,
};
pub use mapping::{
    ALL_DEVICE_GROUPS, DeviceScope, GroupMapping, Rights, Role, resolve_rights, validate_mappings,
};
pub use oidc::{Callback, OidcConfig, OidcProvider, OidcUser, PendingLogin};
pub use secret::Secret;
