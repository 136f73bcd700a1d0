//! The API's answers as typed structs: the JSON field names are the
//! contract (kept exactly as they have always been), and the OpenAPI
//! document at `/api/openapi.json` is generated from these types.

use devicevault_db::{
    BackupJob, BackupLocation, CollectionGroup, Credential, Device, DeviceGroup, DeviceType, Named,
    ResultRow, Schedule, StoredBackup, TokenInfo, Version,
};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// An error: a short machine-readable code and details (a message, or
/// `{"field": ["message"]}` for field errors).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    /// A message (text), or the field errors (an object).
    pub detail: Value,
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paginated<T> {
    /// Rows of the whole list.
    pub count: i64,
    /// The next page, relative or under the public URL.
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceOut {
    pub id: i64,
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
    pub created_at: String,
    pub archived: bool,
    pub archived_at: Option<String>,
    /// Its newest successful backup.
    pub last_success_at: Option<String>,
    /// Its newest successful backup that stored a new configuration.
    pub last_change_at: Option<String>,
    /// Since its first final failure after its last success.
    pub failing_since: Option<String>,
    /// Since it went stale (no successful backup for longer than its
    /// threshold: its device group's, else `pipeline.stale_after`).
    pub stale_since: Option<String>,
    /// How its newest job stands: `failed`, `running` (queued, collecting
    /// or collected), `stored`, or `never` (no job yet).
    #[schema(value_type = String, pattern = "^(failed|running|stored|never)$")]
    pub last_status: String,
    /// When its newest job was queued.
    pub last_backup_at: Option<String>,
    /// `ssh` or `telnet`.
    #[schema(value_type = String, pattern = "^(ssh|telnet)$")]
    pub transport: String,
    /// Legacy SSH algorithms (`null`: its device type's choice).
    pub legacy_algorithms: Option<bool>,
    /// Seconds (`null`: its device type's, else the collector's).
    pub connect_timeout: Option<i64>,
    pub command_timeout: Option<i64>,
    pub job_timeout: Option<i64>,
    /// The SSH jump host it is reached through (`null`: none).
    pub jump_host: Option<String>,
    pub jump_port: Option<u16>,
    /// The jump host's credential (`null`: the device's).
    pub jump_credential: Option<i64>,
}

impl From<&Device> for DeviceOut {
    fn from(d: &Device) -> Self {
        let f = &d.fields;
        Self {
            id: d.id,
            name: f.name.clone(),
            address: f.address.clone(),
            port: f.port,
            driver: f.driver.clone(),
            credential: f.credential,
            backup_location: f.backup_location,
            collection_group: f.collection_group,
            device_group: f.device_group,
            device_type: f.device_type,
            enabled: f.enabled,
            created_at: d.created_at.clone(),
            archived: d.archived_at.is_some(),
            archived_at: d.archived_at.clone(),
            last_success_at: d.health.last_success_at.clone(),
            last_change_at: d.health.last_change_at.clone(),
            failing_since: d.health.failing_since.clone(),
            stale_since: d.health.stale_since.clone(),
            last_status: d.health.last_status.as_str().to_owned(),
            last_backup_at: d.health.last_backup_at.clone(),
            transport: f.profile.transport.as_str().to_owned(),
            legacy_algorithms: f.profile.legacy_algorithms,
            connect_timeout: f.profile.timeouts.connect,
            command_timeout: f.profile.timeouts.command,
            job_timeout: f.profile.timeouts.job,
            jump_host: f.profile.jump.as_ref().map(|j| j.host.clone()),
            jump_port: f.profile.jump.as_ref().map(|j| j.port),
            jump_credential: f.profile.jump.as_ref().and_then(|j| j.credential),
        }
    }
}

/// What purging a device destroyed.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurgedOut {
    pub purged: i64,
    pub stored_backups: i64,
    pub results: i64,
    pub jobs: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LocationOut {
    pub id: i64,
    pub name: String,
    /// `git` or `fs`.
    pub location_type: String,
    #[schema(value_type = Object)]
    pub config: Map<String, Value>,
}

impl From<&BackupLocation> for LocationOut {
    fn from(l: &BackupLocation) -> Self {
        Self {
            id: l.id,
            name: l.name.clone(),
            location_type: l.location_type.as_str().to_owned(),
            config: l.config.clone(),
        }
    }
}

/// A credential: its secrets are write-only and never shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialOut {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub has_enable_secret: bool,
    /// `password`, `key` (an SSH private key) or `api_key` (an API key
    /// alone: no login for a CLI).
    #[schema(value_type = String, pattern = "^(password|key|api_key)$")]
    pub kind: &'static str,
    /// The private key's public fingerprint (`SHA256:...`), never the key.
    pub key_fingerprint: Option<String>,
    /// Whether the private key has a passphrase.
    pub has_passphrase: bool,
    /// Whether it has an API key (what HTTPS drivers send as `{api_key}`),
    /// never the key.
    pub has_api_key: bool,
}

impl From<&Credential> for CredentialOut {
    fn from(c: &Credential) -> Self {
        Self {
            id: c.id,
            name: c.name.clone(),
            username: c.username.clone(),
            has_enable_secret: c.enable_secret_sealed.is_some(),
            kind: if c.is_key() {
                "key"
            } else if c.has_password() {
                "password"
            } else {
                "api_key"
            },
            key_fingerprint: c.key_fingerprint.clone(),
            has_passphrase: c.passphrase_sealed.is_some(),
            has_api_key: c.api_key_sealed.is_some(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionGroupOut {
    pub id: i64,
    pub name: String,
    pub rabbitmq_queue_id: String,
    /// `collector.group.<rabbitmq_queue_id>`.
    pub queue: String,
    /// The most sessions a collector opens at once for its devices (per
    /// collector process in distributed mode).
    pub max_sessions: i64,
}

impl From<&CollectionGroup> for CollectionGroupOut {
    fn from(g: &CollectionGroup) -> Self {
        Self {
            id: g.id,
            name: g.name.clone(),
            rabbitmq_queue_id: g.rabbitmq_queue_id.clone(),
            queue: g.queue(),
            max_sessions: g.max_sessions,
        }
    }
}

/// A device group.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceGroupOut {
    pub id: i64,
    pub name: String,
    /// Its devices are stale after this many hours without a successful
    /// backup (`null`: the installation's `pipeline.stale_after`).
    pub stale_after_hours: Option<i64>,
}

impl From<&DeviceGroup> for DeviceGroupOut {
    fn from(g: &DeviceGroup) -> Self {
        Self {
            id: g.id,
            name: g.name.clone(),
            stale_after_hours: g.stale_after_hours,
        }
    }
}

/// A manufacturer: a name.
#[derive(Debug, Serialize, ToSchema)]
pub struct NamedOut {
    pub id: i64,
    pub name: String,
}

impl From<&Named> for NamedOut {
    fn from(n: &Named) -> Self {
        Self {
            id: n.id,
            name: n.name.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceTypeOut {
    pub id: i64,
    pub name: String,
    pub manufacturer: Option<i64>,
    pub max_config_bytes: Option<i64>,
    /// Its devices offer legacy SSH algorithms unless one says otherwise.
    pub legacy_algorithms: bool,
    /// Its devices' timeouts in seconds (`null`: the collector's).
    pub connect_timeout: Option<i64>,
    pub command_timeout: Option<i64>,
    pub job_timeout: Option<i64>,
}

impl From<&DeviceType> for DeviceTypeOut {
    fn from(t: &DeviceType) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            manufacturer: t.manufacturer,
            max_config_bytes: t.max_config_bytes,
            legacy_algorithms: t.legacy_algorithms,
            connect_timeout: t.timeouts.connect,
            command_timeout: t.timeouts.command,
            job_timeout: t.timeouts.job,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleOut {
    pub id: i64,
    pub name: String,
    /// 5-field cron expression.
    pub cron: String,
    /// IANA time zone.
    pub timezone: String,
    pub enabled: bool,
    /// The devices it names that the caller may see.
    pub devices: Vec<i64>,
    pub device_groups: Vec<i64>,
    pub next_run: Option<String>,
    pub created_at: String,
}

impl ScheduleOut {
    /// `s` with its devices limited to `visible`.
    pub fn of(s: &Schedule, visible: Vec<i64>) -> Self {
        let f = &s.fields;
        Self {
            id: s.id,
            name: f.name.clone(),
            cron: f.cron.clone(),
            timezone: f.timezone.clone(),
            enabled: f.enabled,
            devices: visible,
            device_groups: f.device_groups.clone(),
            next_run: s.next_run.clone(),
            created_at: s.created_at.clone(),
        }
    }
}

/// One entry of a result's log.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct LogEntryOut {
    /// `collector`, `storage`, `dispatcher`, …
    pub source: String,
    pub timestamp: String,
    /// `info`, `warning` or `error`.
    pub severity: String,
    pub message: String,
}

/// A result's log: its entries, or the text of a log that is not JSON.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LogOut {
    Entries(Vec<LogEntryOut>),
    Text(String),
}

/// A stored log (JSON text) as entries; a log of another shape stays the
/// text it is, so what the schema promises always holds.
fn log_json(log: &str) -> LogOut {
    serde_json::from_str(log).map_or_else(|_| LogOut::Text(log.to_owned()), LogOut::Entries)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobOut {
    pub task_id: String,
    pub task_identifier: String,
    pub device: i64,
    /// `queued`, `collecting`, `collected`, `stored` or `failed`.
    pub state: String,
    pub reason: Option<String>,
    pub queued_on: String,
    pub updated_at: String,
    pub attempts: i64,
}

impl From<&BackupJob> for JobOut {
    fn from(j: &BackupJob) -> Self {
        Self {
            task_id: j.task_id.clone(),
            task_identifier: j.task_identifier.clone(),
            device: j.device_id,
            state: j.state.as_str().to_owned(),
            reason: j.reason.clone(),
            queued_on: j.queued_on.clone(),
            updated_at: j.updated_at.clone(),
            attempts: j.attempts,
        }
    }
}

/// A collection outcome (DeviceBackupResult) and what became of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultOut {
    /// The collection outcome's id; null for a job that failed before any
    /// collection (an archived device, or a job never picked up after its
    /// last dispatch), which is listed as a failure all the same.
    pub id: Option<i64>,
    pub device: i64,
    pub device_name: String,
    pub task_id: String,
    pub task_identifier: String,
    /// The collection's: `success` or `failure`.
    pub status: String,
    /// What became of it: `stored`, `failed` (collection, storage or job)
    /// or `pending` (collected, not stored yet).
    pub outcome: String,
    pub timestamp: String,
    pub log: LogOut,
    pub collection_duration_ms: i64,
    /// The stored backup, once stored (or failed to store).
    pub stored_backup: Option<i64>,
    pub changed: Option<bool>,
    /// The job's failure reason, when it failed.
    pub reason: Option<String>,
}

impl From<&ResultRow> for ResultOut {
    fn from(x: &ResultRow) -> Self {
        let r = &x.result;
        Self {
            id: x.collected.then_some(r.id),
            device: r.device_id,
            device_name: x.device_name.clone(),
            task_id: r.task_id.clone(),
            task_identifier: r.task_identifier.clone(),
            status: r.status.as_str().to_owned(),
            outcome: x.outcome.as_str().to_owned(),
            timestamp: r.timestamp.clone(),
            log: log_json(&r.log),
            collection_duration_ms: r.collection_duration_ms,
            stored_backup: x.stored_id,
            changed: x.changed,
            reason: x.reason.clone(),
        }
    }
}

/// A distinct version of a device's configuration.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionOut {
    /// The stored backup that first held this configuration (its id at
    /// `/api/stored-backups/<id>/`).
    pub stored_backup: i64,
    pub device: i64,
    /// When a backup first found this configuration.
    pub first_seen: String,
    /// When a backup last found it (unchanged).
    pub last_confirmed: String,
    /// How many successful backups found it, the first one included.
    pub confirmations: i64,
    /// The first stored backup of the version before this one.
    pub previous_version: Option<i64>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    /// Who made the change, as the device says.
    pub author: Option<String>,
    pub storage_backend: String,
    pub storage_ref: String,
}

impl From<&Version> for VersionOut {
    fn from(v: &Version) -> Self {
        let s = &v.stored;
        Self {
            stored_backup: s.id,
            device: s.device_id,
            first_seen: s.timestamp.clone(),
            last_confirmed: v.last_confirmed.clone(),
            confirmations: v.confirmations,
            previous_version: v.previous,
            size: s.size,
            sha256: s.sha256.clone(),
            author: s.author.clone(),
            storage_backend: s.storage_backend.as_str().to_owned(),
            storage_ref: s.storage_ref.clone(),
        }
    }
}

/// A storage outcome (StoredBackup), the index of a stored version.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredBackupOut {
    pub id: i64,
    pub device: i64,
    pub task_id: String,
    pub task_identifier: String,
    /// `git` or `fs`.
    pub storage_backend: String,
    pub storage_ref: String,
    pub status: String,
    pub timestamp: String,
    pub log: LogOut,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub changed: Option<bool>,
    pub location: Option<i64>,
    pub is_binary: bool,
    /// Who last changed the configuration, as the device says (IOS `Last
    /// configuration change … by`, Junos `Last commit … by`, …); null when
    /// the device does not say.
    pub author: Option<String>,
}

impl From<&StoredBackup> for StoredBackupOut {
    fn from(s: &StoredBackup) -> Self {
        Self {
            id: s.id,
            device: s.device_id,
            task_id: s.task_id.clone(),
            task_identifier: s.task_identifier.clone(),
            storage_backend: s.storage_backend.as_str().to_owned(),
            storage_ref: s.storage_ref.clone(),
            status: s.status.as_str().to_owned(),
            timestamp: s.timestamp.clone(),
            log: log_json(&s.log),
            size: s.size,
            sha256: s.sha256.clone(),
            changed: s.changed,
            location: s.location_id,
            is_binary: s.is_binary,
            author: s.author.clone(),
        }
    }
}

/// An accepted "backup now".
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedOut {
    pub task_id: String,
    pub task_identifier: String,
    /// The queue the collection task went to,
    /// `collector.group.<rabbitmq_queue_id>` (as the original DeviceVault
    /// answered; until issue 15 this field held the time, now `queued_at`).
    #[schema(example = "collector.group.default")]
    pub queued_on: String,
    /// When the job was queued (RFC 3339, UTC).
    pub queued_at: String,
    /// `/api/jobs/<task_identifier>/`.
    pub job: String,
}

/// A token or session as lists show it (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    pub id: i64,
    pub user: i64,
    pub username: String,
    /// `login`, `named` or `session`.
    pub kind: String,
    pub name: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
    /// The secret: only in the answer that created a named token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl From<&TokenInfo> for TokenOut {
    fn from(t: &TokenInfo) -> Self {
        Self {
            id: t.id,
            user: t.user_id,
            username: t.username.clone(),
            kind: t.kind.as_str().to_owned(),
            name: t.name.clone(),
            created_at: t.created_at.clone(),
            last_used_at: t.last_used_at.clone(),
            expires_at: t.expires_at.clone(),
            token: None,
        }
    }
}

/// How many tokens and sessions an operation revoked.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedOut {
    pub revoked: u64,
}

/// A login's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginOut {
    pub token: String,
    pub username: String,
    pub is_admin: bool,
    /// `admin`, `operator` or `reader`.
    pub role: String,
    /// Where the account comes from: `local`, `ldap` or `oidc:<provider>`.
    pub source: String,
    /// The token dies after this many seconds unused.
    pub expires_after_idle_s: u64,
}

/// `GET /api/health/`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthOut {
    /// `ok` or `unavailable`.
    pub status: String,
    /// `ok`, or why the database did not answer.
    pub database: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A notification channel: never its secret; Slack and Teams URLs (which
/// are credentials) by scheme and host only.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelOut {
    pub id: i64,
    pub name: String,
    /// `email`, `webhook`, `slack` or `teams`.
    pub kind: String,
    /// E-mail: the recipients.
    pub to: Vec<String>,
    pub url: Option<String>,
    /// Webhook: a signing secret is stored.
    pub has_secret: bool,
    pub created_at: String,
}

impl From<devicevault_pipeline::app::notifications::ChannelView> for ChannelOut {
    fn from(v: devicevault_pipeline::app::notifications::ChannelView) -> Self {
        Self {
            id: v.id,
            name: v.name,
            kind: v.kind,
            to: v.to,
            url: v.url,
            has_secret: v.has_secret,
            created_at: v.created_at,
        }
    }
}

/// A notification rule: which events, about which devices (empty lists:
/// every device), to which channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleOut {
    pub id: i64,
    pub name: String,
    pub events: Vec<String>,
    pub channel: i64,
    pub device_groups: Vec<i64>,
    pub devices: Vec<i64>,
    pub enabled: bool,
    pub created_at: String,
}

impl From<&devicevault_db::NotificationRule> for RuleOut {
    fn from(r: &devicevault_db::NotificationRule) -> Self {
        let f = &r.fields;
        Self {
            id: r.id,
            name: f.name.clone(),
            events: f.events.clone(),
            channel: f.channel_id,
            device_groups: f.device_groups.clone(),
            devices: f.devices.clone(),
            enabled: f.enabled,
            created_at: r.created_at.clone(),
        }
    }
}

/// One event's delivery to one channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationOut {
    pub id: i64,
    /// The outbox event; `devicevault-event-<event>` is its idempotency key.
    pub event: i64,
    /// `config_changed`, `backup_failed`.
    pub kind: String,
    pub device: i64,
    pub device_name: String,
    pub channel: i64,
    pub channel_name: String,
    /// The rule that picked it (null once that rule is deleted).
    pub rule: Option<i64>,
    pub rule_name: Option<String>,
    /// `pending`, `delivering`, `delivered` or `dead`.
    pub state: String,
    pub attempts: i64,
    /// When a pending delivery is tried next.
    pub next_attempt_at: String,
    /// The last attempt's error (for a dead one: why it is dead).
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

impl From<&devicevault_db::NotificationDelivery> for NotificationOut {
    fn from(d: &devicevault_db::NotificationDelivery) -> Self {
        Self {
            id: d.id,
            event: d.event_id,
            kind: d.event_kind.clone(),
            device: d.device_id,
            device_name: d.device_name.clone(),
            channel: d.channel_id,
            channel_name: d.channel_name.clone(),
            rule: d.rule_id,
            rule_name: d.rule_name.clone(),
            state: d.state.clone(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at.clone(),
            last_error: d.last_error.clone(),
            created_at: d.created_at.clone(),
            delivered_at: d.delivered_at.clone(),
        }
    }
}

/// What "send test" did.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestOut {
    pub delivered: bool,
    /// Why it was not delivered.
    pub error: Option<String>,
}

/// One page of a fleet search: the devices selected (those with a matching
/// line, or without one for `negate=true`), ordered by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchPageOut {
    /// Devices selected.
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<SearchResultOut>,
    /// Devices searched (in scope, matching the filters, with a stored
    /// version, less the unsearchable and unreadable ones).
    pub searched_devices: usize,
    /// Devices whose configuration cannot be masked for this user (binary,
    /// or its driver is not installed): neither containing nor not.
    pub unsearchable_devices: usize,
    /// Devices whose stored version could not be read from storage.
    pub unreadable_devices: usize,
    /// Secrets were masked, and not matched, for this user.
    pub secrets_masked: bool,
}

/// A device selected by a search and its matching lines.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResultOut {
    pub device: i64,
    pub device_name: String,
    /// The stored backup searched (the latest, or the one at `as_of`).
    pub stored_backup: i64,
    pub stored_at: String,
    /// The first matching lines (at most `max_matches`); empty with
    /// `negate=true`.
    pub matches: Vec<SearchMatchOut>,
    /// Every matching line of the device, listed or not.
    pub total_matches: usize,
}

/// A matching line and its context, as the user may see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchMatchOut {
    /// 1-based.
    pub line_number: u64,
    pub line: String,
    pub context_before: Vec<String>,
    pub context_after: Vec<String>,
}

/// Two stored versions compared: the web compare page's rows in hunks.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiffOut {
    pub old: DiffVersionOut,
    pub new: DiffVersionOut,
    pub identical: bool,
    /// Secrets were masked in the versions compared.
    pub secrets_masked: bool,
    pub stats: DiffStatsOut,
    pub hunks: Vec<DiffHunkOut>,
    /// Unchanged lines folded away after the last hunk.
    pub skipped_after: usize,
}

/// One side of a comparison.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiffVersionOut {
    pub stored_backup: i64,
    pub device: i64,
    pub timestamp: String,
}

/// Line counts of a comparison.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiffStatsOut {
    pub added: usize,
    pub removed: usize,
    pub unchanged: usize,
}

/// Changes with their context; the line ranges as in a unified diff's
/// `@@ -old_start,old_lines +new_start,new_lines @@`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiffHunkOut {
    /// Unchanged lines folded away just before this hunk.
    pub skipped_before: usize,
    pub old_start: usize,
    pub old_lines: usize,
    pub new_start: usize,
    pub new_lines: usize,
    pub rows: Vec<DiffRowOut>,
}

/// A row of the side-by-side comparison.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiffRowOut {
    /// `same`, `changed` (both sides), `removed` (old only) or `added`
    /// (new only).
    pub kind: String,
    pub old: Option<DiffSideOut>,
    pub new: Option<DiffSideOut>,
}

/// A line of one version in a row.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiffSideOut {
    /// 1-based, in its version.
    pub number: usize,
    pub text: String,
    /// The changed parts of a changed line, word by word, as byte ranges
    /// of `text`; `null` when the whole line counts as changed (or the
    /// row is unchanged).
    pub changes: Option<Vec<DiffChangeOut>>,
}

/// A byte range `[start, end)` of a line.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiffChangeOut {
    pub start: usize,
    pub end: usize,
}

/// A row of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    pub id: i64,
    pub at: String,
    /// The user (for a failed sign-in, the name tried).
    pub actor: String,
    /// `web`, `api token <name>`, `api login token`, `cli`, `api` / `web`
    /// for a sign-in.
    pub via: String,
    pub address: Option<String>,
    /// `<object type>.<verb>`: `devices.create`, `login.failure`,
    /// `stored-backups.download`, …
    pub action: String,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// The fields given, secret values replaced by `(secret)`.
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    /// `ok`, `denied` or `failure`.
    pub outcome: String,
    /// SHA-256 of the previous row's hash and this row (the chain
    /// `devicevault audit verify` checks).
    pub hash: String,
}

impl From<&devicevault_db::AuditRecord> for AuditOut {
    fn from(r: &devicevault_db::AuditRecord) -> Self {
        let e = &r.entry;
        Self {
            id: r.id,
            at: r.at.clone(),
            actor: e.actor.clone(),
            via: e.via.clone(),
            address: e.address.clone(),
            action: e.action.clone(),
            object_type: e.object_type.clone(),
            object_id: e.object_id.clone(),
            fields: serde_json::from_str(&e.fields).unwrap_or(serde_json::Value::Null),
            outcome: e.outcome.clone(),
            hash: r.hash.clone(),
        }
    }
}

/// A compliance rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceRuleOut {
    pub id: i64,
    pub name: String,
    pub pattern: String,
    pub regex: bool,
    pub ignore_case: bool,
    /// `must_contain` or `must_not_contain`.
    pub expectation: String,
    /// The blocks' header pattern, or `null`: the whole configuration.
    pub block: Option<String>,
    /// Empty: every device.
    pub device_groups: Vec<i64>,
    pub enabled: bool,
    /// Moved by every edit.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl ComplianceRuleOut {
    pub fn of(r: &devicevault_db::ComplianceRule) -> Self {
        let f = &r.fields;
        Self {
            id: r.id,
            name: f.name.clone(),
            pattern: f.pattern.clone(),
            regex: f.regex,
            ignore_case: f.ignore_case,
            expectation: f.expectation.clone(),
            block: f.block.clone(),
            device_groups: f.device_groups.clone(),
            enabled: f.enabled,
            version: r.version,
            created_at: r.created_at.clone(),
            updated_at: r.updated_at.clone(),
        }
    }
}

/// A device's state under a compliance rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceStateOut {
    pub rule: i64,
    pub rule_name: String,
    pub device: i64,
    pub device_name: String,
    pub device_group: Option<i64>,
    /// `compliant`, `non_compliant` or `unknown`.
    pub state: String,
    /// The stored backup evaluated (`null`: the device has none).
    pub stored_backup: Option<i64>,
    /// Why: the violating line numbers, or why the state is unknown.
    pub detail: String,
    pub evaluated_at: String,
    /// When the state last changed.
    pub changed_at: String,
}

impl From<devicevault_db::ComplianceState> for ComplianceStateOut {
    fn from(s: devicevault_db::ComplianceState) -> Self {
        Self {
            rule: s.rule_id,
            rule_name: s.rule_name,
            device: s.device_id,
            device_name: s.device_name,
            device_group: s.device_group_id,
            state: s.state,
            stored_backup: s.stored_backup_id,
            detail: s.detail,
            evaluated_at: s.evaluated_at,
            changed_at: s.changed_at,
        }
    }
}
