//! Events as mail: subject, filter headers and a plain-text body. Pure
//! functions of their inputs, so a preview or a test renders exactly what
//! would be sent.

use std::fmt::Write as _;

use devicevault_core::Timestamp;
use sha2::{Digest as _, Sha256};

use crate::event::{ChangeDiff, Event, EventKind, one_line};

/// What messages say about where they come from, and how big they may get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContext {
    /// The web UI's address as users reach it, e.g.
    /// `https://devicevault.example.com` (a trailing `/` is ignored). Links
    /// to device and compare pages are left out without it.
    pub public_url: Option<String>,
    /// Shown in subjects (`[DeviceVault] …`) and footers.
    pub product: String,
    pub limits: RenderLimits,
}

/// Size caps for rendered messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderLimits {
    /// Lines of diff in a mail about one event.
    pub diff_lines: usize,
    /// Bytes of diff in a mail about one event or a webhook payload.
    pub diff_bytes: usize,
    /// Lines of diff per event in a digest mail.
    pub digest_diff_lines: usize,
    /// Bytes of diff in a Slack or Teams message (Slack refuses a section
    /// longer than 3000 characters).
    pub chat_diff_bytes: usize,
    /// Events listed one per line in a Slack or Teams digest.
    pub chat_events: usize,
}

impl Default for RenderLimits {
    fn default() -> Self {
        RenderLimits {
            diff_lines: 500,
            diff_bytes: 64 << 10,
            digest_diff_lines: 40,
            chat_diff_bytes: 2500,
            chat_events: 20,
        }
    }
}

impl MessageContext {
    /// Product name `DeviceVault`, default limits.
    pub fn new(public_url: Option<&str>) -> MessageContext {
        MessageContext {
            public_url: public_url.map(str::to_owned),
            product: "DeviceVault".to_owned(),
            limits: RenderLimits::default(),
        }
    }

    fn base(&self) -> Option<&str> {
        self.public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/'))
            .filter(|u| !u.is_empty())
    }

    /// `<public_url>/devices/<id>`.
    pub fn device_url(&self, e: &Event) -> Option<String> {
        Some(format!("{}/devices/{}", self.base()?, e.device_id))
    }

    /// `<public_url>/devices/<id>/compare?a=<previous>&b=<new>`, for a change
    /// that names both versions.
    pub fn compare_url(&self, e: &Event) -> Option<String> {
        let (a, b) = (e.previous_stored_backup_id?, e.stored_backup_id?);
        Some(format!(
            "{}/devices/{}/compare?a={a}&b={b}",
            self.base()?,
            e.device_id
        ))
    }

    /// The page that shows an event best: the comparison for a change, the
    /// device otherwise.
    pub fn event_url(&self, e: &Event) -> Option<String> {
        self.compare_url(e).or_else(|| self.device_url(e))
    }

    /// The host of `public_url`, which names this installation in
    /// Message-IDs.
    fn host(&self) -> Option<String> {
        let uri = self.base()?.parse::<::http::Uri>().ok()?;
        uri.host().map(|h| h.trim_matches(['[', ']']).to_owned())
    }
}

/// A rendered mail, before addresses and date are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// `[DeviceVault] config changed: r1`, or for a digest
    /// `[DeviceVault] 14 events: 9 config changed, 5 backup failed`.
    pub subject: String,
    /// `<devicevault-event-42@host>`: the same on every attempt, so a mail
    /// sent twice is recognisable (and dropped by stores that deduplicate).
    pub message_id: String,
    /// `X-DeviceVault-*` and `Auto-Submitted`, for mail filters.
    pub headers: Vec<(&'static str, String)>,
    /// Plain UTF-8 text.
    pub body: String,
}

/// The one-line summary of an event: `config changed: r1`.
pub fn summary(e: &Event) -> String {
    format!("{}: {}", e.kind.label(), one_line(&e.device_name))
}

/// Counts per kind, most frequent first (ties in [`EventKind::ALL`] order).
pub fn counts(events: &[Event]) -> Vec<(EventKind, usize)> {
    let mut v: Vec<(EventKind, usize)> = EventKind::ALL
        .iter()
        .map(|&k| (k, events.iter().filter(|e| e.kind == k).count()))
        .filter(|&(_, n)| n > 0)
        .collect();
    v.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    v
}

/// `14 events: 9 config changed, 5 backup failed`.
pub fn digest_summary(events: &[Event]) -> String {
    let parts: Vec<String> = counts(events)
        .into_iter()
        .map(|(k, n)| format!("{n} {}", k.label()))
        .collect();
    let noun = if events.len() == 1 { "event" } else { "events" };
    format!("{} {noun}: {}", events.len(), parts.join(", "))
}

/// The subject of a mail about `events`: one event's summary, or a digest's
/// counts, after `[<product>]`.
pub fn subject(events: &[Event], ctx: &MessageContext) -> String {
    let what = match events {
        [e] => summary(e),
        _ => digest_summary(events),
    };
    format!("[{}] {what}", one_line(&ctx.product))
}

/// Renders the mail for one event or, for several, a digest of them (in
/// the order they happened). `sender_domain` (the From address's domain)
/// names the Message-ID's host when the context has no public URL.
pub fn render_mail(events: &[Event], ctx: &MessageContext, sender_domain: &str) -> Mail {
    let host = ctx.host().unwrap_or_else(|| one_line(sender_domain));
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by_key(|e| (e.occurred_at, e.id));
    let mut headers = vec![("Auto-Submitted", "auto-generated".to_owned())];
    let (message_id, body) = match sorted.as_slice() {
        [e] => {
            headers.push(("X-DeviceVault-Event", e.kind.as_str().to_owned()));
            headers.push(("X-DeviceVault-Device", one_line(&e.device_name)));
            headers.push(("X-DeviceVault-Event-Id", e.id.to_string()));
            (
                format!("<{}@{host}>", e.idempotency_key()),
                single_body(e, ctx),
            )
        }
        _ => {
            headers.push(("X-DeviceVault-Event", "digest".to_owned()));
            let kinds: Vec<&str> = counts(events).iter().map(|(k, _)| k.as_str()).collect();
            headers.push(("X-DeviceVault-Events", kinds.join(", ")));
            if let Some(first) = sorted.first()
                && sorted.iter().all(|e| e.device_id == first.device_id)
            {
                headers.push(("X-DeviceVault-Device", one_line(&first.device_name)));
            }
            (
                format!("<{}@{host}>", digest_key(&sorted)),
                digest_body(&sorted, ctx),
            )
        }
    };
    Mail {
        subject: subject(events, ctx),
        message_id,
        headers,
        body,
    }
}

/// `devicevault-digest-<first id>-<last id>-<n>-<hash of all ids>`: the same
/// for the same set of events, whatever their order.
fn digest_key(sorted: &[&Event]) -> String {
    let mut ids: Vec<i64> = sorted.iter().map(|e| e.id).collect();
    ids.sort_unstable();
    let mut h = Sha256::new();
    for id in &ids {
        h.update(id.to_be_bytes());
    }
    let hash = h.finalize();
    let hex: String = hash[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "devicevault-digest-{}-{}-{}-{hex}",
        ids.first().copied().unwrap_or(0),
        ids.last().copied().unwrap_or(0),
        ids.len()
    )
}

/// `2026-03-01 10:00:00 UTC`.
pub(crate) fn when(t: &Timestamp) -> String {
    let d = t.as_datetime();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// `36 h`, `90 min`, `45 s`.
pub(crate) fn span(secs: u64) -> String {
    if (secs >= 7200 && secs.is_multiple_of(3600)) || secs >= 48 * 3600 {
        format!("{} h", secs / 3600)
    } else if secs >= 120 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

/// The first sentence about an event.
pub(crate) fn headline(e: &Event) -> String {
    let name = one_line(&e.device_name);
    match e.kind {
        EventKind::ConfigChanged => match &e.diff {
            Some(d) if d.only_masked_lines_changed() => {
                format!("The configuration of {name} changed, only in masked secrets.")
            }
            Some(d) => format!(
                "The configuration of {name} changed: {} {} added, {} removed.",
                d.added,
                if d.added == 1 { "line" } else { "lines" },
                d.removed
            ),
            None => format!("The configuration of {name} changed."),
        },
        EventKind::BackupFailed => format!("The backup of {name} failed."),
        EventKind::DeviceStale => match (&e.stale_since, e.stale_threshold_secs) {
            (Some(since), Some(t)) => format!(
                "{name} has had no successful backup since {} (threshold {}).",
                when(since),
                span(t)
            ),
            (Some(since), None) => {
                format!("{name} has had no successful backup since {}.", when(since))
            }
            _ => format!("{name} has had no successful backup for too long."),
        },
        EventKind::DeviceRecovered => match &e.stale_since {
            Some(since) => format!(
                "{name} has a successful backup again (none since {} before).",
                when(since)
            ),
            None => format!("{name} has a successful backup again."),
        },
        EventKind::ComplianceChanged => format!("The compliance of {name} changed."),
    }
}

/// `Label:   value` lines about an event (links included).
fn facts(e: &Event, ctx: &MessageContext) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("Device", one_line(&e.device_name)),
        ("When", when(&e.occurred_at)),
    ];
    match (e.stored_backup_id, e.previous_stored_backup_id) {
        (Some(b), Some(a)) => f.push(("Version", format!("stored backup {b} (previous {a})"))),
        (Some(b), None) => f.push(("Version", format!("stored backup {b}"))),
        _ => {}
    }
    if let Some(a) = &e.author {
        f.push(("Changed by", one_line(a)));
    }
    if let Some(r) = &e.reason {
        let label = match e.kind {
            EventKind::ComplianceChanged => "Change",
            // A binary configuration's change: what the new version is.
            EventKind::ConfigChanged => "Content",
            _ => "Reason",
        };
        f.push((label, one_line(r)));
    }
    if let Some(u) = ctx.compare_url(e) {
        f.push(("Compare", u));
    }
    if let Some(u) = ctx.device_url(e) {
        f.push(("Device page", u));
    }
    f
}

fn push_facts(out: &mut String, facts: &[(&str, String)], indent: &str) {
    let width = facts.iter().map(|(l, _)| l.len()).max().unwrap_or(0) + 1;
    for (label, value) in facts {
        let _ = writeln!(out, "{indent}{:<width$} {value}", format!("{label}:"));
    }
}

/// The diff, cut to `max_lines`/`max_bytes`, and the note saying how much
/// was left out and where to see it whole.
fn push_diff(
    out: &mut String,
    e: &Event,
    d: &ChangeDiff,
    ctx: &MessageContext,
    max_lines: usize,
    max_bytes: usize,
) {
    if d.only_masked_lines_changed() {
        out.push_str("Only lines with masked secrets changed, so there is no diff to show.\n");
        return;
    }
    let cut = d.cut(max_lines, max_bytes);
    out.push_str("Diff (secrets masked):\n\n");
    out.push_str(&cut.unified);
    if !cut.unified.is_empty() && !cut.unified.ends_with('\n') {
        out.push('\n');
    }
    if cut.lines_omitted > 0 {
        let _ = write!(
            out,
            "\n[diff truncated, {} more {}",
            cut.lines_omitted,
            if cut.lines_omitted == 1 {
                "line"
            } else {
                "lines"
            }
        );
        match ctx.compare_url(e) {
            Some(u) => {
                let _ = writeln!(out, ", see {u}]");
            }
            None => out.push_str("]\n"),
        }
    }
}

fn footer(out: &mut String, ctx: &MessageContext, what: &str) {
    let _ = write!(
        out,
        "\n-- \n{} notification: {what}. A notification rule sent this mail.\n",
        one_line(&ctx.product)
    );
}

fn single_body(e: &Event, ctx: &MessageContext) -> String {
    let mut out = String::new();
    out.push_str(&headline(e));
    out.push_str("\n\n");
    push_facts(&mut out, &facts(e, ctx), "");
    if let Some(d) = &e.diff {
        out.push('\n');
        push_diff(
            &mut out,
            e,
            d,
            ctx,
            ctx.limits.diff_lines,
            ctx.limits.diff_bytes,
        );
    }
    footer(&mut out, ctx, &format!("event {}", e.idempotency_key()));
    out
}

fn digest_body(sorted: &[&Event], ctx: &MessageContext) -> String {
    let owned: Vec<Event> = sorted.iter().map(|&e| e.clone()).collect();
    let mut out = String::new();
    let _ = write!(out, "{}", digest_summary(&owned));
    if let (Some(first), Some(last)) = (sorted.first(), sorted.last()) {
        let _ = write!(
            out,
            ", from {} to {}",
            when(&first.occurred_at),
            when(&last.occurred_at)
        );
    }
    out.push_str(".\n");
    // Per-event diffs share what a single mail may hold.
    let per_event_bytes = (ctx.limits.diff_bytes / sorted.len().max(1)).max(1024);
    for (i, e) in sorted.iter().enumerate() {
        let _ = write!(out, "\n{}. {}\n", i + 1, summary(e));
        out.push_str("   ");
        out.push_str(&headline(e));
        out.push('\n');
        push_facts(&mut out, &facts(e, ctx), "   ");
        if let Some(d) = &e.diff {
            out.push('\n');
            push_diff(
                &mut out,
                e,
                d,
                ctx,
                ctx.limits.digest_diff_lines,
                per_event_bytes,
            );
        }
    }
    let ids: Vec<String> = sorted.iter().map(|e| e.id.to_string()).collect();
    footer(
        &mut out,
        ctx,
        &format!("digest of events {}", ids.join(", ")),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::DiffLimits;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    pub(crate) fn change(id: i64, name: &str) -> Event {
        let mut e = Event::new(
            id,
            EventKind::ConfigChanged,
            at("2026-03-01T10:00:00Z"),
            7,
            name,
        );
        e.stored_backup_id = Some(120);
        e.previous_stored_backup_id = Some(118);
        e
    }

    fn failure(id: i64, name: &str) -> Event {
        let mut e = Event::new(
            id,
            EventKind::BackupFailed,
            at("2026-03-01T10:05:00Z"),
            8,
            name,
        );
        e.reason = Some("authentication failed for admin@10.0.0.2".into());
        e
    }

    fn ctx() -> MessageContext {
        MessageContext::new(Some("https://dv.example.com/"))
    }

    #[test]
    fn subjects_sort_by_product_kind_and_device() {
        assert_eq!(
            subject(&[change(1, "r1")], &ctx()),
            "[DeviceVault] config changed: r1"
        );
        assert_eq!(
            subject(&[failure(2, "r1")], &ctx()),
            "[DeviceVault] backup failed: r1"
        );
        let mut digest: Vec<Event> = (0..9).map(|i| change(i, "r1")).collect();
        digest.extend((9..14).map(|i| failure(i, "r2")));
        assert_eq!(
            subject(&digest, &ctx()),
            "[DeviceVault] 14 events: 9 config changed, 5 backup failed"
        );
        // A name cannot inject a header line.
        assert_eq!(
            subject(&[change(1, "r1\r\nBcc: x@evil")], &ctx()),
            "[DeviceVault] config changed: r1  Bcc: x@evil"
        );
    }

    #[test]
    fn links_point_at_the_compare_and_device_pages() {
        let e = change(1, "r1");
        assert_eq!(
            ctx().compare_url(&e).unwrap(),
            "https://dv.example.com/devices/7/compare?a=118&b=120"
        );
        assert_eq!(
            ctx().device_url(&e).unwrap(),
            "https://dv.example.com/devices/7"
        );
        assert_eq!(MessageContext::new(None).event_url(&e), None);
        assert_eq!(
            ctx().event_url(&failure(2, "r2")).unwrap(),
            "https://dv.example.com/devices/8"
        );
    }

    #[test]
    fn message_ids_are_derived_from_the_events_only() {
        let one = render_mail(&[change(42, "r1")], &ctx(), "example.org");
        assert_eq!(one.message_id, "<devicevault-event-42@dv.example.com>");
        let no_url = render_mail(
            &[change(42, "r1")],
            &MessageContext::new(None),
            "example.org",
        );
        assert_eq!(no_url.message_id, "<devicevault-event-42@example.org>");
        let a = render_mail(&[change(1, "r1"), failure(2, "r2")], &ctx(), "x");
        let b = render_mail(&[failure(2, "r2"), change(1, "r1")], &ctx(), "x");
        let c = render_mail(&[change(1, "r1"), failure(3, "r2")], &ctx(), "x");
        assert_eq!(a.message_id, b.message_id);
        assert_ne!(a.message_id, c.message_id);
        assert!(
            a.message_id.starts_with("<devicevault-digest-1-2-2-"),
            "{}",
            a.message_id
        );
        assert_eq!(a.body, b.body);
    }

    #[test]
    fn a_binary_change_says_what_the_new_version_is_and_carries_no_diff() {
        let mut e = change(43, "bigip1");
        e.reason = Some("binary, 48213 bytes, SHA-256 9f86d081; no text diff".into());
        let m = render_mail(std::slice::from_ref(&e), &ctx(), "example.com");
        assert!(
            m.body.contains("The configuration of bigip1 changed."),
            "{}",
            m.body
        );
        assert!(
            m.body.lines().any(|l| l.starts_with("Content:")
                && l.ends_with(" binary, 48213 bytes, SHA-256 9f86d081; no text diff")),
            "{}",
            m.body
        );
        assert!(!m.body.contains("@@"), "{}", m.body);
    }

    #[test]
    fn a_change_mail_has_filter_headers_links_and_the_diff() {
        let mut e = change(42, "r1");
        e.author = Some("alice".into());
        e.diff = Some(ChangeDiff::between(
            "hostname r1\n",
            "hostname r1-core\n",
            "r1 #118",
            "r1 #120",
            str::to_owned,
            &DiffLimits::default(),
        ));
        let m = render_mail(std::slice::from_ref(&e), &ctx(), "example.com");
        assert!(
            m.headers
                .contains(&("X-DeviceVault-Event", "config_changed".into()))
        );
        assert!(m.headers.contains(&("X-DeviceVault-Device", "r1".into())));
        assert!(
            m.headers
                .contains(&("Auto-Submitted", "auto-generated".into()))
        );
        let expected = "\
The configuration of r1 changed: 1 line added, 1 removed.

Device:      r1
When:        2026-03-01 10:00:00 UTC
Version:     stored backup 120 (previous 118)
Changed by:  alice
Compare:     https://dv.example.com/devices/7/compare?a=118&b=120
Device page: https://dv.example.com/devices/7

Diff (secrets masked):

--- r1 #118
+++ r1 #120
@@ -1 +1 @@
-hostname r1
+hostname r1-core

-- 
DeviceVault notification: event devicevault-event-42. A notification rule sent this mail.
";
        assert_eq!(m.body, expected);
    }

    #[test]
    fn a_cut_diff_says_how_many_lines_are_missing_and_where_to_see_them() {
        let old: String = (0..50).map(|i| format!("a{i}\n")).collect();
        let new: String = (0..50).map(|i| format!("b{i}\n")).collect();
        let mut e = change(1, "r1");
        e.diff = Some(ChangeDiff::between(
            &old,
            &new,
            "a",
            "b",
            str::to_owned,
            &DiffLimits::default(),
        ));
        let mut c = ctx();
        c.limits.diff_lines = 13;
        let m = render_mail(&[e], &c, "x");
        assert!(
            m.body.contains(
                "[diff truncated, 90 more lines, see https://dv.example.com/devices/7/compare?a=118&b=120]"
            ),
            "{}",
            m.body
        );
        // Headers, hunk header and the first ten removed lines.
        assert!(m.body.contains("-a9\n"));
        assert!(!m.body.contains("-a10\n"));
    }

    #[test]
    fn a_digest_lists_every_event_in_order_with_its_own_links() {
        let mut stale = Event::new(
            5,
            EventKind::DeviceStale,
            at("2026-03-01T09:00:00Z"),
            9,
            "sw1",
        );
        stale.stale_since = Some(at("2026-02-27T08:00:00Z"));
        stale.stale_threshold_secs = Some(36 * 3600);
        let m = render_mail(&[failure(2, "r2"), stale, change(1, "r1")], &ctx(), "x");
        assert_eq!(
            m.subject,
            "[DeviceVault] 3 events: 1 config changed, 1 backup failed, 1 device stale"
        );
        let i_stale = m.body.find("1. device stale: sw1").unwrap();
        let i_change = m.body.find("2. config changed: r1").unwrap();
        let i_fail = m.body.find("3. backup failed: r2").unwrap();
        assert!(i_stale < i_change && i_change < i_fail, "{}", m.body);
        assert!(m.body.contains(
            "sw1 has had no successful backup since 2026-02-27 08:00:00 UTC (threshold 36 h)."
        ));
        assert!(m.body.contains("Reason:      authentication failed"));
        assert!(
            m.headers
                .contains(&("X-DeviceVault-Event", "digest".into()))
        );
        assert!(!m.headers.iter().any(|(h, _)| *h == "X-DeviceVault-Device"));
    }
}
