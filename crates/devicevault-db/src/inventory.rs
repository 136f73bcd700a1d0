//! Users, tokens, groups, credentials, locations and devices.

use devicevault_core::QueueId;
use devicevault_core::{StorageBackendKind, Timestamp};
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{
    BackupLocation, CollectionGroup, ConnectionProfile, Credential, Db, DbError, Device,
    DeviceFields, DeviceGroup, DeviceHealth, DeviceTransport, DeviceType, JumpHost, Listed, Named,
    NamedKind, Page, Timeouts, User,
};

pub(crate) fn not_found(what: impl Into<String>) -> DbError {
    DbError::NotFound { what: what.into() }
}

/// Rejects a negative limit or offset, which the two engines would treat
/// differently (SQLite: no limit; PostgreSQL: an error).
pub(crate) fn check_page(page: Page) -> Result<(), DbError> {
    if page.limit < 0 || page.offset < 0 {
        return Err(DbError::Invalid(format!(
            "page limit and offset must not be negative (limit {}, offset {})",
            page.limit, page.offset
        )));
    }
    Ok(())
}

/// The normalised form of a name (see [`devicevault_core::Name`]): the
/// front ends report a bad name on its field first; this is the backstop
/// that keeps every stored name clean.
fn checked_name(what: &str, value: &str) -> Result<String, DbError> {
    devicevault_core::Name::parse(value)
        .map(devicevault_core::Name::into_string)
        .map_err(|e| DbError::Invalid(format!("{what}: {e}")))
}

/// Booleans are stored as 0/1 in both engines.
pub(crate) fn flag(row: &AnyRow, col: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(col)? != 0)
}

fn opt_id(row: &AnyRow, col: &str) -> Result<Option<i64>, sqlx::Error> {
    row.try_get::<Option<i64>, _>(col)
}

fn opt_flag(row: &AnyRow, col: &str) -> Result<Option<bool>, sqlx::Error> {
    Ok(row.try_get::<Option<i64>, _>(col)?.map(|n| n != 0))
}

fn timeouts(row: &AnyRow) -> Result<Timeouts, sqlx::Error> {
    Ok(Timeouts {
        connect: row.try_get("connect_timeout")?,
        command: row.try_get("command_timeout")?,
        job: row.try_get("job_timeout")?,
    })
}

fn profile(row: &AnyRow) -> Result<ConnectionProfile, sqlx::Error> {
    let transport: String = row.try_get("transport")?;
    let jump_host: Option<String> = row.try_get("jump_host")?;
    let jump_port: Option<i64> = row.try_get("jump_port")?;
    Ok(ConnectionProfile {
        transport: DeviceTransport::parse(&transport).unwrap_or_default(),
        legacy_algorithms: opt_flag(row, "legacy_algorithms")?,
        timeouts: timeouts(row)?,
        jump: jump_host.map(|host| JumpHost {
            host,
            port: jump_port.and_then(|p| u16::try_from(p).ok()).unwrap_or(22),
            credential: None,
        }),
    }
    .with_jump_credential(opt_id(row, "jump_credential_id")?))
}

impl ConnectionProfile {
    fn with_jump_credential(mut self, id: Option<i64>) -> Self {
        if let Some(j) = &mut self.jump {
            j.credential = id;
        }
        self
    }
}

pub(crate) fn user(row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        role: role(row)?,
        restricted: flag(row, "restricted")?,
        view_secrets: flag(row, "view_secrets")?,
        created_at: row.try_get("created_at")?,
        source: row.try_get("source")?,
        directory_checked_at: row.try_get("directory_checked_at")?,
        disabled_at: row.try_get("disabled_at")?,
    })
}

/// A user's `role` column; anything else than the three names is a
/// corrupt row, not a reader.
fn role(row: &AnyRow) -> Result<devicevault_core::Role, sqlx::Error> {
    let text: String = row.try_get("role")?;
    text.parse().map_err(|e| sqlx::Error::ColumnDecode {
        index: "role".into(),
        source: Box::new(e),
    })
}

fn device_group(row: &AnyRow) -> Result<DeviceGroup, DbError> {
    Ok(DeviceGroup {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        stale_after_hours: row.try_get("stale_after_hours")?,
    })
}

fn named(row: &AnyRow) -> Result<Named, sqlx::Error> {
    Ok(Named {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
    })
}

fn device_type(row: &AnyRow) -> Result<DeviceType, sqlx::Error> {
    Ok(DeviceType {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        manufacturer: opt_id(row, "manufacturer_id")?,
        max_config_bytes: row.try_get("max_config_bytes")?,
        legacy_algorithms: flag(row, "legacy_algorithms")?,
        timeouts: timeouts(row)?,
    })
}

fn collection_group(row: &AnyRow) -> Result<CollectionGroup, sqlx::Error> {
    Ok(CollectionGroup {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        rabbitmq_queue_id: row.try_get("rabbitmq_queue_id")?,
        max_sessions: row.try_get("max_sessions")?,
    })
}

pub(crate) fn device(row: &AnyRow) -> Result<Device, sqlx::Error> {
    let port: i64 = row.try_get("port")?;
    Ok(Device {
        id: row.try_get("id")?,
        fields: DeviceFields {
            name: row.try_get("name")?,
            address: row.try_get("address")?,
            port: u16::try_from(port).unwrap_or(0),
            driver: row.try_get("driver")?,
            credential: opt_id(row, "credential_id")?,
            backup_location: opt_id(row, "backup_location_id")?,
            collection_group: opt_id(row, "collection_group_id")?,
            device_group: opt_id(row, "device_group_id")?,
            device_type: opt_id(row, "device_type_id")?,
            enabled: flag(row, "enabled")?,
            profile: profile(row)?,
        },
        created_at: row.try_get("created_at")?,
        archived_at: row.try_get("archived_at")?,
        health: DeviceHealth {
            last_success_at: row.try_get("last_success_at")?,
            last_change_at: row.try_get("last_change_at")?,
            failing_since: row.try_get("failing_since")?,
            stale_since: row.try_get("stale_since")?,
            last_status: crate::dashboard::LastStatus::from_rank(row.try_get("last_status_rank")?),
            last_backup_at: row.try_get("last_queued_on")?,
        },
    })
}

fn location(row: &AnyRow) -> Result<BackupLocation, DbError> {
    let kind: String = row.try_get("location_type")?;
    let config: String = row.try_get("config")?;
    let config: Map<String, Value> = serde_json::from_str(&config).map_err(|e| {
        DbError::Invalid(format!("stored location config is not a JSON object: {e}"))
    })?;
    Ok(BackupLocation {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        location_type: kind
            .parse::<StorageBackendKind>()
            .map_err(|e| DbError::Invalid(e.to_string()))?,
        config,
    })
}

fn credential(row: &AnyRow) -> Result<Credential, sqlx::Error> {
    Ok(Credential {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        username: row.try_get("username")?,
        password_sealed: row.try_get("password_sealed")?,
        enable_secret_sealed: row.try_get("enable_secret_sealed")?,
        private_key_sealed: row.try_get("private_key_sealed")?,
        passphrase_sealed: row.try_get("passphrase_sealed")?,
        key_fingerprint: row.try_get("key_fingerprint")?,
        api_key_sealed: row.try_get("api_key_sealed")?,
    })
}

const USER_COLUMNS: &str = "id, username, password_hash, role, restricted, view_secrets, created_at, \
     source, directory_checked_at, disabled_at";
/// [`USER_COLUMNS`] of a query where `users` is aliased `u`.
pub(crate) const USER_COLUMNS_U: &str = "u.id, u.username, u.password_hash, u.role, u.restricted, \
     u.view_secrets, u.created_at, u.source, u.directory_checked_at, u.disabled_at";
const LOCATION_COLUMNS: &str = "id, name, location_type, config";
const CREDENTIAL_COLUMNS: &str = "id, name, username, password_sealed, enable_secret_sealed, \
     private_key_sealed, passphrase_sealed, key_fingerprint, api_key_sealed";
const COLLECTION_GROUP_COLUMNS: &str = "id, name, rabbitmq_queue_id, max_sessions";
const DEVICE_TYPE_COLUMNS: &str = "id, name, manufacturer_id, max_config_bytes, legacy_algorithms, \
     connect_timeout, command_timeout, job_timeout";

pub(crate) const DEVICE_COLUMNS: &str = "id, name, address, port, driver, credential_id, backup_location_id, \
     collection_group_id, device_group_id, device_type_id, enabled, created_at, archived_at, \
     last_success_at, last_change_at, failing_since, stale_since, transport, legacy_algorithms, \
     connect_timeout, command_timeout, job_timeout, jump_host, jump_port, jump_credential_id, \
     last_status_rank, last_queued_on";

/// One change [`Db::bulk_change_devices`] applies to many devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkChange {
    Enabled(bool),
    DeviceGroup(Option<i64>),
    CollectionGroup(Option<i64>),
    BackupLocation(Option<i64>),
    Credential(Option<i64>),
    /// Out of lists, schedules and readers' scope; open jobs failed.
    Archive,
}

/// Which devices a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceFilter {
    /// Substring of the name, case-insensitive.
    pub name: Option<String>,
    pub device_group: Option<i64>,
    pub device_type: Option<i64>,
    pub enabled: Option<bool>,
    /// Archived devices instead of live ones (administrators only: the
    /// caller's scope must be [`crate::Scope::Admin`]).
    pub archived: bool,
    /// Only stale devices (`true`) or only the others (`false`).
    pub stale: Option<bool>,
}

impl DeviceFilter {
    /// The SQL condition on `stale_since` of devices aliased `alias`.
    pub(crate) fn on_stale(&self, alias: &str) -> Option<String> {
        self.stale.map(|stale| {
            let not = if stale { "NOT " } else { "" };
            format!("{alias}stale_since IS {not}NULL")
        })
    }

    /// The SQL condition on `archived_at` of devices aliased `alias`.
    pub(crate) fn on_archived(&self, scope: &crate::Scope, alias: &str) -> String {
        if self.archived && scope.sees_archived() {
            format!("{alias}archived_at IS NOT NULL")
        } else if self.archived {
            "1 = 0".into()
        } else {
            format!("{alias}archived_at IS NULL")
        }
    }
}

/// A credential an import creates (its password sealed by the caller).
#[derive(Clone, PartialEq, Eq)]
pub struct NewCredential {
    pub name: String,
    pub username: String,
    pub password_sealed: Vec<u8>,
}

impl std::fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCredential")
            .field("name", &self.name)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Changes to the inventory applied together, in one transaction (an
/// import): new credentials, then new and changed devices — whose
/// `Some(i)` names the `i`th new credential instead of their `credential`
/// —, then devices archived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryChanges {
    pub credentials: Vec<NewCredential>,
    pub create: Vec<(DeviceFields, Option<usize>)>,
    pub update: Vec<(i64, DeviceFields, Option<usize>)>,
    pub archive: Vec<i64>,
}

/// What purging a device destroyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub jobs: i64,
    pub results: i64,
    pub stored_backups: i64,
}

impl Db {
    // ---- users and tokens -------------------------------------------------

    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        role: devicevault_core::Role,
    ) -> Result<User, DbError> {
        if username.trim().is_empty() {
            return Err(DbError::Invalid("username is empty".into()));
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING {USER_COLUMNS}"
        )))
        .bind(username)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(Timestamp::now().to_string())
        .fetch_one(self.pool())
        .await?;
        Ok(user(&row)?)
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
        )))
        .bind(username)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(user).transpose()?)
    }

    pub async fn user(&self, id: i64) -> Result<User, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("user {id}")))?;
        Ok(user(&row)?)
    }

    /// Every user, by id (an installation has a handful).
    pub async fn list_users(&self) -> Result<Vec<User>, DbError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY id"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok(user(r)?)).collect()
    }

    /// Deletes a user and, by cascade, its tokens.
    pub async fn delete_user(&self, id: i64) -> Result<(), DbError> {
        self.delete_by_id("users", id, "user").await
    }

    pub async fn count_admins(&self) -> Result<i64, DbError> {
        Ok(sqlx::query(
            "SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL",
        )
        .fetch_one(self.pool())
        .await?
        .try_get("n")?)
    }

    pub async fn count_users(&self) -> Result<i64, DbError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(self.pool())
            .await?
            .try_get("n")?)
    }

    // ---- collection groups ------------------------------------------------

    pub async fn create_collection_group(
        &self,
        name: &str,
        rabbitmq_queue_id: &QueueId,
    ) -> Result<CollectionGroup, DbError> {
        self.create_collection_group_limited(name, rabbitmq_queue_id, crate::DEFAULT_MAX_SESSIONS)
            .await
    }

    /// A collection group whose collectors open at most `max_sessions`
    /// sessions at once.
    pub async fn create_collection_group_limited(
        &self,
        name: &str,
        rabbitmq_queue_id: &QueueId,
        max_sessions: i64,
    ) -> Result<CollectionGroup, DbError> {
        let name = checked_name("collection group name", name)?;
        let name = name.as_str();
        let rabbitmq_queue_id = rabbitmq_queue_id.as_str();
        positive("max_sessions", Some(max_sessions))?;
        let row = sqlx::query(
            "INSERT INTO collection_groups (name, rabbitmq_queue_id, max_sessions) VALUES ($1, $2, $3) \
             RETURNING id",
        )
        .bind(name)
        .bind(rabbitmq_queue_id)
        .bind(max_sessions)
        .fetch_one(self.pool())
        .await?;
        Ok(CollectionGroup {
            id: row.try_get("id")?,
            name: name.to_owned(),
            rabbitmq_queue_id: rabbitmq_queue_id.to_owned(),
            max_sessions,
        })
    }

    pub async fn collection_group(&self, id: i64) -> Result<CollectionGroup, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLLECTION_GROUP_COLUMNS} FROM collection_groups WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("collection group {id}")))?;
        Ok(collection_group(&row)?)
    }

    /// The collection group of a queue, created when missing. Safe against a
    /// concurrent caller doing the same: the insert does nothing on conflict
    /// and the row is read back by its queue id. A `Conflict` means the name
    /// belongs to a group of another queue.
    pub async fn ensure_collection_group(
        &self,
        name: &str,
        rabbitmq_queue_id: &QueueId,
    ) -> Result<CollectionGroup, DbError> {
        let name = checked_name("collection group name", name)?;
        let name = name.as_str();
        let rabbitmq_queue_id = rabbitmq_queue_id.as_str();
        sqlx::query(
            "INSERT INTO collection_groups (name, rabbitmq_queue_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(rabbitmq_queue_id)
        .execute(self.pool())
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLLECTION_GROUP_COLUMNS} FROM collection_groups WHERE rabbitmq_queue_id = $1"
        )))
        .bind(rabbitmq_queue_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| {
            DbError::Conflict(format!(
                "collection group name {name:?} is taken by a group of another queue"
            ))
        })?;
        Ok(collection_group(&row)?)
    }

    pub async fn update_collection_group(
        &self,
        id: i64,
        name: &str,
        rabbitmq_queue_id: &QueueId,
        max_sessions: i64,
    ) -> Result<CollectionGroup, DbError> {
        let name = checked_name("collection group name", name)?;
        let name = name.as_str();
        let rabbitmq_queue_id = rabbitmq_queue_id.as_str();
        positive("max_sessions", Some(max_sessions))?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE collection_groups SET name = $1, rabbitmq_queue_id = $2, max_sessions = $3 \
             WHERE id = $4 RETURNING {COLLECTION_GROUP_COLUMNS}"
        )))
        .bind(name)
        .bind(rabbitmq_queue_id)
        .bind(max_sessions)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("collection group {id}")))?;
        Ok(collection_group(&row)?)
    }

    /// Deletes a collection group; its devices keep running without one.
    pub async fn delete_collection_group(&self, id: i64) -> Result<(), DbError> {
        self.delete_by_id("collection_groups", id, "collection group")
            .await
    }

    pub async fn list_collection_groups_page(
        &self,
        page: Page,
    ) -> Result<Listed<CollectionGroup>, DbError> {
        self.list_table("collection_groups", COLLECTION_GROUP_COLUMNS, page, |r| {
            Ok(collection_group(r)?)
        })
        .await
    }

    /// Every collection group, by id.
    pub async fn list_collection_groups(&self) -> Result<Vec<CollectionGroup>, DbError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLLECTION_GROUP_COLUMNS} FROM collection_groups ORDER BY id"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|row| Ok(collection_group(row)?)).collect()
    }

    // ---- device groups, manufacturers, device types -----------------------

    // A device group and a manufacturer are each just a name.

    pub async fn create_named(&self, kind: NamedKind, name: &str) -> Result<Named, DbError> {
        let name = checked_name(kind.name_field(), name)?;
        let name = name.as_str();
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {} (name) VALUES ($1) RETURNING id",
            kind.table()
        )))
        .bind(name)
        .fetch_one(self.pool())
        .await?;
        Ok(Named {
            id: row.try_get("id")?,
            name: name.to_owned(),
        })
    }

    pub async fn named(&self, kind: NamedKind, id: i64) -> Result<Named, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT id, name FROM {} WHERE id = $1",
            kind.table()
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("{} {id}", kind.what())))?;
        Ok(named(&row)?)
    }

    pub async fn list_named(&self, kind: NamedKind, page: Page) -> Result<Listed<Named>, DbError> {
        self.list_table(kind.table(), "id, name", page, |r| Ok(named(r)?))
            .await
    }

    pub async fn update_named(
        &self,
        kind: NamedKind,
        id: i64,
        name: &str,
    ) -> Result<Named, DbError> {
        let name = checked_name(kind.name_field(), name)?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE {} SET name = $1 WHERE id = $2 RETURNING id, name",
            kind.table()
        )))
        .bind(name.as_str())
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("{} {id}", kind.what())))?;
        Ok(named(&row)?)
    }

    /// Deletes a device group (its devices stay, without a group, and the
    /// schedules that targeted it lose that target) or a manufacturer (its
    /// device types stay, without one).
    pub async fn delete_named(&self, kind: NamedKind, id: i64) -> Result<(), DbError> {
        self.delete_by_id(kind.table(), id, kind.what()).await
    }

    pub async fn create_device_group(&self, name: &str) -> Result<DeviceGroup, DbError> {
        self.save_device_group(None, name, None).await
    }

    /// Creates a device group (`id` `None`) or sets one's name and
    /// staleness threshold (`Conflict` when the name is taken).
    pub async fn save_device_group(
        &self,
        id: Option<i64>,
        name: &str,
        stale_after_hours: Option<i64>,
    ) -> Result<DeviceGroup, DbError> {
        let name = checked_name(NamedKind::DeviceGroup.name_field(), name)?;
        positive("stale_after_hours", stale_after_hours)?;
        let row = match id {
            None => {
                sqlx::query(
                    "INSERT INTO device_groups (name, stale_after_hours) VALUES ($1, $2) \
                     RETURNING id",
                )
                .bind(name.as_str())
                .bind(stale_after_hours)
                .fetch_one(self.pool())
                .await?
            }
            Some(id) => sqlx::query(
                "UPDATE device_groups SET name = $1, stale_after_hours = $2 WHERE id = $3 \
                 RETURNING id",
            )
            .bind(name.as_str())
            .bind(stale_after_hours)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| not_found(format!("device group {id}")))?,
        };
        Ok(DeviceGroup {
            id: row.try_get("id")?,
            name,
            stale_after_hours,
        })
    }

    pub async fn device_group(&self, id: i64) -> Result<DeviceGroup, DbError> {
        let row =
            sqlx::query("SELECT id, name, stale_after_hours FROM device_groups WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .ok_or_else(|| not_found(format!("device group {id}")))?;
        device_group(&row)
    }

    pub async fn list_device_groups(&self, page: Page) -> Result<Listed<DeviceGroup>, DbError> {
        self.list_table(
            "device_groups",
            "id, name, stale_after_hours",
            page,
            device_group,
        )
        .await
    }

    /// Renames a device group; its threshold stays.
    pub async fn update_device_group(&self, id: i64, name: &str) -> Result<DeviceGroup, DbError> {
        self.update_named(NamedKind::DeviceGroup, id, name).await?;
        self.device_group(id).await
    }

    pub async fn delete_device_group(&self, id: i64) -> Result<(), DbError> {
        self.delete_named(NamedKind::DeviceGroup, id).await
    }

    pub async fn create_manufacturer(&self, name: &str) -> Result<Named, DbError> {
        self.create_named(NamedKind::Manufacturer, name).await
    }

    pub async fn manufacturer(&self, id: i64) -> Result<Named, DbError> {
        self.named(NamedKind::Manufacturer, id).await
    }

    pub async fn create_device_type(
        &self,
        name: &str,
        manufacturer: Option<i64>,
        max_config_bytes: Option<i64>,
    ) -> Result<DeviceType, DbError> {
        self.insert_device_type(&DeviceType {
            id: 0,
            name: name.to_owned(),
            manufacturer,
            max_config_bytes,
            legacy_algorithms: false,
            timeouts: Timeouts::default(),
        })
        .await
    }

    /// Stores every field of `t` but its id as a new device type.
    pub async fn insert_device_type(&self, t: &DeviceType) -> Result<DeviceType, DbError> {
        let name = checked_device_type(t)?;
        let query = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO device_types (name, manufacturer_id, max_config_bytes, legacy_algorithms, \
             connect_timeout, command_timeout, job_timeout) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING {DEVICE_TYPE_COLUMNS}"
        )));
        let row = bind_device_type(query, &name, t)
            .fetch_one(self.pool())
            .await?;
        Ok(device_type(&row)?)
    }

    pub async fn device_type(&self, id: i64) -> Result<DeviceType, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DEVICE_TYPE_COLUMNS} FROM device_types WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("device type {id}")))?;
        Ok(device_type(&row)?)
    }

    pub async fn list_device_types(&self, page: Page) -> Result<Listed<DeviceType>, DbError> {
        self.list_table("device_types", DEVICE_TYPE_COLUMNS, page, |r| {
            Ok(device_type(r)?)
        })
        .await
    }

    /// Renames a device type and sets its manufacturer (`Conflict` when that
    /// manufacturer does not exist) and its configuration size limit; its
    /// connection profile stays.
    pub async fn update_device_type(
        &self,
        id: i64,
        name: &str,
        manufacturer: Option<i64>,
        max_config_bytes: Option<i64>,
    ) -> Result<DeviceType, DbError> {
        let old = self.device_type(id).await?;
        self.write_device_type(
            id,
            &DeviceType {
                name: name.to_owned(),
                manufacturer,
                max_config_bytes,
                ..old
            },
        )
        .await
    }

    /// Writes every field of `t` but its id to device type `id`.
    pub async fn write_device_type(&self, id: i64, t: &DeviceType) -> Result<DeviceType, DbError> {
        let name = checked_device_type(t)?;
        let query = sqlx::query(AssertSqlSafe(format!(
            "UPDATE device_types SET name = $1, manufacturer_id = $2, max_config_bytes = $3, \
             legacy_algorithms = $4, connect_timeout = $5, command_timeout = $6, job_timeout = $7 \
             WHERE id = $8 RETURNING {DEVICE_TYPE_COLUMNS}"
        )));
        let row = bind_device_type(query, &name, t)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| not_found(format!("device type {id}")))?;
        Ok(device_type(&row)?)
    }

    /// Deletes a device type; its devices stay, without a type.
    pub async fn delete_device_type(&self, id: i64) -> Result<(), DbError> {
        self.delete_by_id("device_types", id, "device type").await
    }

    // ---- credentials --------------------------------------------------------

    pub async fn create_credential(
        &self,
        name: &str,
        username: &str,
        password_sealed: &[u8],
        enable_secret_sealed: Option<&[u8]>,
    ) -> Result<Credential, DbError> {
        self.insert_credential(&Credential {
            id: 0,
            name: name.to_owned(),
            username: username.to_owned(),
            password_sealed: password_sealed.to_vec(),
            enable_secret_sealed: enable_secret_sealed.map(<[u8]>::to_vec),
            private_key_sealed: None,
            passphrase_sealed: None,
            key_fingerprint: None,
            api_key_sealed: None,
        })
        .await
    }

    /// Stores every field of `c` but its id as a new credential.
    pub async fn insert_credential(&self, c: &Credential) -> Result<Credential, DbError> {
        let name = checked_name("credential name", &c.name)?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO credentials (name, username, password_sealed, enable_secret_sealed, \
             private_key_sealed, passphrase_sealed, key_fingerprint, api_key_sealed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {CREDENTIAL_COLUMNS}"
        )))
        .bind(&name)
        .bind(&c.username)
        .bind(c.password_sealed.as_slice())
        .bind(c.enable_secret_sealed.as_deref())
        .bind(c.private_key_sealed.as_deref())
        .bind(c.passphrase_sealed.as_deref())
        .bind(c.key_fingerprint.as_deref())
        .bind(c.api_key_sealed.as_deref())
        .fetch_one(self.pool())
        .await?;
        Ok(credential(&row)?)
    }

    pub async fn credential(&self, id: i64) -> Result<Credential, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("credential {id}")))?;
        Ok(credential(&row)?)
    }

    pub async fn list_credentials(&self, page: Page) -> Result<Listed<Credential>, DbError> {
        self.list_table("credentials", CREDENTIAL_COLUMNS, page, |r| {
            Ok(credential(r)?)
        })
        .await
    }

    /// Writes every field of `c` but its id to credential `id`.
    pub async fn update_credential(&self, id: i64, c: &Credential) -> Result<Credential, DbError> {
        let name = checked_name("credential name", &c.name)?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE credentials SET name = $1, username = $2, password_sealed = $3, \
             enable_secret_sealed = $4, private_key_sealed = $5, passphrase_sealed = $6, \
             key_fingerprint = $7, api_key_sealed = $8 WHERE id = $9 RETURNING {CREDENTIAL_COLUMNS}"
        )))
        .bind(&name)
        .bind(&c.username)
        .bind(c.password_sealed.as_slice())
        .bind(c.enable_secret_sealed.as_deref())
        .bind(c.private_key_sealed.as_deref())
        .bind(c.passphrase_sealed.as_deref())
        .bind(c.key_fingerprint.as_deref())
        .bind(c.api_key_sealed.as_deref())
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("credential {id}")))?;
        Ok(credential(&row)?)
    }

    /// Deletes a credential; `Conflict` while a device uses it.
    pub async fn delete_credential(&self, id: i64) -> Result<(), DbError> {
        self.delete_by_id("credentials", id, "credential").await
    }

    // ---- backup locations ---------------------------------------------------

    pub async fn create_location(
        &self,
        name: &str,
        location_type: StorageBackendKind,
        config: &Map<String, Value>,
    ) -> Result<BackupLocation, DbError> {
        let name = checked_name("backup location name", name)?;
        let name = name.as_str();
        let row = sqlx::query(
            "INSERT INTO backup_locations (name, location_type, config) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(location_type.as_str())
        .bind(Value::Object(config.clone()).to_string())
        .fetch_one(self.pool())
        .await?;
        Ok(BackupLocation {
            id: row.try_get("id")?,
            name: name.to_owned(),
            location_type,
            config: config.clone(),
        })
    }

    pub async fn location(&self, id: i64) -> Result<BackupLocation, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {LOCATION_COLUMNS} FROM backup_locations WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("backup location {id}")))?;
        location(&row)
    }

    pub async fn list_locations(&self, page: Page) -> Result<Listed<BackupLocation>, DbError> {
        self.list_table("backup_locations", LOCATION_COLUMNS, page, location)
            .await
    }

    pub async fn update_location(
        &self,
        id: i64,
        name: &str,
        location_type: StorageBackendKind,
        config: &Map<String, Value>,
    ) -> Result<BackupLocation, DbError> {
        let name = checked_name("backup location name", name)?;
        let name = name.as_str();
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE backup_locations SET name = $1, location_type = $2, config = $3 WHERE id = $4 \
             RETURNING {LOCATION_COLUMNS}"
        )))
        .bind(name)
        .bind(location_type.as_str())
        .bind(Value::Object(config.clone()).to_string())
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("backup location {id}")))?;
        location(&row)
    }

    /// Deletes a backup location; `Conflict` while a device or a stored
    /// backup refers to it (stored backups keep the location they were
    /// written to, so it cannot go away under them).
    pub async fn delete_location(&self, id: i64) -> Result<(), DbError> {
        self.delete_by_id("backup_locations", id, "backup location")
            .await
    }

    // ---- devices --------------------------------------------------------------

    pub async fn create_device(&self, f: &DeviceFields) -> Result<Device, DbError> {
        let f = &validate_device(f)?;
        let created_at = Timestamp::now().to_string();
        let query = sqlx::query(
            "INSERT INTO devices (name, address, port, driver, credential_id, backup_location_id, \
             collection_group_id, device_group_id, device_type_id, enabled, transport, \
             legacy_algorithms, connect_timeout, command_timeout, job_timeout, jump_host, jump_port, \
             jump_credential_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
             $19) RETURNING id",
        );
        let row = bind_device(query, f)
            .bind(&created_at)
            .fetch_one(self.pool())
            .await?;
        Ok(Device {
            id: row.try_get("id")?,
            fields: f.clone(),
            created_at,
            archived_at: None,
            health: DeviceHealth::default(),
        })
    }

    pub async fn update_device(&self, id: i64, f: &DeviceFields) -> Result<Device, DbError> {
        let f = &validate_device(f)?;
        let query = sqlx::query(
            "UPDATE devices SET name = $1, address = $2, port = $3, driver = $4, credential_id = $5, \
             backup_location_id = $6, collection_group_id = $7, device_group_id = $8, device_type_id = $9, \
             enabled = $10, transport = $11, legacy_algorithms = $12, connect_timeout = $13, \
             command_timeout = $14, job_timeout = $15, jump_host = $16, jump_port = $17, \
             jump_credential_id = $18 WHERE id = $19",
        );
        let done = bind_device(query, f).bind(id).execute(self.pool()).await?;
        if done.rows_affected() == 0 {
            return Err(not_found(format!("device {id}")));
        }
        self.device(id).await
    }

    /// Archives a device: it leaves lists and schedules and is no longer
    /// backed up (its open jobs fail with that reason), and its history
    /// stays. Archiving an archived device changes nothing.
    pub async fn archive_device(&self, id: i64) -> Result<Device, DbError> {
        let now = Timestamp::now().to_string();
        let mut tx = self.pool().begin().await?;
        archive_in(&mut tx, id, &now).await?;
        tx.commit().await?;
        self.device(id).await
    }

    /// Those of `ids` that name a live (not archived) device, in order.
    pub async fn live_devices(&self, ids: &[i64]) -> Result<Vec<i64>, DbError> {
        let mut live = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT id FROM devices WHERE archived_at IS NULL AND id IN ({}) ORDER BY id",
                crate::scope::id_list(chunk)
            )))
            .fetch_all(self.pool())
            .await?;
            for r in &rows {
                live.push(r.try_get("id")?);
            }
        }
        Ok(live)
    }

    /// Applies one change to the live devices among `ids`, in one
    /// transaction (issue 15's bulk operations); archived or unknown ids
    /// are left alone. Returns how many devices it applied to. Archiving
    /// fails their open jobs, as [`Db::archive_device`] does.
    pub async fn bulk_change_devices(
        &self,
        ids: &[i64],
        change: BulkChange,
    ) -> Result<u64, DbError> {
        let now = Timestamp::now().to_string();
        let _gate = self.write_gate_for(crate::WritePriority::Request).await;
        let mut tx = self.pool().begin().await?;
        let mut applied = 0;
        // Ids are numbers, written into the statement; a chunk keeps each
        // statement short.
        for chunk in ids.chunks(500) {
            let list = crate::scope::id_list(chunk);
            let live = format!("archived_at IS NULL AND id IN ({list})");
            let (column, value) = match change {
                BulkChange::Archive => {
                    let rows = sqlx::query(AssertSqlSafe(format!(
                        "SELECT id FROM devices WHERE {live}"
                    )))
                    .fetch_all(&mut *tx)
                    .await?;
                    for r in &rows {
                        archive_in(&mut tx, r.try_get("id")?, &now).await?;
                    }
                    applied += rows.len() as u64;
                    continue;
                }
                BulkChange::Enabled(on) => ("enabled", Some(i64::from(on))),
                BulkChange::DeviceGroup(v) => ("device_group_id", v),
                BulkChange::CollectionGroup(v) => ("collection_group_id", v),
                BulkChange::BackupLocation(v) => ("backup_location_id", v),
                BulkChange::Credential(v) => ("credential_id", v),
            };
            let done = sqlx::query(AssertSqlSafe(format!(
                "UPDATE devices SET {column} = $1 WHERE {live}"
            )))
            .bind(value)
            .execute(&mut *tx)
            .await?;
            applied += done.rows_affected();
        }
        tx.commit().await?;
        Ok(applied)
    }

    /// Applies `changes` in one transaction: all of them, or none (the
    /// error of the first that fails). Returns the new devices' ids.
    pub async fn apply_inventory_changes(
        &self,
        changes: &InventoryChanges,
    ) -> Result<Vec<i64>, DbError> {
        let now = Timestamp::now().to_string();
        let _gate = self.write_gate_for(crate::WritePriority::Request).await;
        let mut tx = self.pool().begin().await?;
        let mut credential_ids = Vec::with_capacity(changes.credentials.len());
        for c in &changes.credentials {
            let name = checked_name("credential name", &c.name)?;
            let row = sqlx::query(
                "INSERT INTO credentials (name, username, password_sealed, enable_secret_sealed) \
                 VALUES ($1, $2, $3, NULL) RETURNING id",
            )
            .bind(&name)
            .bind(&c.username)
            .bind(c.password_sealed.as_slice())
            .fetch_one(&mut *tx)
            .await?;
            credential_ids.push(row.try_get::<i64, _>("id")?);
        }
        let with_credential =
            |f: &DeviceFields, new: Option<usize>| -> Result<DeviceFields, DbError> {
                let mut f = validate_device(f)?;
                if let Some(i) = new {
                    f.credential = Some(*credential_ids.get(i).ok_or_else(|| {
                        DbError::Invalid(format!("no new credential {i} in the changes"))
                    })?);
                }
                Ok(f)
            };
        let mut created = Vec::with_capacity(changes.create.len());
        for (f, new) in &changes.create {
            let f = with_credential(f, *new)?;
            let query = sqlx::query(
                "INSERT INTO devices (name, address, port, driver, credential_id, backup_location_id, \
                 collection_group_id, device_group_id, device_type_id, enabled, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            );
            let row = bind_device(query, &f)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await?;
            created.push(row.try_get::<i64, _>("id")?);
        }
        for (id, f, new) in &changes.update {
            let f = with_credential(f, *new)?;
            let query = sqlx::query(
                "UPDATE devices SET name = $1, address = $2, port = $3, driver = $4, credential_id = $5, \
                 backup_location_id = $6, collection_group_id = $7, device_group_id = $8, device_type_id = $9, \
                 enabled = $10 WHERE id = $11 AND archived_at IS NULL",
            );
            let done = bind_device(query, &f).bind(*id).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Err(DbError::Conflict(format!(
                    "device {id} was archived or removed meanwhile"
                )));
            }
        }
        for id in &changes.archive {
            archive_in(&mut tx, *id, &now).await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    /// Brings an archived device back, with its history.
    pub async fn restore_device(&self, id: i64) -> Result<Device, DbError> {
        let done = sqlx::query("UPDATE devices SET archived_at = NULL WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(not_found(format!("device {id}")));
        }
        self.device(id).await
    }

    /// How many stored backups (versions), collection results and jobs a
    /// device has: what purging it would destroy.
    pub async fn device_history_counts(&self, id: i64) -> Result<Purged, DbError> {
        let count = |table: &'static str| async move {
            let n: i64 = sqlx::query(AssertSqlSafe(format!(
                "SELECT COUNT(*) AS n FROM {table} WHERE device_id = $1"
            )))
            .bind(id)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
            Ok::<_, DbError>(n)
        };
        Ok(Purged {
            jobs: count("backup_jobs").await?,
            results: count("device_backup_results").await?,
            stored_backups: count("stored_backups").await?,
        })
    }

    /// Destroys a device and every record of its history (the files in
    /// the backup locations stay where they are). Returns what went.
    pub async fn purge_device(&self, id: i64) -> Result<Purged, DbError> {
        self.device(id).await?;
        let counts = self.device_history_counts(id).await?;
        self.delete_by_id("devices", id, "device").await?;
        Ok(counts)
    }

    pub async fn device(&self, id: i64) -> Result<Device, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("device {id}")))?;
        Ok(device(&row)?)
    }

    /// The devices among `ids` that exist, in id order (archived ones
    /// included), read 500 at a time.
    pub async fn devices_by_ids(&self, ids: &[i64]) -> Result<Vec<Device>, DbError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT {DEVICE_COLUMNS} FROM devices WHERE id IN ({}) ORDER BY id",
                crate::scope::id_list(chunk)
            )))
            .fetch_all(self.pool())
            .await?;
            for r in &rows {
                out.push(device(r)?);
            }
        }
        Ok(out)
    }

    pub async fn list_devices(
        &self,
        filter: &DeviceFilter,
        scope: &crate::Scope,
        page: Page,
    ) -> Result<Listed<Device>, DbError> {
        check_page(page)?;
        // Parameters are numbered in the order the conditions are added
        // (the scope's and the archive's conditions have none).
        let mut conditions = vec![
            scope.on_group("device_group_id"),
            filter.on_archived(scope, ""),
        ];
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if filter.name.is_some() {
            conditions.push(format!("LOWER(name) LIKE {}", next()));
        }
        if filter.device_group.is_some() {
            conditions.push(format!("device_group_id = {}", next()));
        }
        if filter.device_type.is_some() {
            conditions.push(format!("device_type_id = {}", next()));
        }
        if filter.enabled.is_some() {
            conditions.push(format!("enabled = {}", next()));
        }
        conditions.extend(filter.on_stale(""));
        let limit = next();
        let offset = next();
        let where_ = format!("WHERE {}", conditions.join(" AND "));
        let sql = format!(
            "SELECT {DEVICE_COLUMNS}, COUNT(*) OVER () AS total FROM devices {where_} \
             ORDER BY name LIMIT {limit} OFFSET {offset}"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(name) = &filter.name {
            q = q.bind(format!("%{}%", name.to_lowercase()));
        }
        if let Some(g) = filter.device_group {
            q = q.bind(g);
        }
        if let Some(t) = filter.device_type {
            q = q.bind(t);
        }
        if let Some(e) = filter.enabled {
            q = q.bind(i64::from(e));
        }
        let rows = q
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(self.pool())
            .await?;
        let total = match rows.first() {
            Some(r) => r.try_get("total")?,
            None => 0,
        };
        Ok(Listed {
            rows: rows.iter().map(device).collect::<Result<_, _>>()?,
            total,
        })
    }
}

impl Db {
    /// One page of a small table, by id, and the table's row count.
    pub(crate) async fn list_table<T>(
        &self,
        table: &'static str,
        columns: &'static str,
        page: Page,
        map: impl Fn(&AnyRow) -> Result<T, DbError>,
    ) -> Result<Listed<T>, DbError> {
        check_page(page)?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {columns} FROM {table} ORDER BY id LIMIT $1 OFFSET $2"
        )))
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(self.pool())
        .await?;
        let total = sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM {table}")))
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        Ok(Listed {
            rows: rows.iter().map(map).collect::<Result<_, _>>()?,
            total,
        })
    }

    /// Deletes one row: `NotFound` when missing, `Conflict` when a
    /// `RESTRICT` foreign key still points at it.
    pub(crate) async fn delete_by_id(
        &self,
        table: &'static str,
        id: i64,
        what: &str,
    ) -> Result<(), DbError> {
        let done = sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE id = $1")))
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(|e| match DbError::from(e) {
                DbError::Conflict(_) => DbError::Conflict(format!("{what} {id} is still in use")),
                other => other,
            })?;
        if done.rows_affected() == 0 {
            return Err(not_found(format!("{what} {id}")));
        }
        Ok(())
    }
}

/// Archives device `id` in `tx` (see [`Db::archive_device`]).
async fn archive_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    now: &str,
) -> Result<(), DbError> {
    let done =
        sqlx::query("UPDATE devices SET archived_at = COALESCE(archived_at, $1) WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    if done.rows_affected() == 0 {
        return Err(not_found(format!("device {id}")));
    }
    sqlx::query(
        "UPDATE backup_jobs SET state = 'failed', state_rank = 3, reason = $1, updated_at = $2 \
         WHERE device_id = $3 AND state_rank < 2",
    )
    .bind("the device was archived before its backup started")
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The checked name of device type `t`, after its limit and timeouts.
fn checked_device_type(t: &DeviceType) -> Result<String, DbError> {
    let name = checked_name("device type name", &t.name)?;
    positive("max_config_bytes", t.max_config_bytes)?;
    check_timeouts(&t.timeouts)?;
    Ok(name)
}

/// Binds a device type's fields as `$1`…`$7`, in column order, with
/// `name` checked.
fn bind_device_type<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    name: &'q str,
    t: &'q DeviceType,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(name)
        .bind(t.manufacturer)
        .bind(t.max_config_bytes)
        .bind(i64::from(t.legacy_algorithms))
        .bind(t.timeouts.connect)
        .bind(t.timeouts.command)
        .bind(t.timeouts.job)
}

/// Binds the ten device fields as `$1`…`$10`, in column order.
fn bind_device<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    f: &'q DeviceFields,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(&f.name)
        .bind(&f.address)
        .bind(i64::from(f.port))
        .bind(&f.driver)
        .bind(f.credential)
        .bind(f.backup_location)
        .bind(f.collection_group)
        .bind(f.device_group)
        .bind(f.device_type)
        .bind(i64::from(f.enabled))
        .bind(f.profile.transport.as_str())
        .bind(f.profile.legacy_algorithms.map(i64::from))
        .bind(f.profile.timeouts.connect)
        .bind(f.profile.timeouts.command)
        .bind(f.profile.timeouts.job)
        .bind(f.profile.jump.as_ref().map(|j| j.host.as_str()))
        .bind(f.profile.jump.as_ref().map(|j| i64::from(j.port)))
        .bind(f.profile.jump.as_ref().and_then(|j| j.credential))
}

/// Timeouts are whole seconds, at least one.
fn check_timeouts(t: &Timeouts) -> Result<(), DbError> {
    positive("connect_timeout", t.connect)?;
    positive("command_timeout", t.command)?;
    positive("job_timeout", t.job)
}

fn positive(what: &str, n: Option<i64>) -> Result<(), DbError> {
    match n {
        Some(n) if n < 1 => Err(DbError::Invalid(format!("{what} must be at least 1"))),
        _ => Ok(()),
    }
}

/// The fields with the name normalised, or why they cannot be stored.
fn validate_device(f: &DeviceFields) -> Result<DeviceFields, DbError> {
    let name = checked_name("device name", &f.name)?;
    if f.address.trim().is_empty()
        || f.address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(DbError::Invalid(format!(
            "device address {:?} is not a host name or IP address",
            f.address
        )));
    }
    if f.port == 0 {
        return Err(DbError::Invalid("device port must be 1-65535".into()));
    }
    if f.driver.trim().is_empty() {
        return Err(DbError::Invalid("device driver is empty".into()));
    }
    check_timeouts(&f.profile.timeouts)?;
    if let Some(j) = &f.profile.jump
        && (j.port == 0 || j.host.trim().is_empty())
    {
        return Err(DbError::Invalid(
            "a jump host needs an address and a port 1-65535".into(),
        ));
    }
    Ok(DeviceFields { name, ..f.clone() })
}
