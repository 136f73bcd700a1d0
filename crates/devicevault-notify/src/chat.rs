//! Events as Slack and Microsoft Teams messages, in the shapes their
//! incoming webhooks accept.
//!
//! Slack: `{"text": …, "blocks": […]}` (Block Kit). `text` is the
//! notification fallback; every `section` stays under Slack's 3000-character
//! limit and the `header` under 150; `&`, `<` and `>` in our text are
//! escaped as Slack asks, so a device name cannot forge a link or mention.
//!
//! Teams: a `message` with one Adaptive Card attachment (version 1.4), the
//! format both the classic incoming webhooks and the Workflows ("when a
//! Teams webhook request is received") URLs accept. Text that comes from
//! devices or people goes into `RichTextBlock` text runs, which Teams does
//! not interpret as markdown; the diff is a monospace run.

use serde_json::{Value, json};

use crate::event::{Event, EventKind, one_line};
use crate::render::{MessageContext, digest_summary, headline, subject, summary, when};

const SLACK_SECTION_MAX: usize = 3000;
const SLACK_HEADER_MAX: usize = 150;

/// The Slack message for one event, or a digest of several.
pub fn slack_payload(events: &[Event], ctx: &MessageContext) -> Value {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by_key(|e| (e.occurred_at, e.id));
    let mut blocks = Vec::new();
    let footer = match sorted.as_slice() {
        [e] => {
            blocks.push(slack_header(&summary(e)));
            let mut lines = vec![slack_esc(&headline(e))];
            lines.extend(
                plain_facts(e)
                    .into_iter()
                    .map(|(label, value)| format!("*{}:* {}", slack_esc(label), slack_esc(&value))),
            );
            let links = slack_links(e, ctx);
            if !links.is_empty() {
                lines.push(links);
            }
            blocks.push(slack_section(&lines.join("\n")));
            if let Some(d) = &e.diff
                && !d.only_masked_lines_changed()
            {
                let (diff, omitted) =
                    cut_escaped(&d.unified, ctx.limits.chat_diff_bytes.min(2900), slack_esc);
                let omitted = omitted + d.lines_omitted as usize;
                let mut text = format!("```{}```", diff.replace("```", "`\u{200b}``"));
                if omitted > 0 {
                    text.push_str(&format!("\n_diff truncated, {omitted} more lines_"));
                }
                blocks.push(slack_section(&text));
            }
            format!("event {}", e.idempotency_key())
        }
        _ => {
            let owned: Vec<Event> = sorted.iter().map(|&e| e.clone()).collect();
            blocks.push(slack_header(&digest_summary(&owned)));
            let shown = sorted.len().min(ctx.limits.chat_events);
            let mut section = String::new();
            for e in &sorted[..shown] {
                let name = match ctx.device_url(e) {
                    Some(u) => format!("<{}|{}>", slack_esc(&u), slack_esc(&e.device_name)),
                    None => slack_esc(&e.device_name),
                };
                let mut line = format!("• *{}* {name} · {}", e.kind.label(), when(&e.occurred_at));
                if let Some(u) = ctx.compare_url(e) {
                    line.push_str(&format!(" · <{}|compare>", slack_esc(&u)));
                }
                if section.len() + line.len() + 1 > SLACK_SECTION_MAX {
                    blocks.push(slack_section(&section));
                    section.clear();
                }
                if !section.is_empty() {
                    section.push('\n');
                }
                section.push_str(&truncate(&line, SLACK_SECTION_MAX));
            }
            if sorted.len() > shown {
                section.push_str(&format!("\n…and {} more", sorted.len() - shown));
            }
            blocks.push(slack_section(&section));
            let ids: Vec<String> = sorted.iter().map(|e| e.id.to_string()).collect();
            format!("digest of events {}", ids.join(", "))
        }
    };
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": slack_esc(&format!("{} · {footer}", one_line(&ctx.product)))}],
    }));
    json!({ "text": slack_esc(&subject(events, ctx)), "blocks": blocks })
}

/// The Teams message (Adaptive Card) for one event, or a digest of
/// several.
pub fn teams_payload(events: &[Event], ctx: &MessageContext) -> Value {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by_key(|e| (e.occurred_at, e.id));
    let mut body = Vec::new();
    let mut actions = Vec::new();
    let footer = match sorted.as_slice() {
        [e] => {
            body.push(rich(vec![run(&summary(e)).bold().large()]));
            body.push(rich(vec![run(&headline(e))]));
            for (label, value) in plain_facts(e) {
                body.push(rich(vec![run(&format!("{label}: ")).bold(), run(&value)]));
            }
            if let Some(d) = &e.diff
                && !d.only_masked_lines_changed()
            {
                let (diff, omitted) =
                    cut_escaped(&d.unified, ctx.limits.chat_diff_bytes, str::to_owned);
                let omitted = omitted + d.lines_omitted as usize;
                body.push(rich(vec![run("Diff (secrets masked)").bold()]));
                body.push(rich(vec![run(diff.trim_end_matches('\n')).mono()]));
                if omitted > 0 {
                    body.push(rich(vec![
                        run(&format!("diff truncated, {omitted} more lines")).italic(),
                    ]));
                }
            }
            if let Some(u) = ctx.compare_url(e) {
                actions.push(open_url("Compare versions", &u));
            }
            if let Some(u) = ctx.device_url(e) {
                actions.push(open_url("Open device", &u));
            }
            format!("event {}", e.idempotency_key())
        }
        _ => {
            let owned: Vec<Event> = sorted.iter().map(|&e| e.clone()).collect();
            body.push(rich(vec![run(&digest_summary(&owned)).bold().large()]));
            let shown = sorted.len().min(ctx.limits.chat_events);
            for e in &sorted[..shown] {
                let mut name = run(&e.device_name);
                if let Some(u) = ctx.device_url(e) {
                    name = name.link(&u);
                }
                let mut runs = vec![
                    run(e.kind.label()).bold(),
                    run(" "),
                    name,
                    run(&format!(" · {}", when(&e.occurred_at))),
                ];
                if let Some(u) = ctx.compare_url(e) {
                    runs.push(run(" · "));
                    runs.push(run("compare").link(&u));
                }
                body.push(rich(runs));
            }
            if sorted.len() > shown {
                body.push(rich(vec![
                    run(&format!("…and {} more", sorted.len() - shown)).italic(),
                ]));
            }
            let ids: Vec<String> = sorted.iter().map(|e| e.id.to_string()).collect();
            format!("digest of events {}", ids.join(", "))
        }
    };
    body.push(rich(vec![
        run(&format!("{} · {footer}", one_line(&ctx.product))).subtle(),
    ]));
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    });
    if !actions.is_empty() {
        card["actions"] = Value::Array(actions);
    }
    json!({
        "type": "message",
        "summary": subject(events, ctx),
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

/// Facts without links (the chat formats show links their own way).
fn plain_facts(e: &Event) -> Vec<(&'static str, String)> {
    let mut f = vec![("When", when(&e.occurred_at))];
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
            EventKind::ConfigChanged => "Content",
            _ => "Reason",
        };
        f.push((label, one_line(r)));
    }
    f
}

fn slack_esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack_header(text: &str) -> Value {
    json!({
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(&one_line(text), SLACK_HEADER_MAX), "emoji": false},
    })
}

fn slack_section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SLACK_SECTION_MAX)}})
}

fn slack_links(e: &Event, ctx: &MessageContext) -> String {
    let mut links = Vec::new();
    if let Some(u) = ctx.compare_url(e) {
        links.push(format!("<{}|Compare versions>", slack_esc(&u)));
    }
    if let Some(u) = ctx.device_url(e) {
        links.push(format!("<{}|Open device>", slack_esc(&u)));
    }
    links.join(" · ")
}

/// At most `max` characters of `s`, with `…` when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The whole lines of `text`, each passed through `esc`, that fit in `max`
/// bytes, and how many lines did not fit.
fn cut_escaped(text: &str, max: usize, esc: impl Fn(&str) -> String) -> (String, usize) {
    let mut out = String::new();
    let mut lines = text.split_inclusive('\n');
    for line in lines.by_ref() {
        let l = esc(line);
        if out.len() + l.len() > max {
            return (out, 1 + lines.count());
        }
        out.push_str(&l);
    }
    (out, 0)
}

/// An Adaptive Card text run under construction.
struct Run(Value);

fn run(text: &str) -> Run {
    Run(json!({"type": "TextRun", "text": text}))
}

impl Run {
    fn bold(mut self) -> Run {
        self.0["weight"] = "Bolder".into();
        self
    }
    fn large(mut self) -> Run {
        self.0["size"] = "Medium".into();
        self
    }
    fn italic(mut self) -> Run {
        self.0["italic"] = true.into();
        self
    }
    fn subtle(mut self) -> Run {
        self.0["isSubtle"] = true.into();
        self.0["size"] = "Small".into();
        self
    }
    fn mono(mut self) -> Run {
        self.0["fontType"] = "Monospace".into();
        self
    }
    fn link(mut self, url: &str) -> Run {
        self.0["selectAction"] = open_url("", url);
        self.0["color"] = "Accent".into();
        self
    }
}

fn rich(runs: Vec<Run>) -> Value {
    json!({
        "type": "RichTextBlock",
        "inlines": runs.into_iter().map(|r| r.0).collect::<Vec<_>>(),
    })
}

fn open_url(title: &str, url: &str) -> Value {
    let mut a = json!({"type": "Action.OpenUrl", "url": url});
    if !title.is_empty() {
        a["title"] = title.into();
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ChangeDiff, DiffLimits, EventKind};
    use devicevault_core::Timestamp;

    fn change(id: i64, name: &str, lines: usize) -> Event {
        let mut e = Event::new(
            id,
            EventKind::ConfigChanged,
            Timestamp::parse("2026-03-01T10:00:00Z").unwrap(),
            7,
            name,
        );
        e.stored_backup_id = Some(120);
        e.previous_stored_backup_id = Some(118);
        let old: String = (0..lines).map(|i| format!("a <{i}> & b\n")).collect();
        let new: String = (0..lines).map(|i| format!("c <{i}> & d\n")).collect();
        e.diff = Some(ChangeDiff::between(
            &old,
            &new,
            "r1 #118",
            "r1 #120",
            str::to_owned,
            &DiffLimits::default(),
        ));
        e
    }

    fn ctx() -> MessageContext {
        MessageContext::new(Some("https://dv.example.com"))
    }

    fn sections(v: &Value) -> Vec<&str> {
        v["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "section")
            .map(|b| b["text"]["text"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn slack_text_is_escaped_and_sections_stay_under_the_limit() {
        let v = slack_payload(&[change(1, "<!channel> & r1", 400)], &ctx());
        assert_eq!(
            v["text"],
            "[DeviceVault] config changed: &lt;!channel&gt; &amp; r1"
        );
        assert_eq!(v["blocks"][0]["type"], "header");
        for s in sections(&v) {
            assert!(s.chars().count() <= 3000, "{} chars", s.len());
            assert!(!s.contains("<!channel>"));
        }
        let diff = sections(&v)[1];
        assert!(diff.starts_with("```--- r1 #118\n+++ r1 #120\n"), "{diff}");
        assert!(diff.contains("-a &lt;0&gt; &amp; b\n"));
        assert!(diff.contains("_diff truncated, "));
        assert!(sections(&v)[0].contains(
            "<https://dv.example.com/devices/7/compare?a=118&amp;b=120|Compare versions>"
        ));
    }

    #[test]
    fn a_slack_digest_lists_events_and_says_how_many_more() {
        let mut ctx = ctx();
        ctx.limits.chat_events = 3;
        let events: Vec<Event> = (1..=5).map(|i| change(i, &format!("r{i}"), 1)).collect();
        let v = slack_payload(&events, &ctx);
        assert_eq!(v["blocks"][0]["text"]["text"], "5 events: 5 config changed");
        let s = sections(&v).join("\n");
        assert_eq!(s.matches("• *config changed*").count(), 3);
        assert!(s.contains("…and 2 more"));
        assert!(s.contains("<https://dv.example.com/devices/7|r1>"));
    }

    #[test]
    fn teams_gets_an_adaptive_card_with_plain_text_runs_and_links() {
        let v = teams_payload(&[change(1, "**r1**", 2)], &ctx());
        assert_eq!(v["type"], "message");
        let a = &v["attachments"][0];
        assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
        let card = &a["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        for block in card["body"].as_array().unwrap() {
            assert_eq!(block["type"], "RichTextBlock");
            for r in block["inlines"].as_array().unwrap() {
                assert_eq!(r["type"], "TextRun");
            }
        }
        assert_eq!(
            card["body"][0]["inlines"][0]["text"],
            "config changed: **r1**"
        );
        let mono: Vec<&Value> = card["body"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|b| b["inlines"].as_array().unwrap())
            .filter(|r| r["fontType"] == "Monospace")
            .collect();
        assert_eq!(mono.len(), 1);
        assert!(mono[0]["text"].as_str().unwrap().contains("+c <1> & d"));
        assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
        assert_eq!(
            card["actions"][0]["url"],
            "https://dv.example.com/devices/7/compare?a=118&b=120"
        );
    }
}
