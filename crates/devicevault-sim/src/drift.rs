//! Configuration drift: the edits a network engineer makes.
//!
//! A device's configuration is its generated body plus the history of its
//! changes ([`Change`]), each one a small edit — an interface description,
//! an entry in the management ACL, a local user — rendered in the
//! platform's own syntax by [`crate::config`]. A change therefore shows as
//! a diff of a few lines, as on a real device, never as a rewritten body.
//!
//! What a drift changes is picked from the device's seed and the new
//! revision alone, so the same fleet drifts the same way in every run.

use std::fmt;
use std::net::Ipv4Addr;

use crate::config::SplitMix;
use crate::personality::Style;

/// Interfaces a description change may touch (every generated
/// configuration has at least this many).
pub(crate) const DESCRIBED: usize = 4;
/// Entries the management ACL grows to; then drifts edit descriptions or users.
const MAX_ACL: usize = 16;
/// The name of the management ACL (prefix list, address group) on every platform.
pub const ACL_NAME: &str = "MGMT-IN";
/// The accounts a drift adds, in no particular order.
const USERS: [&str; 8] = [
    "jdoe", "asmith", "mchen", "pnovak", "lgarcia", "okim", "rpatel", "tnguyen",
];
/// Who makes a drift when nobody is named.
const AUTHORS: [&str; 4] = ["netops", "jdoe", "asmith", "mchen"];
/// The author of revision 0: the account that installed the device.
pub const INITIAL_AUTHOR: &str = "admin";
const PORTS: [u16; 3] = [22, 443, 830];
const DESCRIPTIONS: [&str; 6] = [
    "uplink to core-sw",
    "to ISP-A circuit 44-",
    "server rack B",
    "WAN to branch-",
    "firewall outside, vlan ",
    "spare, reserved for lab-",
];

/// What one change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Interface `interface` (0-based, in the order of the configuration)
    /// got a new description.
    Description {
        /// Which interface.
        interface: usize,
        /// Its description now.
        text: String,
    },
    /// An entry allowing `source` to reach TCP `port` was appended to the
    /// management ACL ([`ACL_NAME`]).
    AclEntry {
        /// The permitted host.
        source: Ipv4Addr,
        /// The permitted TCP port.
        port: u16,
    },
    /// A local account was added.
    LocalUser {
        /// Its login name.
        name: String,
    },
}

impl Edit {
    /// A short name of the kind of edit: `description`, `acl-entry` or `local-user`.
    pub fn kind(&self) -> &'static str {
        match self {
            Edit::Description { .. } => "description",
            Edit::AclEntry { .. } => "acl-entry",
            Edit::LocalUser { .. } => "local-user",
        }
    }
}

/// One change to a device's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The revision it made (1 for the first change).
    pub revision: u32,
    /// Who made it; the platforms that print the last change's author
    /// (IOS, IOS XR, EOS, ASA, Junos, FortiOS, OS9) print this name.
    pub author: String,
    /// What it did.
    pub edit: Edit,
    /// The interface's name on the platform, for a description change.
    pub interface_name: Option<String>,
}

impl fmt::Display for Change {
    /// One line for people, e.g. `revision 3 by jdoe: local user mchen added`.
    /// Names no secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "revision {} by {}: ", self.revision, self.author)?;
        match &self.edit {
            Edit::Description { interface, text } => match &self.interface_name {
                Some(n) => write!(f, "description of {n} set to \"{text}\""),
                None => write!(f, "description of interface {interface} set to \"{text}\""),
            },
            Edit::AclEntry { source, port } => {
                write!(f, "{ACL_NAME} permits {source} to tcp/{port}")
            }
            Edit::LocalUser { name } => write!(f, "local user {name} added"),
        }
    }
}

/// An author that cannot be printed in a configuration line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "an author is 1 to 32 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit"
)]
pub struct InvalidAuthor;

/// Checks that `author` reads as one word in a `... by <author>` line.
pub fn check_author(author: &str) -> Result<(), InvalidAuthor> {
    let ok = (1..=32).contains(&author.len())
        && author.starts_with(|c: char| c.is_ascii_alphanumeric())
        && author
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok { Ok(()) } else { Err(InvalidAuthor) }
}

/// The state a history of changes leaves, as the generator needs it.
#[derive(Debug, Clone)]
pub(crate) struct Applied {
    /// Descriptions of the first [`DESCRIBED`] interfaces that were changed.
    pub descriptions: [Option<String>; DESCRIBED],
    /// The management ACL's entries, oldest first.
    pub acl: Vec<(Ipv4Addr, u16)>,
    /// Added accounts, oldest first.
    pub users: Vec<String>,
    /// Who made the last change ([`INITIAL_AUTHOR`] at revision 0).
    pub author: String,
}

impl Applied {
    pub(crate) fn of(changes: &[Change]) -> Applied {
        let mut a = Applied {
            descriptions: Default::default(),
            acl: Vec::new(),
            users: Vec::new(),
            author: INITIAL_AUTHOR.to_owned(),
        };
        for c in changes {
            match &c.edit {
                Edit::Description { interface, text } => {
                    if let Some(d) = a.descriptions.get_mut(*interface) {
                        *d = Some(text.clone());
                    }
                }
                Edit::AclEntry { source, port } => a.acl.push((*source, *port)),
                Edit::LocalUser { name } => a.users.push(name.clone()),
            }
            a.author.clone_from(&c.author);
        }
        a
    }

    /// Interface `i`'s description.
    pub(crate) fn description(&self, i: usize) -> String {
        match self.descriptions.get(i) {
            Some(Some(d)) => d.clone(),
            _ => format!("link-{i} rev0"),
        }
    }
}

/// How many local users a platform's configuration can gain: Linux's
/// `/etc/network/interfaces` and NCLU's commands have none, a ProCurve one
/// operator account;
/// an OmniSwitch keeps its accounts in its user database, outside the
/// configuration snapshot.
pub(crate) fn max_users(style: Style) -> usize {
    match style {
        Style::Linux => 0,
        // Fabric OS keeps its accounts out of `configshow`; airOS has one
        // read-only account beside the administrator.
        Style::FabricOs => 0,
        Style::AirOs => 1,
        // NCLU configures no accounts: they are Linux's, outside `net show
        // configuration commands`.
        Style::CumulusNclu => 0,
        Style::AlcatelAos => 0,
        Style::ProCurve => 1,
        _ => USERS.len(),
    }
}

/// The change a drift to `revision` makes on a device of `style` whose
/// history so far left `applied`: the kind and its details are picked from
/// `seed` and `revision`; `author` defaults to one picked the same way.
pub(crate) fn next(
    style: Style,
    seed: u64,
    revision: u32,
    applied: &Applied,
    author: Option<&str>,
) -> Change {
    let mut rng = SplitMix(seed ^ u64::from(revision).wrapping_mul(0xA24B_AED4_963E_E407));
    let first = rng.next() % 3;
    let author = author.map_or_else(
        || AUTHORS[(rng.next() % AUTHORS.len() as u64) as usize].to_owned(),
        str::to_owned,
    );
    // The picked kind, or the next one that still can grow; a description
    // can always change.
    let mut edit = None;
    for k in 0..3 {
        match (first + k) % 3 {
            1 if applied.acl.len() < MAX_ACL => {
                let mut host = (rng.next() % 254 + 1) as u8;
                while applied
                    .acl
                    .iter()
                    .any(|(s, _)| *s == Ipv4Addr::new(198, 51, 100, host))
                {
                    host = host % 254 + 1;
                }
                edit = Some(Edit::AclEntry {
                    source: Ipv4Addr::new(198, 51, 100, host),
                    port: PORTS[(rng.next() % PORTS.len() as u64) as usize],
                });
                break;
            }
            2 if applied.users.len() < max_users(style) => {
                let start = rng.next() as usize % USERS.len();
                edit = (0..USERS.len())
                    .map(|j| USERS[(start + j) % USERS.len()])
                    .find(|u| !applied.users.iter().any(|x| x == u))
                    .map(|name| Edit::LocalUser {
                        name: name.to_owned(),
                    });
                break;
            }
            0 => break,
            _ => {}
        }
    }
    let edit = edit.unwrap_or_else(|| {
        let interface = (rng.next() % DESCRIBED as u64) as usize;
        let template = DESCRIPTIONS[(rng.next() % DESCRIPTIONS.len() as u64) as usize];
        // A change ticket makes every description new, as in real shops.
        let ticket = (seed >> 44) % 9_000_000 + u64::from(revision);
        Edit::Description {
            interface,
            text: format!("{template}{} CHG{ticket:07}", rng.next() % 90 + 10),
        }
    });
    described(style, revision, author, edit)
}

/// A change with its interface named the platform's way.
pub(crate) fn described(style: Style, revision: u32, author: String, edit: Edit) -> Change {
    let interface_name = match &edit {
        Edit::Description { interface, .. } => Some(interface_name(style, *interface)),
        _ => None,
    };
    Change {
        revision,
        author,
        edit,
        interface_name,
    }
}

/// Interface `i` as the generator names it on `style`.
pub(crate) fn interface_name(style: Style, i: usize) -> String {
    match style {
        Style::Ios => format!("GigabitEthernet0/{i}"),
        Style::EdgeSwitch => format!("0/{}", i + 1),
        // The free text of an IAP's block is its SSID.
        Style::ArubaInstant => format!("ssid-profile ssid-{i}"),
        Style::FabricOs => format!("port {i}"),
        // The free text of airOS's blocks is a static route's comment.
        Style::AirOs => format!("route {}", i + 1),
        Style::ZyNos => format!("port-channel {}", i + 1),
        Style::Saos => format!("port {}", i + 1),
        Style::ProSafe => format!("1/0/{}", i + 1),
        Style::JetStream => format!("gigabitEthernet 1/0/{}", i + 1),
        Style::DlinkDs => format!("1:{}", i + 1),
        Style::EdgeCos => format!("ethernet 1/{}", i + 1),
        // A console server's free text is its serial port's label.
        Style::Opengear => format!("serial port {}", i + 1),
        Style::CumulusNclu => format!("swp{}", i + 1),
        Style::Fxos => format!("Ethernet1/{}", i + 1),
        Style::Ipos => format!("link{i}"),
        Style::Nxos => format!("Ethernet1/{i}"),
        Style::Iosxr => format!("GigabitEthernet0/0/0/{i}"),
        Style::Asa => format!("GigabitEthernet1/{i}"),
        Style::Eos => format!("Ethernet{i}"),
        Style::Junos => format!("ge-0/0/{i}"),
        Style::RouterOs => format!("ether{i}"),
        Style::FortiOs => format!("port{i}"),
        Style::PanOs | Style::PanOsXml => format!("ethernet1/{i}"),
        Style::Vrp => format!("GigabitEthernet0/0/{i}"),
        Style::PfSense | Style::OpnSense => format!("opt{}", i + 1),
        Style::ApcNmc => format!("Outlet{}", i + 1),
        Style::ProCurve => format!("vlan {}", i + 2),
        Style::Os10 => format!("ethernet1/1/{}", i + 1),
        Style::Vyos | Style::Linux | Style::EdgeOs => format!("eth{i}"),
        Style::Voss => format!("GigabitEthernet 1/{}", i + 1),
        Style::Os6 => format!("Gi1/0/{}", i + 1),
        Style::SonicOs => format!("X{i}"),
        Style::Acos => format!("ethernet {}", i + 1),
        Style::Fireware => format!("eth{i}"),
        Style::Onyx => format!("ethernet 1/{}", i + 1),
        Style::Sros => format!("port 1/1/{}", i + 1),
        Style::NetScaler => format!("1/{}", i + 1),
        Style::Cumulus => format!("swp{}", i + 1),
        Style::AlcatelAos => format!("1/1/{}", i + 1),
        Style::SrosMd => format!("port 1/1/{}", i + 1),
        Style::AosCx => format!("1/1/{}", i + 1),
        Style::Comware => format!("GigabitEthernet1/0/{}", i + 1),
        Style::FastIron => format!("ethernet 1/1/{}", i + 1),
        Style::Exos => format!("port {}", i + 1),
        Style::Os9 => format!("TenGigabitEthernet 1/{}", i + 1),
        Style::AwPlus => format!("vlan{}", i + 2),
        Style::CiscoSmb => format!("GigabitEthernet1/0/{}", i + 1),
        // The free text of a controller's block is its access point's location.
        Style::CiscoWlc => format!("access point ap-{i:03}"),
        Style::Tmos => format!("vlan{}", i + 20),
        Style::Gaia => format!("eth{}", i + 1),
        Style::ArubaOs => format!("vlan {}", i + 2),
        Style::Viptela => format!("ge0/{i}"),
        Style::Ftd => format!("Ethernet1/{}", i + 1),
        Style::ScreenOs => format!("address net-{i}"),
        Style::NetIron => format!("ethernet 1/{}", i + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authors_are_one_printable_word() {
        for ok in ["netops", "j.doe", "svc_backup-2", "A1"] {
            assert_eq!(check_author(ok), Ok(()), "{ok}");
        }
        for bad in ["", "two words", "-x", "a\nb", "é", &"x".repeat(33)] {
            assert_eq!(check_author(bad), Err(InvalidAuthor), "{bad:?}");
        }
    }

    #[test]
    fn drifts_fill_the_acl_and_users_then_only_touch_descriptions() {
        let mut history: Vec<Change> = Vec::new();
        for r in 1..=200 {
            let c = next(Style::Ios, 42, r, &Applied::of(&history), None);
            history.push(c);
        }
        let a = Applied::of(&history);
        assert_eq!(a.acl.len(), MAX_ACL);
        assert_eq!(a.users.len(), USERS.len());
        let mut hosts: Vec<_> = a.acl.iter().map(|(s, _)| *s).collect();
        hosts.sort();
        hosts.dedup();
        assert_eq!(hosts.len(), MAX_ACL, "no entry twice");
        assert!(
            history[150..]
                .iter()
                .all(|c| c.edit.kind() == "description")
        );
        // Linux has no accounts in its file; ProCurve one operator.
        let mut linux = Vec::new();
        let mut procurve = Vec::new();
        for r in 1..=40 {
            let c = next(Style::Linux, 42, r, &Applied::of(&linux), None);
            linux.push(c);
            let c = next(Style::ProCurve, 42, r, &Applied::of(&procurve), None);
            procurve.push(c);
        }
        assert!(linux.iter().all(|c| c.edit.kind() != "local-user"));
        assert_eq!(Applied::of(&procurve).users.len(), 1);
    }
}
