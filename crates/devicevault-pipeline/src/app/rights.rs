//! Who may do what (issue 20), decided here once for the API, the web UI
//! and the command line.
//!
//! A user has a [`Role`] and a [`Scope`] (the device groups it is
//! restricted to, or every device). The role says which kind of change it
//! may make ([`Right`]); the scope says on which devices. Front ends call
//! [`require`] with the right an operation needs, and — for the operations
//! an operator may make — [`require_reach`] with the devices and device
//! groups the object names before and after the change. The command line
//! acts with the host's authority (whoever can read the database and the
//! key file is an administrator there), so it asks for no right.
//!
//! | right | reader | operator | admin |
//! |---|---|---|---|
//! | [`Right::Read`]: devices, backups, results, search, compliance, one's own tokens; "backup now" | scope | scope | all |
//! | [`Right::Operate`]: devices (create, change, archive, bulk change, import, export), schedules, notification rules; choose a credential, never see its secret | — | scope | all |
//! | [`Right::Administer`]: credentials, locations, collection groups, device groups, device types, manufacturers, notification channels, compliance rules, retention, users and their tokens, the audit log, archived devices | — | — | all |
//!
//! Seeing the secrets inside stored configurations is the separate
//! `view_secrets` permission ([`devicevault_db::User::sees_secrets`]).

use devicevault_core::Role;
use devicevault_db::{Db, DbError, Scope, User};

/// A kind of operation, by the least role that may perform it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Right {
    /// Read what the scope holds, and start its backups.
    Read,
    /// Change the scope's devices, their schedules and notification rules.
    Operate,
    /// Everything else.
    Administer,
}

impl Right {
    /// The least role that holds this right.
    pub fn least_role(self) -> Role {
        match self {
            Right::Read => Role::Reader,
            Right::Operate => Role::Operator,
            Right::Administer => Role::Admin,
        }
    }

    /// What the right is for, in a sentence's words.
    fn what(self) -> &'static str {
        match self {
            Right::Read => "reading",
            Right::Operate => "changing devices, their schedules and notification rules",
            Right::Administer => "this",
        }
    }
}

/// Whether `role` holds `right`.
pub fn allows(role: Role, right: Right) -> bool {
    role >= right.least_role()
}

/// Why an operation is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The user's role does not hold the right (a 403).
    #[error("{user} is {}: {} needs the {needed} role", article(*role), right.what())]
    Role {
        user: String,
        role: Role,
        right: Right,
        needed: Role,
    },
    /// The object exists but is outside the user's scope: as far as the
    /// user can tell it does not exist (a 404, as for reads).
    #[error("{what} not found")]
    Hidden { what: String },
    /// The change would reach devices outside the user's device groups (a
    /// 403: the user sees the object, but may not extend it there).
    #[error("{user} may change only the devices of its device groups: {reason}")]
    Reach { user: String, reason: String },
}

fn article(role: Role) -> &'static str {
    match role {
        Role::Admin => "an administrator",
        Role::Operator => "an operator",
        Role::Reader => "a reader",
    }
}

/// Refuses `user` an operation that needs `right`. A retry cannot help;
/// another role can.
pub fn require(user: &User, right: Right) -> Result<(), Denied> {
    if allows(user.role, right) {
        Ok(())
    } else {
        Err(Denied::Role {
            user: user.username.clone(),
            role: user.role,
            right,
            needed: right.least_role(),
        })
    }
}

/// What an object an operator changes reaches: the devices (by id, with
/// their device group and whether they are archived) and device groups it
/// names, and whether naming none of either means every device (a
/// notification rule) or nothing (a schedule, a device).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    pub devices: Vec<DeviceReach>,
    pub device_groups: Vec<i64>,
    /// Naming no device and no device group reaches every device.
    pub empty_means_all: bool,
}

/// One device an object names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceReach {
    pub id: i64,
    pub device_group: Option<i64>,
    pub archived: bool,
}

/// Refuses `user` a change (with [`Right::Operate`]) whose object reached
/// `before` (`None` for a new object) and will reach `after`. An object
/// the user cannot see at all is [`Denied::Hidden`]; one it sees but that
/// reaches, or would reach, beyond its scope is [`Denied::Reach`] — a
/// restricted operator may neither take a device out of its device groups
/// nor move one in from elsewhere.
pub fn require_reach(
    user: &User,
    scope: &Scope,
    what: &str,
    before: Option<&Reach>,
    after: &Reach,
) -> Result<(), Denied> {
    require(user, Right::Operate)?;
    if let Some(before) = before
        && let Err(reason) = within(scope, before)
    {
        return Err(if sees_any(scope, before) {
            Denied::Reach {
                user: user.username.clone(),
                reason: format!("{what} already {reason}"),
            }
        } else {
            Denied::Hidden {
                what: what.to_owned(),
            }
        });
    }
    within(scope, after).map_err(|reason| Denied::Reach {
        user: user.username.clone(),
        reason: format!("{what} would {}", reason.replacen("reaches", "reach", 1)),
    })
}

/// What an object naming `devices` and `device_groups` reaches, read from
/// the database (a device that does not exist reaches nothing; its
/// validator refuses it).
pub async fn reach(
    db: &Db,
    devices: &[i64],
    device_groups: &[i64],
    empty_means_all: bool,
) -> Result<Reach, DbError> {
    Ok(Reach {
        devices: db
            .device_placements(devices)
            .await?
            .into_iter()
            .map(|(id, device_group, archived)| DeviceReach {
                id,
                device_group,
                archived,
            })
            .collect(),
        device_groups: device_groups.to_vec(),
        empty_means_all,
    })
}

/// Refuses `user` a change of device `id` (`None`: a new device) that
/// leaves it in device group `group` (`None`: none) — or, with `group`
/// `None` and `id` some, that leaves its group as it is (archiving).
pub async fn require_device_change(
    db: &Db,
    user: &User,
    scope: &Scope,
    id: Option<i64>,
    group: Option<Option<i64>>,
) -> Result<Result<(), Denied>, DbError> {
    if let Err(denied) = require(user, Right::Operate) {
        return Ok(Err(denied));
    }
    let before = match id {
        Some(id) => Some(reach(db, &[id], &[], false).await?),
        None => None,
    };
    let after = match (group, &before) {
        (Some(group), _) => Reach {
            devices: vec![DeviceReach {
                id: id.unwrap_or_default(),
                device_group: group,
                archived: false,
            }],
            ..Reach::default()
        },
        (None, Some(before)) => before.clone(),
        (None, None) => Reach::default(),
    };
    let what = match id {
        Some(id) => format!("device {id}"),
        None => "the new device".to_owned(),
    };
    Ok(require_reach(user, scope, &what, before.as_ref(), &after))
}

/// The devices and device groups an object names, by id.
#[derive(Debug, Clone, Copy)]
pub struct Targets<'a> {
    pub devices: &'a [i64],
    pub device_groups: &'a [i64],
}

/// Refuses `user` a change of an object (a schedule, a notification rule)
/// that named `before` (`None`: a new object) and will name `after`
/// (`None`: deleted — it must only have been within reach).
pub async fn require_change(
    db: &Db,
    user: &User,
    scope: &Scope,
    what: &str,
    empty_means_all: bool,
    before: Option<Targets<'_>>,
    after: Option<Targets<'_>>,
) -> Result<Result<(), Denied>, DbError> {
    if let Err(denied) = require(user, Right::Operate) {
        return Ok(Err(denied));
    }
    let before = match before {
        Some(t) => Some(reach(db, t.devices, t.device_groups, empty_means_all).await?),
        None => None,
    };
    let after = match (after, &before) {
        (Some(t), _) => reach(db, t.devices, t.device_groups, empty_means_all).await?,
        (None, Some(b)) => b.clone(),
        (None, None) => Reach::default(),
    };
    Ok(require_reach(user, scope, what, before.as_ref(), &after))
}

/// `Err(reason)` when `reach` goes beyond `scope`.
fn within(scope: &Scope, reach: &Reach) -> Result<(), String> {
    match scope {
        Scope::Admin => Ok(()),
        _ if reach.devices.is_empty() && reach.device_groups.is_empty() => {
            if reach.empty_means_all && !matches!(scope, Scope::All) {
                Err("reaches every device".into())
            } else {
                Ok(())
            }
        }
        Scope::All => match reach.devices.iter().find(|d| d.archived) {
            Some(d) => Err(format!("reaches archived device {}", d.id)),
            None => Ok(()),
        },
        Scope::Groups(groups) => {
            if let Some(d) = reach
                .devices
                .iter()
                .find(|d| !scope.allows(d.device_group, d.archived))
            {
                return Err(format!("reaches device {}", d.id));
            }
            match reach.device_groups.iter().find(|g| !groups.contains(g)) {
                Some(g) => Err(format!("reaches device group {g}")),
                None => Ok(()),
            }
        }
    }
}

/// Whether the user sees anything the object names (else it is hidden).
fn sees_any(scope: &Scope, reach: &Reach) -> bool {
    match scope {
        Scope::Admin | Scope::All => true,
        Scope::Groups(groups) => {
            (reach.devices.is_empty() && reach.device_groups.is_empty() && reach.empty_means_all)
                || reach
                    .devices
                    .iter()
                    .any(|d| scope.allows(d.device_group, d.archived))
                || reach.device_groups.iter().any(|g| groups.contains(g))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role) -> User {
        User {
            id: 1,
            username: "ann".into(),
            password_hash: String::new(),
            role,
            restricted: false,
            view_secrets: false,
            created_at: String::new(),
            source: "local".into(),
            directory_checked_at: None,
            disabled_at: None,
        }
    }

    fn device(id: i64, group: Option<i64>) -> DeviceReach {
        DeviceReach {
            id,
            device_group: group,
            archived: false,
        }
    }

    #[test]
    fn each_role_holds_its_rights_and_those_below() {
        let table = [
            (Role::Reader, [true, false, false]),
            (Role::Operator, [true, true, false]),
            (Role::Admin, [true, true, true]),
        ];
        for (role, expect) in table {
            for (right, ok) in [Right::Read, Right::Operate, Right::Administer]
                .into_iter()
                .zip(expect)
            {
                assert_eq!(require(&user(role), right).is_ok(), ok, "{role} {right:?}");
            }
        }
        let e = require(&user(Role::Reader), Right::Operate).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ann is a reader: changing devices, their schedules and notification rules needs the operator role"
        );
    }

    #[test]
    fn a_restricted_operator_changes_only_what_stays_in_its_groups() {
        let op = user(Role::Operator);
        let scope = Scope::Groups(vec![7]);
        let mine = Reach {
            devices: vec![device(1, Some(7))],
            ..Reach::default()
        };
        let theirs = Reach {
            devices: vec![device(2, Some(8))],
            ..Reach::default()
        };
        assert_eq!(require_reach(&op, &scope, "device 1", None, &mine), Ok(()));
        assert_eq!(
            require_reach(&op, &scope, "device 1", Some(&mine), &mine),
            Ok(())
        );
        // Moving a device out of its groups, or in from elsewhere.
        assert!(matches!(
            require_reach(&op, &scope, "device 1", Some(&mine), &theirs),
            Err(Denied::Reach { .. })
        ));
        assert_eq!(
            require_reach(&op, &scope, "device 2", Some(&theirs), &mine),
            Err(Denied::Hidden {
                what: "device 2".into()
            })
        );
        // A rule for every device is beyond any restricted scope; a
        // schedule naming nothing reaches nothing.
        let every = Reach {
            empty_means_all: true,
            ..Reach::default()
        };
        assert!(matches!(
            require_reach(&op, &scope, "rule", None, &every),
            Err(Denied::Reach { .. })
        ));
        assert_eq!(
            require_reach(&op, &scope, "schedule", None, &Reach::default()),
            Ok(())
        );
        assert_eq!(
            require_reach(&op, &Scope::All, "rule", None, &every),
            Ok(())
        );
        let groups = Reach {
            device_groups: vec![7, 9],
            ..Reach::default()
        };
        let e = require_reach(&op, &scope, "schedule 3", None, &groups).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ann may change only the devices of its device groups: schedule 3 would reach device group 9"
        );
        // Readers are refused before their reach is looked at.
        assert!(matches!(
            require_reach(&user(Role::Reader), &scope, "device 1", None, &mine),
            Err(Denied::Role { .. })
        ));
    }

    #[test]
    fn an_unrestricted_operator_leaves_archived_devices_alone() {
        let op = user(Role::Operator);
        let archived = Reach {
            devices: vec![DeviceReach {
                id: 4,
                device_group: None,
                archived: true,
            }],
            ..Reach::default()
        };
        assert!(require_reach(&op, &Scope::All, "schedule", None, &archived).is_err());
        assert_eq!(
            require_reach(&op, &Scope::Admin, "schedule", None, &archived),
            Ok(())
        );
    }
}
