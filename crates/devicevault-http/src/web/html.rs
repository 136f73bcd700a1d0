//! The page layout and the components every page shares (notices, status
//! badges, times, pagination, sortable headers, form fields), as maud
//! templates: everything interpolated is escaped by maud, and a template
//! that does not type-check does not compile. No HTML is escaped by hand,
//! not even in the largest pages (see `diff.rs` for the measurement).

use std::fmt::Write as _;

use devicevault_core::Timestamp;
use devicevault_db::User;
use devicevault_pipeline::app::inventory::FieldErrors;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::assets;

/// A query-string or path-segment value, percent-encoded.
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Which item of the main navigation is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Dashboard,
    Devices,
    Results,
    Search,
    Compliance,
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
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }
}

/// A whole page: head, header with navigation (when signed in), `body`
/// inside `<main>`.
pub fn page(ctx: Option<&Ctx>, theme: Option<&str>, title: &str, nav: Nav, body: Markup) -> Markup {
    let theme = theme
        .or(ctx.and_then(|c| c.theme))
        .filter(|t| matches!(*t, "light" | "dark"));
    let toggle = html! {
        button type="button" class="icon-btn" id="theme-toggle" title="Switch between light and dark theme"
            aria-label="Switch between light and dark theme" { (PreEscaped(THEME_ICON)) }
    };
    html! {
        (DOCTYPE)
        html lang="en" data-theme=[theme] {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · DeviceVault" }
                link rel="icon" href={ "/static/icon.svg?v=" (assets::version(assets::ICON)) } type="image/svg+xml";
                link rel="stylesheet" href={ "/static/app.css?v=" (assets::version(assets::CSS)) };
                script src={ "/static/app.js?v=" (assets::version(assets::JS)) } defer {}
                @if let Some(c) = ctx { meta name="csrf-token" content=(c.csrf); }
            }
            body {
                a class="skip-link" href="#main" { "Skip to content" }
                header class="top" {
                    a class="brand" href="/" { (PreEscaped(LOGO)) span { "DeviceVault" } }
                    @if let Some(c) = ctx {
                        nav class="main-nav" aria-label="Main" {
                            @for (item, href, label) in [
                                (Nav::Dashboard, "/", "Dashboard"),
                                (Nav::Devices, "/devices", "Devices"),
                                (Nav::Results, "/results", "Results"),
                                (Nav::Search, "/search", "Search"),
                                (Nav::Compliance, "/compliance", "Compliance"),
                                (Nav::Admin, "/admin", "Administration"),
                            ] {
                                a href=(href) aria-current=[(item == nav).then_some("page")] { (label) }
                            }
                        }
                        div class="who" {
                            (toggle)
                            a class="user" href="/account"
                                title={ "Your account (" (if c.user.is_admin() { "administrator" } else { "reader" }) ")" } {
                                (c.user.username)
                                @if c.user.is_admin() { " " span class="tag" { "admin" } }
                            }
                            form method="post" action="/logout" {
                                (c.csrf_field())
                                button type="submit" class="link-btn" { "Log out" }
                            }
                        }
                    } @else {
                        div class="who" { (toggle) }
                    }
                }
                main id="main" tabindex="-1" { (body) }
            }
        }
    }
}

const LOGO: &str = r#"<svg class="logo" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><rect x="3" y="4" width="18" height="6" rx="1.5" fill="none" stroke="currentColor" stroke-width="2"/><rect x="3" y="14" width="18" height="6" rx="1.5" fill="none" stroke="currentColor" stroke-width="2"/><circle cx="7" cy="7" r="1.2" fill="currentColor"/><circle cx="7" cy="17" r="1.2" fill="currentColor"/></svg>"#;

const THEME_ICON: &str = r#"<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><circle cx="12" cy="12" r="8" fill="none" stroke="currentColor" stroke-width="2"/><path d="M12 4a8 8 0 0 1 0 16z" fill="currentColor"/></svg>"#;

/// A heading row: the title and actions on the right.
pub fn heading(title: &str, actions: Markup) -> Markup {
    html! { div class="page-head" { h1 { (title) } div class="actions" { (actions) } } }
}

/// The breadcrumbs above a heading: `(href, label)` links, each followed
/// by `›`.
pub fn crumbs(links: &[(&str, &str)]) -> Markup {
    html! {
        p class="crumbs" {
            @for (i, (href, label)) in links.iter().enumerate() {
                @if i > 0 { " › " }
                a href=(href) { (label) }
            }
            " ›"
        }
    }
}

/// A message box: `kind` is `ok`, `error` or `info`.
pub fn notice(kind: &str, text: &str) -> Markup {
    let role = if kind == "error" { "alert" } else { "status" };
    html! { div class={ "notice " (kind) } role=(role) { (text) } }
}

/// The notice of a fixed message chosen by a redirect's `?flash=` code.
pub fn flash(message: Option<&str>) -> Markup {
    html! { @if let Some(m) = message { (notice("ok", m)) } }
}

/// What a reader with no device to see is told: why, which depends on
/// whether the account is restricted to device groups.
pub fn no_devices_for(scope: &devicevault_db::Scope) -> Markup {
    match scope {
        devicevault_db::Scope::Groups(groups) if groups.is_empty() => empty(
            "No device groups yet.",
            html! { "Your account sees the devices of the device groups an administrator gives it, and it has none yet: ask an administrator." },
        ),
        devicevault_db::Scope::Groups(_) => empty(
            "No devices in your device groups yet.",
            html! { "Your account sees the devices of its device groups; an administrator adds devices to them." },
        ),
        _ => empty(
            "No devices yet.",
            html! { "An administrator adds devices; they will appear here." },
        ),
    }
}

/// An empty-state panel with a hint of what to do.
pub fn empty(title: &str, hint: Markup) -> Markup {
    html! { div class="empty" { p class="empty-title" { (title) } p { (hint) } } }
}

/// A job's state as a badge (text and colour).
pub fn state_badge(state: &str) -> Markup {
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
    html! { span class={ "badge " (class) } { (label) } }
}

/// A stored timestamp as `<time>`, in the reader's time zone (see
/// [`super::zone`]) with its abbreviation; the UTC instant in the tooltip.
pub fn time(ts: &str) -> Markup {
    timestamp(ts, false)
}

/// A stored timestamp to the second, like [`time`].
pub fn seconds_time(ts: &str) -> Markup {
    timestamp(ts, true)
}

/// A stored timestamp to the second as text in the reader's time zone
/// (for headings and titles, where no tooltip can go).
pub fn seconds_text(ts: &str) -> String {
    match Timestamp::parse(ts) {
        Ok(t) => super::zone::format(&t, true),
        Err(_) => ts.to_owned(),
    }
}

fn timestamp(ts: &str, seconds: bool) -> Markup {
    match Timestamp::parse(ts) {
        Ok(t) => {
            html! { time datetime=(ts) title={ (t.to_string()) " (UTC)" } { (super::zone::format(&t, seconds)) } }
        }
        Err(_) => html! { (ts) },
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
    let mut out = base.to_owned();
    for (i, (k, v)) in params.iter().filter(|(_, v)| !v.is_empty()).enumerate() {
        let _ = write!(out, "{}{k}={}", if i == 0 { '?' } else { '&' }, enc(v));
    }
    out
}

/// Page links under a list: "1–50 of 10,000", previous/next and nearby
/// pages. `href(page)` builds the link of a page.
pub fn pagination(page: i64, size: i64, total: i64, href: impl Fn(i64) -> String) -> Markup {
    if total == 0 {
        return html! {};
    }
    let pages = ((total + size - 1) / size).max(1);
    let first = (page - 1) * size + 1;
    let last = (page * size).min(total);
    let mut shown = vec![1, pages];
    shown.extend((page - 2).max(1)..=(page + 2).min(pages));
    shown.sort_unstable();
    shown.dedup();
    let gaps: Vec<(i64, bool)> = shown
        .iter()
        .scan(0, |prev, &p| {
            let gap = p > *prev + 1;
            *prev = p;
            Some((p, gap))
        })
        .collect();
    html! {
        nav class="pager" aria-label="Pages" {
            span class="range" { (count(first.min(total))) "–" (count(last)) " of " (count(total)) }
            @if pages > 1 {
                span class="pages" {
                    @if page > 1 { a href=(href(page - 1)) rel="prev" { "‹ Previous" } }
                    @for (p, gap) in gaps {
                        @if gap { span class="gap" { "…" } }
                        @if p == page {
                            span class="cur" aria-current="page" { (p) }
                        } @else {
                            a href=(href(p)) { (p) }
                        }
                    }
                    @if page < pages { a href=(href(page + 1)) rel="next" { "Next ›" } }
                }
            }
        }
    }
}

/// A sortable column header; `href(desc)` links to the list sorted by
/// this column.
pub fn sort_th(label: &str, current: bool, desc: bool, href: impl Fn(bool) -> String) -> Markup {
    let (aria, arrow, next_desc) = match (current, desc) {
        (true, true) => ("descending", " ▼", false),
        (true, false) => ("ascending", " ▲", true),
        (false, _) => ("none", "", false),
    };
    html! { th scope="col" aria-sort=(aria) { a href=(href(next_desc)) { (label) (arrow) } } }
}

/// A message of the application's validators as a sentence: capitalised,
/// with a full stop.
pub fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut s: String = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !s.ends_with(['.', '?', '!']) {
        s.push('.');
    }
    s
}

/// The summary shown above a form with errors.
pub fn error_summary(errors: &FieldErrors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="notice error" role="alert" id="form-errors" tabindex="-1" {
                p { "Please correct the fields marked below:" }
                ul { @for (f, m) in &errors.0 { li { a href={ "#f-" (f) } { (sentence(m)) } } } }
            }
        }
    }
}

/// An `<input>` of a form field: its type and optional attributes.
#[derive(Debug, Clone, Copy)]
pub struct Input {
    pub kind: &'static str,
    pub required: bool,
    pub placeholder: Option<&'static str>,
    pub autocomplete: Option<&'static str>,
    pub inputmode: Option<&'static str>,
    pub maxlength: Option<u32>,
    /// Shown only for Git locations (the script hides it otherwise).
    pub git_only: bool,
}

impl Input {
    pub const TEXT: Self = Self {
        kind: "text",
        required: false,
        placeholder: None,
        autocomplete: None,
        inputmode: None,
        maxlength: None,
        git_only: false,
    };
    pub const REQUIRED: Self = Self {
        required: true,
        ..Self::TEXT
    };
    /// A new password (never shown back).
    pub const NEW_PASSWORD: Self = Self {
        kind: "password",
        autocomplete: Some("new-password"),
        ..Self::TEXT
    };
}

/// The control of a form field.
#[derive(Debug, Clone, Copy)]
pub enum Control<'a> {
    Input(Input, &'a str),
    /// `(value, label)` options; `""` is "none" when `none` is given.
    Select {
        options: &'a [(String, String)],
        selected: &'a str,
        none: Option<&'a str>,
        class: Option<&'static str>,
    },
    TextArea(&'a str),
}

/// One labelled form field, with its errors (from the application's
/// validators) and hint; the control is tied to both for screen readers.
pub fn field(
    name: &str,
    label: &str,
    hint: Markup,
    control: Control<'_>,
    errors: &FieldErrors,
) -> Markup {
    let errs: Vec<String> = errors.of(name).map(sentence).collect();
    let id = format!("f-{name}");
    let has_hint = !hint.0.is_empty();
    let mut described = Vec::new();
    if has_hint {
        described.push(format!("{id}-hint"));
    }
    if !errs.is_empty() {
        described.push(format!("{id}-err"));
    }
    let described = (!described.is_empty()).then(|| described.join(" "));
    let invalid = (!errs.is_empty()).then_some("true");
    html! {
        div class=(if errs.is_empty() { "field" } else { "field has-error" }) {
            label for=(id) { (label) }
            @match control {
                Control::Input(i, value) => {
                    input type=(i.kind) id=(id) name=(name)
                        aria-describedby=[described] aria-invalid=[invalid]
                        value=[(i.kind != "password").then_some(value)]
                        required[i.required] placeholder=[i.placeholder] autocomplete=[i.autocomplete]
                        inputmode=[i.inputmode] maxlength=[i.maxlength] data-git-only[i.git_only];
                }
                Control::Select { options, selected, none, class } => {
                    select id=(id) name=(name) aria-describedby=[described] aria-invalid=[invalid] class=[class] {
                        @if let Some(none) = none { option value="" selected[selected.is_empty()] { (none) } }
                        @for (v, l) in options { option value=(v) selected[v == selected] { (l) } }
                    }
                }
                Control::TextArea(value) => {
                    textarea id=(id) name=(name) aria-describedby=[described] aria-invalid=[invalid]
                        rows="3" class="mono" { (value) }
                }
            }
            @if !errs.is_empty() { p class="field-error" id={ (id) "-err" } { (errs.join(" ")) } }
            @if has_hint { p class="hint" id={ (id) "-hint" } { (hint) } }
        }
    }
}

/// A checkbox with its label on the right.
pub fn checkbox(name: &str, label: &str, checked: bool) -> Markup {
    html! {
        div class="field check" {
            input type="checkbox" id={ "f-" (name) } name=(name) value="on" checked[checked];
            label for={ "f-" (name) } { (label) }
        }
    }
}

/// A one-button POST form (with the CSRF token), e.g. delete or enable.
pub fn post_button(
    ctx: &Ctx,
    action: &str,
    label: &str,
    class: &str,
    confirm: Option<&str>,
    hidden: &[(&str, &str)],
) -> Markup {
    html! {
        form method="post" action=(action) class="inline" data-confirm=[confirm] {
            (ctx.csrf_field())
            @for (k, v) in hidden { input type="hidden" name=(k) value=(v); }
            button type="submit" class=[(!class.is_empty()).then_some(class)] { (label) }
        }
    }
}

/// A panel holding a POST form: title, the CSRF token, the error summary,
/// `fields`, then the submit button and an optional cancel link.
pub fn form_panel(
    ctx: &Ctx,
    action: &str,
    title: &str,
    errors: &FieldErrors,
    fields: Markup,
    submit: &str,
    cancel: Option<&str>,
) -> Markup {
    html! {
        section class="panel form-panel" aria-labelledby="form-h" {
            h2 id="form-h" { (title) }
            form method="post" action=(action) class="form" novalidate {
                (ctx.csrf_field())
                (error_summary(errors))
                (fields)
                div class="buttons" {
                    button type="submit" class="primary" { (submit) }
                    @if let Some(c) = cancel { " " a href=(c) class="button subtle" { "Cancel" } }
                }
            }
        }
    }
}

/// A signed-in user's context for the render tests of every page.
#[cfg(test)]
pub fn test_ctx(admin: bool) -> Ctx {
    Ctx {
        user: User {
            id: 1,
            username: if admin { "ada" } else { "rita" }.into(),
            password_hash: String::new(),
            role: if admin {
                devicevault_core::Role::Admin
            } else {
                devicevault_core::Role::Reader
            },
            restricted: false,
            view_secrets: false,
            created_at: "2026-01-01T00:00:00.000000Z".into(),
            source: "local".into(),
            directory_checked_at: None,
            disabled_at: None,
        },
        scope: if admin {
            devicevault_db::Scope::Admin
        } else {
            devicevault_db::Scope::All
        },
        csrf: "c5rf".into(),
        theme: None,
        session_id: 9,
    }
}

/// The text of attribute `name` of the element at `marker`, unescaped
/// (what a browser would send back).
#[cfg(test)]
pub fn attr_after(html: &str, marker: &str, name: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"));
    let key = format!(r#"{name}=""#);
    let start = html[at..].find(&key).expect("the attribute") + at + key.len();
    let end = html[start..].find('"').expect("its end") + start;
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
    }

    #[test]
    fn pagination_shows_the_range_and_nearby_pages() {
        let h = pagination(5, 50, 10_000, |p| format!("?page={p}")).into_string();
        assert!(h.contains("201–250 of 10,000"), "{h}");
        assert!(h.contains(r#"href="?page=4" rel="prev""#), "{h}");
        assert!(h.contains(r#"aria-current="page">5<"#), "{h}");
        assert!(h.contains(r#"href="?page=200">200<"#), "{h}");
        assert_eq!(h.matches(r#"class="gap""#).count(), 2, "{h}");
        assert_eq!(pagination(1, 50, 0, |p| p.to_string()).into_string(), "");
    }

    #[test]
    fn a_field_shows_its_errors_as_sentences_and_keeps_any_value_verbatim() {
        let mut e = FieldErrors::default();
        e.add("name", "may not be blank");
        let h = field(
            "name",
            "Name",
            html! {},
            Control::Input(Input::REQUIRED, r#"{attrs} <b>"x"</b> & co"#),
            &e,
        )
        .into_string();
        assert!(
            h.contains(r#"value="{attrs} &lt;b&gt;&quot;x&quot;&lt;/b&gt; &amp; co""#),
            "{h}"
        );
        assert!(
            h.contains(r#"id="f-name-err">May not be blank.</p>"#),
            "{h}"
        );
        assert!(h.contains(r#"aria-invalid="true""#) && h.contains("has-error"));
        let ok = field(
            "name",
            "Name",
            html! { "hint" },
            Control::Input(Input::NEW_PASSWORD, "secret"),
            &FieldErrors::default(),
        )
        .into_string();
        assert!(
            !ok.contains("secret") && !ok.contains("aria-invalid"),
            "{ok}"
        );
        assert!(ok.contains(r#"aria-describedby="f-name-hint""#), "{ok}");
    }

    #[test]
    fn messages_become_sentences() {
        assert_eq!(sentence("may not be blank"), "May not be blank.");
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
    }
}
