//! Import and export of the inventory (issue 15): one code path for
//! `devicevault import|export`, `POST /api/devices/import/`,
//! `GET /api/devices/export/` and the web page.
//!
//! A run reads the source ([`parse`]: Oxidized and RANCID `router.db`,
//! CSV, NetBox pages), turns each line into a [`DeviceInput`] — starting
//! from the stored device of that name, or from the defaults for a new one
//! — and checks it with that input's one validator. The answer is a
//! report per line (create / update with the fields / unchanged / skipped
//! / error with the reason) and, with `apply`, the changes in one database
//! transaction. Devices are matched by name, so a second run of the same
//! source reports every line unchanged.
//!
//! Decisions (documented for users in `docs/IMPORT.md`):
//! - a model, type or platform becomes a driver through [`DriverMap`] only
//!   (built-in table + the user's `import.mapping_file`); an unknown one is
//!   an error of its line, never a guess;
//! - credentials, locations, groups and types are named; an unknown name
//!   is an error of its line;
//! - an Oxidized `username`/`password` uses the credential with exactly
//!   that username and password, else one created as `import-<username>`
//!   (`-2`, `-3`… when that name is taken), shared by the run's lines;
//! - a name held by an archived device is an error of its line (restore or
//!   purge it first): an import never resurrects history silently;
//! - `strict`: one error line and nothing is applied; otherwise the good
//!   lines are applied and the bad ones reported;
//! - `sync`: live devices the source does not name are archived (never
//!   deleted) and reported. A line with an error still names its device,
//!   and a RANCID device that is not `up` is still listed: neither is
//!   archived. When an error line has no readable name, nothing is
//!   archived (the device it meant cannot be known).

pub mod parse;

use std::collections::{BTreeMap, HashMap, HashSet};

use devicevault_collect::DriverSet;
use devicevault_core::{Name, RetryClass, SealingKey};
use devicevault_db::{
    Credential, Db, DbError, Device, DeviceFilter, InventoryChanges, NewCredential, Page, Scope,
    User,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::inventory::DeviceInput;
use parse::{Login, OxidizedSource, Record};

/// The largest import accepted (the API's body, a file, standard input):
/// 20 MiB, some 200,000 `router.db` lines. Larger is refused before it is
/// read whole.
pub const MAX_IMPORT_BYTES: usize = 20 * 1024 * 1024;

/// The largest request body of an import through the API: the content's
/// limit and room for its JSON escaping (a `"` or a line break is two
/// bytes in JSON). Refused with 413 before it is read when announced.
pub const MAX_REQUEST_BYTES: usize = MAX_IMPORT_BYTES + MAX_IMPORT_BYTES / 5;

/// The most lines a report lists (the counts cover every line).
pub const MAX_REPORT_LINES: usize = 10_000;

/// The longest reason a report line gives, in characters.
pub const MAX_REASON_CHARS: usize = 300;

/// The CSV columns, import and export: the API's device fields, in the
/// order of [`DeviceInput`]. A field added to `DeviceInput` joins here
/// (the unit test `csv_columns_are_the_device_input_fields` fails until
/// it does); a field that names another object also joins [`REFERENCES`].
pub const DEVICE_COLUMNS: &[&str] = &[
    "name",
    "address",
    "port",
    "driver",
    "credential",
    "backup_location",
    "collection_group",
    "device_group",
    "device_type",
    "enabled",
    "transport",
    "legacy_algorithms",
    "connect_timeout",
    "command_timeout",
    "job_timeout",
    "jump_host",
    "jump_port",
    "jump_credential",
];

/// The fields that hold the id of another object, which CSV names.
pub const REFERENCES: &[(&str, RefKind)] = &[
    ("credential", RefKind::Credential),
    ("backup_location", RefKind::Location),
    ("collection_group", RefKind::CollectionGroup),
    ("device_group", RefKind::DeviceGroup),
    ("device_type", RefKind::DeviceType),
    ("jump_credential", RefKind::Credential),
];

/// What a reference field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefKind {
    Credential,
    Location,
    CollectionGroup,
    DeviceGroup,
    DeviceType,
}

impl RefKind {
    fn label(self) -> &'static str {
        match self {
            Self::Credential => "credential",
            Self::Location => "backup location",
            Self::CollectionGroup => "collection group",
            Self::DeviceGroup => "device group",
            Self::DeviceType => "device type",
        }
    }
}

fn ref_kind(column: &str) -> Option<RefKind> {
    REFERENCES
        .iter()
        .find(|(c, _)| *c == column)
        .map(|(_, k)| *k)
}

// ---- the mapping table ------------------------------------------------------

/// Oxidized models, RANCID types and NetBox platform slugs → drivers,
/// only to drivers that exist. Keys are matched without case.
const BUILTIN_MAP: &[(&str, &str)] = &[
    // Oxidized models
    ("ios", "cisco_ios"),
    ("iosxe", "cisco_ios"),
    ("nxos", "cisco_nxos"),
    ("iosxr", "cisco_iosxr"),
    ("asa", "cisco_asa"),
    ("eos", "arista_eos"),
    ("junos", "juniper_junos"),
    ("routeros", "mikrotik_routeros"),
    ("fortios", "fortinet_fortios"),
    ("panos", "paloalto_panos"),
    ("procurve", "hp_procurve"),
    ("vrp", "huawei_vrp"),
    ("vyatta", "vyos"),
    ("vyos", "vyos"),
    ("os10", "dell_os10"),
    ("linuxgeneric", "linux"),
    ("aoscx", "aruba_aoscx"),
    ("comware", "hp_comware"),
    ("fastiron", "ruckus_fastiron"),
    ("xos", "extreme_exos"),
    ("ftos", "dell_os9"),
    ("awplus", "alliedtelesis_awplus"),
    ("ciscosmb", "cisco_smb"),
    ("ciscocbs", "cisco_smb"),
    ("edgeos", "ubiquiti_edgeos"),
    ("aireos", "cisco_wlc"),
    ("tmos", "f5_tmos"),
    ("gaiaos", "checkpoint_gaia"),
    ("aosw", "aruba_os"),
    ("viptela", "cisco_viptela"),
    ("firelinuxos", "cisco_ftd"),
    ("screenos", "juniper_screenos"),
    ("edgeswitch", "ubiquiti_edgeswitch"),
    ("arubainstant", "aruba_instant"),
    ("fabricos", "brocade_fos"),
    ("airos", "ubiquiti_airos"),
    ("zynoscli", "zyxel_os"),
    ("saos", "ciena_saos"),
    ("netgear", "netgear_prosafe"),
    ("tplink", "tplink_jetstream"),
    ("dlink", "dlink_ds"),
    ("edgecos", "edgecore"),
    ("opengear", "opengear"),
    // oxidized's `cumulus` model reads NCLU's `net show configuration
    // commands` with `cumulus_use_nclu` (Cumulus Linux 3/4), NVUE's with
    // `cumulus_use_nvue`, the files otherwise: a Cumulus Linux 5 fleet maps
    // it to `cumulus_nvue` in the mapping file.
    ("cumulus", "cumulus_nclu"),
    ("ipos", "ericsson_ipos"),
    ("voss", "extreme_voss"),
    ("os6", "dell_os6"),
    ("sonicos", "sonicwall_sonicos"),
    ("firewareos", "watchguard_fireware"),
    ("netscaler", "citrix_netscaler"),
    ("acos", "a10_acos"),
    ("mlnxos", "nvidia_onyx"),
    ("aos", "alcatel_aos"),
    ("aos7", "alcatel_aos"),
    ("sros", "nokia_sros"),
    ("srosmd", "nokia_sros_md"),
    ("pfsense", "pfsense"),
    ("opnsense", "opnsense"),
    ("apc_aos", "apc_nmc"),
    ("panos_api", "paloalto_panos_api"),
    // RANCID types
    ("cisco", "cisco_ios"),
    ("cisco-nx", "cisco_nxos"),
    ("cisco-xr", "cisco_iosxr"),
    ("juniper", "juniper_junos"),
    ("arista", "arista_eos"),
    ("fortigate", "fortinet_fortios"),
    ("mikrotik", "mikrotik_routeros"),
    ("hp", "hp_procurve"),
    // NetBox platform slugs as people usually name them
    ("cisco-ios", "cisco_ios"),
    ("cisco-ios-xe", "cisco_ios"),
    ("cisco-nx-os", "cisco_nxos"),
    ("cisco-nxos", "cisco_nxos"),
    ("cisco-ios-xr", "cisco_iosxr"),
    ("cisco-asa", "cisco_asa"),
    ("arista-eos", "arista_eos"),
    ("juniper-junos", "juniper_junos"),
    ("mikrotik-routeros", "mikrotik_routeros"),
    ("fortinet-fortios", "fortinet_fortios"),
    ("paloalto-panos", "paloalto_panos"),
    ("hp-procurve", "hp_procurve"),
    ("huawei-vrp", "huawei_vrp"),
    ("dell-os10", "dell_os10"),
];

/// The table from a source's model names to drivers: the built-in one,
/// extended (or overridden) by the user's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverMap(BTreeMap<String, String>);

/// The user's mapping file (`import.mapping_file`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    drivers: BTreeMap<String, String>,
}

impl Default for DriverMap {
    fn default() -> Self {
        Self::builtin()
    }
}

impl DriverMap {
    pub fn builtin() -> Self {
        Self(
            BUILTIN_MAP
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    /// The built-in table plus a mapping file's `[drivers]` table
    /// (`model = "driver"`).
    pub fn with_file_text(text: &str) -> Result<Self, String> {
        let file: MappingFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut map = Self::builtin();
        for (k, v) in file.drivers {
            map.0.insert(k.to_lowercase(), v);
        }
        Ok(map)
    }

    /// The driver of `model`: the table's, or the model itself when it is
    /// a driver's name; otherwise why not.
    pub fn driver(&self, model: &str, drivers: &DriverSet) -> Result<String, String> {
        let driver = match self.0.get(&model.to_lowercase()) {
            Some(d) => d.clone(),
            None if drivers.get(model).is_ok() => model.to_owned(),
            None => {
                return Err(format!(
                    "unknown model {model:?}: add it to the [drivers] table of the import mapping \
                     file (import.mapping_file), e.g. {:?} = \"cisco_ios\"",
                    model.to_lowercase()
                ));
            }
        };
        if drivers.get(&driver).is_err() {
            return Err(format!(
                "model {model:?} maps to driver {driver:?}, which this installation does not have"
            ));
        }
        Ok(driver)
    }

    /// The table, for `config show` and the docs.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

// ---- requests and reports ---------------------------------------------------

/// Where the devices come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Oxidized `router.db` (see `oxidized` for its delimiter and columns).
    Oxidized,
    /// RANCID `router.db`.
    Rancid,
    /// CSV with a header row of device fields (what export writes).
    Csv,
    /// NetBox's `/api/dcim/devices/` (from the command line only).
    Netbox,
}

impl Format {
    pub const ALL: [Format; 4] = [Self::Oxidized, Self::Rancid, Self::Csv, Self::Netbox];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oxidized => "oxidized",
            Self::Rancid => "rancid",
            Self::Csv => "csv",
            Self::Netbox => "netbox",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s.trim().to_lowercase())
            .ok_or_else(|| format!("{s:?} is not one of oxidized, rancid, csv, netbox"))
    }
}

/// How a run goes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportOptions {
    /// Commit the changes (without it: a dry run, the report only).
    #[serde(default)]
    pub apply: bool,
    /// One error line and nothing is applied.
    #[serde(default)]
    pub strict: bool,
    /// Archive the live devices the source does not name.
    #[serde(default)]
    pub sync: bool,
    /// Values of new devices' fields that their line does not give, as
    /// CSV cells: `{"backup_location": "main", "credential": "lab"}`.
    #[serde(default)]
    pub defaults: BTreeMap<String, String>,
    /// The Oxidized delimiter and columns (`source.csv`'s `delimiter`
    /// and `map`).
    #[serde(default)]
    pub oxidized: OxidizedSource,
}

/// What a line does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Unchanged,
    Skipped,
    Error,
    /// A live device the source does not name (with `sync`).
    Archive,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Unchanged => "unchanged",
            Self::Skipped => "skipped",
            Self::Error => "error",
            Self::Archive => "archive",
        }
    }
}

/// A field an update changes, as CSV cells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldChange {
    pub field: String,
    pub from: String,
    pub to: String,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReportLine {
    /// The line of the source (NetBox: the device's position in the
    /// listing); absent for an archived device.
    pub line: Option<usize>,
    pub name: Option<String>,
    pub action: Action,
    /// An update's changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    /// Why an error or a skip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How many lines do what.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
    pub skipped: usize,
    pub error: usize,
    pub archive: usize,
}

impl Counts {
    fn add(&mut self, a: Action) {
        *match a {
            Action::Create => &mut self.create,
            Action::Update => &mut self.update,
            Action::Unchanged => &mut self.unchanged,
            Action::Skipped => &mut self.skipped,
            Action::Error => &mut self.error,
            Action::Archive => &mut self.archive,
        } += 1;
    }
}

/// The answer of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    pub format: Format,
    /// Whether the changes were committed (false for a dry run, and for a
    /// strict run with errors).
    pub applied: bool,
    pub counts: Counts,
    /// Per line, in the source's order, then the archived devices; at
    /// most [`MAX_REPORT_LINES`].
    pub lines: Vec<ReportLine>,
    /// Lines left out of `lines` (the counts include them).
    pub lines_left_out: usize,
    /// Credentials the run creates (or would create), by name.
    pub new_credentials: Vec<String>,
    /// What the run decided as a whole (strict, sync).
    pub notes: Vec<String>,
}

/// Why a run could not even start.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the import is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    /// The source as a whole (a CSV header, an option, a NetBox answer).
    #[error("{0}")]
    Source(String),
    #[error(transparent)]
    Db(#[from] DbError),
    /// The person importing may not import (a reader).
    #[error(transparent)]
    Denied(#[from] super::rights::Denied),
}

impl ImportError {
    /// Whether trying again unchanged can succeed (a database outage); a
    /// source or an option needs a change first.
    pub fn retry_helps(&self) -> bool {
        matches!(self, Self::Db(e) if e.is_transient())
    }
}

/// What a run reads and writes. The front ends build it (the API and web
/// from their `App`, the command line from the configuration).
#[derive(Clone, Copy)]
pub struct ImportContext<'a> {
    pub db: &'a Db,
    pub drivers: &'a DriverSet,
    /// To match and create credentials from Oxidized logins; `None` when
    /// there is no key yet (then such lines are errors).
    pub key: Option<&'a SealingKey>,
    pub mapping: &'a DriverMap,
    /// Whose import it is: `None` for the host (the command line, which
    /// acts with the host's authority); a person's role and scope limit it
    /// — an operator's lines may only create and change devices of its
    /// device groups, never create a credential, and `sync` archives only
    /// the devices it reaches.
    pub by: Option<(&'a User, &'a Scope)>,
}

impl ImportContext<'_> {
    /// Whether the importer may put or keep a device in `device_group`.
    fn reaches(&self, device_group: Option<i64>) -> bool {
        self.by
            .is_none_or(|(_, scope)| scope.allows(device_group, false))
    }

    /// Whether the importer may create credentials.
    fn creates_credentials(&self) -> bool {
        self.by.is_none_or(|(user, _)| {
            super::rights::allows(user.role, super::rights::Right::Administer)
        })
    }
}

impl std::fmt::Debug for ImportContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportContext").finish_non_exhaustive()
    }
}

impl super::App {
    pub fn import_context(&self) -> ImportContext<'_> {
        ImportContext {
            db: &self.db,
            drivers: &self.drivers,
            key: Some(&self.key),
            mapping: &self.import_mapping,
            by: None,
        }
    }

    /// The context of an import by `user`, limited by its role and scope.
    pub fn import_context_for<'a>(&'a self, user: &'a User, scope: &'a Scope) -> ImportContext<'a> {
        ImportContext {
            by: Some((user, scope)),
            ..self.import_context()
        }
    }
}

/// A source read into records.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub records: Vec<Record>,
    /// Lines read but not imported, with why (RANCID's devices not `up`).
    pub skipped: Vec<(usize, String)>,
}

/// Reads `input` as `format` (NetBox pages are read by
/// [`parse::netbox_page`] and handed over as records).
pub fn parse_source(
    format: Format,
    input: &[u8],
    options: &ImportOptions,
) -> Result<Parsed, ImportError> {
    if input.len() > MAX_IMPORT_BYTES {
        return Err(ImportError::TooLarge {
            limit: MAX_IMPORT_BYTES,
        });
    }
    Ok(match format {
        Format::Oxidized => Parsed {
            records: parse::oxidized(input, &options.oxidized),
            skipped: Vec::new(),
        },
        Format::Rancid => {
            let (records, skipped) = parse::rancid(input);
            Parsed { records, skipped }
        }
        Format::Csv => Parsed {
            records: parse::csv(input, DEVICE_COLUMNS)
                .map_err(|e| ImportError::Source(format!("line 1: {e}")))?,
            skipped: Vec::new(),
        },
        Format::Netbox => {
            return Err(ImportError::Source(
                "NetBox is read from its API by the command line (--netbox-url), not from a file"
                    .into(),
            ));
        }
    })
}

// ---- the inventory as names -------------------------------------------------

const ALL: Page = Page {
    limit: 10_000_000,
    offset: 0,
};

/// The named objects, both ways.
#[derive(Debug, Default)]
struct Names {
    by_name: HashMap<RefKind, HashMap<String, i64>>,
    by_id: HashMap<RefKind, HashMap<i64, String>>,
}

impl Names {
    async fn load(db: &Db) -> Result<(Self, Vec<Credential>), DbError> {
        let mut n = Self::default();
        let credentials = db.list_credentials(ALL).await?.rows;
        n.add(
            RefKind::Credential,
            credentials.iter().map(|c| (c.id, c.name.clone())),
        );
        n.add(
            RefKind::Location,
            db.list_locations(ALL)
                .await?
                .rows
                .into_iter()
                .map(|l| (l.id, l.name)),
        );
        n.add(
            RefKind::CollectionGroup,
            db.list_collection_groups()
                .await?
                .into_iter()
                .map(|g| (g.id, g.name)),
        );
        n.add(
            RefKind::DeviceGroup,
            db.list_device_groups(ALL)
                .await?
                .rows
                .into_iter()
                .map(|g| (g.id, g.name)),
        );
        n.add(
            RefKind::DeviceType,
            db.list_device_types(ALL)
                .await?
                .rows
                .into_iter()
                .map(|t| (t.id, t.name)),
        );
        Ok((n, credentials))
    }

    fn add(&mut self, kind: RefKind, rows: impl Iterator<Item = (i64, String)>) {
        for (id, name) in rows {
            self.by_name
                .entry(kind)
                .or_default()
                .insert(name.clone(), id);
            self.by_id.entry(kind).or_default().insert(id, name);
        }
    }

    fn id(&self, kind: RefKind, name: &str) -> Option<i64> {
        self.by_name.get(&kind)?.get(name).copied()
    }

    fn name(&self, kind: RefKind, id: i64) -> String {
        self.by_id
            .get(&kind)
            .and_then(|m| m.get(&id))
            .cloned()
            // A reference always exists (foreign keys); the id is better
            // than nothing if one raced away.
            .unwrap_or_else(|| id.to_string())
    }
}

/// A device's fields as JSON, in `DeviceInput`'s shape.
fn input_json(input: &DeviceInput) -> Map<String, Value> {
    match serde_json::to_value(input) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// A new device's input before its line: `DeviceInput`'s defaults.
fn default_input() -> Map<String, Value> {
    match serde_json::from_value::<DeviceInput>(
        serde_json::json!({"name": "", "address": "", "driver": ""}),
    ) {
        Ok(i) => input_json(&i),
        Err(_) => Map::new(),
    }
}

/// A field's value as a CSV cell (references by name).
fn cell(names: &Names, field: &str, v: &Value) -> String {
    match (ref_kind(field), v) {
        (_, Value::Null) => String::new(),
        (Some(kind), Value::Number(n)) => match n.as_i64() {
            Some(id) => names.name(kind, id),
            None => n.to_string(),
        },
        (_, Value::String(s)) => s.clone(),
        (_, Value::Bool(b)) => b.to_string(),
        (_, other) => other.to_string(),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Some(true),
        "false" | "no" | "0" | "off" => Some(false),
        _ => None,
    }
}

/// Sets `field` of `obj` from a CSV cell: a reference by name, other
/// fields typed as `DeviceInput`'s default value of that field is. An
/// empty cell is the default (none, for a reference).
fn set_cell(
    obj: &mut Map<String, Value>,
    template: &Map<String, Value>,
    names: &Names,
    field: &str,
    value: &str,
) -> Result<(), String> {
    let value = value.trim();
    let v = if let Some(kind) = ref_kind(field) {
        if value.is_empty() {
            Value::Null
        } else {
            match names.id(kind, value) {
                Some(id) => Value::from(id),
                None => return Err(format!("{field}: no {} is named {value:?}", kind.label())),
            }
        }
    } else if value.is_empty() {
        template.get(field).cloned().unwrap_or(Value::Null)
    } else {
        match template.get(field) {
            Some(Value::Bool(_)) => Value::Bool(
                parse_bool(value)
                    .ok_or_else(|| format!("{field}: {value:?} is not true or false"))?,
            ),
            Some(Value::Number(_)) => Value::from(
                value
                    .parse::<i64>()
                    .map_err(|_| format!("{field}: {value:?} is not a whole number"))?,
            ),
            Some(Value::String(_)) => Value::String(value.to_owned()),
            _ => {
                if let Ok(n) = value.parse::<i64>() {
                    Value::from(n)
                } else if let Some(b) = parse_bool(value) {
                    Value::Bool(b)
                } else {
                    Value::String(value.to_owned())
                }
            }
        }
    };
    obj.insert(field.to_owned(), v);
    Ok(())
}

fn bounded(reason: impl Into<String>) -> String {
    let reason: String = reason.into();
    if reason.chars().count() <= MAX_REASON_CHARS {
        return reason;
    }
    let mut r: String = reason.chars().take(MAX_REASON_CHARS).collect();
    r.push('…');
    r
}

// ---- a run ------------------------------------------------------------------

/// The credentials a run matches logins against and creates.
struct Logins<'a> {
    key: Option<&'a SealingKey>,
    existing: Vec<(i64, String, Option<Vec<u8>>)>,
    taken: HashSet<String>,
    new: Vec<(NewCredential, String)>,
    /// Whether a login that matches no credential may create one (an
    /// administrator's or the host's import).
    may_create: bool,
}

impl<'a> Logins<'a> {
    fn new(key: Option<&'a SealingKey>, credentials: &[Credential]) -> Self {
        Self {
            key,
            existing: credentials
                .iter()
                .map(|c| {
                    (
                        c.id,
                        c.username.clone(),
                        key.and_then(|k| k.open(&c.password_sealed).ok()),
                    )
                })
                .collect(),
            taken: credentials.iter().map(|c| c.name.clone()).collect(),
            new: Vec::new(),
            may_create: true,
        }
    }

    /// The credential of `login`: an existing one (`Ok(Ok(id))`) or the
    /// index of a new one (`Ok(Err(i))`).
    fn resolve(&mut self, login: &Login) -> Result<Result<i64, usize>, String> {
        let Some(key) = self.key else {
            return Err(
                "a login needs the sealing key (start the server once, or set secret_key_file)"
                    .into(),
            );
        };
        if let Some((id, ..)) = self.existing.iter().find(|(_, u, p)| {
            *u == login.username && p.as_deref() == Some(login.password.as_bytes())
        }) {
            return Ok(Ok(*id));
        }
        if let Some(i) = self
            .new
            .iter()
            .position(|(c, p)| c.username == login.username && *p == login.password)
        {
            return Ok(Err(i));
        }
        if !self.may_create {
            return Err(
                "its login matches no credential, and only an administrator may create one".into(),
            );
        }
        let base = Name::parse(&format!("import-{}", login.username))
            .map_err(|e| format!("username {:?}: {e}", login.username))?
            .into_string();
        let mut name = base.clone();
        let mut n = 1;
        while self.taken.contains(&name) {
            n += 1;
            name = format!("{base}-{n}");
        }
        self.taken.insert(name.clone());
        self.new.push((
            NewCredential {
                name,
                username: login.username.clone(),
                password_sealed: key.seal(login.password.as_bytes()),
            },
            login.password.clone(),
        ));
        Ok(Err(self.new.len() - 1))
    }
}

/// Runs an import of `parsed`: the report, and with `apply` (unless
/// `strict` meets an error) the changes committed in one transaction.
pub async fn run(
    ctx: ImportContext<'_>,
    format: Format,
    parsed: Parsed,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    if let Some((user, _)) = ctx.by {
        super::rights::require(user, super::rights::Right::Operate)?;
    }
    let template = default_input();
    for k in options.defaults.keys() {
        if !DEVICE_COLUMNS.contains(&k.as_str()) || k == "name" {
            return Err(ImportError::Source(format!(
                "default {k:?}: not a device field (they are: {})",
                DEVICE_COLUMNS[1..].join(", ")
            )));
        }
    }
    let (names, credentials) = Names::load(ctx.db).await?;
    let mut new_base = template.clone();
    for (k, v) in &options.defaults {
        set_cell(&mut new_base, &template, &names, k, v)
            .map_err(|e| ImportError::Source(format!("default {e}")))?;
    }
    let live = ctx
        .db
        .list_devices(&DeviceFilter::default(), &Scope::Admin, ALL)
        .await?
        .rows;
    let archived = ctx
        .db
        .list_devices(
            &DeviceFilter {
                archived: true,
                ..DeviceFilter::default()
            },
            &Scope::Admin,
            ALL,
        )
        .await?
        .rows;
    let live_by_name: HashMap<&str, &Device> =
        live.iter().map(|d| (d.fields.name.as_str(), d)).collect();
    let archived_names: HashSet<&str> = archived.iter().map(|d| d.fields.name.as_str()).collect();
    let skipped: HashMap<usize, String> = parsed.skipped.into_iter().collect();

    let mut logins = Logins::new(ctx.key, &credentials);
    logins.may_create = ctx.creates_credentials();
    let mut changes = InventoryChanges::default();
    let mut lines: Vec<ReportLine> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut unnamed_error = false;

    for rec in parsed.records {
        let name = rec
            .name
            .as_deref()
            .map(|n| Name::parse(n).map(Name::into_string));
        let (action, name, changes_, reason) = match (name, rec.row) {
            (None, Err(e)) => {
                unnamed_error = true;
                (Action::Error, None, Vec::new(), Some(e))
            }
            (None, Ok(_)) => {
                unnamed_error = true;
                (Action::Error, None, Vec::new(), Some("no name".into()))
            }
            (Some(Err(e)), _) => {
                unnamed_error = true;
                (
                    Action::Error,
                    rec.name.clone(),
                    Vec::new(),
                    Some(format!("name: {e}")),
                )
            }
            (Some(Ok(name)), row) => {
                let first = seen.insert(name.clone(), rec.line);
                let outcome = match (first, row) {
                    (Some(first), _) => Err(format!("the device is also on line {first}")),
                    (None, Err(e)) => Err(e),
                    (None, Ok(_)) if skipped.contains_key(&rec.line) => {
                        Ok((Action::Skipped, Vec::new(), skipped.get(&rec.line).cloned()))
                    }
                    (None, Ok(_)) if archived_names.contains(name.as_str()) => {
                        Err("an archived device has this name: restore it or purge it first".into())
                    }
                    (None, Ok(_))
                        if live_by_name
                            .get(name.as_str())
                            .is_some_and(|d| !ctx.reaches(d.fields.device_group)) =>
                    {
                        Err("a device outside your device groups has this name".into())
                    }
                    (None, Ok(row)) => plan_line(
                        ctx,
                        &names,
                        &template,
                        &new_base,
                        live_by_name.get(name.as_str()).copied(),
                        &name,
                        row,
                        &mut logins,
                        &mut changes,
                    )
                    .map(|(a, c)| (a, c, None)),
                };
                match outcome {
                    Ok((a, c, reason)) => (a, Some(name), c, reason),
                    Err(e) => (Action::Error, Some(name), Vec::new(), Some(e)),
                }
            }
        };
        lines.push(ReportLine {
            line: Some(rec.line),
            name,
            action,
            changes: changes_,
            reason: reason.map(bounded),
        });
    }

    let mut notes = Vec::new();
    if options.sync {
        if unnamed_error {
            notes.push(
                "sync: nothing archived, because a line with an error names no device (fix it \
                 and run again)"
                    .to_owned(),
            );
        } else {
            for d in &live {
                if !seen.contains_key(&d.fields.name) && ctx.reaches(d.fields.device_group) {
                    changes.archive.push(d.id);
                    lines.push(ReportLine {
                        line: None,
                        name: Some(d.fields.name.clone()),
                        action: Action::Archive,
                        changes: Vec::new(),
                        reason: Some("not in the source".into()),
                    });
                }
            }
        }
    }
    let mut counts = Counts::default();
    for l in &lines {
        counts.add(l.action);
    }
    changes.credentials = logins.new.into_iter().map(|(c, _)| c).collect();
    let new_credentials: Vec<String> = changes.credentials.iter().map(|c| c.name.clone()).collect();
    let mut applied = false;
    if options.strict && counts.error > 0 {
        notes.push(format!(
            "strict: nothing {} because {} line(s) have errors",
            if options.apply {
                "was applied"
            } else {
                "would be applied"
            },
            counts.error
        ));
    } else if options.apply {
        ctx.db.apply_inventory_changes(&changes).await?;
        applied = true;
    }
    let lines_left_out = lines.len().saturating_sub(MAX_REPORT_LINES);
    lines.truncate(MAX_REPORT_LINES);
    Ok(ImportReport {
        format,
        applied,
        counts,
        lines,
        lines_left_out,
        new_credentials,
        notes,
    })
}

/// One good line against the inventory: what it does, and its changes
/// added to `changes`.
#[allow(clippy::too_many_arguments)]
fn plan_line(
    ctx: ImportContext<'_>,
    names: &Names,
    template: &Map<String, Value>,
    new_base: &Map<String, Value>,
    existing: Option<&Device>,
    name: &str,
    row: parse::Row,
    logins: &mut Logins<'_>,
    changes: &mut InventoryChanges,
) -> Result<(Action, Vec<FieldChange>), String> {
    let before = existing.map(|d| input_json(&DeviceInput::of(&d.fields)));
    let mut obj = before.clone().unwrap_or_else(|| new_base.clone());
    obj.insert("name".into(), Value::String(name.to_owned()));
    if let Some(model) = &row.model {
        obj.insert(
            "driver".into(),
            Value::String(ctx.mapping.driver(model, ctx.drivers)?),
        );
    }
    for (field, value) in &row.fields {
        if field != "name" {
            set_cell(&mut obj, template, names, field, value)?;
        }
    }
    let mut new_credential = None;
    if let Some(login) = &row.login {
        match logins.resolve(login)? {
            Ok(id) => {
                obj.insert("credential".into(), Value::from(id));
            }
            Err(i) => {
                obj.insert("credential".into(), Value::Null);
                new_credential = Some(i);
            }
        }
    }
    let input: DeviceInput =
        serde_json::from_value(Value::Object(obj)).map_err(|e| e.to_string())?;
    let (errors, fields) = input.check(ctx.drivers);
    if !errors.is_empty() {
        return Err(errors.to_string());
    }
    if !ctx.reaches(fields.device_group) {
        return Err("device_group: outside your device groups".into());
    }
    let after = input_json(&DeviceInput::of(&fields));
    let Some(device) = existing else {
        changes.create.push((fields, new_credential));
        return Ok((Action::Create, Vec::new()));
    };
    let before = before.unwrap_or_default();
    let mut diff = Vec::new();
    for field in DEVICE_COLUMNS {
        let (b, a) = (
            before.get(*field).unwrap_or(&Value::Null),
            after.get(*field).unwrap_or(&Value::Null),
        );
        let new_cred_here = *field == "credential" && new_credential.is_some();
        if b != a || new_cred_here {
            let to = match new_credential {
                Some(i) if new_cred_here => logins.new[i].0.name.clone(),
                _ => cell(names, field, a),
            };
            diff.push(FieldChange {
                field: (*field).to_owned(),
                from: cell(names, field, b),
                to,
            });
        }
    }
    if diff.is_empty() {
        return Ok((Action::Unchanged, diff));
    }
    changes.update.push((device.id, fields, new_credential));
    Ok((Action::Update, diff))
}

// ---- export -----------------------------------------------------------------

/// The live inventory as CSV: a header of [`DEVICE_COLUMNS`], a line per
/// device by name, references by name, no secrets, formula-looking cells
/// escaped. Importing it back reports every line unchanged. Only the
/// devices in `scope` (an operator exports its device groups).
pub async fn export_csv(db: &Db, scope: &Scope) -> Result<String, DbError> {
    let (names, _) = Names::load(db).await?;
    let devices = db
        .list_devices(&DeviceFilter::default(), scope, ALL)
        .await?
        .rows;
    let mut out = String::with_capacity(64 * (devices.len() + 1));
    out.push_str(&DEVICE_COLUMNS.join(","));
    out.push('\n');
    for d in &devices {
        let obj = input_json(&DeviceInput::of(&d.fields));
        let cells: Vec<String> = DEVICE_COLUMNS
            .iter()
            .map(|f| parse::csv_cell(&cell(&names, f, obj.get(*f).unwrap_or(&Value::Null))))
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_columns_are_the_device_input_fields() {
        let keys: Vec<String> = default_input().keys().cloned().collect();
        let mut columns: Vec<String> = DEVICE_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
        columns.sort();
        let mut keys = keys;
        keys.sort();
        assert_eq!(
            columns, keys,
            "DEVICE_COLUMNS must list every DeviceInput field"
        );
    }

    #[test]
    fn the_mapping_maps_only_to_existing_drivers_and_never_guesses() {
        let drivers = DriverSet::builtin();
        let map = DriverMap::builtin();
        for (model, driver) in map.entries() {
            assert!(drivers.get(driver).is_ok(), "{model} → {driver}");
        }
        assert_eq!(map.driver("IOS", &drivers).unwrap(), "cisco_ios");
        assert_eq!(map.driver("juniper", &drivers).unwrap(), "juniper_junos");
        assert_eq!(map.driver("arista_eos", &drivers).unwrap(), "arista_eos");
        assert_eq!(map.driver("aoscx", &drivers).unwrap(), "aruba_aoscx");
        assert_eq!(map.driver("xos", &drivers).unwrap(), "extreme_exos");
        assert_eq!(map.driver("edgecos", &drivers).unwrap(), "edgecore");
        assert_eq!(map.driver("opengear", &drivers).unwrap(), "opengear");
        assert_eq!(map.driver("cumulus", &drivers).unwrap(), "cumulus_nclu");
        assert!(map.driver("ciscoish", &drivers).is_err());
        let map = DriverMap::with_file_text("[drivers]\nmy-ios = \"cisco_ios\"\nbad = \"nope\"\n")
            .unwrap();
        assert_eq!(map.driver("my-ios", &drivers).unwrap(), "cisco_ios");
        assert!(map.driver("bad", &drivers).unwrap_err().contains("nope"));
        assert!(DriverMap::with_file_text("[other]\n").is_err());
    }

    #[test]
    fn the_audit_log_never_records_an_import_s_content() {
        // Oxidized lines may carry passwords.
        assert!(super::super::audit::is_secret_field("content"));
    }

    #[test]
    fn long_reasons_are_cut() {
        let r = bounded("x".repeat(10_000));
        assert_eq!(r.chars().count(), MAX_REASON_CHARS + 1);
    }
}
