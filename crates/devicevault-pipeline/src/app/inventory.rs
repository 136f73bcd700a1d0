//! The inventory's inputs and their one validator each. A front end turns
//! what it received (a JSON body, a form) into one of these inputs and asks
//! it to validate; the answer is either the fields to store or the field
//! errors, which the API renders as `{"field": ["message"]}` and the web UI
//! next to its fields. Adding a field to a resource touches its input here,
//! and nothing else decides what is valid.

use std::path::Path;

use devicevault_core::{BranchName, Name, QueueId, StorageBackendKind, StorageLayout};
use devicevault_db::{
    BackupLocation, ConnectionProfile, Credential, DbError, DeviceFields, DeviceTransport,
    DeviceType, JumpHost, Timeouts,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::App;

/// What is wrong with the fields of an input, field by field, in the order
/// found. The messages read after the field's label ("name: may not be
/// blank"); a front end may capitalise them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages of one field.
    pub fn of(&self, field: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    /// `Ok(value)` when there is nothing to report.
    pub fn or<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, m)| format!("{k}: {m}")).collect();
        f.write_str(&parts.join("; "))
    }
}

/// The outcome of validating an input: the database may fail on its own
/// (outer error), or the input may be wrong (inner error).
pub type Checked<T> = Result<Result<T, FieldErrors>, DbError>;

/// A name field: normalised, or its problem.
fn name(errors: &mut FieldErrors, field: &'static str, value: &str) -> String {
    match Name::parse(value) {
        Ok(n) => n.into_string(),
        Err(e) => {
            errors.add(field, e.to_string());
            value.trim().to_owned()
        }
    }
}

/// A reference to another object: a field error when it does not exist.
async fn reference<T, F>(
    errors: &mut FieldErrors,
    field: &'static str,
    id: Option<i64>,
    lookup: impl FnOnce(i64) -> F,
) -> Result<(), DbError>
where
    F: std::future::Future<Output = Result<T, DbError>>,
{
    if let Some(id) = id {
        match lookup(id).await {
            Ok(_) => {}
            Err(DbError::NotFound { what }) => errors.add(field, format!("{what} does not exist")),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

// ---- devices -----------------------------------------------------------------

fn yes() -> bool {
    true
}

/// A device as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    pub address: String,
    /// Left out: the transport's port (22 for SSH, 23 for Telnet).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub port: Option<u16>,
    pub driver: String,
    #[serde(default)]
    pub credential: Option<i64>,
    #[serde(default)]
    pub backup_location: Option<i64>,
    #[serde(default)]
    pub collection_group: Option<i64>,
    #[serde(default)]
    pub device_group: Option<i64>,
    #[serde(default)]
    pub device_type: Option<i64>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `ssh` (the default) or `telnet`.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^(ssh|telnet)$")]
    pub transport: Option<String>,
    /// Offer legacy SSH algorithms (SHA-1 key exchange, CBC, HMAC-SHA1);
    /// `null`: its device type's choice.
    #[serde(default)]
    pub legacy_algorithms: Option<bool>,
    /// Seconds for connecting and logging in; `null`: its device type's,
    /// else the collector's.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 86400)]
    pub connect_timeout: Option<i64>,
    /// Seconds one command may take; `null`: its device type's, else the
    /// collector's.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 86400)]
    pub command_timeout: Option<i64>,
    /// Seconds the whole backup may take; `null`: its device type's, else
    /// 300.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 86400)]
    pub job_timeout: Option<i64>,
    /// An SSH server the collector goes through to reach the device
    /// (OpenSSH's `ProxyJump`); `null`: none.
    #[serde(default)]
    pub jump_host: Option<String>,
    /// The jump host's SSH port (22 when left out).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub jump_port: Option<u16>,
    /// The jump host's credential; `null`: the device's.
    #[serde(default)]
    pub jump_credential: Option<i64>,
}

/// Timeouts a device or a device type may set, in seconds (up to a day).
pub const TIMEOUT_SECS_RANGE: std::ops::RangeInclusive<i64> = 1..=86_400;

fn check_timeouts(e: &mut FieldErrors, t: &Timeouts) {
    for (field, v) in [
        ("connect_timeout", t.connect),
        ("command_timeout", t.command),
        ("job_timeout", t.job),
    ] {
        if let Some(v) = v
            && !TIMEOUT_SECS_RANGE.contains(&v)
        {
            e.add(
                field,
                "between 1 and 86400 seconds, or empty for the default",
            );
        }
    }
}

/// A host name or address field: trimmed, or its problem.
fn host(e: &mut FieldErrors, field: &'static str, value: &str) -> String {
    let v = value.trim();
    if v.is_empty() {
        e.add(field, "a host name or IP address is required");
    } else if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        e.add(field, "a host name or IP address, without spaces");
    }
    v.to_owned()
}

impl DeviceInput {
    /// The input that would store `f` unchanged (edit forms, PATCH).
    pub fn of(f: &DeviceFields) -> Self {
        Self {
            name: f.name.clone(),
            address: f.address.clone(),
            port: Some(f.port),
            driver: f.driver.clone(),
            credential: f.credential,
            backup_location: f.backup_location,
            collection_group: f.collection_group,
            device_group: f.device_group,
            device_type: f.device_type,
            enabled: f.enabled,
            transport: Some(f.profile.transport.as_str().to_owned()),
            legacy_algorithms: f.profile.legacy_algorithms,
            connect_timeout: f.profile.timeouts.connect,
            command_timeout: f.profile.timeouts.command,
            job_timeout: f.profile.timeouts.job,
            jump_host: f.profile.jump.as_ref().map(|j| j.host.clone()),
            jump_port: f.profile.jump.as_ref().map(|j| j.port),
            jump_credential: f.profile.jump.as_ref().and_then(|j| j.credential),
        }
    }

    /// Checks every field: a name, an address without spaces, a port, a
    /// driver this process knows, references that exist, and a connection
    /// profile the collector can follow (Telnet logs in with a password,
    /// directly).
    pub async fn validate(&self, app: &App) -> Checked<DeviceFields> {
        let (mut e, fields) = self.check(&app.drivers);
        let transport = fields.profile.transport;
        let jump = fields.profile.jump.clone();
        let db = &app.db;
        if let Some(id) = self.credential {
            match db.credential(id).await {
                Ok(c) if c.is_key() && transport == DeviceTransport::Telnet => e.add(
                    "credential",
                    format!(
                        "credential {:?} logs in with an SSH key; a Telnet device needs a password",
                        c.name
                    ),
                ),
                Ok(_) => {}
                Err(DbError::NotFound { what }) => {
                    e.add("credential", format!("{what} does not exist"))
                }
                Err(err) => return Err(err),
            }
        }
        reference(
            &mut e,
            "jump_credential",
            jump.as_ref().and_then(|j| j.credential),
            |id| db.credential(id),
        )
        .await?;
        reference(&mut e, "backup_location", self.backup_location, |id| {
            db.location(id)
        })
        .await?;
        reference(&mut e, "collection_group", self.collection_group, |id| {
            db.collection_group(id)
        })
        .await?;
        reference(&mut e, "device_group", self.device_group, |id| {
            db.device_group(id)
        })
        .await?;
        reference(&mut e, "device_type", self.device_type, |id| {
            db.device_type(id)
        })
        .await?;
        Ok(e.or(fields))
    }

    /// The checks of [`Self::validate`] but the references' existence
    /// (the import resolves references by name, so they exist): the
    /// problems, and the fields to store when there are none.
    pub fn check(&self, drivers: &devicevault_collect::DriverSet) -> (FieldErrors, DeviceFields) {
        let mut e = FieldErrors::default();
        let name = name(&mut e, "name", &self.name);
        let address = host(&mut e, "address", &self.address);
        let transport = match self.transport.as_deref().map(str::trim) {
            None | Some("") => DeviceTransport::Ssh,
            Some(t) => DeviceTransport::parse(&t.to_ascii_lowercase()).unwrap_or_else(|| {
                e.add("transport", format!("{t:?} is not \"ssh\" or \"telnet\""));
                DeviceTransport::Ssh
            }),
        };
        let port = self.port.unwrap_or(transport.default_port());
        if port == 0 {
            e.add("port", "must be between 1 and 65535");
        }
        let timeouts = Timeouts {
            connect: self.connect_timeout,
            command: self.command_timeout,
            job: self.job_timeout,
        };
        check_timeouts(&mut e, &timeouts);
        let jump_host = self.jump_host.as_deref().filter(|h| !h.trim().is_empty());
        let jump = match jump_host {
            Some(h) => {
                let host = host(&mut e, "jump_host", h);
                let port = self.jump_port.unwrap_or(22);
                if port == 0 {
                    e.add("jump_port", "must be between 1 and 65535");
                }
                if transport == DeviceTransport::Telnet {
                    e.add(
                        "jump_host",
                        "a Telnet device cannot be reached through a jump host; use SSH or no jump host",
                    );
                }
                Some(JumpHost {
                    host,
                    port,
                    credential: self.jump_credential,
                })
            }
            None => {
                if self.jump_port.is_some() {
                    e.add("jump_port", "only with a jump host");
                }
                if self.jump_credential.is_some() {
                    e.add("jump_credential", "only with a jump host");
                }
                None
            }
        };
        if drivers.get(&self.driver).is_err() {
            let known: Vec<&str> = drivers.iter().map(|d| d.name.as_str()).collect();
            e.add(
                "driver",
                format!(
                    "unknown driver {:?}; known: {}",
                    self.driver,
                    known.join(", ")
                ),
            );
        }
        let fields = DeviceFields {
            name,
            address,
            port,
            driver: self.driver.clone(),
            credential: self.credential,
            backup_location: self.backup_location,
            collection_group: self.collection_group,
            device_group: self.device_group,
            device_type: self.device_type,
            enabled: self.enabled,
            profile: ConnectionProfile {
                transport,
                legacy_algorithms: self.legacy_algorithms,
                timeouts,
                jump,
            },
        };
        (e, fields)
    }
}

/// The field error of a device name that is taken (by a live device or an
/// archived one).
pub fn device_name_taken(name: &str) -> FieldErrors {
    let mut e = FieldErrors::default();
    e.add(
        "name",
        format!(
            "a device named {name:?} exists already (it may be archived: restore it, or purge it to reuse the name)"
        ),
    );
    e
}

// ---- backup locations ----------------------------------------------------------------

/// A backup location as submitted.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    /// `git` or `fs`.
    pub location_type: String,
    /// The backend's settings: `repo_path`, `branch`, `layout` (`fanout` —
    /// what a new git location gets when it names none — or `flat`), … for
    /// git; `base_path` for fs.
    #[schema(value_type = Object)]
    pub config: Value,
}

/// A location ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationFields {
    pub name: String,
    pub kind: StorageBackendKind,
    pub config: Map<String, Value>,
}

impl LocationInput {
    /// Checks the name, the type, and the config as the storage worker will
    /// read it: an absolute path, under the storage roots when this process
    /// knows them, and the layout ([`settle_layout`]). `current` is the
    /// stored location an update replaces, `None` for a new one.
    pub fn validate(
        &self,
        app: &App,
        current: Option<&BackupLocation>,
    ) -> Result<LocationFields, FieldErrors> {
        let mut e = FieldErrors::default();
        let name = name(&mut e, "name", &self.name);
        let kind = location_kind(&mut e, &self.location_type);
        let mut config = match &self.config {
            Value::Object(m) => Some(m.clone()),
            _ => {
                e.add("config", "must be a JSON object");
                None
            }
        };
        if let (Some(kind), Some(config)) = (kind, &mut config) {
            settle_layout(&mut e, kind, config, current, "config");
            check_config(app, &mut e, kind, config, ["config", "config"]);
        }
        e.or(())?;
        Ok(LocationFields {
            name,
            kind: kind.expect("checked"),
            config: config.expect("checked"),
        })
    }
}

fn location_kind(e: &mut FieldErrors, value: &str) -> Option<StorageBackendKind> {
    let kind = value.parse::<StorageBackendKind>().ok();
    if kind.is_none() {
        e.add(
            "location_type",
            format!("{value:?} is not \"git\" or \"fs\""),
        );
    }
    kind
}

/// Checks a location's config as its backend reads it; `fields` names
/// where a problem of the path and any other problem are reported.
fn check_config(
    app: &App,
    e: &mut FieldErrors,
    kind: StorageBackendKind,
    config: &Map<String, Value>,
    [path_field, other_field]: [&'static str; 2],
) {
    match devicevault_storage::location_path(kind, config) {
        Err(err) => e.add(other_field, err.to_string()),
        Ok(p) if !Path::new(&p).is_absolute() => e.add(
            path_field,
            format!("{} must be an absolute path", p.display()),
        ),
        Ok(p) => {
            if let Some(Err(err)) = app.storage_roots.as_ref().map(|r| r.check(&p)) {
                e.add(path_field, err.to_string());
            }
        }
    }
}

/// The one rule of a location's layout (issue 21), for the API and the
/// form: a new git location that names none gets
/// [`StorageLayout::DEFAULT_FOR_NEW`] written into its config; an update
/// that names none keeps the stored one; an update that names another is
/// refused, since it would leave every device's files behind —
/// `devicevault storage migrate-layout` moves them and switches the
/// setting. An fs location has no layout (its config refuses the key).
fn settle_layout(
    e: &mut FieldErrors,
    kind: StorageBackendKind,
    config: &mut Map<String, Value>,
    current: Option<&BackupLocation>,
    field: &'static str,
) {
    if kind != StorageBackendKind::Git {
        return;
    }
    let key = StorageLayout::CONFIG_KEY;
    if let Err(err) = StorageLayout::of_config(config) {
        e.add(field, err.to_string());
        return;
    }
    let current = current.filter(|c| c.location_type == StorageBackendKind::Git);
    let Some(current) = current else {
        config
            .entry(key)
            .or_insert_with(|| StorageLayout::DEFAULT_FOR_NEW.as_str().into());
        return;
    };
    // A stored value that is not a layout: the backend refuses the config
    // too, and the new value is checked above.
    let Ok(now) = StorageLayout::of_config(&current.config) else {
        return;
    };
    match config.get(key) {
        None => {
            if let Some(v) = current.config.get(key) {
                config.insert(key.into(), v.clone());
            }
        }
        Some(_) => match StorageLayout::of_config(config) {
            Ok(wanted) if wanted != now => e.add(
                field,
                format!(
                    "the location's layout is {now}: changing it here would leave every device's files behind; `devicevault storage migrate-layout --location {}` moves them to fanout and switches the setting",
                    current.id
                ),
            ),
            _ => {}
        },
    }
}

/// The config keys a location form shows in fields of their own.
const LOCATION_FORM_KEYS: [&str; 5] = ["repo_path", "branch", "base_path", "path", "layout"];

/// A location as a form asks for it: the path and the branch in fields of
/// their own, the rest of the config as JSON text. Its problems are
/// reported on those fields (`path`, `branch`, `extra`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocationForm {
    pub name: String,
    pub location_type: String,
    pub path: String,
    pub branch: String,
    /// Git only: `fanout` or `flat`; empty means the default of a new
    /// location, or the stored layout of an existing one.
    pub layout: String,
    pub extra: String,
}

impl LocationForm {
    /// The form of a stored location.
    pub fn of(l: &BackupLocation) -> Self {
        let s = |k: &str| l.config.get(k).and_then(Value::as_str).unwrap_or("");
        let path = match l.location_type {
            StorageBackendKind::Git => s("repo_path"),
            StorageBackendKind::Fs if s("base_path").is_empty() => s("path"),
            StorageBackendKind::Fs => s("base_path"),
        };
        let extra: Map<String, Value> = l
            .config
            .iter()
            .filter(|(k, _)| !LOCATION_FORM_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Self {
            name: l.name.clone(),
            location_type: l.location_type.as_str().to_owned(),
            path: path.to_owned(),
            branch: s("branch").to_owned(),
            layout: match l.location_type {
                StorageBackendKind::Git => StorageLayout::of_config(&l.config)
                    .map(|l| l.as_str().to_owned())
                    .unwrap_or_else(|_| s("layout").to_owned()),
                StorageBackendKind::Fs => String::new(),
            },
            extra: if extra.is_empty() {
                String::new()
            } else {
                serde_json::to_string_pretty(&Value::Object(extra)).unwrap_or_default()
            },
        }
    }

    /// The checks of [`LocationInput::validate`], on the config this form
    /// builds.
    pub fn validate(
        &self,
        app: &App,
        current: Option<&BackupLocation>,
    ) -> Result<LocationFields, FieldErrors> {
        let mut e = FieldErrors::default();
        let name = name(&mut e, "name", &self.name);
        let kind = location_kind(&mut e, &self.location_type);
        let mut config = match self.extra.trim() {
            "" => Map::new(),
            s => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(m)) => m,
                _ => {
                    e.add("extra", "must be a JSON object, e.g. {\"fsync\": false}");
                    Map::new()
                }
            },
        };
        config.retain(|k, _| !LOCATION_FORM_KEYS.contains(&k.as_str()));
        let path = self.path.trim();
        if path.is_empty() {
            e.add("path", "a path is required");
        }
        let branch = self.branch.trim();
        if !branch.is_empty()
            && let Err(err) = BranchName::parse(branch)
        {
            e.add("branch", err.to_string());
        }
        let Some(kind) = kind else {
            return Err(e);
        };
        let key = match kind {
            StorageBackendKind::Git => "repo_path",
            StorageBackendKind::Fs => "base_path",
        };
        config.insert(key.into(), path.into());
        if kind == StorageBackendKind::Git && !branch.is_empty() {
            config.insert("branch".into(), branch.into());
        }
        let layout = self.layout.trim();
        if kind == StorageBackendKind::Git && !layout.is_empty() {
            match layout.parse::<StorageLayout>() {
                Ok(l) => {
                    config.insert(StorageLayout::CONFIG_KEY.into(), l.as_str().into());
                }
                Err(err) => e.add("layout", err.to_string()),
            }
        }
        settle_layout(&mut e, kind, &mut config, current, "layout");
        if e.of("path")
            .chain(e.of("branch"))
            .chain(e.of("layout"))
            .chain(e.of("extra"))
            .count()
            == 0
        {
            check_config(app, &mut e, kind, &config, ["path", "extra"]);
        }
        e.or(LocationFields { name, kind, config })
    }
}

// ---- credentials ---------------------------------------------------------------------

/// A change to a field that may be left out (keep), cleared or set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Change<T> {
    /// Not in the request: keep the stored value.
    #[default]
    Keep,
    /// Cleared (`null`, or an empty secret in a form).
    Clear,
    Set(T),
}

/// A credential as submitted. Secrets are write-only: left out, they keep
/// their sealed value. A credential logs in with a password or with an SSH
/// private key (OpenSSH or PEM, with its passphrase if encrypted), either
/// with an optional enable secret; setting one clears the other. It may
/// also hold an API key, which HTTPS drivers send as `{api_key}`; a
/// credential for an API alone may have only that (no password).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct CredentialInput {
    pub name: Change<String>,
    pub username: Change<String>,
    pub password: Change<String>,
    pub enable_secret: Change<String>,
    pub private_key: Change<String>,
    pub passphrase: Change<String>,
    pub api_key: Change<String>,
}

impl std::fmt::Debug for CredentialInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialInput")
            .field("name", &self.name)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl CredentialInput {
    /// Parses a JSON body: strings or `null` for each field, nothing else.
    pub fn from_json(v: &Value) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::default();
        let Value::Object(m) = v else {
            e.add("non_field_errors", "the body must be a JSON object");
            return Err(e);
        };
        let mut input = Self::default();
        for (k, v) in m {
            let slot = match k.as_str() {
                "name" => &mut input.name,
                "username" => &mut input.username,
                "password" => &mut input.password,
                "enable_secret" => &mut input.enable_secret,
                "private_key" => &mut input.private_key,
                "passphrase" => &mut input.passphrase,
                "api_key" => &mut input.api_key,
                // What a GET shows, sent back unchanged.
                "id" | "has_enable_secret" | "kind" | "key_fingerprint" | "has_passphrase"
                | "has_api_key" => {
                    continue;
                }
                other => {
                    e.add("non_field_errors", format!("unknown field {other:?}"));
                    continue;
                }
            };
            *slot = match v {
                Value::Null => Change::Clear,
                Value::String(s) => Change::Set(s.clone()),
                _ => {
                    e.add(
                        match k.as_str() {
                            "name" => "name",
                            "username" => "username",
                            "password" => "password",
                            "private_key" => "private_key",
                            "passphrase" => "passphrase",
                            "api_key" => "api_key",
                            _ => "enable_secret",
                        },
                        "must be a string",
                    );
                    continue;
                }
            };
        }
        e.or(input)
    }

    /// Applies the input to `base` (the stored credential, or `None` for a
    /// new one), sealing new secrets with the application's key. A new or
    /// changed key is opened with its passphrase first: a key that cannot
    /// be used is an error on `private_key`, a missing or wrong passphrase
    /// one on `passphrase`.
    pub fn apply(&self, app: &App, base: Option<Credential>) -> Result<Credential, FieldErrors> {
        self.apply_sealing(&app.key, base)
    }

    /// [`CredentialInput::apply`] with the sealing key alone.
    pub fn apply_sealing(
        &self,
        key: &devicevault_core::SealingKey,
        base: Option<Credential>,
    ) -> Result<Credential, FieldErrors> {
        let creating = base.is_none();
        let mut c = base.unwrap_or(Credential {
            id: 0,
            name: String::new(),
            username: String::new(),
            password_sealed: Vec::new(),
            enable_secret_sealed: None,
            private_key_sealed: None,
            passphrase_sealed: None,
            key_fingerprint: None,
            api_key_sealed: None,
        });
        let mut e = FieldErrors::default();
        match &self.name {
            Change::Set(n) => c.name = name(&mut e, "name", n),
            Change::Clear => c.name = name(&mut e, "name", ""),
            Change::Keep if creating => c.name = name(&mut e, "name", ""),
            Change::Keep => {}
        }
        match &self.username {
            Change::Set(u) if !u.trim().is_empty() => c.username = u.clone(),
            Change::Keep if !creating => {}
            _ => e.add("username", "may not be blank"),
        }
        let new_password = match &self.password {
            Change::Set(p) if !p.is_empty() => Some(p),
            _ => None,
        };
        let new_key = match &self.private_key {
            Change::Set(k) if !k.trim().is_empty() => Some(k),
            _ => None,
        };
        // The API key first: whether one stays decides if a credential may
        // go without a password.
        match &self.api_key {
            Change::Set(k) if !k.trim().is_empty() => {
                c.api_key_sealed = Some(key.seal(k.trim().as_bytes()))
            }
            Change::Set(_) | Change::Clear => c.api_key_sealed = None,
            Change::Keep => {}
        }
        let api_key_only = c.api_key_sealed.is_some() && new_key.is_none() && !c.is_key();
        match (new_password, new_key) {
            (Some(_), Some(_)) => e.add(
                "private_key",
                "a credential logs in with a password or a private key, not both",
            ),
            (Some(p), None) => {
                c.password_sealed = key.seal(p.as_bytes());
                c.private_key_sealed = None;
                c.passphrase_sealed = None;
                c.key_fingerprint = None;
            }
            (None, Some(_)) => c.password_sealed = Vec::new(),
            (None, None) => {
                let key_cleared = matches!(self.private_key, Change::Clear | Change::Set(_));
                if c.is_key() && key_cleared {
                    e.add(
                        "password",
                        "a password is required when the private key is removed",
                    );
                } else if api_key_only && (creating || matches!(self.password, Change::Clear)) {
                    // A credential for an API alone: no password.
                    c.password_sealed = Vec::new();
                } else if !c.is_key() && !matches!(self.password, Change::Keep) {
                    e.add("password", "may not be blank");
                } else if creating {
                    e.add(
                        "password",
                        "a password, a private key or an API key is required",
                    );
                } else if !c.is_key() && c.password_sealed.is_empty() && c.api_key_sealed.is_none()
                {
                    e.add(
                        "api_key",
                        "the credential's only secret: set a password or a private key to remove it",
                    );
                }
            }
        }
        // The key and passphrase that will be stored, opened to check them.
        let passphrase_changed = !matches!(self.passphrase, Change::Keep);
        if new_key.is_some() || (c.is_key() && new_password.is_none() && passphrase_changed) {
            let open = |sealed: &Option<Vec<u8>>| {
                sealed
                    .as_ref()
                    .and_then(|s| key.open(s).ok())
                    .and_then(|b| String::from_utf8(b).ok())
            };
            let pem = new_key.cloned().or_else(|| open(&c.private_key_sealed));
            let passphrase = match &self.passphrase {
                Change::Set(p) if !p.is_empty() => Some(p.clone()),
                Change::Set(_) | Change::Clear => None,
                // A new key comes with its own passphrase, or none.
                Change::Keep if new_key.is_some() => None,
                Change::Keep => open(&c.passphrase_sealed),
            };
            match pem {
                None => e.add(
                    "private_key",
                    "the stored key cannot be opened; paste it again",
                ),
                Some(pem) => {
                    match devicevault_collect::key_fingerprint(&pem, passphrase.as_deref()) {
                        Ok(fp) => {
                            c.private_key_sealed = Some(key.seal(pem.as_bytes()));
                            c.passphrase_sealed = passphrase.map(|p| key.seal(p.as_bytes()));
                            c.key_fingerprint = Some(fp);
                        }
                        Err(err) if err.is_about_the_passphrase() => {
                            e.add("passphrase", err.to_string())
                        }
                        Err(err) => e.add("private_key", err.to_string()),
                    }
                }
            }
        } else if !c.is_key()
            && let Change::Set(p) = &self.passphrase
            && !p.is_empty()
        {
            e.add("passphrase", "only with a private key");
        }
        match &self.enable_secret {
            Change::Set(s) if !s.is_empty() => {
                c.enable_secret_sealed = Some(key.seal(s.as_bytes()))
            }
            Change::Set(_) | Change::Clear => c.enable_secret_sealed = None,
            Change::Keep => {}
        }
        e.or(c)
    }
}

// ---- collection groups, device groups, device types --------------------------------------

/// A collection group as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionGroupInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    #[schema(pattern = "^\\s*[A-Za-z0-9._-]{1,100}\\s*$")]
    pub rabbitmq_queue_id: String,
    /// The most sessions a collector opens at once for the group's devices
    /// (32 when left out). In distributed mode each collector process
    /// consuming the group's queue applies it on its own.
    #[serde(default = "default_max_sessions")]
    #[schema(minimum = 1, maximum = 4096)]
    pub max_sessions: i64,
}

fn default_max_sessions() -> i64 {
    devicevault_db::DEFAULT_MAX_SESSIONS
}

/// The sessions a collection group may allow at once.
pub const MAX_SESSIONS_RANGE: std::ops::RangeInclusive<i64> = 1..=4096;

/// A valid collection group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionGroupFields {
    pub name: String,
    pub queue: QueueId,
    pub max_sessions: i64,
}

impl CollectionGroupInput {
    pub fn validate(&self) -> Result<CollectionGroupFields, FieldErrors> {
        let mut e = FieldErrors::default();
        let name = name(&mut e, "name", &self.name);
        let queue = QueueId::parse(self.rabbitmq_queue_id.trim());
        if let Err(err) = &queue {
            e.add("rabbitmq_queue_id", err.to_string());
        }
        if !MAX_SESSIONS_RANGE.contains(&self.max_sessions) {
            e.add("max_sessions", "between 1 and 4096 sessions");
        }
        e.or(())?;
        Ok(CollectionGroupFields {
            name,
            queue: queue.expect("checked"),
            max_sessions: self.max_sessions,
        })
    }
}

/// A manufacturer: a name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
}

impl NamedInput {
    pub fn validate(&self) -> Result<String, FieldErrors> {
        let mut e = FieldErrors::default();
        let name = name(&mut e, "name", &self.name);
        e.or(name)
    }
}

/// Devices and device groups as a form names them (comma-separated), for
/// what targets them (schedules, notification rules).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetNames {
    pub device_groups: String,
    pub devices: String,
}

fn names(list: &str) -> impl Iterator<Item = &str> {
    list.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

impl TargetNames {
    /// The names of these groups and devices.
    pub async fn of(app: &App, groups: &[i64], devices: &[i64]) -> Result<Self, DbError> {
        let mut g = Vec::new();
        for id in groups {
            g.push(app.db.device_group(*id).await?.name);
        }
        let mut d = Vec::new();
        for id in devices {
            d.push(app.db.device(*id).await?.fields.name);
        }
        Ok(Self {
            device_groups: g.join(", "),
            devices: d.join(", "),
        })
    }

    /// The ids of the named groups and devices; an unknown name is an
    /// error on its field (`device_groups`, `devices`).
    pub async fn ids(
        &self,
        app: &App,
        e: &mut FieldErrors,
    ) -> Result<(Vec<i64>, Vec<i64>), DbError> {
        let all = devicevault_db::Page {
            limit: 10_000,
            offset: 0,
        };
        let groups = app.db.list_device_groups(all).await?.rows;
        let mut device_groups = Vec::new();
        for n in names(&self.device_groups) {
            match groups.iter().find(|g| g.name == n) {
                Some(g) => device_groups.push(g.id),
                None => e.add("device_groups", format!("no device group is named {n:?}")),
            }
        }
        let mut devices = Vec::new();
        for n in names(&self.devices) {
            match app.db.device_id_by_name(n).await? {
                Some(id) => devices.push(id),
                None => e.add("devices", format!("no device is named {n:?}")),
            }
        }
        Ok((device_groups, devices))
    }
}

/// The thresholds a device group may set, in hours (up to a year).
pub const STALE_AFTER_HOURS_RANGE: std::ops::RangeInclusive<i64> = 1..=8760;

/// A device group as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceGroupInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    /// Its devices are stale after this many hours without a successful
    /// backup (`None`: the installation's `pipeline.stale_after`).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 8760)]
    pub stale_after_hours: Option<i64>,
}

impl DeviceGroupInput {
    pub fn validate(&self) -> Result<(String, Option<i64>), FieldErrors> {
        let mut e = FieldErrors::default();
        let name = name(&mut e, "name", &self.name);
        if let Some(h) = self.stale_after_hours
            && !STALE_AFTER_HOURS_RANGE.contains(&h)
        {
            e.add(
                "stale_after_hours",
                "between 1 and 8760 hours, or empty for the installation's threshold",
            );
        }
        e.or((name, self.stale_after_hours))
    }
}

/// The smallest and largest per-type configuration size limits.
pub const MAX_CONFIG_BYTES_RANGE: std::ops::RangeInclusive<i64> = 1024..=(1 << 30);

/// A device type as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceTypeInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    #[serde(default)]
    pub manufacturer: Option<i64>,
    /// The largest configuration its devices may send (`None`: the
    /// driver's or the installation's limit).
    #[serde(default)]
    #[schema(minimum = 1024, maximum = 1073741824)]
    pub max_config_bytes: Option<i64>,
    /// Its devices offer legacy SSH algorithms unless a device says
    /// otherwise.
    #[serde(default)]
    pub legacy_algorithms: bool,
    /// Its devices' connect timeout in seconds (`null`: the collector's).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 86400)]
    pub connect_timeout: Option<i64>,
    /// Its devices' command timeout in seconds (`null`: the collector's).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 86400)]
    pub command_timeout: Option<i64>,
    /// Its devices' job timeout in seconds (`null`: 300).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 86400)]
    pub job_timeout: Option<i64>,
}

impl DeviceTypeInput {
    /// The input that would store `t` unchanged.
    pub fn of(t: &DeviceType) -> Self {
        Self {
            name: t.name.clone(),
            manufacturer: t.manufacturer,
            max_config_bytes: t.max_config_bytes,
            legacy_algorithms: t.legacy_algorithms,
            connect_timeout: t.timeouts.connect,
            command_timeout: t.timeouts.command,
            job_timeout: t.timeouts.job,
        }
    }

    /// The device type to store (its id 0: the caller's to set).
    pub async fn validate(&self, app: &App) -> Checked<DeviceType> {
        let mut e = FieldErrors::default();
        let timeouts = Timeouts {
            connect: self.connect_timeout,
            command: self.command_timeout,
            job: self.job_timeout,
        };
        check_timeouts(&mut e, &timeouts);
        let name = name(&mut e, "name", &self.name);
        if let Some(n) = self.max_config_bytes
            && !MAX_CONFIG_BYTES_RANGE.contains(&n)
        {
            e.add(
                "max_config_bytes",
                "between 1024 and 1073741824 bytes, or empty for the default",
            );
        }
        reference(&mut e, "manufacturer", self.manufacturer, |id| {
            app.db.manufacturer(id)
        })
        .await?;
        Ok(e.or(DeviceType {
            id: 0,
            name,
            manufacturer: self.manufacturer,
            max_config_bytes: self.max_config_bytes,
            legacy_algorithms: self.legacy_algorithms,
            timeouts,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_json_distinguishes_keep_clear_and_set() {
        let i = CredentialInput::from_json(&serde_json::json!({
            "name": "lab", "enable_secret": null, "id": 3
        }))
        .unwrap();
        assert_eq!(i.name, Change::Set("lab".into()));
        assert_eq!(i.enable_secret, Change::Clear);
        assert_eq!(i.password, Change::Keep);
        let e =
            CredentialInput::from_json(&serde_json::json!({"password": 5, "x": 1})).unwrap_err();
        assert_eq!(e.of("password").collect::<Vec<_>>(), ["must be a string"]);
        assert_eq!(e.of("non_field_errors").count(), 1);
    }

    fn submit(json: serde_json::Value) -> CredentialInput {
        CredentialInput::from_json(&json).unwrap()
    }

    #[test]
    fn an_api_key_is_sealed_and_may_be_a_credentials_only_secret() {
        let key = devicevault_core::SealingKey::generate();
        let c =
            submit(serde_json::json!({"name": "fgt", "username": "api", "api_key": " t0k3n\n"}))
                .apply_sealing(&key, None)
                .unwrap();
        assert!(c.password_sealed.is_empty() && !c.is_key() && !c.has_password());
        assert_eq!(
            key.open(c.api_key_sealed.as_ref().unwrap()).unwrap(),
            b"t0k3n"
        );
        // The web form sends an empty password with it.
        submit(
            serde_json::json!({"name": "fgt", "username": "api", "password": "", "api_key": "t"}),
        )
        .apply_sealing(&key, None)
        .unwrap();
        // Without any secret, the message names all three.
        let e = submit(serde_json::json!({"name": "x", "username": "api"}))
            .apply_sealing(&key, None)
            .unwrap_err();
        assert_eq!(
            e.of("password").collect::<Vec<_>>(),
            ["a password, a private key or an API key is required"]
        );
        // Its only secret cannot be removed; a password may then replace it.
        let e = submit(serde_json::json!({"api_key": null}))
            .apply_sealing(&key, Some(c.clone()))
            .unwrap_err();
        assert_eq!(e.of("api_key").count(), 1, "{e:?}");
        let p = submit(serde_json::json!({"password": "pw", "api_key": null}))
            .apply_sealing(&key, Some(c.clone()))
            .unwrap();
        assert!(p.has_password() && p.api_key_sealed.is_none());
        // A password credential gains a key and keeps its password; with
        // `"password": null` it becomes a credential for the API alone.
        let both = submit(serde_json::json!({"api_key": "k2"}))
            .apply_sealing(&key, Some(p.clone()))
            .unwrap();
        assert_eq!(both.password_sealed, p.password_sealed);
        assert_eq!(
            key.open(both.api_key_sealed.as_ref().unwrap()).unwrap(),
            b"k2"
        );
        let only = submit(serde_json::json!({"password": null}))
            .apply_sealing(&key, Some(both.clone()))
            .unwrap();
        assert!(!only.has_password() && only.api_key_sealed.is_some());
        let e = submit(serde_json::json!({"password": null}))
            .apply_sealing(&key, Some(p))
            .unwrap_err();
        assert_eq!(e.of("password").collect::<Vec<_>>(), ["may not be blank"]);
        // A key left out keeps; an empty one removes.
        let kept = submit(serde_json::json!({"username": "admin"}))
            .apply_sealing(&key, Some(both.clone()))
            .unwrap();
        assert_eq!(kept.api_key_sealed, both.api_key_sealed);
        let removed = submit(serde_json::json!({"api_key": ""}))
            .apply_sealing(&key, Some(both))
            .unwrap();
        assert_eq!(removed.api_key_sealed, None);
        let e = CredentialInput::from_json(&serde_json::json!({"api_key": 7})).unwrap_err();
        assert_eq!(e.of("api_key").collect::<Vec<_>>(), ["must be a string"]);
        // Debug never shows it.
        let i = submit(serde_json::json!({"api_key": "t0k3n-secret"}));
        assert!(!format!("{i:?}").contains("t0k3n-secret"));
    }

    #[test]
    fn a_collection_group_needs_a_name_and_a_plain_queue_id() {
        let ok = CollectionGroupInput {
            name: " DMZ ".into(),
            rabbitmq_queue_id: "dmz-1".into(),
            max_sessions: 2,
        }
        .validate()
        .unwrap();
        assert_eq!((ok.name.as_str(), ok.queue.as_str()), ("DMZ", "dmz-1"));
        assert_eq!(ok.max_sessions, 2);
        let e = CollectionGroupInput {
            name: "".into(),
            rabbitmq_queue_id: "a b".into(),
            max_sessions: 0,
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.0.len(), 3);
        let json: CollectionGroupInput =
            serde_json::from_value(serde_json::json!({"name": "a", "rabbitmq_queue_id": "a"}))
                .unwrap();
        assert_eq!(json.max_sessions, 32, "the default");
    }
}
