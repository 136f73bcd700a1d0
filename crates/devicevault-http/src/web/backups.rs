//! A device's page (summary, versions, recent collections), one version,
//! downloads, the comparison of two versions and a job's merged log.

use crate::web::Path;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use devicevault_core::{LogEntry, RelPath, Status};
use devicevault_db::dashboard::DeviceRow;
use devicevault_db::{BackupJob, Device, DeviceBackupResult, Listed, Page, StoredBackup, Version};
use maud::{Markup, html};

use super::devices::{backup_button, flash, status_cell};
use super::diff;
use super::html::{self, Ctx, Nav, crumbs, enc, heading, notice};
use super::session::{Session, check_device, check_visible};
use super::{WebError, WebResult, html_page, query};
use crate::Shared;
use devicevault_pipeline::app::diff::{self as engine, Diff, Stats};
use devicevault_pipeline::app::reading::{self, DISPLAY_CAP, ReadFailure, Readable};
use devicevault_pipeline::roles::collector::DEVICE_OUTPUT_SOURCE;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/devices/{id}", get(device_page))
        .route("/devices/{id}/compare", get(compare))
        .route("/devices/{id}/compare/diff", get(unified_download))
        .route("/backups/{id}", get(version))
        .route("/backups/{id}/download", get(download))
        .route("/jobs/{ti}", get(job_page))
}

const VERSIONS_PER_PAGE: i64 = 50;

/// Reads a stored version as the signed-in user may see it (secrets
/// masked unless they have `view_secrets`; see [`devicevault_pipeline::app::reading`]).
async fn read(state: &Shared, ctx: &Ctx, s: &StoredBackup) -> WebResult<Readable> {
    reading::read_for(state, &ctx.user, s)
        .await
        .map_err(|e| read_error(e, ctx))
}

/// The error page of a version that cannot be read for this user.
fn read_error(e: ReadFailure, ctx: &Ctx) -> WebError {
    let (status, title) = match e {
        ReadFailure::NothingStored(_) => (StatusCode::CONFLICT, "Nothing was stored"),
        ReadFailure::CannotMask(_) => (StatusCode::FORBIDDEN, "Secrets cannot be masked"),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Could not read the backup",
        ),
    };
    WebError::new(status, title, e.to_string()).with_ctx(ctx.clone())
}

/// The notice on a page that shows masked configurations.
fn masked_notice(masked: bool, what: &str) -> Markup {
    html! {
        @if masked {
            (notice("info", &format!(
                "Secrets (enable secrets, SNMP communities, keys) are masked for your account; {what} complete."
            )))
        }
    }
}

fn job_href(ti: &str) -> String {
    format!("/jobs/{}", enc(ti))
}

fn changed_cell(s: &StoredBackup) -> Markup {
    html! {
        @match (s.status, s.changed) {
            (Status::Failure, _) => "—",
            (_, Some(true)) => {
                span class="badge chg" { "changed" }
                @if let Some(a) = &s.author { " " span class="muted small" title="as the device says" { "by " (a) } }
            },
            (_, Some(false)) => span class="muted" { "unchanged" },
            (_, None) => span class="muted" { "?" },
        }
    }
}

fn size(s: &StoredBackup) -> String {
    s.size.map(html::bytes).unwrap_or_else(|| "—".into())
}

/// A version's size cell: its size, or for a binary version the line
/// that stands for its content, `binary, N bytes, SHA-256 <hex>`.
fn size_cell(s: &StoredBackup) -> Markup {
    html! {
        @if s.is_binary && s.status == Status::Success {
            span class="mono small binary" { (reading::binary_summary(s)) }
        } @else { (size(s)) }
    }
}

fn short_stamp(ts: &str) -> String {
    ts.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(15)
        .collect()
}

// ---- the device page ------------------------------------------------------------------

/// A device's history as the page shows it.
enum History {
    /// Distinct versions (the default).
    Versions(Listed<Version>),
    /// Every stored backup (`?all=1`), unchanged and failed ones included.
    Backups(Listed<StoredBackup>),
}

impl History {
    fn total(&self) -> i64 {
        match self {
            Self::Versions(l) => l.total,
            Self::Backups(l) => l.total,
        }
    }
}

/// What a device's page shows.
struct DevicePage {
    row: DeviceRow,
    credential: Option<String>,
    location: Option<String>,
    collection_group: Option<String>,
    page: i64,
    history: History,
    /// The compare form's default pick (A, B): the newest change and the
    /// version before it.
    default_pair: (Option<i64>, Option<i64>),
    results: Vec<DeviceBackupResult>,
    /// The next slot of a schedule that backs it up.
    next_run: Option<String>,
    /// Its state under each enabled compliance rule that applies to it.
    compliance: Vec<devicevault_db::ComplianceState>,
    flash: Option<&'static str>,
}

impl DevicePage {
    async fn load(state: &Shared, ctx: &Ctx, id: i64, q: &super::session::Form) -> WebResult<Self> {
        check_device(state, ctx, id).await?;
        let db = &state.db;
        let row = db.device_row(id).await?;
        let f = &row.device.fields;
        let page = q.get("page").parse::<i64>().unwrap_or(1).max(1);
        let versions_page = Page {
            limit: VERSIONS_PER_PAGE,
            offset: (page - 1).saturating_mul(VERSIONS_PER_PAGE),
        };
        let recent = Page {
            limit: 10,
            offset: 0,
        };
        let all = matches!(q.get("all"), "1" | "yes" | "true");
        let newest_two = Page {
            limit: 2,
            offset: 0,
        };
        let of_device = devicevault_db::ComplianceFilter {
            device: Some(id),
            ..Default::default()
        };
        let (versions, results, next_run, compliance) = tokio::try_join!(
            db.device_versions(id, &ctx.scope, if all { newest_two } else { versions_page }),
            db.device_results(Some(id), &ctx.scope, recent),
            db.next_scheduled_run(id),
            db.list_compliance(
                &ctx.scope,
                &of_device,
                Page {
                    limit: 100,
                    offset: 0
                }
            ),
        )?;
        let newest = versions.rows.first();
        let default_pair = (newest.and_then(|v| v.previous), newest.map(|v| v.stored.id));
        let history = if all {
            History::Backups(
                db.stored_backups(Some(id), &ctx.scope, versions_page)
                    .await?,
            )
        } else {
            History::Versions(versions)
        };
        // A reference that is gone shows as missing.
        let credential = match f.credential {
            Some(c) => db.credential(c).await.ok().map(|c| c.name),
            None => None,
        };
        let location = match f.backup_location {
            Some(l) => db
                .location(l)
                .await
                .ok()
                .map(|l| format!("{} ({})", l.name, l.location_type.as_str())),
            None => None,
        };
        let collection_group = match f.collection_group {
            Some(g) => db.collection_group(g).await.ok().map(|g| g.name),
            None => None,
        };
        Ok(Self {
            row,
            credential,
            location,
            collection_group,
            page,
            history,
            default_pair: if page == 1 {
                default_pair
            } else {
                (None, None)
            },
            results: results.rows,
            next_run,
            compliance: compliance.rows,
            flash: flash(q.get("flash")),
        })
    }
}

async fn device_page(
    Session(ctx): Session,
    State(state): State<Shared>,
    Path(id): Path<i64>,
    uri: Uri,
) -> WebResult<Response> {
    let p = DevicePage::load(&state, &ctx, id, &query(&uri)).await?;
    let name = p.row.device.fields.name.clone();
    Ok(html_page(
        &ctx,
        StatusCode::OK,
        &name,
        Nav::Devices,
        render_device(&ctx, &p),
    ))
}

fn render_device(ctx: &Ctx, p: &DevicePage) -> Markup {
    let d = &p.row.device;
    let f = &d.fields;
    let id = d.id;
    let edit = format!("/devices/{id}/edit");
    let dash = html! { span class="muted" { "—" } };
    let or_dash = |v: Option<&str>| html! { @if let Some(v) = v { (v) } @else { (dash) } };
    let missing = |v: Option<&str>, what: &str| {
        html! {
            @if let Some(v) = v { (v) } @else {
                span class="warn" { "none — it cannot be backed up" }
                @if ctx.may(devicevault_pipeline::app::rights::Right::Operate) { " (" a href=(edit) { "set a " (what) } ")" }
            }
        }
    };
    let (default_a, default_b) = p.default_pair;
    let all = matches!(p.history, History::Backups(_));
    html! {
        (crumbs(&[("/devices", "Devices")]))
        (heading(&f.name, html! {
            (backup_button(ctx, d))
            @if ctx.may(devicevault_pipeline::app::rights::Right::Operate) { " " a class="button" href=(edit) { "Edit" } }
        }))
        (html::flash(p.flash))
        dl class="summary" {
            div { dt { "Address" } dd class="mono" { (f.address) ":" (f.port) } }
            div { dt { "Driver" } dd { (f.driver) } }
            div { dt { "Type" } dd { (or_dash(p.row.device_type.as_deref())) } }
            div { dt { "Group" } dd { (or_dash(p.row.device_group.as_deref())) } }
            div { dt { "Credential" } dd { (missing(p.credential.as_deref(), "credential")) } }
            div { dt { "Backup location" } dd { (missing(p.location.as_deref(), "backup location")) } }
            div { dt { "Collection group" } dd { (p.collection_group.as_deref().unwrap_or("Default")) } }
            div { dt { "Enabled" } dd { @if f.enabled { "Yes" } @else { span class="badge none" { "disabled" } } } }
            div class="wide" { dt { "Last backup" } dd id={ "status-" (id) } aria-live="polite" { (status_cell(&p.row)) } }
            div { dt { "Last success" } dd {
                @if let Some(at) = &d.health.last_success_at { (html::time(at)) } @else { span class="muted" { "never" } }
            } }
            div { dt { "Next scheduled run" } dd {
                @if let Some(at) = &p.next_run { (html::time(at)) }
                @else { span class="muted" { "none" } @if ctx.may(devicevault_pipeline::app::rights::Right::Operate) { " (" a href="/admin/schedules" { "schedules" } ")" } }
            } }
            div { dt { "Last change" } dd {
                @if let Some(at) = &d.health.last_change_at { (html::time(at)) } @else { span class="muted" { "—" } }
            } }
            @if let Some(since) = &d.health.failing_since {
                div { dt { "Failing since" } dd { (html::time(since)) } }
            }
            @if let Some(since) = &d.health.stale_since {
                div { dt { "Stale since" } dd { span class="badge bad" { "stale" } " " (html::time(since)) } }
            }
            @if !p.compliance.is_empty() {
                div class="wide" { dt { a href="/compliance" { "Compliance" } } dd {
                    @for (i, c) in p.compliance.iter().enumerate() {
                        @if i > 0 { ", " }
                        (c.rule_name) " "
                        @match c.state.as_str() {
                            "compliant" => span class="badge ok" { "compliant" },
                            "non_compliant" => span class="badge bad" title=(c.detail) { "not compliant" },
                            _ => span class="badge none" title=(c.detail) { "unknown" },
                        }
                    }
                } }
            }
        }
        section aria-labelledby="versions-h" {
            h2 id="versions-h" { @if all { "Every backup" } @else { "Versions" } }
            p class="hint" {
                @if all {
                    "Every stored backup, unchanged and failed ones included. "
                    a href={ "/devices/" (id) } { "Show distinct versions only" }
                } @else {
                    "Each distinct configuration, with when a backup first found it and when one last confirmed it. "
                    a href={ "/devices/" (id) "?all=1" } { "Show every backup" }
                }
                " · " a href={ "/results?device=" (id) } { "Every result of this device" }
            }
            @if p.history.total() == 0 {
                (html::empty("No stored versions yet.", html! {
                    "Press “Backup now” to fetch this device's configuration; every change is kept as a new version."
                }))
            } @else {
                form method="get" action={ "/devices/" (id) "/compare" } class="compare-pick" {
                    p class="hint" id="pick-hint" { "Pick an old (A) and a new (B) version, then compare them side by side." }
                    div class="table-wrap" {
                        @match &p.history {
                            History::Versions(l) => table class="list versions" {
                                thead { tr {
                                    th scope="col" class="pick" { "A" } th scope="col" class="pick" { "B" }
                                    th scope="col" { "First seen" } th scope="col" { "Last confirmed" }
                                    th scope="col" { "Backups" } th scope="col" { "Size" } th scope="col" { "Change" }
                                    th scope="col" { "Actions" }
                                } }
                                tbody { @for v in &l.rows { (distinct_row(v, default_a, default_b)) } }
                            },
                            History::Backups(l) => table class="list versions" {
                                thead { tr {
                                    th scope="col" class="pick" { "A" } th scope="col" class="pick" { "B" }
                                    th scope="col" { "Stored" } th scope="col" { "Size" } th scope="col" { "Changed" }
                                    th scope="col" { "Status" } th scope="col" { "Backend" } th scope="col" { "Actions" }
                                } }
                                tbody { @for s in &l.rows { (version_row(s, default_a, default_b)) } }
                            },
                        }
                    }
                    div class="buttons" {
                        button type="submit" class="primary" aria-describedby="pick-hint" { "Compare A and B" }
                    }
                }
                (html::pagination(p.page, VERSIONS_PER_PAGE, p.history.total(), |n| {
                    if all { format!("/devices/{id}?all=1&page={n}") } else { format!("/devices/{id}?page={n}") }
                }))
            }
        }
        section aria-labelledby="collections-h" {
            h2 id="collections-h" { "Recent collections" }
            @if p.results.is_empty() {
                p class="muted" { "None yet." }
            } @else {
                div class="table-wrap" { table class="list" {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Outcome" } th scope="col" { "Duration" } th scope="col" { "Log" } } }
                    tbody { @for r in &p.results {
                        tr {
                            td class="nowrap" { (html::time(&r.timestamp)) }
                            td { (html::state_badge(r.status.as_str())) }
                            td class="num" { (html::duration_ms(r.collection_duration_ms as f64)) }
                            td { a href=(job_href(&r.task_identifier)) { "Log" } }
                        }
                    } }
                } }
            }
        }
    }
}

fn version_row(s: &StoredBackup, default_a: Option<i64>, default_b: Option<i64>) -> Markup {
    let usable = s.status == Status::Success;
    let radio = |name: &str, label: &str, checked: bool| {
        html! {
            @if usable {
                input type="radio" name=(name) value=(s.id) aria-label={ (label) " " (s.timestamp) } checked[checked];
            }
        }
    };
    html! {
        tr {
            td class="pick" { (radio("a", "Old version (A):", Some(s.id) == default_a)) }
            td class="pick" { (radio("b", "New version (B):", Some(s.id) == default_b)) }
            td class="nowrap" { (html::time(&s.timestamp)) " " span class="muted small" { (html::ago(&s.timestamp)) } }
            td class="num" { (size_cell(s)) }
            td { (changed_cell(s)) }
            td { (html::state_badge(if usable { "stored" } else { "failed" })) }
            td { (s.storage_backend.as_str()) }
            td class="row-actions" {
                @if usable {
                    a href={ "/backups/" (s.id) } class="button small subtle" { "View" } " "
                    a href={ "/backups/" (s.id) "/download" } class="button small subtle" download { "Download" } " "
                }
                a href=(job_href(&s.task_identifier)) class="button small subtle" { "Log" }
            }
        }
    }
}

/// A distinct version: when it was first seen and last confirmed, by how
/// many backups, and "compare with previous" against the version before.
fn distinct_row(v: &Version, default_a: Option<i64>, default_b: Option<i64>) -> Markup {
    let s = &v.stored;
    let radio = |name: &str, label: &str, checked: bool| {
        html! {
            input type="radio" name=(name) value=(s.id) aria-label={ (label) " " (s.timestamp) } checked[checked];
        }
    };
    html! {
        tr data-version=(s.id) {
            td class="pick" { (radio("a", "Old version (A):", Some(s.id) == default_a)) }
            td class="pick" { (radio("b", "New version (B):", Some(s.id) == default_b)) }
            td class="nowrap" { (html::time(&s.timestamp)) " " span class="muted small" { (html::ago(&s.timestamp)) } }
            td class="nowrap" { (html::time(&v.last_confirmed)) }
            td class="num" { (html::count(v.confirmations)) }
            td class="num" { (size_cell(s)) }
            td {
                @if v.previous.is_none() { span class="muted" { "first version" } }
                @else { span class="badge chg" { "changed" } }
                @if let Some(a) = &s.author { " " span class="muted small" title="as the device says" { "by " (a) } }
            }
            td class="row-actions" {
                a href={ "/backups/" (s.id) } class="button small subtle" { "View" } " "
                // Bytes have no line-by-line comparison.
                @if let Some(prev) = v.previous.filter(|_| !s.is_binary) {
                    a href={ "/devices/" (s.device_id) "/compare?a=" (prev) "&b=" (s.id) } class="button small subtle" { "Compare with previous" } " "
                }
                a href={ "/backups/" (s.id) "/download" } class="button small subtle" download { "Download" } " "
                a href=(job_href(&s.task_identifier)) class="button small subtle" { "Log" }
            }
        }
    }
}

// ---- one version ------------------------------------------------------------------------

fn stored_or_404(
    r: Result<StoredBackup, devicevault_db::DbError>,
    ctx: &Ctx,
) -> WebResult<StoredBackup> {
    r.map_err(|e| WebError::from(e).with_ctx(ctx.clone()))
}

/// What a version's page shows.
struct VersionPage {
    stored: StoredBackup,
    device: Device,
    /// The content as the user may see it; `None` for a binary version,
    /// which the page does not show (it is downloaded).
    readable: Option<Readable>,
    previous: Option<i64>,
}

async fn version(
    Session(ctx): Session,
    State(state): State<Shared>,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    let s = stored_or_404(state.db.stored_backup(id).await, &ctx)?;
    check_visible(&state, &ctx, s.device_id, format!("stored backup {id}")).await?;
    let device = state.db.device(s.device_id).await?;
    let readable = if s.is_binary {
        None
    } else {
        Some(read(&state, &ctx, &s).await?)
    };
    // The version before this backup's own: an unchanged backup compared
    // with its predecessor would say "identical".
    let previous = state
        .db
        .previous_version(s.device_id, &s.timestamp, s.id)
        .await?;
    let p = VersionPage {
        stored: s,
        device,
        readable,
        previous,
    };
    Ok(html_page(
        &ctx,
        StatusCode::OK,
        &p.device.fields.name,
        Nav::Devices,
        render_version(&p),
    ))
}

fn render_version(p: &VersionPage) -> Markup {
    let s = &p.stored;
    html! {
        (crumbs(&[("/devices", "Devices"), (&format!("/devices/{}", s.device_id), &p.device.fields.name)]))
        (heading(&format!("Version of {}", html::seconds_text(&s.timestamp)), html! {
            a class="button primary" href={ "/backups/" (s.id) "/download" } download { "Download" }
            @if let Some(prev) = p.previous.filter(|_| !s.is_binary) {
                " " a class="button" href={ "/devices/" (s.device_id) "/compare?a=" (prev) "&b=" (s.id) } { "Compare with previous" }
            }
            " " a class="button subtle" href=(job_href(&s.task_identifier)) { "Log" }
        }))
        dl class="summary" {
            div { dt { "Stored" } dd { (html::time(&s.timestamp)) } }
            div { dt { "Size" } dd { (size(s)) } }
            div { dt { "Changed" } dd { (changed_cell(s)) } }
            div { dt { "Backend" } dd { (s.storage_backend.as_str()) } }
            div class="wide" { dt { "Reference" } dd class="mono small" { (s.storage_ref) } }
            div class="wide" { dt { "SHA-256" } dd class="mono small" { (s.sha256.as_deref().unwrap_or("—")) } }
        }
        @match &p.readable {
            None => {
                div class="notice info" role="status" {
                    p {
                        "This version is " span class="mono" { (reading::binary_summary(s)) } ": it is not shown or compared as text. "
                        a href={ "/backups/" (s.id) "/download" } download { "Download it" } " to look at it."
                    }
                }
            }
            Some(readable) => { (render_text(s, readable)) }
        }
    }
}

/// A text version's lines (or why they are not shown).
fn render_text(s: &StoredBackup, readable: &Readable) -> Markup {
    let content = &readable.content;
    html! {
        (masked_notice(readable.masked, "the stored backup is"))
        @match std::str::from_utf8(content) {
            Ok(_) if content.len() > DISPLAY_CAP => {
                div class="notice info" role="status" {
                    p {
                        "This version is " (html::bytes(content.len() as i64)) ", too large to show in a page. "
                        a href={ "/backups/" (s.id) "/download" } download { "Download it" } " to read it."
                    }
                }
            }
            Ok(text) if !s.is_binary => {
                @let lines = engine::lines(text);
                p class="muted small" { (html::count(lines.len() as i64)) " lines" }
                // Focusable, so the keyboard scrolls it.
                div class="code-wrap" tabindex="0" role="region" aria-label="Configuration" { pre class="code" { code { (file_lines(&lines)) } } }
            }
            _ => { (notice("info", "This version is binary; download it to look at it.")) }
        }
    }
}

/// The lines of a configuration, each a block `<span class="l">` (a
/// newline between them would double the spacing). maud renders the
/// 20,000 lines of a large configuration as fast as the hand-escaping
/// loop it replaced (1.2–1.6 ms either way, release build).
/// Each line has an id `L<n>` (1-based), so a search result links to it.
fn file_lines(lines: &[&str]) -> Markup {
    html! { @for (i, l) in lines.iter().enumerate() { span class="l" id={ "L" (i + 1) } { (l) } } }
}

async fn download(
    Session(ctx): Session,
    State(state): State<Shared>,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    let s = stored_or_404(state.db.stored_backup(id).await, &ctx)?;
    check_visible(&state, &ctx, s.device_id, format!("stored backup {id}")).await?;
    let readable = read(&state, &ctx, &s).await?;
    let stem = state
        .db
        .device(s.device_id)
        .await
        .map(|d| RelPath::sanitize_segment(&d.fields.name))
        .unwrap_or_else(|_| format!("device-{}", s.device_id));
    let (content_type, ext) = if s.is_binary {
        ("application/octet-stream", "bin")
    } else {
        ("text/plain; charset=utf-8", "cfg")
    };
    let masked = if readable.masked { "-masked" } else { "" };
    let mut r = attachment(
        readable.content,
        content_type,
        &format!("{stem}-{}{masked}.{ext}", short_stamp(&s.timestamp)),
    )?;
    r.headers_mut().insert(
        crate::MASKED_HEADER,
        HeaderValue::from_static(if readable.masked { "true" } else { "false" }),
    );
    Ok(r)
}

fn attachment(content: Vec<u8>, content_type: &'static str, filename: &str) -> WebResult<Response> {
    let mut r = content.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
    );
    Ok(r)
}

// ---- comparing two versions ------------------------------------------------------------

struct Pair {
    device_name: String,
    /// Secrets were masked for this user.
    masked: bool,
    a: StoredBackup,
    b: StoredBackup,
    old: String,
    new: String,
}

/// The two versions `?a=` and `?b=` of device `id`, read in parallel.
async fn pair(state: &Shared, ctx: &Ctx, id: i64, uri: &Uri) -> WebResult<Pair> {
    let q = query(uri);
    let pick = |k: &str| {
        q.get(k).parse::<i64>().map_err(|_| {
            WebError::bad_request(format!(
                "Pick two versions to compare (parameter {k} is missing)."
            ))
            .with_ctx(ctx.clone())
        })
    };
    let (ia, ib) = (pick("a")?, pick("b")?);
    check_device(state, ctx, id).await?;
    let device = state
        .db
        .device(id)
        .await
        .map_err(|e| WebError::from(e).with_ctx(ctx.clone()))?;
    // A version of another device is answered as missing: it may be one
    // the user may not see.
    let version_of = |r: Result<StoredBackup, devicevault_db::DbError>, n: i64| match r {
        Ok(s) if s.device_id == id => Ok(s),
        Ok(_) => Err(devicevault_db::DbError::NotFound {
            what: format!("stored backup {n}"),
        }),
        Err(e) => Err(e),
    };
    let a = stored_or_404(version_of(state.db.stored_backup(ia).await, ia), ctx)?;
    let b = stored_or_404(version_of(state.db.stored_backup(ib).await, ib), ctx)?;
    let v = engine::read_versions(state, &ctx.user, &a, &b)
        .await
        .map_err(|e| match e {
            engine::CompareError::Binary => {
                let summary = |s: &StoredBackup| {
                    if s.is_binary {
                        reading::binary_summary(s)
                    } else {
                        "text".to_owned()
                    }
                };
                let same = a.is_binary && b.is_binary && a.sha256.is_some() && a.sha256 == b.sha256;
                WebError::new(
                    StatusCode::CONFLICT,
                    "Binary versions",
                    format!(
                        "These versions are binary and have no line-by-line comparison; download them instead. A (#{}): {}. B (#{}): {}. {}",
                        a.id,
                        summary(&a),
                        b.id,
                        summary(&b),
                        if same { "Their bytes are identical." } else { "Their bytes differ." }
                    ),
                )
                .with_ctx(ctx.clone())
            }
            engine::CompareError::Read(e) => read_error(e, ctx),
        })?;
    Ok(Pair {
        device_name: device.fields.name,
        old: v.old,
        new: v.new,
        masked: v.masked,
        a,
        b,
    })
}

/// What the compare page shows.
struct ComparePage {
    device_id: i64,
    device_name: String,
    masked: bool,
    a: StoredBackup,
    b: StoredBackup,
    /// Every line, or only the changes with context.
    full: bool,
    /// With every line: the rows of this page, and how many in all.
    window: Option<(std::ops::Range<usize>, usize)>,
    /// The device's distinct versions (and A and B), for the pickers.
    versions: Vec<StoredBackup>,
    identical: bool,
    stats: Stats,
    old_lines: usize,
    new_lines: usize,
    /// The table rows (`diff.rs`), rendered off the async threads.
    rows: Markup,
}

async fn compare(
    Session(ctx): Session,
    State(state): State<Shared>,
    Path(id): Path<i64>,
    uri: Uri,
) -> WebResult<Response> {
    let q = query(&uri);
    let full = q.get("context") == "all";
    // With every line, a page of rows from row `from`; a folded run's
    // lines alone with `old=<first>-<last>` (what "Show these lines" asks).
    let from = q.get("from").parse::<usize>().unwrap_or(0);
    let fold = q
        .get("old")
        .split_once('-')
        .and_then(|(lo, hi)| Some((lo.parse::<usize>().ok()?, hi.parse::<usize>().ok()?)));
    let p = pair(&state, &ctx, id, &uri).await?;
    if p.old.len().max(p.new.len()) > DISPLAY_CAP {
        return Err(WebError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too large to compare here",
            format!(
                "These versions are larger than {} and are not compared in a page; download the unified diff (/devices/{id}/compare/diff?a={}&b={}) or the versions instead.",
                html::bytes(DISPLAY_CAP as i64),
                p.a.id,
                p.b.id
            ),
        )
        .with_ctx(ctx.clone()));
    }
    // The pickers offer the distinct versions, and the two compared even
    // when one is an unchanged backup.
    let mut versions: Vec<StoredBackup> = state
        .db
        .device_versions(
            id,
            &ctx.scope,
            Page {
                limit: 200,
                offset: 0,
            },
        )
        .await?
        .rows
        .into_iter()
        .map(|v| v.stored)
        .collect();
    for s in [&p.a, &p.b] {
        if s.status == Status::Success && !versions.iter().any(|v| v.id == s.id) {
            versions.push(s.clone());
        }
    }
    versions.sort_by(|x, y| (&y.timestamp, y.id).cmp(&(&x.timestamp, x.id)));
    let (old, new) = (p.old, p.new);
    let rendered = tokio::task::spawn_blocking(move || {
        let d = Diff::new(&old, &new);
        let (rows, window) = match (fold, full) {
            (Some((lo, hi)), _) => {
                let rows: Vec<_> = d
                    .rows(None)
                    .into_iter()
                    .filter(|r| {
                        matches!(r, engine::Row::Same { old_number, .. } if (lo..=hi).contains(old_number))
                    })
                    .collect();
                (diff::rows_markup(&rows), None)
            }
            (None, true) => {
                let rows = d.rows(None);
                let total = rows.len();
                let start = from.min(total.saturating_sub(1)) / diff::ROWS_PER_PAGE
                    * diff::ROWS_PER_PAGE;
                let window = start..(start + diff::ROWS_PER_PAGE).min(total);
                (
                    diff::window_markup(&rows, window.clone()),
                    Some((window, total)),
                )
            }
            (None, false) => (diff::render_rows(&d, Some(3)), None),
        };
        (d.is_identical(), d.stats(), d.old.len(), d.new.len(), rows, window)
    })
    .await
    .map_err(|e| {
        WebError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Comparison failed",
            e.to_string(),
        )
    })?;
    let (identical, stats, old_lines, new_lines, rows, window) = rendered;
    let page = ComparePage {
        device_id: id,
        device_name: p.device_name,
        masked: p.masked,
        a: p.a,
        b: p.b,
        full,
        window,
        versions,
        identical,
        stats,
        old_lines,
        new_lines,
        rows,
    };
    Ok(html_page(
        &ctx,
        StatusCode::OK,
        "Compare versions",
        Nav::Devices,
        render_compare(&page),
    ))
}

fn render_compare(p: &ComparePage) -> Markup {
    let id = p.device_id;
    let (a, b) = (p.a.id, p.b.id);
    let base = format!("/devices/{id}/compare?a={a}&b={b}");
    let options = |selected: i64| {
        html! {
            @for s in &p.versions {
                option value=(s.id) selected[s.id == selected] {
                    "#" (s.id) " · " (html::seconds_time(&s.timestamp))
                    @if s.changed == Some(true) { " · changed" @if let Some(a) = &s.author { " by " (a) } }
                }
            }
        }
    };
    let side = |tag: &str, s: &StoredBackup, lines: usize| {
        html! {
            div {
                span class={ "tag " (tag.to_lowercase()) } { (tag) } " "
                (html::time(&s.timestamp)) " · " (s.size.map(html::bytes).unwrap_or_default()) " · "
                (html::count(lines as i64)) " lines"
                @if let Some(a) = &s.author { " · last changed by " (a) }
            }
        }
    };
    html! {
        (crumbs(&[("/devices", "Devices"), (&format!("/devices/{id}"), &p.device_name)]))
        (heading("Compare versions", html! {
            a class="button" href={ "/devices/" (id) "/compare/diff?a=" (a) "&b=" (b) } download { "Unified diff" } " "
            a class="button subtle" href={ "/devices/" (id) "/compare?a=" (b) "&b=" (a) @if p.full { "&context=all" } } { "Swap A and B" }
        }))
        (masked_notice(p.masked, "the stored backups are"))
        // Pickers for another pair.
        form method="get" action={ "/devices/" (id) "/compare" } class="filters compare-form" {
            div class="field" { label for="f-a" { "Old (A)" } select id="f-a" name="a" { (options(a)) } }
            div class="field" { label for="f-b" { "New (B)" } select id="f-b" name="b" { (options(b)) } }
            @if p.full { input type="hidden" name="context" value="all"; }
            div class="filter-buttons" { button type="submit" { "Compare" } }
        }
        div class="diff-head" { (side("A", &p.a, p.old_lines)) (side("B", &p.b, p.new_lines)) }
        @if p.identical {
            (notice("info", if a == b {
                "You picked the same version twice: there is nothing to compare. Pick two different versions above."
            } else {
                "These two versions are identical."
            }))
        } @else {
            p class="diff-stats" {
                span class="plus" { "+" (html::count(p.stats.added as i64)) } " "
                span class="minus" { "−" (html::count(p.stats.removed as i64)) } " lines, "
                (html::count(p.stats.unchanged as i64)) " unchanged · "
                @if p.full { a href=(base) { "Show only the changes" } }
                @else { a href={ (base) "&context=all" } { "Show every line" } }
                " · "
                a href="#change-1" class="change-step" data-change-step="-1" aria-keyshortcuts="p" { "Previous change" }
                " · "
                a href="#change-1" class="change-step" data-change-step="1" aria-keyshortcuts="n" { "Next change" }
                span class="muted small js-only" { " (keys n and p)" }
            }
            div class="diff-wrap" tabindex="0" role="region" aria-label="Comparison" {
                table class="diff" {
                    caption class="sr-only" { "Old version A on the left, new version B on the right; removed lines are marked deleted and added lines inserted." }
                    colgroup { col class="n"; col class="t"; col class="n"; col class="t"; }
                    thead { tr { th scope="col" colspan="2" { "A (old)" } th scope="col" colspan="2" { "B (new)" } } }
                    tbody { (p.rows) }
                }
            }
            @if let Some((window, total)) = p.window.as_ref().filter(|(_, total)| *total > diff::ROWS_PER_PAGE) {
                // Without JavaScript, links to the pages; with it, the next
                // page is appended when this one's end comes into view.
                nav class="diff-pages" aria-label="Rows of the comparison" {
                    @if window.start > 0 {
                        a href={ (base) "&context=all&from=" (window.start - diff::ROWS_PER_PAGE) } rel="prev" { "Previous rows" } " · "
                    }
                    span class="rows-shown" { "Rows " (html::count(window.start as i64 + 1)) "–" (html::count(window.end as i64)) " of " (html::count(*total as i64)) }
                    @if window.end < *total {
                        " · " a href={ (base) "&context=all&from=" (window.end) } rel="next" data-more-rows { "Next rows" }
                    }
                }
            }
        }
    }
}

async fn unified_download(
    Session(ctx): Session,
    State(state): State<Shared>,
    Path(id): Path<i64>,
    uri: Uri,
) -> WebResult<Response> {
    let p = pair(&state, &ctx, id, &uri).await?;
    let stem = RelPath::sanitize_segment(&p.device_name);
    let (sa, sb) = (short_stamp(&p.a.timestamp), short_stamp(&p.b.timestamp));
    let (na, nb) = (
        format!("{stem}@{}", p.a.timestamp),
        format!("{stem}@{}", p.b.timestamp),
    );
    let (old, new) = (p.old, p.new);
    let text = tokio::task::spawn_blocking(move || engine::unified(&old, &new, &na, &nb, 3))
        .await
        .map_err(|e| {
            WebError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Diff failed",
                e.to_string(),
            )
        })?;
    attachment(
        text.into_bytes(),
        "text/x-diff; charset=utf-8",
        &format!("{stem}-{sa}-{sb}.diff"),
    )
}

// ---- a job and its log -------------------------------------------------------------------

fn log_table(log: &str) -> Markup {
    html! {
        @match serde_json::from_str::<Vec<LogEntry>>(log) {
            Ok(entries) if entries.is_empty() => p class="muted" { "Empty log." },
            Ok(entries) => div class="table-wrap" {
                table class="list log" {
                    thead { tr { th scope="col" { "Time" } th scope="col" { "Severity" } th scope="col" { "Source" } th scope="col" { "Message" } } }
                    tbody { @for e in entries {
                        @let sev = serde_json::to_value(e.severity).ok()
                            .and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                        tr class={ "sev-" (sev) } {
                            td class="nowrap" { @if let Some(t) = e.timestamp { (html::time(&t.to_string())) } }
                            td { span class="sev" { (sev) } }
                            td { (e.source) }
                            td class="msg" {
                                // What the device sent: a caption, then its
                                // lines as they were (already masked).
                                @match (e.source == DEVICE_OUTPUT_SOURCE, e.message.split_once('\n')) {
                                    (true, Some((caption, lines))) => {
                                        (caption)
                                        pre class="code plain device-output" { (lines) }
                                    }
                                    _ => (e.message),
                                }
                            }
                        }
                    } }
                }
            },
            Err(_) => pre class="code plain" { (log) },
        }
    }
}

/// What a job's page shows.
struct JobPage {
    job: BackupJob,
    device: Device,
    result: Option<DeviceBackupResult>,
    stored: Option<StoredBackup>,
}

async fn job_page(
    Session(ctx): Session,
    State(state): State<Shared>,
    Path(ti): Path<String>,
) -> WebResult<Response> {
    let job = state
        .db
        .job(&ti)
        .await
        .map_err(|e| WebError::from(e).with_ctx(ctx.clone()))?;
    check_visible(&state, &ctx, job.device_id, format!("job {ti}")).await?;
    let device = state.db.device(job.device_id).await?;
    let result = state.db.device_result_by_task(&ti).await?;
    let stored = match state.db.stored_backup_id_by_task(&ti).await? {
        Some(id) => Some(state.db.stored_backup(id).await?),
        None => None,
    };
    let p = JobPage {
        job,
        device,
        result,
        stored,
    };
    Ok(html_page(
        &ctx,
        StatusCode::OK,
        "Backup job",
        Nav::Devices,
        render_job(&ctx, &p),
    ))
}

fn render_job(ctx: &Ctx, p: &JobPage) -> Markup {
    let (job, device) = (&p.job, &p.device);
    let ti = &job.task_identifier;
    let poll = (!job.state.is_final()).then(|| format!("/jobs/{}/state", enc(ti)));
    html! {
        (crumbs(&[("/devices", "Devices"), (&format!("/devices/{}", device.id), &device.fields.name)]))
        (heading("Backup job", html! {
            @if let Some(s) = p.stored.as_ref().filter(|s| s.status == Status::Success) {
                a class="button primary" href={ "/backups/" (s.id) } { "View version" }
            }
            @if job.state.is_final() && device.fields.enabled {
                // A plain form: the new job's page follows it.
                " " form method="post" action={ "/devices/" (device.id) "/backup" } class="inline" {
                    (ctx.csrf_field()) button type="submit" { "Back up again" }
                }
            }
        }))
        dl class="summary" {
            div { dt { "State" } dd id="job-state" aria-live="polite" data-poll-job=[poll] { (html::state_badge(job.state.as_str())) } }
            div { dt { "Queued" } dd { (html::time(&job.queued_on)) } }
            div { dt { "Updated" } dd { (html::time(&job.updated_at)) } }
            div { dt { "Dispatches" } dd { (job.attempts) } }
            @if let Some(r) = &job.reason { div class="wide" { dt { "Reason" } dd class="reason" { (r) } } }
            div class="wide" { dt { "Task identifier" } dd class="mono small" { (ti) } }
        }
        section aria-labelledby="col-h" {
            h2 id="col-h" { "Collection" }
            @match &p.result {
                None => p class="muted" { "No collection result yet." },
                Some(r) => {
                    p {
                        (html::state_badge(r.status.as_str())) " · " (html::time(&r.timestamp))
                        " · took " (html::duration_ms(r.collection_duration_ms as f64))
                    }
                    (log_table(&r.log))
                }
            }
        }
        section aria-labelledby="st-h" {
            h2 id="st-h" { "Storage" }
            @match &p.stored {
                None if job.state.is_final() => p class="muted" { "Nothing was stored." },
                None => p class="muted" { "Not stored yet." },
                Some(s) => {
                    p {
                        (html::state_badge(s.status.as_str())) " · " (html::time(&s.timestamp)) " · "
                        (size(s)) " · " (changed_cell(s)) " · " span class="mono small" { (s.storage_ref) }
                    }
                    (log_table(&s.log))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::html::test_ctx;
    use super::*;
    use devicevault_core::StorageBackendKind;
    use devicevault_db::{DeviceFields, JobState};

    fn stored(id: i64, changed: Option<bool>) -> StoredBackup {
        StoredBackup {
            id,
            task_id: "t".into(),
            task_identifier: format!("backup_now:{id}"),
            device_id: 4,
            storage_backend: StorageBackendKind::Git,
            storage_ref: "git:main:abc:4/r1.cfg".into(),
            status: Status::Success,
            timestamp: "2026-11-27T10:00:00.000000Z".into(),
            log: "not json <b>".into(),
            location_id: Some(1),
            size: Some(2048),
            sha256: None,
            changed,
            author: None,
            is_binary: false,
        }
    }

    fn device() -> Device {
        Device {
            id: 4,
            fields: DeviceFields {
                name: "r1 <edge>".into(),
                address: "10.0.0.4".into(),
                port: 22,
                driver: "cisco_ios".into(),
                credential: None,
                backup_location: None,
                collection_group: None,
                device_group: None,
                device_type: None,
                enabled: true,
                profile: Default::default(),
            },
            created_at: String::new(),
            archived_at: None,
            health: Default::default(),
        }
    }

    #[test]
    fn a_change_names_its_author_escaped_when_the_device_said() {
        let mut s = stored(7, Some(true));
        assert!(!changed_cell(&s).into_string().contains("by "));
        s.author = Some("<jdoe>".into());
        let cell = changed_cell(&s).into_string();
        assert!(cell.contains("by &lt;jdoe&gt;"), "{cell}");
        s.changed = Some(false);
        assert!(
            !changed_cell(&s).into_string().contains("jdoe"),
            "only a change has an author shown"
        );
    }

    #[test]
    fn a_version_shows_its_lines_escaped_and_says_when_secrets_are_masked() {
        let p = VersionPage {
            stored: stored(8, Some(true)),
            device: device(),
            readable: Some(Readable {
                content: b"hostname r1\nbanner motd ^<script>x</script>^\n".to_vec(),
                masked: true,
            }),
            previous: Some(7),
        };
        let h = render_version(&p).into_string();
        assert!(
            h.contains(
                r#"<span class="l" id="L2">banner motd ^&lt;script&gt;x&lt;/script&gt;^</span>"#
            ),
            "{h}"
        );
        assert!(!h.contains("<script>x"), "{h}");
        assert!(h.contains("masked for your account") && h.contains("2 lines"));
        assert!(
            h.contains(r#"href="/devices/4/compare?a=7&amp;b=8""#),
            "{h}"
        );
        assert!(h.contains("r1 &lt;edge&gt;"), "{h}");
    }

    #[test]
    fn a_job_page_follows_an_open_job_and_shows_a_log_that_is_not_json_as_text() {
        let job = |state| BackupJob {
            id: 1,
            task_id: "t".into(),
            task_identifier: "backup_now:a b".into(),
            device_id: 4,
            state,
            reason: None,
            queued_on: "2026-11-27T10:00:00.000000Z".into(),
            updated_at: "2026-11-27T10:00:01.000000Z".into(),
            deadline: String::new(),
            attempts: 1,
        };
        let open = JobPage {
            job: job(JobState::Collecting),
            device: device(),
            result: None,
            stored: None,
        };
        let h = render_job(&test_ctx(false), &open).into_string();
        assert!(
            h.contains(r#"data-poll-job="/jobs/backup_now%3Aa+b/state""#),
            "{h}"
        );
        assert!(h.contains("Not stored yet.") && !h.contains("Back up again"));
        let done = JobPage {
            job: job(JobState::Stored),
            device: device(),
            result: None,
            stored: Some(stored(8, Some(false))),
        };
        let h = render_job(&test_ctx(false), &done).into_string();
        assert!(!h.contains("data-poll-job") && h.contains("Back up again"));
        assert!(
            h.contains(r#"<pre class="code plain">not json &lt;b&gt;</pre>"#),
            "{h}"
        );
        assert!(h.contains(r#"href="/backups/8""#), "{h}");
    }

    #[test]
    fn every_line_comes_in_pages_of_rows_linked_to_each_other() {
        let page = |window: Option<(std::ops::Range<usize>, usize)>| ComparePage {
            device_id: 4,
            device_name: "r1".into(),
            masked: false,
            a: stored(7, Some(true)),
            b: stored(8, Some(true)),
            full: true,
            window,
            versions: vec![],
            identical: false,
            stats: Stats::default(),
            old_lines: 20_000,
            new_lines: 20_000,
            rows: html! {},
        };
        let h = render_compare(&page(Some((2_000..4_000, 20_000)))).into_string();
        assert!(h.contains("Rows 2,001–4,000 of 20,000"), "{h}");
        assert!(
            h.contains(
                r#"href="/devices/4/compare?a=7&amp;b=8&amp;context=all&amp;from=0" rel="prev""#
            ),
            "{h}"
        );
        assert!(
            h.contains(r#"href="/devices/4/compare?a=7&amp;b=8&amp;context=all&amp;from=4000" rel="next" data-more-rows"#),
            "{h}"
        );
        let last = render_compare(&page(Some((18_000..20_000, 20_000)))).into_string();
        assert!(
            !last.contains("data-more-rows") && last.contains(r#"rel="prev""#),
            "{last}"
        );
        let small = render_compare(&page(Some((0..1_500, 1_500)))).into_string();
        assert!(!small.contains("diff-pages"), "{small}");
    }

    #[test]
    fn a_failed_job_shows_every_attempt_and_what_the_device_said_before_it() {
        let log = serde_json::json!([
            {"source": "collector", "severity": "warning",
             "message": "attempt 1 of 2 failed: timed out after 10s waiting for the first prompt on admin@r1:22; retrying in 1.2 s"},
            {"source": "device", "severity": "info",
             "message": "last 2 lines received before attempt 1 failed (secrets masked):\nbanner <motd>\nr1>"},
            {"source": "collector", "severity": "error", "message": "timed out after 10s waiting for the first prompt"},
        ])
        .to_string();
        let p = JobPage {
            job: BackupJob {
                id: 1,
                task_id: "t".into(),
                task_identifier: "backup_now:x".into(),
                device_id: 4,
                state: JobState::Failed,
                reason: Some("timed out after 10s waiting for the first prompt".into()),
                queued_on: "2026-11-27T10:00:00.000000Z".into(),
                updated_at: "2026-11-27T10:00:01.000000Z".into(),
                deadline: String::new(),
                attempts: 1,
            },
            device: device(),
            result: Some(DeviceBackupResult {
                id: 3,
                task_id: "t".into(),
                task_identifier: "backup_now:x".into(),
                device_id: 4,
                status: Status::Failure,
                timestamp: "2026-11-27T10:00:01.000000Z".into(),
                log,
                collection_duration_ms: 11_000,
            }),
            stored: None,
        };
        let h = render_job(&test_ctx(false), &p).into_string();
        assert!(
            h.contains("attempt 1 of 2 failed") && h.contains("retrying in 1.2 s"),
            "{h}"
        );
        assert!(
            h.contains(r#"<pre class="code plain device-output">banner &lt;motd&gt;"#)
                && h.contains("r1&gt;</pre>"),
            "{h}"
        );
        assert!(
            h.contains("before attempt 1 failed (secrets masked):"),
            "{h}"
        );
        assert!(h.contains("Nothing was stored."), "{h}");
    }

    #[test]
    fn a_device_page_says_when_it_last_succeeded_and_whether_it_is_stale() {
        let page = |health: devicevault_db::DeviceHealth| DevicePage {
            row: DeviceRow {
                device: Device { health, ..device() },
                device_type: None,
                device_group: None,
                last_job: None,
            },
            credential: None,
            location: None,
            collection_group: None,
            page: 1,
            history: History::Versions(Listed {
                rows: Vec::new(),
                total: 0,
            }),
            default_pair: (None, None),
            results: Vec::new(),
            next_run: None,
            compliance: vec![devicevault_db::ComplianceState {
                rule_id: 1,
                rule_name: "no public community".into(),
                device_id: 1,
                device_name: "r1".into(),
                device_group_id: None,
                state: "non_compliant".into(),
                stored_backup_id: Some(2),
                detail: "1 matching line: 4".into(),
                evaluated_at: "2026-01-01T00:00:00.000000Z".into(),
                changed_at: "2026-01-01T00:00:00.000000Z".into(),
            }],
            flash: None,
        };
        let h = render_device(&test_ctx(false), &page(Default::default())).into_string();
        assert!(h.contains("Last success") && h.contains("never"), "{h}");
        assert!(
            h.contains("no public community <span class=\"badge bad\" title=\"1 matching line: 4\">not compliant</span>"),
            "the device's compliance: {h}"
        );
        assert!(
            !h.contains("Stale since") && !h.contains("Failing since"),
            "{h}"
        );
        let h = render_device(
            &test_ctx(false),
            &page(devicevault_db::DeviceHealth {
                last_success_at: Some("2026-11-27T10:00:00.000000Z".into()),
                last_change_at: Some("2026-11-26T09:00:00.000000Z".into()),
                failing_since: Some("2026-11-28T10:00:00.000000Z".into()),
                stale_since: Some("2026-11-28T11:00:00.000000Z".into()),
                ..Default::default()
            }),
        )
        .into_string();
        assert!(
            h.contains(r#"datetime="2026-11-27T10:00:00.000000Z""#),
            "{h}"
        );
        assert!(
            h.contains(r#"datetime="2026-11-26T09:00:00.000000Z""#),
            "{h}"
        );
        assert!(
            h.contains("Failing since") && h.contains("Stale since"),
            "{h}"
        );
        assert!(h.contains(r#"<span class="badge bad">stale</span>"#), "{h}");
    }

    fn page_with(history: History, default_pair: (Option<i64>, Option<i64>)) -> DevicePage {
        DevicePage {
            row: DeviceRow {
                device: device(),
                device_type: None,
                device_group: None,
                last_job: None,
            },
            credential: None,
            location: None,
            collection_group: None,
            page: 1,
            history,
            default_pair,
            results: Vec::new(),
            next_run: None,
            compliance: Vec::new(),
            flash: None,
        }
    }

    #[test]
    fn the_history_shows_distinct_versions_and_picks_the_newest_change_against_the_one_before() {
        let version = |id: i64, first: &str, last: &str, n: i64, previous: Option<i64>| Version {
            stored: StoredBackup {
                timestamp: first.into(),
                ..stored(id, Some(true))
            },
            last_confirmed: last.into(),
            confirmations: n,
            previous,
        };
        let rows = vec![
            version(
                9,
                "2026-11-27T12:00:00.000Z",
                "2026-11-28T08:00:00.000Z",
                21,
                Some(5),
            ),
            version(
                5,
                "2026-11-27T10:00:00.000Z",
                "2026-11-27T11:00:00.000Z",
                2,
                None,
            ),
        ];
        let p = page_with(
            History::Versions(Listed { rows, total: 2 }),
            (Some(5), Some(9)),
        );
        let h = render_device(&test_ctx(false), &p).into_string();
        assert!(
            h.contains("First seen") && h.contains("Last confirmed"),
            "{h}"
        );
        assert!(h.contains(r#"datetime="2026-11-28T08:00:00.000Z""#), "{h}");
        assert!(h.contains(r#"<td class="num">21</td>"#), "{h}");
        // The default pick: A the version before, B the newest change.
        assert!(
            h.contains(r#"name="a" value="5" aria-label="Old version (A): 2026-11-27T10:00:00.000Z" checked"#),
            "{h}"
        );
        assert!(
            h.contains(r#"name="b" value="9" aria-label="New version (B): 2026-11-27T12:00:00.000Z" checked"#),
            "{h}"
        );
        assert!(!h.contains(
            r#"name="a" value="9" aria-label="Old version (A): 2026-11-27T12:00:00.000Z" checked"#
        ));
        // Compare with previous: the version before, never itself.
        assert!(
            h.contains(r#"href="/devices/4/compare?a=5&amp;b=9""#),
            "{h}"
        );
        assert_eq!(h.matches("Compare with previous").count(), 1, "{h}");
        assert!(h.contains(r#"href="/devices/4?all=1""#), "{h}");
        assert!(h.contains(r#"href="/results?device=4""#), "{h}");

        // Every backup on demand, unchanged ones included.
        let p = page_with(
            History::Backups(Listed {
                rows: vec![stored(10, Some(false)), stored(9, Some(true))],
                total: 2,
            }),
            (Some(5), Some(9)),
        );
        let h = render_device(&test_ctx(false), &p).into_string();
        assert!(h.contains("Every backup") && h.contains("unchanged"), "{h}");
        assert!(
            h.contains(r#"href="/devices/4">Show distinct versions only"#),
            "{h}"
        );
        assert!(
            h.contains(r#"name="b" value="9""#) && h.contains("checked"),
            "{h}"
        );
    }

    const UCS_SHA256: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn binary_version(id: i64) -> StoredBackup {
        StoredBackup {
            size: Some(48_213),
            sha256: Some(UCS_SHA256.into()),
            is_binary: true,
            ..stored(id, Some(true))
        }
    }

    #[test]
    fn the_history_shows_a_binary_version_as_its_size_and_sha256_without_a_text_comparison() {
        let version = |stored: StoredBackup, previous: Option<i64>| Version {
            last_confirmed: stored.timestamp.clone(),
            stored,
            confirmations: 1,
            previous,
        };
        let rows = vec![
            version(binary_version(9), Some(5)),
            version(binary_version(5), None),
        ];
        let p = page_with(
            History::Versions(Listed { rows, total: 2 }),
            (Some(5), Some(9)),
        );
        let h = render_device(&test_ctx(false), &p).into_string();
        let line = format!("binary, 48213 bytes, SHA-256 {UCS_SHA256}");
        assert_eq!(h.matches(&line).count(), 2, "{h}");
        // Bytes have no line-by-line comparison; each stays downloadable.
        assert!(!h.contains("Compare with previous"), "{h}");
        assert!(h.contains(r#"href="/backups/9/download""#), "{h}");
        // Every backup on demand: the same line.
        let p = page_with(
            History::Backups(Listed {
                rows: vec![binary_version(9)],
                total: 1,
            }),
            (None, Some(9)),
        );
        let h = render_device(&test_ctx(false), &p).into_string();
        assert!(h.contains(&line), "{h}");
    }

    #[test]
    fn a_binary_version_page_shows_its_line_and_a_download_and_no_text() {
        let p = VersionPage {
            stored: binary_version(8),
            device: device(),
            readable: None,
            previous: Some(7),
        };
        let h = render_version(&p).into_string();
        assert!(
            h.contains(&format!("binary, 48213 bytes, SHA-256 {UCS_SHA256}")),
            "{h}"
        );
        assert!(h.contains(r#"href="/backups/8/download""#), "{h}");
        assert!(!h.contains("compare?a=7"), "{h}");
        assert!(!h.contains("lines"), "{h}");
    }
}
