//! HTML by hand: escaping, the page layout and the small components every
//! page shares (status badges, times, pagination, sortable headers, form
//! fields). Everything interpolated into markup goes through [`esc`].

use std::fmt::{self, Write as _};

use devicevault_core::Timestamp;
use devicevault_db::User;
use devicevault_db::dashboard::LastStatus;

use super::assets;

/// Text escaped for HTML content and quoted attribute values.
#[derive(Debug, Clone, Copy)]
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut last = 0;
        for (i, b) in s.bytes().enumerate() {
            let rep = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            f.write_str(&s[last..i])?;
            f.write_str(rep)?;
            last = i + 1;
        }
        f.write_str(&s[last..])
    }
}

pub fn esc(s: &str) -> Esc<'_> {
    Esc(s)
}

/// Appends `s` escaped to `out` (the fast path of the diff and file views).
pub fn push_esc(out: &mut String, s: &str) {
    let _ = write!(out, "{}", Esc(s));
}

/// A query-string or path-segment value, percent-encoded.
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Which item of the main navigation is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Dashboard,
    Devices,
    Admin,
    None,
}

/// The signed-in user's side of a page: who, the form token, the theme.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub user: User,
    /// The devices this user may see and back up.
    pub scope: devicevault_db::Scope,
    pub csrf: String,
    pub theme: Option<&'static str>,
    /// The id of this sign-in's session (kept when the user signs out
    /// everywhere else or changes the password).
    pub session_id: i64,
}

impl Ctx {
    /// The hidden form field carrying the CSRF token.
    pub fn csrf_field(&self) -> String {
        format!(
            r#"<input type="hidden" name="csrf" value="{}">"#,
            esc(&self.csrf)
        )
    }
}

/// A whole page: head, header with navigation (when signed in), `body`
/// inside `<main>`.
pub fn page(ctx: Option<&Ctx>, theme: Option<&str>, title: &str, nav: Nav, body: &str) -> String {
    let mut h = String::with_capacity(body.len() + 4096);
    let theme_attr = match theme.or(ctx.and_then(|c| c.theme)) {
        Some(t @ ("light" | "dark")) => format!(r#" data-theme="{t}""#),
        _ => String::new(),
    };
    let _ = write!(
        h,
        r#"<!doctype html>
<html lang="en"{theme_attr}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{title} · DeviceVault</title>
<link rel="icon" href="/static/icon.svg?v={icon}" type="image/svg+xml">
<link rel="stylesheet" href="/static/app.css?v={css}">
<script src="/static/app.js?v={js}" defer></script>
"#,
        title = esc(title),
        css = assets::version(assets::CSS),
        js = assets::version(assets::JS),
        icon = assets::version(assets::ICON),
    );
    if let Some(c) = ctx {
        let _ = writeln!(h, r#"<meta name="csrf-token" content="{}">"#, esc(&c.csrf));
    }
    h.push_str("</head>\n<body>\n<a class=\"skip-link\" href=\"#main\">Skip to content</a>\n");
    h.push_str(r#"<header class="top"><a class="brand" href="/">"#);
    h.push_str(LOGO);
    h.push_str("<span>DeviceVault</span></a>");
    if let Some(c) = ctx {
        h.push_str(r#"<nav class="main-nav" aria-label="Main">"#);
        for (item, href, label) in [
            (Nav::Dashboard, "/", "Dashboard"),
            (Nav::Devices, "/devices", "Devices"),
            (Nav::Admin, "/admin", "Administration"),
        ] {
            let current = if item == nav {
                r#" aria-current="page""#
            } else {
                ""
            };
            let _ = write!(h, r#"<a href="{href}"{current}>{label}</a>"#);
        }
        h.push_str("</nav>");
        let _ = write!(
            h,
            r#"<div class="who"><button type="button" class="icon-btn" id="theme-toggle" title="Switch between light and dark theme" aria-label="Switch between light and dark theme">{THEME_ICON}</button><a class="user" href="/account" title="Your account ({role})">{name}{badge}</a><form method="post" action="/logout">{csrf}<button type="submit" class="link-btn">Log out</button></form></div>"#,
            role = if c.user.is_admin {
                "administrator"
            } else {
                "reader"
            },
            name = esc(&c.user.username),
            badge = if c.user.is_admin {
                r#" <span class="tag">admin</span>"#
            } else {
                ""
            },
            csrf = c.csrf_field(),
        );
    } else {
        let _ = write!(
            h,
            r#"<div class="who"><button type="button" class="icon-btn" id="theme-toggle" title="Switch between light and dark theme" aria-label="Switch between light and dark theme">{THEME_ICON}</button></div>"#
        );
    }
    h.push_str("</header>\n<main id=\"main\" tabindex=\"-1\">\n");
    h.push_str(body);
    h.push_str("\n</main>\n</body>\n</html>\n");
    h
}

const LOGO: &str = r#"<svg class="logo" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><rect x="3" y="4" width="18" height="6" rx="1.5" fill="none" stroke="currentColor" stroke-width="2"/><rect x="3" y="14" width="18" height="6" rx="1.5" fill="none" stroke="currentColor" stroke-width="2"/><circle cx="7" cy="7" r="1.2" fill="currentColor"/><circle cx="7" cy="17" r="1.2" fill="currentColor"/></svg>"#;

const THEME_ICON: &str = r#"<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><circle cx="12" cy="12" r="8" fill="none" stroke="currentColor" stroke-width="2"/><path d="M12 4a8 8 0 0 1 0 16z" fill="currentColor"/></svg>"#;

/// A heading row: title, optional subtitle and actions on the right.
pub fn heading(title: &str, actions: &str) -> String {
    format!(
        r#"<div class="page-head"><h1>{}</h1><div class="actions">{actions}</div></div>"#,
        esc(title)
    )
}

/// A message box: `kind` is `ok`, `error` or `info`.
pub fn notice(kind: &str, text: &str) -> String {
    let role = if kind == "error" { "alert" } else { "status" };
    format!(
        r#"<div class="notice {kind}" role="{role}">{}</div>"#,
        esc(text)
    )
}

/// An empty-state panel with a hint of what to do.
pub fn empty(title: &str, hint_html: &str) -> String {
    format!(
        r#"<div class="empty"><p class="empty-title">{}</p><p>{hint_html}</p></div>"#,
        esc(title)
    )
}

/// A job's state as a badge (text and colour).
pub fn state_badge(state: &str) -> String {
    let class = match state {
        "stored" | "success" => "ok",
        "failed" | "failure" => "bad",
        "never" => "none",
        _ => "run",
    };
    let label = match state {
        "never" => "never backed up",
        "running" => "in progress",
        other => other,
    };
    format!(r#"<span class="badge {class}">{}</span>"#, esc(label))
}

pub fn status_badge(s: LastStatus) -> String {
    state_badge(s.as_str())
}

/// A stored timestamp as `<time>`: UTC text, localised by the script.
pub fn time(ts: &str) -> String {
    match Timestamp::parse(ts) {
        Ok(t) => {
            let d = t.as_datetime();
            format!(
                r#"<time datetime="{ts}" title="{ts}">{:04}-{:02}-{:02} {:02}:{:02} UTC</time>"#,
                d.year(),
                u8::from(d.month()),
                d.day(),
                d.hour(),
                d.minute(),
                ts = esc(ts),
            )
        }
        Err(_) => esc(ts).to_string(),
    }
}

/// How long ago `ts` was, e.g. `3 min ago`.
pub fn ago(ts: &str) -> String {
    let Ok(t) = Timestamp::parse(ts) else {
        return String::new();
    };
    let secs = (Timestamp::now().unix_millis() - t.unix_millis()) / 1000;
    match secs {
        s if s < 0 => "just now".into(),
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

/// A byte count for people.
pub fn bytes(n: i64) -> String {
    match n {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{:.1} MB", n as f64 / (1024.0 * 1024.0)),
    }
}

/// Milliseconds for people.
pub fn duration_ms(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{:.1} min", ms / 60_000.0)
    }
}

/// A wait in seconds for people: `45 s`, `4 min`, `15 min`.
pub fn duration_words(secs: u64) -> String {
    if secs < 60 {
        format!("{secs} s")
    } else {
        format!("{} min", secs.div_ceil(60))
    }
}

/// A number with thousands separators.
pub fn count(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// `base?k=v&…` from the non-empty pairs.
pub fn link(base: &str, params: &[(&str, String)]) -> String {
    let q: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    if q.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", q.join("&"))
    }
}

/// Page links under a list: "1–50 of 10,000", previous/next and nearby
/// pages. `href(page)` builds the link of a page.
pub fn pagination(page: i64, size: i64, total: i64, href: impl Fn(i64) -> String) -> String {
    if total == 0 {
        return String::new();
    }
    let pages = ((total + size - 1) / size).max(1);
    let first = (page - 1) * size + 1;
    let last = (page * size).min(total);
    let mut h = format!(
        r#"<nav class="pager" aria-label="Pages"><span class="range">{}–{} of {}</span>"#,
        count(first.min(total)),
        count(last),
        count(total)
    );
    if pages > 1 {
        h.push_str("<span class=\"pages\">");
        if page > 1 {
            let _ = write!(
                h,
                r#"<a href="{}" rel="prev">‹ Previous</a>"#,
                esc(&href(page - 1))
            );
        }
        let mut shown = vec![1, pages];
        shown.extend((page - 2).max(1)..=(page + 2).min(pages));
        shown.sort_unstable();
        shown.dedup();
        let mut prev = 0;
        for p in shown {
            if p > prev + 1 {
                h.push_str(r#"<span class="gap">…</span>"#);
            }
            if p == page {
                let _ = write!(h, r#"<span class="cur" aria-current="page">{p}</span>"#);
            } else {
                let _ = write!(h, r#"<a href="{}">{p}</a>"#, esc(&href(p)));
            }
            prev = p;
        }
        if page < pages {
            let _ = write!(
                h,
                r#"<a href="{}" rel="next">Next ›</a>"#,
                esc(&href(page + 1))
            );
        }
        h.push_str("</span>");
    }
    h.push_str("</nav>");
    h
}

/// A sortable column header.
pub fn sort_th(
    label: &str,
    key: &str,
    current: &str,
    desc: bool,
    href: impl Fn(&str, bool) -> String,
) -> String {
    let (aria, arrow, next_desc) = if key == current {
        if desc {
            ("descending", " ▼", false)
        } else {
            ("ascending", " ▲", true)
        }
    } else {
        ("none", "", false)
    };
    format!(
        r#"<th scope="col" aria-sort="{aria}"><a href="{}">{}{arrow}</a></th>"#,
        esc(&href(key, next_desc)),
        esc(label)
    )
}

/// Field errors of a form, by field name.
#[derive(Debug, Default, Clone)]
pub struct Errors(pub Vec<(String, String)>);

impl Errors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_owned(), message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn of(&self, field: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .collect()
    }

    /// The summary shown above a form with errors.
    pub fn summary(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        let mut h = String::from(
            r#"<div class="notice error" role="alert" id="form-errors" tabindex="-1"><p>Please correct the fields marked below:</p><ul>"#,
        );
        for (f, m) in &self.0 {
            let _ = write!(h, r##"<li><a href="#f-{}">{}</a></li>"##, esc(f), esc(m));
        }
        h.push_str("</ul></div>");
        h
    }
}

/// One labelled form field. `control` is the input's HTML without id and
/// aria attributes, which this adds: `{attrs}` in it is replaced.
pub fn field(name: &str, label: &str, hint: &str, control: &str, errors: &Errors) -> String {
    let errs = errors.of(name);
    let id = format!("f-{name}");
    let mut described = Vec::new();
    if !hint.is_empty() {
        described.push(format!("{id}-hint"));
    }
    if !errs.is_empty() {
        described.push(format!("{id}-err"));
    }
    let mut attrs = format!(r#"id="{}" name="{}""#, esc(&id), esc(name));
    if !described.is_empty() {
        let _ = write!(attrs, r#" aria-describedby="{}""#, described.join(" "));
    }
    if !errs.is_empty() {
        attrs.push_str(r#" aria-invalid="true""#);
    }
    let mut h = format!(
        r#"<div class="field{}"><label for="{}">{}</label>"#,
        if errs.is_empty() { "" } else { " has-error" },
        esc(&id),
        esc(label)
    );
    h.push_str(&control.replace("{attrs}", &attrs));
    if !errs.is_empty() {
        let _ = write!(
            h,
            r#"<p class="field-error" id="{}-err">{}</p>"#,
            esc(&id),
            esc(&errs.join("; "))
        );
    }
    if !hint.is_empty() {
        let _ = write!(h, r#"<p class="hint" id="{}-hint">{hint}</p>"#, esc(&id));
    }
    h.push_str("</div>");
    h
}

pub fn text_input(value: &str, extra: &str) -> String {
    format!(
        r#"<input type="text" {{attrs}} value="{}"{}>"#,
        esc(value),
        if extra.is_empty() {
            String::new()
        } else {
            format!(" {extra}")
        }
    )
}

/// A `<select>` from `(value, label)` options; `""` is "none" when
/// `none_label` is given.
pub fn select(options: &[(String, String)], selected: &str, none_label: Option<&str>) -> String {
    let mut h = String::from("<select {attrs}>");
    if let Some(none) = none_label {
        let _ = write!(
            h,
            r#"<option value=""{}>{}</option>"#,
            if selected.is_empty() { " selected" } else { "" },
            esc(none)
        );
    }
    for (v, l) in options {
        let _ = write!(
            h,
            r#"<option value="{}"{}>{}</option>"#,
            esc(v),
            if v == selected { " selected" } else { "" },
            esc(l)
        );
    }
    h.push_str("</select>");
    h
}

/// A checkbox with its label on the right.
pub fn checkbox(name: &str, label: &str, checked: bool) -> String {
    format!(
        r#"<div class="field check"><input type="checkbox" id="f-{n}" name="{n}" value="on"{c}><label for="f-{n}">{l}</label></div>"#,
        n = esc(name),
        c = if checked { " checked" } else { "" },
        l = esc(label)
    )
}

/// A one-button POST form (with the CSRF token), e.g. delete or enable.
pub fn post_button(
    ctx: &Ctx,
    action: &str,
    label: &str,
    class: &str,
    confirm: Option<&str>,
    hidden: &[(&str, &str)],
) -> String {
    let mut h = format!(
        r#"<form method="post" action="{}" class="inline"{}>{}"#,
        esc(action),
        confirm
            .map(|c| format!(r#" data-confirm="{}""#, esc(c)))
            .unwrap_or_default(),
        ctx.csrf_field()
    );
    for (k, v) in hidden {
        let _ = write!(
            h,
            r#"<input type="hidden" name="{}" value="{}">"#,
            esc(k),
            esc(v)
        );
    }
    let _ = write!(
        h,
        r#"<button type="submit" class="{}">{}</button></form>"#,
        esc(class),
        esc(label)
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#).to_string(),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(esc("plain").to_string(), "plain");
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
    }

    #[test]
    fn pagination_shows_the_range_and_nearby_pages() {
        let h = pagination(5, 50, 10_000, |p| format!("?page={p}"));
        assert!(h.contains("201–250 of 10,000"), "{h}");
        assert!(h.contains(r#"href="?page=4" rel="prev""#), "{h}");
        assert!(h.contains(r#"aria-current="page">5<"#), "{h}");
        assert!(h.contains(r#"href="?page=200">200<"#), "{h}");
        assert_eq!(pagination(1, 50, 0, |p| p.to_string()), "");
    }
}
