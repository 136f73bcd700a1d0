//! Rows as the rest of DeviceVault sees them.

use devicevault_core::{Role, Status, StorageBackendKind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A person who can log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    /// Argon2 PHC string; never leaves the server. A directory account's
    /// is a hash of nothing anyone knows: it signs in through its directory.
    pub password_hash: String,
    /// What kind of change the user may make (`app::rights` decides which
    /// action each role allows).
    pub role: Role,
    /// Sees only the devices of its device groups (see [`crate::Scope`]).
    pub restricted: bool,
    /// May see device secrets in configurations (admins always may).
    pub view_secrets: bool,
    pub created_at: String,
    /// Where the account comes from: `local`, `ldap` or `oidc:<provider>`.
    pub source: String,
    /// When its directory last confirmed a directory account.
    pub directory_checked_at: Option<String>,
    /// When its directory said the account was disabled or gone: it signs
    /// in nowhere and its tokens do not work.
    pub disabled_at: Option<String>,
}

impl User {
    /// Whether this user is an administrator.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether configurations are shown to this user with their secrets.
    pub fn sees_secrets(&self) -> bool {
        self.is_admin() || self.view_secrets
    }

    /// Whether the account's password is kept here (not a directory's).
    pub fn is_local(&self) -> bool {
        self.source == LOCAL_SOURCE
    }
}

/// The `source` of an account whose password DeviceVault keeps.
pub const LOCAL_SOURCE: &str = "local";

/// A collection group: devices whose collection runs on the collectors
/// that consume `collector.group.<rabbitmq_queue_id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionGroup {
    pub id: i64,
    pub name: String,
    pub rabbitmq_queue_id: String,
    /// The most sessions a collector opens at once for its devices (per
    /// collector process in distributed mode).
    pub max_sessions: i64,
}

/// A collection group's `max_sessions` when none is given.
pub const DEFAULT_MAX_SESSIONS: i64 = 32;

impl CollectionGroup {
    /// The queue its collectors consume.
    pub fn queue(&self) -> String {
        format!("collector.group.{}", self.rabbitmq_queue_id)
    }
}

/// A device group: a name, and how long its devices may go without a
/// successful backup before they are stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceGroup {
    pub id: i64,
    pub name: String,
    /// `None`: the installation's threshold (`pipeline.stale_after`).
    pub stale_after_hours: Option<i64>,
}

/// A device group or a manufacturer: a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Named {
    pub id: i64,
    pub name: String,
}

/// The kinds of [`Named`] object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedKind {
    DeviceGroup,
    Manufacturer,
}

impl NamedKind {
    pub(crate) fn table(self) -> &'static str {
        match self {
            Self::DeviceGroup => "device_groups",
            Self::Manufacturer => "manufacturers",
        }
    }

    /// What an error calls one: "device group 7".
    pub fn what(self) -> &'static str {
        match self {
            Self::DeviceGroup => "device group",
            Self::Manufacturer => "manufacturer",
        }
    }

    pub(crate) fn name_field(self) -> &'static str {
        match self {
            Self::DeviceGroup => "device group name",
            Self::Manufacturer => "manufacturer name",
        }
    }
}

/// A device type (model family), optionally of a manufacturer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceType {
    pub id: i64,
    pub name: String,
    pub manufacturer: Option<i64>,
    /// The largest configuration its devices may send (`None`: the
    /// driver's or the installation's limit).
    pub max_config_bytes: Option<i64>,
    /// Its devices offer legacy SSH algorithms unless a device says otherwise.
    pub legacy_algorithms: bool,
    /// Its devices' timeouts unless a device sets its own.
    pub timeouts: Timeouts,
}

/// Collection timeouts in seconds; `None`: the next level's (device type,
/// then the collector's settings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Timeouts {
    pub connect: Option<i64>,
    pub command: Option<i64>,
    pub job: Option<i64>,
}

impl Timeouts {
    /// Each timeout of `self`, else of `fallback`.
    pub fn or(self, fallback: Timeouts) -> Timeouts {
        Timeouts {
            connect: self.connect.or(fallback.connect),
            command: self.command.or(fallback.command),
            job: self.job.or(fallback.job),
        }
    }
}

/// How a device's CLI is reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceTransport {
    #[default]
    Ssh,
    Telnet,
}

impl DeviceTransport {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ssh => "ssh",
            Self::Telnet => "telnet",
        }
    }

    /// The conventional port: 22 or 23.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Ssh => 22,
            Self::Telnet => 23,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ssh" => Some(Self::Ssh),
            "telnet" => Some(Self::Telnet),
            _ => None,
        }
    }
}

/// An SSH server the collector goes through to reach a device (what
/// OpenSSH's `ProxyJump` does): a `direct-tcpip` channel to the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JumpHost {
    pub host: String,
    pub port: u16,
    /// Its own login (`None`: the device's credential).
    pub credential: Option<i64>,
}

/// How a device is reached beyond its address and port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionProfile {
    pub transport: DeviceTransport,
    /// `None`: the device type's choice.
    pub legacy_algorithms: Option<bool>,
    pub timeouts: Timeouts,
    pub jump: Option<JumpHost>,
}

/// Login material for devices. The secrets are sealed (AEAD) by the caller
/// before they reach the database and are never returned by the API.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: i64,
    pub name: String,
    pub username: String,
    /// Empty for a key credential.
    pub password_sealed: Vec<u8>,
    pub enable_secret_sealed: Option<Vec<u8>>,
    /// An SSH private key (OpenSSH or PEM text), sealed.
    pub private_key_sealed: Option<Vec<u8>>,
    /// The key's passphrase, sealed.
    pub passphrase_sealed: Option<Vec<u8>>,
    /// The key's public fingerprint (`SHA256:...`), what people are shown.
    pub key_fingerprint: Option<String>,
    /// An API key (a token an HTTPS API driver sends as `{api_key}`),
    /// sealed. A credential may have only this: its password is then empty.
    pub api_key_sealed: Option<Vec<u8>>,
}

impl Credential {
    /// Whether it logs in with a key (else with its password).
    pub fn is_key(&self) -> bool {
        self.private_key_sealed.is_some()
    }

    /// Whether it has a password to log in with (an API-key-only or a key
    /// credential has none).
    pub fn has_password(&self) -> bool {
        !self.is_key() && !self.password_sealed.is_empty()
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Where backups go: a git repository or a directory, with its config.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupLocation {
    pub id: i64,
    pub name: String,
    pub location_type: StorageBackendKind,
    pub config: Map<String, Value>,
}

/// The fields of a device that a caller sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFields {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub driver: String,
    pub credential: Option<i64>,
    pub backup_location: Option<i64>,
    pub collection_group: Option<i64>,
    pub device_group: Option<i64>,
    pub device_type: Option<i64>,
    pub enabled: bool,
    pub profile: ConnectionProfile,
}

/// A device to back up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: i64,
    pub fields: DeviceFields,
    pub created_at: String,
    /// When it was archived ("deleted"): out of lists, schedules and
    /// backups, its history kept. `None` for a live device.
    pub archived_at: Option<String>,
    pub health: DeviceHealth,
}

/// How a device's backups stand (kept by the pipeline, read-only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceHealth {
    /// Its newest successful backup.
    pub last_success_at: Option<String>,
    /// Its newest successful backup that stored a new configuration.
    pub last_change_at: Option<String>,
    /// Since its first final failure after its last success.
    pub failing_since: Option<String>,
    /// Since it went stale: no successful backup for longer than its
    /// threshold.
    pub stale_since: Option<String>,
    /// How its newest job stands.
    pub last_status: crate::dashboard::LastStatus,
    /// When its newest job was queued.
    pub last_backup_at: Option<String>,
}

/// One requested backup and how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupJob {
    pub id: i64,
    pub task_id: String,
    pub task_identifier: String,
    pub device_id: i64,
    pub state: crate::JobState,
    pub reason: Option<String>,
    pub queued_on: String,
    pub updated_at: String,
    pub deadline: String,
    pub attempts: i64,
}

/// The outcome of a collection (`DeviceBackupResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceBackupResult {
    pub id: i64,
    pub task_id: String,
    pub task_identifier: String,
    pub device_id: i64,
    pub status: Status,
    pub timestamp: String,
    /// JSON array of log entries.
    pub log: String,
    pub collection_duration_ms: i64,
}

/// The outcome and location of a stored backup (`StoredBackup`): the
/// authoritative index for retrieval. It keeps the location it was written
/// to, so it stays readable after its device moves elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBackup {
    pub id: i64,
    pub task_id: String,
    pub task_identifier: String,
    pub device_id: i64,
    pub storage_backend: StorageBackendKind,
    pub storage_ref: String,
    pub status: Status,
    pub timestamp: String,
    /// JSON array of log entries.
    pub log: String,
    pub location_id: Option<i64>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub changed: Option<bool>,
    pub is_binary: bool,
    /// Who last changed the configuration on the device, as its collection
    /// said (the driver's `author` rule); `None` when the device does not
    /// say.
    pub author: Option<String>,
}

/// The fields of a backup schedule that a caller sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleFields {
    pub name: String,
    /// A 5-field cron expression (minute hour day-of-month month
    /// day-of-week). Checked by the scheduler, not here.
    pub cron: String,
    /// The IANA time zone the expression is evaluated in (`UTC`,
    /// `Europe/Paris`).
    pub timezone: String,
    pub enabled: bool,
    /// Devices backed up directly. Stored without duplicates and read back
    /// sorted by id.
    pub devices: Vec<i64>,
    /// Device groups whose devices are backed up. Same normalisation.
    pub device_groups: Vec<i64>,
}

/// A backup schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub id: i64,
    pub fields: ScheduleFields,
    /// The slot the scheduler runs next (RFC 3339 UTC); `None` until the
    /// scheduler computes it.
    pub next_run: Option<String>,
    pub created_at: String,
}
