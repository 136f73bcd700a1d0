//! What happened: the events a rule can pick, as they are stored in the
//! outbox and sent on the wire.

use std::fmt;
use std::time::{Duration, Instant};

use devicevault_core::Timestamp;
use serde::{Deserialize, Serialize};
use similar::{Algorithm, ChangeTag, TextDiff};

/// The kinds of event. The snake_case names (`config_changed`, …) are
/// stored and sent; they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A backup stored a configuration that differs from the previous one.
    ConfigChanged,
    /// A backup job failed (`reason` says why).
    BackupFailed,
    /// No successful backup for longer than the device's threshold.
    DeviceStale,
    /// A stale or failing device has a successful backup again.
    DeviceRecovered,
    /// A compliance check's result changed (`reason` describes the change).
    ComplianceChanged,
}

impl EventKind {
    /// Every kind, in the order the digest subject lists ties.
    pub const ALL: [EventKind; 5] = [
        EventKind::ConfigChanged,
        EventKind::BackupFailed,
        EventKind::DeviceStale,
        EventKind::DeviceRecovered,
        EventKind::ComplianceChanged,
    ];

    /// The stored name, e.g. `config_changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ConfigChanged => "config_changed",
            EventKind::BackupFailed => "backup_failed",
            EventKind::DeviceStale => "device_stale",
            EventKind::DeviceRecovered => "device_recovered",
            EventKind::ComplianceChanged => "compliance_changed",
        }
    }

    /// Words for people and subject lines, e.g. `config changed`.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::ConfigChanged => "config changed",
            EventKind::BackupFailed => "backup failed",
            EventKind::DeviceStale => "device stale",
            EventKind::DeviceRecovered => "device recovered",
            EventKind::ComplianceChanged => "compliance changed",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event, as the outbox stores it and the webhook payload carries it.
///
/// Optional fields are `null` when they do not apply to the kind; they are
/// always present in JSON so receivers see one stable shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The outbox row id. Also the idempotency key: see
    /// [`Event::idempotency_key`].
    pub id: i64,
    pub kind: EventKind,
    pub occurred_at: Timestamp,
    pub device_id: i64,
    pub device_name: String,
    /// The stored backup this event is about (the new version for
    /// `config_changed`).
    #[serde(default)]
    pub stored_backup_id: Option<i64>,
    /// For `config_changed`: the version it is compared with.
    #[serde(default)]
    pub previous_stored_backup_id: Option<i64>,
    /// For `backup_failed`: why; for `compliance_changed`: what changed;
    /// for `config_changed` of a binary configuration (which has no text
    /// diff): what the new version is, `binary, N bytes, SHA-256 <hex>`.
    #[serde(default)]
    pub reason: Option<String>,
    /// For `config_changed`: the change, secrets already masked.
    #[serde(default)]
    pub diff: Option<ChangeDiff>,
    /// Who made the change, when the device's log says so.
    #[serde(default)]
    pub author: Option<String>,
    /// For `device_stale` and `device_recovered`: the last successful backup
    /// before the device went stale.
    #[serde(default)]
    pub stale_since: Option<Timestamp>,
    /// For `device_stale`: the threshold that was exceeded, in seconds.
    #[serde(default)]
    pub stale_threshold_secs: Option<u64>,
}

impl Event {
    /// An event with every optional field empty.
    pub fn new(
        id: i64,
        kind: EventKind,
        occurred_at: Timestamp,
        device_id: i64,
        device_name: impl Into<String>,
    ) -> Event {
        Event {
            id,
            kind,
            occurred_at,
            device_id,
            device_name: device_name.into(),
            stored_backup_id: None,
            previous_stored_backup_id: None,
            reason: None,
            diff: None,
            author: None,
            stale_since: None,
            stale_threshold_secs: None,
        }
    }

    /// `devicevault-event-<id>`: the same for every attempt to deliver this
    /// event, so a receiver that saw it once can drop a repeat.
    pub fn idempotency_key(&self) -> String {
        format!("devicevault-event-{}", self.id)
    }
}

/// A configuration change as a unified diff of the masked texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeDiff {
    /// Unified diff (`---`/`+++` headers, `@@` hunks) of the two versions
    /// with secrets masked, possibly cut short (see `lines_omitted`). Empty
    /// when the versions differ only inside masked secrets.
    pub unified: String,
    /// Lines added and removed in the whole diff (cut or not).
    pub added: u32,
    pub removed: u32,
    /// Lines of the unified diff left out of `unified`; 0 when it is whole.
    pub lines_omitted: u32,
}

/// Bounds for [`ChangeDiff::between`].
#[derive(Debug, Clone, Copy)]
pub struct DiffLimits {
    /// Lines of context around each change.
    pub context: usize,
    /// Lines of unified diff kept.
    pub max_lines: usize,
    /// Bytes of unified diff kept (whole lines only).
    pub max_bytes: usize,
    /// How long the diff may search for a minimal result; past it the diff
    /// is still correct, only less minimal.
    pub deadline: Duration,
}

impl Default for DiffLimits {
    fn default() -> Self {
        DiffLimits {
            context: 3,
            max_lines: 2000,
            max_bytes: 256 << 10,
            deadline: Duration::from_millis(200),
        }
    }
}

impl ChangeDiff {
    /// The diff between two versions of a configuration, each masked by
    /// `mask` first (the device driver's secret rules; pass `str::to_owned`
    /// for text that is already masked).
    ///
    /// Masking before diffing means a changed secret never shows, not even
    /// as the line it was on: if only secrets changed, `unified` is empty.
    /// `old_label` and `new_label` name the versions in the `---`/`+++`
    /// headers, e.g. `r1 #118` and `r1 #120`.
    pub fn between(
        old: &str,
        new: &str,
        old_label: &str,
        new_label: &str,
        mask: impl Fn(&str) -> String,
        limits: &DiffLimits,
    ) -> ChangeDiff {
        let (old, new) = (mask(old), mask(new));
        let diff = TextDiff::configure()
            .algorithm(Algorithm::Patience)
            .deadline(Instant::now() + limits.deadline)
            .diff_lines(&old, &new);
        let (mut added, mut removed) = (0u32, 0u32);
        for change in diff.iter_all_changes() {
            match change.tag() {
                ChangeTag::Insert => added += 1,
                ChangeTag::Delete => removed += 1,
                ChangeTag::Equal => {}
            }
        }
        let full = if added + removed == 0 {
            String::new()
        } else {
            diff.unified_diff()
                .context_radius(limits.context)
                .header(&one_line(old_label), &one_line(new_label))
                .missing_newline_hint(true)
                .to_string()
        };
        let (kept, lines_omitted) = cut_lines(&full, limits.max_lines, limits.max_bytes);
        ChangeDiff {
            unified: kept.to_owned(),
            added,
            removed,
            lines_omitted,
        }
    }

    /// This diff cut to at most `max_lines` lines and `max_bytes` bytes
    /// (whole lines), with `lines_omitted` counting everything left out.
    pub fn cut(&self, max_lines: usize, max_bytes: usize) -> ChangeDiff {
        let (kept, omitted) = cut_lines(&self.unified, max_lines, max_bytes);
        ChangeDiff {
            unified: kept.to_owned(),
            added: self.added,
            removed: self.removed,
            lines_omitted: self.lines_omitted.saturating_add(omitted),
        }
    }

    /// Whether the versions differ only inside masked secrets.
    pub fn only_masked_lines_changed(&self) -> bool {
        self.added == 0 && self.removed == 0
    }
}

/// The longest prefix of `text` of whole lines within both bounds, and how
/// many lines were left out.
fn cut_lines(text: &str, max_lines: usize, max_bytes: usize) -> (&str, u32) {
    let mut end = 0;
    for (kept, line) in text.split_inclusive('\n').enumerate() {
        if kept == max_lines || end + line.len() > max_bytes {
            break;
        }
        end += line.len();
    }
    let omitted = text[end..].split_inclusive('\n').count();
    (&text[..end], u32::try_from(omitted).unwrap_or(u32::MAX))
}

/// `s` with line breaks and other control characters turned into spaces,
/// for headers and one-line labels.
pub(crate) fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_stable_snake_case_names() {
        for k in EventKind::ALL {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<EventKind>(&json).unwrap(), k);
        }
        assert_eq!(EventKind::ConfigChanged.as_str(), "config_changed");
        assert_eq!(EventKind::BackupFailed.label(), "backup failed");
    }

    #[test]
    fn an_event_serialises_every_field_under_its_stable_name() {
        let mut e = Event::new(
            42,
            EventKind::ConfigChanged,
            Timestamp::parse("2026-03-01T10:00:00Z").unwrap(),
            7,
            "r1",
        );
        e.stored_backup_id = Some(120);
        e.previous_stored_backup_id = Some(118);
        let v = serde_json::to_value(&e).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected = [
            "id",
            "kind",
            "occurred_at",
            "device_id",
            "device_name",
            "stored_backup_id",
            "previous_stored_backup_id",
            "reason",
            "diff",
            "author",
            "stale_since",
            "stale_threshold_secs",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(v["occurred_at"], "2026-03-01T10:00:00.000Z");
        assert_eq!(serde_json::from_value::<Event>(v).unwrap(), e);
        // An older row without the optional fields still reads.
        let minimal = r#"{"id":1,"kind":"device_stale","occurred_at":"2026-03-01T10:00:00Z","device_id":2,"device_name":"sw1"}"#;
        let m: Event = serde_json::from_str(minimal).unwrap();
        assert_eq!(m.idempotency_key(), "devicevault-event-1");
    }

    #[test]
    fn the_diff_masks_both_sides_before_comparing() {
        let old = "hostname r1\nenable secret 5 OLDSECRET\n";
        let new = "hostname r1-core\nenable secret 5 NEWSECRET\n";
        let mask = |t: &str| {
            t.lines()
                .map(|l| match l.strip_prefix("enable secret 5 ") {
                    Some(_) => "enable secret 5 <removed>\n".to_owned(),
                    None => format!("{l}\n"),
                })
                .collect::<String>()
        };
        let d = ChangeDiff::between(old, new, "r1 #1", "r1 #2", mask, &DiffLimits::default());
        assert_eq!(
            d.unified,
            "--- r1 #1\n+++ r1 #2\n@@ -1,2 +1,2 @@\n-hostname r1\n+hostname r1-core\n enable secret 5 <removed>\n"
        );
        assert_eq!((d.added, d.removed, d.lines_omitted), (1, 1, 0));
        assert!(!d.unified.contains("SECRET"));

        let only_secret = ChangeDiff::between(
            "enable secret 5 A\n",
            "enable secret 5 B\n",
            "a",
            "b",
            mask,
            &DiffLimits::default(),
        );
        assert!(only_secret.only_masked_lines_changed());
        assert_eq!(only_secret.unified, "");
    }

    #[test]
    fn a_long_diff_is_cut_at_whole_lines_and_counts_what_it_left_out() {
        let old: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let new: String = (0..100).map(|i| format!("changed {i}\n")).collect();
        let limits = DiffLimits {
            max_lines: 10,
            ..DiffLimits::default()
        };
        let d = ChangeDiff::between(&old, &new, "a", "b", str::to_owned, &limits);
        assert_eq!(d.unified.lines().count(), 10);
        // 2 headers + 1 hunk header + 200 changed lines in all.
        assert_eq!(d.lines_omitted, 203 - 10);
        assert_eq!((d.added, d.removed), (100, 100));
        let smaller = d.cut(5, 1 << 20);
        assert_eq!(smaller.unified.lines().count(), 5);
        assert_eq!(smaller.lines_omitted, 203 - 5);
        let by_bytes = d.cut(100, 20);
        assert_eq!(by_bytes.unified, "--- a\n+++ b\n");
    }
}
