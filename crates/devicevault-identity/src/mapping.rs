//! From directory groups to DeviceVault rights: the mapping table and the
//! one pure function that applies it.
//!
//! # Precedence
//!
//! Every row whose `group` names one of the user's groups applies:
//!
//! - the **highest role wins** (`admin` > `operator` > `reader`): a user in a
//!   reader group and an operator group is an operator;
//! - the **device groups add up** (the union over the applying rows, not
//!   only those of the winning role), and `"*"` in any applying row means
//!   every device group;
//! - **`view_secrets` is granted if any applying row grants it**;
//! - an **admin** sees every device and its secrets, whatever the rows say,
//!   as a local administrator does.
//!
//! A user none of whose groups is in the table gets no rights at all
//! ([`resolve_rights`] returns `None`): the server refuses the sign-in, and
//! at a refresh ends the sessions of a user who left every mapped group.
//! Nothing is granted by default.
//!
//! Group names are compared without regard to case (LDAP and Active
//! Directory compare them so). A row may name a group by its name (`cn`, or
//! the value in an OpenID Connect groups claim) or, to tell apart groups of
//! the same name in different branches of a directory, by its full DN
//! (`cn=netops,ou=groups,dc=example,dc=org`; spaces around `,` and `=` do
//! not matter).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::IdentityError;

pub use devicevault_core::Role;

/// The device group name that stands for every device group.
pub const ALL_DEVICE_GROUPS: &str = "*";

/// One row of the mapping table: what membership of a directory group grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupMapping {
    /// The directory group: its name (`netops`) or its DN
    /// (`cn=netops,ou=groups,dc=example,dc=org`).
    pub group: String,
    /// The role its members get (the highest of all their rows wins).
    pub role: Role,
    /// The DeviceVault device groups its members see; `"*"` for all. Empty:
    /// none from this row.
    #[serde(default)]
    pub device_groups: Vec<String>,
    /// Whether its members see the secrets in stored configurations.
    #[serde(default)]
    pub view_secrets: bool,
}

/// Which devices a user sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceScope {
    /// Every device group.
    All,
    /// These device groups only (possibly none).
    Groups(BTreeSet<String>),
}

/// What a user's directory groups grant, by [`resolve_rights`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rights {
    /// The highest role among the applying rows.
    pub role: Role,
    /// The union of their device groups.
    pub devices: DeviceScope,
    /// Whether any of them grants `view_secrets` (always for an admin).
    pub view_secrets: bool,
    /// The `group` of every applying row, in table order, to show why.
    pub granted_by: Vec<String>,
}

/// Applies the mapping table to a user's groups (names, DNs or both; see
/// the module docs for the precedence). `None` when no row applies: the
/// user gets no access.
pub fn resolve_rights<S: AsRef<str>>(mappings: &[GroupMapping], groups: &[S]) -> Option<Rights> {
    let keys: Vec<String> = groups.iter().map(|g| group_key(g.as_ref())).collect();
    let applying: Vec<&GroupMapping> = mappings
        .iter()
        .filter(|m| keys.contains(&group_key(&m.group)))
        .collect();
    let role = applying.iter().map(|m| m.role).max()?;
    let every = role == Role::Admin
        || applying
            .iter()
            .any(|m| m.device_groups.iter().any(|d| d == ALL_DEVICE_GROUPS));
    let devices = if every {
        DeviceScope::All
    } else {
        DeviceScope::Groups(
            applying
                .iter()
                .flat_map(|m| m.device_groups.iter().cloned())
                .collect(),
        )
    };
    Some(Rights {
        role,
        devices,
        view_secrets: role == Role::Admin || applying.iter().any(|m| m.view_secrets),
        granted_by: applying.iter().map(|m| m.group.clone()).collect(),
    })
}

/// Checks a mapping table before it is saved: every row names a group, and
/// no device group name is blank.
pub fn validate_mappings(mappings: &[GroupMapping]) -> Result<(), IdentityError> {
    for (i, m) in mappings.iter().enumerate() {
        if m.group.trim().is_empty() {
            return Err(IdentityError::Config(format!(
                "group mapping {}: the group is empty",
                i + 1
            )));
        }
        if m.device_groups.iter().any(|d| d.trim().is_empty()) {
            return Err(IdentityError::Config(format!(
                "group mapping {} ({}): a device group name is empty",
                i + 1,
                m.group
            )));
        }
    }
    Ok(())
}

/// The form in which group names and DNs are compared: lower case, and for
/// a DN without the spaces around its separators.
fn group_key(group: &str) -> String {
    let lower = group.trim().to_lowercase();
    if !lower.contains('=') {
        return lower;
    }
    let mut out = String::with_capacity(lower.len());
    for part in lower.split(',') {
        if !out.is_empty() {
            out.push(',');
        }
        let mut first = true;
        for side in part.split('=') {
            if !first {
                out.push('=');
            }
            first = false;
            out.push_str(side.trim());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(group: &str, role: Role, device_groups: &[&str], view_secrets: bool) -> GroupMapping {
        GroupMapping {
            group: group.into(),
            role,
            device_groups: device_groups.iter().map(|s| s.to_string()).collect(),
            view_secrets,
        }
    }

    fn table() -> Vec<GroupMapping> {
        vec![
            row("readers", Role::Reader, &["campus"], false),
            row("netops", Role::Operator, &["core", "edge"], false),
            row("auditors", Role::Reader, &["datacenter"], true),
            row(
                "cn=dv-admins,ou=groups,dc=example,dc=org",
                Role::Admin,
                &[],
                false,
            ),
            row("noc", Role::Reader, &["*"], false),
        ]
    }

    fn groups(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_highest_role_wins_and_device_groups_add_up() {
        let rights = resolve_rights(&table(), &["readers", "netops"]).unwrap();
        assert_eq!(rights.role, Role::Operator);
        assert_eq!(
            rights.devices,
            DeviceScope::Groups(groups(&["campus", "core", "edge"]))
        );
        assert!(!rights.view_secrets);
        assert_eq!(rights.granted_by, ["readers", "netops"]);
    }

    #[test]
    fn view_secrets_comes_from_any_applying_row() {
        let rights = resolve_rights(&table(), &["netops", "auditors"]).unwrap();
        assert_eq!(rights.role, Role::Operator);
        assert!(rights.view_secrets);
    }

    #[test]
    fn a_user_in_no_mapped_group_gets_nothing() {
        assert_eq!(resolve_rights(&table(), &["staff", "everyone"]), None);
        assert_eq!(resolve_rights::<&str>(&table(), &[]), None);
    }

    #[test]
    fn a_star_means_every_device_group() {
        let rights = resolve_rights(&table(), &["noc", "netops"]).unwrap();
        assert_eq!(rights.role, Role::Operator);
        assert_eq!(rights.devices, DeviceScope::All);
    }

    #[test]
    fn an_admin_sees_everything_and_its_secrets() {
        let rights =
            resolve_rights(&table(), &["CN=DV-Admins, OU=Groups, DC=example, DC=org"]).unwrap();
        assert_eq!(rights.role, Role::Admin);
        assert_eq!(rights.devices, DeviceScope::All);
        assert!(rights.view_secrets);
    }

    #[test]
    fn names_compare_without_regard_to_case_but_exactly_otherwise() {
        assert!(resolve_rights(&table(), &["NetOps"]).is_some());
        assert_eq!(resolve_rights(&table(), &["netops2"]), None);
        assert_eq!(resolve_rights(&table(), &["dv-admins"]), None);
    }

    #[test]
    fn a_row_without_device_groups_grants_a_role_over_no_devices() {
        let table = vec![row("helpdesk", Role::Reader, &[], false)];
        let rights = resolve_rights(&table, &["helpdesk"]).unwrap();
        assert_eq!(rights.devices, DeviceScope::Groups(BTreeSet::new()));
    }

    #[test]
    fn the_table_reads_from_toml_and_refuses_unknown_fields() {
        #[derive(Deserialize)]
        struct File {
            mapping: Vec<GroupMapping>,
        }
        let file: File = toml::from_str(
            r#"
            [[mapping]]
            group = "netops"
            role = "operator"
            device_groups = ["core"]
            view_secrets = true
            "#,
        )
        .unwrap();
        assert_eq!(
            file.mapping,
            [row("netops", Role::Operator, &["core"], true)]
        );
        let wrong = toml::from_str::<File>(
            "[[mapping]]\ngroup = \"netops\"\nrole = \"operator\"\ndevicegroups = []\n",
        );
        assert!(wrong.is_err());
        let wrong_role =
            toml::from_str::<File>("[[mapping]]\ngroup = \"netops\"\nrole = \"root\"\n");
        assert!(wrong_role.is_err());
    }

    #[test]
    fn a_blank_group_is_refused() {
        assert!(validate_mappings(&table()).is_ok());
        assert!(validate_mappings(&[row(" ", Role::Reader, &[], false)]).is_err());
        assert!(validate_mappings(&[row("x", Role::Reader, &[""], false)]).is_err());
    }
}
