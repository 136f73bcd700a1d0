//! A device's page (summary, versions, recent collections), one version,
//! downloads, the comparison of two versions and a job's merged log.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use devicevault_core::{LogEntry, RelPath, Status};
use devicevault_db::{Page, StoredBackup};

use super::devices::{backup_button, flash, status_cell};
use super::diff;
use super::html::{self, Ctx, Nav, enc, esc, heading, notice};
use super::session::{Session, check_device, check_visible};
use super::{WebError, WebResult, html_page, query};
use crate::Shared;
use devicevault_pipeline::app::diff::{self as engine, Diff};
use devicevault_pipeline::app::reading::{self, DISPLAY_CAP, ReadFailure, Readable};

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
    reading::read_for(state, &ctx.user, s).await.map_err(|e| {
        let (status, title) = match e {
            ReadFailure::NothingStored(_) => (StatusCode::CONFLICT, "Nothing was stored"),
            ReadFailure::CannotMask(_) => (StatusCode::FORBIDDEN, "Secrets cannot be masked"),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Could not read the backup",
            ),
        };
        WebError::new(status, title, e.to_string()).with_ctx(ctx.clone())
    })
}

/// The notice on a page that shows a masked configuration.
fn masked_notice(r: &Readable) -> String {
    if r.masked {
        notice(
            "info",
            "Secrets (enable secrets, SNMP communities, keys) are masked for your account; the stored backup is complete.",
        )
    } else {
        String::new()
    }
}

fn job_href(ti: &str) -> String {
    format!("/jobs/{}", enc(ti))
}

fn changed_cell(s: &StoredBackup) -> &'static str {
    match (s.status, s.changed) {
        (Status::Failure, _) => "—",
        (_, Some(true)) => r#"<span class="badge chg">changed</span>"#,
        (_, Some(false)) => r#"<span class="muted">unchanged</span>"#,
        (_, None) => r#"<span class="muted">?</span>"#,
    }
}

fn short_stamp(ts: &str) -> String {
    ts.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(15)
        .collect()
}

// ---- the device page ------------------------------------------------------------------

async fn device_page(
    Session(ctx): Session,
    State(state): State<Shared>,
    Path(id): Path<i64>,
    uri: Uri,
) -> WebResult<Response> {
    let q = query(&uri);
    check_device(&state, &ctx, id).await?;
    let row = state.db.device_row(id).await?;
    let d = &row.device;
    let f = &d.fields;
    let page = q.get("page").parse::<i64>().unwrap_or(1).max(1);
    let versions = state
        .db
        .stored_backups(
            Some(id),
            &ctx.scope,
            Page {
                limit: VERSIONS_PER_PAGE,
                offset: (page - 1) * VERSIONS_PER_PAGE,
            },
        )
        .await?;
    let results = state
        .db
        .device_results(
            Some(id),
            &ctx.scope,
            Page {
                limit: 10,
                offset: 0,
            },
        )
        .await?;
    let name_of = |r: Result<String, devicevault_db::DbError>| r.ok();
    let credential = match f.credential {
        Some(c) => name_of(state.db.credential(c).await.map(|c| c.name)),
        None => None,
    };
    let location = match f.backup_location {
        Some(l) => name_of(
            state
                .db
                .location(l)
                .await
                .map(|l| format!("{} ({})", l.name, l.location_type.as_str())),
        ),
        None => None,
    };
    let cgroup = match f.collection_group {
        Some(g) => name_of(state.db.collection_group(g).await.map(|g| g.name)),
        None => None,
    };

    let mut actions = backup_button(&ctx, d);
    if ctx.user.is_admin {
        let _ = write!(
            actions,
            r#" <a class="button" href="/devices/{id}/edit">Edit</a>"#
        );
    }
    let mut b = String::from(r#"<p class="crumbs"><a href="/devices">Devices</a> ›</p>"#);
    b.push_str(&heading(&f.name, &actions));
    if let Some(msg) = flash(q.get("flash")) {
        b.push_str(&notice("ok", msg));
    }
    let dash = || r#"<span class="muted">—</span>"#.to_owned();
    let or_dash = |v: Option<&str>| v.map(|s| esc(s).to_string()).unwrap_or_else(dash);
    let missing = |v: Option<String>, what: &str, href: &str| match v {
        Some(v) => esc(&v).to_string(),
        None => format!(
            r#"<span class="warn">none — it cannot be backed up</span>{}"#,
            if ctx.user.is_admin {
                format!(r#" (<a href="{href}">set a {what}</a>)"#)
            } else {
                String::new()
            }
        ),
    };
    let edit = format!("/devices/{id}/edit");
    let _ = write!(
        b,
        r#"<dl class="summary">
<div><dt>Address</dt><dd class="mono">{addr}:{port}</dd></div>
<div><dt>Driver</dt><dd>{driver}</dd></div>
<div><dt>Type</dt><dd>{ty}</dd></div>
<div><dt>Group</dt><dd>{group}</dd></div>
<div><dt>Credential</dt><dd>{cred}</dd></div>
<div><dt>Backup location</dt><dd>{loc}</dd></div>
<div><dt>Collection group</dt><dd>{cg}</dd></div>
<div><dt>Enabled</dt><dd>{enabled}</dd></div>
<div class="wide"><dt>Last backup</dt><dd id="status-{id}" aria-live="polite">{status}</dd></div>
</dl>"#,
        addr = esc(&f.address),
        port = f.port,
        driver = esc(&f.driver),
        ty = or_dash(row.device_type.as_deref()),
        group = or_dash(row.device_group.as_deref()),
        cred = missing(credential, "credential", &edit),
        loc = missing(location, "backup location", &edit),
        cg = cgroup
            .map(|g| esc(&g).to_string())
            .unwrap_or_else(|| "Default".into()),
        enabled = if f.enabled {
            "Yes".to_owned()
        } else {
            r#"<span class="badge none">disabled</span>"#.to_owned()
        },
        status = status_cell(&row),
    );

    b.push_str(r#"<section aria-labelledby="versions-h"><h2 id="versions-h">Stored versions</h2>"#);
    if versions.total == 0 {
        b.push_str(&html::empty(
            "No stored versions yet.",
            "Press “Backup now” to fetch this device's configuration; every change is kept as a new version.",
        ));
    } else {
        let ok: Vec<&StoredBackup> = versions
            .rows
            .iter()
            .filter(|s| s.status == Status::Success)
            .collect();
        let (default_a, default_b) = match ok.as_slice() {
            [newest, older, ..] => (older.id, newest.id),
            [only] => (only.id, only.id),
            [] => (0, 0),
        };
        let _ = write!(
            b,
            r#"<form method="get" action="/devices/{id}/compare" class="compare-pick">
<p class="hint" id="pick-hint">Pick an old (A) and a new (B) version, then compare them side by side.</p>
<div class="table-wrap"><table class="list versions"><thead><tr><th scope="col" class="pick">A</th><th scope="col" class="pick">B</th><th scope="col">Stored</th><th scope="col">Size</th><th scope="col">Changed</th><th scope="col">Status</th><th scope="col">Backend</th><th scope="col">Actions</th></tr></thead><tbody>"#
        );
        for s in &versions.rows {
            let usable = s.status == Status::Success;
            let radio = |name: &str, checked: bool| {
                if usable {
                    format!(
                        r#"<input type="radio" name="{name}" value="{v}" aria-label="{label} {t}"{c}>"#,
                        v = s.id,
                        label = if name == "a" {
                            "Old version (A):"
                        } else {
                            "New version (B):"
                        },
                        t = esc(&s.timestamp),
                        c = if checked { " checked" } else { "" }
                    )
                } else {
                    String::new()
                }
            };
            let _ = write!(
                b,
                r#"<tr><td class="pick">{ra}</td><td class="pick">{rb}</td><td class="nowrap">{time} <span class="muted small">{ago}</span></td><td class="num">{size}</td><td>{changed}</td><td>{status}</td><td>{backend}</td><td class="row-actions">"#,
                ra = radio("a", s.id == default_a),
                rb = radio("b", s.id == default_b),
                time = html::time(&s.timestamp),
                ago = esc(&html::ago(&s.timestamp)),
                size = s.size.map(html::bytes).unwrap_or_else(|| "—".into()),
                changed = changed_cell(s),
                status = html::state_badge(if usable { "stored" } else { "failed" }),
                backend = esc(s.storage_backend.as_str()),
            );
            if usable {
                let _ = write!(
                    b,
                    r#"<a href="/backups/{sid}" class="button small subtle">View</a> <a href="/backups/{sid}/download" class="button small subtle" download>Download</a> "#,
                    sid = s.id
                );
            }
            let _ = write!(
                b,
                r#"<a href="{}" class="button small subtle">Log</a></td></tr>"#,
                esc(&job_href(&s.task_identifier))
            );
        }
        b.push_str(r#"</tbody></table></div><div class="buttons"><button type="submit" class="primary" aria-describedby="pick-hint">Compare A and B</button></div></form>"#);
        b.push_str(&html::pagination(
            page,
            VERSIONS_PER_PAGE,
            versions.total,
            |p| format!("/devices/{id}?page={p}"),
        ));
    }
    b.push_str("</section>");

    b.push_str(r#"<section aria-labelledby="collections-h"><h2 id="collections-h">Recent collections</h2>"#);
    if results.rows.is_empty() {
        b.push_str(r#"<p class="muted">None yet.</p>"#);
    } else {
        b.push_str(r#"<div class="table-wrap"><table class="list"><thead><tr><th scope="col">When</th><th scope="col">Outcome</th><th scope="col">Duration</th><th scope="col">Log</th></tr></thead><tbody>"#);
        for r in &results.rows {
            let _ = write!(
                b,
                r#"<tr><td class="nowrap">{}</td><td>{}</td><td class="num">{}</td><td><a href="{}">Log</a></td></tr>"#,
                html::time(&r.timestamp),
                html::state_badge(r.status.as_str()),
                html::duration_ms(r.collection_duration_ms as f64),
                esc(&job_href(&r.task_identifier)),
            );
        }
        b.push_str("</tbody></table></div>");
    }
    b.push_str("</section>");
    Ok(html_page(&ctx, &f.name, Nav::Devices, &b))
}

// ---- one version ------------------------------------------------------------------------

fn stored_or_404(
    r: Result<StoredBackup, devicevault_db::DbError>,
    ctx: &Ctx,
) -> WebResult<StoredBackup> {
    r.map_err(|e| WebError::from(e).with_ctx(ctx.clone()))
}

async fn version(
    Session(ctx): Session,
    State(state): State<Shared>,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    let s = stored_or_404(state.db.stored_backup(id).await, &ctx)?;
    check_visible(&state, &ctx, s.device_id, format!("stored backup {id}")).await?;
    let device = state.db.device(s.device_id).await?;
    let readable = read(&state, &ctx, &s).await?;
    let previous = state
        .db
        .previous_stored_backup(s.device_id, &s.timestamp, s.id)
        .await?;
    let mut actions =
        format!(r#"<a class="button primary" href="/backups/{id}/download" download>Download</a>"#);
    if let Some(p) = previous {
        let _ = write!(
            actions,
            r#" <a class="button" href="/devices/{}/compare?a={p}&amp;b={id}">Compare with previous</a>"#,
            s.device_id
        );
    }
    let _ = write!(
        actions,
        r#" <a class="button subtle" href="{}">Log</a>"#,
        esc(&job_href(&s.task_identifier))
    );
    let mut b = format!(
        r#"<p class="crumbs"><a href="/devices">Devices</a> › <a href="/devices/{}">{}</a> ›</p>"#,
        s.device_id,
        esc(&device.fields.name)
    );
    b.push_str(&heading(
        &format!("Version of {}", seconds_time(&s.timestamp)),
        &actions,
    ));
    let _ = write!(
        b,
        r#"<dl class="summary"><div><dt>Stored</dt><dd>{}</dd></div><div><dt>Size</dt><dd>{}</dd></div><div><dt>Changed</dt><dd>{}</dd></div><div><dt>Backend</dt><dd>{}</dd></div><div class="wide"><dt>Reference</dt><dd class="mono small">{}</dd></div><div class="wide"><dt>SHA-256</dt><dd class="mono small">{}</dd></div></dl>"#,
        html::time(&s.timestamp),
        s.size.map(html::bytes).unwrap_or_else(|| "—".into()),
        changed_cell(&s),
        esc(s.storage_backend.as_str()),
        esc(&s.storage_ref),
        esc(s.sha256.as_deref().unwrap_or("—")),
    );
    b.push_str(&masked_notice(&readable));
    let size = readable.content.len();
    match String::from_utf8(readable.content) {
        Ok(_) if size > DISPLAY_CAP => {
            let _ = write!(
                b,
                r#"<div class="notice info" role="status"><p>This version is {}, too large to show in a page. <a href="/backups/{id}/download" download>Download it</a> to read it.</p></div>"#,
                html::bytes(size as i64)
            );
        }
        Ok(text) if !s.is_binary => {
            let lines = engine::lines(&text);
            let _ = write!(
                b,
                r#"<p class="muted small">{} lines</p><div class="code-wrap"><pre class="code"><code>"#,
                html::count(lines.len() as i64)
            );
            for l in &lines {
                b.push_str(r#"<span class="l">"#);
                html::push_esc(&mut b, l);
                // Block spans: a newline between them would double the spacing.
                b.push_str("</span>");
            }
            b.push_str("</code></pre></div>");
        }
        Ok(_) | Err(_) => {
            b.push_str(&notice(
                "info",
                "This version is binary; download it to look at it.",
            ));
        }
    }
    Ok(html_page(&ctx, &device.fields.name, Nav::Devices, &b))
}

fn seconds_time(ts: &str) -> String {
    ts.get(..19)
        .map(|s| format!("{} UTC", s.replace('T', " ")))
        .unwrap_or_else(|| ts.to_owned())
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
    if a.is_binary || b.is_binary {
        return Err(WebError::bad_request(
            "Binary versions cannot be compared line by line; download them instead.",
        )
        .with_ctx(ctx.clone()));
    }
    let (ra, rb) = tokio::join!(read(state, ctx, &a), read(state, ctx, &b));
    let (ra, rb) = (ra?, rb?);
    let masked = ra.masked || rb.masked;
    let text = |bytes: Vec<u8>| -> String {
        String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    };
    Ok(Pair {
        device_name: device.fields.name,
        old: text(ra.content),
        new: text(rb.content),
        masked,
        a,
        b,
    })
}

async fn compare(
    Session(ctx): Session,
    State(state): State<Shared>,
    Path(id): Path<i64>,
    uri: Uri,
) -> WebResult<Response> {
    let q = query(&uri);
    let full = q.get("context") == "all";
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
    let versions = state
        .db
        .stored_backups(
            Some(id),
            &ctx.scope,
            Page {
                limit: 200,
                offset: 0,
            },
        )
        .await?;

    let mut b = format!(
        r#"<p class="crumbs"><a href="/devices">Devices</a> › <a href="/devices/{id}">{}</a> ›</p>"#,
        esc(&p.device_name)
    );
    let base = format!("/devices/{id}/compare?a={}&b={}", p.a.id, p.b.id);
    let actions = format!(
        r#"<a class="button" href="/devices/{id}/compare/diff?a={a}&amp;b={bb}" download>Unified diff</a> <a class="button subtle" href="/devices/{id}/compare?a={bb}&amp;b={a}{ctxq}">Swap A and B</a>"#,
        a = p.a.id,
        bb = p.b.id,
        ctxq = if full { "&amp;context=all" } else { "" },
    );
    b.push_str(&heading("Compare versions", &actions));
    if p.masked {
        b.push_str(&notice(
            "info",
            "Secrets (enable secrets, SNMP communities, keys) are masked for your account; the stored backups are complete.",
        ));
    }

    // Pickers for another pair.
    let options = |selected: i64| {
        versions
            .rows
            .iter()
            .filter(|s| s.status == Status::Success)
            .map(|s| {
                format!(
                    r#"<option value="{}"{}>#{} · {}{}</option>"#,
                    s.id,
                    if s.id == selected { " selected" } else { "" },
                    s.id,
                    esc(&seconds_time(&s.timestamp)),
                    if s.changed == Some(true) {
                        " · changed"
                    } else {
                        ""
                    }
                )
            })
            .collect::<String>()
    };
    let _ = write!(
        b,
        r#"<form method="get" action="/devices/{id}/compare" class="filters compare-form"><div class="field"><label for="f-a">Old (A)</label><select id="f-a" name="a">{}</select></div><div class="field"><label for="f-b">New (B)</label><select id="f-b" name="b">{}</select></div>{}<div class="filter-buttons"><button type="submit">Compare</button></div></form>"#,
        options(p.a.id),
        options(p.b.id),
        if full {
            r#"<input type="hidden" name="context" value="all">"#
        } else {
            ""
        },
    );

    let (old, new) = (p.old, p.new);
    let rendered = tokio::task::spawn_blocking(move || {
        let d = Diff::new(&old, &new);
        let mut rows = String::with_capacity(if full { old.len() * 3 } else { 16 * 1024 });
        diff::render_rows(&d, if full { None } else { Some(3) }, &mut rows);
        (d.is_identical(), d.stats(), d.old.len(), d.new.len(), rows)
    })
    .await
    .map_err(|e| {
        WebError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Comparison failed",
            e.to_string(),
        )
    })?;
    let (identical, stats, old_lines, new_lines, rows) = rendered;

    let _ = write!(
        b,
        r#"<div class="diff-head"><div><span class="tag a">A</span> {} · {} · {} lines</div><div><span class="tag b">B</span> {} · {} · {} lines</div></div>"#,
        html::time(&p.a.timestamp),
        p.a.size.map(html::bytes).unwrap_or_default(),
        html::count(old_lines as i64),
        html::time(&p.b.timestamp),
        p.b.size.map(html::bytes).unwrap_or_default(),
        html::count(new_lines as i64),
    );
    if identical {
        b.push_str(&notice("info", if p.a.id == p.b.id {
            "You picked the same version twice: there is nothing to compare. Pick two different versions above."
        } else {
            "These two versions are identical."
        }));
        return Ok(html_page(&ctx, "Compare versions", Nav::Devices, &b));
    }
    let _ = write!(
        b,
        r#"<p class="diff-stats"><span class="plus">+{}</span> <span class="minus">−{}</span> lines, {} unchanged · {}</p>"#,
        html::count(stats.added as i64),
        html::count(stats.removed as i64),
        html::count(stats.unchanged as i64),
        if full {
            format!(r#"<a href="{}">Show only the changes</a>"#, esc(&base))
        } else {
            format!(
                r#"<a href="{}">Show every line</a>"#,
                esc(&format!("{base}&context=all"))
            )
        }
    );
    b.push_str(r#"<div class="diff-wrap"><table class="diff"><caption class="sr-only">Old version A on the left, new version B on the right; removed lines are marked deleted and added lines inserted.</caption><colgroup><col class="n"><col class="t"><col class="n"><col class="t"></colgroup><thead><tr><th scope="col" colspan="2">A (old)</th><th scope="col" colspan="2">B (new)</th></tr></thead><tbody>"#);
    b.push_str(&rows);
    b.push_str("</tbody></table></div>");
    Ok(html_page(&ctx, "Compare versions", Nav::Devices, &b))
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

fn log_table(b: &mut String, log: &str) {
    match serde_json::from_str::<Vec<LogEntry>>(log) {
        Ok(entries) if entries.is_empty() => b.push_str(r#"<p class="muted">Empty log.</p>"#),
        Ok(entries) => {
            b.push_str(r#"<div class="table-wrap"><table class="list log"><thead><tr><th scope="col">Time</th><th scope="col">Severity</th><th scope="col">Source</th><th scope="col">Message</th></tr></thead><tbody>"#);
            for e in entries {
                let sev = serde_json::to_value(e.severity)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let _ = write!(
                    b,
                    r#"<tr class="sev-{sev}"><td class="nowrap">{}</td><td><span class="sev">{}</span></td><td>{}</td><td class="msg">{}</td></tr>"#,
                    e.timestamp
                        .map(|t| html::time(&t.to_string()))
                        .unwrap_or_default(),
                    esc(&sev),
                    esc(&e.source),
                    esc(&e.message),
                );
            }
            b.push_str("</tbody></table></div>");
        }
        Err(_) => {
            b.push_str(r#"<pre class="code plain">"#);
            html::push_esc(b, log);
            b.push_str("</pre>");
        }
    }
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
    let mut b = format!(
        r#"<p class="crumbs"><a href="/devices">Devices</a> › <a href="/devices/{}">{}</a> ›</p>"#,
        device.id,
        esc(&device.fields.name)
    );
    let mut actions = String::new();
    if let Some(s) = stored.as_ref().filter(|s| s.status == Status::Success) {
        let _ = write!(
            actions,
            r#"<a class="button primary" href="/backups/{}">View version</a>"#,
            s.id
        );
    }
    if job.state.is_final() && device.fields.enabled {
        // A plain form: the new job's page follows it.
        let _ = write!(
            actions,
            r#" <form method="post" action="/devices/{}/backup" class="inline">{}<button type="submit">Back up again</button></form>"#,
            device.id,
            ctx.csrf_field()
        );
    }
    b.push_str(&heading("Backup job", &actions));
    let state_url = format!("/jobs/{}/state", enc(&ti));
    let _ = write!(
        b,
        r#"<dl class="summary"><div><dt>State</dt><dd id="job-state" aria-live="polite"{poll}>{badge}</dd></div><div><dt>Queued</dt><dd>{queued}</dd></div><div><dt>Updated</dt><dd>{updated}</dd></div><div><dt>Dispatches</dt><dd>{attempts}</dd></div>{reason}<div class="wide"><dt>Task identifier</dt><dd class="mono small">{ti}</dd></div></dl>"#,
        poll = if job.state.is_final() {
            String::new()
        } else {
            format!(r#" data-poll-job="{}""#, esc(&state_url))
        },
        badge = html::state_badge(job.state.as_str()),
        queued = html::time(&job.queued_on),
        updated = html::time(&job.updated_at),
        attempts = job.attempts,
        reason = job
            .reason
            .as_deref()
            .map(|r| format!(
                r#"<div class="wide"><dt>Reason</dt><dd class="reason">{}</dd></div>"#,
                esc(r)
            ))
            .unwrap_or_default(),
        ti = esc(&ti),
    );
    b.push_str(r#"<section aria-labelledby="col-h"><h2 id="col-h">Collection</h2>"#);
    match &result {
        None => b.push_str(r#"<p class="muted">No collection result yet.</p>"#),
        Some(r) => {
            let _ = write!(
                b,
                r#"<p>{} · {} · took {}</p>"#,
                html::state_badge(r.status.as_str()),
                html::time(&r.timestamp),
                html::duration_ms(r.collection_duration_ms as f64)
            );
            log_table(&mut b, &r.log);
        }
    }
    b.push_str(r#"</section><section aria-labelledby="st-h"><h2 id="st-h">Storage</h2>"#);
    match &stored {
        None if job.state.is_final() => b.push_str(r#"<p class="muted">Nothing was stored.</p>"#),
        None => b.push_str(r#"<p class="muted">Not stored yet.</p>"#),
        Some(s) => {
            let _ = write!(
                b,
                r#"<p>{} · {} · {} · {} · <span class="mono small">{}</span></p>"#,
                html::state_badge(s.status.as_str()),
                html::time(&s.timestamp),
                s.size.map(html::bytes).unwrap_or_else(|| "—".into()),
                changed_cell(s),
                esc(&s.storage_ref),
            );
            log_table(&mut b, &s.log);
        }
    }
    b.push_str("</section>");
    Ok(html_page(&ctx, "Backup job", Nav::Devices, &b))
}
