//! Administration: the resources of [`kinds::KINDS`] (backup locations,
//! credentials with write-only secrets, collection groups, device groups,
//! device types, users, tokens, archived devices) through one set of pages
//! and handlers, and a user's own page. Everyone signed in reads the
//! inventory lists; only administrators see the forms and may post them,
//! and only they see users, tokens and the archive.

mod audit;
mod import;
pub(super) mod kinds;
mod retention;

use crate::web::Path;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use devicevault_db::{DeviceGroup, TokenInfo, User};
use devicevault_pipeline::app::inventory::FieldErrors;
use devicevault_pipeline::app::tokens::make_named_token;
use devicevault_pipeline::app::users::NewPassword;
use maud::{Markup, html};

use super::html::{
    self, Control, Ctx, Nav, checkbox, crumbs, field, form_panel, heading, notice, post_button,
};
use super::session::{AdminPosted, AdminSession, Form, Session};
use super::{WebError, WebResult, form_status, html_page, query};
use crate::Shared;
use kinds::{Action, Cell, KINDS, Kind, Row, Spec, TOKEN_COLUMNS, kind, token_row};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/admin", get(overview))
        .route("/admin/audit", get(audit::page))
        .route("/admin/import", get(import::page).post(import::run))
        .route("/admin/import/export.csv", get(import::export))
        .route("/admin/{kind}", get(list).post(create))
        .route("/admin/{kind}/{id}", get(edit).post(update))
        .route("/admin/{kind}/{id}/delete", post(delete))
        .route("/admin/users/{id}", get(user_page))
        .route("/admin/users/{id}/password", post(user_password))
        .route("/admin/users/{id}/role", post(user_role))
        .route("/admin/users/{id}/scope", post(user_scope))
        .route("/admin/users/{id}/secrets", post(user_secrets))
        .route(
            "/admin/users/{id}/sign-out-everywhere",
            post(sign_out_user_everywhere),
        )
        .route("/admin/users/{id}/tokens", post(create_token))
        .route("/admin/notification-channels/{id}/test", post(test_channel))
        .route(
            "/admin/locations/{id}/retention",
            get(retention::page).post(retention::save),
        )
        .route("/admin/locations/{id}/retention/run", post(retention::run))
        .route(
            "/admin/users/{id}/tokens/{token}/delete",
            post(delete_token),
        )
}

/// Fixed messages shown after a redirect (never text from the URL).
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
        "purged" => "Device purged with its history.",
        "tested" => "Test notification delivered.",
        "test-failed" => "The test notification was not delivered; the server log says why.",
        _ => return None,
    })
}

pub(super) fn refuse(title: &str, detail: &str) -> WebError {
    WebError::new(StatusCode::CONFLICT, title, detail)
}

// ---- pages ------------------------------------------------------------------------------

/// An administration page: the tabs of the kinds this user may see, with
/// `current` marked, then `body`.
fn admin_page(ctx: &Ctx, current: &str, status: StatusCode, title: &str, body: Markup) -> Response {
    let tabs = html! {
        nav class="tabs" aria-label="Administration" {
            @for k in KINDS.iter().filter(|k| ctx.user.is_admin() || !k.admins_only) {
                a href={ "/admin/" (k.slug) } aria-current=[(k.slug == current).then_some("page")] { (k.title) }
            }
            @if ctx.user.is_admin() {
                a href="/admin/audit" aria-current=[(current == "audit").then_some("page")] { "Audit log" }
                a href="/admin/import" aria-current=[(current == "import").then_some("page")] { "Import" }
            }
        }
        (body)
    };
    html_page(ctx, status, title, Nav::Admin, tabs)
}

/// A table of rows under their column headers.
pub(super) fn table(ctx: &Ctx, columns: &[&str], rows: &[Row]) -> Markup {
    html! {
        div class="table-wrap" {
            table class="list" {
                thead { tr { @for c in columns { th scope="col" { (c) } } } }
                tbody { @for r in rows { tr { @for c in &r.0 { (cell(ctx, c)) } } } }
            }
        }
    }
}

fn cell(ctx: &Ctx, c: &Cell) -> Markup {
    html! {
        @match c {
            Cell::Text(t) => td { (t) },
            Cell::Mono(t) => td class="mono" { (t) },
            Cell::Muted(t) => td { span class="muted" { (t) } },
            Cell::Name { href, text, note } => td {
                @if let Some(h) = href { a href=(h) { (text) } } @else { (text) }
                @if let Some(n) = note { " " span class="muted small" { (n) } }
            },
            Cell::Tag(t) => td { span class="tag" { (t) } },
            Cell::Time(t) => td { @if let Some(t) = t { (html::time(t)) } },
            Cell::Actions(actions) => td {
                @for (i, a) in actions.iter().enumerate() {
                    @if i > 0 { " " }
                    @match a {
                        Action::Post { action, label, confirm } => {
                            (post_button(ctx, action, label, "small subtle", *confirm, &[]))
                        }
                        Action::Link { href, label } => {
                            a class="button small subtle" href=(href) { (label) }
                        }
                    }
                }
            },
        }
    }
}

/// The fields of a kind's form. `values` are what it shows, `stored` the
/// stored object's flags (an edit form).
fn kind_fields(kind: &Kind, values: &Form, stored: Option<&Form>, errors: &FieldErrors) -> Markup {
    let value = |f: &kinds::FieldSpec| match values.get(f.name) {
        "" if stored.is_none() => f.default,
        v => v,
    };
    let selects: Vec<Vec<(String, String)>> = kind
        .fields
        .iter()
        .map(|f| match f.control {
            Spec::Select(opts) => opts
                .iter()
                .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    let shown = |f: &kinds::FieldSpec| match f.only_if {
        Some(flag) => stored.is_some_and(|s| !s.get(flag).is_empty()),
        None => true,
    };
    let editing = stored.is_some();
    html! {
        div class="grid" {
            @for (f, options) in kind.fields.iter().zip(&selects) {
                @match f.control {
                    Spec::Input(i) => {
                        (field(f.name, f.label, html! { (kinds::hint(f, editing)) }, Control::Input(i, value(f)), errors))
                    }
                    Spec::Select(_) => {
                        (field(f.name, f.label, html! { (kinds::hint(f, editing)) }, Control::Select {
                            options, selected: value(f), none: None,
                            class: (f.name == "location_type").then_some("js-location-type"),
                        }, errors))
                    }
                    _ => {}
                }
            }
        }
        @for f in kind.fields.iter().filter(|f| shown(f)) {
            @match f.control {
                Spec::TextArea => {
                    (field(f.name, f.label, html! { (kinds::hint(f, editing)) }, Control::TextArea(value(f)), errors))
                }
                Spec::Checkbox => { (checkbox(f.name, f.label, values.checked(f.name))) }
                _ => {}
            }
        }
    }
}

/// A kind's list, with its add form for administrators.
struct ListPage<'a> {
    kind: &'a Kind,
    rows: Vec<Row>,
    flash: Option<&'static str>,
    values: Form,
    errors: FieldErrors,
}

fn render_list(ctx: &Ctx, p: &ListPage<'_>) -> Markup {
    let k = p.kind;
    html! {
        (heading(k.heading, html! {}))
        (html::flash(p.flash))
        @if !k.intro.is_empty() { p class="muted" { (k.intro) } }
        @if p.rows.is_empty() {
            (html::empty(k.empty.0, html! { (maud::PreEscaped(k.empty.1)) }))
        } @else {
            (table(ctx, k.columns, &p.rows))
        }
        @if let (Some((title, submit)), true) = (k.add, ctx.user.is_admin()) {
            (form_panel(ctx, &format!("/admin/{}", k.slug), title, &p.errors,
                kind_fields(k, &p.values, None, &p.errors), submit, None))
        }
    }
}

/// The edit page of one object.
struct EditPage<'a> {
    kind: &'a Kind,
    id: i64,
    /// Its stored name (the heading).
    name: String,
    values: Form,
    stored: Form,
    errors: FieldErrors,
    /// Why the last action on this page was refused (e.g. deleting what is
    /// in use), shown above the form.
    refusal: Option<WebError>,
}

fn render_edit(ctx: &Ctx, p: &EditPage<'_>) -> Markup {
    let k = p.kind;
    let base = format!("/admin/{}", k.slug);
    html! {
        (crumbs(&[(&base, k.title)]))
        (heading(&p.name, html! {}))
        @if let Some(r) = &p.refusal {
            (notice("error", &format!("{}. {}", r.title, r.detail)))
        }
        (form_panel(ctx, &format!("{base}/{}", p.id), "Edit", &p.errors,
            kind_fields(k, &p.values, Some(&p.stored), &p.errors), "Save", Some(&base)))
        (delete_section(ctx, &format!("{base}/{}/delete", p.id), k.one, &p.name, k.delete_note))
    }
}

fn delete_section(ctx: &Ctx, action: &str, what: &str, name: &str, note: &str) -> Markup {
    html! {
        section class="danger-zone" {
            h2 { "Delete" }
            p { (note) }
            (post_button(ctx, action, &format!("Delete {what}"), "danger",
                Some(&format!("Delete {what} {name}?")), &[]))
        }
    }
}

// ---- handlers ----------------------------------------------------------------------------

fn visible(ctx: &Ctx, kind: &Kind) -> WebResult<()> {
    if kind.admins_only && !ctx.user.is_admin() {
        return Err(super::session::admins_only(ctx));
    }
    Ok(())
}

async fn overview(Session(ctx): Session, State(state): State<Shared>) -> WebResult<Response> {
    let mut cards = Vec::new();
    for k in KINDS
        .iter()
        .filter(|k| ctx.user.is_admin() || !k.admins_only)
    {
        if let Some(hint) = k.card {
            cards.push((k, hint, (k.count)(&state).await?));
        }
    }
    let body = html! {
        (heading("Administration", html! {}))
        div class="cards" {
            @for (k, hint, n) in cards {
                a class="card" href={ "/admin/" (k.slug) } {
                    span class="card-label" { (k.title) }
                    span class="card-value" { (html::count(n)) }
                    span class="card-sub" { (hint) }
                }
            }
        }
        @if !ctx.user.is_admin() {
            (notice("info", "You may read these lists; an administrator changes them."))
        }
    };
    Ok(admin_page(&ctx, "", StatusCode::OK, "Administration", body))
}

async fn list_page(
    state: &Shared,
    ctx: &Ctx,
    kind: &Kind,
    q: &Form,
    values: Form,
    errors: FieldErrors,
) -> WebResult<Response> {
    let rows = (kind.rows)(state, ctx, q).await?;
    let status = form_status(&errors);
    let page = ListPage {
        kind,
        rows,
        flash: flash(q.get("flash")),
        values,
        errors,
    };
    Ok(admin_page(
        ctx,
        kind.slug,
        status,
        kind.title,
        render_list(ctx, &page),
    ))
}

async fn list(
    Session(ctx): Session,
    State(state): State<Shared>,
    Path(slug): Path<String>,
    uri: Uri,
) -> WebResult<Response> {
    let kind = kind(&slug).map_err(|e| e.with_ctx(ctx.clone()))?;
    visible(&ctx, kind)?;
    list_page(
        &state,
        &ctx,
        kind,
        &query(&uri),
        Form::default(),
        FieldErrors::default(),
    )
    .await
}

async fn create(
    State(state): State<Shared>,
    Path(slug): Path<String>,
    p: AdminPosted,
) -> WebResult<Response> {
    let with_ctx = |e: WebError| e.with_ctx(p.ctx.clone());
    let kind = kind(&slug).map_err(with_ctx)?;
    match (kind.save)(&state, None, &p.form).await.map_err(with_ctx)? {
        Ok(id) if kind.created_opens_it => {
            Ok(Redirect::to(&format!("/admin/{slug}/{id}?flash=created")).into_response())
        }
        Ok(_) => Ok(Redirect::to(&format!("/admin/{slug}?flash=created")).into_response()),
        Err(e) => list_page(&state, &p.ctx, kind, &Form::default(), p.form, e).await,
    }
}

/// The kind and the stored object of an edit page.
async fn editable(
    state: &Shared,
    ctx: &Ctx,
    slug: &str,
    id: i64,
) -> WebResult<(&'static Kind, String, Form)> {
    let kind = kind(slug).map_err(|e| e.with_ctx(ctx.clone()))?;
    let Some(load) = kind.load else {
        return Err(
            WebError::not_found(format!("There is no page at /admin/{slug}/{id}."))
                .with_ctx(ctx.clone()),
        );
    };
    let (name, stored) = load(state, id).await?;
    Ok((kind, name, stored))
}

async fn edit(
    AdminSession(ctx): AdminSession,
    State(state): State<Shared>,
    Path((slug, id)): Path<(String, i64)>,
) -> WebResult<Response> {
    let (kind, name, stored) = editable(&state, &ctx, &slug, id).await?;
    let page = EditPage {
        kind,
        id,
        name,
        values: stored.clone(),
        stored,
        errors: FieldErrors::default(),
        refusal: None,
    };
    Ok(admin_page(
        &ctx,
        kind.slug,
        StatusCode::OK,
        &page.name,
        render_edit(&ctx, &page),
    ))
}

async fn update(
    State(state): State<Shared>,
    Path((slug, id)): Path<(String, i64)>,
    p: AdminPosted,
) -> WebResult<Response> {
    let (kind, name, stored) = editable(&state, &p.ctx, &slug, id).await?;
    match (kind.save)(&state, Some(id), &p.form).await? {
        Ok(_) => Ok(Redirect::to(&format!("/admin/{slug}?flash=saved")).into_response()),
        Err(errors) => {
            let page = EditPage {
                kind,
                id,
                name,
                values: p.form,
                stored,
                errors,
                refusal: None,
            };
            Ok(admin_page(
                &p.ctx,
                kind.slug,
                StatusCode::UNPROCESSABLE_ENTITY,
                &page.name,
                render_edit(&p.ctx, &page),
            ))
        }
    }
}

async fn delete(
    State(state): State<Shared>,
    Path((slug, id)): Path<(String, i64)>,
    p: AdminPosted,
) -> WebResult<Response> {
    let with_ctx = |e: WebError| e.with_ctx(p.ctx.clone());
    let kind = kind(&slug).map_err(with_ctx)?;
    let Some(delete) = kind.delete else {
        return Err(with_ctx(WebError::not_found(format!(
            "There is nothing to delete at /admin/{slug}/{id}."
        ))));
    };
    match delete(&state, &p.ctx, id).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/{slug}?flash=deleted")).into_response()),
        // Refused (in use, the last administrator…): said on the page the
        // delete button is on, which stays as it was.
        Err(refusal) if refusal.status == StatusCode::CONFLICT => {
            let Ok((kind, name, stored)) = editable(&state, &p.ctx, &slug, id).await else {
                return Err(with_ctx(refusal));
            };
            let page = EditPage {
                kind,
                id,
                name,
                values: stored.clone(),
                stored,
                errors: FieldErrors::default(),
                refusal: Some(refusal),
            };
            Ok(admin_page(
                &p.ctx,
                kind.slug,
                StatusCode::CONFLICT,
                &page.name,
                render_edit(&p.ctx, &page),
            ))
        }
        Err(e) => Err(with_ctx(e)),
    }
}

/// Sends a test notification to a channel now.
async fn test_channel(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    let outcome = devicevault_pipeline::app::notifications::send_test(&state, id)
        .await
        .map_err(|e| WebError::from(e).with_ctx(p.ctx.clone()))?;
    let flash = match outcome.error {
        None => "tested",
        Some(error) => {
            tracing::warn!(channel = id, error = %error, "test notification not delivered");
            "test-failed"
        }
    };
    Ok(Redirect::to(&format!("/admin/notification-channels?flash={flash}")).into_response())
}

// ---- a user's page -----------------------------------------------------------------------

/// What a user's page shows.
struct UserPage {
    user: User,
    tokens: Vec<TokenInfo>,
    groups: Vec<DeviceGroup>,
    /// The device groups the user is restricted to.
    mine: Vec<i64>,
    flash: Option<&'static str>,
    errors: FieldErrors,
    /// A token just made, shown once.
    new_token: Option<String>,
    token_name: String,
}

impl UserPage {
    async fn load(state: &Shared, id: i64) -> WebResult<Self> {
        let user = state.db.user(id).await?;
        let (tokens, groups, mine) = tokio::try_join!(
            state.db.list_tokens(Some(id)),
            state.db.list_device_groups(devicevault_db::Page {
                limit: 10_000,
                offset: 0,
            }),
            state.db.user_device_groups(id),
        )?;
        Ok(Self {
            user,
            tokens,
            groups: groups.rows,
            mine,
            flash: None,
            errors: FieldErrors::default(),
            new_token: None,
            token_name: String::new(),
        })
    }

    fn into_response(self, ctx: &Ctx) -> Response {
        admin_page(
            ctx,
            "users",
            form_status(&self.errors),
            &self.user.username,
            render_user(ctx, &self),
        )
    }
}

fn password_fields(errors: &FieldErrors, hint: &str) -> Markup {
    let pw = |name, label, hint: &str| {
        field(
            name,
            label,
            html! { (hint) },
            Control::Input(
                html::Input {
                    required: true,
                    ..html::Input::NEW_PASSWORD
                },
                "",
            ),
            errors,
        )
    };
    html! {
        div class="grid" {
            (pw("password", "New password", hint))
            (pw("password_confirm", "New password again", ""))
        }
    }
}

fn render_user(ctx: &Ctx, p: &UserPage) -> Markup {
    let u = &p.user;
    let base = format!("/admin/users/{}", u.id);
    let rows: Vec<Row> = p
        .tokens
        .iter()
        .map(|t| token_row(ctx, t, false, &format!("{base}/tokens/{}/delete", t.id)))
        .collect();
    html! {
        (crumbs(&[("/admin/users", "Users")]))
        (heading(&u.username, html! { @if u.is_admin() { span class="tag" { "admin" } } }))
        (html::flash(p.flash))
        @if let Some(t) = &p.new_token { (super::account::new_token_notice(&u.username, t)) }
        (form_panel(ctx, &format!("{base}/password"), "Change the password", &p.errors,
            password_fields(&p.errors, &format!(
                "At least {} characters. Every session and API token of the user ends (yours stays if it is your account).",
                devicevault_pipeline::app::auth::MIN_PASSWORD_CHARS)),
            "Change password", None))
        section class="panel" {
            h2 { "Role" }
            p {
                (u.username) " is "
                (if u.is_admin() { "an administrator" } else {
                    "a reader (reads and presses “Backup now” on the devices below, changes nothing)"
                }) "."
            }
            (post_button(ctx, &format!("{base}/role"),
                if u.is_admin() { "Make reader" } else { "Make administrator" }, "", None,
                &[("is_admin", if u.is_admin() { "no" } else { "yes" })]))
        }
        (form_panel(ctx, &format!("{base}/scope"), "Devices", &FieldErrors::default(), html! {
            @if u.is_admin() {
                p class="small muted" { "Administrators see every device whatever is chosen here; it applies if this user becomes a reader." }
            }
            fieldset {
                legend { (u.username) " sees" }
                label { input type="radio" name="scope" value="all" checked[!u.restricted]; " every device" }
                label { input type="radio" name="scope" value="groups" checked[u.restricted]; " only the devices of these device groups (none if none is ticked):" }
                div class="checks" {
                    @if p.groups.is_empty() { p class="muted small" { "There are no device groups yet." } }
                    @for g in &p.groups {
                        label { input type="checkbox" name="group" value=(g.id) checked[p.mine.contains(&g.id)]; " " (g.name) }
                    }
                }
            }
        }, "Save", None))
        section class="panel" {
            h2 { "Secrets in configurations" }
            p {
                @if u.is_admin() { "Administrators always see configurations whole, secrets included." }
                @else if u.view_secrets { "This user sees configurations whole, secrets included (enable secrets, SNMP communities, keys)." }
                @else { "This user sees configurations with their secrets masked by the device driver's rules (the default for readers)." }
            }
            @if !u.is_admin() {
                (post_button(ctx, &format!("{base}/secrets"),
                    if u.view_secrets { "Mask secrets for this user" } else { "Let this user see secrets" }, "", None,
                    &[("view_secrets", if u.view_secrets { "no" } else { "yes" })]))
            }
        }
        section class="panel" {
            h2 { "API tokens and sessions" }
            @if rows.is_empty() { p class="muted" { "None." } } @else { (table(ctx, TOKEN_COLUMNS, &rows)) }
            div class="buttons" {
                (post_button(ctx, &format!("{base}/sign-out-everywhere"), "Sign out everywhere", "",
                    Some("End every session and API token of this user?"), &[]))
            }
        }
        (super::account::new_token_form(ctx, &format!("{base}/tokens"), &p.token_name, &p.errors))
        @if u.id != ctx.user.id {
            (delete_section(ctx, &format!("{base}/delete"), "user", &u.username, "Its tokens and sessions end with it."))
        }
    }
}

async fn user_page(
    AdminSession(ctx): AdminSession,
    State(state): State<Shared>,
    Path(id): Path<i64>,
    uri: Uri,
) -> WebResult<Response> {
    let mut page = UserPage::load(&state, id).await?;
    page.flash = flash(query(&uri).get("flash"));
    Ok(page.into_response(&ctx))
}

async fn user_password(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    let u = state.db.user(id).await?;
    let input = NewPassword {
        password: p.form.get("password").into(),
        confirm: Some(p.form.get("password_confirm").into()),
    };
    let password = match input.validate() {
        Ok(pw) => pw,
        Err(errors) => {
            let mut page = UserPage::load(&state, id).await?;
            page.errors = errors;
            return Ok(page.into_response(&p.ctx));
        }
    };
    let h = super::account::hash(password).await?;
    let keep = (id == p.ctx.user.id).then_some(p.ctx.session_id);
    let revoked = state.db.change_password(id, &h, keep).await?;
    tracing::info!(by = %p.ctx.user.username, user = %u.username, revoked, "password changed from the web UI; the user's tokens and sessions revoked");
    Ok(Redirect::to(&format!("/admin/users/{id}?flash=password")).into_response())
}

async fn user_role(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    let u = state.db.user(id).await?;
    let admin = p.form.get("is_admin") == "yes";
    if u.is_admin() && !admin && state.db.count_admins().await? <= 1 {
        return Err(refuse(
            "The last administrator",
            "Make another user an administrator first.",
        )
        .with_ctx(p.ctx));
    }
    let role = if admin {
        devicevault_core::Role::Admin
    } else {
        devicevault_core::Role::Reader
    };
    state.db.set_user_role(id, role).await?;
    tracing::info!(by = %p.ctx.user.username, user = %u.username, is_admin = admin, "role changed from the web UI");
    Ok(Redirect::to(&format!("/admin/users/{id}?flash=role")).into_response())
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

async fn create_token(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: AdminPosted,
) -> WebResult<Response> {
    let mut page = UserPage::load(&state, id).await?;
    let input = super::account::token_input(&p.form);
    match input.validate() {
        Err(errors) => {
            page.errors = errors;
            page.token_name = input.name;
        }
        Ok((name, expires)) => {
            let (t, secret) = make_named_token(&state, id, &name, expires).await?;
            tracing::info!(by = %p.ctx.user.username, user = %page.user.username, token = t.id, name = %name, "API token created from the web UI");
            // Shown once, in this response only (never in a URL).
            page.tokens = state.db.list_tokens(Some(id)).await?;
            page.new_token = Some(secret);
        }
    }
    Ok(page.into_response(&p.ctx))
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

#[cfg(test)]
mod tests;
