//! A signed-in user's own account (`/account`: password, API tokens,
//! "sign out everywhere"). The rules are the application's (`app::tokens`,
//! `app::users`): a named token has a name and an expiry, its secret is
//! shown once; a password change or "sign out everywhere" ends every other
//! session and token. Every token of every user is a kind of the
//! administration (`/admin/tokens`).

use crate::web::Path;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use devicevault_db::TokenInfo;
use devicevault_pipeline::app::auth;
use devicevault_pipeline::app::inventory::FieldErrors;
use devicevault_pipeline::app::login::LoginError;
use devicevault_pipeline::app::tokens::{DEFAULT_TOKEN_DAYS, TokenInput, make_named_token};
use devicevault_pipeline::app::users::NewPassword;
use maud::{Markup, html};

use super::admin::kinds::{TOKEN_COLUMNS, token_row};
use super::admin::table;
use super::html::{self, Control, Ctx, Input, Nav, field, heading, post_button};
use super::session::{self, Form, Posted, Session};
use super::zone;
use super::{WebError, WebResult, form_status, html_page, query};
use crate::Shared;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/account", get(account))
        .route("/account/password", post(change_password))
        .route("/account/tokens", post(create_own_token))
        .route("/account/tokens/{id}/delete", post(revoke_own_token))
        .route("/account/sign-out-everywhere", post(sign_out_everywhere))
        .route("/account/time-zone", post(time_zone))
}

/// Fixed messages shown after a redirect.
fn flash(code: &str) -> Option<&'static str> {
    Some(match code {
        "password" => "Password changed. Every other session and token of yours has ended.",
        "revoked" => "Token revoked.",
        "everywhere" => "Signed out everywhere else: every other session and token has ended.",
        "zone" => "Time zone saved: every time is shown in it.",
        "zone-browser" => "Times follow your browser's time zone again.",
        _ => return None,
    })
}

/// The form that makes a named token.
pub(super) fn new_token_form(ctx: &Ctx, action: &str, name: &str, errors: &FieldErrors) -> Markup {
    let options: Vec<(String, String)> = [
        ("30", "30 days"),
        ("90", "90 days"),
        ("365", "1 year"),
        ("never", "never (until revoked)"),
    ]
    .into_iter()
    .map(|(v, l)| (v.to_owned(), l.to_owned()))
    .collect();
    let days = DEFAULT_TOKEN_DAYS.to_string();
    html! {
        form method="post" action=(action) class="form panel" {
            h2 { "New API token" }
            (ctx.csrf_field())
            div class="grid" {
                (field("name", "Name", html! { "What uses it, e.g. “nightly export script”." },
                    Control::Input(Input { autocomplete: Some("off"), ..Input::REQUIRED }, name), errors))
                (field("expires_in_days", "Expires after", html! {},
                    Control::Select { options: &options, selected: &days, none: None, class: None }, errors))
            }
            div class="buttons" { button type="submit" class="primary" { "Create token" } }
        }
    }
}

/// The new-token form as the application's input; an expiry that is not a
/// number becomes 0 days, which the validator refuses.
pub(super) fn token_input(form: &Form) -> TokenInput {
    TokenInput {
        name: form.get("name").to_owned(),
        expires_in_days: match form.get("expires_in_days") {
            "never" => None,
            d => Some(d.parse().unwrap_or(0)),
        },
    }
}

/// The notice that shows a new token's secret, once.
pub(super) fn new_token_notice(owner: &str, secret: &str) -> Markup {
    html! {
        div class="notice ok" role="status" {
            p { "New API token for " (owner) " — copy it now, it is not shown again:" }
            p { code class="token" id="new-token" { (secret) } }
            p class="small" { "Send it as " code { "Authorization: Token …" } "." }
        }
    }
}

/// What the account page shows.
struct AccountPage {
    tokens: Vec<TokenInfo>,
    flash: Option<&'static str>,
    errors: FieldErrors,
    new_token: Option<String>,
    token_name: String,
    /// The zone chosen here, if one was (else the browser's is used).
    zone_chosen: Option<String>,
}

impl AccountPage {
    async fn load(state: &Shared, ctx: &Ctx) -> WebResult<Self> {
        Ok(Self {
            tokens: state.db.list_tokens(Some(ctx.user.id)).await?,
            flash: None,
            errors: FieldErrors::default(),
            new_token: None,
            token_name: String::new(),
            zone_chosen: None,
        })
    }

    fn into_response(self, ctx: &Ctx) -> Response {
        html_page(
            ctx,
            form_status(&self.errors),
            "Your account",
            Nav::None,
            render(ctx, &self),
        )
    }
}

fn render(ctx: &Ctx, p: &AccountPage) -> Markup {
    let me = &ctx.user;
    let rows: Vec<_> = p
        .tokens
        .iter()
        .map(|t| token_row(ctx, t, false, &format!("/account/tokens/{}/delete", t.id)))
        .collect();
    let password = |name, label, hint: String, autocomplete| {
        field(
            name,
            label,
            html! { (hint) },
            Control::Input(
                Input {
                    required: true,
                    autocomplete: Some(autocomplete),
                    ..Input::NEW_PASSWORD
                },
                "",
            ),
            &p.errors,
        )
    };
    html! {
        (heading("Your account", html! {}))
        (html::flash(p.flash))
        @if let Some(t) = &p.new_token { (new_token_notice(&me.username, t)) }
        p {
            "Signed in as " strong { (me.username) } ", "
            (match me.role {
                devicevault_core::Role::Admin => "an administrator",
                devicevault_core::Role::Operator => "an operator",
                devicevault_core::Role::Reader => "a reader",
            })
            (if me.sees_secrets() { ", shown configurations with their secrets" }
                else { ", shown configurations with their secrets masked" }) "."
        }
        form method="post" action="/account/password" class="form panel" {
            h2 { "Change your password" }
            (ctx.csrf_field())
            (html::error_summary(&p.errors))
            div class="grid" {
                (password("current_password", "Current password", String::new(), "current-password"))
                (password("password", "New password", format!(
                    "At least {} characters. Every other session and API token of yours ends; this session stays.",
                    auth::MIN_PASSWORD_CHARS), "new-password"))
                (password("password_confirm", "New password again", String::new(), "new-password"))
            }
            div class="buttons" { button type="submit" class="primary" { "Change password" } }
        }
        (time_zone_form(ctx, p.zone_chosen.as_deref(), &p.errors))
        section class="panel" {
            h2 { "Your API tokens and sessions" }
            @if rows.is_empty() { p class="muted" { "None." } } @else { (table(ctx, TOKEN_COLUMNS, &rows)) }
            div class="buttons" {
                (post_button(ctx, "/account/sign-out-everywhere", "Sign out everywhere else", "",
                    Some("End every other session and API token of yours?"), &[]))
            }
        }
        (new_token_form(ctx, "/account/tokens", &p.token_name, &p.errors))
    }
}

async fn account(
    Session(ctx): Session,
    State(state): State<Shared>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> WebResult<Response> {
    let mut page = AccountPage::load(&state, &ctx).await?;
    page.flash = flash(query(&uri).get("flash"));
    if session::cookie(&headers, zone::CHOSEN_COOKIE).is_some() {
        page.zone_chosen = Some(zone::of(&headers).name().to_owned());
    }
    Ok(page.into_response(&ctx))
}

async fn change_password(
    State(state): State<Shared>,
    parts: axum::http::request::Parts,
    p: Posted,
) -> WebResult<Response> {
    let ctx = &p.ctx;
    let new = NewPassword {
        password: p.form.get("password").into(),
        confirm: Some(p.form.get("password_confirm").into()),
    };
    let mut errors = match new.validate() {
        Ok(_) => FieldErrors::default(),
        Err(e) => e,
    };
    if errors.is_empty() {
        let addr = crate::http_server::client_addr(&parts).ip();
        let current = p.form.get("current_password");
        let checked = state
            .login
            .check(
                &state.db,
                &ctx.user.username,
                current,
                addr,
                "web password change",
            )
            .await;
        match checked {
            Ok(_) => {}
            Err(LoginError::Invalid) => errors.add("current_password", "this is not your password"),
            Err(LoginError::Db(err)) => return Err(WebError::from(err).with_ctx(ctx.clone())),
            Err(other) => errors.add("current_password", other.to_string()),
        }
    }
    if !errors.is_empty() {
        let mut page = AccountPage::load(&state, ctx).await?;
        page.errors = errors;
        return Ok(page.into_response(ctx));
    }
    let hash = hash(new.password).await?;
    let revoked = state
        .db
        .change_password(ctx.user.id, &hash, Some(ctx.session_id))
        .await?;
    tracing::info!(user = %ctx.user.username, revoked, "password changed by its owner");
    Ok(Redirect::to("/account?flash=password").into_response())
}

/// The time zone every time is shown in: the browser's (the default), or
/// one chosen here.
fn time_zone_form(ctx: &Ctx, chosen: Option<&str>, errors: &FieldErrors) -> Markup {
    let current = zone::current();
    let options: Vec<(String, String)> = zone::names()
        .map(|n| (n.to_owned(), n.replace('_', " ")))
        .collect();
    html! {
        form method="post" action="/account/time-zone" class="form panel" {
            h2 { "Time zone" }
            (ctx.csrf_field())
            p class="muted" { "Every time on every page is shown in " strong { (current.name()) } ", with its abbreviation; hover over a time for the instant in UTC." }
            div class="grid" {
                (field("time_zone", "Show times in", html! { "Your browser's time zone unless you choose one." },
                    Control::Select { options: &options, selected: chosen.unwrap_or(""), none: Some("Your browser's time zone"), class: None }, errors))
            }
            div class="buttons" { button type="submit" class="primary" { "Save time zone" } }
        }
    }
}

/// Chooses the time zone of the pages (a cookie, like the theme: a
/// preference of this browser), or goes back to the browser's.
async fn time_zone(
    State(state): State<Shared>,
    headers: axum::http::HeaderMap,
    p: Posted,
) -> WebResult<Response> {
    let secure = session::secure(&state, &headers);
    let cookie = |name: &str, value: &str, age: u32| {
        format!("{name}={value}; Path=/; Max-Age={age}; SameSite=Lax{secure}")
    };
    let chosen = p.form.get("time_zone").trim();
    let (cookies, code) = if chosen.is_empty() {
        (
            [
                cookie(zone::COOKIE, "", 0),
                cookie(zone::CHOSEN_COOKIE, "", 0),
            ],
            "zone-browser",
        )
    } else if let Some(tz) = zone::parse(chosen) {
        const YEAR: u32 = 365 * 24 * 3600;
        (
            [
                cookie(zone::COOKIE, tz.name(), YEAR),
                cookie(zone::CHOSEN_COOKIE, "1", YEAR),
            ],
            "zone",
        )
    } else {
        let mut page = AccountPage::load(&state, &p.ctx).await?;
        page.errors.add(
            "time_zone",
            format!("{chosen:?} is not a time zone this server knows (e.g. Europe/Paris)"),
        );
        return Ok(page.into_response(&p.ctx));
    };
    let mut r = Redirect::to(&format!("/account?flash={code}")).into_response();
    for c in cookies {
        if let Ok(v) = axum::http::HeaderValue::from_str(&c) {
            r.headers_mut().append(axum::http::header::SET_COOKIE, v);
        }
    }
    Ok(r)
}

/// Hashes a new password off the async threads.
pub(super) async fn hash(password: String) -> WebResult<String> {
    let failed = |e: String| WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "Hashing failed", e);
    tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| failed(e.to_string()))?
        .map_err(|e| failed(e.to_string()))
}

async fn create_own_token(State(state): State<Shared>, p: Posted) -> WebResult<Response> {
    let input = token_input(&p.form);
    let mut page = AccountPage::load(&state, &p.ctx).await?;
    match input.validate() {
        Err(errors) => {
            page.errors = errors;
            page.token_name = input.name;
        }
        Ok((name, expires)) => {
            let (t, secret) = make_named_token(&state, p.ctx.user.id, &name, expires).await?;
            tracing::info!(user = %p.ctx.user.username, token = t.id, name = %name, "API token created from the web UI");
            // Shown once, in this response only (never in a URL).
            page.tokens = state.db.list_tokens(Some(p.ctx.user.id)).await?;
            page.new_token = Some(secret);
        }
    }
    Ok(page.into_response(&p.ctx))
}

async fn revoke_own_token(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    p: Posted,
) -> WebResult<Response> {
    state
        .db
        .delete_token(Some(p.ctx.user.id), id)
        .await
        .map_err(|e| WebError::from(e).with_ctx(p.ctx.clone()))?;
    Ok(Redirect::to("/account?flash=revoked").into_response())
}

async fn sign_out_everywhere(State(state): State<Shared>, p: Posted) -> WebResult<Response> {
    let revoked = state
        .db
        .revoke_user_tokens(p.ctx.user.id, Some(p.ctx.session_id))
        .await?;
    tracing::info!(user = %p.ctx.user.username, revoked, "signed out everywhere from the web UI");
    Ok(Redirect::to("/account?flash=everywhere").into_response())
}
