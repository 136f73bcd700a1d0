//! The audit log's rules, written once for every front end: which fields
//! of a change are recorded (a secret's value never is), how a pruning
//! checkpoint is signed, how the chain is verified, and the pruning loop.

use std::time::Duration;

use devicevault_core::{SealingKey, Timestamp};
use devicevault_db::audit::AuditCheckpoint;
use devicevault_db::{AuditVerification, Db, DbError, NewAudit};
use serde_json::{Map, Value};

/// `DEVICEVAULT_AUDIT_RETENTION_DAYS`'s default.
pub const DEFAULT_RETENTION_DAYS: u32 = 400;

/// A recorded value is cut to this many characters.
const VALUE_CHARS: usize = 200;

/// Recorded in place of a secret's value.
pub const REDACTED: &str = "(secret)";

/// Whether a field's value is a secret (passwords, enable secrets, webhook
/// secrets and URLs — a Slack or Teams URL is its own credential —, tokens,
/// keys, the CSRF token; an import's `content`, whose lines may carry
/// logins): recorded as changed, never its value.
pub fn is_secret_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    if n == "content" {
        return true;
    }
    [
        "password",
        "secret",
        "token",
        "key",
        "csrf",
        "url",
        "passphrase",
        "community",
    ]
    .iter()
    .any(|s| n.contains(s))
}

fn recorded(name: &str, v: &Value) -> Value {
    if is_secret_field(name) {
        return Value::String(REDACTED.into());
    }
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), recorded(k, v))).collect())
        }
        Value::String(s) => Value::String(cut(s)),
        Value::Array(a) if a.len() > 50 => Value::String(format!("({} values)", a.len())),
        other => {
            let text = other.to_string();
            if text.chars().count() > VALUE_CHARS {
                Value::String(cut(&text))
            } else {
                other.clone()
            }
        }
    }
}

fn cut(s: &str) -> String {
    if s.chars().count() <= VALUE_CHARS {
        s.to_owned()
    } else {
        let head: String = s.chars().take(VALUE_CHARS).collect();
        format!("{head}…")
    }
}

/// The fields of a JSON request body as recorded: a body that is not an
/// object is recorded as its kind only.
pub fn fields_of_json(body: &Value) -> String {
    match body {
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), recorded(k, v))).collect()).to_string()
        }
        Value::Null => "{}".into(),
        _ => serde_json::json!({"body": "(not an object)"}).to_string(),
    }
}

/// The fields of a form (or a query string) as recorded; a name given
/// several times keeps all its values.
pub fn fields_of_form<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut m = Map::new();
    for (k, v) in pairs {
        let v = recorded(k, &Value::String(v.to_owned()));
        match m.get_mut(k) {
            Some(Value::Array(a)) => a.push(v),
            Some(prev) => *prev = Value::Array(vec![prev.clone(), v]),
            None => {
                m.insert(k.to_owned(), v);
            }
        }
    }
    Value::Object(m).to_string()
}

/// Appends `e`; a failure is logged, not returned: the change it records
/// is already made, and the request must not say otherwise.
pub async fn record(db: &Db, e: NewAudit) {
    if let Err(error) = db.audit(&e).await {
        tracing::error!(%error, action = %e.action, actor = %e.actor, "the audit log could not be written");
    }
}

/// The signature of a pruning checkpoint: HMAC-SHA256 under the sealing
/// key, which the database does not hold, so rows cannot be removed and a
/// checkpoint forged with database access alone.
pub fn sign_checkpoint(key: &SealingKey, text: &str) -> String {
    let label = format!("devicevault audit checkpoint:{}", key.to_hex());
    devicevault_notify::hmac_sha256_hex(label.as_bytes(), text.as_bytes())
}

/// Whether a checkpoint's signature is the key's.
pub fn checkpoint_signed_by(key: &SealingKey, c: &AuditCheckpoint) -> bool {
    let text = AuditCheckpoint::signed_text(&c.at, c.through_id, &c.through_hash);
    sign_checkpoint(key, &text) == c.signature
}

/// What `devicevault audit verify` reports.
#[derive(Debug, Clone)]
pub struct Verification {
    pub chain: AuditVerification,
    /// Whether the checkpoint's signature is the key's (`None`: no
    /// checkpoint, or no key to check it with).
    pub checkpoint_signed: Option<bool>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.chain.problems.is_empty() && self.checkpoint_signed != Some(false)
    }
}

/// Verifies the chain, and the checkpoint's signature when `key` is given.
pub async fn verify(db: &Db, key: Option<&SealingKey>) -> Result<Verification, DbError> {
    let chain = db.audit_verify().await?;
    let checkpoint_signed = match (&chain.checkpoint, key) {
        (Some(c), Some(k)) => Some(checkpoint_signed_by(k, c)),
        _ => None,
    };
    Ok(Verification {
        chain,
        checkpoint_signed,
    })
}

/// Removes the rows older than `retention` (at `now`), leaving a signed
/// checkpoint.
pub async fn prune(
    db: &Db,
    key: &SealingKey,
    retention: Duration,
    now: Timestamp,
) -> Result<u64, DbError> {
    let before = Timestamp::from_datetime(now.as_datetime() - retention);
    let key = key.clone();
    db.audit_prune(before, &move |text| sign_checkpoint(&key, text))
        .await
}

/// The parameters of `GET /api/audit/` and of the web page.
pub const FILTER_PARAMS: &[&str] = &[
    "actor",
    "action",
    "object_type",
    "object_id",
    "since",
    "until",
];

/// The audit log's filter from request parameters (empty values are
/// absent), or the errors by field: one validator for the API and the web.
pub fn filter(
    get: impl Fn(&str) -> Option<String>,
) -> Result<devicevault_db::AuditFilter, super::inventory::FieldErrors> {
    let mut errors = super::inventory::FieldErrors::default();
    let text = |name: &str| {
        get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let (since, until) = super::time_range::since_until(&get, &mut errors);
    let f = devicevault_db::AuditFilter {
        actor: text("actor"),
        action: text("action"),
        object_type: text("object_type"),
        object_id: text("object_id"),
        since,
        until,
    };
    errors.or(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_never_recorded_but_their_change_is() {
        let body = serde_json::json!({
            "name": "r1", "password": "hunter2", "enable_secret": "s3",
            "config": {"repo_path": "/srv/git", "private_key": "-----BEGIN"},
            "url": "https://hooks.slack.com/services/T/B/X", "port": 22,
        });
        let f: Value = serde_json::from_str(&fields_of_json(&body)).unwrap();
        assert_eq!(f["name"], "r1");
        assert_eq!(f["port"], 22);
        assert_eq!(f["password"], REDACTED);
        assert_eq!(f["enable_secret"], REDACTED);
        assert_eq!(f["url"], REDACTED);
        assert_eq!(f["config"]["repo_path"], "/srv/git");
        assert_eq!(f["config"]["private_key"], REDACTED);
        let text = fields_of_form([
            ("name", "r1"),
            ("csrf", "abc"),
            ("groups", "a"),
            ("groups", "b"),
        ]);
        assert!(!text.contains("abc") && !text.contains("hunter2"), "{text}");
        let f: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(f["groups"], serde_json::json!(["a", "b"]));
        let long = "x".repeat(1000);
        let f: Value =
            serde_json::from_str(&fields_of_form([("description", long.as_str())])).unwrap();
        assert_eq!(
            f["description"].as_str().unwrap().chars().count(),
            VALUE_CHARS + 1
        );
    }

    #[test]
    fn the_filter_takes_dates_and_times_and_names_a_bad_one() {
        let params = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let f = filter(params(&[
            ("actor", " alice "),
            ("since", "2026-03-01"),
            ("until", "2026-03-01"),
        ]))
        .unwrap();
        assert_eq!(f.actor.as_deref(), Some("alice"));
        assert_eq!(f.since.unwrap().to_string(), "2026-03-01T00:00:00.000Z");
        assert_eq!(f.until.unwrap().to_string(), "2026-03-02T00:00:00.000Z");
        let f = filter(params(&[
            ("since", "2026-03-01T10:00:00+01:00"),
            ("action", ""),
        ]))
        .unwrap();
        assert_eq!(f.since.unwrap().to_string(), "2026-03-01T09:00:00.000Z");
        assert_eq!(f.action, None);
        let e = filter(params(&[("since", "yesterday")])).unwrap_err();
        assert_eq!(e.of("since").count(), 1);
        let e = filter(params(&[("since", "2026-03-02"), ("until", "2026-03-01")])).unwrap_err();
        assert_eq!(e.of("until").next(), Some("must be after since"));
    }

    #[test]
    fn a_checkpoint_is_signed_by_the_key_only() {
        let key = SealingKey::generate();
        let text = AuditCheckpoint::signed_text("2026-01-01T00:00:00.000Z", 7, "ab");
        let c = AuditCheckpoint {
            at: "2026-01-01T00:00:00.000Z".into(),
            through_id: 7,
            through_hash: "ab".into(),
            signature: sign_checkpoint(&key, &text),
        };
        assert!(checkpoint_signed_by(&key, &c));
        assert!(!checkpoint_signed_by(&SealingKey::generate(), &c));
        let moved = AuditCheckpoint { through_id: 8, ..c };
        assert!(!checkpoint_signed_by(&key, &moved));
    }
}
