//! Sign-in through a directory or a single sign-on provider (issue 20).
mod error;
pub mod ldap;
mod mapping;
mod secret;
mod tls;

pub use error::{IdTokenCheck, IdentityError};
pub use ldap::{AccountState, DirectoryUser, DisabledCheck, LdapConfig, LdapDirectory};
pub use mapping::{
    ALL_DEVICE_GROUPS, DeviceScope, GroupMapping, Rights, Role, resolve_rights, validate_mappings,
};
pub use secret::Secret;
pub mod oidc;
pub use oidc::{Callback, OidcConfig, OidcProvider, OidcUser, PendingLogin};
