//! A person's role (issue 20): what kind of change they may make. Which
//! devices they may touch is their scope (their device groups), decided by
//! the database crate; which action a role allows is decided once, in the
//! pipeline's application layer (`app::rights`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A DeviceVault role. The order is the precedence: `Reader < Operator <
/// Admin` (a directory user in several mapped groups gets the highest).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the devices and backups of its scope and starts backups. The
    /// default: the least a new account may do (as the `users.role` column).
    #[default]
    Reader,
    /// A reader who may also change the devices of its scope, their
    /// schedules and notification rules, and import devices into it; uses
    /// credentials but never sees or changes their secrets.
    Operator,
    /// Everything, everywhere.
    Admin,
}

impl Role {
    /// Every role, from the least to the most powerful.
    pub const ALL: [Role; 3] = [Role::Reader, Role::Operator, Role::Admin];

    /// The role's name in the configuration, the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not `admin`, `operator` or `reader`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected admin, operator or reader")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order_is_precedence() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{r}\""));
        }
        assert!(Role::Reader < Role::Operator && Role::Operator < Role::Admin);
        assert_eq!(
            "Admin".parse::<Role>(),
            Err(UnknownRole("Admin".into())),
            "names are exact"
        );
    }
}
