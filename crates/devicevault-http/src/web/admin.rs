//! Administration: backup locations, credentials (secrets write-only),
//! collection groups, device groups, device types, users and their tokens.
//! Everyone signed in reads the inventory lists; only administrators see
//! the forms and may post them, and only they see users.

use std::fmt::Write as _;
use std::path::Path as FsPath;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use devicevault_core::StorageBackendKind;
use devicevault_db::{BackupLocation, Credential, DbError, Page, User};
use devicevault_storage::StorageRoots;
use serde_json::{Map, Value};

use super::html::{self, Ctx, Errors, Nav, checkbox, esc, field, notice, select, text_input};
use super::session::{AdminPosted, AdminSession, Form, Session};
use super::{WebError, WebResult, html_page, query};
use crate::Shared;
use devicevault_pipeline::app::auth;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/admin", get(overview))
        .route("/admin/locations", get(locations).post(create_location))
        .route(
            "/admin/locations/{id}",
            get(edit_location).post(update_location),
        )
        .route("/admin/locations/{id}/delete", post(delete_location))
        .route(
            "/admin/credentials",
            get(credentials).post(create_credential),
        )
        .route(
            "/admin/credentials/{id}",
            get(edit_credential).post(update_credential),
        )
        .route("/admin/credentials/{id}/delete", post(delete_credential))
        .route(
            "/admin/collection-groups",
            get(collection_groups).post(create_collection_group),
        )
        .route(
            "/admin/collection-groups/{id}",
            get(edit_collection_group).post(update_collection_group),
        )
        .route(
            "/admin/collection-groups/{id}/delete",
            post(delete_collection_group),
        )
        .route(
            "/admin/device-groups",
            get(device_groups).post(create_device_group),
        )
        .route(
            "/admin/device-groups/{id}",
            get(edit_device_group).post(update_device_group),
        )
        .route(
            "/admin/device-groups/{id}/delete",
            post(delete_device_group),
        )
        .route(
            "/admin/device-types",
            get(device_types).post(create_device_type),
        )
        .route(
            "/admin/device-types/{id}",
            get(edit_device_type).post(update_device_type),
        )
        .route("/admin/device-types/{id}/delete", post(delete_device_type))
        .route("/admin/users", get(users).post(create_user))
        .route("/admin/users/{id}", get(user_page))
        .route("/admin/users/{id}/password", post(user_password))
        .route("/admin/users/{id}/role", post(user_role))
        .route("/admin/users/{id}/scope", post(user_scope))
        .route("/admin/users/{id}/delete", post(delete_user))
        .route("/admin/users/{id}/secrets", post(user_secrets))
        .route(
            "/admin/users/{id}/sign-out-everywhere",
            post(sign_out_user_everywhere),
        )
        .route("/admin/users/{id}/tokens", post(create_token))
        .route(
            "/admin/users/{id}/tokens/{token}/delete",
            post(delete_token),
        )
}

const ALL: Page = Page {
    limit: 10_000,
    offset: 0,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Overview,
    Locations,
    Credentials,
    CollectionGroups,
    DeviceGroups,
    DeviceTypes,
    Users,
    Tokens,
    Archive,
}

const SECTIONS: [(Section, &str, &str); 8] = [
    (Section::Locations, "/admin/locations", "Backup locations"),
    (Section::Credentials, "/admin/credentials", "Credentials"),
    (
        Section::CollectionGroups,
        "/admin/collection-groups",
        "Collection groups",
    ),
    (
        Section::DeviceGroups,
        "/admin/device-groups",
        "Device groups",
    ),
    (Section::DeviceTypes, "/admin/device-types", "Device types"),
    (Section::Users, "/admin/users", "Users"),
    (Section::Tokens, "/admin/tokens", "Tokens"),
    (
        Section::Archive,
        "/admin/archived-devices",
        "Archived devices",
    ),
];

/// The administrators-only sections.
fn admins_only(s: Section) -> bool {
    matches!(s, Section::Users | Section::Tokens | Section::Archive)
}

/// The page of every token (see `account::all_tokens`).
pub(super) fn tokens_page(ctx: &Ctx, body: &str) -> Response {
    admin_page(ctx, Section::Tokens, "Tokens", body, StatusCode::OK)
}

/// The page of archived devices (see `devices::archived`).
pub(super) fn archive_page(ctx: &Ctx, body: &str) -> Response {
    admin_page(
        ctx,
        Section::Archive,
        "Archived devices",
        body,
        StatusCode::OK,
    )
}

/// An administration page: the section tabs, then `body`.
fn admin_page(
    ctx: &Ctx,
    section: Section,
    title: &str,
    body: &str,
    status: StatusCode,
) -> Response {
    let mut b = String::from(r#"<nav class="tabs" aria-label="Administration">"#);
    for (s, href, label) in SECTIONS {
        if admins_only(s) && !ctx.user.is_admin {
            continue;
        }
        let _ = write!(
            b,
            r#"<a href="{href}"{}>{label}</a>"#,
            if s == section {
                r#" aria-current="page""#
            } else {
                ""
            }
        );
    }
    b.push_str("</nav>");
    b.push_str(body);
    (status, html_page(ctx, title, Nav::Admin, &b)).into_response()
}

fn status_for(errors: &Errors) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// Fixed messages shown after a redirect.
fn flash(code: &str) -> Option<&'static str> {
    Some(match code {
        "created" => "Created.",
        "saved" => "Saved.",
        "deleted" => "Deleted.",
        "password" => "Password changed.",
        "role" => "Role changed.",
        "scope" => "The devices this user sees changed.",
        "revoked" => "Token revoked.",
        "everywhere" => "Signed out everywhere: every session and token of this user has ended.",
        "secrets" => "Permission to see secrets changed.",
        _ => return None,
    })
}

fn flash_of(uri: &axum::http::Uri) -> String {
    flash(query(uri).get("flash"))
        .map(|m| notice("ok", m))
        .unwrap_or_default()
}

/// A deletion refused because something still uses the object.
fn in_use(ctx: &Ctx, what: &str, back: &str, e: DbError) -> Response {
    match e {
        DbError::Conflict(_) => WebError::new(
            StatusCode::CONFLICT,
            format!("This {what} is in use"),
            format!("The {what} cannot be deleted while devices or stored backups refer to it. Change them first, then delete it. ({back})"),
        )
        .with_ctx(ctx.clone())
        .into_response(),
        other => WebError::from(other).with_ctx(ctx.clone()).into_response(),
    }
}

fn check_name(e: &mut Errors, name: &str) {
    if let Err(err) = devicevault_core::Name::parse(name) {
        let m = err.to_string();
        e.add("name", format!("{}{}.", &m[..1].to_uppercase(), &m[1..]));
    }
}

/// A `Conflict` on insert or update is a duplicate name.
fn save_result<T>(r: Result<T, DbError>, e: &mut Errors) -> WebResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(DbError::Conflict(_)) => {
            e.add("name", "This name is taken.");
            Ok(None)
        }
        Err(DbError::Invalid(m)) => {
            e.add("name", m);
            Ok(None)
        }
        Err(other) => Err(other.into()),
    }
}

fn form_open(ctx: &Ctx, action: &str, title: &str) -> String {
    format!(
        r#"<section class="panel form-panel" aria-labelledby="form-h"><h2 id="form-h">{}</h2><form method="post" action="{}" class="form" novalidate>{}"#,
        esc(title),
        esc(action),
        ctx.csrf_field()
    )
}

fn form_close(submit: &str, cancel: Option<&str>) -> String {
    format!(
        r#"<div class="buttons"><button type="submit" class="primary">{}</button>{}</div></form></section>"#,
        esc(submit),
        cancel
            .map(|c| format!(r#" <a href="{}" class="button subtle">Cancel</a>"#, esc(c)))
            .unwrap_or_default()
    )
}

fn delete_section(ctx: &Ctx, action: &str, what: &str, name: &str, note: &str) -> String {
    format!(
        r#"<section class="danger-zone"><h2>Delete</h2><p>{}</p>{}</section>"#,
        esc(note),
        html::post_button(
            ctx,
            action,
            &format!("Delete {what}"),
            "danger",
            Some(&format!("Delete {what} {name}?")),
            &[]
        )
    )
}

// ---- overview -------------------------------------------------------------------------------

async fn overview(Session(ctx): Session, State(state): State<Shared>) -> WebResult<Response> {
    let db = &state.db;
    let locations = db
        .list_locations(Page {
            limit: 1,
            offset: 0,
        })
        .await?
        .total;
    let credentials = db
        .list_credentials(Page {
            limit: 1,
            offset: 0,
        })
        .await?
        .total;
    let cgroups = db.list_collection_groups().await?.len() as i64;
    let dgroups = db
        .list_device_groups(Page {
            limit: 1,
            offset: 0,
        })
        .await?
        .total;
    let types = db
        .list_device_types(Page {
            limit: 1,
            offset: 0,
        })
        .await?
        .total;
    let users = if ctx.user.is_admin {
        Some(db.count_users().await?)
    } else {
        None
    };
    let mut b = html::heading("Administration", "");
    b.push_str(r#"<div class="cards">"#);
    for ((section, href, label), n) in SECTIONS.iter().zip([
        Some(locations),
        Some(credentials),
        Some(cgroups),
        Some(dgroups),
        Some(types),
        users,
    ]) {
        let Some(n) = n else { continue };
        let hint = match section {
            Section::Locations => "Git repositories and directories that receive backups",
            Section::Credentials => "Logins for devices; secrets are write-only",
            Section::CollectionGroups => "Which collectors reach which devices",
            Section::DeviceGroups => "Groups for filtering and schedules",
            Section::DeviceTypes => "Models and families",
            _ => "Who may sign in, API tokens",
        };
        let _ = write!(
            b,
            r#"<a class="card" href="{href}"><span class="card-label">{label}</span><span class="card-value">{}</span><span class="card-sub">{hint}</span></a>"#,
            html::count(n)
        );
    }
    b.push_str("</div>");
    if !ctx.user.is_admin {
        b.push_str(&notice(
            "info",
            "You may read these lists; an administrator changes them.",
        ));
    }
    Ok(admin_page(
        &ctx,
        Section::Overview,
        "Administration",
        &b,
        StatusCode::OK,
    ))
}

// ---- backup locations ----------------------------------------------------------------------

#[derive(Default)]
struct LocationForm {
    name: String,
    kind: String,
    path: String,
    branch: String,
    extra: String,
}

const LOCATION_KEYS: [&str; 4] = ["repo_path", "branch", "base_path", "path"];

impl LocationForm {
    fn of(l: &BackupLocation) -> Self {
        let s = |k: &str| {
            l.config
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let path = match l.location_type {
            StorageBackendKind::Git => s("repo_path"),
            StorageBackendKind::Fs => {
                let p = s("base_path");
                if p.is_empty() { s("path") } else { p }
            }
        };
        let extra: Map<String, Value> = l
            .config
            .iter()
            .filter(|(k, _)| !LOCATION_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Self {
            name: l.name.clone(),
            kind: l.location_type.as_str().to_owned(),
            path,
            branch: s("branch"),
            extra: if extra.is_empty() {
                String::new()
            } else {
                serde_json::to_string_pretty(&Value::Object(extra)).unwrap_or_default()
            },
        }
    }

    fn from_form(f: &Form) -> Self {
        Self {
            name: f.get("name").trim().to_owned(),
            kind: f.get("location_type").to_owned(),
            path: f.get("path").trim().to_owned(),
            branch: f.get("branch").trim().to_owned(),
            extra: f.get("extra").trim().to_owned(),
        }
    }

    /// The location's fields, checked the way the API and the storage
    /// backends check them (the path against the storage roots, when
    /// known).
    fn validate(
        &self,
        roots: Option<&StorageRoots>,
    ) -> Result<(StorageBackendKind, Map<String, Value>), Errors> {
        let mut e = Errors::default();
        check_name(&mut e, &self.name);
        let kind = self.kind.parse::<StorageBackendKind>().ok();
        if kind.is_none() {
            e.add("location_type", "Choose git or fs.");
        }
        let mut config = match self.extra.as_str() {
            "" => Map::new(),
            s => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(m)) => m,
                _ => {
                    e.add(
                        "extra",
                        "Other settings must be a JSON object, e.g. {\"fsync\": false}.",
                    );
                    Map::new()
                }
            },
        };
        if self.path.is_empty() {
            e.add("path", "A path is required.");
        } else if !FsPath::new(&self.path).is_absolute() {
            e.add("path", "An absolute path, starting with /.");
        }
        if let Some(kind) = kind {
            for k in LOCATION_KEYS {
                config.remove(k);
            }
            match kind {
                StorageBackendKind::Git => {
                    config.insert("repo_path".into(), self.path.clone().into());
                    if !self.branch.is_empty() {
                        config.insert("branch".into(), self.branch.clone().into());
                    }
                }
                StorageBackendKind::Fs => {
                    config.insert("base_path".into(), self.path.clone().into());
                }
            }
            if e.of("path").is_empty() && e.of("extra").is_empty() {
                match devicevault_storage::location_path(kind, &config) {
                    Ok(path) => {
                        if let Some(Err(err)) = roots.map(|r| r.check(&path)) {
                            e.add("path", err.to_string());
                        }
                    }
                    Err(err) => {
                        let msg = err.to_string();
                        let target = if msg.contains("branch") {
                            "branch"
                        } else {
                            "extra"
                        };
                        e.add(target, msg);
                    }
                }
            }
        }
        match kind {
            Some(k) if e.is_empty() => Ok((k, config)),
            _ => Err(e),
        }
    }
}

fn location_form(
    ctx: &Ctx,
    v: &LocationForm,
    errors: &Errors,
    action: &str,
    title: &str,
    submit: &str,
    cancel: Option<&str>,
) -> String {
    let kinds = vec![
        (
            "git".to_owned(),
            "Git repository (one commit per change)".to_owned(),
        ),
        (
            "fs".to_owned(),
            "Directory (one file per backup)".to_owned(),
        ),
    ];
    let mut b = form_open(ctx, action, title);
    b.push_str(&errors.summary());
    b.push_str(r#"<div class="grid">"#);
    b.push_str(&field(
        "name",
        "Name",
        "",
        &text_input(&v.name, "required"),
        errors,
    ));
    b.push_str(&field(
        "location_type",
        "Type",
        "",
        &select(
            &kinds,
            if v.kind.is_empty() { "git" } else { &v.kind },
            None,
        )
        .replace(
            "<select {attrs}>",
            r#"<select {attrs} class="js-location-type">"#,
        ),
        errors,
    ));
    b.push_str(&field(
        "path",
        "Path",
        "Absolute path on the server: the repository (created bare when missing) or the directory.",
        &text_input(
            &v.path,
            r#"required placeholder="/var/lib/devicevault/backups.git""#,
        ),
        errors,
    ));
    b.push_str(&field(
        "branch",
        "Branch",
        "Git only; default main.",
        &text_input(&v.branch, r#"placeholder="main" data-git-only"#),
        errors,
    ));
    b.push_str("</div>");
    b.push_str(&field(
        "extra",
        "Other settings (JSON, optional)",
        "e.g. {\"fsync\": true, \"commit_message\": \"Backup {rel_path}\"}; unknown keys are refused.",
        &format!(r#"<textarea {{attrs}} rows="3" class="mono">{}</textarea>"#, esc(&v.extra)),
        errors,
    ));
    b.push_str(&form_close(submit, cancel));
    b
}

async fn locations_page(
    ctx: &Ctx,
    state: &Shared,
    v: &LocationForm,
    errors: &Errors,
    flash: &str,
) -> WebResult<Response> {
    let rows = state.db.list_locations(ALL).await?.rows;
    let mut b = html::heading("Backup locations", "");
    b.push_str(flash);
    if rows.is_empty() {
        b.push_str(&html::empty(
            "No backup location yet.",
            "Devices need one to be backed up: add a Git repository or a directory below.",
        ));
    } else {
        b.push_str(r#"<div class="table-wrap"><table class="list"><thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Path</th><th scope="col">Branch</th></tr></thead><tbody>"#);
        for l in &rows {
            let f = LocationForm::of(l);
            let name = if ctx.user.is_admin {
                format!(
                    r#"<a href="/admin/locations/{}">{}</a>"#,
                    l.id,
                    esc(&l.name)
                )
            } else {
                esc(&l.name).to_string()
            };
            let _ = write!(
                b,
                r#"<tr><td>{name}</td><td>{}</td><td class="mono">{}</td><td>{}</td></tr>"#,
                esc(l.location_type.as_str()),
                esc(&f.path),
                if l.location_type == StorageBackendKind::Git {
                    esc(if f.branch.is_empty() {
                        "main"
                    } else {
                        &f.branch
                    })
                    .to_string()
                } else {
                    "—".into()
                }
            );
        }
        b.push_str("</tbody></table></div>");
    }
    if ctx.user.is_admin {
        b.push_str(&location_form(
            ctx,
            v,
            errors,
            "/admin/locations",
            "Add a backup location",
            "Add location",
            None,
        ));
    }
    Ok(admin_page(
        ctx,
        Section::Locations,
        "Backup locations",
        &b,
        status_for(errors),
    ))
}

async fn locations(
    Session(ctx): Session,
    State(state): State<Shared>,
    uri: axum::http::Uri,
) -> WebResult<Response> {
    let v = LocationForm {
        kind: "git".into(),
        ..Default::default()
    };
    locations_page(&ctx, &state, &v, &Errors::default(), &flash_of(&uri)).await
}

async fn create_location(State(state): State<Shared>, p: AdminPosted) -> WebResult<Response> {
    let v = LocationForm::from_form(&p.form);
    let mut e = match v.validate(state.storage_roots.as_ref()) {
        Ok((kind, config)) => {
            let mut e = Errors::default();
            if save_result(
                state.db.create_location(&v.name, kind, &config).await,
                &mut e,
            )?
            .is_some()
            {
                return Ok(Redirect::to("/admin/locations?flash=created").into_response());
            }
            e
        }
        Err(e) => e,
    };
    e.0.dedup();
    locations_page(&p.ctx, &state, &v, &e, "").await
}

fn location_edit_page(
    ctx: &Ctx,
    l: &BackupLocation,
    v: &LocationForm,
    errors: &Errors,
) -> Response {
    let mut b =
        String::from(r#"<p class="crumbs"><a href="/admin/locations">Backup locations</a> ›</p>"#);
    b.push_str(&html::heading(&l.name, ""));
    b.push_str(&location_form(
        ctx,
        v,
        errors,
        &format!("/admin/locations/{}", l.id),
        "Edit",
        "Save",
        Some("/admin/locations"),
    ));
    b.push_str(&delete_section(
        ctx,
        &format!("/admin/locations/{}/delete", l.id),
        "location",
        &l.name,
        "A location cannot be deleted while devices or stored backups refer to it.",
    ));
    admin_page(ctx, Section::Locations, &l.name, &b, status_for(errors))
}

async fn edit_location(
    AdminSession(ctx): AdminSession,
    State(state): State<Shared>,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    let l = state.db.location(id).await?;
    Ok(location_edit_page(
        &ctx,
        &l,
        &LocationForm::of(&l),
        &Errors::default(),
    ))
}

async fn update_location(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    let l = state.db.location(id).await?;
    let v = LocationForm::from_form(&p.form);
    let e = match v.validate(state.storage_roots.as_ref()) {
        Ok((kind, config)) => {
            let mut e = Errors::default();
            if save_result(
                state.db.update_location(id, &v.name, kind, &config).await,
                &mut e,
            )?
            .is_some()
            {
                return Ok(Redirect::to("/admin/locations?flash=saved").into_response());
            }
            e
        }
        Err(e) => e,
    };
    Ok(location_edit_page(&p.ctx, &l, &v, &e))
}

async fn delete_location(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> Response {
    match state.db.delete_location(id).await {
        Ok(()) => Redirect::to("/admin/locations?flash=deleted").into_response(),
        Err(e) => in_use(&p.ctx, "location", "/admin/locations", e),
    }
}

// ---- credentials ------------------------------------------------------------------------------

fn credential_form(
    ctx: &Ctx,
    c: Option<&Credential>,
    name: &str,
    username: &str,
    errors: &Errors,
) -> String {
    let (action, title, submit, cancel) = match c {
        Some(c) => (
            format!("/admin/credentials/{}", c.id),
            "Edit",
            "Save",
            Some("/admin/credentials"),
        ),
        None => (
            "/admin/credentials".to_owned(),
            "Add a credential",
            "Add credential",
            None,
        ),
    };
    let mut b = form_open(ctx, &action, title);
    b.push_str(&errors.summary());
    b.push_str(r#"<div class="grid">"#);
    b.push_str(&field(
        "name",
        "Name",
        "",
        &text_input(name, "required"),
        errors,
    ));
    b.push_str(&field(
        "username",
        "Username",
        "The login on the devices.",
        &text_input(username, r#"required autocomplete="off""#),
        errors,
    ));
    let keep = c.is_some();
    b.push_str(&field(
        "password",
        "Password",
        if keep {
            "Leave empty to keep the current one. Never shown again."
        } else {
            "Stored sealed; never shown again."
        },
        r#"<input type="password" {attrs} autocomplete="new-password">"#,
        errors,
    ));
    b.push_str(&field(
        "enable_secret",
        "Enable secret (optional)",
        if keep {
            "Leave empty to keep the current one."
        } else {
            "For platforms with an enable step."
        },
        r#"<input type="password" {attrs} autocomplete="new-password">"#,
        errors,
    ));
    b.push_str("</div>");
    if let Some(c) = c
        && c.enable_secret_sealed.is_some()
    {
        b.push_str(&checkbox("clear_enable", "Remove the enable secret", false));
    }
    b.push_str(&form_close(submit, cancel));
    b
}

async fn credentials_page(
    ctx: &Ctx,
    state: &Shared,
    name: &str,
    username: &str,
    errors: &Errors,
    flash: &str,
) -> WebResult<Response> {
    let rows = state.db.list_credentials(ALL).await?.rows;
    let mut b = html::heading("Credentials", "");
    b.push_str(flash);
    if rows.is_empty() {
        b.push_str(&html::empty(
            "No credential yet.",
            "Devices need one to log in: add it below.",
        ));
    } else {
        b.push_str(r#"<div class="table-wrap"><table class="list"><thead><tr><th scope="col">Name</th><th scope="col">Username</th><th scope="col">Password</th><th scope="col">Enable secret</th></tr></thead><tbody>"#);
        for c in &rows {
            let n = if ctx.user.is_admin {
                format!(
                    r#"<a href="/admin/credentials/{}">{}</a>"#,
                    c.id,
                    esc(&c.name)
                )
            } else {
                esc(&c.name).to_string()
            };
            let _ = write!(
                b,
                r#"<tr><td>{n}</td><td>{}</td><td><span class="muted">set (hidden)</span></td><td>{}</td></tr>"#,
                esc(&c.username),
                if c.enable_secret_sealed.is_some() {
                    r#"<span class="muted">set (hidden)</span>"#
                } else {
                    "—"
                }
            );
        }
        b.push_str("</tbody></table></div>");
    }
    if ctx.user.is_admin {
        b.push_str(&credential_form(ctx, None, name, username, errors));
    }
    Ok(admin_page(
        ctx,
        Section::Credentials,
        "Credentials",
        &b,
        status_for(errors),
    ))
}

async fn credentials(
    Session(ctx): Session,
    State(state): State<Shared>,
    uri: axum::http::Uri,
) -> WebResult<Response> {
    credentials_page(&ctx, &state, "", "", &Errors::default(), &flash_of(&uri)).await
}

fn credential_input(f: &Form, e: &mut Errors, creating: bool) -> (String, String) {
    let name = f.get("name").trim().to_owned();
    let username = f.get("username").to_owned();
    check_name(e, &name);
    if username.is_empty() {
        e.add("username", "A username is required.");
    }
    if creating && f.get("password").is_empty() {
        e.add("password", "A password is required.");
    }
    (name, username)
}

async fn create_credential(State(state): State<Shared>, p: AdminPosted) -> WebResult<Response> {
    let mut e = Errors::default();
    let (name, username) = credential_input(&p.form, &mut e, true);
    if e.is_empty() {
        let sealed = state.key.seal(p.form.get("password").as_bytes());
        let enable = match p.form.get("enable_secret") {
            "" => None,
            s => Some(state.key.seal(s.as_bytes())),
        };
        if save_result(
            state
                .db
                .create_credential(&name, &username, &sealed, enable.as_deref())
                .await,
            &mut e,
        )?
        .is_some()
        {
            return Ok(Redirect::to("/admin/credentials?flash=created").into_response());
        }
    }
    credentials_page(&p.ctx, &state, &name, &username, &e, "").await
}

fn credential_edit_page(
    ctx: &Ctx,
    c: &Credential,
    name: &str,
    username: &str,
    errors: &Errors,
) -> Response {
    let mut b =
        String::from(r#"<p class="crumbs"><a href="/admin/credentials">Credentials</a> ›</p>"#);
    b.push_str(&html::heading(&c.name, ""));
    b.push_str(&credential_form(ctx, Some(c), name, username, errors));
    b.push_str(&delete_section(
        ctx,
        &format!("/admin/credentials/{}/delete", c.id),
        "credential",
        &c.name,
        "A credential cannot be deleted while devices use it.",
    ));
    admin_page(ctx, Section::Credentials, &c.name, &b, status_for(errors))
}

async fn edit_credential(
    AdminSession(ctx): AdminSession,
    State(state): State<Shared>,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    let c = state.db.credential(id).await?;
    Ok(credential_edit_page(
        &ctx,
        &c,
        &c.name,
        &c.username,
        &Errors::default(),
    ))
}

async fn update_credential(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    let current = state.db.credential(id).await?;
    let mut e = Errors::default();
    let (name, username) = credential_input(&p.form, &mut e, false);
    if e.is_empty() {
        let mut c = current.clone();
        c.name = name.clone();
        c.username = username.clone();
        if !p.form.get("password").is_empty() {
            c.password_sealed = state.key.seal(p.form.get("password").as_bytes());
        }
        if p.form.checked("clear_enable") {
            c.enable_secret_sealed = None;
        } else if !p.form.get("enable_secret").is_empty() {
            c.enable_secret_sealed = Some(state.key.seal(p.form.get("enable_secret").as_bytes()));
        }
        if save_result(state.db.update_credential(id, &c).await, &mut e)?.is_some() {
            return Ok(Redirect::to("/admin/credentials?flash=saved").into_response());
        }
    }
    Ok(credential_edit_page(&p.ctx, &current, &name, &username, &e))
}

async fn delete_credential(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> Response {
    match state.db.delete_credential(id).await {
        Ok(()) => Redirect::to("/admin/credentials?flash=deleted").into_response(),
        Err(e) => in_use(&p.ctx, "credential", "/admin/credentials", e),
    }
}

// ---- collection groups, device groups, device types: named things ---------------------------

/// One of the three small tables whose rows are a name (and, for
/// collection groups, a queue id).
#[derive(Clone, Copy)]
enum Kind {
    CollectionGroup,
    DeviceGroup,
    DeviceType,
}

impl Kind {
    fn section(self) -> Section {
        match self {
            Self::CollectionGroup => Section::CollectionGroups,
            Self::DeviceGroup => Section::DeviceGroups,
            Self::DeviceType => Section::DeviceTypes,
        }
    }
    fn base(self) -> &'static str {
        match self {
            Self::CollectionGroup => "/admin/collection-groups",
            Self::DeviceGroup => "/admin/device-groups",
            Self::DeviceType => "/admin/device-types",
        }
    }
    fn title(self) -> &'static str {
        match self {
            Self::CollectionGroup => "Collection groups",
            Self::DeviceGroup => "Device groups",
            Self::DeviceType => "Device types",
        }
    }
    fn what(self) -> &'static str {
        match self {
            Self::CollectionGroup => "collection group",
            Self::DeviceGroup => "device group",
            Self::DeviceType => "device type",
        }
    }
    fn empty_hint(self) -> &'static str {
        match self {
            Self::CollectionGroup => {
                "Devices without a group use the default collectors. A group sends its devices' collections to the collectors of its own queue."
            }
            Self::DeviceGroup => "Groups organise devices for filters and schedules.",
            Self::DeviceType => "Types (models, families) organise devices and the dashboard.",
        }
    }
    fn delete_note(self) -> &'static str {
        match self {
            Self::CollectionGroup => "Its devices go back to the default collectors.",
            Self::DeviceGroup => "Its devices stay, without a group; schedules lose this target.",
            Self::DeviceType => "Its devices stay, without a type.",
        }
    }

    /// `(id, name, queue id)` rows.
    async fn rows(self, state: &Shared) -> WebResult<Vec<(i64, String, String)>> {
        let db = &state.db;
        Ok(match self {
            Self::CollectionGroup => db
                .list_collection_groups()
                .await?
                .into_iter()
                .map(|g| (g.id, g.name, g.rabbitmq_queue_id))
                .collect(),
            Self::DeviceGroup => db
                .list_device_groups(ALL)
                .await?
                .rows
                .into_iter()
                .map(|g| (g.id, g.name, String::new()))
                .collect(),
            Self::DeviceType => db
                .list_device_types(ALL)
                .await?
                .rows
                .into_iter()
                .map(|t| (t.id, t.name, mib_text(t.max_config_bytes)))
                .collect(),
        })
    }

    async fn one(self, state: &Shared, id: i64) -> WebResult<(String, String)> {
        let db = &state.db;
        Ok(match self {
            Self::CollectionGroup => {
                let g = db.collection_group(id).await?;
                (g.name, g.rabbitmq_queue_id)
            }
            Self::DeviceGroup => (db.device_group(id).await?.name, String::new()),
            Self::DeviceType => {
                let t = db.device_type(id).await?;
                (t.name, mib_text(t.max_config_bytes))
            }
        })
    }

    fn validate(self, f: &Form) -> (String, String, Errors) {
        let name = f.get("name").trim().to_owned();
        let queue = f.get("rabbitmq_queue_id").trim().to_owned();
        let mut e = Errors::default();
        check_name(&mut e, &name);
        if let Self::CollectionGroup = self {
            let ok = !queue.is_empty()
                && queue.len() <= 100
                && queue
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !ok {
                e.add(
                    "rabbitmq_queue_id",
                    "1–100 characters of A–Z, a–z, 0–9, '-', '_' and '.'.",
                );
            }
        }
        if let Self::DeviceType = self {
            let mib = f.get("max_config_mib").trim().to_owned();
            if parse_mib(&mib).is_err() {
                e.add(
                    "max_config_mib",
                    "A whole number of MiB from 1 to 1024, or empty for the default.",
                );
            }
            return (name, mib, e);
        }
        (name, queue, e)
    }

    async fn save(
        self,
        state: &Shared,
        id: Option<i64>,
        name: &str,
        queue: &str,
    ) -> Result<(), DbError> {
        let db = &state.db;
        match (self, id) {
            (Self::CollectionGroup, None) => {
                let queue = queue_id(queue)?;
                db.create_collection_group(name, &queue).await.map(drop)
            }
            (Self::CollectionGroup, Some(id)) => {
                let queue = queue_id(queue)?;
                db.update_collection_group(id, name, &queue).await.map(drop)
            }
            (Self::DeviceGroup, None) => db.create_device_group(name).await.map(drop),
            (Self::DeviceGroup, Some(id)) => db.update_device_group(id, name).await.map(drop),
            (Self::DeviceType, None) => db
                .create_device_type(name, None, parse_mib(queue).unwrap_or(None))
                .await
                .map(drop),
            (Self::DeviceType, Some(id)) => {
                let manufacturer = db.device_type(id).await?.manufacturer;
                db.update_device_type(id, name, manufacturer, parse_mib(queue).unwrap_or(None))
                    .await
                    .map(drop)
            }
        }
    }

    async fn delete(self, state: &Shared, id: i64) -> Result<(), DbError> {
        let db = &state.db;
        match self {
            Self::CollectionGroup => db.delete_collection_group(id).await,
            Self::DeviceGroup => db.delete_device_group(id).await,
            Self::DeviceType => db.delete_device_type(id).await,
        }
    }

    fn form(self, ctx: &Ctx, id: Option<i64>, name: &str, queue: &str, errors: &Errors) -> String {
        let (action, title, submit, cancel) = match id {
            Some(id) => (
                format!("{}/{id}", self.base()),
                "Edit".to_owned(),
                "Save".to_owned(),
                Some(self.base()),
            ),
            None => (
                self.base().to_owned(),
                format!("Add a {}", self.what()),
                format!("Add {}", self.what()),
                None,
            ),
        };
        let mut b = form_open(ctx, &action, &title);
        b.push_str(&errors.summary());
        b.push_str(r#"<div class="grid">"#);
        b.push_str(&field(
            "name",
            "Name",
            "",
            &text_input(name, "required"),
            errors,
        ));
        if let Self::CollectionGroup = self {
            b.push_str(&field(
                "rabbitmq_queue_id",
                "Queue id",
                "Its collectors consume <code>collector.group.&lt;queue id&gt;</code>.",
                &text_input(queue, "required"),
                errors,
            ));
        }
        if let Self::DeviceType = self {
            b.push_str(&field(
                "max_config_mib",
                "Largest configuration (MiB)",
                "A device sending more fails its backup for good. Empty: the driver's or the installation's limit (16 MiB by default).",
                &text_input(queue, r#"inputmode="numeric""#),
                errors,
            ));
        }
        b.push_str("</div>");
        b.push_str(&form_close(&submit, cancel));
        b
    }
}

fn queue_id(q: &str) -> Result<devicevault_core::QueueId, DbError> {
    devicevault_core::QueueId::parse(q).map_err(|e| DbError::Invalid(e.to_string()))
}

/// A byte limit as whole MiB for the form ("" when unset).
fn mib_text(bytes: Option<i64>) -> String {
    bytes
        .map(|b| (b >> 20).max(1).to_string())
        .unwrap_or_default()
}

/// The form's MiB as bytes (`None` when empty).
fn parse_mib(s: &str) -> Result<Option<i64>, ()> {
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<i64>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(Some(n << 20)),
        _ => Err(()),
    }
}

async fn named_list(
    kind: Kind,
    ctx: &Ctx,
    state: &Shared,
    name: &str,
    queue: &str,
    errors: &Errors,
    flash: &str,
) -> WebResult<Response> {
    let rows = kind.rows(state).await?;
    let mut b = html::heading(kind.title(), "");
    b.push_str(flash);
    if rows.is_empty() {
        b.push_str(&html::empty(
            &format!("No {} yet.", kind.what()),
            kind.empty_hint(),
        ));
    } else {
        let queue_col = matches!(kind, Kind::CollectionGroup);
        let _ = write!(
            b,
            r#"<div class="table-wrap"><table class="list"><thead><tr><th scope="col">Name</th>{}<th scope="col">Devices</th></tr></thead><tbody>"#,
            if queue_col {
                r#"<th scope="col">Queue</th>"#
            } else {
                ""
            }
        );
        for (id, n, q) in &rows {
            let name_html = if ctx.user.is_admin {
                format!(r#"<a href="{}/{id}">{}</a>"#, kind.base(), esc(n))
            } else {
                esc(n).to_string()
            };
            let devices = match kind {
                Kind::DeviceGroup => format!(r#"<a href="/devices?group={id}">devices</a>"#),
                Kind::DeviceType => format!(r#"<a href="/devices?type={id}">devices</a>"#),
                Kind::CollectionGroup => "—".into(),
            };
            let _ = write!(
                b,
                r#"<tr><td>{name_html}</td>{}<td>{devices}</td></tr>"#,
                if queue_col {
                    format!(r#"<td class="mono">collector.group.{}</td>"#, esc(q))
                } else {
                    String::new()
                }
            );
        }
        b.push_str("</tbody></table></div>");
    }
    if ctx.user.is_admin {
        b.push_str(&kind.form(ctx, None, name, queue, errors));
    }
    Ok(admin_page(
        ctx,
        kind.section(),
        kind.title(),
        &b,
        status_for(errors),
    ))
}

async fn named_create(kind: Kind, state: Shared, p: AdminPosted) -> WebResult<Response> {
    let (name, queue, mut e) = kind.validate(&p.form);
    if e.is_empty() && save_result(kind.save(&state, None, &name, &queue).await, &mut e)?.is_some()
    {
        return Ok(Redirect::to(&format!("{}?flash=created", kind.base())).into_response());
    }
    named_list(kind, &p.ctx, &state, &name, &queue, &e, "").await
}

fn named_edit_page(
    kind: Kind,
    ctx: &Ctx,
    id: i64,
    current: &str,
    name: &str,
    queue: &str,
    errors: &Errors,
) -> Response {
    let mut b = format!(
        r#"<p class="crumbs"><a href="{}">{}</a> ›</p>"#,
        kind.base(),
        kind.title()
    );
    b.push_str(&html::heading(current, ""));
    b.push_str(&kind.form(ctx, Some(id), name, queue, errors));
    b.push_str(&delete_section(
        ctx,
        &format!("{}/{id}/delete", kind.base()),
        kind.what(),
        current,
        kind.delete_note(),
    ));
    admin_page(ctx, kind.section(), current, &b, status_for(errors))
}

async fn named_edit(kind: Kind, ctx: Ctx, state: Shared, id: i64) -> WebResult<Response> {
    let (name, queue) = kind.one(&state, id).await?;
    Ok(named_edit_page(
        kind,
        &ctx,
        id,
        &name,
        &name,
        &queue,
        &Errors::default(),
    ))
}

async fn named_update(kind: Kind, state: Shared, id: i64, p: AdminPosted) -> WebResult<Response> {
    let (current, _) = kind.one(&state, id).await?;
    let (name, queue, mut e) = kind.validate(&p.form);
    if e.is_empty()
        && save_result(kind.save(&state, Some(id), &name, &queue).await, &mut e)?.is_some()
    {
        return Ok(Redirect::to(&format!("{}?flash=saved", kind.base())).into_response());
    }
    Ok(named_edit_page(
        kind, &p.ctx, id, &current, &name, &queue, &e,
    ))
}

async fn named_delete(kind: Kind, state: Shared, id: i64, p: AdminPosted) -> Response {
    match kind.delete(&state, id).await {
        Ok(()) => Redirect::to(&format!("{}?flash=deleted", kind.base())).into_response(),
        Err(e) => in_use(&p.ctx, kind.what(), kind.base(), e),
    }
}

macro_rules! named_routes {
    ($kind:expr, $list:ident, $create:ident, $edit:ident, $update:ident, $delete:ident) => {
        async fn $list(
            Session(ctx): Session,
            State(state): State<Shared>,
            uri: axum::http::Uri,
        ) -> WebResult<Response> {
            named_list(
                $kind,
                &ctx,
                &state,
                "",
                "",
                &Errors::default(),
                &flash_of(&uri),
            )
            .await
        }
        async fn $create(State(state): State<Shared>, p: AdminPosted) -> WebResult<Response> {
            named_create($kind, state, p).await
        }
        async fn $edit(
            AdminSession(ctx): AdminSession,
            State(state): State<Shared>,
            Path(id): Path<i64>,
        ) -> WebResult<Response> {
            named_edit($kind, ctx, state, id).await
        }
        async fn $update(
            State(state): State<Shared>,
            Path(id): Path<i64>,
            p: AdminPosted,
        ) -> WebResult<Response> {
            named_update($kind, state, id, p).await
        }
        async fn $delete(
            State(state): State<Shared>,
            Path(id): Path<i64>,
            p: AdminPosted,
        ) -> Response {
            named_delete($kind, state, id, p).await
        }
    };
}

named_routes!(
    Kind::CollectionGroup,
    collection_groups,
    create_collection_group,
    edit_collection_group,
    update_collection_group,
    delete_collection_group
);
named_routes!(
    Kind::DeviceGroup,
    device_groups,
    create_device_group,
    edit_device_group,
    update_device_group,
    delete_device_group
);
named_routes!(
    Kind::DeviceType,
    device_types,
    create_device_type,
    edit_device_type,
    update_device_type,
    delete_device_type
);

// ---- users and tokens ----------------------------------------------------------------------------

const MIN_PASSWORD: usize = auth::MIN_PASSWORD_CHARS;

fn check_password(e: &mut Errors, field: &str, password: &str, confirm: &str) {
    if let Err(m) = auth::check_new_password(password) {
        e.add(field, format!("{}{}.", &m[..1].to_uppercase(), &m[1..]));
    } else if password != confirm {
        e.add(&format!("{field}_confirm"), "The two passwords differ.");
    }
}

async fn users_page(
    ctx: &Ctx,
    state: &Shared,
    username: &str,
    admin: bool,
    errors: &Errors,
    flash: &str,
) -> WebResult<Response> {
    let rows = state.db.list_users().await?;
    let mut b = html::heading("Users and tokens", "");
    b.push_str(flash);
    b.push_str(r#"<div class="table-wrap"><table class="list"><thead><tr><th scope="col">Username</th><th scope="col">Role</th><th scope="col">Since</th></tr></thead><tbody>"#);
    for u in &rows {
        let _ = write!(
            b,
            r#"<tr><td><a href="/admin/users/{}">{}</a>{}</td><td>{}</td><td>{}</td></tr>"#,
            u.id,
            esc(&u.username),
            if u.id == ctx.user.id {
                r#" <span class="muted small">(you)</span>"#
            } else {
                ""
            },
            if u.is_admin {
                r#"<span class="tag">admin</span>"#
            } else {
                "reader"
            },
            html::time(&u.created_at),
        );
    }
    b.push_str("</tbody></table></div>");
    let mut f = form_open(ctx, "/admin/users", "Add a user");
    f.push_str(&errors.summary());
    f.push_str(r#"<div class="grid">"#);
    f.push_str(&field(
        "username",
        "Username",
        "",
        &text_input(username, r#"required autocomplete="off""#),
        errors,
    ));
    f.push_str(&field(
        "password",
        "Password",
        &format!("At least {MIN_PASSWORD} characters."),
        r#"<input type="password" {attrs} autocomplete="new-password" required>"#,
        errors,
    ));
    f.push_str(&field(
        "password_confirm",
        "Password again",
        "",
        r#"<input type="password" {attrs} autocomplete="new-password" required>"#,
        errors,
    ));
    f.push_str("</div>");
    f.push_str(&checkbox(
        "is_admin",
        "Administrator (may change the inventory and users)",
        admin,
    ));
    f.push_str(&form_close("Add user", None));
    b.push_str(&f);
    Ok(admin_page(
        ctx,
        Section::Users,
        "Users",
        &b,
        status_for(errors),
    ))
}

async fn users(
    AdminSession(ctx): AdminSession,
    State(state): State<Shared>,
    uri: axum::http::Uri,
) -> WebResult<Response> {
    users_page(&ctx, &state, "", false, &Errors::default(), &flash_of(&uri)).await
}

async fn create_user(State(state): State<Shared>, p: AdminPosted) -> WebResult<Response> {
    let username = p.form.get("username").trim().to_owned();
    let admin = p.form.checked("is_admin");
    let mut e = Errors::default();
    if username.is_empty()
        || username.len() > 150
        || username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        e.add("username", "1–150 characters, without spaces.");
    }
    let password = p.form.get("password").to_owned();
    check_password(
        &mut e,
        "password",
        &password,
        p.form.get("password_confirm"),
    );
    if e.is_empty() {
        let hash = super::account::hash(password).await?;
        match state.db.create_user(&username, &hash, admin).await {
            Ok(u) => {
                return Ok(
                    Redirect::to(&format!("/admin/users/{}?flash=created", u.id)).into_response(),
                );
            }
            Err(DbError::Conflict(_)) => e.add("username", "This username is taken."),
            Err(other) => return Err(other.into()),
        }
    }
    users_page(&p.ctx, &state, &username, admin, &e, "").await
}

async fn user_view(
    ctx: &Ctx,
    state: &Shared,
    u: &User,
    errors: &Errors,
    flash: &str,
    new_token: Option<&str>,
    token_name: &str,
) -> WebResult<Response> {
    let tokens = state.db.list_tokens(Some(u.id)).await?;
    let mut b = String::from(r#"<p class="crumbs"><a href="/admin/users">Users</a> ›</p>"#);
    b.push_str(&html::heading(
        &u.username,
        if u.is_admin {
            r#"<span class="tag">admin</span>"#
        } else {
            ""
        },
    ));
    b.push_str(flash);
    if let Some(t) = new_token {
        b.push_str(&super::account::new_token_notice(&u.username, t));
    }
    // Password.
    let mut f = form_open(
        ctx,
        &format!("/admin/users/{}/password", u.id),
        "Change the password",
    );
    f.push_str(&errors.summary());
    f.push_str(r#"<div class="grid">"#);
    f.push_str(&field(
        "password",
        "New password",
        &format!("At least {MIN_PASSWORD} characters. Every session and API token of the user ends (yours stays if it is your account)."),
        r#"<input type="password" {attrs} autocomplete="new-password" required>"#,
        errors,
    ));
    f.push_str(&field(
        "password_confirm",
        "New password again",
        "",
        r#"<input type="password" {attrs} autocomplete="new-password" required>"#,
        errors,
    ));
    f.push_str("</div>");
    f.push_str(&form_close("Change password", None));
    b.push_str(&f);
    // Role.
    let _ = write!(
        b,
        r#"<section class="panel"><h2>Role</h2><p>{} is {}.</p>"#,
        esc(&u.username),
        if u.is_admin {
            "an administrator"
        } else {
            "a reader (reads and presses “Backup now” on the devices below, changes nothing)"
        }
    );
    b.push_str(&html::post_button(
        ctx,
        &format!("/admin/users/{}/role", u.id),
        if u.is_admin {
            "Make reader"
        } else {
            "Make administrator"
        },
        "",
        None,
        &[("is_admin", if u.is_admin { "no" } else { "yes" })],
    ));
    b.push_str("</section>");
    b.push_str(&scope_form(ctx, state, u).await?);
    // Secrets.
    let _ = write!(
        b,
        r#"<section class="panel"><h2>Secrets in configurations</h2><p>{}</p>"#,
        if u.is_admin {
            "Administrators always see configurations whole, secrets included."
        } else if u.view_secrets {
            "This user sees configurations whole, secrets included (enable secrets, SNMP communities, keys)."
        } else {
            "This user sees configurations with their secrets masked by the device driver's rules (the default for readers)."
        }
    );
    if !u.is_admin {
        b.push_str(&html::post_button(
            ctx,
            &format!("/admin/users/{}/secrets", u.id),
            if u.view_secrets {
                "Mask secrets for this user"
            } else {
                "Let this user see secrets"
            },
            "",
            None,
            &[("view_secrets", if u.view_secrets { "no" } else { "yes" })],
        ));
    }
    b.push_str("</section>");
    // Tokens.
    b.push_str(r#"<section class="panel"><h2>API tokens and sessions</h2>"#);
    b.push_str(&super::account::tokens_table(ctx, &tokens, false, |t| {
        Some(format!("/admin/users/{}/tokens/{}/delete", u.id, t.id))
    }));
    b.push_str(r#"<div class="buttons">"#);
    b.push_str(&html::post_button(
        ctx,
        &format!("/admin/users/{}/sign-out-everywhere", u.id),
        "Sign out everywhere",
        "",
        Some("End every session and API token of this user?"),
        &[],
    ));
    b.push_str("</div></section>");
    b.push_str(&super::account::new_token_form(
        ctx,
        &format!("/admin/users/{}/tokens", u.id),
        token_name,
        errors,
    ));
    if u.id != ctx.user.id {
        b.push_str(&delete_section(
            ctx,
            &format!("/admin/users/{}/delete", u.id),
            "user",
            &u.username,
            "Its tokens and sessions end with it.",
        ));
    }
    Ok(admin_page(
        ctx,
        Section::Users,
        &u.username,
        &b,
        status_for(errors),
    ))
}

async fn user_page(
    AdminSession(ctx): AdminSession,
    State(state): State<Shared>,
    Path(id): Path<i64>,
    uri: axum::http::Uri,
) -> WebResult<Response> {
    let u = state.db.user(id).await?;
    user_view(
        &ctx,
        &state,
        &u,
        &Errors::default(),
        &flash_of(&uri),
        None,
        "",
    )
    .await
}

async fn user_password(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    let u = state.db.user(id).await?;
    let mut e = Errors::default();
    let password = p.form.get("password").to_owned();
    check_password(
        &mut e,
        "password",
        &password,
        p.form.get("password_confirm"),
    );
    if !e.is_empty() {
        return user_view(&p.ctx, &state, &u, &e, "", None, "").await;
    }
    let h = super::account::hash(password).await?;
    let keep = (id == p.ctx.user.id).then_some(p.ctx.session_id);
    let revoked = state.db.change_password(id, &h, keep).await?;
    tracing::info!(by = %p.ctx.user.username, user = %u.username, revoked, "password changed from the web UI; the user's tokens and sessions revoked");
    Ok(Redirect::to(&format!("/admin/users/{id}?flash=password")).into_response())
}

fn refuse(ctx: &Ctx, title: &str, detail: &str) -> WebError {
    WebError::new(StatusCode::CONFLICT, title, detail).with_ctx(ctx.clone())
}

async fn user_role(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    let u = state.db.user(id).await?;
    let admin = p.form.get("is_admin") == "yes";
    if u.is_admin && !admin && state.db.count_admins().await? <= 1 {
        return Err(refuse(
            &p.ctx,
            "The last administrator",
            "Make another user an administrator first.",
        ));
    }
    state.db.set_user_admin(id, admin).await?;
    tracing::info!(by = %p.ctx.user.username, user = %u.username, is_admin = admin, "role changed from the web UI");
    Ok(Redirect::to(&format!("/admin/users/{id}?flash=role")).into_response())
}

/// Which devices a user sees: every device, or those of some device groups.
async fn scope_form(ctx: &Ctx, state: &Shared, u: &User) -> WebResult<String> {
    let groups = state.db.list_device_groups(ALL).await?.rows;
    let mine = state.db.user_device_groups(u.id).await?;
    let mut f = form_open(ctx, &format!("/admin/users/{}/scope", u.id), "Devices");
    if u.is_admin {
        f.push_str(r#"<p class="small muted">Administrators see every device whatever is chosen here; it applies if this user becomes a reader.</p>"#);
    }
    let checked = |on: bool| if on { " checked" } else { "" };
    let _ = write!(
        f,
        r#"<fieldset><legend>{} sees</legend><label><input type="radio" name="scope" value="all"{}> every device</label><label><input type="radio" name="scope" value="groups"{}> only the devices of these device groups (none if none is ticked):</label><div class="checks">"#,
        esc(&u.username),
        checked(!u.restricted),
        checked(u.restricted)
    );
    if groups.is_empty() {
        f.push_str(r#"<p class="muted small">There are no device groups yet.</p>"#);
    }
    for g in &groups {
        let _ = write!(
            f,
            r#"<label><input type="checkbox" name="group" value="{}"{}> {}</label>"#,
            g.id,
            checked(mine.contains(&g.id)),
            esc(&g.name)
        );
    }
    f.push_str("</div></fieldset>");
    f.push_str(&form_close("Save", None));
    Ok(f)
}

async fn user_scope(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    let u = state.db.user(id).await?;
    let groups: Vec<i64> = p
        .form
        .0
        .iter()
        .filter(|(k, _)| k == "group")
        .map(|(_, v)| {
            v.parse().map_err(|_| {
                WebError::bad_request(format!("{v:?} is not a device group"))
                    .with_ctx(p.ctx.clone())
            })
        })
        .collect::<WebResult<_>>()?;
    let scope = match p.form.get("scope") {
        "all" => None,
        "groups" => Some(groups.as_slice()),
        other => {
            return Err(WebError::bad_request(format!(
                "Choose every device or some device groups (got {other:?})."
            ))
            .with_ctx(p.ctx.clone()));
        }
    };
    state
        .db
        .set_user_scope(id, scope)
        .await
        .map_err(|e| WebError::from(e).with_ctx(p.ctx.clone()))?;
    tracing::info!(by = %p.ctx.user.username, user = %u.username, restricted = scope.is_some(), device_groups = ?groups, "device scope changed from the web UI");
    Ok(Redirect::to(&format!("/admin/users/{id}?flash=scope")).into_response())
}

async fn delete_user(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    let u = state.db.user(id).await?;
    if u.id == p.ctx.user.id {
        return Err(refuse(
            &p.ctx,
            "You cannot delete yourself",
            "Ask another administrator.",
        ));
    }
    if u.is_admin && state.db.count_admins().await? <= 1 {
        return Err(refuse(
            &p.ctx,
            "The last administrator",
            "Make another user an administrator first.",
        ));
    }
    state.db.delete_user(id).await?;
    Ok(Redirect::to("/admin/users?flash=deleted").into_response())
}

async fn create_token(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    let u = state.db.user(id).await?;
    let mut e = Errors::default();
    let (name, expires) = super::account::token_form_input(&p.form, &mut e);
    if !e.is_empty() {
        return user_view(&p.ctx, &state, &u, &e, "", None, &name).await;
    }
    let (t, secret) =
        devicevault_pipeline::app::tokens::make_named_token(&state, u.id, &name, expires).await?;
    tracing::info!(by = %p.ctx.user.username, user = %u.username, token = t.id, name = %name, "API token created from the web UI");
    // Shown once, in this response only (never in a URL).
    user_view(
        &p.ctx,
        &state,
        &u,
        &Errors::default(),
        "",
        Some(&secret),
        "",
    )
    .await
}

async fn delete_token(
    State(state): State<Shared>,
    Path((id, token)): Path<(i64, i64)>,
    p: AdminPosted,
) -> WebResult<Response> {
    let t = state
        .db
        .delete_token(Some(id), token)
        .await
        .map_err(|e| WebError::from(e).with_ctx(p.ctx.clone()))?;
    tracing::info!(by = %p.ctx.user.username, user = %t.username, token = t.id, "token revoked from the web UI");
    Ok(Redirect::to(&format!("/admin/users/{id}?flash=revoked")).into_response())
}

async fn sign_out_user_everywhere(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    let u = state.db.user(id).await?;
    let keep = (id == p.ctx.user.id).then_some(p.ctx.session_id);
    let revoked = state.db.revoke_user_tokens(id, keep).await?;
    tracing::info!(by = %p.ctx.user.username, user = %u.username, revoked, "signed a user out everywhere from the web UI");
    Ok(Redirect::to(&format!("/admin/users/{id}?flash=everywhere")).into_response())
}

async fn user_secrets(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    let u = state.db.user(id).await?;
    let allowed = p.form.get("view_secrets") == "yes";
    state.db.set_user_view_secrets(id, allowed).await?;
    tracing::info!(by = %p.ctx.user.username, user = %u.username, view_secrets = allowed, "view_secrets changed from the web UI");
    Ok(Redirect::to(&format!("/admin/users/{id}?flash=secrets")).into_response())
}
