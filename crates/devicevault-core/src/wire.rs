//! The wire contract: task payloads and stream records, with the field names
//! of `STORAGE_PIPELINE.md` and DESIGN §3.
//!
//! Stream records travel as flat string maps (Redis stream fields), so each
//! record type converts to and from `(field, string value)` pairs: numbers in
//! decimal, booleans as `true`/`false`, `log` as a JSON array. The same types
//! serialize with serde to the JSON objects shown in the seed.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::{RelPath, Retry, RetryClass, Timestamp};

/// Why a task body or stream record was rejected. Never worth a retry: the
/// same bytes will fail the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("missing field {field:?}")]
    MissingField { field: &'static str },
    #[error("field {field:?} is invalid: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("malformed JSON: {0}")]
    Json(String),
}

impl RetryClass for WireError {
    fn retry(&self) -> Retry {
        Retry::Permanent
    }
}

/// The storage backend of a location, and the queue its workers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackendKind {
    Git,
    Fs,
}

/// A backend name other than `git` or `fs`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown storage backend {0:?} (expected \"git\" or \"fs\")")]
pub struct UnknownBackend(pub String);

impl StorageBackendKind {
    /// Every backend, in a stable order.
    pub const ALL: [Self; 2] = [Self::Git, Self::Fs];

    /// `git` or `fs`, as in `location_type` and `storage_backend`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Git => "git",
            Self::Fs => "fs",
        }
    }

    /// The queue its storage workers consume: `storage.git` or `storage.fs`.
    pub fn queue(self) -> &'static str {
        match self {
            Self::Git => "storage.git",
            Self::Fs => "storage.fs",
        }
    }
}

impl fmt::Display for StorageBackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StorageBackendKind {
    type Err = UnknownBackend;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "git" => Ok(Self::Git),
            "fs" => Ok(Self::Fs),
            other => Err(UnknownBackend(other.to_owned())),
        }
    }
}

/// Outcome of a collection or storage step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Success,
    Failure,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "success" => Ok(Self::Success),
            "failure" => Ok(Self::Failure),
            other => Err(format!(
                "expected \"success\" or \"failure\", got {other:?}"
            )),
        }
    }
}

/// What a storage worker did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Store,
    Read,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Store => "store",
            Self::Read => "read",
        }
    }
}

impl FromStr for Operation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "store" => Ok(Self::Store),
            "read" => Ok(Self::Read),
            other => Err(format!("expected \"store\" or \"read\", got {other:?}")),
        }
    }
}

/// Severity of a log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[serde(alias = "DEBUG")]
    Debug,
    #[default]
    #[serde(alias = "INFO")]
    Info,
    #[serde(alias = "WARNING", alias = "warn")]
    Warning,
    #[serde(alias = "ERROR", alias = "CRITICAL", alias = "critical")]
    Error,
}

/// One line of the log carried by a result: `{source, timestamp, severity,
/// message}`. A bare string (the seed's example `"stored to git:…"`) is read
/// as a message with no source or time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "LogEntryRepr")]
pub struct LogEntry {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    #[serde(default)]
    pub severity: Severity,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum LogEntryRepr {
    Text(String),
    Entry {
        #[serde(default)]
        source: String,
        #[serde(default)]
        timestamp: Option<Timestamp>,
        #[serde(default)]
        severity: Severity,
        message: String,
    },
}

impl From<LogEntryRepr> for LogEntry {
    fn from(r: LogEntryRepr) -> Self {
        match r {
            LogEntryRepr::Text(message) => Self {
                source: String::new(),
                timestamp: None,
                severity: Severity::Info,
                message,
            },
            LogEntryRepr::Entry {
                source,
                timestamp,
                severity,
                message,
            } => Self {
                source,
                timestamp,
                severity,
                message,
            },
        }
    }
}

impl LogEntry {
    /// A log entry stamped now.
    pub fn new(source: &str, severity: Severity, message: impl Into<String>) -> Self {
        Self {
            source: source.to_owned(),
            timestamp: Some(Timestamp::now()),
            severity,
            message: message.into(),
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The `storage.store` task: the seed's payload, plus the optional
/// `storage_rel_path` and `is_binary` (content then base64) of DESIGN §3,
/// and `storage_previous_rel_path`: where the device's previous version
/// lives when its path changed (a renamed device), so that the store moves
/// the file instead of starting a new one. Absent fields are not sent, so
/// the seed's payload shape is unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreTask {
    pub task_id: String,
    pub task_identifier: String,
    pub device_id: i64,
    pub storage_backend: StorageBackendKind,
    pub storage_config: serde_json::Map<String, serde_json::Value>,
    pub device_config: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_rel_path: Option<RelPath>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_binary: bool,
    /// The path of the device's previous version, to be removed by the same
    /// commit that writes `storage_rel_path`. Always under the device's own
    /// directory (`<device_id>/`, or `<shard>/<device_id>/` in a fanout
    /// location), as is `storage_rel_path` then:
    /// [`StoreTask::from_json`] refuses anything else, so a task can never
    /// remove another device's file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_previous_rel_path: Option<RelPath>,
}

impl StoreTask {
    /// Builds a task for `content`, base64-encoding it when `is_binary`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        task_id: String,
        task_identifier: String,
        device_id: i64,
        storage_backend: StorageBackendKind,
        storage_config: serde_json::Map<String, serde_json::Value>,
        storage_rel_path: Option<RelPath>,
        content: &[u8],
        is_binary: bool,
    ) -> Result<Self, WireError> {
        let device_config = encode_content(content, is_binary, "device_config")?;
        Ok(Self {
            task_id,
            task_identifier,
            device_id,
            storage_backend,
            storage_config,
            device_config,
            storage_rel_path,
            is_binary,
            storage_previous_rel_path: None,
        })
    }

    /// Parses a task body (the first positional argument of the Celery task).
    pub fn from_json(v: serde_json::Value) -> Result<Self, WireError> {
        let task: Self = serde_json::from_value(v).map_err(|e| WireError::Json(e.to_string()))?;
        task.check_previous_rel_path()?;
        Ok(task)
    }

    /// A move stays inside the device's directory: the previous path and
    /// the new one (when the task names it) are both under `<device_id>/`
    /// or, in a fanout location, `<shard>/<device_id>/`
    /// ([`crate::layout::device_dirs`]).
    fn check_previous_rel_path(&self) -> Result<(), WireError> {
        let Some(previous) = &self.storage_previous_rel_path else {
            return Ok(());
        };
        let dirs = crate::layout::device_dirs(self.device_id);
        let outside = [Some(previous), self.storage_rel_path.as_ref()]
            .into_iter()
            .flatten()
            .find(|p| !dirs.iter().any(|d| p.is_under(d)));
        match outside {
            None => Ok(()),
            Some(p) => Err(WireError::InvalidField {
                field: "storage_previous_rel_path",
                reason: format!(
                    "{p} is not under device {}'s directory ({}/ or {}/); a store moves only its own device's file",
                    self.device_id, dirs[0], dirs[1]
                ),
            }),
        }
    }

    /// The configuration bytes, decoded from base64 when `is_binary`.
    pub fn content(&self) -> Result<Vec<u8>, WireError> {
        decode_content(&self.device_config, self.is_binary, "device_config")
    }
}

fn encode_content(
    content: &[u8],
    is_binary: bool,
    field: &'static str,
) -> Result<String, WireError> {
    if is_binary {
        Ok(base64::engine::general_purpose::STANDARD.encode(content))
    } else {
        String::from_utf8(content.to_vec()).map_err(|_| WireError::InvalidField {
            field,
            reason: "content is not UTF-8; send it with is_binary".into(),
        })
    }
}

fn decode_content(s: &str, is_binary: bool, field: &'static str) -> Result<Vec<u8>, WireError> {
    if is_binary {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| WireError::InvalidField {
                field,
                reason: format!("is_binary is set but the content is not base64: {e}"),
            })
    } else {
        Ok(s.as_bytes().to_vec())
    }
}

/// A record of the `storage:results` stream: the seed's output object, plus
/// `storage_duration_ms` and the optional `changed`, `sha256` and `size`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StorageResult {
    pub task_id: String,
    pub task_identifier: String,
    pub device_id: i64,
    pub storage_backend: StorageBackendKind,
    pub storage_ref: String,
    pub status: Status,
    pub timestamp: Timestamp,
    pub log: Vec<LogEntry>,
    pub operation: Operation,
    #[serde(default)]
    pub storage_duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

impl StorageResult {
    /// The record as stream fields, in a stable order.
    pub fn to_fields(&self) -> Vec<(&'static str, String)> {
        let mut f = vec![
            ("task_id", self.task_id.clone()),
            ("task_identifier", self.task_identifier.clone()),
            ("device_id", self.device_id.to_string()),
            ("storage_backend", self.storage_backend.to_string()),
            ("storage_ref", self.storage_ref.clone()),
            ("status", self.status.as_str().to_owned()),
            ("timestamp", self.timestamp.to_string()),
            ("log", log_to_json(&self.log)),
            ("operation", self.operation.as_str().to_owned()),
            ("storage_duration_ms", self.storage_duration_ms.to_string()),
        ];
        if let Some(c) = self.changed {
            f.push(("changed", c.to_string()));
        }
        if let Some(s) = &self.sha256 {
            f.push(("sha256", s.clone()));
        }
        if let Some(s) = self.size {
            f.push(("size", s.to_string()));
        }
        f
    }

    /// Parses stream fields. Unknown fields are ignored (producers may add
    /// fields); missing or ill-typed known ones are an error.
    pub fn from_fields(map: &HashMap<String, String>) -> Result<Self, WireError> {
        let f = Fields(map);
        Ok(Self {
            task_id: f.req("task_id")?.to_owned(),
            task_identifier: f.req("task_identifier")?.to_owned(),
            device_id: f.parse("device_id")?,
            storage_backend: f.parse("storage_backend")?,
            storage_ref: f.opt("storage_ref").unwrap_or_default().to_owned(),
            status: f.parse("status")?,
            timestamp: f.parse_with("timestamp", Timestamp::parse)?,
            log: f.log("log")?,
            operation: f.opt_parse("operation")?.unwrap_or(Operation::Store),
            storage_duration_ms: f.opt_parse("storage_duration_ms")?.unwrap_or(0),
            changed: f.opt_bool("changed")?,
            sha256: f.opt("sha256").map(str::to_owned),
            size: f.opt_parse("size")?,
        })
    }
}

/// Whether `s` can be a device's author (`DeviceResult::author`): a user
/// name of 1 to 64 printable characters without spaces.
pub fn is_author_name(s: &str) -> bool {
    (1..=64).contains(&s.chars().count())
        && s.chars().all(|c| !c.is_control() && !c.is_whitespace())
}

/// A record of the `device:results` stream, written by a collector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceResult {
    pub task_id: String,
    pub task_identifier: String,
    pub device_id: i64,
    pub status: Status,
    pub timestamp: Timestamp,
    pub log: Vec<LogEntry>,
    /// The collected configuration; base64 when `is_binary`. Empty on failure.
    pub device_config: String,
    pub collection_duration_ms: u64,
    pub initiated_at: Timestamp,
    #[serde(default)]
    pub is_binary: bool,
    /// Who last changed the configuration on the device, as the device
    /// itself says (IOS `! Last configuration change at … by <user>`,
    /// Junos `## Last commit: … by <user>`); absent where the platform does
    /// not say or the collector is older. An addition to the stream's
    /// fields: a consumer that does not know it ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// What decides whether the configuration is a new version, when the
    /// device's driver stores lines that must not count as a change
    /// (`ignore_for_change`: FortiOS re-encrypts its `ENC` secrets on every
    /// `show`): the SHA-256, lowercase hex, of the configuration without
    /// those lines. A new collection whose key equals the one of the
    /// device's latest stored version is recorded as an unchanged
    /// confirmation of it. Absent for other drivers and from older or
    /// other producers; an addition to the stream's fields like `author`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_key: Option<String>,
}

/// Whether `s` can be a `change_key`: a SHA-256 as 64 lowercase hex digits.
pub fn is_change_key(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl DeviceResult {
    /// The record as stream fields, in a stable order.
    pub fn to_fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("task_id", self.task_id.clone()),
            ("task_identifier", self.task_identifier.clone()),
            ("device_id", self.device_id.to_string()),
            ("status", self.status.as_str().to_owned()),
            ("timestamp", self.timestamp.to_string()),
            ("log", log_to_json(&self.log)),
            ("device_config", self.device_config.clone()),
            (
                "collection_duration_ms",
                self.collection_duration_ms.to_string(),
            ),
            ("initiated_at", self.initiated_at.to_string()),
            ("is_binary", self.is_binary.to_string()),
        ];
        if let Some(a) = &self.author {
            fields.push(("author", a.clone()));
        }
        if let Some(k) = &self.change_key {
            fields.push(("change_key", k.clone()));
        }
        fields
    }

    /// Parses stream fields; see [`StorageResult::from_fields`].
    pub fn from_fields(map: &HashMap<String, String>) -> Result<Self, WireError> {
        let f = Fields(map);
        let timestamp = f.parse_with("timestamp", Timestamp::parse)?;
        Ok(Self {
            task_id: f.req("task_id")?.to_owned(),
            task_identifier: f.req("task_identifier")?.to_owned(),
            device_id: f.parse("device_id")?,
            status: f.parse("status")?,
            timestamp,
            log: f.log("log")?,
            device_config: f.opt("device_config").unwrap_or_default().to_owned(),
            collection_duration_ms: f.opt_parse("collection_duration_ms")?.unwrap_or(0),
            initiated_at: match f.opt("initiated_at") {
                Some(s) => Timestamp::parse(s).map_err(|e| WireError::InvalidField {
                    field: "initiated_at",
                    reason: e.to_string(),
                })?,
                None => timestamp,
            },
            is_binary: f.opt_bool("is_binary")?.unwrap_or(false),
            author: f.opt("author").map(str::to_owned),
            change_key: f.opt("change_key").map(str::to_owned),
        })
    }

    /// The configuration bytes, decoded from base64 when `is_binary`.
    pub fn content(&self) -> Result<Vec<u8>, WireError> {
        decode_content(&self.device_config, self.is_binary, "device_config")
    }
}

fn log_to_json(log: &[LogEntry]) -> String {
    serde_json::to_string(log).expect("log entries always serialize")
}

struct Fields<'a>(&'a HashMap<String, String>);

impl Fields<'_> {
    fn opt(&self, field: &'static str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    fn req(&self, field: &'static str) -> Result<&str, WireError> {
        self.opt(field).ok_or(WireError::MissingField { field })
    }

    fn parse_with<T, E: fmt::Display>(
        &self,
        field: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, WireError> {
        parse(self.req(field)?).map_err(|e| WireError::InvalidField {
            field,
            reason: e.to_string(),
        })
    }

    fn parse<T: FromStr>(&self, field: &'static str) -> Result<T, WireError>
    where
        T::Err: fmt::Display,
    {
        self.parse_with(field, str::parse)
    }

    fn opt_parse<T: FromStr>(&self, field: &'static str) -> Result<Option<T>, WireError>
    where
        T::Err: fmt::Display,
    {
        match self.opt(field) {
            None | Some("") => Ok(None),
            Some(_) => self.parse(field).map(Some),
        }
    }

    fn opt_bool(&self, field: &'static str) -> Result<Option<bool>, WireError> {
        match self.opt(field) {
            None | Some("") => Ok(None),
            Some("true" | "True" | "1") => Ok(Some(true)),
            Some("false" | "False" | "0") => Ok(Some(false)),
            Some(other) => Err(WireError::InvalidField {
                field,
                reason: format!("expected true or false, got {other:?}"),
            }),
        }
    }

    fn log(&self, field: &'static str) -> Result<Vec<LogEntry>, WireError> {
        match self.opt(field) {
            None | Some("") => Ok(Vec::new()),
            Some(s) => serde_json::from_str(s).map_err(|e| WireError::InvalidField {
                field,
                reason: format!("expected a JSON array of log entries: {e}"),
            }),
        }
    }
}
