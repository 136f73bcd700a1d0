//! Bulk operations on devices (issue 15): many devices — by id, or every
//! live device a list's filter matches — backed up now, enabled or
//! disabled, moved to a group, a collection group, a backup location or a
//! credential, or archived, in one request. The API
//! (`POST /api/devices/bulk/`) and the web device list call [`run`].
//!
//! A change is one database transaction ([`Db::bulk_change_devices`]);
//! so is "backup now": one job per device, created together
//! ([`Db::create_jobs`]), each joining the device's open job like a single
//! "backup now", then published. Only administrators change devices;
//! readers may back up the devices they see.

use devicevault_db::dashboard::{DeviceQuery, LastStatus};
use devicevault_db::{BulkChange, DbError, DeviceFilter, Page, Scope, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::App;
use super::inventory::FieldErrors;
use crate::roles::dispatcher::DispatchError;

/// The most devices one request names by id.
pub const MAX_IDS: usize = 100_000;

/// What to do to the selected devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    BackupNow,
    Enable,
    Disable,
    SetDeviceGroup,
    SetCollectionGroup,
    SetBackupLocation,
    SetCredential,
    Archive,
}

impl BulkAction {
    pub const ALL: [BulkAction; 8] = [
        Self::BackupNow,
        Self::Enable,
        Self::Disable,
        Self::SetDeviceGroup,
        Self::SetCollectionGroup,
        Self::SetBackupLocation,
        Self::SetCredential,
        Self::Archive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BackupNow => "backup_now",
            Self::Enable => "enable",
            Self::Disable => "disable",
            Self::SetDeviceGroup => "set_device_group",
            Self::SetCollectionGroup => "set_collection_group",
            Self::SetBackupLocation => "set_backup_location",
            Self::SetCredential => "set_credential",
            Self::Archive => "archive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Whether the action sets a reference (`value`).
    pub fn sets(self) -> bool {
        matches!(
            self,
            Self::SetDeviceGroup
                | Self::SetCollectionGroup
                | Self::SetBackupLocation
                | Self::SetCredential
        )
    }
}

/// The device list's filter, for "every device matching".
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkFilter {
    /// Part of the name, case-insensitive.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub device_group: Option<i64>,
    #[serde(default)]
    pub device_type: Option<i64>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub stale: Option<bool>,
    /// `failed`, `running`, `stored` or `never`.
    #[serde(default)]
    pub last_status: Option<String>,
}

/// A bulk operation as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkInput {
    pub action: BulkAction,
    /// The devices, by id (at most 100,000).
    #[serde(default)]
    pub devices: Vec<i64>,
    /// Instead of `devices`: every live device this filter matches (`{}`:
    /// every device the user sees).
    #[serde(default)]
    pub all_matching: Option<BulkFilter>,
    /// For the `set_…` actions: the id to set, `null` for none.
    #[serde(default)]
    pub value: Option<i64>,
}

/// What a bulk operation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BulkOutcome {
    pub action: BulkAction,
    /// Live devices selected (in the user's scope).
    pub matched: usize,
    /// Devices changed; for `backup_now`, jobs accepted (new or joined).
    pub changed: u64,
    /// For `backup_now`: the devices refused, with the reason.
    pub refused: Vec<BulkRefusal>,
}

/// A device a bulk "backup now" could not back up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BulkRefusal {
    pub device: i64,
    pub reason: String,
}

/// Why a bulk operation was refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    #[error("{0}")]
    Invalid(FieldErrors),
    /// The user may not make this change (a reader), or not there (a
    /// device group outside its scope).
    #[error(transparent)]
    Denied(#[from] super::rights::Denied),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Runs `input` for a user of `scope` (`admin`: may change devices).
pub async fn run(
    app: &App,
    user: &User,
    scope: &Scope,
    input: &BulkInput,
) -> Result<BulkOutcome, BulkError> {
    use super::rights::{self, Denied, Right};
    if input.action != BulkAction::BackupNow {
        // The selection below holds only devices of the scope; moving
        // them must keep them there.
        rights::require(user, Right::Operate)?;
        if input.action == BulkAction::SetDeviceGroup && !scope.allows(input.value, false) {
            return Err(Denied::Reach {
                user: user.username.clone(),
                reason: "the devices would leave them".into(),
            }
            .into());
        }
    }
    let mut e = FieldErrors::default();
    match (&input.all_matching, input.devices.len()) {
        (Some(_), n) if n > 0 => e.add("devices", "give devices or all_matching, not both"),
        (None, 0) => e.add("devices", "select at least one device"),
        (None, n) if n > MAX_IDS => e.add("devices", format!("at most {MAX_IDS} devices by id")),
        _ => {}
    }
    let last_status = match input
        .all_matching
        .as_ref()
        .and_then(|f| f.last_status.as_deref())
    {
        None | Some("") => None,
        Some(s) => {
            let parsed = LastStatus::parse(s);
            if parsed.is_none() {
                e.add(
                    "all_matching",
                    format!("last_status {s:?} is not failed, running, stored or never"),
                );
            }
            parsed
        }
    };
    let change = match input.action {
        BulkAction::BackupNow => None,
        BulkAction::Enable => Some(BulkChange::Enabled(true)),
        BulkAction::Disable => Some(BulkChange::Enabled(false)),
        BulkAction::Archive => Some(BulkChange::Archive),
        BulkAction::SetDeviceGroup => Some(BulkChange::DeviceGroup(input.value)),
        BulkAction::SetCollectionGroup => Some(BulkChange::CollectionGroup(input.value)),
        BulkAction::SetBackupLocation => Some(BulkChange::BackupLocation(input.value)),
        BulkAction::SetCredential => Some(BulkChange::Credential(input.value)),
    };
    if !input.action.sets() && input.value.is_some() {
        e.add("value", format!("{} takes no value", input.action.as_str()));
    }
    if let Some(id) = input.value.filter(|_| input.action.sets()) {
        let db = &app.db;
        let exists = match input.action {
            BulkAction::SetDeviceGroup => db.device_group(id).await.map(|_| ()),
            BulkAction::SetCollectionGroup => db.collection_group(id).await.map(|_| ()),
            BulkAction::SetBackupLocation => db.location(id).await.map(|_| ()),
            _ => db.credential(id).await.map(|_| ()),
        };
        match exists {
            Ok(()) => {}
            Err(DbError::NotFound { what }) => e.add("value", format!("{what} does not exist")),
            Err(err) => return Err(err.into()),
        }
    }
    if !e.is_empty() {
        return Err(BulkError::Invalid(e));
    }
    let ids = select(app, scope, input, last_status).await?;
    if input.action == BulkAction::SetCredential
        && let Some(id) = input.value
        && app.db.credential(id).await?.is_key()
    {
        // A key cannot log in over Telnet: the whole request is refused,
        // as the device form refuses it for one device.
        for &d in &ids {
            let device = app.db.device(d).await?;
            if device.fields.profile.transport == devicevault_db::DeviceTransport::Telnet {
                let mut e = FieldErrors::default();
                e.add(
                    "value",
                    format!(
                        "credential {id} logs in with an SSH key and device {:?} uses Telnet",
                        device.fields.name
                    ),
                );
                return Err(BulkError::Invalid(e));
            }
        }
    }
    let matched = ids.len();
    let Some(change) = change else {
        // The selection holds live devices in the user's scope only; their
        // jobs are created in one transaction.
        let (archived, devices): (Vec<_>, Vec<_>) = app
            .db
            .devices_by_ids(&ids)
            .await?
            .into_iter()
            .partition(|d| d.archived_at.is_some());
        let mut changed = 0;
        // Archived since the selection was read.
        let mut refused: Vec<BulkRefusal> = archived
            .iter()
            .map(|d| BulkRefusal {
                device: d.id,
                reason: super::backups::BackupNowError::Archived(d.id).to_string(),
            })
            .collect();
        for (device, accepted) in devices
            .iter()
            .zip(app.pipeline.backup_now_many(&devices).await?)
        {
            match accepted {
                Ok(_) => changed += 1,
                Err(DispatchError::Db(e)) => return Err(e.into()),
                Err(e) => refused.push(BulkRefusal {
                    device: device.id,
                    reason: e.to_string(),
                }),
            }
        }
        return Ok(BulkOutcome {
            action: input.action,
            matched,
            changed,
            refused,
        });
    };
    let changed = app.db.bulk_change_devices(&ids, change).await?;
    Ok(BulkOutcome {
        action: input.action,
        matched,
        changed,
        refused: Vec::new(),
    })
}

/// The live devices in `scope` the input selects, by id or by filter.
async fn select(
    app: &App,
    scope: &Scope,
    input: &BulkInput,
    last_status: Option<LastStatus>,
) -> Result<Vec<i64>, DbError> {
    let filter = match &input.all_matching {
        Some(f) => DeviceFilter {
            name: f.name.clone().filter(|n| !n.trim().is_empty()),
            device_group: f.device_group,
            device_type: f.device_type,
            enabled: f.enabled,
            archived: false,
            stale: f.stale,
        },
        None => {
            let mut ids = input.devices.clone();
            ids.sort_unstable();
            ids.dedup();
            let visible = app.db.devices_in_scope(scope, &ids).await?;
            return app.db.live_devices(&visible).await;
        }
    };
    let rows = app
        .db
        .device_rows(
            &DeviceQuery {
                filter,
                last_status,
                ..DeviceQuery::default()
            },
            scope,
            Page {
                limit: i64::MAX,
                offset: 0,
            },
        )
        .await?;
    Ok(rows.rows.into_iter().map(|r| r.device.id).collect())
}
